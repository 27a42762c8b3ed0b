"""Read ``mix.exs`` without Elixir, for the shapes that are plain data.

A small tokenizer and recursive-descent evaluator for the literal subset of
Elixir that ``mix.exs`` files are mostly written in: keyword lists, lists,
tuples, maps, strings (heredocs and interpolation included), charlists, atoms,
aliases, numbers, booleans and nil; the sigils ``~w ~W ~s ~S ~c ~C ~r ~R``
with any delimiter; ``@attr`` module attributes; ``++`` and ``<>`` between
literals; zero-arity ``def``/``defp`` functions returning such data (including
``project/0`` itself) and plain variable bindings inside them.

Anything else (a remote call such as ``File.read!/1``, ``Mix.env/0``, a pipe,
``if``/``case``, a function with arguments, ...) is refused with a
``ProjectError`` naming the line: the reader never guesses. Definitions are
evaluated lazily, so an unsupported expression only blocks the read when
packaging needs its value: a top-level key of ``project/0`` that packaging never
reads (``elixirc_paths: elixirc_paths(Mix.env())``, ``docs:``) is kept as an
``Unreadable`` value instead of stopping the read.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import HexpackError, ProjectError, raise_together
from . import static_builtins as mix_builtins
from .project import MixProject, map_key, project_from_config
from .terms import Atom, Regex, atom, is_keyword, keyword_get, parse_integer

__all__ = ["Unreadable", "erlang_sort_key", "evaluate_source", "has_unreadable", "read_statically"]

HINT = "install elixir (apt-get install -y elixir)"

# The top-level project/0 keys that packaging reads (Hex's root fields, deps,
# package, and apps_path for the umbrella refusal); only these must be readable.
PACKAGING_KEYS = ("app", "version", "elixir", "description", "deps", "package", "apps_path")


class _Refusal(Exception):
    """Raised inside the reader; turned into a ProjectError at the edge."""

    def __init__(self, line: int, what: str):
        super().__init__(what)
        self.line = line
        self.what = what


def _refuse(line: int, thing: str) -> _Refusal:
    return _Refusal(line, f"cannot evaluate {thing} without Elixir")


@dataclass(frozen=True)
class Unreadable:
    """A top-level project/0 value the static reader cannot evaluate.

    Harmless while nothing reads it; ``read_statically`` refuses when it is
    one of ``PACKAGING_KEYS``.
    """

    line: int
    what: str

    def __repr__(self) -> str:
        return f"<unreadable without Elixir: line {self.line}>"


# --------------------------------------------------------------------------
# Tokens
# --------------------------------------------------------------------------


@dataclass
class Tok:
    kind: str  # int float str chars atom kw sigil ident alias attr op nl eof
    value: Any
    line: int
    spaced: bool = True  # whitespace (or a line start) right before it

    def is_op(self, *ops: str) -> bool:
        return self.kind == "op" and self.value in ops

    def is_ident(self, *names: str) -> bool:
        return self.kind == "ident" and self.value in names

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


@dataclass
class Sigil:
    letter: str
    parts: list[Any]  # raw text (escapes kept) and lists of tokens for #{...}
    modifiers: str


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
_IDENT = re.compile(r"[^\W\d]\w*[?!]?")
_ALIAS = re.compile(r"[A-Z]\w*")
_ATOM_NAME = re.compile(r"[^\W\d][\w@]*[?!]?")
_NUMBER = re.compile(
    r"0x[0-9a-fA-F](?:_?[0-9a-fA-F])*|0o[0-7](?:_?[0-7])*|0b[01](?:_?[01])*"
    r"|(?P<int>[0-9](?:_?[0-9])*)(?P<frac>\.[0-9](?:_?[0-9])*(?:[eE][+-]?[0-9](?:_?[0-9])*)?)?"
)
_SIGIL_PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">", "/": "/", "|": "|", '"': '"', "'": "'"}
_BINARY_OPS = {
    "|>", "++", "--", "<>", "==", "!=", "===", "!==", "<=", ">=", "&&", "||", "&&&", "|||", "<<<", ">>>",
    "..", "<-", "~>", "<~", "**", "+", "-", "*", "/", "=", "<", ">", "^^^", "<|>", "<~>", "+++", "---",
    "\\\\", "::", "|", ".", "=>", "->",
}  # fmt: skip
_WORD_OPS = {"and", "or", "in", "when", "not"}


class _Tokenizer:
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
                    raise _Refusal(self.line, "string interpolation `#{` is missing its `}`")
                out.append(Tok("eof", None, self.line))
                return out
            ch = src[self.pos]
            if ch in " \t\r":
                self.pos += 1
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
            tok = self._token(ch, out)
            tok.line = start_line
            tok.spaced = spaced
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
        if ch.isdigit():
            m = _NUMBER.match(src, pos)
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
                raise _Refusal(self.line, str(exc)) from None
        if src.startswith('"""', pos):
            self.pos += 3
            return Tok("str", self._heredoc('"', interpol=True), self.line)
        if src.startswith("'''", pos):
            self.pos += 3
            return Tok("chars", self._heredoc("'", interpol=True), self.line)
        if ch in "\"'":
            self.pos += 1
            parts = self._quoted(ch, interpol=True)
            parts = [_unescape_part(p, self.line) for p in parts]
            if self._keyword_colon():
                return Tok("kw", parts, self.line)
            return Tok("str" if ch == '"' else "chars", parts, self.line)
        if ch == ":" and not src.startswith("::", pos):
            nxt = src[pos + 1 : pos + 2]
            if nxt in ('"', "'"):
                self.pos += 2
                parts = self._quoted(nxt, interpol=True)
                return Tok("atom", [_unescape_part(p, self.line) for p in parts], self.line)
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
        m = _IDENT.match(src, pos)
        if m:
            self.pos = m.end()
            name = m.group(0)
            if self._keyword_colon():
                return Tok("kw", [name], self.line)
            if _ALIAS.fullmatch(name):
                return Tok("alias", name, self.line)
            return Tok("ident", name, self.line)
        for op in _OPERATORS:
            if src.startswith(op, pos):
                self.pos += len(op)
                return Tok("op", op, self.line)
        raise _Refusal(self.line, f"cannot read {src[pos]!r} without Elixir")

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
            text = _unescape(raw, self.line)
            if len(text) != 1:
                raise _Refusal(self.line, "cannot read this `?` character literal without Elixir")
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
                raise _Refusal(self.line, f"cannot read sigil ~{letter} with delimiter {opener!r} without Elixir")
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
        while True:
            if self.pos >= len(src):
                if terminator is None:
                    break
                raise _Refusal(start_line, f"missing terminator {terminator!r} for the text that starts here")
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
            raise _Refusal(self.line, f"heredoc {quote * 3} must be followed by a new line")
        self.pos = end_of_line + 1
        first_line = self.line + 1
        lines = []
        closing = re.compile(r"[ \t]*" + re.escape(quote * 3))
        while True:
            if self.pos >= len(src):
                raise _Refusal(first_line - 1, f"missing heredoc terminator {quote * 3}")
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
        sub = _Tokenizer(body, first_line)
        parts = sub._quoted(None, interpol=interpol)
        return parts if raw else [_unescape_part(p, first_line) for p in parts]


def _dedent(line: str, indent: int) -> str:
    i = 0
    while i < indent and i < len(line) and line[i] in " \t":
        i += 1
    return line[i:]


