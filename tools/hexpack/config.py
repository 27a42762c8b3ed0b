"""The ``[tool.hexpack]`` settings of a project.

Settings live in ``pyproject.toml`` under ``[tool.hexpack]`` or, for projects
without a pyproject (snakepit's layout), in ``hexpack.toml`` at the top level.
Each feature module owns its own sub-table (``[tool.hexpack.stubs]``,
``[tool.hexpack.verify]``, ...) and its defaults; this module only finds and
parses the file.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import ProjectError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10
    import tomli as tomllib


@dataclass(frozen=True)
class Config:
    root: Path
    source: Path | None
    settings: dict[str, Any] = field(default_factory=dict)

    def section(self, name: str) -> dict[str, Any]:
        """A sub-table such as ``verify`` (empty when absent)."""
        value = self.settings.get(name, {})
        if not isinstance(value, dict):
            raise ProjectError(
                f"[tool.hexpack.{name}] must be a table", subject=str(self.source), hint="see README for the settings"
            )
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)


def read_toml(path: Path) -> dict[str, Any]:
    """Parse a TOML file, turning syntax errors into a one-line ProjectError."""
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ProjectError("file not found", subject=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"invalid TOML: {exc}", subject=str(path), hint="fix the syntax") from None


def load(root: str | Path) -> Config:
    """The hexpack settings of the project at ``root`` (defaults when none)."""
    root = Path(root).resolve()
    standalone = root / "hexpack.toml"
    if standalone.is_file():
        return Config(root, standalone, read_toml(standalone))
    pyproject = root / "pyproject.toml"
    if pyproject.is_file():
        data = read_toml(pyproject)
        settings = data.get("tool", {}).get("hexpack", {})
        if settings:
            return Config(root, pyproject, settings)
    return Config(root, None, {})
