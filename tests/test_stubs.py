"""`hexpack stubs`: real grpcio-tools runs on small projects in tmp_path.

Each layout is generated once per module (protoc is the slow part) and copied
into each test. Imports of the generated code are checked in fresh Python
subprocesses, both with the stubs' directory on sys.path and as part of an
enclosing package, and one of them serves and calls a real gRPC method.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import IN_CI, REPO
from hexpack.cli import main
from hexpack.errors import HexpackError
from hexpack.fsutil import FileTransaction
from hexpack.python import assemble, floors, stubs

pytestmark = pytest.mark.interpreter_independent  # the pinned protoc

PIN = stubs.load_settings(REPO).pin

COMMON = """\
syntax = "proto3";
package shared;
message Stamp { string who = 1; int64 at = 2; }
"""
BRIDGE = """\
syntax = "proto3";
package demo;
import "google/protobuf/struct.proto";
import "demo/types.proto";
import "shared/common.proto";
service Echo {
  rpc Say(Word) returns (Word);
  rpc Many(Word) returns (stream Word);
}
message Word { string text = 1; demo.Kind kind = 2; shared.Stamp stamp = 3; google.protobuf.Struct extra = 4; }
"""
TYPES = """\
syntax = "proto3";
package demo;
enum Kind { PLAIN = 0; LOUD = 1; }
"""
REQUIREMENTS = "grpcio>=1.85.1\nprotobuf>=7.35.1,<8\n"


def require_toolchain() -> None:
    found = stubs.installed_toolchain()
    if found != PIN:
        message = f"grpcio-tools=={PIN} is required (found {found}); nox's tests session installs it"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def package_layout(root: Path) -> Path:
    """This repository's layout: protos under priv_python/proto, stubs inside the package."""
    write(
        root / "pyproject.toml",
        textwrap.dedent(
            f"""\
            [project]
            name = "demo"
            version = "0.1.0"

            [tool.hexpack.stubs]
            grpcio-tools = "{PIN}"
            protos = ["priv_python/proto"]
            out = "priv_python"
            """
        ),
    )
    write(root / "priv_python/proto/demo/echo.proto", BRIDGE)
    write(root / "priv_python/proto/demo/types.proto", TYPES)
    write(root / "priv_python/proto/shared/common.proto", COMMON)
    write(root / "priv_python/demo/__init__.py", "")
    write(root / "priv_python/shared/__init__.py", "")
    write(root / "priv_python/requirements.txt", REQUIREMENTS)
    return root


def snakepit_layout(root: Path) -> Path:
    """snakepit's layout: hexpack.toml, protos in priv/proto, top-level stubs in priv/python."""
    write(
        root / "hexpack.toml",
        textwrap.dedent(
            f"""\
            [stubs]
            grpcio-tools = "{PIN}"
            protos = ["priv/proto"]
            out = "priv/python"
            requirements = ["priv/python/requirements.txt"]
            """
        ),
    )
    write(
        root / "priv/proto/snake.proto",
        BRIDGE.replace("demo/types.proto", "kinds.proto").replace("shared/common.proto", "stamp.proto"),
    )
    write(root / "priv/proto/kinds.proto", TYPES)
    write(root / "priv/proto/stamp.proto", COMMON)
    write(root / "priv/python/requirements.txt", REQUIREMENTS)
    return root


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    """Both layouts generated once; tests get copies."""
    require_toolchain()
    base = tmp_path_factory.mktemp("generated")
    package_root = package_layout(base / "package")
    snake_root = snakepit_layout(base / "snakepit")
    for root in (package_root, snake_root):
        result = stubs.generate(root)
        assert not result.skipped and not result.floor_problems
    return {"package": package_root, "snakepit": snake_root}


@pytest.fixture
def project(generated, tmp_path):
    def copy(layout: str) -> Path:
        target = tmp_path / layout
        shutil.copytree(generated[layout], target)
        return target

    return copy


