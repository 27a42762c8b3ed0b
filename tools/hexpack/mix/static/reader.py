"""Reading ``mix.exs`` without Elixir: the walk over its modules, and the entry points.

``Reader`` tokenizes the file, records each module's attributes and
functions (``syntax``), runs the module-body ``if`` it can decide, and
evaluates ``project/0`` (``evaluation``) in the env ``mix hex.build`` uses.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from ...errors import HexpackError, ProjectError, raise_together
from ...paths import joined
from ...records import Record
from ..project import MixProject, project_from_config
from ..terms import Atom, is_keyword, keyword_get
from . import builtins as mix_builtins
from .evaluation import Evaluator
from .syntax import (
    Attr,
    Code,
    Fun,
    Module,
    close_paren,
    count_args,
    depth_zero,
    describe,
    effect_of,
    matching_end,
    skip_nl,
    skip_sep,
    statement_end,
)
from .tokens import Refusal, Tokenizer, refuse
from .values import first_unreadable, has_unreadable
from .written import Written, written_literals

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

HINT = "install elixir (apt-get install -y elixir)"

# The top-level project/0 keys that packaging reads (Hex's root fields, deps,
# package, and apps_path for the umbrella refusal); only these must be readable.
PACKAGING_KEYS = ("app", "version", "elixir", "description", "deps", "package", "apps_path")


class Reader:
    """Walks the module bodies of mix.exs and evaluates project/0 on demand.

    ``Mix.env()`` is what it is when ``mix hex.build`` runs: ``MIX_ENV`` (else
    ``:dev``) while mix.exs compiles (module attributes, module-body code);
    inside ``project/0`` and its helpers the same, unless ``MIX_ENV`` is unset
    and the project prefers another env for ``hex.build`` (Mix then switches
    and calls ``project/0`` again, as ``Mix.CLI`` does).
    """

    def __init__(self, src: str, environ: Mapping[str, str] | None = None, *, loose_project: bool = False):
        self.src = src
        # take the one module defining project/0 even without `use Mix.Project` (versioning reads app and version)
        self.loose_project = loose_project
        self.toks = Tokenizer(src).tokens()
        self.project_module: Module | None = None
        # project/0's top-level key -> the tokens of its value and the variables in scope there
        self.project_values: dict[str, tuple[Code, dict[str, Any]]] = {}
        self.modules: list[Module] = []
        self.environ = mix_builtins.environ() if environ is None else environ
        self.mix_env_set = bool(self.environ.get("MIX_ENV"))
        self.compile_env = self.environ.get("MIX_ENV") or "dev"
        self.run_env: str | None = self.compile_env  # None: cannot tell
        self.run_env_used = False
        self.assumptions: list[str] = []

    def read(self) -> Any:
        toks = self.toks
        limit = len(toks) - 1
        i = skip_sep(toks, 0, limit)
        file_scope = Module("(file)")
        while i < limit:
            tok = toks[i]
            if tok.is_ident("defmodule"):
                i = self._module(i, limit)
            else:
                i = self._loose_statement(file_scope, {}, i, limit, where="outside of defmodule")
            i = skip_sep(toks, i, limit)
        if file_scope.blocked:
            raise file_scope.blocked[0]
        projects = [m for m in self.modules if m.is_project]
        if not projects and self.loose_project:
            projects = [m for m in self.modules if "project" in m.funs]
        if not projects:
            raise Refusal(1, "no module calls `use Mix.Project`")
        if len(projects) > 1:
            raise Refusal(1, "more than one module calls `use Mix.Project`")
        module = projects[0]
        if module.blocked:
            raise module.blocked[0]
        fun = module.funs.get("project")
        if fun is None or fun.code is None:
            raise Refusal(1, f"{module.name} defines no project/0")
        self.project_module = module
        config = Evaluator(self, module, fun.code, {}).call(fun, fun.line, lazy_keys=True)
        if self.mix_env_set or not self.run_env_used:
            return config
        preferred = self._preferred_env(module, config)
        if preferred == self.run_env:
            return config
        # Mix.CLI switches to the preferred env and calls project/0 again; helpers are re-run
        self.run_env = preferred
        for each in module.funs.values():
            each.state, each.value, each.error = "new", None, None
        return Evaluator(self, module, fun.code, {}).call(fun, fun.line, lazy_keys=True)

    def _preferred_env(self, module: Module, config: Any) -> str | None:
        """The env ``mix hex.build`` switches to (the compile env when none is preferred); None when unknown."""
        from_config = hex_build_env(keyword_get(config, "preferred_cli_env") if is_keyword(config) else None)
        cli = module.funs.get("cli")
        if cli is not None:
            # Elixir 1.15+ reads `def cli, do: [preferred_envs: ...]`, 1.14 does not: agree or give up
            try:
                value = Evaluator(self, module, cli.code, {}).call(cli, cli.line) if cli.code else None
            except Refusal:
                return None
            from_cli = hex_build_env(keyword_get(value, "preferred_envs") if is_keyword(value) else None)
            if from_cli != from_config and from_cli != NO_PREFERENCE:
                return None
        if from_config is None:
            return None
        return self.compile_env if from_config == NO_PREFERENCE else from_config

    def mix_env(self, line: int, *, compile_time: bool) -> Atom:
        if compile_time:
            return Atom(self.compile_env)
        if self.run_env is None:
            raise Refusal(
                line,
                "cannot tell which env `mix hex.build` runs in (the project prefers one for hex.build that "
                "depends on the Elixir version or is not plain data), so cannot evaluate `Mix.env/0` without "
                "Elixir; set MIX_ENV",
            )
        self.run_env_used = True
        return Atom(self.run_env)

    def _loose_statement(self, module: Module, attrs: dict[str, Attr], i: int, limit: int, *, where: str) -> int:
        """A statement that defines nothing the reader knows: an `if` it can decide, code that cannot
        change what project/0 returns (skipped), a guard that can only stop the build (assumed to pass,
        as it does wherever mix hex.build succeeds), or a refusal."""
        toks = self.toks
        tok = toks[i]
        stop = statement_end(toks, i, limit)
        if stop <= i:  # a stray closing bracket or `end`
            raise refuse(tok.line, f"{describe(toks, i)} {where}")
        if tok.is_ident("if", "unless"):
            after = self._module_if(module, attrs, i, stop)
            if after is not None:
                return after
        verdict = effect_of(toks, i, stop)
        if verdict == "inert":
            return stop
        if verdict == "guard":
            self.assumptions.append(
                f"mix.exs line {tok.line}: assumed that {describe(toks, i)} ... does not stop the build "
                "(it can only raise; where mix hex.build succeeds, it did not)"
            )
            return stop
        module.blocked.append(refuse(tok.line, f"{describe(toks, i)} {where}"))
        return stop

    def _module_if(self, module: Module, attrs: dict[str, Attr], i: int, stop: int) -> int | None:
        """``if cond do ... else ... end`` at compile time: run the chosen branch's statements; None when
        the condition cannot be evaluated here."""
        toks = self.toks
        do = next((j for j in range(i + 1, stop) if toks[j].is_ident("do") and depth_zero(toks, i + 1, j)), None)
        if do is None:
            return None
        end = matching_end(toks, do, stop + 1)
        try:
            value = Evaluator(self, module, Code(toks, i + 1, do, dict(attrs)), {}, in_attr=True).whole()
        except Refusal:
            return None
        otherwise = next(
            (j for j in range(do + 1, end) if toks[j].is_ident("else") and depth_zero(toks, do + 1, j)), None
        )
        chosen = mix_builtins.truthy(value) != toks[i].is_ident("unless")
        first, last = (
            (do + 1, otherwise if otherwise is not None else end)
            if chosen
            else ((otherwise + 1, end) if otherwise is not None else (end, end))
        )
        j = skip_sep(toks, first, last)
        while j < last:
            after = self._module_statement(module, attrs, j, last)
            if after <= j:
                raise refuse(toks[j].line, f"{describe(toks, j)} in the module body")
            j = skip_sep(toks, after, last)
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
            raise refuse(line, "a defmodule without an alias name")
        if not toks[i].is_ident("do"):
            raise refuse(toks[i].line, "a defmodule without `do`")
        end = matching_end(toks, i, limit)
        module = Module("".join(name_parts))
        self.modules.append(module)
        attrs: dict[str, Attr] = {}
        j = skip_sep(toks, i + 1, end)
        while j < end:
            after = self._module_statement(module, attrs, j, end)
            if after <= j:  # a stray closing bracket or `end`
                raise refuse(toks[j].line, f"{describe(toks, j)} in the module body")
            j = skip_sep(toks, after, end)
        return end + 1

    def _module_statement(self, module: Module, attrs: dict[str, Attr], i: int, limit: int) -> int:
        toks = self.toks
        tok = toks[i]
        stop = statement_end(toks, i, limit)
        if tok.kind == "attr":
            attr = Attr(tok.value, tok.line, Code(toks, i + 1, stop, dict(attrs)))
            attrs[tok.value] = attr
            return stop
        if tok.is_ident("use"):
            target = "".join(str(t.value) for t in toks[i + 1 : stop] if t.kind != "nl")
            words = [(t.kind, t.value) for t in toks[i + 1 : stop]]
            if words == [("alias", "Mix"), ("op", "."), ("alias", "Project")]:
                module.is_project = True
                return stop
            module.blocked.append(refuse(tok.line, f"`use {target}`"))
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

    def _alias(self, module: Module, i: int, stop: int) -> None:
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
        if not full or full.endswith(".") or skip_nl(toks, i, stop) != stop:
            module.alias_error = module.alias_error or refuse(line, "an alias after this form of `alias`")
            return
        module.aliases[short] = full

    def _def(self, module: Module, attrs: dict[str, Attr], i: int, stop: int) -> None:
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
            close = close_paren(toks, j, stop)
            arity = count_args(toks, j + 1, close)
            j = close + 1
        body: Code | None = None
        if j < stop and toks[j].is_op(","):
            j = skip_nl(toks, j + 1, stop)
            if toks[j].kind == "kw" and toks[j].value == ["do"]:
                body = Code(toks, j + 1, stop, dict(attrs))
        elif j < stop and toks[j].is_ident("do"):
            end = matching_end(toks, j, stop + 1)
            body = Code(toks, j + 1, end, dict(attrs))
        elif toks[j].is_ident("when"):
            body = None
        elif j >= stop or toks[j].kind in ("nl", "eof"):
            return  # a bodiless head (defaults); never callable by us
        else:
            return  # a head we do not understand; calling it is refused as an unknown function
        fun = module.funs.get(name)
        if fun is None:
            fun = module.funs[name] = Fun(name, line, None, macro=kind.startswith("defmacro"))
        fun.arities.add(arity)
        if arity == 0 and fun.code is None and body is not None and not toks[j].is_ident("when"):
            fun.code = body
            fun.line = line


NO_PREFERENCE = "(no preference)"


def hex_build_env(value: Any) -> str | None:
    """``value[:"hex.build"]`` of a preferred-env list: the env's name, ``NO_PREFERENCE``, or None (unknown)."""
    if value is None:
        return NO_PREFERENCE
    if has_unreadable(value):
        return None
    if isinstance(value, dict):
        chosen = value.get(Atom("hex.build"))
    elif is_keyword(value):
        chosen = keyword_get(value, "hex.build")
    else:
        return None
    if chosen is None:
        return NO_PREFERENCE
    return str.__str__(chosen) if isinstance(chosen, Atom) else None


