#!/usr/bin/env python3
"""A Python client of the hexpack_bridge server shipped in priv/python, checking every answer.

    python examples/python_client.py                      # start priv/python/grpc_server.py, check, stop
    python examples/python_client.py --address HOST:PORT  # check a server someone else started

The server is started exactly as the Elixir side starts it: ``python
priv/python/grpc_server.py --port 0`` with ``priv/python`` first on PYTHONPATH,
waiting for its ``READY <port>`` line. The client imports the stubs from
``priv/python`` too, so this exercises what the Hex package ships. Needs
``pip install -r priv/python/requirements.txt``. Every check asserts; the last
line is ``python_client: N checks passed``. Exit status 0 only then.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

PRIV_PYTHON = Path(__file__).resolve().parent.parent / "priv" / "python"
sys.path.insert(0, str(PRIV_PYTHON))

import grpc  # noqa: E402
from grpc_health.v1 import health_pb2, health_pb2_grpc  # noqa: E402
from hexpack_bridge import __version__, bridge_pb2, bridge_pb2_grpc  # noqa: E402

CHECKS = 0


def check(label: str, condition: bool, shown: object) -> None:
    global CHECKS
    if not condition:  # not `assert`: the checks must hold under python -O too
        raise AssertionError(f"{label}: unexpected {shown!r}")
    CHECKS += 1
    print(f"ok  {label}: {shown}")


def execute(stub: bridge_pb2_grpc.BridgeStub, tool: str, **arguments: object) -> bridge_pb2.ExecuteReply:
    return stub.Execute(bridge_pb2.ExecuteRequest(tool=tool, arguments_json=json.dumps(arguments)), timeout=10)


def exercise(address: str, *, server_python: str | None) -> None:
    with grpc.insecure_channel(address) as channel:
        grpc.channel_ready_future(channel).result(timeout=10)
        health = health_pb2_grpc.HealthStub(channel).Check(
            health_pb2.HealthCheckRequest(service="hexpack_bridge.Bridge"), timeout=5
        )
        check("health", health.status == health_pb2.HealthCheckResponse.SERVING, "SERVING")

        stub = bridge_pb2_grpc.BridgeStub(channel)
        pong = stub.Ping(bridge_pb2.PingRequest(message="hello from examples"), timeout=5)
        check("ping echo", pong.message == "hello from examples", pong.message)
        check("server version", pong.version == __version__, pong.version)
        if server_python:
            check("server python", pong.python_version == server_python, pong.python_version)

        tools = {tool.name: tool for tool in stub.ListTools(bridge_pb2.ListToolsRequest(), timeout=5).tools}
        check("tools", {"add", "echo", "sleep", "fail"} <= set(tools), sorted(tools))
        check("sleep streams", tools["sleep"].streaming, tools["sleep"].streaming)

        added = execute(stub, "add", a=2, b=3.5)
        check(
            "add(2, 3.5)",
            added.WhichOneof("outcome") == "result_json" and json.loads(added.result_json) == 5.5,
            added.result_json,
        )
        echoed = execute(stub, "echo", value={"nested": [1, "two", None]})
        check("echo", json.loads(echoed.result_json) == {"nested": [1, "two", None]}, echoed.result_json)

        failed = execute(stub, "fail", message="on purpose")
        check(
            "fail",
            (failed.error.type, failed.error.message) == ("ValueError", "on purpose"),
            f"{failed.error.type}: {failed.error.message}",
        )
        unknown = execute(stub, "no_such_tool")
        check("unknown tool", unknown.error.type == "UnknownTool", unknown.error.type)

        events = list(
            stub.ExecuteStream(
                bridge_pb2.ExecuteRequest(tool="sleep", arguments_json=json.dumps({"seconds": 0.2, "steps": 4})),
                timeout=10,
            )
        )
        progress = [e.progress.fraction for e in events if e.WhichOneof("event") == "progress"]
        check("stream progress", len(progress) == 4 and progress == sorted(progress) and progress[-1] == 1.0, progress)
        done = events[-1]
        check(
            "stream result",
            done.WhichOneof("event") == "done" and done.done.WhichOneof("outcome") == "result_json",
            done.done.result_json,
        )


def start_server(python: str) -> tuple[subprocess.Popen[str], int]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(PRIV_PYTHON), os.environ.get("PYTHONPATH")])))
    server = subprocess.Popen(
        [python, str(PRIV_PYTHON / "grpc_server.py"), "--host", "127.0.0.1", "--port", "0"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    line = server.stdout.readline()  # type: ignore[union-attr].strip()
    if not line.startswith("READY "):
        server.kill()
        raise SystemExit(f"python_client: the server did not print READY <port> (got {line!r}, exit {server.wait()})")
    return server, int(line.split()[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--address", help="check a running server at HOST:PORT instead of starting one")
    args = parser.parse_args()
    if args.address:
        exercise(args.address, server_python=None)
    else:
        server, port = start_server(sys.executable)
        check("server started", port > 0, f"READY {port}")
        try:
            exercise(f"127.0.0.1:{port}", server_python=".".join(map(str, sys.version_info[:3])))
        finally:
            started = time.monotonic()
            server.send_signal(signal.SIGTERM)
            code = server.wait(timeout=10)
        took = time.monotonic() - started
        check("graceful stop", code == 0 and took < 5, f"exit {code} after {took:.1f} s")
    print(f"python_client: {CHECKS} checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
