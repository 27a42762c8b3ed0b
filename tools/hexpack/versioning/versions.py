"""One version, two ecosystems: SemVer for Hex and PEP 440 for PyPI.

hexpack keeps a single canonical version, written as SemVer (what ``mix.exs``
holds), and derives the Python form from it:

=====================  =====================
SemVer (Hex)           PEP 440 (PyPI)
=====================  =====================
``1.4.0``              ``1.4.0``
``1.4.0-alpha.2``      ``1.4.0a2``
``1.4.0-beta.1``       ``1.4.0b1``
``1.4.0-rc.3``         ``1.4.0rc3``
=====================  =====================

Only these shapes are accepted. Any other SemVer pre-release (``-foo.1``,
``-rc``, ``-rc.1.2``, ``-alpha.beta``) or build metadata (``+build.5``) has no
faithful PEP 440 counterpart (it would either be rejected by PyPI or collapse
two different SemVer versions into one) and is refused, naming the shape. The
mapping preserves ordering: ``a < b`` in SemVer exactly when
``pep440(a) < pep440(b)`` (property-tested against ``packaging.version``).

Bump semantics (``bump_version``):

- ``major`` / ``minor`` / ``patch`` increment that number and zero the ones
  after it, dropping any pre-release (``1.4.0-rc.1`` + ``patch`` is
  ``1.4.1``; to finish a pre-release use ``release``).
- ``pre`` increments the pre-release number (``1.4.0-rc.1`` -> ``1.4.0-rc.2``,
  ``1.4.0-alpha.3`` -> ``1.4.0-alpha.4``). From a release it is refused: the
  next pre-release could be of a patch, minor or major release, so name it
  (``hexpack bump 1.5.0-rc.1``).
- ``release`` drops the pre-release (``1.4.0-rc.2`` -> ``1.4.0``); refused on
  a release.
- ``X.Y.Z[-alpha.N|-beta.N|-rc.N]`` sets that version; it must be higher.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import total_ordering

from ..errors import UsageError

__all__ = [
    "PARTS",
    "Version",
    "bump_version",
    "compare_semver",
    "numeric_key",
    "parse",
    "parse_pep440",
]

PARTS = ("major", "minor", "patch", "pre", "release")
LABELS = {"alpha": "a", "beta": "b", "rc": "rc"}
_PEP440_TO_LABEL = {v: k for k, v in LABELS.items()}

# SemVer 2.0.0, https://semver.org/#is-there-a-suggested-regular-expression-regex-to-check-a-semver-string
_NUM = r"0|[1-9]\d*"
_SEMVER = re.compile(
    rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})"
    rf"(?:-(?P<pre>(?:{_NUM}|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:{_NUM}|\d*[a-zA-Z-][0-9a-zA-Z-]*))*))?"
    r"(?:\+(?P<build>[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*))?$"
)
_SUPPORTED_PRE = re.compile(rf"^(?P<label>alpha|beta|rc)\.(?P<num>{_NUM})$")
_PEP440 = re.compile(rf"^(?P<major>{_NUM})\.(?P<minor>{_NUM})\.(?P<patch>{_NUM})(?:(?P<label>a|b|rc)(?P<num>{_NUM}))?$")
_SHAPES = "X.Y.Z, X.Y.Z-alpha.N, X.Y.Z-beta.N or X.Y.Z-rc.N"


@total_ordering
@dataclass(frozen=True)
class Version:
    """A version hexpack can write in both ecosystems."""

    major: int
    minor: int
    patch: int
    pre: tuple[str, int] | None = None  # ("alpha"|"beta"|"rc", N)

    @property
    def semver(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}-{self.pre[0]}.{self.pre[1]}" if self.pre else base

    @property
    def pep440(self) -> str:
        base = f"{self.major}.{self.minor}.{self.patch}"
        return f"{base}{LABELS[self.pre[0]]}{self.pre[1]}" if self.pre else base

    @property
    def is_prerelease(self) -> bool:
        return self.pre is not None

    def _key(self) -> tuple:
        # A release sorts after its pre-releases; alpha < beta < rc.
        pre = (1, "", 0) if self.pre is None else (0, self.pre[0], self.pre[1])
        return (self.major, self.minor, self.patch, pre)

    def __lt__(self, other: object) -> bool:
        if not isinstance(other, Version):
            return NotImplemented
        return self._key() < other._key()

    def __str__(self) -> str:
        return self.semver


def numeric_key(text: str | None) -> tuple[int, ...]:
    """Sort key of a dotted version by its numbers: ``3.9`` before ``3.10``, ``1.85.1`` before ``1.100.0``.

    For ordering versions of one kind (Python minors, grpcio-tools pins, Hex archives); a pre-release
    suffix is not ranked. ``None`` (a version nobody could read) sorts first.
    """
    return tuple(int(number) for number in re.findall(r"\d+", text or ""))


def is_semver(text: str) -> bool:
    """Any SemVer 2.0.0 version (the form hex.pm accepts), supported by ``bump`` or not."""
    return bool(_SEMVER.match(text))


def parse(text: str, *, subject: str | None = None) -> Version:
    """Parse a SemVer string of one of the supported shapes.

    A string that is not SemVer at all, and a SemVer shape without a faithful
    PEP 440 counterpart, are refused with a message naming it.
    """
    match = _SEMVER.match(text)
    if not match:
        raise UsageError(f"not a SemVer version: {text!r}", subject=subject, hint=f"use {_SHAPES}")
    if match["build"] is not None:
        raise UsageError(
            f"build metadata '+{match['build']}' in {text!r} has no PEP 440 counterpart",
            subject=subject,
            hint=f"use {_SHAPES}",
        )
    pre = None
    if match["pre"] is not None:
        pre_match = _SUPPORTED_PRE.match(match["pre"])
        if not pre_match:
            raise UsageError(
                f"pre-release '-{match['pre']}' in {text!r} has no faithful PEP 440 counterpart",
                subject=subject,
                hint="use -alpha.N, -beta.N or -rc.N",
            )
        pre = (pre_match["label"], int(pre_match["num"]))
    return Version(int(match["major"]), int(match["minor"]), int(match["patch"]), pre)


def parse_pep440(text: str) -> Version | None:
    """The Version written as normalised PEP 440 (``1.4.0rc1``), or None."""
    match = _PEP440.match(text)
    if not match:
        return None
    pre = (_PEP440_TO_LABEL[match["label"]], int(match["num"])) if match["label"] else None
    return Version(int(match["major"]), int(match["minor"]), int(match["patch"]), pre)


def compare_semver(a: str, b: str) -> int:
    """SemVer 2.0.0 precedence of any two SemVer strings: -1, 0 or 1.

    The general rule (spec item 11), independent of the shapes hexpack
    writes; the property tests check the PEP 440 mapping against it.
    """
    ma, mb = _SEMVER.match(a), _SEMVER.match(b)
    if not ma or not mb:
        raise ValueError(f"not SemVer: {a if not ma else b!r}")
    ka = tuple(int(ma[p]) for p in ("major", "minor", "patch"))
    kb = tuple(int(mb[p]) for p in ("major", "minor", "patch"))
    if ka != kb:
        return -1 if ka < kb else 1
    pa, pb = ma["pre"], mb["pre"]
    if pa == pb:
        return 0
    if pa is None:
        return 1
    if pb is None:
        return -1
    for ia, ib in zip(pa.split("."), pb.split("."), strict=False):
        if ia == ib:
            continue
        na, nb = ia.isdigit(), ib.isdigit()
        if na and nb:
            return -1 if int(ia) < int(ib) else 1
        if na != nb:  # numeric identifiers have lower precedence
            return -1 if na else 1
        return -1 if ia < ib else 1
    la, lb = len(pa.split(".")), len(pb.split("."))
    return (la > lb) - (la < lb)


def bump_version(current: Version, part_or_version: str) -> Version:
    """The version after bumping ``current`` by a part or to a given version.

    Raises UsageError for an unknown part, a non-SemVer or unsupported
    version, and a version not higher than ``current``.
    """
    arg = part_or_version.strip()
    if arg == "major":
        new = Version(current.major + 1, 0, 0)
    elif arg == "minor":
        new = Version(current.major, current.minor + 1, 0)
    elif arg == "patch":
        new = Version(current.major, current.minor, current.patch + 1)
    elif arg == "pre":
        if current.pre is None:
            base = f"{current.major}.{current.minor}"
            raise UsageError(
                f"{current} is a release, so `pre` has no pre-release number to increment",
                subject="hexpack bump pre",
                hint=f"name the pre-release, e.g. `hexpack bump {base}.{current.patch + 1}-rc.1` "
                f"or `hexpack bump {current.major}.{current.minor + 1}.0-rc.1`",
            )
        new = Version(current.major, current.minor, current.patch, (current.pre[0], current.pre[1] + 1))
    elif arg == "release":
        if current.pre is None:
            raise UsageError(
                f"{current} is already a release",
                subject="hexpack bump release",
                hint="use major, minor or patch for the next release",
            )
        new = Version(current.major, current.minor, current.patch)
    elif arg[:1].isdigit():
        new = parse(arg, subject=f"hexpack bump {arg}")
        if not new > current:
            relation = "equal to" if new == current else "lower than"
            raise UsageError(
                f"{new} is {relation} the current version {current}",
                subject=f"hexpack bump {arg}",
                hint="give a higher version",
            )
    else:
        raise UsageError(
            f"unknown part {arg!r}",
            subject="hexpack bump",
            hint="use major, minor, patch, pre, release or a version such as 1.4.0-rc.1",
        )
    return new


_REQUIREMENT_CLAUSE = re.compile(r"^\s*(~>|==|!=|>=|<=|>|<)?\s*(\d+)\.(\d+)(?:\.(\d+))?(?:-[0-9A-Za-z.-]+)?\s*$")


def elixir_requirement_allows(requirement: str, version: str) -> bool | None:
    """Whether Elixir's ``Version.match?(version, requirement)`` holds, for the forms mix.exs's ``elixir:`` uses
    (``~>``, comparisons, ``and``, ``or``); None when either cannot be read, so a caller says nothing rather than
    something wrong. Pre-release parts are ignored: an installed ``1.19.0-rc.0`` counts as 1.19.0."""
    found = re.match(r"^(\d+)\.(\d+)\.(\d+)", version.strip())
    if not found:
        return None
    have = tuple(int(part) for part in found.groups())
    alternatives = []
    for alternative in requirement.split(" or "):
        allowed = True
        for clause in alternative.split(" and "):
            match = _REQUIREMENT_CLAUSE.match(clause)
            if not match:
                return None
            op, major, minor, patch = match.groups()
            want = (int(major), int(minor), int(patch or 0))
            if op == "~>":
                # ~> 1.18 allows 1.x from 1.18.0; ~> 1.18.2 allows 1.18.x from 1.18.2
                upper = (want[0] + 1, 0, 0) if patch is None else (want[0], want[1] + 1, 0)
                allowed &= want <= have < upper
            else:
                allowed &= {
                    None: have == want,
                    "==": have == want,
                    "!=": have != want,
                    ">=": have >= want,
                    "<=": have <= want,
                    ">": have > want,
                    "<": have < want,
                }[op]
        alternatives.append(allowed)
    return any(alternatives)