class StaticRead(Record):
    """What the static reader found in mix.exs, before packaging's checks.

    ``config`` is project/0's keyword list; a value it cannot evaluate is an
    ``Unreadable`` there. ``written`` says where its plain string values are written.
    """

    __slots__ = ("config", "assumptions", "written")

    def __init__(self, config: Any, assumptions: tuple[str, ...], written: dict[str, Written]):
        self.config = config
        self.assumptions = assumptions
        self.written = written


def evaluate_source(src: str, *, source: str = "mix.exs", environ: Mapping[str, str] | None = None) -> Any:
    """The keyword list ``project/0`` of this mix.exs text returns."""
    return _read_source(src, source, environ).config


def _read_source(
    src: str, source: str, environ: Mapping[str, str] | None, *, loose_project: bool = False
) -> StaticRead:
    try:
        reader = Reader(src, environ, loose_project=loose_project)
        config = reader.read()
        return StaticRead(config, tuple(reader.assumptions), written_literals(reader, config))
    except Refusal as exc:
        raise ProjectError(exc.what, subject=f"{source} line {exc.line}", hint=HINT) from None
    except RecursionError:
        raise ProjectError("nested too deeply to read without Elixir", subject=source, hint=HINT) from None


def read_config(
    mix_exs: str | os.PathLike[str],
    *,
    source: str | None = None,
    environ: Mapping[str, str] | None = None,
    loose_project: bool = False,
) -> StaticRead:
    """Read ``mix_exs`` without Elixir, keeping what it cannot evaluate as ``Unreadable`` (no packaging checks).

    ``source`` names the file in messages (default: its path). ``loose_project`` accepts the one module
    that defines ``project/0`` when none calls ``use Mix.Project`` (what ``hexpack version`` needs is there).
    """
    try:
        with open(mix_exs, "rb") as handle:
            src = handle.read().decode("utf-8")  # no newline translation: Elixir keeps CRLF in strings
    except FileNotFoundError:
        raise ProjectError(
            "no such file", subject=str(mix_exs), hint="run hexpack inside a mix project or pass --project"
        ) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ProjectError(f"cannot read it: {exc}", subject=str(mix_exs)) from None
    return _read_source(src, source or str(mix_exs), environ, loose_project=loose_project)


