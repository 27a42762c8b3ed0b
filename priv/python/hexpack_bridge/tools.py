"""Tools the bridge can run, and the decorator that registers more.

A tool is a plain function taking keyword arguments (decoded from the request's
JSON object) and returning a JSON-serialisable value::

    from hexpack_bridge import register

    @register(description="Multiply two numbers.")
    def multiply(a: float, b: float) -> float:
        return a * b

A tool registered with ``streaming=True`` also receives ``progress``, a callable
``progress(fraction, message="")`` whose calls become ``Progress`` events of
``ExecuteStream``. ``progress`` raises :class:`Cancelled` once the client has
gone away (or the server is shutting down), so a long tool stops early.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

__all__ = ["Cancelled", "Progress", "Registry", "Tool", "UnknownTool", "register", "registry"]


class Cancelled(Exception):
    """Raised by ``progress`` when the request was cancelled; tools let it propagate."""


class UnknownTool(LookupError):
    """No tool of that name is registered."""


class Progress:
    """What a streaming tool receives as ``progress``.

    ``progress(fraction, message)`` reports; ``progress.check()`` only raises
    :class:`Cancelled` when the request is gone. Both raise it then.
    """

    def __init__(
        self,
        emit: Callable[[float, str], None] | None = None,
        is_active: Callable[[], bool] | None = None,
    ) -> None:
        self._emit = emit
        self._is_active = is_active

    def check(self) -> None:
        if self._is_active is not None and not self._is_active():
            raise Cancelled("the request was cancelled")

    def __call__(self, fraction: float, message: str = "") -> None:
        self.check()
        if self._emit is not None:
            self._emit(min(max(float(fraction), 0.0), 1.0), str(message))


F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class Tool:
    name: str
    func: Callable[..., Any]
    description: str
    streaming: bool


class Registry:
    """A set of named tools. ``hexpack_bridge.registry`` is the one the server uses."""

    def __init__(self) -> None:
        self._tools: dict[str, Tool] = {}
        self._lock = threading.Lock()

    def register(
        self,
        func: F | None = None,
        *,
        name: str | None = None,
        description: str | None = None,
        streaming: bool = False,
    ) -> Any:
        """Register ``func`` as a tool; usable as ``@register`` or ``@register(name=...)``.

        Registering a name twice replaces the earlier tool.
        """

        def decorate(f: F) -> F:
            tool_name = name or f.__name__
            if not tool_name or not isinstance(tool_name, str):
                raise ValueError(f"invalid tool name {tool_name!r}: use a non-empty string")
            doc = description if description is not None else (f.__doc__ or "").strip().splitlines()
            text = doc if isinstance(doc, str) else (doc[0] if doc else "")
            with self._lock:
                self._tools[tool_name] = Tool(tool_name, f, text, streaming)
            return f

        if func is not None:
            return decorate(func)
        return decorate

    def unregister(self, name: str) -> None:
        with self._lock:
            self._tools.pop(name, None)

    def get(self, name: str) -> Tool:
        with self._lock:
            tool = self._tools.get(name)
        if tool is None:
            known = ", ".join(sorted(self._tools)) or "none"
            raise UnknownTool(f"no tool named {name!r} (known tools: {known})")
        return tool

    def tools(self) -> list[Tool]:
        with self._lock:
            return sorted(self._tools.values(), key=lambda t: t.name)

    def call(self, name: str, arguments: dict[str, Any], progress: Progress | None = None) -> Any:
        """Run tool ``name`` with ``arguments``; streaming tools get ``progress``."""
        tool = self.get(name)
        if tool.streaming:
            return tool.func(**arguments, progress=progress or Progress())
        return tool.func(**arguments)


registry = Registry()
register = registry.register


# --- built-in tools ----------------------------------------------------------

_FAILURES: dict[str, type[Exception]] = {
    "ValueError": ValueError,
    "RuntimeError": RuntimeError,
    "KeyError": KeyError,
    "TypeError": TypeError,
    "ZeroDivisionError": ZeroDivisionError,
}


@register(description="Return `value` unchanged.")
def echo(value: Any = None) -> Any:
    return value


@register(description="Return a + b.")
def add(a: float, b: float) -> float:
    for label, x in (("a", a), ("b", b)):
        if isinstance(x, bool) or not isinstance(x, (int, float)):
            raise TypeError(f"add: {label} must be a number, got {type(x).__name__}")
    return a + b


@register(description="Sleep `seconds` in `steps` steps, reporting progress after each.", streaming=True)
def sleep(seconds: float = 1.0, steps: int = 10, *, progress: Progress) -> dict[str, Any]:
    if seconds < 0 or steps < 1:
        raise ValueError("sleep: seconds must be >= 0 and steps >= 1")
    started = time.monotonic()
    for i in range(1, steps + 1):
        deadline = started + seconds * i / steps
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(left, 0.05))
            progress.check()  # a cancelled request stops within 50 ms
        progress(i / steps, f"step {i}/{steps}")
    return {"slept": seconds, "steps": steps}


@register(description="Raise `type` (ValueError by default) with `message`, to test error handling.")
def fail(message: str = "failed on purpose", type: str = "ValueError") -> None:  # noqa: A002
    exc = _FAILURES.get(type)
    if exc is None:
        raise ValueError(f"fail: unsupported type {type!r}; choose one of {', '.join(sorted(_FAILURES))}")
    raise exc(message)


@register(description="The server's Python version and executable.")
def python_info() -> dict[str, Any]:
    return {
        "version": ".".join(map(str, sys.version_info[:3])),
        "executable": sys.executable,
        "implementation": sys.implementation.name,
    }
