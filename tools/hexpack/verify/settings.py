"""``[tool.hexpack.verify]``: what ``hexpack verify`` checks, with its defaults.

Every key is optional::

    [tool.hexpack.verify]
    python_root = "priv/python"                  # the Python side inside the Hex package
    proto_root = "priv/proto"                    # the shipped .proto files
    server = "priv/python/grpc_server.py"        # started by the Elixir side; must ship
                                                 # (false: no server of its own, e.g. snakebridge)
    requirements = "priv/python/requirements.txt"
    required = []            # more paths or globs that must be in the tarball
    forbidden = []           # more patterns that must not be (added to the defaults)
    allow = []               # exceptions to the forbidden patterns (paths or globs)
    size_warn_ratio = 0.8    # warn when a size reaches this share of Hex's limit
    engine = "auto"          # auto | builtin | mix | both
    python_dist = "priv_python"   # the Python distribution built in gate 5 ("" = none)
    python_tools = []        # more distributions built, checked and published beside it: command-line
                             # tools (hexpack itself here), whose console scripts must answer --version
    smoke_resolutions = ["latest", "floors"]
    smoke_timeout = 60       # seconds for one smoke test (venv + server + Ping)
    cache_dir = ""           # venv cache, relative to the project; "" = ~/.cache/hexpack/verify
                             # ($XDG_CACHE_HOME); the HEXPACK_VERIFY_CACHE variable overrides both
    [tool.hexpack.verify.smoke]       # how the server starts and proves it serves (see .smoke_settings)
    [tool.hexpack.verify.consumer]    # the Elixir snippet of the consumer gate

Patterns (``forbidden``, ``allow``) use a small glob dialect: ``name/`` matches
a directory anywhere in the path, a pattern without ``/`` matches any path
component (``*.pyc``, ``.env*``), and a pattern with ``/`` matches the whole
path, where ``**`` spans directories.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import config
from .. import settings_schema as schema
from ..errors import HexpackError, raise_together
from ..fsutil import user_cache_dir
from ..python import pythons
from .smoke_settings import (
    CONSUMER_TABLE,
    SMOKE_TABLE,
    ConsumerSettings,
    SmokeSettings,
    smoke_from_values,
)

# (pattern, why it must not ship)
DEFAULT_FORBIDDEN: tuple[tuple[str, str], ...] = (
    ("__pycache__/", "Python bytecode cache"),
    ("*.pyc", "compiled Python"),
    ("*.pyo", "compiled Python"),
    (".env*", "environment file, may hold secrets"),
    (".venv/", "virtual environment"),
    (".pytest_cache/", "pytest cache"),
    (".mypy_cache/", "mypy cache"),
    (".ruff_cache/", "ruff cache"),
    ("*.egg-info", "build metadata"),
    (".git/", "git repository data"),
    ("*.pem", "private key or certificate"),
    ("id_rsa*", "private key"),
    ("id_dsa*", "private key"),
    ("id_ecdsa*", "private key"),
    ("id_ed25519*", "private key"),
    ("*~", "editor backup"),
    ("*.swp", "editor swap file"),
    ("*.swo", "editor swap file"),
    (".#*", "editor lock file"),
    ("#*#", "editor autosave"),
    ("*.bak", "backup file"),
    ("*.orig", "merge leftover"),
    ("*.rej", "patch leftover"),
    (".DS_Store", "Finder metadata"),
)

ENGINES = ("auto", "builtin", "mix", "both")
RESOLUTIONS = ("latest", "floors")


@dataclass(frozen=True)
class VerifySettings:
    python_root: str = "priv/python"
    proto_root: str = "priv/proto"
    server: str = "priv/python/grpc_server.py"
    requirements: str = "priv/python/requirements.txt"
    required: tuple[str, ...] = ()
    forbidden: tuple[tuple[str, str], ...] = DEFAULT_FORBIDDEN
    allow: tuple[str, ...] = ()
    size_warn_ratio: float = 0.8
    engine: str = "auto"
    python_dist: str = "priv_python"
    python_tools: tuple[str, ...] = ()
    smoke_resolutions: tuple[str, ...] = RESOLUTIONS
    smoke_timeout: float = 60.0
    cache_dir: str = ""
    pythons: tuple[str, ...] = ()  # the targeted versions: load() takes them from hexpack.python.pythons.targeted
    smoke: SmokeSettings = SmokeSettings()
    consumer: ConsumerSettings = ConsumerSettings()
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def has_server(self) -> bool:
        """False for ``server = false``: a package whose Python runs under another package's server."""
        return bool(self.server)

    @property
    def smoke_seconds(self) -> float:
        return self.smoke.timeout if self.smoke.timeout is not None else self.smoke_timeout

    def cache_path(self, root: Path) -> Path:
        """Where cached venvs live. Shared by default (the key covers every input,
        so copies of a project and different projects reuse the same venvs)."""
        override = os.environ.get("HEXPACK_VERIFY_CACHE")
        if override:
            return Path(override)
        if self.cache_dir:
            return Path(root) / self.cache_dir
        return user_cache_dir("verify")


