"""Erlang term text for Hex's ``metadata.config``: writing and reading.

Hex writes each metadata pair with ``io_lib_pretty:print(Term, [{encoding,
utf8}])`` followed by ``".\\n"`` (hex_core ``hex_tarball:encode_metadata/1``),
on the BEAM's default printable range (latin1), with line length 80. This
module reproduces that layout byte for byte (a port of OTP 25's
``io_lib_pretty`` for the term shapes metadata can hold: binaries, atoms,
integers, floats, lists and tuples) and parses such text back.

Python <-> Erlang:
    ``str``   <-> binary (UTF-8; ``<<"..."/utf8>>`` when not plain ASCII)
    ``bytes`` <-> binary that is not valid UTF-8 (written as Erlang does)
    ``bool``  <-> ``true`` / ``false``; ``None`` <-> ``nil``
    ``hexpack.mix.terms.Atom`` <-> any other atom
    ``int``, ``float``, ``list``, ``tuple`` <-> the same
Dicts are refused: Hex turns maps into lists of 2-tuples before printing.
"""

from __future__ import annotations

import math
import re

from ..errors import TarballError
from ..mix.terms import MAX_NESTING, Atom, parse_integer
from ..records import Record

__all__ = ["format_config", "format_term", "parse_config", "parse_terms"]

LINE_LENGTH = 80

# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


class _If(Record):
    """io_lib_pretty's intermediate format: what to write and its length.

    ``kind`` is "leaf" (a flat string such as an atom or a printable binary),
    "bin" (a binary written as bytes, which may wrap), "list" or "tuple".
    """

    __slots__ = ("kind", "length", "text", "items", "tagged")

    def __init__(self, kind: str, length: int, text: str = "", items: list[_If] | None = None, tagged: bool = False):
        self.kind = kind
        self.length = length
        self.text = text
        self.items = [] if items is None else items
        self.tagged = tagged


_ESCAPES = {
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
    "\v": "\\v",
    "\b": "\\b",
    "\f": "\\f",
    "\x1b": "\\e",
    "\x7f": "\\d",
    "\\": "\\\\",
}
_PRINTABLE_CONTROLS = frozenset("\n\r\t\v\b\f\x1b")
_RESERVED = frozenset(  # erl_scan:reserved_word/1 in OTP 25 (maybe/else are not)
    {
        "after", "and", "andalso", "band", "begin", "bnot", "bor", "bsl", "bsr", "bxor", "case", "catch", "cond",
        "div", "end", "fun", "if", "let", "not", "of", "or", "orelse", "receive", "rem", "try", "when", "xor",
    }
)  # fmt: skip
_BARE_ATOM = re.compile(r"[a-z\xdf-\xf6\xf8-\xff][A-Za-z0-9_@\xc0-\xd6\xd8-\xff]*\Z")


_PRINTABLE_ASCII = re.compile("[\x20-\x7e\n\r\t\v\b\f\x1b]*")  # what _printable_latin1 accepts below 0x80
_NEEDS_ESCAPE = re.compile("[" + re.escape("".join(_ESCAPES)) + "]")


def _printable_latin1(code: int) -> bool:
    return 0x20 <= code <= 0x7E or 0xA0 <= code <= 0xFF or chr(code) in _PRINTABLE_CONTROLS


def _quote(chars: str, quote: str) -> str:
    if not _NEEDS_ESCAPE.search(chars) and quote not in chars:
        return quote + chars + quote  # the common case (file names, URLs), without a loop per character
    out = [quote]
    for ch in chars:
        if ch == quote:
            out.append("\\" + ch)
        else:
            out.append(_ESCAPES.get(ch, ch))
    out.append(quote)
    return "".join(out)


def _write_atom(name: str) -> str:
    if _BARE_ATOM.match(name) and name not in _RESERVED:
        return name
    out = ["'"]
    for ch in name:
        code = ord(ch)
        if ch == "'":
            out.append("\\'")
        elif ch in _ESCAPES:
            out.append(_ESCAPES[ch])
        elif code < 0x20:
            out.append("\\^" + chr(code + 64))
        elif 0x80 <= code < 0xA0:
            out.append("\\" + format(code, "o"))
        else:
            out.append(ch)
    out.append("'")
    return "".join(out)


