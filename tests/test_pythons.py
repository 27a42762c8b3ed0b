"""Targeted versions and interpreter discovery.

The interpreters of the made-up machines are links to the real Python running
the tests, placed where each source keeps its Pythons (python-discovery runs
every candidate to learn its version, so each must be a working Python); the
real pyenv directories of this machine are checked as well.
"""

from __future__ import annotations

import json
import os
import platform
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from hexpack import cli
from hexpack.errors import ProjectError
from hexpack.python import pythons

REPO = Path(__file__).resolve().parent.parent
REAL = Path(os.path.realpath(sys._base_executable))  # the base interpreter of the running Python
MINOR = f"{sys.version_info[0]}.{sys.version_info[1]}"
EXACT = platform.python_version()
OTHER = f"3.{sys.version_info[1] + 1}"  # a version nothing here is


def link(path: Path, target: Path = REAL) -> Path:
    """``path`` made a Python, as installers do: a symlink to a real interpreter."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.symlink_to(target)
    return path


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path):
    """An empty machine: HOME, PATH and PYENV_ROOT all inside tmp_path."""
    home = tmp_path / "home"
    bin_dir = tmp_path / "bin"
    for directory in (home, bin_dir):
        directory.mkdir()
    env = {"HOME": str(home), "PATH": str(bin_dir), "PYENV_ROOT": str(home / ".pyenv")}
    return env, home, bin_dir


def best(env, version=MINOR, **kwargs):
    return pythons.discover(env=env, **kwargs).best(version)


# --------------------------------------------------------------------------- search order and sources


def test_path_comes_before_pyenv_uv_and_conda(machine):
    env, home, bin_dir = machine
    on_path = link(bin_dir / f"python{MINOR}")
    link(home / ".pyenv" / "versions" / EXACT / "bin" / f"python{MINOR}")
    found = best(env)
    assert (found.version, found.source, found.found_as, found.path) == (EXACT, "PATH", on_path, REAL)
    assert found.where == f"PATH (as {on_path})"


def place(source: str, home: Path, tmp_path: Path) -> tuple[Path, dict[str, str]]:
    """An interpreter where ``source`` keeps its Pythons, and the environment variables that say where."""
    if source == "pyenv":
        return link(home / ".pyenv" / "versions" / EXACT / "bin" / f"python{MINOR}"), {}
    if source == "uv":
        return link(home / f".local/share/uv/python/cpython-{EXACT}-linux-x86_64-gnu/bin/python"), {}
    if source == "uv (UV_PYTHON_INSTALL_DIR)":
        return link(tmp_path / "uvpy" / f"cpython-{EXACT}-linux" / "bin" / "python"), {
            "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uvpy")
        }
    if source == "conda":
        prefix = home / "work" / "envs" / "py"
        (home / ".conda").mkdir()
        (home / ".conda" / "environments.txt").write_text(f"{prefix}\n", encoding="utf-8")
        return link(prefix / "bin" / "python"), {}
    assert source == "conda (CONDA_PREFIX)"
    return link(tmp_path / "conda-active" / "bin" / "python3"), {"CONDA_PREFIX": str(tmp_path / "conda-active")}


@pytest.mark.parametrize("source", ["pyenv", "uv", "uv (UV_PYTHON_INSTALL_DIR)", "conda", "conda (CONDA_PREFIX)"])
def test_each_source_is_searched_and_reported(machine, tmp_path, source):
    env, home, _ = machine
    placed, variables = place(source, home, tmp_path)
    found = best({**env, **variables})
    assert (found.version, found.source, found.found_as, found.path) == (EXACT, source.split()[0], placed, REAL)


def test_the_version_is_what_the_interpreter_says_not_its_name(machine):
    env, _, bin_dir = machine
    link(bin_dir / f"python{OTHER}")
    discovery = pythons.discover(env=env)
    assert discovery.best(OTHER) is None
    assert discovery.best(MINOR).version == EXACT


def test_one_interpreter_under_several_names_is_listed_once(machine):
    env, _, bin_dir = machine
    for name in (f"python{MINOR}", "python3", "python"):
        link(bin_dir / name)
    assert [i.path for i in pythons.discover(env=env).interpreters] == [REAL]


def test_a_broken_interpreter_is_passed_over(machine):
    env, _, bin_dir = machine
    script(bin_dir / f"python{MINOR}", "echo 'libpython.so: cannot open shared object file' >&2; exit 1")
    assert pythons.discover(env=env).interpreters == []
    after = link(bin_dir.parent / "later" / f"python{MINOR}")
    assert best({**env, "PATH": f"{bin_dir}{os.pathsep}{after.parent}"}).found_as == after


def test_candidates_are_probed_with_the_standard_librarys_distutils(machine, tmp_path):
    """setuptools' distutils shim makes each probe of a Python that has setuptools import pkg_resources
    (about 0.25 s); the candidate is asked with the standard library's distutils instead."""
    env, _, bin_dir = machine
    seen = tmp_path / "seen"
    script(bin_dir / f"python{MINOR}", f'echo "${{SETUPTOOLS_USE_DISTUTILS:-unset}}" >> {seen}; exec {REAL} "$@"')
    assert best({**env, "SETUPTOOLS_USE_DISTUTILS": "local"}).found_as == bin_dir / f"python{MINOR}"
    assert set(seen.read_text().split()) == {"stdlib"}


