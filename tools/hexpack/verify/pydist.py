"""Gate 5: the Python distribution of the bridge (sdist + wheel).

1. ``python -m build`` (sdist, then the wheel from the sdist, as PyPI users
   get it) in a build environment that holds exactly ``build`` and
   ``[build-system] requires`` (made by uv once per Python and requirement
   list, then reused like the smoke venvs, so a warm run needs no index);
2. ``twine check --strict`` on both;
3. the wheel holds every generated stub (``*_pb2.py``, ``*_pb2_grpc.py``,
   ``*_pb2.pyi``) and a ``py.typed`` per package, and neither file carries tests
   or junk (the forbidden patterns of gate 3);
4. the wheel installed into a fresh venv (cached by the wheel's hash, see
   :mod:`.venvs`) serves: its console script prints ``READY <port>``, answers
   a health check and a Ping through the *installed* stubs, and exits 0 on
   SIGTERM.
"""

from __future__ import annotations

import configparser
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .. import proc
from ..config import read_toml
from ..errors import HexpackError
from ..fsutil import atomic_write_bytes
from .gates import Gate, fail, findings_from_error, note
from .launch import check_server
from .patterns import PathPattern
from .settings import VerifySettings
from .venvs import VenvCache, clean_env

GROUP = "5 python dist"
STUB_SUFFIXES = ("_pb2.py", "_pb2_grpc.py", "_pb2.pyi")
SKIP_DIRS = {"__pycache__", ".git", ".venv", ".nox", ".pytest_cache", ".mypy_cache", ".ruff_cache", "build", "dist"}
TEST_PARTS = {"tests", "test", "conftest.py"}


def _source_stubs(src: Path) -> list[str]:
    found = []
    for path in sorted(src.rglob("*")):
        rel = path.relative_to(src)
        if any(part in SKIP_DIRS or part in TEST_PARTS for part in rel.parts):
            continue
        if path.is_file() and path.name.endswith(STUB_SUFFIXES) and len(rel.parts) > 1:
            found.append(rel.as_posix())
    return found


def _is_test(path: str) -> bool:
    parts = path.split("/")
    name = parts[-1]
    return any(p in TEST_PARTS for p in parts) or (name.startswith("test_") and name.endswith(".py"))


def _junk(paths: list[str], settings: VerifySettings) -> list[str]:
    hits = []
    for path in paths:
        if any(PathPattern(pattern).matches(path) for pattern, _ in settings.forbidden):
            hits.append(path)
    return hits


def wheel_contents(wheel: Path, src: Path, settings: VerifySettings) -> list:
    """Findings about what the wheel holds."""
    with zipfile.ZipFile(wheel) as archive:
        names = [n for n in archive.namelist() if not n.endswith("/")]
    found = []
    name_set = set(names)
    missing = [s for s in _source_stubs(src) if s not in name_set]
    for stub in missing:
        found.append(fail("generated stub missing from the wheel", subject=stub, hint="include it in the wheel target"))
    packages = sorted({n.split("/")[0] for n in names if n.count("/") == 1 and n.endswith("/__init__.py")})
    for package in packages:
        if f"{package}/py.typed" not in name_set:
            found.append(
                fail("no py.typed in the wheel", subject=f"{package}/py.typed", hint="add an empty py.typed file")
            )
    tests = [n for n in names if _is_test(n)]
    if tests:
        found.append(fail(f"tests in the wheel: {', '.join(tests[:5])}", subject=wheel.name, hint="exclude tests/"))
    junk = _junk(names, settings)
    if junk:
        found.append(fail(f"junk in the wheel: {', '.join(junk[:5])}", subject=wheel.name))
    if not found:
        stubs = len(_source_stubs(src))
        found.append(note(f"{len(names)} files: {stubs} stub(s), py.typed in {', '.join(packages) or '-'}, no tests"))
    return found


