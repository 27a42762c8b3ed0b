"""Repository writes under SIGKILL and concurrency: every file fully old or fully new, nothing lost.

Real `hexpack bump` and `hexpack assemble` subprocesses are killed by
SIGKILL at every durable step of their writes (the ``HEXPACK_TEST_KILL_AT``
seam in ``fsutil.fault_point``); the next run must leave the tree exactly as
before or exactly as a complete run leaves it, with no temporary file or
staging directory left over. Two runs at once must serialize through the
project lock. The exhaustive kill loops fork their runs from one process that
imported hexpack once (``Forked``); the single kills run `python -m hexpack`.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

# SIGKILL of real hexpack processes and two runs racing for the lock: what the kernel does to the files, the same
# whatever Python runs hexpack; the transaction code itself runs on every Python in test_fsutil, test_bump and
# test_assemble
pytestmark = pytest.mark.interpreter_independent

GOLDEN = Path(__file__).parent / "golden"
DATE = "2026-11-22"
LEFTOVER_MARKERS = (".hexpack-tmp", ".hexpack-stage-", ".hexpack-old-")


def hexpack(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "hexpack", *argv], capture_output=True, text=True, env=env, timeout=120
    )


class Forked:
    """``hexpack ARGS`` runs, each a child forked from one server process that imported every hexpack module.

    Each run is still its own process: ``hexpack.cli.main`` with its own environment, its output in
    files, killed by the seam's real SIGKILL, and its exit status read by ``waitpid``. Only the
    start-up is shared: about 0.15 s of CPU for Python and hexpack's imports, some fifty times per
    exhaustive test. (Forking is safe here: the server has no threads.)
    """

    SERVER = """\
import json, os, pkgutil, sys, traceback, importlib
import hexpack
from hexpack import cli
for module in pkgutil.walk_packages(hexpack.__path__, "hexpack."):
    if not module.name.endswith("__main__"):
        importlib.import_module(module.name)
for line in sys.stdin:
    request = json.loads(line)
    pid = os.fork()
    if pid == 0:
        code = 70
        try:
            os.environ.clear()
            os.environ.update(request["env"])
            for fd, path in ((1, request["out"]), (2, request["err"])):
                os.dup2(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), fd)
            code = cli.main(request["argv"])
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException:
            traceback.print_exc()
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(code)
    print(json.dumps(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])), flush=True)
"""

    def __init__(self, scratch: Path):
        self.scratch = scratch
        self.server = subprocess.Popen(
            [sys.executable, "-c", self.SERVER], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def __call__(self, *argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        import json

        out, err = self.scratch / "out", self.scratch / "err"
        request = {
            "argv": list(argv),
            "env": dict(os.environ if env is None else env),
            "out": str(out),
            "err": str(err),
        }
        assert self.server.stdin is not None and self.server.stdout is not None
        self.server.stdin.write(json.dumps(request) + "\n")
        self.server.stdin.flush()
        status = json.loads(self.server.stdout.readline())
        return subprocess.CompletedProcess(argv, status, out.read_text(), err.read_text())

    def close(self) -> None:
        self.server.communicate(timeout=60)  # closes its stdin: the server's loop ends


def tree(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` but hexpack's lock directory and leftovers: links, modes, bytes."""
    found = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".hexpack" or rel.startswith(".hexpack/") or any(m in rel for m in LEFTOVER_MARKERS):
            continue
        if path.is_symlink():
            found[rel] = ("link", os.readlink(path))
        elif path.is_dir():
            found[rel] = ("dir",)
        else:
            found[rel] = ("file", path.stat().st_mode & 0o777, path.read_bytes())
    return found


def leftovers(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if any(m in p.name for m in LEFTOVER_MARKERS))


@dataclass
class KillReport:
    steps: int = 0  # kill points tried
    partial_at_kill: list[str] = field(default_factory=list)  # neither old nor new right after the kill
    partial_after: list[str] = field(default_factory=list)  # ... after the next run, or leftovers kept


