"""Which files go into a Hex package, chosen exactly as ``mix hex.build`` does.

Hex 2.5.1 (``Mix.Tasks.Hex.Build.package/2``) takes the ``files:`` list (or
its defaults), expands each entry with Elixir's ``Path.wildcard/1`` (Erlang's
``filelib:wildcard/2`` with dotfiles hidden from the listing), walks every
matched directory depth-first in the order the file system lists it
(``File.ls!/1``: unsorted, dotfiles included, symlinks not followed), makes
the paths relative to the project, drops duplicates and finally rejects every
path matching an ``exclude_patterns`` entry or ``~r/\\W\\.DS_Store$/``.

Two details that surprise people and are kept on purpose:

* a string in ``exclude_patterns`` is a plain substring test, so
  ``"**/__pycache__"`` excludes nothing (only a path containing those exact
  characters);
* globs follow symlinked directories (``filelib`` lists through them) while
  the directory walk does not (``File.lstat/1``), so ``priv`` keeps
  ``priv/link -> pkg`` as one symlink but ``priv/**/*.py`` also finds
  ``priv/link/mod.py``.

``listdir`` is the one function that lists a directory; tests pass one that
returns a recorded order, because the walk's order (and so the order of
``files`` in ``metadata.config``) depends on the file system, as it does for
Hex. The project root is taken literally: unlike Hex, glob characters in the
root's own path are not expanded.
"""

from __future__ import annotations

import contextlib
import os
import posixpath
import re
import stat
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

from ..errors import PackageError, ProjectError
from ..mix.terms import Regex
from ..records import Record

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Union

__all__ = [
    "DEFAULT_FILES",
    "DS_STORE_PATTERN",
    "MAX_BRACE_GROUPS",
    "MAX_PATTERN_LENGTH",
    "GlobError",
    "compile_glob",
    "is_excluded",
    "matches_exclude",
    "regex_time_limit",
    "select_files",
    "wildcard",
]

#: ``Hex.Package.default_files/0``: used when ``package`` has no ``files:``.
DEFAULT_FILES: tuple[str, ...] = (
    "lib",
    "priv",
    ".formatter.exs",
    "mix.exs",
    "README*",
    "readme*",
    "LICENSE*",
    "license*",
    "CHANGELOG*",
    "changelog*",
    "src",
    "c_src",
    "Makefile*",
)

#: Appended by Hex to every ``exclude_patterns`` list.
DS_STORE_PATTERN = Regex(r"\W\.DS_Store$")

ListDir = Callable[[str], Iterable[str]]


class GlobError(PackageError):
    """A ``files:`` pattern that ``Path.wildcard/1`` itself rejects."""


# ---------------------------------------------------------------------------
# Compiling a pattern, as filelib:compile_wildcard/2 does
# ---------------------------------------------------------------------------

# Tokens of one compiled path component. A literal character is a 1-char str;
# everything else is one of these.
_QUESTION = ("question",)
_STAR = ("star",)
_ACCEPT = ("accept",)  # a `*` ending the component: matches the rest
_DOUBLE_STAR = ("double_star",)  # `**` ending the component


class _OneOf(Record):
    __slots__ = ("chars",)

    def __init__(self, chars: frozenset[str]):
        self.chars = chars


class _Alt(Record):
    __slots__ = ("alternatives",)

    def __init__(self, alternatives: tuple[tuple[object, ...], ...]):
        self.alternatives = alternatives


if TYPE_CHECKING:  # an alias for annotations only
    Token = Union[str, tuple, _OneOf, _Alt]  # noqa: UP007 (kept valid on Python 3.10)


class _BadPattern(Exception):
    pass


def _scan(pattern: str) -> list[list[object]]:
    """Split into path components; a backslash escapes the next character."""
    parts: list[list[object]] = [[]]
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            if index + 1 < len(pattern):
                nxt = pattern[index + 1]
                if nxt == "/":  # filelib drops an escape that ends a component
                    parts.append([])
                else:
                    parts[-1].append(("esc", nxt))
            index += 2
            continue
        if char == "/":
            parts.append([])
        else:
            parts[-1].append(char)
        index += 1
    return [part for part in parts if part]


