"""Start a bridge server, wait for ``READY <port>``, call it, stop it.

The server runs as a long-lived child, which ``proc.run`` (run to completion)
does not cover; this module resolves the executable the same way and keeps
the same rules: argv lists only, output captured and shown on failure.
"""

from __future__ import annotations

import contextlib
import json
import queue
import signal
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import proc
from ..errors import HexpackError
from ..secrets import without_secrets
from .gates import Finding, fail

CLIENT = Path(__file__).with_name("smoke_client.py")


@dataclass
class ServerCheck:
    findings: list[Finding] = field(default_factory=list)
    port: int | None = None
    ready_seconds: float | None = None
    exit_code: int | None = None
    client: dict[str, Any] | None = None
    output: str = ""

    def to_json(self) -> dict[str, Any]:
        return {
            "port": self.port,
            "ready_seconds": None if self.ready_seconds is None else round(self.ready_seconds, 3),
            "exit_code": self.exit_code,
            "client": self.client,
        }


def _tail(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[:400]


def check_server(
    server_argv: Sequence[str],
    *,
    client_python: Path,
    client_args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    subject: str,
    timeout: float = 30.0,
) -> ServerCheck:
    """Run ``server_argv``; on ``READY <port>`` run the smoke client; SIGTERM; expect exit 0.

    The server and the client never get the publishing secrets, whatever ``env`` holds.
    """
    env = without_secrets(env)
    result = ServerCheck()
    start = time.monotonic()
    try:
        server = proc.start(server_argv, cwd=cwd, env=env)
    except HexpackError as exc:
        result.findings.append(fail(f"cannot start the server: {exc.what}", subject=subject))
        return result
    lines: queue.Queue[str | None] = queue.Queue()
    output_lines: list[str] = []  # everything the server printed (stderr is merged into stdout)

    closed = threading.Event()

    def read_output() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            output_lines.append(line)
            lines.put(line)
        closed.set()
        lines.put(None)

    readers = [threading.Thread(target=read_output, daemon=True)]
    for reader in readers:
        reader.start()
    try:
        result.port = _wait_ready(lines, start + timeout)
        result.ready_seconds = time.monotonic() - start
        if result.port is None:
            if server.poll() is None and closed.is_set():
                with contextlib.suppress(subprocess.TimeoutExpired):  # stdout closed: let it exit
                    server.wait(timeout=2)
            if server.poll() is None:
                result.findings.append(fail(f"no `READY <port>` line within {timeout:.0f} s", subject=subject))
            else:
                _join(readers)
                why = _tail("".join(output_lines))
                result.findings.append(
                    fail(f"server exited with status {server.returncode} before `READY <port>`: {why}", subject=subject)
                )
            return result
        result.client = _run_client(client_python, client_args, result.port, env, cwd, start + timeout, subject, result)
        _stop(server, result, subject)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        if server.stdin:
            server.stdin.close()
        _join(readers)
        if server.stdout:
            server.stdout.close()
        result.output = "".join(output_lines)
    return result


def _join(readers: list[threading.Thread]) -> None:
    for reader in readers:
        reader.join(timeout=5)


def _wait_ready(lines: queue.Queue[str | None], deadline: float) -> int | None:
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return None
        try:
            line = lines.get(timeout=remaining)
        except queue.Empty:
            return None
        if line is None:
            return None
        parts = line.split()
        if len(parts) == 2 and parts[0] == "READY" and parts[1].isdigit():
            return int(parts[1])


def _run_client(
    python: Path,
    args: Sequence[str],
    port: int,
    env: Mapping[str, str],
    cwd: Path,
    deadline: float,
    subject: str,
    result: ServerCheck,
) -> dict[str, Any] | None:
    remaining = max(5.0, deadline - time.monotonic())
    argv = [str(python), str(CLIENT), "--port", str(port), "--timeout", f"{min(remaining, 15.0):.1f}", *args]
    try:
        done = proc.run(argv, env=dict(env), cwd=cwd, timeout=remaining, check=False)
    except HexpackError as exc:
        result.findings.append(fail(f"smoke client failed: {exc.one_line()}", subject=subject))
        return None
    if done.returncode != 0:
        result.findings.append(
            fail(
                f"health check / Ping failed (exit {done.returncode}): {_tail(done.stderr + done.stdout)}",
                subject=subject,
            )
        )
        return None
    try:
        reply = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result.findings.append(
            fail(f"smoke client printed no result: {_tail(done.stdout + done.stderr)}", subject=subject)
        )
        return None
    if reply.get("health") != "SERVING":
        result.findings.append(fail(f"health check answered {reply.get('health')}, not SERVING", subject=subject))
    return reply


def _stop(server: subprocess.Popen[str], result: ServerCheck, subject: str) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        result.exit_code = server.wait(timeout=10)
    except subprocess.TimeoutExpired:
        result.findings.append(fail("server did not stop within 10 s of SIGTERM", subject=subject))
        return
    if result.exit_code != 0:
        result.findings.append(
            fail(f"server exited with status {result.exit_code} after SIGTERM, not 0", subject=subject)
        )
