"""Fresh virtual environments for the smoke tests, cached honestly.

A smoke test needs "a fresh venv with the shipped requirements installed".
Creating one with uv takes about a second; reusing one takes a few
milliseconds. The cache keeps reuse equivalent to a fresh venv:

* **The key covers every input of the install**: the interpreter (its real
  path, size and mtime), the exact bytes of the requirements (or wheel), the
  resolution (``latest`` or ``floors``), uv's version and this cache's format.
  Any change gives a new key, so a new venv. Venvs of the same slot
  (python, resolution, purpose) unused for a day are deleted when a new one
  is made (not at once: another project or a concurrent run may be using
  them).
* **Built from nothing, in one go**: ``uv venv`` into a temporary directory,
  one ``uv pip install`` (bytecode compiled at install time), then
  ``uv pip freeze`` recorded in ``hexpack-verify.json``. Only a complete,
  successful install is renamed into place; a failed or interrupted one
  leaves nothing behind. Nothing is ever installed into a cached venv again.
* **Code runs in it without changing it**: the package under test is never
  installed into a requirements venv (it runs from the unpacked tarball via
  ``PYTHONPATH``), and every process runs with ``PYTHONDONTWRITEBYTECODE=1``.
* **Checked before each reuse**: the recorded key must match and
  ``uv pip freeze`` must list exactly what was recorded, otherwise the venv is
  deleted and built again.
* ``fresh=True`` (``hexpack verify --fresh``) bypasses the cache: every venv
  is built in a temporary directory and deleted afterwards.

Untrusted code never runs where it can persist. A package's server may
rewrite any file of the venv it runs in, and ``uv pip freeze`` would not
notice. So:

* **Nothing is shared**: every venv is installed with ``--link-mode copy``,
  so no file of it is a hard link into uv's cache or another venv (uv links
  by default, and a file changed through one link changes in all of them).
* **An untrusted run gets a private copy** (``untrusted=True``, what
  ``hexpack verify --tarball`` uses for a package from elsewhere): the
  cached venv is only a template that never runs anything; each job runs in
  a full copy of it in a temporary directory, deleted afterwards. Whatever
  the package did to its copy is gone, and the next verify (of a legitimate
  package too) starts from the untouched template. A copy costs a fraction
  of a second; a rebuild from the index would cost seconds.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from packaging.utils import canonicalize_name

from .. import proc
from ..errors import CommandFailed, HexpackError
from ..fsutil import remove_tree
from ..secrets import without_secrets
from . import install_errors

FORMAT = 2  # 2: installed with --link-mode copy
MARKER = "hexpack-verify.json"
UNUSED_SECONDS = 24 * 3600
_uv_version_lock = threading.Lock()
_uv_version: str | None = None


def uv_version() -> str:
    global _uv_version
    with _uv_version_lock:
        if _uv_version is None:
            _uv_version = proc.run(["uv", "--version"]).stdout.strip()
        return _uv_version


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without anything that would leak a Python setup into a venv.

    Nor the publishing secrets: the code run in these venvs (a package's
    server, its build backend) never sees ``HEX_API_KEY`` and the like.
    """
    env = {
        k: v
        for k, v in without_secrets(os.environ).items()
        if not k.startswith(("PYTHON", "PIP_", "UV_"))
        and k not in ("VIRTUAL_ENV", "CONDA_PREFIX", "__PYVENV_LAUNCHER__")
    }
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    env["UV_PYTHON_DOWNLOADS"] = "never"
    for key in ("UV_CACHE_DIR", "UV_INDEX_URL", "UV_DEFAULT_INDEX", "UV_EXTRA_INDEX_URL", "UV_OFFLINE"):
        if key in os.environ:  # keep how uv reaches its index and cache
            env[key] = os.environ[key]
    env.update(extra)
    return env


_INSTALL_HINT = {
    "floors": "raise the floor in the requirements to a version with a wheel for this Python",
    "latest": "fix the requirement, or pin a version that installs here",
}


def _venv_version(venv: Path) -> str:
    """The full Python version of a venv, from the ``version_info`` uv writes to pyvenv.cfg."""
    try:
        for line in (venv / "pyvenv.cfg").read_text().splitlines():
            key, _, value = line.partition("=")
            if key.strip() in ("version_info", "version"):
                return value.strip()
    except OSError:
        pass
    return "?"


