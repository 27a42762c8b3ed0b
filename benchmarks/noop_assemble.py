"""Time a no-op `hexpack assemble` on this repository (target: at most 1 s).

Runs the real command as a subprocess several times and prints the median,
next to the median start-up of a bare `python -c pass` measured in the same
run, so a slow machine shows up as a slow reference rather than as a slow
hexpack. Refuses (changes nothing) when priv/ is not already up to date.

    python benchmarks/noop_assemble.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

from _timing import REPO, timed  # the script's own directory is on sys.path

TARGET_SECONDS = 1.0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    hexpack = [sys.executable, "-m", "hexpack", "assemble", "--root", str(REPO)]
    check = subprocess.run([*hexpack, "--check"], cwd=REPO, capture_output=True, text=True)
    if check.returncode != 0:
        print(
            f"priv/ is not up to date, so assemble would not be a no-op; run `hexpack assemble` first\n{check.stderr}"
        )
        return 1
    timed(hexpack)  # warm the file cache
    reference = statistics.median(timed([sys.executable, "-c", "pass"]) for _ in range(args.runs))
    noop = statistics.median(timed(hexpack) for _ in range(args.runs))
    verdict = "ok" if noop <= TARGET_SECONDS else "OVER TARGET"
    print(f"python -c pass:          {reference * 1000:7.1f} ms (median of {args.runs})")
    runs = f"(median of {args.runs})"
    print(f"no-op hexpack assemble:  {noop * 1000:7.1f} ms {runs}; target <= {TARGET_SECONDS:.1f} s: {verdict}")
    print(f"ratio to python start-up: {noop / reference:.1f}x")
    sys.path.insert(0, str(REPO / "tools"))
    from hexpack.python import assemble

    start = time.perf_counter()
    result = assemble.assemble(REPO)
    inside = time.perf_counter() - start
    assert not result.changed
    print(f"of which the no-op itself (in-process, after imports): {inside * 1000:.1f} ms")
    return 0 if noop <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
