"""`hexpack init`: adopt hexpack in a mix project whose Python lives in priv/python."""

from __future__ import annotations

from pathlib import Path

from ..fsutil import FileTransaction, project_lock

HELP = (
    "adopt hexpack in an existing mix project with Python under priv/python: detect the protos, server, "
    "requirements and stubs, write [tool.hexpack] (pyproject.toml or hexpack.toml) and a noxfile.py"
)


def configure(parser) -> None:
    parser.add_argument(
        "--project", "--root", type=Path, default=Path("."), metavar="DIR", help="project root (default: .)"
    )
    parser.add_argument(
        "--reader", choices=("auto", "elixir", "static"), default="auto", help="how to read mix.exs (default: auto)"
    )
    parser.add_argument("--dry-run", action="store_true", help="show what would be written; write nothing")
    parser.add_argument(
        "--force", action="store_true", help="replace an existing [tool.hexpack], hexpack.toml or noxfile.py"
    )


def run(args, out) -> int:
    # lazy: the command's engine loads only when the command runs (CLI start-up)
    from ..onboarding import init

    plan = init.plan(args.project, force=args.force, reader=args.reader)
    d = plan.detection
    out.line(f"hexpack init: {d.root}")
    for line in plan.found:
        out.line(f"found: {line}")
    for line in plan.assumed:
        out.line(f"assumed: {line}")
    for line in plan.notes:
        out.line(f"note: {line}")
    if args.dry_run:
        out.line("dry run: would write " + ", ".join(plan.files) + "; nothing written")
        for line in plan.preview():
            out.line(line)
        return 0
    root = plan.detection.root
    with project_lock(root, "hexpack init"):  # journaled: a killed run leaves every file fully old or fully new
        written = init.apply(plan, transaction=FileTransaction(root=root))
    for rel in written:
        out.line(f"wrote {rel}")
    out.line(f"sessions: {', '.join(plan.sessions)}")
    stubs = "hexpack stubs --check, " if "stubs" in plan.sessions else ""
    out.line(f"next: hexpack doctor, {stubs}hexpack version, hexpack verify (or the same through nox: nox -l)")
    return 0
