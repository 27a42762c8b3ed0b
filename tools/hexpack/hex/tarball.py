"""Hex package tarballs (format 3): writing them byte for byte as Hex does, and reading them safely.

A Hex package is an outer, uncompressed tar of four members, in this order:

- ``VERSION``: ``3``
- ``CHECKSUM``: upper-case hex SHA-256 of ``VERSION + metadata.config + contents.tar.gz``
- ``metadata.config``: Erlang term text (see :mod:`hexpack.hex.erlterm`)
- ``contents.tar.gz``: the package files as a ustar archive, raw deflate at
  zlib level 6 behind the fixed gzip header ``1f8b0800000000000000``

Both tars are written the way hex_core's ``hex_erl_tar`` writes them (every
header field, PAX records for non-ASCII or over-long names, two zero blocks at
the end, no padding to a record size), with mtime 2000-01-01 and uid/gid 0.
The whole file's SHA-256 is what Hex prints as "Package checksum".

Reading (:func:`read_package`) checks everything before returning: size
limits, the outer members, VERSION, the checksum, the metadata, the gzip
stream and every inner member (no absolute paths, no ``..``, no links leaving
the package, no hard links, devices or FIFOs). :func:`unpack` writes only
after all of that passed, into a fresh directory that appears whole or not at
all.
"""

from __future__ import annotations

import errno
import os
import posixpath
import stat
import zlib

from ..digest import sha256
from ..errors import HexpackError, TarballError, UsageError
from ..paths import name_of
from ..records import Record

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from collections.abc import Generator
    from pathlib import Path
    from typing import Literal

__all__ = [
    "LIMITS",
    "ContentsTooBig",
    "MAX_MEMBERS",
    "MAX_METADATA_SIZE",
    "MAX_OUTER_SIZE",
    "MAX_UNCOMPRESSED_SIZE",
    "Member",
    "Package",
    "contents_from_tree",
    "contents_tar_gz",
    "link_verdicts",
    "gzip_hex",
    "inner_checksum",
    "outer_checksum",
    "outer_tarball",
    "read_file",
    "read_package",
    "unpack",
    # the streaming writer: planned from lstat, read while compressing (the build runs it through hex.pipeline)
    "CompressedTooBig",
    "Deflater",
    "PlannedMember",
    "plan_from_tree",
    "planned_tar_size",
    "stream_contents_tar_gz",
    "tar_batches",
]

MAX_OUTER_SIZE = 16 * 1024 * 1024
MAX_UNCOMPRESSED_SIZE = 128 * 1024 * 1024
MAX_METADATA_SIZE = 1024 * 1024
# Hex itself sets no member count; the 128 MiB limit alone would allow 262,144 empty members. Real packages
# hold hundreds to a few thousand files, so this bounds a hostile archive's bookkeeping without refusing one.
MAX_MEMBERS = 100_000
LIMITS = {"outer": MAX_OUTER_SIZE, "uncompressed": MAX_UNCOMPRESSED_SIZE, "metadata": MAX_METADATA_SIZE}

VERSION = b"3"
OUTER_MEMBERS = ("VERSION", "CHECKSUM", "metadata.config", "contents.tar.gz")
MTIME = 946684800  # 2000-01-01 00:00:00 UTC
GZIP_HEADER = bytes.fromhex("1f8b0800000000000000")
BLOCK = 512
ZERO_BLOCK = bytes(BLOCK)

_TYPE_BITS = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK}
_TYPEFLAG = {"file": b"0", "dir": b"5", "symlink": b"2"}


class Member(Record):
    """One entry of ``contents.tar.gz``.

    ``mode`` holds the permission bits (``0o644``, ``0o755``, ``0o777`` for a
    symlink); the writer adds the file-type bits as Hex does. Directory paths
    carry no trailing slash.
    """

    __slots__ = ("path", "kind", "mode", "data", "linkname")

    def __init__(
        self, path: str, kind: Literal["file", "dir", "symlink"], mode: int, data: bytes = b"", linkname: str = ""
    ):
        self.path = path
        self.kind = kind
        self.mode = mode
        self.data = data
        self.linkname = linkname

    @property
    def size(self) -> int:
        return len(self.data)


class Package(Record):
    """A Hex package read and verified by :func:`read_package`."""

    __slots__ = (
        "version",
        "inner_checksum",
        "outer_checksum",
        "metadata_config",
        "metadata",
        "members",
        "contents",
        "computed_checksum",
        "checksum_ok",
    )

    def __init__(
        self,
        version: str,
        inner_checksum: str,  # upper-case hex, as stored in CHECKSUM (and verified)
        outer_checksum: str,  # lower-case hex of the whole file ("Package checksum")
        metadata_config: bytes,
        metadata: list[tuple[str, object]],
        members: list[Member] | None = None,
        contents: bytes = b"",  # contents.tar.gz as stored
        computed_checksum: str = "",  # upper-case hex of what the members hash to
        checksum_ok: bool = True,  # False only when read with verify_checksum=False and CHECKSUM is wrong
    ):
        self.version = version
        self.inner_checksum = inner_checksum
        self.outer_checksum = outer_checksum
        self.metadata_config = metadata_config
        self.metadata = metadata
        self.members = [] if members is None else members
        self.contents = contents
        self.computed_checksum = computed_checksum
        self.checksum_ok = checksum_ok

    def meta(self, key: str, default: object = None) -> object:
        for k, v in self.metadata:
            if k == key:
                return v
        return default


# --------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------


class PlannedMember(Record):
    """A member of ``contents.tar.gz`` known from ``lstat`` alone: its data is read while writing.

    ``source`` is the file to read (regular files only); ``size`` its size when planned.
    """

    __slots__ = ("path", "kind", "mode", "size", "linkname", "source")

    def __init__(
        self,
        path: str,
        kind: Literal["file", "dir", "symlink"],
        mode: int,
        size: int = 0,
        linkname: str = "",
        source: str | None = None,
    ):
        self.path = path
        self.kind = kind
        self.mode = mode
        self.size = size
        self.linkname = linkname
        self.source = source


