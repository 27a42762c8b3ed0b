"""Where a project writes its version, and the audit for places nobody manages.

The *places* are configured in ``[tool.hexpack.version]`` (or the
``[version]`` table of ``hexpack.toml``)::

    [tool.hexpack.version]
    mix = "mix.exs"                      # canonical: the literal project/0's version: comes to
    pyproject = ["pyproject.toml"]       # project.version, PEP 440 form, edited with tomlkit
    python = ["priv_python/*/__init__.py"]   # __version__ = "...", PEP 440 form
    snippets = ["README.md", "guides/**/*.md"]  # {:app, "~> X.Y"} for this project's app only
    changelog = "CHANGELOG.md"
    allow = ["tests/fixtures/**"]        # extra audit allowlist globs
    snippet_precision = "auto"           # or "minor" ("~> 1.4") / "patch" ("~> 1.4.0")

Defaults (when a key is absent) are the values above except ``pyproject``
(``["pyproject.toml", "priv_python/pyproject.toml", "priv/python/pyproject.toml"]``),
``python`` (``["priv_python/*/__init__.py", "priv/python/*/__init__.py"]``)
and ``allow`` (empty). A default glob matching nothing, or a default
pyproject without ``project.version`` (or a default ``__init__.py`` without
``__version__``), is simply not a place; anything configured explicitly must
exist and hold the version (an explicit glob may match nothing, e.g. a
``priv/`` not assembled yet).

The version in ``mix.exs`` is located by the static reader
(``hexpack.mix.static.read_config``): the plain ``"..."`` literal that
``version:`` comes down to through ``@attr``s, variables and zero-arity
helpers, never a look-alike in a comment or a docstring. Only ``app:`` and
``version:`` must be readable without Elixir.

Snippet precision ("auto"): a snippet keeps the precision it was written with
(``"~> 1.4"`` stays two numbers, ``"~> 1.4.0"`` three). A pre-release is
always written in full (``"~> 1.4.0-rc.1"``): ``~> 1.4`` does not match a
pre-release in Elixir, so a shorter form would be wrong. Once a snippet holds
three numbers it keeps them.

The audit: every file ``git ls-files`` lists (or every file, outside git) is
searched for the current version in both forms (``1.4.0-rc.1``,
``1.4.0rc1``), matched whole (``1.4.0`` does not match ``11.4.0`` or
``1.4.0.1``). Occurrences on a managed place's line are expected; so are the
CHANGELOG (its history), lock files (``*.lock``, ``package-lock.json``: other
packages' versions), binary and non-UTF-8 files (skipped), another package's
dependency tuple ``{:other, "~> 1.4.0"}``, and the ``allow`` globs. Every
other occurrence is reported as unexpected.
"""

from __future__ import annotations

import fnmatch
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config as config_mod
from .. import git
from .. import settings_schema as schema
from ..errors import HexpackError, ProjectError, raise_together
from ..mix.static import StaticRead, Unreadable, read_config
from ..mix.terms import Atom, is_keyword, keyword_get
from .changelog import newest_release
from .versions import Version, parse

__all__ = [
    "Occurrence",
    "Place",
    "VersionConfig",
    "VersionReport",
    "find_places",
    "load_config",
    "read_versions",
    "render_place",
]

DEFAULT_PYPROJECT = ["pyproject.toml", "priv_python/pyproject.toml", "priv/python/pyproject.toml"]
DEFAULT_PYTHON = ["priv_python/*/__init__.py", "priv/python/*/__init__.py"]
DEFAULT_SNIPPETS = ["README.md", "guides/**/*.md"]
ALWAYS_ALLOWED = ["*.lock", "**/*.lock", "package-lock.json", "**/package-lock.json"]


@dataclass(frozen=True)
class VersionConfig:
    mix: str = "mix.exs"
    pyproject: tuple[str, ...] = tuple(DEFAULT_PYPROJECT)
    python: tuple[str, ...] = tuple(DEFAULT_PYTHON)
    snippets: tuple[str, ...] = tuple(DEFAULT_SNIPPETS)
    changelog: str = "CHANGELOG.md"
    allow: tuple[str, ...] = ()
    snippet_precision: str = "auto"
    explicit: frozenset[str] = frozenset()  # keys set in the config (must match something)


