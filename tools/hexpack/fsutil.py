"""Writing a project's files so that a failed, killed or concurrent run leaves nothing half-done.

* ``atomic_write_bytes``: one file, through a temporary file beside it and a rename.
* ``project_lock``: one writing hexpack run per project at a time. An
  ``flock`` on ``hexpack/lock`` in the project's git directory (or in
  ``.hexpack/`` outside git), never a tracked file. A second run waits a few
  seconds, then refuses with one line naming the holder. The kernel drops
  the lock when its holder dies, so a killed run never blocks the next one.
* ``FileTransaction``: several files all or nothing, even under SIGKILL. The
  new contents go to temporary files beside their targets, listed (with the
  old contents) in a journal next to the lock; the journal is marked
  committed, then every temporary file is renamed over its target. Whoever
  takes the lock next finds an unfinished journal and rolls it forward (it
  was committed) or back (it was not), so every file is fully old or fully
  new and no temporary file is left. A symbolic link is written through: the
  file it points to gets the new content and the link stays a link.
"""

from __future__ import annotations

import contextlib
import os
import stat
import time
from _thread import get_ident  # threading's own, without loading threading (start-up time)
from collections.abc import Callable, Iterator, Mapping

from .digest import sha256
from .errors import HexpackError, ProjectError, raise_together
from .records import Record

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from pathlib import Path

__all__ = [
    "FileTransaction",
    "ProjectLock",
    "atomic_write_bytes",
    "atomic_write_text",
    "fault_point",
    "finish_interrupted_write",
    "pid_alive",
    "project_lock",
    "read_utf8",
    "recover",
    "remove_tree",
    "state_dir",
    "user_cache_dir",
]

# Test seam for fault injection: HEXPACK_TEST_KILL_AT=N makes the run SIGKILL itself at the
# Nth durable step of a write (a temporary file written, the journal written, a rename done).
_KILL_AT_ENV = "HEXPACK_TEST_KILL_AT"
_steps_done = 0
# How long a second run waits for the project lock before refusing (seconds).
LOCK_WAIT_ENV = "HEXPACK_LOCK_WAIT"
LOCK_WAIT_SECONDS = 10.0
JOURNAL = "journal.json"
TMP_SUFFIX = ".hexpack-tmp"


def fault_point() -> None:
    """Count one durable step; under ``HEXPACK_TEST_KILL_AT=N`` die by SIGKILL at the Nth."""
    global _steps_done
    wanted = os.environ.get(_KILL_AT_ENV, "")
    if not wanted.isdigit():
        return
    _steps_done += 1
    if _steps_done == int(wanted):
        import signal  # lazy: start-up time

        os.kill(os.getpid(), signal.SIGKILL)


def _write_new_file(path: str | os.PathLike[str], data: bytes, mode: int) -> None:
    """Create ``path`` (which must not exist) holding ``data``, flushed to disk."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(path, mode)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(path)
        raise


def _temp_beside(target: str | os.PathLike[str]) -> str:
    parent, name = os.path.split(os.fspath(target))
    return os.path.join(parent, f".{name}.{os.getpid()}-{os.urandom(4).hex()}{TMP_SUFFIX}")


def _mode_of(target: str | os.PathLike[str], default: int = 0o644) -> int:
    try:
        return stat.S_IMODE(os.stat(target).st_mode)
    except FileNotFoundError:
        return default


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename.

    The file keeps its existing permission bits unless ``mode`` is given. A
    symbolic link is written through (its target changes, the link stays).
    """
    target = os.path.realpath(path)
    tmp = _temp_beside(target)
    _write_new_file(tmp, data, _mode_of(target) if mode is None else mode)
    try:
        fault_point()
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


