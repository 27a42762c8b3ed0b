"""`hexpack version`: the canonical version and every place it is written."""

from __future__ import annotations

from ..fsutil import finish_interrupted_write
from ..versioning.places import read_versions
from . import add_project_option

HELP = "show the canonical version and every place it is written; exit 1 when any disagree"


def configure(parser) -> None:
    add_project_option(parser)
    parser.add_argument("--json", action="store_true", help="print the report as JSON")


def run(args, out) -> int:
    recovered = finish_interrupted_write(args.root)
    if recovered:
        out.warn(recovered)
    report = read_versions(args.root)
    if args.json:
        out.json(report.to_dict())
        return 0 if report.ok else 1
    out.line(f"version {report.version.semver} (Hex) / {report.version.pep440} (PyPI), app :{report.app}")
    rows = [
        (f"{p.file}:{p.line}", p.found, "ok" if p.agrees else f"MISMATCH (expected {p.expected})")
        for p in report.places
    ]
    rows += [(f"{o.file}:{o.line}", o.text, "UNEXPECTED") for o in report.unexpected]
    if report.changelog_release is not None:
        status = "ok" if not report.changelog_disagrees else f"NOT RELEASED WITH THE VERSION {report.version.semver}"
        rows.append((report.config.changelog, f"newest release [{report.changelog_release}]", status))
    out.table(("place", "found", "status"), rows)
    if not report.ok:
        problems = len(report.mismatches) + len(report.unexpected) + report.changelog_disagrees
        fixes = []
        if report.mismatches:  # a place must hold the version: allow does not apply to it
            fixes.append("write the expected version in each MISMATCH place (or drop it from [tool.hexpack.version])")
        if report.unexpected:
            fixes.append("make each UNEXPECTED occurrence a place, or list it under [tool.hexpack.version] allow")
        if report.changelog_disagrees:
            fixes.append(f"release {report.config.changelog}'s newest section with the version (hexpack bump)")
        out.error(f"{problems} place(s) disagree with {report.version.semver}; {'; '.join(fixes)}")
        return 1
    return 0
