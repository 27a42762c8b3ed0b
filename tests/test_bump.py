"""`hexpack bump`: golden files, all or nothing, dry run, errors, round trip."""

from __future__ import annotations

import datetime
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hexpack.cli import main
from hexpack.errors import HexpackError
from hexpack.versioning.bump import apply_plan, plan_bump
from hexpack.versioning.places import read_versions

GOLDEN = Path(__file__).parent / "golden"
REPO = Path(__file__).resolve().parent.parent
DATE = "2026-11-22"
UPDATE = os.environ.get("HEXPACK_UPDATE_GOLDEN") == "1"


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not {".git", ".hexpack", "__pycache__"} & set(p.relative_to(root).parts)
    }


@pytest.fixture
def snakepit(tmp_path) -> Path:
    target = tmp_path / "snakepit"
    shutil.copytree(GOLDEN / "snakepit_style" / "input", target)
    return target


# --------------------------------------------------------------------------- golden


@pytest.mark.parametrize(("arg", "expected"), [("minor", "expected-minor"), ("0.7.0-rc.1", "expected-rc")])
def test_golden_bump(snakepit, arg, expected, capsys):
    """Only our places change: {:other, "~> 0.16.0"}, {:grpc, "~> 0.6.1"},
    {:snakepit_extras, "~> 0.6.1"} and the pyproject's comments stay as they are."""
    assert main(["bump", "--root", str(snakepit), arg, "--date", DATE]) == 0
    got = snapshot(snakepit)
    expected_dir = GOLDEN / "snakepit_style" / expected
    if UPDATE:
        shutil.rmtree(expected_dir, ignore_errors=True)
        shutil.copytree(snakepit, expected_dir)
    want = snapshot(expected_dir)
    assert sorted(got) == sorted(want)
    for rel in want:
        assert got[rel].decode() == want[rel].decode(), rel
    assert read_versions(snakepit).ok


