"""`hexpack init` on copies of the hex-reference projects and a snakepit-like tree in tmp_path.

Library calls read mix.exs with the static reader (fast, no Elixir); the CLI
tests use the default reader (Elixir when present). `nox -l` runs the real nox.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IN_CI, REPO, require_program
from hexpack import cli, config
from hexpack.errors import HexpackError, Problems, ProjectError
from hexpack.fsutil import FileTransaction
from hexpack.onboarding import init, install_source
from hexpack.python import assemble, pythons, stubs
from hexpack.release import flow as release
from hexpack.verify import settings as verify_settings
from hexpack.versioning import places as version_places

PIN = "1.85.1"
SNAKEPIT_PYPROJECT = "# tooling only\n[tool.ruff]\nline-length = 100  # keep me\n\n[tool.other]\nx = 1\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="session")
def _discovery_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("discovery") / "discovery.json"


@pytest.fixture(autouse=True)
def _interpreters_probed_once(_discovery_cache, monkeypatch) -> None:
    """init targets the Pythons discovery finds, and discovery runs every interpreter on the machine (a
    second or two per plan on a busy machine). These tests share discovery's own cache (what nox keeps in
    .nox/_hexpack_pythons): each interpreter runs once per test process and is run again if it changes."""
    locate = pythons.locate

    def locate_with_cache(versions, **kwargs):
        kwargs.setdefault("cache", _discovery_cache)
        return locate(versions, **kwargs)

    monkeypatch.setattr(pythons, "locate", locate_with_cache)


@pytest.fixture
def snakepit(tmp_path) -> Path:
    """snakepit's layout: the proto in priv/proto/snakepit/, stubs directly in priv/python importing each
    other top-level (made by grpcio-tools 1.66.2), a package with __version__ and a pyproject in priv/python,
    and a tooling-only pyproject.toml at the top."""
    root = tmp_path / "snakepit"
    write(
        root / "mix.exs",
        """\
        defmodule Snakepit.MixProject do
          use Mix.Project

          @version "0.6.1"

          def project do
            [app: :snakepit, version: @version, elixir: "~> 1.14", deps: []]
          end
        end
        """,
    )
    write(root / "lib" / "snakepit.ex", "defmodule Snakepit do\nend\n")
    write(
        root / "priv/proto/snakepit/snakepit_bridge.proto",
        """\
        syntax = "proto3";
        package snakepit.bridge;
        service BridgeService { rpc Ping (PingRequest) returns (PingResponse); }
        message PingRequest { string message = 1; }
        message PingResponse { string message = 1; }
        """,
    )
    py = root / "priv/python"
    write(py / "snakepit_bridge_pb2.py", "# source: snakepit_bridge.proto\n# Protobuf Python Version: 5.27.2\n")
    write(
        py / "snakepit_bridge_pb2_grpc.py",
        "import grpc\n\nGRPC_GENERATED_VERSION = '1.66.2'\nimport snakepit_bridge_pb2 as snakepit__bridge__pb2\n",
    )
    write(py / "grpc_server.py", "import snakepit_bridge_pb2_grpc\n")
    write(py / "requirements.txt", "grpcio>=1.66.2\nprotobuf>=5.27.2\n")
    write(
        py / "pyproject.toml",
        """\
        [project]
        name = "snakepit-bridge"
        version = "0.6.1"
        requires-python = ">=3.10"
        dependencies = ["grpcio>=1.66.2", "protobuf>=5.27.2"]
        """,
    )
    write(py / "snakepit_bridge" / "__init__.py", '__version__ = "0.6.1"\n')
    write(py / "snakepit_bridge" / "adapters" / "__init__.py", "")
    write(py / "tests" / "__init__.py", "")
    write(root / "CHANGELOG.md", "# Changelog\n\n## [Unreleased]\n")
    write(root / "pyproject.toml", SNAKEPIT_PYPROJECT)
    return root


def snapshot(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def run_cli(*argv: str, capsys) -> tuple[int, str, str]:
    code = cli.main(["init", "--reader", "static", *argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


# ----------------------------------------------------------------------------- detection


def test_detect_hybrid_globs(reference_project):
    root = reference_project("hybrid_globs")
    d = init.detect(root, reader="static")
    assert (d.app, d.version, d.reader) == ("hybrid_globs", "1.4.0-rc.1", "static")
    assert d.protos == ["priv/proto/bridge.proto"]
    assert d.server == "priv/python/grpc_server.py"
    assert d.requirements == ["priv/python/requirements.txt", "priv/python/requirements-dev.txt"]
    assert d.stubs == ["priv/python/bridge_pb2.py", "priv/python/bridge_pb2.pyi", "priv/python/bridge_pb2_grpc.py"]
    assert d.stubs_tools == {}  # the fixture's stubs say nothing about what made them
    assert d.packages == {"priv/python/hybrid_bridge": "1.4.0rc1"}
    assert d.python_pyproject is None and d.requires_python is None
    assert d.top_pyproject is None and not d.top_pyproject_version
    assert d.python_tests == "priv/python/tests"
    assert d.changelog == "CHANGELOG.md"
    assert d.existing_config is None and not d.existing_noxfile


def test_detect_snakepit(snakepit):
    d = init.detect(snakepit, reader="static")
    assert (d.app, d.version) == ("snakepit", "0.6.1")
    assert d.protos == ["priv/proto/snakepit/snakepit_bridge.proto"]
    assert d.server == "priv/python/grpc_server.py"
    assert d.requirements == ["priv/python/requirements.txt"]
    assert d.stubs == ["priv/python/snakepit_bridge_pb2.py", "priv/python/snakepit_bridge_pb2_grpc.py"]
    assert d.stubs_tools == {"priv/python/snakepit_bridge_pb2_grpc.py": "1.66.2"}
    assert d.stubs_sources == {"priv/python/snakepit_bridge_pb2.py": "snakepit_bridge.proto"}
    assert d.packages == {"priv/python/snakepit_bridge": "0.6.1"}  # tests/ is not a package to version
    assert d.python_pyproject == "priv/python/pyproject.toml"
    assert d.requires_python == (">=3.10", "priv/python/pyproject.toml")
    assert d.top_pyproject == "pyproject.toml" and not d.top_pyproject_version
    assert d.python_tests == "priv/python/tests"
    assert d.existing_config is None


def test_plan_snakepit_settings_and_assumptions(snakepit):
    p = init.plan(snakepit, reader="static")
    assert p.config_file == "pyproject.toml"
    allowed = ["3.10", "3.11", "3.12", "3.13", "3.14"]
    here = [v for v in allowed if pythons.find(v)]  # what discovery finds on this machine is what init targets
    assert p.settings == {
        "python": here,
        "requirement": install_source.requirement().requirement,
        "stubs": {
            "grpcio-tools": "1.66.2",
            # the stubs sit directly in priv/python, so the proto's own directory is the -I root
            "protos": ["priv/proto/snakepit"],
            "include": ["priv/proto/snakepit"],
            "out": "priv/python",
            "requirements": ["priv/python/requirements.txt", "priv/python/pyproject.toml"],
        },
        "verify": {
            "python_root": "priv/python",
            "proto_root": "priv/proto/snakepit",
            "server": "priv/python/grpc_server.py",
            "requirements": "priv/python/requirements.txt",
            "python_dist": "priv/python",
        },
        "version": {
            "mix": "mix.exs",
            "pyproject": ["priv/python/pyproject.toml"],
            "python": ["priv/python/snakepit_bridge/__init__.py"],
            "changelog": "CHANGELOG.md",
        },
        "release": {"pypi": True},
    }
    assert "assemble" not in p.settings
    why = "from requires-python >=3.10 (priv/python/pyproject.toml), supported on 2025-10-07"
    if here == allowed:
        assert f"targeted Pythons 3.10-3.14 {why}, all installed here" in p.assumed
    else:
        missing = [v for v in allowed if v not in here]
        assert f"targeted Pythons {here[0]}-{here[-1]}: those of 3.10-3.14 {why} installed here" in p.assumed
        assert any(a.startswith(f"not targeted until installed: {', '.join(missing)} (revisit") for a in p.assumed)
    assert "grpcio-tools pin 1.66.2, read from the committed stubs" in p.assumed
    assert any("no assemble mapping" in n for n in p.notes)
    assert p.sessions == ["tests", "lint", "version", "stubs", "verify_package", "bump", "release", "doctor"]


def test_plan_hybrid_globs_defaults(reference_project):
    p = init.plan(reference_project("hybrid_globs"), reader="static")
    assert p.config_file == "hexpack.toml"
    assert p.settings["stubs"] == {
        "grpcio-tools": init.DEFAULT_GRPCIO_TOOLS,
        "protos": ["priv/proto"],
        "include": ["priv/proto"],
        "out": "priv/python",
        "requirements": ["priv/python/requirements.txt"],
    }
    assert p.settings["verify"]["python_dist"] == "" and p.settings["release"] == {"pypi": False}
    current = [v for v, start, end in pythons.CPYTHON_RELEASES if start <= pythons.RELEASES_AS_OF <= end]
    # no requires-python: the supported releases from 3.10, the oldest grpcio 1.85 runs on, installed here
    assert p.settings["python"] == [v for v in current if int(v.split(".")[1]) >= 10 and pythons.find(v)]
    assert "3.9" in current and "3.9" not in p.settings["python"]
    assert (
        f"grpcio-tools pin {init.DEFAULT_GRPCIO_TOOLS}, hexpack's default"
        " (the committed stubs do not say which made them)" in p.assumed
    )


def test_protos_under_priv_python_use_their_directory_as_include(snakepit):
    (snakepit / "priv/proto/snakepit/snakepit_bridge.proto").rename(snakepit / "priv/python/snakepit_bridge.proto")
    p = init.plan(snakepit, reader="static")
    assert p.detection.protos == ["priv/python/snakepit_bridge.proto"]
    assert p.settings["stubs"]["include"] == ["priv/python"] and p.settings["verify"]["proto_root"] == "priv/python"
    write(snakepit / "priv/python/protos/x.proto", 'syntax = "proto3";\n')
    (snakepit / "priv/python/snakepit_bridge.proto").rename(snakepit / "priv/python/protos/snakepit_bridge.proto")
    (snakepit / "priv/proto").rename(snakepit / "elsewhere")
    p = init.plan(snakepit, reader="static")
    assert p.settings["stubs"]["include"] == ["priv/python/protos"]


def test_stubs_kept_in_a_subpackage_set_out_there(snakepit):
    py = snakepit / "priv/python"
    target = py / "snakepit_bridge" / "grpc"
    target.mkdir()
    for name in ("snakepit_bridge_pb2.py", "snakepit_bridge_pb2_grpc.py"):
        (py / name).rename(target / name)
    p = init.plan(snakepit, reader="static")
    assert (p.settings["stubs"]["include"], p.settings["stubs"]["out"]) == (
        ["priv/proto/snakepit"],
        "priv/python/snakepit_bridge/grpc",
    )
    assert (
        "protos compiled with -I priv/proto/snakepit; stubs generated straight into"
        " priv/python/snakepit_bridge/grpc/, where the committed ones are"
    ) in p.assumed


def test_a_python_version_that_disagrees_is_named(snakepit):
    write(snakepit / "priv/python/snakepit_bridge/__init__.py", '__version__ = "0.5.0"\n')
    notes = init.plan(snakepit, reader="static").notes
    assert (
        "priv/python/snakepit_bridge/__init__.py holds __version__ 0.5.0, mix.exs 0.6.1: kept as its own version,"
        " not a version place; add it to [version] python if it should follow mix.exs" in notes
    )
    assert init.plan(snakepit, reader="static", force=True).settings["version"]["python"] == []


def test_other_things_at_the_same_version_are_allowed_and_said(snakepit, capsys):
    """snakebridge's tests pin torchvision "0.16.0", its own version: not a place, so init lists it in allow."""
    write(snakepit / "test/selector_test.exs", 'assert cmd("torchvision", "0.6.1")\n')
    p = init.plan(snakepit, reader="static")
    assert p.settings["version"]["allow"] == ["test/selector_test.exs"]
    assert (
        "0.6.1 also appears in 1 file(s) that are not version places (test/selector_test.exs): taken as other"
        " things' versions and listed in [version] allow; make one a place instead if it should follow mix.exs"
    ) in p.assumed
    init.apply(p)
    assert cli.main(["version", "--root", str(snakepit)]) == 0, capsys.readouterr()