def test_a_venv_on_path_counts_as_the_python_it_was_made_from(machine, tmp_path):
    env, _, _ = machine
    venv = tmp_path / "venv"
    subprocess.run([REAL, "-m", "venv", "--without-pip", venv], check=True, timeout=120)
    found = best({**env, "PATH": str(venv / "bin")})
    assert (found.path, found.found_as.parent, found.source) == (REAL, venv / "bin", "PATH")


def test_the_python_running_hexpack_counts_only_where_the_search_meets_it(machine, tmp_path):
    env, _, _ = machine
    env = {**env, "PATH": f"{tmp_path / 'nowhere'}{os.pathsep}{env['PATH']}"}
    assert pythons.discover(env=env).interpreters == []
    assert pythons.discover(env={**env, "PATH": str(Path(sys.executable).parent)}).best(MINOR) is not None


# --------------------------------------------------------------------------- pyenv shims


def test_pyenv_versions_take_the_place_of_its_shims_which_never_run(machine, tmp_path):
    """A shim runs only what pyenv selected (a shim of another version fails): hexpack searches
    every version directory instead, at the shims' place on PATH."""
    env, home, bin_dir = machine
    root = home / ".pyenv"
    runs = tmp_path / "shim-runs"
    shim = script(root / "shims" / f"python{MINOR}", f"echo run >> {runs}; echo 'pyenv: not selected' >&2; exit 127")
    real = link(root / "versions" / EXACT / "bin" / f"python{MINOR}")
    link(bin_dir / f"python{MINOR}")  # after the shims on PATH
    env = {**env, "PATH": f"{shim.parent}{os.pathsep}{bin_dir}"}
    found = best(env)
    assert (found.found_as, found.source) == (real, "pyenv")
    assert not runs.exists()
    assert best({**env, "PYENV_ROOT": str(tmp_path / "no-pyenv")}).source == "PATH"  # no versions, no shims


# --------------------------------------------------------------------------- cache, locate, expose


def test_the_cache_keeps_each_interpreters_answers(machine, tmp_path):
    env, _, bin_dir = machine
    link(bin_dir / f"python{MINOR}")
    cache = tmp_path / "cache"
    assert best(env, cache=cache).version == EXACT
    stored = {path: path.stat().st_mtime_ns for path in cache.rglob("*.json")}
    assert stored
    assert best(env, cache=cache).version == EXACT
    assert {path: path.stat().st_mtime_ns for path in cache.rglob("*.json")} == stored


def test_doctor_and_pythons_cache_in_nox_where_it_ran_else_in_the_users_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    project = tmp_path / "project"
    project.mkdir()
    assert pythons.discovery_cache(project) == tmp_path / "xdg" / "hexpack" / pythons.CACHE_NAME
    (project / ".nox").mkdir()
    assert pythons.discovery_cache(project) == project / ".nox" / "_hexpack_pythons" / pythons.CACHE_NAME


