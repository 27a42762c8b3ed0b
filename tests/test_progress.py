"""Progress while long commands run: proc.run's ``on_line`` and the release's gate and nox-session steps."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from hexpack import proc
from hexpack.errors import CommandFailed
from hexpack.release import flow as release


def test_each_line_is_handed_over_while_the_command_still_runs(tmp_path):
    """The child prints a line, then waits for a file that only the line's callback creates."""
    seen = tmp_path / "seen"
    child = textwrap.dedent(
        f"""\
        import pathlib, sys, time
        print("first", flush=True)
        print("to stderr", file=sys.stderr, flush=True)
        deadline = time.monotonic() + 20
        while not pathlib.Path({str(seen)!r}).exists():
            if time.monotonic() > deadline:
                sys.exit("the first line was not handed over while running")
            time.sleep(0.02)
        print("last")
        """
    )
    lines = []

    def on_line(line: str) -> None:
        lines.append(line)
        seen.touch()

    done = proc.run([sys.executable, "-c", child], on_line=on_line, timeout=60)
    assert lines == ["first", "to stderr", "last"]
    assert done.stdout == "first\nto stderr\nlast\n"


def test_a_streamed_failure_carries_the_output_redacted_and_a_timeout_stops_it():
    lines = []
    code = "print('token s3cret'); raise SystemExit(3)"
    with pytest.raises(CommandFailed) as failed:
        proc.run([sys.executable, "-c", code], on_line=lines.append, redact=["s3cret"])
    assert failed.value.returncode == 3 and "token ***" in failed.value.output
    assert lines == ["token ***"]
    with pytest.raises(CommandFailed) as slow:
        proc.run(
            [sys.executable, "-c", "print('waiting', flush=True); import time; time.sleep(30)"],
            on_line=print,
            timeout=1,
        )
    assert "waiting" in slow.value.output and "timed out after 1 s" in slow.value.output


NOX_OUTPUT = """\
nox > Running session tests-3.12
nox > Creating virtual environment (uv) using python3.12 in .nox/tests-3-12
== 300 passed in 40.1s ==
nox > Session tests-3.12 was successful in 48 seconds.
nox > Running session tests-3.99
nox > Session tests-3.99 skipped: Python interpreter 3.99 not found.
\x1b[31mnox > Running session tests-3.13\x1b[0m
nox > Session tests-3.13 failed: Returned code 1 (took 2 minutes).
"""


def test_a_gate_tells_each_nox_session_as_it_starts_and_ends(tmp_path):
    steps = []
    argv = [sys.executable, "-c", f"import sys; sys.stdout.write({NOX_OUTPUT!r})"]
    release._run_gate(argv, tmp_path, dict(os.environ), "tests", lambda *step: steps.append(step))
    assert steps == [
        ("tests: tests-3.12", "run", ""),
        ("tests: tests-3.12", "pass", "in 48 seconds"),
        ("tests: tests-3.99", "run", ""),
        ("tests: tests-3.99", "skip", "Python interpreter 3.99 not found"),
        ("tests: tests-3.13", "run", ""),
        ("tests: tests-3.13", "fail", "Returned code 1 (took 2 minutes)"),
    ]


def test_hexpack_release_prints_each_step_as_it_happens(tmp_path):
    """Through a pipe, as in CI logs: the step line is out before the gate's command ends."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    (tmp_path / "mix.exs").write_text(
        'defmodule D.MixProject do\n  def project, do: [app: :d, version: "0.1.0"]\nend\n'
    )
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n- Something.\n")
    flag = tmp_path / "seen"
    waits = textwrap.dedent(
        f"""\
        import pathlib, sys, time
        print("nox > Running session lint-3.13", flush=True)
        deadline = time.monotonic() + 20
        while not pathlib.Path({str(flag)!r}).exists():
            if time.monotonic() > deadline:
                sys.exit("no progress line while the gate ran")
            time.sleep(0.02)
        print("nox > Session lint-3.13 was successful in 1 second.")
        """
    )
    lint, tests = [sys.executable, "-c", waits], [sys.executable, "-c", "raise SystemExit(1)"]
    (tmp_path / "pyproject.toml").write_text(
        f"[tool.hexpack.release]\nlint = {json.dumps(lint)}\ntests = {json.dumps(tests)}\n"
    )
    (tmp_path / ".gitignore").write_text("/.hexpack/\n")
    identity = ["-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run(["git", "-C", str(tmp_path), "add", "-A"], check=True)
    subprocess.run(["git", "-C", str(tmp_path), *identity, "commit", "-qm", "init"], check=True)
    lines = []
    with subprocess.Popen(
        [sys.executable, "-m", "hexpack", "release", "--project", str(tmp_path), "patch", "--dry-run"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        text=True,
    ) as cli:
        assert cli.stdout is not None
        for line in cli.stdout:
            lines.append(line.rstrip())
            if "lint: lint-3.13" in line:
                flag.touch()
        assert cli.wait(timeout=60) == 1
    assert "run  lint: lint-3.13" in "\n".join(lines)
    assert any(line.endswith("lint: lint-3.13: in 1 second") for line in lines), lines
    assert any("tests" in line and "FAIL" in line for line in lines), lines
