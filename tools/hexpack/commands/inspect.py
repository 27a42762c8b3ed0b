"""`hexpack inspect FILE`: a Hex package's metadata, files and both checksums, verified."""

from __future__ import annotations

from ..hex.diff import describe, load_package, render
from ..output import shown
from . import add_reader_option

HELP = "show a Hex package tarball's metadata, files and checksums (all verified)"


def configure(parser) -> None:
    parser.add_argument("file", metavar="FILE", help="package tarball (or a mix project directory, built first)")
    parser.add_argument("--json", action="store_true", help="print one JSON document for machines")
    add_reader_option(parser)


def run(args, out) -> int:
    package, label = load_package(args.file, verify_checksum=False, reader=args.reader)
    status = 0 if package.checksum_ok else 1
    if args.json:
        data = describe(package)
        data["source"] = label
        out.json(data)
        return status
    meta = dict(package.metadata)
    out.line(f"Package: {shown(str(meta.get('name', '?')))} {shown(str(meta.get('version', '?')))}  ({shown(label)})")
    out.line(f"VERSION: {package.version}")
    if package.checksum_ok:
        out.line(f"CHECKSUM: {package.inner_checksum}  {out.style('inner checksum OK', 'ok')}")
    else:
        verdict = out.style("inner checksum MISMATCH", "fail")
        out.line(f"CHECKSUM: {package.inner_checksum}  {verdict}: the contents give {package.computed_checksum}")
    out.line(f"Package checksum: {package.outer_checksum}")
    out.line("Metadata:")
    for key, value in package.metadata:
        out.line(f"  {shown(key)}: {shown(render(value))}")
    out.line(f"Files ({len(package.members)}):")
    rows = []
    for member in package.members:
        size = str(member.size) if member.kind == "file" else "-"
        name = shown(member.path) + (f" -> {shown(member.linkname)}" if member.kind == "symlink" else "")
        name += "/" if member.kind == "dir" else ""
        rows.append((f"{member.mode:04o}", size, name))
    width = max((len(r[1]) for r in rows), default=1)
    for mode, size, name in rows:
        out.line(f"  {mode}  {size.rjust(width)}  {name}")
    if not package.checksum_ok:
        out.error(f"{label}: inner checksum mismatch; the package was modified or damaged")
    return status
