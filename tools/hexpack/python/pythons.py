"""The targeted Python versions, and finding an interpreter for each.

Targeted versions come from one place: ``[tool.hexpack] python = [...]``.
Without it they default to the Python package's ``requires-python``
intersected with the CPython feature releases in ``CPYTHON_RELEASES`` (without
a requires-python, those from ``DEFAULT_FLOOR``).

Interpreters are searched in this order, first hit per version wins:

1. ``PATH`` (``python3.X``, ``python3``, ``python``);
2. pyenv's version directories, ``$PYENV_ROOT/versions/*/bin``. pyenv's
   *shims* on PATH resolve only the versions pyenv has selected (global,
   ``.python-version``, ``PYENV_VERSION``), so a shim is never trusted by
   its name: it is run like any candidate, and what it really runs is used;
3. uv-managed Pythons (``$UV_PYTHON_INSTALL_DIR``, else
   ``$XDG_DATA_HOME/uv/python``, else ``~/.local/share/uv/python``; the
   directory ``uv python dir`` prints);
4. conda environments (``$CONDA_PREFIX``, ``$CONDA_ENVS_PATH``,
   ``~/.conda/environments.txt``, ``~/.conda/envs`` and the usual install
   roots with their ``envs/``).

Every candidate's real version is checked by running it: one subprocess per
candidate, in parallel. The noxfile calls this on every ``nox`` invocation, so
results can be cached in a JSON file keyed by the candidate's path, inode,
size and mtime (plus, for a pyenv shim, pyenv's current version selection).
Virtual environments' interpreters are skipped: they are not base Pythons.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from .. import config, proc
from ..config import read_toml
from ..errors import CommandFailed, CommandNotFound, ProjectError
from ..fsutil import atomic_write_text
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
PROBE_TIMEOUT = 20.0
# Marks a directory of links written by ``expose``; discovery skips it on PATH.
EXPOSED_MARKER = ".hexpack-exposed"

_NAME = re.compile(r"^python(?:3(?:\.(\d+))?)?$")
_DIR_VERSION = re.compile(r"(?:^|-)(\d\.\d+)(?:\.\d+)?(?:[-+]|$)")
_PROBE = (
    "import platform, sys; "
    "print(platform.python_implementation()); "
    "print('.'.join(map(str, sys.version_info[:3])) + ('' if sys.version_info[3] == 'final' else sys.version_info[3]));"
    "print(sys.executable)"
)


@dataclass(frozen=True)
class Candidate:
    """A file that may be a Python interpreter, and where the search met it."""

    path: Path
    source: str
    shim: bool = False
    dir_hint: str | None = None  # "3.12" from a pyenv/uv directory name such as 3.12.1

    @property
    def hinted_minor(self) -> str | None:
        """``"3.12"`` when the file or directory name says so, else None (only running it tells)."""
        match = _NAME.match(self.path.name)
        return f"3.{match.group(1)}" if match and match.group(1) else self.dir_hint


@dataclass(frozen=True)
class Interpreter:
    """A working interpreter: its exact version and where it was found."""

    version: str  # exact, "3.12.1"
    path: Path  # the real executable to run (never a shim)
    source: str  # one of SOURCES
    found_as: Path  # the candidate as met (a shim, a symlink, or ``path``)
    implementation: str = "CPython"
    met_in: str = ""  # the search step that met it, when not ``source`` (a pyenv version met on PATH)

    @property
    def minor(self) -> str:
        return ".".join(self.version.split(".")[:2])

    @property
    def where(self) -> str:
        """``pyenv``, or ``pyenv (on PATH as /root/.pyenv/shims/python3.11)`` when met there first."""
        if self.met_in and self.met_in != self.source:
            if self.found_as == self.path:
                return f"{self.source} (met on {self.met_in})"
            return f"{self.source} (met on {self.met_in} as {self.found_as})"
        if self.found_as != self.path:
            return f"{self.source} (as {self.found_as})"
        return self.source

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


@dataclass(frozen=True)
class Rejected:
    """A candidate that did not run, or is not a CPython."""

    candidate: Candidate
    reason: str


@dataclass
class Discovery:
    """Everything one search met: working interpreters and rejected candidates."""

    interpreters: list[Interpreter] = field(default_factory=list)
    rejected: list[Rejected] = field(default_factory=list)

    def best(self, minor: str) -> Interpreter | None:
        """The first interpreter, in search order, for ``minor`` (``"3.12"``)."""
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
    found = _requires_python(root)
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


def requires_python(root: Path) -> str | None:
    """``requires-python`` of priv_python/pyproject.toml, else of the root pyproject."""
    found = _requires_python(root)
    return None if found is None else str(found[0])


def _requires_python(root: Path) -> tuple[object, Path] | None:
    """The raw ``requires-python`` value and the pyproject it came from."""
    for pyproject in (root / "priv_python" / "pyproject.toml", root / "pyproject.toml"):
        if pyproject.is_file():
            project = read_toml(pyproject).get("project", {})
            if not isinstance(project, dict):
                raise ProjectError("[project] must be a table", subject=str(pyproject))
            value = project.get("requires-python")
            if value:
                return value, pyproject
    return None


# --------------------------------------------------------------------------- candidates


def candidates(
    env: Mapping[str, str] | None = None, *, home: Path | None = None, sources: Sequence[str] = SOURCES
) -> list[Candidate]:
    """Every file that may be an interpreter, in search order, without running any."""
    env = os.environ if env is None else env
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    pyenv_root = Path(env.get("PYENV_ROOT") or home / ".pyenv")
    found: list[Candidate] = []
    seen: set[Path] = set()

    def add(directory: Path, source: str, *, shim_dir: bool = False) -> None:
        hint = _DIR_VERSION.search(directory.parent.name) if source in ("pyenv", "uv") else None
        for path in _interpreter_files(directory):
            shim = shim_dir or _is_shim(path)
            # python3 -> python3.12 in one directory is one interpreter; shims are distinct scripts
            key = Path(os.path.abspath(path)) if shim else Path(os.path.realpath(path))
            if key in seen or _in_venv(path):
                continue
            seen.add(key)
            found.append(Candidate(path, source, shim=shim, dir_hint=hint.group(1) if hint else None))

    for name in sources:
        if name == "PATH":
            for entry in env.get("PATH", "").split(os.pathsep):
                directory = Path(entry) if entry else None
                if directory and not (directory / EXPOSED_MARKER).exists():
                    add(directory, "PATH", shim_dir=directory == pyenv_root / "shims")
        elif name == "pyenv":
            for version_dir in _sorted_dirs(pyenv_root / "versions"):
                add(version_dir / "bin", "pyenv")
        elif name == "uv":
            for install in _sorted_dirs(uv_python_dir(env, home)):
                add(install / "bin", "uv")
        elif name == "conda":
            for prefix in conda_prefixes(env, home):
                add(prefix / "bin", "conda")
    return found


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
    registry = home / ".conda" / "environments.txt"
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


def _interpreter_files(directory: Path) -> list[Path]:
    try:
        names = [entry.name for entry in os.scandir(directory) if _NAME.match(entry.name)]
    except OSError:
        return []

    def order(name: str) -> tuple[int, int]:  # python3.X (newest first), then python3, then python
        match = _NAME.match(name)
        if match and match.group(1):
            return (0, -int(match.group(1)))
        return (1, 0) if name == "python3" else (2, 0)

    files = []
    for name in sorted(names, key=order):
        path = directory / name
        if path.is_file() and os.access(path, os.X_OK):
            files.append(path)
    return files


def _sorted_dirs(directory: Path) -> list[Path]:
    """Subdirectories, newest version-looking names first."""
    try:
        entries = [Path(e.path) for e in os.scandir(directory) if e.is_dir()]
    except OSError:
        return []

    def key(path: Path) -> tuple:
        numbers = re.findall(r"\d+", path.name)
        return tuple(-int(n) for n in numbers[:3]) + (path.name,)

    return sorted(entries, key=key)


def _in_venv(path: Path) -> bool:
    return (path.parent.parent / "pyvenv.cfg").is_file()


def _is_shim(path: Path) -> bool:
    """A script whose result depends on a version manager's selection (pyenv and the like)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(512)
    except OSError:
        return False
    return head.startswith(b"#!") and any(word in head for word in (b"pyenv", b"asdf", b"mise", b"rtx"))