@dataclass(frozen=True)
class Place:
    """One managed place: ``file`` (relative to the root), 1-based ``line``."""

    file: str
    line: int
    kind: str  # "mix" | "pyproject" | "python" | "snippet"
    found: str  # the text as written, e.g. '@version "1.4.0"' or '~> 1.4'
    value: str  # the version part of it, e.g. '1.4.0' or '1.4'
    expected: str  # what it should hold for the canonical version
    start: int = field(default=0, compare=False)  # character span of ``value`` in the file
    end: int = field(default=0, compare=False)

    @property
    def agrees(self) -> bool:
        return self.value == self.expected

    def to_dict(self) -> dict:
        return {
            "file": self.file,
            "line": self.line,
            "kind": self.kind,
            "found": self.found,
            "expected": self.expected,
            "agrees": self.agrees,
        }


@dataclass(frozen=True)
class Occurrence:
    """An occurrence of the current version that no place manages."""

    file: str
    line: int
    text: str

    def to_dict(self) -> dict:
        return {"file": self.file, "line": self.line, "text": self.text}


@dataclass
class VersionReport:
    root: Path
    app: str
    version: Version
    places: list[Place]
    unexpected: list[Occurrence]
    config: VersionConfig
    # The CHANGELOG's newest release is not this version: a bump changed the places without
    # releasing the changelog (or the reverse), which the next bump would release under the wrong version.
    changelog_release: str | None = None
    # project/0's keyword list as the static reader read it (values it cannot evaluate are Unreadable)
    mix_config: Any = None

    @property
    def ok(self) -> bool:
        return all(p.agrees for p in self.places) and not self.unexpected and not self.changelog_disagrees

    @property
    def changelog_disagrees(self) -> bool:
        return self.changelog_release is not None and self.changelog_release != self.version.semver

    @property
    def consistent(self) -> bool:  # alias of ``ok`` for the release flow
        return self.ok

    @property
    def canonical(self) -> str:
        return self.version.semver

    def summary(self) -> str:
        """One line: what disagrees with the canonical version, or that all agree."""
        if self.ok:
            return f"{self.version.semver} in all {len(self.places)} places"
        parts = [f"{p.file}:{p.line} holds {p.value!r} (expected {p.expected!r})" for p in self.mismatches]
        parts += [f"{o.file}:{o.line} unexpected {self.version.semver}" for o in self.unexpected]
        if self.changelog_disagrees:
            parts.append(f"{self.config.changelog}'s newest release is {self.changelog_release}")
        return f"{len(parts)} place(s) disagree with {self.version.semver}: " + "; ".join(parts)

    @property
    def mismatches(self) -> list[Place]:
        return [p for p in self.places if not p.agrees]

    def to_dict(self) -> dict:
        return {
            "version": self.version.semver,
            "pep440": self.version.pep440,
            "app": self.app,
            "ok": self.ok,
            "places": [p.to_dict() for p in self.places],
            "unexpected": [o.to_dict() for o in self.unexpected],
            "changelog_release": self.changelog_release,
        }


# --------------------------------------------------------------------------- config


# bump rewrites these places: a path that leaves the project would edit someone else's files
_PLACES = schema.ProjectPaths(glob=True, noun="a list of paths/globs")
TABLE = schema.Table(
    "version",
    (
        schema.Field("mix", schema.ProjectPath(), default="mix.exs"),
        schema.Field("pyproject", _PLACES, default=tuple(DEFAULT_PYPROJECT)),
        schema.Field("python", _PLACES, default=tuple(DEFAULT_PYTHON)),
        schema.Field("snippets", _PLACES, default=tuple(DEFAULT_SNIPPETS)),
        schema.Field("changelog", schema.ProjectPath(), default="CHANGELOG.md"),
        schema.Field(
            "allow",
            schema.Texts(noun="a list of paths/globs", one_or_many=True),
            default=(),
            form='["tests/fixtures/**"]',
        ),
        schema.Field("snippet_precision", schema.Choice(("auto", "minor", "patch")), default="auto"),
    ),
    purpose="`hexpack version` / `hexpack bump`: mix.exs is canonical",
)


def load_config(root: Path) -> VersionConfig:
    cfg = config_mod.load(root)
    values = cfg.read(TABLE)
    return VersionConfig(**values, explicit=frozenset(cfg.section("version")))