def _write_float(value: float) -> str:
    """``io_lib:write/1`` of a float: the shortest round-tripping digits."""
    if math.isnan(value) or math.isinf(value):
        raise TarballError(f"cannot write {value!r} as an Erlang term", subject="metadata.config")
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    sign = "-" if value < 0 else ""
    mantissa, _, exp_text = repr(abs(value)).partition("e")
    digits = mantissa.replace(".", "")
    point = mantissa.index(".") if "." in mantissa else len(mantissa)
    exponent = (int(exp_text) if exp_text else 0) + point  # value = 0.DIGITS * 10**exponent
    stripped = digits.lstrip("0")
    exponent -= len(digits) - len(stripped)
    digits = stripped.rstrip("0") or "0"
    # io_lib_format:fwrite_g/1 (OTP 25, insert_decimal/2): plain or D.DDDeN, whichever is shorter.
    place, length = exponent, len(digits)
    if 0 < place < length:
        return f"{sign}{digits[:place]}.{digits[place:]}"
    if place == 0:
        return f"{sign}0.{digits}"
    exp_text = str(place - 1)
    exp_cost = len(exp_text) + 1 + (2 if length == 1 else 1)
    if place < 0 and 2 - place <= exp_cost:
        return f"{sign}0.{'0' * -place}{digits}"
    if place > 0 and place - length + 2 <= exp_cost and abs(value) < 2**53:
        return f"{sign}{digits}{'0' * (place - length)}.0"
    if length == 1:
        return f"{sign}{digits}.0e{exp_text}"
    return f"{sign}{digits[0]}.{digits[1:]}e{exp_text}"


def _binary_leaf(data: bytes) -> _If:
    """print_length_binary/7 with encoding utf8 and printable range latin1."""
    if not data:
        return _If("leaf", 4, "<<>>")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is not None:
        if _PRINTABLE_ASCII.fullmatch(text):
            quoted = _quote(text, '"')
            return _If("leaf", 4 + len(quoted), f"<<{quoted}>>")
        if all(_printable_latin1(ord(ch)) for ch in text):
            quoted = _quote(text, '"')
            return _If("leaf", 9 + len(quoted), f"<<{quoted}/utf8>>")
    elif all(_printable_latin1(b) for b in data):
        quoted = _quote(data.decode("latin-1"), '"')
        return _If("leaf", 4 + len(quoted), f"<<{quoted}>>")
    text = "<<" + ",".join(str(b) for b in data) + ">>"
    return _If("bin", len(text), text)


def _intermediate(term: object) -> _If:
    if isinstance(term, bool):
        return _If("leaf", 5 if not term else 4, "true" if term else "false")
    if term is None:
        return _If("leaf", 3, "nil")
    if isinstance(term, Atom):
        text = _write_atom(str(term))
        return _If("leaf", len(text), text)
    if isinstance(term, str):
        return _binary_leaf(term.encode("utf-8"))
    if isinstance(term, (bytes, bytearray)):
        return _binary_leaf(bytes(term))
    if isinstance(term, int):
        text = str(term)
        return _If("leaf", len(text), text)
    if isinstance(term, float):
        text = _write_float(term)
        return _If("leaf", len(text), text)
    if isinstance(term, list):
        if not term:
            return _If("leaf", 2, "[]")
        if all(type(x) is int and 0 <= x <= 0x10FFFF and _printable_latin1(x) for x in term):
            quoted = _quote("".join(chr(x) for x in term), '"')
            return _If("leaf", len(quoted), quoted)
        items = [_intermediate(x) for x in term]
        return _If("list", 2 + sum(i.length for i in items) + len(items) - 1, items=items)
    if isinstance(term, tuple):
        if not term:
            return _If("leaf", 2, "{}")
        items = [_intermediate(x) for x in term]
        tagged = len(term) > 1 and (isinstance(term[0], (Atom, bool)) or term[0] is None)
        return _If("tuple", 2 + sum(i.length for i in items) + len(items) - 1, items=items, tagged=tagged)
    if isinstance(term, dict):
        raise TarballError(
            "maps cannot be written to metadata.config",
            subject="metadata.config",
            hint="convert the map to a sorted list of {key, value} tuples as Hex does",
        )
    raise TarballError(f"cannot write a {type(term).__name__} as an Erlang term", subject="metadata.config")


def _atm(node: _If) -> bool:
    return node.kind == "leaf"


def _write(node: _If) -> str:
    if node.kind == "list":
        return "[" + ",".join(_write(i) for i in node.items) + "]"
    if node.kind == "tuple":
        return "{" + ",".join(_write(i) for i in node.items) + "}"
    return node.text


class _NoGood(Exception):
    pass


