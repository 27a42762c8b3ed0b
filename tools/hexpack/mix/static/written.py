"""Where project/0's string values are written in mix.exs, for editing them in place.

A value counts as written when its expression comes down to one plain
``"..."`` literal (no escapes, no interpolation) through ``@attr``s,
variables and zero-arity helpers: ``version: "1.4.0"``, ``version: @version``
with ``@version "1.4.0"``, ``version: version()`` with ``defp version, do:
"1.4.0"``. Anything computed (``"#{@major}.0.0"``, ``File.read!/1``) is not
written anywhere and is left out: nothing would say which text to change.
"""

from __future__ import annotations

from ...records import Record
from ..terms import Atom
from .syntax import Code, Module
from .values import Binding

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)

if TYPE_CHECKING:
    from typing import Any

    from .reader import Reader

__all__ = ["Written", "written_literals"]


class Written(Record):
    """Where a top-level ``project/0`` string is written in mix.exs as one plain literal (the static reader
    follows ``@attr``s, variables and zero-arity helpers to it), so it can be edited in place."""

    __slots__ = ("value", "start", "end", "line", "text")

    def __init__(self, value: str, start: int, end: int, line: int, text: str):
        self.value = value
        self.start = start  # character offsets of the text between the quotes, in mix.exs as decoded from UTF-8
        self.end = end
        self.line = line
        self.text = text  # the literal as it reads, for messages: '@version "1.4.0"' or 'version: "1.4.0"'


_MAX_HOPS = 32  # @a -> @b -> helper -> ...: deeper is not a plain literal anyone edits by hand


def written_literals(reader: Reader, config: Any) -> dict[str, Written]:
    """Top-level key -> where its string value is written, for each key whose value is one plain literal."""
    module = reader.project_module
    if module is None or not isinstance(config, list):
        return {}
    values = {str.__str__(k): v for k, v in config if isinstance(k, Atom)}
    found: dict[str, Written] = {}
    for key, (code, variables) in reader.project_values.items():
        value = values.get(key)
        if not isinstance(value, str) or isinstance(value, Atom):
            continue
        located = _literal(reader, code, variables, module, 0)
        if located is None:
            continue
        start, end, line, attr, hops = located
        if reader.src[start:end] != value:  # the evaluator read something else: do not guess
            continue
        text = f'@{attr} "{value}"' if attr else f'{key}: "{value}"' if hops == 0 else f'"{value}"'
        found[key] = Written(value, start, end, line, text)
    return found


def _literal(
    reader: Reader, code: Code, variables: dict[str, Any], module: Module, hops: int
) -> tuple[int, int, int, str | None, int] | None:
    """(start, end, line, the attribute holding it, hops) of the one literal ``code`` comes down to."""
    if hops > _MAX_HOPS:
        return None
    toks = [tok for tok in code.toks[code.start : code.end] if tok.kind != "nl"]
    call = (
        len(toks) == 3 and toks[0].kind == "ident" and toks[1].is_op("(") and not toks[1].spaced and toks[2].is_op(")")
    )
    if call:
        toks = toks[:1]
    if len(toks) != 1:
        return None
    tok = toks[0]
    span = tok.literal_text(reader.src)
    if span is not None:
        return span[0], span[1], tok.line, None, hops
    if tok.kind == "attr":
        attr = code.attrs.get(tok.value)
        inner = _literal(reader, attr.code, {}, module, hops + 1) if attr is not None else None
        if inner is None:
            return None
        start, end, line, name, depth = inner
        return start, end, line, name or tok.value, depth
    if tok.kind == "ident":
        binding = variables.get(tok.value) if not call else None
        if isinstance(binding, Binding):
            return _literal(reader, binding.evaluator.code, binding.evaluator.vars, module, hops + 1)
        if binding is not None:
            return None
        fun = module.funs.get(tok.value)
        if fun is not None and fun.code is not None and not fun.macro:
            return _literal(reader, fun.code, {}, module, hops + 1)
    return None
