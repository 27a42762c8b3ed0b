"""`hexpack assemble`: placing sources under priv/, on small projects in tmp_path.

Real files, real `hexpack assemble` subprocesses (one killed part-way with
SIGKILL), and this repository's own priv/ checked against its sources.
"""

from __future__ import annotations

import os
import shutil
import signal
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from conftest import REPO
from hexpack.cli import main
from hexpack.errors import HexpackError
from hexpack.python import assemble

CONFIG = """\
[tool.hexpack.assemble]
target = "priv"

[tool.hexpack.assemble.files]
"src/grpc_server.py" = "priv/python/grpc_server.py"
"src/mypkg" = "priv/python/mypkg"
"src/requirements.txt" = "priv/python/requirements.txt"
"src/proto" = "priv/proto"
"""
EXPECTED = [
    ".hexpack-manifest.json",
    "proto/mypkg/api.proto",
    "python/grpc_server.py",
    "python/mypkg/__init__.py",
    "python/mypkg/api_pb2.py",
    "python/mypkg/api_pb2_grpc.py",
    "python/mypkg/py.typed",
    "python/mypkg/sub/__init__.py",
    "python/mypkg/sub/helpers.py",
    "python/requirements.txt",
]


def write(path: Path, text: str | bytes, mode: int = 0o644) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    os.chmod(path, mode)
    return path


@pytest.fixture
def project(tmp_path) -> Path:
    root = tmp_path / "proj"
    write(root / "pyproject.toml", CONFIG)
    src = root / "src"
    write(src / "grpc_server.py", "#!/usr/bin/env python3\nprint('READY 0')\n", 0o755)
    write(src / "requirements.txt", "grpcio>=1.85.1\n")
    write(src / "proto/mypkg/api.proto", 'syntax = "proto3";\n')
    write(src / "mypkg/__init__.py", "__version__ = '1.0.0'\n")
    write(src / "mypkg/api_pb2.py", "# stub\n")
    write(src / "mypkg/api_pb2_grpc.py", "# stub\n")
    write(src / "mypkg/py.typed", "")
    write(src / "mypkg/sub/__init__.py", "")
    write(src / "mypkg/sub/helpers.py", "X = 1\n")
    # never placed: tests, caches, bytecode, editor and build leftovers
    for junk in (
        "mypkg/tests/test_api.py",
        "mypkg/test_helpers.py",
        "mypkg/conftest.py",
        "mypkg/__pycache__/__init__.cpython-311.pyc",
        "mypkg/sub/helpers.pyc",
        "mypkg/sub/helpers.py~",
        "mypkg/.helpers.py.swp",
        "mypkg/.#helpers.py",
        "mypkg/.DS_Store",
        "mypkg/.pytest_cache/v/cache/lastfailed",
        "mypkg/mypkg.egg-info/PKG-INFO",
        "proto/.api.proto.swp",
    ):
        write(src / junk, "junk\n")
    return root


