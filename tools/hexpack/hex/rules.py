"""Hex's rules about a package's metadata, declared once.

The built-in engine (:mod:`hexpack.hex.metadata`) applies them as ``mix hex.build``
does, and verify's metadata gate (:mod:`hexpack.verify.content_rules`) checks a
built tarball against the same functions, so the two cannot drift apart:

* ``HEX_VERSION``: the Hex release the engine reproduces byte for byte.
* the description: trimmed as ``String.trim/1`` and at most
  ``MAX_DESCRIPTION_LENGTH`` characters as ``String.length/1`` counts them
  (grapheme clusters: an "é" written as ``e`` + U+0301 is one);
* licenses: SPDX identifiers as Hex's vendored list knows them
  (``licenses.txt``), or ``LicenseRef-<idstring>``; Hex warns about the
  others in the words of ``license_warnings``;
* links: what hex.pm accepts (a map of names to http(s) URLs);
* sizes: ``tarball.LIMITS`` (hex_core's 16 MiB package, 128 MiB
  uncompressed, 1 MiB metadata), kept beside the code that enforces them
  while writing and reading; verify's size gate reads the same mapping.

When Hex changes one of these, this module (and ``licenses.txt``) is the
one place to update; the README section "Keeping the built-in engine in step
with Hex" lists the steps.
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Iterable, Mapping

from ..mix.terms import to_string

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "HEX_VERSION",
    "MAX_DESCRIPTION_LENGTH",
    "NO_LICENSES",
    "description_length",
    "description_too_long",
    "invalid_licenses",
    "license_warnings",
    "link_problems",
    "trim",
    "valid_license",
]

#: The Hex release whose ``mix hex.build`` the built-in engine reproduces.
HEX_VERSION = "2.5.1"

MAX_DESCRIPTION_LENGTH = 300  # @max_description_length in hex.build.ex
DESCRIPTION_TOO_LONG = f"Package description is too long (exceeds {MAX_DESCRIPTION_LENGTH} characters)"
NO_LICENSES = "You have not included any licenses"
LINKS_NOT_A_MAP = "links is not a map of name to URL"
SPDX_URL = "https://spdx.org/licenses"

# Unicode White_Space, which Elixir's String.trim/1 removes (Python's strip()
# would also remove U+001C..U+001F).
_WHITESPACE = (
    "\t\n\v\f\r \x85\xa0\u1680" + "".join(chr(c) for c in range(0x2000, 0x200B)) + "\u2028\u2029\u202f\u205f\u3000"
)


def trim(text: str) -> str:
    """``String.trim/1``."""
    return text.strip(_WHITESPACE)


def description_too_long(description: str) -> bool:
    """Hex refuses a (trimmed) description longer than this."""
    # a grapheme holds at least one code point: a description this short is never counted (nor unicodedata loaded)
    return len(description) > MAX_DESCRIPTION_LENGTH and description_length(description) > MAX_DESCRIPTION_LENGTH


# ---------------------------------------------------------------- String.length/1


def description_length(text: str) -> int:
    """``String.length/1``: the number of extended grapheme clusters (Unicode UAX #29).

    The rules that matter for text people write: CR LF is one; combining
    marks, spacing marks, variation selectors, emoji modifiers and tags join
    the character before them; a zero-width joiner joins two pictographs;
    regional indicators pair into flags; Hangul jamo join into syllables.
    tests/test_hex_rules.py compares it with Elixir's own count.
    """
    count = 0
    previous: str | None = None
    previous_char = ""
    regional_run = 0
    pictograph_then_zwj = False
    in_pictograph = False
    for char in text:
        kind = _kind(char)
        if previous is None:
            joins = False
        elif previous_char == "\r" and char == "\n":
            joins = True
        elif previous in ("control", "cr", "lf") or kind in ("control", "cr", "lf"):
            joins = False
        elif kind in ("extend", "zwj", "spacing") or previous == "prepend" or (previous, kind) in _HANGUL:
            joins = True
        elif previous == "regional" and kind == "regional":
            joins = regional_run % 2 == 1
        else:
            joins = previous == "zwj" and pictograph_then_zwj and kind == "pictograph"
        if not joins:
            count += 1
        # state for the next character
        regional_run = (regional_run + 1 if previous == "regional" else 1) if kind == "regional" else 0
        if kind == "pictograph":
            in_pictograph = True
        elif kind != "extend":
            pictograph_then_zwj = in_pictograph and kind == "zwj"
            in_pictograph = False
        previous, previous_char = kind, char
    return count


# Hangul syllable sequences (GB6-GB8): leading, vowel and trailing jamo, precomposed LV/LVT syllables
_HANGUL = {("L", k) for k in ("L", "V", "LV", "LVT")} | {(p, k) for p in ("LV", "V") for k in ("V", "T")}
_HANGUL |= {("LVT", "T"), ("T", "T")}
_PREPEND = {*range(0x0600, 0x0606), 0x06DD, 0x070F, 0x0890, 0x0891, 0x08E2, 0x110BD, 0x110CD}


def _kind(char: str) -> str:
    code = ord(char)
    if char == "\r":
        return "cr"
    if char == "\n":
        return "lf"
    if char == "\u200d":
        return "zwj"
    if 0x1F1E6 <= code <= 0x1F1FF:
        return "regional"
    if 0x1F3FB <= code <= 0x1F3FF or 0xE0020 <= code <= 0xE007F or char == "\u200c":
        return "extend"
    if code in _PREPEND:
        return "prepend"
    if 0x1100 <= code <= 0x115F or 0xA960 <= code <= 0xA97C:
        return "L"
    if 0x1160 <= code <= 0x11A7 or 0xD7B0 <= code <= 0xD7C6:
        return "V"
    if 0x11A8 <= code <= 0x11FF or 0xD7CB <= code <= 0xD7FB:
        return "T"
    if 0xAC00 <= code <= 0xD7A3:
        return "LV" if (code - 0xAC00) % 28 == 0 else "LVT"
    import unicodedata  # lazy: start-up time (a shared library with large tables; most text never gets here)

    category = unicodedata.category(char)
    if category in ("Mn", "Me"):
        return "extend"
    if category == "Mc":
        return "spacing"
    if category in ("Cc", "Zl", "Zp") or (category == "Cf" and char not in "\u200c\u200d"):
        return "control"
    if category == "So" and (code >= 0x1F000 or 0x2190 <= code <= 0x2BFF or 0x3030 <= code <= 0x303D):
        return "pictograph"
    return "other"


# ---------------------------------------------------------------- licenses


@functools.lru_cache(maxsize=1)
def _spdx_ids() -> frozenset[str]:
    # Read beside this module: importing importlib.resources would cost a build more than all its metadata
    # work, and hexpack is always installed unzipped (wheels are).
    with open(os.path.join(os.path.dirname(__file__), "licenses.txt"), encoding="utf-8") as handle:
        text = handle.read()
    return frozenset(line for line in text.splitlines() if line and not line.startswith("#"))


_LICENSE_REF = re.compile(r"LicenseRef-[A-Za-z0-9.\-]+")


def valid_license(license_id: Any) -> bool:
    """``:mix_hex_licenses.valid/1``: an SPDX identifier (case-sensitive) or ``LicenseRef-<idstring>``."""
    if not isinstance(license_id, str):
        return False
    return license_id in _spdx_ids() or _LICENSE_REF.fullmatch(license_id) is not None


def license_warnings(licenses: Any) -> list[str]:
    """What ``licenses_valid_or_warn/1`` warns about ``licenses`` (a list), in Hex's words."""
    if licenses == []:
        return [NO_LICENSES]
    if not isinstance(licenses, list):
        return []
    invalid = invalid_licenses(licenses)
    if not invalid:
        return []
    listed = "".join(f" * {to_string(license_id)}\n" for license_id in invalid)
    return [
        f"The following licenses are not recognized by SPDX:\n{listed}\n"
        f"Valid license identifiers are available from {SPDX_URL}"
    ]


def invalid_licenses(licenses: list[Any]) -> list[Any]:
    """The entries of ``licenses`` Hex does not recognise, in their order."""
    return [license_id for license_id in licenses if not valid_license(license_id)]


# ---------------------------------------------------------------- links


def link_problems(links: Any) -> list[str]:
    """Why hex.pm would refuse ``links`` (a name -> URL map): empty names, URLs that are not http(s)."""
    pairs = _pairs(links)
    if pairs is None:
        return [LINKS_NOT_A_MAP]
    problems = []
    for name, url in pairs:
        if not str(name).strip():
            problems.append(f"link to {url} has an empty name")
        if not _is_web_url(str(url)):
            problems.append(f"link {name!s} is not a well-formed http(s) URL: {url!s}")
    return problems


def _is_web_url(url: str) -> bool:
    from urllib.parse import urlparse  # lazy: start-up time (verify alone checks links)

    try:
        parsed = urlparse(url)
        parsed.port  # noqa: B018 (parses the port: "http://h:x" raises here)
        if "[" in parsed.netloc:
            # Python before 3.11.4 accepts any text in brackets ("https://[bad]x/"); newer ones do not
            host_and_rest = parsed.netloc.rpartition("@")[2]
            inside, _, after = host_and_rest[1:].partition("]")
            import ipaddress  # lazy: start-up time (only a bracketed host needs it)

            ipaddress.IPv6Address(inside.partition("%")[0])
            if not host_and_rest.startswith("[") or (after and not after.startswith(":")):
                return False
    except ValueError:  # "http://[::1" : Invalid IPv6 URL
        return False
    return parsed.scheme in ("http", "https") and bool(parsed.netloc) and url.isprintable() and " " not in url


def _pairs(value: Any) -> list[tuple[Any, Any]] | None:
    if isinstance(value, Mapping):
        return list(value.items())
    if isinstance(value, list) and all(isinstance(i, (tuple, list)) and len(i) == 2 for i in value):
        return [(i[0], i[1]) for i in value]
    return None


def link_count(links: Iterable[Any] | None) -> int:
    pairs = _pairs(links) if links is not None else None
    return len(pairs or [])
