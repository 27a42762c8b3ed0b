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


# ----------------------------------------------------------------------------- [verify.smoke]


def test_smoke_settings_report_every_problem_at_once():
    from hexpack.errors import Problems, ProjectError
    from hexpack.verify.settings import from_table

    table = {
        "server": "",
        "smoke": {
            "command": "python grpc_server.py",
            "ready": "socket",
            "ready_pattern": "READY",
            "rpc": "Ping",
            "health": "yes",
            "env": {"A": 1},
            "timeout": 0,
            "colour": "blue",
            "preflight": ["{pythn}", "--check"],
            "peer": "not a service!",
        },
    }
    with pytest.raises(Problems) as caught:
        from_table(table)
    verify, smoke = "pyproject.toml [tool.hexpack.verify]", "pyproject.toml [tool.hexpack.verify.smoke]"
    assert caught.value.lines() == [
        f"{verify}: server must be the path of the server script, or false for a package without one, got '';"
        ' write e.g. server = "priv/python/grpc_server.py"',
        f"{smoke}: unknown setting(s) colour; known settings: command, env, health, imports, peer, preflight, ready,"
        " ready_command, ready_file_env, ready_pattern, requirements, rpc, timeout",
        f"{smoke}: command must be a list of strings (an argv, no shell), got 'python grpc_server.py';"
        ' write e.g. command = ["{python}", "{server}", "--host", "127.0.0.1", "--port", "0", "--exit-on-stdin-eof"]',
        f"{smoke}: env must be a table of strings, got {{'A': 1}};"
        ' write e.g. env = { SNAKEPIT_LOG_LEVEL = "info" }',
        f"{smoke}: ready must be one of stdout, file, command, got 'socket'; write e.g. ready = \"stdout\"",
        f"{smoke}: ready_pattern 'READY' has no group; write the port as group 1: 'READY (\\d+)'",
        f"{smoke}: preflight uses unknown placeholder(s) {{pythn}}"
        " (known: python, server, port, peer, ready_file, package, python_root)",
        f"{smoke}: rpc 'Ping' must read \"package.Service/Method\"",
        f"{smoke}: health must be true or false, got 'yes'; write e.g. health = true",
        f"{smoke}: peer 'not a service!' must be a service name such as \"package.Service\"",
        f"{smoke}: timeout must be a positive number of seconds, got 0; write e.g. timeout = 60",
    ]
    with pytest.raises(ProjectError, match=r"\[tool.hexpack.verify\]: smoke must be a table, got 3$"):
        from_table({"smoke": 3})
    with pytest.raises(ProjectError, match=r'verify.smoke\]: ready = "file" needs ready_file_env'):
        from_table({"smoke": {"ready": "file"}})
    with pytest.raises(ProjectError, match=r'verify.smoke\]: ready = "command" needs ready_command'):
        from_table({"smoke": {"ready": "command"}})


def test_server_false_and_the_templates(tmp_path):
    from hexpack.verify.settings import from_table

    assert not from_table({"server": False}).has_server
    assert from_table({}).has_server
    settings = from_table(
        {
            "smoke": {
                "command": ["{python}", "{server}", "--port", "{port}", "--peer", "{peer}"],
                "env": {"APP_HOME": "{package}", "LOG": "info"},
                "ready": "file",
                "ready_file_env": "APP_READY",
                "timeout": 5,
            }
        }
    )
    values = smoke.template_values(
        Path("/v/bin/python"), tmp_path, settings, port="4000", peer="127.0.0.1:1", ready_file="/r"
    )
    argv, env = smoke.server_command(Path("/v/bin/python"), tmp_path, settings, values)
    assert argv == [
        "/v/bin/python",
        str(tmp_path / "priv/python/grpc_server.py"),
        "--port",
        "4000",
        "--peer",
        "127.0.0.1:1",
    ]
    assert env == {
        "PYTHONPATH": str(tmp_path / "priv/python"),
        "PYTHONUNBUFFERED": "1",
        "APP_HOME": str(tmp_path),
        "LOG": "info",
        "APP_READY": "/r",
    }
    assert settings.smoke_seconds == 5.0


