"""`hexpack diff A B`: compare two Hex packages, each a tarball or a mix project directory (built first)."""

from __future__ import annotations

from ..hex.diff import diff_packages, load_package, render
from ..output import shown
from . import add_reader_option

HELP = "compare two Hex packages (tarballs or project directories); exit 1 when they differ"


def configure(parser) -> None:
    parser.add_argument("a", metavar="A", help="package tarball or mix project directory")
    parser.add_argument("b", metavar="B", help="package tarball or mix project directory")
    parser.add_argument("--json", action="store_true", help="print one JSON document for machines")
    add_reader_option(parser)


def run(args, out) -> int:
    a, a_label = load_package(args.a, reader=args.reader)
    b, b_label = load_package(args.b, reader=args.reader)
    diff = diff_packages(a, b)
    if args.json:
        data = diff.to_json()
        data["a"], data["b"] = a_label, b_label
        out.json(data)
        return 0 if diff.identical else 1
    out.line(f"--- {shown(a_label)}")
    out.line(f"+++ {shown(b_label)}")
    if diff.identical:
        note = "byte-identical" if diff.same_bytes else "same files and metadata; tarball bytes differ"
        out.line(f"identical packages ({note})")
        return 0
    if diff.files:
        out.line("Files:")
        marks = {"added": "+", "removed": "-", "changed": "~"}
        for change in diff.files:
            details = f" ({'; '.join(change.details)})" if change.change == "changed" else ""
            out.line(f"  {marks[change.change]} {shown(change.path)}{shown(details)}")
    if diff.metadata:
        out.line("Metadata:")
        for change in diff.metadata:
            key = shown(change.key)
            if change.change == "added":
                out.line(f"  + {key}: {shown(render(change.new))}")
            elif change.change == "removed":
                out.line(f"  - {key}: {shown(render(change.old))}")
            elif change.details:
                out.line(f"  ~ {key}: " + shown("; ".join(change.details)))
            else:
                out.line(f"  ~ {key}: {shown(render(change.old))} -> {shown(render(change.new))}")
    out.line(f"{len(diff.files)} file and {len(diff.metadata)} metadata differences")
    return 1
