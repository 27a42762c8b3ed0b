"""`hexpack bump`: one version everywhere plus the changelog, all or nothing."""

from __future__ import annotations

from ..fsutil import project_lock
from ..versioning.bump import apply_plan, plan_bump
from . import add_project_option

HELP = "bump the version in every place and release the CHANGELOG's [Unreleased] section, all or nothing"


def configure(parser) -> None:
    parser.add_argument(
        "part", metavar="PART", help="major | minor | patch | pre | release | X.Y.Z[-alpha.N|-beta.N|-rc.N]"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the unified diff of the plan and write nothing")
    parser.add_argument("--allow-empty", action="store_true", help="release an empty [Unreleased] section")
    parser.add_argument("--date", default=None, help="release date for the CHANGELOG (YYYY-MM-DD, default today)")
    add_project_option(parser)


def run(args, out) -> int:
    with project_lock(args.root, "hexpack bump") as lock:  # plan and write with no other run in between
        if lock.recovered:
            out.warn(lock.recovered)
        return _bump(args, out)


def _bump(args, out) -> int:
    plan = plan_bump(args.root, args.part, today=args.date, allow_empty=args.allow_empty)
    for note in plan.notes:
        out.warn(note)
    if args.dry_run:
        out.stream.write(plan.diff())
        out.line(f"dry run: {plan.old} -> {plan.new} (PyPI {plan.pep440}) would change {len(plan.changes)} file(s)")
        return 0
    apply_plan(plan)
    out.line(f"bumped {plan.old} -> {plan.new} (PyPI {plan.pep440}); {len(plan.changes)} file(s):")
    for rel in plan.files:
        out.line(f"  {rel}")
    return 0
