"""Releasing the ``## [Unreleased]`` section of a Keep a Changelog file.

``release(text, old, new, date)`` turns ``## [Unreleased]`` into
``## [X.Y.Z] - YYYY-MM-DD``, puts a fresh empty ``## [Unreleased]`` on top
and updates the link references at the bottom:

- ``[unreleased]: <base>/compare/<tag old>...HEAD`` becomes
  ``.../compare/<tag new>...HEAD`` and ``[X.Y.Z]: <base>/compare/<tag
  old>...<tag new>`` is added below it (``.../releases/tag/<tag new>`` when the
  old version was never released in this changelog);
- without an ``[unreleased]`` link, the repository URL is taken from other
  links of the form ``https://host/owner/repo/(compare|releases/tag)/...``
  or from ``repo_url`` (the package's links in ``mix.exs``); the tag prefix
  from existing links, else ``v``;
- without any of those, links are skipped and ``Release.notes`` says so.

An Unreleased section with no entries (only blank lines and ``###``
headings) is refused unless ``allow_empty``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ..errors import ProjectError

__all__ = ["Release", "newest_release", "release", "released_section", "unreleased_body"]

_UNRELEASED = re.compile(r"^##[ \t]+\[?unreleased\]?[ \t]*$", re.M | re.I)
_H2 = re.compile(r"^##[ \t]+", re.M)
_RELEASED = re.compile(r"^##[ \t]+\[v?(?P<version>\d+\.\d+\.\d+[^\]\s]*)\]", re.M)
_LINK_DEF = re.compile(r"^\[(?P<label>[^\]]+)\]:[ \t]*(?P<url>\S+)[ \t]*$", re.M)
_COMPARE = re.compile(r"^(?P<base>https?://\S+?(?:/-)?)/compare/(?P<from>\S+?)\.\.\.(?P<to>\S+)$")
_TAG = re.compile(r"^(?P<base>https?://\S+?(?:/-)?)/releases/tag/(?P<tag>\S+)$")


@dataclass
class Release:
    text: str  # the whole new changelog
    section: str  # the released section, heading included (for a tag message)
    notes: list[str] = field(default_factory=list)
    empty: bool = False  # the released section had no entries (allow_empty)


def _section_bounds(text: str, subject: str) -> tuple[int, int, int]:
    """(heading start, body start, body end) of the Unreleased section."""
    heading = _UNRELEASED.search(text)
    if not heading:
        raise ProjectError("no `## [Unreleased]` heading", subject=subject, hint="add one above the latest release")
    body_start = heading.end() + 1 if text[heading.end() : heading.end() + 1] == "\n" else heading.end()
    nxt = _H2.search(text, body_start)
    end = nxt.start() if nxt else len(text)
    # link definitions at the bottom are not part of the section
    if not nxt:
        first_link = _LINK_DEF.search(text, body_start)
        if first_link:
            end = first_link.start()
    return heading.start(), body_start, end


def unreleased_body(text: str, *, subject: str = "CHANGELOG.md") -> str:
    _, start, end = _section_bounds(text, subject)
    return text[start:end]


def newest_release(text: str) -> str | None:
    """The version of the first released section (``## [0.6.1] - ...``), or None when there is none."""
    match = _RELEASED.search(text)
    return match["version"] if match else None


def released_section(text: str, version: str) -> str | None:
    """The section that released ``version``, heading included (what its tag message holds), or None."""
    heading = re.search(rf"^##[ \t]+\[v?{re.escape(version)}\].*$", text, re.M)
    if heading is None:
        return None
    following = _H2.search(text, heading.end())
    links = _LINK_DEF.search(text, heading.end())
    end = min(m.start() for m in (following, links) if m) if (following or links) else len(text)
    return text[heading.start() : end].rstrip("\n") + "\n"


def is_empty_body(body: str) -> bool:
    return all(not line.strip() or line.lstrip().startswith("###") for line in body.splitlines())


def _version_in_tag(tag: str, version: str) -> str | None:
    """The tag prefix when ``tag`` is ``<prefix><version>``."""
    return tag[: -len(version)] if tag.endswith(version) else None


def release(
    text: str,
    old: str,
    new: str,
    date: str,
    *,
    allow_empty: bool = False,
    repo_url: str | None = None,
    subject: str = "CHANGELOG.md",
) -> Release:
    if "\r\n" in text:  # work on LF, give the file its CRLF back
        result = release(
            text.replace("\r\n", "\n"), old, new, date, allow_empty=allow_empty, repo_url=repo_url, subject=subject
        )
        return Release(result.text.replace("\n", "\r\n"), result.section, result.notes, result.empty)
    heading_start, body_start, body_end = _section_bounds(text, subject)
    body = text[body_start:body_end]
    empty = is_empty_body(body)
    if empty and not allow_empty:
        raise ProjectError(
            "the [Unreleased] section has no entries",
            subject=subject,
            hint="describe the changes, or pass --allow-empty",
        )
    if re.search(rf"^##[ \t]+\[?{re.escape(new)}\]?(?:[ \t]|$)", text, re.M):
        raise ProjectError(f"already has a section for {new}", subject=subject, hint="bump to another version")
    stripped = body.strip("\n")
    released_heading = f"## [{new}] - {date}"
    section = released_heading + ("\n\n" + stripped if stripped else "") + "\n"
    new_text = text[:heading_start] + "## [Unreleased]\n\n" + section + "\n" + text[body_end:].lstrip("\n")
    if not text[body_end:].strip() and not new_text.endswith("\n"):
        new_text += "\n"
    new_text = new_text.rstrip("\n") + "\n"
    notes: list[str] = []
    new_text = _update_links(new_text, old, new, repo_url, notes, released_before=_has_section(text, old))
    return Release(new_text, section.rstrip("\n") + "\n", notes, empty)


def _has_section(text: str, version: str) -> bool:
    return re.search(rf"^##[ \t]+\[?{re.escape(version)}\]?(?:[ \t]|$)", text, re.M) is not None


def _update_links(text: str, old: str, new: str, repo_url: str | None, notes: list[str], *, released_before: bool):
    links = list(_LINK_DEF.finditer(text))
    unreleased = next((m for m in links if m["label"].lower() == "unreleased"), None)
    base = prefix = None
    if unreleased:
        compare = _COMPARE.match(unreleased["url"])
        if compare:
            base = compare["base"]
            prefix = _version_in_tag(compare["from"], old)
    if base is None:
        for m in links:
            match = _COMPARE.match(m["url"]) or _TAG.match(m["url"])
            if match:
                base = match["base"]
                tag = match.groupdict().get("tag") or match["to"]
                prefix = prefix if prefix is not None else _version_in_tag(tag, m["label"])
                break
    if base is None and repo_url:
        base = repo_url.rstrip("/")
        if base.endswith(".git"):
            base = base[:-4]
    if base is None:
        notes.append("no compare links written: no repository URL in the changelog links or the package links")
        return text
    prefix = "v" if prefix is None else prefix
    new_tag, old_tag = f"{prefix}{new}", f"{prefix}{old}"
    unreleased_line = f"[{unreleased['label'] if unreleased else 'Unreleased'}]: {base}/compare/{new_tag}...HEAD"
    if released_before:
        released_line = f"[{new}]: {base}/compare/{old_tag}...{new_tag}"
    else:
        released_line = f"[{new}]: {base}/releases/tag/{new_tag}"
    if unreleased:
        return text[: unreleased.start()] + unreleased_line + "\n" + released_line + text[unreleased.end() :]
    if links:
        first = links[0]
        return text[: first.start()] + unreleased_line + "\n" + released_line + "\n" + text[first.start() :]
    return text.rstrip("\n") + "\n\n" + unreleased_line + "\n" + released_line + "\n"
