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

nox.options.default_venv_backend = "uv|virtualenv"
nox.options.sessions = ["tests", "lint"]
nox.options.error_on_missing_interpreters = True

PYTHONS = nox_support.targeted_pythons(ROOT)


def install_hexpack(session: nox.Session, *extras: str) -> None:
    spec = f".[{','.join(extras)}]" if extras else "."
    session.install("-e", spec)


@nox.session(python=PYTHONS)
def tests(session: nox.Session) -> None:
    """Run hexpack's test suite."""
    install_hexpack(session, "test")
    session.run("pytest", *session.posargs)


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
