"""The binary operators the static reader evaluates: their precedence and their exact results."""

from __future__ import annotations

from . import builtins as mix_builtins
from .tokens import Tok, refuse
from .values import has_unreadable, is_str

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

# Binary operators the reader evaluates, by Elixir's precedence (higher binds tighter).
LEVELS = {"||": 1, "or": 1, "&&": 2, "and": 2, "==": 3, "!=": 3, "===": 3, "!==": 3, "in": 4, "not in": 4}
LEVELS.update({"++": 5, "<>": 5})
RIGHT_ASSOCIATIVE = {"++", "<>"}


def operator_at(toks: list[Tok], j: int, limit: int) -> tuple[str | None, int]:
    """The binary operator starting at toks[j] and its width in tokens (``not in`` is two)."""
    tok = toks[j]
    if tok.kind == "op":
        return tok.value, 1
    if tok.is_ident("not") and j + 1 < limit and toks[j + 1].is_ident("in"):
        return "not in", 2
    if tok.is_ident("and", "or", "in"):
        return tok.value, 1
    return None, 1


def apply_binary(name: str, tok: Tok, left: Any, right: Any) -> Any:
    """``left <name> right``; refused when the result is not certain here."""
    if name != "++" and (has_unreadable(left) or has_unreadable(right)):  # ++ only carries values along
        raise refuse(tok.line, f"`{name}` of a value it cannot read")
    try:
        if name in ("++", "<>"):
            return _concat(tok, left, right)
        if name in ("==", "!="):
            return mix_builtins.equal(left, right, strict=False) == (name == "==")
        if name in ("===", "!=="):
            return mix_builtins.equal(left, right, strict=True) == (name == "===")
        if name in ("in", "not in"):
            return mix_builtins.member(left, right) == (name == "in")
        if name in ("and", "or"):
            if not isinstance(left, bool):
                raise refuse(tok.line, f"`{name}` on a value that is not a boolean")
            return (left and right) if name == "and" else (left or right)
        if name == "&&":
            return right if mix_builtins.truthy(left) else left
        return left if mix_builtins.truthy(left) else right  # ||
    except mix_builtins.Unsupported as exc:
        raise refuse(tok.line, f"`{name}` here ({exc})") from None


def _concat(tok: Tok, left: Any, right: Any) -> Any:
    if tok.value == "++":
        if isinstance(left, list) and isinstance(right, list):
            return left + right
        raise refuse(tok.line, "`++` on something that is not a list")
    if is_str(left) and is_str(right):
        return left + right
    raise refuse(tok.line, "`<>` on something that is not a string")
