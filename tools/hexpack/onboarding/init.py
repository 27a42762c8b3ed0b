"""Adopting hexpack in an existing mix project whose Python lives in ``priv/python``.

``detect(root)`` reads what is there (snakepit's layout: protos in
``priv/proto`` or under ``priv/python``, stubs directly in ``priv/python``,
``grpc_server.py`` and ``requirements.txt`` beside them, maybe a
``pyproject.toml``). ``plan(root)`` turns that into the ``[tool.hexpack]``
settings and a ``noxfile.py``, with every assumption spelled out, and the
bytes each file would get. ``apply(plan)`` writes them all or nothing.

In this layout the source *is* ``priv/python``: stubs are generated straight
into it and nothing is assembled, so no ``[assemble]`` table is written.
Nothing here prints; the command shows the plan.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from string import Template
from typing import Any

from packaging.version import InvalidVersion, Version

from .. import config as config_mod
from ..errors import HexpackError, ProjectError, raise_together
from ..fsutil import FileTransaction
from ..python import pythons
from ..python import stubs as stubs_mod
from ..release import flow as release_flow
from ..verify import settings as verify_settings
from ..verify import smoke_detect
from ..versioning import places as version_places
from ..versioning import places as vp
from ..versioning.versions import numeric_key, parse
from . import install_source

__all__ = ["DEFAULT_GRPCIO_TOOLS", "Detection", "Plan", "apply", "detect", "plan"]

# The grpcio-tools pin proposed when the committed stubs do not say which one made them.
DEFAULT_GRPCIO_TOOLS = stubs_mod.DEFAULT_PIN
# The oldest Python that grpcio of that line (and hexpack) runs on: the floor when nothing else says.
PYTHON_ROOT = "priv/python"
_SKIP_DIRS = {"__pycache__", "node_modules", ".git", ".venv", "venv", ".nox", ".tox", ".pytest_cache", "deps", "_build"}
_STUB_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi")
_GRPC_VERSION = re.compile(r"^GRPC_GENERATED_VERSION\s*=\s*['\"]([^'\"]+)['\"]", re.MULTILINE)
_HEXPACK_HEADER = re.compile(r"^# hexpack-stubs: grpcio-tools (\S+),", re.MULTILINE)
_PROTO_SOURCE = re.compile(r"^# source: (\S+\.proto)$", re.MULTILINE)  # protoc's header of a _pb2.py
_PY_VERSION = re.compile(r"""^__version__\s*(?::\s*str\s*)?=\s*['"]([^'"\n]*)['"]""", re.MULTILINE)


@dataclass(frozen=True)
class Detection:
    """What ``hexpack init`` found in a project; paths are posix, relative to ``root``."""

    root: Path
    app: str
    version: str
    reader: str
    protos: list[str]
    server: str | None
    requirements: list[str]
    stubs: list[str]
    stubs_tools: dict[str, str]  # stub file -> grpcio-tools version it was generated with (when readable)
    stubs_sources: dict[str, str]  # _pb2.py file -> the .proto protoc names as its source (when readable)
    packages: dict[str, str | None]  # Python package dir -> its __version__ (None when it has none)
    python_pyproject: str | None  # priv/python/pyproject.toml
    requires_python: tuple[str, str] | None  # (specifier, file)
    top_pyproject: str | None
    top_pyproject_version: bool  # the top-level pyproject has a static [project] version
    python_tests: str | None
    changelog: str | None
    existing_config: str | None  # a file already holding hexpack settings
    existing_noxfile: bool


@dataclass
class Plan:
    detection: Detection
    found: list[str]
    assumed: list[str]
    notes: list[str]
    settings: dict[str, Any]  # the [tool.hexpack] table
    config_file: str  # "hexpack.toml" or "pyproject.toml"
    files: dict[str, bytes]  # relative path -> new bytes
    sessions: list[str] = field(default_factory=list)

    def preview(self) -> list[str]:
        """What ``--dry-run`` shows: a new file in full, a changed one as a unified diff."""
        lines: list[str] = []
        root = self.detection.root
        for rel, data in self.files.items():
            new = data.decode("utf-8").splitlines()
            path = root / rel
            old = path.read_text(encoding="utf-8").splitlines() if path.is_file() else []
            header = (f"a/{rel}", f"b/{rel}") if path.is_file() else ("/dev/null", f"b/{rel}")
            lines.extend(difflib.unified_diff(old, new, *header, lineterm=""))
        return lines


# ----------------------------------------------------------------------------- detection


def detect(root: str | os.PathLike[str], *, reader: str = "auto") -> Detection:
    """Read the project at ``root``; a project without mix.exs or priv/python is refused."""
    # lazy: the mix readers only when a mix.exs is detected
    from ..mix.readers import read_project

    root = Path(root).resolve()
    raise_together(_layout_problems(root), summary="problems with the project")
    project = read_project(root, reader=reader)
    py = root / PYTHON_ROOT

    def rel(path: Path) -> str:
        return path.relative_to(root).as_posix()

    proto_dir = root / "priv" / "proto"
    protos = _walk(proto_dir, lambda n: n.endswith(".proto")) if proto_dir.is_dir() else []
    if not protos:
        protos = _walk(py, lambda n: n.endswith(".proto"))
    stubs = _walk(py, lambda n: n.endswith(_STUB_SUFFIXES))
    stubs_tools: dict[str, str] = {}
    stubs_sources: dict[str, str] = {}
    for stub in stubs:
        if stub.name.endswith(".pyi"):
            continue
        text = stub.read_text(encoding="utf-8", errors="replace")
        match = _HEXPACK_HEADER.search(text[:600]) or _GRPC_VERSION.search(text)
        if match:
            stubs_tools[rel(stub)] = match.group(1)
        source = _PROTO_SOURCE.search(text[:2000])
        if source:
            stubs_sources[rel(stub)] = source.group(1)

    server = py / "grpc_server.py"
    if not server.is_file():
        candidates = sorted(p for p in py.glob("*server*.py") if p.is_file() and not p.name.endswith(_STUB_SUFFIXES))
        server = candidates[0] if candidates else None

    requirements = sorted(p for p in py.glob("requirements*.txt") if p.is_file())
    # requirements.txt first: that is what the Elixir side installs
    requirements.sort(key=lambda p: (p.name != "requirements.txt", p.name))

    packages: dict[str, str | None] = {}
    for init in sorted(py.glob("*/__init__.py")):
        if init.parent.name in ("tests", "test") or init.parent.name.startswith("."):
            continue
        match = _PY_VERSION.search(init.read_text(encoding="utf-8", errors="replace"))
        packages[rel(init.parent)] = match.group(1) if match else None

    python_pyproject = py / "pyproject.toml"
    top = root / "pyproject.toml"
    top_project = config_mod.read_toml(top).get("project", {}) if top.is_file() else {}
    top_version = isinstance(top_project, dict) and isinstance(top_project.get("version"), str)
    spec = pythons.requires_python(root)  # where `hexpack pythons` reads it, once python = [...] is not set
    requires_python = None if spec is None else (str(spec[0]), rel(spec[1]))

    existing_config = _existing_config(root)

    tests = next((py / name for name in ("tests", "test") if (py / name).is_dir()), None)
    changelog = next((n for n in ("CHANGELOG.md", "CHANGELOG", "changelog.md") if (root / n).is_file()), None)
    return Detection(
        root=root,
        app=project.app,
        version=project.version,
        reader=project.reader,
        protos=[rel(p) for p in protos],
        server=rel(server) if server else None,
        requirements=[rel(p) for p in requirements],
        stubs=[rel(p) for p in stubs],
        stubs_tools=stubs_tools,
        stubs_sources=stubs_sources,
        packages=packages,
        python_pyproject=rel(python_pyproject) if python_pyproject.is_file() else None,
        requires_python=requires_python,
        top_pyproject="pyproject.toml" if top.is_file() else None,
        top_pyproject_version=top_version,
        python_tests=rel(tests) if tests else None,
        changelog=changelog,
        existing_config=existing_config,
        existing_noxfile=(root / "noxfile.py").exists(),
    )


def _layout_problems(root: Path) -> list[HexpackError]:
    if not root.is_dir():
        return [ProjectError("directory not found", subject=str(root), hint="give the mix project with --project DIR")]
    problems: list[HexpackError] = []
    if not (root / "mix.exs").is_file():
        problems.append(
            ProjectError(
                "no mix.exs: not a mix project", subject=str(root), hint="run hexpack init in the project root"
            )
        )
    if not (root / PYTHON_ROOT).is_dir():
        problems.append(
            ProjectError(
                f"no {PYTHON_ROOT}/ directory",
                subject=str(root),
                hint=f"hexpack init adopts projects whose Python lives in {PYTHON_ROOT}/",
            )
        )
    return problems


def _existing_config(root: Path) -> str | None:
    """The file already holding hexpack settings, if any."""
    source = config_mod.load(root).source  # a malformed pyproject is refused here, in one line
    return source.name if source is not None else None


def _refusals(root: Path) -> list[HexpackError]:
    """What ``hexpack init`` would overwrite (checked before mix.exs is read)."""
    refusals: list[HexpackError] = []
    existing = _existing_config(root)
    if existing:
        what = "[tool.hexpack] exists" if existing == "pyproject.toml" else "exists"
        refusals.append(
            ProjectError(
                f"{what}; hexpack init would overwrite it", subject=existing, hint="pass --force to replace it"
            )
        )
    if (root / "noxfile.py").exists():
        refusals.append(
            ProjectError(
                "exists; hexpack init would overwrite it", subject="noxfile.py", hint="pass --force to replace it"
            )
        )
    return refusals


def _walk(top: Path, want) -> list[Path]:
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        dirnames[:] = sorted(
            d for d in dirnames if d not in _SKIP_DIRS and not d.startswith(".") and not d.endswith(".egg-info")
        )
        found.extend(Path(dirpath) / n for n in sorted(filenames) if want(n))
    return sorted(found)


# ----------------------------------------------------------------------------- planning


def plan(
    root: str | os.PathLike[str],
    *,
    force: bool = False,
    reader: str = "auto",
    installed: Callable[[list[str]], set[str]] | None = None,
) -> Plan:
    """The settings and noxfile for the project at ``root``; refuses to overwrite unless ``force``.

    ``installed`` says which of some ``X.Y`` versions have an interpreter here (default: hexpack's
    discovery, as `hexpack pythons` does); only those are targeted.
    """
    installed = installed or _installed_pythons
    root = Path(root).resolve()
    problems = _layout_problems(root)
    if not force and root.is_dir():
        problems += _refusals(root)
    raise_together(problems, summary="problems with the project")
    d = detect(root, reader=reader)

    found: list[str] = [f"mix project :{d.app} {d.version} (mix.exs, read with {d.reader})"]
    assumed: list[str] = []
    notes: list[str] = []
    settings: dict[str, Any] = {}

    written = config_mod.load(root).read(config_mod.ROOT, fields=("requirement",)) if d.existing_config else {}
    source = install_source.requirement(written.get("requirement"))
    settings["requirement"] = source.requirement
    assumed.append(f"the sessions install hexpack as {source.requirement!r} ({source.why})")

    allowed, why = _targeted_pythons(d)
    found_here = installed(allowed)
    pythons = [v for v in allowed if v in found_here] or allowed
    settings["python"] = pythons
    missing = [v for v in allowed if v not in found_here]
    if not missing:
        assumed.append(f"targeted Pythons {_span(pythons)} {why}, all installed here")
    elif len(missing) < len(allowed):
        assumed.append(f"targeted Pythons {_span(pythons)}: those of {_span(allowed)} {why} installed here")
        assumed.append(
            f"not targeted until installed: {', '.join(missing)} (revisit: install it, e.g. `uv python install "
            f"{missing[-1]}`, then add it to python in {'[tool.hexpack]' if d.top_pyproject else 'hexpack.toml'})"
        )
    else:
        assumed.append(f"targeted Pythons {_span(pythons)} {why}; none of them is installed here (see hexpack pythons)")

    found.append(
        f"protos: {', '.join(d.protos)}" if d.protos else "protos: none (no .proto under priv/proto or priv/python)"
    )
    found.append(f"server: {d.server}" if d.server else f"server: none ({PYTHON_ROOT}/grpc_server.py is missing)")
    found.append(f"requirements: {', '.join(d.requirements)}" if d.requirements else "requirements: none")
    if d.stubs:
        versions = sorted(set(d.stubs_tools.values()), key=numeric_key)
        made = f"generated with grpcio-tools {', '.join(versions)}" if versions else "grpcio-tools version not readable"
        found.append(f"stubs: {', '.join(d.stubs)} ({made})")
    else:
        found.append("stubs: none")
    for pkg, version in d.packages.items():
        found.append(f"Python package: {pkg} ({'__version__ ' + version if version else 'no __version__'})")
    if not d.packages:
        found.append(f"Python package: none (modules directly in {PYTHON_ROOT})")
    found.append(
        f"Python pyproject: {d.python_pyproject}" if d.python_pyproject else f"Python pyproject: none in {PYTHON_ROOT}"
    )
    found.append("top-level pyproject.toml: yes" if d.top_pyproject else "top-level pyproject.toml: none")
    if d.python_tests:
        found.append(f"Python tests: {d.python_tests}")

    # -- stubs
    if d.protos:
        include, out = stub_layout(d)
        versions = sorted(set(d.stubs_tools.values()), key=numeric_key)
        if versions:
            pin = versions[-1]
            assumed.append(f"grpcio-tools pin {pin}, read from the committed stubs")
            if len(versions) > 1:
                notes.append(f"the committed stubs were generated with several grpcio-tools ({', '.join(versions)})")
        else:
            pin = DEFAULT_GRPCIO_TOOLS
            why_pin = "the committed stubs do not say which made them" if d.stubs else "there are no stubs yet"
            assumed.append(f"grpcio-tools pin {pin}, hexpack's default ({why_pin})")
        stubs_table: dict[str, Any] = {
            "grpcio-tools": pin,
            "protos": [include],
            "include": [include],
            "out": out,
        }
        reqs = [r for r in d.requirements if r.endswith("/requirements.txt")]
        if d.python_pyproject and _names_grpc(d.root / d.python_pyproject):
            reqs.append(d.python_pyproject)
        stubs_table["requirements"] = reqs
        if not reqs:
            assumed.append("no requirements to check the stubs' grpcio/protobuf floors against: that check is off")
        settings["stubs"] = stubs_table
        where_now = ", where the committed ones are" if d.stubs else ""
        assumed.append(f"protos compiled with -I {include}; stubs generated straight into {out}/{where_now}")
    else:
        if d.stubs:
            sources = ", ".join(sorted(set(d.stubs_sources.values()))) or "their .proto files"
            notes.append(
                f"stubs without protos: the stubs come from {sources}, which this project does not hold (another"
                " package's, such as a dependency's); they ship as committed and nothing regenerates them (to"
                " regenerate them here, add the .proto under priv/proto, then run `hexpack init --force`)"
            )
        notes.append("no protos: no [stubs] settings and no stubs session")

    notes.append(
        f"the source IS {PYTHON_ROOT}/ (snakepit's layout): stubs land there directly, so there is no "
        "assemble mapping and no assemble session"
    )

    # -- verify
    verify: dict[str, Any] = {"python_root": PYTHON_ROOT}
    if d.protos:
        verify["proto_root"] = stub_layout(d)[0]
    if d.server:
        verify["server"] = d.server
    main_req = next((r for r in d.requirements if r.endswith("/requirements.txt")), None)
    if main_req:
        verify["requirements"] = main_req
    verify["python_dist"] = PYTHON_ROOT if d.python_pyproject else ""
    if not d.python_pyproject and (d.root / PYTHON_ROOT / "setup.py").is_file():
        notes.append(f"{PYTHON_ROOT}/setup.py is not read: hexpack builds a Python dist from a pyproject.toml only")
    if not d.python_pyproject:
        assumed.append(f"no Python distribution (no {PYTHON_ROOT}/pyproject.toml): nothing is built or sent to PyPI")
    # how the smoke test starts this server (snakepit's argparse options, ready file, peer, --health-check),
    # or server = false for Python that runs under another package's server (snakebridge)
    smoke = smoke_detect.detect(
        d.root,
        python_root=PYTHON_ROOT,
        server=d.server or f"{PYTHON_ROOT}/grpc_server.py",
        proto_root=verify.get("proto_root", "priv/proto"),
    )
    verify.update(smoke.table)
    found.extend(smoke.found)
    assumed.extend(smoke.assumed)
    if not d.server and smoke.table.get("server") is not False:
        notes.append(f"no server found: verify will require {PYTHON_ROOT}/grpc_server.py")
    settings["verify"] = verify

    # -- version
    version: dict[str, Any] = {"mix": "mix.exs"}
    expected = _pep440(d.version)
    # a version that disagrees with mix.exs is the Python package's own (snakepit_bridge 2.0.0 beside snakepit
    # 0.13.0): reported, not made a place, or `hexpack version` and `bump` would fail on a fresh adoption
    pyprojects = []
    for candidate in (d.top_pyproject, d.python_pyproject):
        written = _static_version(d.root / candidate) if candidate else None
        if written is not None and _same_version(written, expected):
            pyprojects.append(candidate)
        elif written is not None:
            notes.append(
                f"{candidate} holds version {written}, mix.exs {d.version}: kept as its own version, not a version"
                " place; add it to [version] pyproject if it should follow mix.exs"
            )
    version["pyproject"] = pyprojects
    version["python"] = [f"{pkg}/__init__.py" for pkg, v in d.packages.items() if v and _same_version(v, expected)]
    if d.changelog:
        version["changelog"] = d.changelog
    else:
        version["changelog"] = "CHANGELOG.md"
        notes.append("no CHANGELOG.md: create one with a ## [Unreleased] section before `hexpack bump`")
    for pkg, written in d.packages.items():
        if written is not None and not _same_version(written, expected):
            notes.append(
                f"{pkg}/__init__.py holds __version__ {written}, mix.exs {d.version}: kept as its own version, not a"
                " version place; add it to [version] python if it should follow mix.exs"
            )
    places = ["mix.exs", *version["pyproject"], *version["python"]]
    assumed.append(
        f"mix.exs holds the canonical version; it is also written in {', '.join(places[1:]) or 'no other file'}"
    )
    others = _other_versions(d.root, version)
    if others:
        version["allow"] = others
        assumed.append(
            f"{d.version} also appears in {len(others)} file(s) that are not version places ({_shown(others)}):"
            " taken as other things' versions and listed in [version] allow; make one a place instead if it"
            " should follow mix.exs"
        )
    settings["version"] = version

    # -- release
    settings["release"] = {"pypi": bool(d.python_pyproject)}

    config_file = "hexpack.toml" if d.existing_config == "hexpack.toml" or not d.top_pyproject else "pyproject.toml"
    if config_file == "pyproject.toml":
        assumed.append("settings go to [tool.hexpack] in the existing pyproject.toml (the rest of it is kept)")
    elif d.top_pyproject:
        assumed.append("settings go to the existing hexpack.toml (it wins over pyproject.toml's [tool.hexpack])")
    else:
        assumed.append("settings go to hexpack.toml (there is no top-level pyproject.toml)")
    files = {
        config_file: _render_config(d, settings, config_file),
        "noxfile.py": render_noxfile(d, settings, config_file).encode("utf-8"),
    }
    sessions = _sessions(d)
    return Plan(d, found, assumed, notes, settings, config_file, files, sessions)


def apply(p: Plan, *, transaction: FileTransaction | None = None) -> list[str]:
    """Write the planned files all or nothing; returns their relative paths."""
    (transaction or FileTransaction()).apply({p.detection.root / rel: data for rel, data in p.files.items()})
    return list(p.files)


def _installed_pythons(versions: list[str]) -> set[str]:
    return {version for version, found in pythons.locate(versions).items() if found is not None}


def _targeted_pythons(d: Detection) -> tuple[list[str], str]:
    """The versions init may write to ``python = [...]`` and why: hexpack.python.pythons' rule on the
    requires-python init detected (the caller keeps the installed ones)."""
    as_of = pythons.RELEASES_AS_OF.isoformat()
    if d.requires_python is None:
        return pythons.unconstrained(), (
            f"(CPython releases supported on {as_of} from {pythons.DEFAULT_FLOOR}, where grpcio and hexpack run;"
            " no requires-python found)"
        )
    spec_text, where = d.requires_python
    chosen = pythons.admitted(spec_text, subject=where, hint="widen requires-python")
    return chosen, f"from requires-python {spec_text} ({where}), supported on {as_of}"


def _pep440(semver: str) -> str | None:
    try:
        return parse(semver).pep440
    except HexpackError:
        return None


def _other_versions(root: Path, version: dict[str, Any]) -> list[str]:
    """The tracked files holding mix.exs's version outside the planned places (what `hexpack version`
    would call UNEXPECTED): a test's "0.16.0" of torchvision, a generated manifest."""
    cfg = vp.VersionConfig(
        mix=version["mix"],
        pyproject=tuple(version["pyproject"]),
        python=tuple(version["python"]),
        changelog=version["changelog"],
        explicit=frozenset({"mix", "pyproject", "python", "changelog"}),
    )
    try:
        app, parsed, places = vp.find_places(root, cfg)
        return sorted({occurrence.file for occurrence in vp.audit(root, app, parsed, places, cfg)})
    except HexpackError:  # `hexpack version` names what cannot be read
        return []