def _compile_part(chars: list[object], upto: bool) -> tuple[list[Token], str | None, list[object]]:
    """Port of ``compile_part/3``; with ``upto`` stop at a top-level ``,``/``}``.

    Returns (tokens, separator, rest); separator is None when the input ended.
    """
    result: list[Token] = []
    index = 0
    while index < len(chars):
        char = chars[index]
        rest = chars[index + 1 :]
        if upto and char in (",", "}"):
            return result, char, rest
        if char == "?":
            result.append(_QUESTION)
        elif char == "*":
            if rest[:1] == ["*"]:
                if len(rest) == 1:
                    result.append(_DOUBLE_STAR)
                    index += 2
                    continue
                result.append(_STAR)
                index += 2
                continue
            result.append(_ACCEPT if not rest else _STAR)
        elif char == "[":
            charset = _compile_charset(rest)
            if charset is None:
                result.append("[")
            else:
                one_of, consumed = charset
                result.append(one_of)
                index += 1 + consumed
                continue
        elif char == "{":
            alt = _compile_alt(rest)
            result.append(alt)
            if upto:
                # filelib's compile_alt/2 gets a bare token list back here and
                # fails with a case_clause: Elixir raises.
                raise _BadPattern("nested braces are not supported by Path.wildcard/1")
            return result, None, []
        elif isinstance(char, tuple):
            result.append(char[1])
        else:
            result.append(char)  # type: ignore[arg-type]
        index += 1
    if upto:
        raise _BadPattern("missing closing brace")
    return result, None, []


def _compile_charset(chars: list[object]) -> tuple[_OneOf, int] | None:
    """``[...]``: returns the set and how many characters it used, or None."""
    members: set[str] = set()
    index = 0
    if chars[:1] == ["]"]:
        members.add("]")
        index = 1
    elif not chars:
        return None
    while index < len(chars):
        char = chars[index]
        if (
            index + 2 < len(chars)
            and chars[index + 1] == "-"
            and isinstance(char, str)
            and isinstance(chars[index + 2], str)
            and char <= chars[index + 2]  # type: ignore[operator]
        ):
            upper = chars[index + 2]
            assert isinstance(upper, str)
            members.update(chr(code) for code in range(ord(char), ord(upper) + 1))
            index += 3
            continue
        if char == "]":
            return _OneOf(frozenset(members)), index + 1
        members.add(char[1] if isinstance(char, tuple) else char)  # type: ignore[arg-type]
        index += 1
    return None


def _compile_alt(chars: list[object]) -> _Alt:
    alternatives: list[list[Token]] = []
    rest = chars
    while True:
        tokens, separator, rest = _compile_part(rest, True)
        alternatives.append(tokens)
        if separator == "}":
            tail, _, _ = _compile_part(rest, False)
            return _Alt(tuple(tuple(alt + tail) for alt in alternatives))


def compile_glob(pattern: str) -> list[list[Token]]:
    """Compile ``pattern`` into one token list per path component.

    Raises ``GlobError`` for the patterns Elixir's ``Path.wildcard/1`` raises
    on (an unclosed ``{``, nested braces).
    """
    try:
        _check_size(pattern)
        return [_compile_part(part, False)[0] for part in _scan(pattern)]
    except _BadPattern as exc:
        raise GlobError(
            f"invalid pattern {pattern[:100]!r}: {exc}",
            subject="mix.exs files",
            hint="fix the pattern in package files:",
        ) from None


MAX_PATTERN_LENGTH = 4096  # PATH_MAX: no longer pattern names a file
MAX_BRACE_GROUPS = 64  # each {..} group nests the compiled pattern one level deeper


def _check_size(pattern: str) -> None:
    """Fixed caps, so compiling and matching a pattern stays bounded (Elixir has none)."""
    if len(pattern) > MAX_PATTERN_LENGTH:
        raise _BadPattern(f"longer than {MAX_PATTERN_LENGTH} characters")
    if pattern.count("{") > MAX_BRACE_GROUPS:
        raise _BadPattern(f"more than {MAX_BRACE_GROUPS} {{...}} groups")


def _is_literal(tokens: Sequence[Token]) -> bool:
    return all(isinstance(token, str) for token in tokens)


def _match(tokens: Sequence[Token], name: str) -> bool:
    """Port of ``filelib:match_part/2`` on one directory entry name.

    filelib backtracks on every ``*`` (exponential for ``a*a*a*...b``); here the set of
    positions reachable after each token is carried instead, so a pattern of thousands of
    stars is matched in time proportional to its length times the name's.
    """
    return len(name) in _positions(tokens, name, 0, {})


