"""Reading a package from a tarball or a project, describing it, and comparing two of them.

This is how a maintainer checks a published package against its source:
``diff_packages(load_package("pkg-1.0.0.tar"), load_package("."))`` lists the
files added, removed or changed (content, mode, symlink target, kind) and
every metadata key that differs.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import UsageError
from ..mix.terms import Atom
from . import tarball
from .erlterm import format_term
from .tarball import Member, Package

__all__ = [
    "FileChange",
    "MetaChange",
    "PackageDiff",
    "describe",
    "diff_packages",
    "load_package",
    "to_json",
]


def load_package(
    source: str | os.PathLike[str], *, verify_checksum: bool = True, reader: str = "auto"
) -> tuple[Package, str]:
    """Read a package from a tarball file, or build it from a mix project directory.

    Returns the verified package and a label saying where it came from. With
    ``verify_checksum=False`` a wrong CHECKSUM is reported in the package
    instead of raised (everything else is still verified). ``reader`` picks how a
    project's mix.exs is read ("auto", "elixir" or "static"), as for ``hexpack build``.
    """
    path = Path(source)
    if path.is_dir():
        if not (path / "mix.exs").is_file():
            raise UsageError("directory has no mix.exs", subject=str(path), hint="give a tarball or a mix project")
        from .build import build_package  # lazy: building needs the mix readers, reading a tarball does not

        built = build_package(path, reader=reader)
        return tarball.read_package(built.tarball, subject=str(path)), f"{path} (built from source)"
    data = tarball.read_file(path)
    return tarball.read_package(data, subject=str(path), verify_checksum=verify_checksum), str(path)


# -- describing ------------------------------------------------------------------------------------


def member_json(member: Member) -> dict[str, Any]:
    entry: dict[str, Any] = {"path": member.path, "kind": member.kind, "mode": f"{member.mode:04o}"}
    if member.kind == "file":
        entry["size"] = member.size
        entry["sha256"] = hashlib.sha256(member.data).hexdigest()
    if member.kind == "symlink":
        entry["target"] = member.linkname
    return entry


def to_json(value: Any) -> Any:
    """Metadata values as JSON: key-value lists become objects, tuples lists, atoms strings."""
    if (
        isinstance(value, list)
        and value
        and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and not isinstance(v[0], Atom) for v in value
        )
    ):
        return {k: to_json(v) for k, v in value}
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    if isinstance(value, bytes):
        return {"bytes": value.hex()}
    if isinstance(value, Atom):
        return str(value)
    return value


def render(value: Any) -> str:
    """A metadata value on one line, for people: plain strings, lists comma-separated, pairs as k: v."""
    if isinstance(value, str) and not isinstance(value, Atom):
        return value
    if isinstance(value, list) and all(isinstance(v, str) and not isinstance(v, Atom) for v in value):
        return ", ".join(value)
    if isinstance(value, list) and all(
        isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], str) and not isinstance(v[0], Atom) for v in value
    ):
        return ", ".join(f"{k}: {render(v)}" for k, v in value)
    if isinstance(value, tuple) and len(value) == 2 and isinstance(value[0], str) and not isinstance(value[0], Atom):
        return f"{value[0]}: {render(value[1])}"
    if isinstance(value, list) and value and all(isinstance(v, list) for v in value):
        return "; ".join(f"[{render(v)}]" for v in value)
    return format_term(value, line_length=10**9)


def describe(package: Package) -> dict[str, Any]:
    """Everything ``hexpack inspect --json`` prints."""
    meta = dict(package.metadata)
    return {
        "name": meta.get("name"),
        "version": meta.get("version"),
        "format_version": package.version,
        "inner_checksum": package.inner_checksum,
        "inner_checksum_ok": package.checksum_ok,
        "computed_checksum": package.computed_checksum,
        "outer_checksum": package.outer_checksum,
        "metadata": {key: to_json(value) for key, value in package.metadata},
        "files": [member_json(m) for m in package.members],
    }


# -- comparing -------------------------------------------------------------------------------------


@dataclass
class FileChange:
    path: str
    change: str  # "added" | "removed" | "changed"
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "change": self.change, "details": self.details}


@dataclass
class MetaChange:
    key: str
    change: str  # "added" | "removed" | "changed"
    old: Any = None
    new: Any = None
    details: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "change": self.change,
            "old": to_json(self.old),
            "new": to_json(self.new),
            "details": self.details,
        }


@dataclass
class PackageDiff:
    files: list[FileChange]
    metadata: list[MetaChange]
    same_bytes: bool
    checksums: tuple[str, str]

    @property
    def identical(self) -> bool:
        """No file or metadata difference (the tarball bytes may still differ, e.g. in file order)."""
        return not self.files and not self.metadata

    def to_json(self) -> dict[str, Any]:
        return {
            "identical": self.identical,
            "same_bytes": self.same_bytes,
            "checksums": list(self.checksums),
            "files": [c.to_json() for c in self.files],
            "metadata": [c.to_json() for c in self.metadata],
        }


def _member_details(a: Member, b: Member) -> list[str]:
    details = []
    if a.kind != b.kind:
        details.append(f"kind {a.kind} -> {b.kind}")
    if a.mode != b.mode:
        details.append(f"mode {a.mode:04o} -> {b.mode:04o}")
    if a.kind == b.kind == "symlink" and a.linkname != b.linkname:
        details.append(f"symlink target {a.linkname} -> {b.linkname}")
    if a.data != b.data:
        details.append(f"content differs ({a.size} -> {b.size} bytes)")
    return details


def _list_details(old: list[Any], new: list[Any]) -> list[str]:
    removed = [v for v in old if v not in new]
    added = [v for v in new if v not in old]
    details = [f"+ {render(v)}" for v in added] + [f"- {render(v)}" for v in removed]
    if not details and old != new:
        details.append("same entries, different order")
    return details


def diff_packages(a: Package, b: Package) -> PackageDiff:
    """What changed from package ``a`` to package ``b``."""
    files: list[FileChange] = []
    a_members = {m.path: m for m in a.members}
    b_members = {m.path: m for m in b.members}
    for path, member in a_members.items():
        if path not in b_members:
            files.append(FileChange(path, "removed", [member.kind]))
        else:
            details = _member_details(member, b_members[path])
            if details:
                files.append(FileChange(path, "changed", details))
    for path, member in b_members.items():
        if path not in a_members:
            files.append(FileChange(path, "added", [member.kind]))

    metadata: list[MetaChange] = []
    a_meta, b_meta = dict(a.metadata), dict(b.metadata)
    for key in list(a_meta) + [k for k in b_meta if k not in a_meta]:
        if key not in b_meta:
            metadata.append(MetaChange(key, "removed", old=a_meta[key]))
        elif key not in a_meta:
            metadata.append(MetaChange(key, "added", new=b_meta[key]))
        elif a_meta[key] != b_meta[key]:
            old, new = a_meta[key], b_meta[key]
            details = _list_details(old, new) if isinstance(old, list) and isinstance(new, list) else []
            metadata.append(MetaChange(key, "changed", old=old, new=new, details=details))
    return PackageDiff(
        files=files,
        metadata=metadata,
        same_bytes=a.outer_checksum == b.outer_checksum,
        checksums=(a.outer_checksum, b.outer_checksum),
    )