class _Printer:
    def __init__(self, ll: int, m: int):
        self.ll = ll
        self.m = m

    # -- pp -----------------------------------------------------------------
    def pp(self, node: _If, col: int, tind: int, ind: str, ld: int, w: int) -> str:
        ll, m = self.ll, self.m
        if node.length < ll - col - ld and node.length + w + ld <= m:
            return _write(node)
        if node.kind == "list":
            return "[" + self.pp_list(node.items, col + 1, tind, " " + ind, ld, w + 1) + "]"
        if node.kind == "tuple" and node.tagged:
            return "{" + self.pp_tag_tuple(node.items, col, tind, ind, ld, w + 1) + "}"
        if node.kind == "tuple":
            return "{" + self.pp_list(node.items, col + 1, tind, " " + ind, ld, w + 1) + "}"
        if node.kind == "bin":
            return self.pp_binary(node.text, col + 2, "  " + ind, ld, w)
        return node.text

    def pp_tag_tuple(self, items: list[_If], col: int, tind: int, ind: str, ld: int, w: int) -> str:
        tag = items[0]
        tag_ind = tag.length + 2
        tcol = col + tag_ind
        if tind > 0 and tag_ind > tind:
            return tag.text + self.pp_tail(items[1:], col + tind, tcol, tind, " " * tind + ind, ld, w + tag.length)
        return tag.text + "," + self.pp_list(items[1:], tcol, tind, " " * tag_ind + ind, ld, w + tag.length + 1)

    def pp_list(self, items: list[_If], col0: int, tind: int, ind: str, ld: int, w: int) -> str:
        first, rest = items[0], items[1:]
        text, width = self.pp_element(first, col0, tind, ind, 0 if rest else ld + 1, w)
        return text + self.pp_tail(rest, col0, col0 + width, tind, ind, ld, w + width)

    def pp_tail(self, items: list[_If], col0: int, col: int, tind: int, ind: str, ld: int, w: int) -> str:
        ll, m = self.ll, self.m
        out = []
        for index, node in enumerate(items):
            ld1 = 0 if index + 1 < len(items) else ld + 1
            elen = 1 + node.length
            if _atm(node) and (
                (ld1 == 0 and elen + 1 < ll - col and w + elen + 1 <= m)
                or (ld1 > 0 and elen < ll - col - ld1 and w + elen + ld1 <= m)
            ):
                out.append("," + _write(node))
                col += elen
                w += elen
            else:
                text, width = self.pp_element(node, col0, tind, ind, ld1, 0)
                out.append(",\n" + ind + text)
                col = col0 + width
                w = width
        return "".join(out)

    def pp_element(self, node: _If, col: int, tind: int, ind: str, ld: int, w: int) -> tuple[str, int]:
        if node.length < self.ll - col - ld and node.length + w + ld <= self.m and _atm(node):
            return _write(node), node.length
        return self.pp(node, col, tind, ind, ld, w), self.ll

    def pp_binary(self, text: str, col: int, ind: str, ld: int, w: int) -> str:
        n0 = max(8, min(self.ll - col, self.m - 4 - w) - ld)
        parts = text[2:-2].split(",")
        out = ["<<"]
        n = n0
        for part in parts[:-1]:
            size = len(part) + 1
            if n - size < 0:
                out.append("\n" + ind + part + ",")
                n = n0 - size
            else:
                out.append(part + ",")
                n -= size
        last = parts[-1]
        out.append(("\n" + ind + last) if len(last) > n else last)
        out.append(">>")
        return "".join(out)

    # -- cind: the indentation for tagged tuples ----------------------------
    def cind(self, node: _If, col: int, ind: int, ld: int, w: int) -> int:
        ll, m = self.ll, self.m
        if node.length < ll - col - ld and node.length + w + ld <= m:
            return ind
        if node.kind == "list" or (node.kind == "tuple" and not node.tagged):
            return self.cind_list(node.items, col + 1, ind, ld, w + 1)
        if node.kind == "tuple":
            return self.cind_tag_tuple(node.items, col, ind, ld, w + 1)
        return ind

    def cind_tag_tuple(self, items: list[_If], col: int, ind: int, ld: int, w: int) -> int:
        ll, m = self.ll, self.m
        tlen = items[0].length
        tag_ind = tlen + 2
        tcol = col + tag_ind
        if ind > 0 and tag_ind > ind:
            col1 = col + ind
            if m + col1 <= ll or col1 <= ll // 2:
                return self.cind_tail(items[1:], col1, tcol, ind, ld, w + tlen)
            raise _NoGood
        if m + tcol < ll or tcol < ll // 2:
            return self.cind_list(items[1:], tcol, ind, ld, w + tlen + 1)
        raise _NoGood

    def cind_list(self, items: list[_If], col0: int, ind: int, ld: int, w: int) -> int:
        first, rest = items[0], items[1:]
        width = self.cind_element(first, col0, ind, 0 if rest else ld + 1, w)
        return self.cind_tail(rest, col0, col0 + width, ind, ld, w + width)

    def cind_tail(self, items: list[_If], col0: int, col: int, ind: int, ld: int, w: int) -> int:
        ll, m = self.ll, self.m
        for index, node in enumerate(items):
            ld1 = 0 if index + 1 < len(items) else ld + 1
            elen = 1 + node.length
            if _atm(node) and (
                (ld1 == 0 and elen + 1 < ll - col and w + elen + 1 <= m)
                or (ld1 > 0 and elen < ll - col - ld1 and w + elen + ld1 <= m)
            ):
                col += elen
                w += elen
            else:
                width = self.cind_element(node, col0, ind, ld1, 0)
                col = col0 + width
                w = width
        return ind

    def cind_element(self, node: _If, col: int, ind: int, ld: int, w: int) -> int:
        if node.length < self.ll - col - ld and node.length + w + ld <= self.m and _atm(node):
            return node.length
        self.cind(node, col, ind, ld, w)
        return self.ll