def test_dry_run_prints_exactly_the_plan_and_writes_nothing(snakepit, capsys):
    before = snapshot(snakepit)
    assert main(["bump", "--root", str(snakepit), "minor", "--date", DATE, "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert snapshot(snakepit) == before
    plan = plan_bump(snakepit, "minor", today=datetime.date(2026, 11, 22))
    assert out == plan.diff() + f"dry run: 0.6.1 -> 0.7.0 (PyPI 0.7.0) would change {len(plan.changes)} file(s)\n"
    # the diff applies to the tree and gives exactly what a real run writes
    git = shutil.which("git")
    if git:
        patched = snakepit.parent / "patched"
        shutil.copytree(snakepit, patched)
        subprocess.run([git, "apply", "-p1", "-"], input=plan.diff().encode(), cwd=patched, check=True)
        apply_plan(plan)
        assert snapshot(patched) == snapshot(snakepit)


def test_plan_exposes_what_the_release_flow_needs(snakepit):
    plan = plan_bump(snakepit, "0.7.0-rc.1", today=DATE)
    assert (plan.old, plan.new, plan.pep440, plan.tag) == ("0.6.1", "0.7.0-rc.1", "0.7.0rc1", "v0.7.0-rc.1")
    assert plan.changelog_section.startswith("## [0.7.0-rc.1] - 2026-11-22\n\n### Added\n")
    assert plan.unreleased_empty is False
    assert sorted(plan.files) == sorted(
        [
            "mix.exs",
            "priv/python/pyproject.toml",
            "priv/python/snakepit_bridge/__init__.py",
            "README.md",
            "guides/getting-started.md",
            "CHANGELOG.md",
        ]
    )


# --------------------------------------------------------------------------- all or nothing


def test_a_failure_at_each_write_leaves_every_file_byte_identical(snakepit):
    before = snapshot(snakepit)
    plan = plan_bump(snakepit, "major", today=DATE)
    count = len(plan.changes)
    assert count == 6
    for failing in range(count):
        seen: list[int] = []

        def boom(path: Path, index: int, failing=failing, seen=seen) -> None:
            seen.append(index)
            if index == failing:
                raise OSError(f"injected failure writing {path.name}")

        with pytest.raises(OSError, match="injected failure"):
            apply_plan(plan, before_write=boom)
        assert seen == list(range(failing + 1))
        assert snapshot(snakepit) == before, f"failure at write {failing} left changes"
    apply_plan(plan)
    assert read_versions(snakepit).version.semver == "1.0.0"


def test_a_failing_rename_at_each_write_leaves_every_file_byte_identical(snakepit, monkeypatch):
    """The real write path fails (os.replace raises), not just the test seam."""
    import hexpack.fsutil as fsutil

    before = snapshot(snakepit)
    plan = plan_bump(snakepit, "0.7.0-rc.1", today=DATE)
    real_replace = os.replace
    for failing in range(len(plan.changes)):
        calls = {"n": 0}

        def replace(src, dst, failing=failing, calls=calls):
            calls["n"] += 1
            if calls["n"] == failing + 1:
                raise OSError(28, "No space left on device (injected)")
            return real_replace(src, dst)

        monkeypatch.setattr(fsutil.os, "replace", replace)
        with pytest.raises(HexpackError, match=r"cannot write: No space left on device \(injected\); nothing was"):
            apply_plan(plan)
        monkeypatch.setattr(fsutil.os, "replace", real_replace)
        assert snapshot(snakepit) == before, f"failure at write {failing} left changes"
        assert not list(snakepit.rglob("*.hexpack-tmp")), "temporary files left behind"


def test_interrupt_during_a_write_restores_too(snakepit):
    before = snapshot(snakepit)
    plan = plan_bump(snakepit, "patch", today=DATE)

    def interrupt(path: Path, index: int) -> None:
        if index == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        apply_plan(plan, before_write=interrupt)
    assert snapshot(snakepit) == before


def test_a_file_changed_after_planning_is_refused(snakepit):
    plan = plan_bump(snakepit, "patch", today=DATE)
    (snakepit / "README.md").write_text("edited meanwhile\n")
    before = snapshot(snakepit)
    with pytest.raises(HexpackError, match="README.md: changed since the bump was planned"):
        apply_plan(plan)
    assert snapshot(snakepit) == before


def test_a_file_edited_while_the_bump_is_planned_is_refused_not_patched_at_stale_offsets(snakepit, monkeypatch):
    """The places are located when read; a file edited before plan_bump reads it to edit would take the new
    version at the old offsets."""
    from hexpack.versioning import bump

    def read_then_edit(root):
        report = read_versions(root)
        mix = snakepit / "mix.exs"
        mix.write_text("# a comment added meanwhile\n" + mix.read_text())
        return report

    monkeypatch.setattr(bump, "read_versions", read_then_edit)
    before = snapshot(snakepit)
    with pytest.raises(HexpackError, match="mix.exs: changed while the bump was planned"):
        plan_bump(snakepit, "patch", today=DATE)
    before["mix.exs"] = b"# a comment added meanwhile\n" + before["mix.exs"]  # the edit, and nothing else
    assert snapshot(snakepit) == before


# --------------------------------------------------------------------------- errors (CLI)


def _fails(root: Path, argv: list[str], message: str, capsys, code: int = 1) -> None:
    before = snapshot(root)
    assert main(["bump", "--root", str(root), *argv]) == code
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert err[0].startswith("error: ")
    assert message in err[0], err[0]
    assert snapshot(root) == before


@pytest.mark.parametrize(
    ("argv", "message", "code"),
    [
        (["minr"], "hexpack bump: unknown part 'minr'; use major, minor, patch, pre, release", 2),
        (["0.7"], "not a SemVer version: '0.7'", 2),
        (["0.7.0-foo.1"], "pre-release '-foo.1' in '0.7.0-foo.1' has no faithful PEP 440 counterpart", 2),
        (["0.7.0+build.1"], "build metadata '+build.1'", 2),
        (["0.6.0"], "0.6.0 is lower than the current version 0.6.1", 2),
        (["0.6.1"], "0.6.1 is equal to the current version 0.6.1", 2),
        (["pre"], "0.6.1 is a release, so `pre` has no pre-release number to increment", 2),
        (["minor", "--date", "22/11/2026"], "--date: not a date: '22/11/2026'; use YYYY-MM-DD", 2),
    ],
)
def test_bad_arguments(snakepit, capsys, argv, message, code):
    _fails(snakepit, argv, message, capsys, code)


def test_missing_changelog(snakepit, capsys):
    (snakepit / "CHANGELOG.md").unlink()
    _fails(snakepit, ["minor"], "CHANGELOG.md: file not found; create a Keep a Changelog file", capsys)


def test_empty_unreleased(snakepit, capsys):
    changelog = snakepit / "CHANGELOG.md"
    text = changelog.read_text()
    start, end = text.index("### Added\n- `Snakepit"), text.index("## [0.6.1]")
    changelog.write_text(text[:start] + text[end:])
    _fails(
        snakepit, ["minor"], "[Unreleased] section has no entries; describe the changes, or pass --allow-empty", capsys
    )
    assert plan_bump(snakepit, "minor", today=DATE, allow_empty=True).unreleased_empty is True
    assert main(["bump", "--root", str(snakepit), "minor", "--allow-empty", "--date", DATE]) == 0


def test_read_only_file(snakepit, capsys, monkeypatch):
    readme = snakepit / "README.md"
    readme.chmod(0o444)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        # root may write anyway, so os.access says yes; make it honour the mode bits
        real_access = os.access

        def access(path, mode, *args, **kwargs):
            if mode == os.W_OK and Path(path).is_file():
                return bool(Path(path).stat().st_mode & 0o200)
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
    try:
        _fails(snakepit, ["minor"], "README.md: file is read-only; make it writable and retry", capsys)
    finally:
        readme.chmod(0o644)


def test_a_place_not_holding_the_current_version_is_refused_by_name(snakepit, capsys):
    init = snakepit / "priv/python/snakepit_bridge/__init__.py"
    init.write_text(init.read_text().replace("0.6.1", "2.0.0"))
    _fails(
        snakepit,
        ["minor"],
        "priv/python/snakepit_bridge/__init__.py:3: holds '2.0.0', not '0.6.1'",
        capsys,
    )


def test_an_unexpected_occurrence_is_refused_by_name(snakepit, capsys):
    (snakepit / "NOTES.md").write_text("see 0.6.1\n")
    _fails(snakepit, ["minor"], "NOTES.md:1: unexpected occurrence of the current version 0.6.1", capsys)


# --------------------------------------------------------------------------- round trip on this repository


@pytest.mark.interpreter_independent
def test_round_trip_on_a_clone_of_this_repository(tmp_path):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    if not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    clone = tmp_path / "clone"
    subprocess.run([git, "clone", "-q", str(REPO), str(clone)], check=True)
    if not (clone / "mix.exs").is_file():
        pytest.skip("mix.exs is not committed yet")
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.org",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.org",
    }
    first = read_versions(clone)
    assert first.ok, [p for p in first.places if not p.agrees] + first.unexpected
    managed = {p.file for p in first.places} | {first.config.changelog}
    major, minor, _patch = first.version.major, first.version.minor, first.version.patch
    rc = f"{major}.{minor + 1}.0-rc.1"
    steps = [(rc, rc), ("release", f"{major}.{minor + 1}.0"), ("patch", f"{major}.{minor + 1}.1")]
    for arg, expected in steps:
        changelog = clone / "CHANGELOG.md"
        text = changelog.read_text()
        marker = "## [Unreleased]\n"
        changelog.write_text(text.replace(marker, marker + f"\n- Round-trip entry before {expected}.\n", 1))
        subprocess.run([git, "commit", "-qam", "entry"], cwd=clone, check=True, env={**os.environ, **env})
        assert main(["bump", "--root", str(clone), arg, "--date", DATE]) == 0
        report = read_versions(clone)
        assert report.ok, [p for p in report.places if not p.agrees] + report.unexpected
        assert report.version.semver == expected
        changed = subprocess.run([git, "diff", "--name-only"], cwd=clone, check=True, capture_output=True, text=True)
        files = set(changed.stdout.split())
        assert files <= managed, files - managed
        assert {"mix.exs", "CHANGELOG.md"} <= files
        subprocess.run([git, "commit", "-qam", f"bump {expected}"], cwd=clone, check=True, env={**os.environ, **env})
    assert main(["version", "--root", str(clone)]) == 0


def test_crlf_files_keep_their_line_endings(tmp_path):
    root = tmp_path / "crlf"
    root.mkdir()
    mix = 'defmodule W.MixProject do\r\n  def project do\r\n    [app: :w, version: "1.3.0"]\r\n  end\r\nend\r\n'
    (root / "mix.exs").write_bytes(mix.encode())
    (root / "README.md").write_bytes(b'{:w, "~> 1.3"}\r\n')
    (root / "CHANGELOG.md").write_bytes(b"# Changelog\r\n\r\n## [Unreleased]\r\n\r\n- x\r\n")
    plan = plan_bump(root, "minor", today=DATE)
    apply_plan(plan)
    assert (root / "mix.exs").read_bytes() == mix.replace("1.3.0", "1.4.0").encode()
    assert (root / "README.md").read_bytes() == b'{:w, "~> 1.4"}\r\n'
    assert (root / "CHANGELOG.md").read_bytes() == (
        b"# Changelog\r\n\r\n## [Unreleased]\r\n\r\n## [1.4.0] - 2026-11-22\r\n\r\n- x\r\n"
    )
    assert read_versions(root).ok


def test_bump_edits_the_literal_the_reader_found_and_links_the_package_repository(tmp_path):
    """The version written in a helper is the one edited; the compare links use the package's GitHub link,
    not a URL in a comment (which a search of the text would take first)."""
    mix = (
        'defmodule W.MixProject do\n  use Mix.Project\n  # fork of "https://github.com/old/fork"\n'
        '  @source_url "https://github.com/acme/w"\n\n'
        "  def project, do: [app: :w, version: version(), package: package()]\n\n"
        '  defp version, do: "1.3.0"\n'
        '  defp package, do: [licenses: ["MIT"], links: %{"GitHub" => @source_url}]\nend\n'
    )
    (tmp_path / "mix.exs").write_text(mix)
    (tmp_path / "CHANGELOG.md").write_text("# Changelog\n\n## [Unreleased]\n\n- x\n")
    apply_plan(plan_bump(tmp_path, "minor", today=DATE))
    assert (tmp_path / "mix.exs").read_text() == mix.replace('"1.3.0"', '"1.4.0"')
    changelog = (tmp_path / "CHANGELOG.md").read_text()
    assert "[1.4.0]: https://github.com/acme/w/releases/tag/v1.4.0" in changelog, changelog
    assert "old/fork" not in changelog
