"""The static reader's second stage: the shape of the token stream.

Definitions kept as token slices to evaluate later (``Code``, ``Attr``,
``Fun``, ``Module``), where statements, blocks and list elements end, and
which module-body statements cannot change what ``project/0`` returns.
"""

from __future__ import annotations

from ...records import Record
from .tokens import BINARY_OPS, WORD_OPS, Refusal, Tok, refuse

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any


class Code(Record):
    """A slice of tokens to evaluate later, with what it may refer to."""

    __slots__ = ("toks", "start", "end", "attrs")

    def __init__(self, toks: list[Tok], start: int, end: int, attrs: dict[str, Attr]):
        self.toks = toks
        self.start = start
        self.end = end
        self.attrs = attrs


class Attr(Record):
    __slots__ = ("name", "line", "code", "state", "value", "error")

    def __init__(
        self,
        name: str,
        line: int,
        code: Code,
        state: str = "new",  # new, running, done, failed
        value: Any = None,
        error: Refusal | None = None,
    ):
        self.name = name
        self.line = line
        self.code = code
        self.state = state
        self.value = value
        self.error = error


class Fun(Record):
    __slots__ = ("name", "line", "code", "arities", "macro", "state", "value", "error")

    def __init__(
        self,
        name: str,
        line: int,
        code: Code | None,  # None when no zero-arity clause exists
        arities: set[int] | None = None,
        macro: bool = False,
        state: str = "new",
        value: Any = None,
        error: Refusal | None = None,
    ):
        self.name = name
        self.line = line
        self.code = code
        self.arities = set() if arities is None else arities
        self.macro = macro
        self.state = state
        self.value = value
        self.error = error


class Module(Record):
    __slots__ = ("name", "funs", "aliases", "is_project", "blocked", "alias_error")

    def __init__(
        self,
        name: str,
        funs: dict[str, Fun] | None = None,
        aliases: dict[str, str] | None = None,
        is_project: bool = False,
        blocked: list[Refusal] | None = None,  # statements we cannot run
        alias_error: Refusal | None = None,  # an `alias` we cannot follow: aliases are then unknown
    ):
        self.name = name
        self.funs = {} if funs is None else funs
        self.aliases = {} if aliases is None else aliases
        self.is_project = is_project
        self.blocked = [] if blocked is None else blocked
        self.alias_error = alias_error


_OPENERS = {"(": ")", "[": "]", "{": "}", "<<": ">>"}
_CLOSERS = {")", "]", "}", ">>"}
_BLOCK_OPENERS = ("do", "fn")
_BLOCK_CLOSER = "end"


def is_block_open(tok: Tok) -> bool:
    return tok.kind == "ident" and tok.value in _BLOCK_OPENERS


def is_block_close(tok: Tok) -> bool:
    return tok.kind == "ident" and tok.value == _BLOCK_CLOSER


_OP_NESTING = {**dict.fromkeys(_OPENERS, 1), **dict.fromkeys(_CLOSERS, -1)}
_IDENT_NESTING = {**dict.fromkeys(_BLOCK_OPENERS, 1), _BLOCK_CLOSER: -1}


def nesting(tok: Tok) -> int:
    """+1 for a token that opens a nesting level (a bracket, `do`, `fn`), -1 for one that closes it, else 0."""
    kind = tok.kind  # looked up, not tested in turn: every statement's end is found by calling this per token
    if kind == "op":
        return _OP_NESTING.get(tok.value, 0)
    return _IDENT_NESTING.get(tok.value, 0) if kind == "ident" else 0


def continues(toks: list[Tok], i: int) -> bool:
    """True when token i (after a newline) continues the previous expression."""
    tok = toks[i]
    if tok.kind == "op" and tok.value in BINARY_OPS and tok.value not in ("-", "+"):
        return True
    return tok.kind == "ident" and tok.value in WORD_OPS - {"not"}


def ends_incomplete(tok: Tok) -> bool:
    """True when an expression cannot end with this token."""
    if tok.kind == "op":
        return tok.value in BINARY_OPS or tok.value in (",", "!", "&", "@", "%")
    return tok.kind == "ident" and tok.value in WORD_OPS


def statement_end(toks: list[Tok], i: int, limit: int) -> int:
    """Index just past the statement starting at i (newline/`;` at depth 0)."""
    depth = 0
    start = i
    while i < limit:
        tok = toks[i]
        if tok.kind == "eof":
            break
        step = nesting(tok)
        if step < 0 and depth == 0:
            break
        if step:
            depth += step
        elif depth == 0 and (tok.kind == "nl" or tok.is_op(";")):
            if i > start and ends_incomplete(toks[i - 1]):
                i += 1
                continue
            j = skip_sep(toks, i, limit)
            if j < limit and continues(toks, j):
                i = j
                continue
            break
        i += 1
    return i


def matching_end(toks: list[Tok], i: int, limit: int) -> int:
    """Given toks[i] is a block opener (`do`/`fn`), the index of its `end`."""
    depth = 0
    line = toks[i].line
    while i < limit:
        tok = toks[i]
        if is_block_open(tok):
            depth += 1
        elif is_block_close(tok):
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise Refusal(line, "`do` block is missing its `end`")


def skip_nl(toks: list[Tok], i: int, limit: int) -> int:
    """Past newlines (inside brackets and around operators)."""
    while i < limit and toks[i].kind == "nl":
        i += 1
    return i


def skip_sep(toks: list[Tok], i: int, limit: int) -> int:
    """Past statement separators: newlines and `;`."""
    while i < limit and (toks[i].kind == "nl" or toks[i].is_op(";")):
        i += 1
    return i


