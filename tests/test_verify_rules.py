"""Gate 3 of `hexpack verify` on in-memory packages: no venvs, no tarballs on disk."""

from __future__ import annotations

import pytest
from hexpack.hex.tarball import Member
from hexpack.mix.terms import Regex
from hexpack.verify import content_rules as rules
from hexpack.verify import exclude_report
from hexpack.verify.gates import Gate, Report, Status
from hexpack.verify.patterns import PathPattern, elixir_regex_to_python, glob_to_elixir_regex
from hexpack.verify.settings import VerifySettings, from_table

SETTINGS = VerifySettings()
GOOD_PATHS = [
    "lib/hexpack_bridge.ex",
    "mix.exs",
    "priv/proto/hexpack_bridge/bridge.proto",
    "priv/python/grpc_server.py",
    "priv/python/requirements.txt",
    "priv/python/hexpack_bridge/__init__.py",
    "priv/python/hexpack_bridge/bridge_pb2.py",
    "priv/python/hexpack_bridge/bridge_pb2_grpc.py",
    "priv/python/hexpack_bridge/py.typed",
]


def members(*paths: str, extra: list[Member] | None = None) -> list[Member]:
    return [Member(p, "file", 0o644, b"x") for p in paths] + list(extra or [])


def statuses(findings) -> set[Status]:
    return {f.status for f in findings}


def text(findings) -> str:
    return "\n".join(f.one_line() for f in findings)


class FakeProject:
    """Stands in for hexpack.mix.project.MixProject (only the fields the rules read)."""

    def __init__(self, files=None, exclude_patterns=(), version="0.1.0", name="hexpack_bridge"):
        self.files = files
        self.exclude_patterns = list(exclude_patterns)
        self.version = version
        self.package_name = name


# ------------------------------------------------------------------ required


def test_required_all_present_passes():
    found = rules.check_required(members(*GOOD_PATHS), rules.Context(SETTINGS))
    assert statuses(found) == {Status.PASS}


def test_each_missing_required_file_is_named_with_the_mix_change():
    paths = [p for p in GOOD_PATHS if not p.startswith("priv/python/")]
    found = rules.check_required(members(*paths), rules.Context(SETTINGS))
    out = text(found)
    for missing in (
        "priv/python/grpc_server.py",
        "priv/python/requirements.txt",
        "priv/python/hexpack_bridge/bridge_pb2.py",
        "priv/python/hexpack_bridge/bridge_pb2_grpc.py",
    ):
        assert f"{missing}: missing from the package" in out
    assert 'add "priv/python" to package files: in mix.exs' in out
    assert statuses(found) == {Status.FAIL}


def test_stub_without_its_proto_requires_the_proto():
    paths = [p for p in GOOD_PATHS if not p.endswith(".proto")]
    found = rules.check_required(members(*paths), rules.Context(SETTINGS))
    assert "priv/proto/hexpack_bridge/bridge.proto: missing from the package" in text(found)
    assert 'add "priv/proto"' in text(found)


def test_missing_file_hint_names_the_exclude_pattern(tmp_path):
    project = FakeProject(files=["lib", "priv", "mix.exs"], exclude_patterns=["grpc_server"])
    paths = [p for p in GOOD_PATHS if p != "priv/python/grpc_server.py"]
    found = rules.check_required(members(*paths), rules.Context(SETTINGS, project))
    assert 'exclude_patterns entry "grpc_server" in mix.exs removes it' in text(found)


def test_missing_file_hint_when_files_does_not_cover_it(tmp_path):
    (tmp_path / "priv/python").mkdir(parents=True)
    (tmp_path / "priv/python/grpc_server.py").write_text("")
    project = FakeProject(files=["lib", "mix.exs", "priv/proto", "priv/python/hexpack_bridge", "priv/python/*.txt"])
    paths = [p for p in GOOD_PATHS if p != "priv/python/grpc_server.py"]
    found = rules.check_required(members(*paths), rules.Context(SETTINGS, project, tmp_path))
    assert (
        "priv/python/grpc_server.py: missing from the package (the server the Elixir side starts); "
        'add "priv/python/grpc_server.py" to package files:' in text(found)
    )  # files: picks priv/python's contents one by one, so the file itself, not all of priv/python


