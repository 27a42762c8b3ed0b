"""The consumer's view: a throwaway mix project that depends on the unpacked package.

What a user of the Hex package does, and what broke in the seed report
(``grpc_server.py missing`` in a consumer): a mix project with
``{:app, path: "<unpacked tarball>"}``, ``mix compile``, then ``mix run`` of
an Elixir snippet (``[tool.hexpack.verify.consumer] snippet``) that starts the
server through the package's own Elixir API. The snippet sees
``HEXPACK_PYTHON``: the python of the newest passing ``latest`` smoke venv,
where the shipped requirements are installed.

Skipped, with the reason, when the package has Hex dependencies (a path
dependency would need them fetched), when no snippet is configured, when
Elixir is not installed, or when no smoke venv passed.
"""

from __future__ import annotations

import re
import subprocess
import tempfile
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .. import proc
from ..errors import HexpackError
from .gates import Gate, fail, findings_from_error, note
from .launch import last_lines
from .settings import VerifySettings
from .venvs import clean_env, venv_python

GROUP = "4 smoke"
NAME = "consumer mix project"
TIMEOUT = 600.0  # compiling the package from nothing

MIX_EXS = """defmodule HexpackConsumer.MixProject do
  use Mix.Project

  # Written by hexpack verify: a consumer of the unpacked package, as a user's project depends on it.
  def project do
    [app: :hexpack_consumer, version: "0.0.0", deps: [{{:{app}, path: {path}}}]]
  end
end
"""


def _elixir_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("#{", "\\#{") + '"'


def _python(smoke_gates: Sequence[Gate]) -> tuple[Path, str] | None:
    """The python of the newest passing ``latest`` smoke venv, and that job's name."""
    for gate in reversed(smoke_gates):
        venv = gate.details.get("venv")
        if gate.name.endswith(" latest") and gate.status.value == "pass" and venv:
            return venv_python(Path(venv)), gate.name
    return None


_LOG_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d+ \[\w+\]")


def _raised(output: str) -> str:
    """The ``** (Error) message`` line Elixir prints for an uncaught error, else the last lines."""
    raised = next((line.strip() for line in output.splitlines() if line.startswith("** (")), None)
    return raised[:400] if raised else last_lines(output)


def _said(output: str) -> str:
    """The snippet's last line of its own (Logger lines left out)."""
    lines = [line.strip() for line in output.splitlines() if line.strip() and not _LOG_LINE.match(line.strip())]
    return lines[-1][:200] if lines else ""


class Consumer:
    """The consumer gate in two halves: ``mix compile`` starts at once (in a thread, beside the smoke
    jobs, as it needs no venv); :meth:`finish` runs the snippet with a smoke venv and cleans up."""

    def __init__(self, package_root: Path, settings: VerifySettings, metadata: dict[str, Any]):
        self.gate = Gate(NAME, GROUP)
        self.snippet = settings.consumer.snippet.strip()
        self.app = metadata.get("app")
        self._tmp: tempfile.TemporaryDirectory[str] | None = None
        self._compile: threading.Thread | None = None
        self._compiled: subprocess.CompletedProcess[str] | HexpackError | None = None
        requirements = metadata.get("requirements") or []
        if requirements:
            names = ", ".join(sorted(str(r.get("app", r.get("name", "?"))) for r in _as_dicts(requirements)))
            self.gate.skipped = f"the package depends on Hex packages ({names}); a path dependency would fetch them"
        elif not self.snippet:
            self.gate.skipped = "no [tool.hexpack.verify.consumer] snippet"
        elif proc.which("elixir") is None or proc.which("mix") is None:
            self.gate.skipped = "Elixir is not installed (elixir or mix not found)"
        elif not isinstance(self.app, str) or not self.app:
            self.gate.skipped = "the tarball's metadata names no app"
        if self.gate.skipped:
            return
        self._start = time.monotonic()
        self._tmp = tempfile.TemporaryDirectory(prefix="hexpack-consumer-")
        self.project = Path(self._tmp.name)
        (self.project / "mix.exs").write_text(MIX_EXS.format(app=self.app, path=_elixir_string(str(package_root))))
        self._compile = threading.Thread(target=self._run_compile, name="consumer-compile", daemon=True)
        self._compile.start()

    def _env(self, **extra: str) -> dict[str, str]:
        return clean_env(MIX_ENV="dev", **extra)

    def _run_compile(self) -> None:
        try:
            self._compiled = proc.run(
                ["mix", "compile"], cwd=self.project, env=self._env(), timeout=TIMEOUT, check=False
            )
        except HexpackError as exc:
            self._compiled = exc

    def finish(self, smoke_gates: Sequence[Gate]) -> Gate:
        """The gate, once the snippet ran with the newest passing ``latest`` smoke venv."""
        if self._tmp is None:
            return self.gate
        try:
            self._finish(smoke_gates)
        except HexpackError as exc:
            self.gate.extend(findings_from_error(exc))
        finally:
            if self._compile is not None:
                self._compile.join()
            self._tmp.cleanup()
            self.gate.seconds = time.monotonic() - self._start
        return self.gate

    def _finish(self, smoke_gates: Sequence[Gate]) -> None:
        gate, app = self.gate, self.app
        assert self._compile is not None
        self._compile.join()
        compiled = self._compiled
        if isinstance(compiled, HexpackError):
            raise compiled
        if compiled is None or compiled.returncode != 0:
            said = last_lines(compiled.stdout + compiled.stderr) if compiled else "no result"
            gate.add(
                fail(
                    f"`mix compile` of a project depending on the package failed: {said}",
                    subject=f"{{:{app}, path: ...}}",
                )
            )
            return
        lender = _python(smoke_gates)
        if lender is None:
            gate.skipped = "compiled; no passing `latest` smoke job to lend its venv for the snippet"
            return
        python, job = lender
        ran = proc.run(
            ["mix", "run", "--no-compile", "-e", self.snippet],
            cwd=self.project,
            env=self._env(HEXPACK_PYTHON=str(python)),
            timeout=TIMEOUT,
            check=False,
        )
        gate.details.update({"python": str(python), "output": (ran.stdout + ran.stderr)[-2000:]})
        if ran.returncode != 0:
            gate.add(
                fail(
                    f"the snippet exited with status {ran.returncode}: {_raised(ran.stdout + ran.stderr)}",
                    subject="[tool.hexpack.verify.consumer] snippet",
                )
            )
            return
        said = _said(ran.stdout)
        gate.add(
            note(
                f"{{:{app}, path: <unpacked tarball>}} compiled; the snippet ran with the {job} venv"
                + (f": {said}" if said else "")
            )
        )


def run(package_root: Path, settings: VerifySettings, metadata: dict[str, Any], smoke_gates: Sequence[Gate]) -> Gate:
    """The whole gate at once (compile, then the snippet)."""
    return Consumer(package_root, settings, metadata).finish(smoke_gates)


def _as_dicts(requirements: Any) -> list[dict[str, Any]]:
    """Hex metadata ``requirements``: a list of key-value lists (as read from metadata.config) or maps."""
    found = []
    for item in requirements if isinstance(requirements, list) else []:
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, (list, tuple)) and all(isinstance(p, tuple) and len(p) == 2 for p in item):
            found.append(dict(item))
    return found
