"""Is Hex installed, and which version? Read from Mix's archives directory, without starting the BEAM.

doctor and verify both ask ``find_hex``, so they always agree. Mix loads every
archive under ``$MIX_ARCHIVES`` (else ``$MIX_HOME/archives``, else
``$XDG_DATA_HOME/mix/archives`` when ``MIX_XDG`` is set, else
``~/.mix/archives``); Hex is the one named ``hex`` (``mix install`` from Hex's
source) or ``hex-<version>`` (``mix local.hex``), a directory or an ``.ez``
file. Its version is the ``vsn`` in ``ebin/hex.app`` (the name's version when
that file cannot be read). Whether it actually works is proven by the command
that uses it (``mix hex.build``), not by a separate ``mix hex.info`` run: each
BEAM start costs about a second.
"""

from __future__ import annotations

import os
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from ..versioning.versions import numeric_key
from .rules import HEX_VERSION

__all__ = ["HexArchive", "archives_dir", "find_hex", "version_note"]

_NAME = re.compile(r"hex(?:-(?P<version>\d[\w.\-]*?))?(?:\.ez)?")
_VSN = re.compile(rb'\{\s*vsn\s*,\s*"(?P<version>[^"]+)"\s*\}')


@dataclass(frozen=True)
class HexArchive:
    path: Path
    version: str | None  # None when neither hex.app nor the name tells

    @property
    def reproduced(self) -> bool:
        """The builtin engine reproduces this very version."""
        return self.version == HEX_VERSION

    def describe(self) -> str:
        return f"Hex {self.version}" if self.version else f"Hex (version unknown, {self.path.name})"


def archives_dir(env: Mapping[str, str] | None = None) -> Path:
    """Where Mix looks for archives (``Mix.path_for(:archives)``)."""
    env = os.environ if env is None else env
    if env.get("MIX_ARCHIVES"):
        return Path(env["MIX_ARCHIVES"])
    home = Path(env.get("HOME") or Path.home())
    if env.get("MIX_HOME"):
        mix_home = Path(env["MIX_HOME"])
    elif env.get("MIX_XDG"):
        mix_home = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share") / "mix"
    else:
        mix_home = home / ".mix"
    return mix_home / "archives"


def find_hex(env: Mapping[str, str] | None = None) -> HexArchive | None:
    """The Hex archive Mix would load, or None. With several, the newest version."""
    directory = archives_dir(env)
    try:
        entries = list(directory.iterdir())
    except OSError:
        return None
    found = []
    for entry in entries:
        match = _NAME.fullmatch(entry.name)
        if match is None:
            continue
        found.append(HexArchive(entry, _app_version(entry) or match.group("version")))
    if not found:
        return None
    return max(found, key=lambda archive: numeric_key(archive.version))


def version_note(archive: HexArchive) -> str:
    """One line on the installed Hex against the one the builtin engine reproduces."""
    if archive.reproduced:
        return f"{archive.describe()}, the version the builtin engine reproduces"
    return (
        f"{archive.describe()} is installed; the builtin engine reproduces Hex {HEX_VERSION}, "
        "so their tarballs may differ (`hexpack verify --engine both` shows how)"
    )


def _app_version(entry: Path) -> str | None:
    try:
        if entry.is_dir():
            for app in entry.glob("*/ebin/hex.app"):
                return _vsn(app.read_bytes())
        elif entry.suffix == ".ez":
            with zipfile.ZipFile(entry) as archive:
                for name in archive.namelist():
                    if name.endswith("/ebin/hex.app"):
                        return _vsn(archive.read(name)[:65536])
    except (OSError, zipfile.BadZipFile):
        return None
    return None


def _vsn(text: bytes) -> str | None:
    match = _VSN.search(text)
    return match.group("version").decode("utf-8", "replace") if match else None
