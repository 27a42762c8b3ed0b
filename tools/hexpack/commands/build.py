"""`hexpack build`: the Hex package tarball, as `mix hex.build` makes it, without Hex."""

from __future__ import annotations

import os

from ..errors import HexpackError, UsageError
from ..fsutil import atomic_write_bytes
from ..hex.build import PackageRefused, build_package
from ..paths import joined, name_of, parent_of
from . import add_reader_option

HELP = "build the Hex package tarball exactly as `mix hex.build` does (no Hex needed)"


def configure(parser) -> None:
    parser.add_argument("--project", "--root", default=".", metavar="DIR", help="mix project directory (default: .)")
    parser.add_argument(
        "-o", "--output", default=None, metavar="FILE", help="tarball path (default: DIR/<name>-<version>.tar)"
    )
    add_reader_option(parser)


def run(args, out) -> int:
    project = name_of(args.project)  # paths as text: pathlib is start-up time (see hexpack.paths)
    if not os.path.isfile(joined(project, "mix.exs")):
        raise UsageError("no mix.exs here", subject=project, hint="pass --project DIR of a mix project")
    if args.output is not None:
        _check_output(name_of(args.output))  # before building: a wrong -o must not cost a whole build first
    try:
        result = build_package(project, reader=args.reader)
    except PackageRefused as refused:
        out.lines(refused.report_lines)
        for warning in refused.warnings:
            out.warn(warning)
        raise
    out.lines(result.report_lines[:-1])
    for warning in result.warnings:
        out.warn(warning)
    out.line(result.report_lines[-1])
    if args.output is not None:
        shown = args.output
        target = name_of(args.output)
    else:
        target = joined(project, result.default_filename)
        shown = result.default_filename if args.project == "." else os.path.join(args.project, result.default_filename)
    _check_output(target)
    try:
        atomic_write_bytes(target, result.tarball, mode=0o644)
    except OSError as exc:
        raise HexpackError(
            f"cannot write the package: {exc.strerror or exc}", subject=target, hint="choose another -o"
        ) from None
    out.line(f"Saved to {shown}")
    return 0


def _check_output(target: str) -> None:
    if os.path.isdir(target):
        raise UsageError("is a directory", subject=target, hint="give -o a file name")
    parent = parent_of(target)
    if not os.path.isdir(parent):
        what = "is not a directory" if os.path.exists(parent) else "directory does not exist"
        raise UsageError(what, subject=parent, hint="create it or choose another -o")
