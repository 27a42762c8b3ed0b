"""Kill, race and leak probe of hexpack's repository writes; prints the figures.

* kill points: real `hexpack bump` and `hexpack assemble` runs are SIGKILLed
  at every durable step of their writes (``HEXPACK_TEST_KILL_AT``); a
  *partial state* is a tree that is neither fully old nor fully new. Right
  after a kill only assemble's single exchange can be whole (bump's files are
  part-way until the journal is replayed); after the next run nothing may be
  partial, nor may a temporary file, staging directory or journal remain;
* races: two bumps at once, and three assembles at once over a priv/ that
  holds 300 files of the user's, several times each;
* secrets: a release whose lint gate prints HEX_API_KEY and TWINE_PASSWORD
  (one a part of the other) and whose publish doubles print them too (test
  doubles: `mix hex.publish` and `twine upload` cannot run here); every
  output, the -v log and the state file are searched for any piece of a
  secret, and the gate's environment for the secrets themselves.

    python benchmarks/fault_injection.py
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from _timing import REPO  # the script's own directory is on sys.path

sys.path.insert(0, str(REPO / "tests"))
# the kill harness and the project makers are the tests' own, so the figures are what the tests check
from test_fault_injection import (  # noqa: E402
    DATE,
    assemble_project,
    at_once,
    hexpack,
    kill_at_every_step,
    leftovers,
    snakepit_copy,
)

HEX_KEY, PYPI_KEY = "Zq7sekritXw9", "sekrit"  # the second is a part of the first
PIECES = ("Zq7", "sekrit", "Xw9")  # any piece of either secret


def kills(name: str, make, run: list[str], after: list[str], scratch: Path) -> tuple[int, int]:
    report = kill_at_every_step(make, run, after, scratch / name)
    print(
        f"{name:<9} kill points tried {report.steps:3}; partial states: {len(report.partial_at_kill)} right after "
        f"the kill, {len(report.partial_after)} after the next run"
    )
    return report.steps, len(report.partial_after)


def races(scratch: Path, trials: int) -> int:
    bad = lost = 0
    for trial in range(trials):
        root = snakepit_copy(scratch / f"race-bump-{trial}")
        base = [sys.executable, "-m", "hexpack", "bump", "--root", str(root), "--date", DATE]
        done = at_once([[*base, "minor"], [*base, "patch"]])
        shown = hexpack("version", "--root", str(root))
        version = shown.stdout.split()[1] if shown.returncode == 0 else "?"
        one_each = sorted(code for code, _, _ in done) == [0, 1]
        bad += not one_each or f"## [{version}]" not in (root / "CHANGELOG.md").read_text()
        root = assemble_project(scratch / f"race-assemble-{trial}", user_files=300)
        done = at_once([[sys.executable, "-m", "hexpack", "assemble", "--root", str(root)]] * 3)
        lost += 300 - len(list((root / "priv" / "native").iterdir()))
        bad += any(code for code, _, _ in done) or bool(leftovers(root))
    print(f"races     {trials} x (2 bumps + 3 assembles at once): {bad} inconsistent; user files lost: {lost}")
    return bad + lost


def secrets_seen(scratch: Path) -> int:
    root, bin_dir = scratch / "release", scratch / "bin"
    root.mkdir()
    bin_dir.mkdir()
    for name in ("mix", "twine"):  # test doubles for mix hex.publish / twine upload
        (bin_dir / name).write_text(f'#!/bin/sh\necho "{name} got $HEX_API_KEY $TWINE_PASSWORD" >&2\nexit 1\n')
        (bin_dir / name).chmod(0o755)
    (root / "mix.exs").write_text(
        'defmodule Demo.MixProject do\n  use Mix.Project\n\n  @version "1.2.0"\n\n'
        "  def project, do: [app: :demo, version: @version]\nend\n"
    )
    (root / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n### Added\n- More.\n")
    (root / ".gitignore").write_text("/.hexpack/\n")
    env_file = scratch / "gate-env.json"
    spy = f"import json, os; open({str(env_file)!r}, 'w').write(json.dumps(sorted(os.environ)))"
    leak = f"import os, sys; print('gate prints', os.environ.get('HEX_API_KEY'), {HEX_KEY + PYPI_KEY!r}); sys.exit(1)"
    env = dict(os.environ, HEX_API_KEY=HEX_KEY, TWINE_PASSWORD=PYPI_KEY, PATH=f"{bin_dir}:{os.environ['PATH']}")
    env.update(GIT_AUTHOR_NAME="b", GIT_AUTHOR_EMAIL="b@b", GIT_COMMITTER_NAME="b", GIT_COMMITTER_EMAIL="b@b")
    subprocess.run(["git", "init", "-q", "-b", "main"], cwd=root, check=True)
    outputs = []
    for lint in ([sys.executable, "-c", leak], [sys.executable, "-c", spy]):
        (root / "pyproject.toml").write_text(
            f"[tool.hexpack.release]\nlint = {json.dumps(lint)}\ntests = {json.dumps([sys.executable, '-c', 'pass'])}\n"
            f"verify = {json.dumps([sys.executable, '-c', 'pass'])}\npypi = false\n"
        )
        subprocess.run(["git", "add", "-A"], cwd=root, check=True)
        subprocess.run(["git", "commit", "-qm", "gate"], cwd=root, check=True, env=env)
        done = hexpack("-v", "release", "--project", str(root), "--date", DATE, "minor", "--publish", env=env)
        outputs.append(done.stdout + done.stderr)
    state_file = root / ".hexpack" / "release" / "state.json"
    outputs.append(state_file.read_text() if state_file.exists() else "")
    text = "\n".join(outputs)
    seen = sum(text.count(piece) for piece in PIECES)
    in_env = len({"HEX_API_KEY", "TWINE_PASSWORD"} & set(json.loads(env_file.read_text())))
    published = "publish hex" in text
    print(f"secrets   pieces of a secret in outputs, log and state: {seen}; secrets in a gate's environment: {in_env}")
    print(f"          (a failing gate printing both, and a publish double printing both: reached = {published})")
    return seen + in_env


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="hexpack-faults-") as tmp:
        scratch = Path(tmp)
        (scratch / "bump").mkdir()
        (scratch / "assemble").mkdir()
        bump_points, bump_partial = kills(
            "bump", snakepit_copy, ["bump", "minor", "--date", DATE], ["version"], scratch
        )
        assemble_points, assemble_partial = kills("assemble", assemble_project, ["assemble"], ["assemble"], scratch)
        race_problems = races(scratch, trials=3)
        leaked = secrets_seen(scratch)
    total = bump_points + assemble_points
    print(f"total     kill points {total}; partial states after the next run {bump_partial + assemble_partial}")
    return 1 if bump_partial + assemble_partial + race_problems + leaked else 0


if __name__ == "__main__":
    raise SystemExit(main())