def _unescape_part(part: Any, line: int) -> Any:
    return part if isinstance(part, list) else _unescape(part, line)


_SIMPLE_ESCAPES = {"0": "\0", "a": "\a", "b": "\b", "d": "\x7f", "e": "\x1b", "f": "\f", "n": "\n", "r": "\r"}
_SIMPLE_ESCAPES.update({"s": " ", "t": "\t", "v": "\v"})
_ESCAPE = re.compile(
    r"\\(?:(?P<nl>\r?\n)|x\{(?P<xb>[0-9a-fA-F]+)\}|x(?P<x>[0-9a-fA-F]{1,2})"
    r"|u\{(?P<ub>[0-9a-fA-F]+)\}|u(?P<u>[0-9a-fA-F]{4})|(?P<c>.))",
    re.DOTALL,
)


def _unescape(raw: str, line: int) -> str:
    """Elixir's string escapes (``:elixir_interpolation.unescape_string``)."""

    def one(m: re.Match[str]) -> str:
        if m.group("nl") is not None:
            return ""
        for name in ("xb", "x", "ub", "u"):
            digits = m.group(name)
            if digits is not None:
                code = int(digits, 16)
                if name.startswith("x") and code > 0x7F:
                    raise _Refusal(line, f"cannot read the byte escape `{m.group(0)}` without Elixir")
                return chr(code)
        c = m.group("c")
        return _SIMPLE_ESCAPES.get(c, c)

    return _ESCAPE.sub(one, raw) if "\\" in raw else raw


_REGEX_ESCAPES = {"f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v", "a": "\a"}


def _unescape_regex(raw: str) -> str:
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


# --------------------------------------------------------------------------
# Module structure
# --------------------------------------------------------------------------


@dataclass
class _Code:
    """A slice of tokens to evaluate later, with what it may refer to."""

    toks: list[Tok]
    start: int
    end: int
    attrs: dict[str, _Attr]


@dataclass
class _Attr:
    name: str
    line: int
    code: _Code
    state: str = "new"  # new, running, done, failed
    value: Any = None
    error: _Refusal | None = None


@dataclass
class _Fun:
    name: str
    line: int
    code: _Code | None  # None when no zero-arity clause exists
    arities: set[int] = field(default_factory=set)
    macro: bool = False
    state: str = "new"
    value: Any = None
    error: _Refusal | None = None


@dataclass
class _Module:
    name: str
    funs: dict[str, _Fun] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    is_project: bool = False
    blocked: list[_Refusal] = field(default_factory=list)  # statements we cannot run
    alias_error: _Refusal | None = None  # an `alias` we cannot follow: aliases are then unknown


_OPENERS = {"(": ")", "[": "]", "{": "}", "<<": ">>"}
_CLOSERS = {")", "]", "}", ">>"}


def _is_block_open(tok: Tok) -> bool:
    return tok.kind == "ident" and tok.value in ("do", "fn")


def _is_block_close(tok: Tok) -> bool:
    return tok.kind == "ident" and tok.value == "end"


def _nesting(tok: Tok) -> int:
    """+1 for a token that opens a nesting level (a bracket, `do`, `fn`), -1 for one that closes it, else 0."""
    if tok.kind == "op":
        return 1 if tok.value in _OPENERS else -1 if tok.value in _CLOSERS else 0
    return 1 if _is_block_open(tok) else -1 if _is_block_close(tok) else 0


def _continues(toks: list[Tok], i: int) -> bool:
    """True when token i (after a newline) continues the previous expression."""
    tok = toks[i]
    if tok.kind == "op" and tok.value in _BINARY_OPS and tok.value not in ("-", "+"):
        return True
    return tok.kind == "ident" and tok.value in _WORD_OPS - {"not"}


def _ends_incomplete(tok: Tok) -> bool:
    """True when an expression cannot end with this token."""
    if tok.kind == "op":
        return tok.value in _BINARY_OPS or tok.value in (",", "!", "&", "@", "%")
    return tok.kind == "ident" and tok.value in _WORD_OPS


def _statement_end(toks: list[Tok], i: int, limit: int) -> int:
    """Index just past the statement starting at i (newline/`;` at depth 0)."""
    depth = 0
    start = i
    while i < limit:
        tok = toks[i]
        if tok.kind == "eof":
            break
        step = _nesting(tok)
        if step < 0 and depth == 0:
            break
        if step:
            depth += step
        elif depth == 0 and (tok.kind == "nl" or tok.is_op(";")):
            if i > start and _ends_incomplete(toks[i - 1]):
                i += 1
                continue
            j = i
            while j < limit and (toks[j].kind == "nl" or toks[j].is_op(";")):
                j += 1
            if j < limit and _continues(toks, j):
                i = j
                continue
            break
        i += 1
    return i


def _matching_end(toks: list[Tok], i: int, limit: int) -> int:
    """Given toks[i] is a block opener (`do`/`fn`), the index of its `end`."""
    depth = 0
    line = toks[i].line
    while i < limit:
        tok = toks[i]
        if _is_block_open(tok):
            depth += 1
        elif _is_block_close(tok):
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise _Refusal(line, "`do` block is missing its `end`")


def _skip_nl(toks: list[Tok], i: int, limit: int) -> int:
    """Past newlines (inside brackets and around operators)."""
    while i < limit and toks[i].kind == "nl":
        i += 1
    return i


def _skip_sep(toks: list[Tok], i: int, limit: int) -> int:
    """Past statement separators: newlines and `;`."""
    while i < limit and (toks[i].kind == "nl" or toks[i].is_op(";")):
        i += 1
    return i


def _element_end(toks: list[Tok], i: int, limit: int) -> int:
    """Index of the `,` or closing bracket that ends the list element starting at i."""
    depth = 0
    while i < limit:
        tok = toks[i]
        if tok.kind == "eof":
            break
        step = _nesting(tok)
        if step < 0 and depth == 0:
            break
        if step:
            depth += step
        elif depth == 0 and tok.is_op(","):
            break
        elif depth == 0 and tok.is_op(";"):
            raise _refuse(tok.line, "`;` inside a list")
        i += 1
    return i