def test_a_fresh_adoption_passes_version_with_an_independent_python_version(snakepit, capsys):
    """snakepit_bridge keeps __version__ 2.0.0 beside snakepit 0.13.0: init must not make `version` fail."""
    write(snakepit / "priv/python/snakepit_bridge/__init__.py", '__version__ = "2.0.0"\n')
    write(snakepit / "priv/python/pyproject.toml", '[project]\nname = "x"\nversion = "2.0.0"\n')
    init.apply(init.plan(snakepit, reader="static"))
    assert cli.main(["version", "--root", str(snakepit)]) == 0, capsys.readouterr()


def test_without_protos_there_is_no_stubs_table_or_session(snakepit):
    """snakebridge ships copies of snakepit's stubs, whose proto is snakepit's: the note names that proto."""
    for path in (snakepit / "priv/proto").rglob("*.proto"):
        path.unlink()
    p = init.plan(snakepit, reader="static")
    assert "stubs" not in p.settings and "proto_root" not in p.settings["verify"]
    assert "stubs" not in p.sessions
    assert p.notes[:2] == [
        "stubs without protos: the stubs come from snakepit_bridge.proto, which this project does not hold"
        " (another package's, such as a dependency's); they ship as committed and nothing regenerates them (to"
        " regenerate them here, add the .proto under priv/proto, then run `hexpack init --force`)",
        "no protos: no [stubs] settings and no stubs session",
    ]
    nox_text = p.files["noxfile.py"].decode()
    assert "def stubs" not in nox_text and "GRPCIO_TOOLS" not in nox_text


