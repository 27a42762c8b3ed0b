"""`hexpack stubs`: generate the protobuf/gRPC stubs with the pinned grpcio-tools."""

from __future__ import annotations

from pathlib import Path

from ..fsutil import FileTransaction, finish_interrupted_write, project_lock
from . import add_project_option

HELP = (
    "generate *_pb2.py, *_pb2_grpc.py and *_pb2.pyi with the grpcio-tools pinned in [tool.hexpack.stubs]; "
    "skipped when nothing changed; --check compares the committed stubs"
)


def configure(parser) -> None:
    add_project_option(parser)
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument(
        "--check", action="store_true", help="regenerate into a temporary directory; exit 1 listing stale stubs"
    )
    mode.add_argument("--force", action="store_true", help="regenerate even when the inputs did not change")


def run(args, out) -> int:
    # lazy: the command's engine loads only when the command runs (CLI start-up)
    from ..python import stubs

    root = args.root.resolve()
    show = _shower(root)
    if args.check:
        recovered = finish_interrupted_write(root, "hexpack stubs --check")  # judge whole stubs, not a killed run's
        if recovered:
            out.warn(recovered)
        result = stubs.check(root)
        for label, paths in (("stale", result.stale), ("missing", result.missing), ("extra", result.extra)):
            for path in paths:
                out.error(f"{show(path)}: {label} stub")
        for path, same in result.foreign.items():
            out.error(f"{show(path)}: {stubs.foreign_what(same)}")
        for problem in result.floor_problems:
            out.error(problem.one_line())
        if result.foreign and not (result.stale or result.missing or result.extra):
            out.error(f"the committed stubs are not hexpack's yet; {stubs.ADOPT_HINT}")
        elif result.stale or result.missing or result.extra:
            out.error("the committed stubs differ from what the pinned grpcio-tools generates; run `hexpack stubs`")
        if not result.ok:
            return 1
        out.line("stubs up to date")
        return 0
    with project_lock(root, "hexpack stubs") as lock:  # journaled: a killed run leaves the stubs all old or all new
        if lock.recovered:
            out.warn(lock.recovered)
        result = stubs.generate(root, force=args.force, transaction=FileTransaction(root=root))
    if result.skipped:
        out.line(f"stubs up to date (fingerprint {result.fingerprint}); nothing written; --force regenerates")
    else:
        for path in result.written:
            out.line(f"wrote {show(path)}")
        for path in result.removed:
            out.line(f"removed {show(path)}")
        out.line(f"{len(result.written)} written, {len(result.unchanged)} unchanged, {len(result.removed)} removed")
    for problem in result.floor_problems:
        out.error(problem.one_line())
    return 1 if result.floor_problems else 0


def _shower(root: Path):
    def show(path: Path) -> str:
        try:
            return path.resolve().relative_to(root).as_posix()
        except ValueError:
            return str(path)

    return show