class _Reader:
    """Walks the module bodies of mix.exs and evaluates project/0 on demand.

    ``Mix.env()`` is what it is when ``mix hex.build`` runs: ``MIX_ENV`` (else
    ``:dev``) while mix.exs compiles (module attributes, module-body code);
    inside ``project/0`` and its helpers the same, unless ``MIX_ENV`` is unset
    and the project prefers another env for ``hex.build`` (Mix then switches
    and calls ``project/0`` again, as ``Mix.CLI`` does).
    """

    def __init__(self, src: str, environ: Mapping[str, str] | None = None):
        self.toks = _Tokenizer(src).tokens()
        self.modules: list[_Module] = []
        self.environ = mix_builtins.environ() if environ is None else environ
        self.mix_env_set = bool(self.environ.get("MIX_ENV"))
        self.compile_env = self.environ.get("MIX_ENV") or "dev"
        self.run_env: str | None = self.compile_env  # None: cannot tell
        self.run_env_used = False
        self.assumptions: list[str] = []

    def read(self) -> Any:
        toks = self.toks
        limit = len(toks) - 1
        i = _skip_sep(toks, 0, limit)
        file_scope = _Module("(file)")
        while i < limit:
            tok = toks[i]
            if tok.is_ident("defmodule"):
                i = self._module(i, limit)
            else:
                i = self._loose_statement(file_scope, {}, i, limit, where="outside of defmodule")
            i = _skip_sep(toks, i, limit)
        if file_scope.blocked:
            raise file_scope.blocked[0]
        projects = [m for m in self.modules if m.is_project]
        if not projects:
            raise _Refusal(1, "no module calls `use Mix.Project`")
        if len(projects) > 1:
            raise _Refusal(1, "more than one module calls `use Mix.Project`")
        module = projects[0]
        if module.blocked:
            raise module.blocked[0]
        fun = module.funs.get("project")
        if fun is None or fun.code is None:
            raise _Refusal(1, f"{module.name} defines no project/0")
        config = _Evaluator(self, module, fun.code, {}).call(fun, fun.line, lazy_keys=True)
        if self.mix_env_set or not self.run_env_used:
            return config
        preferred = self._preferred_env(module, config)
        if preferred == self.run_env:
            return config
        # Mix.CLI switches to the preferred env and calls project/0 again; helpers are re-run
        self.run_env = preferred
        for each in module.funs.values():
            each.state, each.value, each.error = "new", None, None
        return _Evaluator(self, module, fun.code, {}).call(fun, fun.line, lazy_keys=True)

    def _preferred_env(self, module: _Module, config: Any) -> str | None:
        """The env ``mix hex.build`` switches to (the compile env when none is preferred); None when unknown."""
        from_config = _hex_build_env(keyword_get(config, "preferred_cli_env") if is_keyword(config) else None)
        cli = module.funs.get("cli")
        if cli is not None:
            # Elixir 1.15+ reads `def cli, do: [preferred_envs: ...]`, 1.14 does not: agree or give up
            try:
                value = _Evaluator(self, module, cli.code, {}).call(cli, cli.line) if cli.code else None
            except _Refusal:
                return None
            from_cli = _hex_build_env(keyword_get(value, "preferred_envs") if is_keyword(value) else None)
            if from_cli != from_config and from_cli != _NO_PREFERENCE:
                return None
        if from_config is None:
            return None
        return self.compile_env if from_config == _NO_PREFERENCE else from_config

    def mix_env(self, line: int, *, compile_time: bool) -> Atom:
        if compile_time:
            return Atom(self.compile_env)
        if self.run_env is None:
            raise _Refusal(
                line,
                "cannot tell which env `mix hex.build` runs in (the project prefers one for hex.build that "
                "depends on the Elixir version or is not plain data), so cannot evaluate `Mix.env/0` without "
                "Elixir; set MIX_ENV",
            )
        self.run_env_used = True
        return Atom(self.run_env)

    def _loose_statement(self, module: _Module, attrs: dict[str, _Attr], i: int, limit: int, *, where: str) -> int:
        """A statement that defines nothing the reader knows: an `if` it can decide, code that cannot
        change what project/0 returns (skipped), a guard that can only stop the build (assumed to pass,
        as it does wherever mix hex.build succeeds), or a refusal."""
        toks = self.toks
        tok = toks[i]
        stop = _statement_end(toks, i, limit)
        if stop <= i:  # a stray closing bracket or `end`
            raise _refuse(tok.line, f"{_describe(toks, i)} {where}")
        if tok.is_ident("if", "unless"):
            after = self._module_if(module, attrs, i, stop)
            if after is not None:
                return after
        verdict = _effect_of(toks, i, stop)
        if verdict == "inert":
            return stop
        if verdict == "guard":
            self.assumptions.append(
                f"mix.exs line {tok.line}: assumed that {_describe(toks, i)} ... does not stop the build "
                "(it can only raise; where mix hex.build succeeds, it did not)"
            )
            return stop
        module.blocked.append(_refuse(tok.line, f"{_describe(toks, i)} {where}"))
        return stop

    def _module_if(self, module: _Module, attrs: dict[str, _Attr], i: int, stop: int) -> int | None:
        """``if cond do ... else ... end`` at compile time: run the chosen branch's statements; None when
        the condition cannot be evaluated here."""
        toks = self.toks
        do = next((j for j in range(i + 1, stop) if toks[j].is_ident("do") and _depth_zero(toks, i + 1, j)), None)
        if do is None:
            return None
        end = _matching_end(toks, do, stop + 1)
        try:
            value = _Evaluator(self, module, _Code(toks, i + 1, do, dict(attrs)), {}, in_attr=True).whole()
        except _Refusal:
            return None
        otherwise = next(
            (j for j in range(do + 1, end) if toks[j].is_ident("else") and _depth_zero(toks, do + 1, j)), None
        )
        chosen = mix_builtins.truthy(value) != toks[i].is_ident("unless")
        first, last = (
            (do + 1, otherwise if otherwise is not None else end)
            if chosen
            else ((otherwise + 1, end) if otherwise is not None else (end, end))
        )
        j = _skip_sep(toks, first, last)
        while j < last:
            after = self._module_statement(module, attrs, j, last)
            if after <= j:
                raise _refuse(toks[j].line, f"{_describe(toks, j)} in the module body")
            j = _skip_sep(toks, after, last)
        return end + 1

    def _module(self, i: int, limit: int) -> int:
        toks = self.toks
        line = toks[i].line
        i += 1
        name_parts = []
        while toks[i].kind == "alias" and (not name_parts or name_parts[-1] == "."):
            name_parts.append(str(toks[i].value))
            i += 1
            if toks[i].is_op(".") and toks[i + 1].kind == "alias":
                name_parts.append(".")
                i += 1
        if not name_parts:
            raise _refuse(line, "a defmodule without an alias name")
        if not toks[i].is_ident("do"):
            raise _refuse(toks[i].line, "a defmodule without `do`")
        end = _matching_end(toks, i, limit)
        module = _Module("".join(name_parts))
        self.modules.append(module)
        attrs: dict[str, _Attr] = {}
        j = _skip_sep(toks, i + 1, end)
        while j < end:
            after = self._module_statement(module, attrs, j, end)
            if after <= j:  # a stray closing bracket or `end`
                raise _refuse(toks[j].line, f"{_describe(toks, j)} in the module body")
            j = _skip_sep(toks, after, end)
        return end + 1

    def _module_statement(self, module: _Module, attrs: dict[str, _Attr], i: int, limit: int) -> int:
        toks = self.toks
        tok = toks[i]
        stop = _statement_end(toks, i, limit)
        if tok.kind == "attr":
            attr = _Attr(tok.value, tok.line, _Code(toks, i + 1, stop, dict(attrs)))
            attrs[tok.value] = attr
            return stop
        if tok.is_ident("use"):
            target = "".join(str(t.value) for t in toks[i + 1 : stop] if t.kind != "nl")
            words = [(t.kind, t.value) for t in toks[i + 1 : stop]]
            if words == [("alias", "Mix"), ("op", "."), ("alias", "Project")]:
                module.is_project = True
                return stop
            module.blocked.append(_refuse(tok.line, f"`use {target}`"))
            return stop
        if tok.is_ident("alias"):
            self._alias(module, i + 1, stop)
            return stop
        if tok.is_ident("require", "import"):
            return stop
        if tok.is_ident("def", "defp", "defmacro", "defmacrop"):
            self._def(module, attrs, i, stop)
            return stop
        if tok.is_ident("defmodule"):
            return self._module(i, limit)
        return self._loose_statement(module, attrs, i, limit, where="in the module body")

    def _alias(self, module: _Module, i: int, stop: int) -> None:
        toks = self.toks
        line = toks[i - 1].line
        parts = []
        while i < stop and (toks[i].kind == "alias" or toks[i].is_op(".")):
            parts.append(str(toks[i].value))
            i += 1
        full = "".join(parts)
        short = full.rsplit(".", 1)[-1]
        as_given = i + 2 < stop and toks[i].is_op(",") and toks[i + 1].kind == "kw" and toks[i + 1].value == ["as"]
        if as_given and toks[i + 2].kind == "alias":
            short = str(toks[i + 2].value)
            i += 3
        if not full or full.endswith(".") or _skip_nl(toks, i, stop) != stop:
            module.alias_error = module.alias_error or _refuse(line, "an alias after this form of `alias`")
            return
        module.aliases[short] = full

    def _def(self, module: _Module, attrs: dict[str, _Attr], i: int, stop: int) -> None:
        toks = self.toks
        kind = toks[i].value
        line = toks[i].line
        j = i + 1
        if toks[j].kind != "ident":
            return  # an operator or unquote() head: never a zero-arity helper we could call
        name = toks[j].value
        j += 1
        arity = 0
        if toks[j].is_op("(") and not toks[j].spaced:
            close = _close_paren(toks, j, stop)
            arity = _count_args(toks, j + 1, close)
            j = close + 1
        body: _Code | None = None
        if j < stop and toks[j].is_op(","):
            j = _skip_nl(toks, j + 1, stop)
            if toks[j].kind == "kw" and toks[j].value == ["do"]:
                body = _Code(toks, j + 1, stop, dict(attrs))
        elif j < stop and toks[j].is_ident("do"):
            end = _matching_end(toks, j, stop + 1)
            body = _Code(toks, j + 1, end, dict(attrs))
        elif toks[j].is_ident("when"):
            body = None
        elif j >= stop or toks[j].kind in ("nl", "eof"):
            return  # a bodiless head (defaults); never callable by us
        else:
            return  # a head we do not understand; calling it is refused as an unknown function
        fun = module.funs.get(name)
        if fun is None:
            fun = module.funs[name] = _Fun(name, line, None, macro=kind.startswith("defmacro"))
        fun.arities.add(arity)
        if arity == 0 and fun.code is None and body is not None and not toks[j].is_ident("when"):
            fun.code = body
            fun.line = line


