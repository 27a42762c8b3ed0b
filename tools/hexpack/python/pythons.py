"""The targeted Python versions, and finding an interpreter for each.

Targeted versions come from one place: ``[tool.hexpack] python = [...]``.
Without it they default to the Python package's ``requires-python``
intersected with the CPython feature releases in ``CPYTHON_RELEASES`` (without
a requires-python, those from ``DEFAULT_FLOOR``).

Interpreters are found by python-discovery, the library nox and virtualenv
find theirs with: it searches ``PATH`` (resolving pyenv, mise and asdf shims
to the version they run) and uv-managed Pythons, runs each candidate to learn
its exact version and caches the answer (keyed by path and mtime) in a
directory. hexpack adds to the ``PATH`` it searches what it does not search:

1. pyenv's version directories, ``$PYENV_ROOT/versions/*/bin``, newest first,
   where pyenv's shims are on ``PATH`` (else after it): a shim runs only the
   versions pyenv has selected (global, ``.python-version``,
   ``PYENV_VERSION``), while a project tests on all of them. The shims
   themselves are left out: the version directories answer for every version,
   and a shim of an unselected version would fail again on every call
   (python-discovery caches only successes);
2. conda environments (``$CONDA_PREFIX``, ``$CONDA_ENVS_PATH``,
   ``~/.conda/environments.txt``, ``~/.conda/envs`` and the usual install
   roots with their ``envs/``), after ``PATH``.

Each interpreter is its base interpreter (a virtual environment's Python is
followed to the one it was made from), reported with where the search met it:
one of ``SOURCES``. The Python running hexpack counts only where the search
meets it. The noxfile asks on every ``nox`` invocation, through ``expose``,
which keeps its links without searching while nothing searched has changed.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .. import config
from ..config import read_toml
from ..errors import ProjectError
from ..fsutil import atomic_write_text, user_cache_dir
from ..versioning.versions import numeric_key

# CPython feature releases: (version, first release, end of life). Table as of
# 2025-10-07, the day 3.14.0 was released; add a row when a new one ships.
CPYTHON_RELEASES: tuple[tuple[str, date, date], ...] = (
    ("3.9", date(2020, 10, 5), date(2025, 10, 31)),
    ("3.10", date(2021, 10, 4), date(2026, 10, 31)),
    ("3.11", date(2022, 10, 24), date(2027, 10, 31)),
    ("3.12", date(2023, 10, 2), date(2028, 10, 31)),
    ("3.13", date(2024, 10, 7), date(2029, 10, 31)),
    ("3.14", date(2025, 10, 7), date(2030, 10, 31)),
)
RELEASES_AS_OF = date(2025, 10, 7)
# Without a requires-python, the oldest release targeted: where grpcio and hexpack run (grpcio 1.85 needs 3.10).
DEFAULT_FLOOR = "3.10"

SOURCES = ("PATH", "pyenv", "uv", "conda")
# Marks a directory of links written by ``expose``; discovery leaves it out of PATH.
EXPOSED_MARKER = ".hexpack-exposed"
# The directory python-discovery caches in, inside .nox/_hexpack_pythons (shared by nox and `hexpack pythons`).
CACHE_NAME = "python-discovery"
# What ``expose`` searched when it wrote its links: the directories and their mtimes.
STATE_NAME = "searched.json"

_PRE_RELEASE = {"alpha": "a", "beta": "b", "candidate": "rc"}


@dataclass(frozen=True)
class Interpreter:
    """A working interpreter: its exact version and where it was found."""

    version: str  # exact, "3.12.1" (a pre-release "3.14.0rc2")
    path: Path  # the base interpreter to run (never a venv's or a shim)
    source: str  # one of SOURCES: where the search met it
    found_as: Path  # the file met (a symlink, a venv's python, or ``path``)
    implementation: str = "CPython"

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def where(self) -> str:
        """``pyenv``, or ``PATH (as /usr/bin/python3)`` when met under another name."""
        return self.source if self.found_as == self.path else f"{self.source} (as {self.found_as})"

    def to_json(self) -> dict[str, str]:
        return {
            "version": self.version,
            "minor": self.minor,
            "path": str(self.path),
            "source": self.source,
            "found_as": str(self.found_as),
            "implementation": self.implementation,
            "where": self.where,
        }


@dataclass
class Discovery:
    """Every interpreter one search met, in search order."""

    interpreters: list[Interpreter] = field(default_factory=list)

    def best(self, minor: str) -> Interpreter | None:
        """The first CPython, in search order, for ``minor`` (``"3.12"``)."""
        return next((i for i in self.interpreters if i.minor == minor and i.implementation == "CPython"), None)


# --------------------------------------------------------------------------- targeted versions


def targeted(root: str | os.PathLike[str]) -> list[str]:
    """The targeted ``X.Y`` versions of the project at ``root``, oldest first."""
    value = config.load(root).read(config.ROOT, fields=("python",))["python"]
    if value is None:
        return default_versions(Path(root))
    return sorted(dict.fromkeys(value), key=numeric_key)


def default_versions(root: Path, *, on: date = RELEASES_AS_OF) -> list[str]:
    """Supported CPython releases on ``on`` admitted by the Python package's requires-python
    (without one, those from :data:`DEFAULT_FLOOR`)."""
    found = requires_python(root)
    if found is None:
        return unconstrained(on)
    spec, source = found
    return admitted(spec, subject=str(source), on=on, hint='set [tool.hexpack] python = ["3.X", ...] in pyproject.toml')


def supported(on: date = RELEASES_AS_OF) -> list[str]:
    """The CPython feature releases supported on ``on``, oldest first."""
    return [v for v, released, eol in CPYTHON_RELEASES if released <= on <= eol]


def unconstrained(on: date = RELEASES_AS_OF) -> list[str]:
    """The versions targeted when no requires-python says: the supported ones from :data:`DEFAULT_FLOOR`."""
    return [v for v in supported(on) if numeric_key(v) >= numeric_key(DEFAULT_FLOOR)]


def admitted(spec: object, *, subject: str, hint: str, on: date = RELEASES_AS_OF) -> list[str]:
    """The releases of :func:`supported` that the requires-python ``spec`` admits; refuses an invalid
    specifier and one that admits none (``hint`` says how to fix that for the caller's file)."""
    # lazy: packaging.specifiers only when a requires-python is checked
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    try:
        specifier = SpecifierSet(spec) if isinstance(spec, str) else None
    except InvalidSpecifier:
        specifier = None
    if specifier is None:
        raise ProjectError(
            f"invalid [project] requires-python {spec!r}", subject=subject, hint="write e.g. '>=3.10'"
        ) from None
    current = supported(on)
    chosen = [v for v in current if specifier.contains(f"{v}.0", prereleases=True) or specifier.contains(f"{v}.99")]
    if not chosen:
        raise ProjectError(
            f"requires-python {spec!r} admits none of the supported CPython releases {', '.join(current)}",
            subject=subject,
            hint=hint,
        )
    return chosen


def requires_python(root: Path) -> tuple[object, Path] | None:
    """The Python package's raw ``requires-python`` and the pyproject it is in: priv_python/ (the source
    hexpack assembles from), else priv/python/ (snakepit's layout, where the source is priv/python), else
    the root's."""
    for directory in (root / "priv_python", root / "priv" / "python", root):
        pyproject = directory / "pyproject.toml"
        if pyproject.is_file():
            project = read_toml(pyproject).get("project", {})
            if not isinstance(project, dict):
                raise ProjectError("[project] must be a table", subject=str(pyproject))
            value = project.get("requires-python")
            if value:
                return value, pyproject
    return None


# --------------------------------------------------------------------------- finding interpreters


def discover(
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    cache: Path | None = None,
    only: Iterable[str] | None = None,
) -> Discovery:
    """Every interpreter found (``only``: CPythons of these ``X.Y`` versions), unique by base interpreter.

    ``cache`` is the directory python-discovery keeps each interpreter's answers in (None: no cache).
    """
    # lazy: python-discovery only when a search runs (the noxfile keeps its links without one)
    from python_discovery import DiskCache, PythonInfo, PythonSpec, iter_interpreters

    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    wanted = None if only is None else {numeric_key(version) for version in only}
    places = _Places(env, home, wanted)
    store = DiskCache(cache) if cache is not None else None
    # python-discovery proposes the Python running it before searching; count it only where the search meets it
    running = PythonInfo.current_system(store)
    searched = set(places.search_path)

    def met(info: PythonInfo) -> bool:
        if wanted is not None and tuple(info.version_info[:2]) not in wanted:
            return False
        return info is not running or os.path.dirname(info.executable) in searched

    # one search for all wanted versions: python-discovery lists every PATH directory again for each key
    key = None if wanted is None else "cpython3"
    # setuptools' distutils shim, where a Python has setuptools (pyenv's 3.10 and 3.11 do), costs each probe
    # about 0.25 s of imports (pkg_resources); the standard library's distutils gives the same answers
    search_env = {**env, "PATH": os.pathsep.join(places.search_path), "SETUPTOOLS_USE_DISTUTILS": "stdlib"}
    # python-discovery runs the candidates one after another; run those it will meet first, in parallel
    # (its in-process memory of each answer then serves the search)
    names = PythonSpec.from_string_spec(key or "python").generate_re(windows=False, all_implementations=key is None)
    candidates = [
        os.path.join(directory, entry.name)
        for directory in places.search_path
        for entry in _scandir(directory)
        if names.fullmatch(entry.name)
    ]
    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        list(pool.map(lambda exe: PythonInfo.from_exe(exe, store, raise_on_error=False, env=search_env), candidates))
    discovery = Discovery()
    for info in iter_interpreters(key, cache=store, env=search_env, predicate=met):
        found_as = Path(info.executable)
        major, minor, micro, level, serial = info.version_info
        version = f"{major}.{minor}.{micro}" + (f"{_PRE_RELEASE[level]}{serial}" if level in _PRE_RELEASE else "")
        path = Path(info.system_executable or info.executable)
        source = places.source(found_as)
        discovery.interpreters.append(Interpreter(version, path, source, found_as, info.implementation))
    return discovery


def locate(versions: Iterable[str], **kwargs) -> dict[str, Interpreter | None]:
    """For each ``X.Y`` in ``versions``, the first interpreter found (or None)."""
    versions = list(versions)
    discovery = discover(only=versions, **kwargs)
    return {version: discovery.best(version) for version in versions}


def find(version: str, **kwargs) -> Path | None:
    """The executable of the first interpreter found for ``version`` (``"3.12"``), or None."""
    found = locate([version], **kwargs)[version]
    return found.path if found else None


def expose(
    versions: Sequence[str],
    shim_dir: Path,
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    cache: Path | None = None,
) -> dict[str, Path]:
    """Link ``pythonX.Y`` to the interpreter found for each version, inside ``shim_dir``.

    Put ``shim_dir`` first on PATH and tools that look up ``python3.12`` by
    name (nox, virtualenv, uv) get what discovery found. Returns the versions
    found; links for versions no longer found are removed.

    The noxfile calls this on every ``nox`` call: while no directory searched has
    changed (an install or removal changes its mtime) and every link still
    leads to a file, the links stand and discovery does not run.
    """
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    shim_dir.mkdir(parents=True, exist_ok=True)
    (shim_dir / EXPOSED_MARKER).touch()
    links = {version: shim_dir / f"python{version}" for version in versions}
    state = _Places(env, home).state(versions)
    if _read_json(shim_dir / STATE_NAME) == state:
        found = {version: Path(os.readlink(link)) for version, link in links.items() if link.is_symlink()}
        if all(target.is_file() for target in found.values()):
            return found
    found = {}
    for version, interpreter in locate(versions, env=env, home=home, cache=cache or shim_dir / CACHE_NAME).items():
        link = links[version]
        if interpreter is None:
            if link.is_symlink():
                link.unlink()
            continue
        target = interpreter.path
        if not (link.is_symlink() and os.readlink(link) == str(target)):
            temporary = shim_dir / f".python{version}.{os.getpid()}.tmp"
            if temporary.is_symlink():
                temporary.unlink()
            temporary.symlink_to(target)
            os.replace(temporary, link)
        found[version] = target
    with contextlib.suppress(OSError):  # a read-only checkout still works, searching on every call
        atomic_write_text(shim_dir / STATE_NAME, json.dumps(state))
    return found


def discovery_cache(root: str | os.PathLike[str]) -> Path:
    """Where interpreter answers are cached for ``root``: the noxfile's cache when nox has run there, else
    the user's, ``$XDG_CACHE_HOME/hexpack/python-discovery``.

    Probing every interpreter on the machine takes a second or two; python-discovery keys each answer
    by the interpreter's path and checks its mtime, so a shared cache never answers for a changed one
    and ``doctor`` or ``hexpack pythons`` in a project nox never ran in probe each interpreter once.
    """
    nox_dir = Path(root) / ".nox"
    if nox_dir.is_dir():
        return nox_dir / "_hexpack_pythons" / CACHE_NAME
    return user_cache_dir(CACHE_NAME)


class _Places:
    """Where the search looks (PATH, then what python-discovery does not search) and which source a file is in."""

    def __init__(self, env: Mapping[str, str], home: Path, wanted: set[tuple[int, ...]] | None = None) -> None:
        pyenv_root = Path(env.get("PYENV_ROOT") or home / ".pyenv")
        self.pyenv = pyenv_root / "versions"
        self.uv = uv_python_dir(env, home)
        self.conda = conda_prefixes(env, home)
        self.conda_registry = home / ".conda" / "environments.txt"
        # a pyenv version directory is named for its exact version: one of another version is not run
        pyenv_bins = [
            str(version / "bin")
            for version in _sorted_dirs(self.pyenv)
            if wanted is None or not version.name[:1].isdigit() or numeric_key(version.name)[:2] in wanted
        ]
        search: list[str] = []
        for entry in filter(None, env.get("PATH", "").split(os.pathsep)):
            if Path(entry) == pyenv_root / "shims":
                search += pyenv_bins  # every pyenv version, where its shims would answer
            elif not (Path(entry) / EXPOSED_MARKER).exists():
                search.append(entry)
        search += pyenv_bins + [str(prefix / "bin") for prefix in self.conda]
        self.search_path = list(dict.fromkeys(search))

    def state(self, versions: Sequence[str]) -> dict:
        """What a search for ``versions`` depends on: where it looks and when each place last changed."""
        places = [*self.search_path, str(self.pyenv), str(self.uv), str(self.conda_registry)]
        places += [str(prefix.parent) for prefix in self.conda]
        mtimes = {}
        for place in dict.fromkeys(places):
            with contextlib.suppress(OSError):
                mtimes[place] = os.stat(place).st_mtime_ns
        return {"versions": list(versions), "search": self.search_path, "mtimes": mtimes}

    def source(self, found_as: Path) -> str:
        if found_as.is_relative_to(self.pyenv):
            return "pyenv"
        if found_as.is_relative_to(self.uv):
            return "uv"
        if any(found_as.parent == prefix / "bin" for prefix in self.conda):
            return "conda"
        return "PATH"


def uv_python_dir(env: Mapping[str, str], home: Path) -> Path:
    """Where uv installs Pythons (what ``uv python dir`` prints)."""
    if env.get("UV_PYTHON_INSTALL_DIR"):
        return Path(env["UV_PYTHON_INSTALL_DIR"])
    data = Path(env["XDG_DATA_HOME"]) if env.get("XDG_DATA_HOME") else home / ".local" / "share"
    return data / "uv" / "python"


def conda_prefixes(env: Mapping[str, str], home: Path) -> list[Path]:
    """Conda environment prefixes, from the environment, conda's registry and usual roots."""
    prefixes: list[Path] = []
    if env.get("CONDA_PREFIX"):
        prefixes.append(Path(env["CONDA_PREFIX"]))
    for var in ("CONDA_ENVS_PATH", "CONDA_ENVS_DIRS"):
        for entry in filter(None, env.get(var, "").split(os.pathsep)):
            prefixes.extend(_sorted_dirs(Path(entry)))
    registry = home / ".conda" / "environments.txt"  # _Places.state watches it too
    if registry.is_file():
        for line in registry.read_text(encoding="utf-8", errors="replace").splitlines():
            if line.strip():
                prefixes.append(Path(line.strip()))
    prefixes.extend(_sorted_dirs(home / ".conda" / "envs"))
    roots = [home / name for name in ("miniforge3", "mambaforge", "miniconda3", "anaconda3")]
    roots += [Path("/opt/conda"), Path("/opt/miniconda3")]
    for conda_root in roots:
        if conda_root.is_dir():
            prefixes.append(conda_root)
            prefixes.extend(_sorted_dirs(conda_root / "envs"))
    return list(dict.fromkeys(prefixes))


def _scandir(directory: str) -> list[os.DirEntry]:
    try:
        with os.scandir(directory) as entries:
            return list(entries)
    except OSError:
        return []


def _read_json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _sorted_dirs(directory: Path) -> list[Path]:
    """Subdirectories, newest version-looking names first."""
    try:
        entries = [Path(e.path) for e in os.scandir(directory) if e.is_dir()]
    except OSError:
        return []
    return sorted(entries, key=lambda path: (tuple(-n for n in numeric_key(path.name)[:3]), path.name))


__all__ = [
    "CPYTHON_RELEASES",
    "DEFAULT_FLOOR",
    "RELEASES_AS_OF",
    "SOURCES",
    "Discovery",
    "Interpreter",
    "admitted",
    "default_versions",
    "discover",
    "discovery_cache",
    "expose",
    "find",
    "locate",
    "requires_python",
    "supported",
    "targeted",
    "unconstrained",
]
