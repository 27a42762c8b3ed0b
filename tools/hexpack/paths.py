"""Path names written as ``pathlib`` writes them, without importing it.

``pathlib`` (with ``glob``, ``fnmatch``, ``ntpath``, ``pwd``, ``grp`` and ``warnings``) is about 4 ms of
``hexpack build``'s start-up, which needs no more of it than the text of a path in its messages. These
give ``str(PurePosixPath(text))`` and friends on POSIX, where hexpack runs, so the messages stay
the same whichever a command uses.
"""

from __future__ import annotations

import os

__all__ = ["name_of", "parent_of", "joined"]


def _split(text: str) -> tuple[str, list[str]]:
    """The root (``""``, ``"/"``, or ``"//"``, which POSIX keeps) and the other parts, as PurePosixPath parses."""
    if text.startswith("//") and not text.startswith("///"):
        root = "//"
    elif text.startswith("/"):
        root = "/"
    else:
        root = ""
    return root, [part for part in text.split("/") if part and part != "."]


def _text(root: str, parts: list[str]) -> str:
    return root + "/".join(parts) or "."


def name_of(path: str | os.PathLike[str]) -> str:
    """``str(PurePosixPath(path))``: repeated and trailing slashes and ``.`` parts dropped, ``"."`` for nothing."""
    return _text(*_split(os.fspath(path)))


def parent_of(path: str | os.PathLike[str]) -> str:
    """``str(PurePosixPath(path).parent)``."""
    root, parts = _split(os.fspath(path))
    return _text(root, parts[:-1])


def joined(path: str | os.PathLike[str], name: str) -> str:
    """``str(PurePosixPath(path) / name)`` for a relative ``name``."""
    root, parts = _split(os.fspath(path))
    return _text(root, parts + _split(name)[1])