def _check_floors_reached(install: list[str], freeze: tuple[str, ...], python: str) -> None:
    """Every lower bound of the requirements files in ``install`` was installed (see floors.unreached_floors)."""
    # lazy: floors (packaging, wheel metadata) only for this check
    from ..python import floors

    sources = [install[i + 1] for i, arg in enumerate(install[:-1]) if arg in ("-r", "--requirement")]
    installed = {}
    for line in freeze:
        name, sep, version = line.partition("==")
        if sep:
            installed[canonicalize_name(name.strip())] = version.strip()
    minor = ".".join(python.split(".")[:2])
    parts = []
    for miss in floors.unreached_floors(sources, installed, python):
        name, floor, got = miss.entry.requirement.name, miss.floor, miss.installed
        where = f"line {miss.entry.line}" if miss.entry.line is not None else Path(miss.entry.file).name
        if install_errors.has_wheel_for(name, str(floor), minor) is False:
            parts.append(
                f"{name}=={floor} ({where}): no wheel for CPython {minor}; raise the floor (first with one: {got})"
            )
        else:  # a wheel exists (another requirement's bound keeps it out) or PyPI could not be asked
            parts.append(
                f"{name}=={floor} ({where}) does not install from wheels on CPython {minor} with the other floors"
                f" (they resolve to {got}); raise the floor to {got}"
            )
    if parts:
        raise HexpackError("; ".join(parts))


def venv_python(venv: Path) -> Path:
    return venv / "bin" / "python"


@dataclass(frozen=True)
class Venv:
    path: Path
    python: Path
    reused: bool
    freeze: tuple[str, ...]
    seconds: float

    def bin(self, name: str) -> Path:
        return self.path / "bin" / name


def _interpreter_id(python: Path) -> str:
    real = Path(os.path.realpath(python))
    stat = real.stat()
    return f"{real}:{stat.st_size}:{stat.st_mtime_ns}"


def _freeze(python: Path) -> tuple[str, ...]:
    out = proc.run(["uv", "pip", "freeze", "--python", str(python)], env=clean_env()).stdout
    return tuple(sorted(line.strip() for line in out.splitlines() if line.strip()))