# A server with the repository's own bridge (priv/python/hexpack_bridge), started however a test asks.
CONTRACT_SERVER = """import os, socket, sys, threading, signal
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import grpc
from hexpack_bridge import bridge_pb2, bridge_pb2_grpc
from hexpack_bridge.server import start_server

mode, port = sys.argv[1], int(sys.argv[2])
if len(sys.argv) > 3:  # --peer ADDRESS: the caller must answer Ping first, as snakepit's Elixir side must
    with grpc.insecure_channel(sys.argv[3]) as channel:
        try:
            bridge_pb2_grpc.BridgeStub(channel).Ping(bridge_pb2.PingRequest(message="hello"), timeout=5)
        except grpc.RpcError as exc:
            sys.exit(f"peer at {sys.argv[3]} did not answer: {exc.code()}")
running = start_server(port=port)
if mode == "file":
    with open(os.environ["APP_READY"] + ".tmp", "w") as handle:
        handle.write(str(running.port))
    os.replace(os.environ["APP_READY"] + ".tmp", os.environ["APP_READY"])
elif mode == "pattern":
    print(f"listening on port {running.port}", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
while not stop.wait(0.1):
    pass
running.stop()
"""


def contract_package(tmp_path: Path) -> Path:
    """A package root whose priv/python is this repository's, plus CONTRACT_SERVER as app.py."""
    import shutil

    root = tmp_path / "package"
    shutil.copytree(
        Path(__file__).resolve().parent.parent / "priv/python",
        root / "priv/python",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    (root / "priv/python/app.py").write_text(CONTRACT_SERVER)
    return root


def serve(tmp_path: Path, smoke_table: dict):
    """smoke._serve on the contract server, with this interpreter standing in for the venv (it has grpcio)."""
    from hexpack.verify.gates import Gate
    from hexpack.verify.settings import from_table
    from hexpack.verify.venvs import Venv

    pytest.importorskip("grpc_health", reason="the repository's bridge serves grpc.health.v1")
    root = contract_package(tmp_path)
    settings = from_table({"server": "priv/python/app.py", "smoke": smoke_table})
    gate = Gate("python here", "4 smoke")
    with gate.timed():  # as run_one: a HexpackError becomes the gate's failure
        smoke._serve(gate, Venv(Path(sys.prefix), Path(sys.executable), False, (), 0.0), root, settings)
    return gate


def test_ready_file_with_a_stand_in_peer(tmp_path):
    gate = serve(
        tmp_path,
        {
            "command": ["{python}", "{server}", "file", "0", "{peer}"],
            "ready": "file",
            "ready_file_env": "APP_READY",
            "peer": "hexpack_bridge.Bridge",
            "rpc": "hexpack_bridge.Bridge/Ping",
            "preflight": ["{python}", "-c", "import grpc_health"],
            "timeout": 20,
        },
    )
    assert gate.status.value == "pass", gate.reasons()
    (line,) = gate.reasons()
    assert line.startswith("Python 3.") and "ready (writing its port to $APP_READY, port " in line
    assert "health SERVING, peer hexpack_bridge.Bridge stood in, hexpack_bridge.Bridge/Ping -> " in line
    assert gate.details["client"]["reply"]["message"] == "hexpack verify"
    assert gate.details["exit_code"] == 0


def test_without_its_peer_the_server_fails_and_says_why(tmp_path):
    gate = serve(
        tmp_path,
        {
            "command": ["{python}", "{server}", "file", "0", "127.0.0.1:1"],
            "ready": "file",
            "ready_file_env": "APP_READY",
        },
    )
    (line,) = gate.reasons()
    assert line.startswith(
        "fail: priv/python/app.py: server exited with status 1 before writing its port to $APP_READY: "
        "peer at 127.0.0.1:1 did not answer: StatusCode.UNAVAILABLE"
    ), line


def test_ready_by_pattern_and_by_command(tmp_path):
    gate = serve(
        tmp_path / "pattern",
        {
            "command": ["{python}", "{server}", "pattern", "0"],
            "ready_pattern": r"listening on port (\d+)",
            "health": False,
        },
    )
    assert gate.status.value == "pass", gate.reasons()
    assert gate.details["client"]["health"] is None
    probe = "import socket, sys; socket.create_connection(('127.0.0.1', int(sys.argv[1])), 1)"
    gate = serve(
        tmp_path / "command",
        {
            "command": ["{python}", "{server}", "quiet", "{port}"],
            "ready": "command",
            "ready_command": ["{python}", "-c", probe, "{port}"],
        },
    )
    assert gate.status.value == "pass", gate.reasons()
    line = gate.reasons()[0]
    assert "ready (`python -c import socket, sys; socket.create_connection" in line and "` exited 0, port " in line


def test_a_failing_preflight_stops_before_the_server_starts(tmp_path):
    gate = serve(
        tmp_path,
        {
            "command": ["{python}", "{server}", "pattern", "0"],
            "preflight": ["{python}", "-c", "import sys; sys.exit('deps missing')"],
        },
    )
    assert gate.reasons() == [
        "fail: priv/python/app.py: preflight `python -c import sys; sys.exit('deps missing')` "
        "exited with status 1: deps missing"
    ]
    assert "client" not in gate.details


def test_a_peer_for_a_service_the_stubs_lack_is_named(tmp_path):
    gate = serve(tmp_path, {"command": ["{python}", "{server}", "pattern", "0"], "peer": "other.Service"})
    (line,) = gate.reasons()
    assert line.startswith("fail: [verify.smoke] peer: the stand-in peer for other.Service did not start: ")
    assert "no service other.Service in the *_pb2.py stubs" in line


# ----------------------------------------------------------------------------- the consumer's view

REPO = Path(__file__).resolve().parent.parent


def lent_venv(status: str = "pass"):
    """A smoke gate that passed in this interpreter's environment (it has grpcio and grpcio-health-checking)."""
    from hexpack.verify.gates import Gate, fail, note

    gate = Gate("python 3.x latest", "4 smoke", details={"venv": sys.prefix})
    gate.add(note("served") if status == "pass" else fail("did not serve"))
    return gate


def test_consumer_gate_says_why_it_does_not_run(tmp_path):
    from hexpack.verify import consumer
    from hexpack.verify.settings import from_table

    require_program("mix")  # the reasons below are checked once Elixir is found
    configured = from_table({"consumer": {"snippet": "IO.puts(:ok)"}})
    app = {"app": "snakepit", "requirements": []}
    deps = {**app, "requirements": [[("app", "grpc"), ("name", "grpc")], [("app", "jason")]]}
    cases = [
        (from_table({}), app, "no [tool.hexpack.verify.consumer] snippet"),
        (configured, deps, "the package depends on Hex packages (grpc, jason); a path dependency would fetch them"),
        (configured, {"requirements": []}, "the tarball's metadata names no app"),
    ]
    for settings, metadata, why in cases:
        gate = consumer.run(tmp_path, settings, metadata, [lent_venv()])
        assert (gate.status.value, gate.skipped) == ("skip", why)


@pytest.mark.slow
def test_consumer_project_starts_the_server_through_the_packages_elixir_api(tmp_path):
    """This repository's tarball, unpacked; a mix project with a path dep on it runs the configured snippet."""
    require_program("mix")
    pytest.importorskip("grpc_health", reason="the repository's bridge serves grpc.health.v1")
    from dataclasses import replace

    from hexpack.hex.build import build_project
    from hexpack.hex.tarball import unpack
    from hexpack.mix.readers import read_project
    from hexpack.verify import consumer
    from hexpack.verify.settings import load
    from hexpack.verify.smoke_settings import ConsumerSettings

    built = build_project(read_project(REPO), root=REPO)
    unpack(built.tarball, tmp_path / "package")
    settings = load(REPO)
    assert "HexpackBridge.start(" in settings.consumer.snippet  # the repository configures its own API
    gate = consumer.run(tmp_path / "package", settings, {"app": "hexpack_bridge", "requirements": []}, [lent_venv()])
    (line,) = gate.reasons()
    assert gate.status.value == "pass", line
    assert line.startswith("{:hexpack_bridge, path: <unpacked tarball>} compiled; the snippet ran with the python 3.x")
    assert "HexpackBridge.start/1 served on port " in line
    assert sorted(p.name for p in (tmp_path / "package").iterdir()) == sorted(
        ["CHANGELOG.md", "LICENSE", "README.md", "hex_metadata.config", "lib", "mix.exs", "priv"]
    )  # the consumer builds in its own project, never in the unpacked package

    (tmp_path / "package/priv/python/grpc_server.py").unlink()  # the seed report: a package without its server
    gate = consumer.run(tmp_path / "package", settings, {"app": "hexpack_bridge", "requirements": []}, [lent_venv()])
    (line,) = gate.reasons()
    assert line.startswith("fail: [tool.hexpack.verify.consumer] snippet: the snippet exited with status 1: ")
    assert "grpc_server.py" in line, line
    assert replace(settings, consumer=ConsumerSettings()).consumer.snippet == ""

    gate = consumer.run(
        tmp_path / "package", settings, {"app": "hexpack_bridge", "requirements": []}, [lent_venv("fail")]
    )
    assert gate.skipped == "compiled; no passing `latest` smoke job to lend its venv for the snippet"


def test_an_rpc_the_stubs_lack_is_named(tmp_path):
    gate = serve(
        tmp_path,
        {
            "command": ["{python}", "{server}", "pattern", "0"],
            "ready_pattern": r"port (\d+)",
            "rpc": "hexpack_bridge.Nope/Ping",
        },
    )
    (line,) = gate.reasons()
    assert line == (
        "fail: priv/python/app.py: calling the server failed (exit 1): "
        "no service hexpack_bridge.Nope in hexpack_bridge.bridge_pb2_grpc (hexpack_bridge.Bridge)"
    )


def test_detect_keeps_the_default_contract_and_says_what_it_assumed(tmp_path):
    from hexpack.verify import smoke_detect

    server = tmp_path / "priv/python/grpc_server.py"
    server.parent.mkdir(parents=True)
    server.write_text(
        "import argparse\np = argparse.ArgumentParser()\np.add_argument('--host')\np.add_argument('--port', type=int)\n"
        "p.add_argument('--exit-on-stdin-eof', action='store_true')\nprint(f'READY {port}')\n"
    )
    found = smoke_detect.detect(tmp_path)
    assert (found.table, found.assumed) == ({}, ())
    assert found.found == (
        "smoke: priv/python/grpc_server.py takes --host/--port/--exit-on-stdin-eof and prints READY <port> "
        "(the default)",
    )
    server.write_text("from app.launcher import main\nmain()\n")  # a wrapper: nothing to read
    assert smoke_detect.detect(tmp_path).assumed == (
        "smoke: priv/python/grpc_server.py defines no options itself (it delegates); the default contract is assumed",
    )
    server.write_text("def broken(:\n")
    (assumed,) = smoke_detect.detect(tmp_path).assumed
    assert assumed.startswith("priv/python/grpc_server.py could not be read (") and "default smoke contract" in assumed
    server.unlink()
    assert smoke_detect.detect(tmp_path) == smoke_detect.Detection()  # no Python at all: nothing to say


def test_a_flood_of_output_is_bounded(tmp_path):
    """A server that prints lines past every bound and never gets ready: the check ends in time, keeping only the
    last lines. Three times the queue's bound overflows it as surely as more would, in a fraction of the time."""
    lines = 3 * launch.Output.QUEUED
    check = start(tmp_path, f"import sys\nfor i in range({lines}):\n    print('spam', i)\nsys.exit(4)\n", timeout=20)
    (finding,) = check.findings
    last = " | ".join(f"spam {i}" for i in range(lines - 3, lines))
    assert finding.one_line().endswith(f"before `READY <port>`: {last}")
    assert len(check.output.splitlines()) == launch.Output.KEPT