def files_under(root: Path) -> dict[str, bytes]:
    """The project's files, without hexpack's own lock and journal directory (``.hexpack/``, no git here)."""
    found = {p.relative_to(root).as_posix(): p for p in sorted(root.rglob("*")) if p.is_file()}
    return {rel: path.read_bytes() for rel, path in found.items() if not rel.startswith(".hexpack/")}


def hexpack(*argv: str, capsys) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def run_python(code: str, *, cwd: Path, path: list[Path]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PYTHONPATH"] = os.pathsep.join(str(p) for p in path)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


# ----------------------------------------------------------------------------- generating


def test_generates_three_files_per_proto_with_fingerprint_header(project):
    root = project("package")
    out = root / "priv_python"
    stubs_found = sorted(p.relative_to(out).as_posix() for p in out.rglob("*_pb2*"))
    assert stubs_found == [
        "demo/echo_pb2.py",
        "demo/echo_pb2.pyi",
        "demo/echo_pb2_grpc.py",
        "demo/types_pb2.py",
        "demo/types_pb2.pyi",
        "demo/types_pb2_grpc.py",
        "shared/common_pb2.py",
        "shared/common_pb2.pyi",
        "shared/common_pb2_grpc.py",
    ]
    pb2 = (out / "demo/echo_pb2.py").read_text().splitlines()
    assert pb2[0] == "# -*- coding: utf-8 -*-"  # the coding line stays first
    assert pb2[1].startswith(f"# hexpack-stubs: grpcio-tools {PIN}, fixup {stubs.FIXUP_VERSION}, fingerprint ")
    assert (out / "demo/echo_pb2_grpc.py").read_text().startswith("# hexpack-stubs: ")


def test_output_is_deterministic(project, capsys):
    first = project("package")
    before = files_under(first)
    code, out, _ = hexpack("stubs", "--root", str(first), "--force", capsys=capsys)
    assert code == 0 and "0 written, 9 unchanged" in out
    assert files_under(first) == before
    # a fresh generation elsewhere gives the same bytes
    again = package_layout(first.parent / "again")
    assert stubs.generate(again).written
    assert files_under(again / "priv_python") == files_under(first / "priv_python")


def test_second_run_is_skipped_and_writes_nothing(project, capsys):
    root = project("package")
    stamp = {p: p.stat().st_mtime_ns for p in (root / "priv_python").rglob("*_pb2*")}
    code, out, err = hexpack("stubs", "--root", str(root), capsys=capsys)
    assert (code, err) == (0, "")
    assert "stubs up to date" in out and "nothing written" in out
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp


def test_a_changed_proto_or_pin_regenerates(project, monkeypatch):
    root = project("package")
    proto = root / "priv_python/proto/demo/types.proto"
    proto.write_text(TYPES.replace("LOUD = 1;", "LOUD = 1; QUIET = 2;"))
    assert not stubs.is_fresh(stubs.load_settings(root))
    result = stubs.generate(root)
    assert not result.skipped
    assert "QUIET" in (root / "priv_python/demo/types_pb2.pyi").read_text()
    # every header carries the new fingerprint, so the next run is skipped again
    assert stubs.generate(root).skipped
    # a different fixup version (part of the toolchain fingerprint) makes them stale too
    monkeypatch.setattr(stubs, "FIXUP_VERSION", stubs.FIXUP_VERSION + 1)
    assert not stubs.is_fresh(stubs.load_settings(root))


def test_removed_proto_loses_its_stubs_but_foreign_stubs_stay(project):
    root = project("package")
    foreign = write(root / "priv_python/demo/handmade_pb2.py", "# not generated by hexpack\n")
    (root / "priv_python/proto/shared/common.proto").unlink()
    bridge = root / "priv_python/proto/demo/echo.proto"
    bridge.write_text(BRIDGE.replace('import "shared/common.proto";\n', "").replace(" shared.Stamp stamp = 3;", ""))
    result = stubs.generate(root)
    assert sorted(p.name for p in result.removed) == ["common_pb2.py", "common_pb2.pyi", "common_pb2_grpc.py"]
    assert not list((root / "priv_python/shared").glob("*_pb2*"))
    assert foreign.read_text() == "# not generated by hexpack\n"


def test_a_failed_write_leaves_every_stub_as_it_was(project):
    root = project("package")
    (root / "priv_python/proto/demo/types.proto").write_text(TYPES.replace("LOUD = 1;", "LOUD = 1; QUIET = 2;"))
    before = files_under(root)

    def fail_on_third(path: Path, index: int) -> None:
        if index == 2:
            raise OSError("disk full (injected)")

    with pytest.raises(OSError, match="injected"):
        stubs.generate(root, transaction=FileTransaction(before_write=fail_on_third))
    assert files_under(root) == before


def test_refuses_another_grpcio_tools_with_the_install_command(project, capsys):
    root = project("package")
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text().replace(f'grpcio-tools = "{PIN}"', 'grpcio-tools = "1.0.0"'))
    code, _, err = hexpack("stubs", "--root", str(root), capsys=capsys)
    assert code == 1
    assert f"grpcio-tools {PIN} is installed, but [tool.hexpack.stubs] pins 1.0.0" in err
    assert f"{sys.executable} -m pip install grpcio-tools==1.0.0" in err