_NO_PREFERENCE = "(no preference)"


def _hex_build_env(value: Any) -> str | None:
    """``value[:"hex.build"]`` of a preferred-env list: the env's name, ``_NO_PREFERENCE``, or None (unknown)."""
    if value is None:
        return _NO_PREFERENCE
    if has_unreadable(value):
        return None
    if isinstance(value, dict):
        chosen = value.get(Atom("hex.build"))
    elif is_keyword(value):
        chosen = keyword_get(value, "hex.build")
    else:
        return None
    if chosen is None:
        return _NO_PREFERENCE
    return str.__str__(chosen) if isinstance(chosen, Atom) else None


def has_unreadable(value: Any) -> bool:
    """True when ``value`` is, or holds, an ``Unreadable``."""
    if isinstance(value, Unreadable):
        return True
    if isinstance(value, (list, tuple)):
        return any(has_unreadable(item) for item in value)
    if isinstance(value, dict):
        return any(has_unreadable(item) for item in value.values())
    return False


def _first_unreadable(value: Any) -> Unreadable | None:
    if isinstance(value, Unreadable):
        return value
    items = value.values() if isinstance(value, dict) else value if isinstance(value, (list, tuple)) else ()
    for item in items:
        found = _first_unreadable(item)
        if found is not None:
            return found
    return None


def _depth_zero(toks: list[Tok], start: int, j: int) -> bool:
    """True when toks[j] is at the nesting level of toks[start]."""
    depth = 0
    for k in range(start, j):
        depth += _nesting(toks[k])
    return depth == 0


# What a statement outside project/0 may do without changing what project/0 returns. Anything that can
# define a function or attribute, load code or change Mix's env is not on these lists.
_SAFE_LOCAL = {
    "if", "unless", "for", "case", "cond", "not", "and", "or", "in", "when", "do", "end", "fn", "else",
    "to_string", "is_nil", "is_atom", "is_binary", "is_list", "length", "hd", "tl", "elem", "match?",
    "max", "min", "abs", "byte_size",
}  # fmt: skip
_GUARD_LOCAL = {"raise"}
_SAFE_MODULES = {"String", "List", "Enum", "Regex", "Path", "Map", "Keyword", "Atom", "Integer", "Version", "Tuple"}
_SAFE_REMOTE = {
    ("System", "get_env"), ("System", "otp_release"), ("System", "version"), ("System", "schedulers_online"),
    ("Code", "delete_path"), ("Code", "prepend_path"), ("Code", "append_path"), ("Code", "ensure_loaded?"),
    ("File", "exists?"), ("File", "dir?"), ("File", "regular?"), ("IO", "puts"), ("IO", "warn"),
    (":code", "get_path"),
}  # fmt: skip
_GUARD_REMOTE = {("Mix", "raise")}


def _all_tokens(toks: list[Tok], i: int, stop: int):
    """The tokens of toks[i:stop], with those inside string interpolations and sigils."""
    for tok in toks[i:stop]:
        yield tok
        parts = tok.value.parts if tok.kind == "sigil" else tok.value if isinstance(tok.value, list) else ()
        for part in parts:
            if isinstance(part, list):
                yield from _all_tokens(part, 0, len(part))


def _effect_of(toks: list[Tok], i: int, stop: int) -> str | None:
    """``"inert"`` when the statement cannot change project/0's value, ``"guard"`` when it may also raise,
    None when it may define, load or change something (or the reader cannot tell)."""
    flat = list(_all_tokens(toks, i, stop))
    guard = False
    for k, tok in enumerate(flat):
        nxt = flat[k + 1] if k + 1 < len(flat) else Tok("eof", None, tok.line)
        after = flat[k + 2] if k + 2 < len(flat) else Tok("eof", None, tok.line)
        if tok.kind == "attr" or tok.is_op("@"):
            return None
        if tok.kind in ("alias", "atom") and nxt.is_op(".") and not nxt.spaced and after.kind == "ident":
            module = str(tok.value) if tok.kind == "alias" else ":" + str(tok.value)
            call = (module, after.value)
            if call in _GUARD_REMOTE:
                guard = True
            elif call == ("Mix", "env"):
                following = flat[k + 3] if k + 3 < len(flat) else Tok("eof", None, tok.line)
                if following.is_op("(") and not (k + 4 < len(flat) and flat[k + 4].is_op(")")):
                    return None  # Mix.env(env) changes the env
            elif module not in _SAFE_MODULES and call not in _SAFE_REMOTE:
                return None
            continue
        if tok.kind != "ident":
            continue
        if tok.value.startswith("__") or tok.value in _REFUSED_NAMES:
            return None
        previous = flat[k - 1] if k else None
        if previous is not None and previous.is_op(".") and not previous.spaced:
            continue  # the function of a remote call, checked with its module
        called = (nxt.is_op("(") and not nxt.spaced) or (
            nxt.line == tok.line and nxt.spaced and nxt.kind not in ("nl", "eof", "op", "kw")
        )
        if called:
            if tok.value in _GUARD_LOCAL:
                guard = True
            elif tok.value not in _SAFE_LOCAL:
                return None
    return "guard" if guard else "inert"


