"""The noxfile and the CI workflows: sessions per targeted Python, missing interpreters, actionlint."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest
from conftest import require_program
from hexpack import nox_support
from hexpack.python import pythons

pytestmark = pytest.mark.interpreter_independent  # nox runs on its own interpreter; the workflows are text

REPO = Path(__file__).resolve().parent.parent
WORKFLOWS = REPO / ".github" / "workflows"
TARGETED = ["3.10", "3.11", "3.12", "3.13"]


def nox(*args: str, cwd: Path = REPO, ci: bool | None = None, timeout: float = 120) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        env["CI"] = "true"
    return subprocess.run(
        [require_program("nox"), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def nox_project(root: Path, *, python: str | None = None) -> Path:
    """A copy of this repository's noxfile and pyproject (targeting ``python`` when given), tools linked.

    Its own ``.nox`` keeps the discovery cache away from tests running in parallel on this repository."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "noxfile.py").write_bytes((REPO / "noxfile.py").read_bytes())
    text = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    if python is not None:
        text, count = re.subn(r'(?m)^python = \["3\.1\d".*\]$', f"python = {python}", text)
        assert count == 1
    (root / "pyproject.toml").write_text(text, encoding="utf-8")
    (root / "tools").symlink_to(REPO / "tools")
    return root


def test_nox_lists_tests_and_examples_for_every_targeted_python_and_lint_once(tmp_path):
    """Listing reuses the discovery cache: a second ``nox -l`` runs no interpreter, so it writes no
    cache entry (python-discovery writes one per interpreter it runs). benchmarks/nox_startup.py times it."""
    project = nox_project(tmp_path / "project")
    nox("-l", cwd=project)  # the first call fills the discovery cache
    cache = project / nox_support.SHIM_DIR / pythons.CACHE_NAME

    def entries() -> dict[Path, tuple[int, int]]:
        return {path: (path.stat().st_ino, path.stat().st_mtime_ns) for path in cache.rglob("*.json")}

    before = entries()
    assert before, "nox -l cached no interpreter"
    listed = nox("-l", "--json", cwd=project)
    assert listed.returncode == 0, listed.stderr
    sessions = {entry["session"] for entry in json.loads(listed.stdout)}
    for name in ("tests", "examples"):
        assert {f"{name}-{v}" for v in TARGETED} <= sessions
    assert "lint" in sessions and not any(s.startswith("lint-") for s in sessions)
    assert entries() == before, "nox -l probed interpreters again"


@pytest.fixture(scope="module")
def project_missing_a_python(tmp_path_factory):
    """A copy of this repository's noxfile and pyproject that also targets a Python nobody has."""
    return nox_project(tmp_path_factory.mktemp("project"), python='["3.13", "3.99"]')


def test_a_missing_python_is_a_loud_warning_locally(project_missing_a_python):
    result = nox("-s", "tests-3.99", cwd=project_missing_a_python)
    output = result.stdout + result.stderr
    assert "Python 3.99 not found (searched PATH, pyenv, uv, conda" in output
    assert "uv python install 3.99" in output
    assert "skip" in output.lower()
    assert result.returncode == 0, output


def test_a_missing_python_is_an_error_in_ci(project_missing_a_python):
    result = nox("-s", "tests-3.99", cwd=project_missing_a_python, ci=True)
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Python 3.99 not found" in output and "fail (CI=true)" in output


def test_the_newest_targeted_python_runs_every_test_the_others_what_differs_by_interpreter(tmp_path):
    (tmp_path / "tests").mkdir()
    differs = "not slow and not interpreter_independent"
    assert nox_support.newest_python(["3.9", "3.13", "3.10"]) == "3.13"
    assert nox_support.pytest_args("3.13", TARGETED, [], tmp_path) == ["-n", "auto", "tests"]
    assert nox_support.pytest_args("3.10", TARGETED, [], tmp_path) == ["-n", "auto", "-m", differs, "tests"]
    assert nox_support.pytest_args("3.10", TARGETED, ["-m", "slow", "tests/x.py"], tmp_path) == [
        "-n",
        "auto",
        "-m",
        "slow",
        "tests/x.py",
    ]
    # workers chosen (or xdist switched off) in posargs are left alone
    assert nox_support.pytest_args("3.11", TARGETED, ["-k", "doctor", "-n", "0"], tmp_path) == [
        "-m",
        differs,
        "-k",
        "doctor",
        "-n",
        "0",
    ]
    assert nox_support.pytest_args("3.13", TARGETED, ["-p", "no:xdist"], tmp_path) == ["-p", "no:xdist"]


