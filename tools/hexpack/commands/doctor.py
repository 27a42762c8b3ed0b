"""`hexpack doctor`: is this machine ready to test and release the project?"""

from __future__ import annotations

from ..onboarding import doctor
from . import add_project_option

HELP = "check Pythons, uv, nox, Elixir/Hex, grpcio-tools and git; every gap with the command that fixes it"


def configure(parser) -> None:
    add_project_option(parser)
    parser.add_argument("--publish", action="store_true", help="also require what publishing needs (Hex, tokens)")
    parser.add_argument("--json", action="store_true", help="print the checks as JSON")


def run(args, out) -> int:
    checks = doctor.diagnose(args.root, publish=args.publish)
    failing = doctor.blocking(checks)
    if args.json:
        out.json({"ok": not failing, "checks": [c.to_json() for c in checks]})
        return 1 if failing else 0
    rows = [
        (c.name, c.status, c.found + (f"  ({c.note})" if c.note and c.status != doctor.OK else ""), c.fix)
        for c in checks
    ]
    out.table(("check", "status", "found", "fix"), rows, status_column=1)
    warnings = [c for c in checks if c.status == doctor.WARN]
    if failing:
        out.error(
            f"{len(failing)} gap(s) would stop a release: {', '.join(c.name for c in failing)}; run the fix shown"
        )
        return 1
    out.line()
    out.line("ready to release" + (f" ({len(warnings)} warning(s))" if warnings else ""))
    return 0
