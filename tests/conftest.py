"""Shared fixtures.

The reference projects under ``tests/fixtures/hex-reference`` are a copy of
what the real ``mix hex.build`` (Hex 2.5.1) produced; see its README.
"""

from __future__ import annotations

import contextlib
import importlib
import os
import re
import shutil
import sys
from pathlib import Path

import pytest
from hypothesis import settings

REPO = Path(__file__).resolve().parent.parent
HEX_REFERENCE = REPO / "tests" / "fixtures" / "hex-reference"
REFERENCE_CASES = ("default_files", "hybrid_globs", "missing_files", "path_dependency", "regex_excludes", "package_map")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# Set by the nox `tests` session (hexpack.nox_support.tests_env) on the targeted Pythons but the newest.
ON_AN_OLDER_PYTHON = os.environ.get("HEXPACK_TESTS_PYTHON") == "older"


def examples(ci: int, local: int | None = None) -> int:
    """Cases a property test draws: ``ci`` in CI, ``local`` (default ``ci``) elsewhere; a tenth on the older
    targeted Pythons. The drawn cases explore the input space of code that is the same on every Python; the
    interpreter's part (its stdlib, its regex engine) is reached by the first few, and the newest Python draws
    them all."""
    wanted = ci if IN_CI or local is None else local
    return max(5, wanted // 10) if ON_AN_OLDER_PYTHON else wanted


# Property tests draw the same cases on every run, so a CI result can be reproduced and
# never depends on luck. HEXPACK_FUZZ_RANDOM=1 explores fresh random cases instead; pin
# what it finds as a plain regression test.
settings.register_profile("hexpack", derandomize=os.environ.get("HEXPACK_FUZZ_RANDOM", "") != "1")
settings.load_profile("hexpack")


def require_program(name: str) -> str:
    """Path of ``name``; in CI its absence fails the test, locally it skips."""
    found = shutil.which(name)
    if found is None:
        message = f"{name} is required for this test (install it; .ci/install does)"
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    return found


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that takes the ``elixir`` fixture tests what Elixir does, whatever Python runs it.

    The modules that hold slow tests run first, each kept whole (its module fixtures set up once), then
    the property tests (hundreds of drawn cases each, the longest tests where slow ones do not run): with
    pytest-xdist the longest tests start early instead of ending the run on one busy worker.
    """
    for item in items:
        if "elixir" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.interpreter_independent)
    with_slow_tests = {item.path for item in items if item.get_closest_marker("slow")}

    def start(item: pytest.Item) -> int:
        if item.path in with_slow_tests:
            return 0
        return 1 if getattr(getattr(item, "obj", None), "is_hypothesis_test", False) else 2

    items.sort(key=start)  # stable: the order within stays


_MODULE_MARK = re.compile(r"^pytestmark = pytest\.mark\.(\w+)\b", re.MULTILINE)


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """A module marked as a whole with a marker that ``-m "not a and not b"`` deselects is not imported.

    The older Pythons' sessions deselect the newest-only tests (hexpack.nox_support); importing
    their modules only to deselect every test would rewrite the asserts of about 3,000 lines in
    each pytest-xdist worker of each of those sessions. The tests collected stay the same.
    """
    negated = re.fullmatch(r"not (\w+)(?: and not (\w+))*", config.getoption("markexpr") or "")
    if negated is None or collection_path.suffix != ".py" or not collection_path.name.startswith("test_"):
        return None
    deselected = set(re.findall(r"not (\w+)", negated.group(0)))
    module_mark = _MODULE_MARK.search(collection_path.read_text(encoding="utf-8"))
    return True if module_mark and module_mark.group(1) in deselected else None


@pytest.hookimpl(tryfirst=True)
def pytest_collection(session: pytest.Session) -> None:
    """Each pytest-xdist worker imports its own share of ``tests/`` (by size) before collecting.

    Every worker collects every module, and the first import of one compiles it and rewrites its asserts
    (into ``.nox/_pycache``). In a fresh checkout the workers started together and compiled the same modules
    side by side; now each compiles its share while the others compile theirs, and collection then finds
    them compiled. Collection is unchanged: an import that fails here is left for it to report.
    """
    worker = os.environ.get("PYTEST_XDIST_WORKER", "")
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    here = Path(__file__).parent
    if not worker.startswith("gw") or count < 2 or sys.dont_write_bytecode or str(here) not in sys.path:
        return  # not a worker, one worker, no bytecode written, or not pytest's prepend import mode
    asked = [session.config.invocation_params.dir / arg.split("::")[0] for arg in session.config.args]
    modules = [
        path
        for path in sorted(here.glob("test_*.py"))
        if any(path == target or target in path.parents for target in asked)
        and not pytest_ignore_collect(path, session.config)
    ]
    sizes = [path.stat().st_size for path in modules]
    index, total, start = int(worker[2:]), sum(sizes), 0
    for path, size in zip(modules, sizes, strict=True):
        if index * total <= start * count < (index + 1) * total:
            with contextlib.suppress(Exception, pytest.skip.Exception, pytest.fail.Exception):
                importlib.import_module(path.stem)  # a failed import leaves nothing in sys.modules
        start += size


@pytest.fixture(scope="session")
def _no_mix_archives(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("mix-archives-none")


@pytest.fixture(autouse=True)
def _built_in_engine_unless_engine_choice(request, _no_mix_archives, monkeypatch) -> None:
    """Every test sees Mix without Hex, so verify's ``auto`` engine is the built-in one and no
    ``mix hex.build`` or ``mix hex.info`` runs, whether or not this machine has Hex (issue 12).
    Tests marked ``engine_choice`` see the machine as it is."""
    if request.node.get_closest_marker("engine_choice") is None:
        monkeypatch.setenv("MIX_ARCHIVES", str(_no_mix_archives))


@pytest.fixture(scope="session")
def elixir() -> str:
    return require_program("elixir")


class ElixirReads:
    """Projects read up front by one ``elixir`` process (``read_several_with_elixir``), for the tests that
    compare the static reader with Elixir: a BEAM start, about 0.7 s of CPU, per test module instead of per
    project. ``requests`` maps a key to ``(root, variables)``; ``use`` gives a test the root with the same
    variables set in its own process, so both readers see one environment."""

    def __init__(self, requests: dict[object, tuple[Path, dict[str, str | None]]]):
        from hexpack.mix.elixir import read_several_with_elixir

        self._requests = requests
        self._results = dict(zip(requests, read_several_with_elixir(list(requests.values())), strict=True))

    def use(self, key: object, monkeypatch: pytest.MonkeyPatch) -> Path:
        root, variables = self._requests[key]
        for name, value in variables.items():
            if value is None:
                monkeypatch.delenv(name, raising=False)
            else:
                monkeypatch.setenv(name, value)
        return root

    def read(self, key: object):
        """What Elixir read for ``key``; its ProjectError is raised here, in the test that asks."""
        result = self._results[key]
        if isinstance(result, Exception):
            raise result
        return result


def copy_reference(case: str, target: Path) -> Path:
    """Copy ``hex-reference/<case>/project`` to ``target``, symlinks kept."""
    shutil.copytree(HEX_REFERENCE / case / "project", target, symlinks=True)
    return target


@pytest.fixture
def reference_project(tmp_path):
    """Factory: copy ``hex-reference/<case>/project`` into tmp_path, symlinks kept."""
    return lambda case: copy_reference(case, tmp_path / case)
