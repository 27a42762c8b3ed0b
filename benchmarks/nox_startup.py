"""Time what interpreter discovery adds to every `nox` call (target: under 1 s, cached).

The noxfile runs discovery on every `nox` invocation. This prints the median
of `nox -l` on this repository (discovery cached in .nox/) next to the median
start-up of a bare `python -c pass`, the in-process time of discovery for the
targeted versions uncached (every candidate run) and cached, and the median of
a new process that imports hexpack and python-discovery and runs the cached
discovery (what the noxfile pays on each call).

    python benchmarks/nox_startup.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from _timing import REPO, timed  # the script's own directory is on sys.path

sys.path.insert(0, str(REPO / "tools"))

from hexpack.python import pythons  # noqa: E402

TARGET_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    nox = shutil.which("nox")
    if nox is None:
        raise SystemExit("nox not found: python -m pip install nox")
    targeted = pythons.targeted(REPO)

    with tempfile.TemporaryDirectory() as scratch:
        cache = Path(scratch) / "python-discovery"
        start = time.perf_counter()
        pythons.locate(targeted, cache=cache)
        uncached = time.perf_counter() - start
        start = time.perf_counter()
        pythons.locate(targeted, cache=cache)
        cached = time.perf_counter() - start

        script = (
            f"import sys; sys.path.insert(0, {str(REPO / 'tools')!r}); from hexpack.python import pythons; "
            f"pythons.locate({targeted!r}, cache=__import__('pathlib').Path({str(cache)!r}))"
        )
        process = statistics.median(timed([sys.executable, "-c", script]) for _ in range(args.runs))

    timed([nox, "-l"])  # fill the noxfile's own cache
    nox_list = statistics.median(timed([nox, "-l"]) for _ in range(args.runs))
    python = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(args.runs))

    print(f"discovery of {', '.join(targeted)}: {uncached:.3f} s uncached, {cached:.3f} s cached")
    print(f"a new process running the cached discovery: {process:.3f} s median of {args.runs}")
    ratio = nox_list / python
    print(f"nox -l: {nox_list:.3f} s median of {args.runs} (python -c pass: {python:.3f} s; ratio {ratio:.1f}x)")
    verdict = "ok" if nox_list < TARGET_SECONDS else "SLOW"
    print(f"{verdict}: target under {TARGET_SECONDS:.1f} s for nox -l")
    return 0 if verdict == "ok" else 1


if __name__ == "__main__":
    sys.exit(main())