def test_missing_file_not_in_project_says_run_assemble(tmp_path):
    (tmp_path / "priv_python").mkdir()  # the default assemble mapping's sources
    project = FakeProject(files=["lib", "priv"])
    paths = [p for p in GOOD_PATHS if p != "priv/python/hexpack_bridge/bridge_pb2_grpc.py"]
    found = rules.check_required(members(*paths), rules.Context(SETTINGS, project, tmp_path))
    assert "it is not in the project either; run `nox -s stubs assemble`" in text(found)


def test_a_missing_server_in_snakepits_layout_is_not_regenerated_by_stubs(tmp_path):
    """No assemble step: nothing regenerates grpc_server.py, so the fix is to write it or point server at it."""
    (tmp_path / "hexpack.toml").write_text('[stubs]\ngrpcio-tools = "1.85.1"\nout = "priv/python"\n')
    project = FakeProject(files=["lib", "priv"])
    paths = [p for p in GOOD_PATHS if p != "priv/python/grpc_server.py"]
    found = rules.check_required(members(*paths), rules.Context(SETTINGS, project, tmp_path))
    assert text(found) == (
        "priv/python/grpc_server.py: missing from the package (the server the Elixir side starts);"
        " it is not in the project either; create it, or set server in [tool.hexpack.verify] to where it is"
    )


def test_configured_required_glob():
    settings = from_table({"required": ["priv/python/hexpack_bridge/*.pyi"]})
    found = rules.check_required(members(*GOOD_PATHS), rules.Context(settings))
    assert "priv/python/hexpack_bridge/*.pyi: required by [tool.hexpack.verify]" in text(found)


# ------------------------------------------------------------------ forbidden


@pytest.mark.parametrize(
    "path",
    [
        "priv/python/.env",
        "priv/python/.env.local",
        "priv/python/__pycache__/grpc_server.cpython-312.pyc",
        "priv/python/x.pyc",
        "priv/python/.venv/bin/python",
        "priv/python/.pytest_cache/v/cache",
        "priv/python/hexpack_bridge.egg-info/PKG-INFO",
        "priv/.git/HEAD",
        "priv/certs/server.pem",
        "priv/id_rsa",
        "priv/id_ed25519.pub",
        "lib/foo.ex~",
        "lib/.foo.ex.swp",
        "lib/.#foo.ex",
        "lib/#foo.ex#",
    ],
)
def test_forbidden_by_default(path):
    found = rules.check_forbidden(members(*GOOD_PATHS, path), rules.Context(SETTINGS))
    assert Status.FAIL in statuses(found)
    assert path in text(found)


def test_forbidden_empty_directory_member():
    extra = [Member("priv/python/__pycache__", "dir", 0o755)]
    found = rules.check_forbidden(members(*GOOD_PATHS, extra=extra), rules.Context(SETTINGS))
    assert "priv/python/__pycache__" in text(found)


def test_forbidden_hint_suggests_a_regex():
    found = rules.check_forbidden(members("priv/python/__pycache__/a.pyc"), rules.Context(SETTINGS))
    assert r"~r/(^|\/)__pycache__(\/|$)/" in text(found)


def test_clean_package_has_nothing_forbidden():
    assert statuses(rules.check_forbidden(members(*GOOD_PATHS), rules.Context(SETTINGS))) == {Status.PASS}


def test_allow_makes_an_exception_and_forbidden_adds():
    settings = from_table({"allow": ["priv/python/.env.example"], "forbidden": ["*.sqlite"]})
    ctx = rules.Context(settings)
    assert statuses(rules.check_forbidden(members("priv/python/.env.example"), ctx)) == {Status.PASS}
    found = rules.check_forbidden(members("priv/data.sqlite"), ctx)
    assert "forbidden by [tool.hexpack.verify]" in text(found)


# ------------------------------------------------------------------ symlinks


