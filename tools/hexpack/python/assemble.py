"""Placing the Python sources under ``priv/``, all or nothing.

``[tool.hexpack.assemble]``::

    target = "priv"                        # the directory whose swap is atomic
    exclude = ["*.log"]                    # extra name patterns never placed
    [tool.hexpack.assemble.files]          # source -> target (file or directory)
    "priv_python/grpc_server.py" = "priv/python/grpc_server.py"
    "priv_python/hexpack_bridge" = "priv/python/hexpack_bridge"
    "priv_python/requirements.txt" = "priv/python/requirements.txt"
    "priv_python/proto" = "priv/proto"

Ownership: hexpack owns the files the mapping places, and remembers them in
``<target>/.hexpack-manifest.json`` (committed with ``priv/``) so it can remove
a placed file whose source is gone. Every other file under ``priv/`` is left
exactly as it is (same inode, bytes, mode and mtime).

Atomicity: a run that changes anything builds the complete new ``priv/`` in
a staging directory beside it (unchanged files are hard links, so nothing is
copied twice), then exchanges the two directories in one ``renameat2``
call. A run that fails or is killed before that leaves ``priv/`` as it was;
the next run removes the leftover staging directory. A run with nothing to
change writes nothing at all.

Concurrency: a run that has something to change holds the project lock
(``fsutil.project_lock``) from planning again to the exchange, so a second
run at once waits and then finds nothing to do. Staging directories carry their run's process id, and
recovery removes only those whose run is gone, never a live run's. A
read-only directory under ``priv/`` gets its mode back only after the new
files are in, and leftovers are removed read-only directories and all.
"""

from __future__ import annotations

import errno
import fnmatch
import json
import os
import shutil
import stat
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from .. import settings_schema as schema
from ..errors import HexpackError, ProjectError, raise_together
from ..fsutil import fault_point, pid_alive, project_lock, remove_tree

__all__ = [
    "DEFAULT_EXCLUDES",
    "MANIFEST",
    "AssembleSettings",
    "Difference",
    "Plan",
    "apply",
    "assemble",
    "check",
    "load_settings",
    "plan",
    "unconfigured",
]

MANIFEST = ".hexpack-manifest.json"
STAGE_PREFIX = ".hexpack-stage-"
OLD_PREFIX = ".hexpack-old-"
# Never placed, wherever they appear below a mapped directory (matched per path part).
DEFAULT_EXCLUDES = (
    "__pycache__",
    "*.pyc",
    "*.pyo",
    ".pytest_cache",
    ".mypy_cache",
    ".ruff_cache",
    "*.egg-info",
    ".git",
    ".venv",
    ".nox",
    ".tox",
    "tests",
    "test",
    "conftest.py",
    "test_*.py",
    "*_test.py",
    "*~",
    ".*.swp",
    ".*.swo",
    ".#*",
    "#*#",
    ".DS_Store",
)
_DEFAULT_FILES = {
    "priv_python/grpc_server.py": "priv/python/grpc_server.py",
    "priv_python/requirements.txt": "priv/python/requirements.txt",
    "priv_python/proto": "priv/proto",
}
# Test seam: HEXPACK_TEST_ASSEMBLE_PAUSE="<phase>=<flag file>" makes a run create
# the flag file and sleep at that phase ("stage" after the first staged write,
# "swap" just before the exchange), so a test can kill it there.
_PAUSE_ENV = "HEXPACK_TEST_ASSEMBLE_PAUSE"
_MAPPING_PROBLEMS = "problems with the assemble mapping"


@dataclass(frozen=True)
class AssembleSettings:
    root: Path
    target: Path
    files: list[tuple[Path, Path]]
    exclude: tuple[str, ...]
    source: str = "[tool.hexpack.assemble]"

    def rel(self, path: Path) -> str:
        try:
            return path.relative_to(self.root).as_posix()
        except ValueError:
            return str(path)


