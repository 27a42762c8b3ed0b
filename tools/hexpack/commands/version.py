"""`hexpack version` (placeholder until the feature lands)."""

from __future__ import annotations

from ..errors import HexpackError

HELP = "version (not implemented yet)"


def configure(parser) -> None:
    pass


def run(args, out) -> int:
    raise HexpackError("not implemented yet", subject="hexpack version")