def sdist_contents(sdist: Path, settings: VerifySettings) -> list:
    with tarfile.open(sdist) as archive:
        names = [m.name.split("/", 1)[1] for m in archive.getmembers() if m.isfile() and "/" in m.name]
    junk = _junk(names, settings)
    if junk:
        return [fail(f"junk in the sdist: {', '.join(junk[:5])}", subject=sdist.name)]
    return [note(f"{len(names)} files, no junk")]


def console_scripts(wheel: Path) -> dict[str, str]:
    with zipfile.ZipFile(wheel) as archive:
        entry = next((n for n in archive.namelist() if n.endswith(".dist-info/entry_points.txt")), None)
        if entry is None:
            return {}
        parser = configparser.ConfigParser()
        parser.read_string(archive.read(entry).decode())
    return dict(parser["console_scripts"]) if parser.has_section("console_scripts") else {}


def build_requires(src: Path) -> list[str]:
    """``[build-system] requires`` of the dist (setuptools' default when absent)."""
    table = read_toml(src / "pyproject.toml").get("build-system", {})
    requires = table.get("requires", ["setuptools>=40.8.0"])
    if not isinstance(requires, list) or not all(isinstance(r, str) for r in requires):
        raise HexpackError("[build-system] requires must be a list of strings", subject=str(src / "pyproject.toml"))
    return requires


def _build_env(src: Path, python: Path, cache: VenvCache) -> Path:
    """A venv holding exactly ``build``, ``twine`` and the build requirements: ``python -m build``'s
    isolated environment, made once per (python, requirements) and reused (see :mod:`.venvs`)."""
    install = ["build", "twine", *sorted(build_requires(src))]
    venv = cache.ensure(
        python,
        label="build-" + python.name,
        install=install,
        payload="\n".join(install).encode(),
        purpose="build-env",
    )
    return venv.python


@dataclass
class _Dists:
    """What every distribution's gates share in one run; ``made`` collects the checked sdists and wheels."""

    settings: VerifySettings
    cache: VenvCache
    python: Path | None
    made: list[Path] = field(default_factory=list)


def run(
    root: Path,
    settings: VerifySettings,
    cache: VenvCache,
    python: Path | None,
    *,
    workdir: Path | None = None,
    keep: Path | None = None,
    on_gate: Callable[..., object] = lambda *gates: None,
) -> list[Gate]:
    """The gates of the Python dist and of each ``python_tools`` dist; ``keep``: copy every sdist and
    wheel there once all of them passed; ``on_gate`` hears of each dist's gates as they finish."""
    gates: list[Gate] = []
    dists = _Dists(settings, cache, python)
    with tempfile.TemporaryDirectory(prefix="hexpack-pydist-", dir=workdir) as tmp:
        bridge = _bridge(root, dists, Path(tmp) / "bridge")
        on_gate(*bridge)
        gates += bridge
        for index, tool in enumerate(settings.python_tools):
            tool_gates = _tool(root, tool, dists, Path(tmp) / f"tool-{index}")
            on_gate(*tool_gates)
            gates += tool_gates
        if keep is not None and dists.made and all(g.status.value in ("pass", "skip") for g in gates):
            keep.mkdir(parents=True, exist_ok=True)
            for file in dists.made:
                atomic_write_bytes(keep / file.name, file.read_bytes(), mode=0o644)
            gates[-1].details["kept"] = [str(keep / file.name) for file in dists.made]
    return gates