def plan_from_tree(root: str | os.PathLike[str], files: list[str]) -> list[PlannedMember]:
    """The members Hex puts in ``contents.tar.gz`` for the metadata ``files`` list, without reading any file.

    Order is kept. Regular files carry their on-disk permission bits,
    symlinks stay symlinks (never followed), directories become members only
    when empty (their contents are listed separately in ``files``).
    """
    base = os.fspath(root)
    planned: list[PlannedMember] = []
    for rel in files:
        path = os.path.join(base, rel)  # strings, not Path objects: a build plans every file of the package
        try:
            info = os.lstat(path)
        except OSError as exc:
            raise TarballError(f"cannot read {rel}: {exc.strerror}", subject=base) from None
        perm = stat.S_IMODE(info.st_mode)
        if stat.S_ISLNK(info.st_mode):
            planned.append(PlannedMember(rel, "symlink", perm, linkname=os.readlink(path)))
        elif stat.S_ISDIR(info.st_mode):
            with os.scandir(path) as entries:
                empty = next(entries, None) is None
            if empty:
                planned.append(PlannedMember(rel, "dir", perm))
        elif stat.S_ISREG(info.st_mode):
            planned.append(PlannedMember(rel, "file", perm, size=info.st_size, source=path))
        else:
            raise TarballError(
                f"{rel} is not a regular file, directory or symlink",
                subject=base,
                hint="remove it from the package files",
            )
    return planned


def contents_from_tree(root: str | os.PathLike[str], files: list[str]) -> list[Member]:
    """``plan_from_tree`` with every file's data read into memory, never past Hex's uncompressed limit."""
    base = name_of(root)
    members: list[Member] = []
    room = MAX_UNCOMPRESSED_SIZE  # contents still allowed: nothing is read past Hex's limit
    for planned in plan_from_tree(base, files):
        if planned.source is None:
            members.append(Member(planned.path, planned.kind, planned.mode, linkname=planned.linkname))
            continue
        if planned.size > room:  # by its size alone, before reading it (a sparse 1.5 GiB file)
            raise ContentsTooBig(planned.path)
        data = _read_at_most(planned.source, room, planned.path, base)
        room -= len(data)
        members.append(Member(planned.path, "file", planned.mode, data=data))
    return members


class ContentsTooBig(TarballError):
    """The package files hold more than ``MAX_UNCOMPRESSED_SIZE`` bytes (found before reading them all)."""

    def __init__(self, rel: str):
        super().__init__(f"package files exceed {MAX_UNCOMPRESSED_SIZE} bytes", subject=rel)


def _read_at_most(path: str, room: int, rel: str, base: str) -> bytes:
    """A regular file's bytes, never more than ``room`` (a file may grow after its size was read)."""
    try:
        with open(path, "rb") as handle:
            data = handle.read(room + 1)
    except OSError as exc:
        raise TarballError(
            f"cannot read {rel}: {exc.strerror or exc}", subject=str(base), hint="fix its permissions or exclude it"
        ) from None
    if len(data) > room:
        raise ContentsTooBig(rel)
    return data


def _octal(value: int, width: int) -> bytes:
    """hex_erl_tar's write_numeric/write_octal: zero-padded to width-1 digits, then NUL."""
    text = format(value, "o").rjust(width - 1, "0").encode("ascii")
    if len(text) >= width:
        raise TarballError(f"value {value} does not fit a {width}-byte tar field")
    return text + b"\0"


def _field(text: bytes, width: int) -> bytes:
    if len(text) > width:
        raise TarballError(f"{text!r} does not fit a {width}-byte tar field")
    return text.ljust(width, b"\0")


# The header fields every member shares: uid and gid 0, the fixed mtime; the ustar magic and version, empty
# user and group names, device numbers 0.
_IDS_FIELDS = _octal(0, 8) + _octal(0, 8)
_MTIME_FIELD = _octal(MTIME, 12)
_MAGIC_TO_DEVICES = b"ustar\0" + b"00" + bytes(32 + 32) + _octal(0, 8) + _octal(0, 8)


def _header(name: bytes, mode: int, size: int, typeflag: bytes, linkname: bytes = b"", prefix: bytes = b"") -> bytes:
    """One ustar header block; the checksum field counts as eight spaces while the block is summed."""
    before = b"".join((_field(name, 100), _octal(mode, 8), _IDS_FIELDS, _octal(size, 12), _MTIME_FIELD))
    after = b"".join((typeflag, _field(linkname, 100), _MAGIC_TO_DEVICES, _field(prefix, 155), bytes(12)))
    return before + _octal(sum(before) + sum(after) + 8 * ord(" "), 8) + after


def _pad(size: int) -> bytes:
    return bytes(-size % BLOCK)


def _pax_record(key: str, value: str) -> bytes:
    """build_pax_file/3: the length is first counted in characters, then fixed once in bytes."""
    size = len(key) + len(value) + 3
    size2 = len(str(size)) + size
    record = f"{size2} {key}={value}\n".encode()
    if len(record) != size2:
        record = f"{len(record)} {key}={value}\n".encode()
    return record


def _split_ustar_path(path: str) -> tuple[str, str] | None:
    if len(path) <= 100 or not path.isascii():
        return None
    parts = [p for p in path.split("/") if p]
    if (len(parts) == 1 and len(parts[0]) >= 100) or len(parts[-1]) >= 100:
        return None
    prefix: str | None = None
    for part in parts[:-1]:
        if prefix is None:
            if len(part) > 155:
                return None
            prefix = part
        else:
            if len(part) + len(prefix) > 155:
                return None
            prefix = prefix + "/" + part
    if prefix is not None and len(prefix) > 155:
        raise TarballError(f"path too long for a Hex tarball: {path}", hint="shorten the directory names")
    return parts[-1], prefix or ""


def _entry(name: str, mode: int, data: bytes, typeflag: bytes, linkname: str = "") -> bytes:
    """One tar entry as hex_erl_tar's build_header/2 writes it (with a PAX header when needed)."""
    return b"".join(_entry_parts(name, mode, data, typeflag, linkname))


