"""What hexpack knows about a mix project, read from its ``mix.exs``, and the interface of its readers.

Two engines implement ``MixReader`` and produce a ``MixProject``:
``hexpack.mix.elixir`` evaluates ``mix.exs`` with the real Elixir (the truth)
and ``hexpack.mix.static`` reads the common literal shapes without Elixir and
refuses anything else. Both end in ``project_from_config``, so they agree on
every conversion. ``hexpack.mix.readers.read_project`` is the one entry that
picks an engine. The engines import this module; it imports neither.
"""

from __future__ import annotations

import os

from ..errors import HexpackError, ProjectError, raise_together
from ..paths import name_of
from ..records import Record
from .terms import Atom, Regex, bounds_problem, inspect, is_keyword, keyword_get

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any, Protocol


class Dep(Record):
    """One entry of ``deps``: ``{:name, requirement, opts}``."""

    __slots__ = ("name", "requirement", "opts")

    def __init__(self, name: str, requirement: str | None, opts: list[tuple[Atom, Any]] | None = None):
        self.name = name
        self.requirement = requirement
        self.opts = [] if opts is None else opts

    def opt(self, key: str, default: Any = None) -> Any:
        return keyword_get(self.opts, key, default)


class MixProject(Record):
    """The parts of ``Mix.Project.config()`` that packaging needs.

    ``package`` is the ``package:`` keyword list or map converted to a dict
    keyed by plain strings (``Map.new/1``, as Hex does: the last of a repeated
    key wins, keys that are not atoms are dropped) (``files``, ``exclude_patterns``, ``name``, ``licenses``,
    ``links``, ``build_tools``, ``extra``, ...); values keep their Elixir
    shapes (see ``hexpack.mix.terms``), with regexes as ``Regex``.
    ``config`` is the whole project keyword list, for anything else.
    """

    __slots__ = (
        "root",
        "app",
        "version",
        "elixir",
        "description",
        "deps",
        "package",
        "config",
        "reader",
        "assumptions",
    )

    def __init__(
        self,
        root: str,  # as pathlib writes it (hexpack.paths.name_of); pathlib itself is start-up time
        app: str,
        version: str,
        elixir: str | None,
        description: str | None,
        deps: list[Dep],
        package: dict[str, Any],
        config: list[tuple[Atom, Any]] | None = None,
        reader: str = "static",  # which reader produced this: "elixir" or "static"
        assumptions: tuple[
            str, ...
        ] = (),  # what the static reader assumed (a guard before the module that can only raise passes)
    ):
        self.root = root
        self.app = app
        self.version = version
        self.elixir = elixir
        self.description = description
        self.deps = deps
        self.package = package
        self.config = [] if config is None else config
        self.reader = reader
        self.assumptions = assumptions

    @property
    def files(self) -> list[str] | None:
        return self.package.get("files")

    @property
    def exclude_patterns(self) -> list[str | Regex]:
        return list(self.package.get("exclude_patterns") or [])

    @property
    def package_name(self) -> str:
        return self.package.get("name") or self.app


def map_key(key: Any) -> Any:
    """A map key usable in a Python dict: lists (unhashable) become tuples."""
    if isinstance(key, list):
        return tuple(map_key(k) for k in key)
    if isinstance(key, dict):
        return tuple((map_key(k), map_key(v)) for k, v in key.items())
    return key


