"""Gate 4: the consumer smoke test, run from the unpacked Hex tarball.

For every targeted Python and each resolution (``latest``: what the shipped
``requirements.txt`` resolves to today; ``floors``: the lowest versions it
admits, ``uv pip install --resolution lowest-direct``):

1. a fresh venv with the shipped requirements (see :mod:`.venvs` for how the
   cache keeps "fresh" honest);
2. the unpacked ``grpc_server.py`` started the way the Elixir side starts it
   (see :func:`server_command`; ``[verify.smoke]`` configures the command,
   environment, readiness, a preflight and a stand-in peer);
3. a health check (unless ``health = false``) and the configured RPC
   (default: a ``Ping``) through the unpacked stubs, by the venv's own python;
4. SIGTERM, and the server must exit 0.

With ``server = false`` (a package whose Python runs under another package's
server, like snakebridge) steps 2-4 become: every shipped top-level module
(or ``[verify.smoke] imports``) imported by the venv's python.

The jobs run in parallel threads (each one drives subprocesses).
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .. import proc
from ..errors import HexpackError
from ..python import pythons
from . import peer
from .gates import Gate, fail, findings_from_error, note
from .launch import CLIENT, Readiness, check_server, last_lines, shown_argv
from .settings import VerifySettings
from .smoke_settings import fill
from .venvs import Venv, VenvCache, clean_env

GROUP = "4 smoke"


@dataclass(frozen=True)
class SmokeJob:
    version: str
    resolution: str

    @property
    def name(self) -> str:
        return f"python {self.version} {self.resolution}"


def template_values(python: Path, package_root: Path, settings: VerifySettings, **runtime: str) -> dict[str, str]:
    """What ``{python}``, ``{server}``, ... stand for in the smoke templates (``runtime``: port, peer, ready_file)."""
    values = {
        "python": str(python),
        "server": str(package_root / settings.server) if settings.server else "",
        "package": str(package_root),
        "python_root": str(package_root / settings.python_root),
        "port": "0",
        "peer": "",
        "ready_file": "",
    }
    values.update(runtime)
    return values


def server_command(
    python: Path, package_root: Path, settings: VerifySettings, values: Mapping[str, str] | None = None
) -> tuple[list[str], dict[str, str]]:
    """argv and extra environment that start the shipped server as the Elixir side does.

    By default this mirrors ``HexpackBridge.Server`` (lib/hexpack_bridge/server.ex):
    the script with ``--host 127.0.0.1 --port 0 --exit-on-stdin-eof``,
    ``PYTHONPATH`` set to ``priv/python``, ``PYTHONUNBUFFERED=1``, stdin an
    open pipe and stderr merged into stdout. ``[verify.smoke] command`` and
    ``env`` replace the argv and add to the environment.
    """
    values = values if values is not None else template_values(python, package_root, settings)
    smoke_settings = settings.smoke
    argv = [fill(part, values) for part in smoke_settings.command]
    env = {"PYTHONPATH": values["python_root"], "PYTHONUNBUFFERED": "1"}
    env.update({name: fill(value, values) for name, value in smoke_settings.env})
    if smoke_settings.ready == "file" and values.get("ready_file"):
        env[smoke_settings.ready_file_env] = values["ready_file"]
    return argv, env


def shipped_modules(python_root: Path) -> list[str]:
    """The top-level modules and packages of the shipped Python, tests and build scripts left out."""
    names = []
    if not python_root.is_dir():
        return names
    for path in sorted(python_root.iterdir()):
        stem = path.name[:-3] if path.name.endswith(".py") else path.name
        if not stem.isidentifier() or stem in ("setup", "conftest", "tests", "test") or _is_test_name(stem):
            continue
        if (path.is_file() and path.name.endswith(".py")) or (path / "__init__.py").is_file():
            names.append(stem)
    return names


def _is_test_name(stem: str) -> bool:
    return stem.startswith("test_") or stem.endswith("_test")


def free_port() -> int:
    """A port nothing listens on now (for ``{port}``; the server binds it a moment later)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def jobs(settings: VerifySettings, versions: Sequence[str] | None = None, resolutions: Sequence[str] | None = None):
    return [
        SmokeJob(v, r)
        for v in (versions if versions is not None else settings.pythons)
        for r in (resolutions if resolutions is not None else settings.smoke_resolutions)
    ]