# --------------------------------------------------------------------------- reading places

_PY_VERSION = re.compile(r"""^__version__[ \t]*(?::[ \t]*str[ \t]*)?=[ \t]*(?P<q>['"])(?P<v>[^'"\n]*)(?P=q)""", re.M)
_PYPROJECT_VERSION = re.compile(r"""^[ \t]*version[ \t]*=[ \t]*(?P<q>["'])(?P<v>[^"'\n]*)(?P=q)""", re.M)
_TABLE_HEADER = re.compile(r"^[ \t]*\[", re.M)
_DEP_TUPLE = re.compile(r'\{[ \t]*:(?P<app>[a-z_][a-zA-Z0-9_]*)[ \t]*,[ \t]*"(?P<req>[^"\n]*)"')


def _line_of(text: str, index: int) -> int:
    return text.count("\n", 0, index) + 1


def _line_text(text: str, index: int) -> str:
    start = text.rfind("\n", 0, index) + 1
    end = text.find("\n", index)
    return text[start : end if end != -1 else len(text)].strip()


def _read(root: Path, rel: str) -> str:
    path = root / rel
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        raise ProjectError("file not found", subject=rel) from None
    except UnicodeDecodeError:
        raise ProjectError("not UTF-8 text", subject=rel) from None


_PLAIN_DATA = 'hexpack finds the version without Elixir: write app: and version: "X.Y.Z" (or @version) as plain data'


def _read_mix(root: Path, rel: str) -> tuple[StaticRead, str, Place]:
    """The static reader's view of ``mix.exs``, its app and where its version is written.

    Only ``app:`` and ``version:`` must be readable: a ``deps:`` the reader
    cannot evaluate does not stop a bump.
    """
    path = root / rel
    if not path.is_file():
        raise ProjectError(
            "file not found",
            subject=str(path),
            hint="run at the root of a mix project, pass --root, or set [tool.hexpack.version] mix",
        )
    try:
        read = read_config(path, source=rel, loose_project=True)
    except ProjectError as exc:  # its hint is to install Elixir, which would not help here
        raise ProjectError(exc.what, subject=exc.subject, hint=_PLAIN_DATA) from None
    config = read.config if is_keyword(read.config) else []
    app = keyword_get(config, "app")
    version = keyword_get(config, "version")
    for key, value in (("app", app), ("version", version)):
        if isinstance(value, Unreadable):
            raise ProjectError(f"{value.what} (for {key}:)", subject=f"{rel} line {value.line}", hint=_PLAIN_DATA)
    if not isinstance(app, Atom):
        raise ProjectError("no `app: :name` in project/0", subject=rel)
    if version is None:
        raise ProjectError('no `version: "..."` in project/0', subject=rel, hint='add version: "X.Y.Z" or @version')
    written = read.written.get("version")
    if written is None:
        raise ProjectError(
            "version: is not written as one plain string literal, so hexpack cannot rewrite it",
            subject=rel,
            hint='write version: "X.Y.Z", or version: @version with @version "X.Y.Z"',
        )
    place = Place(rel, written.line, "mix", written.text, written.value, written.value, written.start, written.end)
    return read, str.__str__(app), place


def _glob(root: Path, patterns: tuple[str, ...]) -> list[str]:
    found: list[str] = []
    for pattern in patterns:
        if any(ch in pattern for ch in "*?["):
            matches = sorted(p.relative_to(root).as_posix() for p in root.glob(pattern) if p.is_file())
        else:
            matches = [pattern] if (root / pattern).is_file() else []
        found.extend(m for m in matches if m not in found)
    return found


def _missing(key: str, patterns: tuple[str, ...], cfg: VersionConfig, root: Path) -> list[HexpackError]:
    if key not in cfg.explicit:
        return []
    return [
        ProjectError("configured version place matches no file", subject=f"[tool.hexpack.version] {key} = {p!r}")
        for p in patterns
        if not any(ch in p for ch in "*?[") and not _glob(root, (p,))
    ]