def _positions(tokens: Sequence[Token], name: str, start: int, memo: dict) -> set[int]:
    """The positions in ``name`` where ``tokens`` (matched from ``start``) can end; len+1 means "all"."""
    key = (id(tokens), start)
    if key in memo:
        return memo[key]
    end = len(name)
    reached = {start}
    for token in tokens:
        if not reached:
            break
        if token is _ACCEPT or token is _DOUBLE_STAR:
            reached = {end}
            break
        if token is _STAR:
            reached = set(range(min(reached), end + 1))
        elif isinstance(token, _Alt):  # always the last token: each alternative carries the rest
            reached = {stop for at in reached for alt in token.alternatives for stop in _positions(alt, name, at, memo)}
            break
        else:
            reached = {at + 1 for at in reached if at < end and _one(token, name[at])}
    memo[key] = reached
    return reached


def _one(token: Token, char: str) -> bool:
    if token is _QUESTION:
        return True
    if isinstance(token, _OneOf):
        return char in token.chars
    return char == token


# ---------------------------------------------------------------------------
# Evaluating a pattern, as filelib:do_wildcard/3 with Path.Wildcard does
# ---------------------------------------------------------------------------


def _join(base: str, name: str) -> str:
    return f"{base}/{name}" if base else name


def _fjoin(base: str, name: str) -> str:
    """``filename:join/2`` below the (absolute) project root, relative to it.

    Erlang drops a ``.`` component that another one follows (``a/./b`` ->
    ``a/b``) and keeps a trailing one (``a/.``); ``""`` is the root itself.
    """
    parts = [part for part in (base.split("/") if base else []) + name.split("/") if part]
    return "/".join(part for index, part in enumerate(parts) if part != "." or index == len(parts) - 1)


def _abs(root: str, rel: str) -> str:
    return os.path.join(root, rel) if rel else root


def _list_visible(root: str, rel: str, listdir: ListDir) -> list[str] | None:
    """``Path.Wildcard.list_dir/1``: entries not starting with a dot, or None."""
    try:
        names = listdir(_abs(root, rel))
    except OSError:
        return None
    return [name for name in names if not name.startswith(".")]


def _lexists(path: str) -> bool:
    try:
        os.lstat(path)
    except (OSError, ValueError):
        return False
    return True


def wildcard(root: str | os.PathLike[str], pattern: str, *, listdir: ListDir = os.listdir) -> list[str]:
    """``Path.wildcard(Path.join(root, pattern))``, relative to ``root``, sorted.

    Globs (``*``, ``?``, ``**``, ``[..]``, ``{a,b}``) never match names that
    start with a dot; a literal component does. Literal patterns match broken
    symlinks too (``filelib`` checks them with ``read_link_info``).
    """
    root = os.fspath(root)
    parts = compile_glob(pattern.lstrip("/"))
    base = ""
    index = 0
    while index < len(parts) and _is_literal(parts[index]):
        base = _fjoin(base, "".join(parts[index]))  # type: ignore[arg-type]
        index += 1
    if index == len(parts):
        # An empty pattern is the project root itself, as Path.join(root, "") is.
        return [base or "."] if _lexists(_abs(root, base)) else []
    results: list[str] = []
    try:
        _walk(root, base, parts[index:], results, listdir)
    except _BadPattern as exc:
        raise GlobError(
            f"invalid pattern {pattern[:100]!r}: {exc}",
            subject="mix.exs files",
            hint="fix the pattern in package files:",
        ) from None
    return sorted(results)


def _walk(root: str, base: str, rest: Sequence[Sequence[Token]], results: list[str], listdir: ListDir) -> None:
    """``filelib:do_wildcard``'s walk, with an explicit stack: a tree of any depth is walked.

    The order found is irrelevant (``wildcard`` sorts); each work item is either
    ("walk", dir, patterns left) or ("below", dir, entry name, patterns left) for
    ``filelib:do_double_star/6``: every entry below a directory (not the directory itself).
    """
    work: list[tuple] = [("walk", base, tuple(rest))]
    while work:
        item = work.pop()
        if item[0] == "below":
            _, parent, name, patterns = item
            full = parent if name is None else _fjoin(parent, name)
            for child in _list_visible(root, full, listdir) or ():
                work.append(("below", full, child, patterns))
            if name is None:
                continue
            if not patterns:
                results.append(full)
            elif _match(patterns[0], name):
                work.append(("walk", full, patterns[1:]))
            continue
        _, at, patterns = item
        if not patterns:
            results.append(at)
            continue
        tokens, remaining = patterns[0], patterns[1:]
        if list(tokens) == [_DOUBLE_STAR]:
            work.append(("below", at, None, remaining))
            continue
        if list(tokens) == [".", "."]:
            # filelib asks Path.Wildcard.read_file_info/1 here, which Elixir 1.14
            # does not define: Path.wildcard/1 raises.
            raise _BadPattern("'..' after a wildcard is not supported by Path.wildcard/1")
        for name in _list_visible(root, at, listdir) or ():
            if _match(tokens, name):
                work.append(("walk", _fjoin(at, name), remaining))


