"""The real server, started as a subprocess on 127.0.0.1: every RPC, health, errors, shutdown."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import hexpack_bridge
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hexpack_bridge import bridge_pb2, bridge_pb2_grpc

from .bridge_testing import ASSEMBLED_SCRIPT, PRIV_PYTHON, ServerDidNotStart, launch, stop


def execute(bridge, tool: str, **arguments) -> bridge_pb2.ExecuteReply:
    return bridge.Execute(bridge_pb2.ExecuteRequest(tool=tool, arguments_json=json.dumps(arguments)), timeout=10)


# --- Ping / ListTools ----------------------------------------------------------


def test_ping_echoes_and_reports_versions(bridge):
    reply = bridge.Ping(bridge_pb2.PingRequest(message="hello"), timeout=10)
    assert reply.message == "hello"
    assert reply.version == hexpack_bridge.__version__
    assert reply.python_version == ".".join(map(str, sys.version_info[:3]))


def test_list_tools_names_the_built_in_tools(bridge):
    tools = {t.name: t for t in bridge.ListTools(bridge_pb2.ListToolsRequest(), timeout=10).tools}
    assert {"echo", "add", "sleep", "fail", "python_info"} <= tools.keys()
    assert tools["sleep"].streaming and not tools["add"].streaming
    assert tools["add"].description == "Return a + b."


# --- Execute -------------------------------------------------------------------


def test_execute_returns_json_results(bridge):
    assert json.loads(execute(bridge, "add", a=2, b=3.5).result_json) == 5.5
    value = {"nested": [1, "two", None, True], "ü": "ß"}
    assert json.loads(execute(bridge, "echo", value=value).result_json) == value


def test_execute_with_empty_arguments_means_no_arguments(bridge):
    reply = bridge.Execute(bridge_pb2.ExecuteRequest(tool="echo"), timeout=10)
    assert reply.WhichOneof("outcome") == "result_json"
    assert json.loads(reply.result_json) is None


def test_unknown_tool_is_a_structured_error(bridge):
    reply = execute(bridge, "no_such_tool")
    assert reply.WhichOneof("outcome") == "error"
    assert reply.error.type == "UnknownTool"
    assert "'no_such_tool'" in reply.error.message and "echo" in reply.error.message


@pytest.mark.parametrize(
    ("kind", "message"), [("ValueError", "bad value"), ("KeyError", "missing key"), ("ZeroDivisionError", "x/0")]
)
def test_a_raising_tool_reports_exception_type_and_message(bridge, kind, message):
    reply = execute(bridge, "fail", type=kind, message=message)
    assert reply.WhichOneof("outcome") == "error"
    assert (reply.error.type, reply.error.message) == (kind, message)


def test_wrong_arguments_are_a_type_error(bridge):
    reply = execute(bridge, "add", a=1)
    assert reply.error.type == "TypeError"
    assert "b" in reply.error.message


@pytest.mark.parametrize(("text", "why"), [("{not json", "not valid JSON"), ("[1, 2]", "must be a JSON object")])
def test_arguments_that_are_not_a_json_object_are_rejected(bridge, text, why):
    reply = bridge.Execute(bridge_pb2.ExecuteRequest(tool="echo", arguments_json=text), timeout=10)
    assert reply.error.type == "InvalidArguments"
    assert why in reply.error.message


def test_the_server_keeps_serving_after_errors(bridge):
    execute(bridge, "fail")
    assert json.loads(execute(bridge, "add", a=1, b=1).result_json) == 2


# --- ExecuteStream ---------------------------------------------------------------


def test_execute_stream_sends_progress_then_the_result(bridge):
    request = bridge_pb2.ExecuteRequest(tool="sleep", arguments_json=json.dumps({"seconds": 0.2, "steps": 4}))
    events = list(bridge.ExecuteStream(request, timeout=10))
    kinds = [e.WhichOneof("event") for e in events]
    assert kinds == ["progress"] * 4 + ["done"]
    assert [e.progress.fraction for e in events[:4]] == [0.25, 0.5, 0.75, 1.0]
    assert events[1].progress.message == "step 2/4"
    assert json.loads(events[-1].done.result_json) == {"slept": 0.2, "steps": 4}


def test_execute_stream_of_a_plain_tool_is_just_the_result(bridge):
    request = bridge_pb2.ExecuteRequest(tool="add", arguments_json='{"a": 1, "b": 2}')
    (event,) = bridge.ExecuteStream(request, timeout=10)
    assert json.loads(event.done.result_json) == 3


def test_execute_stream_errors_end_the_stream(bridge):
    request = bridge_pb2.ExecuteRequest(tool="fail", arguments_json='{"type": "RuntimeError", "message": "boom"}')
    (event,) = bridge.ExecuteStream(request, timeout=10)
    assert (event.done.error.type, event.done.error.message) == ("RuntimeError", "boom")


def test_execute_through_sleep_without_streaming_waits_for_the_result(bridge):
    reply = execute(bridge, "sleep", seconds=0.1, steps=2)
    assert json.loads(reply.result_json) == {"slept": 0.1, "steps": 2}


# --- health ------------------------------------------------------------------------


@pytest.mark.parametrize("service", ["", "hexpack_bridge.Bridge"])
def test_health_reports_serving(channel, service):
    health = health_pb2_grpc.HealthStub(channel)
    reply = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=10)
    assert reply.status == health_pb2.HealthCheckResponse.SERVING


def test_health_of_an_unknown_service_is_not_found(channel):
    health = health_pb2_grpc.HealthStub(channel)
    with pytest.raises(grpc.RpcError) as info:
        health.Check(health_pb2.HealthCheckRequest(service="nope.Nope"), timeout=10)
    assert info.value.code() == grpc.StatusCode.NOT_FOUND


# --- the command line and shutdown -------------------------------------------------


def test_stdout_is_only_the_ready_line_and_logs_go_to_stderr(fresh_server):
    with grpc.insecure_channel(fresh_server.address) as ch:
        bridge_pb2_grpc.BridgeStub(ch).Ping(bridge_pb2.PingRequest(), timeout=10)
    code, _ = fresh_server.terminate()
    assert code == 0
    assert fresh_server.rest_of_stdout() == b""
    assert "serving hexpack_bridge.Bridge on 127.0.0.1" in fresh_server.stderr()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_shuts_down_with_exit_0_within_5_seconds(fresh_server, sig):
    code, seconds = fresh_server.terminate(sig)
    assert code == 0, fresh_server.stderr()
    assert seconds < 5
    assert f"received {sig.name}" in fresh_server.stderr()


def test_a_signal_landing_at_any_instant_of_the_wait_is_handed_over():
    """Signals land at every point of the main thread's wait, on any thread; none is lost and none hangs it.

    The server used to stop through ``threading.Event`` set by a Python handler: a SIGTERM landing while
    the main thread held the Event's lock made the handler wait for that lock forever (this same loop,
    written with an Event, hung before its 2,000th signal in each of eight runs).
    """
    script = """