_REFUSED_NAMES = {
    "def", "defp", "defmacro", "defmacrop", "defdelegate", "defstruct", "defexception", "defguard", "defguardp",
    "defoverridable", "defmodule", "defimpl", "defprotocol", "import", "require", "use", "alias", "quote",
    "unquote", "unquote_splicing", "binding", "var!", "apply", "spawn", "send",
}  # fmt: skip


def _close_paren(toks: list[Tok], i: int, limit: int) -> int:
    depth = 0
    while i < limit:
        tok = toks[i]
        step = _nesting(tok)
        depth += step
        if step < 0 and depth == 0 and tok.kind == "op":
            return i
        i += 1
    raise _Refusal(toks[i - 1].line, "missing `)`")


def _count_args(toks: list[Tok], i: int, close: int) -> int:
    """Number of arguments between ``(`` and ``close`` (a trailing keyword list is one)."""
    depth = 0
    count = 0
    seen = False
    while i < close:
        tok = toks[i]
        if tok.kind == "nl":
            i += 1
            continue
        if depth == 0 and tok.kind == "kw":
            return count + 1
        step = _nesting(tok)
        if step:
            depth += step
        elif depth == 0 and tok.is_op(","):
            count += 1
            seen = False
            i += 1
            continue
        seen = True
        i += 1
    return count + (1 if seen else 0)


def _describe(toks: list[Tok], i: int) -> str:
    """Name the construct at toks[i] for a refusal: `File.read!/1`, `if`, `|>`."""
    tok = toks[i]
    if tok.kind == "alias" or (tok.kind == "atom" and toks[i + 1].is_op(".")):
        parts = [str(tok.value) if tok.kind == "alias" else ":" + str(tok.value)]
        j = i + 1
        while toks[j].is_op(".") and toks[j + 1].kind in ("alias", "ident"):
            parts.append(str(toks[j + 1].value))
            j += 2
            if toks[j - 1].kind == "ident":
                break
        if toks[j - 1].kind == "ident":
            arity = 0
            if toks[j].is_op("(") and not toks[j].spaced:
                close = _close_paren(toks, j, len(toks))
                arity = _count_args(toks, j + 1, close)
            elif toks[j].kind not in ("nl", "eof", "op") and toks[j].spaced:
                arity = _count_args(toks, j, _statement_end(toks, j, len(toks)))
            return f"`{'.'.join(parts)}/{arity}`"
        return f"`{'.'.join(parts)}`"
    if tok.kind == "ident":
        if toks[i + 1].is_op("(") and not toks[i + 1].spaced:
            close = _close_paren(toks, i + 1, len(toks))
            return f"`{tok.value}/{_count_args(toks, i + 2, close)}`"
        return f"`{tok.value}`"
    if tok.is_op("|>"):
        return "`|>` (a pipe)"
    if tok.is_op("&"):
        return "`&` (a function capture)"
    if tok.is_op("%") and toks[i + 1].kind == "alias":
        return f"the struct `%{toks[i + 1].value}{{}}`"
    return tok.show()


# --------------------------------------------------------------------------
# Evaluation
# --------------------------------------------------------------------------

_REFUSED_WORDS = {
    "if", "unless", "case", "cond", "with", "for", "try", "receive", "quote", "unquote", "fn", "raise",
    "throw", "import", "require", "alias", "super", "__ENV__", "__DIR__", "__CALLER__", "__STACKTRACE__",
}  # fmt: skip
_WHITESPACE_EXCEPT_NBSP = "\u00a0\u2007\u202f\x1c\x1d\x1e\x1f"


class _Binding:
    """A variable's value, evaluated on first use (and a refusal remembered, like a function's)."""

    def __init__(self, evaluator: _Evaluator):
        self.evaluator = evaluator
        self.state = "new"
        self.value: Any = None
        self.error: _Refusal | None = None

    def force(self) -> Any:
        if self.state == "done":
            return self.value
        if self.state == "failed":
            assert self.error is not None
            raise self.error
        try:
            self.value = self.evaluator.whole()
        except _Refusal as exc:
            self.state, self.error = "failed", exc
            raise
        self.state = "done"
        return self.value


# Binary operators the reader evaluates, by Elixir's precedence (higher binds tighter).
_LEVELS = {"||": 1, "or": 1, "&&": 2, "and": 2, "==": 3, "!=": 3, "===": 3, "!==": 3, "in": 4, "not in": 4}
_LEVELS.update({"++": 5, "<>": 5})
_RIGHT_ASSOCIATIVE = {"++", "<>"}


def _operator_at(toks: list[Tok], j: int, limit: int) -> tuple[str | None, int]:
    """The binary operator starting at toks[j] and its width in tokens (``not in`` is two)."""
    tok = toks[j]
    if tok.kind == "op":
        return tok.value, 1
    if tok.is_ident("not") and j + 1 < limit and toks[j + 1].is_ident("in"):
        return "not in", 2
    if tok.is_ident("and", "or", "in"):
        return tok.value, 1
    return None, 1