# ---------------------------------------------------------------------------
# Expanding and excluding, as Mix.Tasks.Hex.Build.expand_paths/2 does
# ---------------------------------------------------------------------------


def _dir_files(root: str, rel: str, listdir: ListDir, out: list[str]) -> None:
    """``rel`` and, for a directory, everything below it depth-first in listing order.

    An explicit stack (children pushed in reverse) keeps the order of the recursive walk
    Hex does, for a tree of any depth.
    """
    stack = [rel]
    while stack:
        current = stack.pop()
        path = _abs(root, current)
        try:
            is_dir = stat.S_ISDIR(os.lstat(path).st_mode)
        except OSError:
            is_dir = False
        out.append(current)
        if not is_dir:
            continue
        try:
            names = list(listdir(path))
        except OSError as exc:
            raise PackageError(
                f"cannot list directory: {exc.strerror or exc}", subject=current, hint="fix its permissions"
            ) from None
        stack.extend(_join(current, name) for name in reversed(names))


def _relative(root: str, rel: str, pattern: str) -> str:
    """``Path.expand/1`` then ``Path.relative_to/2`` against the project root."""
    expanded = posixpath.normpath(posixpath.join(root, rel))
    if expanded == root:
        return "."
    if expanded.startswith(root.rstrip("/") + "/"):
        return expanded[len(root.rstrip("/")) + 1 :]
    raise PackageError(
        f"pattern {pattern!r} selects {expanded}, which is outside the project",
        subject="mix.exs files",
        hint="list only paths inside the project",
    )


_REGEX_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE, "u": 0}
_compiled_cache: dict[tuple[str, str], re.Pattern] = {}


def _compile_regex(regex: Regex) -> re.Pattern:
    """An Elixir regex as Python ``re``.

    Without the ``u`` modifier PCRE works on bytes (``\\w`` is ASCII, ``.`` is
    one byte), so the pattern runs on the UTF-8 bytes of the path; with ``u``
    it runs on characters.
    """
    key = (regex.source, regex.options)
    if key in _compiled_cache:
        return _compiled_cache[key]
    flags = 0
    for letter in regex.options:
        if letter not in _REGEX_FLAGS:
            raise ProjectError(
                f"regex modifier {letter!r} in {regex} is not supported",
                subject="mix.exs exclude_patterns",
                hint="use only the i, m, s, x and u modifiers",
            )
        flags |= _REGEX_FLAGS[letter]
    try:
        if "u" in regex.options:
            compiled = re.compile(regex.source, flags)
        else:
            compiled = re.compile(regex.source.encode("utf-8"), flags)
    except re.error as exc:
        raise ProjectError(
            f"cannot use regex {regex}: {exc}", subject="mix.exs exclude_patterns", hint="simplify the regex"
        ) from None
    _compiled_cache[key] = compiled
    return compiled


def matches_exclude(pattern: object, path: str) -> bool:
    """``path =~ pattern``: substring test for a string, search for a regex.

    Inside :func:`regex_time_limit` a search running longer than its limit is stopped.
    """
    if isinstance(pattern, Regex):
        compiled = _compile_regex(pattern)
        subject: str | bytes = path if isinstance(compiled.pattern, str) else path.encode("utf-8", "surrogateescape")
        _searching[:] = [pattern, path, time.monotonic()]
        try:
            return compiled.search(subject) is not None  # type: ignore[arg-type]
        finally:
            _searching.clear()
    if isinstance(pattern, str):
        return pattern in path
    raise ProjectError(
        f"exclude pattern {pattern!r} is neither a string nor a regex",
        subject="mix.exs exclude_patterns",
        hint='use "substring" or ~r/regex/',
    )


REGEX_TIME_LIMIT = 2.0  # seconds for one search; Elixir's PCRE gives up on (a+)+$ in well under one
_searching: list = []  # [regex, path, start] while matches_exclude runs a search
_limit_active = False


class _RegexTimeout(BaseException):  # BaseException: no `except Exception` on the way swallows it
    pass


