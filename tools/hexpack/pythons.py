"""Finding Python interpreters (minimal first version; see issue 6)."""

from __future__ import annotations

import os
from pathlib import Path


def find(version: str) -> Path | None:
    """An interpreter for ``version`` (``"3.12"``) from pyenv's version directories."""
    root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv")) / "versions"
    if not root.is_dir():
        return None
    for candidate in sorted(root.iterdir(), reverse=True):
        if candidate.name.startswith(version + "."):
            exe = candidate / "bin" / f"python{version}"
            if exe.exists():
                return exe
    return None


def expose(versions: list[str], shim_dir: Path) -> dict[str, Path]:
    """Symlink ``pythonX.Y`` for each found version into ``shim_dir``."""
    shim_dir.mkdir(parents=True, exist_ok=True)
    found = {}
    for version in versions:
        exe = find(version)
        if exe is None:
            continue
        link = shim_dir / f"python{version}"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(exe)
        found[version] = exe
    return found