class _Evaluator:
    def __init__(
        self,
        reader: _Reader,
        module: _Module,
        code: _Code,
        variables: dict[str, Any],
        *,
        in_attr: bool = False,
        lazy_keys: bool = False,
    ):
        self.in_attr = in_attr
        # Set for project/0 only: the first keyword list it builds keeps unreadable values as Unreadable.
        self.lazy_keys = lazy_keys
        self.reader = reader
        self.module = module
        self.toks = code.toks
        self.i = code.start
        self.limit = code.end
        self.attrs = code.attrs
        self.vars = variables

    # -- entry points --------------------------------------------------------

    def call(self, fun: _Fun, line: int, *, lazy_keys: bool = False) -> Any:
        if self.in_attr:
            raise _Refusal(line, f"`{fun.name}/0` is called in a module attribute, which Elixir does not allow")
        if fun.state == "done":
            return fun.value
        if fun.state == "failed":
            assert fun.error is not None
            raise fun.error
        if fun.state == "running":
            raise _refuse(line, f"the recursive call `{fun.name}/0`")
        if fun.macro:
            raise _refuse(line, f"the macro `{fun.name}`")
        if fun.code is None:
            arities = "/".join(str(a) for a in sorted(fun.arities))
            raise _refuse(line, f"`{fun.name}/0` (only `{fun.name}/{arities}` is defined)")
        fun.state = "running"
        try:
            fun.value = _Evaluator(self.reader, self.module, fun.code, {}, lazy_keys=lazy_keys).block()
        except _Refusal as exc:
            fun.state, fun.error = "failed", exc
            raise
        fun.state = "done"
        return fun.value

    def attr(self, name: str, line: int) -> Any:
        attr = self.attrs.get(name)
        if attr is None:
            raise _Refusal(line, f"module attribute @{name} is not set before this use")
        if attr.state == "done":
            return attr.value
        if attr.state == "failed":
            assert attr.error is not None
            raise attr.error
        attr.state = "running"
        try:
            attr.value = _Evaluator(self.reader, self.module, attr.code, {}, in_attr=True).block()
        except _Refusal as exc:
            attr.state, attr.error = "failed", exc
            raise
        attr.state = "done"
        return attr.value

    def block(self) -> Any:
        """Statements separated by newlines; variable bindings allowed; the last value wins."""
        toks = self.toks
        value: Any = None
        self.i = _skip_sep(toks, self.i, self.limit)
        if self.i >= self.limit:
            return None
        while self.i < self.limit:
            stop = _statement_end(toks, self.i, self.limit)
            tok = toks[self.i]
            if tok.kind == "ident" and toks[self.i + 1].is_op("=") and tok.value not in self.vars_reserved:
                # evaluated when first used: a variable only a key packaging never reads may hold
                # what cannot be evaluated here (exla's `make_args = Application.get_env(...) || ...`)
                binding = _Binding(
                    _Evaluator(
                        self.reader,
                        self.module,
                        _Code(toks, self.i + 2, stop, self.attrs),
                        dict(self.vars),
                        in_attr=self.in_attr,
                    )
                )
                self.vars[tok.value] = binding
                value = binding
            else:
                sub = _Evaluator(
                    self.reader,
                    self.module,
                    _Code(toks, self.i, stop, self.attrs),
                    self.vars,
                    in_attr=self.in_attr,
                    lazy_keys=self.lazy_keys,
                )
                value = sub.whole()
            self.i = _skip_sep(toks, stop, self.limit)
        return value.force() if isinstance(value, _Binding) else value

    vars_reserved = frozenset({"true", "false", "nil", "do", "end", "fn"})

    def whole(self) -> Any:
        """One expression filling the whole slice."""
        value = self.expr()
        j = _skip_nl(self.toks, self.i, self.limit)
        if j < self.limit:
            raise self._unexpected(j)
        return value

    # -- expressions ----------------------------------------------------------

    def peek(self, skip_nl: bool = False) -> Tok:
        j = _skip_nl(self.toks, self.i, self.limit) if skip_nl else self.i
        if j >= self.limit:
            return Tok("eof", None, self.toks[min(j, len(self.toks) - 1)].line)
        return self.toks[j]

    def next(self) -> Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def skip_nl(self) -> None:
        self.i = _skip_nl(self.toks, self.i, self.limit)

    def _unexpected(self, j: int) -> _Refusal:
        if j >= self.limit:
            return _Refusal(self.toks[min(j, len(self.toks) - 1)].line, "unexpected end of expression")
        return _refuse(self.toks[j].line, _describe(self.toks, j))

    def expr(self, min_level: int = 0) -> Any:
        """A binary expression by precedence climbing over the operators ``_LEVELS`` lists.

        Both operands are always evaluated (no short-circuit): an operand the
        reader cannot evaluate is refused even where Elixir would skip it.
        """
        value = self.unary()
        while True:
            j = _skip_nl(self.toks, self.i, self.limit)
            if j >= self.limit:
                return value
            tok = self.toks[j]
            if not (j == self.i or _continues(self.toks, j)):
                return value
            name, width = _operator_at(self.toks, j, self.limit)
            level = _LEVELS.get(name) if name else None
            if level is None:
                is_operator = (tok.kind == "op" and tok.value in _BINARY_OPS and tok.value not in ("=>", "|")) or (
                    tok.kind == "ident" and tok.value in _WORD_OPS
                )
                if is_operator:
                    raise self._unexpected(j)
                return value
            if level < min_level:
                return value
            self.i = _skip_nl(self.toks, j + width, self.limit)
            right = self.expr(level if name in _RIGHT_ASSOCIATIVE else level + 1)
            value = self._binary(name, tok, value, right)

    def _binary(self, name: str, tok: Tok, left: Any, right: Any) -> Any:
        if name != "++" and (has_unreadable(left) or has_unreadable(right)):  # ++ only carries values along
            raise _refuse(tok.line, f"`{name}` of a value it cannot read")
        try:
            if name in ("++", "<>"):
                return self._concat(tok, left, right)
            if name in ("==", "!="):
                return mix_builtins.equal(left, right, strict=False) == (name == "==")
            if name in ("===", "!=="):
                return mix_builtins.equal(left, right, strict=True) == (name == "===")
            if name in ("in", "not in"):
                return mix_builtins.member(left, right) == (name == "in")
            if name in ("and", "or"):
                if not isinstance(left, bool):
                    raise _refuse(tok.line, f"`{name}` on a value that is not a boolean")
                return (left and right) if name == "and" else (left or right)
            if name == "&&":
                return right if mix_builtins.truthy(left) else left
            return left if mix_builtins.truthy(left) else right  # ||
        except mix_builtins.Unsupported as exc:
            raise _refuse(tok.line, f"`{name}` here ({exc})") from None

    def _concat(self, tok: Tok, left: Any, right: Any) -> Any:
        if tok.value == "++":
            if isinstance(left, list) and isinstance(right, list):
                return left + right
            raise _refuse(tok.line, "`++` on something that is not a list")
        if _is_str(left) and _is_str(right):
            return left + right
        raise _refuse(tok.line, "`<>` on something that is not a string")

    def unary(self) -> Any:
        tok = self.peek()
        if tok.is_op("!") or (tok.is_ident("not") and not self._peek_is_op_in()):
            self.i += 1
            operand = self.unary()
            if has_unreadable(operand):
                raise _refuse(tok.line, f"`{tok.value}` of a value it cannot read")
            if tok.value == "!":
                return not mix_builtins.truthy(operand)
            if not isinstance(operand, bool):
                raise _refuse(tok.line, "`not` on a value that is not a boolean")
            return not operand
        if tok.is_op("-", "+"):
            nxt = self.toks[self.i + 1] if self.i + 1 < self.limit else None
            if nxt is not None and nxt.kind in ("int", "float"):
                self.i += 2
                return -nxt.value if tok.value == "-" else nxt.value
            raise _refuse(tok.line, f"`{tok.value}` on an expression")
        value = self.primary()
        nxt = self.peek()
        if nxt.is_op(".") or (nxt.is_op("[", "(") and not nxt.spaced):
            raise _refuse(nxt.line, f"`{nxt.value}` after a value (access or call)")
        return value

    def _peek_is_op_in(self) -> bool:
        nxt = self.toks[self.i + 1] if self.i + 1 < self.limit else None
        return nxt is not None and nxt.is_ident("in")

    def primary(self) -> Any:  # noqa: PLR0911, PLR0912
        lazy_keys, self.lazy_keys = self.lazy_keys, False  # only the outermost value may be lazy
        tok = self.next()
        kind = tok.kind
        if kind in ("int", "float"):
            return tok.value
        if kind == "str":
            return self.interpolate(tok.value, tok.line)
        if kind == "chars":
            return [ord(c) for c in self.interpolate(tok.value, tok.line)]
        if kind == "atom":
            name = tok.value if isinstance(tok.value, str) else self.interpolate(tok.value, tok.line)
            if self.peek().is_op(".") and not self.peek().spaced:
                self.i -= 1
                raise _refuse(tok.line, _describe(self.toks, self.i))
            return atom(name)
        if kind == "sigil":
            return self.sigil(tok.value, tok.line)
        if kind == "attr":
            return self.attr(tok.value, tok.line)
        if kind == "alias":
            return self.alias(tok)
        if kind == "ident":
            return self.identifier(tok)
        if kind == "op":
            if tok.value == "[":
                return self.sequence("]", tok.line, lazy_keys=lazy_keys)
            if tok.value == "{":
                return tuple(self.sequence("}", tok.line))
            if tok.value == "%":
                return self.map(tok)
            if tok.value == "(":
                self.skip_nl()
                value = self.expr()
                self.skip_nl()
                if not self.next().is_op(")"):
                    raise self._unexpected(self.i - 1)
                return value
        if kind == "kw":
            raise _refuse(tok.line, f"the keyword `{_kw_name(self, tok)}:` here")
        self.i -= 1
        raise self._unexpected(self.i)

    def identifier(self, tok: Tok) -> Any:
        name = tok.value
        if name == "true":
            return True
        if name == "false":
            return False
        if name == "nil":
            return None
        if name == "__MODULE__":
            return Atom("Elixir." + self.module.name)
        nxt = self.peek()
        call = nxt.is_op("(") and not nxt.spaced
        if name in _REFUSED_WORDS or name in _WORD_OPS:
            raise _refuse(tok.line, f"`{name}`")
        if not call and name in self.vars:
            value = self.vars[name]
            return value.force() if isinstance(value, _Binding) else value
        fun = self.module.funs.get(name)
        if call:
            close = _close_paren(self.toks, self.i, self.limit)
            arity = _count_args(self.toks, self.i + 1, close)
            if fun is not None and arity == 0 and fun.code is not None:
                self.i = close + 1
                return self.call(fun, tok.line)
            raise _refuse(tok.line, f"`{name}/{arity}`")
        if fun is not None and fun.code is not None:
            if nxt.kind not in ("nl", "eof", "op") and nxt.spaced and nxt.line == tok.line and nxt.kind != "kw":
                raise _refuse(tok.line, f"`{name}` with arguments")
            return self.call(fun, tok.line)
        if nxt.line == tok.line and nxt.spaced and nxt.kind not in ("nl", "eof", "op"):
            raise _refuse(tok.line, _describe(self.toks, self.i - 1) + " (a call)")
        raise _refuse(tok.line, f"`{name}` (an unknown variable or function)")

    def alias(self, tok: Tok) -> Any:
        if self.module.alias_error is not None:
            raise self.module.alias_error
        parts = [tok.value]
        start = self.i - 1
        while self.peek().is_op(".") and not self.peek().spaced:
            after = self.toks[self.i + 1] if self.i + 1 < self.limit else None
            if after is not None and after.kind == "alias":
                parts.append(after.value)
                self.i += 2
                continue
            if after is not None and after.kind == "ident" and not self.module.aliases.get(parts[0]):
                return self.remote_call(".".join(parts), after, start)
            raise _refuse(tok.line, _describe(self.toks, start))
        if parts[0] == "Elixir" and len(parts) > 1:
            return Atom(".".join(parts))
        head = self.module.aliases.get(parts[0], parts[0])
        return Atom("Elixir." + ".".join([head, *parts[1:]]))

    def remote_call(self, module: str, fun_tok: Tok, start: int) -> Any:
        """``Module.fun(args)`` for the calls ``mix_builtins`` knows, and ``Mix.env/0``."""
        self.i += 2  # the dot and the function name
        nxt = self.peek()
        args: list[Any] = []
        if nxt.is_op("(") and not nxt.spaced:
            self.i += 1
            args = self.sequence(")", nxt.line)
        elif nxt.line == fun_tok.line and nxt.spaced and nxt.kind not in ("nl", "eof", "op", "kw"):
            raise _refuse(fun_tok.line, _describe(self.toks, start))  # a call without parentheses
        name = fun_tok.value
        if (module, name, len(args)) == ("Mix", "env", 0):
            return self.reader.mix_env(fun_tok.line, compile_time=self.in_attr)
        implementation = mix_builtins.REMOTE.get((module, name, len(args)))
        if implementation is None:
            raise _refuse(fun_tok.line, f"`{module}.{name}/{len(args)}`")
        try:
            return implementation(args, self.reader.environ)
        except mix_builtins.Unsupported as exc:
            raise _refuse(fun_tok.line, f"`{module}.{name}/{len(args)}` here ({exc})") from None

    def sequence(self, closer: str, line: int, *, lazy_keys: bool = False) -> list[Any]:
        items: list[Any] = []
        while True:
            self.skip_nl()
            tok = self.peek()
            if tok.is_op(closer):
                self.i += 1
                return items
            if tok.kind == "kw":
                items.append(self.keywords(closer, lazy_values=lazy_keys and not items))
                if closer == "]":
                    last = items.pop()
                    items.extend(last)
                return items
            items.append(self.expr())
            self.skip_nl()
            tok = self.next()
            if tok.is_op(closer):
                return items
            if tok.is_op("|") and closer == "]":
                raise _refuse(tok.line, "`|` inside a list (an improper list or cons)")
            if not tok.is_op(","):
                raise self._unexpected(self.i - 1)

    def keywords(self, closer: str, *, lazy_values: bool = False) -> list[tuple[Atom, Any]]:
        pairs: list[tuple[Atom, Any]] = []
        while True:
            self.skip_nl()
            tok = self.next()
            if tok.is_op(closer) and pairs:
                return pairs
            if tok.kind != "kw":
                raise self._unexpected(self.i - 1)
            key = _atom_key(self, tok)
            self.skip_nl()
            # every keyword value is lazy: a key packaging never reads may hold what cannot be evaluated
            # here (a `fn` in `docs:`); read_statically refuses when a value packaging reads is Unreadable
            pairs.append((key, self._lazy_value(closer)))
            self.skip_nl()
            tok = self.next()
            if tok.is_op(closer):
                return pairs
            if not tok.is_op(","):
                raise self._unexpected(self.i - 1)

    def _lazy_value(self, closer: str) -> Any:
        """One keyword value, or Unreadable (skipping to the element's end) when it cannot be evaluated."""
        start = self.i
        try:
            value = self.expr()
            j = _skip_nl(self.toks, self.i, self.limit)
            if j < self.limit and not self.toks[j].is_op(",", closer):
                raise self._unexpected(j)
            return value
        except _Refusal as exc:
            self.i = _element_end(self.toks, start, self.limit)
            return Unreadable(exc.line, exc.what)

    def map(self, percent: Tok) -> dict[Any, Any]:
        tok = self.next()
        if tok.kind == "alias":
            raise _refuse(percent.line, f"the struct `%{tok.value}{{}}`")
        if not tok.is_op("{") or tok.spaced:
            raise _refuse(percent.line, "`%` here")
        pairs: list[tuple[Any, Any]] = []
        while True:
            self.skip_nl()
            nxt = self.peek()
            if nxt.is_op("}"):
                self.i += 1
                break
            if nxt.kind == "kw":
                pairs.extend(self.keywords("}"))
                break
            key = self.expr()
            self.skip_nl()
            arrow = self.next()
            if arrow.is_op("|"):
                raise _refuse(arrow.line, "a map update `%{map | ...}`")
            if not arrow.is_op("=>"):
                raise self._unexpected(self.i - 1)
            self.skip_nl()
            pairs.append((key, self.expr()))
            self.skip_nl()
            sep = self.next()
            if sep.is_op("}"):
                break
            if not sep.is_op(","):
                raise self._unexpected(self.i - 1)
        return make_map(pairs)

    # -- strings and sigils ---------------------------------------------------

    def interpolate(self, parts: list[Any], line: int) -> str:
        out = []
        for part in parts:
            if isinstance(part, str):
                out.append(part)
            else:
                out.append(self.to_string(self.nested(part), line))
        return "".join(out)

    def nested(self, toks: list[Tok]) -> Any:
        end = len(toks) - 1  # the closing eof token
        code = _Code(toks, 0, end, self.attrs)
        if _skip_sep(toks, 0, end) == end:
            return None
        return _Evaluator(self.reader, self.module, code, self.vars, in_attr=self.in_attr).block()

    def to_string(self, value: Any, line: int) -> str:
        """``String.Chars.to_string/1`` for the values whose text is certain."""
        if value is None:
            return ""
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):  # Atom included
            return str.__str__(value)
        if isinstance(value, int):
            return str(value)
        raise _refuse(line, f"{_kind_of(value)} interpolated into a string")

    def sigil(self, sigil: Sigil, line: int) -> Any:
        letter, mods = sigil.letter, sigil.modifiers
        lower = letter.islower()
        unescape = _unescape_regex if letter == "r" else functools.partial(_unescape, line=line)
        text = "".join(
            (unescape(p) if lower else p) if isinstance(p, str) else self.to_string(self.nested(p), line)
            for p in sigil.parts
        )
        if letter in "rR":
            bad = [m for m in mods if m not in "uismxfU"]
            if bad:
                raise _Refusal(line, f"unknown regex modifier {bad[0]!r}")
            return Regex(text, mods)
        if letter in "sS":
            if mods:
                raise _Refusal(line, f"~{letter} takes no modifiers")
            return text
        if letter in "cC":
            if mods:
                raise _Refusal(line, f"~{letter} takes no modifiers")
            return [ord(c) for c in text]
        if letter in "wW":
            words = _split_words(text)
            mod = mods or "s"
            if len(mod) != 1 or mod not in "acs":
                raise _Refusal(line, f"~{letter} takes one modifier of a, c or s")
            if mod == "a":
                return [atom(w) for w in words]
            if mod == "c":
                return [[ord(c) for c in w] for w in words]
            return words
        raise _refuse(line, f"the sigil `~{letter}`")