@dataclass(frozen=True)
class Placement:
    source: Path
    executable: bool


@dataclass(frozen=True)
class Difference:
    path: str  # relative to the project root
    what: str  # "missing", "differs from <src>", "mode differs from <src>", "stale (source gone)", ...


@dataclass
class Plan:
    settings: AssembleSettings
    desired: dict[str, Placement]  # relative to target
    write: dict[str, str] = field(default_factory=dict)  # rel -> "new" | "content" | "mode"
    remove: list[str] = field(default_factory=list)
    manifest: bytes = b""
    manifest_changed: bool = False

    @property
    def noop(self) -> bool:
        return not (self.write or self.remove or self.manifest_changed)

    def differences(self) -> list[Difference]:
        s = self.settings
        out = []
        for rel, kind in sorted(self.write.items()):
            src = s.rel(self.desired[rel].source)
            what = {"new": "missing", "content": f"differs from {src}", "mode": f"mode differs from {src}"}[kind]
            out.append(Difference(s.rel(s.target / rel), what))
        for rel in self.remove:
            out.append(Difference(s.rel(s.target / rel), "stale: placed before, its source is gone"))
        if self.manifest_changed:
            out.append(Difference(s.rel(s.target / MANIFEST), "out of date"))
        return out


@dataclass
class Result:
    plan: Plan
    changed: bool


# ----------------------------------------------------------------------------- settings


def _outside_target(values: dict[str, Any]) -> list[str | tuple[str, str]]:
    """Every placed file lands below the target: the target is the directory swapped whole."""
    target = values["target"]
    return [
        (f"files target {dst!r} is not inside {target}/", "place files under the target directory")
        for dst in values["files"].values()
        if not dst.startswith(target.rstrip("/") + "/")
    ]


TABLE = schema.Table(
    "assemble",
    (
        schema.Field(
            "target",
            schema.ProjectPath(noun='a directory path such as "priv"'),
            default="priv",
            rule=lambda target: "must be a directory below the project root, not the root" if target == "." else None,
        ),
        schema.Field(
            "files", schema.ProjectPathMap(), default=_DEFAULT_FILES, form='{ "priv_python/x.py" = "priv/python/x.py" }'
        ),
        schema.Field("exclude", schema.Texts(noun="a list of name patterns"), default=(), form='["*.log"]'),
    ),
    purpose="`hexpack assemble` / `nox -s assemble`: the Python sources placed under priv/, all or nothing",
    rules=(schema.Rule(("target", "files"), _outside_target),),
)


def load_settings(root: str | os.PathLike[str]) -> AssembleSettings:
    cfg = config.load(root)
    values = cfg.read(TABLE)
    target = cfg.root / values["target"]
    if target.is_symlink():
        raise ProjectError(
            "is a symbolic link; hexpack swaps the directory itself",
            subject=values["target"],
            hint=f"set target in {cfg.named('assemble')} to the real directory",
        )
    pairs = [(cfg.root / src, cfg.root / dst) for src, dst in values["files"].items()]
    return AssembleSettings(cfg.root, target, pairs, DEFAULT_EXCLUDES + values["exclude"], cfg.named("assemble"))


# ----------------------------------------------------------------------------- planning


