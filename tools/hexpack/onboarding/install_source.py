"""Where the running hexpack came from, as a requirement another environment can install.

``hexpack init`` writes sessions that install hexpack into their own venvs;
they must get the hexpack the maintainer runs, from where it came:

1. ``[tool.hexpack] requirement`` when the project sets it;
2. else what the installer recorded (PEP 610 ``direct_url.json`` in the
   distribution's metadata): a VCS URL pinned to the installed commit, a local
   directory (also an editable one), or an archive URL;
3. else ``hexpack==<version>`` (installed from an index).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from .. import __version__
from ..errors import ProjectError

__all__ = ["Source", "from_direct_url", "requirement"]

DISTRIBUTION = "hexpack"


@dataclass(frozen=True)
class Source:
    requirement: str  # what `pip install` / `session.install` takes
    why: str  # how it was chosen, for init's "assumed:" line


def requirement(configured: Any = None) -> Source:
    """The requirement that installs the running hexpack elsewhere (see the module docstring)."""
    if configured is not None:
        if not isinstance(configured, str) or not configured.strip():
            raise ProjectError(
                f"requirement must be a non-empty string, got {configured!r}",
                subject="[tool.hexpack] requirement",
                hint='write e.g. requirement = "hexpack==X.Y.Z"',
            )
        return Source(configured.strip(), "from [tool.hexpack] requirement")
    try:
        dist = metadata.distribution(DISTRIBUTION)
        recorded = dist.read_text("direct_url.json")
        installed = dist.version
    except metadata.PackageNotFoundError:
        recorded, installed = None, __version__
    if installed == __version__ and recorded:
        try:
            derived = from_direct_url(json.loads(recorded))
        except (ValueError, TypeError, AttributeError):
            derived = None
        if derived is not None:
            return derived
    return Source(f"{DISTRIBUTION}=={__version__}", "the running hexpack's version, from PyPI")


def from_direct_url(data: dict[str, Any]) -> Source | None:
    """A PEP 610 record as a requirement; None when it says nothing usable."""
    url = data.get("url")
    if not isinstance(url, str) or not url:
        return None
    subdirectory = data.get("subdirectory")
    fragment = f"#subdirectory={subdirectory}" if isinstance(subdirectory, str) and subdirectory else ""
    vcs = data.get("vcs_info")
    if isinstance(vcs, dict):
        commit = vcs.get("commit_id")
        pinned = f"@{commit}" if isinstance(commit, str) and commit else ""
        kind = vcs.get("vcs", "git")
        return Source(
            f"{DISTRIBUTION} @ {kind}+{url}{pinned}{fragment}",
            f"installed from {url}" + (f" at commit {commit[:12]}" if pinned else ""),
        )
    dir_info = data.get("dir_info")
    if isinstance(dir_info, dict):
        how = "an editable install of" if dir_info.get("editable") else "installed from"
        return Source(f"{DISTRIBUTION} @ {url}{fragment}", f"{how} {url.removeprefix('file://')}")
    if isinstance(data.get("archive_info"), dict):
        return Source(f"{DISTRIBUTION} @ {url}{fragment}", f"installed from {url}")
    return None
