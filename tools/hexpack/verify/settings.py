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
from ..errors import HexpackError, ProjectError, raise_together
from ..python import pythons
from .smoke_settings import ConsumerSettings, SmokeSettings, consumer_from_table, smoke_from_table

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
        base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
        return Path(base) / "hexpack" / "verify"


_KNOWN = {
    "python_root",
    "proto_root",
    "server",
    "requirements",
    "required",
    "forbidden",
    "allow",
    "size_warn_ratio",
    "engine",
    "python_dist",
    "python_tools",
    "smoke_resolutions",
    "smoke_timeout",
    "cache_dir",
    "smoke",
    "consumer",
}


def from_table(
    table: dict[str, Any], *, pythons: list[str] | None = None, source: str = "pyproject.toml"
) -> VerifySettings:
    """Settings from a ``[tool.hexpack.verify]`` table; every problem reported at once."""
    problems = []
    subject = f"{source} [tool.hexpack.verify]"

    unknown = sorted(set(table) - _KNOWN)
    if unknown:
        problems.append(f"unknown key(s) {', '.join(unknown)}")

    def strings(key: str) -> tuple[str, ...]:
        value = table.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            problems.append(f"{key} must be a list of strings")
            return ()
        return tuple(value)

    def string(key: str, default: str) -> str:
        value = table.get(key, default)
        if not isinstance(value, str):
            problems.append(f"{key} must be a string")
            return default
        return value.strip("/") if key.endswith("root") else value

    kwargs: dict[str, Any] = {}
    for key, default in (
        ("python_root", "priv/python"),
        ("proto_root", "priv/proto"),
        ("python_dist", "priv_python"),
        ("cache_dir", ""),
        ("engine", "auto"),
    ):
        kwargs[key] = string(key, default)
    if table.get("server") is False:
        kwargs["server"] = ""
    elif table.get("server") in ("", True):
        problems.append("server must be the path of the server script, or false for a package without one")
        kwargs["server"] = ""
    else:
        kwargs["server"] = string("server", f"{kwargs['python_root']}/grpc_server.py")
    kwargs["requirements"] = string("requirements", f"{kwargs['python_root']}/requirements.txt")
    kwargs["required"] = strings("required")
    kwargs["allow"] = strings("allow")
    kwargs["python_tools"] = tuple(path.strip("/") or "." for path in strings("python_tools"))
    kwargs["forbidden"] = DEFAULT_FORBIDDEN + tuple(
        (p, "forbidden by [tool.hexpack.verify]") for p in strings("forbidden")
    )
    if kwargs["engine"] not in ENGINES:
        problems.append(f"engine must be one of {', '.join(ENGINES)}, not {kwargs['engine']!r}")
    resolutions = strings("smoke_resolutions") if "smoke_resolutions" in table else RESOLUTIONS
    bad = [r for r in resolutions if r not in RESOLUTIONS]
    if bad:
        problems.append(f"smoke_resolutions may hold {', '.join(RESOLUTIONS)}, not {', '.join(bad)}")
    kwargs["smoke_resolutions"] = tuple(r for r in resolutions if r in RESOLUTIONS)
    for key, default in (("size_warn_ratio", 0.8), ("smoke_timeout", 60.0)):
        value = table.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            problems.append(f"{key} must be a positive number")
            value = default
        kwargs[key] = float(value)
    kwargs["smoke"] = smoke_from_table(table.get("smoke", {}), problems)
    kwargs["consumer"] = consumer_from_table(table.get("consumer", {}), problems)
    if problems:
        raise ProjectError(
            "; ".join(problems), subject=subject, hint='see the settings in README, "Proving the artefacts work"'
        )
    if pythons:
        kwargs["pythons"] = tuple(pythons)
    return VerifySettings(**kwargs)


def load(root: str | Path) -> VerifySettings:
    """The verify settings of the project at ``root``; its Pythons are hexpack.python.pythons.targeted's."""
    cfg = config.load(root)
    source = cfg.source.name if cfg.source else "pyproject.toml"
    problems: list[HexpackError] = []
    targeted: list[str] = []
    try:
        targeted = pythons.targeted(root)
    except HexpackError as exc:
        problems.append(exc)
    try:
        settings = from_table(cfg.section("verify"), pythons=targeted, source=source)
    except HexpackError as exc:
        problems.append(exc)
    raise_together(problems, summary="problems with the verify settings")
    return settings