def _shown(paths: list[str], limit: int = 3) -> str:
    return ", ".join(paths[:limit]) + (f" and {len(paths) - limit} more" if len(paths) > limit else "")


def _same_version(written: str, expected: str | None) -> bool:
    """PEP 440 equality (``1.4.0-rc.1`` is ``1.4.0rc1``); an unparsable one agrees with nothing."""
    try:
        return expected is not None and Version(written) == Version(expected)
    except InvalidVersion:
        return False


def _span(versions: list[str]) -> str:
    return versions[0] if len(versions) == 1 else f"{versions[0]}-{versions[-1]}"


def stub_layout(d: Detection) -> tuple[str, str]:
    """``(include root, out)``: where protoc's names put the stubs where the committed ones are.

    By default the proto directory (``priv/proto``) with the stubs straight in
    priv/python. When the committed stubs sit elsewhere, the first pair of an
    include root (the proto directory or a directory holding protos) and an
    out directory (priv/python or a directory holding ``*_pb2.py``) that
    reproduces every committed ``_pb2.py`` path wins: protos kept in
    ``priv/proto/pkg/`` with stubs in ``priv/python/`` give ``-I priv/proto/pkg``;
    stubs kept in ``priv/python/pkg/grpc/`` give ``out = "priv/python/pkg/grpc"``.
    """
    base = "priv/proto" if d.protos[0].startswith("priv/proto/") else PYTHON_ROOT
    includes = [base] + sorted({p.rsplit("/", 1)[0] for p in d.protos} - {base})
    stub_dirs = {s.rsplit("/", 1)[0] for s in d.stubs if s.endswith("_pb2.py")}
    outs = [PYTHON_ROOT] + sorted(stub_dirs - {PYTHON_ROOT})
    stubs = set(d.stubs)
    for out in outs:
        for include in includes:
            if not all(p.startswith(include + "/") for p in d.protos):
                continue
            names = [p[len(include) + 1 : -len(".proto")].replace("-", "_") for p in d.protos]
            if {f"{out}/{name}_pb2.py" for name in names} <= stubs:
                return include, out
    if base == PYTHON_ROOT and len(includes) == 2:  # protos in one subdirectory of priv/python: -I there
        return includes[1], PYTHON_ROOT
    return base, PYTHON_ROOT