def project_from_config(
    root: str | os.PathLike[str], config: Any, *, reader: str, source: str = "mix.exs"
) -> MixProject:
    """Build a MixProject from the keyword list ``project/0`` returned.

    Both readers end here, so they agree on every conversion. A missing
    ``app:`` or ``version:`` gives ``""`` (Hex treats an empty field as
    missing and refuses with its own message); a value of the wrong type is a
    ProjectError naming ``source``.
    """
    too_big = bounds_problem(config)
    if too_big is not None:  # before anything walks it: every later step may recurse or print it
        raise ProjectError(f"project/0 returns a value {too_big}", subject=source, hint="simplify mix.exs")
    if not is_keyword(config):
        raise ProjectError(f"project/0 must return a keyword list, got {_short(config)}", subject=source)
    problems: list[HexpackError] = []
    app = keyword_get(config, "app")
    if app is None:
        app = ""
    elif not isinstance(app, Atom):
        problems.append(ProjectError(f"app: must be an atom, got {_short(app)}", subject=source))
        app = ""
    version = _string_or_none(config, "version", source, problems) or ""
    elixir = _string_or_none(config, "elixir", source, problems)
    description = _string_or_none(config, "description", source, problems)
    deps = _deps(keyword_get(config, "deps"), source, problems)
    package_dict = package_map(keyword_get(config, "package"))
    if package_dict is None:
        package = keyword_get(config, "package")
        problems.append(
            ProjectError(f"package: must be a keyword list or a map, got {_short(package)}", subject=source)
        )
        package_dict = {}
    # every wrong type at once, so one edit of mix.exs fixes them all
    raise_together(problems, summary=f"problems in {source}")
    return MixProject(
        root=name_of(root),
        app=str.__str__(app),
        version=version,
        elixir=elixir,
        description=description,
        deps=deps,
        package=package_dict,
        config=config,
        reader=reader,
    )


def package_map(package: Any) -> dict[str, Any] | None:
    """Hex's ``Map.new(config[:package] || [])``, keyed by the atoms' names; None when Hex could not build it.

    A keyword list and a map give the same result (nimble_parsec's ``package/0``
    returns a map); in a list the last of a repeated key wins, as in
    ``Map.new/1``. Keys that are not atoms are kept out: Hex reads the package
    with atom keys only (``package[:files]``, ``Map.take(@meta_fields)``).
    """
    if package is None or package is False:
        return {}
    if isinstance(package, dict):
        pairs = list(package.items())
    elif isinstance(package, list) and all(isinstance(item, tuple) and len(item) == 2 for item in package):
        pairs = package
    else:
        return None
    return {str.__str__(key): value for key, value in pairs if isinstance(key, Atom)}


def _string_or_none(config: list[tuple[Atom, Any]], key: str, source: str, problems: list[HexpackError]) -> str | None:
    value = keyword_get(config, key)
    if value is None or (isinstance(value, str) and not isinstance(value, Atom)):
        return value
    problems.append(ProjectError(f"{key}: must be a string, got {_short(value)}", subject=source))
    return None


def _deps(value: Any, source: str, problems: list[HexpackError]) -> list[Dep]:
    if value is None:
        return []
    if not isinstance(value, list):
        problems.append(ProjectError(f"deps: must be a list, got {_short(value)}", subject=source))
        return []
    deps = []
    for entry in value:
        dep = _dep(entry)
        if dep is None:
            problems.append(
                ProjectError(
                    f"dependency specified in the wrong format: {_short(entry)}",
                    subject=source,
                    hint="use {:name, requirement}, {:name, opts} or {:name, requirement, opts}",
                )
            )
            continue
        deps.append(dep)
    return deps


def _dep(entry: Any) -> Dep | None:
    if not isinstance(entry, tuple) or len(entry) not in (2, 3) or not isinstance(entry[0], Atom):
        return None
    name = str.__str__(entry[0])
    if len(entry) == 2:
        if _is_string(entry[1]):
            return Dep(name, entry[1], [])
        if is_keyword(entry[1]):
            return Dep(name, None, entry[1])
        return None
    if (_is_string(entry[1]) or entry[1] is None) and is_keyword(entry[2]):
        return Dep(name, entry[1], entry[2])
    return None


def _is_string(value: Any) -> bool:
    return isinstance(value, str) and not isinstance(value, Atom)


def _short(value: Any) -> str:
    text = inspect(value)
    return text if len(text) <= 80 else text[:77] + "..."


if TYPE_CHECKING:  # an interface for the type checker: the engines share it by shape, not by a base class

    class MixReader(Protocol):
        """An engine that reads ``root/mix.exs``.

        ``name`` is what ``MixProject.reader`` records. ``read`` raises
        ProjectError (one line, naming mix.exs) for a project it cannot read, and
        CommandNotFound when the tool it needs is missing.
        """

        name: str

        def read(self, root: str | os.PathLike[str]) -> MixProject: ...
