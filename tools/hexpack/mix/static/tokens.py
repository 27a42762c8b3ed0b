"""The static reader's first stage: ``mix.exs`` text to tokens.

The subset of Elixir's tokenizer that ``mix.exs`` files use: numbers, strings,
charlists and heredocs (interpolations kept as token lists), atoms, keyword
keys, sigils, identifiers, aliases, module attributes and operators. Also the
``Refusal`` every stage raises for what it cannot read exactly.
"""

from __future__ import annotations

import functools
import re

from ...records import Record
from ..terms import parse_integer

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any


class Refusal(Exception):
    """Raised inside the reader; turned into a ProjectError at the edge."""

    def __init__(self, line: int, what: str):
        super().__init__(what)
        self.line = line
        self.what = what


def refuse(line: int, thing: str) -> Refusal:
    return Refusal(line, f"cannot evaluate {thing} without Elixir")


class Tok(Record):
    __slots__ = ("kind", "value", "line", "spaced", "start", "end")

    def __init__(
        self,
        kind: str,  # int float str chars atom kw sigil ident alias attr op nl eof
        value: Any,
        line: int,
        spaced: bool = True,  # whitespace (or a line start) right before it
        start: int = -1,  # character offsets of the token in the text read (for editing a literal in place)
        end: int = -1,
    ):
        self.kind = kind
        self.value = value
        self.line = line
        self.spaced = spaced
        self.start = start
        self.end = end

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops

    def is_ident(self, *names: str) -> bool:
        return self.kind == "ident" and self.value in names

    def literal_text(self, src: str) -> tuple[int, int] | None:
        """The span of a plain ``"..."`` string's text in ``src`` when it reads exactly as its value
        (no escapes, no interpolation, not a heredoc), else None."""
        if self.kind != "str" or len(self.value) != 1 or not isinstance(self.value[0], str):
            return None
        start, end = self.start + 1, self.end - 1
        if src[self.start : start] != '"' or src[end : self.end] != '"' or src[start:end] != self.value[0]:
            return None
        return start, end

    def show(self) -> str:
        if self.kind in ("op", "ident", "alias"):
            return f"`{self.value}`"
        if self.kind == "attr":
            return f"`@{self.value}`"
        if self.kind == "nl":
            return "end of line"
        if self.kind == "eof":
            return "end of file"
        return f"this {self.kind}"


class Sigil(Record):
    __slots__ = ("letter", "parts", "modifiers")

    def __init__(self, letter: str, parts: list[Any], modifiers: str):
        self.letter = letter
        self.parts = parts  # raw text (escapes kept) and lists of tokens for #{...}
        self.modifiers = modifiers


_OPERATORS = sorted(
    [
        "===", "!==", "...", "<<<", ">>>", "&&&", "|||", "~~~", "^^^", "<~>", "<|>", "+++", "---",
        "|>", "++", "--", "<>", "=>", "->", "::", "\\\\", "==", "!=", "<=", ">=", "&&", "||", "<<", ">>",
        "..", "<-", "~>", "<~", "**", "+", "-", "*", "/", "=", "<", ">", "!", "^", "&", "|", ".", ";",
        "(", ")", "[", "]", "{", "}", ",", "%", "@",
    ],
    key=len,
    reverse=True,
)  # fmt: skip
# Longest first, as in Elixir's tokenizer: the operator read is the longest one the text starts with
# (set lookups: compiling these as one regex cost every build about 1 ms).
_OPERATORS_BY_LENGTH = [
    (length, frozenset(op for op in _OPERATORS if len(op) == length))
    for length in sorted({*map(len, _OPERATORS)})[::-1]
]
# First characters that only a name (ASCII letters, _) or only an operator can start: no digit, quote,
# ``:``, ``?``, ``~`` or ``@``, which the rules before those two look at.
_NAME_STARTS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ_")
_PLAIN_STARTS = _NAME_STARTS | {op[0] for op in _OPERATORS} - set("\"':?~@")
_BLANKS = re.compile(r"[ \t\r]+")
_IDENT = re.compile(r"[^\W\d]\w*[?!]?")
_ALIAS = re.compile(r"[A-Z]\w*")
_ATOM_NAME = re.compile(r"[^\W\d][\w@]*[?!]?")
_DIGITS = "0123456789"
# Compiled where used (re caches it): most numbers in a mix.exs are plain integers, read without it.
_NUMBER = (
    r"0x[0-9a-fA-F](?:_?[0-9a-fA-F])*|0o[0-7](?:_?[0-7])*|0b[01](?:_?[01])*"
    r"|(?P<int>[0-9](?:_?[0-9])*)(?P<frac>\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?)?"
)
_SIGIL_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">", "/": "/", "|": "|", '"': '"', "'": "'"}
BINARY_OPS = {
    "|>", "++", "--", "<>", "==", "!=", "===", "!==", "<=", ">=", "&&", "||", "&&&", "|||", "<<<", ">>>",
    "..", "<-", "~>", "<~", "**", "+", "-", "*", "/", "=", "<", ">", "^^^", "<|>", "<~>", "+++", "---",
    "\\\\", "::", "|", ".", "=>", "->",
}  # fmt: skip
WORD_OPS = {"and", "or", "in", "when", "not"}


