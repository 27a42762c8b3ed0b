"""`hexpack verify`: prove that the Hex tarball and the Python dist carry a working server."""

from __future__ import annotations

import json
import re
from pathlib import Path

from ..errors import UsageError, raise_together
from ..fsutil import atomic_write_text
from ..verify.runner import GATE_GROUPS, Options, verify
from ..verify.settings import RESOLUTIONS

HELP = "check the built Hex tarball and Python dist: freshness, contents, a smoke test per Python, the wheel"


def configure(parser) -> None:
    parser.add_argument("--project", "--root", default=".", metavar="DIR", help="mix project directory (default: .)")
    parser.add_argument(
        "--tarball", metavar="FILE", help="verify this tarball (e.g. one from hex.pm) instead of building one"
    )
    parser.add_argument(
        "--engine",
        choices=("auto", "builtin", "mix", "both"),
        default=None,
        help="who builds the tarball: mix hex.build when Hex is installed, else builtin (auto, the default); "
        "both builds twice and fails on any difference",
    )
    parser.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    parser.add_argument(
        "--skip",
        action="append",
        default=[],
        metavar="GATE",
        help=f"skip gate(s), comma-separated: {', '.join(GATE_GROUPS)}",
    )
    parser.add_argument(
        "--python", action="append", default=[], metavar="X.Y", help="smoke-test only these versions (repeatable)"
    )
    parser.add_argument(
        "--resolution", action="append", default=[], choices=RESOLUTIONS, help="smoke-test only latest or floors"
    )
    parser.add_argument(
        "--dist-dir", metavar="DIR", help="leave the verified Python sdist and wheel in DIR (used by hexpack release)"
    )
    parser.add_argument("--fresh", action="store_true", help="build every venv anew instead of reusing cached ones")
    parser.add_argument("--allow-warnings", action="store_true", help="exit 0 when gates only warn")
    parser.add_argument("--reader", choices=("auto", "elixir", "static"), default="auto", help="how to read mix.exs")
    parser.add_argument("--jobs", type=int, default=None, metavar="N", help="smoke tests run at once")


def run(args, out) -> int:
    root = Path(args.project)
    if args.tarball is None and not (root / "mix.exs").is_file():
        raise UsageError("no mix.exs here", subject=str(root), hint="pass --project DIR, or --tarball FILE")
    _check_arguments(args)
    skip = frozenset(part.strip() for item in args.skip for part in item.split(",") if part.strip())
    options = Options(
        root=root,
        tarball=Path(args.tarball) if args.tarball else None,
        engine=args.engine,
        skip=skip,
        pythons=tuple(args.python) or None,
        resolutions=tuple(dict.fromkeys(args.resolution)) or None,
        fresh=args.fresh,
        reader=args.reader,
        workers=args.jobs,
        dist_dir=Path(args.dist_dir) if args.dist_dir else None,
    )
    report = verify(options, on_gate=_progress(out))
    out.line()
    out.table(("gate", "check", "status", "reasons"), report.rows(), status_column=2)
    out.line()
    ok = report.ok(allow_warnings=args.allow_warnings)
    out.line(("verify passed: " if ok else "verify FAILED: ") + report.summary())
    if args.json:
        try:
            atomic_write_text(Path(args.json), json.dumps(report.to_json(), indent=2, sort_keys=True) + "\n")
        except OSError as exc:
            raise UsageError(f"cannot write the report: {exc.strerror or exc}", subject=args.json) from None
    return 0 if ok else 1


def _check_arguments(args) -> None:
    """Refuse bad options before minutes of gates run, every problem at once."""
    problems = []
    if args.json:
        parent = Path(args.json).resolve().parent
        if not parent.is_dir():
            problems.append(UsageError("its directory does not exist", subject=f"--json {args.json}"))
    if args.jobs is not None and args.jobs < 1:
        problems.append(UsageError("must be at least 1", subject=f"--jobs {args.jobs}"))
    for version in args.python:
        if not re.fullmatch(r"3\.\d+", version):
            problems.append(
                UsageError("is not a Python version", subject=f"--python {version}", hint="write it as 3.12")
            )
    raise_together(problems, summary="bad options")


def _progress(out):
    """One line per gate as it finishes (gates run for minutes: venvs, builds, servers), before the table."""

    def show(gate) -> None:
        status = gate.status.value
        reasons = gate.reasons()
        first = reasons[0] if reasons else ""
        more = f" (+{len(reasons) - 1} more)" if len(reasons) > 1 else ""
        out.line(
            f"{out.style(status.upper(), status):>4}  {gate.group}: {gate.name} ({gate.seconds:.1f} s)  {first}{more}"
        )

    return show
