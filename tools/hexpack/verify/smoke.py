"""Gate 4: the consumer smoke test, run from the unpacked Hex tarball.

For every targeted Python and each resolution (``latest``: what the shipped
``requirements.txt`` resolves to today; ``floors``: the lowest versions it
admits, ``uv pip install --resolution lowest-direct``):

1. a fresh venv with the shipped requirements (see :mod:`.venvs` for how the
   cache keeps "fresh" honest);
2. the unpacked ``grpc_server.py`` started the way the Elixir side starts it
   (see :func:`server_command`);
3. a health check and a ``Ping`` through the unpacked stubs, by the venv's
   own python;
4. SIGTERM, and the server must exit 0.

The jobs run in parallel threads (each one drives subprocesses).
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from .. import pythons
from ..errors import HexpackError
from .gates import Gate, fail, findings_from_error, note
from .launch import check_server
from .settings import VerifySettings
from .venvs import VenvCache, clean_env

GROUP = "4 smoke"


@dataclass(frozen=True)
class SmokeJob:
    version: str
    resolution: str

    @property
    def name(self) -> str:
        return f"python {self.version} {self.resolution}"


def server_command(python: Path, package_root: Path, settings: VerifySettings) -> tuple[list[str], dict[str, str]]:
    """argv and extra environment that start the shipped server as the Elixir side does.

    Mirrors ``HexpackBridge.Server`` (lib/hexpack_bridge/server.ex): the script
    with ``--host 127.0.0.1 --port 0 --exit-on-stdin-eof``, ``PYTHONPATH`` set
    to ``priv/python``, ``PYTHONUNBUFFERED=1``, stdin an open pipe and stderr
    merged into stdout, where ``READY <port>`` is awaited.
    """
    server = package_root / settings.server
    argv = [str(python), str(server), "--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"]
    env = {"PYTHONPATH": str(package_root / settings.python_root), "PYTHONUNBUFFERED": "1"}
    return argv, env


def jobs(settings: VerifySettings, versions: Sequence[str] | None = None, resolutions: Sequence[str] | None = None):
    return [
        SmokeJob(v, r)
        for v in (versions if versions is not None else settings.pythons)
        for r in (resolutions if resolutions is not None else settings.smoke_resolutions)
    ]


def locate_pythons(versions: Sequence[str], cache: Path | None = None) -> dict[str, Path | None]:
    """The interpreter for each targeted version (hexpack.pythons discovery, probe results cached)."""
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
        payload = requirements.read_bytes()
        try:
            venv = cache.ensure(
                python,
                label=f"py{job.version}-{job.resolution}",
                install=["-r", str(requirements)],
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
        argv, extra = server_command(venv.python, package_root, settings)
        env = clean_env(**extra)
        check = check_server(
            argv,
            client_python=venv.python,
            client_args=["--stubs", str(package_root / settings.python_root)],
            env=env,
            cwd=package_root,
            subject=settings.server,
            timeout=settings.smoke_timeout,
        )
        gate.extend(check.findings)
        versions = _installed(venv.freeze)
        gate.details.update(
            {
                "python": str(python),
                "venv": str(venv.path),
                "venv_reused": venv.reused,
                "venv_seconds": round(venv.seconds, 3),
                "installed": versions,
                **check.to_json(),
            }
        )
        if not check.findings and check.client:
            reply = check.client.get("reply", {})
            shown = ", ".join(f"{k} {v}" for k, v in versions.items() if k in ("grpcio", "protobuf"))
            gate.add(
                note(
                    f"Python {check.client.get('python')}: READY, health SERVING, "
                    f"{check.client.get('service')}/Ping -> {reply.get('version', reply) or 'ok'}; {shown}"
                    f"{' (cached venv)' if venv.reused else ''}"
                )
            )
    except HexpackError as exc:
        gate.extend(findings_from_error(exc))
    except OSError as exc:
        gate.add(fail(exc.strerror or str(exc), subject=exc.filename and str(exc.filename)))
    finally:
        gate.seconds = time.monotonic() - start
    return gate


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
) -> list[Gate]:
    todo = jobs(settings, versions, resolutions)
    if not todo:
        return []
    if interpreters is None:
        interpreters = locate_pythons(sorted({job.version for job in todo}))
    workers = workers or min(len(todo), max(2, 2 * (os.cpu_count() or 1)))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="smoke") as pool:
        return list(
            pool.map(lambda job: run_one(job, package_root, settings, cache, interpreters.get(job.version)), todo)
        )