# ----------------------------------------------------------------------------- what is written


@pytest.mark.parametrize("case", ["hybrid_globs", "snakepit"])
def test_written_config_is_accepted_by_every_loader(case, reference_project, snakepit):
    root = snakepit if case == "snakepit" else reference_project(case)
    p = init.plan(root, reader="static")
    assert init.apply(p) == [p.config_file, "noxfile.py"]
    cfg = config.load(root)
    assert cfg.source == root / p.config_file
    assert cfg.settings == p.settings
    s = stubs.load_settings(root)
    assert s.out == root / "priv/python" and s.pin == p.settings["stubs"]["grpcio-tools"]
    assert [proto.name for proto in stubs.find_protos(s)] == [Path(x).name for x in p.detection.protos]
    v = verify_settings.load(root)
    assert v.server == "priv/python/grpc_server.py" and v.pythons == tuple(p.settings["python"])
    assert version_places.load_config(root).python == tuple(p.settings["version"]["python"])
    report = version_places.read_versions(root, audit_files=False)
    assert report.consistent, report.summary()
    assert release.ReleaseSettings.load(root).pypi is p.settings["release"]["pypi"]
    assert pythons.targeted(root) == p.settings["python"]
    assemble.load_settings(root)  # accepted (no [assemble] table: the source is priv/python itself)


