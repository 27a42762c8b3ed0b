"""``mix hex.build`` in Python: a mix project in, Hex's package tarball out.

``build_package`` reads ``mix.exs`` (:mod:`hexpack.mix.readers`), prepares and
checks the metadata as Hex does (:mod:`hexpack.hex.metadata`, which selects the
files through :mod:`hexpack.hex.selection`) and writes the tarball with
:mod:`hexpack.hex.tarball`. It returns the bytes and what Hex would print; it
writes nothing (the ``hexpack build`` command saves the file).

When Hex would refuse, ``PackageRefused`` carries Hex's messages (one per
problem, all at once) plus the lines Hex printed before stopping.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable

from ..errors import PackageError, Problems
from ..mix.project import MixProject
from ..mix.readers import read_project
from ..paths import name_of
from ..records import Record
from . import metadata, pipeline, tarball

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from typing import Any

__all__ = ["BuildResult", "PackageRefused", "build_package", "build_project"]


class PackageRefused(Problems):
    """Hex would stop: "Stopping package build due to errors." and the reasons.

    ``report_lines`` is what Hex printed before stopping; ``warnings`` what it
    warned about.
    """

    def __init__(self, problems: list[PackageError], *, report_lines: list[str], warnings: list[str]):
        super().__init__(problems, summary="problem(s) stop the package build")
        self.report_lines = list(report_lines)
        self.warnings = list(warnings)


class BuildResult(Record):
    """A built package and everything Hex would have printed about it."""

    __slots__ = (
        "name",
        "version",
        "tarball",
        "metadata",
        "metadata_config",
        "contents",
        "files",
        "members",
        "inner_checksum",
        "outer_checksum",
        "report_lines",
        "warnings",
    )

    def __init__(
        self,
        name: str,
        version: str,
        tarball: bytes,
        metadata: list[tuple[str, Any]],
        metadata_config: bytes,
        contents: bytes,
        files: list[str],
        members: list[tarball.PlannedMember],  # what contents.tar.gz holds (paths, kinds, modes, sizes)
        inner_checksum: str,  # upper-case hex, the CHECKSUM member
        outer_checksum: str,  # lower-case hex, Hex's "Package checksum"
        report_lines: list[str],
        warnings: list[str] | None = None,
    ):
        self.name = name
        self.version = version
        self.tarball = tarball
        self.metadata = metadata
        self.metadata_config = metadata_config
        self.contents = contents
        self.files = files
        self.members = members
        self.inner_checksum = inner_checksum
        self.outer_checksum = outer_checksum
        self.report_lines = report_lines
        self.warnings = [] if warnings is None else warnings

    @property
    def default_filename(self) -> str:
        """Hex's default output name, ``<name>-<version>.tar``."""
        return f"{self.name}-{self.version}.tar"


def build_package(
    root: str | os.PathLike[str],
    *,
    listdir: Callable[[str], Iterable[str]] = os.listdir,
    reader: str = "auto",
) -> BuildResult:
    """Build the Hex package of the mix project in ``root`` exactly as Hex 2.5.1 does.

    ``listdir`` is the one function used to list directories (tests pass one
    that replays a recorded order); ``reader`` picks the mix.exs reader
    ("auto", "elixir" or "static").
    """
    project = read_project(root, reader=reader)
    return build_project(project, root=root, listdir=listdir)