def locate_pythons(versions: Sequence[str], cache: Path | None = None) -> dict[str, Path | None]:
    """The interpreter for each targeted version (hexpack.python.pythons discovery; ``cache``: its directory)."""
    found = pythons.locate(list(versions), cache=cache)
    return {version: (interpreter.path if interpreter else None) for version, interpreter in found.items()}


def run_one(job: SmokeJob, package_root: Path, settings: VerifySettings, cache: VenvCache, python: Path | None) -> Gate:
    gate = Gate(job.name, GROUP)
    start = time.monotonic()
    try:
        if python is None:
            gate.add(
                fail(
                    f"no Python {job.version} interpreter found",
                    subject=f"[tool.hexpack] python = {job.version}",
                    hint=f"install it (pyenv install {job.version}) or drop it from the targeted versions",
                )
            )
            return gate
        requirements = package_root / settings.requirements
        if not requirements.is_file():
            gate.add(fail("not in the package, nothing to install", subject=settings.requirements))
            return gate
        extra = list(settings.smoke.requirements)
        payload = requirements.read_bytes() + "\0".join(extra).encode()
        try:
            venv = cache.ensure(
                python,
                label=f"py{job.version}-{job.resolution}",
                install=["-r", str(requirements), *extra],
                payload=payload,
                resolution=job.resolution,
            )
        except HexpackError as exc:
            gate.add(
                fail(
                    f"installing the shipped requirements ({job.resolution}) failed: {exc.one_line()}",
                    subject=settings.requirements,
                )
            )
            return gate
        gate.details.update(
            {
                "python": str(python),
                "venv": str(venv.path),
                "venv_reused": venv.reused,
                "venv_seconds": round(venv.seconds, 3),
                "installed": _installed(venv.freeze),
            }
        )
        if settings.has_server:
            _serve(gate, venv, package_root, settings)
        else:
            _import(gate, venv, package_root, settings)
    except HexpackError as exc:
        gate.extend(findings_from_error(exc))
    except OSError as exc:
        gate.add(fail(exc.strerror or str(exc), subject=exc.filename and str(exc.filename)))
    finally:
        gate.seconds = time.monotonic() - start
    return gate


def _serve(gate: Gate, venv: Venv, package_root: Path, settings: VerifySettings) -> None:
    """The server started from the package, proven ready and called; every finding lands in ``gate``."""
    smoke_settings = settings.smoke
    deadline = time.monotonic() + settings.smoke_seconds  # peer, preflight and server share the budget

    def left() -> float:
        return max(1.0, deadline - time.monotonic())

    stubs = package_root / settings.python_root
    base_env = clean_env(PYTHONPATH=str(stubs), PYTHONUNBUFFERED="1")
    with tempfile.TemporaryDirectory(prefix="hexpack-smoke-") as tmp, contextlib.ExitStack() as stack:
        runtime = {"port": str(free_port()) if _uses_port(smoke_settings) else "0", "ready_file": ""}
        if smoke_settings.ready == "file":
            runtime["ready_file"] = str(Path(tmp) / "ready")
        if smoke_settings.peer:
            runtime["peer"] = stack.enter_context(
                peer.serving(venv.python, stubs, smoke_settings.peer, env=base_env, cwd=package_root, timeout=left())
            )
        values = template_values(venv.python, package_root, settings, **runtime)
        argv, extra = server_command(venv.python, package_root, settings, values)
        env = clean_env(**extra)
        if smoke_settings.preflight:
            preflight = [fill(part, values) for part in smoke_settings.preflight]
            done = proc.run(preflight, env=env, cwd=package_root, timeout=left(), check=False)
            if done.returncode != 0:
                gate.add(
                    fail(
                        f"preflight `{shown_argv(preflight)}` exited with status {done.returncode}: "
                        f"{last_lines(done.stdout + done.stderr) or 'no output'}",
                        subject=settings.server,
                    )
                )
                return
        ready = Readiness(
            mode=smoke_settings.ready,
            pattern=smoke_settings.ready_pattern,
            file=Path(runtime["ready_file"]) if runtime["ready_file"] else None,
            file_env=smoke_settings.ready_file_env,
            command=tuple(fill(part, values) for part in smoke_settings.readiness_argv()),
            port=int(runtime["port"]) if runtime["port"] != "0" else None,
        )
        client_args = ["--stubs", str(stubs), "--method", smoke_settings.method]
        if smoke_settings.service:
            client_args += ["--service", smoke_settings.service]
        if not smoke_settings.health:
            client_args.append("--no-health")
        check = check_server(
            argv,
            client_python=venv.python,
            client_args=client_args,
            env=env,
            cwd=package_root,
            subject=settings.server,
            timeout=settings.smoke_seconds,
            deadline=deadline,
            ready=ready,
            health=smoke_settings.health,
        )
    gate.extend(check.findings)
    gate.details.update(check.to_json())
    if not check.findings and check.client:
        reply = check.client.get("reply", {})
        installed = gate.details.get("installed", {})
        shown = ", ".join(f"{k} {v}" for k, v in installed.items() if k in ("grpcio", "protobuf"))
        said = reply.get("version") or reply.get("message") or "ok"
        parts = [
            f"Python {check.client.get('python')}: "
            + ("READY" if smoke_settings.ready == "stdout" else f"ready ({ready.awaited()}, port {check.port})"),
            "health SERVING" if smoke_settings.health else None,
            f"peer {smoke_settings.peer} stood in" if smoke_settings.peer else None,
            f"{check.client.get('service')}/{smoke_settings.method} -> {said}; {shown}",
        ]
        cached = " (cached venv)" if gate.details.get("venv_reused") else ""
        gate.add(note(", ".join(p for p in parts if p) + cached))


