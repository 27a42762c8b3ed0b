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
from .fsutil import read_utf8

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
    text = read_utf8(path, kind="TOML file", hint="TOML files must be UTF-8; re-save it as UTF-8")
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ProjectError(f"invalid TOML: {exc}", subject=str(path), hint="fix the syntax") from None


def load(root: str | Path) -> Config:
    """The hexpack settings of the project at ``root`` (defaults when none)."""
    root = Path(root).resolve()
    standalone = root / "hexpack.toml"
    if standalone.exists():  # read_toml refuses a directory rather than silently ignoring it
        return Config(root, standalone, _checked(read_toml(standalone), standalone, "hexpack.toml"))
    pyproject = root / "pyproject.toml"
    if pyproject.exists():
        data = read_toml(pyproject)
        tool = data.get("tool", {})
        if not isinstance(tool, dict):
            raise ProjectError("tool must be a table", subject=str(pyproject), hint="write [tool.hexpack] tables")
        settings = tool.get("hexpack", {})
        if not isinstance(settings, dict):
            raise ProjectError(
                "[tool.hexpack] must be a table", subject=str(pyproject), hint="see README for the settings"
            )
        if settings:
            return Config(root, pyproject, _checked(settings, pyproject, "[tool.hexpack]"))
    return Config(root, None, {})


#: The keys of ``[tool.hexpack]`` (or of ``hexpack.toml``); each feature validates its own sub-table.
KNOWN_KEYS = ("assemble", "python", "release", "requirement", "stubs", "verify", "version")


def _checked(settings: dict[str, Any], source: Path, where: str) -> dict[str, Any]:
    """``settings`` after refusing unknown top-level keys, all named at once (a typo would be silently ignored)."""
    unknown = sorted(set(settings) - set(KNOWN_KEYS))
    if unknown:
        prefix = "" if where == "hexpack.toml" else "tool.hexpack."
        hint = f"{where} knows {', '.join(KNOWN_KEYS)}"
        if where == "hexpack.toml" and "tool" in unknown:
            hint = "hexpack.toml holds the tables itself: write [stubs], not [tool.hexpack.stubs]"
        raise ProjectError(
            f"unknown setting(s) {', '.join(prefix + key for key in unknown)}", subject=str(source), hint=hint
        )
    return settings