def build_project(
    project: MixProject,
    *,
    root: str | os.PathLike[str] | None = None,
    listdir: Callable[[str], Iterable[str]] = os.listdir,
) -> BuildResult:
    """``build_package`` for an already-read project."""
    base = name_of(project.root if root is None else root)  # as pathlib writes it, in every message
    pm = metadata.prepare(project, root=base, listdir=listdir)
    files = pm.files
    # contents.tar.gz is made on a second core while the checks below run (see hexpack.hex.pipeline);
    # until metadata.config is written the stream may only be refused at the package's own limit
    job = pipeline.ContentsInBackground(base, files, limit=_contents_limit(b"")) if files else None
    try:
        # lazy: imported now, while the thread compresses, not at start-up, when nothing else can run
        from . import erlterm
        from .unsafe_paths import unsafe_entries

        lines = metadata.report_lines(pm)
        errors, warnings = metadata.check(pm, base, listdir=listdir)
        warnings = pm.warnings + warnings
        if errors:
            raise PackageRefused(errors, report_lines=lines, warnings=warnings)
        if job is None:
            raise PackageRefused(
                [PackageError("Creating tarball failed: File list was empty.")], report_lines=lines, warnings=warnings
            )

        unsafe = unsafe_entries(base, files)  # Hex's validate_create_files: nothing outside the project is packed
        if unsafe:
            raise PackageRefused(
                [PackageError(f"Creating tarball failed: {problem}") for problem in unsafe],
                report_lines=lines,
                warnings=warnings,
            )

        pairs = metadata.metadata_pairs(pm.meta)
        metadata_config = erlterm.format_config(pairs)
        if len(metadata_config) > tarball.MAX_METADATA_SIZE:
            raise _too_big("file too big: metadata.config", lines, warnings)
        # Both of Hex's size limits are found as early as they can be known, and reported here, once
        # the checks above have passed: the uncompressed one from lstat sizes before any file is read,
        # the compressed one as soon as the deflate output passes it (the package's own limit until
        # now, this one from here on). Memory stays about the compressed size.
        job.set_limit(_contents_limit(metadata_config))
        too_big = f"package exceeds max compressed size {_megabytes(tarball.MAX_OUTER_SIZE)} MB"
        try:
            # the CHECKSUM (tarball.inner_checksum) is hashed while the thread compresses
            members, contents, inner = job.result(hashed_after=tarball.VERSION + metadata_config)
        except pipeline.UncompressedTooBig:
            size = _megabytes(tarball.MAX_UNCOMPRESSED_SIZE)
            raise _too_big(f"package exceeds max uncompressed size {size} MB", lines, warnings) from None
        except tarball.CompressedTooBig:
            raise _too_big(too_big, lines, warnings) from None
    finally:
        if job is not None:
            job.cancel()  # a refusal above: stop the stream and wait for it (after result(): nothing to do)
    if _outer_size(metadata_config, contents) > tarball.MAX_OUTER_SIZE:
        raise _too_big(too_big, lines, warnings)
    inner = inner.upper()
    package = tarball.outer_tarball(metadata_config, contents, checksum=inner)
    outer = tarball.outer_checksum(package)
    return BuildResult(
        name=pm.name,
        version=pm.version,
        tarball=package,
        metadata=pairs,
        metadata_config=metadata_config,
        contents=contents,
        files=files,
        members=members,
        inner_checksum=inner,
        outer_checksum=outer,
        report_lines=lines + [f"Package checksum: {outer}"],
        warnings=warnings,
    )


def _too_big(reason: str, lines: list[str], warnings: list[str]) -> PackageRefused:
    return PackageRefused([PackageError(f"Creating tarball failed: {reason}")], report_lines=lines, warnings=warnings)


def _megabytes(size: int) -> str:
    """hex_core's ``format_byte_size/1`` (``Size / 1000000`` written with ``~w``)."""
    from . import erlterm  # lazy: see build_project

    return erlterm.format_term(size / 1_000_000)


def _contents_limit(metadata_config: bytes) -> int:
    """The largest contents.tar.gz whose package stays within Hex's compressed limit."""
    fixed = _outer_size(metadata_config, b"")  # the outer tar without contents.tar.gz's data blocks
    return (tarball.MAX_OUTER_SIZE - fixed) // 512 * 512


def _outer_size(metadata_config: bytes, contents: bytes) -> int:
    """Size of the outer tar before writing it: four members, headers and padding, two end blocks."""
    sizes = (len(tarball.VERSION), 64, len(metadata_config), len(contents))
    return sum(512 + -(-size // 512) * 512 for size in sizes) + 1024
