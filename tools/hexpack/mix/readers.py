"""The one entry for reading ``mix.exs``: ``read_project(root, reader="auto")``.

The engines (``hexpack.mix.elixir``, ``hexpack.mix.static``) implement
``hexpack.mix.project.MixReader``; this module sits above them and picks one,
so nothing below it imports it back.
"""

from __future__ import annotations

from pathlib import Path

from ..errors import HexpackError
from .elixir import ElixirReader
from .project import MixProject, MixReader
from .static import StaticReader

__all__ = ["READERS", "read_project"]

ELIXIR = ElixirReader()
STATIC = StaticReader()
READERS: dict[str, MixReader] = {ELIXIR.name: ELIXIR, STATIC.name: STATIC}


def read_project(root: str | Path, *, reader: str = "auto") -> MixProject:
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
    root = Path(root)
    if reader == "auto":
        return _auto(root)
    engine = READERS.get(reader)
    if engine is None:
        raise ValueError(f"unknown reader {reader!r}")
    return engine.read(root)


def _auto(root: Path) -> MixProject:
    has_elixir = ELIXIR.available()
    try:
        project = STATIC.read(root)
    except HexpackError:
        if not has_elixir:
            raise
    else:
        if not (project.assumptions and has_elixir):
            return project
    return ELIXIR.read(root)