def link(path: str, target: str) -> Member:
    return Member(path, "symlink", 0o777, b"", target)


def test_symlinks_inside_pass_and_bad_ones_fail():
    good = rules.check_symlinks(
        members(
            *GOOD_PATHS,
            extra=[link("priv/python/server_link.py", "grpc_server.py"), link("priv/python/pkg", "hexpack_bridge")],
        )
    )
    assert statuses(good) == {Status.PASS}
    found = rules.check_symlinks(
        members(
            *GOOD_PATHS,
            extra=[
                link("priv/python/dangling.py", "nowhere.py"),
                link("priv/python/out", "../../../etc/passwd"),
                link("priv/python/abs", "/etc/passwd"),
                link("priv/python/a", "b"),
                link("priv/python/b", "missing"),
            ],
        )
    )
    out = text(found)
    assert "priv/python/dangling.py: dangling symlink: nowhere.py" in out
    assert "priv/python/out: symlink points outside the package" in out
    assert "priv/python/abs: symlink to the absolute path /etc/passwd" in out
    assert "priv/python/a: dangling symlink" in out


# ------------------------------------------------------------------ sizes


def test_sizes_warn_near_and_fail_over_the_limit():
    limits = {"outer": 100, "uncompressed": 1000}
    assert statuses(rules.check_sizes({"outer": 10, "uncompressed": 10}, limits, 0.8)) == {Status.PASS}
    assert statuses(rules.check_sizes({"outer": 85, "uncompressed": 10}, limits, 0.8)) == {Status.WARN}
    over = rules.check_sizes({"outer": 10, "uncompressed": 1001}, limits, 0.8)
    assert statuses(over) == {Status.FAIL} and "over Hex's limit" in text(over)


# ------------------------------------------------------------------ metadata

META = [
    ("name", "hexpack_bridge"),
    ("version", "0.1.0"),
    ("description", "A bridge."),
    ("licenses", ["Apache-2.0"]),
    ("links", [("Source", "https://example.invalid/x")]),
]


def test_metadata_good():
    assert statuses(rules.check_metadata(META, FakeProject())) == {Status.PASS}


def test_metadata_problems_all_reported():
    bad = [
        ("name", "hexpack_bridge"),
        ("version", "0.2.0"),
        ("description", "x" * 301),
        ("licenses", []),
        ("links", {"Source": "not a url", "Docs": "ftp://x"}),
    ]
    out = text(rules.check_metadata(bad, FakeProject()))
    assert "version 0.2.0 differs from the project's 0.1.0" in out
    assert "description is 301 characters, more than Hex's 300" in out
    assert "no licenses" in out
    assert "link Source is not a well-formed http(s) URL: not a url" in out
    assert "link Docs is not a well-formed" in out


def test_metadata_licenses_must_be_a_list():
    found = rules.check_metadata([(k, "Apache-2.0" if k == "licenses" else v) for k, v in META], FakeProject())
    assert 'licenses is Apache-2.0, not a list; write package: [licenses: ["Apache-2.0"]] in mix.exs' in text(found)


@pytest.mark.parametrize("version", ["banana", "1.0", "v1.0.0", "1.0.0-", "01.0.0", ""])
def test_metadata_version_must_be_semver(version):
    found = rules.check_metadata([(k, version if k == "version" else v) for k, v in META], FakeProject(version=version))
    assert f"version {version} is not SemVer, which hex.pm refuses" in text(found)


@pytest.mark.parametrize("version", ["1.0.0", "1.0.0-rc.1", "1.0.0-dev", "1.0.0+build.5"])
def test_metadata_version_any_semver_passes(version):
    found = rules.check_metadata([(k, version if k == "version" else v) for k, v in META], FakeProject(version=version))
    assert statuses(found) == {Status.PASS}


# ------------------------------------------------------------------ exclude patterns