def element_end(toks: list[Tok], i: int, limit: int) -> int:
    """Index of the `,` or closing bracket that ends the list element starting at i."""
    depth = 0
    while i < limit:
        tok = toks[i]
        if tok.kind == "eof":
            break
        step = nesting(tok)
        if step < 0 and depth == 0:
            break
        if step:
            depth += step
        elif depth == 0 and tok.is_op(","):
            break
        elif depth == 0 and tok.is_op(";"):
            raise refuse(tok.line, "`;` inside a list")
        i += 1
    return i


class IfForm(Record):
    """``if cond do ... else ... end`` or ``if cond, do: ..., else: ...`` as token ranges (start, end)."""

    __slots__ = ("condition", "then", "otherwise", "end")

    def __init__(self, condition: tuple[int, int], then: tuple[int, int], otherwise: tuple[int, int], end: int):
        self.condition = condition
        self.then = then
        self.otherwise = otherwise  # empty (start == end) without an else: the value is nil
        self.end = end  # just past the whole expression


def if_form(toks: list[Tok], i: int, limit: int) -> IfForm | None:
    """The parts of the ``if``/``unless`` whose condition starts at toks[i]; None for another form. An
    unspaced ``(`` there is the call form, read only as ``if(c, do: a, else: b)``."""
    if toks[i].is_op("(") and not toks[i].spaced:
        return _if_call_form(toks, i, limit)
    depth = 0
    for j in range(i, limit):
        tok = toks[j]
        if depth == 0 and tok.is_ident("do"):
            end = matching_end(toks, j, limit)
            elses = (k for k in range(j + 1, end) if toks[k].is_ident("else") and depth_zero(toks, j + 1, k))
            other = next(elses, None)
            if other is None:
                return IfForm((i, j), (j + 1, end), (end, end), end + 1)
            return IfForm((i, j), (j + 1, other), (other + 1, end), end + 1)
        if depth == 0 and tok.is_op(","):
            k = skip_nl(toks, j + 1, limit)
            if k >= limit or toks[k].kind != "kw" or toks[k].value != ["do"]:
                return None
            then_end = element_end(toks, k + 1, limit)
            m = skip_nl(toks, then_end + 1, limit) if then_end < limit and toks[then_end].is_op(",") else limit
            has_else = m < limit and toks[m].kind == "kw" and toks[m].value == ["else"]
            end = element_end(toks, m + 1, limit) if has_else else then_end
            # without parentheses the call takes every argument up to the end of the expression: anything
            # after its do:/else: (`, deps: []` in a list) is another argument, which the reader does not read
            if skip_nl(toks, end, limit) < limit:
                return None
            otherwise = (m + 1, end) if has_else else (end, end)
            return IfForm((i, j), (k + 1, then_end), otherwise, end)
        step = nesting(tok)
        if step < 0 and depth == 0:
            return None
        depth += step
    return None


def _if_call_form(toks: list[Tok], i: int, limit: int) -> IfForm | None:
    """``if(c, do: a, else: b)``, toks[i] its ``(``: the parts, ending past the ``)``; None for another form
    (``if(c) do ... end`` among them: a do block after the parentheses)."""
    close = close_paren(toks, i, limit)
    form = if_form(toks, i + 1, close)
    if form is None or toks[form.then[0] - 1].kind != "kw":
        return None
    return form.replace(end=close + 1)


def depth_zero(toks: list[Tok], start: int, j: int) -> bool:
    """True when toks[j] is at the nesting level of toks[start]."""
    depth = 0
    for k in range(start, j):
        depth += nesting(toks[k])
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


def all_tokens(toks: list[Tok], i: int, stop: int):
    """The tokens of toks[i:stop], with those inside string interpolations and sigils."""
    for tok in toks[i:stop]:
        yield tok
        parts = tok.value.parts if tok.kind == "sigil" else tok.value if isinstance(tok.value, list) else ()
        for part in parts:
            if isinstance(part, list):
                yield from all_tokens(part, 0, len(part))


def effect_of(toks: list[Tok], i: int, stop: int) -> str | None:
    """``"inert"`` when the statement cannot change project/0's value, ``"guard"`` when it may also raise,
    None when it may define, load or change something (or the reader cannot tell)."""
    flat = list(all_tokens(toks, i, stop))
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


def close_paren(toks: list[Tok], i: int, limit: int) -> int:
    depth = 0
    while i < limit:
        tok = toks[i]
        step = nesting(tok)
        depth += step
        if step < 0 and depth == 0 and tok.kind == "op":
            return i
        i += 1
    raise Refusal(toks[i - 1].line, "missing `)`")


def count_args(toks: list[Tok], i: int, close: int) -> int:
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
        step = nesting(tok)
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


def describe(toks: list[Tok], i: int) -> str:
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
                close = close_paren(toks, j, len(toks))
                arity = count_args(toks, j + 1, close)
            elif toks[j].kind not in ("nl", "eof", "op") and toks[j].spaced:
                arity = count_args(toks, j, statement_end(toks, j, len(toks)))
            return f"`{'.'.join(parts)}/{arity}`"
        return f"`{'.'.join(parts)}`"
    if tok.kind == "ident":
        if toks[i + 1].is_op("(") and not toks[i + 1].spaced:
            close = close_paren(toks, i + 1, len(toks))
            return f"`{tok.value}/{count_args(toks, i + 2, close)}`"
        return f"`{tok.value}`"
    if tok.is_op("|>"):
        return "`|>` (a pipe)"
    if tok.is_op("&"):
        return "`&` (a function capture)"
    if tok.is_op("%") and toks[i + 1].kind == "alias":
        return f"the struct `%{toks[i + 1].value}{{}}`"
    return tok.show()