def test_settings_errors_name_the_table(tmp_path):
    write(tmp_path / "pyproject.toml", '[tool.hexpack.stubs]\nprotos = ["nowhere"]\nshape = 1\n')
    with pytest.raises(HexpackError, match=r"\[tool.hexpack.stubs\].*unknown setting\(s\) shape"):
        stubs.load_settings(tmp_path)
    write(tmp_path / "pyproject.toml", '[tool.hexpack.stubs]\nprotos = ["nowhere"]\n')
    with pytest.raises(HexpackError, match='grpcio-tools must be one exact version such as "1.85.1"; add grpcio-tools'):
        stubs.load_settings(tmp_path)
    write(tmp_path / "pyproject.toml", f'[tool.hexpack.stubs]\ngrpcio-tools = "{PIN}"\nprotos = ["nowhere"]\n')
    with pytest.raises(HexpackError, match="nowhere: proto path not found"):
        stubs.generate(tmp_path)


def test_every_settings_problem_is_reported_at_once(tmp_path, capsys):
    write(tmp_path / "pyproject.toml", "[tool.hexpack.stubs]\ngrpcio-tools = 1.85\nout = 4\nprotos = 3\nshape = 1\n")
    write(tmp_path / "mix.exs", "")
    code, _, err = hexpack("stubs", "--check", "--root", str(tmp_path), capsys=capsys)
    assert code == 1 and "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines == [
        f"error: {tmp_path / 'pyproject.toml'} [tool.hexpack.stubs]: {problem}"
        for problem in (
            "unknown setting(s) shape; known settings: grpcio-tools, include, out, protos, requirements",
            'grpcio-tools must be one exact version such as "1.85.1", got 1.85; write e.g. grpcio-tools = "1.85.1"',
            'protos must be a list of paths, got 3; write e.g. protos = ["priv_python/proto"]',
            'out must be a path, got 4; write e.g. out = "priv_python"',
        )
    ]


@pytest.mark.parametrize("out", ["/", "../elsewhere", "priv/../../x"])
def test_an_out_directory_outside_the_project_is_refused(tmp_path, out):
    write(tmp_path / "pyproject.toml", f'[tool.hexpack.stubs]\ngrpcio-tools = "{PIN}"\nout = "{out}"\n')
    with pytest.raises(HexpackError, match=rf"out = '{re.escape(out)}' leaves the project"):
        stubs.load_settings(tmp_path)


def test_every_stubs_path_must_stay_inside_the_project(tmp_path):
    """Stubs generated from protos outside the repository could not be regenerated from a checkout of it."""
    from hexpack.errors import Problems

    (tmp_path / "shared").mkdir()
    root = tmp_path / "project"
    root.mkdir()
    (root / "link").symlink_to(tmp_path / "shared")
    settings = 'protos = ["link/a.proto"]\ninclude = ["../shared"]\nrequirements = "/etc/requirements.txt"\n'
    write(root / "pyproject.toml", f'[tool.hexpack.stubs]\ngrpcio-tools = "{PIN}"\n{settings}')
    with pytest.raises(Problems) as caught:
        stubs.load_settings(root)
    assert [problem.what for problem in caught.value.problems] == [
        "protos = 'link/a.proto' leaves the project",
        "include = '../shared' leaves the project",
        "requirements = '/etc/requirements.txt' leaves the project",
    ]