def _names_grpc(pyproject: Path) -> bool:
    """Whether a pyproject's dependencies name grpcio or protobuf (then its floors are checked too)."""
    deps = config_mod.read_toml(pyproject).get("project", {}).get("dependencies", [])
    names = {re.split(r"[\s\[<>=!~;@(]", str(dep), maxsplit=1)[0].lower() for dep in deps if isinstance(dep, str)}
    return bool(names & {"grpcio", "protobuf"})


def _static_version(path: Path) -> str | None:
    written = config_mod.read_toml(path).get("project", {}).get("version")
    return written if isinstance(written, str) else None


# ----------------------------------------------------------------------------- rendering


_COMMENTS = {
    "stubs": stubs_mod.TABLE.purpose,
    "verify": verify_settings.TABLE.purpose,
    "version": version_places.TABLE.purpose,
    "release": release_flow.TABLE.purpose,
}


def _table(settings: dict[str, Any]):
    # lazy: tomlkit (about 100 ms) only when a table is written
    import tomlkit

    table = tomlkit.table()
    table.add(tomlkit.comment(f"written by `hexpack init`; {config_mod.ROOT.purpose}"))
    table.add("python", settings["python"])
    if "requirement" in settings:
        table.add(tomlkit.comment("how the nox sessions install hexpack (a path, a git URL, or hexpack==X.Y.Z)"))
        table.add("requirement", settings["requirement"])
    for name in ("stubs", "verify", "version", "release"):
        if name not in settings:
            continue
        sub = tomlkit.table()
        sub.comment(_COMMENTS[name])
        for key, value in settings[name].items():
            sub.add(key, value)
        table.add(name, sub)
    return table


