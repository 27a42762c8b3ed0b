"""A Hex package's metadata, built and checked exactly as ``mix hex.build`` does.

This follows Hex 2.5.1's ``Mix.Tasks.Hex.Build`` step by step:

* ``prepare`` is ``prepare_package/0``: the root fields (``app``, ``version``,
  ``elixir``, ``description``) merged with the ``package:`` keyword list (or map), the
  files selected (:mod:`hexpack.hex.selection`), the description trimmed, the
  name defaulted to the app, ``build_tools`` guessed from top-level files,
  everything outside Hex's metadata fields dropped, and ``requirements`` from
  the ``deps`` that are for ``:prod`` and come from Hex. The checks Hex makes
  there (dependency options, ``:organisation``, umbrella projects) raise at
  once, as ``Mix.raise`` does.
* ``report_lines`` is what ``print_info/4`` prints, line for line.
* ``check`` is the list of refusals Hex collects before it stops ("Missing
  files: ...", "Dependencies excluded from the package ...", ...), worded as
  Hex words them.
* ``metadata_pairs`` is the term list Hex writes to ``metadata.config``
  (hex_core's ``binarify``: atoms become binaries, maps become sorted lists of
  2-tuples, the pairs sorted by key).

Values keep their Elixir shapes (:mod:`hexpack.mix.terms`) until
``metadata_pairs``; keys of ``PackageMeta.meta`` are plain strings.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Sequence

from ..errors import PackageError, ProjectError
from ..mix.project import MixProject, package_map
from ..mix.terms import Atom, Regex, inspect, to_string
from ..records import Record
from . import rules as hex_rules
from . import selection

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "BUILD_TOOLS",
    "ERROR_FIELDS",
    "META_FIELDS",
    "PackageMeta",
    "Requirement",
    "binarify",
    "check",
    "guess_build_tools",
    "metadata_pairs",
    "prepare",
    "report_lines",
    "to_string",
]

ERROR_FIELDS = ("app", "name", "files", "version", "build_tools")
WARN_FIELDS = ("description", "licenses", "links")
META_FIELDS = ERROR_FIELDS + WARN_FIELDS + ("elixir", "extra")
ROOT_FIELDS = ("app", "version", "elixir", "description")
DEFAULT_REPO = "hexpm"
METADATA_CONFIG = "hex_metadata.config"
SCM_KEYS = ("git", "github", "path", "in_umbrella")  # @scm_keys

#: Top-level file -> build tool, in Hex's order (``@build_tools``).
BUILD_TOOLS: tuple[tuple[str, str], ...] = (
    ("mix.exs", "mix"),
    ("rebar", "rebar3"),
    ("rebar.lock", "rebar3"),
    ("rebar.config", "rebar3"),
    ("rebar.config.script", "rebar3"),
    ("erlang.mk", "make"),
    ("Makefile", "make"),
    ("Makefile.win", "make"),
)


class Requirement(Record):
    """One entry of ``requirements``, as Hex's ``dependencies/0`` builds it."""

    __slots__ = ("name", "app", "requirement", "optional", "repository")

    def __init__(self, name: str, app: str, requirement: str | None, optional: Any, repository: str):
        self.name = name
        self.app = app
        self.requirement = requirement
        self.optional = optional
        self.repository = repository

    def as_map(self) -> dict[Atom, Any]:
        return {
            Atom("name"): self.name,
            Atom("app"): Atom(self.app),
            Atom("requirement"): self.requirement,
            Atom("optional"): self.optional,
            Atom("repository"): self.repository,
        }


class PackageMeta(Record):
    """Hex's ``meta`` map and the other things ``print_info`` needs."""

    __slots__ = ("meta", "requirements", "exclude_deps", "organization", "package_files", "warnings")

    def __init__(
        self,
        meta: dict[str, Any],
        requirements: list[Requirement],
        exclude_deps: list[str],
        organization: Any = None,
        package_files: list[Any] | None = None,
        warnings: list[str] | None = None,
    ):
        self.meta = meta
        self.requirements = requirements
        self.exclude_deps = exclude_deps
        self.organization = organization
        self.package_files = package_files
        self.warnings = [] if warnings is None else warnings

    @property
    def files(self) -> list[str]:
        return list(self.meta.get("files") or [])

    @property
    def name(self) -> str:
        return to_string(self.meta.get("name"))

    @property
    def version(self) -> str:
        return to_string(self.meta.get("version"))


# ---------------------------------------------------------------------------
# prepare_package/0
# ---------------------------------------------------------------------------


