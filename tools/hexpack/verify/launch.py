"""Start a bridge server, wait until it is ready, call it, stop it.

Readiness is a ``READY <port>`` line on stdout by default, or another pattern,
a file the server writes its port to, or a command that exits 0 (see
:class:`Readiness`).

The server runs as a long-lived child, which ``proc.run`` (run to completion)
does not cover; this module resolves the executable the same way and keeps
the same rules: argv lists only, output captured and shown on failure.
"""

from __future__ import annotations

import collections
import contextlib
import json
import queue
import re
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


def last_lines(text: str, lines: int = 3) -> str:
    kept = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return " | ".join(kept[-lines:])[:400]


def shown_argv(argv: Sequence[str]) -> str:
    """``argv`` for a message, paths cut to their last part (no temporary directories in reports)."""
    return " ".join(Path(a).name if "/" in a else a for a in argv)


@dataclass(frozen=True)
class Readiness:
    """How a started server says that it serves, and on which port (``[verify.smoke] ready``)."""

    mode: str = "stdout"  # stdout | file | command
    pattern: str = r"READY (\d+)"  # stdout: group 1 is the port
    file: Path | None = None  # file: where the server writes its port
    file_env: str = ""  # file: the variable that names it (for messages)
    command: tuple[str, ...] = ()  # command: exit 0 means ready
    port: int | None = None  # command: the port the server was told to use

    def awaited(self) -> str:
        """What readiness looks like, for messages: ``server exited ... before <awaited>``."""
        if self.mode == "file":
            return f"writing its port to ${self.file_env or 'READY_FILE'}"
        if self.mode == "command":
            return f"`{shown_argv(self.command[:4])}` exited 0"
        return "`READY <port>`" if self.pattern == r"READY (\d+)" else f"a line matching `{self.pattern}`"

    def missing(self) -> str:
        """``<missing> within N s``."""
        if self.mode == "file":
            return f"no port written to ${self.file_env or 'READY_FILE'}"
        if self.mode == "command":
            return f"no zero exit of {self.awaited().removesuffix(' exited 0')}"
        return "no `READY <port>` line" if self.pattern == r"READY (\d+)" else f"no line matching `{self.pattern}`"


STDOUT = Readiness()


class Output:
    """A started process's merged stdout/stderr, read by a thread: the last lines kept, and queued for waiting.

    Both are bounded (a package is hostile until proven otherwise): ``KEPT`` lines are kept for
    messages, and lines nobody waits for (readiness by file or command) are dropped once ``QUEUED`` wait.
    """

    KEPT = 500
    QUEUED = 10_000

    def __init__(self, process: subprocess.Popen[str]):
        self.process = process
        self.lines: queue.Queue[str | None] = queue.Queue(maxsize=self.QUEUED)
        self.kept: collections.deque[str] = collections.deque(maxlen=self.KEPT)
        self.closed = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.kept.append(line)
            with contextlib.suppress(queue.Full):
                self.lines.put_nowait(line)
        self.closed.set()
        while True:  # the end marker always gets in: make room by dropping the oldest unread line
            try:
                self.lines.put_nowait(None)
                return
            except queue.Full:
                with contextlib.suppress(queue.Empty):
                    self.lines.get_nowait()

    def join(self) -> None:
        self._reader.join(timeout=5)

    def text(self) -> str:
        return "".join(self.kept)

    def wait_line(self, pattern: str, deadline: float) -> int | None:
        """The port in the first line matching ``pattern`` (group 1), or None at EOF or the deadline."""
        regex = re.compile(pattern)
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                return None
            if line is None:
                return None
            match = regex.search(line.strip())
            if match and match.group(1).isdigit():
                return int(match.group(1))


def stop_process(process: subprocess.Popen[str], output: Output | None) -> None:
    """Kill ``process`` if it still runs, close its pipes and wait for its reader."""
    if process.poll() is None:
        process.kill()
        process.wait()
    if process.stdin:
        with contextlib.suppress(OSError):
            process.stdin.close()
    if output is not None:
        output.join()
    if process.stdout:
        process.stdout.close()


def check_server(
    server_argv: Sequence[str],
    *,
    client_python: Path,
    client_args: Sequence[str],
    env: Mapping[str, str],
    cwd: Path,
    subject: str,
    timeout: float = 30.0,
    ready: Readiness = STDOUT,
    health: bool = True,
    deadline: float | None = None,
) -> ServerCheck:
    """Run ``server_argv``; once ``ready`` says it serves, run the smoke client; SIGTERM; expect exit 0.

    ``deadline`` (``time.monotonic()``) ends the wait instead of now + ``timeout`` when steps before
    this one used part of the budget; messages still name ``timeout``, the budget as configured.
    The server and the client never get the publishing secrets, whatever ``env`` holds.
    """
    env = without_secrets(env)
    result = ServerCheck()
    start = time.monotonic()
    end = deadline if deadline is not None else start + timeout
    try:
        server = proc.start(server_argv, cwd=cwd, env=env)
    except HexpackError as exc:
        result.findings.append(fail(f"cannot start the server: {exc.what}", subject=subject))
        return result
    output = Output(server)
    try:
        result.port = _wait_ready(server, output, ready, end, env, cwd)
        result.ready_seconds = time.monotonic() - start
        if result.port is None:
            if server.poll() is None and output.closed.is_set():
                with contextlib.suppress(subprocess.TimeoutExpired):  # stdout closed: let it exit
                    server.wait(timeout=2)
            if server.poll() is None:
                result.findings.append(fail(f"{ready.missing()} within {timeout:.0f} s", subject=subject))
            else:
                output.join()
                why = last_lines(output.text())
                result.findings.append(
                    fail(
                        f"server exited with status {server.returncode} before {ready.awaited()}: {why}",
                        subject=subject,
                    )
                )
            return result
        result.client = _run_client(client_python, client_args, result.port, env, cwd, end, subject, result)
        if result.client is not None and health and result.client.get("health") != "SERVING":
            result.findings.append(
                fail(f"health check answered {result.client.get('health')}, not SERVING", subject=subject)
            )
        _stop(server, result, subject)
    finally:
        stop_process(server, output)
        result.output = output.text()
    return result


def _wait_ready(
    server: subprocess.Popen[str],
    output: Output,
    ready: Readiness,
    deadline: float,
    env: Mapping[str, str],
    cwd: Path,
) -> int | None:
    if ready.mode == "stdout":
        return output.wait_line(ready.pattern, deadline)
    while time.monotonic() < deadline and server.poll() is None:
        if ready.mode == "file" and ready.file is not None:
            with contextlib.suppress(OSError, UnicodeDecodeError):
                written = ready.file.read_text(encoding="utf-8").strip()
                if written.isdigit():
                    return int(written)
        elif ready.mode == "command" and ready.command:
            remaining = max(1.0, deadline - time.monotonic())
            with contextlib.suppress(HexpackError):
                done = proc.run(list(ready.command), env=dict(env), cwd=cwd, timeout=remaining, check=False)
                if done.returncode == 0:
                    return ready.port
        time.sleep(0.05)
    return None


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
                f"calling the server failed (exit {done.returncode}): {last_lines(done.stderr + done.stdout)}",
                subject=subject,
            )
        )
        return None
    try:
        reply = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        result.findings.append(
            fail(f"smoke client printed no result: {last_lines(done.stdout + done.stderr)}", subject=subject)
        )
        return None
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