def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root``: type, mode bits, bytes (files) or target (links)."""
    found = {}
    for path in sorted(root.rglob("*")):
        st = path.lstat()
        rel = path.relative_to(root).as_posix()
        if stat.S_ISLNK(st.st_mode):
            found[rel] = ("link", os.readlink(path))
        elif stat.S_ISDIR(st.st_mode):
            found[rel] = ("dir", stat.S_IMODE(st.st_mode))
        else:
            found[rel] = ("file", stat.S_IMODE(st.st_mode), path.read_bytes())
    return found


def identities(root: Path) -> dict[str, tuple[int, int]]:
    return {p.relative_to(root).as_posix(): (p.lstat().st_ino, p.lstat().st_mtime_ns) for p in root.rglob("*")}


def files(root: Path) -> list[str]:
    return sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file())


def hexpack(*argv: str, capsys) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def add_unrelated(root: Path) -> None:
    """Files in priv/ that hexpack does not own."""
    write(root / "priv/native/libthing.so", b"\x7fELF\x00binary", 0o755)
    write(root / "priv/python/unrelated.py", "# someone else's\n", 0o600)
    write(root / "priv/static/app.css", "body{}\n")
    os.symlink("../static/app.css", root / "priv/native/link.css")


# ----------------------------------------------------------------------------- placing


def test_assemble_places_exactly_the_mapped_files_with_modes(project, capsys):
    code, out, err = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert (code, err) == (0, "")
    assert "priv/ assembled: 9 placed, 0 removed" in out
    assert files(project / "priv") == EXPECTED
    priv = project / "priv"
    assert stat.S_IMODE((priv / "python/grpc_server.py").stat().st_mode) == 0o755
    assert stat.S_IMODE((priv / "python/mypkg/sub/helpers.py").stat().st_mode) == 0o644
    assert (priv / "python/mypkg/__init__.py").read_text() == "__version__ = '1.0.0'\n"
    manifest = (priv / ".hexpack-manifest.json").read_text()
    assert '"python/grpc_server.py"' in manifest and "tests" not in manifest
    assert not [p for p in project.iterdir() if p.name.startswith(".priv")]  # no staging leftovers


def test_second_run_changes_nothing_and_check_passes(project, capsys):
    add_unrelated(project)
    assert hexpack("assemble", "--root", str(project), capsys=capsys)[0] == 0
    before, ids = snapshot(project / "priv"), identities(project / "priv")
    code, out, err = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert (code, err) == (0, "")
    assert "priv/ up to date (9 files); nothing written" in out
    assert snapshot(project / "priv") == before
    assert identities(project / "priv") == ids  # no rewrite: same inodes, same mtimes
    code, out, err = hexpack("assemble", "--root", str(project), "--check", capsys=capsys)
    assert (code, out.strip(), err) == (0, "priv/ up to date", "")


def test_unrelated_files_in_priv_are_never_touched(project, capsys):
    add_unrelated(project)
    priv = project / "priv"
    mine = ["native/libthing.so", "native/link.css", "python/unrelated.py", "static/app.css"]
    before = {rel: (snapshot(priv)[rel], identities(priv)[rel]) for rel in mine}
    # first run, a change, a removal: the unrelated files stay the very same files
    hexpack("assemble", "--root", str(project), capsys=capsys)
    (project / "src/mypkg/sub/helpers.py").write_text("X = 2\n")
    (project / "src/mypkg/py.typed").unlink()
    assert hexpack("assemble", "--root", str(project), capsys=capsys)[0] == 0
    after = {rel: (snapshot(priv)[rel], identities(priv)[rel]) for rel in mine}
    assert after == before
    assert (priv / "python/mypkg/sub/helpers.py").read_text() == "X = 2\n"


def test_removing_a_source_removes_its_copy(project, capsys):
    add_unrelated(project)
    hexpack("assemble", "--root", str(project), capsys=capsys)
    shutil.rmtree(project / "src/mypkg/sub")
    (project / "src/requirements.txt").unlink()
    (project / "pyproject.toml").write_text(
        CONFIG.replace('"src/requirements.txt" = "priv/python/requirements.txt"\n', "")
    )
    code, _, err = hexpack("assemble", "--root", str(project), "--check", capsys=capsys)
    assert code == 1
    assert "priv/python/mypkg/sub/helpers.py: stale: placed before, its source is gone" in err
    assert "priv/python/requirements.txt: stale: placed before, its source is gone" in err
    code, out, _ = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert code == 0
    assert "removed priv/python/mypkg/sub/helpers.py (its source is gone)" in out
    remaining = files(project / "priv")
    assert "python/mypkg/sub/helpers.py" not in remaining and "python/requirements.txt" not in remaining
    assert not (project / "priv/python/mypkg/sub").exists()  # the emptied directory goes too
    assert "python/unrelated.py" in remaining and "native/libthing.so" in remaining
    assert hexpack("assemble", "--root", str(project), "--check", capsys=capsys)[0] == 0


def test_check_lists_every_difference_and_changes_nothing(project, capsys):
    hexpack("assemble", "--root", str(project), capsys=capsys)
    priv = project / "priv"
    (priv / "python/mypkg/__init__.py").write_text("edited\n")
    os.chmod(priv / "python/grpc_server.py", 0o644)
    (priv / "proto/mypkg/api.proto").unlink()
    before = snapshot(priv)
    code, _, err = hexpack("assemble", "--root", str(project), "--check", capsys=capsys)
    assert code == 1
    assert "priv/python/mypkg/__init__.py: differs from src/mypkg/__init__.py" in err
    assert "priv/python/grpc_server.py: mode differs from src/grpc_server.py" in err
    assert "priv/proto/mypkg/api.proto: missing" in err
    assert "3 difference(s); run `hexpack assemble` and commit priv/" in err
    assert snapshot(priv) == before
    hexpack("assemble", "--root", str(project), capsys=capsys)
    assert stat.S_IMODE((priv / "python/grpc_server.py").stat().st_mode) == 0o755
    assert hexpack("assemble", "--root", str(project), "--check", capsys=capsys)[0] == 0


def test_mapping_problems_are_reported_together(project):
    (project / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [tool.hexpack.assemble.files]
            "src/missing.py" = "priv/python/missing.py"
            "src/grpc_server.py" = "lib/grpc_server.py"
            "src/requirements.txt" = "priv/../../elsewhere.txt"
            """
        )
    )
    with pytest.raises(HexpackError) as info:
        assemble.assemble(project)
    text = str(info.value)
    assert "files target 'lib/grpc_server.py' is not inside priv/" in text
    assert "files = 'priv/../../elsewhere.txt' leaves the project" in text
    (project / "pyproject.toml").write_text('[tool.hexpack.assemble.files]\n"src/missing.py" = "priv/python/x.py"\n')
    with pytest.raises(HexpackError, match="src/missing.py: source not found"):
        assemble.assemble(project)