def _config(project: MixProject) -> list[tuple[Atom, Any]]:
    if project.config:
        return list(project.config)
    config: list[tuple[Atom, Any]] = [(Atom("app"), Atom(project.app))]
    for key in ("version", "elixir", "description"):
        value = getattr(project, key)
        if value is not None:
            config.append((Atom(key), value))
    config.append((Atom("package"), [(Atom(k), v) for k, v in project.package.items()]))
    return config


def _package_map(project: MixProject, config: list[tuple[Atom, Any]]) -> dict[str, Any]:
    """``Map.new(config[:package] || [])``: a keyword list or a map, the last value of a repeated key wins."""
    package: Any = None
    for key, value in config:
        if key == "package":
            package = value
            break
    if package is None:
        return dict(project.package) if not project.config else {}
    mapped = package_map(package)
    if mapped is None:
        raise ProjectError(f"package: must be a keyword list or a map, got {inspect(package)}", subject="mix.exs")
    return mapped


def prepare(
    project: MixProject,
    *,
    root: str | os.PathLike[str] | None = None,
    listdir: Callable[[str], Iterable[str]] = os.listdir,
) -> PackageMeta:
    """Hex's ``prepare_package/0`` for ``project``; selects the files under ``root``."""
    root = project.root if root is None else root
    config = _config(project)
    config_keys = [str.__str__(key) for key, _ in config]
    warnings: list[str] = []

    if _keyword(config, "apps_path") is not None:
        raise PackageError("Hex does not support umbrella projects", subject="mix.exs")
    package_only = [f for f in ("organisation", "organization") + META_FIELDS if f not in ROOT_FIELDS + ("name",)]
    misplaced = next((key for key in config_keys if key in package_only), None)
    if misplaced is not None:
        warnings.append(
            f"Mix project configuration {inspect(Atom(misplaced))} belongs under the :package key, did you misplace it?"
        )

    package = _package_map(project, config)
    if _truthy(package.get("organisation")):
        raise PackageError("Invalid Hex package config :organisation, use spelling :organization", subject="mix.exs")
    organization = package.pop("organization", None)
    requirements, exclude_deps = _dependencies(project)

    meta: dict[str, Any] = {}
    for key, value in config:
        if str.__str__(key) in ROOT_FIELDS:
            meta[str.__str__(key)] = value
    meta.update(package)
    meta = _package(meta, _keyword(config, "app"), root, listdir)
    meta["requirements"] = requirements
    files_value = package.get("files")
    return PackageMeta(
        meta=meta,
        requirements=requirements,
        exclude_deps=exclude_deps,
        organization=organization,
        package_files=list(files_value) if isinstance(files_value, list) else None,
        warnings=warnings,
    )


def _package(package: dict[str, Any], app: Any, root: Any, listdir: Callable[[str], Iterable[str]]) -> dict[str, Any]:
    """Hex's ``package/2``."""
    files = package.get("files")
    if files is not None and not isinstance(files, list):
        raise ProjectError(f"package files: must be a list, got {inspect(files)}", subject="mix.exs")
    excludes = package.get("exclude_patterns") or []
    if not isinstance(excludes, list):
        raise ProjectError(f"package exclude_patterns: must be a list, got {inspect(excludes)}", subject="mix.exs")
    selected = selection.select_files(root, files if _truthy(files) else None, excludes, listdir=listdir)
    out = dict(package)
    out["files"] = selected
    if _truthy(package.get("description")):
        description = package["description"]
        if not isinstance(description, str) or isinstance(description, Atom):
            raise ProjectError(f"description: must be a string, got {inspect(description)}", subject="mix.exs")
        out["description"] = hex_rules.trim(description)
    name = package.get("name") if _truthy(package.get("name")) else app
    if _truthy(name):
        out["name"] = to_string(name)
    if not _truthy(package.get("build_tools")):
        out["build_tools"] = guess_build_tools(selected)
    return {key: value for key, value in out.items() if key in META_FIELDS}


def guess_build_tools(files: Sequence[str]) -> list[str]:
    """Hex's ``guess_build_tools/1``: tools for the top-level files, else ``["mix"]``."""
    base_files = {path for path in files if "/" not in path}
    tools = [tool for file, tool in BUILD_TOOLS if file in base_files] or ["mix"]
    return list(dict.fromkeys(tools))


