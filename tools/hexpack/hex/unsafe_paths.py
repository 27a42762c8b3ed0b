"""Hex's refusal of package files that lead outside the project, at build time.

``mix_hex_tarball:validate_create_files/2`` (Hex 2.5.1) checks every entry of the
package's ``files`` before it creates the tarball, and stops with

- ``unsafe symlink in tarball: NAME -> TARGET`` for a symlink whose target, read
  from the link's directory, is absolute or climbs above the package root;
- ``unsafe path in tarball: NAME`` for a path that leaves the project once the
  symlinks on the way are followed (``filelib:safe_relative_path/2``), e.g.
  ``priv/ext/passwd`` through ``priv/ext -> /etc``;
- ``unsupported file type in tarball: NAME (TYPE)`` for a device, FIFO or socket.

Without these a build would pack the contents of files outside the project. Hex
stops at the first problem; :func:`unsafe_entries` lists every one, in Hex's words.
The symlink walk is a port of ``filelib:safe_relative_path/2``, with each directory
resolved once (a project of many files costs one ``readlink`` per directory and file).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Sequence

__all__ = ["unsafe_entries"]

_UNSAFE = None  # a resolution that left the project
_MAX_LINKS = 40  # Linux's MAXSYMLINKS; filelib only stops at a repeated link, the OS stops here


def unsafe_entries(root: str | os.PathLike[str], files: Sequence[str]) -> list[str]:
    """Hex's message for each of ``files`` (relative to ``root``) that Hex refuses to pack."""
    resolver = _Resolver(os.path.abspath(os.fspath(root)))
    problems = []
    for name in files:
        problem = _check(resolver, name)
        if problem is not None:
            problems.append(problem)
    return problems


def _check(resolver: _Resolver, name: str) -> str | None:
    """``validate_create_file/2`` for one relative file name."""
    if not _archive_path_safe(name):
        return f"unsafe path in tarball: {name}"
    disk = os.path.join(resolver.root, name)
    try:
        mode = os.lstat(disk).st_mode
    except OSError:
        mode = None
    if mode is not None and stat.S_ISLNK(mode):
        try:
            target = os.readlink(disk)
        except OSError:
            target = ""
        if not _archive_path_safe(_archive_join(_archive_dirname(name), target)):
            return f"unsafe symlink in tarball: {name} -> {target}"
    elif mode is not None and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
        kind = "device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "other"
        return f"unsupported file type in tarball: {name} ({kind})"
    if resolver.resolve(name) is _UNSAFE:
        return f"unsafe path in tarball: {name}"
    return None


# -- the archive-path checks: purely textual, "/" and "\\" both separate ------------------------------


def _archive_path_safe(path: str) -> bool:
    """``safe_relative_archive_path/1``."""
    if path[:1] in ("/", "\\") or (len(path) >= 2 and path[1] == ":" and path[0].isascii() and path[0].isalpha()):
        return False
    depth = 0
    for part in path.replace("\\", "/").split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if depth == 0:
                return False
            depth -= 1
        else:
            depth += 1
    return True


def _archive_dirname(path: str) -> str:
    parts = [p for p in path.replace("\\", "/").split("/") if p]
    return "/".join(parts[:-1]) if len(parts) > 1 else "."


def _archive_join(directory: str, path: str) -> str:
    if not path or path[:1] in ("/", "\\") or (len(path) >= 2 and path[1] == ":"):
        return path
    return path if directory == "." else f"{directory}/{path}"


# -- filelib:safe_relative_path/2 ------------------------------------------------------------------


class _Resolver:
    """Follows the symlinks of relative paths below ``root``; "unsafe" once a path leaves it."""

    def __init__(self, root: str):
        self.root = root
        self.dirs: dict[str, str | None] = {"": ""}  # a directory as written -> where it resolves

    def resolve(self, name: str) -> str | None:
        """The path ``name`` resolves to below the root, or ``_UNSAFE``."""
        parts = [p for p in name.split("/") if p]
        if not parts:
            return ""
        parent = self._directory(parts[:-1])
        return _UNSAFE if parent is _UNSAFE else self._walk([parts[-1]], parent, ())

    def _directory(self, parts: list[str]) -> str | None:
        """A directory's resolution, each prefix computed once and kept."""
        keys = ["/".join(parts[: i + 1]) for i in range(len(parts))]
        known = len(parts)
        while known > 0 and keys[known - 1] not in self.dirs:
            known -= 1
        acc = self.dirs[keys[known - 1]] if known else ""
        for index in range(known, len(parts)):
            acc = _UNSAFE if acc is _UNSAFE else self._walk([parts[index]], acc, ())
            self.dirs[keys[index]] = acc
        return acc

    def _walk(self, segments: list[str], acc: str, previous: tuple[str, ...]) -> str | None:
        """``safe_relative_path/4``: walk ``segments`` from ``acc``, following each symlink met."""
        for segment in segments:
            step = _lexical_step(acc, segment)
            if step is _UNSAFE:
                return _UNSAFE
            try:
                link = os.readlink(os.path.join(self.root, step)) if step else None
            except (OSError, ValueError):
                link = None
            if link is None:
                acc = step
                continue
            if link in previous or len(previous) >= _MAX_LINKS:
                return _UNSAFE
            if link.startswith("/"):
                return _UNSAFE
            resolved = self._walk([p for p in link.split("/") if p], acc, (link, *previous))
            if resolved is _UNSAFE:
                return _UNSAFE
            acc = resolved
        return acc


def _lexical_step(acc: str, segment: str) -> str | None:
    """``safe_relative_path/1`` of ``acc/segment``, where ``acc`` is already normalised."""
    if segment == ".":
        return acc
    if segment == "..":
        if not acc:
            return _UNSAFE
        return acc.rpartition("/")[0]
    return f"{acc}/{segment}" if acc else segment
