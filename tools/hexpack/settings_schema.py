"""Settings tables declared as data, and the one validator that reads them.

Each settings table (``[tool.hexpack.stubs]``, ``[verify.smoke]`` in
``hexpack.toml``, ...) is declared once, next to the code that uses it, as a
:class:`Table` of :class:`Field` s: name, kind (the type), default and the
TOML form a hint shows. :func:`check` turns the raw TOML mapping into typed
values and the list of every problem; :func:`validate` raises them together.
Every loader words its problems the same way::

    <file> [tool.hexpack.stubs]: unknown setting(s) shape (did you mean include?); known settings: ...
    <file> [tool.hexpack.stubs]: out must be a path, got 4; write e.g. out = "priv_python"
    <file> [tool.hexpack.stubs]: out = '../x' leaves the project; use a path relative to the project root, ...

:class:`ProjectPath` is the one rule for "a path inside the project":
relative to the project root, no absolute path, no ``..`` above the root, no
symbolic link leading out of it.
"""

from __future__ import annotations

import difflib
import json
import os
import posixpath
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import HexpackError, ProjectError, raise_together

__all__ = [
    "Choice",
    "Field",
    "Flag",
    "Number",
    "Owned",
    "ProjectPath",
    "ProjectPathMap",
    "ProjectPaths",
    "Rule",
    "Sub",
    "Table",
    "Text",
    "TextMap",
    "TextOrFalse",
    "Texts",
    "check",
    "toml_form",
    "unknown",
    "validate",
]

_GLOB_CHARS = "*?["
_LEAVES_HINT = "use a path relative to the project root, without '..' or a link out of it"


class _Wrong(Exception):
    """A value that is not of its field's kind."""


class _Leaves(Exception):
    """A path that leaves the project; ``what`` names the setting and the path."""

    def __init__(self, what: str):
        super().__init__(what)
        self.what = what


@dataclass(frozen=True)
class _Context:
    root: Path | None  # None: paths are checked as text only (no project to resolve links in)
    subject: str
    problems: list[HexpackError]


# ----------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class Text:
    """A string; ``pattern`` (whole match) narrows it; an empty string only when ``empty`` allows it."""

    noun: str = "a string"
    empty: bool = False
    pattern: str | None = None

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if not isinstance(value, str) or not (self.empty or value.strip()):
            raise _Wrong
        if self.pattern is not None and not re.fullmatch(self.pattern, value):
            raise _Wrong
        return value


@dataclass(frozen=True)
class TextOrFalse:
    """A non-empty string, or ``false`` (read as ``""``) to say there is none."""

    noun: str = "a string, or false for none"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if value is False:
            return ""
        if not isinstance(value, str) or not value.strip():
            raise _Wrong
        return value


@dataclass(frozen=True)
class Flag:
    noun: str = "true or false"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if not isinstance(value, bool):
            raise _Wrong
        return value


@dataclass(frozen=True)
class Number:
    """A positive number (TOML integer or float), read as a float."""

    noun: str = "a positive number"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise _Wrong
        return float(value)


@dataclass(frozen=True)
class Choice:
    choices: tuple[str, ...]

    @property
    def noun(self) -> str:
        return f"one of {', '.join(self.choices)}"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if value not in self.choices:
            raise _Wrong
        return value


@dataclass(frozen=True)
class Texts:
    """A list of strings, read as a tuple; ``choices`` limits the items, ``nonempty`` refuses ``[]`` and ``""``."""

    noun: str = "a list of strings"
    nonempty: bool = False
    choices: tuple[str, ...] | None = None
    one_or_many: bool = False  # one string is read as a list of one
    item_pattern: str | None = None  # each item must match it whole

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if self.one_or_many and isinstance(value, str):
            value = [value]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value) or (self.nonempty and not value):
            raise _Wrong
        if self.nonempty and not all(v.strip() for v in value):
            raise _Wrong
        if self.choices is not None and any(v not in self.choices for v in value):
            raise _Wrong
        if self.item_pattern is not None and not all(re.fullmatch(self.item_pattern, v) for v in value):
            raise _Wrong
        return tuple(value)


@dataclass(frozen=True)
class TextMap:
    """A table of strings (``{ NAME = "value" }``), read as a dict."""

    noun: str = "a table of strings"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
            raise _Wrong
        return dict(value)