@pytest.mark.parametrize(
    ("settings", "problem"),
    [
        ('target = "."', "target must be a directory below the project root, not the root"),
        ('target = "/tmp"', "target = '/tmp' leaves the project"),
        (
            '[tool.hexpack.assemble.files]\n"elsewhere/x.py" = "priv/x.py"',
            "files = 'elsewhere/x.py' leaves the project",
        ),
    ],
)
def test_the_target_and_every_source_stay_inside_the_project(project, tmp_path, settings, problem):
    (tmp_path / "outside").mkdir()
    (project / "elsewhere").symlink_to(tmp_path / "outside")  # inside by name, outside by link
    (project / "pyproject.toml").write_text(f"[tool.hexpack.assemble]\n{settings}\n")
    with pytest.raises(HexpackError) as caught:
        assemble.assemble(project)
    assert caught.value.what == problem


def test_every_settings_problem_is_reported_at_once(project, capsys):
    settings = '[tool.hexpack.assemble]\ntarget = 7\ntargett = "priv"\n[tool.hexpack.assemble.files]\n"src" = 3\n'
    (project / "pyproject.toml").write_text(settings)
    code, _, err = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert code == 1 and "Traceback" not in err
    table = f"error: {project / 'pyproject.toml'} [tool.hexpack.assemble]:"
    assert err.splitlines() == [
        f"{table} unknown setting(s) targett (did you mean target?); known settings: exclude, files, target",
        f'{table} target must be a directory path such as "priv", got 7; write e.g. target = "priv"',
        f"{table} files must be a table of paths (source = target), got {{'src': 3}};"
        ' write e.g. files = { "priv_python/x.py" = "priv/python/x.py" }',
    ]


@pytest.mark.parametrize("in_the_way", ["priv", "priv/python/mypkg", "priv/.hexpack-manifest.json"])
def test_something_in_the_way_is_one_line_per_path_and_changes_nothing(project, capsys, in_the_way):
    assert hexpack("assemble", "--root", str(project), capsys=capsys)[0] == 0
    path = project / in_the_way
    shutil.rmtree(path) if path.is_dir() else path.unlink()
    path.mkdir() if in_the_way.endswith(".json") else path.write_text("in the way")
    before = snapshot(project)
    code, _, err = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert len(err.splitlines()) == 1, err  # one line, not one per placed file below it
    assert in_the_way.rsplit("/", 1)[-1] in err
    assert snapshot(project) == before


