"""hexpack_bridge.tools: the registry and the built-in tools, plus a registered tool served for real."""

from __future__ import annotations

import json

import grpc
import pytest
from hexpack_bridge import Cancelled, Progress, Registry, UnknownTool, bridge_pb2, bridge_pb2_grpc, register, registry


def test_register_as_bare_decorator_and_with_options():
    reg = Registry()

    @reg.register
    def double(x: int) -> int:
        """Double x.

        More text that is not the description."""
        return 2 * x

    @reg.register(name="triple", description="Three times x.", streaming=True)
    def _triple(x: int, *, progress: Progress) -> int:
        progress(1.0, "done")
        return 3 * x

    assert double(2) == 4  # the decorator returns the function itself
    assert [(t.name, t.description, t.streaming) for t in reg.tools()] == [
        ("double", "Double x.", False),
        ("triple", "Three times x.", True),
    ]
    assert reg.call("double", {"x": 5}) == 10
    seen = []
    assert reg.call("triple", {"x": 5}, Progress(lambda f, m: seen.append((f, m)))) == 15
    assert seen == [(1.0, "done")]


def test_unknown_tool_lists_the_known_ones():
    reg = Registry()
    reg.register(lambda: None, name="only")
    with pytest.raises(UnknownTool, match=r"no tool named 'x' \(known tools: only\)"):
        reg.get("x")


def test_registering_a_name_again_replaces_and_unregister_removes():
    reg = Registry()
    reg.register(lambda: 1, name="t")
    reg.register(lambda: 2, name="t")
    assert reg.call("t", {}) == 2
    reg.unregister("t")
    assert reg.tools() == []


def test_progress_raises_cancelled_once_the_request_is_gone():
    active = [True]
    progress = Progress(lambda f, m: None, lambda: active[0])
    progress(0.5)
    active[0] = False
    with pytest.raises(Cancelled):
        progress.check()
    with pytest.raises(Cancelled):
        progress(0.6)


def test_progress_clamps_fractions():
    seen = []
    progress = Progress(lambda f, m: seen.append(f))
    progress(-1)
    progress(2)
    assert seen == [0.0, 1.0]


def test_built_in_tools():
    assert registry.call("echo", {"value": [1]}) == [1]
    assert registry.call("add", {"a": 1, "b": 2}) == 3
    with pytest.raises(TypeError, match="a must be a number"):
        registry.call("add", {"a": "1", "b": 2})
    with pytest.raises(RuntimeError, match="boom"):
        registry.call("fail", {"type": "RuntimeError", "message": "boom"})
    with pytest.raises(ValueError, match="unsupported type 'SystemExit'"):
        registry.call("fail", {"type": "SystemExit"})
    assert registry.call("sleep", {"seconds": 0, "steps": 1}) == {"slept": 0, "steps": 1}
    assert set(registry.call("python_info", {})) == {"version", "executable", "implementation"}


def test_a_registered_tool_is_served_with_its_exception_types():
    from hexpack_bridge.server import start_server

    reg = Registry()

    class ToolProblem(Exception):
        pass

    @reg.register(description="Upper-case a string.")
    def shout(text: str) -> str:
        if not text:
            raise ToolProblem("nothing to shout")
        return text.upper()

    running = start_server("127.0.0.1", 0, registry=reg)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{running.port}") as ch:
            stub = bridge_pb2_grpc.BridgeStub(ch)
            tools = stub.ListTools(bridge_pb2.ListToolsRequest(), timeout=10).tools
            assert [(t.name, t.description) for t in tools] == [("shout", "Upper-case a string.")]
            ok = stub.Execute(bridge_pb2.ExecuteRequest(tool="shout", arguments_json='{"text": "hi"}'), timeout=10)
            assert json.loads(ok.result_json) == "HI"
            bad = stub.Execute(bridge_pb2.ExecuteRequest(tool="shout", arguments_json='{"text": ""}'), timeout=10)
            assert bad.error.type.endswith(".ToolProblem")
            assert bad.error.message == "nothing to shout"
    finally:
        running.stop(grace=0)


def test_register_is_the_default_registry():
    assert register == registry.register