def remove_tree(path: Path) -> bool:
    """Delete ``path`` and everything below it, read-only directories included; True when it is gone.

    ``shutil.rmtree`` cannot empty a directory without write permission, so
    a staging directory copied from a read-only ``priv/`` would stay forever.
    """
    # lazy: every command imports fsutil; only removing a tree needs shutil
    import shutil

    if not os.path.lexists(path):
        return True
    if os.path.islink(path) or not os.path.isdir(path):
        with contextlib.suppress(OSError):
            os.unlink(path)
        return not os.path.lexists(path)
    with contextlib.suppress(OSError):
        os.chmod(path, 0o700)
    for dirpath, dirnames, _files in os.walk(path):
        for name in dirnames:
            child = os.path.join(dirpath, name)
            if not os.path.islink(child):
                with contextlib.suppress(OSError):
                    os.chmod(child, 0o700)
    shutil.rmtree(path, ignore_errors=True)
    return not os.path.lexists(path)


def user_cache_dir(*names: str) -> Path:
    """``$XDG_CACHE_HOME/hexpack/<names>`` (``~/.cache`` when it is unset): caches every project shares."""
    from pathlib import Path  # lazy: fsutil loads without pathlib, for hexpack build's start-up

    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "hexpack", *names)


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists (a leftover's owner is still running)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ----------------------------------------------------------------------------- the project lock


def state_dir(root: str | os.PathLike[str]) -> Path:
    """Where hexpack keeps its lock and journal for the project at ``root``: never a tracked path.

    ``<git dir>/hexpack`` when ``root`` is a git work tree (a worktree's or
    submodule's ``.git`` file is followed), ``<git dir>/hexpack/projects/<id>``
    for a project in a subdirectory of one (each project of a monorepo has its
    own lock), else ``<root>/.hexpack``.
    """
    from pathlib import Path  # lazy: start-up time (hexpack build only writes with atomic_write_bytes)

    start = Path(os.path.realpath(root))
    for directory in (start, *start.parents):
        dot_git = directory / ".git"
        git_dir = None
        if dot_git.is_dir():
            git_dir = dot_git
        elif dot_git.is_file():
            with contextlib.suppress(OSError, UnicodeDecodeError, IndexError):
                first = dot_git.read_text(encoding="utf-8").splitlines()[0]
                if first.startswith("gitdir:"):
                    git_dir = (directory / first[len("gitdir:") :].strip()).resolve()
        if git_dir is not None and git_dir.is_dir():
            if directory == start:
                return git_dir / "hexpack"
            project = sha256(start.relative_to(directory).as_posix().encode()).hexdigest()[:16]
            return git_dir / "hexpack" / "projects" / project
    return start / ".hexpack"


class ProjectLock(Record):
    """The held lock; ``recovered`` says what an interrupted earlier run left and how it was finished."""

    __slots__ = ("root", "directory", "recovered")

    def __init__(self, root: Path, directory: Path, recovered: str | None = None):
        self.root = root
        self.directory = directory
        self.recovered = recovered


# Locks this process holds, per thread: re-entrant within a thread (release -> bump), while another
# thread opens the lock file anew, so its flock waits like another process's would.
_held: dict[tuple[Path, int], ProjectLock] = {}


@contextlib.contextmanager
def project_lock(root: str | os.PathLike[str], command: str) -> Iterator[ProjectLock]:
    """Hold the project's lock for the block, after finishing any interrupted transaction."""
    from pathlib import Path  # lazy: start-up time (hexpack build only writes with atomic_write_bytes)

    directory = state_dir(root)
    key = (directory, get_ident())
    if key in _held:
        yield _held[key]
        return
    try:
        import fcntl  # lazy: POSIX only
    except ImportError:  # pragma: no cover - not a POSIX system: no advisory locks
        fcntl = None  # type: ignore[assignment]
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(directory / "lock", os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise HexpackError(
            f"cannot create the project lock: {exc.strerror or exc}; nothing was changed",
            subject=str(directory / "lock"),
            hint="make the directory writable",
        ) from None
    try:
        if fcntl is not None:
            _acquire(fcntl, fd, Path(root), command)
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {command}\n".encode())
        lock = ProjectLock(Path(os.path.realpath(root)), directory)
        _held[key] = lock
        try:
            lock.recovered = recover(directory, lock.root)
            yield lock
        finally:
            del _held[key]
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
    finally:
        os.close(fd)  # releases the flock


def _acquire(fcntl, fd: int, root: Path, command: str) -> None:
    try:
        wait = float(os.environ.get(LOCK_WAIT_ENV, LOCK_WAIT_SECONDS))
    except ValueError:
        wait = LOCK_WAIT_SECONDS
    deadline = time.monotonic() + wait
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() >= deadline:
                break
            time.sleep(0.05)
    try:
        holder = os.pread(fd, 200, 0).decode("utf-8", "replace").strip()
    except OSError:
        holder = ""
    pid, _, what = holder.partition(" ")
    who = f"`{what}` (pid {pid})" if pid.isdigit() and what else "another hexpack run"
    raise HexpackError(
        f"{who} is changing this project; {command} waited {wait:g} s and changed nothing",
        subject=str(root),
        hint="let it finish, then run again",
    )


# ----------------------------------------------------------------------------- the journal


def _digest(data: bytes) -> str:
    return sha256(data).hexdigest()


def _file_digest(path: Path) -> str | None:
    try:
        return _digest(path.read_bytes())
    except FileNotFoundError:
        return None


def _save_journal(path: Path, state: str, entries: list[dict[str, str | None]]) -> None:
    import json  # lazy: start-up time (only a transaction's journal needs it)

    data = {"about": "an unfinished hexpack write; the next hexpack run finishes it", "state": state}
    data["entries"] = entries  # type: ignore[assignment]
    atomic_write_bytes(path, (json.dumps(data, indent=1) + "\n").encode("utf-8"), mode=0o600)


def _restore(target: Path, old: bytes | None) -> None:
    if old is None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()
    elif _file_digest(target) != _digest(old):
        atomic_write_bytes(target, old)


def recover(directory: Path, root: Path) -> str | None:
    """Finish the transaction a killed run left in ``directory`` (the lock must be held); what was done.

    Only files inside the project ``root`` are touched: a journal naming
    anything else (one shipped inside a project from elsewhere) is refused.

    ``prepare``: nothing was renamed yet, so the temporary files are deleted
    (fully old). ``commit``: the remaining renames are done (fully new),
    unless the run was already restoring the old contents when it died:
    then every file gets its old content back (fully old).
    """
    import json  # lazy: start-up time (only a transaction's journal needs it)

    journal = directory / JOURNAL
    for stale in directory.glob(f".*{TMP_SUFFIX}"):  # a journal write that was killed before its rename
        with contextlib.suppress(OSError):
            stale.unlink()
    try:
        data = json.loads(journal.read_text(encoding="utf-8"))
        state = data["state"]
        entries = [_JournalEntry.load(entry) for entry in data["entries"]]
    except FileNotFoundError:
        return None
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise HexpackError(
            f"unreadable journal of an interrupted hexpack run ({exc})",
            subject=str(journal),
            hint="check the files it names with `git status`, then delete it",
        ) from None
    for entry in entries:
        if not entry.inside(root):
            raise HexpackError(
                f"journal names a file outside the project: {entry.target}",
                subject=str(journal),
                hint="delete it; hexpack never writes one like it",
            )
        if state == "commit" and entry.digest not in (entry.new, entry.old_digest):
            raise HexpackError(
                "changed since an interrupted hexpack run wrote it; its journal cannot be finished",
                subject=str(entry.target),
                hint=f"check it with `git diff`, then delete {journal}",
            )
    if state == "commit" and all(os.path.lexists(e.tmp) or e.digest == e.new for e in entries):
        for entry in entries:
            if os.path.lexists(entry.tmp):
                os.replace(entry.tmp, entry.target)
        _sync_dirs([entry.target for entry in entries])
        done = f"finished the interrupted write of {len(entries)} file(s) (now fully new)"
    else:
        for entry in entries:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(entry.tmp)
            if state == "commit":
                _restore(entry.target, entry.old)
        done = f"undid the interrupted write of {len(entries)} file(s) (left fully old)"
    journal.unlink()
    return done + ": " + ", ".join(entry.target.name for entry in entries)


class _JournalEntry(Record):
    __slots__ = ("target", "tmp", "old", "new", "digest")

    def __init__(self, target: Path, tmp: Path, old: bytes | None, new: str, digest: str | None):
        self.target = target
        self.tmp = tmp
        self.old = old  # None: the file did not exist
        self.new = new  # sha256 of the new content
        self.digest = digest  # sha256 of what the target holds now

    @classmethod
    def load(cls, entry: dict[str, str | None]) -> _JournalEntry:
        import base64  # lazy: start-up time (only a transaction's journal needs it)
        from pathlib import Path  # lazy: start-up time (hexpack build only writes with atomic_write_bytes)

        target = Path(str(entry["target"]))
        old = entry["old"]
        return cls(
            target,
            Path(str(entry["tmp"])),
            None if old is None else base64.b64decode(old),
            str(entry["new"]),
            _file_digest(target),
        )

    @property
    def old_digest(self) -> str | None:
        return None if self.old is None else _digest(self.old)

    def inside(self, root: Path) -> bool:
        """The target lies in ``root`` and the temporary file is the one ``_temp_beside`` names beside it."""
        tmp_ok = self.tmp.parent == self.target.parent and self.tmp.name.startswith(f".{self.target.name}.")
        return tmp_ok and self.tmp.name.endswith(TMP_SUFFIX) and root in self.target.parents


def finish_interrupted_write(root: str | os.PathLike[str], command: str = "hexpack version") -> str | None:
    """For reading commands: finish what a killed run left (taking the lock only then); what was done."""
    directory = state_dir(root)
    if not (directory / JOURNAL).exists() and not any(directory.glob(f".*{TMP_SUFFIX}")):
        return None
    with project_lock(root, command) as lock:
        return lock.recovered


def _sync_dirs(paths: list[Path]) -> None:
    for directory in {p.parent for p in paths}:
        try:
            fd = os.open(directory, os.O_RDONLY)
        except OSError:
            continue
        with contextlib.suppress(OSError):
            os.fsync(fd)
        os.close(fd)


class FileTransaction:
    """Apply several file writes all or nothing.

    ``apply(plan)`` checks every target is writable first. With ``root`` (the
    project) it holds the project lock and keeps a journal, so even a SIGKILL
    at any moment leaves every file fully old or fully new once the next run
    has taken the lock; without ``root`` (a scratch copy) a failure or an
    interrupt is undone in-process only. ``before_write`` is a seam for tests
    that inject a failure at a chosen write.
    """

    def __init__(
        self, *, root: str | os.PathLike[str] | None = None, before_write: Callable[[Path, int], None] | None = None
    ):
        from pathlib import Path  # lazy: start-up time (hexpack build only writes with atomic_write_bytes)

        self._root = None if root is None else Path(os.path.realpath(root))
        self._before_write = before_write

    def apply(self, plan: Mapping[Path, bytes]) -> None:
        from pathlib import Path  # lazy: start-up time (hexpack build only writes with atomic_write_bytes)

        real = {path: Path(os.path.realpath(path)) for path in plan}
        self._check(real)
        if self._root is None:
            self._write(plan, real, None)
            return
        with project_lock(self._root, "write files") as lock:
            self._write(plan, real, lock.directory / JOURNAL)

    def _check(self, real: Mapping[Path, Path]) -> None:
        problems: list[HexpackError] = []
        parents_seen: set[Path] = set()
        for path, target in real.items():
            if self._root is not None and target != self._root and self._root not in target.parents:
                problems.append(
                    ProjectError(
                        f"is a symbolic link to {target}, outside the project",
                        subject=str(path),
                        hint="make it a regular file or point it inside the project",
                    )
                )
                continue
            if target.is_dir():
                problems.append(
                    HexpackError("is a directory where a file is to be written", subject=str(path), hint="move it away")
                )
            elif target.exists() and not os.access(target, os.W_OK):
                problems.append(HexpackError("file is read-only", subject=str(path), hint="make it writable and retry"))
            if target.parent in parents_seen:
                continue
            parents_seen.add(target.parent)
            if not target.parent.is_dir():
                what = "is not a directory" if target.parent.exists() else "directory does not exist"
                problems.append(HexpackError(what, subject=str(target.parent), hint=f"cannot write {path.name} there"))
            elif not os.access(target.parent, os.W_OK):
                problems.append(HexpackError("directory is not writable", subject=str(target.parent)))
        raise_together(problems, summary="files cannot be written")

    def _write(self, plan: Mapping[Path, bytes], real: Mapping[Path, Path], journal: Path | None) -> None:
        import base64  # lazy: start-up time (only a transaction's journal needs it)

        originals = {path: (real[path].read_bytes() if real[path].exists() else None) for path in plan}
        temps = {path: _temp_beside(real[path]) for path in plan}
        entries = [
            {
                "target": str(real[path]),
                "tmp": temps[path],
                "old": None if originals[path] is None else base64.b64encode(originals[path]).decode("ascii"),
                "new": _digest(data),
            }
            for path, data in plan.items()
        ]
        current = str(journal)
        renamed: list[Path] = []
        try:
            if journal is not None:
                _save_journal(journal, "prepare", entries)
            for index, (path, data) in enumerate(plan.items()):
                current = str(path)
                if self._before_write is not None:
                    current = ""  # the test seam's own exception is passed on as it is
                    self._before_write(path, index)
                    current = str(path)
                _write_new_file(temps[path], data, _mode_of(real[path]))
                fault_point()
            if journal is not None:
                current = str(journal)
                _save_journal(journal, "commit", entries)
            for path in plan:
                current = str(path)
                os.replace(temps[path], real[path])
                renamed.append(path)
                fault_point()
            _sync_dirs(list(real.values()))
            if journal is not None:
                journal.unlink()
                fault_point()
        except BaseException as exc:
            self._undo(plan, real, temps, originals, renamed, journal)
            if isinstance(exc, OSError) and current:  # disk full, read-only file system, ...: every file was restored
                raise HexpackError(
                    f"cannot write: {exc.strerror or exc}; nothing was changed", subject=current
                ) from exc
            raise

    @staticmethod
    def _undo(plan, real, temps, originals, renamed, journal) -> None:
        """Put back what this run changed; a kill in here is finished by the next run (see ``recover``)."""
        for path in plan:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temps[path])
        for path in reversed(renamed):
            _restore(real[path], originals[path])
        if journal is not None:
            with contextlib.suppress(FileNotFoundError):
                journal.unlink()


def read_utf8(path: Path, *, kind: str = "file", hint: str = "re-save it as UTF-8") -> str:
    """The text of ``path``; a missing, unreadable or non-UTF-8 file is one ProjectError naming it.

    ``kind`` names what was expected ("TOML file", "requirements file") in
    the messages. A decoding error names the line (``path:line``).
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ProjectError(f"{kind} not found", subject=str(path)) from None
    except IsADirectoryError:
        raise ProjectError(f"is a directory, not a {kind}", subject=str(path), hint="move it away") from None
    except OSError as exc:
        raise ProjectError(f"cannot read the {kind}: {exc.strerror or exc}", subject=str(path)) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ProjectError(
            f"not UTF-8 text (byte {data[exc.start]:#04x})", subject=f"{path}:{line}", hint=hint
        ) from None
