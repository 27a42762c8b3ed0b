"""Writing files so that a failed or interrupted run leaves nothing half-done.

Every write goes to a temporary file beside its target and is renamed into
place. ``FileTransaction`` applies a whole plan of writes and, if any step
fails, restores every file it already touched.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import HexpackError, ProjectError, raise_together


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes, *, mode: int | None = None) -> None:
    """Write ``data`` to ``path`` via a temporary file and a rename.

    The file keeps its existing permission bits unless ``mode`` is given.
    """
    target = Path(path)
    if mode is None:
        try:
            mode = stat.S_IMODE(target.stat().st_mode)
        except FileNotFoundError:
            mode = 0o644
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".hexpack-tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int | None = None) -> None:
    atomic_write_bytes(path, text.encode("utf-8"), mode=mode)


class FileTransaction:
    """Apply several file writes all or nothing.

    ``apply(plan)`` checks every target is writable first, then writes each
    file atomically; if a write fails (or the run is interrupted) the files
    already written get their old bytes back. ``before_write`` is a seam for
    tests that inject a failure at a chosen write.
    """

    def __init__(self, *, before_write: Callable[[Path, int], None] | None = None):
        self._before_write = before_write

    def apply(self, plan: Mapping[Path, bytes]) -> None:
        originals: dict[Path, bytes | None] = {}
        problems = []
        parents_seen: set[Path] = set()
        for path in plan:
            if path.is_dir():
                problems.append(
                    HexpackError("is a directory where a file is to be written", subject=str(path), hint="move it away")
                )
            elif path.exists() and not os.access(path, os.W_OK):
                problems.append(HexpackError("file is read-only", subject=str(path), hint="make it writable and retry"))
            if path.parent in parents_seen:
                continue
            parents_seen.add(path.parent)
            if not path.parent.is_dir():
                what = "is not a directory" if path.parent.exists() else "directory does not exist"
                problems.append(HexpackError(what, subject=str(path.parent), hint=f"cannot write {path.name} there"))
            elif not os.access(path.parent, os.W_OK):
                problems.append(HexpackError("directory is not writable", subject=str(path.parent)))
        raise_together(problems, summary="files cannot be written")
        written: list[Path] = []
        try:
            for index, (path, data) in enumerate(plan.items()):
                originals[path] = path.read_bytes() if path.exists() else None
                if self._before_write is not None:
                    self._before_write(path, index)
                try:
                    atomic_write_bytes(path, data)
                except OSError as exc:  # disk full, read-only file system, ...: every file is restored below
                    raise HexpackError(
                        f"cannot write: {exc.strerror or exc}; nothing was changed", subject=str(path)
                    ) from exc
                written.append(path)
        except BaseException:
            for path in reversed(written):
                old = originals[path]
                if old is None:
                    path.unlink(missing_ok=True)
                else:
                    atomic_write_bytes(path, old)
            raise


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
