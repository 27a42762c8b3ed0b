"""Bump the version everywhere and release the changelog, all or nothing.

``plan_bump`` reads every managed place, refuses when any of them does not
hold the current version (or the audit finds an unmanaged occurrence),
computes the new version and every file's complete new content, and touches
nothing. ``apply_plan`` writes the plan with a journaled ``FileTransaction``
under the project lock: the version places and the CHANGELOG change together
or not at all, even when the run is killed (the next run finishes or undoes
it), and a place that is a symbolic link is edited in the file it points to.
Callers hold ``project_lock`` around planning and applying, so two bumps at
once run one after the other. The release flow uses both::

    plan = plan_bump(root, "minor", today=date(2026, 11, 22))
    print(plan.diff())
    apply_plan(plan)
    tag_message = plan.changelog_section
"""

from __future__ import annotations

import datetime as _dt
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomlkit

from ..config import tomllib
from ..errors import HexpackError, ProjectError, UsageError, raise_together
from ..fsutil import FileTransaction, project_lock
from ..mix.project import package_map
from ..mix.terms import is_keyword, keyword_get
from . import changelog as changelog_mod
from .places import Place, VersionReport, read_versions, render_place
from .versions import Version, bump_version

__all__ = ["BumpPlan", "apply_plan", "plan_bump", "read_versions", "tag_name"]


def tag_name(version: str | Version, prefix: str = "v") -> str:
    """The git tag of a release: ``v`` + the SemVer form (``v1.4.0-rc.1``)."""
    return f"{prefix}{version}"


@dataclass
class BumpPlan:
    root: Path
    old: str  # SemVer
    new: str  # SemVer
    pep440: str  # the new version in PEP 440 form
    changes: dict[Path, bytes]  # absolute path -> complete new content
    originals: dict[Path, bytes]
    changelog_section: str
    places: list[Place] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    unreleased_empty: bool = False  # released an [Unreleased] without entries (allow_empty)

    @property
    def tag(self) -> str:
        return tag_name(self.new)

    @property
    def files(self) -> list[str]:
        return [p.relative_to(self.root).as_posix() for p in self.changes]

    def diff(self) -> str:
        """Unified diff of exactly what ``apply_plan`` writes."""
        chunks = []
        for path, new in self.changes.items():
            rel = path.relative_to(self.root).as_posix()
            old_lines = self.originals[path].decode("utf-8").splitlines(keepends=True)
            new_lines = new.decode("utf-8").splitlines(keepends=True)
            chunks.extend(difflib.unified_diff(old_lines, new_lines, f"a/{rel}", f"b/{rel}"))
        return "".join(line if line.endswith("\n") else line + "\n\\ No newline at end of file\n" for line in chunks)


def _rewrite_spans(text: str, edits: list[tuple[int, int, str]]) -> str:
    for start, end, value in sorted(edits, reverse=True):
        text = text[:start] + value + text[end:]
    return text


def _rewrite_pyproject(text: str, rel: str, new: Version) -> str:
    doc = tomlkit.parse(text)
    project = doc["project"]
    literal = project["version"].as_string().startswith("'")  # type: ignore[index, union-attr]
    project["version"] = tomlkit.string(new.pep440, literal=literal)  # type: ignore[index]
    result = tomlkit.dumps(doc)
    expected, after = tomllib.loads(text), tomllib.loads(result)
    expected["project"]["version"] = new.pep440
    if after != expected:  # pragma: no cover - would be a tomlkit defect
        raise ProjectError("rewriting project.version would change other settings", subject=rel)
    return result


_REPOSITORY = re.compile(r"https?://(?:github\.com|gitlab\.com|codeberg\.org|bitbucket\.org)/[^/\"\s]+/[^/\"\s#]+")


def _repo_url(mix_config: Any) -> str | None:
    """A repository URL (GitHub/GitLab/...) from what mix.exs's project/0 returned: the package's links
    first, then ``source_url`` and ``homepage_url``; values the static reader could not evaluate are skipped."""
    if not is_keyword(mix_config):
        return None
    package = package_map(keyword_get(mix_config, "package")) or {}
    links = package.get("links")
    candidates = list(links.values()) if isinstance(links, dict) else [v for _, v in links] if is_keyword(links) else []
    candidates += [keyword_get(mix_config, "source_url"), keyword_get(mix_config, "homepage_url")]
    return next((url for url in candidates if isinstance(url, str) and _REPOSITORY.fullmatch(url)), None)


