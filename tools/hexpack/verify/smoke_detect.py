"""Read a project's server and stubs, and say how verify's smoke test must start it.

``detect(root)`` returns the keys of ``[tool.hexpack.verify]`` that make the
smoke test work without edits (``hexpack init`` writes them), with one line
per fact it relied on. It reads, and never runs:

* the server's argparse options (``ast``): ``--host``/``--port``/
  ``--exit-on-stdin-eof`` with a ``READY`` line is the default contract
  (nothing to write); otherwise the command is built from the options it has:
  ``--port 0``, an ``--...-address`` option pointing at a stand-in ``{peer}``,
  required options with the value the server itself suggests (snakepit:
  ``--adapter is required (try --adapter snakepit_bridge...ShowcaseAdapter)``);
* a ``*READY_FILE`` environment variable the server reads (snakepit:
  ``SNAKEPIT_READY_FILE``): readiness by file;
* a ``--health-check`` option: the preflight;
* the services in the shipped ``*_pb2_grpc.py`` stubs: the RPC to call
  (a unary ``Ping``) and the peer's service (the stub class the server
  creates to reach its caller);
* no server script but shipped Python (snakebridge): ``server = false``,
  with grpcio/protobuf floors from the shipped stubs when the requirements
  do not list them (the package runs under another package's server).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HexpackError
from ..python import floors

_SERVICE_PATH = re.compile(r"['\"]/([A-Za-z_][\w.]*\.[A-Za-z_]\w*|[A-Za-z_]\w*)/([A-Za-z_]\w*)['\"]")
_UNARY = re.compile(r"\.unary_unary\(\s*['\"]/([\w.]+)/(\w+)['\"]")
_READY_ENV = re.compile(r"^[A-Z][A-Z0-9_]*READY[A-Z0-9_]*$")
_TRY_VALUE = re.compile(r"try (--[\w-]+)[ =]([^\s)'\"]+)")
_STUB_CLASS = re.compile(r"\b(\w+)Stub\(")
SKIP_DIRS = {"tests", "test", "__pycache__", ".venv", "build", "dist"}


@dataclass(frozen=True)
class Detection:
    """What to write under ``[tool.hexpack.verify]`` (possibly nothing) and why."""

    table: dict[str, Any] = field(default_factory=dict)
    found: tuple[str, ...] = ()
    assumed: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Option:
    names: tuple[str, ...]
    dest: str
    flag: bool  # store_true / store_false: takes no value
    required: bool


def detect(
    root: str | Path, *, python_root: str = "priv/python", server: str | None = None, proto_root: str = "priv/proto"
) -> Detection:
    """The smoke configuration of the project at ``root`` (see the module doc)."""
    root = Path(root)
    server = server if server is not None else f"{python_root}/grpc_server.py"
    script = root / server
    if not script.is_file():
        return _no_server(root, python_root, server)
    try:
        source = script.read_text(encoding="utf-8")
        tree = ast.parse(source)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError) as exc:
        return Detection(assumed=(f"{server} could not be read ({exc}); the default smoke contract is assumed",))
    options = _options(tree)
    by_name = {name: option for option in options for name in option.names}
    services = shipped_services(root / python_root) or proto_services(root / proto_root)
    found: list[str] = []
    assumed: list[str] = []
    prints_ready = bool(re.search(r"READY[ {]", source))
    if not options:
        assumed.append(f"smoke: {server} defines no options itself (it delegates); the default contract is assumed")
        return Detection({}, (), tuple(assumed))
    if {"--host", "--port", "--exit-on-stdin-eof"} <= set(by_name) and prints_ready:
        found.append(f"smoke: {server} takes --host/--port/--exit-on-stdin-eof and prints READY <port> (the default)")
        return Detection({}, tuple(found))

    command = ["{python}", "{server}"]
    used: set[str] = set()
    suggested = _suggested_values(tree, source, options)
    for option in options:
        name = option.names[0]
        if option.required or name in suggested:
            value = suggested.get(name)
            if value is None:
                assumed.append(f"smoke: {server} requires {name}; give it a value in smoke.command")
                continue
            command += [name, value]
            used.add(name)
    if "--host" in by_name:
        command += ["--host", "127.0.0.1"]
    if "--port" in by_name:
        command += ["--port", "0"]
    table: dict[str, Any] = {}
    address = next((o for o in options if "address" in o.names[0] and not o.flag), None)
    if address is not None:
        peer = _peer_service(source, services)
        if peer:
            command += [address.names[0], "{peer}"]
            table["peer"] = peer
            found.append(f"smoke: {server} waits for {peer} at {address.names[0]}; hexpack serves a stand-in peer")
        else:
            assumed.append(f"smoke: {server} takes {address.names[0]} but no shipped service matches; set smoke.peer")
    if "--exit-on-stdin-eof" in by_name:
        command.append("--exit-on-stdin-eof")
    table = {"command": command, **table}
    ready_env = next((s for s in _env_reads(tree) if _READY_ENV.match(s)), None)
    if ready_env:
        table["ready"] = "file"
        table["ready_file_env"] = ready_env
        found.append(f"smoke: {server} writes its port to the file named by ${ready_env}")
    elif prints_ready:
        table["ready"] = "stdout"
    else:
        table["ready"] = "command"
        assumed.append(f"smoke: {server} announces no readiness; ready when a call to the port answers")
    health_check = next((o for o in options if o.names[0] == "--health-check" and o.flag), None)
    if health_check is not None:
        preflight = ["{python}", "{server}", "--health-check"]
        preflight += [part for name in used for part in (name, suggested[name])]
        table["preflight"] = preflight
        found.append(f"smoke: `{server} --health-check` runs first (must exit 0)")
    elif table["ready"] == "command":
        table["ready_command"] = ["{python}", "-c", "pass"]
    ping = [f"{service}/Ping" for service, methods in services.items() if "Ping" in methods]
    if ping:
        table["rpc"] = ping[0]
        found.append(f"smoke: calls {ping[0]} from the shipped stubs")
    if "grpc_health" not in source and "health_pb2" not in source:
        table["health"] = False
        found.append(f"smoke: {server} serves no grpc.health.v1 (health check off)")
    return Detection({"smoke": table}, tuple(found), tuple(assumed))


def shipped_services(python_root: Path) -> dict[str, list[str]]:
    """{service full name: [unary method, ...]} read from the ``*_pb2_grpc.py`` files under ``python_root``."""
    services: dict[str, list[str]] = {}
    if not python_root.is_dir():
        return services
    for stub in sorted(python_root.rglob("*_pb2_grpc.py")):
        if any(part in SKIP_DIRS for part in stub.relative_to(python_root).parts[:-1]):
            continue
        try:
            text = stub.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        unary = set(_UNARY.findall(text))
        for service, method in _SERVICE_PATH.findall(text):
            methods = services.setdefault(service, [])
            if (service, method) in unary and method not in methods:
                methods.append(method)
    return services


_PROTO_PACKAGE = re.compile(r"^\s*package\s+([\w.]+)\s*;", re.MULTILINE)
_PROTO_SERVICE = re.compile(r"service\s+(\w+)\s*\{(.*?)\n\}", re.DOTALL)
_PROTO_RPC = re.compile(r"rpc\s+(\w+)\s*\(\s*(stream\s+)?[\w.]+\s*\)\s*returns\s*\(\s*(stream\s+)?[\w.]+\s*\)")


def proto_services(proto_root: Path) -> dict[str, list[str]]:
    """Like :func:`shipped_services`, read from the ``.proto`` files (before any stub is generated)."""
    services: dict[str, list[str]] = {}
    if not proto_root.is_dir():
        return services
    for proto in sorted(proto_root.rglob("*.proto")):
        try:
            text = re.sub(r"//[^\n]*", "", proto.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError):
            continue
        package = _PROTO_PACKAGE.search(text)
        prefix = f"{package.group(1)}." if package else ""
        for name, body in _PROTO_SERVICE.findall(text):
            unary = [m for m, cstream, sstream in _PROTO_RPC.findall(body) if not cstream and not sstream]
            services[prefix + name] = unary
    return services


def _no_server(root: Path, python_root: str, server: str) -> Detection:
    shipped = root / python_root
    modules = sorted(p.name for p in shipped.glob("*.py")) if shipped.is_dir() else []
    if not modules:
        return Detection()
    found = [f"no server: {server} does not exist; verify installs and imports {python_root} instead (server = false)"]
    table: dict[str, Any] = {"server": False}
    try:
        stub_floors = floors.strictest(floors.stub_floors(shipped))
    except HexpackError:
        stub_floors = {}
    requirements = root / python_root / "requirements.txt"
    listed = requirements.read_text(encoding="utf-8", errors="replace").lower() if requirements.is_file() else ""
    extra = [f"{f.package}>={f.version}" for f in stub_floors.values() if f.package.lower() not in listed]
    if extra:
        table["smoke"] = {"requirements": extra}
        found.append(
            f"no server: the shipped stubs need {', '.join(extra)}, which the requirements do not list "
            "(another package's server provides them); installed for the import check"
        )
    return Detection(table, tuple(found))


def _options(tree: ast.AST) -> list[_Option]:
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr != "add_argument":
            continue
        names = tuple(a.value for a in node.args if isinstance(a, ast.Constant) and isinstance(a.value, str))
        if not names or not names[0].startswith("--"):
            continue
        keywords = {k.arg: k.value for k in node.keywords if k.arg}
        action = keywords.get("action")
        flag = isinstance(action, ast.Constant) and action.value in ("store_true", "store_false")
        required = isinstance(keywords.get("required"), ast.Constant) and keywords["required"].value is True
        dest = keywords.get("dest")
        dest_name = dest.value if isinstance(dest, ast.Constant) else names[0][2:].replace("-", "_")
        found.append(_Option(names, dest_name, flag, required))
    return found


def _suggested_values(tree: ast.AST, source: str, options: list[_Option]) -> dict[str, str]:
    """Values the server names for its own options: ``(try --adapter X)`` or ``args.adapter or "X"``."""
    values = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            for name, value in _TRY_VALUE.findall(node.value):
                values.setdefault(name, value)
    by_dest = {o.dest: o.names[0] for o in options if not o.flag}
    for node in ast.walk(tree):
        if isinstance(node, ast.BoolOp) and isinstance(node.op, ast.Or) and len(node.values) == 2:
            left, right = node.values
            if (
                isinstance(left, ast.Attribute)
                and left.attr in by_dest
                and isinstance(right, ast.Constant)
                and isinstance(right.value, str)
                and right.value
            ):
                values.setdefault(by_dest[left.attr], right.value)
    return values


def _env_reads(tree: ast.AST) -> list[str]:
    """Names read with ``os.environ.get("X")``, ``os.getenv("X")`` or ``os.environ["X"]``."""
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in ("get", "getenv"):
            if node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
                names.append(node.args[0].value)
        elif isinstance(node, ast.Subscript) and isinstance(getattr(node.slice, "value", None), str):
            names.append(node.slice.value)
    return names


def _peer_service(source: str, services: dict[str, list[str]]) -> str:
    """The shipped service whose stub the server creates (it calls its caller through it)."""
    for short in _STUB_CLASS.findall(source):
        for service in services:
            if service.rpartition(".")[2] == short:
                return service
    return next(iter(services), "") if len(services) == 1 else ""