# --------------------------------------------------------------------------- running candidates


def discover(
    *,
    env: Mapping[str, str] | None = None,
    home: Path | None = None,
    cache: Path | None = None,
    only: Iterable[str] | None = None,
    sources: Sequence[str] = SOURCES,
) -> Discovery:
    """Run every candidate (``only``: just those that may be these minors) and sort the results.

    Interpreters keep search order and are unique by real executable.
    """
    wanted = set(only) if only is not None else None
    env = os.environ if env is None else env
    listed = [
        c
        for c in candidates(env, home=home, sources=sources)
        if wanted is None or c.hinted_minor is None or c.hinted_minor in wanted
    ]
    results = _probe_all(listed, env=env, home=home, cache=cache)
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    pyenv_versions = Path(env.get("PYENV_ROOT") or home / ".pyenv") / "versions"
    discovery = Discovery()
    seen: set[str] = set()
    for candidate, result in zip(listed, results, strict=True):
        if not result.get("ok"):
            discovery.rejected.append(Rejected(candidate, result.get("error", "did not run")))
            continue
        executable = Path(result["executable"]) if result.get("executable") else candidate.path
        if not executable.is_absolute() or not executable.exists():
            executable = candidate.path
        real = os.path.realpath(executable)
        if real in seen:
            continue
        seen.add(real)
        source = candidate.source
        if source == "PATH" and _is_within(Path(real), pyenv_versions):
            source = "pyenv"  # a pyenv version met on PATH (through a shim or its bin directory)
        path = candidate.path if not candidate.shim else executable
        discovery.interpreters.append(
            Interpreter(
                result["version"],
                path,
                source,
                candidate.path,
                result.get("implementation", "CPython"),
                candidate.source,
            )
        )
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


