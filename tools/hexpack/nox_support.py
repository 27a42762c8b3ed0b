"""Glue between ``noxfile.py`` and the library, so sessions stay a few lines.

The noxfile imports this module from ``tools/`` before hexpack is installed,
so it may use only the standard library and hexpack itself.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import config

DEFAULT_PYTHONS = ["3.10", "3.11", "3.12", "3.13"]


def targeted_pythons(root: Path) -> list[str]:
    """The Python versions the sessions run on, from ``[tool.hexpack] python``.

    Also makes each found interpreter resolvable as ``pythonX.Y`` for nox,
    whose own lookup goes through PATH only (pyenv's shims resolve just the
    global version).
    """
    versions = list(config.load(root).get("python", DEFAULT_PYTHONS))
    _expose_interpreters(root, versions)
    return versions


def _expose_interpreters(root: Path, versions: list[str]) -> None:
    from . import pythons

    shim_dir = root / ".nox" / "_hexpack_pythons"
    found = pythons.expose(versions, shim_dir)
    if found:
        os.environ["PATH"] = f"{shim_dir}{os.pathsep}{os.environ.get('PATH', '')}"