def _entry_parts(name: str, mode: int, data: bytes, typeflag: bytes, linkname: str = "") -> tuple[bytes, ...]:
    """``_entry`` in its three pieces (header, data, padding), for a caller that joins a whole tar once."""
    return _entry_head(name, mode, len(data), typeflag, linkname), data, _pad(len(data))


def _entry_head(name: str, mode: int, size: int, typeflag: bytes, linkname: str = "") -> bytes:
    """The header block(s) of a ``size``-byte entry: the PAX header and its records when needed, then ustar."""
    if _fits_ustar(name, linkname):
        return _header(name.encode("ascii"), mode, size, typeflag, linkname.encode("ascii"))
    pax: dict[str, str] = {}
    name_field = b""
    prefix = b""
    if len(name) > 100 or not name.isascii():
        pax["path"] = name
    else:
        name_field = name.encode("ascii")
    link_field = b""
    if len(linkname) > 100 or not linkname.isascii():
        pax["linkpath"] = linkname
    else:
        link_field = linkname.encode("ascii")
    if "path" in pax:
        split = _split_ustar_path(name)
        if split is not None:
            name_field, prefix = split[0].encode("ascii"), split[1].encode("ascii")
            del pax["path"]
    out = []
    if pax:
        dirname, basename = posixpath.split(name.rstrip("/")) if "/" in name.rstrip("/") else (".", name)
        pax_name = "".join(ch for ch in f"{dirname}/PaxHeaders.0/{basename}" if ord(ch) < 128)
        pax_name_bytes = pax_name.encode("ascii")[:99] if len(pax_name) > 100 else pax_name.encode("ascii")
        body = b"".join(_pax_record(key, pax[key]) for key in sorted(pax))
        out += [_header(pax_name_bytes, 0o100644, len(body), b"x"), body, _pad(len(body))]
    out.append(_header(name_field, mode, size, typeflag, link_field, prefix))
    return b"".join(out)


def _fits_ustar(name: str, linkname: str) -> bool:
    """Whether the ustar fields hold ``name`` and ``linkname`` as they are: one header block, no PAX header."""
    return len(name) <= 100 and name.isascii() and len(linkname) <= 100 and linkname.isascii()


def _tar(entries: list[bytes]) -> bytes:
    """The entries (or their pieces) and the end-of-archive blocks, joined once."""
    return b"".join([*entries, ZERO_BLOCK, ZERO_BLOCK])


def _gzip_trailer(crc: int, length: int) -> bytes:
    """CRC-32 and length mod 2**32, little-endian (``struct.pack("<II", ...)`` without loading struct)."""
    return (crc & 0xFFFFFFFF).to_bytes(4, "little") + (length & 0xFFFFFFFF).to_bytes(4, "little")


def gzip_hex(data: bytes) -> bytes:
    """hex_tarball:gzip/1: raw deflate (level 6, 15-bit window, memLevel 8) behind a fixed header."""
    compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
    body = compressor.compress(data) + compressor.flush()
    return GZIP_HEADER + body + _gzip_trailer(zlib.crc32(data), len(data))


def contents_tar(members: list[Member]) -> bytes:
    """The uncompressed inner ustar archive."""
    entries = []
    for member in members:
        mode = _TYPE_BITS[member.kind] | (member.mode & 0o7777)
        if member.kind == "file":
            entries.append(_entry(member.path, mode, member.data, b"0"))
        elif member.kind == "dir":
            entries.append(_entry(member.path.rstrip("/") + "/", mode, b"", b"5"))
        elif member.kind == "symlink":
            entries.append(_entry(member.path, mode, b"", b"2", member.linkname))
        else:
            raise TarballError(f"unknown member kind {member.kind!r}", subject=member.path)
    return _tar(entries)


def contents_tar_gz(members: list[Member]) -> bytes:
    """``contents.tar.gz`` exactly as Hex writes it for these members."""
    return gzip_hex(contents_tar(members))


# --- streaming: memory bounded by the compressed size ---------------------

READ_CHUNK = 256 * 1024  # read from a file at once: a batch (below) holds at most two


class CompressedTooBig(TarballError):
    """``contents.tar.gz`` grew past the size the caller allows (``limit``); raised as soon as it does."""


def _planned_name(member: PlannedMember) -> str:
    """The member's name in the tar: a directory's ends with ``/``."""
    return member.path.rstrip("/") + "/" if member.kind == "dir" else member.path


def _planned_head(member: PlannedMember) -> bytes:
    mode = _TYPE_BITS[member.kind] | (member.mode & 0o7777)
    if member.kind == "file":
        return _entry_head(member.path, mode, member.size, b"0")
    if member.kind == "dir":
        return _entry_head(_planned_name(member), mode, 0, b"5")
    return _entry_head(member.path, mode, 0, b"2", member.linkname)


def _planned_head_size(member: PlannedMember) -> int:
    """``len(_planned_head(member))``, without writing the header when it is a single block."""
    return BLOCK if _fits_ustar(_planned_name(member), member.linkname) else len(_planned_head(member))


def planned_tar_size(planned: list[PlannedMember]) -> int:
    """The exact size of the inner tar these members make (what Hex's uncompressed limit measures),
    known from ``lstat`` before any file is read."""
    total = 2 * BLOCK
    for member in planned:
        total += _planned_head_size(member) + member.size + (-member.size % BLOCK)
    return total


# Tar bytes gathered before each deflate call: a call per header or small file costs Python overhead,
# and a thread compressing in the background takes the GIL back after each call. The first batches
# are smaller (16 KiB, then 4 times more each), so that thread starts at once and each batch is read
# while it compresses the one before.
BATCH = READ_CHUNK
FIRST_BATCH = 16 * 1024


