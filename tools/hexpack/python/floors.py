"""The runtime floors generated stubs demand, and whether requirements admit them.

A ``*_pb2.py`` made by protoc refuses to load on a protobuf runtime older than
the one named in its ``ValidateProtobufRuntimeVersion(...)`` call, and a
``*_pb2_grpc.py`` refuses a grpcio older than its ``GRPC_GENERATED_VERSION``.
``stub_floors`` reads those numbers; ``check_floors`` checks that every
requirements source (a ``requirements.txt`` or a ``pyproject.toml``) names
the package with a lower bound at or above the floor.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from ..config import read_toml
from ..errors import HexpackError, ProjectError
from ..fsutil import read_utf8

__all__ = [
    "Floor",
    "RequirementEntry",
    "Unreached",
    "check_floors",
    "read_requirements",
    "strictest",
    "stub_floors",
    "unreached_floors",
]

_PROTOBUF_CALL = re.compile(
    r"ValidateProtobufRuntimeVersion\(\s*[\w.]+\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*(\d+)\s*,\s*'([^']*)'",
)
_GRPC_CONSTANT = re.compile(r"^GRPC_GENERATED_VERSION\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_SKIP_DIRS = {"__pycache__", "node_modules", ".git", ".venv", "venv", ".nox", ".tox"}


@dataclass(frozen=True)
class Floor:
    """``file`` cannot load with ``package`` older than ``version``."""

    package: str
    version: Version
    file: Path


@dataclass(frozen=True)
class RequirementEntry:
    """One requirement as written in ``file`` (at ``line`` for requirements files)."""

    requirement: Requirement
    file: Path
    line: int | None = None

    def where(self, root: str | os.PathLike[str] | None = None) -> str:
        shown = _shown(self.file, root)
        return f"{shown}:{self.line}" if self.line is not None else shown


def stub_floors(directory: str | os.PathLike[str]) -> list[Floor]:
    """Every floor demanded by the stubs under ``directory`` (recursive), sorted by file.

    ``directory`` may also be a single stub file.
    """
    root = Path(directory)
    if root.is_file():
        files = [root]
    else:
        files = sorted(
            path for path in _walk(root) if path.name.endswith("_pb2.py") or path.name.endswith("_pb2_grpc.py")
        )
    floors: list[Floor] = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        if path.name.endswith("_pb2.py"):
            match = _PROTOBUF_CALL.search(text)
            if match:
                major, minor, patch, suffix = match.groups()
                floors.append(Floor("protobuf", _version(f"{major}.{minor}.{patch}{suffix}", path), path))
        else:
            match = _GRPC_CONSTANT.search(text)
            if match:
                floors.append(Floor("grpcio", _version(match.group(1), path), path))
    return floors


def strictest(floors: Iterable[Floor]) -> dict[str, Floor]:
    """The highest floor per package (the first file wins a tie)."""
    best: dict[str, Floor] = {}
    for floor in floors:
        key = canonicalize_name(floor.package)
        if key not in best or floor.version > best[key].version:
            best[key] = floor
    return best


def read_requirements(source: str | os.PathLike[str]) -> list[RequirementEntry]:
    """The requirements a ``requirements*.txt`` or a ``pyproject.toml`` declares.

    For a pyproject that is ``[project] dependencies`` (extras are optional by
    definition, so they cannot carry a floor the stubs always need). In a
    requirements file, ``-r`` includes are followed, options and comments are
    skipped. An unparsable line is an error naming it.
    """
    path = Path(source)
    if path.name == "pyproject.toml":
        return _pyproject_requirements(path)
    return _requirements_file(path, seen=set())


def check_floors(
    floors: Iterable[Floor],
    requirement_sources: Sequence[str | os.PathLike[str]],
    *,
    root: str | os.PathLike[str] | None = None,
) -> list[HexpackError]:
    """One error per source and package that admits a version below the floor.

    A source that does not name the package at all is an error too, and so is
    one whose upper bound excludes the floor itself. Paths in messages are
    shown relative to ``root`` when given.
    """
    best = strictest(floors)
    if not best:
        return []
    problems: list[HexpackError] = []
    for source in requirement_sources:
        path = Path(source)
        shown = _shown(path, root)
        try:
            entries = read_requirements(path)
        except HexpackError as exc:
            problems.append(exc)
            continue
        for key, floor in sorted(best.items()):
            demanded_by = _shown(floor.file, root) if root is not None else floor.file.name
            wanted = f"{floor.package}>={floor.version}"
            matching = [e for e in entries if canonicalize_name(e.requirement.name) == key]
            if not matching:
                problems.append(
                    HexpackError(
                        f"no {floor.package} requirement, but {demanded_by} requires {floor.package} {floor.version}",
                        subject=shown,
                        hint=f"add {wanted}",
                    )
                )
                continue
            for entry in matching:
                problem = _judge(entry, floor, demanded_by)
                if problem:
                    problems.append(
                        HexpackError(problem, subject=entry.where(root), hint=f"raise the floor to {wanted}")
                    )
    return problems


@dataclass(frozen=True)
class Unreached:
    """``entry`` admits ``floor``, but installing the floors from wheels on this Python gave ``installed``."""

    entry: RequirementEntry
    floor: Version
    installed: Version


def unreached_floors(
    sources: Sequence[str | os.PathLike[str]], installed: dict[str, str], python_version: str
) -> list[Unreached]:
    """The requirements whose lower bound did not install (floors resolution from wheels only).

    ``installed`` maps canonical names to versions (``uv pip freeze``), ``python_version`` is the
    venv's full version (markers are evaluated for it). uv's lowest-direct resolution picks each
    floor unless it cannot install it; from wheels only, the usual cause is a floor without a wheel
    for this Python, and then what it picked is the first version that has one.
    """
    environment = {"python_version": ".".join(python_version.split(".")[:2]), "python_full_version": python_version}
    found = []
    for source in sources:
        for entry in read_requirements(source):
            req = entry.requirement
            if req.url or (req.marker is not None and not req.marker.evaluate({**environment, "extra": ""})):
                continue
            bounds = [
                Version(item.version)
                for item in req.specifier
                if item.operator in (">=", "~=", "==") and not item.version.endswith(".*")
            ]
            got = installed.get(canonicalize_name(req.name))
            if not bounds or got is None:
                continue
            try:
                version = Version(got)
            except InvalidVersion:
                continue
            if version > max(bounds):
                found.append(Unreached(entry, max(bounds), version))
    return found


def _judge(entry: RequirementEntry, floor: Floor, demanded_by: str) -> str | None:
    req = entry.requirement
    written = f"{req.name}{req.specifier}" if req.specifier else req.name
    if req.url:
        return None  # a direct URL names one exact artefact; nothing to compare
    spec = req.specifier
    if _upper_excludes(spec, floor.version):
        return f"{written} excludes {floor.version} that {demanded_by} requires"
    lower = _lower_bound(spec)
    if lower is None:
        return f"{written} allows any version older than {floor.version} that {demanded_by} requires"
    if lower < floor.version:
        return f"{written} allows versions older than {floor.version} that {demanded_by} requires"
    return None


def _upper_excludes(spec: SpecifierSet, version: Version) -> bool:
    """Whether an upper bound (or an exact pin) in ``spec`` keeps out ``version`` and everything newer."""
    for item in spec:
        text = item.version[:-2] if item.version.endswith(".*") else item.version
        try:
            bound = Version(text)
        except InvalidVersion:
            continue
        if item.operator == "<" and bound <= version:
            return True
        if item.operator in ("<=", "===") and bound < version:
            return True
        if item.operator == "==" and not item.version.endswith(".*") and bound < version:
            return True
    return False


def _lower_bound(spec: SpecifierSet) -> Version | None:
    """The highest lower bound in ``spec`` (None when it has none)."""
    bounds: list[Version] = []
    for item in spec:
        text = item.version
        if item.operator in (">=", ">", "~=", "===", "=="):
            text = text[:-2] if text.endswith(".*") else text
            try:
                bounds.append(Version(text))
            except InvalidVersion:
                continue
    return max(bounds) if bounds else None


def _pyproject_requirements(path: Path) -> list[RequirementEntry]:
    data = read_toml(path)
    project = data.get("project", {})
    if not isinstance(project, dict):
        raise ProjectError("[project] must be a table", subject=str(path))
    deps = project.get("dependencies", [])
    if not isinstance(deps, list) or not all(isinstance(text, str) for text in deps):
        raise ProjectError(
            f"[project] dependencies must be a list of strings, got {deps!r}",
            subject=str(path),
            hint='write e.g. dependencies = ["grpcio>=1.85.1"]',
        )
    entries = []
    for index, text in enumerate(deps):
        where = f"{path}: dependencies[{index}]"
        entries.append(RequirementEntry(_parse(text, where), path))
    return entries


def _requirements_file(path: Path, *, seen: set[Path]) -> list[RequirementEntry]:
    resolved = path.resolve()
    if resolved in seen:
        return []
    seen.add(resolved)
    text = read_utf8(path, kind="requirements file")
    entries: list[RequirementEntry] = []
    pending = ""
    start = 0
    for number, raw in enumerate(text.splitlines(), start=1):
        if not pending:
            start = number
        line = pending + raw
        if line.endswith("\\"):
            pending = line[:-1]
            continue
        pending = ""
        line = re.sub(r"(^|\s)#.*$", "", line).strip()
        if not line:
            continue
        where = f"{path}:{start}"
        if line.startswith(("-r ", "--requirement ", "-r", "--requirement=")):
            name = re.sub(r"^(-r|--requirement)[\s=]*", "", line)
            entries.extend(_requirements_file(path.parent / name, seen=seen))
            continue
        if line.startswith("-"):
            continue  # -c, -e, --index-url, --hash-only lines and other pip options
        line = re.split(r"\s+--", line, maxsplit=1)[0]  # per-requirement options such as --hash
        entries.append(RequirementEntry(_parse(line, where), path, start))
    return entries


def _parse(text: str, where: str) -> Requirement:
    try:
        return Requirement(text)
    except InvalidRequirement as exc:
        raise ProjectError(f"invalid requirement {text!r}: {exc}", subject=where, hint="fix the line") from None


def _version(text: str, path: Path) -> Version:
    try:
        return Version(text)
    except InvalidVersion:
        raise ProjectError(
            f"unreadable generated version {text!r}", subject=str(path), hint="regenerate the stubs"
        ) from None


def _walk(root: Path) -> Iterable[Path]:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in _SKIP_DIRS and not d.startswith("."))
        for name in filenames:
            yield Path(dirpath) / name


def _shown(path: Path, root: str | os.PathLike[str] | None) -> str:
    if root is None:
        return str(path)
    try:
        return Path(os.path.relpath(Path(path).resolve(), Path(root).resolve())).as_posix()
    except ValueError:
        return str(path)
