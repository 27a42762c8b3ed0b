"""`hexpack verify` on copies of this repository, broken one way at a time.

Each break must fail and the report must name the cause. The copies first get
`hexpack stubs` + `hexpack assemble` run on them, so the baseline is
consistent even while the sources are being edited; the one slow test checks
the repository exactly as it is, with smoke tests and the Python dist.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, require_program
from hexpack import __version__ as VERSION
from hexpack import cli

pytestmark = pytest.mark.interpreter_independent  # verify of this repository

COPIED = (
    "mix.exs",
    ".formatter.exs",
    "lib",
    "priv",
    "priv_python",
    "pyproject.toml",
    "tools",  # hexpack itself, the second Python distribution (python_tools)
    "README.md",
    "CHANGELOG.md",
    "LICENSE",
)
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "_build", "deps", ".hexpack")
FAST = ["--skip", "smoke,pydist"]


def copy_repo(target: Path) -> Path:
    target.mkdir(parents=True)
    for name in COPIED:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, target / name, symlinks=True, ignore=IGNORED)
        elif source.exists():
            shutil.copy2(source, target / name)
    return target


@pytest.fixture(scope="module")
def baseline(tmp_path_factory) -> Path:
    """A consistent copy: stubs regenerated and priv/ assembled from the copy's own sources."""
    pytest.importorskip("grpc_tools", reason="the pinned grpcio-tools is needed for stubs --check")
    from hexpack.python import assemble, stubs

    root = copy_repo(tmp_path_factory.mktemp("repo") / "hexpack")
    stubs.generate(root)
    assemble.assemble(root)
    return root


@pytest.fixture
def repo(baseline, tmp_path, elixir) -> Path:
    target = tmp_path / "hexpack"
    shutil.copytree(baseline, target, symlinks=True)
    return target


