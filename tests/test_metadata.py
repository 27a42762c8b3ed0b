"""Metadata and refusals as Hex 2.5.1's ``mix hex.build`` builds and words them.

Projects are made from hand-written ``project/0`` keyword lists (through the
readers' shared ``project_from_config``), so these run without Elixir.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from hexpack import cli
from hexpack.errors import PackageError, ProjectError
from hexpack.hex import tarball
from hexpack.hex.build import PackageRefused, _megabytes, build_project
from hexpack.hex.metadata import check, guess_build_tools, metadata_pairs, prepare, report_lines
from hexpack.mix.project import project_from_config
from hexpack.mix.terms import Atom

A = Atom
OMIT = object()

pytestmark = pytest.mark.filterwarnings("ignore:unclosed scandir iterator:ResourceWarning")


def make(tmp_path: Path, *, package=None, deps=(), files=("lib/demo.ex", "mix.exs"), **root):
    for rel in files:
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(f"# {rel}\n")
    config = [(A("app"), A("demo")), (A("version"), "1.0.0")]
    if "description" not in root:
        root["description"] = "A demo package."
    for key, value in root.items():
        if value is not OMIT:
            config.append((A(key), value))
    if package is None:
        package = [(A("licenses"), ["MIT"]), (A("links"), {})]
    config.append((A("package"), package))
    config.append((A("deps"), list(deps)))
    return project_from_config(tmp_path, config, reader="static")


def build_errors(tmp_path, **kwargs) -> list[str]:
    """Hex's words for each refusal (hexpack's fix hints left out)."""
    with pytest.raises(PackageRefused) as refused:
        build_project(make(tmp_path, **kwargs))
    return [problem.what for problem in refused.value.problems]


# --- build tools --------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "tools"),
    [
        (["mix.exs", "lib/a.ex"], ["mix"]),
        (["mix.exs", "Makefile"], ["mix", "make"]),
        (["Makefile", "rebar.config", "rebar.lock"], ["rebar3", "make"]),
        (["lib/a.ex", "c_src/Makefile"], ["mix"]),
        (["erlang.mk", "Makefile.win"], ["make"]),
        ([], ["mix"]),
    ],
)
def test_build_tools_guessed_from_top_level_files(files, tools):
    assert guess_build_tools(files) == tools


def test_build_tools_given_are_kept(tmp_path):
    pm = prepare(make(tmp_path, package=[(A("licenses"), []), (A("links"), {}), (A("build_tools"), ["rebar3"])]))
    assert pm.meta["build_tools"] == ["rebar3"]


# --- description ----------------------------------------------------------------


def test_description_trimmed_like_string_trim(tmp_path):
    pm = prepare(make(tmp_path, description="\u3000\n  Bridges Python.\u00a0\t\n"))
    assert pm.meta["description"] == "Bridges Python."
    pm = prepare(make(tmp_path, description="\x1cKept.\x1c"))
    assert pm.meta["description"] == "\x1cKept.\x1c"  # not Unicode whitespace, Elixir keeps it


def test_description_over_300_characters_refused(tmp_path):
    assert build_errors(tmp_path, description="x" * 301) == ["Package description is too long (exceeds 300 characters)"]
    build_project(make(tmp_path, description="é" * 300))


# --- missing fields, reserved files, missing files, excluded deps -----------------


def test_missing_fields_listed_in_hexs_order(tmp_path):
    assert build_errors(tmp_path, package=[(A("files"), ["lib"])], description=OMIT) == [
        "Missing metadata fields: description, licenses, links"
    ]
    # `description: nil` is a key Keyword.take/2 keeps: Hex does not call it missing
    assert build_errors(tmp_path, package=[(A("files"), ["lib"])], description=None) == [
        "Missing metadata fields: licenses, links"
    ]


def test_organization_turns_warn_fields_into_warnings(tmp_path):
    project = make(tmp_path, package=[(A("organization"), "acme")], description=OMIT)
    result = build_project(project)
    assert "Missing metadata fields: description, licenses, links" in result.warnings
    assert "  Organization: acme" in result.report_lines
    assert "organization" not in dict(result.metadata)


def test_hex_metadata_config_is_reserved(tmp_path):
    errors = build_errors(
        tmp_path,
        files=("lib/demo.ex", "mix.exs", "hex_metadata.config"),
        package=[(A("licenses"), ["MIT"]), (A("links"), {}), (A("files"), ["lib", "*.config"])],
    )
    assert errors == ["Do not include this file: hex_metadata.config"]


def test_every_refusal_reported_at_once_in_hexs_order(tmp_path):
    errors = build_errors(
        tmp_path,
        description="y" * 400,
        package=[(A("links"), {}), (A("files"), ["lib", "priv/python/grpc_server.py", "*.nothing"])],
        deps=[(A("local"), [(A("path"), "../local")]), (A("other"), [(A("git"), "https://example.invalid/x.git")])],
    )
    assert errors == [
        "Missing metadata fields: licenses",
        "Package description is too long (exceeds 300 characters)",
        "Missing files: priv/python/grpc_server.py, *.nothing",
        "Dependencies excluded from the package (only Hex packages can be dependencies): local, other",
    ]


def test_refusal_keeps_what_hex_printed(tmp_path):
    with pytest.raises(PackageRefused) as refused:
        build_project(make(tmp_path, package=[(A("licenses"), ["MIT"]), (A("links"), {}), (A("files"), ["nope"])]))
    assert refused.value.report_lines[0] == "Building demo 1.0.0"
    assert refused.value.report_lines[2:4] == ["  Name: demo", "No files"]
    assert refused.value.lines() == [
        "Missing files: nope; create them, or take them out of `package: [files: ...]` in mix.exs"
    ]


def test_missing_files_refusal_is_one_line_with_its_fix(tmp_path, capsys):
    """Hex's words first, then how to fix it, on the command line's one error line."""
    (tmp_path / "mix.exs").write_text(
        "defmodule Demo.MixProject do\n  use Mix.Project\n\n  def project do\n"
        '    [app: :demo, version: "1.0.0", description: "Demo.",\n'
        '     package: [licenses: ["MIT"], links: %{}, files: ["lib", "nope", "*.nothing"]]]\n'
        "  end\nend\n",
        encoding="utf-8",
    )
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "demo.ex").write_text("defmodule Demo do\nend\n", encoding="utf-8")
    assert cli.main(["build", "--project", str(tmp_path), "--reader", "static"]) == 1
    captured = capsys.readouterr()
    assert captured.err.splitlines() == [
        "error: Missing files: nope, *.nothing; create them, or take them out of `package: [files: ...]` in mix.exs"
    ]
    assert not list(tmp_path.glob("*.tar"))


def test_empty_file_list_refused_as_hex_does(tmp_path):
    with pytest.raises(PackageRefused) as refused:
        build_project(make(tmp_path, files=("mix.exs",), package=[(A("licenses"), ["MIT"]), (A("links"), {}),
                                                                   (A("files"), [])]))  # fmt: skip
    assert refused.value.lines() == ["Creating tarball failed: File list was empty."]
    assert "No files" in refused.value.report_lines


# --- dependencies -----------------------------------------------------------------


def test_requirements_from_prod_hex_deps(tmp_path):
    deps = [
        (A("jason"), "~> 1.4"),
        (A("telemetry"), "~> 1.2", [(A("optional"), True)]),
        (A("ex_doc"), "~> 0.30", [(A("only"), A("dev")), (A("runtime"), False)]),
        (A("dialyxir"), "~> 1.0", [(A("runtime"), False)]),
        (A("both"), "~> 2.0", [(A("only"), [A("dev"), A("prod")])]),
        (A("private"), "~> 0.1", [(A("repo"), "hexpm:acme"), (A("hex"), A("acme_private"))]),
        (A("org"), "~> 0.2", [(A("organization"), "acme")]),
        (A("from_git_but_hex"), ">= 0.0.0", [(A("hex"), A("renamed")), (A("git"), "x")]),
        (A("no_req"), [(A("hex"), A("bare"))]),
        (A("local"), [(A("path"), "../local"), (A("only"), A("test"))]),
    ]
    pm = prepare(make(tmp_path, deps=deps))
    assert [(r.name, r.app, r.requirement, r.optional, r.repository) for r in pm.requirements] == [
        ("jason", "jason", "~> 1.4", False, "hexpm"),
        ("telemetry", "telemetry", "~> 1.2", True, "hexpm"),
        ("dialyxir", "dialyxir", "~> 1.0", False, "hexpm"),
        ("both", "both", "~> 2.0", False, "hexpm"),
        ("acme_private", "private", "~> 0.1", False, "acme"),
        ("org", "org", "~> 0.2", False, "acme"),
        ("renamed", "from_git_but_hex", ">= 0.0.0", False, "hexpm"),
        ("bare", "no_req", None, False, "hexpm"),
    ]
    assert pm.exclude_deps == []  # a test-only path dep is not for :prod
    lines = report_lines(pm)
    assert lines[1:10] == [
        "  Dependencies:",
        "    jason ~> 1.4 (app: jason)",
        "    telemetry ~> 1.2 (app: telemetry) (optional)",
        "    dialyxir ~> 1.0 (app: dialyxir)",
        "    both ~> 2.0 (app: both)",
        "    acme_private ~> 0.1 (app: private) (repo: acme)",
        "    org ~> 0.2 (app: org) (repo: acme)",
        "    renamed >= 0.0.0 (app: from_git_but_hex)",
        "    bare  (app: no_req)",
    ]
    pairs = dict(metadata_pairs(pm.meta))
    assert pairs["requirements"][0] == [
        ("app", "jason"), ("name", "jason"), ("optional", False), ("repository", "hexpm"), ("requirement", "~> 1.4"),
    ]  # fmt: skip
    assert pairs["requirements"][-1][-1] == ("requirement", None)


@pytest.mark.parametrize(
    ("opt", "message"),
    [
        ((A("override"), True), "Can't build package with overridden dependency bad, remove `override: true`"),
        ((A("compile"), "make"), "Can't build package when :compile is set for dependency bad, remove `compile: ...`"),
        ((A("manager"), A("rebar3")),
         "Can't build package when :manager is set for dependency bad, remove `manager: ...`"),
        ((A("app"), False), "Can't build package when :app is set for dependency bad, remove `app: ...`"),
        ((A("system_env"), [("A", "1")]),
         "Can't build package when :system_env is set for dependency bad, remove `system_env: ...`"),
    ],
)  # fmt: skip
def test_dependency_options_hex_refuses_at_once(tmp_path, opt, message):
    with pytest.raises(PackageError) as error:
        prepare(make(tmp_path, deps=[(A("bad"), "~> 1.0", [opt])]))
    assert not isinstance(error.value, PackageRefused)
    assert error.value.one_line() == message


def test_organisation_misspelling_and_umbrella(tmp_path):
    with pytest.raises(PackageError, match="Invalid Hex package config :organisation, use spelling :organization"):
        prepare(make(tmp_path, package=[(A("organisation"), "acme")]))
    with pytest.raises(PackageError, match="Hex does not support umbrella projects"):
        prepare(make(tmp_path, apps_path="apps"))


def test_misplaced_root_field_warns(tmp_path):
    pm = prepare(make(tmp_path, licenses=["MIT"]))
    assert pm.warnings == ["Mix project configuration :licenses belongs under the :package key, did you misplace it?"]


# --- metadata terms and the report -------------------------------------------------


def test_metadata_terms(tmp_path):
    package = [
        (A("name"), A("demo_pkg")),
        (A("licenses"), ["MIT", "Apache-2.0"]),
        (A("links"), {"Source": "https://example.invalid/s", "Changelog": "https://example.invalid/c"}),
        (A("extra"), {"python": {"requires": ">=3.10", "abi": ["cp310", "cp311"]}, A("atom_key"): True}),
        (A("maintainers"), ["Ada"]),
        (A("exclude_patterns"), []),
    ]
    pm = prepare(make(tmp_path, package=package, elixir="~> 1.14"))
    pairs = metadata_pairs(pm.meta)
    assert [key for key, _ in pairs] == [
        "app", "build_tools", "description", "elixir", "extra", "files", "licenses", "links", "name",
        "requirements", "version",
    ]  # fmt: skip
    terms = dict(pairs)
    assert terms["app"] == "demo" and terms["name"] == "demo_pkg"
    assert terms["links"] == [("Changelog", "https://example.invalid/c"), ("Source", "https://example.invalid/s")]
    assert terms["extra"] == [("atom_key", True), ("python", [("abi", ["cp310", "cp311"]), ("requires", ">=3.10")])]
    assert terms["files"] == ["lib", "lib/demo.ex", "mix.exs"]
    lines = report_lines(pm)
    assert lines[lines.index("  Extra: ") :] == [
        "  Extra: ",
        "    atom_key: true",
        "    python: ",
        "    abi: cp310, cp311",
        "    requires: >=3.10",
    ]
    assert "  Licenses: MIT, Apache-2.0" in lines


def test_report_order_and_empty_links(tmp_path):
    lines = report_lines(prepare(make(tmp_path)))
    assert lines == [
        "Building demo 1.0.0",
        "  App: demo",
        "  Name: demo",
        "  Files:",
        "    lib",
        "    lib/demo.ex",
        "    mix.exs",
        "  Version: 1.0.0",
        "  Build tools: mix",
        "  Description: A demo package.",
        "  Licenses: MIT",
        "  Links: ",
        "    ",
    ]


def test_no_licenses_warns(tmp_path):
    result = build_project(make(tmp_path, package=[(A("licenses"), []), (A("links"), {})]))
    assert result.warnings == ["You have not included any licenses"]


def test_check_reads_files_patterns_relative_to_the_root(tmp_path):
    pm = prepare(make(tmp_path, package=[(A("licenses"), ["MIT"]), (A("links"), {}), (A("files"), ["lib/*.ex"])]))
    assert check(pm, tmp_path) == ([], [])


def test_regex_in_metadata_is_refused(tmp_path):
    from hexpack.mix.terms import Regex

    with pytest.raises(ProjectError, match="regex"):
        metadata_pairs(prepare(make(tmp_path, package=[(A("licenses"), [Regex("x")]), (A("links"), {})])).meta)


# --- size limits ---------------------------------------------------------------------


def test_size_limit_messages_are_hexs(tmp_path, monkeypatch):
    assert _megabytes(tarball.MAX_UNCOMPRESSED_SIZE) == "134.217728"
    assert _megabytes(tarball.MAX_OUTER_SIZE) == "16.777216"
    project = make(tmp_path)
    monkeypatch.setattr(tarball, "MAX_UNCOMPRESSED_SIZE", 1000)
    with pytest.raises(PackageRefused) as refused:
        build_project(project)
    assert refused.value.lines() == ["Creating tarball failed: package exceeds max uncompressed size 0.001 MB"]
    monkeypatch.undo()
    monkeypatch.setattr(tarball, "MAX_OUTER_SIZE", 2000)
    with pytest.raises(PackageRefused) as refused:
        build_project(project)
    assert refused.value.lines() == ["Creating tarball failed: package exceeds max compressed size 0.002 MB"]


def test_outer_size_is_computed_exactly(tmp_path):
    from hexpack.hex.build import _outer_size

    result = build_project(make(tmp_path))
    assert _outer_size(result.metadata_config, result.contents) == len(result.tarball)


# --- package: as a keyword list or a map (Map.new) -------------------------------


def test_package_as_a_map_builds_the_same_package_as_the_keyword_list(tmp_path):
    keyword = [(A("licenses"), ["MIT"]), (A("links"), {"GitHub": "https://example.invalid"}), (A("files"), ["lib"])]
    as_list = build_project(make(tmp_path, package=keyword))
    as_map = build_project(make(tmp_path, package={key: value for key, value in keyword}))
    assert as_map.tarball == as_list.tarball
    assert as_map.files == ["lib", "lib/demo.ex"]


def test_package_keys_follow_map_new(tmp_path):
    # Map.new/1: the last of a repeated key wins; keys that are not atoms never reach the metadata
    package = [(A("licenses"), ["MIT"]), (A("links"), {}), (A("files"), ["nope"]), (A("files"), ["lib"])]
    project = make(tmp_path, package=package)
    assert project.files == ["lib"]
    assert prepare(project).files == ["lib", "lib/demo.ex"]
    project = make(tmp_path, package={A("licenses"): ["MIT"], A("links"): {}, "files": ["nope"]})
    assert project.files is None and "files" not in project.package


def test_licenses_that_are_not_a_list_are_refused(tmp_path):
    # Hex's licenses_valid_or_warn/1 crashes on a string: no package is built
    assert build_errors(tmp_path, package=[(A("licenses"), "MIT"), (A("links"), {})]) == [
        'licenses: must be a list of SPDX identifiers, got "MIT"'
    ]