def _dependencies(project: MixProject) -> tuple[list[Requirement], list[str]]:
    """Hex's ``dependencies/0``: Hex deps for ``:prod`` and the excluded rest."""
    include = []
    exclude = []
    for dep in project.deps:
        opts = dep.opts
        only = _keyword(opts, "only")
        if _truthy(only) and "prod" not in (only if isinstance(only, list) else [only]):
            continue
        keys = [str.__str__(key) for key, _ in opts]
        if "hex" in keys or not any(key in keys for key in SCM_KEYS):
            include.append(dep)
        else:
            exclude.append(dep.name)
    for dep in include:
        keys = [str.__str__(key) for key, _ in dep.opts]
        app = dep.name
        if "override" in keys:
            raise PackageError(f"Can't build package with overridden dependency {app}, remove `override: true`")
        if "compile" in keys:
            raise PackageError(f"Can't build package when :compile is set for dependency {app}, remove `compile: ...`")
        if "manager" in keys:
            raise PackageError(f"Can't build package when :manager is set for dependency {app}, remove `manager: ...`")
        if "app" in keys:
            raise PackageError(f"Can't build package when :app is set for dependency {app}, remove `app: ...`")
        if _keyword(dep.opts, "system_env", []) not in ([], None):
            raise PackageError(
                f"Can't build package when :system_env is set for dependency {app}, remove `system_env: ...`"
            )
    requirements = []
    for dep in include:
        hex_name = _keyword(dep.opts, "hex")
        repo = _keyword(dep.opts, "repo")
        if not _truthy(repo):
            repo = _keyword(dep.opts, "organization")
        repo_text = to_string(repo) if _truthy(repo) else DEFAULT_REPO
        optional = _keyword(dep.opts, "optional")
        requirements.append(
            Requirement(
                name=to_string(hex_name) if _truthy(hex_name) else dep.name,
                app=dep.name,
                requirement=dep.requirement,
                optional=optional if _truthy(optional) else False,
                repository=repo_text.split(":", 1)[1] if ":" in repo_text else repo_text,
            )
        )
    return requirements, exclude


# ---------------------------------------------------------------------------
# print_info/4
# ---------------------------------------------------------------------------


def report_lines(pm: PackageMeta) -> list[str]:
    """Everything ``mix hex.build`` prints from "Building ..." up to its checks."""
    text: list[str] = [f"Building {pm.name} {pm.version}"]
    if pm.requirements:
        text.append("  Dependencies:")
        for req in pm.requirements:
            # name is a string and app an atom in Hex, so they always differ
            app = f" (app: {req.app})"
            opt = " (optional)" if _truthy(req.optional) else ""
            repo = f" (repo: {req.repository})" if req.repository != DEFAULT_REPO else ""
            text.append(f"    {req.name} {to_string(req.requirement)}{app}{repo}{opt}")
    if _truthy(pm.organization):
        text.append(f"  Organization: {to_string(pm.organization)}")
    for key in META_FIELDS:
        if key == "files":
            files = pm.meta.get("files")
            if not files:
                text.append("No files")
            else:
                text.append("  Files:")
                text.extend(f"    {path}" for path in files)
            continue
        value = pm.meta.get(key)
        if _truthy(value):
            label = key.replace("_", " ").capitalize()
            text.append(f"  {label}: {_format_value(value)}")
    return [line for chunk in text for line in chunk.split("\n")]


