"""README's two commands and .ci/run stay in sync, and name sessions that exist."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

pytestmark = pytest.mark.interpreter_independent  # this repository's files

REPO = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The commands of README's first ``sh`` block, comments stripped."""
    text = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```sh\n(.*?)```", text, re.S)
    assert block, "README.md must begin with a ```sh block of the two commands"
    return [line.split("#", 1)[0].strip() for line in block.group(1).splitlines() if line.strip()]


def ci_run_command() -> str:
    lines = [line.strip() for line in (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()]
    commands = [line for line in lines if line and not line.startswith("#")]
    return commands[-1]


def test_readme_begins_with_the_main_job_and_the_test_command():
    main_job, test_command = readme_commands()
    assert main_job.startswith("bash .ci/install && nox -s ")
    assert test_command.startswith("bash .ci/install && nox -s tests")
    first_block = (REPO / "README.md").read_text(encoding="utf-8").index("```sh")
    assert first_block < 400, "the two commands come first"


def test_ci_run_runs_exactly_the_readme_test_command():
    assert ci_run_command() == readme_commands()[1]


def test_ci_run_is_non_interactive_and_marks_ci():
    text = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "exec </dev/null" in text
    assert 'export CI="${CI:-true}"' in text
    assert "set -euo pipefail" in text


def test_readme_sessions_exist_in_the_noxfile():
    noxfile = (REPO / "noxfile.py").read_text(encoding="utf-8")
    for command in readme_commands():
        for session in re.findall(r"nox -s ((?:[\w-]+ ?)+)", command)[0].split():
            assert re.search(rf"(?m)^def {re.escape(session)}\(session", noxfile), f"no nox session {session}"


def test_ci_scripts_are_valid_bash():
    for script in (".ci/run", ".ci/install"):
        result = subprocess.run(["bash", "-n", str(REPO / script)], capture_output=True, text=True)
        assert result.returncode == 0, f"{script}: {result.stderr}"


def test_ci_install_never_prompts():
    text = (REPO / ".ci" / "install").read_text(encoding="utf-8")
    assert "DEBIAN_FRONTEND=noninteractive" in text
    for line in text.splitlines():
        if "apt-get install" in line:
            assert " -y" in line, line
        if "sudo " in line:
            assert "sudo -n" in line, line


def test_readme_says_what_hexpack_version_prints(capsys):
    """The install block's `hexpack --version  # prints: ...`, with X.Y.Z the installed version."""
    from hexpack import __version__, cli

    said = re.search(r"(?m)^hexpack --version +# prints: (.+)$", (REPO / "README.md").read_text(encoding="utf-8"))
    assert said, "README's install block shows what `hexpack --version` prints"
    with pytest.raises(SystemExit) as done:
        cli.main(["--version"])
    assert done.value.code == 0
    assert capsys.readouterr().out.strip() == said.group(1).replace("X.Y.Z", __version__)
