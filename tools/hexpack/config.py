"""The ``[tool.hexpack]`` settings of a project.

Settings live in ``pyproject.toml`` under ``[tool.hexpack]`` or, for projects
without a pyproject (snakepit's layout), in ``hexpack.toml`` at the top level.
Each feature module declares its own sub-table (``[tool.hexpack.stubs]``,
``[tool.hexpack.verify]``, ...) as a ``settings_schema.Table`` beside the code
that uses it; this module finds and parses the file, refuses unknown top-level
keys, and reads a declared table (``Config.read``).
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import settings_schema as schema
from .errors import HexpackError, ProjectError, raise_together
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
            what = f"{name} must be a table, got {value!r}"
            raise ProjectError(what, subject=self.subject(""), hint=f"write {self.header(name)}")
        return value

    def get(self, key: str, default: Any = None) -> Any:
        return self.settings.get(key, default)

    @property
    def standalone(self) -> bool:
        """The settings are a top-level ``hexpack.toml`` (tables written ``[stubs]``, not ``[tool.hexpack.stubs]``)."""
        return self.source is not None and self.source.name == "hexpack.toml"

    def header(self, name: str) -> str:
        """How the table ``name`` (``"stubs"``, ``"verify.smoke"``) is written in this project's settings file."""
        if self.standalone:
            return f"[{name}]" if name else ""
        return f"[tool.hexpack.{name}]" if name else "[tool.hexpack]"

    def named(self, name: str) -> str:
        """The table ``name`` as a hint names it: ``[tool.hexpack.stubs]``, or ``[stubs] in hexpack.toml``."""
        return f"{self.header(name)} in hexpack.toml" if self.standalone else self.header(name)

    def subject(self, name: str) -> str:
        """The file and the table ``name``, as problems with that table are named."""
        return f"{self.source or self.root / 'pyproject.toml'} {self.header(name)}".rstrip()

    def read(self, table: schema.Table, *, fields: tuple[str, ...] | None = None) -> dict[str, Any]:
        """The values of the declared ``table`` (defaults for what is absent), or only of its ``fields``;
        every problem raised at once."""
        raw = self.settings if not table.name else self.section(table.name)
        return schema.validate(table, raw, root=self.root, subject=self.subject(table.name), fields=fields)


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


#: ``[tool.hexpack]`` itself (or ``hexpack.toml``). Each key is read where it is used, so a broken
#: ``python`` fails the commands that target Pythons, not ``hexpack version``; the tables are their owners'.
ROOT = schema.Table(
    "",
    (
        schema.Field("assemble", schema.Owned()),
        schema.Field(  # absent: from requires-python (hexpack.python.pythons.targeted)
            "python",
            schema.Texts(noun="a non-empty list of 'X.Y' strings", nonempty=True, item_pattern=r"3\.\d+"),
            form='["3.10", "3.11", "3.12", "3.13"]',
        ),
        schema.Field("release", schema.Owned()),
        schema.Field(  # absent: where this hexpack was installed from (hexpack.onboarding.install_source)
            "requirement",
            schema.Text(noun="a requirement: a path, a git URL or hexpack==X.Y.Z"),
            form='"hexpack==X.Y.Z"',
        ),
        schema.Field("stubs", schema.Owned()),
        schema.Field("verify", schema.Owned()),
        schema.Field("version", schema.Owned()),
    ),
    purpose="targeted Pythons (nox sessions, `hexpack pythons`, verify's smoke tests)",
)
KNOWN_KEYS = ROOT.names


def _checked(settings: dict[str, Any], source: Path, where: str) -> dict[str, Any]:
    """``settings`` after refusing unknown top-level keys, all named at once (a typo would be silently ignored)."""
    problems: list[HexpackError] = []
    if where == "hexpack.toml" and "tool" in settings:
        problems.append(
            ProjectError(
                "unknown setting(s) tool",
                subject=str(source),
                hint="hexpack.toml holds the tables itself: write [stubs], not [tool.hexpack.stubs]",
            )
        )
    subject = str(source) if where == "hexpack.toml" else f"{source} {where}"
    rest = {key: value for key, value in settings.items() if not (where == "hexpack.toml" and key == "tool")}
    problems += schema.unknown(ROOT, rest, subject)
    raise_together(problems, summary=f"problems in {subject}")
    return settings