@dataclass(frozen=True)
class ProjectPath:
    """A path inside the project, read as its normalised relative text (``"priv/python"``).

    Refused, with one message: an absolute path, a path whose ``..`` climb
    above the project root, and a path that leads out of the project through
    a symbolic link. With ``glob``, the text may hold ``*``, ``?`` and ``[``;
    the part before the first such character is what must stay inside.
    """

    glob: bool = False
    noun: str = "a path"
    empty: bool = False  # "" is allowed, read as "" (none)

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if self.empty and value == "":
            return ""
        if not isinstance(value, str) or not value.strip():
            raise _Wrong
        return _inside(ctx.root, value, name=name, glob=self.glob)


@dataclass(frozen=True)
class ProjectPaths:
    """A list of paths inside the project (one string is read as a list of one), read as a tuple of texts."""

    glob: bool = False
    noun: str = "a list of paths"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        items = [value] if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(v, str) and v.strip() for v in items):
            raise _Wrong
        out: list[str] = []
        for item in items:
            try:
                out.append(_inside(ctx.root, item, name=name, glob=self.glob))
            except _Leaves as exc:  # every item that leaves is named, not only the first
                ctx.problems.append(ProjectError(exc.what, subject=ctx.subject, hint=_LEAVES_HINT))
        return tuple(out)


@dataclass(frozen=True)
class ProjectPathMap:
    """A table of paths inside the project (``"source" = "target"``), read as a dict of texts; an entry
    whose path leaves the project is named and left out."""

    noun: str = "a table of paths (source = target)"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if not isinstance(value, dict) or not all(
            isinstance(v, str) and v.strip() and k.strip() for k, v in value.items()
        ):
            raise _Wrong
        out: dict[str, str] = {}
        for key, item in value.items():
            try:
                out[_inside(ctx.root, key, name=name)] = _inside(ctx.root, item, name=name)
            except _Leaves as exc:
                ctx.problems.append(ProjectError(exc.what, subject=ctx.subject, hint=_LEAVES_HINT))
        return out


@dataclass(frozen=True)
class Owned:
    """Any value: a key whose owner checks it where it is read (``[tool.hexpack] python``, a feature's table)."""

    noun: str = "a value"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        return value


@dataclass(frozen=True)
class Sub:
    """A nested table (``[tool.hexpack.verify.smoke]``), validated as its own table and named by its own header."""

    table: Table

    @property
    def noun(self) -> str:
        return "a table"

    def convert(self, value: Any, ctx: _Context, name: str) -> Any:
        if not isinstance(value, dict):
            raise _Wrong
        subject = _nested(ctx.subject, name)
        values, problems = check(self.table, value, root=ctx.root, subject=subject)
        ctx.problems.extend(problems)
        return values


Kind = (
    Text
    | TextOrFalse
    | Flag
    | Number
    | Choice
    | Texts
    | TextMap
    | ProjectPath
    | ProjectPaths
    | ProjectPathMap
    | Owned
    | Sub
)


# ----------------------------------------------------------------------------- tables


@dataclass(frozen=True)
class Field:
    """One setting. ``default`` is what an absent key reads as; ``form`` the TOML a hint shows (default:
    the default's own form); ``rule`` a further check on a well-typed value, returning the problem
    (said after the setting's name) or None."""

    name: str
    kind: Kind
    default: Any = None
    form: str | None = None
    rule: Callable[[Any], str | None] | None = None
    required: bool = False

    def example(self) -> str | None:
        if self.form is not None:
            return self.form
        if isinstance(self.kind, (Sub, Owned)):  # a table is written as its own [header], not inline
            return None
        if self.default is None or self.default in ("", (), [], {}):
            return None
        return toml_form(self.default)


@dataclass(frozen=True)
class Rule:
    """A check across fields: ``check`` gets the typed values and returns its problems, each a phrase or a
    (phrase, hint) pair. It runs only when every field it ``reads`` was read without a problem."""

    reads: tuple[str, ...]
    check: Callable[[dict[str, Any]], list[str | tuple[str, str]]]


@dataclass(frozen=True)
class Table:
    """A settings table: ``name`` is its place under ``[tool.hexpack]`` (``"verify.smoke"``), ``purpose``
    the comment ``hexpack init`` writes above it, ``rules`` the checks across its fields."""

    name: str
    fields: tuple[Field, ...]
    purpose: str = ""
    rules: tuple[Rule, ...] = ()

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def defaults(self) -> dict[str, Any]:
        return {f.name: f.default for f in self.fields}