def desired_files(settings: AssembleSettings) -> dict[str, Placement]:
    """What the target should hold: ``{path relative to target: placement}``; problems reported together."""
    problems: list[HexpackError] = []
    desired: dict[str, Placement] = {}
    origin: dict[str, Path] = {}

    def add(src: Path, dst: Path) -> None:
        rel = dst.relative_to(settings.target).as_posix()
        if rel in desired and origin[rel] != src:
            problems.append(
                ProjectError(
                    f"both {settings.rel(origin[rel])} and {settings.rel(src)} map to it",
                    subject=settings.rel(dst),
                    hint=f"fix {settings.source}.files",
                )
            )
            return
        st = src.stat()
        desired[rel] = Placement(src, bool(st.st_mode & stat.S_IXUSR))
        origin[rel] = src

    for src, dst in settings.files:
        if src.is_file():
            if _leaves(src, settings.root):
                problems.append(
                    _unplaceable(settings, src, f"a symbolic link to {os.readlink(src)}, outside the project")
                )
                continue
            add(src, dst)
        elif src.is_dir():
            for dirpath, dirnames, filenames in os.walk(src):
                base = Path(dirpath)
                kept = sorted(d for d in dirnames if not _excluded(d, settings.exclude))
                dirnames[:] = [d for d in kept if not (base / d).is_symlink()]
                for name in kept:  # os.walk lists a link to a directory (or a loop like `x -> .`) but never enters it
                    if (base / name).is_symlink():
                        problems.append(_unplaceable(settings, base / name, "a symbolic link to a directory"))
                for name in sorted(filenames):
                    if _excluded(name, settings.exclude):
                        continue
                    path = base / name
                    if path.is_file() and _leaves(path, src):  # never copy what lies outside, e.g. /etc/shadow
                        what = f"a symbolic link to {os.readlink(path)}, outside {settings.rel(src)}"
                        problems.append(_unplaceable(settings, path, what))
                    elif path.is_file():  # follows a link to a file inside the source
                        add(path, dst / path.relative_to(src))
                    elif path.is_symlink():
                        problems.append(_unplaceable(settings, path, "a dangling or looping symbolic link"))
                    else:
                        problems.append(_unplaceable(settings, path, "not a regular file (a FIFO, socket or device)"))
        else:
            problems.append(
                ProjectError(
                    "source not found", subject=settings.rel(src), hint=f"create it or fix {settings.source}.files"
                )
            )
    raise_together(problems, summary=_MAPPING_PROBLEMS)
    return desired


def _leaves(path: Path, base: Path) -> bool:
    """``path`` is a symlink whose target (followed all the way) is not below ``base``."""
    if not path.is_symlink():
        return False
    inside = os.path.realpath(base)
    return not os.path.realpath(path).startswith(inside.rstrip(os.sep) + os.sep)


def _unplaceable(settings: AssembleSettings, path: Path, what: str) -> ProjectError:
    """A source entry assemble cannot place; silently skipping it would drop it from the package."""
    return ProjectError(
        f"is {what}; hexpack assemble places regular files only",
        subject=os.path.relpath(path, settings.root),
        hint=f"replace or remove it, or add {path.name!r} to exclude in {settings.source}",
    )


def plan(settings: AssembleSettings) -> Plan:
    """Compare the target with what assembling would produce, reading only."""
    desired = desired_files(settings)
    result = Plan(settings, desired)
    target = settings.target
    if os.path.lexists(target) and not target.is_dir():
        raise ProjectError(
            "is not a directory, but hexpack assemble places files in it",
            subject=settings.rel(target),
            hint=f"move it away or set target in {settings.source}",
        )
    problems: list[HexpackError] = []
    in_the_way: set[Path] = set()
    for rel, placement in desired.items():
        path = target / rel
        for parent in list(Path(rel).parents)[:-1]:
            holder = target / parent
            if holder in in_the_way:
                continue
            if holder.is_symlink() or (holder.exists() and not holder.is_dir()):
                in_the_way.add(holder)
                problems.append(
                    ProjectError("is in the way of a placed file", subject=settings.rel(holder), hint="move it away")
                )
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            result.write[rel] = "new"
            continue
        except NotADirectoryError:
            continue  # reported above
        if not stat.S_ISREG(st.st_mode):
            if stat.S_ISDIR(st.st_mode):
                problems.append(
                    ProjectError(
                        "a directory is where a file is placed", subject=settings.rel(path), hint="move it away"
                    )
                )
            else:
                result.write[rel] = "content"
            continue
        if st.st_size != placement.source.stat().st_size or path.read_bytes() != placement.source.read_bytes():
            result.write[rel] = "content"
        elif bool(st.st_mode & stat.S_IXUSR) != placement.executable:
            result.write[rel] = "mode"
    raise_together(problems, summary=_MAPPING_PROBLEMS)
    owned = read_manifest(target)
    result.remove = sorted(rel for rel in owned - set(desired) if os.path.lexists(target / rel))
    result.manifest = manifest_bytes(desired)
    try:
        result.manifest_changed = (target / MANIFEST).read_bytes() != result.manifest
    except (FileNotFoundError, NotADirectoryError):
        result.manifest_changed = True
    return result


