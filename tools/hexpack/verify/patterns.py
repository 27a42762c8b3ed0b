"""Path patterns for the verify rules, and globs translated into Elixir regexes.

``PathPattern`` is the small glob dialect of ``[tool.hexpack.verify]``:

* ``name/`` matches a directory component anywhere (``__pycache__/``);
* a pattern without ``/`` matches any single component (``*.pyc``, ``.env*``);
* a pattern with ``/`` matches the whole path; ``**`` spans directories.

``glob_to_elixir_regex`` turns a glob someone wrote as a Hex
``exclude_patterns`` string into the ``~r//`` regex that does what they meant.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fnmatch import fnmatchcase
from functools import cached_property

GLOB_CHARS = re.compile(r"[*?\[\]{}]")


def looks_like_glob(text: str) -> bool:
    return bool(GLOB_CHARS.search(text))


def _glob_segment_regex(segment: str) -> str:
    """One path segment of a glob as a regex (``*`` and ``?`` stay inside the segment)."""
    out = []
    index = 0
    while index < len(segment):
        char = segment[index]
        if char == "*":
            out.append("[^/]*")
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            end = segment.find("]", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                body = segment[index + 1 : end]
                if body.startswith("!"):
                    body = "^" + body[1:]
                out.append(f"[{body}]")
                index = end
        elif char == "{":
            end = segment.find("}", index + 1)
            if end == -1:
                out.append(re.escape(char))
            else:
                options = segment[index + 1 : end].split(",")
                out.append("(?:" + "|".join(_glob_segment_regex(o) for o in options) + ")")
                index = end
        else:
            out.append(re.escape(char))
        index += 1
    return "".join(out)


def glob_to_regex(glob: str) -> str:
    """A full-path glob (``**`` spans directories) as an anchored Python regex."""
    parts = glob.strip("/").split("/")
    out = []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if part == "**":
            out.append("(?:.*/)?" if not last else ".*")
        else:
            out.append(_glob_segment_regex(part) + ("" if last else "/"))
    return "^" + "".join(out) + "$"


@dataclass(frozen=True)
class PathPattern:
    pattern: str

    @cached_property
    def _dir_only(self) -> bool:
        return self.pattern.endswith("/")

    @cached_property
    def _whole_path(self) -> re.Pattern[str] | None:
        body = self.pattern.rstrip("/")
        return re.compile(glob_to_regex(body)) if "/" in body else None

    def matches(self, path: str, *, is_dir: bool = False) -> bool:
        path = path.strip("/")
        body = self.pattern.rstrip("/")
        if self._whole_path is not None:
            if self._dir_only:
                # a directory pattern covers everything beneath it
                parts = path.split("/")
                upto = len(parts) if is_dir else len(parts) - 1
                return any(self._whole_path.match("/".join(parts[:n])) for n in range(1, upto + 1))
            return bool(self._whole_path.match(path))
        components = path.split("/")
        candidates = components if (is_dir or not self._dir_only) else components[:-1]
        return any(fnmatchcase(c, body) for c in candidates)


def matches_any(path: str, patterns: list[str] | tuple[str, ...], *, is_dir: bool = False) -> bool:
    return any(PathPattern(p).matches(path, is_dir=is_dir) for p in patterns)


def _escape_slashes(regex: str) -> str:
    return regex.replace("/", "\\/")


def glob_to_elixir_regex(glob: str) -> str:
    """The Elixir regex that removes what the glob ``glob`` was meant to remove.

    Hex tests each path relative to the project with ``path =~ pattern``; a
    regex is searched anywhere in the path, so the result is anchored where the
    glob was: a leading ``**/`` becomes ``(^|/)``, anything else ``^``; a last
    segment without wildcards matches a file or a whole directory
    (``(/|$)``), one with wildcards must end the path (``$``).

    For example ``**/__pycache__`` gives ``~r/(^|\\/)__pycache__(\\/|$)/``.
    """
    text = glob.strip()
    anywhere = False
    while text.startswith("**/"):
        text = text[3:]
        anywhere = True
    if text.startswith("/"):
        text = text.lstrip("/")
    elif "/" not in text.rstrip("/"):
        anywhere = True  # like .gitignore: a bare name matches at any depth
    parts = [p for p in text.split("/") if p]
    if not parts:
        return "~r/.*/"
    trailing_any = parts[-1] == "**"
    if trailing_any:
        parts = parts[:-1]
    if not parts:
        return "~r/.*/"
    body_parts = []
    for position, part in enumerate(parts):
        last = position == len(parts) - 1
        if part == "**":
            body_parts.append("(.*/)?")
            continue
        body_parts.append(_glob_segment_regex(part) + ("" if last else "/"))
    body = "".join(body_parts).replace("(?:", "(")
    last = parts[-1]
    # "**/*.pyc": a suffix match says it best
    if anywhere and len(parts) == 1 and last.startswith("*") and not looks_like_glob(last[1:]):
        return f"~r/{_escape_slashes(re.escape(last[1:]))}$/"
    start = "(^|/)" if anywhere else "^"
    end = "(/|$)" if (trailing_any or not looks_like_glob(last)) else "$"
    return f"~r/{_escape_slashes(start + body + end)}/"


def elixir_regex_to_python(regex: str) -> re.Pattern[str]:
    """Compile the ``~r/.../`` text made by ``glob_to_elixir_regex`` for Python."""
    assert regex.startswith("~r/") and regex.endswith("/")
    return re.compile(regex[3:-1].replace("\\/", "/"))