@contextlib.contextmanager
def regex_time_limit(seconds: float | None = None) -> Iterator[None]:
    """Stop an exclude regex that backtracks catastrophically with one ProjectError.

    Python's ``re`` has no step limit (PCRE, which Elixir uses, has one); its matching
    loop does check for signals, so a periodic SIGALRM looks at the search under way
    and interrupts it once it has run ``seconds`` (default ``REGEX_TIME_LIMIT``). This
    works in the main thread of a POSIX process (where hexpack's commands run);
    elsewhere, or when the process's real-time timer is already in use, searches run
    unbounded as before. Re-entrant: an inner use inside an outer one does nothing.
    """
    global _limit_active
    seconds = REGEX_TIME_LIMIT if seconds is None else seconds  # read now: a test may shorten it
    # signal makes enums of its constants on import; a build whose excludes hold no regex of its own has no timer
    # lazy: start-up time
    import signal

    def check(signum, frame) -> None:
        if _searching and time.monotonic() - _searching[2] > seconds:
            raise _RegexTimeout(_searching[0], _searching[1])

    installed, previous = False, None
    if not _limit_active and hasattr(signal, "setitimer") and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0):
        try:
            previous = signal.signal(signal.SIGALRM, check)
            installed = True
        except ValueError:  # not the main thread (only it handles signals); checked so, threading stays unloaded
            pass
    if not installed:
        yield
        return
    _limit_active = True
    tick = min(0.25, seconds / 4)
    signal.setitimer(signal.ITIMER_REAL, tick, tick)
    try:
        yield
    except _RegexTimeout as stopped:
        regex, path = stopped.args
        raise ProjectError(
            f"regex {regex} runs over {seconds:g} s on {path[:100]!r} (catastrophic backtracking)",
            subject="mix.exs exclude_patterns",
            hint="rewrite it without nested repetition such as (a+)+",
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0, 0)
        signal.signal(signal.SIGALRM, previous)
        _limit_active = False


def is_excluded(path: str, exclude_patterns: Sequence[object]) -> bool:
    """True when Hex drops ``path``: any exclude pattern or the .DS_Store rule."""
    for pattern in exclude_patterns:  # a substring is tested here: every file meets every pattern
        if pattern in path if isinstance(pattern, str) else matches_exclude(pattern, path):
            return True
    return ".DS_Store" in path and matches_exclude(DS_STORE_PATTERN, path)  # the rule's regex needs that text


def select_files(
    root: str | os.PathLike[str],
    files: Sequence[str] | None,
    exclude_patterns: Sequence[object] = (),
    *,
    listdir: ListDir = os.listdir,
) -> list[str]:
    """The package's ``files`` exactly as Hex lists them in ``metadata.config``.

    ``files`` is the ``package[:files]`` list, or None for Hex's defaults.
    Directories are listed themselves and then walked; paths are relative to
    ``root`` with ``/`` separators.
    """
    root_abs = posixpath.normpath(os.path.abspath(os.fspath(root)))
    patterns = DEFAULT_FILES if files is None else files
    # the timer only for the project's own regexes: the .DS_Store rule's cannot backtrack
    limited = (
        regex_time_limit if any(isinstance(pattern, Regex) for pattern in exclude_patterns) else contextlib.nullcontext
    )
    with limited():
        for pattern in exclude_patterns:  # fail on a bad pattern even if nothing is selected
            matches_exclude(pattern, "")
    seen: set[str] = set()
    selected: list[str] = []
    for pattern in patterns:
        if not isinstance(pattern, str):
            raise ProjectError(
                f"files entry {pattern!r} is not a string",
                subject="mix.exs package files",
                hint='write "path/or/glob*"',
            )
        for match in wildcard(root_abs, pattern, listdir=listdir):
            if _relative(root_abs, match, pattern) in seen:
                # already listed, so already walked (a walk lists a whole subtree at once): walking
                # it again adds nothing and would make `d/**` over a deep tree quadratic
                continue
            walked: list[str] = []
            _dir_files(root_abs, match, listdir, walked)
            for rel in walked:
                relative = _relative(root_abs, rel, pattern)
                if relative not in seen:
                    seen.add(relative)
                    selected.append(relative)
    with limited():
        selected = [path for path in selected if not is_excluded(path, exclude_patterns)]
    undecodable = [path for path in selected if not _is_utf8(path)]
    if undecodable:  # os.listdir smuggles such bytes in as surrogates; nothing downstream can encode them
        shown = ", ".join(repr(os.fsencode(path))[2:-1] for path in undecodable)
        raise PackageError(
            f"file name(s) not valid UTF-8: {shown}",
            subject=os.fspath(root),
            hint="rename them (Hex package file names are UTF-8), or exclude them from the package files",
        )
    return selected


def _is_utf8(path: str) -> bool:
    try:
        path.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