def read_manifest(target: Path) -> set[str]:
    """The files a previous run placed under ``target`` (empty when none)."""
    path = target / MANIFEST
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (FileNotFoundError, NotADirectoryError):
        return set()
    except IsADirectoryError:
        raise ProjectError("is a directory, not hexpack's manifest", subject=str(path), hint="move it away") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise ProjectError(f"unreadable manifest: {exc}", subject=str(path), hint="restore it from git") from None
    files = data.get("files") if isinstance(data, dict) else None
    if not isinstance(files, list) or not all(isinstance(f, str) for f in files):
        raise ProjectError("manifest has no list of files", subject=str(path), hint="restore it from git")
    safe = set()
    for rel in files:
        parts = Path(rel).parts
        if rel.startswith("/") or ".." in parts or not parts:
            raise ProjectError(f"manifest names a path outside the target: {rel!r}", subject=str(path))
        safe.add(Path(rel).as_posix())
    return safe


def manifest_bytes(desired: dict[str, Placement]) -> bytes:
    data = {
        "about": "Files under this directory placed by `hexpack assemble`; it removes them when their source is gone "
        "and never touches any other file here. Do not edit.",
        "files": sorted(desired),
    }
    return (json.dumps(data, indent=2) + "\n").encode("utf-8")


# ----------------------------------------------------------------------------- applying


def assemble(root: str | os.PathLike[str], *, on_phase: Callable[[str], None] | None = None) -> Result:
    """Make the target hold exactly what the mapping places (plus what it does not own)."""
    settings = load_settings(root)
    result = plan(settings)
    if result.noop and not _leftovers(settings):  # no lock, no write (the exchange is atomic: this read is whole)
        return Result(result, changed=False)
    with project_lock(settings.root, "hexpack assemble"):
        recover(settings)
        result = plan(settings)  # again: a run that held the lock before may have done it already
        if result.noop:
            return Result(result, changed=False)
        apply(result, on_phase=on_phase)
        return Result(result, changed=True)


def check(root: str | os.PathLike[str]) -> list[Difference]:
    """What differs between the target and what assembling would produce (empty: up to date)."""
    return plan(load_settings(root)).differences()


def unconfigured(root: str | os.PathLike[str]) -> str | None:
    """Why there is nothing to assemble (no assemble table, e.g. snakepit's layout), or None.

    Without a table the default mapping (``priv_python/...``) applies when
    ``priv_python/`` exists. A project adopted with ``hexpack init`` keeps its Python source in
    ``priv/python`` itself, so it has no mapping; ``hexpack assemble`` is then
    a no-op and verify's freshness gate skips the assemble check.
    """
    cfg = config.load(root)
    if cfg.section("assemble") or (cfg.root / "priv_python").is_dir():  # a table, or the default mapping's sources
        return None
    if cfg.source is not None and cfg.source.name == "hexpack.toml":
        return "no [assemble] table in hexpack.toml: nothing to assemble (the Python under priv/ is the source itself)"
    return "no [tool.hexpack.assemble] table in pyproject.toml: nothing to assemble"


