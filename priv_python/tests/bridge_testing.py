"""Helpers for hexpack_bridge's tests: the REAL server, started as a subprocess.

``launch()`` runs ``grpc_server.py`` with ``--port 0`` on 127.0.0.1 and reads its
``READY <port>`` line; stderr goes to a file the tests can read.
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

PRIV_PYTHON = Path(__file__).resolve().parent.parent
REPO = PRIV_PYTHON.parent
SOURCE_SCRIPT = PRIV_PYTHON / "grpc_server.py"
ASSEMBLED_SCRIPT = REPO / "priv" / "python" / "grpc_server.py"

# The client side of the tests imports the stubs from this source tree.
if str(PRIV_PYTHON) not in sys.path:
    sys.path.insert(0, str(PRIV_PYTHON))


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    port: int
    stderr_path: Path
    leftover_stdout: bytes = b""
    address: str = field(init=False)

    def __post_init__(self) -> None:
        self.address = f"127.0.0.1:{self.port}"

    def stderr(self) -> str:
        return self.stderr_path.read_text(errors="replace")

    def terminate(self, sig: int = signal.SIGTERM, timeout: float = 10.0) -> tuple[int, float]:
        """Send ``sig``; return (exit code, seconds it took)."""
        started = time.monotonic()
        self.proc.send_signal(sig)
        code = self.proc.wait(timeout=timeout)
        return code, time.monotonic() - started

    def rest_of_stdout(self) -> bytes:
        assert self.proc.stdout is not None
        return self.leftover_stdout + self.proc.stdout.read()


class ServerDidNotStart(AssertionError):
    pass


def launch(
    script: Path = SOURCE_SCRIPT,
    *args: str,
    python: str = sys.executable,
    env: dict[str, str] | None = None,
    tmp_dir: Path,
    timeout: float = 15.0,
    stdin: int = subprocess.DEVNULL,
    cwd: Path | None = None,
) -> Server:
    stderr_path = tmp_dir / f"server-{time.monotonic_ns()}.stderr"
    with stderr_path.open("wb") as stderr:
        proc = subprocess.Popen(
            [python, str(script), "--host", "127.0.0.1", "--port", "0", *args],
            stdin=stdin,
            stdout=subprocess.PIPE,
            stderr=stderr,
            env=env,
            cwd=cwd,
        )
    assert proc.stdout is not None
    buffer = b""
    deadline = time.monotonic() + timeout
    fd = proc.stdout.fileno()
    while b"\n" not in buffer:
        left = deadline - time.monotonic()
        if left <= 0:
            _abandon(proc)
            raise ServerDidNotStart(f"no READY line within {timeout} s; stderr: {stderr_path.read_text()}")
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            chunk = os.read(fd, 4096)
            if not chunk:
                code = _abandon(proc)
                raise ServerDidNotStart(f"server exited with {code} before READY; stderr: {stderr_path.read_text()}")
            buffer += chunk
    line, _, rest = buffer.partition(b"\n")
    word, _, port = line.decode().partition(" ")
    if word != "READY" or not port.isdigit():
        _abandon(proc)
        raise ServerDidNotStart(f"first stdout line is {line!r}, expected 'READY <port>'")
    return Server(proc, int(port), stderr_path, rest)


def _abandon(proc: subprocess.Popen[bytes]) -> int:
    """Kill a server that did not start and close its pipe; returns its exit code."""
    if proc.poll() is None:
        proc.kill()
    code = proc.wait()
    if proc.stdout is not None:
        proc.stdout.close()
    return code


def stop(server: Server) -> None:
    if server.proc.poll() is None:
        server.proc.kill()
        server.proc.wait()
    if server.proc.stdout is not None:
        server.proc.stdout.close()


def which_or_skip(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.skip(f"{name} is not installed")
    return found
