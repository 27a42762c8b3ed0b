"""Wall time of `nox -s verify_package` on this repository, cold and warm.

* cold: an empty venv cache (``HEXPACK_VERIFY_CACHE`` points at a new
  temporary directory), so every smoke venv, the build environment and the
  wheel venv are created; uv's own download cache and nox's session venv are
  kept (a first run on a new machine also downloads wheels);
* warm: the same command again with that cache, ``--runs`` times; the median
  is the figure, against the target of 10 s on 2 cores with the smoke test on
  every targeted Python (latest and floors).

Prints each run, the verify verdict of the last one, and the ratio to the
target. Usage: ``python benchmarks/verify_speed.py [--runs N] [--keep-cache]``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = 10.0


def run(env: dict[str, str]) -> tuple[float, int, str]:
    start = time.monotonic()
    done = subprocess.run(
        ["nox", "-s", "verify_package"], cwd=ROOT, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    seconds = time.monotonic() - start
    verdict = next((line for line in done.stdout.splitlines() if line.startswith("verify ")), "no verdict")
    return seconds, done.returncode, verdict


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3, help="warm runs (default 3)")
    parser.add_argument("--keep-cache", action="store_true", help="do not delete the temporary venv cache")
    args = parser.parse_args()
    cache = Path(tempfile.mkdtemp(prefix="hexpack-verify-bench-"))
    env = {**os.environ, "HEXPACK_VERIFY_CACHE": str(cache), "NO_COLOR": "1"}
    try:
        # one untimed run would hide nox's own venv setup; make sure it exists first
        subprocess.run(["nox", "-s", "verify_package", "--install-only"], cwd=ROOT, env=env, capture_output=True)
        cold, code, verdict = run(env)
        print(f"cold: {cold:6.2f} s  (exit {code}; {verdict})")
        warm = []
        for index in range(args.runs):
            seconds, code, verdict = run(env)
            warm.append(seconds)
            print(f"warm: {seconds:6.2f} s  (run {index + 1}, exit {code}; {verdict})")
        median = statistics.median(warm)
        load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
        print(
            f"warm median {median:.2f} s on {os.cpu_count()} cores (load {load:.1f}): "
            f"{median / TARGET:.2f}x the {TARGET:.0f} s target; cold/warm {cold / median:.1f}x"
        )
        return 0
    finally:
        if not args.keep_cache:
            shutil.rmtree(cache, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