def _pyproject_place(root: Path, rel: str, expected: str, explicit: bool) -> Place | None:
    text = _read(root, rel)
    data = config_mod.read_toml(root / rel)
    project = data.get("project")
    if not isinstance(project, dict) or "version" not in project:
        if explicit:
            raise ProjectError(
                "no project.version",
                subject=rel,
                hint="set it, or remove the file from [tool.hexpack.version] pyproject",
            )
        return None
    header = re.search(r"^[ \t]*\[project\][ \t]*(?:#.*)?$", text, re.M)
    if header is None:
        raise ProjectError("project.version is not in a plain [project] table; hexpack cannot locate it", subject=rel)
    next_header = _TABLE_HEADER.search(text, header.end())
    end = next_header.start() if next_header else len(text)
    match = _PYPROJECT_VERSION.search(text, header.end(), end)
    if not match:
        raise ProjectError('project.version is not a plain `version = "..."` line', subject=rel)
    value = match["v"]
    if value != project["version"]:
        raise ProjectError(
            f"project.version is {project['version']!r} but the `version =` line hexpack found holds {value!r}",
            subject=f"{rel}:{_line_of(text, match.start('v'))}",
            hint="write project.version as one plain line in the [project] table",
        )
    return Place(
        rel,
        _line_of(text, match.start("v")),
        "pyproject",
        match.group(0).strip(),
        value,
        expected,
        match.start("v"),
        match.end("v"),
    )


def _python_place(root: Path, rel: str, expected: str, explicit: bool) -> Place | None:
    text = _read(root, rel)
    match = _PY_VERSION.search(text)
    if not match:
        if explicit:
            raise ProjectError('no `__version__ = "..."` line', subject=rel)
        return None
    return Place(
        rel,
        _line_of(text, match.start("v")),
        "python",
        match.group(0).strip(),
        match["v"],
        expected,
        match.start("v"),
        match.end("v"),
    )


def snippet_value(version: Version, written: str, precision: str) -> str:
    """The requirement a snippet should hold for ``version`` (see module doc)."""
    if version.is_prerelease or precision == "patch":
        return version.semver
    if precision == "minor":
        return f"{version.major}.{version.minor}"
    # auto: keep the precision found
    parts = written.split("-")[0].split(".")
    return f"{version.major}.{version.minor}" if len(parts) == 2 else version.semver


def _snippet_places(root: Path, rel: str, app: str, version: Version, precision: str) -> list[Place]:
    text = _read(root, rel)
    places = []
    pattern = re.compile(r"\{[ \t]*:" + re.escape(app) + r'[ \t]*,[ \t]*"~>[ \t]*(?P<v>[^"\n]*)"')
    for match in pattern.finditer(text):
        value = match["v"]
        places.append(
            Place(
                rel,
                _line_of(text, match.start("v")),
                "snippet",
                f'"~> {value}"',
                value,
                snippet_value(version, value, precision),
                match.start("v"),
                match.end("v"),
            )
        )
    return places


def find_places(root: Path, cfg: VersionConfig | None = None) -> tuple[str, Version, list[Place]]:
    """The app, the canonical version and every managed place (first: mix.exs).

    Every problem found (a missing file, a place that cannot be read) is
    reported at once.
    """
    _, app, version, places = _find_places(Path(root), cfg or load_config(Path(root)))
    return app, version, places


def _find_places(root: Path, cfg: VersionConfig) -> tuple[StaticRead, str, Version, list[Place]]:
    mix, app, mix_place = _read_mix(root, cfg.mix)
    try:
        version = parse(mix_place.value, subject=f"{cfg.mix}:{mix_place.line}")
    except HexpackError as exc:  # the project's version, not the command line, is wrong
        raise ProjectError(exc.what, subject=exc.subject, hint=exc.hint) from None
    places = [mix_place]
    problems: list[HexpackError] = []
    for key, patterns in (("pyproject", cfg.pyproject), ("python", cfg.python), ("snippets", cfg.snippets)):
        problems += _missing(key, patterns, cfg, root)
        for rel in _glob(root, patterns):
            try:
                if key == "pyproject":
                    place = _pyproject_place(root, rel, version.pep440, key in cfg.explicit)
                    places += [place] if place else []
                elif key == "python":
                    place = _python_place(root, rel, version.pep440, key in cfg.explicit)
                    places += [place] if place else []
                else:
                    places += _snippet_places(root, rel, app, version, cfg.snippet_precision)
            except HexpackError as exc:
                problems.append(exc)
    raise_together(problems, summary="version places cannot be read")
    return mix, app, version, places


# --------------------------------------------------------------------------- audit