def test_the_markers_that_select_the_newest_python_are_declared():
    """An undeclared marker in a ``-m`` expression selects nothing and fails nowhere: declare each."""
    from hexpack.config import read_toml

    markers = read_toml(REPO / "pyproject.toml")["tool"]["pytest"]["ini_options"]["markers"]
    declared = {line.split(":")[0] for line in markers}
    assert set(nox_support.NEWEST_ONLY) <= declared


def test_the_tests_session_covers_both_test_trees():
    assert nox_support.pytest_args("3.13", TARGETED, [], REPO) == ["-n", "auto", "tests", "priv_python/tests"]


def test_the_suite_keeps_its_bytecode_in_nox_even_under_pythondontwritebytecode(tmp_path):
    """Each test process would otherwise compile everything it imports again; none lands beside the sources."""
    overrides = nox_support.tests_env(tmp_path, "3.13", TARGETED)
    assert overrides["HEXPACK_TESTS_PYTHON"] == "newest"
    assert nox_support.tests_env(tmp_path, "3.10", TARGETED)["HEXPACK_TESTS_PYTHON"] == "older"
    source = tmp_path / "src"
    source.mkdir()
    (source / "imported_here.py").write_text("VALUE = 1\n")
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    env.update(overrides)  # as nox merges a session.run env: None removes the variable
    env = {k: v for k, v in env.items() if v is not None}
    subprocess.run([sys.executable, "-c", "import imported_here"], cwd=source, env=env, check=True)
    assert list(source.iterdir()) == [source / "imported_here.py"]
    cached = list((tmp_path / nox_support.PYCACHE_DIR).rglob("imported_here.*.pyc"))
    assert len(cached) == 1


def test_hypothesis_keeps_its_tables_in_the_users_cache_for_every_checkout(tmp_path, monkeypatch):
    """Unicode tables computed in one checkout serve the next; a storage directory the user chose is kept."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY", raising=False)
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    where = "from hypothesis.configuration import storage_directory\nprint(storage_directory('unicode_data').path)"

    def storage(overrides: dict[str, str | None]) -> subprocess.CompletedProcess[str]:
        run = [sys.executable, "-c", where]
        env = _subprocess_env(overrides)
        return subprocess.run(run, cwd=checkout, env=env, capture_output=True, text=True, check=False)

    shared = storage(nox_support.tests_env(checkout, "3.13", TARGETED))
    assert shared.stdout.strip() == str(tmp_path / "xdg" / "hexpack" / "hypothesis" / "unicode_data"), shared.stderr
    monkeypatch.setenv("HYPOTHESIS_STORAGE_DIRECTORY", str(tmp_path / "chosen"))
    chosen = storage(nox_support.tests_env(checkout, "3.13", TARGETED))
    assert chosen.stdout.strip() == str(tmp_path / "chosen" / "unicode_data"), chosen.stderr
    monkeypatch.delenv("HYPOTHESIS_STORAGE_DIRECTORY")
    assert storage({}).stdout.strip() == str(checkout / ".hypothesis" / "unicode_data")  # without the session's


def _subprocess_env(overrides: dict[str, str | None]) -> dict[str, str]:
    env = {**os.environ, **overrides}  # as nox merges a session.run env: None removes the variable
    return {k: v for k, v in env.items() if v is not None}


def test_each_interpreters_compiled_standard_library_is_read_through_the_prefix(tmp_path):
    """A fresh checkout reads the bytecode the interpreter's installation holds, not a new compile of its own."""
    prefix = tmp_path / nox_support.PYCACHE_DIR
    env = _subprocess_env(nox_support.tests_env(tmp_path, "3.13", TARGETED))
    where = "import importlib.util\nspec = importlib.util.find_spec('json')\nprint(spec.cached)\nprint(spec.origin)"
    read_at, origin = subprocess.run(  # where that Python reads json's bytecode, without importing json
        [sys.executable, "-c", where], env=env, capture_output=True, text=True, check=True
    ).stdout.split()
    installed = Path(origin).parent / "__pycache__" / Path(read_at).name
    assert read_at.startswith(str(prefix)) and installed.is_file()
    assert not Path(read_at).exists()

    linked = nox_support.seed_stdlib_bytecode(prefix, [Path(sys.executable)])
    assert linked > 100  # the whole standard library, but its tests and GUI
    assert Path(read_at).samefile(installed)
    seeded_stdlib = Path(f"{prefix}{sysconfig.get_path('stdlib')}")
    assert (seeded_stdlib / "json").is_dir()
    assert not (seeded_stdlib / "idlelib").exists() and not (seeded_stdlib / "site-packages").exists()
    assert nox_support.seed_stdlib_bytecode(prefix, [Path(sys.executable)]) == 0  # once per interpreter

    # Python takes it as valid: importing json under the prefix writes nothing new
    subprocess.run([sys.executable, "-c", "import json"], env=env, check=True)
    assert Path(read_at).samefile(installed)