def format_term(term: object, *, column: int = 1, line_length: int = LINE_LENGTH) -> str:
    """``io_lib_pretty:print(Term, [{encoding, utf8}])`` as a str (latin1 printable range)."""
    node = _intermediate(term)
    if node.kind == "leaf" or (node.length < line_length - column):
        return _write(node)
    printer = _Printer(line_length, node.length)
    tind = 1
    for candidate in (-1, 4):
        try:
            tind = printer.cind(node, column, candidate, 0, 0)
            break
        except _NoGood:
            continue
    return printer.pp(node, column, tind, " " * (column - 1), 0, 0)


def format_config(pairs: list[tuple[str, object]]) -> bytes:
    """metadata.config text exactly as Hex writes it: one ``{Key,Value}.`` per pair, in order."""
    out = []
    for pair in pairs:
        if not (isinstance(pair, tuple) and len(pair) == 2 and isinstance(pair[0], str)):
            raise TarballError(f"metadata entry {pair!r} is not a (str, value) pair", subject="metadata.config")
        out.append(format_term(pair) + ".\n")
    return "".join(out).encode("utf-8")


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------

# Compiled where a term is read (re caches it): compiling costs a build, which only writes terms, about 1 ms.
_TOKEN = (
    r"""
    (?P<ws>\s+|%[^\n]*)
  | (?P<float>-?\d+\.\d+(?:[eE][+-]?\d+)?)
  | (?P<int>-?\d+(?:\#[0-9a-zA-Z]+)?)
  | (?P<string>"(?:[^"\\]|\\.)*")
  | (?P<qatom>'(?:[^'\\]|\\.)*')
  | (?P<atom>[a-z\xdf-\xf6\xf8-\xff][A-Za-z0-9_@\xc0-\xd6\xd8-\xff]*)
  | (?P<punct><<|>>|[{}\[\],./|:])
  | (?P<char>\$(?:\\.|.))
    """,
    re.VERBOSE | re.DOTALL,
)

_UNESCAPE = {"n": "\n", "r": "\r", "t": "\t", "v": "\v", "b": "\b", "f": "\f", "e": "\x1b", "d": "\x7f", "s": " "}


def _unquote(body: str) -> str:
    if "\\" not in body:
        return body
    out = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch != "\\":
            out.append(ch)
            i += 1
            continue
        i += 1
        if i >= len(body):
            raise ValueError("dangling backslash")
        esc = body[i]
        if esc in _UNESCAPE:
            out.append(_UNESCAPE[esc])
            i += 1
        elif esc in "01234567":
            j = i
            while j < len(body) and j < i + 3 and body[j] in "01234567":
                j += 1
            out.append(chr(int(body[i:j], 8)))
            i = j
        elif esc == "x":
            if body[i + 1 : i + 2] == "{":
                end = body.index("}", i)
                out.append(chr(int(body[i + 2 : end], 16)))
                i = end + 1
            else:
                out.append(chr(int(body[i + 1 : i + 3], 16)))
                i += 3
        elif esc == "^":
            out.append(chr(ord(body[i + 1]) % 32))
            i += 2
        else:
            out.append(esc)
            i += 1
    return "".join(out)


