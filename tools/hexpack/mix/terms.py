"""Python stand-ins for the Elixir values hexpack reads out of ``mix.exs``.

Elixir data maps onto Python as: binary -> ``str``; atom -> ``Atom``
(``true``/``false`` -> ``bool``, ``nil`` -> ``None``); integer/float ->
``int``/``float``; list -> ``list``; tuple -> ``tuple``; map -> ``dict``;
``~r`` regex -> ``Regex``. A keyword list is a list of ``(Atom, value)``
2-tuples, exactly as in Elixir.

``inspect`` and ``to_string`` write such values back as Elixir's ``inspect/1``
and ``to_string/1`` do (for messages and for the metadata Hex prints).
"""

from __future__ import annotations

import re

from ..records import Record

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

#: Fixed caps on untrusted terms (metadata.config, mix.exs values), so that every reader and
#: printer works in bounded time and stack: no Hex metadata comes near either.
MAX_NESTING = 100
MAX_INTEGER_DIGITS = 1000


class Atom(str):
    """An Elixir atom, e.g. ``:dev`` is ``Atom("dev")``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return f":{str.__str__(self)}"


_SPECIAL_ATOMS: dict[str, bool | None] = {"true": True, "false": False, "nil": None}


def atom(name: str) -> Atom | bool | None:
    """The Python value of the Elixir atom ``name``: ``true``/``false``/``nil`` are bool/None."""
    return _SPECIAL_ATOMS[name] if name in _SPECIAL_ATOMS else Atom(name)


class Regex(Record):
    """An Elixir regex kept as a regex: its PCRE source and modifier letters."""

    __slots__ = ("source", "options", "_compiled")
    _fields = ("source", "options")  # the compiled pattern is a cache: neither compared nor shown

    def __init__(self, source: str, options: str = "", _compiled: re.Pattern[str] | None = None):
        self.source = source
        self.options = options
        self._compiled = _compiled

    def compiled(self) -> re.Pattern[str]:
        if self._compiled is None:
            flags = 0
            for letter in self.options:
                flags |= {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}.get(letter, 0)
            self._compiled = re.compile(self.source, flags)
        assert self._compiled is not None
        return self._compiled

    def search(self, text: str) -> bool:
        """``Regex.match?/2`` semantics: true if the pattern matches anywhere."""
        return self.compiled().search(text) is not None

    def __str__(self) -> str:
        return f"~r/{self.source}/{self.options}"


def is_keyword(value: Any) -> bool:
    """True for an Elixir keyword list (a list of ``(Atom, value)`` pairs)."""
    return isinstance(value, list) and all(
        isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], Atom) for item in value
    )


def keyword_get(keyword: list[tuple[Atom, Any]], key: str, default: Any = None) -> Any:
    """``Keyword.get/3``: the first value stored under ``key``."""
    for k, v in keyword:
        if k == key:
            return v
    return default


# compared with the value, never by converting it to text (quadratic in its length)
_TOO_LARGE = 10**MAX_INTEGER_DIGITS


def parse_integer(digits: str, base: int = 10) -> int:
    """``int(digits, base)`` refusing (ValueError) a literal longer than ``MAX_INTEGER_DIGITS``.

    Python itself refuses decimal text over 4,300 digits with a message about its own
    limit; this bound is lower, applies to every base and says what is wrong.
    """
    if len(digits.lstrip("+-")) > MAX_INTEGER_DIGITS:
        raise ValueError(f"integer literal of {len(digits)} digits (at most {MAX_INTEGER_DIGITS} are read)")
    number = int(digits, base)
    # 1,000 hex digits are 1,205 decimal ones: the cap is on the value, so whatever is read prints again
    if base != 10 and abs(number) >= _TOO_LARGE:
        raise ValueError(f"integer literal {digits[:20]}... in base {base} has more than {MAX_INTEGER_DIGITS} digits")
    return number


def bounds_problem(value: Any) -> str | None:
    """Why ``value`` is over the caps (nesting deeper than ``MAX_NESTING``, an integer over
    ``MAX_INTEGER_DIGITS`` digits), or None. Iterative: a term of any depth is checked."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, (list, tuple, dict)):
            if depth >= MAX_NESTING:
                return f"nested more than {MAX_NESTING} levels deep"
            children = [x for pair in item.items() for x in pair] if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= _TOO_LARGE:
            return f"holding an integer of more than {MAX_INTEGER_DIGITS} digits"
    return None


def inspect(value: Any) -> str:
    """``value`` written back as Elixir source, for messages (like ``inspect/1``)."""
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Atom):
        text = str.__str__(value)
        return ":" + text if _PLAIN_ATOM.fullmatch(text) else ":" + _quote(text)
    if isinstance(value, str):
        return _quote(value)
    if isinstance(value, Regex):
        return f"~r/{value.source}/{value.options}"
    if isinstance(value, list):
        if is_keyword(value) and value:
            return "[" + ", ".join(f"{_key(k)} {inspect(v)}" for k, v in value) + "]"
        return "[" + ", ".join(inspect(v) for v in value) + "]"
    if isinstance(value, tuple):
        return "{" + ", ".join(inspect(v) for v in value) + "}"
    if isinstance(value, dict):
        return "%{" + ", ".join(f"{inspect(k)} => {inspect(v)}" for k, v in value.items()) + "}"
    return repr(value)


_PLAIN_ATOM = re.compile(r"[A-Za-z_][A-Za-z0-9_@]*[?!]?")


def _key(atom: Atom) -> str:
    text = str.__str__(atom)
    return f"{text}:" if _PLAIN_ATOM.fullmatch(text) else f"{_quote(text)}:"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("#{", "\\#{").replace("\n", "\\n")
    return f'"{escaped}"'


def to_string(value: Any) -> str:
    """Elixir's ``to_string/1`` (``String.Chars``) for the values metadata holds."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return str.__str__(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_to_string(value)
    if isinstance(value, list):  # chardata
        return "".join(chr(item) if isinstance(item, int) else to_string(item) for item in value)
    return inspect(value)


def _float_to_string(value: float) -> str:
    text = repr(value)
    if "e" in text:
        mantissa, exponent = text.split("e")
        if "." not in mantissa:
            mantissa += ".0"
        return f"{mantissa}e{int(exponent)}"
    return text