def test_an_interpreter_that_cannot_answer_is_left_to_compile_its_own(tmp_path):
    broken = tmp_path / "python3.99"
    broken.write_text("#!/bin/sh\nexit 3\n")
    broken.chmod(0o755)
    assert nox_support.seed_stdlib_bytecode(tmp_path / "prefix", [broken, tmp_path / "missing"]) == 0
    assert not (tmp_path / "prefix").exists()


def test_where_links_are_refused_python_compiles_as_before(tmp_path, monkeypatch):
    """Another filesystem (EXDEV) or another owner's files under fs.protected_hardlinks (EPERM): no link, no
    error, and the interpreter is not tried again on the next session."""

    def refuse(source, target):
        raise PermissionError(1, "Operation not permitted", source)

    monkeypatch.setattr(nox_support.os, "link", refuse)
    prefix = tmp_path / "prefix"
    assert nox_support.seed_stdlib_bytecode(prefix, [Path(sys.executable)]) == 0
    assert not list(prefix.rglob("*.pyc"))
    assert len(list(prefix.glob(".stdlib-*"))) == 1


def test_the_session_names_its_pytest_plugins_instead_of_loading_every_installed_one(tmp_path):
    """xdist and hypothesis still load (``-n`` and hypothesis's options parse; the session itself runs on
    ``-n auto`` with these names); hypothesis's own modules are no longer rewritten by pytest's assert
    rewriting, which only modules of autoloaded plugins get."""
    (tmp_path / "test_one.py").write_text(
        "import sys\n\ndef test_one():\n    assert 'hypothesis.core' in sys.modules or True\n\n"
        "def test_not_rewritten():\n"
        "    import hypothesis\n"
        "    assert not hypothesis.__spec__.loader.__class__.__name__.startswith('Assertion')\n"
    )
    plugins_only = {
        k: v for k, v in nox_support.tests_env(tmp_path, "3.13", TARGETED).items() if k.startswith("PYTEST")
    }
    env = _subprocess_env(plugins_only)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "0", "--hypothesis-seed", "1", "."],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    autoloaded = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:xdist", "."],
        cwd=tmp_path,
        env={k: v for k, v in env.items() if not k.startswith("PYTEST_")},
        capture_output=True,
        text=True,
    )
    assert "test_not_rewritten" in autoloaded.stdout and autoloaded.returncode == 1  # what the names avoid


def test_the_temporary_tree_is_moved_aside_at_once_and_deleted_by_a_detached_process(tmp_path):
    import time

    basetemp = tmp_path / "hexpack-pytest-0-abc-3.13"
    (basetemp / "venv" / "lib").mkdir(parents=True)
    for i in range(200):
        (basetemp / "venv" / "lib" / f"m{i}.py").write_text("x = 1\n")
    interrupted = tmp_path / "hexpack-pytest-0-abc-3.13.deleting-1"  # a deletion killed part-way
    (interrupted / "left").mkdir(parents=True)
    unrelated = tmp_path / "hexpack-pytest-0-abc-3.12"
    unrelated.mkdir()
    nox_support.remove_in_background(basetemp)
    assert not basetemp.exists()  # free for the next run at once
    deadline = time.monotonic() + 60
    while any(tmp_path.glob("*.deleting-*")) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sorted(p.name for p in tmp_path.iterdir()) == [unrelated.name]
    nox_support.remove_in_background(tmp_path / "gone")  # nothing to remove: nothing raised


def test_older_sessions_do_not_import_modules_whose_every_test_is_newest_only(tmp_path):
    from conftest import pytest_ignore_collect

    class Config:
        def __init__(self, markexpr: str):
            self.markexpr = markexpr

        def getoption(self, name: str) -> str:
            assert name == "markexpr"
            return self.markexpr

    older = " and ".join(f"not {marker}" for marker in nox_support.NEWEST_ONLY)
    newest_only = tmp_path / "test_newest_only.py"
    newest_only.write_text("import pytest\n\npytestmark = pytest.mark.interpreter_independent  # why\n")
    mixed = tmp_path / "test_mixed.py"
    mixed.write_text("import pytest\n\n@pytest.mark.slow\ndef test_a():\n    pass\n")
    listed = tmp_path / "test_listed.py"
    listed.write_text("import pytest\n\npytestmark = [pytest.mark.slow]\n")
    assert pytest_ignore_collect(newest_only, Config(older)) is True
    assert pytest_ignore_collect(mixed, Config(older)) is None
    assert pytest_ignore_collect(listed, Config(older)) is None  # not recognised: collected, then deselected
    assert pytest_ignore_collect(newest_only, Config("")) is None  # the newest Python runs everything
    assert pytest_ignore_collect(newest_only, Config("slow")) is None
    assert pytest_ignore_collect(newest_only, Config("not slow")) is None
    assert pytest_ignore_collect(newest_only, Config("not slow or not interpreter_independent")) is None