def test_existing_pyproject_is_kept_byte_for_byte(snakepit):
    init.apply(init.plan(snakepit, reader="static"))
    text = (snakepit / "pyproject.toml").read_text()
    assert text.startswith(SNAKEPIT_PYPROJECT)
    assert "[tool.hexpack]\n" in text and "[tool.hexpack.stubs]" in text and "[tool.hexpack.release]" in text
    data = config.read_toml(snakepit / "pyproject.toml")
    assert data["tool"]["ruff"] == {"line-length": 100} and data["tool"]["other"] == {"x": 1}


def test_pyproject_without_tool_table_gets_one(snakepit):
    write(snakepit / "pyproject.toml", '[project]\nname = "x"\nversion = "0.6.1"\n')
    p = init.plan(snakepit, reader="static")
    assert p.settings["version"]["pyproject"] == ["pyproject.toml", "priv/python/pyproject.toml"]
    init.apply(p)
    text = (snakepit / "pyproject.toml").read_text()
    assert text.startswith('[project]\nname = "x"\nversion = "0.6.1"\n')
    assert config.load(snakepit).settings == p.settings


@pytest.mark.parametrize(
    ("original", "kept"),
    [
        (b"[tool.ruff]\nline-length = 100", b"[tool.ruff]\nline-length = 100\n\n[tool.hexpack]\n"),
        (b"[project]\r\nname = 'a'\r\n", b"[project]\r\nname = 'a'\r\n\r\n[tool.hexpack]\r\n"),
    ],
    ids=["no-final-newline", "crlf"],
)
def test_pyproject_edges(original, kept, snakepit):
    (snakepit / "pyproject.toml").write_bytes(original)
    p = init.plan(snakepit, reader="static")
    init.apply(p)
    data = (snakepit / "pyproject.toml").read_bytes()
    assert data.startswith(kept)
    if b"\r\n" in original:
        assert data.count(b"\n") == data.count(b"\r\n")
    assert config.load(snakepit).settings == p.settings