def kill_at_every_step(make: Callable[[Path], Path], run: list[str], recover: list[str], tmp_path: Path) -> KillReport:
    """Kill ``run`` at step 1, 2, ... until it completes, each time on a fresh ``make``d tree.

    Right after the kill only a single atomic exchange (assemble's) can be
    whole; several files (bump) are made whole by the next run
    (``recover``), which must also remove every leftover.
    (benchmarks/fault_injection.py prints these figures.)
    """
    hexpack = Forked(tmp_path)
    try:
        return _kill_at_every_step(make, run, recover, tmp_path, hexpack)
    finally:
        hexpack.close()


def _kill_at_every_step(
    make: Callable[[Path], Path], run: list[str], recover: list[str], tmp_path: Path, hexpack: Forked
) -> KillReport:
    before_root = make(tmp_path / "before")
    after_root = make(tmp_path / "after")
    done = hexpack(*run, "--root", str(after_root))
    assert done.returncode == 0, done.stderr
    before, after = tree(before_root), tree(after_root)
    assert before != after
    report = KillReport()
    while True:
        step = report.steps + 1
        assert step < 200, "the run never completed"
        root = make(tmp_path / f"kill-{step}")
        killed = hexpack(*run, "--root", str(root), env=dict(os.environ, HEXPACK_TEST_KILL_AT=str(step)))
        if killed.returncode == 0:
            return report
        assert killed.returncode == -9, killed.stderr
        report.steps = step
        if tree(root) not in (before, after):  # what a reader sees until the next run
            report.partial_at_kill.append(f"step {step}")
        finished = hexpack(*recover, "--root", str(root))  # the next run finishes or undoes the write
        assert finished.returncode == 0, finished.stderr
        if tree(root) not in (before, after) or leftovers(root) or (root / ".hexpack" / "journal.json").exists():
            report.partial_after.append(f"step {step}: {leftovers(root)}")
        shutil.rmtree(root)


def at_once(argvs: list[list[str]]) -> list[tuple[int, str, str]]:
    """Start every command at the same moment; (exit status, stdout, stderr) of each."""
    runs = [subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for argv in argvs]
    outputs = [run.communicate(timeout=120) for run in runs]
    return [(run.returncode, out, err) for run, (out, err) in zip(runs, outputs, strict=True)]


# --------------------------------------------------------------------------- bump


def snakepit_copy(target: Path) -> Path:
    shutil.copytree(GOLDEN / "snakepit_style" / "input", target, symlinks=True)
    return target


@pytest.mark.slow
def test_bump_killed_at_every_write_leaves_every_file_fully_old_or_fully_new(tmp_path):
    report = kill_at_every_step(snakepit_copy, ["bump", "minor", "--date", DATE], ["version"], tmp_path)
    assert report.steps >= 14  # the journal twice, six temporary files, six renames, the journal's removal
    assert report.partial_after == []  # (right after a kill several files can be part-way: the journal says how)


def test_a_killed_bump_is_finished_by_the_next_version_command_and_says_so(tmp_path):
    root = snakepit_copy(tmp_path / "p")
    # step 9: the journal is committed and the first file renamed; the others are not yet
    killed = hexpack(
        "bump", "minor", "--date", DATE, "--root", str(root), env=dict(os.environ, HEXPACK_TEST_KILL_AT="9")
    )
    assert killed.returncode == -9
    assert "0.7.0" in (root / "mix.exs").read_text() and "## [0.7.0]" not in (root / "CHANGELOG.md").read_text()
    shown = hexpack("version", "--root", str(root))
    assert shown.returncode == 0, shown.stderr
    assert shown.stderr.startswith("warning: finished the interrupted write of 6 file(s) (now fully new)")
    assert "## [0.7.0] - 2026-11-22" in (root / "CHANGELOG.md").read_text()
    assert leftovers(root) == []