class Tokenizer:
    def __init__(self, src: str, line: int = 1):
        self.src = src
        self.pos = 0
        self.line = line

    # -- the main loop ----------------------------------------------------

    def tokens(self, *, until_brace: bool = False) -> list[Tok]:
        out: list[Tok] = []
        depth = 0
        spaced = True
        src = self.src
        while True:
            if self.pos >= len(src):
                if until_brace:
                    raise Refusal(self.line, "string interpolation `#{` is missing its `}`")
                out.append(Tok("eof", None, self.line))
                return out
            ch = src[self.pos]
            if ch in " \t\r":
                self.pos = _BLANKS.match(src, self.pos).end()  # type: ignore[union-attr] (ch is one)
                spaced = True
                continue
            if ch == "\\" and src.startswith("\n", self.pos + 1):  # line continuation
                self.pos += 2
                self.line += 1
                spaced = True
                continue
            if ch == "#":
                end = src.find("\n", self.pos)
                self.pos = len(src) if end < 0 else end
                continue
            if ch == "\n":
                out.append(Tok("nl", None, self.line, spaced))
                self.pos += 1
                self.line += 1
                spaced = True
                continue
            start_line = self.line
            start = self.pos
            tok = self._token(ch, out)
            tok.line = start_line
            tok.spaced = spaced
            tok.start, tok.end = start, self.pos
            spaced = False
            if until_brace and tok.kind == "op":
                if tok.value == "{":
                    depth += 1
                elif tok.value == "}":
                    if depth == 0:
                        out.append(Tok("eof", None, self.line))  # every token list ends with one
                        return out
                    depth -= 1
            out.append(tok)

    def _token(self, ch: str, previous: list[Tok]) -> Tok:  # noqa: PLR0911, PLR0912
        src, pos = self.src, self.pos
        if ch in _PLAIN_STARTS:  # most tokens: an ASCII name or an operator no other rule below starts with
            return self._name(src, pos) if ch in _NAME_STARTS else self._operator(src, pos)
        if ch.isdigit():
            end = _plain_integer_end(src, pos)
            if end:
                self.pos = end
                try:
                    return Tok("int", parse_integer(src[pos:end]), self.line)
                except ValueError as exc:
                    raise Refusal(self.line, str(exc)) from None
            m = re.compile(_NUMBER).match(src, pos)
            assert m is not None
            self.pos = m.end()
            text = m.group(0).replace("_", "")
            try:
                if text[:2] in ("0x", "0o", "0b"):
                    return Tok("int", parse_integer(text[2:], {"x": 16, "o": 8, "b": 2}[text[1]]), self.line)
                if m.group("frac"):
                    return Tok("float", float(text), self.line)
                return Tok("int", parse_integer(text), self.line)
            except ValueError as exc:
                raise Refusal(self.line, str(exc)) from None
        if src.startswith('"""', pos):
            self.pos += 3
            return Tok("str", self._heredoc('"', interpol=True), self.line)
        if src.startswith("'''", pos):
            self.pos += 3
            return Tok("chars", self._heredoc("'", interpol=True), self.line)
        if ch in "\"'":
            self.pos += 1
            parts = self._quoted(ch, interpol=True)
            parts = [unescape_part(p, self.line) for p in parts]
            if self._keyword_colon():
                return Tok("kw", parts, self.line)
            return Tok("str" if ch == '"' else "chars", parts, self.line)
        if ch == ":" and not src.startswith("::", pos):
            nxt = src[pos + 1 : pos + 2]
            if nxt in ('"', "'"):
                self.pos += 2
                parts = self._quoted(nxt, interpol=True)
                return Tok("atom", [unescape_part(p, self.line) for p in parts], self.line)
            m = _ATOM_NAME.match(src, pos + 1)
            if m:
                self.pos = m.end()
                return Tok("atom", m.group(0), self.line)
        if ch == "?" and pos + 1 < len(src):
            return self._char_literal()
        if ch == "~" and pos + 1 < len(src) and src[pos + 1].isalpha():
            return self._sigil()
        if ch == "@" and _IDENT.match(src, pos + 1):
            m = _IDENT.match(src, pos + 1)
            assert m is not None
            self.pos = m.end()
            return Tok("attr", m.group(0), self.line)
        if _IDENT.match(src, pos):
            return self._name(src, pos)
        return self._operator(src, pos)

    def _name(self, src: str, pos: int) -> Tok:
        m = _IDENT.match(src, pos)
        assert m is not None
        self.pos = m.end()
        name = m.group(0)
        if self._keyword_colon():
            return Tok("kw", [name], self.line)
        if _ALIAS.fullmatch(name):
            return Tok("alias", name, self.line)
        return Tok("ident", name, self.line)

    def _operator(self, src: str, pos: int) -> Tok:
        for length, operators in _OPERATORS_BY_LENGTH:
            if src[pos : pos + length] in operators:
                self.pos = pos + length
                return Tok("op", src[pos : pos + length], self.line)
        raise Refusal(self.line, f"cannot read {src[pos]!r} without Elixir")

    def _keyword_colon(self) -> bool:
        """A keyword key ends with ``:`` followed by whitespace."""
        src, pos = self.src, self.pos
        if src.startswith(":", pos) and not src.startswith("::", pos):
            after = src[pos + 1 : pos + 2]
            if after == "" or after in " \t\r\n":
                self.pos += 1
                return True
        return False

    def _char_literal(self) -> Tok:
        src = self.src
        self.pos += 1
        if src[self.pos] == "\\":
            raw = src[self.pos : self.pos + 2]
            m = re.compile(r"\\(x\{[0-9a-fA-F]+\}|x[0-9a-fA-F]{1,2}|u\{[0-9a-fA-F]+\}|u[0-9a-fA-F]{4})").match(
                src, self.pos
            )
            if m:
                raw = m.group(0)
            self.pos += len(raw)
            text = unescape(raw, self.line)
            if len(text) != 1:
                raise Refusal(self.line, "cannot read this `?` character literal without Elixir")
        else:
            text = src[self.pos]
            self.pos += 1
            if text == "\n":
                self.line += 1
        return Tok("int", ord(text), self.line)

    def _sigil(self) -> Tok:
        src = self.src
        letter = src[self.pos + 1]
        self.pos += 2
        interpol = letter.islower()
        if src.startswith('"""', self.pos) or src.startswith("'''", self.pos):
            quote = src[self.pos]
            self.pos += 3
            parts = self._heredoc(quote, interpol=interpol, raw=True)
        else:
            opener = src[self.pos : self.pos + 1]
            if opener not in _SIGIL_PAIRS:
                raise Refusal(self.line, f"cannot read sigil ~{letter} with delimiter {opener!r} without Elixir")
            self.pos += 1
            parts = self._quoted(_SIGIL_PAIRS[opener], interpol=interpol)
        m = re.compile(r"[a-zA-Z0-9]*").match(src, self.pos)
        assert m is not None
        self.pos = m.end()
        return Tok("sigil", Sigil(letter, parts, m.group(0)), self.line)

    # -- quoted text --------------------------------------------------------

    def _quoted(self, terminator: str | None, *, interpol: bool) -> list[Any]:
        """Raw parts up to ``terminator`` (``None``: to the end of the text).

        Escapes stay in the raw text for the caller to process (each sigil
        has its own rules), except that an escaped terminator loses its
        backslash, as in Elixir's tokenizer.
        """
        src = self.src
        parts: list[Any] = []
        buf: list[str] = []
        start_line = self.line
        plain = _plain_text(terminator)
        while True:
            run_end = plain.match(src, self.pos).end()  # type: ignore[union-attr] (it matches the empty string)
            if run_end > self.pos:  # text without anything to interpret, taken whole
                buf.append(src[self.pos : run_end])
                self.pos = run_end
            if self.pos >= len(src):
                if terminator is None:
                    break
                raise Refusal(start_line, f"missing terminator {terminator!r} for the text that starts here")
            ch = src[self.pos]
            if terminator is not None and ch == terminator:
                self.pos += 1
                break
            if ch == "\\" and self.pos + 1 < len(src):
                nxt = src[self.pos + 1]
                if terminator is not None and nxt == terminator:
                    buf.append(nxt)
                elif interpol:
                    buf.append(ch + nxt)
                else:
                    buf.append(ch)
                    self.pos += 1
                    continue
                if nxt == "\n":
                    self.line += 1
                self.pos += 2
                continue
            if interpol and src.startswith("#{", self.pos):
                if buf:
                    parts.append("".join(buf))
                    buf = []
                self.pos += 2
                parts.append(self.tokens(until_brace=True))  # consumes the closing brace
                continue
            if ch == "\n":
                self.line += 1
            buf.append(ch)
            self.pos += 1
        if buf or not parts:
            parts.append("".join(buf))
        return parts

    def _heredoc(self, quote: str, *, interpol: bool, raw: bool = False) -> list[Any]:
        src = self.src
        end_of_line = src.find("\n", self.pos)
        if end_of_line < 0 or src[self.pos : end_of_line].strip():
            raise Refusal(self.line, f"heredoc {quote * 3} must be followed by a new line")
        self.pos = end_of_line + 1
        first_line = self.line + 1
        lines = []
        closing = re.compile(r"[ \t]*" + re.escape(quote * 3))
        while True:
            if self.pos >= len(src):
                raise Refusal(first_line - 1, f"missing heredoc terminator {quote * 3}")
            end = src.find("\n", self.pos)
            end = len(src) if end < 0 else end
            line = src[self.pos : end]
            m = closing.match(line)
            if m:
                indent = m.end() - 3
                self.pos += m.end()
                break
            lines.append(line)
            self.pos = end + 1
        self.line = first_line + len(lines)
        body = "".join(_dedent(line, indent) + "\n" for line in lines)
        sub = Tokenizer(body, first_line)
        parts = sub._quoted(None, interpol=interpol)
        return parts if raw else [unescape_part(p, first_line) for p in parts]


