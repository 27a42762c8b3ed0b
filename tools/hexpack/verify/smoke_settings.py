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

from .. import settings_schema as schema

PLACEHOLDERS = ("python", "server", "port", "peer", "ready_file", "package", "python_root")
READY_MODES = ("stdout", "file", "command")
DEFAULT_COMMAND = ("{python}", "{server}", "--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof")
DEFAULT_READY_PATTERN = r"READY (\d+)"
_FIELD = re.compile(r"\{([^{}]*)\}")
_RPC = re.compile(r"^[A-Za-z_][\w.]*\.[A-Za-z_]\w*/[A-Za-z_]\w*$")
_SERVICE = re.compile(r"[A-Za-z_][\w.]*\.[A-Za-z_]\w*|[A-Za-z_]\w*")


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


def _placeholders(texts: tuple[str, ...] | dict[str, str]) -> str | None:
    """Why ``texts`` cannot be filled: placeholders ``fill`` does not know."""
    values = texts.values() if isinstance(texts, dict) else texts
    unknown = sorted({m for text in values for m in _FIELD.findall(text) if m not in PLACEHOLDERS})
    if unknown:
        shown = ", ".join("{" + u + "}" for u in unknown)
        return f"uses unknown placeholder(s) {shown} (known: {', '.join(PLACEHOLDERS)})"
    return None


def _ready_pattern(pattern: str) -> str | None:
    try:
        if re.compile(pattern).groups < 1:
            return f"{pattern!r} has no group; write the port as group 1: 'READY (\\d+)'"
    except re.error as exc:
        return f"{pattern!r} is not a regular expression ({exc})"
    return None


def _readiness(values: dict[str, Any]) -> list[str | tuple[str, str]]:
    """What each way of telling the server is ready needs besides ``ready`` itself."""
    if values["ready"] == "file" and not re.fullmatch(r"[A-Za-z_]\w*", values["ready_file_env"]):
        return ['ready = "file" needs ready_file_env, the variable naming the file (e.g. "READY_FILE")']
    if values["ready"] == "command" and not (values["ready_command"] or values["preflight"]):
        return ['ready = "command" needs ready_command (or preflight): an argv whose exit 0 means ready']
    return []


_ARGV = schema.Texts(noun="a list of strings (an argv, no shell)")
SMOKE_TABLE = schema.Table(
    "verify.smoke",
    (
        schema.Field(
            "command", schema.Texts(noun=_ARGV.noun, nonempty=True), default=DEFAULT_COMMAND, rule=_placeholders
        ),
        schema.Field("env", schema.TextMap(), default={}, form='{ SNAKEPIT_LOG_LEVEL = "info" }', rule=_placeholders),
        schema.Field("ready", schema.Choice(READY_MODES), default="stdout"),
        schema.Field("ready_pattern", schema.Text(), default=DEFAULT_READY_PATTERN, rule=_ready_pattern),
        schema.Field("ready_file_env", schema.Text(empty=True), default="", form='"READY_FILE"'),
        schema.Field("ready_command", _ARGV, default=(), form='["{python}", "check.py", "{port}"]', rule=_placeholders),
        schema.Field("preflight", _ARGV, default=(), form='["{python}", "{server}", "--check"]', rule=_placeholders),
        schema.Field(
            "rpc",
            schema.Text(empty=True),
            default="",
            rule=lambda rpc: f'{rpc!r} must read "package.Service/Method"' if rpc and not _RPC.match(rpc) else None,
        ),
        schema.Field("health", schema.Flag(), default=True),
        schema.Field(
            "peer",
            schema.Text(empty=True),
            default="",
            rule=lambda peer: (
                f'{peer!r} must be a service name such as "package.Service"'
                if peer and not _SERVICE.fullmatch(peer)
                else None
            ),
        ),
        schema.Field("requirements", schema.Texts(), default=(), form='["grpcio-health-checking"]', rule=_placeholders),
        schema.Field(
            "imports",
            schema.Texts(noun="a list of module names"),
            default=(),
            form='["snakebridge_adapter"]',
            rule=lambda names: next((f"{n!r} is not a module name" for n in names if not _is_module(n)), None),
        ),
        schema.Field("timeout", schema.Number(noun="a positive number of seconds"), form="60"),
    ),
    purpose="how the smoke test starts the server and proves it serves",
    rules=(schema.Rule(("ready", "ready_file_env", "ready_command", "preflight"), _readiness),),
)
CONSUMER_TABLE = schema.Table(
    "verify.consumer",
    (schema.Field("snippet", schema.Text(noun="a string of Elixir code", empty=True), default=""),),
    purpose="the Elixir snippet of the consumer gate",
)


def smoke_from_values(values: dict[str, Any]) -> SmokeSettings:
    """SmokeSettings from SMOKE_TABLE's values (``env`` kept in its written order)."""
    return SmokeSettings(**{**values, "env": tuple(values["env"].items())})


def _is_module(name: str) -> bool:
    return all(part.isidentifier() for part in name.split("."))
