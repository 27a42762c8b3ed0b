"""``[tool.hexpack.verify.smoke]`` and ``[tool.hexpack.verify.consumer]``: how the server is proven.

Every key is optional; the defaults are the contract of this repository's own
server (``HexpackBridge.Server``)::

    [tool.hexpack.verify.smoke]
    command = ["{python}", "{server}", "--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"]
    env = {}                  # extra environment (PYTHONPATH={python_root} and PYTHONUNBUFFERED=1 are set)
    ready = "stdout"          # stdout | file | command
    ready_pattern = 'READY (\\d+)'   # ready = "stdout": a line matching it; group 1 is the port
    ready_file_env = ""       # ready = "file": the variable through which the server gets a path to write its port to
    ready_command = []        # ready = "command": run until it exits 0 (default: preflight); the port is {port}
    preflight = []            # run once before the server starts; must exit 0
    rpc = ""                  # "package.Service/Method" (unary, request default-constructed); "" = a service's Ping
    health = true             # also check grpc.health.v1.Health
    peer = ""                 # a service hexpack serves (default replies) at {peer} before the server starts
    requirements = []         # more requirement strings installed next to the shipped requirements file
    imports = []              # server = false: modules to import (default: every shipped top-level module)
    timeout = 60              # seconds (default: smoke_timeout)

    [tool.hexpack.verify.consumer]
    snippet = ""              # Elixir run in a throwaway mix project depending on the unpacked package

Templates (``command``, ``env`` values, ``preflight``, ``ready_command``,
``requirements``) may use ``{python}`` (the venv's interpreter), ``{server}``
(the unpacked server script), ``{port}`` (a free port hexpack chose),
``{peer}`` (``127.0.0.1:<port>`` of the stand-in peer), ``{ready_file}`` (the
path given through ``ready_file_env``), ``{package}`` (the unpacked package)
and ``{python_root}`` (its Python directory).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PLACEHOLDERS = ("python", "server", "port", "peer", "ready_file", "package", "python_root")
READY_MODES = ("stdout", "file", "command")
DEFAULT_COMMAND = ("{python}", "{server}", "--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof")
DEFAULT_READY_PATTERN = r"READY (\d+)"
_FIELD = re.compile(r"\{([^{}]*)\}")
_RPC = re.compile(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*/[A-Za-z_]\w*$")


@dataclass(frozen=True)
class SmokeSettings:
    command: tuple[str, ...] = DEFAULT_COMMAND
    env: tuple[tuple[str, str], ...] = ()
    ready: str = "stdout"
    ready_pattern: str = DEFAULT_READY_PATTERN
    ready_file_env: str = ""
    ready_command: tuple[str, ...] = ()
    preflight: tuple[str, ...] = ()
    rpc: str = ""
    health: bool = True
    peer: str = ""
    requirements: tuple[str, ...] = ()
    imports: tuple[str, ...] = ()
    timeout: float | None = None  # None: [tool.hexpack.verify] smoke_timeout

    @property
    def method(self) -> str:
        """The method the smoke client calls (``Ping`` unless ``rpc`` names another)."""
        return self.rpc.rpartition("/")[2] if self.rpc else "Ping"

    @property
    def service(self) -> str:
        return self.rpc.partition("/")[0] if self.rpc else ""

    def readiness_argv(self) -> tuple[str, ...]:
        return self.ready_command or self.preflight


@dataclass(frozen=True)
class ConsumerSettings:
    snippet: str = ""


def fill(template: str, values: Mapping[str, str]) -> str:
    """``template`` with each ``{name}`` replaced (names checked when the settings were read)."""
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def _placeholders_ok(key: str, texts: list[str], problems: list[str]) -> None:
    unknown = sorted({m for text in texts for m in _FIELD.findall(text) if m not in PLACEHOLDERS})
    if unknown:
        shown = ", ".join("{" + u + "}" for u in unknown)
        problems.append(f"smoke.{key} uses unknown placeholder(s) {shown} (known: {', '.join(PLACEHOLDERS)})")


def smoke_from_table(table: Any, problems: list[str]) -> SmokeSettings:
    """``[verify.smoke]`` read into SmokeSettings; each problem appended to ``problems`` as one phrase."""
    if not isinstance(table, dict):
        problems.append("smoke must be a table ([tool.hexpack.verify.smoke])")
        return SmokeSettings()
    known = set(SmokeSettings.__dataclass_fields__)
    unknown = sorted(set(table) - known)
    if unknown:
        problems.append(f"unknown smoke key(s) {', '.join(unknown)}")
    kwargs: dict[str, Any] = {}

    def argv(key: str, *, allow_empty: bool = True) -> None:
        if key not in table:
            return
        value = table[key]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"smoke.{key} must be a list of strings (an argv, no shell)")
        elif not value and not allow_empty:
            problems.append(f"smoke.{key} must not be empty")
        else:
            _placeholders_ok(key, value, problems)
            kwargs[key] = tuple(value)

    argv("command", allow_empty=False)
    argv("preflight")
    argv("ready_command")
    argv("requirements")
    if "imports" in table:
        value = table["imports"]
        if not isinstance(value, list) or not all(isinstance(v, str) and _is_module(v) for v in value):
            problems.append('smoke.imports must be a list of module names (e.g. ["snakebridge_adapter"])')
        else:
            kwargs["imports"] = tuple(value)
    if "env" in table:
        env = table["env"]
        if not isinstance(env, dict) or not all(isinstance(v, str) for v in env.values()):
            problems.append('smoke.env must be a table of strings (e.g. { SNAKEPIT_LOG_LEVEL = "info" })')
        else:
            _placeholders_ok("env", list(env.values()), problems)
            kwargs["env"] = tuple(env.items())
    for key in ("ready", "ready_pattern", "ready_file_env", "rpc", "peer"):
        if key in table:
            if isinstance(table[key], str):
                kwargs[key] = table[key]
            else:
                problems.append(f"smoke.{key} must be a string")
    ready = kwargs.get("ready", "stdout")
    if ready not in READY_MODES:
        problems.append(f"smoke.ready must be one of {', '.join(READY_MODES)}, not {ready!r}")
    pattern = kwargs.get("ready_pattern", DEFAULT_READY_PATTERN)
    try:
        if re.compile(pattern).groups < 1:
            problems.append(f"smoke.ready_pattern {pattern!r} has no group; write the port as group 1: 'READY (\\d+)'")
    except re.error as exc:
        problems.append(f"smoke.ready_pattern {pattern!r} is not a regular expression ({exc})")
    env_name = kwargs.get("ready_file_env", "")
    if ready == "file" and not re.fullmatch(r"[A-Za-z_]\w*", env_name):
        problems.append('smoke.ready = "file" needs ready_file_env, the variable naming the file (e.g. "READY_FILE")')
    if ready == "command" and not (kwargs.get("ready_command") or kwargs.get("preflight")):
        problems.append('smoke.ready = "command" needs ready_command (or preflight): an argv whose exit 0 means ready')
    for key in ("rpc", "peer"):
        value = kwargs.get(key, "")
        if key == "rpc" and value and not _RPC.match(value):
            problems.append(f'smoke.rpc {value!r} must read "package.Service/Method"')
        if key == "peer" and value and not re.fullmatch(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*|[A-Za-z_]\w*", value):
            problems.append(f'smoke.peer {value!r} must be a service name such as "package.Service"')
    if "health" in table:
        if isinstance(table["health"], bool):
            kwargs["health"] = table["health"]
        else:
            problems.append("smoke.health must be true or false")
    if "timeout" in table:
        value = table["timeout"]
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            problems.append("smoke.timeout must be a positive number of seconds")
        else:
            kwargs["timeout"] = float(value)
    return SmokeSettings(**kwargs)


def consumer_from_table(table: Any, problems: list[str]) -> ConsumerSettings:
    if not isinstance(table, dict):
        problems.append("consumer must be a table ([tool.hexpack.verify.consumer])")
        return ConsumerSettings()
    unknown = sorted(set(table) - {"snippet"})
    if unknown:
        problems.append(f"unknown consumer key(s) {', '.join(unknown)}")
    snippet = table.get("snippet", "")
    if not isinstance(snippet, str):
        problems.append("consumer.snippet must be a string of Elixir code")
        snippet = ""
    return ConsumerSettings(snippet=snippet)


def _is_module(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))
