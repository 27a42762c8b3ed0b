"""The Bridge gRPC service, with the standard health service beside it.

``start_server()`` binds, starts and returns a :class:`RunningServer`;
``hexpack_bridge.launcher`` wraps it in a command line. This module imports
grpc, so import it only after the launcher has checked the dependencies.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
from collections.abc import Iterator
from concurrent import futures
from dataclasses import dataclass
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from hexpack_bridge import __version__, bridge_pb2, bridge_pb2_grpc
from hexpack_bridge.tools import Cancelled, Progress, Registry, UnknownTool
from hexpack_bridge.tools import registry as default_registry

__all__ = ["SERVICE_NAME", "BridgeServicer", "ListenError", "RunningServer", "start_server"]

SERVICE_NAME = bridge_pb2.DESCRIPTOR.services_by_name["Bridge"].full_name  # "hexpack_bridge.Bridge"
POLL_SECONDS = 0.05

log = logging.getLogger("hexpack_bridge")


class ListenError(OSError):
    """The server could not bind its address."""


class InvalidArguments(ValueError):
    """The request's arguments_json is not a JSON object."""


def _decode_arguments(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidArguments(f"arguments_json is not valid JSON: {exc}") from None
    if not isinstance(value, dict):
        raise InvalidArguments(f"arguments_json must be a JSON object, got {type(value).__name__}")
    return value


def _type_name(exc: BaseException) -> str:
    cls = type(exc)
    if cls.__module__ == "builtins":
        return cls.__qualname__
    if isinstance(exc, UnknownTool):
        return "UnknownTool"
    if isinstance(exc, InvalidArguments):
        return "InvalidArguments"
    return f"{cls.__module__}.{cls.__qualname__}"


def _error_reply(exc: BaseException) -> bridge_pb2.ExecuteReply:
    message = str(exc.args[0]) if isinstance(exc, KeyError) and exc.args else str(exc)
    return bridge_pb2.ExecuteReply(error=bridge_pb2.ToolError(type=_type_name(exc), message=message))


class BridgeServicer(bridge_pb2_grpc.BridgeServicer):
    """Runs each tool in a daemon thread, so a stuck tool never blocks shutdown."""

    def __init__(self, registry: Registry | None = None) -> None:
        self.registry = registry if registry is not None else default_registry

    def Ping(self, request: bridge_pb2.PingRequest, context: grpc.ServicerContext) -> bridge_pb2.PingReply:
        return bridge_pb2.PingReply(
            message=request.message,
            version=__version__,
            python_version=".".join(map(str, sys.version_info[:3])),
        )

    def ListTools(
        self, request: bridge_pb2.ListToolsRequest, context: grpc.ServicerContext
    ) -> bridge_pb2.ListToolsReply:
        return bridge_pb2.ListToolsReply(
            tools=[
                bridge_pb2.Tool(name=t.name, description=t.description, streaming=t.streaming)
                for t in self.registry.tools()
            ]
        )

    def Execute(self, request: bridge_pb2.ExecuteRequest, context: grpc.ServicerContext) -> bridge_pb2.ExecuteReply:
        for event in self._run(request, context, stream=False):
            if event.HasField("done"):
                return event.done
        context.abort(grpc.StatusCode.CANCELLED, "the server is shutting down")
        raise AssertionError("unreachable")  # context.abort raises

    def ExecuteStream(
        self, request: bridge_pb2.ExecuteRequest, context: grpc.ServicerContext
    ) -> Iterator[bridge_pb2.ExecuteEvent]:
        yield from self._run(request, context, stream=True)

    def _run(
        self, request: bridge_pb2.ExecuteRequest, context: grpc.ServicerContext, *, stream: bool
    ) -> Iterator[bridge_pb2.ExecuteEvent]:
        events: queue.Queue[bridge_pb2.ExecuteEvent] = queue.Queue()

        def emit(fraction: float, message: str) -> None:
            if stream:
                events.put(bridge_pb2.ExecuteEvent(progress=bridge_pb2.Progress(fraction=fraction, message=message)))

        def work() -> None:
            try:
                arguments = _decode_arguments(request.arguments_json)
                result = self.registry.call(request.tool, arguments, Progress(emit, context.is_active))
                reply = bridge_pb2.ExecuteReply(result_json=json.dumps(result))
            except Cancelled:
                log.info("tool %r cancelled", request.tool)
                return
            except Exception as exc:  # every tool failure goes back to the caller
                log.warning(
                    "tool %r failed: %s: %s",
                    request.tool,
                    _type_name(exc),
                    exc,
                    exc_info=log.isEnabledFor(logging.DEBUG),
                )
                reply = _error_reply(exc)
            events.put(bridge_pb2.ExecuteEvent(done=reply))

        threading.Thread(target=work, name=f"tool-{request.tool}", daemon=True).start()
        while context.is_active():
            try:
                event = events.get(timeout=POLL_SECONDS)
            except queue.Empty:
                continue
            yield event
            if event.HasField("done"):
                return


@dataclass
class RunningServer:
    server: grpc.Server
    port: int
    health: health.HealthServicer

    def stop(self, grace: float = 2.0) -> None:
        """Report NOT_SERVING, finish in-flight calls for up to ``grace`` s, then cancel them."""
        self.health.enter_graceful_shutdown()
        self.server.stop(grace).wait(grace + 1.0)


def start_server(
    host: str = "127.0.0.1", port: int = 0, *, registry: Registry | None = None, max_workers: int = 16
) -> RunningServer:
    """Serve the Bridge and grpc.health.v1 services on ``host:port`` (0 picks a free port)."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="bridge"),
        options=[("grpc.so_reuseport", 0)],  # a port in use is an error, not a shared port
    )
    bridge_pb2_grpc.add_BridgeServicer_to_server(BridgeServicer(registry), server)
    health_servicer = health.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    try:
        bound = server.add_insecure_port(address)
    except RuntimeError:  # grpc's message only says "Failed to bind"
        bound = 0
    if not bound:
        raise ListenError(
            f"cannot listen on {address}: the port is in use or the host is not an address of this machine;"
            " choose another --host/--port (--port 0 picks a free port)"
        )
    server.start()
    for name in ("", SERVICE_NAME):
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    log.info("serving %s on %s:%d (hexpack_bridge %s)", SERVICE_NAME, host, bound, __version__)
    return RunningServer(server, bound, health_servicer)