def recover(settings: AssembleSettings) -> None:
    """Undo what an interrupted run left beside the target; a live run's staging directory is left alone."""
    target = settings.target
    parent = target.parent
    if not parent.is_dir():
        return
    prefix_old = f".{target.name}{OLD_PREFIX}"
    leftovers = _leftovers(settings)
    if not os.path.lexists(target):
        # killed between the two renames of the fallback swap: put the old tree back
        old = [p for p in leftovers if p.name.startswith(prefix_old)]
        if old:
            os.rename(old[-1], target)
            leftovers.remove(old[-1])
    for path in leftovers:
        remove_tree(path)


def _leftovers(settings: AssembleSettings) -> list[Path]:
    """Staging and old trees beside the target whose run is gone (a killed run's)."""
    target = settings.target
    prefixes = (f".{target.name}{STAGE_PREFIX}", f".{target.name}{OLD_PREFIX}")
    try:
        found = [p for p in target.parent.iterdir() if p.name.startswith(prefixes) and not _owner_alive(p.name)]
    except OSError:
        return []
    return sorted(found)


def _owner_alive(name: str) -> bool:
    """Whether the run that made this staging directory (``.priv.hexpack-stage-<pid>-...``) still runs."""
    owner = name.rsplit("hexpack-", 1)[-1].split("-")
    return len(owner) >= 2 and owner[1].isdigit() and int(owner[1]) != os.getpid() and pid_alive(int(owner[1]))


def apply(result: Plan, *, on_phase: Callable[[str], None] | None = None) -> None:
    """Build the new target beside the old one, then exchange them in one step."""
    settings = result.settings
    target = settings.target
    parent = target.parent
    try:
        parent.mkdir(parents=True, exist_ok=True)
        stage = Path(tempfile.mkdtemp(prefix=f".{target.name}{STAGE_PREFIX}{os.getpid()}-", dir=parent))
    except OSError as exc:
        raise HexpackError(
            f"cannot create the new tree beside it: {exc.strerror or exc}; nothing was changed",
            subject=settings.rel(target),
        ) from None
    phase = _phase_hook(on_phase)
    try:
        remove = set(result.remove)
        modes: list[tuple[Path, os.stat_result]] = []
        if target.is_dir():
            modes = _mirror(target, stage, skip=remove | set(result.write) | {MANIFEST})
            fault_point()
        else:
            os.chmod(stage, 0o777 & ~_umask())
        first = True
        for rel in sorted(result.write):
            placement = result.desired[rel]
            dest = stage / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(placement.source, dest)
            os.chmod(dest, 0o755 if placement.executable else 0o644)
            fault_point()
            if first:
                phase("stage")
                first = False
        (stage / MANIFEST).write_bytes(result.manifest)
        os.chmod(stage / MANIFEST, 0o644)
        _prune_empty(stage, {str(Path(rel).parent) for rel in remove})
        _restore_dir_modes(modes)  # after the last write: a read-only directory is read-only again only now
        _fsync_tree(stage)
        fault_point()
        phase("swap")
        if target.is_dir():
            _exchange(stage, target, parent)
        else:
            os.rename(stage, target)
            stage = None  # type: ignore[assignment]
        fault_point()
    except OSError as exc:  # disk full, read-only file system, ...: the old tree is still in place
        if stage is not None:
            remove_tree(stage)
        where = f" ({exc.filename})" if exc.filename else ""
        raise HexpackError(
            f"cannot assemble: {exc.strerror or exc}{where}; it was left as it was", subject=settings.rel(target)
        ) from exc
    except BaseException:
        if stage is not None:
            remove_tree(stage)
        raise
    if stage is not None:
        remove_tree(stage)  # now holds the old tree


