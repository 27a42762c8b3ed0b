"""`hexpack doctor`: real tools on this machine, git states in temporary repositories."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from conftest import require_program
from hexpack import cli
from hexpack.onboarding import doctor

REPO = Path(__file__).resolve().parent.parent


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=root, check=True, capture_output=True, text=True).stdout


@pytest.fixture
def repo(tmp_path):
    """A git repository on main with one commit and a hexpack config."""
    require_program("git")
    root = tmp_path / "project"
    root.mkdir()
    (root / "pyproject.toml").write_text(
        '[project]\nname = "x"\nversion = "1.0.0"\n\n[tool.hexpack]\npython = ["3.99"]\n', encoding="utf-8"
    )
    git(root, "init", "-q", "-b", "main")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "add", ".")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-q", "-m", "init")
    return root


def by_name(checks):
    return {c.name: c for c in checks}


def test_a_clean_main_branch_is_ok(repo):
    check = doctor.check_git(repo)
    assert (check.status, check.found, check.fix) == ("ok", "on main, clean", "")


def test_uncommitted_changes_would_stop_a_release(repo):
    (repo / "new.txt").write_text("x", encoding="utf-8")
    check = doctor.check_git(repo)
    assert (check.status, check.found) == ("fail", "on main, 1 uncommitted change(s)")
    assert check.fix == 'git add new.txt && git commit -am "..."  (or: git stash --include-untracked)'
    assert "new.txt" in check.note  # `git commit -am` alone would leave the untracked file behind


def test_only_tracked_changes_need_no_git_add(repo):
    (repo / "pyproject.toml").write_text("# changed\n", encoding="utf-8")
    assert doctor.check_git(repo).fix == 'git commit -am "..."  (or: git stash --include-untracked)'


def test_another_branch_names_the_release_branch(repo):
    git(repo, "switch", "-q", "-c", "feature")
    check = doctor.check_git(repo)
    assert (check.status, check.fix) == ("fail", "git switch main")


def test_the_release_branch_comes_from_tool_hexpack_release(repo):
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write('\n[tool.hexpack.release]\nbranch = "trunk"\n')
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qam", "trunk")
    assert doctor.check_git(repo).fix == "git switch trunk"


def test_a_broken_release_table_is_shown_not_replaced_by_main(repo):
    with (repo / "pyproject.toml").open("a", encoding="utf-8") as handle:
        handle.write("\n[tool.hexpack.release]\nbranch = 3\n")
    check = doctor.check_git(repo)
    assert (check.status, check.fix) == ("fail", "fix [tool.hexpack.release]")
    assert 'branch must be a string, got 3; write e.g. branch = "main"' in check.found


def test_a_detached_release_tag_is_what_ci_publishes(repo):
    git(repo, "-c", "user.name=t", "-c", "user.email=t@example.com", "tag", "-a", "v1.0.0", "-m", "v1.0.0")
    git(repo, "switch", "-q", "--detach", "v1.0.0")
    check = doctor.check_git(repo)
    assert (check.status, check.found) == ("ok", "detached at release tag v1.0.0, clean")


def test_not_a_repository_says_git_init(tmp_path):
    require_program("git")
    check = doctor.check_git(tmp_path)
    assert check.status == "fail" and check.fix == f"git -C {tmp_path} init"


def test_a_missing_tool_names_its_install_command(tmp_path):
    env = {"PATH": str(tmp_path)}
    assert doctor.check_tool("uv", ["uv", "--version"], "python3 -m pip install uv", env) == doctor.Check(
        "uv", "fail", "not found on PATH", "python3 -m pip install uv"
    )


def test_without_elixir_the_built_in_engine_is_the_fallback(tmp_path):
    checks = by_name(doctor.check_elixir(False, {"PATH": str(tmp_path)}))
    assert [c.status for c in checks.values()] == ["warn", "warn", "warn"]
    assert checks["elixir"].fix.endswith("apt-get install -y elixir")
    assert "built-in engine" in checks["mix"].note
    # publishing to Hex needs them: then the gap stops a release
    assert {c.status for c in doctor.check_elixir(True, {"PATH": str(tmp_path)})} == {"fail"}


@pytest.mark.engine_choice
@pytest.mark.interpreter_independent
def test_elixir_mix_and_hex_on_this_machine():
    require_program("elixir")
    checks = by_name(doctor.check_elixir(False, os.environ))
    assert checks["elixir"].status == "ok" and checks["elixir"].found.startswith("Elixir 1.")
    assert checks["mix"].status == "ok"
    hex_check = checks["hex"]
    if hex_check.status != "ok":  # Hex cannot be installed here: the fallback is named, not a failure
        assert (hex_check.status, hex_check.fix) == ("warn", "mix local.hex --force")
        assert "built-in engine" in hex_check.note


@pytest.mark.interpreter_independent
@pytest.mark.parametrize(("requirement", "status"), [("~> 1.0", "ok"), ("~> 99.0", "warn")])
def test_the_installed_elixir_is_checked_against_mix_exs(tmp_path, requirement, status):
    require_program("elixir")
    (tmp_path / "mix.exs").write_text(
        "defmodule Demo.MixProject do\n  use Mix.Project\n\n"
        f'  def project, do: [app: :demo, version: "1.0.0", elixir: "{requirement}"]\nend\n'
    )
    check = by_name(doctor.check_elixir(False, os.environ, root=tmp_path))["elixir version"]
    assert (check.name, check.status) == ("elixir version", status)
    assert check.found.startswith(f"mix.exs wants {requirement}, Elixir 1.")
    assert (status == "warn") == ("install an Elixir that matches" in check.fix)


def test_credentials_are_checked_but_never_shown():
    secret = "hexkey-do-not-print-1234"
    checks = doctor.check_credentials({"HEX_API_KEY": secret, "TWINE_PASSWORD": "pypi-" + secret})
    assert [(c.name, c.status, c.found) for c in checks] == [
        ("HEX_API_KEY", "ok", "set"),
        ("TWINE_PASSWORD", "ok", "set"),
    ]
    assert secret not in json.dumps([c.to_json() for c in checks])
    missing = doctor.check_credentials({})
    assert [c.status for c in missing] == ["fail", "fail"]
    assert missing[0].fix.startswith("export HEX_API_KEY=")


def test_grpcio_tools_is_compared_with_the_pin():
    check = doctor.check_grpcio_tools(REPO)
    assert check.name == "grpcio-tools"
    assert "1.85.1" in check.found
    assert check.status in ("ok", "warn")
    if check.status == "warn":
        assert check.fix.endswith("-m pip install grpcio-tools==1.85.1")


def test_a_project_without_stubs_settings_needs_no_grpcio_tools(tmp_path):
    """snakebridge ships stubs made elsewhere and compiles no protos: init writes no [stubs], doctor is fine."""
    (tmp_path / "hexpack.toml").write_text('python = ["3.12"]\n', encoding="utf-8")
    check = doctor.check_grpcio_tools(tmp_path)
    assert (check.status, check.found) == ("ok", "not used (no [stubs] settings: the project compiles no protos)")


def test_several_stubs_settings_problems_stay_on_the_one_table_row(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.hexpack.stubs]\ngrpcio-tools = 1.85\nout = 4\n", encoding="utf-8")
    check = doctor.check_grpcio_tools(tmp_path)
    assert check.status == "warn" and "\n" not in check.found
    assert "got 1.85" in check.found and "out must be a path" in check.found


@pytest.mark.interpreter_independent
def test_a_missing_targeted_python_fails_with_the_install_command(repo, capsys):
    code = cli.main(["doctor", "--root", str(repo)])
    captured = capsys.readouterr()
    assert code == 1
    line = next(line for line in captured.out.splitlines() if line.startswith("python 3.99"))
    assert "fail" in line and "install 3.99" in line
    assert "error: 1 gap(s) would stop a release: python 3.99;" in captured.err


@pytest.mark.interpreter_independent
def test_doctor_on_this_repository_finds_every_targeted_python(capsys):
    code = cli.main(["doctor", "--root", str(REPO), "--json"])
    report = json.loads(capsys.readouterr().out)
    checks = {c["name"]: c for c in report["checks"]}
    assert list(checks)[:4] == ["python 3.10", "python 3.11", "python 3.12", "python 3.13"]
    for name in ("uv", "nox", "elixir", "mix", "hex", "grpcio-tools", "git"):
        assert name in checks
    assert code == (0 if report["ok"] else 1)
    for check in checks.values():
        assert check["status"] in ("ok", "warn", "fail")
        if check["status"] != "ok":
            assert check["fix"], f"{check['name']}: a gap without a fix"


def test_hex_is_read_from_mix_archives_without_running_mix(tmp_path):
    archives = tmp_path / "mix" / "archives"
    (archives / "hex-2.1.1" / "hex-2.1.1" / "ebin").mkdir(parents=True)
    assert doctor.installed_hex({"MIX_HOME": str(tmp_path / "mix"), "HOME": str(tmp_path)}) == "2.1.1"
    assert doctor.installed_hex({"HOME": str(tmp_path / "nobody")}) is None
    (tmp_path / "home" / ".mix" / "archives").mkdir(parents=True)
    (tmp_path / "home" / ".mix" / "archives" / "hex-2.0.6.ez").write_bytes(b"")
    assert doctor.installed_hex({"HOME": str(tmp_path / "home")}) == "2.0.6"
