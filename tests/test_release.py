"""The release flow in temporary git repositories.

Test doubles, named as such: ``mix`` (standing in for ``mix hex.publish``,
since Hex cannot be installed here; any other mix command runs the real mix) and ``twine`` (standing in for
``twine upload``, since PyPI must not be uploaded to) are small scripts put
first on PATH. They record their calls and can be told to fail. The lint,
tests and verify gates run real commands configured in the project's
``[tool.hexpack.release]`` (a ``python -c`` that passes, fails or leaves a
dist), so each gate's refusal is exercised; the real gates run on this
repository in ``test_release_dry_run_on_this_repository``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from hexpack import cli, nox_support
from hexpack.python import pythons
from hexpack.release.flow import PublishState

# git, the gate commands and the stand-ins orchestrated in temporary repositories; the flow's code runs on every
# Python in test_progress (a release step by step) and what it reads in test_versions, test_changelog, test_bump
pytestmark = pytest.mark.interpreter_independent

HEX_KEY = "hex-secret-token-1234567890"
PYPI_KEY = "pypi-AgEIcHlwaS5vcmcsecret"

MIX_EXS = """\
defmodule Demo.MixProject do
  use Mix.Project

  @version "0.1.0"

  def project do
    [app: :demo, version: @version, description: "Demo.", package: [licenses: ["MIT"], links: %{}]]
  end
end
"""

CHANGELOG = """\
# Changelog

## [Unreleased]

### Added
- A feature worth releasing.

## [0.1.0] - 2026-01-01

