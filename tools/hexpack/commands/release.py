"""`hexpack release`: gates, bump, commit, tag, and (with --publish) publish."""

from __future__ import annotations

import argparse
from pathlib import Path

from ..release import flow as release_flow

HELP = "release a version: run every gate, bump, commit, tag and optionally publish to Hex then PyPI"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("part", nargs="?", help="major | minor | patch | pre | release | X.Y.Z[-rc.N] (omit to resume)")
    parser.add_argument("--publish", action="store_true", help="publish to Hex (HEX_API_KEY) then PyPI (TWINE_*)")
    parser.add_argument("--dry-run", action="store_true", help="run every gate and print the plan; change nothing")
    parser.add_argument("--allow-empty", action="store_true", help="release with an empty [Unreleased] section")
    parser.add_argument("--date", help="release date for the changelog (YYYY-MM-DD; default today)")
    parser.add_argument("--project", "--root", default=".", type=Path, help="project directory (default: .)")


def run(args: argparse.Namespace, out) -> int:
    def on_step(step: str, status: str, detail: str) -> None:
        label = out.style(status.upper(), status) if status in ("pass", "fail") else status
        out.line(f"{label:>6}  {step}" + (f": {detail}" if detail else ""))
        out.stream.flush()  # progress, also when stdout is a pipe (CI logs, nox -s release | tee)

    result = release_flow.release(
        args.project,
        args.part,
        publish=args.publish,
        dry_run=args.dry_run,
        allow_empty=args.allow_empty,
        today=args.date,
        on_step=on_step,
    )
    if result.dry_run:
        out.line(f"dry run: {result.tag} passes every gate; this is the plan (nothing was changed):")
        out.line(result.plan_diff.rstrip())
        out.line(
            f"then: commit 'Release {result.tag}', annotated tag {result.tag}"
            + (", publish Hex then PyPI" if args.publish else "")
        )
        return 0
    if result.resumed:
        out.line(f"{result.tag}: published {', '.join(result.published) or 'nothing new'}")
    else:
        out.line(f"released {result.tag} (commit {result.commit[:12] if result.commit else '?'})")
        if not args.publish:
            out.line(f"publish with: nox -s release -- --publish   (or git push origin {result.tag} for CI)")
    return 0
