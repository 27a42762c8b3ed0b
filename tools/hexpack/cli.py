"""The ``hexpack`` command: argument parsing and the error edge.

Each subcommand lives in ``hexpack.commands.<name>`` and provides ``HELP``,
``configure(parser)`` and ``run(args, out) -> int``. This module is the only
place a HexpackError becomes a one-line message and an exit code.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from . import __version__
from .errors import HexpackError, Problems, UsageError
from .hex.rules import HEX_VERSION
from .output import Output

COMMANDS = (
    "build",
    "inspect",
    "diff",
    "unpack",
    "stubs",
    "assemble",
    "verify",
    "version",
    "bump",
    "pythons",
    "doctor",
    "release",
    "init",
)


class _Parser(argparse.ArgumentParser):
    """argparse that raises instead of printing usage and exiting."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UsageError(message, subject=self.prog, hint=f"see `{self.prog} --help`")


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; when ``argv`` names a command only that command's parser is built and its module imported.

    Importing every command pulls in the whole library (about half a second),
    which a no-op ``hexpack assemble`` should not pay, and each unused
    subparser costs a build about 2% of its time; ``--help`` and an unknown
    command still see all. The top-level options take no value, so the first
    argument that is not an option is the command argparse will pick.
    """
    chosen = next((arg for arg in argv or () if not arg.startswith("-") or arg in ("-h", "--help")), None)
    if chosen not in COMMANDS:  # no command, an unknown one, or the top-level --help: every command is listed
        chosen = None
    parser = _Parser(prog="hexpack", description="Package and release Elixir libraries that ship Python.")
    parser.add_argument(
        "--version", action="version", version=f"hexpack {__version__} (builtin engine: Hex {HEX_VERSION})"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the commands hexpack runs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if chosen is not None and name != chosen:
            continue
        module = importlib.import_module(f"hexpack.commands.{name}")
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    out = Output()
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        parser = build_parser(arguments)
        args, unknown = parser.parse_known_args(arguments)
        if unknown:  # argparse would blame the top-level parser; name the command whose options these are not
            prog = f"hexpack {args.command}" if getattr(args, "command", None) else "hexpack"
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)}", subject=prog, hint=f"see `{prog} --help`")
        if args.verbose:  # library code logs only at debug level, so without -v logging is never set up
            import logging  # lazy: start-up time

            logging.basicConfig(level=logging.DEBUG, format="hexpack: %(message)s", stream=sys.stderr)
        if not getattr(args, "_run", None):
            parser.print_help(out.stream)
            return 2
        return int(args._run(args, out) or 0)
    except Problems as problems:
        for line in problems.lines():
            out.error(line)
        return problems.exit_code
    except HexpackError as exc:
        out.error(exc.one_line())
        return exc.exit_code
    except KeyboardInterrupt:
        out.error("interrupted; nothing was left half-written")
        return 130
    except BrokenPipeError:
        return 141


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