### Added
- First.
"""

DIST_SCRIPT = (
    "import pathlib, sys; d = pathlib.Path(sys.argv[1]); "
    "(d / 'demo-{v}-py3-none-any.whl').write_bytes(b'wheel'); (d / 'demo-{v}.tar.gz').write_bytes(b'sdist')"
)


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True, text=True).stdout


def write_doubles(bin_dir: Path) -> None:
    """Test doubles for `mix hex.publish` and `twine upload` (see module docstring)."""
    bin_dir.mkdir()
    for name in ("mix", "twine"):
        script = bin_dir / name
        script.write_text(
            textwrap.dedent(
                f"""\
                #!/bin/sh
                if [ "{name}" = mix ] && [ "$1" != hex.publish ] && [ -n "$REAL_MIX" ]; then
                  exec "$REAL_MIX" "$@"  # only publishing is doubled (verify's consumer project compiles for real)
                fi
                echo "{name} $*" >> "$DOUBLES_LOG"
                echo "using key $HEX_API_KEY $TWINE_PASSWORD"
                if [ -e "$DOUBLES_FAIL_{name.upper()}" ]; then
                  echo "{name} upload refused ($TWINE_PASSWORD$HEX_API_KEY)" >&2; exit 1
                fi
                exit 0
                """
            )
        )
        script.chmod(0o755)


def use_publish_doubles(tmp_path: Path, monkeypatch) -> None:
    """Put the doubles first on PATH, with their log and failure switches, and the tokens set."""
    write_doubles(tmp_path / "bin")
    monkeypatch.setenv("REAL_MIX", shutil.which("mix") or "")
    monkeypatch.setenv("PATH", f"{tmp_path / 'bin'}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("DOUBLES_LOG", str(tmp_path / "doubles.log"))
    monkeypatch.setenv("DOUBLES_FAIL_MIX", str(tmp_path / "fail-mix"))
    monkeypatch.setenv("DOUBLES_FAIL_TWINE", str(tmp_path / "fail-twine"))
    monkeypatch.setenv("HEX_API_KEY", HEX_KEY)
    monkeypatch.setenv("TWINE_PASSWORD", PYPI_KEY)


@pytest.fixture
def repo(tmp_path, monkeypatch):
    root = tmp_path / "demo"
    root.mkdir()
    (root / "mix.exs").write_text(MIX_EXS)
    (root / "CHANGELOG.md").write_text(CHANGELOG)
    (root / "README.md").write_text('Add `{:demo, "~> 0.1"}` to your deps.\n')
    (root / ".gitignore").write_text("/.hexpack/\n")
    set_release_config(root)
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "initial")
    use_publish_doubles(tmp_path, monkeypatch)
    return root


def set_release_config(root: Path, *, lint: str = "pass", tests: str = "pass", verify: str = "dist") -> None:
    def command(kind: str) -> list[str]:
        code = {"pass": "pass", "fail": "raise SystemExit('gate failed on purpose')"}.get(kind)
        if code is not None:
            return [sys.executable, "-c", code]
        return [sys.executable, "-c", DIST_SCRIPT.format(v="0.2.0"), "{dist}"]

    (root / "pyproject.toml").write_text(
        "[tool.hexpack.release]\n"
        f"lint = {json.dumps(command(lint))}\n"
        f"tests = {json.dumps(command(tests))}\n"
        f"verify = {json.dumps(command(verify))}\n"
    )


def snapshot(root: Path) -> tuple[str, str, str, dict[str, bytes]]:
    files = {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(root).parts and ".hexpack" not in p.relative_to(root).parts
    }
    return git(root, "rev-parse", "HEAD"), git(root, "tag", "-l"), git(root, "status", "--porcelain"), files


def release(root: Path, *args: str) -> int:
    return cli.main(["release", "--project", str(root), "--date", "2026-11-22", *args])


def doubles_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "doubles.log"
    return log.read_text().splitlines() if log.exists() else []


def test_full_release_makes_one_commit_and_one_tag(repo, tmp_path, capsys):
    before = git(repo, "rev-list", "--count", "HEAD")
    assert release(repo, "minor") == 0
    assert int(git(repo, "rev-list", "--count", "HEAD")) == int(before) + 1
    assert git(repo, "log", "-1", "--format=%s") == "Release v0.2.0\n"
    assert git(repo, "tag", "-l") == "v0.2.0\n"
    assert git(repo, "cat-file", "-t", "v0.2.0").strip() == "tag"  # annotated
    message = git(repo, "tag", "-l", "--format=%(contents)", "v0.2.0")
    assert "A feature worth releasing." in message
    changed = git(repo, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == ["CHANGELOG.md", "README.md", "mix.exs"]
    assert '@version "0.2.0"' in (repo / "mix.exs").read_text()
    assert git(repo, "status", "--porcelain") == ""
    assert doubles_calls(tmp_path) == []  # nothing published without --publish
    out = capsys.readouterr().out
    assert "PASS" in out and "released v0.2.0" in out


def test_repeating_a_release_is_refused(repo, capsys):
    assert release(repo, "0.2.0", "--publish") == 0
    head, tags, status, files = snapshot(repo)
    assert release(repo, "0.2.0") != 0
    assert "0.2.0 is equal to the current version 0.2.0" in capsys.readouterr().err
    assert snapshot(repo) == (head, tags, status, files)
    assert release(repo, "patch") == 1  # Unreleased is empty now
    assert "Unreleased" in capsys.readouterr().err
    assert snapshot(repo) == (head, tags, status, files)


def test_an_unpublished_tag_at_head_blocks_another_release(repo, capsys):
    assert release(repo, "minor") == 0
    before = snapshot(repo)
    assert release(repo, "patch") == 1
    assert "v0.2.0 is tagged but not published" in capsys.readouterr().err
    assert snapshot(repo) == before


@pytest.mark.parametrize(
    ("breakage", "cause"),
    [
        ("dirty", "work tree not clean"),
        ("branch", "not the release branch main"),
        ("tag", "tag v0.2.0 already exists"),
        ("empty_changelog", "[Unreleased] section is empty"),
        ("versions", "versions"),
        ("lint", "release gate 'lint'"),
        ("tests", "release gate 'tests'"),
        ("verify", "release gate 'verify bumped tree'"),
    ],
)
def test_each_gate_refuses_and_changes_nothing(repo, capsys, breakage, cause):
    if breakage == "dirty":
        (repo / "notes.txt").write_text("uncommitted")
    elif breakage == "branch":
        git(repo, "switch", "-q", "-c", "feature")
    elif breakage == "tag":
        git(repo, "tag", "v0.2.0")
    elif breakage == "empty_changelog":
        (repo / "CHANGELOG.md").write_text(CHANGELOG.replace("### Added\n- A feature worth releasing.\n\n", ""))
        git(repo, "commit", "-qam", "empty changelog")
    elif breakage == "versions":
        (repo / "README.md").write_text('Add `{:demo, "~> 0.0"}` to your deps.\n')
        git(repo, "commit", "-qam", "stale snippet")
    else:
        set_release_config(repo, **{breakage: "fail"})
        git(repo, "commit", "-qam", f"break {breakage}")
    before = snapshot(repo)
    assert release(repo, "minor") != 0
    err = capsys.readouterr().err
    assert cause in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert snapshot(repo) == before


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["banana"], "error: hexpack release: unknown part 'banana'; use major, minor, patch"),
        (["1.2"], "error: hexpack release 1.2: not a SemVer version: '1.2'"),
        (["patch", "--project", "no-such-dir"], "no-such-dir: project directory not found"),
    ],
)
def test_a_bad_part_or_project_is_refused_before_any_gate(repo, capsys, monkeypatch, argv, expected):
    (repo / "notes.txt").write_text("uncommitted")  # the clean-tree gate would fail: it must not even run
    monkeypatch.chdir(repo)
    assert cli.main(["release", *argv]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert expected in captured.err and len(captured.err.strip().splitlines()) == 1


def test_every_release_settings_problem_is_reported_at_once(tmp_path):
    from hexpack.errors import Problems
    from hexpack.release.flow import ReleaseSettings

    (tmp_path / "pyproject.toml").write_text(
        '[tool.hexpack.release]\nbranchh = "x"\nlint = "nox -s lint"\npypi = "yes"\n'
    )
    with pytest.raises(Problems) as caught:
        ReleaseSettings.load(tmp_path)
    table = f"{tmp_path / 'pyproject.toml'} [tool.hexpack.release]"
    assert caught.value.lines() == [
        f"{table}: unknown setting(s) branchh (did you mean branch?); known settings: branch, hex_publish, lint, pypi,"
        " pypi_upload, tests, verify",
        f'{table}: lint must be an argv list (no shell), got \'nox -s lint\'; write e.g. lint = ["nox", "-s", "lint"]',
        f"{table}: pypi must be true or false, got 'yes'; write e.g. pypi = true",
    ]


def test_dry_run_runs_every_gate_and_changes_nothing(repo, capsys):
    before = snapshot(repo)
    assert release(repo, "minor", "--dry-run") == 0
    out = capsys.readouterr().out
    for gate in (
        "clean work tree",
        "tag absent",
        "changelog",
        "versions consistent",
        "lint",
        "tests",
        "verify bumped tree",
    ):
        assert gate in out
    assert '+  @version "0.2.0"' in out and "+## [0.2.0] - 2026-11-22" in out
    assert snapshot(repo) == before


def test_publish_goes_hex_first_then_pypi_with_the_verified_dist(repo, tmp_path):
    assert release(repo, "minor", "--publish") == 0
    calls = doubles_calls(tmp_path)
    assert calls[0] == "mix hex.publish --yes"
    assert calls[1].startswith("twine upload --non-interactive --skip-existing ")
    uploaded = sorted(Path(p).name for p in calls[1].split()[4:])
    assert uploaded == ["demo-0.2.0-py3-none-any.whl", "demo-0.2.0.tar.gz"]
    state = PublishState.load(repo)
    assert state is not None and state.steps == {"hex": "done", "pypi": "done"}


def test_publish_needs_both_tokens_before_any_change(repo, monkeypatch, capsys):
    monkeypatch.delenv("HEX_API_KEY")
    monkeypatch.delenv("TWINE_PASSWORD")
    before = snapshot(repo)
    assert release(repo, "minor", "--publish") == 1
    assert "HEX_API_KEY and TWINE_PASSWORD not set" in capsys.readouterr().err
    assert snapshot(repo) == before


def test_resume_after_a_failed_upload_never_publishes_twice(repo, tmp_path, capsys):
    (tmp_path / "fail-twine").write_text("")
    assert release(repo, "minor", "--publish") == 1
    assert "publish to PyPI" in capsys.readouterr().err
    assert [c.split()[0] for c in doubles_calls(tmp_path)] == ["mix", "twine"]
    state = PublishState.load(repo)
    assert state is not None and state.steps == {"hex": "done", "pypi": "failed"}
    assert git(repo, "tag", "-l") == "v0.2.0\n"

    assert release(repo, "minor") == 1  # without --publish it points at the pending publish
    assert "--publish" in capsys.readouterr().err

    (tmp_path / "fail-twine").unlink()
    assert release(repo, "--publish") == 0
    assert [c.split()[0] for c in doubles_calls(tmp_path)] == ["mix", "twine", "twine"]
    assert "resuming" in capsys.readouterr().out
    assert PublishState.load(repo).steps == {"hex": "done", "pypi": "done"}
    assert [c.split()[0] for c in doubles_calls(tmp_path)] == ["mix", "twine", "twine"]


def test_a_pushed_tag_is_published_from_a_fresh_clone(repo, tmp_path, capsys):
    """CI on a v* tag: a detached clone with no local progress record publishes the tag."""
    assert release(repo, "minor") == 0
    clone = tmp_path / "ci-clone"
    git(tmp_path, "clone", "-q", "--branch", "v0.2.0", str(repo), str(clone))
    assert release(clone, "--publish") == 0
    assert [c.split()[:2] for c in doubles_calls(tmp_path)] == [["mix", "hex.publish"], ["twine", "upload"]]
    assert "verify tagged tree" in capsys.readouterr().out
    git(repo, "commit", "-q", "--allow-empty", "-m", "after the release")
    assert release(repo, "--publish") == 1  # HEAD is past the tag and nothing is pending
    assert "nothing to publish" in capsys.readouterr().err


def test_tokens_never_appear_in_output_logs_or_state(repo, tmp_path, capsys, caplog):
    (tmp_path / "fail-mix").write_text("")
    assert cli.main(["-v", "release", "--project", str(repo), "--date", "2026-11-22", "minor", "--publish"]) == 1
    captured = capsys.readouterr()
    seen = captured.out + captured.err + caplog.text + (repo / ".hexpack" / "release" / "state.json").read_text()
    assert "refused" in seen  # the double's failure line is shown ...
    assert HEX_KEY not in seen and PYPI_KEY not in seen  # ... with the tokens redacted
    assert "***" in seen


@pytest.mark.slow
def test_full_release_of_a_clone_of_this_repository(tmp_path, monkeypatch, capsys):
    """A real release of this repository in a temporary clone, publish doubles on PATH.

    The verify gate is the real `hexpack verify` of the bumped tree, on the
    newest targeted Python (test_verify_repo verifies this repository on each).
    The lint and tests gates are replaced in the clone's config by a passing
    command, because they are this very CI job (`nox -s lint`, `nox -s tests`)
    and running them again inside it would double its time.
    """
    repo_root = Path(__file__).resolve().parent.parent
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "--no-local", str(repo_root), str(clone))
    git(clone, "switch", "-q", "-C", "main")
    pyproject = clone / "pyproject.toml"
    targeted = pythons.targeted(clone)
    newest = nox_support.newest_python(targeted)
    text = pyproject.read_text().replace(f"python = {json.dumps(targeted)}\n", f"python = {json.dumps([newest])}\n", 1)
    passing = json.dumps([sys.executable, "-c", "pass"])
    pyproject.write_text(text + f"\n[tool.hexpack.release]\nlint = {passing}\ntests = {passing}\n")
    assert pythons.targeted(clone) == [newest]
    git(clone, "commit", "-qam", "test: lint and tests gates run by the surrounding CI job, verify on one Python")
    use_publish_doubles(tmp_path, monkeypatch)
    commits_before = int(git(clone, "rev-list", "--count", "HEAD"))

    assert release(clone, "patch", "--publish") == 0, capsys.readouterr()
    new = git(clone, "describe", "--tags", "--exact-match").strip()
    assert int(git(clone, "rev-list", "--count", "HEAD")) == commits_before + 1
    assert git(clone, "tag", "-l") == f"{new}\n"
    assert git(clone, "log", "-1", "--format=%s") == f"Release {new}\n"
    assert git(clone, "status", "--porcelain") == ""
    calls = doubles_calls(tmp_path)
    assert [c.split()[:2] for c in calls] == [["mix", "hex.publish"], ["twine", "upload"]]
    version = new.removeprefix("v")
    assert sorted(Path(p).name for p in calls[1].split()[4:]) == [  # hexpack itself, next to hexpack-bridge
        f"hexpack-{version}-py3-none-any.whl",
        f"hexpack-{version}.tar.gz",
        f"hexpack_bridge-{version}-py3-none-any.whl",
        f"hexpack_bridge-{version}.tar.gz",
    ]
    from hexpack.versioning.places import read_versions

    assert read_versions(clone).ok

    before = snapshot(clone)
    assert release(clone, version, "--publish") != 0  # repeating it is refused
    assert release(clone, "patch", "--publish") != 0  # and so is a new release with an empty changelog
    assert "[Unreleased] section is empty" in capsys.readouterr().err
    assert snapshot(clone) == before
    assert len(doubles_calls(tmp_path)) == 2


def set_verify_command(repo: Path, verify: list[str]) -> None:
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text().splitlines()
    pyproject.write_text(
        "\n".join([*(line for line in text if not line.startswith("verify")), f"verify = {json.dumps(verify)}"]) + "\n"
    )
    git(repo, "commit", "-qam", "a verify that fails")


def test_a_failing_verify_names_its_failing_gates_from_its_json_report(repo, tmp_path, capsys):
    """The verify command is a stand-in that prints verify's table twice (as a gate's line and in
    the table) and writes the JSON report hexpack's own Report writes; a real failing verify is
    too slow for this file's fast tests (the real one passes in test_full_release_of_a_clone_...)."""
    from hexpack.verify.gates import Gate, Report, fail, note, warn

    report = Report(subject="demo")
    report.add(Gate("stubs --check", "1 freshness")).add(note("ok"))
    report.add(Gate("forbidden files", "3 tarball")).extend(
        [fail(".env is forbidden", subject="priv/python/.env", hint="remove it"), warn("big")]
    )
    report.add(Gate("size", "3 tarball")).add(warn("close to the limit", subject="demo-0.1.0.tar"))
    saved = tmp_path / "report.json"
    saved.write_text(json.dumps(report.to_json()))
    table = "3 tarball  forbidden files  fail  fail: priv/python/.env: .env is forbidden"
    script = (
        "import shutil, sys; "
        f"print({table!r}); print({table!r}); print('verify FAILED: 2 gates'); "
        "shutil.copy(sys.argv[1], sys.argv[2]); raise SystemExit(1)"
    )
    set_verify_command(repo, [sys.executable, "-c", script, str(saved), "{report}"])
    before = snapshot(repo)
    assert release(repo, "minor") == 1
    err = capsys.readouterr().err
    assert err.count("3 tarball forbidden files fail: priv/python/.env: .env is forbidden; remove it") == 1
    assert "3 tarball size warn: demo-0.1.0.tar: close to the limit" in err
    assert "stubs --check" not in err and "verify FAILED" not in err
    assert snapshot(repo) == before


