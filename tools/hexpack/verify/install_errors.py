"""What failed when uv could not install requirements, named by package.

uv's own last line is often a build backend's message (maturin's "`project.version`
field is required") that does not say which package it was building. These
patterns read the package from uv's report; one line per package.
"""

from __future__ import annotations

import json
import platform
import re
import urllib.request

from packaging.utils import InvalidWheelFilename, canonicalize_name, parse_wheel_filename
from packaging.version import InvalidVersion, Version

__all__ = ["explain", "has_wheel_for"]

_PATTERNS = (
    (re.compile(r"Because ([\w.-]+)==(\S+) has no usable wheels"), "{0}=={1}: no wheel for {python}"),
    (re.compile(r"Failed to build `([^`]+)`"), "{0}: failed to build from source"),
    (re.compile(r"Failed to download(?: and build)? `([^`]+)`"), "{0}: failed to download"),
    (re.compile(r"Because ([\w.-]+) was not found in the package registry"), "{0}: not found in the package registry"),
    (re.compile(r"Because there is no version of ([\w.-]+\S*?) and"), "{0}: no such version"),
)


def explain(output: str, python: str) -> list[str]:
    """One line per package uv names as failing in ``output`` (empty when it names none)."""
    found: dict[str, None] = {}
    flat = " ".join(output.split())  # uv wraps its report to the terminal's width (COLUMNS), mid-sentence
    for pattern, template in _PATTERNS:
        for match in pattern.finditer(flat):
            found[template.format(*match.groups(), python=python)] = None
    return list(found)


def has_wheel_for(name: str, version: str, python: str, *, timeout: float = 5.0) -> bool | None:
    """Whether PyPI has a wheel of ``name==version`` that CPython ``python`` (X.Y) on this machine installs;
    None when PyPI cannot be asked (offline, another index)."""
    # the simple API (PEP 691), as installers read it: every file of every release
    request = urllib.request.Request(
        f"https://pypi.org/simple/{canonicalize_name(name)}/", headers={"Accept": "application/vnd.pypi.simple.v1+json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            files = json.loads(response.read(64 * 1024 * 1024)).get("files", [])
    except (OSError, ValueError):
        return None
    wanted = Version(version)
    minor = int(python.split(".")[1])
    machine = platform.machine()
    for file in files:
        try:
            _name, file_version, _build, tags = parse_wheel_filename(str(file.get("filename", "")))
        except (InvalidWheelFilename, InvalidVersion):
            continue
        if file_version != wanted:
            continue
        for tag in tags:
            interpreter_ok = tag.interpreter in ("py3", f"py3{minor}", f"cp3{minor}") or (
                tag.abi == "abi3" and tag.interpreter.startswith("cp3") and int(tag.interpreter[3:] or 0) <= minor
            )
            abi_ok = tag.abi in ("none", "abi3", f"cp3{minor}")
            platform_ok = tag.platform == "any" or ("linux" in tag.platform and tag.platform.endswith(machine))
            if interpreter_ok and abi_ok and platform_ok:
                return True
    return False