@pytest.fixture(scope="module")
def changed_stubs_project(tmp_path_factory) -> Path:
    """test_stubs' package layout, its stubs generated, then one proto changed: `hexpack stubs` rewrites all nine."""
    from hexpack.python import stubs
    from test_stubs import TYPES, package_layout, require_toolchain

    require_toolchain()
    root = package_layout(tmp_path_factory.mktemp("stubs") / "project")
    assert not stubs.generate(root).skipped
    (root / "priv_python/proto/demo/types.proto").write_text(TYPES.replace("LOUD = 1;", "LOUD = 1; QUIET = 2;"))
    return root


def test_stubs_killed_between_renames_are_finished_by_the_next_check_and_it_says_so(changed_stubs_project, tmp_path):
    """A mix of old and new stubs would pass for neither; `stubs --check` first finishes the killed run's write.

    (Every kill point of the journaled write itself is covered by the bump test above; this one proves
    `hexpack stubs` writes through it and `stubs --check` reads only whole sets.)
    """
    from hexpack.python import stubs

    root = Path(shutil.copytree(changed_stubs_project, tmp_path / "p"))
    settings = stubs.load_settings(root)
    new = stubs.fingerprint(settings, stubs.find_protos(settings))

    def renewed() -> list[bool]:  # the proto's change is in every stub's fingerprint header
        return [stubs.file_fingerprint(path) == new for path in stubs.owned_stubs(settings.out)]

    assert renewed() == [False] * 9
    # step 12: nine temporary files (2-10) between the journal's two saves (1, 11), then the first stub renamed
    killed = hexpack("stubs", "--root", str(root), env=dict(os.environ, HEXPACK_TEST_KILL_AT="12"))
    assert killed.returncode == -9, killed.stderr
    assert sorted(renewed()) == [False] * 8 + [True]  # what a reader without the journal would judge
    checked = hexpack("stubs", "--check", "--root", str(root))
    assert checked.returncode == 0, checked.stderr
    assert checked.stderr.startswith("warning: finished the interrupted write of 9 file(s) (now fully new)")
    assert renewed() == [True] * 9
    assert "QUIET" in (root / "priv_python/demo/types_pb2.pyi").read_text()
    assert leftovers(root) == []


def test_two_bumps_at_once_run_one_after_the_other(tmp_path):
    root = snakepit_copy(tmp_path / "p")
    argv = [sys.executable, "-m", "hexpack", "bump", "--root", str(root), "--date", DATE]
    results = at_once([[*argv, "minor"], [*argv, "patch"]])
    codes = sorted(code for code, _, _ in results)
    # the first releases [Unreleased]; the second, run after it, finds it empty and refuses in one line
    assert codes == [0, 1], results
    refused = next(err for code, _, err in results if code == 1)
    assert refused.count("\n") == 1 and "[Unreleased] section has no entries" in refused
    shown = hexpack("version", "--root", str(root))
    assert shown.returncode == 0 and shown.stdout.split()[1] in ("0.7.0", "0.6.2")
    assert f"## [{shown.stdout.split()[1]}] - {DATE}" in (root / "CHANGELOG.md").read_text()


def test_a_symlinked_place_is_edited_through_the_link(tmp_path):
    root = snakepit_copy(tmp_path / "p")
    (root / "docs").mkdir()
    (root / "README.md").rename(root / "docs" / "README.md")
    (root / "README.md").symlink_to("docs/README.md")
    done = hexpack("bump", "minor", "--date", DATE, "--root", str(root))
    assert done.returncode == 0, done.stderr
    assert os.readlink(root / "README.md") == "docs/README.md"
    assert '"~> 0.7.0"' in (root / "docs" / "README.md").read_text()
    assert hexpack("version", "--root", str(root)).returncode == 0


def test_a_place_linked_outside_the_project_is_refused(tmp_path):
    root = snakepit_copy(tmp_path / "p")
    outside = tmp_path / "elsewhere.md"
    (root / "README.md").rename(outside)
    (root / "README.md").symlink_to(outside)
    before = outside.read_bytes()
    done = hexpack("bump", "minor", "--date", DATE, "--root", str(root))
    assert done.returncode == 1
    assert f"is a symbolic link to {outside}, outside the project" in done.stderr
    assert outside.read_bytes() == before and "0.6.1" in (root / "mix.exs").read_text()