class _Parser:
    def __init__(self, text: str):
        self.tokens: list[tuple[str, str]] = []
        pos = 0
        token = re.compile(*_TOKEN)
        while pos < len(text):
            match = token.match(text, pos)
            if not match:
                raise ValueError(f"unexpected character {text[pos]!r} at offset {pos}")
            pos = match.end()
            kind = match.lastgroup or ""
            if kind != "ws":
                self.tokens.append((kind, match.group()))
        self.pos = 0
        self.depth = 0

    def peek(self) -> tuple[str, str]:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ("eof", "")

    def take(self, value: str | None = None) -> tuple[str, str]:
        token = self.peek()
        if token[0] == "eof":
            raise ValueError("unexpected end of input")
        if value is not None and token[1] != value:
            raise ValueError(f"expected {value!r}, found {token[1]!r}")
        self.pos += 1
        return token

    def term(self) -> object:
        kind, value = self.take()
        if kind == "int":
            if "#" in value:
                base, _, digits = value.lstrip("-").partition("#")
                if len(base) > 2 or not 2 <= int(base) <= 36:
                    raise ValueError(f"bad integer base {base}")
                number = parse_integer(digits, int(base))
                return -number if value.startswith("-") else number
            return parse_integer(value)
        if kind == "float":
            number = float(value)
            if math.isinf(number):  # erl_scan refuses it too (list_to_float/1 fails)
                raise ValueError(f"float {value[:40]} is out of range")
            return number
        if kind == "char":
            body = value[1:]
            return ord(_unquote(body) if body.startswith("\\") else body)
        if kind == "string":
            return [ord(c) for c in _unquote(value[1:-1])]
        if kind in ("atom", "qatom"):
            name = value if kind == "atom" else _unquote(value[1:-1])
            return {"true": True, "false": False, "nil": None}.get(name, Atom(name)) if kind == "atom" else Atom(name)
        if value in ("{", "["):
            self.depth += 1
            if self.depth > MAX_NESTING:
                raise ValueError(f"terms nested more than {MAX_NESTING} levels deep")
            items = self.sequence("}" if value == "{" else "]")
            self.depth -= 1
            return tuple(items) if value == "{" else items
        if value == "<<":
            return self.binary()
        raise ValueError(f"unexpected {value!r}")

    def sequence(self, close: str) -> list[object]:
        items: list[object] = []
        if self.peek()[1] == close:
            self.take()
            return items
        while True:
            items.append(self.term())
            kind, value = self.take()
            if value == close:
                return items
            if value != ",":
                raise ValueError(f"expected ',' or {close!r}, found {value!r}")

    def binary(self) -> object:
        data = bytearray()
        utf8_segments = True
        if self.peek()[1] == ">>":
            self.take()
            return ""
        while True:
            kind, value = self.take()
            if kind == "string":
                chars = _unquote(value[1:-1])
                if self.peek()[1] == "/":
                    self.take()
                    self.take("utf8")
                    data += chars.encode("utf-8")
                else:
                    if any(ord(c) > 255 for c in chars):
                        raise ValueError("binary string has characters above 255 without /utf8")
                    data += chars.encode("latin-1")
            elif kind == "int":
                number = parse_integer(value)
                if not 0 <= number <= 255:
                    raise ValueError(f"byte {number} out of range")
                data.append(number)
            else:
                raise ValueError(f"unexpected {value!r} in a binary")
            kind, value = self.take()
            if value == ">>":
                break
            if value != ",":
                raise ValueError(f"expected ',' or '>>', found {value!r}")
        try:
            return bytes(data).decode("utf-8") if utf8_segments else bytes(data)
        except UnicodeDecodeError:
            return bytes(data)


def parse_terms(text: str) -> list[object]:
    """All dot-terminated terms in ``text`` (``file:consult/1`` style)."""
    parser = _Parser(text)
    terms = []
    while parser.peek()[0] != "eof":
        terms.append(parser.term())
        parser.take(".")
    return terms


def parse_config(data: bytes) -> list[tuple[str, object]]:
    """Read metadata.config back into ``[(key, value), ...]`` in file order.

    Raises TarballError for anything that is not a list of ``{Key, Value}.``
    terms with binary keys.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("latin-1")  # hex_core falls back the same way
    try:
        terms = parse_terms(text)
    except (ValueError, IndexError, OverflowError) as exc:
        raise TarballError(f"not valid Erlang terms: {exc}", subject="metadata.config") from None
    pairs: list[tuple[str, object]] = []
    for term in terms:
        if not (isinstance(term, tuple) and len(term) == 2 and isinstance(term[0], str)):
            raise TarballError(
                f"not in key-value format: {format_term(term, line_length=10**9)[:60]}", subject="metadata.config"
            )
        pairs.append((term[0], term[1]))
    return pairs