def test_generated_noxfile_is_a_table_of_contents(snakepit):
    nox_text = init.plan(snakepit, reader="static").files["noxfile.py"].decode()
    assert 'HEXPACK = SETTINGS["requirement"]' in nox_text
    assert "tools/" not in nox_text and "session.install(HEXPACK" in nox_text
    assert '["tool"]["hexpack"]' in nox_text  # Pythons and the pin are read from the one config
    compile(nox_text, "noxfile.py", "exec")


@pytest.mark.interpreter_independent
def test_nox_lists_the_sessions(snakepit, reference_project):
    nox = require_program("nox")
    expected_default = {"tests", "lint"}
    for root in (snakepit, reference_project("hybrid_globs")):
        p = init.plan(root, reader="static")
        init.apply(p)
        listed = subprocess.run(
            [nox, "-l", "--noxfile", str(root / "noxfile.py")], capture_output=True, text=True, timeout=120
        )
        assert listed.returncode == 0, listed.stderr
        lines = [line for line in listed.stdout.splitlines() if line[:2] in ("* ", "- ")]
        names = {line[2:].split(" -> ")[0] for line in lines}
        pys = p.settings["python"]
        assert names == {*(f"tests-{v}" for v in pys), *(s for s in p.sessions if s != "tests")}
        selected = {line[2:].split(" -> ")[0].split("-")[0] for line in lines if line.startswith("* ")}
        assert selected == expected_default


# ----------------------------------------------------------------------------- refusals and errors


def test_refuses_existing_files_and_writes_nothing(snakepit, capsys):
    write(snakepit / "noxfile.py", "# mine\n")
    before = snapshot(snakepit)
    code, out, err = run_cli("--project", str(snakepit), capsys=capsys)
    assert code == 1 and out == ""
    assert err == "error: noxfile.py: exists; hexpack init would overwrite it; pass --force to replace it\n"
    assert snapshot(snakepit) == before


def test_refuses_existing_tool_hexpack_and_force_replaces_only_it(snakepit, capsys):
    with (snakepit / "pyproject.toml").open("a") as handle:
        handle.write('\n[tool.hexpack]\npython = ["3.12"]\n\n[tool.hexpack.stubs]\ngrpcio-tools = "1.0.0"\n')
    write(snakepit / "noxfile.py", "# mine\n")
    before = snapshot(snakepit)
    with pytest.raises(Problems) as info:
        init.plan(snakepit, reader="static")
    assert info.value.lines() == [
        "pyproject.toml: [tool.hexpack] exists; hexpack init would overwrite it; pass --force to replace it",
        "noxfile.py: exists; hexpack init would overwrite it; pass --force to replace it",
    ]
    assert snapshot(snakepit) == before
    p = init.plan(snakepit, force=True, reader="static")
    init.apply(p)
    assert config.load(snakepit).settings == p.settings
    assert (snakepit / "pyproject.toml").read_text().startswith(SNAKEPIT_PYPROJECT)
    assert "# mine" not in (snakepit / "noxfile.py").read_text()


def test_refusals_come_before_reading_mix_exs():
    """This repository's mix.exs needs Elixir to read; the refusal does not."""
    with pytest.raises(Problems) as info:
        init.plan(REPO, reader="static")
    assert [line.split(":")[0] for line in info.value.lines()] == ["pyproject.toml", "noxfile.py"]


def test_a_missing_directory_is_one_line(tmp_path):
    with pytest.raises(ProjectError) as info:
        init.plan(tmp_path / "nowhere")
    assert (
        info.value.one_line() == f"{tmp_path / 'nowhere'}: directory not found; give the mix project with --project DIR"
    )