# --------------------------------------------------------------------------- assemble

ASSEMBLE_CONFIG = (
    '[tool.hexpack.assemble.files]\n"src/grpc_server.py" = "priv/python/grpc_server.py"\n'
    '"src/pkg" = "priv/python/pkg"\n'
)


def assemble_project(target: Path, *, user_files: int = 5) -> Path:
    """A project assembled once, then with a source changed, one added and one removed; user files in priv/."""
    (target / "src" / "pkg").mkdir(parents=True)
    (target / "pyproject.toml").write_text(ASSEMBLE_CONFIG)
    (target / "src" / "grpc_server.py").write_text("print('READY 0')\n")
    for name in ("a", "b", "gone"):
        (target / "src" / "pkg" / f"{name}.py").write_text(f"{name} = 1\n")
    done = hexpack("assemble", "--root", str(target))
    assert done.returncode == 0, done.stderr
    (target / "priv" / "native").mkdir()
    for index in range(user_files):
        (target / "priv" / "native" / f"user-{index}.so").write_bytes(b"\x7fELF user %d" % index)
    (target / "src" / "pkg" / "a.py").write_text("a = 2\n")
    (target / "src" / "pkg" / "new.py").write_text("new = 1\n")
    (target / "src" / "pkg" / "gone.py").unlink()
    return target


@pytest.mark.slow
def test_assemble_killed_at_every_write_leaves_priv_fully_old_or_fully_new(tmp_path):
    report = kill_at_every_step(assemble_project, ["assemble"], ["assemble"], tmp_path)
    assert report.steps >= 5  # the mirrored tree, two placed files, the staged tree complete, the exchange
    assert report.partial_at_kill == [] and report.partial_after == []


def test_two_assembles_at_once_never_lose_user_files(tmp_path):
    root = assemble_project(tmp_path / "p", user_files=300)
    users = {p.name: p.read_bytes() for p in (root / "priv" / "native").iterdir()}
    results = at_once([[sys.executable, "-m", "hexpack", "assemble", "--root", str(root)]] * 3)
    assert [code for code, _, _ in results] == [0, 0, 0], results
    assert sum("assembled:" in out for _, out, _ in results) == 1  # one did the work, the others found it done
    assert {p.name: p.read_bytes() for p in (root / "priv" / "native").iterdir()} == users
    assert (root / "priv" / "python" / "pkg" / "new.py").exists() and leftovers(root) == []


def test_recovery_leaves_a_live_runs_staging_directory_alone(tmp_path):
    from hexpack.python import assemble

    root = assemble_project(tmp_path / "p")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = root / f".priv.hexpack-stage-{sleeper.pid}-abc123"
        dead = root / ".priv.hexpack-stage-999999999-abc123"  # no such process
        for staging in (live, dead):
            (staging / "python").mkdir(parents=True)
        assemble.recover(assemble.load_settings(root))
        assert live.exists() and not dead.exists()
    finally:
        sleeper.kill()
        sleeper.wait()
    assemble.recover(assemble.load_settings(root))
    assert not live.exists()


def test_a_read_only_priv_is_assembled_and_leaves_no_staging_directory(tmp_path):
    root = assemble_project(tmp_path / "p")
    for directory in (root / "priv" / "python" / "pkg", root / "priv" / "python", root / "priv"):
        directory.chmod(0o555)
    try:
        done = hexpack("assemble", "--root", str(root))
        assert done.returncode == 0, done.stderr
        assert (root / "priv" / "python" / "pkg" / "new.py").read_text() == "new = 1\n"
        assert (root / "priv").stat().st_mode & 0o777 == 0o555  # its mode is kept
        assert (root / "priv" / "python" / "pkg").stat().st_mode & 0o777 == 0o555
        assert leftovers(root) == []
    finally:
        for directory in root.rglob("*"):
            if directory.is_dir():
                directory.chmod(0o755)
        (root / "priv").chmod(0o755)