def test_a_failing_verify_without_a_report_is_told_by_its_command(repo, capsys):
    """A configured verify command that writes no report (no ``{report}``): its failure is still one line."""
    set_verify_command(repo, [sys.executable, "-c", "raise SystemExit('verify FAILED: 2 gates')"])
    before = snapshot(repo)
    assert release(repo, "minor") == 1
    err = capsys.readouterr().err
    assert "release gate 'verify bumped tree'" in err and "verify FAILED: 2 gates" in err
    assert snapshot(repo) == before


def test_a_failed_tag_undoes_the_release_commit_and_the_bump(repo, monkeypatch, capsys):
    """Failure injected after the commit: the tag step raises (as a full disk or a hook would)."""
    from hexpack import git as hexpack_git
    from hexpack.errors import HexpackError

    def refuse(root, tag, message):
        raise HexpackError("injected tag failure", subject="git tag")

    monkeypatch.setattr(hexpack_git, "create_annotated_tag", refuse)
    before = snapshot(repo)
    assert release(repo, "minor") == 1
    assert "injected tag failure" in capsys.readouterr().err
    assert snapshot(repo) == before


def test_a_release_killed_between_its_commit_and_its_tag_is_tagged_by_the_next_run(repo, tmp_path, capsys):
    """The state a SIGKILL after `git commit` leaves: HEAD is `Release v0.2.0`, no tag, no progress record."""
    assert release(repo, "minor") == 0
    message = git(repo, "tag", "-l", "--format=%(contents)", "v0.2.0")
    git(repo, "tag", "-d", "v0.2.0")
    (repo / ".hexpack" / "release" / "state.json").unlink()
    capsys.readouterr()
    assert release(repo, "--publish") == 0
    out = capsys.readouterr().out
    assert "v0.2.0: the release of HEAD was interrupted before its tag; tagged now" in out
    assert git(repo, "tag", "-l", "--format=%(contents)", "v0.2.0") == message
    assert [call.split()[0] for call in doubles_calls(tmp_path)] == ["mix", "twine"]