class StaticReader:
    """The ``MixReader`` that needs no BEAM: exact for the shapes it accepts, a refusal naming the line otherwise.

    ``environ`` stands for this process's environment (``MIX_ENV``, ``System.get_env``).
    """

    name = "static"

    def __init__(self, environ: Mapping[str, str] | None = None):
        self.environ = environ

    def read(self, root: str | os.PathLike[str]) -> MixProject:
        return read_statically(root, environ=self.environ)


def read_statically(root: str | os.PathLike[str], *, environ: Mapping[str, str] | None = None) -> MixProject:
    """Read ``root/mix.exs`` without Elixir; refuse what is not plain data.

    ``MixProject.assumptions`` lists the guards (code that can only raise)
    the read assumed to pass.
    """
    mix_exs = joined(root, "mix.exs")  # as pathlib writes it (its import is start-up time: hexpack.paths)
    read = read_config(mix_exs, environ=environ)
    _refuse_unreadable_packaging_keys(read.config, str(mix_exs))
    project = project_from_config(root, read.config, reader="static", source=str(mix_exs))
    return project.replace(assumptions=read.assumptions)


def _refuse_unreadable_packaging_keys(config: Any, source: str) -> None:
    """Every value packaging reads must be whole: an Unreadable anywhere inside one is refused with its line."""
    if not is_keyword(config):
        return  # project_from_config refuses it, naming what project/0 returned
    problems: list[HexpackError] = []
    for key, value in config:
        unreadable = first_unreadable(value) if key in PACKAGING_KEYS else None
        if unreadable is not None:
            problems.append(
                ProjectError(f"{unreadable.what} (for {key}:)", subject=f"{source} line {unreadable.line}", hint=HINT)
            )
    raise_together(problems, summary=f"values in {source} need Elixir")