def test_refuses_existing_hexpack_toml(reference_project):
    root = reference_project("hybrid_globs")
    write(root / "hexpack.toml", 'python = ["3.12"]\n')
    with pytest.raises(ProjectError, match=r"^hexpack.toml: exists; .*pass --force"):
        init.plan(root, reader="static")
    assert (root / "hexpack.toml").read_text() == 'python = ["3.12"]\n'
    assert init.plan(root, force=True, reader="static").config_file == "hexpack.toml"


def test_dry_run_shows_and_writes_nothing(snakepit, capsys):
    before = snapshot(snakepit)
    code, out, err = run_cli("--project", str(snakepit), "--dry-run", capsys=capsys)
    assert code == 0 and err == ""
    assert snapshot(snakepit) == before
    lines = out.splitlines()
    assert "dry run: would write pyproject.toml, noxfile.py; nothing written" in lines
    assert "--- a/pyproject.toml" in lines and any(line.startswith("+[tool.hexpack.stubs] #") for line in lines)
    assert "--- /dev/null" in lines and "+++ b/noxfile.py" in lines
    assert "+def stubs(session: nox.Session) -> None:" in lines
    assert " x = 1" in lines  # context: the existing pyproject is kept


def test_prints_what_it_found_and_assumed(snakepit, capsys):
    code, out, err = run_cli("--project", str(snakepit), "--reader", "auto", capsys=capsys)  # Elixir when present
    assert code == 0, err
    lines = out.splitlines()
    for line in (
        "found: protos: priv/proto/snakepit/snakepit_bridge.proto",
        "found: server: priv/python/grpc_server.py",
        "found: requirements: priv/python/requirements.txt",
        "found: stubs: priv/python/snakepit_bridge_pb2.py, priv/python/snakepit_bridge_pb2_grpc.py"
        " (generated with grpcio-tools 1.66.2)",
        "found: Python package: priv/python/snakepit_bridge (__version__ 0.6.1)",
        "assumed: grpcio-tools pin 1.66.2, read from the committed stubs",
        "wrote pyproject.toml",
        "wrote noxfile.py",
    ):
        assert line in lines
    assert any(line.startswith("note: the source IS priv/python/") for line in lines)
    assert any(line.startswith("assumed: targeted Pythons 3.1") for line in lines)
    requirement = install_source.requirement().requirement
    assert f"assumed: the sessions install hexpack as {requirement!r}" in out
    assert "next: hexpack doctor, hexpack stubs --check, hexpack version, hexpack verify" in out


@pytest.mark.parametrize(
    ("remove", "message"),
    [
        ("mix.exs", "no mix.exs: not a mix project; run hexpack init in the project root"),
        ("priv/python", "no priv/python/ directory; hexpack init adopts projects whose Python lives in priv/python/"),
    ],
)
def test_not_an_adoptable_project_is_one_line(remove, message, snakepit, capsys):
    import shutil

    target = snakepit / remove
    shutil.rmtree(target) if target.is_dir() else target.unlink()
    before = snapshot(snakepit)
    code, out, err = run_cli("--project", str(snakepit), capsys=capsys)
    assert code == 1 and out == ""
    assert err == f"error: {snakepit}: {message}\n"
    assert snapshot(snakepit) == before


def test_a_failed_write_leaves_every_file_as_found(snakepit):
    before = snapshot(snakepit)
    p = init.plan(snakepit, reader="static")

    def fail_second(path: Path, index: int) -> None:
        if index == 1:
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        init.apply(p, transaction=FileTransaction(before_write=fail_second))
    assert snapshot(snakepit) == before


# ----------------------------------------------------------------------------- stubs on the adopted project


@pytest.mark.interpreter_independent
def test_stubs_generate_and_check_on_initialised_hybrid_globs(reference_project, capsys):
    found = stubs.installed_toolchain()
    if found != PIN:
        message = f"grpcio-tools=={PIN} is required (found {found}); nox's tests session installs it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    root = reference_project("hybrid_globs")
    init.apply(init.plan(root, reader="static"))
    # the fixture's floors predate grpcio-tools 1.85.1; hexpack stubs would say so (checked below first)
    result = stubs.generate(root)
    assert sorted(p.name for p in result.written) == ["bridge_pb2.py", "bridge_pb2.pyi", "bridge_pb2_grpc.py"]
    assert {p.parent for p in result.written} == {root / "priv/python"}
    assert [str(e.what).split(" allows")[0] for e in result.floor_problems] == ["grpcio>=1.60", "protobuf>=4.25"]
    write(root / "priv/python/requirements.txt", "grpcio>=1.85.1\nprotobuf>=7.35.1\n")
    assert cli.main(["stubs", "--root", str(root), "--check"]) == 0
    assert capsys.readouterr().out == "stubs up to date\n"
    # the regenerated stubs import each other top-level, as snakepit runs them (priv/python on sys.path)
    code = "import bridge_pb2_grpc, bridge_pb2; print(bridge_pb2.PingRequest(text='x').text)"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=root / "priv/python", capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0 and done.stdout == "x\n", done.stderr