import os, signal, threading
from hexpack_bridge.launcher import StopRequest
stop = StopRequest((signal.SIGUSR1,))
def pester():
    while True:
        os.kill(os.getpid(), signal.SIGUSR1)
threading.Thread(target=pester, daemon=True).start()
for _ in range(2500):
    assert stop.wait() == signal.SIGUSR1
print("handed over")
"""
    env = {**os.environ, "PYTHONPATH": str(PRIV_PYTHON)}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=60)
    assert (done.returncode, done.stdout) == (0, "handed over\n"), done.stderr


def test_sigterm_during_a_long_stream_still_exits_0_within_5_seconds(fresh_server):
    received: list[str] = []
    failure: list[grpc.RpcError] = []

    def consume() -> None:
        with grpc.insecure_channel(fresh_server.address) as ch:
            request = bridge_pb2.ExecuteRequest(tool="sleep", arguments_json='{"seconds": 60, "steps": 600}')
            try:
                for event in bridge_pb2_grpc.BridgeStub(ch).ExecuteStream(request, timeout=30):
                    received.append(event.WhichOneof("event"))
            except grpc.RpcError as exc:
                failure.append(exc)

    client = threading.Thread(target=consume)
    client.start()
    deadline = time.monotonic() + 10
    while not received and time.monotonic() < deadline:
        time.sleep(0.05)
    assert received, "the stream sent no progress"
    code, seconds = fresh_server.terminate()
    client.join(timeout=10)
    assert code == 0, fresh_server.stderr()
    assert seconds < 5
    assert "done" not in received  # the stream was cut, not completed


def test_port_in_use_exits_1_with_one_line(server, tmp_path):
    proc = subprocess.run(
        [sys.executable, str(PRIV_PYTHON / "grpc_server.py"), "--port", str(server.port)],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert proc.returncode == 1
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith(f"hexpack_bridge: cannot listen on 127.0.0.1:{server.port}")


def test_exit_on_stdin_eof(tmp_path):
    running = launch(PRIV_PYTHON / "grpc_server.py", "--exit-on-stdin-eof", tmp_dir=tmp_path, stdin=subprocess.PIPE)
    try:
        assert running.proc.stdin is not None
        running.proc.stdin.close()
        assert running.proc.wait(timeout=5) == 0
        assert "stdin closed" in running.stderr()
    finally:
        stop(running)


def test_missing_grpcio_is_one_clear_line(python_without_grpcio):
    proc = subprocess.run(
        [python_without_grpcio, str(PRIV_PYTHON / "grpc_server.py")],
        capture_output=True,
        text=True,
        timeout=30,
        cwd=PRIV_PYTHON.parent,
    )
    assert proc.returncode == 3
    assert proc.stdout == ""
    (line,) = proc.stderr.strip().splitlines()
    py = f"python{sys.version_info.major}.{sys.version_info.minor}"
    assert line.startswith(f"grpcio, grpcio-health-checking and protobuf are not installed for {py} (")
    assert line.endswith(": pip install -r priv_python/requirements.txt")


def test_missing_grpcio_names_the_absolute_requirements_path_outside_the_tree(python_without_grpcio, tmp_path):
    proc = subprocess.run(
        [python_without_grpcio, str(PRIV_PYTHON / "grpc_server.py")], capture_output=True, text=True, cwd=tmp_path
    )
    assert proc.returncode == 3
    assert proc.stderr.strip().endswith(f"pip install -r {PRIV_PYTHON / 'requirements.txt'}")


def test_grpcio_older_than_the_stubs_is_one_clear_line(tmp_path):
    """A stand-in ``grpc`` package reporting version 1.0.0 shadows the real one."""
    fake = tmp_path / "fake" / "grpc"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text('__version__ = "1.0.0"\n')
    env = {**os.environ, "PYTHONPATH": str(fake.parent)}
    proc = subprocess.run(
        [sys.executable, str(PRIV_PYTHON / "grpc_server.py")], capture_output=True, text=True, env=env, timeout=30
    )
    assert proc.returncode == 3
    (line,) = proc.stderr.strip().splitlines()
    assert "hexpack_bridge's stubs cannot load" in line
    assert "grpcio>=1.85.1" in line
    assert line.endswith(f"pip install -r {os.path.relpath(PRIV_PYTHON / 'requirements.txt')}")


def test_usage_errors_exit_2(tmp_path):
    proc = subprocess.run(
        [sys.executable, str(PRIV_PYTHON / "grpc_server.py"), "--port", "many"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "--port" in proc.stderr


def test_python_m_hexpack_bridge_starts_the_same_server(tmp_path):
    script = tmp_path / "run_module.py"
    script.write_text(
        "import runpy, sys\nsys.argv[0] = 'hexpack_bridge'\nrunpy.run_module('hexpack_bridge', run_name='__main__')\n"
    )
    env = {**os.environ, "PYTHONPATH": str(PRIV_PYTHON)}
    running = launch(script, tmp_dir=tmp_path, env=env)
    try:
        assert running.terminate()[0] == 0
    finally:
        stop(running)


# --- the assembled copy under priv/python (what the Elixir side runs) ---------------


def test_the_assembled_server_under_priv_python_answers(tmp_path):
    if not ASSEMBLED_SCRIPT.exists():
        pytest.skip("priv/python/grpc_server.py is not assembled yet (hexpack assemble)")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    try:
        running = launch(ASSEMBLED_SCRIPT, tmp_dir=tmp_path, env=env, python=sys.executable)
    except ServerDidNotStart as exc:
        pytest.fail(str(exc))
    try:
        with grpc.insecure_channel(running.address) as ch:
            health = health_pb2_grpc.HealthStub(ch).Check(health_pb2.HealthCheckRequest(), timeout=10)
            assert health.status == health_pb2.HealthCheckResponse.SERVING
            stub = bridge_pb2_grpc.BridgeStub(ch)
            assert stub.Ping(bridge_pb2.PingRequest(message="x"), timeout=10).message == "x"
            assert json.loads(execute(stub, "add", a=20, b=22).result_json) == 42
        assert running.terminate()[0] == 0
    finally:
        stop(running)
    assert Path(ASSEMBLED_SCRIPT).parent.joinpath("requirements.txt").exists()
