"""Where the running hexpack came from: real installs by uv (from a git URL, a path, an editable path),
their real PEP 610 records, and the derived requirement installed again into a fresh venv."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest
from conftest import require_program
from hexpack import __version__
from hexpack.errors import ProjectError
from hexpack.onboarding import install_source


def run(*argv, cwd=None) -> str:
    done = subprocess.run([str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def little_hexpack(tmp_path: Path) -> Path:
    """A distribution named hexpack (one module), committed to a git repository."""
    src = tmp_path / "src"
    (src / "hexpack").mkdir(parents=True)
    (src / "hexpack" / "__init__.py").write_text('__version__ = "0.0.1"\n')
    (src / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [build-system]
            requires = ["hatchling>=1.25"]
            build-backend = "hatchling.build"

            [project]
            name = "hexpack"
            version = "0.0.1"
            """
        )
    )
    git = require_program("git")
    run(git, "init", "-q", "-b", "main", cwd=src)
    run(git, "add", "-A", cwd=src)
    run(git, "-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "init", cwd=src)
    return src


def install(tmp_path: Path, name: str, *requirement: str) -> dict:
    """uv installs ``requirement`` into a fresh venv; returns the PEP 610 record it wrote."""
    uv = require_program("uv")
    venv = tmp_path / name
    run(uv, "venv", "-q", venv)
    run(uv, "pip", "install", "-q", "--python", venv / "bin" / "python", *requirement)
    (record,) = venv.glob("lib/python*/site-packages/hexpack-*.dist-info/direct_url.json")
    return json.loads(record.read_text())


@pytest.mark.slow
def test_a_git_install_gives_the_url_at_its_commit_and_that_installs_again(tmp_path):
    src = little_hexpack(tmp_path)
    commit = run("git", "rev-parse", "HEAD", cwd=src).strip()
    source = install_source.from_direct_url(install(tmp_path, "first", f"hexpack @ git+{src.as_uri()}@main"))
    assert source.requirement == f"hexpack @ git+{src.as_uri()}@{commit}"
    assert source.why == f"installed from {src.as_uri()} at commit {commit[:12]}"
    again = install(tmp_path, "again", source.requirement)  # the sessions install exactly this
    assert again["vcs_info"]["commit_id"] == commit


@pytest.mark.slow
@pytest.mark.parametrize("editable", [False, True])
def test_a_path_install_gives_the_path(tmp_path, editable):
    src = little_hexpack(tmp_path)
    record = install(tmp_path, "first", *(["-e", str(src)] if editable else [str(src)]))
    source = install_source.from_direct_url(record)
    assert source.requirement == f"hexpack @ {src.as_uri()}"
    assert source.why == ("an editable install of " if editable else "installed from ") + str(src)
    assert install(tmp_path, "again", source.requirement)["url"] == src.as_uri()


def test_the_running_hexpack_is_named_by_its_own_record():
    from importlib import metadata

    got = install_source.requirement()
    try:
        record = metadata.distribution("hexpack").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        record = None
    if record:
        assert got == install_source.from_direct_url(json.loads(record))
    else:
        assert got.requirement == f"hexpack=={__version__}"


def test_the_setting_wins_and_a_bad_one_is_one_line():
    assert install_source.requirement("hexpack==9.9.9 ").requirement == "hexpack==9.9.9"
    with pytest.raises(ProjectError) as caught:
        install_source.requirement(["hexpack"])
    assert caught.value.one_line() == (
        "[tool.hexpack] requirement: requirement must be a non-empty string, got ['hexpack'];"
        ' write e.g. requirement = "hexpack==X.Y.Z"'
    )


def test_a_record_without_a_url_says_nothing():
    assert install_source.from_direct_url({}) is None
    assert install_source.from_direct_url({"url": "https://x/hexpack-1.tar.gz", "archive_info": {}}).requirement == (
        "hexpack @ https://x/hexpack-1.tar.gz"
    )