def _format_value(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(to_string(item) for item in value)
    if isinstance(value, dict):
        entries = [f"{to_string(k)}: {_format_value(v)}" for k, v in _sorted_items(value)]
        return "\n    " + "\n    ".join(entries)
    return to_string(value)


# ---------------------------------------------------------------------------
# The checks print_info/4 collects before it stops
# ---------------------------------------------------------------------------


def check(
    pm: PackageMeta,
    root: str | os.PathLike[str],
    *,
    listdir: Callable[[str], Iterable[str]] = os.listdir,
) -> tuple[list[PackageError], list[str]]:
    """Hex's refusals (errors) and warnings for ``pm``, worded as Hex words them.

    An error's ``what`` is Hex's line; where Hex gives no fix, hexpack adds one as its ``hint``.
    """
    errors: list[PackageError] = []
    warnings: list[str] = []
    if pm.organization in (None, "hexpm"):
        errors += map(PackageError, _missing_fields(pm.meta, ERROR_FIELDS + WARN_FIELDS))
    else:
        warnings += _missing_fields(pm.meta, WARN_FIELDS)
        errors += map(PackageError, _missing_fields(pm.meta, ERROR_FIELDS))
    description = pm.meta.get("description")
    if isinstance(description, str) and hex_rules.description_too_long(description):
        errors.append(PackageError(hex_rules.DESCRIPTION_TOO_LONG))
    patterns = [p for p in (pm.package_files or []) if isinstance(p, str)]
    matched = {pattern: selection.wildcard(root, pattern, listdir=listdir) for pattern in patterns}
    missing = [pattern for pattern in patterns if not matched[pattern]]
    if missing:
        errors.append(
            PackageError(
                f"Missing files: {', '.join(missing)}",
                hint="create them, or take them out of `package: [files: ...]` in mix.exs",
            )
        )
    if any(METADATA_CONFIG in found for found in matched.values()):
        errors.append(PackageError(f"Do not include this file: {METADATA_CONFIG}"))
    if pm.exclude_deps:
        errors.append(
            PackageError(
                "Dependencies excluded from the package (only Hex packages can be dependencies): "
                + ", ".join(pm.exclude_deps)
            )
        )
    licenses = pm.meta.get("licenses")
    if not errors and pm.organization in (None, "hexpm"):
        if not isinstance(licenses, list):
            # Hex's licenses_valid_or_warn/1 crashes on it (Enum.reject/2 of a non-list)
            errors.append(PackageError(f"licenses: must be a list of SPDX identifiers, got {inspect(licenses)}"))
        else:
            warnings += hex_rules.license_warnings(licenses)
    return errors, warnings


def _missing_fields(meta: dict[str, Any], fields: Sequence[str]) -> list[str]:
    missing = [name for name in fields if name not in meta]
    return [f"Missing metadata fields: {', '.join(missing)}"] if missing else []


# ---------------------------------------------------------------------------
# metadata.config terms
# ---------------------------------------------------------------------------


def metadata_pairs(meta: dict[str, Any]) -> list[tuple[str, Any]]:
    """The ``{Key, Value}`` terms of ``metadata.config`` in Hex's order.

    ``meta`` is ``PackageMeta.meta``; requirements are Requirement objects.
    """
    term: dict[Atom, Any] = {}
    for key, value in meta.items():
        if key == "requirements":
            value = [req.as_map() if isinstance(req, Requirement) else req for req in value]
        term[Atom(key)] = value
    return binarify(term)


def binarify(value: Any) -> Any:
    """hex_core's ``binarify/1``: atoms -> binaries (not true/false/nil), maps -> sorted pair lists."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, Atom):
        return str.__str__(value)
    if isinstance(value, (str, int, float, bytes)):
        return value
    if isinstance(value, list):
        return [binarify(item) for item in value]
    if isinstance(value, tuple):
        if len(value) != 2:
            raise ProjectError(
                f"package metadata cannot hold the tuple {inspect(value)}",
                subject="mix.exs",
                hint="use strings, lists and maps",
            )
        return (binarify(value[0]), binarify(value[1]))
    if isinstance(value, dict):
        return [(binarify(k), binarify(v)) for k, v in _sorted_items(value)]
    if isinstance(value, Regex):
        raise ProjectError(f"package metadata cannot hold the regex {value}", subject="mix.exs")
    raise ProjectError(f"package metadata cannot hold {value!r}", subject="mix.exs")


def _sorted_items(mapping: dict[Any, Any]) -> list[tuple[Any, Any]]:
    """A small Erlang map's iteration order: keys in term order."""
    return sorted(mapping.items(), key=lambda item: _term_order(item[0]))


def _term_order(value: Any) -> tuple:
    """Sort key following Erlang's term order (number < atom < tuple < map < list < binary)."""
    if isinstance(value, bool):
        return (1, "true" if value else "false")
    if value is None:
        return (1, "nil")
    if isinstance(value, (int, float)):
        return (0, value)
    if isinstance(value, Atom):
        return (1, str.__str__(value))
    if isinstance(value, tuple):
        return (6, len(value), tuple(_term_order(v) for v in value))
    if isinstance(value, dict):
        return (7, len(value), tuple(_term_order(k) for k in sorted(value, key=_term_order)))
    if isinstance(value, list):
        return (8, tuple(_term_order(v) for v in value))
    if isinstance(value, str):
        return (10, value.encode("utf-8"))
    if isinstance(value, bytes):
        return (10, value)
    return (11, repr(value))


# ---------------------------------------------------------------------------


def _keyword(keyword: Any, key: str, default: Any = None) -> Any:
    if not isinstance(keyword, list):
        return default
    for item in keyword:
        if isinstance(item, tuple) and len(item) == 2 and item[0] == key and isinstance(item[0], Atom):
            return item[1]
    return default


def _truthy(value: Any) -> bool:
    """Elixir truthiness: everything but ``nil`` and ``false``."""
    return value is not None and value is not False
