"""Time `nox -s tests` (every targeted Python) against the suite as it was (target: at most 0.5x).

Clones this repository twice into a temporary directory, at the reference
commit (default 6e61d3b, the suite before it ran in parallel and ran the
interpreter-independent tests once) and at HEAD (commit what you want
measured), then runs the `tests` sessions in both, session by session: the
reference's `tests-3.10`, then the current one's, then the current
`tests-3.11` before the reference's, and so on, so a drift in the machine's
speed (on a shared machine the same run varies by 15% from one quarter of an
hour to the next) falls on both alike. It prints each run, each round's totals
and the ratio. The first round runs in fresh clones (venvs built, nothing
compiled yet), the second as a maintainer's next run in the same checkout
(`--rounds 2`). Each session is its own `nox` run, so nox's start (about a
second) counts four times in both. `--whole` runs `nox -s tests` whole instead.
Both share the machine's uv cache and the same environment. It also prints the
tests each session ran, so a faster suite that dropped tests shows.

Both run as on a machine without Hex (MIX_ARCHIVES is an empty directory):
the reference suite fails where Hex is installed (issue 12). It takes long,
about half an hour on a busy 2-core machine (1239 s for the reference, 612 s
for the current suite, ratio 0.49, at a load average around 10, at 985da93);
on a quiet machine the serial reference is far faster and the ratio is worse.
Measured 2026-11-30 at d74a9bc, quiet 2-core machine (load average 2 to 4),
``PYTHONDONTWRITEBYTECODE`` set in the environment as on this machine:
reference 389 s wall and 408 s CPU (2,588 tests in all), current 232 s wall
and 374 s CPU (3,075 tests): ratio 0.60 wall, 0.92 CPU (at 7fef0f1 it was
0.69). The current suite runs 487 more tests than the reference, on the
older Pythons too, and about 8 s of each session is compiling what it imports
into an empty ``.nox/_pycache`` (a fresh clone); a second run in the same
checkout is about 10 s faster per session. Measured again at 83ea005 (load
average 1 to 3): reference 402 s wall and 425 s CPU, current 232 s wall and
381 s CPU (3,298 tests: 761 on each older Python, 1,015 on the newest): ratio
0.58 wall, 0.90 CPU; the suite grew by 223 tests since d74a9bc (the build's
compressing thread, its entry point, journaled stubs, SIGTERM delivery).
At d070945 with ``--rounds 2`` (the second current run is in the same checkout,
so its bytecode is warm; the reference writes none under
``PYTHONDONTWRITEBYTECODE``): reference 358 and 355 s wall (373-380 s CPU),
current 212 s cold (348 s CPU) and 188 s warm (307 s CPU): ratio 0.59 for a
fresh clone, 0.53 for a maintainer's next run, 0.56 averaged. The same four
pytest runs started at once instead (older Pythons on one worker each, the
newest on two) took 163 s warm, and 169 s with the older ones at ``nice 10``:
one session at a time leaves only about a tenth of the two cores idle, so the
suite's CPU, not its order, sets its time. Session by session at 65de19b
(``--rounds 2``, load average 2 to 4): fresh clones reference 407 s, current
212 s (ratio 0.52); the next run in the same checkouts reference 384 s,
current 178 s (0.46); in all 791 s against 390 s, ratio 0.49, CPU ratio 0.77.
The newest Python's session is now the whole reference session's length
(98-111 s against 119-131 s); each older one is a third of it. Again at
9928824: fresh 424 s against 217 s (0.51), next run 381 s against 182 s
(0.48), in all 0.50 (CPU 0.78). At bbbe40e (interpreter probes without
setuptools' distutils, Hypothesis' tables in the user's cache, workers
compiling their own share of tests/, one BEAM for the build-reference reads,
the release test verifying on one Python): fresh 438 s against 198 s (0.45),
next run 408 s against 187 s (0.46), in all 0.46 (CPU 0.71); at 49f729c the
same 0.46 fresh (426 s, 198 s). With Hypothesis' cache empty, as on a machine
that never ran the suite, a session takes about 4.5 s more (3.10: 37.5 s
against 33.0 s), once per Python. It is a benchmark, not a test.

    python benchmarks/suite_time.py [--reference REV] [--current REV] [--rounds N] [--whole] [--keep]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from _timing import REPO  # the script's own directory is on sys.path

REFERENCE = "6e61d3b"
TARGET_RATIO = 0.5
_RESULT = re.compile(r"=+ (?P<summary>.*?) in [\d.]+s")
_SESSION = re.compile(r"nox > Running session (\S+)")


def clone(rev: str, target: Path) -> Path:
    subprocess.run(["git", "clone", "-q", "--no-checkout", str(REPO), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "checkout", "-q", "--detach", rev], check=True)
    return target


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_nox(tree: Path, nox: str, sessions: list[str], no_archives: Path) -> tuple[float, float, list[tuple[str, str]]]:
    """Wall and CPU seconds of `nox -s SESSIONS` in ``tree``, and (session, pytest summary) for each session.

    The CPU seconds are those of every process the run waited for (nox, its sessions, pytest's workers and
    what they ran): a figure the machine's other load changes far less than the wall time.
    """
    env = {**os.environ, "MIX_ARCHIVES": str(no_archives)}  # Mix without Hex
    start, cpu_before = time.perf_counter(), children_cpu()
    done = subprocess.run(
        [nox, "-s", *sessions], cwd=tree, env=env, capture_output=True, text=True, stdin=subprocess.DEVNULL
    )
    elapsed, cpu = time.perf_counter() - start, children_cpu() - cpu_before
    output = done.stdout + done.stderr
    if done.returncode != 0:
        raise SystemExit(f"nox -s {' '.join(sessions)} failed in {tree} ({done.returncode}):\n{output[-4000:]}")
    found = _SESSION.findall(output)
    summaries = [m["summary"] for m in _RESULT.finditer(output)]
    return elapsed, cpu, list(zip(found, summaries, strict=False))


def tests_sessions(tree: Path, nox: str) -> list[str]:
    """The `tests` sessions of ``tree``'s noxfile, one per targeted Python (`nox -l --json`)."""
    listed = subprocess.run([nox, "-l", "--json"], cwd=tree, capture_output=True, text=True, check=True)
    return [entry["session"] for entry in json.loads(listed.stdout) if entry["name"] == "tests"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reference", default=REFERENCE, help=f"the suite as it was (default {REFERENCE})")
    parser.add_argument("--current", default="HEAD", help="the suite to measure (default HEAD)")
    parser.add_argument("--rounds", type=int, default=1, help="runs of each, in alternating order (default 1)")
    parser.add_argument(
        "--whole", action="store_true", help="run `nox -s tests` whole in each tree instead of session by session"
    )
    parser.add_argument("--keep", action="store_true", help="keep the clones (printed) instead of deleting them")
    args = parser.parse_args()
    nox = shutil.which("nox")
    if nox is None:
        raise SystemExit("nox not found: bash .ci/install")
    scratch = Path(tempfile.mkdtemp(prefix="hexpack-suite-time-"))
    try:
        no_archives = scratch / "no-mix-archives"
        no_archives.mkdir()
        trees = {
            "reference": clone(args.reference, scratch / "reference"),
            "current": clone(args.current, scratch / "current"),
        }
        revs = {"reference": args.reference, "current": args.current}
        steps = [["tests"]] if args.whole else [[s] for s in tests_sessions(trees["current"], nox)]
        if not args.whole and [[s] for s in tests_sessions(trees["reference"], nox)] != steps:
            raise SystemExit("the two trees target different Pythons: compare them with --whole")
        times = {"reference": [0.0] * args.rounds, "current": [0.0] * args.rounds}
        cpus = {"reference": [0.0] * args.rounds, "current": [0.0] * args.rounds}
        bytecode = "set" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "not set"
        print(f"PYTHONDONTWRITEBYTECODE is {bytecode}; load average {os.getloadavg()[0]:.1f}", flush=True)
        for round_ in range(args.rounds):
            print(f"round {round_ + 1}{' (fresh clones)' if round_ == 0 else ''}:", flush=True)
            for index, sessions in enumerate(steps):
                # reference first, then current, and the other way at the next step: slow drifts in the
                # machine's speed fall on both alike
                order = ("reference", "current") if (round_ + index) % 2 == 0 else ("current", "reference")
                for name in order:
                    elapsed, cpu, ran = run_nox(trees[name], nox, sessions, no_archives)
                    times[name][round_] += elapsed
                    cpus[name][round_] += cpu
                    tests = "; ".join(f"{session}: {summary}" for session, summary in ran)
                    print(f"  {name:9} ({revs[name]}) {elapsed:4.0f} s wall {cpu:4.0f} s CPU  {tests}", flush=True)
            ratio = times["current"][round_] / times["reference"][round_]
            print(
                f"  round {round_ + 1}: reference {times['reference'][round_]:.0f} s, "
                f"current {times['current'][round_]:.0f} s: ratio {ratio:.2f}",
                flush=True,
            )
        reference, current = sum(times["reference"]), sum(times["current"])
        ratio = current / reference
        cpu_ratio = sum(cpus["current"]) / sum(cpus["reference"])
        load = os.getloadavg()[0]
        print(f"reference {reference:.0f} s, current {current:.0f} s: ratio {ratio:.2f} (load average now {load:.1f})")
        print(f"CPU: ratio {cpu_ratio:.2f} (what the machine's other load changes least)")
        verdict = "ok" if ratio <= TARGET_RATIO else "SLOW"
        print(f"{verdict}: target at most {TARGET_RATIO:.2f}x the reference's wall time")
        return 0 if verdict == "ok" else 1
    finally:
        if args.keep:
            print(f"clones kept in {scratch}")
        else:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