def _uses_port(smoke_settings) -> bool:
    templates = [*smoke_settings.command, *(v for _, v in smoke_settings.env)]
    return any("{port}" in part for part in templates) or smoke_settings.ready == "command"


def _import(gate: Gate, venv: Venv, package_root: Path, settings: VerifySettings) -> None:
    """``server = false``: every shipped module imported by the venv's python, each failure named."""
    stubs = package_root / settings.python_root
    modules = list(settings.smoke.imports) or shipped_modules(stubs)
    if not modules:
        gate.add(fail("no Python module to import", subject=settings.python_root))
        return
    argv = [str(venv.python), str(CLIENT), "--stubs", str(stubs), "--imports", ",".join(modules)]
    env = clean_env(PYTHONPATH=str(stubs), PYTHONUNBUFFERED="1")
    done = proc.run(argv, env=env, cwd=package_root, timeout=settings.smoke_seconds, check=False)
    try:
        result = json.loads(done.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        gate.add(
            fail(
                f"importing the shipped modules failed (exit {done.returncode}): "
                f"{last_lines(done.stdout + done.stderr)}",
                subject=settings.python_root,
            )
        )
        return
    gate.details["imports"] = result
    for module, why in result.get("failed", {}).items():
        gate.add(
            fail(
                f"import {module} failed: {why}",
                subject=f"{settings.python_root}/{module}",
                hint="add what it needs to the shipped requirements "
                "(or to [verify.smoke] requirements when another package's server installs it)",
            )
        )
    if not result.get("failed"):
        gate.add(
            note(f"Python {result.get('python')}: imported {len(modules)} module(s): {', '.join(modules)}; no server")
        )


def _installed(freeze: Sequence[str]) -> dict[str, str]:
    found = {}
    for line in freeze:
        if "==" in line:
            name, _, version = line.partition("==")
            found[name.strip().lower()] = version.strip()
    return found


def run_all(
    package_root: Path,
    settings: VerifySettings,
    cache: VenvCache,
    *,
    interpreters: dict[str, Path | None] | None = None,
    versions: Sequence[str] | None = None,
    resolutions: Sequence[str] | None = None,
    workers: int | None = None,
    on_gate: Callable[[Gate], object] | None = None,
) -> list[Gate]:
    """Every smoke job, in parallel; ``on_gate`` hears of each as it finishes."""
    todo = jobs(settings, versions, resolutions)
    if not todo:
        return []
    if interpreters is None:
        interpreters = locate_pythons(sorted({job.version for job in todo}))
    workers = workers or min(len(todo), max(2, 2 * (os.cpu_count() or 1)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smoke") as pool:

        def one(job: SmokeJob) -> Gate:
            gate = run_one(job, package_root, settings, cache, interpreters.get(job.version))
            if on_gate is not None:
                on_gate(gate)
            return gate

        return list(pool.map(one, todo))