def _split_words(text: str) -> list[str]:
    """``String.split/1``: on Unicode whitespace except non-breaking spaces."""
    words: list[str] = []
    current: list[str] = []
    for ch in text:
        if ch.isspace() and ch not in _WHITESPACE_EXCEPT_NBSP:
            if current:
                words.append("".join(current))
                current = []
        else:
            current.append(ch)
    if current:
        words.append("".join(current))
    return words


def _kw_name(ev: _Evaluator, tok: Tok) -> str:
    return ev.interpolate(tok.value, tok.line) if isinstance(tok.value, list) else str(tok.value)


def _atom_key(ev: _Evaluator, tok: Tok) -> Any:
    return atom(_kw_name(ev, tok))


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, Atom)


def _kind_of(value: Any) -> str:
    if isinstance(value, float):
        return "a float"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, tuple):
        return "a tuple"
    if isinstance(value, dict):
        return "a map"
    return type(value).__name__


# --------------------------------------------------------------------------
# Maps in Erlang term order
# --------------------------------------------------------------------------


def make_map(pairs: list[tuple[Any, Any]]) -> dict[Any, Any]:
    """A dict from key/value pairs, later keys winning, ordered like a small
    Erlang map (keys in term order), which is how ``elixir`` hands it over."""
    merged: dict[Any, tuple[Any, Any]] = {}
    for key, value in pairs:
        merged[map_key(key)] = (key, value)
    ordered = sorted(merged.values(), key=lambda kv: erlang_sort_key(kv[0]))
    return {map_key(k): v for k, v in ordered}


