"""The values the static reader builds besides ``hexpack.mix.terms``, and their conversions.

``Unreadable`` stands for a value it cannot evaluate, ``Binding`` for a
variable evaluated on first use; ``to_string`` and ``sigil_value`` are
Elixir's conversions for the values whose result is certain.
"""

from __future__ import annotations

from ...records import Record
from ..terms import Atom, Regex, atom
from .tokens import Refusal, refuse

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)

if TYPE_CHECKING:
    from typing import Any

    from .evaluation import Evaluator


class Unreadable(Record):
    """A top-level project/0 value the static reader cannot evaluate.

    Harmless while nothing reads it; ``read_statically`` refuses when it is
    one of ``PACKAGING_KEYS``.
    """

    __slots__ = ("line", "what")

    def __init__(self, line: int, what: str):
        self.line = line
        self.what = what

    def __repr__(self) -> str:
        return f"<unreadable without Elixir: line {self.line}>"


def has_unreadable(value: Any) -> bool:
    """True when ``value`` is, or holds, an ``Unreadable``."""
    if isinstance(value, Unreadable):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_unreadable(item) for item in value)
    if isinstance(value, dict):
        return any(has_unreadable(item) for item in value.values())
    return False


def first_unreadable(value: Any) -> Unreadable | None:
    if isinstance(value, Unreadable):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        found = first_unreadable(item)
        if found is not None:
            return found
    return None


WHITESPACE_EXCEPT_NBSP = "\u00a0\u2007\u202f\x1c\x1d\x1e\x1f"


def split_words(text: str) -> list[str]:
    """``String.split/1``: on Unicode whitespace except non-breaking spaces."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch.isspace() and ch not in WHITESPACE_EXCEPT_NBSP:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


def is_str(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, Atom)


def kind_of(value: Any) -> str:
    if isinstance(value, float):
        return "a float"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


def to_string(value: Any, line: int) -> str:
    """``String.Chars.to_string/1`` for the values whose text is certain."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):  # Atom included
        return str.__str__(value)
    if isinstance(value, int):
        return str(value)
    raise refuse(line, f"{kind_of(value)} interpolated into a string")


def sigil_value(letter: str, text: str, mods: str, line: int) -> Any:
    """The value of ``~<letter>`` with ``text`` (escapes and interpolations done) and modifiers ``mods``."""
    if letter in "rR":
        bad = [m for m in mods if m not in "uismxfU"]
        if bad:
            raise Refusal(line, f"unknown regex modifier {bad[0]!r}")
        return Regex(text, mods)
    if letter in "sS":
        if mods:
            raise Refusal(line, f"~{letter} takes no modifiers")
        return text
    if letter in "cC":
        if mods:
            raise Refusal(line, f"~{letter} takes no modifiers")
        return [ord(c) for c in text]
    if letter in "wW":
        words = split_words(text)
        mod = mods or "s"
        if len(mod) != 1 or mod not in "acs":
            raise Refusal(line, f"~{letter} takes one modifier of a, c or s")
        if mod == "a":
            return [atom(w) for w in words]
        if mod == "c":
            return [[ord(c) for c in w] for w in words]
        return words
    raise refuse(line, f"the sigil `~{letter}`")


class Binding:
    """A variable's value, evaluated on first use (and a refusal remembered, like a function's)."""

    def __init__(self, evaluator: Evaluator):
        self.evaluator = evaluator
        self.state = "new"
        self.value: Any = None
        self.error: Refusal | None = None

    def force(self) -> Any:
        if self.state == "done":
            return self.value
        if self.state == "failed":
            assert self.error is not None
            raise self.error
        try:
            self.value = self.evaluator.whole()
        except Refusal as exc:
            self.state, self.error = "failed", exc
            raise
        self.state = "done"
        return self.value