def verify(capsys, root: Path, *extra: str) -> tuple[int, str, dict]:
    report = root.parent / "report.json"
    code = cli.main(["verify", "--project", str(root), *FAST, "--json", str(report), *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err, json.loads(report.read_text())


def failing(data: dict) -> dict[str, list[str]]:
    """{gate name: [problem lines]} for the gates that did not pass."""
    found = {}
    for gate in data["gates"]:
        if gate["status"] in ("fail", "warn"):
            found[gate["name"]] = [
                f["message"] if not f["subject"] else f"{f['subject']}: {f['message']}"
                for f in gate["findings"]
                if f["status"] in ("fail", "warn")
            ]
    return found


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def test_baseline_passes_gates_1_to_3(repo, capsys):
    code, out, data = verify(capsys, repo)
    assert failing(data) == {}, out
    assert code == 0


def test_dropping_priv_python_from_files(repo, capsys):
    edit(repo / "mix.exs", "~w(lib priv/python priv/proto", "~w(lib priv/proto")
    code, out, data = verify(capsys, repo)
    assert code == 1
    problems = failing(data)
    assert set(problems) == {"required files"}, problems
    assert "priv/python/grpc_server.py: missing from the package (the server the Elixir side starts)" in out
    assert 'add "priv/python" to package files: in mix.exs' in out


def test_env_file_under_priv_python(repo, capsys):
    (repo / "priv/python/.env").write_text("SECRET=1\n")
    code, out, data = verify(capsys, repo)
    assert code == 1
    assert set(failing(data)) == {"forbidden files"}
    assert "priv/python/.env: forbidden environment file, may hold secrets" in out


def test_pycache_left_in(repo, capsys):
    cache = repo / "priv/python/hexpack_bridge/__pycache__"
    cache.mkdir()
    (cache / "server.cpython-311.pyc").write_bytes(b"\x00" * 16)
    code, _, data = verify(capsys, repo)  # the excludes in mix.exs keep it out
    assert code == 0, failing(data)
    edit(repo / "mix.exs", "exclude_patterns: [~r/__pycache__/, ~r/\\.pyc$/]", "exclude_patterns: []")
    code, out, data = verify(capsys, repo)
    assert code == 1
    assert set(failing(data)) == {"forbidden files"}
    assert "priv/python/hexpack_bridge/__pycache__/server.cpython-311.pyc: forbidden Python bytecode cache" in out


def test_stale_stubs(repo, capsys):
    proto = repo / "priv_python/proto/hexpack_bridge/bridge.proto"
    edit(proto, "message PingRequest {", "message PingRequest {\n  int32 extra = 9;")
    code, out, data = verify(capsys, repo)
    assert code == 1
    problems = failing(data)
    assert "stubs --check" in problems and "assemble --check" in problems
    assert "priv_python/hexpack_bridge/bridge_pb2.py: stub is stale; run `nox -s stubs assemble`" in out


def test_stub_floor_above_requirements(repo, capsys):
    stub = repo / "priv/python/hexpack_bridge/bridge_pb2.py"
    text = stub.read_text()
    new = re.sub(r"(ValidateProtobufRuntimeVersion\(\s*[\w.]+\s*,\s*)(\d+)", lambda m: m.group(1) + "99", text, count=1)
    assert new != text
    stub.write_text(new)
    code, out, data = verify(capsys, repo)
    assert code == 1
    problems = failing(data)
    assert "stub floors" in problems, problems
    line = " ".join(problems["stub floors"])
    assert "priv/python/requirements.txt" in line and "protobuf" in line and "99." in line
    assert "raise the floor to protobuf>=99." in out


def test_dangling_symlink(repo, capsys):
    (repo / "priv/python/hexpack_bridge/helpers.py").symlink_to("no_such_module.py")
    code, out, data = verify(capsys, repo)
    assert code == 1
    problems = failing(data)
    assert set(problems) == {"symlinks"}, problems
    assert "priv/python/hexpack_bridge/helpers.py: dangling symlink: no_such_module.py is not in the package" in out


def test_glob_written_as_exclude(repo, capsys):
    cache = repo / "priv/python/hexpack_bridge/__pycache__"
    cache.mkdir()
    (cache / "server.cpython-311.pyc").write_bytes(b"\x00" * 16)
    edit(repo / "mix.exs", "exclude_patterns: [~r/__pycache__/, ~r/\\.pyc$/]", 'exclude_patterns: ["**/__pycache__"]')
    code, out, data = verify(capsys, repo)
    assert code == 1
    problems = failing(data)
    assert set(problems) == {"exclude patterns", "forbidden files"}, problems
    assert 'exclude_patterns "**/__pycache__": looks like a glob' in out
    assert r"~r/(^|\/)__pycache__(\/|$)/" in out
    assert "it would remove priv/python/hexpack_bridge/__pycache__" in out


def git(root: Path, *args: str) -> None:
    import subprocess

    subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=root, check=True, capture_output=True
    )


def test_a_packaged_file_git_does_not_track_fails_with_the_fix(repo, capsys):
    """What CI ships comes from a clean checkout: an ignored or untracked packaged file would be missing."""
    require_program("git")
    code, _, data = verify(capsys, repo)
    tracked = next(g for g in data["gates"] if g["name"] == "tracked by git")
    assert (code, tracked["skipped"]) == (0, "not in a git repository")
    git(repo, "init", "-q")
    (repo / ".gitignore").write_text("grpc_server.py\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "init")
    (repo / "priv/python/hexpack_bridge/notes.txt").write_text("not committed\n")
    code, out, data = verify(capsys, repo)
    assert code == 1
    assert failing(data) == {
        "tracked by git": [
            "priv/python/grpc_server.py: packaged, but .gitignore hides it (.gitignore:1: grpc_server.py):"
            " a release from a clean checkout lacks it",
            "priv/python/hexpack_bridge/notes.txt: packaged, but git does not track it:"
            " a release from a clean checkout lacks it",
        ]
    }
    assert "track it (git add -f priv/python/grpc_server.py) or remove it from package files: in mix.exs" in out
    assert "git add priv/python/hexpack_bridge/notes.txt and commit, or remove it from package files" in out
    git(repo, "add", "-f", "priv/python/grpc_server.py", "priv/python/hexpack_bridge/notes.txt")
    code, out, data = verify(capsys, repo)
    assert code == 0, failing(data)
    assert next(g for g in data["gates"] if g["name"] == "tracked by git")["status"] == "pass"


@pytest.mark.slow
def test_this_repository_passes_with_a_smoke_test_per_python(elixir, tmp_path, capsys):
    """The repository as it is: every gate, every targeted Python, latest and floors."""
    pytest.importorskip("grpc_tools", reason="the pinned grpcio-tools is needed for stubs --check")
    from hexpack.python.pythons import targeted

    root = copy_repo(tmp_path / "hexpack")
    report = tmp_path / "report.json"
    dist_dir = tmp_path / "dist"
    code = cli.main(["verify", "--project", str(root), "--json", str(report), "--dist-dir", str(dist_dir)])
    out = capsys.readouterr().out
    data = json.loads(report.read_text())
    assert failing(data) == {}, out
    assert code == 0
    smoke = {g["name"]: g for g in data["gates"] if g["group"] == "4 smoke"}
    for version in targeted(root):
        for resolution in ("latest", "floors"):
            gate = smoke[f"python {version} {resolution}"]
            assert gate["status"] == "pass"
            assert gate["details"]["client"]["python"].startswith(version + ".")
            assert f"Python {version}." in out
    dist = {g["name"]: g["status"] for g in data["gates"] if g["group"] == "5 python dist"}
    assert set(dist.values()) == {"pass"}, dist
    assert {"hexpack: build sdist + wheel", "hexpack: contents", "hexpack: installed command"} <= set(
        g["name"] for g in data["gates"]
    )
    assert "`hexpack --version` from the installed wheel: hexpack " in out
    kept = sorted(p.name for p in dist_dir.iterdir())  # left for `hexpack release`: both distributions
    assert kept == [
        f"hexpack-{VERSION}-py3-none-any.whl",
        f"hexpack-{VERSION}.tar.gz",
        f"hexpack_bridge-{VERSION}-py3-none-any.whl",
        f"hexpack_bridge-{VERSION}.tar.gz",
    ]


def test_a_file_left_out_of_hexpacks_wheel_is_named(tmp_path):
    """The contents rule for a tool's dist, on a wheel zipped here from the source minus one data file."""
    import zipfile

    from hexpack.verify import pydist
    from hexpack.verify.settings import VerifySettings

    wheel = tmp_path / f"hexpack-{VERSION}-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        for path in sorted((REPO / "tools/hexpack").rglob("*")):
            rel = path.relative_to(REPO / "tools").as_posix()
            if path.is_file() and "__pycache__" not in rel and not rel.endswith(".template"):
                archive.write(path, rel)
    found = pydist.tool_contents(wheel, REPO, VerifySettings())
    assert [f.one_line() for f in found] == [
        "tools/hexpack/onboarding/templates/noxfile.py.template: in the package's source but not in the wheel;"
        " include it"
    ]