def test_glob_like_exclude_warns_with_the_regex():
    candidates = ["priv/python/__pycache__", "priv/python/__pycache__/a.pyc", "priv/python/a.py"]
    reports = exclude_report.analyse(["**/__pycache__", Regex(r"\.pyc$"), "legacy"], candidates)
    found = exclude_report.findings(reports)
    out = text(found)
    assert [f.status for f in found] == [Status.WARN, Status.PASS, Status.PASS]
    assert (
        'exclude_patterns "**/__pycache__": looks like a glob, but Hex matches exclude strings as plain substrings'
        in out
    )
    assert r"use the regex ~r/(^|\/)__pycache__(\/|$)/ in mix.exs" in out
    assert reports[1].removed == ["priv/python/__pycache__/a.pyc"]
    assert reports[0].suggestion_removes == ["priv/python/__pycache__", "priv/python/__pycache__/a.pyc"]
    assert '"legacy": removed nothing' in out


@pytest.mark.parametrize(
    ("glob", "regex", "hits", "misses"),
    [
        ("**/__pycache__", r"~r/(^|\/)__pycache__(\/|$)/", ["a/__pycache__/x.pyc", "__pycache__"], ["a/__pycache__x"]),
        ("priv/python/*.pyc", r"~r/^priv\/python\/[^\/]*\.pyc$/", ["priv/python/a.pyc"], ["priv/python/x/a.pyc"]),
        ("**/*.pyc", r"~r/\.pyc$/", ["a/b.pyc"], ["a/b.py"]),
        ("*.pyc", r"~r/\.pyc$/", ["b.pyc"], ["b.pycx"]),
        ("priv/**/tests", r"~r/^priv\/(.*\/)?tests(\/|$)/", ["priv/tests/a", "priv/python/tests"], ["priv/testsx"]),
    ],
)
def test_glob_to_elixir_regex(glob, regex, hits, misses):
    assert glob_to_elixir_regex(glob) == regex
    compiled = elixir_regex_to_python(regex)
    assert all(compiled.search(h) for h in hits)
    assert not any(compiled.search(m) for m in misses)


def test_path_pattern_dialect():
    assert PathPattern("__pycache__/").matches("a/__pycache__/b.pyc")
    assert not PathPattern("__pycache__/").matches("a/__pycache__")
    assert PathPattern("__pycache__/").matches("a/__pycache__", is_dir=True)
    assert PathPattern("priv/**/secret.txt").matches("priv/a/b/secret.txt")
    assert PathPattern("priv/**/secret.txt").matches("priv/secret.txt")


# ------------------------------------------------------------------ settings and report


def test_settings_report_every_problem_at_once():
    from hexpack.errors import Problems

    with pytest.raises(Problems) as info:
        from_table({"engine": "gradle", "allow": "x", "bogus": 1, "size_warn_ratio": -1, "python_tools": ["../x"]})
    assert [line.split(": ", 1)[1] for line in info.value.lines()] == [
        "unknown setting(s) bogus; known settings: allow, cache_dir, consumer, engine, forbidden, proto_root,"
        " python_dist, python_root, python_tools, required, requirements, server, size_warn_ratio, smoke,"
        " smoke_resolutions, smoke_timeout",
        "allow must be a list of paths or globs, got 'x'; write e.g. allow = [\"priv/python/.env.example\"]",
        "size_warn_ratio must be a positive number, got -1; write e.g. size_warn_ratio = 0.8",
        "engine must be one of auto, builtin, mix, both, got 'gradle'; write e.g. engine = \"auto\"",
        "python_tools = '../x' leaves the project; use a path relative to the project root, without '..' or a link"
        " out of it",
    ]


def test_report_status_and_json():
    report = Report()
    report.add(Gate("freshness", "1")).add(rules.note("ok"))
    warn_gate = report.add(Gate("excludes", "3"))
    warn_gate.add(rules.warn("glob", subject="x"))
    assert report.ok(allow_warnings=True) and not report.ok()
    report.add(Gate("smoke", "4", skipped="--skip smoke"))
    data = report.to_json()
    assert data["counts"] == {"pass": 1, "warn": 1, "fail": 0, "skip": 1}
    assert [row[2] for row in report.rows()] == ["pass", "warn", "skip"]