def set_release_command(repo: Path, key: str, argv: list[str]) -> None:
    pyproject = repo / "pyproject.toml"
    text = pyproject.read_text().splitlines()
    pyproject.write_text(
        "\n".join([*(line for line in text if not line.startswith(key)), f"{key} = {json.dumps(argv)}"])
    )
    git(repo, "commit", "-qam", f"{key} command")


def test_a_failing_tests_gate_names_the_failing_tests_once(repo, tmp_path, capsys):
    """The tests gate is a real pytest run on a failing test file."""
    (tmp_path / "test_demo.py").write_text("def test_ok():\n    pass\n\ndef test_broken():\n    assert 1 == 2\n")
    set_release_command(
        repo, "tests", [sys.executable, "-m", "pytest", "-q", "-ra", "-p", "no:cacheprovider", str(tmp_path)]
    )
    assert release(repo, "minor") == 1
    captured = capsys.readouterr()
    assert captured.err.count("test_broken") == 1 and "test_broken" not in captured.out
    assert "1 failing test(s): " in captured.err and "test_demo.py::test_broken" in captured.err
    assert "FAIL  tests" in captured.out


def test_an_empty_changelog_released_on_purpose_says_so(repo, capsys):
    (repo / "CHANGELOG.md").write_text(CHANGELOG.replace("### Added\n- A feature worth releasing.\n\n", ""))
    git(repo, "commit", "-qam", "empty changelog")
    assert release(repo, "minor", "--dry-run", "--allow-empty") == 0
    out = capsys.readouterr().out
    assert "changelog: Unreleased is empty, released as such (--allow-empty)" in out
    assert "Unreleased has entries" not in out