def check(
    table: Table,
    raw: Mapping[str, Any],
    *,
    root: str | os.PathLike[str] | None,
    subject: str,
    fields: tuple[str, ...] | None = None,
) -> tuple[dict[str, Any], list[HexpackError]]:
    """The typed values of ``raw`` (each bad or absent one read as its default) and every problem found.

    Keys are checked in the order the table declares them, unknown keys first. With ``fields``, only
    those are read (a key of a table whose other keys have other readers): no unknown keys, no rule
    reading another field.
    """
    ctx = _Context(Path(root) if root is not None else None, subject, [])
    if fields is None:
        ctx.problems.extend(unknown(table, raw, subject))
    values: dict[str, Any] = {}
    failed: set[str] = set()
    for f in table.fields:
        if fields is not None and f.name not in fields:
            continue
        if f.name not in raw:
            values[f.name] = f.default
            if f.required:
                failed.add(f.name)
                example = f.example()
                hint = f"add {f.name} = {example}" if example else None
                ctx.problems.append(ProjectError(f"{f.name} must be {f.kind.noun}", subject=subject, hint=hint))
            continue
        value = raw[f.name]
        try:
            values[f.name] = f.kind.convert(value, ctx, f.name)
        except _Leaves as exc:
            values[f.name] = f.default
            failed.add(f.name)
            ctx.problems.append(ProjectError(exc.what, subject=subject, hint=_LEAVES_HINT))
            continue
        except _Wrong:
            values[f.name] = f.default
            failed.add(f.name)
            example = f.example()
            hint = f"write e.g. {f.name} = {example}" if example else None
            ctx.problems.append(
                ProjectError(f"{f.name} must be {f.kind.noun}, got {value!r}", subject=subject, hint=hint)
            )
            continue
        if f.rule is not None:
            said = f.rule(values[f.name])
            if said:
                failed.add(f.name)
                ctx.problems.append(ProjectError(f"{f.name} {said}", subject=subject))
    for rule in table.rules:
        if fields is not None and not set(rule.reads) <= set(fields):
            continue
        if failed.isdisjoint(rule.reads):  # a field read as its default after a problem would mislead the rule
            for said in rule.check(values):
                what, hint = (said, None) if isinstance(said, str) else said
                ctx.problems.append(ProjectError(what, subject=subject, hint=hint))
    return values, ctx.problems


def validate(
    table: Table,
    raw: Mapping[str, Any],
    *,
    root: str | os.PathLike[str] | None,
    subject: str,
    fields: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The typed values of ``raw``, or one error naming every problem (``Problems`` when there are several)."""
    values, problems = check(table, raw, root=root, subject=subject, fields=fields)
    raise_together(problems, summary=f"problems in {subject}")
    return values


def _inside(root: Path | None, text: str, *, name: str, glob: bool = False) -> str:
    """``text`` as a normalised relative path, or ``_Leaves`` saying it leaves the project."""
    literal = text
    if glob:
        parts = re.split(r"[/\\]", text)
        cut = next((i for i, part in enumerate(parts) if any(c in part for c in _GLOB_CHARS)), len(parts))
        literal = "/".join(parts[:cut])
    normal = posixpath.normpath(text.replace("\\", "/"))
    leaves = (
        text.startswith(("/", "\\"))
        or re.match(r"[A-Za-z]:", text) is not None
        or normal == ".."
        or normal.startswith("../")
    )
    if not leaves and root is not None:
        real_root = os.path.realpath(root)
        real = os.path.realpath(os.path.join(real_root, literal or "."))
        leaves = real != real_root and not real.startswith(real_root.rstrip(os.sep) + os.sep)
    if leaves:
        raise _Leaves(f"{name} = {text!r} leaves the project")
    return normal


def toml_form(value: Any) -> str:
    """``value`` written as TOML (the form a hint shows): ``"priv"``, ``true``, ``["a", "b"]``, ``{ A = "1" }``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_form(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {toml_form(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"no TOML form for {value!r}")


def _key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z0-9_-]+", name) else json.dumps(name)


def unknown(table: Table, raw: Mapping[str, Any], subject: str) -> list[HexpackError]:
    """The keys of ``raw`` that ``table`` does not declare, named in one problem, each with the known key it
    is probably a typo of (empty when there are none)."""
    shown = []
    for key in sorted(key for key in raw if key not in table.names):
        close = difflib.get_close_matches(key, table.names, n=1, cutoff=0.75)
        shown.append(f"{key} (did you mean {close[0]}?)" if close else key)
    if not shown:
        return []
    known = ", ".join(sorted(table.names))
    return [ProjectError(f"unknown setting(s) {', '.join(shown)}", subject=subject, hint=f"known settings: {known}")]


def _nested(subject: str, name: str) -> str:
    """The subject of a nested table: ``f [tool.hexpack.verify]`` -> ``f [tool.hexpack.verify.smoke]``."""
    if subject.endswith("]"):
        return f"{subject[:-1]}.{name}]"
    return f"{subject} [{name}]"