def plan_bump(
    root: str | Path,
    part_or_version: str,
    *,
    today: _dt.date | str | None = None,
    allow_empty: bool = False,
) -> BumpPlan:
    """Compute the complete bump; writes nothing. Raises HexpackError."""
    root = Path(root).resolve()
    report: VersionReport = read_versions(root)
    current = report.version
    problems: list[HexpackError] = [
        ProjectError(
            f"holds {place.value!r}, not {place.expected!r} (the version of {report.places[0].file} is {current})",
            subject=f"{place.file}:{place.line}",
            hint="make every place agree first (`hexpack version` lists them)",
        )
        for place in report.mismatches
    ]
    problems += [
        ProjectError(
            f"unexpected occurrence of the current version {current}: {occ.text}",
            subject=f"{occ.file}:{occ.line}",
            hint="make it a place or add it to [tool.hexpack.version] allow",
        )
        for occ in report.unexpected
    ]
    if report.changelog_disagrees:
        problems.append(_changelog_problem(report))
    raise_together(problems, summary="places do not agree")
    new = bump_version(current, part_or_version)
    date = _date_text(today)

    changelog_rel = report.config.changelog
    changelog_path = root / changelog_rel
    if not changelog_path.is_file():
        raise ProjectError(
            "file not found", subject=changelog_rel, hint="create a Keep a Changelog file with ## [Unreleased]"
        )

    originals: dict[Path, bytes] = {}
    texts: dict[Path, str] = {}
    edits: dict[Path, list[tuple[int, int, str]]] = {}
    pyprojects: dict[Path, str] = {}
    for place in report.places:
        path = root / place.file
        if path not in originals:
            originals[path] = path.read_bytes()
            texts[path] = originals[path].decode("utf-8")
        if place.kind == "pyproject":
            pyprojects[path] = place.file
        else:
            if texts[path][place.start : place.end] != place.value:  # edited since read_versions located it
                raise ProjectError("changed while the bump was planned", subject=place.file, hint="run the bump again")
            value = render_place(place, new, report.config.snippet_precision)
            edits.setdefault(path, []).append((place.start, place.end, value))
    changes: dict[Path, bytes] = {}
    for path, text in texts.items():
        new_text = _rewrite_spans(text, edits.get(path, []))
        if path in pyprojects:
            new_text = _rewrite_pyproject(new_text, pyprojects[path], new)
        if new_text != text:
            changes[path] = new_text.encode("utf-8")

    original_changelog = changelog_path.read_bytes()
    try:
        changelog_text = original_changelog.decode("utf-8")
    except UnicodeDecodeError:
        raise ProjectError("not UTF-8 text", subject=changelog_rel) from None
    released = changelog_mod.release(
        changelog_text,
        current.semver,
        new.semver,
        date,
        allow_empty=allow_empty,
        repo_url=_repo_url(report.mix_config),
        subject=changelog_rel,
    )
    originals[changelog_path] = original_changelog
    changes[changelog_path] = released.text.encode("utf-8")
    return BumpPlan(
        root=root,
        old=current.semver,
        new=new.semver,
        pep440=new.pep440,
        changes=changes,
        originals={p: originals[p] for p in changes},
        changelog_section=released.section,
        places=report.places,
        notes=released.notes,
        unreleased_empty=released.empty,
    )


def _changelog_problem(report: VersionReport) -> ProjectError:
    """The places and the CHANGELOG were not released together (an older hexpack killed mid-bump, a hand edit)."""
    return ProjectError(
        f"its newest release is {report.changelog_release}, but every version place holds {report.version.semver}",
        subject=report.config.changelog,
        hint=f"release its [Unreleased] entries as {report.version.semver} or set the places back to "
        f"{report.changelog_release}, so the next bump does not release them under the wrong version",
    )


def _date_text(today: _dt.date | str | None) -> str:
    if today is None:
        return _dt.date.today().isoformat()
    if isinstance(today, _dt.date):
        return today.isoformat()
    try:
        return _dt.date.fromisoformat(today).isoformat()
    except ValueError:
        raise UsageError(f"not a date: {today!r}", subject="--date", hint="use YYYY-MM-DD") from None


def apply_plan(plan: BumpPlan, *, before_write: Callable[[Path, int], None] | None = None) -> None:
    """Write the plan all or nothing.

    Refuses when a file changed since the plan was made; every file already
    written is restored if a later write fails.
    """
    with project_lock(plan.root, "hexpack bump"):
        _apply_locked(plan, before_write)


def _apply_locked(plan: BumpPlan, before_write: Callable[[Path, int], None] | None) -> None:
    changed = [
        ProjectError(
            "changed since the bump was planned",
            subject=path.relative_to(plan.root).as_posix(),
            hint="run the bump again",
        )
        for path, old in plan.originals.items()
        if not path.exists() or path.read_bytes() != old
    ]
    raise_together(changed, summary="files changed since planned")
    FileTransaction(root=plan.root, before_write=before_write).apply(plan.changes)