def test_the_bumped_tree_is_verified_as_a_clean_checkout_holds_it(repo, capsys):
    """A packaged file .gitignore hides is in the work tree but not in CI's checkout: the verify copy lacks it."""
    (repo / ".gitignore").write_text("/.hexpack/\npriv/generated.txt\n")
    (repo / "priv").mkdir()
    (repo / "priv/generated.txt").write_text("made locally, never committed\n")
    check = "import pathlib, sys; sys.exit(0 if (pathlib.Path(sys.argv[1]) / 'priv/generated.txt').exists() else 3)"
    set_release_command(repo, "verify", [sys.executable, "-c", check, "{project}"])
    assert release(repo, "minor", "--dry-run") == 1
    assert "release gate 'verify bumped tree'" in capsys.readouterr().err


# nox's output when a command inside the lint session fails (recorded from snakepit's `nox -s lint`)
NOX_LINT_FAILURE = """\
nox > Running session lint
nox > hexpack stubs --check
error: the committed stubs are not hexpack's yet; a first `hexpack stubs` adopts them (then commit them)
nox > Command hexpack stubs --check failed with exit code 1
nox > Session lint failed.
"""


def test_a_failing_nox_gate_names_the_command_that_failed_inside_the_session():
    from hexpack.errors import CommandFailed
    from hexpack.release.flow import _what_failed

    failed = CommandFailed(["nox", "-s", "lint"], 1, NOX_LINT_FAILURE)
    assert _what_failed(failed) == "nox session(s) lint failed: hexpack stubs --check (exit 1)"
    without_command = CommandFailed(["nox", "-s", "lint"], 1, "nox > Session lint failed.\n")
    expected = "nox session(s) lint failed: exited with status 1: nox > Session lint failed."
    assert _what_failed(without_command) == expected
