"""Calls a running hexpack_bridge server the way a gRPC client would; prints one JSON line.

Used by the ExUnit tests (Elixir has no gRPC client without Hex dependencies):
``python3 bridge_client.py <port>`` with priv/python on PYTHONPATH.
"""

import json
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from hexpack_bridge import bridge_pb2, bridge_pb2_grpc

port = int(sys.argv[1])
with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
    health = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=10)
    bridge = bridge_pb2_grpc.BridgeStub(channel)
    ping = bridge.Ping(bridge_pb2.PingRequest(message="from elixir"), timeout=10)
    added = bridge.Execute(bridge_pb2.ExecuteRequest(tool="add", arguments_json='{"a": 40, "b": 2}'), timeout=10)
    failed = bridge.Execute(bridge_pb2.ExecuteRequest(tool="fail", arguments_json='{"message": "no"}'), timeout=10)
    print(
        json.dumps(
            {
                "health": health_pb2.HealthCheckResponse.ServingStatus.Name(health.status),
                "ping": ping.message,
                "version": ping.version,
                "add": json.loads(added.result_json),
                "fail": [failed.error.type, failed.error.message],
            }
        )
    )
