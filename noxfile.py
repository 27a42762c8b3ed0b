"""hexpack's sessions. Each is a few lines; the work lives in tools/hexpack.

Maintainers and CI run `nox -s verify_package` and `nox -s release -- <part>`.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

ROOT = Path(__file__).resolve().parent
sys.path.insert(0, str(ROOT / "tools"))

from hexpack import nox_support  # noqa: E402
from hexpack.python import stubs as hexpack_stubs  # noqa: E402

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "examples", "lint"]
# A targeted Python that discovery cannot find fails the run in CI and is a loud warning locally.
nox.options.error_on_missing_interpreters = nox_support.IN_CI
nox.options.download_python = "never"  # use what `hexpack pythons` finds, nothing else

# From [tool.hexpack] python; each found interpreter is exposed as pythonX.Y on PATH.
PYTHONS = nox_support.targeted_pythons(ROOT)


def install_hexpack(session: nox.Session, *extras: str) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """pytest, in parallel: the whole suite on the newest targeted Python, interpreter differences on the others."""
    # the stubs tests run the pinned protoc; they are interpreter-independent, so only the newest needs it
    nox_support.run_tests(session, PYTHONS, ROOT, newest_needs=[hexpack_stubs.toolchain_requirement(ROOT)])


@nox.session(python=PYTHONS)
def examples(session: nox.Session) -> None:
    """Run examples/ against the server in priv/python (and the Elixir example when Elixir is present)."""
    nox_support.run_examples(session, ROOT)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff check + format --check, mix format + compile --warnings-as-errors, actionlint: once, on nox's Python."""
    nox_support.run_lint(session, ROOT)


@nox.session(default=False)
def doctor(session: nox.Session) -> None:
    """Check this machine for a release: Pythons, uv, nox, Elixir/Hex, grpcio-tools, git (`-- --publish`)."""
    install_hexpack(session)
    session.install(hexpack_stubs.toolchain_requirement(ROOT))  # proves the pin installs; reports its protoc
    session.run("hexpack", "doctor", *session.posargs)


@nox.session(default=False)
def stubs(session: nox.Session) -> None:
    """Regenerate the protobuf/gRPC stubs with the grpcio-tools pinned in [tool.hexpack.stubs] (`-- --check`)."""
    install_hexpack(session)
    session.install(hexpack_stubs.toolchain_requirement(ROOT))
    session.run("hexpack", "stubs", *session.posargs)


@nox.session(default=False)
def assemble(session: nox.Session) -> None:
    """Place grpc_server.py, the Python package with its stubs, requirements.txt and the protos under priv/."""
    install_hexpack(session)
    session.run("hexpack", "assemble", *session.posargs)


@nox.session(default=False, reuse_venv=True)
def verify_package(session: nox.Session) -> None:
    """Prove the Hex tarball and Python dist carry a working server (`-- --json report.json`, `-- --fresh`)."""
    from hexpack.verify.nox_install import install_once  # reused venv: installs only when pyproject changes

    install_once(session, ROOT, hexpack_stubs.toolchain_requirement(ROOT))  # `stubs --check` runs the pinned protoc
    session.run("hexpack", "verify", *session.posargs)


@nox.session(default=False)
def build(session: nox.Session) -> None:
    """Build this repository's Hex tarball with the built-in engine."""
    install_hexpack(session)
    session.run("hexpack", "build", *session.posargs)


@nox.session
def version(session: nox.Session) -> None:
    """Show the canonical version and every place it is written; fails when any disagree."""
    install_hexpack(session)
    session.run("hexpack", "version", *session.posargs)


@nox.session(default=False)
def bump(session: nox.Session) -> None:
    """Bump the version everywhere and release the CHANGELOG: `nox -s bump -- minor [--dry-run]`."""
    if not session.posargs:
        session.error("give the part or version: nox -s bump -- major|minor|patch|pre|release|X.Y.Z[-rc.N]")
    install_hexpack(session)
    session.run("hexpack", "bump", *session.posargs)


@nox.session(default=False)
def release(session: nox.Session) -> None:
    """Every gate, then bump, commit and tag: `nox -s release -- <part> [--publish] [--dry-run]`."""
    install_hexpack(session, "release")
    session.install(hexpack_stubs.toolchain_requirement(ROOT))  # verify's `stubs --check` runs the pinned protoc
    session.run("hexpack", "release", *session.posargs)
