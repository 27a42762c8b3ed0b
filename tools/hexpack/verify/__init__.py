"""``hexpack verify``: prove that the built artefacts carry a working server.

Gates, in report order: 1 freshness (stubs and ``priv/`` are what the sources
produce), 2 build (the Hex tarball, built-in engine and/or ``mix hex.build``),
3 tarball (required and forbidden files, symlinks, sizes, metadata, the
``exclude_patterns`` report, stub floors), 4 smoke (the unpacked server on
every targeted Python, with the latest and the floor versions), 5 Python dist
(sdist + wheel, ``twine check``, contents, the installed server).

``verify(options) -> Report`` runs them; ``hexpack.commands.verify`` prints
the report.
"""

from __future__ import annotations

from .gates import Finding, Gate, Report, Status

__all__ = ["Finding", "Gate", "Report", "Status"]