def tar_batches(planned: list[PlannedMember]) -> Generator[bytes, None, None]:
    """The inner tar of ``planned`` in pieces of about ``BATCH`` bytes (the first ones smaller), each file
    read as it is reached.

    A file whose size changed since it was planned is refused: its header already holds the old size.
    """
    pending: list[bytes] = []  # tar bytes not handed out yet
    pending_size = 0
    batch = FIRST_BATCH
    for member in planned:
        head = _planned_head(member)
        pending.append(head)
        pending_size += len(head)
        if member.source is None:
            continue
        seen = 0
        try:
            with open(member.source, "rb") as handle:
                while seen <= member.size:
                    data = handle.read(min(batch, member.size + 1 - seen))
                    if not data:
                        break
                    seen += len(data)
                    if seen <= member.size:
                        pending.append(data)
                        pending_size += len(data)
                        if pending_size >= batch:
                            yield b"".join(pending)
                            pending.clear()
                            pending_size = 0
                            batch = min(4 * batch, BATCH)
        except OSError as exc:
            source = str(member.source)
            root = source[: -len(member.path) - 1] if source.endswith("/" + member.path) else source
            raise TarballError(
                f"cannot read {member.path}: {exc.strerror or exc}",
                subject=root,
                hint="fix its permissions or exclude it",
            ) from None
        if seen != member.size:
            raise TarballError(
                f"{member.path} changed while the package was being built", hint="build again once it is written"
            )
        pad = _pad(member.size)
        pending.append(pad)
        pending_size += len(pad)
    pending.append(ZERO_BLOCK + ZERO_BLOCK)
    yield b"".join(pending)