def _mirror(src: Path, dst: Path, *, skip: set[str]) -> list[tuple[Path, os.stat_result]]:
    """Recreate ``src`` in ``dst``: directories anew, everything else hard-linked (copied if it cannot be).

    Returns each directory with the status whose mode and times it must get
    back once every new file is written (see ``_restore_dir_modes``).
    """
    dirs: list[tuple[Path, os.stat_result]] = [(dst, os.stat(src))]
    for dirpath, dirnames, filenames in os.walk(src):
        base = Path(dirpath)
        rel_base = base.relative_to(src)
        for name in dirnames + filenames:
            path = base / name
            rel = (rel_base / name).as_posix()
            out = dst / rel
            st = os.lstat(path)
            if stat.S_ISDIR(st.st_mode):
                out.mkdir()
                dirs.append((out, st))
                continue
            if rel in skip:
                continue
            try:
                os.link(path, out, follow_symlinks=False)
            except OSError:
                if stat.S_ISLNK(st.st_mode):
                    os.symlink(os.readlink(path), out)
                else:
                    shutil.copy2(path, out, follow_symlinks=False)
        # os.walk does not descend into symlinked directories; they were linked above as entries
        dirnames[:] = [d for d in dirnames if not (base / d).is_symlink()]
    return dirs


def _restore_dir_modes(dirs: list[tuple[Path, os.stat_result]]) -> None:
    for directory, st in reversed(dirs):
        if directory.is_dir():  # a directory emptied by a removal is pruned
            os.chmod(directory, stat.S_IMODE(st.st_mode))
    for directory, st in reversed(dirs):
        if directory.is_dir():
            os.utime(directory, ns=(st.st_atime_ns, st.st_mtime_ns))


def _prune_empty(stage: Path, candidates: set[str]) -> None:
    """Remove directories left empty by removing placed files (never the target itself)."""
    for rel in sorted(candidates, key=lambda r: -len(Path(r).parts)):
        path = stage / rel
        while path != stage and path.is_dir() and not any(path.iterdir()):
            path.rmdir()
            path = path.parent


def _fsync_tree(stage: Path) -> None:
    for dirpath, _dirnames, _filenames in os.walk(stage):
        try:
            fd = os.open(dirpath, os.O_RDONLY)
        except OSError:
            continue
        try:
            os.fsync(fd)
        except OSError:
            pass
        finally:
            os.close(fd)


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(stage: Path, target: Path, parent: Path) -> None:
    """Swap ``stage`` and ``target`` atomically (Linux renameat2); a two-rename fallback elsewhere."""
    if sys.platform.startswith("linux"):
        import ctypes  # lazy: only when a swap happens: keeps the no-op run's start-up small

        try:
            libc = ctypes.CDLL(None, use_errno=True)
            renameat2 = libc.renameat2
        except (OSError, AttributeError):
            renameat2 = None
        if renameat2 is not None:
            renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
            renameat2.restype = ctypes.c_int
            if renameat2(_AT_FDCWD, os.fsencode(stage), _AT_FDCWD, os.fsencode(target), _RENAME_EXCHANGE) == 0:
                return
            err = ctypes.get_errno()
            if err not in (errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP):
                raise OSError(err, os.strerror(err), str(target))
    # Fallback: a moment exists where the target is absent; `recover` puts it back after a crash.
    old = Path(tempfile.mkdtemp(prefix=f".{target.name}{OLD_PREFIX}{os.getpid()}-", dir=parent))
    old.rmdir()
    os.rename(target, old)
    try:
        os.rename(stage, target)
    except BaseException:
        os.rename(old, target)
        raise
    os.rename(old, stage)  # so the caller removes the old tree


def _phase_hook(on_phase: Callable[[str], None] | None) -> Callable[[str], None]:
    wanted = os.environ.get(_PAUSE_ENV, "")
    pause_phase, _, flag = wanted.partition("=")

    def hook(phase: str) -> None:
        if on_phase is not None:
            on_phase(phase)
        if wanted and phase == pause_phase:
            Path(flag).write_text(str(os.getpid()))
            time.sleep(60)

    return hook


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _excluded(name: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(name, pattern) for pattern in patterns)
