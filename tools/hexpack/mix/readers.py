"""The one entry for reading ``mix.exs``: ``read_project(root, reader="auto")``.

The engines (``hexpack.mix.elixir``, ``hexpack.mix.static``) implement
``hexpack.mix.project.MixReader``; this module sits above them and picks one,
so nothing below it imports it back.
"""

from __future__ import annotations

import os

from ..errors import HexpackError
from ..paths import name_of
from .project import MixProject
from .static import StaticReader

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from .project import MixReader

__all__ = ["engine", "read_project"]

STATIC = StaticReader()


def engine(name: str) -> MixReader:
    """The reader called ``name`` ("elixir" or "static")."""
    if name == STATIC.name:
        return STATIC
    if name == "elixir":
        # lazy: start-up time (the Elixir engine brings proc and subprocess; a certain static read needs neither)
        from .elixir import ElixirReader

        return ElixirReader()
    raise ValueError(f"unknown reader {name!r}")


def read_project(root: str | os.PathLike[str], *, reader: str = "auto") -> MixProject:
    """Read ``root/mix.exs``.

    ``reader`` is ``"elixir"``, ``"static"`` or ``"auto"``. ``auto`` reads
    statically first (no BEAM start: about a second saved) and keeps that
    result only when it is certain: every value packaging reads evaluated and
    nothing assumed. Otherwise Elixir reads it when installed (the truth);
    without Elixir the static result stands, assumptions included, or its
    refusal names the line. The tests prove the two readers agree on every
    shape the static reader accepts (tests/test_mix_shapes.py, the Hex
    reference projects, and random literal data).
    """
    root = name_of(root)  # text, as pathlib writes it: the engines take either
    if reader == "auto":
        return _auto(root)
    return engine(reader).read(root)


def _auto(root: str) -> MixProject:
    try:
        project = STATIC.read(root)
    except HexpackError:
        elixir = engine("elixir")
        if not elixir.available():
            raise
        return elixir.read(root)
    if not project.assumptions:  # certain: Elixir is neither looked for nor started
        return project
    elixir = engine("elixir")
    return elixir.read(root) if elixir.available() else project