class Deflater:
    """``contents.tar.gz`` made from the inner tar's bytes as they come: Hex's gzip, byte for byte.

    ``add`` is ``count`` (the CRC-32 and length of the gzip trailer) and ``compress``, which two
    threads may split between them. ``limit`` (which may be lowered while bytes are being added,
    from another thread) is the largest ``contents.tar.gz`` allowed: ``compress`` and ``finish``
    raise ``CompressedTooBig`` as soon as the output passes it. ``chunks`` is the output so far, in
    pieces, only ever appended to; memory is the compressed output.
    """

    __slots__ = ("limit", "chunks", "_compressor", "_written", "_crc", "_length")

    def __init__(self, limit: int | None = None):
        self.limit = limit
        self.chunks = [GZIP_HEADER]
        self._compressor = zlib.compressobj(6, zlib.DEFLATED, -15, 8, zlib.Z_DEFAULT_STRATEGY)
        self._written = len(GZIP_HEADER)
        self._crc = 0
        self._length = 0

    def _check(self) -> None:
        limit = self.limit
        if limit is not None and self._written > limit:
            raise CompressedTooBig(f"contents.tar.gz passed {limit} bytes")

    def add(self, data: bytes) -> None:
        self.count(data)
        self.compress(data)

    def count(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._length += len(data)

    def compress(self, data: bytes) -> None:
        chunk = self._compressor.compress(data)
        if chunk:
            self.chunks.append(chunk)
            self._written += len(chunk)
            self._check()

    def finish(self) -> bytes:
        """The whole ``contents.tar.gz``, once every byte was counted and compressed."""
        tail = self._compressor.flush()
        self.chunks.append(tail)
        self._written += len(tail) + 8
        self._check()
        self.chunks.append(_gzip_trailer(self._crc, self._length))
        return b"".join(self.chunks)


def stream_contents_tar_gz(planned: list[PlannedMember], *, limit: int | None = None) -> bytes:
    """``contents.tar.gz`` of ``planned``, byte for byte ``contents_tar_gz`` of the same members.

    Files are read in chunks straight into the compressor, so memory stays
    about the compressed size; ``limit`` stops the build (``CompressedTooBig``)
    as soon as the compressed output passes it.
    """
    deflater = Deflater(limit)
    for batch in tar_batches(planned):
        deflater.add(batch)
    return deflater.finish()


def inner_checksum(metadata_config: bytes, contents: bytes, version: bytes = VERSION) -> str:
    """The CHECKSUM member: upper-case hex SHA-256 of VERSION + metadata.config + contents.tar.gz."""
    return sha256(version + metadata_config + contents).hexdigest().upper()


def outer_tarball(metadata_config: bytes, contents: bytes, *, checksum: str | None = None) -> bytes:
    """The whole package file from its metadata.config and contents.tar.gz.

    ``checksum`` is their ``inner_checksum`` when the caller already has it (hashing it again costs a build
    more than writing the outer tar).
    """
    stored = (checksum or inner_checksum(metadata_config, contents)).encode("ascii")
    files = [("VERSION", VERSION), ("CHECKSUM", stored), ("metadata.config", metadata_config),
             ("contents.tar.gz", contents)]  # fmt: skip
    # joined once, from the pieces: contents.tar.gz is copied into the package and nowhere else
    tarball = _tar([part for name, data in files for part in _entry_parts(name, 0o100644, data, b"0")])
    if len(tarball) > MAX_OUTER_SIZE:
        raise TarballError(
            f"package is {len(tarball)} bytes, over Hex's limit of {MAX_OUTER_SIZE} bytes",
            hint="exclude large files from the package",
        )
    return tarball


def outer_checksum(tarball: bytes) -> str:
    """What Hex prints as "Package checksum": lower-case hex SHA-256 of the whole file."""
    return sha256(tarball).hexdigest()


# --------------------------------------------------------------------------
# Reading
# --------------------------------------------------------------------------


_HEADER_ONLY = (b"1", b"2", b"3", b"4", b"5", b"6")


class _RawEntry(Record):
    __slots__ = ("name", "typeflag", "mode", "data", "linkname")

    def __init__(self, name: str, typeflag: bytes, mode: int, data: bytes, linkname: str):
        self.name = name
        self.typeflag = typeflag
        self.mode = mode
        self.data = data
        self.linkname = linkname


def _parse_octal(raw: bytes, what: str, subject: str) -> int:
    text = raw.split(b"\0", 1)[0].strip(b" ")
    if not text:
        return 0
    if raw[:1] in (b"\x80", b"\xff"):
        raise TarballError(f"{what}: base-256 numbers are not supported", subject=subject)
    try:
        return int(text.decode("ascii"), 8)
    except (UnicodeDecodeError, ValueError):
        raise TarballError(f"{what}: {raw!r} is not an octal number", subject=subject) from None


def _parse_string(raw: bytes) -> str:
    text = raw.split(b"\0", 1)[0]
    try:
        return text.decode("utf-8")
    except UnicodeDecodeError:
        return text.decode("latin-1")


def _parse_pax(body: bytes, subject: str) -> dict[str, str]:
    out: dict[str, str] = {}
    pos = 0
    while pos < len(body):
        space = body.find(b" ", pos)
        if space < 0:
            raise TarballError("malformed PAX record", subject=subject)
        try:
            length = int(body[pos:space].decode("ascii"))
        except (UnicodeDecodeError, ValueError):
            raise TarballError("malformed PAX record length", subject=subject) from None
        if length <= space - pos or pos + length > len(body) or body[pos + length - 1 : pos + length] != b"\n":
            raise TarballError("malformed PAX record", subject=subject)
        record = body[space + 1 : pos + length - 1]
        key, sep, value = record.partition(b"=")
        if not sep:
            raise TarballError("malformed PAX record", subject=subject)
        try:
            out[key.decode("utf-8")] = value.decode("utf-8")
        except UnicodeDecodeError:
            raise TarballError("PAX record is not UTF-8", subject=subject) from None
        pos += length
    return out


def _read_tar(data: bytes, subject: str, *, limit: int) -> list[_RawEntry]:
    """Parse a tar archive held in memory; strict, raises TarballError on anything odd."""
    entries: list[_RawEntry] = []
    pos = 0
    pax: dict[str, str] = {}
    gnu_name: str | None = None
    gnu_link: str | None = None
    total = 0
    while True:
        if pos + BLOCK > len(data):
            if pos == len(data) and entries and not pax:
                break  # tolerate a missing end-of-archive marker after complete entries
            raise TarballError("truncated tar archive", subject=subject)
        block = data[pos : pos + BLOCK]
        if block == ZERO_BLOCK:
            rest = data[pos + BLOCK : pos + 2 * BLOCK]
            if rest and rest != ZERO_BLOCK:
                raise TarballError("invalid end of archive", subject=subject)
            if data[pos:].strip(b"\0"):
                raise TarballError("data after the end of the archive", subject=subject)
            break
        try:
            stored = _parse_octal(block[148:156], "header checksum", subject)
        except TarballError:
            stored = -1
        computed = sum(block[:148]) + 8 * ord(" ") + sum(block[156:])
        if stored != computed:
            raise TarballError(
                f"corrupt tar header at offset {pos} (bad header checksum; not a tar archive?)", subject=subject
            )
        typeflag = block[156:157]
        size = _parse_octal(block[124:136], "member size", subject)
        mode = _parse_octal(block[100:108], "member mode", subject)
        name = _parse_string(block[0:100])
        if block[257:262] == b"ustar":
            prefix = _parse_string(block[345:500])
            if prefix:
                name = prefix.rstrip("/") + "/" + name
        linkname = _parse_string(block[157:257])
        # header-only types carry no data, whatever their size field says (as erl_tar reads them)
        body_size = 0 if typeflag in _HEADER_ONLY else size
        start = pos + BLOCK
        end = start + body_size
        if end > len(data):
            raise TarballError(f"truncated tar archive: member {name[:200]!r} needs {body_size} bytes", subject=subject)
        total += body_size
        if total > limit:
            raise TarballError(f"members exceed the limit of {limit} bytes", subject=subject)
        body = data[start:end]
        pos = end + (-body_size % BLOCK)
        if typeflag == b"x":
            pax.update(_parse_pax(body, subject))
            continue
        if typeflag == b"g":
            continue  # global PAX header: nothing Hex uses
        if typeflag in (b"L", b"K"):
            value = _parse_string(body)
            if typeflag == b"L":
                gnu_name = value
            else:
                gnu_link = value
            continue
        if "size" in pax and typeflag not in _HEADER_ONLY:
            _check_pax_size(pax["size"], body_size, name, subject)
        if "path" in pax:
            name = pax["path"]
        elif gnu_name is not None:
            name = gnu_name
        if "linkpath" in pax:
            linkname = pax["linkpath"]
        elif gnu_link is not None:
            linkname = gnu_link
        pax, gnu_name, gnu_link = {}, None, None
        if len(entries) == MAX_MEMBERS:
            raise TarballError(
                f"more than {MAX_MEMBERS} members, the most hexpack reads from one archive", subject=subject
            )
        entries.append(_RawEntry(name, typeflag, mode, body, linkname))
    return entries


def _check_pax_size(record: str, size: int, name: str, subject: str) -> None:
    """A PAX ``size`` record must agree with the header's size field.

    erl_tar honours the record: read into memory (``hex_tarball:unpack(_, memory)``, what
    Hex checks and hexpm indexes) a member has the record's size, capped by the header's,
    while Hex's own copy of erl_tar writes a file on disk from the header's size. A package
    whose two sizes differ therefore has two different contents; none is described.
    """
    if not (record.isascii() and record.isdigit()) or len(record) > 20:
        raise TarballError(f"member {name[:200]!r} has a malformed PAX size record", subject=subject)
    if int(record) != size:
        raise TarballError(
            f"member {name[:200]!r}: PAX size record says {int(record)} bytes, the header {size}",
            subject=subject,
            hint="Hex's readers disagree on such a member; not a package Hex builds",
        )


def _gunzip(blob: bytes, limit: int) -> bytes:
    if len(blob) < 18 or blob[:3] != b"\x1f\x8b\x08":
        raise TarballError("not a gzip stream", subject="contents.tar.gz")
    decompressor = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = decompressor.decompress(blob, limit + 1)
    except zlib.error as exc:
        raise TarballError(f"corrupt gzip stream ({exc})", subject="contents.tar.gz") from None
    if len(out) > limit:
        raise TarballError(f"uncompressed contents exceed Hex's limit of {limit} bytes", subject="contents.tar.gz")
    if not decompressor.eof:
        raise TarballError("truncated gzip stream", subject="contents.tar.gz")
    if decompressor.unused_data:
        raise TarballError("data after the end of the gzip stream", subject="contents.tar.gz")
    return out


MAX_PATH_LENGTH = 4096  # Linux's PATH_MAX: no longer member path or link target can be written anyway
_MAX_LINK_HOPS = 40  # Linux's MAXSYMLINKS


def _check_path(path: str, subject: str) -> str:
    """A member path must be relative, normalised and inside the package."""
    if not path:
        raise TarballError("member with an empty name", subject=subject)
    if len(path) > MAX_PATH_LENGTH:
        raise TarballError(
            f"member path {path[:60]!r}... is {len(path)} characters, over the limit of {MAX_PATH_LENGTH}",
            subject=subject,
        )
    if "\0" in path or "\\" in path:
        raise TarballError(f"unsafe member path {path!r}", subject=subject)
    if path.startswith("/"):
        raise TarballError(f"absolute member path {path!r}", subject=subject)
    if len(path) >= 2 and path[1] == ":":
        raise TarballError(f"absolute member path {path!r}", subject=subject)
    parts = [p for p in path.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise TarballError(f"member path {path!r} leaves the package (..)", subject=subject)
    if not parts:
        raise TarballError(f"member path {path!r} names the package root", subject=subject)
    return "/".join(parts)


class _Node:
    """One path component of the package, for lookups in time linear in a path's length."""

    __slots__ = ("children", "member")

    def __init__(self) -> None:
        self.children: dict[str, _Node] = {}
        self.member: Member | None = None


def _tree(members: list[Member]) -> _Node:
    root = _Node()
    for member in members:
        node = root
        for part in member.path.split("/"):
            child = node.children.get(part)
            if child is None:
                child = node.children[part] = _Node()
            node = child
        node.member = member
    return root


def _check_members(raw: list[_RawEntry]) -> list[Member]:
    subject = "contents.tar.gz"
    members: list[Member] = []
    seen: set[str] = set()
    for entry in raw:
        kind: Literal["file", "dir", "symlink"]
        if len(entry.name) > MAX_PATH_LENGTH:
            _check_path(entry.name, subject)  # refuses it, without printing all of it
        if entry.typeflag in (b"0", b"\0", b"7"):
            kind = "file"
        elif entry.typeflag == b"5":
            kind = "dir"
        elif entry.typeflag == b"2":
            kind = "symlink"
        elif entry.typeflag == b"1":
            raise TarballError(f"hard link {entry.name!r} -> {entry.linkname!r} is not allowed", subject=subject)
        elif entry.typeflag in (b"3", b"4"):
            raise TarballError(f"device file {entry.name!r} is not allowed", subject=subject)
        elif entry.typeflag == b"6":
            raise TarballError(f"FIFO {entry.name!r} is not allowed", subject=subject)
        else:
            raise TarballError(f"member {entry.name!r} has unsupported type {entry.typeflag!r}", subject=subject)
        path = _check_path(entry.name, subject)
        if path in seen:
            raise TarballError(f"member {path!r} appears twice", subject=subject)
        seen.add(path)
        members.append(Member(path, kind, stat.S_IMODE(entry.mode), entry.data if kind == "file" else b"",
                              entry.linkname if kind == "symlink" else ""))  # fmt: skip
    root, links, budget, steps = _link_context(members)
    for member in members:
        node, walked = root, 0
        for part in member.path.split("/")[:-1]:
            node = node.children[part]
            walked += len(part) + 1
            parent = node.member
            if parent is not None and parent.kind != "dir":
                what = "symlink" if parent.kind == "symlink" else "file"
                raise TarballError(
                    f"member {member.path!r} lies under the {what} {member.path[: walked - 1]!r}", subject=subject
                )
    for member in links:
        _check_link(member, root, subject, budget, steps)
    return members


def _link_context(members: list[Member]) -> tuple[_Node, list[Member], list[int], dict[str, list[str]]]:
    """The member tree, the symlinks, a work budget and each link's steps, for :func:`_check_link`."""
    links = [m for m in members if m.kind == "symlink"]
    # following links inside links can repeat work: a fixed multiple of the input bounds it all
    budget = [100_000 + 8 * sum(len(m.path) + len(m.linkname) for m in links)]
    steps = {m.path: _steps(m.linkname) for m in links}  # split once: a link may be followed many times
    return _tree(members), links, budget, steps


def _check_link(member: Member, root: _Node, subject: str, budget: list[int], steps: dict[str, list[str]]) -> None:
    """The link must resolve inside the package (dangling is fine), else TarballError."""
    verdict = _resolve_link(member, root, budget, steps)
    if verdict in ("inside", "dangling"):
        return
    target = member.linkname
    messages = {
        "invalid": f"symlink {member.path!r} has an empty or invalid target",
        "too long": f"symlink {member.path!r} has a target of {len(target)} characters,"
        f" over the limit of {MAX_PATH_LENGTH}",
        "absolute": f"symlink {member.path!r} points outside the package ({target})",
        "outside": f"symlink {member.path!r} points outside the package ({target})",
        "loop": f"symlink {member.path!r} is part of a symlink loop",
        "tangled": f"symlink {member.path!r}: the package's symlinks are too tangled to check",
    }
    raise TarballError(messages[verdict], subject=subject)


def _resolve_link(member: Member, root: _Node, budget: list[int], steps: dict[str, list[str]]) -> str:
    """Where the link leads, following the package's other symlinks as the OS would.

    One of "inside", "dangling" (inside, but nothing is there), "outside", "absolute",
    "loop", "tangled" (over the work budget), "invalid" or "too long". A purely textual
    check is not enough: with ``b -> .`` a link ``a -> b/b/../..`` looks harmless but
    climbs out of the package once ``b`` is followed. Each step costs O(1) (a stack of tree
    nodes, the components to walk kept reversed), so a target is checked in time linear in
    its length, times at most ``_MAX_LINK_HOPS`` links followed; ``budget`` (steps left for
    the whole package) keeps many such links linear in the package's size.
    """
    target = member.linkname
    if not target or "\0" in target:
        return "invalid"
    if len(target) > MAX_PATH_LENGTH:
        return "too long"
    if target.startswith("/") or "\\" in target or (len(target) >= 2 and target[1] == ":"):
        return "absolute"
    # the directories from the package root to where the walk is; None below a name the package lacks
    current: list[_Node | None] = [root]
    node: _Node | None = root
    for part in member.path.split("/")[:-1]:
        node = node.children.get(part) if node is not None else None
        current.append(node)
    pending = list(steps[member.path])
    hops = 0
    budget[0] -= len(pending)
    broken = False  # the walk went through a name the package lacks, or a file: the OS would stop there
    while pending:
        part = pending.pop()
        last = current[-1]
        broken = broken or last is None or (last.member is not None and last.member.kind == "file")
        if part == "..":
            if len(current) == 1:
                return "outside"
            current.pop()
            continue
        child = last.children.get(part) if last is not None else None
        inner = child.member if child is not None else None
        if inner is not None and inner.kind == "symlink":
            hops += 1
            if hops > _MAX_LINK_HOPS:
                return "loop"
            if inner.linkname.startswith("/") or "\\" in inner.linkname:
                return "outside"
            more = steps[inner.path]
            budget[0] -= len(more)
            if budget[0] < 0:
                return "tangled"
            pending.extend(more)
            continue
        current.append(child)
    return "dangling" if broken or current[-1] is None else "inside"


def link_verdicts(members: list[Member]) -> list[tuple[Member, str]]:
    """Each symlink among ``members`` with where it leads (see :func:`_resolve_link`), in linear time."""
    root, links, budget, steps = _link_context(members)
    return [(m, _resolve_link(m, root, budget, steps)) for m in links]


def _steps(target: str) -> list[str]:
    """A link target's components to walk, reversed (the next one is popped from the end)."""
    return [part for part in reversed(target.split("/")) if part not in ("", ".")]


def _decode_checksum(text: bytes) -> bytes:
    try:
        value = bytes.fromhex(text.decode("ascii"))
    except (UnicodeDecodeError, ValueError):
        raise TarballError("CHECKSUM is not hexadecimal", subject="CHECKSUM") from None
    if len(value) != 32:
        raise TarballError("CHECKSUM is not a SHA-256 digest", subject="CHECKSUM")
    return value


def read_package(data: bytes, *, subject: str = "package", verify_checksum: bool = True) -> Package:
    """Read and verify a whole Hex package; every problem raises TarballError.

    With ``verify_checksum=False`` a wrong CHECKSUM is recorded in
    ``Package.checksum_ok`` instead (for ``hexpack inspect``); everything else is
    still checked.
    """
    if not isinstance(data, (bytes, bytearray)):
        raise TypeError("read_package() needs bytes")
    data = bytes(data)
    if len(data) > MAX_OUTER_SIZE:
        raise TarballError(f"tarball is {len(data)} bytes, over Hex's limit of {MAX_OUTER_SIZE}", subject=subject)
    if not data:
        raise TarballError("empty file", subject=subject)
    outer = _read_tar(data, subject, limit=MAX_OUTER_SIZE)
    files: dict[str, bytes] = {}
    for entry in outer:
        if entry.typeflag not in (b"0", b"\0"):
            raise TarballError(f"outer member {entry.name!r} is not a regular file", subject=subject)
        if entry.name in files:
            raise TarballError(f"outer member {entry.name!r} appears twice", subject=subject)
        files[entry.name] = entry.data
    missing = [name for name in OUTER_MEMBERS if name not in files]
    if missing:
        raise TarballError(f"missing files: {', '.join(missing)}", subject=subject, hint="not a Hex package")
    unknown = sorted(name for name in files if name not in OUTER_MEMBERS)
    if unknown:
        raise TarballError(f"invalid files: {', '.join(unknown)}", subject=subject, hint="not a Hex package")
    version = files["VERSION"]
    if version != VERSION:
        raise TarballError(f"unsupported version {version[:20]!r}", subject=subject, hint="hexpack reads format 3")
    expected = _decode_checksum(files["CHECKSUM"])
    metadata_config = files["metadata.config"]
    contents = files["contents.tar.gz"]
    actual = sha256(version + metadata_config + contents).digest()
    if actual != expected and verify_checksum:
        raise TarballError(
            f"checksum mismatch: CHECKSUM says {expected.hex().upper()}, contents give {actual.hex().upper()}",
            subject=subject,
            hint="the file was modified or damaged",
        )
    if len(metadata_config) > MAX_METADATA_SIZE:
        raise TarballError(
            f"metadata.config is {len(metadata_config)} bytes, over the limit of {MAX_METADATA_SIZE}", subject=subject
        )
    from . import erlterm  # lazy: a build imports it while contents.tar.gz is being compressed (hex.build)

    metadata = erlterm.parse_config(metadata_config)
    raw = _read_tar(_gunzip(contents, MAX_UNCOMPRESSED_SIZE), "contents.tar.gz", limit=MAX_UNCOMPRESSED_SIZE)
    members = _check_members(raw)
    return Package(
        version=version.decode("ascii"),
        inner_checksum=expected.hex().upper(),
        outer_checksum=outer_checksum(data),
        metadata_config=metadata_config,
        metadata=metadata,
        members=members,
        contents=contents,
        computed_checksum=actual.hex().upper(),
        checksum_ok=actual == expected,
    )


def _make_dirs(made: dict[str, Path], rel: str, member: str) -> Path:
    """The directory ``rel``, creating each missing level below the deepest one already made, never
    through a symlink or a file. Every level is recorded in ``made`` (``""`` is the root), so a chain
    of directory members costs one ``mkdir`` each, not one per level of each (quadratic in depth)."""
    missing: list[str] = []
    while rel not in made:
        rel, _, part = rel.rpartition("/")
        missing.append(part)
    path = made[rel]
    for part in reversed(missing):
        path = path / part
        try:
            os.mkdir(path)
        except FileExistsError:
            if not stat.S_ISDIR(os.lstat(path).st_mode):
                raise TarballError(
                    f"member {member!r} would be written through {part!r}, which is not a directory"
                    " (case-insensitive file system?)",
                    subject=str(made[""]),
                ) from None
        rel = f"{rel}/{part}" if rel else part
        made[rel] = path
    return path


_TMP_SUFFIX = ".hexpack-tmp"


def _remove_leftovers(parent: Path) -> None:
    """Delete what killed unpack runs left beside their targets: ``.NAME.PID.XXXX.hexpack-tmp``.

    Only directories of this user whose process is gone: a live run's directory (or one
    whose PID a new process took) is never touched. Names without a PID (older hexpack)
    cannot be told apart from a live run's and stay.
    """
    try:
        entries = list(os.scandir(parent))
    except OSError:
        return
    for entry in entries:
        name = entry.name
        if not (name.startswith(".") and name.endswith(_TMP_SUFFIX)):
            continue
        parts = name[: -len(_TMP_SUFFIX)].rsplit(".", 2)
        if len(parts) != 3 or not parts[1].isdigit():
            continue
        try:
            info = entry.stat(follow_symlinks=False)
        except OSError:
            continue
        if stat.S_ISDIR(info.st_mode) and info.st_uid == os.getuid() and not _process_alive(int(parts[1])):
            _remove_tree(entry.path)


def _remove_tree(top: str) -> None:
    """``rmtree`` that first gives read-only directories (a package may ship them) their write bit back."""
    try:
        os.chmod(top, 0o700)
        for dirpath, dirnames, _ in os.walk(top):
            for name in dirnames:
                path = os.path.join(dirpath, name)
                if stat.S_ISDIR(os.lstat(path).st_mode):  # never chmod through a symlink
                    os.chmod(path, 0o700)
    except OSError:
        pass
    # lazy: start-up time (shutil brings bz2 and lzma; only unpacking removes a tree)
    import shutil

    shutil.rmtree(top, ignore_errors=True)


def _process_alive(pid: int) -> bool:
    if pid <= 0:
        return True  # not a PID hexpack wrote: leave it
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OverflowError):
        return True
    return True


def unpack(data: bytes, target: str | os.PathLike[str], *, metadata_file: bool = True) -> Package:
    """Verify ``data`` completely, then write its files into ``target``.

    ``target`` must not exist or be an empty directory. The files are written
    into a temporary directory beside it and renamed into place, so a failure
    leaves nothing behind. Like Hex, the metadata is also written as
    ``hex_metadata.config`` unless ``metadata_file`` is false.
    """
    from pathlib import Path  # lazy: start-up time (a build never unpacks)

    package = read_package(data)
    dest = Path(target)
    if dest.is_symlink() or (dest.exists() and (not dest.is_dir() or any(dest.iterdir()))):
        raise TarballError("target exists and is not an empty directory", subject=str(dest),
                           hint="choose a new directory")  # fmt: skip
    if metadata_file and any(m.path == "hex_metadata.config" for m in package.members):
        raise TarballError("package has its own hex_metadata.config member", subject=str(dest),
                           hint="unpack with metadata_file=False")  # fmt: skip
    try:
        dest.parent.mkdir(parents=True, exist_ok=True)
        _remove_leftovers(dest.parent)
        import tempfile  # lazy: start-up time

        tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.{os.getpid()}.", suffix=_TMP_SUFFIX, dir=dest.parent))
    except (FileExistsError, NotADirectoryError):
        raise HexpackError(
            "a file is in the way of the target's directory", subject=str(dest), hint="choose another directory"
        ) from None
    except OSError as exc:
        raise HexpackError(
            f"cannot create the target: {exc.strerror or exc}", subject=str(dest), hint="choose another directory"
        ) from None
    try:
        dir_modes: list[tuple[Path, int]] = []
        made: dict[str, Path] = {"": tmp}  # directories already created: many members share one deep directory
        for member in package.members:
            parent_rel, _, name = member.path.rpartition("/")
            path = _make_dirs(made, parent_rel, member.path) / name
            try:
                if member.kind == "dir":
                    path = _make_dirs(made, member.path, member.path)
                    dir_modes.append((path, (member.mode & 0o777) | 0o700))
                elif member.kind == "symlink":
                    os.symlink(member.linkname, path)
                else:
                    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
                    with os.fdopen(os.open(path, flags, 0o600), "wb") as handle:
                        handle.write(member.data)
                    os.chmod(path, member.mode & 0o777)
            except FileExistsError:
                raise TarballError(
                    f"member {member.path!r} collides with another member (case-insensitive file system?)",
                    subject=str(dest),
                ) from None
        if metadata_file:
            (tmp / "hex_metadata.config").write_bytes(package.metadata_config)
        for path, mode in reversed(dir_modes):  # last, so a read-only directory still received its files
            os.chmod(path, mode)
        os.chmod(tmp, 0o755)
        if dest.exists():
            dest.rmdir()
        os.rename(tmp, dest)
    except OSError as exc:  # disk full, name too long, ...: nothing is left behind
        _remove_tree(str(tmp))
        # a name this file system cannot hold is the package's fault, a full disk is not
        error = TarballError if exc.errno in (errno.ENAMETOOLONG, errno.ELOOP) else HexpackError
        raise error(
            f"cannot write {Path(exc.filename).name if exc.filename else 'the files'}: {exc.strerror or exc};"
            " nothing was unpacked",
            subject=str(dest),
        ) from None
    except BaseException:
        _remove_tree(str(tmp))
        raise
    return package


def read_file(path: Path) -> bytes:
    """The bytes of a package file, read at most up to Hex's limit (a pipe or a device reports no size)."""
    try:
        size = path.stat().st_size
        if size > MAX_OUTER_SIZE:
            raise TarballError(f"file is {size} bytes, over Hex's limit of {MAX_OUTER_SIZE}", subject=str(path))
        with path.open("rb") as handle:  # bounded: a pipe or a device (/dev/zero) reports no size
            data = handle.read(MAX_OUTER_SIZE + 1)
    except FileNotFoundError:
        raise UsageError("no such file or directory", subject=str(path)) from None
    except OSError as exc:
        raise UsageError(f"cannot read: {exc.strerror or exc}", subject=str(path)) from None
    if len(data) > MAX_OUTER_SIZE:
        raise TarballError(f"more than Hex's limit of {MAX_OUTER_SIZE} bytes", subject=str(path))
    return data
