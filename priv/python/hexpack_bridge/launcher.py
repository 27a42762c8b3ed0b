"""The command line of the bridge server: ``grpc_server.py`` and ``hexpack-bridge-server``.

Prints exactly one line on stdout, ``READY <port>``, once the server accepts
calls; everything else goes to stderr. Exit codes: 0 after a SIGTERM/SIGINT
(or stdin EOF with ``--exit-on-stdin-eof``) shutdown, 1 when it cannot listen,
2 for bad usage, 3 when a dependency is missing or too old.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import os
import signal
import sys
import threading
from pathlib import Path

EXIT_OK = 0
EXIT_LISTEN = 1
EXIT_DEPENDENCY = 3

# (import name, distribution name), in requirements.txt order.
DEPENDENCIES = (("grpc", "grpcio"), ("grpc_health", "grpcio-health-checking"), ("google.protobuf", "protobuf"))

log = logging.getLogger("hexpack_bridge")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="hexpack-bridge-server",
        description="Serve hexpack_bridge's Bridge and grpc.health.v1 services; print 'READY <port>' when serving.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default: %(default)s)")
    parser.add_argument("--port", type=int, default=0, help="port to listen on; 0 picks a free one (default: 0)")
    parser.add_argument(
        "--grace", type=float, default=2.0, help="seconds in-flight calls get on shutdown (default: %(default)s)"
    )
    parser.add_argument(
        "--exit-on-stdin-eof",
        action="store_true",
        help="also shut down when stdin closes (the Elixir side passes this, so the server dies with the VM)",
    )
    parser.add_argument(
        "--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"], help="stderr log level"
    )
    return parser


def _python_name() -> str:
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def _install_hint(requirements: Path | None) -> str:
    if requirements is None:
        return "pip install hexpack-bridge"
    try:
        shown = os.path.relpath(requirements)
    except ValueError:
        shown = str(requirements)
    if shown.startswith(".."):
        shown = str(requirements)
    return f"pip install -r {shown}"


def _missing_distributions() -> list[str]:
    missing = []
    for module, distribution in DEPENDENCIES:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:  # a missing parent package, e.g. no "google"
            found = False
        if not found:
            missing.append(distribution)
    return missing


def _dependency_problem(requirements: Path | None) -> str | None:
    """One line naming what is missing or too old, with the fix; None when all is well."""
    where = f"{_python_name()} ({sys.executable})"
    missing = _missing_distributions()
    if missing:
        names = missing[0] if len(missing) == 1 else ", ".join(missing[:-1]) + " and " + missing[-1]
        verb = "is" if len(missing) == 1 else "are"
        return f"{names} {verb} not installed for {where}: {_install_hint(requirements)}"
    try:
        # Importing the stubs checks the installed protobuf and grpcio against their floors.
        for module in ("hexpack_bridge.bridge_pb2", "hexpack_bridge.bridge_pb2_grpc", "hexpack_bridge.server"):
            importlib.import_module(module)
    except Exception as exc:  # protobuf's VersionError, grpc's RuntimeError, a broken install
        reason = " ".join(str(exc).split())
        return f"hexpack_bridge's stubs cannot load on {where} ({reason}): {_install_hint(requirements)}"
    return None


def main(argv: list[str] | None = None, *, requirements: Path | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr, level=args.log_level, format="hexpack_bridge %(levelname)s %(message)s", force=True
    )
    # grpc's C core logs bind failures itself; we report them in one line instead.
    os.environ.setdefault("GRPC_VERBOSITY", "DEBUG" if args.log_level == "DEBUG" else "NONE")
    problem = _dependency_problem(requirements)
    if problem is not None:
        print(problem, file=sys.stderr, flush=True)
        return EXIT_DEPENDENCY

    from hexpack_bridge.server import ListenError, start_server

    stop = StopRequest()

    try:
        running = start_server(args.host, args.port)
    except ListenError as exc:
        print(f"hexpack_bridge: {exc}", file=sys.stderr, flush=True)
        return EXIT_LISTEN

    if args.exit_on_stdin_eof:
        threading.Thread(target=_watch_stdin, args=(stop,), name="stdin-watchdog", daemon=True).start()

    sys.stdout.write(f"READY {running.port}\n")
    sys.stdout.flush()
    reason = stop.wait()
    log.info("%s, shutting down", f"received {signal.Signals(reason).name}" if reason else "stdin closed")
    running.stop(grace=max(0.0, min(args.grace, 3.5)))
    log.info("stopped")
    return EXIT_OK


class StopRequest:
    """Why the server should stop (a signal number, or 0 for stdin closed), handed to the main thread.

    A Python signal handler runs in the main thread between two bytecodes, perhaps while that thread
    holds a lock: ``threading.Event.set()`` there waited forever for the Event's own lock when SIGTERM
    landed inside ``Event.wait``, and the server ignored SIGTERM until it was killed. So no Python code
    runs for the signal: the interpreter's C handler writes the signal's number to a pipe
    (``signal.set_wakeup_fd``), from whichever thread the kernel chose, and the main thread blocks
    reading that pipe, which a signal to another thread would not interrupt.
    """

    def __init__(self, signals: tuple[int, ...] = (signal.SIGTERM, signal.SIGINT)) -> None:
        self._signals = frozenset(signals)
        self._read, self._write = os.pipe()
        os.set_blocking(self._write, False)
        signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for signum in signals:
            signal.signal(signum, _no_python_handler)

    def request(self, reason: int = 0) -> None:
        with contextlib.suppress(BlockingIOError):  # the pipe is full of earlier requests: one is enough
            os.write(self._write, bytes([reason]))

    def wait(self) -> int:
        """Block until the first request; return its reason."""
        while True:
            reason = os.read(self._read, 1)[0]
            if reason == 0 or reason in self._signals:  # other signals with Python handlers write here too
                return reason


def _no_python_handler(signum: int, frame: object) -> None:
    """Installed so that the C handler, not the default action, takes the signal; StopRequest reads it."""


def _watch_stdin(stop: StopRequest) -> None:
    try:
        while os.read(0, 4096):
            pass
    except OSError:
        pass
    stop.request()


def run() -> None:
    """Console-script entry point (``hexpack-bridge-server``)."""
    sys.exit(main())