def test_a_proto_whose_name_is_not_utf8_is_named(project):
    root = project("package")
    proto_dir = next((root / "priv_python" / "proto").rglob("*.proto")).parent
    with open(os.path.join(os.fsencode(proto_dir), b"\xff.proto"), "w") as handle:
        handle.write('syntax = "proto3";\n')
    with pytest.raises(HexpackError, match=r"\\xff\.proto: proto file name is not valid UTF-8; rename it"):
        stubs.find_protos(stubs.load_settings(root))


def test_a_file_or_directory_in_the_way_of_the_stubs_is_one_error_line(project, capsys):
    root = project("package")
    stub = next((root / "priv_python").rglob("*_pb2.py"))
    stub.unlink()
    stub.mkdir()
    code, _, err = hexpack("stubs", "--root", str(root), capsys=capsys)
    assert (code, err.strip()) == (1, f"error: {stub}: is a directory where a file is to be written; move it away")
    stub.rmdir()
    shutil.rmtree(stub.parent)
    stub.parent.write_text("in the way")
    code, _, err = hexpack("stubs", "--root", str(root), capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert f"error: {stub.parent.relative_to(root).as_posix()}: a file is in the way of the stubs' directory" in err


# ----------------------------------------------------------------------------- imports


def test_package_layout_imports_on_sys_path_and_inside_an_enclosing_package(project, tmp_path):
    root = project("package")
    out = root / "priv_python"
    # 1. the stubs' directory on sys.path (priv/python, how the Elixir side runs it)
    on_path = run_python(
        """
        import sys
        from demo import echo_pb2, echo_pb2_grpc, types_pb2
        from shared import common_pb2
        word = echo_pb2.Word(text="hi", kind=types_pb2.LOUD, stamp=common_pb2.Stamp(who="me"))
        assert echo_pb2.Word.FromString(word.SerializeToString()).stamp.who == "me"
        assert echo_pb2_grpc.demo_dot_echo__pb2 is echo_pb2
        assert hasattr(echo_pb2_grpc, "EchoStub")
        print("ok", sorted(m for m in sys.modules if m.endswith("_pb2")))
        """,
        cwd=tmp_path,
        path=[out],
    )
    assert on_path.returncode == 0, on_path.stderr
    assert "demo.echo_pb2" in on_path.stdout
    # 2. the same tree vendored inside a package (imported as vendor.stubs.demo...)
    vendor = tmp_path / "site" / "vendor"
    shutil.copytree(out, vendor / "stubs", ignore=shutil.ignore_patterns("proto"))
    write(vendor / "__init__.py", "")
    write(vendor / "stubs" / "__init__.py", "")
    nested = run_python(
        """
        import sys
        from vendor.stubs.demo import echo_pb2, echo_pb2_grpc
        assert echo_pb2.shared_dot_common__pb2 is sys.modules["vendor.stubs.shared.common_pb2"]
        assert echo_pb2.Word(text="x", stamp={"who": "me"}).stamp.who == "me"
        assert echo_pb2_grpc.demo_dot_echo__pb2 is echo_pb2
        top = [m for m in sys.modules if m.split(".")[0] in ("demo", "shared")]
        assert not top, top  # nothing fell back to the absolute, top-level names
        print("ok")
        """,
        cwd=tmp_path,
        path=[tmp_path / "site"],
    )
    assert nested.returncode == 0, nested.stderr


SERVE_AND_CALL = """
import grpc
from concurrent import futures
{imports}

class Echo(grpc_mod.EchoServicer):
    def Say(self, request, context):
        return pb2.Word(text=request.text.upper(), kind=kinds.LOUD)

server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
grpc_mod.add_EchoServicer_to_server(Echo(), server)
port = server.add_insecure_port("127.0.0.1:0")
server.start()
try:
    with grpc.insecure_channel(f"127.0.0.1:{{port}}") as channel:
        reply = grpc_mod.EchoStub(channel).Say(pb2.Word(text="hello"), timeout=10)
    assert (reply.text, reply.kind) == ("HELLO", kinds.LOUD), reply
    print("called", reply.text)
finally:
    server.stop(None)
"""


def test_snakepit_layout_imports_on_sys_path_and_as_a_package(project, tmp_path):
    root = project("snakepit")
    out = root / "priv/python"
    assert sorted(p.name for p in out.glob("*_pb2*.py")) == [
        "kinds_pb2.py",
        "kinds_pb2_grpc.py",
        "snake_pb2.py",
        "snake_pb2_grpc.py",
        "stamp_pb2.py",
        "stamp_pb2_grpc.py",
    ]
    grpc_text = (out / "snake_pb2_grpc.py").read_text()
    assert (
        "if __package__:\n    from . import snake_pb2 as snake__pb2\nelse:\n    import snake_pb2 as snake__pb2\n"
        in grpc_text
    )
    # 1. priv/python on sys.path, top-level modules, a real call through a real server
    imports = "import snake_pb2 as pb2, snake_pb2_grpc as grpc_mod, kinds_pb2 as kinds"
    flat = run_python(SERVE_AND_CALL.format(imports=imports), cwd=tmp_path, path=[out])
    assert flat.returncode == 0, flat.stderr
    assert "called HELLO" in flat.stdout
    # 2. the same files as modules of a package
    pkg = tmp_path / "site" / "snakepit_stubs"
    shutil.copytree(out, pkg)
    write(pkg / "__init__.py", "")
    imports = (
        "import sys\n"
        "from snakepit_stubs import snake_pb2 as pb2, snake_pb2_grpc as grpc_mod, kinds_pb2 as kinds\n"
        "assert 'snake_pb2' not in sys.modules and 'stamp_pb2' not in sys.modules"
    )
    packaged = run_python(SERVE_AND_CALL.format(imports=imports), cwd=tmp_path, path=[tmp_path / "site"])
    assert packaged.returncode == 0, packaged.stderr
    assert "called HELLO" in packaged.stdout


def test_fix_imports_leaves_foreign_imports_and_climbs_packages():
    text = (
        "from google.protobuf import struct_pb2 as google_dot_protobuf_dot_struct__pb2\n"
        "from a.b import c_pb2 as a_dot_b_dot_c__pb2\n"
        "from x import y_pb2 as x_dot_y__pb2\n"
        "import top_pb2 as top__pb2\n"
    )
    fixed = stubs.fix_imports(text, "a.b.me_pb2", {"a.b.c_pb2", "x.y_pb2", "top_pb2"})
    assert fixed.startswith("from google.protobuf import struct_pb2 as google_dot_protobuf_dot_struct__pb2\n")
    assert "if __package__:\n    from . import c_pb2 as a_dot_b_dot_c__pb2\nelse:\n    from a.b import c_pb2" in fixed
    assert 'if __package__ and __package__.count(".") >= 2:\n    from ...x import y_pb2 as x_dot_y__pb2\n' in fixed
    assert 'if __package__ and __package__.count(".") >= 2:\n    from ... import top_pb2 as top__pb2\n' in fixed


# ----------------------------------------------------------------------------- --check


def test_check_passes_on_fresh_stubs_and_lists_stale_missing_extra(project, capsys):
    root = project("package")
    code, out, err = hexpack("stubs", "--root", str(root), "--check", capsys=capsys)
    assert (code, err) == (0, "") and "stubs up to date" in out
    out_dir = root / "priv_python"
    (out_dir / "demo/echo_pb2.py").write_text((out_dir / "demo/echo_pb2.py").read_text() + "# edited by hand\n")
    (out_dir / "demo/types_pb2.pyi").unlink()
    extra = out_dir / "demo/old_pb2.py"
    extra.write_text((out_dir / "demo/types_pb2.py").read_text())  # carries hexpack's header: hexpack's leftover
    before = files_under(root)
    code, _, err = hexpack("stubs", "--root", str(root), "--check", capsys=capsys)
    assert code == 1
    assert "priv_python/demo/echo_pb2.py: stale stub" in err
    assert "priv_python/demo/types_pb2.pyi: missing stub" in err
    assert "priv_python/demo/old_pb2.py: extra stub" in err
    assert "run `hexpack stubs`" in err
    assert files_under(root) == before  # --check changes nothing


def test_check_lists_stubs_made_stale_by_a_proto_change(project, capsys):
    root = project("package")
    (root / "priv_python/proto/demo/types.proto").write_text(TYPES.replace("LOUD = 1;", "LOUD = 1; QUIET = 2;"))
    code, _, err = hexpack("stubs", "--root", str(root), "--check", capsys=capsys)
    assert code == 1
    for name in ("types_pb2.py", "types_pb2.pyi", "types_pb2_grpc.py"):
        assert f"priv_python/demo/{name}: stale stub" in err


def test_stubs_made_by_plain_protoc_are_told_apart_and_a_first_run_adopts_them(project, capsys):
    """snakepit commits stubs made by its own generate_grpc.sh (plain grpc_tools.protoc): they are not stale."""
    root = project("snakepit")
    out = root / "priv/python"
    subprocess.run(
        [sys.executable, "-m", "grpc_tools.protoc", "-Ipriv/proto", f"--python_out={out}", f"--grpc_python_out={out}"]
        + [f"--pyi_out={out}", "priv/proto/snake.proto", "priv/proto/kinds.proto", "priv/proto/stamp.proto"],
        cwd=root,
        check=True,
        timeout=120,
    )
    (out / "kinds_pb2.py").write_text((out / "kinds_pb2.py").read_text() + "# edited after generation\n")
    code, _, err = hexpack("stubs", "--root", str(root), "--check", capsys=capsys)
    assert code == 1
    same = "made by another generator: the same protoc output, only hexpack's header and import rewrite differ"
    assert f"error: priv/python/snake_pb2_grpc.py: {same}" in err.splitlines()
    assert "priv/python/kinds_pb2.py: made by another generator (no hexpack-stubs header) and differs" in err
    assert "stale stub" not in err
    assert "the committed stubs are not hexpack's yet; a first `hexpack stubs` adopts them (then commit them)" in err
    assert hexpack("stubs", "--root", str(root), capsys=capsys)[0] == 0
    assert hexpack("stubs", "--root", str(root), "--check", capsys=capsys)[:2] == (0, "stubs up to date\n")


# ----------------------------------------------------------------------------- floors


def test_floor_above_requirements_is_reported_with_both_numbers(project, capsys):
    root = project("package")
    demanded = {f.package: f for f in floors.stub_floors(root / "priv_python")}
    protobuf_floor, grpc_floor = demanded["protobuf"].version, demanded["grpcio"].version
    assert protobuf_floor >= floors.Version("5") and grpc_floor == floors.Version(PIN)
    (root / "priv_python/requirements.txt").write_text("grpcio\nprotobuf>=5.26\n")
    code, _, err = hexpack("stubs", "--root", str(root), capsys=capsys)
    assert code == 1
    assert (
        f"priv_python/requirements.txt:2: protobuf>=5.26 allows versions older than {protobuf_floor} that "
        f"priv_python/demo/echo_pb2.py requires; raise the floor to protobuf>={protobuf_floor}"
    ) in err
    assert f"priv_python/requirements.txt:1: grpcio allows any version older than {grpc_floor}" in err
    # --check reports it too
    code, _, err = hexpack("stubs", "--root", str(root), "--check", capsys=capsys)
    assert code == 1 and "protobuf>=5.26 allows versions older than" in err


def test_missing_requirement_and_pyproject_dependencies_are_checked(project, capsys):
    root = project("package")
    (root / "priv_python/requirements.txt").write_text("grpcio>=1.85.1\n")
    write(
        root / "priv_python/pyproject.toml",
        '[project]\nname = "x"\ndependencies = ["grpcio>=1.0", "protobuf>=7.35.1"]\n',
    )
    code, _, err = hexpack("stubs", "--root", str(root), capsys=capsys)
    assert code == 1
    assert "priv_python/requirements.txt: no protobuf requirement, but priv_python/demo/echo_pb2.py requires" in err
    assert "priv_python/pyproject.toml: grpcio>=1.0 allows versions older than" in err


def floor(package: str, version: str) -> floors.Floor:
    return floors.Floor(package, floors.Version(version), Path("x_pb2.py"))


@pytest.mark.parametrize(
    ("line", "ok"),
    [
        ("protobuf>=7.35.1", True),
        ("protobuf>=7.35.1,<8", True),
        ("protobuf~=7.35.1", True),
        ("protobuf>=7.36", True),
        ("protobuf==7.36.2", True),
        ("protobuf>=7.35.1; python_version >= '3.10'", True),
        ("protobuf >= 7.35.1  --hash=sha256:abc", True),
        ("protobuf>=7.35.0", False),
        ("protobuf~=7.0", False),
        ("protobuf==7.*", False),
        ("protobuf", False),
        ("protobuf<8", False),
        ("protobuf!=7.35.0", False),
        ("protobuf>=6,<7", False),
    ],
)
def test_specifiers_judged_against_a_floor(tmp_path, line, ok):
    req = write(tmp_path / "requirements.txt", f"# runtime\n{line}\n")
    problems = floors.check_floors([floor("protobuf", "7.35.1")], [req])
    assert (not problems) is ok, [p.one_line() for p in problems]


def test_unreadable_requirements_are_one_error_naming_the_file(tmp_path):
    latin1 = tmp_path / "requirements.txt"
    latin1.write_bytes(b"grpcio>=1.0\n# caf\xe9\n")
    with pytest.raises(HexpackError, match=r"requirements.txt:2: not UTF-8 text \(byte 0xe9\); re-save it as UTF-8"):
        floors.read_requirements(latin1)
    latin1.unlink()
    latin1.mkdir()
    problems = floors.check_floors([floor("protobuf", "7.35.1")], [latin1])
    assert [p.one_line() for p in problems] == [f"{latin1}: is a directory, not a requirements file; move it away"]
    pyproject = tmp_path / "pyproject.toml"
    for text, expected in [
        ("project = 3\n", "[project] must be a table"),
        ("[project]\ndependencies = [3]\n", "[project] dependencies must be a list of strings, got [3]"),
    ]:
        pyproject.write_text(text, encoding="utf-8")
        with pytest.raises(HexpackError, match=re.escape(f"{pyproject}: {expected}")):
            floors.read_requirements(pyproject)


def test_requirements_includes_options_and_errors(tmp_path):
    write(tmp_path / "base.txt", "protobuf>=7.35.1 \\\n  ; python_version >= '3.10'\n")
    main_file = write(
        tmp_path / "requirements.txt", "--index-url https://example.invalid/simple\n-r base.txt\ngrpcio>=1.85.1\n"
    )
    names = [e.requirement.name for e in floors.read_requirements(main_file)]
    assert names == ["protobuf", "grpcio"]
    assert floors.check_floors([floor("protobuf", "7.35.1"), floor("grpcio", "1.85.1")], [main_file]) == []
    bad = write(tmp_path / "bad.txt", "grpcio>=1.85.1\nprotobuf>>7\n")
    (problem,) = floors.check_floors([floor("protobuf", "7.35.1")], [bad])
    assert problem.one_line().startswith(f"{bad}:2: invalid requirement 'protobuf>>7'")
    (upper,) = floors.check_floors([floor("protobuf", "7.35.1")], [write(tmp_path / "u.txt", "protobuf<7\n")])
    assert "protobuf<7 excludes 7.35.1" in upper.one_line()


def test_strictest_floor_wins(tmp_path):
    found = [floor("protobuf", "6.31.1"), floors.Floor("protobuf", floors.Version("7.35.1"), Path("b_pb2.py"))]
    assert floors.strictest(found)["protobuf"].file == Path("b_pb2.py")
    req = write(tmp_path / "requirements.txt", "protobuf>=6.31.1\n")
    (problem,) = floors.check_floors(found, [req])
    assert "older than 7.35.1 that b_pb2.py requires" in problem.one_line()


# ----------------------------------------------------------------------------- this repository


def test_this_repository_stubs_are_current(capsys):
    require_toolchain()
    code, _, err = hexpack("stubs", "--root", str(REPO), "--check", capsys=capsys)
    assert code == 0, f"the committed stubs are stale; run `nox -s stubs assemble` and commit:\n{err}"


def test_this_repository_from_a_clean_tree_stubs_then_assemble_reproduce_the_committed_files(tmp_path, capsys):
    """The Must-show sequence on a copy without priv/ and without stubs: what is committed comes back byte for byte."""
    require_toolchain()
    clone = tmp_path / "clone"
    clone.mkdir()
    shutil.copy2(REPO / "pyproject.toml", clone / "pyproject.toml")
    junk = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info", "*_pb2*")
    shutil.copytree(REPO / "priv_python", clone / "priv_python", ignore=junk)
    assert not list((clone / "priv_python").rglob("*_pb2*"))
    assert hexpack("stubs", "--root", str(clone), capsys=capsys)[0] == 0
    assert hexpack("assemble", "--root", str(clone), capsys=capsys)[0] == 0
    for committed in (REPO / "priv_python").rglob("*_pb2*"):
        if "__pycache__" in committed.parts:  # bytecode an earlier session's imports wrote, not committed
            continue
        rel = committed.relative_to(REPO)
        assert (clone / rel).read_bytes() == committed.read_bytes(), rel
    if (REPO / "priv").is_dir() and not assemble.check(REPO):  # a stale priv/ fails test_assemble's repo check
        ignore = ("__pycache__", ".pyc")
        committed = {k: v for k, v in files_under(REPO / "priv").items() if not any(i in k for i in ignore)}
        assert files_under(clone / "priv") == committed

    # both checks pass, and a second run of both changes nothing
    def stamps() -> dict[Path, tuple[int, int]]:  # hexpack's lock in .hexpack/ is rewritten by every locked run
        found = (p for p in clone.rglob("*") if ".hexpack" not in p.relative_to(clone).parts)
        return {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in found}

    before = stamps()
    for command in ("stubs", "assemble"):
        assert hexpack(command, "--root", str(clone), "--check", capsys=capsys)[0] == 0
        code, out, _ = hexpack(command, "--root", str(clone), capsys=capsys)
        assert code == 0 and "up to date" in out
    assert stamps() == before


@pytest.mark.slow
def test_verify_checks_the_stubs_with_the_pin_from_a_venv_when_hexpack_has_another(project, tmp_path):
    """A maintainer's hexpack (here with grpcio-tools 1.85.1) verifies a project pinned to 1.76.0 (snakepit's):
    the freshness gate runs the pin from a cached venv instead of refusing."""
    from hexpack.python import pythons
    from hexpack.verify.runner import freshness
    from hexpack.verify.venvs import VenvCache

    root = project("snakepit")
    settings = root / "hexpack.toml"
    settings.write_text(settings.read_text().replace(f'grpcio-tools = "{PIN}"', 'grpcio-tools = "1.76.0"'))
    cache = VenvCache(tmp_path / "venvs")
    gate = freshness(root, cache, pythons.find(f"{sys.version_info[0]}.{sys.version_info[1]}"))[0]
    lines = [finding.one_line() for finding in gate.findings]
    assert "priv/python/snake_pb2.py: stub is stale; run `nox -s stubs`" in lines, lines  # 1.76.0 made other bytes
    assert not any("is installed, but" in line for line in lines)
    (toolchain,) = (tmp_path / "venvs").glob("grpcio-tools-*")
    assert (toolchain / "bin" / "python").exists()
