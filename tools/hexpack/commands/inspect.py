"""`hexpack inspect` (placeholder until the feature lands)."""

from __future__ import annotations

from ..errors import HexpackError

HELP = "inspect (not implemented yet)"


def configure(parser) -> None:
    pass


def run(args, out) -> int:
    raise HexpackError("not implemented yet", subject="hexpack inspect")
