"""The static reader's third stage: evaluating token slices to Elixir values.

``Evaluator`` evaluates one slice (a function body, an attribute, a keyword value) on demand: literals,
variables, ``@attr``, zero-arity local calls, the operators in ``LEVELS`` and the remote calls ``builtins``
knows; anything else is a ``Refusal`` naming the line.
"""

from __future__ import annotations

import functools

from ..terms import Atom, atom
from . import builtins as mix_builtins
from .operators import LEVELS, RIGHT_ASSOCIATIVE, apply_binary, operator_at
from .ordering import make_map
from .syntax import (
    Code,
    Fun,
    Module,
    close_paren,
    continues,
    count_args,
    describe,
    element_end,
    if_form,
    skip_nl,
    skip_sep,
    statement_end,
)
from .tokens import BINARY_OPS, WORD_OPS, Refusal, Sigil, Tok, refuse, unescape, unescape_regex
from .values import Binding, Unreadable, has_unreadable, sigil_value, to_string

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

    from .reader import Reader


_REFUSED_WORDS = {
    "if", "unless", "case", "cond", "with", "for", "try", "receive", "quote", "unquote", "fn", "raise",
    "throw", "import", "require", "alias", "super", "__ENV__", "__DIR__", "__CALLER__", "__STACKTRACE__",
}  # fmt: skip


