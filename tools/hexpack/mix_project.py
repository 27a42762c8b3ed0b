"""What hexpack knows about a mix project, read from its ``mix.exs``.

Two readers produce a ``MixProject``: ``mix_eval`` evaluates ``mix.exs`` with
the real Elixir (the truth, used whenever ``elixir`` is on PATH) and
``mix_static`` reads the common literal shapes without Elixir and refuses
anything else. ``read_project`` picks one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .terms import Atom, Regex, keyword_get


@dataclass(frozen=True)
class Dep:
    """One entry of ``deps``: ``{:name, requirement, opts}``."""

    name: str
    requirement: str | None
    opts: list[tuple[Atom, Any]] = field(default_factory=list)

    def opt(self, key: str, default: Any = None) -> Any:
        return keyword_get(self.opts, key, default)


@dataclass(frozen=True)
class MixProject:
    """The parts of ``Mix.Project.config()`` that packaging needs.

    ``package`` is the ``package:`` keyword list converted to a dict keyed by
    plain strings (``files``, ``exclude_patterns``, ``name``, ``licenses``,
    ``links``, ``build_tools``, ``extra``, ...); values keep their Elixir
    shapes (see ``hexpack.terms``), with regexes as ``Regex``.
    ``config`` is the whole project keyword list, for anything else.
    """

    root: Path
    app: str
    version: str
    elixir: str | None
    description: str | None
    deps: list[Dep]
    package: dict[str, Any]
    config: list[tuple[Atom, Any]] = field(default_factory=list)
    reader: str = "static"  # which reader produced this: "elixir" or "static"

    @property
    def files(self) -> list[str] | None:
        return self.package.get("files")

    @property
    def exclude_patterns(self) -> list[str | Regex]:
        return list(self.package.get("exclude_patterns") or [])

    @property
    def package_name(self) -> str:
        return self.package.get("name") or self.app


def read_project(root: str | Path, *, reader: str = "auto") -> MixProject:
    """Read ``root/mix.exs``.

    ``reader`` is ``"elixir"``, ``"static"`` or ``"auto"`` (Elixir when it is
    on PATH, the static reader otherwise).
    """
    from . import proc

    root = Path(root)
    if reader == "auto":
        reader = "elixir" if proc.which("elixir") else "static"
    if reader == "elixir":
        from .mix_eval import read_with_elixir

        return read_with_elixir(root)
    if reader == "static":
        from .mix_static import read_statically

        return read_statically(root)
    raise ValueError(f"unknown reader {reader!r}")
