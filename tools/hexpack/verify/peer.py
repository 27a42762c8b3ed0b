"""The stand-in peer: the server's caller, served from the shipped stubs while the smoke test runs.

A server such as snakepit's pings its Elixir side (``BridgeService.Ping`` at
``--elixir-address``) before it serves. ``serving`` starts
``smoke_peer.py`` with the venv's python, answering every unary method of the
named service with its default response on 127.0.0.1, and yields its address
for ``{peer}``; the peer is stopped when the block ends.
"""

from __future__ import annotations

import contextlib
import subprocess
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

from .. import proc
from ..errors import HexpackError
from .launch import Output, last_lines, stop_process

SCRIPT = Path(__file__).with_name("smoke_peer.py")


@contextmanager
def serving(
    python: Path, stubs: Path, service: str, *, env: Mapping[str, str], cwd: Path, timeout: float
) -> Iterator[str]:
    """``127.0.0.1:<port>`` of a running stand-in for ``service``; raises HexpackError when it cannot start."""
    process = proc.start([str(python), str(SCRIPT), "--stubs", str(stubs), "--service", service], cwd=cwd, env=env)
    output = Output(process)
    try:
        port = output.wait_line(r"READY (\d+)", time.monotonic() + timeout)
        if port is None:
            if process.poll() is not None:
                output.join()
            raise HexpackError(
                f"the stand-in peer for {service} did not start: {last_lines(output.text()) or 'no output'}",
                subject="[verify.smoke] peer",
                hint="peer must name a service in the shipped *_pb2.py stubs",
            )
        yield f"127.0.0.1:{port}"
    finally:
        if process.poll() is None:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=5)
        stop_process(process, output)