def test_hexpack_error_is_the_base(snakepit):
    (snakepit / "mix.exs").unlink()
    with pytest.raises(HexpackError):
        init.detect(snakepit)


def test_a_malformed_pyproject_is_one_line(tmp_path, capsys):
    from hexpack import cli

    (tmp_path / "priv" / "python").mkdir(parents=True)
    (tmp_path / "mix.exs").write_text(
        'defmodule X.MixProject do\n  use Mix.Project\n  def project, do: [app: :x, version: "0.1.0"]\nend\n'
    )
    (tmp_path / "pyproject.toml").write_text("tool = 3\n")
    assert cli.main(["init", "--project", str(tmp_path), "--dry-run"]) == 1
    assert (
        capsys.readouterr().err
        == f"error: {tmp_path / 'pyproject.toml'}: tool must be a table; write [tool.hexpack] tables\n"
    )


@pytest.mark.slow
def test_a_written_session_installs_this_hexpack_and_runs(snakepit):
    """`nox -s version` in the adopted project: the session installs hexpack from `requirement` (where this
    hexpack came from, not a PyPI name that may not exist) and runs it."""
    nox = require_program("nox")
    init.apply(init.plan(snakepit, reader="static"))
    done = subprocess.run(
        [nox, "-s", "version"], cwd=snakepit, capture_output=True, text=True, timeout=600, stdin=subprocess.DEVNULL
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "version 0.6.1 (Hex) / 0.6.1 (PyPI), app :snakepit" in done.stdout + done.stderr


def test_init_writes_the_smoke_configuration_smoke_detect_reads(snakepit):
    """snakepit's server contract (argparse options, ready file, the peer it waits for, --health-check) and a
    package without a server (snakebridge) are written so verify's smoke test runs without edits."""
    write(
        snakepit / "priv/python/grpc_server.py",
        """\
        import argparse
        import os

        import snakepit_bridge_pb2_grpc


        def main():
            parser = argparse.ArgumentParser()
            parser.add_argument("--port", type=int, default=0)
            parser.add_argument("--elixir-address", required=True)
            parser.add_argument("--health-check", action="store_true")
            args = parser.parse_args()
            stub = snakepit_bridge_pb2_grpc.BridgeServiceStub(None)
            ready = os.environ.get("SNAKEPIT_READY_FILE")
            return args, stub, ready
        """,
    )
    write(
        snakepit / "priv/python/snakepit_bridge_pb2_grpc.py",
        "GRPC_GENERATED_VERSION = '1.66.2'\n"
        "class BridgeServiceStub:\n"
        "    def __init__(self, channel):\n"
        "        self.Ping = channel.unary_unary('/snakepit.bridge.BridgeService/Ping')\n",
    )
    p = init.plan(snakepit, reader="static")
    smoke = p.settings["verify"]["smoke"]
    assert smoke["command"] == ["{python}", "{server}", "--port", "0", "--elixir-address", "{peer}"]
    assert (smoke["ready"], smoke["ready_file_env"], smoke["peer"]) == (
        "file",
        "SNAKEPIT_READY_FILE",
        "snakepit.bridge.BridgeService",
    )
    assert smoke["preflight"][2] == "--health-check" and smoke["rpc"] == "snakepit.bridge.BridgeService/Ping"
    assert any(line.startswith("smoke: ") for line in p.found)
    init.apply(p)
    assert verify_settings.load(snakepit).smoke.ready == "file"

    (snakepit / "priv/python/grpc_server.py").unlink()
    p = init.plan(snakepit, reader="static", force=True)
    assert p.settings["verify"]["server"] is False
    assert not any(note.startswith("no server found") for note in p.notes)
