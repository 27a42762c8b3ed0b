"""How the command line writes: plain lines, aligned tables and JSON.

Only the CLI layer holds an ``Output``; library code returns data and never
prints. Colour follows ``NO_COLOR`` / ``FORCE_COLOR`` and whether the stream
is a terminal.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any, TextIO
_STYLES = {"pass": "32", "ok": "32", "warn": "33", "fail": "31", "error": "31", "bold": "1"}


_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(text: str) -> str:
    """``text`` safe to print on one line: control and format characters escaped.

    Names and values from a package are untrusted: a newline would forge rows of a
    listing, an ANSI sequence would clear or recolour the terminal, a bidi override
    would reorder what is read. Printable text (any script) is left as it is.
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else _escape(ch) for ch in text)


def _escape(ch: str) -> str:
    if ch in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[ch]
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}" if code < 0x10000 else f"\\U{code:08x}"


class Output:
    def __init__(self, stream: TextIO | None = None, err: TextIO | None = None):
        self.stream = stream or sys.stdout
        self.err = err or sys.stderr
        self.color = _wants_color(self.stream)

    def line(self, text: str = "") -> None:
        """Print ``text`` as it is: pass untrusted parts through :func:`shown` first."""
        print(text, file=self.stream)

    def lines(self, texts: Sequence[str]) -> None:
        """``line`` for each of ``texts``, in one write (a build's file list is hundreds of lines)."""
        if texts and self.stream is not None:  # None: started with stdout closed (``>&-``), as print skips it
            self.stream.write("".join(f"{text}\n" for text in texts))

    def warn(self, text: str) -> None:
        print(f"{self.style('warning', 'warn')}: {shown(text)}", file=self.err)

    def error(self, text: str) -> None:
        print(f"{self.style('error', 'error')}: {shown(text)}", file=self.err)

    def style(self, text: str, kind: str) -> str:
        code = _STYLES.get(kind)
        return f"\033[{code}m{text}\033[0m" if self.color and code else text

    def table(self, header: Sequence[str], rows: Sequence[Sequence[Any]], *, status_column: int | None = None) -> None:
        """Aligned columns; the status column (pass/warn/fail) is coloured."""
        cells = [[shown(str(c)) for c in header]] + [[shown(str(c)) for c in row] for row in rows]
        widths = [max(len(row[i]) for row in cells) for i in range(len(header))]
        for index, row in enumerate(cells):
            parts = []
            for col, cell in enumerate(row):
                padded = cell.ljust(widths[col]) if col < len(row) - 1 else cell
                if index and status_column == col:
                    padded = self.style(cell, cell.lower()) + " " * (widths[col] - len(cell))
                parts.append(padded)
            self.line("  ".join(parts).rstrip())

    def json(self, data: Any) -> None:
        import json  # lazy: start-up time

        self.line(json.dumps(data, indent=2, sort_keys=True, default=str))


def _wants_color(stream: TextIO) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()
