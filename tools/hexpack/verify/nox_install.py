"""Keeping ``nox -s verify_package`` warm: install into its reused venv only when needed.

``uv pip install -e .`` rebuilds the editable install on every call (about a
second). The session's venv is reused, and an editable install follows code
changes by itself, so it is enough to install again when what the install
depends on changes: ``pyproject.toml`` and the other requirements. A stamp
with their hash is kept in the venv. Imported by the noxfile before hexpack is
installed, so standard library only.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

STAMP = ".hexpack-install-stamp"


def install_once(session: Any, root: Path, *requirements: str) -> None:
    """``session.install("-e", root, *requirements)`` unless the same install is already in place."""
    digest = hashlib.sha256((root / "pyproject.toml").read_bytes())
    for requirement in requirements:
        digest.update(b"\0" + requirement.encode())
    location = getattr(getattr(session, "virtualenv", None), "location", None)
    stamp = Path(location) / STAMP if location else None
    if stamp is not None and stamp.is_file() and stamp.read_text() == digest.hexdigest():
        return
    session.install("-e", str(root), *requirements)
    if stamp is not None:
        stamp.write_text(digest.hexdigest())