class VenvCache:
    """Venvs under ``root`` (``None``: no caching, every venv temporary)."""

    def __init__(self, root: Path | None, *, timeout: float = 300.0, untrusted: bool = False):
        self.root = Path(root) if root is not None else None
        self.timeout = timeout
        self.untrusted = untrusted
        self._temps: list[Path] = []
        self._lock = threading.Lock()

    def key(self, python: Path, payload: bytes, resolution: str, purpose: str) -> str:
        digest = hashlib.sha256()
        for part in (f"format={FORMAT}", purpose, resolution, _interpreter_id(python), uv_version()):
            digest.update(part.encode() + b"\0")
        digest.update(hashlib.sha256(payload).digest())
        return digest.hexdigest()

    def ensure(
        self,
        python: Path,
        *,
        label: str,
        install: list[str],
        payload: bytes,
        resolution: str = "latest",
        purpose: str = "requirements",
    ) -> Venv:
        """A venv for ``python`` with ``uv pip install <install>`` done.

        ``payload`` must pin down everything ``install`` installs (the
        requirements file's bytes, the wheel's bytes, the list of requirement
        strings); it is part of the key. ``label`` names the cache slot
        (``py3.12-floors``), whose older venvs are removed.
        """
        start = time.monotonic()
        key = self.key(python, payload, resolution, purpose)
        if self.root is not None:
            target = self.root / f"{label}-{key[:16]}"
            reused = self._reuse(target, key)
            if reused is not None:
                return self._handed_out(Venv(target, venv_python(target), True, reused, time.monotonic() - start))
        else:
            target = None
        parent = self.root if self.root is not None else Path(tempfile.gettempdir())
        parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{label}-", suffix=".hexpack-tmp", dir=parent))
        try:
            freeze = self._build(building, python, install, resolution)
            (building / MARKER).write_text(
                json.dumps({"key": key, "label": label, "python": str(python), "freeze": list(freeze)}, indent=1)
            )
            if target is None:
                with self._lock:
                    self._temps.append(building)
                return Venv(building, venv_python(building), False, freeze, time.monotonic() - start)
            try:
                os.rename(building, target)
            except OSError:  # another run put the same venv in place first
                shutil.rmtree(building, ignore_errors=True)
                if self._reuse(target, key) is None:
                    raise HexpackError("could not move the new venv into the cache", subject=str(target)) from None
            self._prune(label, keep=target)
            return self._handed_out(Venv(target, venv_python(target), False, freeze, time.monotonic() - start))
        except BaseException:
            shutil.rmtree(building, ignore_errors=True)
            raise

    def _handed_out(self, cached: Venv) -> Venv:
        """The cached venv itself, or for untrusted code a private copy of it (deleted by ``cleanup``)."""
        if not self.untrusted:
            return cached
        start = time.monotonic()
        private = Path(tempfile.mkdtemp(prefix="hexpack-untrusted-venv-"))
        with self._lock:
            self._temps.append(private)
        copy = private / cached.path.name
        # copies, never hard links (copy2 writes new files); bin/python stays a link to the base interpreter
        shutil.copytree(cached.path, copy, symlinks=True)
        seconds = cached.seconds + time.monotonic() - start
        return Venv(copy, venv_python(copy), cached.reused, cached.freeze, seconds)

    def _build(self, venv: Path, python: Path, install: list[str], resolution: str) -> tuple[str, ...]:
        env = clean_env()
        proc.run(
            ["uv", "venv", "--quiet", "--relocatable", "--allow-existing", "--python", str(python), str(venv)],
            env=env,
            timeout=self.timeout,
        )
        argv = ["uv", "pip", "install", "--quiet", "--compile-bytecode", "--link-mode", "copy"]
        argv += ["--python", str(venv_python(venv))]
        if resolution == "floors":
            # from wheels only: a floor without a wheel for this Python fails in seconds instead of building
            # from source for minutes (numpy 1.21.0 on 3.10), and is named below
            argv += ["--resolution", "lowest-direct", "--no-build"]
        python = _venv_version(venv)
        try:
            proc.run(argv + install, env=env, timeout=self.timeout, hint="the requirements cannot be installed")
        except CommandFailed as exc:
            named = install_errors.explain(exc.output, f"CPython {'.'.join(python.split('.')[:2])}")
            if not named:
                raise
            raise HexpackError("; ".join(named), hint=_INSTALL_HINT.get(resolution)) from None
        freeze = _freeze(venv_python(venv))
        if resolution == "floors":
            _check_floors_reached(install, freeze, python)
        return freeze

    def _reuse(self, target: Path, key: str) -> tuple[str, ...] | None:
        marker = target / MARKER
        try:
            recorded = json.loads(marker.read_text())
        except (OSError, ValueError):
            if target.exists():
                shutil.rmtree(target, ignore_errors=True)
            return None
        try:
            ok = recorded.get("key") == key and venv_python(target).exists()
            freeze = tuple(recorded.get("freeze", ()))
            if ok and _freeze(venv_python(target)) == freeze:
                os.utime(marker)  # last use, for pruning
                return freeze
        except HexpackError:
            pass
        shutil.rmtree(target, ignore_errors=True)
        return None

    def _prune(self, label: str, *, keep: Path) -> None:
        assert self.root is not None
        cutoff = time.time() - UNUSED_SECONDS
        for old in self.root.glob(f"{label}-*"):
            if old == keep or not old.is_dir() or old.name.endswith(".hexpack-tmp"):
                continue
            try:
                unused = (old / MARKER).stat().st_mtime < cutoff
            except OSError:
                unused = True
            if unused:
                shutil.rmtree(old, ignore_errors=True)
        for leftover in self.root.glob(f".{label}-*.hexpack-tmp"):  # from a run that was killed
            with contextlib.suppress(OSError):
                if leftover.stat().st_mtime < time.time() - 3600:
                    shutil.rmtree(leftover, ignore_errors=True)

    def cleanup(self) -> None:
        """Delete the temporary venvs (``fresh`` mode) and the private copies untrusted code ran in."""
        with self._lock:
            temps, self._temps = self._temps, []
        for path in temps:
            remove_tree(path)  # the code may have made its copy read-only