@pytest.mark.interpreter_independent  # the cache's wiring; the interpreters probed are the machine's
def test_hexpack_pythons_probes_each_interpreter_once_across_runs(tmp_path):
    """The second run (a new process: python-discovery also remembers answers in memory) answers from the
    user's cache: not one answer is written again."""
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text('[tool.hexpack]\npython = ["3.13"]\n')
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    cache = tmp_path / "xdg" / "hexpack" / pythons.CACHE_NAME

    def run() -> dict[Path, int]:
        argv = [sys.executable, "-m", "hexpack", "pythons", "--project", str(project)]
        subprocess.run(argv, env=env, capture_output=True, timeout=120, check=False)
        return {path: path.stat().st_mtime_ns for path in cache.rglob("*.json")}

    stored = run()
    assert stored
    assert run() == stored


def test_locate_and_find_answer_per_version(machine):
    env, _, bin_dir = machine
    link(bin_dir / f"python{MINOR}")
    assert pythons.locate([MINOR, OTHER], env=env) == {MINOR: best(env), OTHER: None}
    assert pythons.find(MINOR, env=env) == REAL


def test_pyenv_versions_that_are_not_wanted_are_not_run(machine, tmp_path):
    env, home, _ = machine
    runs = tmp_path / "runs"
    script(home / ".pyenv" / "versions" / "3.8.18" / "bin" / "python3", f"echo run >> {runs}; exit 1")
    wanted = link(home / ".pyenv" / "versions" / EXACT / "bin" / f"python{MINOR}")
    assert pythons.locate([MINOR], env=env)[MINOR].found_as == wanted
    assert not runs.exists()
    pythons.discover(env=env)  # every version: 3.8.18's runs too
    assert runs.exists()


def test_expose_links_each_found_version_and_is_skipped_on_path(machine, tmp_path):
    env, home, _ = machine
    placed = link(home / ".pyenv" / "versions" / EXACT / "bin" / f"python{MINOR}")
    shims = tmp_path / "exposed"
    found = pythons.expose([OTHER, MINOR], shims, env=env)
    assert found == {MINOR: REAL}
    assert os.readlink(shims / f"python{MINOR}") == str(REAL)
    assert not (shims / f"python{OTHER}").exists()
    assert any((shims / pythons.CACHE_NAME).rglob("*.json"))
    # with the links first on PATH, discovery still reports where the interpreter was met
    env = {**env, "PATH": f"{shims}{os.pathsep}{env['PATH']}"}
    assert (best(env).source, best(env).found_as) == ("pyenv", placed)


def test_expose_searches_again_only_when_a_searched_directory_changed(machine, tmp_path):
    """nox calls expose on every run: with nothing installed or removed since, the links stand unsearched."""
    env, home, _ = machine
    shims = tmp_path / "exposed"
    assert pythons.expose([MINOR], shims, env=env) == {}
    link(home / ".pyenv" / "versions" / EXACT / "bin" / f"python{MINOR}")  # an install: versions/ changes
    assert pythons.expose([MINOR], shims, env=env) == {MINOR: REAL}
    cache = shims / pythons.CACHE_NAME
    shutil.rmtree(cache)
    assert pythons.expose([MINOR], shims, env=env) == {MINOR: REAL}
    assert not any(cache.rglob("*.json")), "nothing changed, yet discovery ran"
    (shims / f"python{MINOR}").unlink()
    (shims / f"python{MINOR}").symlink_to(tmp_path / "uninstalled")  # a link whose target went away
    assert pythons.expose([MINOR], shims, env=env) == {MINOR: REAL}
    assert os.readlink(shims / f"python{MINOR}") == str(REAL)


# --------------------------------------------------------------------------- targeted versions


def write_project(root: Path, hexpack: str = "", requires: str | None = None, priv_requires: str | None = None) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    project = '[project]\nname = "x"\nversion = "1.0.0"\n' + (f'requires-python = "{requires}"\n' if requires else "")
    (root / "pyproject.toml").write_text(project + hexpack, encoding="utf-8")
    if priv_requires is not None:
        (root / "priv_python").mkdir()
        (root / "priv_python" / "pyproject.toml").write_text(
            f'[project]\nname = "y"\nrequires-python = "{priv_requires}"\n', encoding="utf-8"
        )
    return root


def test_this_repository_targets_310_to_313():
    assert pythons.targeted(REPO) == ["3.10", "3.11", "3.12", "3.13"]