def _render_config(d: Detection, settings: dict[str, Any], config_file: str) -> bytes:
    # lazy: tomlkit (about 100 ms) only when a table is written
    import tomlkit

    if config_file == "hexpack.toml":
        doc = tomlkit.document()
        doc.add(
            tomlkit.comment(
                "hexpack's settings for this project (snakepit's layout: the Python source is priv/python)."
            )
        )
        doc.add(tomlkit.comment("Each table is one command's settings; see `hexpack <command> --help`."))
        body = _table(settings)
        for key, value in body.items():
            doc.add(key, value)
        text = tomlkit.dumps(doc)
        return text.encode("utf-8")
    path = d.root / config_file
    original = path.read_bytes().decode("utf-8")  # no newline translation: CRLF files stay CRLF
    doc = tomlkit.parse(original)
    tool = doc.get("tool")
    if tool is None:
        tool = tomlkit.table(is_super_table=True)
        doc.add("tool", tool)
    if "hexpack" in tool:
        del tool["hexpack"]
    tool.add("hexpack", _table(settings))
    text = tomlkit.dumps(doc)
    # exactly one blank line before the new table, whatever the file ended with
    header = re.search(r"^\[tool\.hexpack\]", text, re.MULTILINE)
    if header and text[: header.start()].strip():
        text = text[: header.start()].rstrip("\r\n") + "\n\n" + text[header.start() :]
    if "\r\n" in original:
        text = re.sub(r"(?<!\r)\n", "\r\n", text)
    return text.encode("utf-8")