def test_links_and_special_files_in_a_source_are_named_not_silently_dropped(project, capsys):
    mypkg = project / "src" / "mypkg"
    (mypkg / "loop").symlink_to(".")
    (mypkg / "dangling.py").symlink_to("nowhere.py")
    os.mkfifo(mypkg / "pipe")
    (mypkg / "to_file.py").symlink_to("__init__.py")  # a link to a file is placed as that file
    before = snapshot(project / "priv")  # not the sources: reading the FIFO would block
    code, _, err = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert err.splitlines() == [
        "error: src/mypkg/loop: is a symbolic link to a directory; hexpack assemble places regular files only;"
        " replace or remove it, or add 'loop' to exclude in [tool.hexpack.assemble]",
        "error: src/mypkg/dangling.py: is a dangling or looping symbolic link; hexpack assemble places regular files"
        " only; replace or remove it, or add 'dangling.py' to exclude in [tool.hexpack.assemble]",
        "error: src/mypkg/pipe: is not a regular file (a FIFO, socket or device); hexpack assemble places regular files"
        " only; replace or remove it, or add 'pipe' to exclude in [tool.hexpack.assemble]",
    ]
    assert snapshot(project / "priv") == before
    config = (project / "pyproject.toml").read_text()
    config = config.replace('target = "priv"', 'target = "priv"\nexclude = ["loop", "dangling.py", "pipe"]')
    (project / "pyproject.toml").write_text(config)
    assert hexpack("assemble", "--root", str(project), capsys=capsys)[0] == 0
    assert (project / "priv/python/mypkg/to_file.py").read_text() == (mypkg / "__init__.py").read_text()


def test_a_link_leaving_its_source_is_refused_not_copied(project, tmp_path, capsys):
    """A link to a secret outside (``/etc/shadow`` in the issue) must not put the secret in priv/."""
    secret = tmp_path / "outside" / "shadow"
    write(secret, "root:$6$secret\n")
    mypkg = project / "src" / "mypkg"
    (mypkg / "shadow").symlink_to(secret)
    (mypkg / "up.py").symlink_to("../../pyproject.toml")  # inside the project, but outside the source
    before = snapshot(project / "priv")
    code, _, err = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert code == 1 and "Traceback" not in err
    assert f"error: src/mypkg/shadow: is a symbolic link to {secret}, outside src/mypkg;" in err
    assert "error: src/mypkg/up.py: is a symbolic link to ../../pyproject.toml, outside src/mypkg;" in err
    assert snapshot(project / "priv") == before
    assert "$6$secret" not in "".join(p.read_text() for p in (project / "priv").rglob("*") if p.is_file())


# ----------------------------------------------------------------------------- all or nothing


def test_a_failing_run_leaves_priv_exactly_as_before(project, capsys):
    add_unrelated(project)
    hexpack("assemble", "--root", str(project), capsys=capsys)
    (project / "src/mypkg/sub/helpers.py").write_text("X = 3\n")
    (project / "src/mypkg/py.typed").unlink()
    before = snapshot(project / "priv")
    for phase in ("stage", "swap"):

        def fail(at: str, phase: str = phase) -> None:
            if at == phase:
                raise OSError(f"injected failure at {at}")

        with pytest.raises(HexpackError, match=r"^priv: cannot assemble: injected failure at \w+; it was left as it"):
            assemble.assemble(project, on_phase=fail)
        assert snapshot(project / "priv") == before
        assert not [p for p in project.iterdir() if p.name.startswith(".priv")]


def test_a_read_only_file_system_is_one_line(project, capsys, monkeypatch):
    def read_only(*args, **kwargs):
        raise OSError(30, "Read-only file system")

    monkeypatch.setattr(assemble.tempfile, "mkdtemp", read_only)
    code, _, err = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert (code, err) == (
        1,
        "error: priv: cannot create the new tree beside it: Read-only file system; nothing was changed\n",
    )