def test_targeted_versions_come_from_tool_hexpack(tmp_path):
    root = write_project(tmp_path, '[tool.hexpack]\npython = ["3.13", "3.11", "3.11"]\n', requires=">=3.8")
    assert pythons.targeted(root) == ["3.11", "3.13"]


@pytest.mark.parametrize("value", ['"3.12"', "[]", '["3"]', '["3.12.1"]', "[312]"])
def test_a_malformed_python_setting_is_refused_naming_the_file(tmp_path, value):
    root = write_project(tmp_path, f"[tool.hexpack]\npython = {value}\n")
    with pytest.raises(ProjectError, match=r"pyproject\.toml \[tool\.hexpack\]: python must be a non-empty list"):
        pythons.targeted(root)


def test_the_default_is_requires_python_of_the_python_package(tmp_path):
    root = write_project(tmp_path, requires=">=3.9", priv_requires=">=3.11")
    assert pythons.targeted(root) == ["3.11", "3.12", "3.13", "3.14"]


def test_the_default_reads_priv_python_in_snakepits_layout_as_init_does(tmp_path):
    root = write_project(tmp_path, requires=">=3.9")
    package = root / "priv" / "python" / "pyproject.toml"
    package.parent.mkdir(parents=True)
    package.write_text('[project]\nrequires-python = ">=3.12"\n', encoding="utf-8")
    assert pythons.targeted(root) == ["3.12", "3.13", "3.14"]
    assert pythons.requires_python(root) == (">=3.12", package)


def test_the_default_falls_back_to_the_root_project(tmp_path):
    assert pythons.targeted(write_project(tmp_path, requires=">=3.10,<3.13")) == ["3.10", "3.11", "3.12"]


def test_without_requires_python_the_supported_releases_grpcio_runs_on_are_targeted(tmp_path):
    assert pythons.supported()[0] == "3.9"  # supported until 2025-10-31, but grpcio 1.85 needs 3.10
    assert pythons.targeted(write_project(tmp_path)) == ["3.10", "3.11", "3.12", "3.13", "3.14"]


def test_the_release_table_drops_end_of_life_versions(tmp_path):
    from datetime import date

    root = write_project(tmp_path, requires=">=3.8")
    assert pythons.default_versions(root, on=date(2026, 11, 1)) == ["3.11", "3.12", "3.13", "3.14"]


def test_requires_python_that_admits_no_release_is_refused(tmp_path):
    with pytest.raises(ProjectError, match="admits none of the supported CPython releases"):
        pythons.targeted(write_project(tmp_path, requires="<3.0"))


@pytest.mark.parametrize(("line", "shown"), [('requires-python = "banana"', "'banana'"), ("requires-python = 3", "3")])
def test_a_bad_requires_python_names_the_pyproject_it_is_in(tmp_path, line, shown):
    root = write_project(tmp_path, priv_requires=">=3.10")
    (root / "priv_python" / "pyproject.toml").write_text(f'[project]\nname = "y"\n{line}\n', encoding="utf-8")
    expected = f"priv_python/pyproject.toml: invalid [project] requires-python {shown}; write e.g. '>=3.10'"
    with pytest.raises(ProjectError) as caught:
        pythons.targeted(root)
    assert caught.value.one_line().endswith(expected)
    (root / "priv_python" / "pyproject.toml").write_text("project = 3\n", encoding="utf-8")
    with pytest.raises(ProjectError, match=r"priv_python/pyproject.toml: \[project\] must be a table"):
        pythons.targeted(root)


# --------------------------------------------------------------------------- one answer everywhere


def bare_machine(tmp_path: Path, monkeypatch) -> dict[str, str]:
    """An environment where discovery finds no interpreter: the lists compared are the settings' alone."""
    env = {"PATH": str(tmp_path / "no-bin"), "HOME": str(tmp_path / "home"), "PYENV_ROOT": str(tmp_path / "pyenv")}
    for name in ("CONDA_PREFIX", "CONDA_ENVS_PATH", "UV_PYTHON_INSTALL_DIR", "XDG_DATA_HOME", "CI"):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    return env


def what_each_consumer_targets(root: Path, env: dict[str, str]) -> dict[str, list[str]]:
    from hexpack import nox_support
    from hexpack.onboarding import doctor
    from hexpack.verify import settings as verify_settings

    return {
        "pythons": pythons.targeted(root),
        "verify": list(verify_settings.load(root).pythons),
        "nox": nox_support.targeted_pythons(root),
        "doctor": [check.name.removeprefix("python ") for check in doctor.check_pythons(root, env)],
    }


