"""Property/fuzz tests: mutated and hostile Hex tarballs never escape the target and only raise TarballError.

Each case unpacks into ``<sandbox>/out`` next to a sentinel directory; afterwards the
sandbox must hold nothing but ``out`` (or nothing at all when the package was
refused), the sentinel must be untouched and every path under ``out`` must
resolve inside it. In CI (``CI`` set) the four property tests run 2,250 cases together
(marked slow: they run once per CI job). The cases are the same on every run (see the
hypothesis profile in conftest); ``HEXPACK_FUZZ_RANDOM=1`` explores fresh ones.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import pytest
from conftest import HEX_REFERENCE, examples
from hexpack.errors import TarballError
from hexpack.hex import tarball as T
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

REFERENCE = (HEX_REFERENCE / "default_files" / "hex-2.5.1.tar").read_bytes()
_PACKAGE = T.read_package(REFERENCE)
INNER_RAW = zlib.decompress(_PACKAGE.contents, 16 + zlib.MAX_WBITS)
METADATA = _PACKAGE.metadata_config

FUZZ = settings(
    max_examples=examples(1200, 120),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ_SMALL = settings(FUZZ, max_examples=examples(350, 50))


@functools.lru_cache(maxsize=1)
def _workdir() -> Path:
    """One scratch directory for the whole module (creating one per case costs more than the case)."""
    path = Path(tempfile.mkdtemp(prefix="hexpack-fuzz-"))
    atexit.register(shutil.rmtree, path, True)
    (path / "sandbox").mkdir()
    (path / "sentinel").mkdir()
    (path / "sentinel" / "keep").write_text("keep")
    return path


def check_unpack(data: bytes) -> None:
    """Unpack in a sandbox: only TarballError may escape, nothing may land outside ``out``."""
    work = _workdir()
    sandbox = work / "sandbox"
    sentinel = work / "sentinel"
    out = sandbox / "out"
    try:
        T.unpack(data, out)
    except TarballError as exc:
        assert str(exc) and "\n" not in str(exc)
        assert list(sandbox.iterdir()) == []
    else:
        assert [p.name for p in sandbox.iterdir()] == ["out"]
        root = os.path.realpath(out)
        for dirpath, dirnames, filenames in os.walk(out):
            for name in dirnames + filenames:
                resolved = os.path.realpath(Path(dirpath) / name)  # never raises, even on a link loop
                assert resolved == root or resolved.startswith(root + os.sep), resolved
        shutil.rmtree(out)
    assert sorted(p.name for p in work.iterdir()) == ["sandbox", "sentinel"]
    assert [p.name for p in sentinel.iterdir()] == ["keep"]
    assert (sentinel / "keep").read_text() == "keep"


def flip(data: bytes, flips: list[tuple[int, int]]) -> bytes:
    buf = bytearray(data)
    for position, bit in flips:
        buf[position % len(buf)] ^= 1 << bit
    return bytes(buf)


_flips = st.lists(st.tuples(st.integers(min_value=0, max_value=2**31), st.integers(0, 7)), min_size=1, max_size=4)


@pytest.mark.slow
@FUZZ
@given(target=st.sampled_from(["outer", "contents", "inner", "metadata"]), flips=_flips,
       cut=st.one_of(st.none(), st.integers(min_value=0, max_value=2**31)))  # fmt: skip
def test_bit_flips_and_truncation(target, flips, cut):
    """Flip bits in the outer file, in contents.tar.gz, in the raw inner tar or in metadata.config.

    Except for ``outer``, the CHECKSUM is recomputed so the damage reaches the gzip, tar and term readers.
    """
    if target == "outer":
        data = flip(REFERENCE, flips)
        if cut is not None:
            data = data[: cut % (len(data) + 1)]
    elif target == "contents":
        contents = flip(_PACKAGE.contents, flips)
        if cut is not None:
            contents = contents[: cut % (len(contents) + 1)]
        data = T.outer_tarball(METADATA, contents)
    elif target == "inner":
        raw = flip(INNER_RAW, flips)
        if cut is not None:
            raw = raw[: cut % (len(raw) + 1)]
        data = T.outer_tarball(METADATA, T.gzip_hex(raw))
    else:
        metadata = flip(METADATA, flips)
        if cut is not None:
            metadata = metadata[: cut % (len(metadata) + 1)]
        data = T.outer_tarball(metadata, _PACKAGE.contents)
    check_unpack(data)


_segment = st.sampled_from(["a", "b", "..", ".", "", "lib", "\u00e9t\u00e9", "x" * 60, "C:", "a\\b", "~"])
_path = st.lists(_segment, min_size=1, max_size=3).map("/".join) | st.sampled_from(
    ["/etc/passwd", "/", "../x", "a/../../b", "./a", "a//b", "hex_metadata.config"]
)
_typeflag = st.sampled_from([b"0", b"0", b"0", b"5", b"2", b"2", b"1", b"3", b"4", b"6", b"7", b"\0", b"Z"])
_data = st.sampled_from([b"", b"x", b"defmodule A do\nend\n", bytes(600)])
_mode = st.sampled_from([0o644, 0o755, 0o777, 0o4755, 0o1777, 0])
_link = st.lists(_segment, min_size=1, max_size=5).map("/".join) | _path
_entry = st.tuples(_path, _typeflag, _data, _link, _mode)


def crafted_tar(entries) -> bytes:
    """Raw tar entries written with hexpack's own header writer (so any name/type/link can be expressed)."""
    blobs = []
    for name, typeflag, data, linkname, mode in entries:
        body = data if typeflag in (b"0", b"7", b"\0") else b""
        blobs.append(T._entry(name, 0o100000 | mode, body, typeflag, linkname))
    return T._tar(blobs)