@pytest.mark.interpreter_independent  # SIGKILL of a real run, as in test_fault_injection
@pytest.mark.parametrize("phase", ["stage", "swap"])
def test_a_killed_run_leaves_priv_exactly_as_before(project, capsys, tmp_path, phase):
    add_unrelated(project)
    hexpack("assemble", "--root", str(project), capsys=capsys)
    (project / "src/mypkg/sub/helpers.py").write_text("X = 4\n")
    write(project / "src/mypkg/new_module.py", "Y = 1\n")
    (project / "src/mypkg/py.typed").unlink()
    before = snapshot(project / "priv")
    flag = tmp_path / "paused"
    env = dict(os.environ, HEXPACK_TEST_ASSEMBLE_PAUSE=f"{phase}={flag}")
    child = subprocess.Popen(
        [sys.executable, "-m", "hexpack", "assemble", "--root", str(project)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while not flag.exists():
            assert child.poll() is None, child.communicate()
            assert time.monotonic() < deadline, "hexpack assemble never reached the pause"
            time.sleep(0.02)
        staged = [p for p in project.iterdir() if p.name.startswith(".priv.hexpack-stage-")]
        assert staged and (staged[0] / "python/mypkg/new_module.py").exists()  # it really was part-way
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.communicate()
    assert child.returncode == -signal.SIGKILL
    assert snapshot(project / "priv") == before
    # the next run cleans up the leftover staging directory and completes
    code, out, _ = hexpack("assemble", "--root", str(project), capsys=capsys)
    assert code == 0 and "removed priv/python/mypkg/py.typed" in out
    assert not [p for p in project.iterdir() if p.name.startswith(".priv")]
    assert (project / "priv/python/mypkg/new_module.py").read_text() == "Y = 1\n"
    assert hexpack("assemble", "--root", str(project), "--check", capsys=capsys)[0] == 0


def test_fallback_swap_without_renameat2_and_recovery(project, capsys, monkeypatch):
    add_unrelated(project)
    hexpack("assemble", "--root", str(project), capsys=capsys)
    (project / "src/mypkg/sub/helpers.py").write_text("X = 5\n")
    monkeypatch.setattr(assemble.sys, "platform", "darwin")  # takes the two-rename path
    assert assemble.assemble(project).changed
    assert (project / "priv/python/mypkg/sub/helpers.py").read_text() == "X = 5\n"
    assert (project / "priv/native/libthing.so").read_bytes() == b"\x7fELF\x00binary"
    # a crash between the two renames leaves priv/ absent and the old tree beside it: recovered
    before = snapshot(project / "priv")
    os.rename(project / "priv", project / ".priv.hexpack-old-crashed")
    assemble.recover(assemble.load_settings(project))
    assert snapshot(project / "priv") == before


# ----------------------------------------------------------------------------- this repository


def repo_copy(tmp_path: Path) -> Path:
    """This repository's sources as a fresh clone has them (no priv/)."""
    root = tmp_path / "clone"
    root.mkdir()
    shutil.copy2(REPO / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(
        REPO / "priv_python",
        root / "priv_python",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".pytest_cache", "*.egg-info"),
    )
    return root


@pytest.mark.interpreter_independent
@pytest.mark.skipif(not (REPO / "priv_python").is_dir(), reason="priv_python/ is not in this checkout yet")
def test_this_repository_priv_is_what_assembling_produces(capsys):
    code, _, err = hexpack("assemble", "--root", str(REPO), "--check", capsys=capsys)
    assert code == 0, f"priv/ is stale; run `nox -s stubs assemble` and commit priv/:\n{err}"


@pytest.mark.interpreter_independent
@pytest.mark.skipif(not (REPO / "priv_python").is_dir(), reason="priv_python/ is not in this checkout yet")
def test_this_repository_from_a_clean_tree_assembles_and_serves(tmp_path, capsys):
    root = repo_copy(tmp_path)
    code, _, err = hexpack("assemble", "--root", str(root), capsys=capsys)
    assert (code, err) == (0, "")
    assert hexpack("assemble", "--root", str(root), "--check", capsys=capsys)[0] == 0
    source_mode = (root / "priv_python/grpc_server.py").stat().st_mode
    placed_mode = (root / "priv/python/grpc_server.py").stat().st_mode
    assert bool(placed_mode & stat.S_IXUSR) == bool(source_mode & stat.S_IXUSR)
    server = subprocess.Popen(
        [sys.executable, str(root / "priv/python/grpc_server.py"), "--port", "0"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"},
    )
    try:
        line = server.stdout.readline()
        assert line.startswith("READY "), (line, server.stderr.read() if server.poll() is not None else "")
        assert int(line.split()[1]) > 0
    finally:
        server.send_signal(signal.SIGTERM)
        server.communicate(timeout=10)
    assert server.returncode == 0