class Evaluator:
    def __init__(
        self,
        reader: Reader,
        module: Module,
        code: Code,
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
        self.code = code
        self.attrs = code.attrs
        self.vars = variables

    # -- entry points --------------------------------------------------------

    def call(self, fun: Fun, line: int, *, lazy_keys: bool = False) -> Any:
        if self.in_attr:
            raise Refusal(line, f"`{fun.name}/0` is called in a module attribute, which Elixir does not allow")
        if fun.state == "done":
            return fun.value
        if fun.state == "failed":
            assert fun.error is not None
            raise fun.error
        if fun.state == "running":
            raise refuse(line, f"the recursive call `{fun.name}/0`")
        if fun.macro:
            raise refuse(line, f"the macro `{fun.name}`")
        if fun.code is None:
            arities = "/".join(str(a) for a in sorted(fun.arities))
            raise refuse(line, f"`{fun.name}/0` (only `{fun.name}/{arities}` is defined)")
        fun.state = "running"
        try:
            fun.value = Evaluator(self.reader, self.module, fun.code, {}, lazy_keys=lazy_keys).block()
        except Refusal as exc:
            fun.state, fun.error = "failed", exc
            raise
        fun.state = "done"
        return fun.value

    def attr(self, name: str, line: int) -> Any:
        attr = self.attrs.get(name)
        if attr is None:
            raise Refusal(line, f"module attribute @{name} is not set before this use")
        if attr.state == "done":
            return attr.value
        if attr.state == "failed":
            assert attr.error is not None
            raise attr.error
        attr.state = "running"
        try:
            attr.value = Evaluator(self.reader, self.module, attr.code, {}, in_attr=True).block()
        except Refusal as exc:
            attr.state, attr.error = "failed", exc
            raise
        attr.state = "done"
        return attr.value

    def block(self) -> Any:
        """Statements separated by newlines; variable bindings allowed; the last value wins."""
        toks = self.toks
        value: Any = None
        self.i = skip_sep(toks, self.i, self.limit)
        if self.i >= self.limit:
            return None
        while self.i < self.limit:
            stop = statement_end(toks, self.i, self.limit)
            tok = toks[self.i]
            if tok.kind == "ident" and toks[self.i + 1].is_op("=") and tok.value not in self.vars_reserved:
                # evaluated when first used: a variable only a key packaging never reads may hold
                # what cannot be evaluated here (exla's `make_args = Application.get_env(...) || ...`)
                binding = Binding(
                    Evaluator(
                        self.reader,
                        self.module,
                        Code(toks, self.i + 2, stop, self.attrs),
                        dict(self.vars),
                        in_attr=self.in_attr,
                    )
                )
                self.vars[tok.value] = binding
                value = binding
            else:
                sub = Evaluator(
                    self.reader,
                    self.module,
                    Code(toks, self.i, stop, self.attrs),
                    self.vars,
                    in_attr=self.in_attr,
                    lazy_keys=self.lazy_keys,
                )
                value = sub.whole()
            self.i = skip_sep(toks, stop, self.limit)
        return value.force() if isinstance(value, Binding) else value

    vars_reserved = frozenset({"true", "false", "nil", "do", "end", "fn"})

    def whole(self) -> Any:
        """One expression filling the whole slice."""
        value = self.expr()
        j = skip_nl(self.toks, self.i, self.limit)
        if j < self.limit:
            raise self._unexpected(j)
        return value

    # -- expressions ----------------------------------------------------------

    def peek(self) -> Tok:
        j = self.i
        if j >= self.limit:
            return Tok("eof", None, self.toks[min(j, len(self.toks) - 1)].line)
        return self.toks[j]

    def next(self) -> Tok:
        tok = self.peek()
        self.i += 1
        return tok

    def skip_nl(self) -> None:
        self.i = skip_nl(self.toks, self.i, self.limit)

    def _unexpected(self, j: int) -> Refusal:
        if j >= self.limit:
            return Refusal(self.toks[min(j, len(self.toks) - 1)].line, "unexpected end of expression")
        return refuse(self.toks[j].line, describe(self.toks, j))

    def expr(self, min_level: int = 0) -> Any:
        """A binary expression by precedence climbing over the operators ``LEVELS`` lists.

        Both operands are always evaluated (no short-circuit): an operand the
        reader cannot evaluate is refused even where Elixir would skip it.
        """
        value = self.unary()
        while True:
            j = skip_nl(self.toks, self.i, self.limit)
            if j >= self.limit:
                return value
            tok = self.toks[j]
            if not (j == self.i or continues(self.toks, j)):
                return value
            name, width = operator_at(self.toks, j, self.limit)
            level = LEVELS.get(name) if name else None
            if level is None:
                is_operator = (tok.kind == "op" and tok.value in BINARY_OPS and tok.value not in ("=>", "|")) or (
                    tok.kind == "ident" and tok.value in WORD_OPS
                )
                if is_operator:
                    raise self._unexpected(j)
                return value
            if level < min_level:
                return value
            self.i = skip_nl(self.toks, j + width, self.limit)
            right = self.expr(level if name in RIGHT_ASSOCIATIVE else level + 1)
            value = apply_binary(name, tok, value, right)

    def unary(self) -> Any:
        tok = self.peek()
        if tok.is_op("!") or (tok.is_ident("not") and not self._peek_is_op_in()):
            self.i += 1
            operand = self.unary()
            if has_unreadable(operand):
                raise refuse(tok.line, f"`{tok.value}` of a value it cannot read")
            if tok.value == "!":
                return not mix_builtins.truthy(operand)
            if not isinstance(operand, bool):
                raise refuse(tok.line, "`not` on a value that is not a boolean")
            return not operand
        if tok.is_op("-", "+"):
            nxt = self.toks[self.i + 1] if self.i + 1 < self.limit else None
            if nxt is not None and nxt.kind in ("int", "float"):
                self.i += 2
                return -nxt.value if tok.value == "-" else nxt.value
            raise refuse(tok.line, f"`{tok.value}` on an expression")
        value = self.primary()
        nxt = self.peek()
        if nxt.is_op(".") or (nxt.is_op("[", "(") and not nxt.spaced):
            raise refuse(nxt.line, f"`{nxt.value}` after a value (access or call)")
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
                raise refuse(tok.line, describe(self.toks, self.i))
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
            raise refuse(tok.line, f"the keyword `{_kw_name(self, tok)}:` here")
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
        if name in ("if", "unless"):
            return self.conditional(tok)
        if name in _REFUSED_WORDS or name in WORD_OPS:
            raise refuse(tok.line, f"`{name}`")
        if not call and name in self.vars:
            value = self.vars[name]
            return value.force() if isinstance(value, Binding) else value
        fun = self.module.funs.get(name)
        if call:
            close = close_paren(self.toks, self.i, self.limit)
            arity = count_args(self.toks, self.i + 1, close)
            if fun is not None and arity == 0 and fun.code is not None:
                self.i = close + 1
                return self.call(fun, tok.line)
            raise refuse(tok.line, f"`{name}/{arity}`")
        if fun is not None and fun.code is not None:
            if nxt.kind not in ("nl", "eof", "op") and nxt.spaced and nxt.line == tok.line and nxt.kind != "kw":
                raise refuse(tok.line, f"`{name}` with arguments")
            return self.call(fun, tok.line)
        if nxt.line == tok.line and nxt.spaced and nxt.kind not in ("nl", "eof", "op"):
            raise refuse(tok.line, describe(self.toks, self.i - 1) + " (a call)")
        raise refuse(tok.line, f"`{name}` (an unknown variable or function)")

    def conditional(self, tok: Tok) -> Any:
        """``if``/``unless`` on a condition evaluated exactly; only the chosen branch is evaluated, as in Elixir,
        and what it binds stays inside it."""
        form = if_form(self.toks, self.i, self.limit)
        if form is None:
            raise refuse(tok.line, f"`{tok.value}` in this form")
        condition = self._slice(*form.condition, self.vars).whole()
        if has_unreadable(condition):
            raise refuse(tok.line, f"`{tok.value}` on a value it cannot read")
        start, end = form.then if mix_builtins.truthy(condition) != (tok.value == "unless") else form.otherwise
        self.i = form.end
        return self._slice(start, end, dict(self.vars)).block()

    def _slice(self, start: int, end: int, variables: dict[str, Any]) -> Evaluator:
        code = Code(self.toks, start, end, self.attrs)
        return Evaluator(self.reader, self.module, code, variables, in_attr=self.in_attr)

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
            raise refuse(tok.line, describe(self.toks, start))
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
            raise refuse(fun_tok.line, describe(self.toks, start))  # a call without parentheses
        name = fun_tok.value
        if (module, name, len(args)) == ("Mix", "env", 0):
            return self.reader.mix_env(fun_tok.line, compile_time=self.in_attr)
        implementation = mix_builtins.REMOTE.get((module, name, len(args)))
        if implementation is None:
            raise refuse(fun_tok.line, f"`{module}.{name}/{len(args)}`")
        try:
            return implementation(args, self.reader.environ)
        except mix_builtins.Unsupported as exc:
            raise refuse(fun_tok.line, f"`{module}.{name}/{len(args)}` here ({exc})") from None

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
                raise refuse(tok.line, "`|` inside a list (an improper list or cons)")
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
            start = self.i
            pairs.append((key, self._lazy_value(closer)))
            if lazy_values:  # project/0's own list: remember where each value is written
                self.reader.project_values[str.__str__(key)] = (Code(self.toks, start, self.i, self.attrs), self.vars)
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
            j = skip_nl(self.toks, self.i, self.limit)
            if j < self.limit and not self.toks[j].is_op(",", closer):
                raise self._unexpected(j)
            return value
        except Refusal as exc:
            self.i = element_end(self.toks, start, self.limit)
            return Unreadable(exc.line, exc.what)

    def map(self, percent: Tok) -> dict[Any, Any]:
        tok = self.next()
        if tok.kind == "alias":
            raise refuse(percent.line, f"the struct `%{tok.value}{{}}`")
        if not tok.is_op("{") or tok.spaced:
            raise refuse(percent.line, "`%` here")
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
                raise refuse(arrow.line, "a map update `%{map | ...}`")
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
                out.append(to_string(self.nested(part), line))
        return "".join(out)

    def nested(self, toks: list[Tok]) -> Any:
        end = len(toks) - 1  # the closing eof token
        code = Code(toks, 0, end, self.attrs)
        if skip_sep(toks, 0, end) == end:
            return None
        return Evaluator(self.reader, self.module, code, self.vars, in_attr=self.in_attr).block()

    def sigil(self, sigil: Sigil, line: int) -> Any:
        letter, mods, lower = sigil.letter, sigil.modifiers, sigil.letter.islower()
        unescape_text = unescape_regex if letter == "r" else functools.partial(unescape, line=line)
        text = "".join(
            (unescape_text(p) if lower else p) if isinstance(p, str) else to_string(self.nested(p), line)
            for p in sigil.parts
        )
        return sigil_value(letter, text, mods, line)


def _kw_name(ev: Evaluator, tok: Tok) -> str:
    return ev.interpolate(tok.value, tok.line) if isinstance(tok.value, list) else str(tok.value)


def _atom_key(ev: Evaluator, tok: Tok) -> Any:
    return atom(_kw_name(ev, tok))