@pytest.mark.slow
@FUZZ_SMALL
@given(entries=st.lists(_entry, min_size=1, max_size=6))
def test_crafted_members(entries):
    """Arbitrary names (.., absolute, drive letters), types (links, devices, FIFOs) and link targets."""
    check_unpack(T.outer_tarball(METADATA, T.gzip_hex(crafted_tar(entries))))


@pytest.mark.slow
@FUZZ_SMALL
@given(entries=st.lists(_entry, min_size=1, max_size=6), flips=_flips)
def test_crafted_members_with_damage(entries, flips):
    check_unpack(T.outer_tarball(METADATA, T.gzip_hex(flip(crafted_tar(entries), flips))))


_outer_name = st.sampled_from(["VERSION", "CHECKSUM", "metadata.config", "contents.tar.gz", "extra", "../VERSION"])


@pytest.mark.slow
@FUZZ_SMALL
@given(
    files=st.lists(
        st.tuples(_outer_name, st.sampled_from([b"", b"3", b"2", METADATA, _PACKAGE.contents, b"zz"])), max_size=6
    ),
    fix_checksum=st.booleans(),
)
def test_crafted_outer_archives(files, fix_checksum):
    """Missing, repeated, unknown or odd outer members, with or without a valid CHECKSUM."""
    values = dict(files)
    if fix_checksum:
        values["CHECKSUM"] = T.inner_checksum(values.get("metadata.config", b""), values.get("contents.tar.gz", b""),
                                              values.get("VERSION", b"3")).encode()  # fmt: skip
        files = [(name, values[name] if name == "CHECKSUM" else data) for name, data in files]
    check_unpack(T._tar([T._entry(name, 0o100644, data, b"0") for name, data in files]))


def test_a_flipped_metadata_key_is_refused_on_one_line():
    """Found by random fuzzing: one bit turns ``files`` into a non-UTF-8 key whose long value
    was pretty-printed over several lines inside the error message."""
    with pytest.raises(TarballError) as caught:
        T.unpack(T.outer_tarball(flip(METADATA, [(1506055, 7)]), _PACKAGE.contents), _workdir() / "sandbox" / "out")
    assert "not in key-value format" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_reference_itself_unpacks():
    check_unpack(REFERENCE)


@pytest.mark.parametrize("size", [0, 1, 511, 512, 1023, 1024, 3000])
def test_every_short_prefix_is_refused(size):
    with pytest.raises(TarballError):
        T.read_package(REFERENCE[:size])