def _sessions(d: Detection) -> list[str]:
    names = ["tests", "lint", "version"]
    if d.protos:
        names.append("stubs")
    names += ["verify_package", "bump", "release", "doctor"]
    return names


def render_noxfile(d: Detection, settings: dict[str, Any], config_file: str) -> str:
    """A noxfile that reads like a table of contents (``templates/noxfile.py.template``); every session
    installs hexpack from ``requirement`` in the settings."""
    where = "[tool.hexpack] in pyproject.toml" if config_file == "pyproject.toml" else "hexpack.toml"
    has_stubs = "stubs" in settings
    tests_body = (
        ['    session.install("-r", "priv/python/requirements.txt")']
        if any(r == f"{PYTHON_ROOT}/requirements.txt" for r in d.requirements)
        else []
    )
    if d.python_tests:
        tests_body += [
            '    session.install("pytest")',
            f'    session.run("pytest", "{d.python_tests}", *session.posargs)',
        ]
    tests_body.append('    session.run("mix", "test", external=True)  # the Elixir side starts this Python\'s server')
    lint_body = ["    session.install(HEXPACK, GRPCIO_TOOLS)" if has_stubs else "    session.install(HEXPACK)"]
    if has_stubs:
        lint_body.append('    session.run("hexpack", "stubs", "--check")')
    lint_body += [
        '    session.run("hexpack", "version")',
        '    session.run("mix", "format", "--check-formatted", external=True)',
    ]
    stubs_session = ""
    if has_stubs:
        stubs_session = f'''

@nox.session(default=False)
def stubs(session: nox.Session) -> None:
    """Regenerate the stubs into {settings["stubs"]["out"]} with the pinned grpcio-tools (`-- --check` compares)."""
    session.install(HEXPACK, GRPCIO_TOOLS)
    session.run("hexpack", "stubs", *session.posargs)
'''
    grpcio_tools = (
        f"# The one grpcio-tools pin: grpcio-tools in {where} ([stubs]); `hexpack stubs` refuses any other.\n"
        'GRPCIO_TOOLS = "grpcio-tools==" + SETTINGS["stubs"]["grpcio-tools"]\n'
        if has_stubs
        else ""
    )
    template = Template((Path(__file__).parent / "templates" / "noxfile.py.template").read_text(encoding="utf-8"))
    return template.substitute(
        app=d.app,
        where=where,
        config_file=config_file,
        lookup='["tool"]["hexpack"]' if config_file == "pyproject.toml" else "",
        grpcio_tools=grpcio_tools,
        tests_doc=(
            f"pytest on {d.python_tests}, then mix test, on each targeted Python."
            if d.python_tests
            else "mix test on each targeted Python (the Elixir side starts the server with the session's python)."
        ),
        tests_body="\n".join(tests_body),
        lint_doc=(
            "Committed stubs match the pin, one version everywhere, mix format."
            if has_stubs
            else "One version everywhere, mix format."
        ),
        lint_body="\n".join(lint_body),
        stubs_session=stubs_session,
        # verify's freshness gate, release's verify gate and doctor run or report `hexpack stubs`: they need the pin
        tools="HEXPACK, GRPCIO_TOOLS" if has_stubs else "HEXPACK",
    )
