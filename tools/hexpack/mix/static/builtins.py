"""What the static mix.exs reader can compute exactly, besides literals.

Kernel's comparison and boolean operators, ``in``, and a few remote calls
whose result is certain without Elixir: ``Mix.env/0`` (the environment ``mix
hex.build`` runs in, decided by :mod:`hexpack.mix.static`), ``System.get_env``
(this process's environment: the build runs here), ``String.starts_with?/2``
and ``String.ends_with?/2``. Each function raises ``Unsupported`` for an
argument whose Elixir result it cannot be sure of; the reader turns that
into a refusal naming the line.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping

from ..terms import Atom, Regex

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["REMOTE", "Unsupported", "equal", "member", "truthy"]


class Unsupported(Exception):
    """The value's Elixir result is not certain here; the message says why."""


def truthy(value: Any) -> bool:
    """Elixir truthiness: everything but ``nil`` and ``false``."""
    return value is not None and value is not False


def equal(left: Any, right: Any, *, strict: bool) -> bool:
    """``==`` (``strict=False``: ``1 == 1.0``) or ``===``, on the values the reader builds."""
    kind_left, kind_right = _kind(left), _kind(right)
    if kind_left == "number" and kind_right == "number":
        if strict and type(left) is not type(right):
            return False
        return left == right
    if kind_left != kind_right:
        return False
    if kind_left in ("atom", "binary", "regex"):
        return _atom_or_text(left) == _atom_or_text(right)
    if kind_left in ("list", "tuple"):
        return len(left) == len(right) and all(equal(a, b, strict=strict) for a, b in zip(left, right, strict=True))
    if kind_left == "map":
        if len(left) != len(right) or set(left) != set(right):
            return False
        return all(equal(left[key], right[key], strict=strict) for key in left)
    raise Unsupported(f"comparing {kind_left} values")


def member(value: Any, collection: Any) -> bool:
    """``value in collection`` for a list (``Enum.member?/2`` compares with ``===``)."""
    if not isinstance(collection, list):
        raise Unsupported("`in` on something that is not a list")
    return any(equal(value, item, strict=True) for item in collection)


def _kind(value: Any) -> str:
    if value is None or isinstance(value, (bool, Atom)):
        return "atom"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "binary"
    if isinstance(value, list):
        return "list"
    if isinstance(value, tuple):
        return "tuple"
    if isinstance(value, dict):
        return "map"
    if isinstance(value, Regex):
        return "regex"
    raise Unsupported(f"comparing {type(value).__name__}")


def _atom_or_text(value: Any) -> Any:
    if value is None or isinstance(value, bool):
        return ("atom", {None: "nil", True: "true", False: "false"}[value])
    if isinstance(value, Atom):
        return ("atom", str.__str__(value))
    if isinstance(value, Regex):
        return ("regex", value.source, value.options)
    return ("binary", value)


# ---------------------------------------------------------------- remote calls


def _get_env(args: list[Any], env: Mapping[str, str]) -> Any:
    name = args[0]
    if not _is_binary(name):
        raise Unsupported("System.get_env/1 of something that is not a string")
    default = args[1] if len(args) == 2 else None
    return env.get(name, default)


def _affix(test: Callable[[str, str], bool]) -> Callable[[list[Any], Mapping[str, str]], Any]:
    def call(args: list[Any], env: Mapping[str, str]) -> Any:
        text, affixes = args
        choices = affixes if isinstance(affixes, list) else [affixes]
        if not _is_binary(text) or not choices or not all(_is_binary(a) for a in choices):
            raise Unsupported("String.starts_with?/ends_with? of something that is not a string")
        return any(test(text, affix) for affix in choices)

    return call


def _is_binary(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, Atom)


#: (module, function, arity) -> implementation(args, environ). ``Mix.env/0`` is the reader's own.
REMOTE: dict[tuple[str, str, int], Callable[[list[Any], Mapping[str, str]], Any]] = {
    ("System", "get_env", 1): _get_env,
    ("System", "get_env", 2): _get_env,
    ("String", "starts_with?", 2): _affix(str.startswith),
    ("String", "ends_with?", 2): _affix(str.endswith),
}


def environ() -> Mapping[str, str]:
    return os.environ
