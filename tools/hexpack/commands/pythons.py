"""`hexpack pythons`: the targeted Python versions and the interpreter found for each."""

from __future__ import annotations

from ..python import pythons
from . import add_project_option

HELP = "find an interpreter for each targeted Python (PATH, pyenv, uv, conda); exit 1 when one is missing"


def configure(parser) -> None:
    add_project_option(parser)
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.add_argument("--no-cache", action="store_true", help="run every candidate, ignoring the discovery cache")
    parser.add_argument(
        "--all", action="store_true", help="search for every interpreter, not only the targeted ones, and list them"
    )


def run(args, out) -> int:
    if args.all and not args.verbose:
        import logging  # lazy: start-up time

        # python-discovery warns about each interpreter too old for it to query (a Python 2 that --all meets)
        logging.getLogger("python_discovery").setLevel(logging.ERROR)
    targeted = pythons.targeted(args.root)
    cache = None if args.no_cache else pythons.discovery_cache(args.root)
    discovery = pythons.discover(only=None if args.all else targeted, cache=cache)
    chosen = {version: discovery.best(version) for version in targeted}
    missing = [v for v, found in chosen.items() if found is None]
    if args.json:
        out.json(
            {
                "targeted": targeted,
                "found": {v: (i.to_json() if i else None) for v, i in chosen.items()},
                "missing": missing,
                "interpreters": [i.to_json() for i in discovery.interpreters],
            }
        )
        return 1 if missing else 0
    rows = []
    for version, found in chosen.items():
        if found:
            rows.append((version, "ok", found.version, found.where, found.path))
        else:
            rows.append(
                (version, "fail", "-", "not found", f"uv python install {version}  (or: pyenv install {version})")
            )
    out.table(("python", "status", "version", "found in", "interpreter / fix"), rows, status_column=1)
    if args.all:
        used = {i.path for i in chosen.values() if i}
        others = [i for i in discovery.interpreters if i.path not in used]
        if others:
            out.line()
            out.line("other interpreters, in search order:")
            out.table(("version", "found in", "interpreter"), [(i.version, i.where, i.path) for i in others])
    if missing:
        out.error(f"targeted Python {', '.join(missing)} not found; install with the command shown")
        return 1
    return 0