def expose(versions: Sequence[str], shim_dir: Path, **kwargs) -> dict[str, Path]:
    """Link ``pythonX.Y`` to the interpreter found for each version, inside ``shim_dir``.

    Put ``shim_dir`` first on PATH and tools that look up ``python3.12`` by
    name (nox, virtualenv, uv) get what discovery found. Returns the versions
    found; links for versions no longer found are removed.
    """
    shim_dir.mkdir(parents=True, exist_ok=True)
    (shim_dir / EXPOSED_MARKER).touch()
    kwargs.setdefault("cache", shim_dir / "discovery.json")
    found: dict[str, Path] = {}
    for version, interpreter in locate(versions, **kwargs).items():
        link = shim_dir / f"python{version}"
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
    return found


def project_cache(root: str | os.PathLike[str]) -> Path | None:
    """The discovery cache the noxfile keeps, when nox has run in ``root`` (else None: no cache)."""
    nox_dir = Path(root) / ".nox"
    return nox_dir / "_hexpack_pythons" / "discovery.json" if nox_dir.is_dir() else None


def _is_within(path: Path, directory: Path) -> bool:
    try:
        path.relative_to(directory.resolve() if directory.exists() else directory)
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------- probing with a cache


def _probe_all(listed: list[Candidate], *, env: Mapping[str, str], home: Path | None, cache: Path | None) -> list[dict]:
    stored = _read_cache(cache)
    shim_state = _pyenv_selection(env, home) if any(c.shim for c in listed) else ""
    keys = [_fingerprint(c, shim_state) for c in listed]
    results: list[dict | None] = [
        stored.get(str(c.path)) if key is not None and stored.get(str(c.path), {}).get("key") == key else None
        for c, key in zip(listed, keys, strict=True)
    ]
    todo = [i for i, r in enumerate(results) if r is None]
    if todo:
        with ThreadPoolExecutor(max_workers=min(8, len(todo))) as pool:
            fresh = list(pool.map(lambda i: _probe(listed[i].path, env), todo))
        for i, result in zip(todo, fresh, strict=True):
            result["key"] = keys[i]
            results[i] = result
        if cache is not None:
            for candidate, key, result in zip(listed, keys, results, strict=True):
                if key is not None and result is not None:
                    stored[str(candidate.path)] = result
            stored = {path: value for path, value in stored.items() if os.path.lexists(path)}
            _write_cache(cache, stored)
    return [r or {"ok": False, "error": "not probed"} for r in results]


def _probe(path: Path, env: Mapping[str, str]) -> dict:
    try:
        done = proc.run([path, "-I", "-S", "-c", _PROBE], env=env, check=False, timeout=PROBE_TIMEOUT)
    except (CommandFailed, CommandNotFound) as exc:
        return {"ok": False, "error": exc.what}
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or len(lines) < 3:
        said = [line.strip() for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        return {"ok": False, "error": f"exit status {done.returncode}" + (f": {said[0][:160]}" if said else "")}
    implementation, version, executable = lines[-3:]
    if implementation != "CPython":
        return {"ok": False, "error": f"{implementation} {version}, not CPython"}
    return {"ok": True, "implementation": implementation, "version": version, "executable": executable}


def _fingerprint(candidate: Candidate, shim_state: str) -> list | None:
    try:
        st = os.stat(candidate.path)
    except OSError:
        return None
    key: list = [os.path.realpath(candidate.path), st.st_ino, st.st_size, st.st_mtime_ns]
    if candidate.shim:
        key.append(shim_state)
    return key


def _pyenv_selection(env: Mapping[str, str], home: Path | None) -> str:
    """What decides which version a pyenv shim runs: PYENV_VERSION, .python-version, the global file."""
    home = Path(env.get("HOME") or Path.home()) if home is None else home
    root = Path(env.get("PYENV_ROOT") or home / ".pyenv")
    parts = [env.get("PYENV_VERSION", "")]
    directory = Path(env.get("PYENV_DIR") or os.getcwd()).resolve()
    for folder in (directory, *directory.parents):
        local = folder / ".python-version"
        if local.is_file():
            parts.append(f"{local}:{_read(local)}")
            break
    parts.append(_read(root / "version"))
    with contextlib.suppress(OSError):
        parts.append(",".join(sorted(os.listdir(root / "versions"))))
    return "|".join(parts)


def _read(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8", errors="replace").strip()
    except OSError:
        return ""


def _read_cache(cache: Path | None) -> dict:
    if cache is None:
        return {}
    try:
        data = json.loads(cache.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _write_cache(cache: Path, data: dict) -> None:
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(cache, json.dumps(data, indent=1, sort_keys=True))
    except OSError:  # a read-only checkout still works, just slower
        pass


__all__ = [
    "CPYTHON_RELEASES",
    "DEFAULT_FLOOR",
    "RELEASES_AS_OF",
    "Candidate",
    "Discovery",
    "Interpreter",
    "Rejected",
    "admitted",
    "candidates",
    "default_versions",
    "discover",
    "expose",
    "find",
    "locate",
    "project_cache",
    "supported",
    "targeted",
    "unconstrained",
]