# Outside git, what no one versions: tool caches, build output, environments.
_UNTRACKED_DIRS = {
    ".git",
    ".nox",
    ".venv",
    ".hexpack",
    ".hypothesis",
    ".pytest_cache",
    ".ruff_cache",
    ".mypy_cache",
    "_build",
    "deps",
    "node_modules",
    "__pycache__",
}


def tracked_files(root: Path) -> list[str]:
    """Files git tracks under ``root`` (relative), or every file outside git but caches and builds."""
    if git.is_repository(root):
        return sorted(git.tracked_files(root))
    return sorted(
        p.relative_to(root).as_posix()
        for p in root.rglob("*")
        if p.is_file() and not _UNTRACKED_DIRS.intersection(p.relative_to(root).parts)
    )


def _allowed(rel: str, globs: list[str]) -> bool:
    return any(fnmatch.fnmatchcase(rel, g) or (g.endswith("/**") and rel.startswith(g[:-2])) for g in globs)


AUDIT_MAX_SIZE = 8 * 1024 * 1024  # a file this big is data, not a place a version is written by hand


def _audited_bytes(path: Path) -> bytes | None:
    """A tracked file's bytes for the audit, or None to skip it.

    Only a regular file (a tracked symlink may point at ``/dev/zero`` or a FIFO: checked on the
    open descriptor, opened without blocking), and only up to ``AUDIT_MAX_SIZE``. Deleted but
    still tracked, a submodule, unreadable: skipped.
    """
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode) or info.st_size > AUDIT_MAX_SIZE:
            return None
        try:
            data = handle.read(AUDIT_MAX_SIZE + 1)
        except OSError:
            return None
    return data if len(data) <= AUDIT_MAX_SIZE else None


def audit(root: Path, app: str, version: Version, places: list[Place], cfg: VersionConfig) -> list[Occurrence]:
    """Occurrences of the current version that no place manages (see module doc)."""
    forms = sorted({version.semver, version.pep440}, key=len, reverse=True)
    pattern = re.compile(
        r"(?<![0-9A-Za-z.])(?:" + "|".join(map(re.escape, forms)) + r")(?![0-9A-Za-z]|[.+-][0-9A-Za-z])"
    )
    managed = {(p.file, p.line) for p in places}
    # a place that is a symbolic link (README.md -> docs/README.md) manages the file it points to, too
    linked = {os.path.realpath(root / p.file): p.file for p in places}
    allow = [cfg.changelog, *ALWAYS_ALLOWED, *cfg.allow]
    found: list[Occurrence] = []
    for rel in tracked_files(root):
        if _allowed(rel, allow):
            continue
        path = root / rel
        data = _audited_bytes(path)
        if data is None:
            continue
        if b"\0" in data[:8192]:
            continue  # binary
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            continue
        if version.semver not in text and version.pep440 not in text:
            continue
        others = [(m.start(), m.end()) for m in _DEP_TUPLE.finditer(text) if m["app"] != app]
        for match in pattern.finditer(text):
            line = _line_of(text, match.start())
            place_file = linked.get(os.path.realpath(path), rel)
            if (place_file, line) in managed or any(s <= match.start() < e for s, e in others):
                continue
            found.append(Occurrence(rel, line, _line_text(text, match.start())[:200]))
    return found


def read_versions(root: str | Path, *, audit_files: bool = True) -> VersionReport:
    """The canonical version, every managed place and the unexpected occurrences."""
    root = Path(root).resolve()
    cfg = load_config(root)
    mix, app, version, places = _find_places(root, cfg)
    unexpected = audit(root, app, version, places, cfg) if audit_files else []
    changelog_release = _changelog_release(root / cfg.changelog)
    return VersionReport(root, app, version, places, unexpected, cfg, changelog_release, mix.config)


def _changelog_release(path: Path) -> str | None:
    """The CHANGELOG's newest released version (None: no changelog, or nothing released yet)."""
    try:
        return newest_release(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError):
        return None  # bump and release name a missing or unreadable changelog themselves


def render_place(place: Place, new: Version, precision: str) -> str:
    """The text the place's version span should hold for ``new``."""
    if place.kind == "mix":
        return new.semver
    if place.kind in ("pyproject", "python"):
        return new.pep440
    return snippet_value(new, place.value, precision)
