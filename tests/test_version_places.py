"""Finding every place the version is written, and the audit for the rest."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from hexpack.cli import main
from hexpack.errors import HexpackError
from hexpack.versioning.places import read_versions, snippet_value
from hexpack.versioning.versions import parse

GOLDEN = Path(__file__).parent / "golden"

MIX = """defmodule Widget.MixProject do
  use Mix.Project

  def project do
    [
      app: :widget,
      version: "1.3.0",
      deps: [{:other, "~> 1.3.0"}]
    ]
  end
end
"""


def write(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)
    return root


@pytest.fixture
def snakepit(tmp_path) -> Path:
    target = tmp_path / "snakepit"
    shutil.copytree(GOLDEN / "snakepit_style" / "input", target)
    return target


def test_places_of_the_snakepit_style_project(snakepit):
    report = read_versions(snakepit)
    assert report.app == "snakepit"
    assert report.version.semver == "0.6.1"
    assert [(p.file, p.line, p.found) for p in report.places] == [
        ("mix.exs", 4, '@version "0.6.1"'),
        ("priv/python/pyproject.toml", 8, "version='0.6.1'"),
        ("priv/python/snakepit_bridge/__init__.py", 3, '__version__ = "0.6.1"'),
        ("README.md", 12, '"~> 0.6.1"'),
        ("README.md", 22, '"~> 0.6.1"'),
        ("guides/getting-started.md", 4, '"~> 0.6"'),
    ]
    assert all(p.agrees for p in report.places)
    # {:grpc, "~> 0.6.1"} in mix.exs, {:snakepit_extras, "~> 0.6.1"} in README: other packages'
    assert report.unexpected == []
    assert report.ok and report.consistent
    assert report.canonical == "0.6.1"
    assert report.summary() == "0.6.1 in all 6 places"


def test_version_keyword_in_project_and_other_deps_equal_to_it(tmp_path):
    root = write(tmp_path, {"mix.exs": MIX})
    report = read_versions(root)
    assert [(p.file, p.line, p.found) for p in report.places] == [("mix.exs", 7, 'version: "1.3.0"')]
    assert report.unexpected == []


def test_mismatches_are_reported_per_place(snakepit):
    init = snakepit / "priv/python/snakepit_bridge/__init__.py"
    init.write_text(init.read_text().replace("0.6.1", "2.0.0"))
    guide = snakepit / "guides/getting-started.md"
    guide.write_text(guide.read_text().replace("~> 0.6", "~> 0.5"))
    report = read_versions(snakepit)
    assert [(p.file, p.line, p.value, p.expected) for p in report.mismatches] == [
        ("priv/python/snakepit_bridge/__init__.py", 3, "2.0.0", "0.6.1"),
        ("guides/getting-started.md", 4, "0.5", "0.6"),
    ]
    assert not report.ok
    assert report.summary() == (
        "2 place(s) disagree with 0.6.1: priv/python/snakepit_bridge/__init__.py:3 holds '2.0.0' (expected '0.6.1'); "
        "guides/getting-started.md:4 holds '0.5' (expected '0.6')"
    )


def test_audit_finds_unmanaged_occurrences_without_false_positives(tmp_path):
    root = write(
        tmp_path,
        {
            "mix.exs": MIX,
            "docs/install.md": "Install widget 1.3.0 today.\nNot 11.3.0, 1.3.0.1, 1.3.0-rc.1 or v21.3.0.\n",
            "lib/widget.ex": 'defmodule Widget do\n  @vsn "1.3.0"\nend\n',
            "mix.lock": '%{"other": {:hex, :other, "1.3.0"}}\n',
            "uv.lock": 'version = "1.3.0"\n',
            "priv/blob.bin": b"\x00\x01 1.3.0 \x00",
            "priv/latin1.txt": "caf\xe9 1.3.0".encode("latin-1"),
            "CHANGELOG.md": "## [1.3.0] - 2026-01-01\n",
            "README.md": '{:other, "~> 1.3.0"}\n{:widget, "~> 1.3.0"}\n',
        },
    )
    report = read_versions(root)
    assert [(o.file, o.line) for o in report.unexpected] == [("docs/install.md", 1), ("lib/widget.ex", 2)]
    assert report.unexpected[1].text == '@vsn "1.3.0"'
    assert [(p.file, p.line) for p in report.places] == [("mix.exs", 7), ("README.md", 2)]


def test_audit_uses_git_ls_files_and_the_allowlist(tmp_path):
    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    root = write(
        tmp_path,
        {
            "mix.exs": MIX,
            "pyproject.toml": '[tool.hexpack.version]\nallow = ["notes/**"]\n',
            "notes/a.md": "1.3.0\n",
            "untracked.md": "1.3.0\n",
            "tracked.md": "1.3.0\n",
        },
    )
    subprocess.run([git, "init", "-q"], cwd=root, check=True)
    subprocess.run([git, "add", "mix.exs", "pyproject.toml", "notes/a.md", "tracked.md"], cwd=root, check=True)
    report = read_versions(root)
    assert [o.file for o in report.unexpected] == ["tracked.md"]


def test_explicitly_configured_places_must_exist(tmp_path):
    root = write(
        tmp_path,
        {
            "mix.exs": MIX,
            "pyproject.toml": '[tool.hexpack.version]\npython = ["lib_py/widget/__init__.py"]\n',
        },
    )
    with pytest.raises(HexpackError, match="configured version place matches no file"):
        read_versions(root)


def test_unknown_config_key_is_refused(tmp_path):
    root = write(tmp_path, {"mix.exs": MIX, "pyproject.toml": "[tool.hexpack.version]\nplaces = []\n"})
    with pytest.raises(
        HexpackError, match=r"\[tool.hexpack.version\]: unknown setting\(s\) places; known settings: allow,"
    ):
        read_versions(root)


@pytest.mark.parametrize(
    "setting", ['mix = "../mix.exs"', 'pyproject = ["../outside/pyproject.toml"]', 'snippets = ["/etc/*.conf"]']
)
def test_a_place_outside_the_project_is_refused(tmp_path, setting):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pyproject.toml").write_text('[project]\nname = "o"\nversion = "0.1.0"\n')
    root = write(tmp_path / "proj", {"mix.exs": MIX, "pyproject.toml": f"[tool.hexpack.version]\n{setting}\n"})
    key, value = setting.split(" = ")
    shown = value.strip('[]"')
    with pytest.raises(HexpackError, match=rf"{key} = '{re.escape(shown)}' leaves the project; use a path relative"):
        read_versions(root)


def test_a_place_reached_through_a_link_out_of_the_project_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "pyproject.toml").write_text('[project]\nname = "o"\nversion = "0.1.0"\n')
    root = write(tmp_path / "proj", {"mix.exs": MIX, "pyproject.toml": '[tool.hexpack.version]\npython = ["o/*.py"]\n'})
    (root / "o").symlink_to(outside)
    with pytest.raises(HexpackError, match=r"python = 'o/\*.py' leaves the project; use a path relative"):
        read_versions(root)


def test_problems_in_hexpack_toml_name_its_version_table(tmp_path):
    root = write(tmp_path, {"mix.exs": MIX, "hexpack.toml": "[version]\nmix = 3\n"})
    with pytest.raises(
        HexpackError, match=r"hexpack.toml \[version\]: mix must be a path, got 3; write e.g. mix = \"mix.exs\""
    ):
        read_versions(root)


def test_every_config_problem_is_reported_at_once(tmp_path):
    from hexpack.errors import Problems

    settings = '[tool.hexpack.version]\nplaces = []\nmix = 5\nsnippets = 3\nsnippet_precision = "major"\n'
    root = write(tmp_path, {"mix.exs": MIX, "pyproject.toml": settings})
    with pytest.raises(Problems) as caught:
        read_versions(root)
    assert [problem.one_line().split(": ", 1)[1] for problem in caught.value.problems] == [
        "unknown setting(s) places; known settings: allow, changelog, mix, pyproject, python, snippet_precision,"
        " snippets",
        'mix must be a path, got 5; write e.g. mix = "mix.exs"',
        'snippets must be a list of paths/globs, got 3; write e.g. snippets = ["README.md", "guides/**/*.md"]',
        "snippet_precision must be one of auto, minor, patch, got 'major'; write e.g. snippet_precision = \"auto\"",
    ]


@pytest.mark.parametrize(
    ("version", "written", "precision", "expected"),
    [
        ("1.4.0", "1.3", "auto", "1.4"),
        ("1.4.0", "1.3.0", "auto", "1.4.0"),
        ("1.4.0-rc.1", "1.3", "auto", "1.4.0-rc.1"),
        ("1.4.0", "1.4.0-rc.1", "auto", "1.4.0"),
        ("1.4.2", "1.3.0", "minor", "1.4"),
        ("1.4.2", "1.3", "patch", "1.4.2"),
    ],
)
def test_snippet_precision_rule(version, written, precision, expected):
    assert snippet_value(parse(version), written, precision) == expected


def test_version_command_lists_every_place(snakepit, capsys):
    assert main(["version", "--root", str(snakepit)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "version 0.6.1 (Hex) / 0.6.1 (PyPI), app :snakepit"
    assert out[2].split() == ["mix.exs:4", "@version", '"0.6.1"', "ok"]
    assert out[-1].split() == ["CHANGELOG.md", "newest", "release", "[0.6.1]", "ok"]
    assert len(out) == 2 + 6 + 1


def test_versions_released_without_their_changelog_are_a_partial_state(snakepit, capsys):
    """What an interrupted bump of an older hexpack left: every place at 0.7.0, the CHANGELOG not released."""
    changelog = (snakepit / "CHANGELOG.md").read_bytes()
    assert main(["bump", "--root", str(snakepit), "minor"]) == 0
    (snakepit / "CHANGELOG.md").write_bytes(changelog)
    capsys.readouterr()
    assert main(["version", "--root", str(snakepit)]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[-1].split()[-6:] == ["NOT", "RELEASED", "WITH", "THE", "VERSION", "0.7.0"]
    assert main(["bump", "--root", str(snakepit), "patch"]) == 1
    assert capsys.readouterr().err == (
        "error: CHANGELOG.md: its newest release is 0.6.1, but every version place holds 0.7.0; release its "
        "[Unreleased] entries as 0.7.0 or set the places back to 0.6.1, so the next bump does not release them "
        "under the wrong version\n"
    )


def test_version_command_exits_1_on_mismatch_and_unexpected(snakepit, capsys):
    (snakepit / "NOTES.md").write_text("Snakepit 0.6.1 is current.\n")
    init = snakepit / "priv/python/snakepit_bridge/__init__.py"
    init.write_text(init.read_text().replace("0.6.1", "2.0.0"))
    assert main(["version", "--root", str(snakepit)]) == 1
    captured = capsys.readouterr()
    assert "priv/python/snakepit_bridge/__init__.py:3" in captured.out
    assert "MISMATCH (expected 0.6.1)" in captured.out
    assert "NOTES.md:1" in captured.out and "UNEXPECTED" in captured.out
    assert "2 place(s) disagree with 0.6.1" in captured.err
    assert "write the expected version in each MISMATCH place" in captured.err
    assert "make each UNEXPECTED occurrence a place, or list it under [tool.hexpack.version] allow" in captured.err
    assert main(["version", "--root", str(snakepit), "--json"]) == 1
    data = json.loads(capsys.readouterr().out)
    assert data["ok"] is False
    assert data["unexpected"] == [{"file": "NOTES.md", "line": 1, "text": "Snakepit 0.6.1 is current."}]
    assert [p["agrees"] for p in data["places"]].count(False) == 1
    (snakepit / "NOTES.md").unlink()
    assert main(["version", "--root", str(snakepit)]) == 1
    assert "allow" not in capsys.readouterr().err  # allow does not excuse a place that disagrees


def test_default_pyproject_without_a_static_version_is_not_a_place(tmp_path):
    root = write(
        tmp_path,
        {"mix.exs": MIX, "priv_python/pyproject.toml": '[project]\nname = "w"\ndynamic = ["version"]\n'},
    )
    assert [p.kind for p in read_versions(root).places] == ["mix"]


def test_a_version_line_that_is_not_project_version_is_refused(tmp_path):
    pyproject = '[project]\nname = "w"\ndescription = """\nversion = "9.9.9"\n"""\nversion = "1.3.0"\n'
    root = write(tmp_path, {"mix.exs": MIX, "priv_python/pyproject.toml": pyproject})
    with pytest.raises(HexpackError, match=r"priv_python/pyproject.toml:4: project.version is '1.3.0'"):
        read_versions(root)


def test_a_canonical_version_without_a_pep440_counterpart_is_a_project_error(tmp_path, capsys):
    root = write(tmp_path, {"mix.exs": MIX.replace('"1.3.0"', '"1.3.0-dev"', 1)})
    assert main(["version", "--root", str(root)]) == 1
    assert capsys.readouterr().err.strip() == (
        "error: mix.exs:7: pre-release '-dev' in '1.3.0-dev' has no faithful PEP 440 counterpart; "
        "use -alpha.N, -beta.N or -rc.N"
    )


# --------------------------------------------------------------------------- where mix.exs writes its version


def _mix(project_body: str, *, before: str = "", after: str = "") -> str:
    return (
        "defmodule Widget.MixProject do\n  use Mix.Project\n"
        f"{before}\n  def project do\n    [\n{project_body}\n    ]\n  end\n{after}end\n"
    )


@pytest.mark.parametrize(
    ("mix", "line", "found"),
    [
        (_mix('      app: :widget,\n      version: "2.1.0"'), 7, 'version: "2.1.0"'),
        (_mix("      app: :widget,\n      version: @version", before='  @version "2.1.0"'), 3, '@version "2.1.0"'),
        # through an attribute naming another, a helper and a variable: the literal that is written is the place
        (
            _mix("      app: :widget,\n      version: @version", before='  @base "2.1.0"\n  @version @base'),
            3,
            '@base "2.1.0"',
        ),
        (
            _mix("      app: :widget,\n      version: version()", after='\n  defp version, do: "2.1.0"\n'),
            11,
            '"2.1.0"',
        ),
    ],
)
def test_the_version_place_is_where_the_reader_found_the_literal(tmp_path, mix, line, found):
    root = write(tmp_path, {"mix.exs": mix})
    report = read_versions(root)
    assert report.version.semver == "2.1.0"
    [place] = report.places
    assert (place.file, place.line, place.found) == ("mix.exs", line, found)
    assert mix[place.start : place.end] == "2.1.0"


def test_text_that_only_looks_like_the_version_is_not_a_place(tmp_path):
    """A regex over the text would take the commented-out or documented version; the reader takes the real one."""
    mix = _mix(
        '      app: :widget,\n      # version: "0.0.1",\n      version: @version',
        before='  @moduledoc """\n  @version "0.0.2" in the docs\n  """\n  # @version "0.0.3"\n  @version "2.1.0"',
    )
    root = write(tmp_path, {"mix.exs": mix})
    [place] = read_versions(root).places
    assert (place.line, place.value) == (7, "2.1.0")


def test_deps_the_reader_cannot_evaluate_do_not_stop_the_version(tmp_path):
    mix = _mix(
        '      app: :widget,\n      version: "2.1.0",\n      deps: deps()',
        after='\n  defp deps, do: [{:dep, path: System.fetch_env!("DEP_PATH")}]\n',
    )
    root = write(tmp_path, {"mix.exs": mix})
    assert read_versions(root).version.semver == "2.1.0"


@pytest.mark.parametrize(
    ("project_body", "before", "message"),
    [
        (
            '      app: :widget,\n      version: "#{@major}.0.0"',
            '  @major "2"',
            "mix.exs: version: is not written as one plain string literal, so hexpack cannot rewrite it",
        ),
        (
            '      app: :widget,\n      version: File.read!("VERSION")',
            "",
            "mix.exs line 7: cannot evaluate `File.read!/1` without Elixir (for version:)",
        ),
        ("      app: :widget", "", 'mix.exs: no `version: "..."` in project/0'),
    ],
)
def test_a_version_hexpack_cannot_rewrite_is_refused_in_one_line(tmp_path, project_body, before, message, capsys):
    root = write(tmp_path, {"mix.exs": _mix(project_body, before=before)})
    assert main(["version", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}"), err
    assert len(err.strip().splitlines()) == 1