# --------------------------------------------------------------------------- workflows


def test_the_ci_matrix_is_the_targeted_pythons():
    text = (WORKFLOWS / "ci.yml").read_text(encoding="utf-8")
    matrix = re.search(r"(?m)^\s+python: (\[.*\])$", text)
    assert matrix and json.loads(matrix.group(1)) == pythons.targeted(REPO)
    assert "erlef/setup-beam@" in text
    assert 'nox -s "tests-${{ matrix.python }}" "examples-${{ matrix.python }}"' in text
    newest = nox_support.newest_python(pythons.targeted(REPO))
    assert f"if: matrix.python == '{newest}' && !matrix.hex\n        run: nox -s lint\n" in text  # lint once
    # every targeted Python with Hex (setup-beam's), and the newest once more without it
    assert "hex: [true]" in text and "install-hex: ${{ matrix.hex }}" in text
    assert re.search(rf'- python: "{re.escape(newest)}"\n\s+hex: false\n', text)
    assert "nox -s verify_package" in text  # the package job, with every targeted Python installed at once
    for version in pythons.targeted(REPO):
        assert f"            {version}\n" in text


def test_the_release_workflow_publishes_a_v_tag_with_secrets():
    text = (WORKFLOWS / "release.yml").read_text(encoding="utf-8")
    assert re.search(r'tags: \["v\*"\]', text)
    assert "nox -s release -- --publish" in text
    for secret in ("secrets.HEX_API_KEY", "secrets.TWINE_PASSWORD"):
        assert secret in text
    for version in pythons.targeted(REPO):
        assert f"            {version}\n" in text


def test_actionlint_accepts_both_workflows():
    actionlint = require_program("actionlint")
    result = subprocess.run(
        [actionlint, "ci.yml", "release.yml"], cwd=WORKFLOWS, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(tmp_path):
    actionlint = require_program("actionlint")
    broken = tmp_path / ".github" / "workflows"
    broken.mkdir(parents=True)
    (broken / "ci.yml").write_text(
        "on: push\njobs:\n  t:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: echo ${{ matrix.nope }}\n",
        encoding="utf-8",
    )
    result = subprocess.run(
        [actionlint, ".github/workflows/ci.yml"], cwd=tmp_path, capture_output=True, text=True, timeout=60
    )
    assert result.returncode != 0 and "matrix" in result.stdout


def targeted_pythons_without(modules: tuple[str, ...], root: Path) -> subprocess.CompletedProcess:
    """``nox_support.targeted_pythons(root)`` in a new interpreter that cannot import ``modules``."""
    code = (
        "import sys, importlib.abc, logging\n"
        "class Block(importlib.abc.MetaPathFinder):\n"
        "    def find_spec(self, name, path, target=None):\n"
        f"        if name.split('.')[0] in {modules!r}:\n"
        "            raise ModuleNotFoundError('blocked ' + name, name=name)\n"
        "sys.meta_path.insert(0, Block())\n"
        "logging.basicConfig(format='%(message)s')\n"
        f"sys.path.insert(0, {str(REPO / 'tools')!r})\n"
        "from hexpack import nox_support\n"
        f"print(nox_support.targeted_pythons(__import__('pathlib').Path({str(root)!r})))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_noxfile_imports_only_what_nox_has(tmp_path):
    """nox imports the noxfile with its own interpreter: hexpack's dependencies may be absent."""
    project = nox_project(tmp_path / "project")  # no .nox yet: discovery runs
    result = targeted_pythons_without(("tomlkit", "hypothesis", "grpc"), project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == str(TARGETED)


def test_a_nox_without_python_discovery_is_named_with_the_upgrade(tmp_path):
    """nox before 2026.8.10 neither depends on python-discovery nor (with virtualenv 20) brings it."""
    result = targeted_pythons_without(("python_discovery",), nox_project(tmp_path / "project"))
    assert result.returncode == 2, result.stderr
    expected = "hexpack: nox's environment lacks python-discovery; upgrade nox: pip install 'nox>=2026.8.10'"
    assert expected in result.stderr
