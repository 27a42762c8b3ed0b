"""The one exception family of hexpack.

Library code raises these; only the command line (and the nox sessions) turn
them into a one-line message and an exit code. A message names the bad input
and, where there is one, the fix.
"""

from __future__ import annotations

from collections.abc import Iterable


class HexpackError(Exception):
    """Base of every error hexpack raises on purpose.

    ``what`` says what is wrong, ``subject`` names the input it concerns (a
    file, a line, a command) and ``hint`` says how to fix it.
    """

    exit_code = 1

    def __init__(self, what: str, *, subject: str | None = None, hint: str | None = None):
        self.what = what
        self.subject = subject
        self.hint = hint
        super().__init__(self.one_line())

    def one_line(self) -> str:
        text = f"{self.subject}: {self.what}" if self.subject else self.what
        if self.hint:
            text += f"; {self.hint}"
        return _escape_line_breaks(text)


class UsageError(HexpackError):
    """The command line itself is wrong (unknown argument, bad value)."""

    exit_code = 2


class ProjectError(HexpackError):
    """A mix project, pyproject or configuration cannot be read or is invalid."""


class PackageError(HexpackError):
    """Hex would refuse to build this package (the wording follows Hex's)."""


class TarballError(HexpackError):
    """A Hex tarball is malformed, unsafe or over a limit."""


class CommandNotFound(HexpackError):
    """An external program is not installed."""


class CommandFailed(HexpackError):
    """An external program ran and failed; carries its captured output."""

    def __init__(self, argv: list[str], returncode: int, output: str, *, hint: str | None = None):
        self.argv = list(argv)
        self.returncode = returncode
        self.output = output
        last = _last_line(output)
        what = f"exited with status {returncode}" + (f": {last}" if last else "")
        super().__init__(what, subject=" ".join(argv[:3]) + (" ..." if len(argv) > 3 else ""), hint=hint)


class Problems(HexpackError):
    """Several independent problems found in one pass, reported together.

    Each problem is itself a HexpackError so it keeps its subject and hint.
    ``str()`` gives one line per problem.
    """

    def __init__(self, problems: Iterable[HexpackError], *, summary: str = "problems found"):
        self.problems = list(problems)
        super().__init__(f"{len(self.problems)} {summary}")

    def lines(self) -> list[str]:
        return [p.one_line() for p in self.problems]

    def one_line(self) -> str:  # several lines, one per problem, still no traceback
        return "\n".join(p.one_line() for p in getattr(self, "problems", [])) or self.what


def raise_together(problems: list[HexpackError], *, summary: str) -> None:
    """Raise nothing when ``problems`` is empty, the problem itself when there is one, else Problems of all."""
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise Problems(problems, summary=summary)


def _escape_line_breaks(text: str) -> str:
    """Keep a message on one line even when it quotes input that holds line breaks (a file name, a term)."""
    return text.replace("\r", "\\r").replace("\n", "\\n")


def _last_line(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    return lines[-1][:200] if lines else ""
