"""Targeted versions and interpreter discovery.

Fake interpreter trees are small shell scripts that answer the probe the way a
real Python does (implementation, exact version, sys.executable); the real
pyenv directories of this machine are checked as well.
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest
from hexpack import cli
from hexpack.errors import ProjectError
from hexpack.python import pythons

REPO = Path(__file__).resolve().parent.parent


def fake_python(
    path: Path,
    version: str,
    *,
    implementation: str = "CPython",
    executable: str | None = None,
    counter: Path | None = None,
) -> Path:
    """A script that prints what the probe asks for, as an interpreter of ``version`` would."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = f'echo run >> "{counter}"\n' if counter else ""
    path.write_text(
        f'#!/bin/sh\n{count}echo {implementation}\necho {version}\necho "{executable or path}"\n', encoding="utf-8"
    )
    path.chmod(0o755)
    return path


def broken_python(path: Path, message: str, status: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit {status}\n", encoding="utf-8")
    path.chmod(0o755)
    return path


def pyenv_shim(path: Path, target: Path | None, counter: Path | None = None) -> Path:
    """A pyenv-like shim: runs ``target`` when 'selected', else fails as pyenv does."""
    path.parent.mkdir(parents=True, exist_ok=True)
    count = f'echo run >> "{counter}"\n' if counter else ""
    body = f'exec "{target}" "$@"\n' if target else f"echo 'pyenv: {path.name}: command not found' >&2\nexit 127\n"
    path.write_text(f"#!/bin/bash\nset -e\n# pyenv shim\n{count}{body}", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def machine(tmp_path):
    """An empty machine: HOME, PATH and PYENV_ROOT all inside tmp_path."""
    home = tmp_path / "home"
    bin_dir = tmp_path / "bin"
    for directory in (home, bin_dir):
        directory.mkdir()
    env = {"HOME": str(home), "PATH": str(bin_dir), "PYENV_ROOT": str(home / ".pyenv"), "PYENV_DIR": str(tmp_path)}
    return env, home, bin_dir


def best(env, version, **kwargs):
    return pythons.discover(env=env, **kwargs).best(version)


# --------------------------------------------------------------------------- search order and sources


def test_path_comes_before_pyenv_uv_and_conda(machine):
    env, home, bin_dir = machine
    on_path = fake_python(bin_dir / "python3.12", "3.12.4")
    fake_python(home / ".pyenv" / "versions" / "3.12.1" / "bin" / "python3.12", "3.12.1")
    found = best(env, "3.12")
    assert (found.version, found.source, found.path) == ("3.12.4", "PATH", on_path)


def test_each_source_is_searched_and_reported(machine):
    env, home, _ = machine
    pyenv = fake_python(home / ".pyenv" / "versions" / "3.10.13" / "bin" / "python3.10", "3.10.13")
    uv = fake_python(home / ".local/share/uv/python/cpython-3.13.1-linux-x86_64-gnu/bin/python3.13", "3.13.1")
    conda_env = home / "work" / "envs" / "py311"
    conda = fake_python(conda_env / "bin" / "python", "3.11.9")
    (home / ".conda").mkdir()
    (home / ".conda" / "environments.txt").write_text(f"{conda_env}\n", encoding="utf-8")
    discovery = pythons.discover(env=env)
    found = {i.minor: (i.version, i.source, i.path) for i in discovery.interpreters}
    assert found == {
        "3.10": ("3.10.13", "pyenv", pyenv),
        "3.13": ("3.13.1", "uv", uv),
        "3.11": ("3.11.9", "conda", conda),
    }


def test_uv_install_dir_and_conda_prefix_from_the_environment(machine, tmp_path):
    env, _, _ = machine
    uv = fake_python(tmp_path / "uvpy" / "cpython-3.12.8-linux" / "bin" / "python3.12", "3.12.8")
    conda = fake_python(tmp_path / "conda-active" / "bin" / "python3", "3.11.2")
    env = {**env, "UV_PYTHON_INSTALL_DIR": str(tmp_path / "uvpy"), "CONDA_PREFIX": str(tmp_path / "conda-active")}
    assert best(env, "3.12").path == uv
    assert best(env, "3.11").path == conda


def test_the_version_is_what_the_interpreter_says_not_its_name(machine):
    env, _, bin_dir = machine
    fake_python(bin_dir / "python3.11", "3.12.0")
    discovery = pythons.discover(env=env)
    assert discovery.best("3.11") is None
    assert discovery.best("3.12").version == "3.12.0"


def test_generic_names_are_run_to_learn_their_version(machine):
    env, _, bin_dir = machine
    fake_python(bin_dir / "python", "3.13.2")
    assert best(env, "3.13").version == "3.13.2"


def test_one_interpreter_under_several_names_is_listed_once(machine):
    env, _, bin_dir = machine
    real = fake_python(bin_dir / "python3.12", "3.12.3")
    (bin_dir / "python3").symlink_to(real)
    (bin_dir / "python").symlink_to(real)
    assert [i.path for i in pythons.discover(env=env).interpreters] == [real]


def test_broken_non_cpython_and_venv_interpreters_are_not_used(machine, tmp_path):
    env, home, bin_dir = machine
    broken_python(bin_dir / "python3.10", "libpython3.10.so: cannot open shared object file")
    fake_python(bin_dir / "python3.11", "3.11.0", implementation="PyPy")
    venv = tmp_path / "venv"
    fake_python(venv / "bin" / "python3.12", "3.12.0")
    (venv / "pyvenv.cfg").write_text("home = /usr/bin\n", encoding="utf-8")
    env = {**env, "PATH": f"{venv / 'bin'}{os.pathsep}{bin_dir}"}
    discovery = pythons.discover(env=env)
    assert discovery.interpreters == []
    reasons = {r.candidate.path.name: r.reason for r in discovery.rejected}
    assert reasons == {
        "python3.10": "exit status 1: libpython3.10.so: cannot open shared object file",
        "python3.11": "PyPy 3.11.0, not CPython",
    }


def test_a_directory_that_is_not_there_is_skipped(machine, tmp_path):
    env, _, _ = machine
    env = {**env, "PATH": f"{tmp_path / 'nowhere'}{os.pathsep}{env['PATH']}"}
    assert pythons.discover(env=env).interpreters == []


# --------------------------------------------------------------------------- pyenv shims


def test_a_pyenv_shim_for_an_unselected_version_is_rejected_and_the_version_dir_used(machine):
    env, home, _ = machine
    root = home / ".pyenv"
    real = fake_python(root / "versions" / "3.10.13" / "bin" / "python3.10", "3.10.13")
    pyenv_shim(root / "shims" / "python3.10", None)
    env = {**env, "PATH": f"{root / 'shims'}{os.pathsep}{env['PATH']}"}
    discovery = pythons.discover(env=env)
    assert discovery.best("3.10").path == real
    assert discovery.best("3.10").source == "pyenv"
    assert [r.reason for r in discovery.rejected] == ["exit status 127: pyenv: python3.10: command not found"]


def test_a_working_shim_yields_the_real_interpreter_it_runs(machine):
    env, home, _ = machine
    root = home / ".pyenv"
    real = fake_python(root / "versions" / "3.11.7" / "bin" / "python3.11", "3.11.7")
    shim = pyenv_shim(root / "shims" / "python3", real)
    env = {**env, "PATH": f"{root / 'shims'}{os.pathsep}{env['PATH']}"}
    found = best(env, "3.11")
    assert (found.path, found.source, found.found_as) == (real, "pyenv", shim)
    assert found.where == f"pyenv (met on PATH as {shim})"


def test_shim_results_are_cached_per_pyenv_selection(machine, tmp_path):
    env, home, _ = machine
    root = home / ".pyenv"
    real = fake_python(root / "versions" / "3.11.7" / "bin" / "python3.11", "3.11.7")
    runs = tmp_path / "shim-runs"
    pyenv_shim(root / "shims" / "python3", real, counter=runs)
    (root / "version").write_text("3.11.7\n", encoding="utf-8")
    env = {**env, "PATH": f"{root / 'shims'}{os.pathsep}{env['PATH']}"}
    cache = tmp_path / "cache.json"
    for _ in range(2):
        assert best(env, "3.11", cache=cache).path == real
    assert runs.read_text().count("run") == 1
    (root / "version").write_text("system\n", encoding="utf-8")  # another selection: run the shim again
    best(env, "3.11", cache=cache)
    assert runs.read_text().count("run") == 2
    best({**env, "PYENV_VERSION": "3.11.7"}, "3.11", cache=cache)
    assert runs.read_text().count("run") == 3


# --------------------------------------------------------------------------- cache, locate, expose


def test_the_cache_avoids_rerunning_until_the_file_changes(machine, tmp_path):
    env, _, bin_dir = machine
    runs = tmp_path / "runs"
    exe = fake_python(bin_dir / "python3.12", "3.12.1", counter=runs)
    cache = tmp_path / "cache" / "discovery.json"
    assert best(env, "3.12", cache=cache).version == "3.12.1"
    assert best(env, "3.12", cache=cache).version == "3.12.1"
    assert runs.read_text().count("run") == 1
    assert str(exe) in json.loads(cache.read_text())
    fake_python(exe, "3.12.2", counter=runs)  # an upgrade in place: new size/mtime
    os.utime(exe, ns=(1, 1))
    assert best(env, "3.12", cache=cache).version == "3.12.2"
    assert runs.read_text().count("run") == 2


def test_a_corrupt_cache_is_ignored(machine, tmp_path):
    env, _, bin_dir = machine
    fake_python(bin_dir / "python3.12", "3.12.1")
    cache = tmp_path / "discovery.json"
    cache.write_text("{not json", encoding="utf-8")
    assert best(env, "3.12", cache=cache).version == "3.12.1"
    assert json.loads(cache.read_text())


def test_locate_runs_only_candidates_that_may_match(machine, tmp_path):
    env, home, bin_dir = machine
    runs = tmp_path / "runs"
    fake_python(bin_dir / "python3.9", "3.9.1", counter=runs)
    fake_python(home / ".pyenv" / "versions" / "3.8.18" / "bin" / "python", "3.8.18", counter=runs)
    wanted = fake_python(bin_dir / "python3.12", "3.12.1")
    assert pythons.locate(["3.12", "3.13"], env=env) == {"3.12": pythons.discover(env=env).best("3.12"), "3.13": None}
    assert pythons.find("3.12", env=env) == wanted
    runs.unlink()
    pythons.locate(["3.12"], env=env)
    assert not runs.exists()


def test_expose_links_each_found_version_and_is_skipped_on_path(machine, tmp_path):
    env, home, _ = machine
    real = fake_python(home / ".pyenv" / "versions" / "3.13.0" / "bin" / "python3.13", "3.13.0")
    shims = tmp_path / "exposed"
    found = pythons.expose(["3.12", "3.13"], shims, env=env)
    assert found == {"3.13": real}
    assert os.readlink(shims / "python3.13") == str(real)
    assert not (shims / "python3.12").exists()
    assert (shims / "discovery.json").is_file()
    # with the links first on PATH, discovery still reports where the interpreter really is
    env = {**env, "PATH": f"{shims}{os.pathsep}{env['PATH']}"}
    assert best(env, "3.13").source == "pyenv"


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
    env = {**os.environ, "PATH": "/usr/bin:/bin"}  # only pyenv's version directories can answer
    located = pythons.locate(list(versions), env=env, sources=("pyenv",), cache=tmp_path / "c.json")
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