def _build_and_check(
    src: Path, shown: str, dists: _Dists, out: Path, build: Gate, twine: Gate
) -> tuple[Path, Path] | None:
    """``python -m build`` then ``twine check --strict``; the (wheel, sdist), or None when the build failed."""
    build_python = None
    with build.timed():
        if dists.python is None:
            raise HexpackError("no targeted Python found to build with", subject=shown)
        build_python = _build_env(src, dists.python, dists.cache)
        proc.run(
            [str(build_python), "-m", "build", "--no-isolation", "--outdir", str(out), str(src)],
            env=clean_env(),
            timeout=300,
            hint=f"see `python -m build {shown}`",
        )
    wheels, sdists = sorted(out.glob("*.whl")), sorted(out.glob("*.tar.gz"))
    if not build.findings and (not wheels or not sdists):
        build.add(fail("python -m build made no sdist or no wheel", subject=shown))
    if build.status.value == "fail" or build_python is None:
        return None
    wheel, sdist = wheels[0], sdists[0]
    build.add(note(f"{sdist.name}, {wheel.name}"))
    with twine.timed():
        argv = [str(build_python), "-m", "twine", "check", "--strict", str(sdist), str(wheel)]
        done = proc.run(argv, env=clean_env(), check=False)
        if done.returncode != 0:
            said = " ".join(line.strip() for line in (done.stdout + done.stderr).splitlines() if "PASSED" not in line)
            twine.add(fail(f"twine check --strict failed: {said[:300]}", subject=wheel.name))
        else:
            twine.add(note("PASSED"))
    return wheel, sdist


def _check_dist(
    src: Path,
    shown: str,
    dists: _Dists,
    tmp: Path,
    gates: list[Gate],
    wheel_rule: Callable[[Path, Path, VerifySettings], list],
    installed_check: Callable[[Path, Gate], object],
) -> list[Gate]:
    """Build, twine check, contents (``wheel_rule`` and the sdist's junk), then ``installed_check`` of the
    wheel into the last gate; the sdist and wheel are added to ``dists.made``."""
    build, twine, contents, installed = gates
    built = _build_and_check(src, shown, dists, tmp / "dist", build, twine)
    if built is None:
        for gate in gates[1:]:
            gate.skipped = "the build failed"
        return gates
    wheel, sdist = built
    with contents.timed():
        contents.extend(wheel_rule(wheel, src, dists.settings))
        contents.extend(sdist_contents(sdist, dists.settings))
    with installed.timed():
        installed_check(wheel, installed)
    dists.made.extend([sdist, wheel])
    return gates


def _bridge(root: Path, dists: _Dists, tmp: Path) -> list[Gate]:
    settings = dists.settings
    src = root / settings.python_dist
    gates = [
        Gate(name, GROUP) for name in ("build sdist + wheel", "twine check --strict", "contents", "installed server")
    ]
    if not settings.python_dist:
        for gate in gates:
            gate.skipped = "no Python dist ([tool.hexpack.verify] python_dist is empty)"
        return gates
    if not (src / "pyproject.toml").is_file():
        for gate in gates:
            gate.skipped = f"no {settings.python_dist}/pyproject.toml"
        return gates

    def serve(wheel: Path, gate: Gate) -> None:
        if not settings.has_server:
            gate.skipped = "no server ([tool.hexpack.verify] server = false)"
            return
        _serve(wheel, settings, dists.cache, dists.python, gate, tmp)

    return _check_dist(src, settings.python_dist, dists, tmp, gates, wheel_contents, serve)


def _tool(root: Path, tool: str, dists: _Dists, tmp: Path) -> list[Gate]:
    """A command-line tool's dist (hexpack itself): built, twine-checked, every file of its packages in the
    wheel, and each console script installed from the wheel answers ``--version`` with the dist's version."""
    src = (root / tool).resolve()
    name = _project_name(src) or tool
    checks = ("build sdist + wheel", "twine check --strict", "contents", "installed command")
    gates = [Gate(f"{name}: {check}", GROUP) for check in checks]

    def answers(wheel: Path, gate: Gate) -> None:
        gate.extend(_answers_version(wheel, dists.cache, dists.python))

    return _check_dist(src, tool, dists, tmp, gates, tool_contents, answers)


def _project_name(src: Path) -> str | None:
    name = (
        read_toml(src / "pyproject.toml").get("project", {}).get("name") if (src / "pyproject.toml").is_file() else None
    )
    return name if isinstance(name, str) else None