def _plain_integer_end(src: str, pos: int) -> int:
    """Where the number at ``pos`` ends when it is plain decimal digits (what ``_NUMBER`` reads then), else 0."""
    end = pos
    while end < len(src) and src[end] in _DIGITS:
        end += 1
    after, next_after = src[end : end + 1], src[end + 1 : end + 2]
    if end == pos or after == "_" or (after == "." and next_after != "" and next_after in _DIGITS):
        return 0  # not digits (a non-ASCII digit), digits with separators, or a float
    if src[pos:end] == "0" and after in ("x", "o", "b"):
        return 0  # perhaps 0x.., 0o.., 0b..
    return end


@functools.cache
def _plain_text(terminator: str | None) -> re.Pattern[str]:
    """The longest run of characters ``_quoted`` copies as they are: no terminator, escape, ``#`` or new line."""
    return re.compile("[^" + re.escape("\\\n#" + (terminator or "")) + "]*")


def _dedent(line: str, indent: int) -> str:
    i = 0
    while i < indent and i < len(line) and line[i] in " \t":
        i += 1
    return line[i:]


def unescape_part(part: Any, line: int) -> Any:
    return part if isinstance(part, list) else unescape(part, line)


_SIMPLE_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "d": "\x7f", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r"}
_SIMPLE_ESCAPES.update({"s": " ", "t": "\t", "v": "\v"})
# Compiled where used (re caches it): only a string holding a backslash needs it.
_ESCAPE = (
    r"\\(?:(?P<nl>\r?\n)|x\{(?P<xb>[0-9a-fA-F]+)\}|x(?P<x>[0-9a-fA-F]{1,2})"
    r"|u\{(?P<ub>[0-9a-fA-F]+)\}|u(?P<u>[0-9a-fA-F]{4})|(?P<c>.))",
    re.DOTALL,
)


def unescape(raw: str, line: int) -> str:
    """Elixir's string escapes (``:elixir_interpolation.unescape_string``)."""

    def one(m: re.Match[str]) -> str:
        if m.group("nl") is not None:
            return ""
        for name in ("xb", "x", "ub", "u"):
            digits = m.group(name)
            if digits is not None:
                code = int(digits, 16)
                if name.startswith("x") and code > 0x7F:
                    raise Refusal(line, f"cannot read the byte escape `{m.group(0)}` without Elixir")
                return chr(code)
        c = m.group("c")
        return _SIMPLE_ESCAPES.get(c, c)

    return re.compile(*_ESCAPE).sub(one, raw) if "\\" in raw else raw


_REGEX_ESCAPES = {"f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "a": "\a"}


def unescape_regex(raw: str) -> str:
    """``Regex.unescape_map/1``: only control characters; others keep ``\\``."""
    if "\\" not in raw:
        return raw
    out = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            nxt = raw[i + 1]
            if nxt == "\n":
                i += 2
                continue
            if raw.startswith("\r\n", i + 1):
                i += 3
                continue
            out.append(_REGEX_ESCAPES.get(nxt, "\\" + nxt))
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)