_IN_PACKAGE = schema.Text(noun="a path inside the Hex package")
TABLE = schema.Table(
    "verify",
    (
        schema.Field("python_root", _IN_PACKAGE, default=VerifySettings.python_root),
        schema.Field("proto_root", _IN_PACKAGE, default=VerifySettings.proto_root),
        schema.Field(  # default: <python_root>/grpc_server.py
            "server",
            schema.TextOrFalse(noun="the path of the server script, or false for a package without one"),
            form='"priv/python/grpc_server.py"',
        ),
        schema.Field("requirements", _IN_PACKAGE, form='"priv/python/requirements.txt"'),  # default: beside server
        schema.Field(
            "required", schema.Texts(noun="a list of paths or globs"), default=(), form='["priv/python/*.py"]'
        ),
        schema.Field("forbidden", schema.Texts(noun="a list of patterns"), default=(), form='["*.log"]'),
        schema.Field(
            "allow", schema.Texts(noun="a list of paths or globs"), default=(), form='["priv/python/.env.example"]'
        ),
        schema.Field("size_warn_ratio", schema.Number(), default=VerifySettings.size_warn_ratio),
        schema.Field("engine", schema.Choice(ENGINES), default=VerifySettings.engine),
        schema.Field(
            "python_dist", schema.ProjectPath(empty=True, noun='a path, or "" for none'), default="priv_python"
        ),
        schema.Field("python_tools", schema.ProjectPaths(), default=(), form='["."]'),
        schema.Field(
            "smoke_resolutions",
            schema.Texts(noun=f"a list drawn from {', '.join(RESOLUTIONS)}", choices=RESOLUTIONS),
            default=RESOLUTIONS,
        ),
        schema.Field("smoke_timeout", schema.Number(noun="a positive number of seconds"), default=60),
        schema.Field("cache_dir", schema.Text(empty=True), default=""),
        schema.Field("smoke", schema.Sub(SMOKE_TABLE), default=SMOKE_TABLE.defaults()),
        schema.Field("consumer", schema.Sub(CONSUMER_TABLE), default=CONSUMER_TABLE.defaults()),
    ),
    purpose="`hexpack verify` / `nox -s verify_package`: what the Hex package must (not) ship",
)


def from_table(
    table: dict[str, Any],
    *,
    pythons: list[str] | None = None,
    subject: str = "pyproject.toml [tool.hexpack.verify]",
    root: str | Path | None = None,
) -> VerifySettings:
    """Settings from a ``[tool.hexpack.verify]`` table; every problem reported at once."""
    values, problems = schema.check(TABLE, table, root=root, subject=subject)
    for key in ("python_root", "proto_root"):
        values[key] = values[key].strip("/")
    if values["server"] is None:
        values["server"] = f"{values['python_root']}/grpc_server.py"
    if values["requirements"] is None:
        values["requirements"] = f"{values['python_root']}/requirements.txt"
    values["forbidden"] = DEFAULT_FORBIDDEN + tuple(
        (p, "forbidden by [tool.hexpack.verify]") for p in values["forbidden"]
    )
    values["smoke_timeout"] = float(values["smoke_timeout"])
    values["smoke"] = smoke_from_values(values["smoke"])
    values["consumer"] = ConsumerSettings(**values["consumer"])
    raise_together(problems, summary=f"problems in {subject}")
    if pythons:
        values["pythons"] = tuple(pythons)
    return VerifySettings(**values)


def load(root: str | Path) -> VerifySettings:
    """The verify settings of the project at ``root``; its Pythons are hexpack.python.pythons.targeted's."""
    cfg = config.load(root)
    problems: list[HexpackError] = []
    targeted: list[str] = []
    try:
        targeted = pythons.targeted(root)
    except HexpackError as exc:
        problems.append(exc)
    try:
        settings = from_table(cfg.section("verify"), pythons=targeted, subject=cfg.subject("verify"), root=cfg.root)
    except HexpackError as exc:
        problems.append(exc)
    raise_together(problems, summary="problems with the verify settings")
    return settings