def tool_contents(wheel: Path, src: Path, settings: VerifySettings) -> list:
    """Every file of the wheel's packages in the source (data files too: templates, scripts) is in the wheel."""
    with zipfile.ZipFile(wheel) as archive:
        names = {n for n in archive.namelist() if not n.endswith("/")}
    packages = sorted({n.split("/")[0] for n in names if n.count("/") == 1 and n.endswith("/__init__.py")})
    found = []
    for package in packages:
        source = _package_source(src, package)
        if source is None:
            continue
        for path in sorted(source.rglob("*")):
            rel = path.relative_to(source)
            if not path.is_file() or any(part in SKIP_DIRS for part in rel.parts) or _junk([rel.as_posix()], settings):
                continue
            if f"{package}/{rel.as_posix()}" not in names:
                shown = path.relative_to(src).as_posix()
                found.append(fail("in the package's source but not in the wheel", subject=shown, hint="include it"))
    tests = sorted(n for n in names if _is_test(n))
    if tests:
        found.append(fail(f"tests in the wheel: {', '.join(tests[:5])}", subject=wheel.name, hint="exclude tests/"))
    junk = _junk(sorted(names), settings)
    if junk:
        found.append(fail(f"junk in the wheel: {', '.join(junk[:5])}", subject=wheel.name))
    return found or [note(f"{len(names)} files: every file of {', '.join(packages) or '-'}, no tests")]


def _package_source(src: Path, package: str) -> Path | None:
    """Where ``package`` lives below ``src`` (``tools/hexpack`` for hexpack): the shallowest match."""
    candidates = [
        path.parent
        for path in src.rglob(f"{package}/__init__.py")
        if not any(part in SKIP_DIRS or part.startswith(".") for part in path.relative_to(src).parts[:-1])
    ]
    return min(candidates, key=lambda p: len(p.parts)) if candidates else None


def _answers_version(wheel: Path, cache: VenvCache, python: Path | None) -> list:
    if python is None:
        return [fail("no targeted Python found to install the wheel into")]
    scripts = console_scripts(wheel)
    if not scripts:
        return [fail("the wheel has no console script", subject=wheel.name)]
    version = wheel.name.split("-")[1]
    venv = cache.ensure(
        python, label="tool-" + python.name, install=[str(wheel)], payload=wheel.read_bytes(), purpose="wheel"
    )
    found = []
    for script in sorted(scripts):
        done = proc.run([str(venv.bin(script)), "--version"], env=clean_env(), check=False, timeout=60)
        said = (done.stdout + done.stderr).strip()
        if done.returncode != 0 or version not in said:
            found.append(fail(f"`{script} --version` exited {done.returncode}: {said[-200:]!r}, not version {version}"))
        else:
            found.append(note(f"`{script} --version` from the installed wheel: {said}"))
    return found


def _serve(wheel: Path, settings: VerifySettings, cache: VenvCache, python: Path | None, gate: Gate, tmp: Path) -> None:
    if python is None:
        gate.add(fail("no targeted Python found to install the wheel into"))
        return
    scripts = console_scripts(wheel)
    if not scripts:
        gate.add(fail("the wheel has no console script to start the server", subject=wheel.name))
        return
    script = next((name for name in scripts if "server" in name), next(iter(scripts)))
    package = scripts[script].split(":")[0].split(".")[0]
    try:
        venv = cache.ensure(
            python, label="wheel-" + python.name, install=[str(wheel)], payload=wheel.read_bytes(), purpose="wheel"
        )
    except HexpackError as exc:
        gate.extend(findings_from_error(exc))
        return
    start = time.monotonic()
    check = check_server(
        [str(venv.bin(script)), "--port", "0"],
        client_python=venv.python,
        client_args=["--package", package],
        env=clean_env(),
        cwd=tmp,
        subject=script,
        timeout=settings.smoke_seconds,
    )
    gate.extend(check.findings)
    gate.details.update({"script": script, "venv": str(venv.path), "venv_reused": venv.reused, **check.to_json()})
    if not check.findings and check.client:
        gate.add(
            note(
                f"{script} on Python {check.client.get('python')}: READY, health SERVING, Ping via "
                f"{check.client.get('module')} ({time.monotonic() - start:.1f} s"
                f"{', cached venv' if venv.reused else ''})"
            )
        )
