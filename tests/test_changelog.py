"""Releasing the [Unreleased] section of a Keep a Changelog file."""

from __future__ import annotations

import pytest
from hexpack.errors import ProjectError
from hexpack.versioning.changelog import release, unreleased_body

HEAD = """# Changelog

All notable changes to this project will be documented in this file.

"""

WITH_LINKS = (
    HEAD
    + """## [Unreleased]

### Added
- Streaming.

## [1.3.0] - 2026-01-05

### Fixed
- A leak.

[unreleased]: https://github.com/acme/widget/compare/v1.3.0...HEAD
[1.3.0]: https://github.com/acme/widget/releases/tag/v1.3.0
"""
)


def test_release_moves_entries_and_updates_links():
    result = release(WITH_LINKS, "1.3.0", "1.4.0-rc.1", "2026-11-22")
    assert (
        result.text
        == HEAD
        + """## [Unreleased]

## [1.4.0-rc.1] - 2026-11-22

### Added
- Streaming.

## [1.3.0] - 2026-01-05

### Fixed
- A leak.

[unreleased]: https://github.com/acme/widget/compare/v1.4.0-rc.1...HEAD
[1.4.0-rc.1]: https://github.com/acme/widget/compare/v1.3.0...v1.4.0-rc.1
[1.3.0]: https://github.com/acme/widget/releases/tag/v1.3.0
"""
    )
    assert result.section == "## [1.4.0-rc.1] - 2026-11-22\n\n### Added\n- Streaming.\n"
    assert result.notes == []
    assert unreleased_body(result.text).strip() == ""


def test_links_are_added_from_the_package_url_when_the_changelog_has_none():
    text = HEAD + "## [Unreleased]\n\n- First.\n"
    result = release(text, "0.4.0", "0.2.0", "2026-11-22", repo_url="https://github.com/acme/widget.git")
    assert result.text.endswith(
        "## [Unreleased]\n\n## [0.2.0] - 2026-11-22\n\n- First.\n\n"
        "[Unreleased]: https://github.com/acme/widget/compare/v0.2.0...HEAD\n"
        "[0.2.0]: https://github.com/acme/widget/releases/tag/v0.2.0\n"
    )


def test_tag_prefix_is_taken_from_existing_links():
    text = (
        HEAD
        + "## [Unreleased]\n\n- x\n\n## [1.0.0] - 2026-01-01\n\n[1.0.0]: https://gitlab.com/a/b/-/releases/tag/release-1.0.0\n"
    )
    result = release(text, "1.0.0", "1.0.1", "2026-11-22")
    assert "[Unreleased]: https://gitlab.com/a/b/-/compare/release-1.0.1...HEAD\n" in result.text
    assert "[1.0.1]: https://gitlab.com/a/b/-/compare/release-1.0.0...release-1.0.1\n" in result.text


def test_without_any_url_links_are_skipped_and_said():
    text = HEAD + "## [Unreleased]\n\n- x\n"
    result = release(text, "0.4.0", "0.2.0", "2026-11-22")
    assert result.text == HEAD + "## [Unreleased]\n\n## [0.2.0] - 2026-11-22\n\n- x\n"
    assert result.notes and "no compare links" in result.notes[0]


@pytest.mark.parametrize("body", ["", "\n\n", "\n### Added\n\n### Fixed\n\n"])
def test_empty_unreleased_is_refused_unless_allowed(body):
    text = HEAD + "## [Unreleased]\n" + body + "## [0.4.0] - 2026-01-01\n\n- x\n"
    with pytest.raises(ProjectError, match=r"CHANGELOG.md: the \[Unreleased\] section has no entries.*--allow-empty"):
        release(text, "0.4.0", "0.2.0", "2026-11-22")
    result = release(text, "0.4.0", "0.2.0", "2026-11-22", allow_empty=True)
    assert "## [Unreleased]\n\n## [0.2.0] - 2026-11-22\n" in result.text


def test_missing_unreleased_heading_is_an_error():
    with pytest.raises(ProjectError, match="no `## \\[Unreleased\\]` heading"):
        release(HEAD + "## [0.4.0] - 2026-01-01\n", "0.4.0", "0.2.0", "2026-11-22")


def test_existing_section_for_new_version_is_refused():
    text = HEAD + "## [Unreleased]\n\n- x\n\n## [0.2.0] - 2026-01-01\n"
    with pytest.raises(ProjectError, match="already has a section for 0.2.0"):
        release(text, "0.4.0", "0.2.0", "2026-11-22")