@pytest.mark.parametrize(
    ("hexpack", "requires", "expected"),
    [
        ('[tool.hexpack]\npython = ["3.12", "3.11"]\n', ">=3.8", ["3.11", "3.12"]),
        ("", ">=3.10", ["3.10", "3.11", "3.12", "3.13", "3.14"]),
        ("", None, ["3.10", "3.11", "3.12", "3.13", "3.14"]),
    ],
    ids=["explicit list", "requires-python only", "neither"],
)
def test_verify_nox_and_doctor_target_the_same_pythons(tmp_path, monkeypatch, hexpack, requires, expected):
    env = bare_machine(tmp_path, monkeypatch)
    root = write_project(tmp_path / "project", hexpack, requires=requires)
    assert what_each_consumer_targets(root, env) == dict.fromkeys(("pythons", "verify", "nox", "doctor"), expected)


def test_a_python_string_is_the_same_one_line_error_everywhere(tmp_path, monkeypatch, caplog, capsys):
    from hexpack import nox_support
    from hexpack.onboarding import doctor
    from hexpack.verify import settings as verify_settings

    env = bare_machine(tmp_path, monkeypatch)
    root = write_project(tmp_path / "project", '[tool.hexpack]\npython = "3.12"\n', requires=">=3.10")
    expected = (
        f"{root / 'pyproject.toml'} [tool.hexpack]: python must be a non-empty list of 'X.Y' strings, got '3.12'"
        """; write e.g. python = ["3.10", "3.11", "3.12", "3.13"]"""
    )
    with pytest.raises(ProjectError) as caught:
        verify_settings.load(root)
    assert caught.value.one_line() == expected
    with pytest.raises(SystemExit, match="2"):
        nox_support.targeted_pythons(root)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"] == [f"hexpack: {expected}"]
    [check] = doctor.check_pythons(root, env)
    assert (check.name, check.status, check.found) == ("python", doctor.FAIL, expected)
    monkeypatch.chdir(root)
    assert cli.main(["pythons"]) == 1
    assert capsys.readouterr().err == f"error: {expected}\n"


# --------------------------------------------------------------------------- the real machine


def pyenv_versions() -> dict[str, Path]:
    root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv") / "versions"
    found = {}
    for directory in sorted(root.glob("3.1[0-3].*")):
        if re.fullmatch(r"3\.\d+\.\d+", directory.name):
            found[".".join(directory.name.split(".")[:2])] = directory
    return found


@pytest.mark.interpreter_independent
def test_the_real_pyenv_versions_are_found_with_their_exact_version(tmp_path):
    versions = pyenv_versions()
    if not versions:
        pytest.skip("no pyenv versions 3.10-3.13 on this machine")
    env = {**os.environ, "PATH": ""}  # only pyenv's version directories can answer (uv's come after them)
    located = pythons.locate(list(versions), env=env, cache=tmp_path / "cache")
    for minor, directory in versions.items():
        found = located[minor]
        assert found is not None, f"pyenv's {directory} not found"
        assert found.source == "pyenv"
        assert found.path.parent == directory / "bin"
        assert found.version.startswith(minor + ".")


@pytest.mark.interpreter_independent
def test_hexpack_pythons_reports_each_targeted_version(capsys):
    code = cli.main(["pythons", "--root", str(REPO), "--json"])
    report = json.loads(capsys.readouterr().out)
    assert report["targeted"] == ["3.10", "3.11", "3.12", "3.13"]
    assert code == (1 if report["missing"] else 0)
    for version, found in report["found"].items():
        if found:
            assert found["minor"] == version and found["source"] in pythons.SOURCES
            assert Path(found["path"]).is_file()


def test_hexpack_pythons_names_the_fix_for_a_missing_version(tmp_path, capsys):
    root = write_project(tmp_path, '[tool.hexpack]\npython = ["3.99"]\n')
    assert cli.main(["pythons", "--root", str(root)]) == 1
    captured = capsys.readouterr()
    assert "uv python install 3.99" in captured.out
    assert "error: targeted Python 3.99 not found" in captured.err
