"""The smoke-test machinery of `hexpack verify`: server launch failures and the venv cache."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from conftest import require_program
from hexpack.verify import launch, smoke
from hexpack.verify.settings import VerifySettings
from hexpack.verify.venvs import MARKER, VenvCache, clean_env


def start(tmp_path: Path, body: str, timeout: float = 5.0) -> launch.ServerCheck:
    script = tmp_path / "server.py"
    script.write_text(body)
    return launch.check_server(
        [sys.executable, str(script)],
        client_python=Path(sys.executable),
        client_args=[],
        env=clean_env(),
        cwd=tmp_path,
        subject="server.py",
        timeout=timeout,
    )


def test_server_exiting_before_ready_is_named_with_its_output(tmp_path):
    check = start(
        tmp_path, "import sys\nprint('grpcio is not installed for python3.12', file=sys.stderr)\nsys.exit(3)\n"
    )
    (finding,) = check.findings
    assert finding.one_line() == (
        "server.py: server exited with status 3 before `READY <port>`: grpcio is not installed for python3.12"
    )


def test_server_that_never_gets_ready(tmp_path):
    check = start(tmp_path, "import time\nprint('starting', flush=True)\ntime.sleep(30)\n", timeout=1.0)
    (finding,) = check.findings
    assert "no `READY <port>` line within 1 s" in finding.one_line()


def test_server_command_mirrors_the_elixir_side(tmp_path):
    argv, env = smoke.server_command(Path("/venv/bin/python"), tmp_path, VerifySettings())
    assert argv[1:] == [
        str(tmp_path / "priv/python/grpc_server.py"),
        "--host",
        "127.0.0.1",
        "--port",
        "0",
        "--exit-on-stdin-eof",
    ]
    assert env == {"PYTHONPATH": str(tmp_path / "priv/python"), "PYTHONUNBUFFERED": "1"}
    lib = (Path(__file__).resolve().parent.parent / "lib/hexpack_bridge/server.ex").read_text()
    assert '"--exit-on-stdin-eof"' in lib and '"PYTHONPATH"' in lib


def test_missing_interpreter_fails_the_job(tmp_path):
    gate = smoke.run_one(smoke.SmokeJob("3.99", "latest"), tmp_path, VerifySettings(), VenvCache(None), None)
    assert gate.status.value == "fail"
    assert "no Python 3.99 interpreter found" in gate.reasons()[0]


@pytest.mark.slow
def test_venv_cache_reuses_only_an_untouched_venv_with_the_same_key(tmp_path):
    require_program("uv")
    python = Path(sys.executable)
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("# nothing to install\n")
    cache = VenvCache(tmp_path / "cache")

    def ensure(payload: bytes, resolution: str = "latest"):
        return cache.ensure(
            python, label="py-test", install=["-r", str(requirements)], payload=payload, resolution=resolution
        )

    first = ensure(b"a")
    assert not first.reused and first.python.exists()
    again = ensure(b"a")
    assert again.reused and again.path == first.path
    # something installed into it behind the cache's back: rebuilt, not reused
    site = next(first.path.glob("lib/python*/site-packages"))
    (site / "intruder-1.0.dist-info").mkdir()
    (site / "intruder-1.0.dist-info" / "METADATA").write_text("Metadata-Version: 2.1\nName: intruder\nVersion: 1.0\n")
    (site / "intruder-1.0.dist-info" / "RECORD").write_text("")
    (site / "intruder-1.0.dist-info" / "INSTALLER").write_text("pip\n")
    rebuilt = ensure(b"a")
    assert not rebuilt.reused and not any("intruder" in line for line in rebuilt.freeze)
    # other inputs, other keys: new venvs beside it
    assert ensure(b"b").path != rebuilt.path
    assert ensure(b"a", "floors").path != rebuilt.path
    recorded = json.loads((rebuilt.path / MARKER).read_text())
    assert recorded["label"] == "py-test" and recorded["freeze"] == list(rebuilt.freeze)
    # no half-made venvs left behind
    assert not list((tmp_path / "cache").glob(".*.hexpack-tmp"))


@pytest.mark.slow
def test_fresh_mode_leaves_nothing(tmp_path):
    require_program("uv")
    requirements = tmp_path / "requirements.txt"
    requirements.write_text("")
    cache = VenvCache(None)
    venv = cache.ensure(Path(sys.executable), label="py-test", install=["-r", str(requirements)], payload=b"")
    assert venv.path.exists() and not venv.reused
    cache.cleanup()
    assert not venv.path.exists()


def test_nox_install_once_skips_an_unchanged_install(tmp_path):
    from types import SimpleNamespace

    from hexpack.verify.nox_install import install_once

    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    calls = []
    session = SimpleNamespace(virtualenv=SimpleNamespace(location=str(tmp_path)), install=lambda *a: calls.append(a))
    install_once(session, tmp_path, "grpcio-tools==1.85.1")
    install_once(session, tmp_path, "grpcio-tools==1.85.1")
    assert calls == [("-e", str(tmp_path), "grpcio-tools==1.85.1")]
    install_once(session, tmp_path, "grpcio-tools==1.86.0")  # another pin: install again
    (tmp_path / "pyproject.toml").write_text("[project]\nname = 'x'\ndependencies = ['packaging']\n")
    install_once(session, tmp_path, "grpcio-tools==1.86.0")  # pyproject changed: install again
    assert len(calls) == 3
