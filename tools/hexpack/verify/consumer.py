"""The consumer's view: a throwaway mix project that depends on the unpacked package.

What a user of the Hex package does, and what broke in the seed report
(``grpc_server.py missing`` in a consumer): a mix project with
``{:app, path: "<unpacked tarball>"}``, ``mix compile``, then ``mix run`` of
an Elixir snippet (``[tool.hexpack.verify.consumer] snippet``) that starts the
server through the package's own Elixir API. The snippet sees
``HEXPACK_PYTHON``: the python of the newest passing ``latest`` smoke venv,
where the shipped requirements are installed.

Skipped, with the reason, when no snippet is configured, when Elixir is not
installed, when the package has Hex dependencies (a path dependency would need
them fetched), or when no smoke venv passed.
"""

from __future__ import annotations

import re
import tempfile
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


def run(package_root: Path, settings: VerifySettings, metadata: dict[str, Any], smoke_gates: Sequence[Gate]) -> Gate:
    gate = Gate(NAME, GROUP)
    snippet = settings.consumer.snippet.strip()
    app = metadata.get("app")
    requirements = metadata.get("requirements") or []
    lender = _python(smoke_gates)
    if not snippet:
        gate.skipped = "no [tool.hexpack.verify.consumer] snippet"
    elif proc.which("mix") is None:
        gate.skipped = "Elixir is not installed (mix not found)"
    elif requirements:
        names = ", ".join(sorted(str(r.get("app", r.get("name", "?"))) for r in _as_dicts(requirements)))
        gate.skipped = f"the package depends on Hex packages ({names}); a path dependency would fetch them"
    elif not isinstance(app, str) or not app:
        gate.skipped = "the tarball's metadata names no app"
    elif lender is None:
        gate.skipped = "no passing `latest` smoke job to lend its venv"
    if gate.skipped or lender is None:
        return gate
    python, job = lender
    start = time.monotonic()
    try:
        with tempfile.TemporaryDirectory(prefix="hexpack-consumer-") as tmp:
            project = Path(tmp)
            (project / "mix.exs").write_text(MIX_EXS.format(app=app, path=_elixir_string(str(package_root))))
            env = clean_env(HEXPACK_PYTHON=str(python), MIX_ENV="dev")
            compiled = proc.run(["mix", "compile"], cwd=project, env=env, timeout=TIMEOUT, check=False)
            if compiled.returncode != 0:
                gate.add(
                    fail(
                        f"`mix compile` of a project depending on the package failed: "
                        f"{last_lines(compiled.stdout + compiled.stderr)}",
                        subject=f"{{:{app}, path: ...}}",
                    )
                )
                return gate
            ran = proc.run(
                ["mix", "run", "--no-compile", "-e", snippet], cwd=project, env=env, timeout=TIMEOUT, check=False
            )
            gate.details.update({"python": str(python), "output": (ran.stdout + ran.stderr)[-2000:]})
            if ran.returncode != 0:
                gate.add(
                    fail(
                        f"the snippet exited with status {ran.returncode}: {_raised(ran.stdout + ran.stderr)}",
                        subject="[tool.hexpack.verify.consumer] snippet",
                    )
                )
                return gate
            said = _said(ran.stdout)
            gate.add(
                note(
                    f"{{:{app}, path: <unpacked tarball>}} compiled; the snippet ran with the {job} venv"
                    + (f": {said}" if said else "")
                )
            )
    except HexpackError as exc:
        gate.extend(findings_from_error(exc))
    finally:
        gate.seconds = time.monotonic() - start
    return gate


def _as_dicts(requirements: Any) -> list[dict[str, Any]]:
    """Hex metadata ``requirements``: a list of key-value lists (as read from metadata.config) or maps."""
    found = []
    for item in requirements if isinstance(requirements, list) else []:
        if isinstance(item, dict):
            found.append(item)
        elif isinstance(item, (list, tuple)) and all(isinstance(p, tuple) and len(p) == 2 for p in item):
            found.append(dict(item))
    return found
