"""`hexpack assemble`: place the Python sources under priv/, all or nothing."""

from __future__ import annotations

from . import add_project_option

HELP = (
    "place grpc_server.py, the Python package (with its stubs), requirements.txt and the protos under priv/ "
    "as mapped in [tool.hexpack.assemble]; --check lists differences"
)


def configure(parser) -> None:
    add_project_option(parser)
    parser.add_argument(
        "--check", action="store_true", help="change nothing; exit 1 listing what differs from a fresh assemble"
    )


def run(args, out) -> int:
    # lazy: the command's engine loads only when the command runs (CLI start-up)
    from ..python import assemble

    root = args.root.resolve()
    why_not = assemble.unconfigured(root)
    if why_not is not None:
        out.line(f"{why_not}; map sources to priv/ in an assemble.files table to place them")
        return 0
    if args.check:
        differences = assemble.check(root)
        for diff in differences:
            out.error(f"{diff.path}: {diff.what}")
        if differences:
            out.error(f"{len(differences)} difference(s); run `hexpack assemble` and commit priv/")
            return 1
        out.line("priv/ up to date")
        return 0
    result = assemble.assemble(root)
    settings = result.plan.settings
    target = settings.rel(settings.target)
    if not result.changed:
        out.line(f"{target}/ up to date ({len(result.plan.desired)} files); nothing written")
        return 0
    plan = result.plan
    labels = {"new": "new", "content": "updated", "mode": "mode changed"}
    for rel, kind in sorted(plan.write.items()):
        out.line(f"placed {settings.rel(settings.target / rel)} ({labels[kind]})")
    for rel in plan.remove:
        out.line(f"removed {settings.rel(settings.target / rel)} (its source is gone)")
    out.line(f"{target}/ assembled: {len(result.plan.write)} placed, {len(result.plan.remove)} removed")
    return 0
