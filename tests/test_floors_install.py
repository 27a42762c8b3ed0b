"""Floors are installed from wheels only, and an install failure names its package.

Real uv installs against PyPI into real venvs (the floors of a requirements file on a Python that one
of them has no wheel for), plus uv's own failure texts as it printed them here.
"""

from __future__ import annotations

import time

import pytest
from conftest import IN_CI, require_program
from hexpack.errors import HexpackError
from hexpack.python import pythons
from hexpack.verify import install_errors
from hexpack.verify.venvs import VenvCache


def python(version: str):
    found = pythons.find(version)
    if found is None:
        if IN_CI:
            pytest.fail(f"Python {version} is required for this test")
        pytest.skip(f"Python {version} is not installed")
    return found


def install(tmp_path, version: str, requirements: str, resolution: str):
    require_program("uv")
    path = tmp_path / "requirements.txt"
    path.write_text(requirements)
    cache = VenvCache(None, timeout=300)
    try:
        return cache.ensure(
            python(version), label="t", install=["-r", str(path)], payload=path.read_bytes(), resolution=resolution
        )
    finally:
        cache.cleanup()


@pytest.mark.slow
def test_a_floor_without_a_wheel_fails_in_seconds_naming_package_version_python(tmp_path):
    """orjson 3.9.0 has no wheel for CPython 3.12 (its sdist needs a Rust build); 3.9.3 is the first with one."""
    start = time.monotonic()
    with pytest.raises(HexpackError) as caught:
        install(tmp_path, "3.12", "# floors\nidna>=3.4\norjson>=3.9.0\n", "floors")
    assert time.monotonic() - start < 120  # no source build
    assert caught.value.one_line() == (
        "orjson==3.9.0 (line 3): no wheel for CPython 3.12; raise the floor (first with one: 3.9.3)"
    )


@pytest.mark.slow
def test_floors_with_wheels_install_exactly(tmp_path):
    venv = install(tmp_path, "3.12", "idna>=3.4\norjson>=3.9.3\n", "floors")
    assert {"idna==3.4", "orjson==3.9.3"} <= set(venv.freeze)


@pytest.mark.slow
def test_an_install_failure_names_the_package_not_the_last_line(tmp_path):
    with pytest.raises(HexpackError) as caught:
        install(tmp_path, "3.12", "orjson==3.9.0\n", "floors")
    assert caught.value.what == "orjson==3.9.0: no wheel for CPython 3.12"
    with pytest.raises(HexpackError) as caught:
        install(tmp_path, "3.12", "hexpack-no-such-package-zz==1.0\n", "latest")
    assert caught.value.what == "hexpack-no-such-package-zz: not found in the package registry"


# uv 0.13's report when a build backend fails: the last line is the backend's, without the package's name
UV_BUILD_FAILURE = """\
Resolved 1 package in 1.02s
  × Failed to build `orjson==3.9.0`
  ├─▶ The build backend returned an error
  ╰─▶ Call to `maturin.build_wheel` failed (exit status: 1)

      [stderr]
      💥 maturin failed
        Caused by: `project.version` field is required in pyproject.toml unless it is present in the
      `project.dynamic` list
"""


# uv 0.13's report under COLUMNS=80: the sentence that names the package is wrapped
UV_WRAPPED_NOT_FOUND = """\
error: No solution found when resolving dependencies
  cause: Because hexpack-no-such-package-zz was not found in the package
         registry and you require hexpack-no-such-package-zz==1.0, we can
         conclude that your requirements are unsatisfiable.
"""


def test_a_report_wrapped_to_the_terminal_still_names_the_package():
    assert install_errors.explain(UV_WRAPPED_NOT_FOUND, "CPython 3.12.1") == [
        "hexpack-no-such-package-zz: not found in the package registry"
    ]


def test_a_build_failure_is_named_by_its_package():
    assert install_errors.explain(UV_BUILD_FAILURE, "CPython 3.12.1") == ["orjson==3.9.0: failed to build from source"]
    assert install_errors.explain("error: something else entirely", "CPython 3.12.1") == []


@pytest.mark.interpreter_independent  # PyPI's files for Python 3.12, asked by name, whatever Python asks
def test_pypi_says_which_versions_have_a_wheel_for_a_python():
    answer = install_errors.has_wheel_for("orjson", "3.9.0", "3.12")
    if answer is None:
        pytest.skip("PyPI is not reachable")
    assert answer is False
    assert install_errors.has_wheel_for("orjson", "3.9.3", "3.12") is True
    assert install_errors.has_wheel_for("idna", "3.4", "3.12") is True  # py3-none-any
