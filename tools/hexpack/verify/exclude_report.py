"""What each ``exclude_patterns`` entry of ``mix.exs`` removed, and globs that remove nothing.

Hex drops a path when ``path =~ pattern`` for any exclude pattern: a regex is
searched anywhere in the path, a *string* is a plain substring test. So a
string written like a glob (``"**/__pycache__"``, ``"priv/python/*.pyc"``)
never matches anything; the report warns about each one and suggests the regex
that does what was meant.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..hex.selection import matches_exclude, regex_time_limit
from ..mix.terms import Regex
from .gates import Finding, note, warn
from .patterns import elixir_regex_to_python, glob_to_elixir_regex, looks_like_glob

SHOW = 5  # paths listed per pattern before "and N more"


def pattern_text(pattern: Any) -> str:
    """As written in mix.exs: ``~r/priv\\/python\\/tests\\//`` keeps its escaped slashes."""
    if isinstance(pattern, Regex):
        return "~r/" + re.sub(r"(?<!\\)/", r"\\/", pattern.source) + "/" + pattern.options
    return f'"{pattern}"'


def hex_excludes(path: str, pattern: Any) -> bool:
    """Hex's test: ``path =~ pattern`` (substring for strings, search for regexes)."""
    return matches_exclude(pattern, path)


def excluded_by(path: str, patterns: Iterable[Any]) -> Any | None:
    """The first exclude pattern that removes ``path``, or None."""
    for pattern in patterns:
        if hex_excludes(path, pattern):
            return pattern
    return None


@dataclass
class PatternReport:
    pattern: Any
    removed: list[str] = field(default_factory=list)
    glob_like: bool = False
    suggestion: str | None = None
    suggestion_removes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "pattern": pattern_text(self.pattern),
            "removed": self.removed,
            "glob_like": self.glob_like,
            "suggestion": self.suggestion,
            "suggestion_removes": self.suggestion_removes,
        }


def _listing(paths: Sequence[str]) -> str:
    shown = ", ".join(paths[:SHOW])
    return shown + (f" and {len(paths) - SHOW} more" if len(paths) > SHOW else "")


def analyse(patterns: Sequence[Any], candidates: Sequence[str] | None) -> list[PatternReport]:
    """One report per pattern.

    ``candidates`` are the paths ``files:`` selects before any exclusion
    (files and directories, relative to the project); None when unknown, in
    which case only the glob check runs.
    """
    reports = []
    for pattern in patterns:
        report = PatternReport(pattern)
        if candidates is not None:
            with regex_time_limit():
                report.removed = [p for p in candidates if hex_excludes(p, pattern)]
        if not isinstance(pattern, Regex) and looks_like_glob(str(pattern)):
            report.glob_like = True
            report.suggestion = glob_to_elixir_regex(str(pattern))
            if candidates is not None:
                compiled = elixir_regex_to_python(report.suggestion)
                report.suggestion_removes = [p for p in candidates if compiled.search(p)]
        reports.append(report)
    return reports


def findings(reports: Sequence[PatternReport]) -> list[Finding]:
    found: list[Finding] = []
    for report in reports:
        text = pattern_text(report.pattern)
        if report.glob_like:
            would = ""
            if report.suggestion_removes:
                would = f" (it would remove {_listing(report.suggestion_removes)})"
            found.append(
                warn(
                    "looks like a glob, but Hex matches exclude strings as plain substrings, "
                    f"so it removes {'nothing' if not report.removed else _listing(report.removed)}",
                    subject=f"exclude_patterns {text}",
                    hint=f"use the regex {report.suggestion} in mix.exs{would}",
                )
            )
        elif report.removed:
            found.append(note(f"removed {len(report.removed)}: {_listing(report.removed)}", subject=text))
        else:
            found.append(note("removed nothing", subject=text))
    return found