def _rank(value: Any) -> int:
    if value is None or isinstance(value, (bool, Atom)):
        return 1
    if isinstance(value, (int, float)):
        return 0
    if isinstance(value, tuple):
        return 6
    if isinstance(value, (dict, Regex)):
        return 7
    if isinstance(value, list):
        return 8
    return 9  # binaries


def _compare(a: Any, b: Any) -> int:
    ra, rb = _rank(a), _rank(b)
    if ra != rb:
        return -1 if ra < rb else 1
    if ra == 0:
        return (a > b) - (a < b)
    if ra == 1:
        sa, sb = _atom_text(a), _atom_text(b)
        return (sa > sb) - (sa < sb)
    if ra == 6:
        if len(a) != len(b):
            return -1 if len(a) < len(b) else 1
        return _compare_seq(a, b)
    if ra == 7:
        da = a if isinstance(a, dict) else {"source": a.source, "opts": a.options}
        db = b if isinstance(b, dict) else {"source": b.source, "opts": b.options}
        if len(da) != len(db):
            return -1 if len(da) < len(db) else 1
        ka = sorted(da, key=erlang_sort_key)
        kb = sorted(db, key=erlang_sort_key)
        return _compare_seq(ka, kb) or _compare_seq([da[k] for k in ka], [db[k] for k in kb])
    if ra == 8:
        return _compare_seq(a, b)
    ba = a.encode() if isinstance(a, str) else a
    bb = b.encode() if isinstance(b, str) else b
    return (ba > bb) - (ba < bb)


def _compare_seq(a: Any, b: Any) -> int:
    for x, y in zip(a, b, strict=False):
        c = _compare(x, y)
        if c:
            return c
    return (len(a) > len(b)) - (len(a) < len(b))


def _atom_text(value: Any) -> str:
    if value is None:
        return "nil"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str.__str__(value)


erlang_sort_key = functools.cmp_to_key(_compare)


# --------------------------------------------------------------------------
# Entry points
# --------------------------------------------------------------------------


def evaluate_source(src: str, *, source: str = "mix.exs", environ: Mapping[str, str] | None = None) -> Any:
    """The keyword list ``project/0`` of this mix.exs text returns."""
    return _read_source(src, source, environ)[0]


def _read_source(src: str, source: str, environ: Mapping[str, str] | None) -> tuple[Any, list[str]]:
    try:
        reader = _Reader(src, environ)
        return reader.read(), reader.assumptions
    except _Refusal as exc:
        raise ProjectError(exc.what, subject=f"{source} line {exc.line}", hint=HINT) from None
    except RecursionError:
        raise ProjectError("nested too deeply to read without Elixir", subject=source, hint=HINT) from None


def read_statically(root: str | Path, *, environ: Mapping[str, str] | None = None) -> MixProject:
    """Read ``root/mix.exs`` without Elixir; refuse what is not plain data.

    ``MixProject.assumptions`` lists the guards (code that can only raise)
    the read assumed to pass.
    """
    root = Path(root)
    mix_exs = root / "mix.exs"
    try:
        src = mix_exs.read_bytes().decode("utf-8")  # no newline translation: Elixir keeps CRLF in strings
    except FileNotFoundError:
        raise ProjectError(
            "no such file", subject=str(mix_exs), hint="run hexpack inside a mix project or pass --project"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"cannot read it: {exc}", subject=str(mix_exs)) from None
    config, assumptions = _read_source(src, str(mix_exs), environ)
    _refuse_unreadable_packaging_keys(config, str(mix_exs))
    project = project_from_config(root, config, reader="static", source=str(mix_exs))
    return dataclasses.replace(project, assumptions=tuple(assumptions))


def _refuse_unreadable_packaging_keys(config: Any, source: str) -> None:
    """Every value packaging reads must be whole: an Unreadable anywhere inside one is refused with its line."""
    if not is_keyword(config):
        return  # project_from_config refuses it, naming what project/0 returned
    problems: list[HexpackError] = []
    for key, value in config:
        unreadable = _first_unreadable(value) if key in PACKAGING_KEYS else None
        if unreadable is not None:
            problems.append(
                ProjectError(f"{unreadable.what} (for {key}:)", subject=f"{source} line {unreadable.line}", hint=HINT)
            )
    raise_together(problems, summary=f"values in {source} need Elixir")
