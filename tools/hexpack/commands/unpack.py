"""`hexpack unpack FILE -o DIR`: verify a Hex package completely, then write its files."""

from __future__ import annotations

import re
from pathlib import Path

from ..errors import UsageError
from ..hex import tarball
from ..output import shown

_SAFE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.+-]*\Z")

HELP = "verify a Hex package tarball, then unpack it safely into a new directory"


def configure(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="package tarball")
    parser.add_argument(
        "-o", "--output", metavar="DIR", default=None, help="new or empty directory (default: <name>-<version>)"
    )
    parser.add_argument("--no-metadata", action="store_true", help="do not write hex_metadata.config (Hex writes it)")


def run(args, out) -> int:
    path = Path(args.file)
    if path.is_dir():
        raise UsageError("is a directory", subject=str(path), hint="give a package tarball (hexpack build makes one)")
    data = tarball.read_file(path)  # bounded: a pipe such as <(curl ...) works, /dev/zero stops at the limit
    package = tarball.read_package(data, subject=str(path))
    meta = dict(package.metadata)
    if args.output:
        target = Path(args.output)
    else:
        default = f"{meta.get('name')}-{meta.get('version')}"
        # the name comes from the package itself: never let it choose a path outside the current directory
        if not _SAFE_NAME.match(default):
            raise UsageError(f"package name/version {default[:60]!r} is not a safe directory name", hint="give -o DIR")
        target = Path(default)
    tarball.unpack(data, target, metadata_file=not args.no_metadata)
    files = sum(1 for m in package.members if m.kind == "file")
    links = sum(1 for m in package.members if m.kind == "symlink")
    what = shown(f"{meta.get('name', '?')} {meta.get('version', '?')}")
    out.line(f"Unpacked {what} to {shown(str(target))} ({files} files, {links} symlinks)")
    return 0
