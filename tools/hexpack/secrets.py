"""The publishing secrets: which variables hold them, keeping them out of children and out of text.

One list, read by every place that runs something or prints something
during a release: the publishing steps get these variables, nothing else
does (gates, smoke-tested servers, verify's venvs), and every line a child
prints passes through :func:`redact` before hexpack shows, logs or stores it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from .errors import CommandFailed, HexpackError, Problems

__all__ = ["PUBLISH_SECRETS", "redact", "scrub_error", "secret_values", "without_secrets"]

# Variables whose values publish a package: Hex's API key, repository key and one-time
# password, twine's password (and the API-key spelling hexpack accepts), uv's publish token.
PUBLISH_SECRETS = (
    "HEX_API_KEY",
    "HEX_REPOS_KEY",
    "HEX_OTP",
    "TWINE_PASSWORD",
    "TWINE_API_KEY",
    "UV_PUBLISH_TOKEN",
    "UV_PUBLISH_PASSWORD",
)
MASK = "***"


def secret_values(environ: Mapping[str, str]) -> list[str]:
    """The non-empty values of the publishing secrets in ``environ``."""
    return [environ[name] for name in PUBLISH_SECRETS if environ.get(name)]


def without_secrets(environ: Mapping[str, str]) -> dict[str, str]:
    """``environ`` with every publishing secret removed (for gates and code under test)."""
    return {name: value for name, value in environ.items() if name not in PUBLISH_SECRETS}


def redact(text: str, secrets: Iterable[str]) -> str:
    """``text`` with every occurrence of every secret masked as ``***``.

    Occurrences are found in the original text and overlapping or adjacent
    ones are merged into one masked span, so a secret that is part of another
    (``krit`` in ``s3krit456``) can never leave a piece of the longer one
    visible, whatever order the secrets come in.
    """
    spans: list[tuple[int, int]] = []
    for secret in {s for s in secrets if s}:
        start = text.find(secret)
        while start != -1:
            spans.append((start, start + len(secret)))
            start = text.find(secret, start + 1)
    if not spans:
        return text
    spans.sort()
    merged = [spans[0]]
    for start, end in spans[1:]:
        if start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    pieces, last = [], 0
    for start, end in merged:
        pieces += [text[last:start], MASK]
        last = end
    pieces.append(text[last:])
    return "".join(pieces)


def scrub_error(exc: HexpackError, secrets: Iterable[str]) -> HexpackError:
    """``exc`` (and every problem it carries) with each secret masked in its message, output and command."""
    hidden = [s for s in secrets if s]
    if not hidden:
        return exc
    for error in exc.problems if isinstance(exc, Problems) else [exc]:
        error.what = redact(error.what, hidden)
        error.subject = None if error.subject is None else redact(error.subject, hidden)
        error.hint = None if error.hint is None else redact(error.hint, hidden)
        if isinstance(error, CommandFailed):
            error.output = redact(error.output, hidden)
            error.argv = [redact(arg, hidden) for arg in error.argv]
        error.args = (error.one_line(),)
    exc.args = (exc.one_line(),)
    return exc
