"""The ``hexpack`` command: argument parsing and the error edge.

Each subcommand lives in ``hexpack.commands.<name>`` and provides ``HELP``,
``configure(parser)`` and ``run(args, out) -> int``. This module is the only
place a HexpackError becomes a one-line message and an exit code;
``entry_point`` is the process's (the ``hexpack`` script and ``python -m hexpack``).
"""

from __future__ import annotations

import atexit
import importlib
import os
import sys
from collections.abc import Sequence
from types import SimpleNamespace

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


def build_parser(argv: Sequence[str] | None = None):
    """The parser; when ``argv`` names a command only that command's parser is built and its module imported.

    Importing every command pulls in the whole library (about half a second),
    which a no-op ``hexpack assemble`` should not pay, and each unused
    subparser costs a build about 2% of its time; ``--help`` and an unknown
    command still see all. The top-level options take no value, so the first
    argument that is not an option is the command argparse will pick. ``--version``
    before any command prints and exits there, so it needs no command at all.
    """
    # argparse with gettext, locale and shutil costs more than reading mix.exs; a plain command line
    # takes quick_parse instead
    # lazy: start-up time
    import argparse

    class _Parser(argparse.ArgumentParser):
        """argparse that raises instead of printing usage and exiting."""

        def error(self, message: str) -> None:  # type: ignore[override]
            raise UsageError(message, subject=self.prog, hint=f"see `{self.prog} --help`")

    chosen = next((arg for arg in argv or () if not arg.startswith("-") or arg in ("-h", "--help")), None)
    if chosen not in COMMANDS:  # no command, an unknown one, or the top-level --help: every command is listed
        chosen = None
    parser = _Parser(prog="hexpack", description="Package and release Elixir libraries that ship Python.")
    parser.add_argument(
        "--version", action="version", version=f"hexpack {__version__} (builtin engine: Hex {HEX_VERSION})"
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log the commands hexpack runs")
    if next((arg for arg in argv or () if arg not in ("-v", "--verbose")), None) == "--version":
        return parser
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name in COMMANDS:
        if chosen is not None and name != chosen:
            continue
        module = importlib.import_module(f"hexpack.commands.{name}")
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.configure(command)
        command.set_defaults(_run=module.run)
    return parser


class _Declared:
    """Stands in for a command's parser in ``configure`` and records the options it declares.

    The quick path reads a command line with it when every option is a plain flag (``store`` with one
    value, optionally checked against ``choices`` or converted by ``type``, or ``store_true``); any other
    declaration (a positional, ``nargs``, ``required``, a group) leaves the command to argparse.
    """

    def __init__(self) -> None:
        self.options: dict[str, tuple[str, bool, Sequence[str] | None, object]] = {}  # flag -> dest, value?, ...
        self.defaults: dict[str, object] = {}
        self.plain = True

    def add_argument(self, *flags: str, dest=None, default=None, action="store", choices=None, type=None, **rest):
        rest.pop("help", None)
        rest.pop("metavar", None)
        if (
            rest
            or not flags
            or not all(flag.startswith("-") for flag in flags)
            or action not in ("store", "store_true")
        ):
            self.plain = False
            return
        long = next((flag for flag in flags if flag.startswith("--")), flags[0])
        dest = dest or long.lstrip("-").replace("-", "_")
        if action == "store_true":
            default = False if default is None else default
        elif isinstance(default, str) and type is not None:
            try:
                default = type(default)  # argparse converts a string default as it converts a value
            except Exception:  # argparse words the error
                self.plain = False
                return
        self.defaults[dest] = default
        for flag in flags:
            self.options[flag] = (dest, action == "store", choices, type)

    def __getattr__(self, name: str):  # set_defaults, add_mutually_exclusive_group, ...: argparse's job
        self.plain = False
        return lambda *args, **kwargs: _Declared()


def quick_parse(argv: Sequence[str]) -> SimpleNamespace | None:
    """``argv`` read without argparse when it is plain, else None (and argparse reads it).

    Plain: optional ``-v``/``--verbose``, a command, then only that command's options written out in
    full, each value its own argument not starting with ``-``. The namespace is the one argparse
    would make (``tests/test_cli.py`` holds the two equal); anything else, ``--help``, an abbreviation,
    ``--opt=value``, an unknown or bad value included, goes to argparse, which also words the errors.
    """
    index = 0
    verbose = False
    while index < len(argv) and argv[index] in ("-v", "--verbose"):
        verbose = True
        index += 1
    if index >= len(argv) or argv[index] not in COMMANDS:
        return None
    command = argv[index]
    module = importlib.import_module(f"hexpack.commands.{command}")
    declared = _Declared()
    module.configure(declared)
    if not declared.plain:
        return None
    values = dict(declared.defaults)
    rest = argv[index + 1 :]
    position = 0
    while position < len(rest):
        option = declared.options.get(rest[position])
        if option is None:
            return None
        dest, takes_value, choices, convert = option
        if not takes_value:
            values[dest] = True
            position += 1
            continue
        if position + 1 >= len(rest) or rest[position + 1].startswith("-"):
            return None
        value: object = rest[position + 1]
        if convert is not None:
            try:
                value = convert(value)  # type: ignore[operator]
            except Exception:  # argparse words the error
                return None
        if choices is not None and value not in choices:
            return None
        values[dest] = value
        position += 2
    return SimpleNamespace(command=command, verbose=verbose, _run=module.run, **values)


def main(argv: Sequence[str] | None = None) -> int:
    out = Output()
    try:
        arguments = list(sys.argv[1:] if argv is None else argv)
        args = quick_parse(arguments)
        if args is None:
            parser = build_parser(arguments)
            args, unknown = parser.parse_known_args(arguments)
        else:
            parser, unknown = None, []
        if unknown:  # argparse would blame the top-level parser; name the command whose options these are not
            prog = f"hexpack {args.command}" if getattr(args, "command", None) else "hexpack"
            raise UsageError(f"unrecognized arguments: {' '.join(unknown)}", subject=prog, hint=f"see `{prog} --help`")
        if args.verbose:  # library code logs only at debug level, so without -v logging is never set up
            import logging  # lazy: start-up time

            logging.basicConfig(level=logging.DEBUG, format="hexpack: %(message)s", stream=sys.stderr)
        if not getattr(args, "_run", None):
            assert parser is not None  # the quick path always names a command
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


def entry_point() -> None:
    """Run ``main`` on the process's arguments and exit with its status.

    When nothing is left for the interpreter's teardown to do, the process ends with ``os._exit``
    once stdout and stderr are flushed: freeing every module and object costs about 7 ms, 5% of
    a snakepit build. Something is left when a thread could still run (``threading`` was loaded:
    subprocesses, verify's strands) or an ``atexit`` callback is registered (logging, temporary
    directories); files are closed by then (hexpack writes through ``with`` and atomic renames).
    """
    code = main()
    ncallbacks = getattr(atexit, "_ncallbacks", None)  # CPython's; elsewhere the teardown runs
    if "threading" not in sys.modules and ncallbacks is not None and ncallbacks() == 0:
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:  # None: started with it closed (``>&-``)
                    stream.flush()
        except (OSError, ValueError):  # a closed or broken stream: the normal exit reports it
            pass
        else:
            os._exit(code)
    raise SystemExit(code)


if __name__ == "__main__":  # pragma: no cover
    entry_point()
