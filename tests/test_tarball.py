"""Hex tarballs: byte-identical writing (Hex 2.5.1 references, Erlang's tar writer) and safe, strict reading."""

from __future__ import annotations

import functools
import hashlib
import io
import os
import random
import re
import subprocess
import tarfile
import zlib

import pytest
from conftest import HEX_REFERENCE, require_program
from hexpack.errors import TarballError
from hexpack.hex import tarball as T
from hexpack.hex.erlterm import parse_config

BUILT_CASES = ("hybrid_globs", "default_files", "regex_excludes")


def reference(case: str) -> bytes:
    return (HEX_REFERENCE / case / "hex-2.5.1.tar").read_bytes()


def logged_checksum(case: str) -> str:
    log = (HEX_REFERENCE / case / "hex-2.5.1.log").read_text()
    match = re.search(r"Package checksum: ([0-9a-f]{64})", log)
    assert match
    return match.group(1)


def outer_members(data: bytes) -> dict[str, bytes]:
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers()}  # type: ignore[union-attr]


# -- writing, against the Hex references -----------------------------------------------------------


@pytest.mark.parametrize("case", BUILT_CASES)
def test_read_package_gives_hex_checksums(case):
    package = T.read_package(reference(case))
    assert package.version == "3"
    assert package.outer_checksum == logged_checksum(case)
    assert package.inner_checksum == outer_members(reference(case))["CHECKSUM"].decode()
    assert (
        package.inner_checksum == hashlib.sha256(b"3" + package.metadata_config + package.contents).hexdigest().upper()
    )


@pytest.mark.parametrize("case", BUILT_CASES)
def test_contents_and_outer_tarball_are_byte_identical(case):
    data = reference(case)
    package = T.read_package(data)
    assert T.contents_tar_gz(package.members) == outer_members(data)["contents.tar.gz"]
    assert T.outer_tarball(package.metadata_config, package.contents) == data
    assert T.outer_checksum(data) == logged_checksum(case)


@pytest.mark.parametrize("case", BUILT_CASES)
def test_members_from_the_project_tree_are_byte_identical(case, reference_project):
    root = reference_project(case)
    package = T.read_package(reference(case))
    files = dict(package.metadata)["files"]
    members = T.contents_from_tree(root, files)
    assert [(m.path, m.kind, m.mode, m.data, m.linkname) for m in members] == [
        (m.path, m.kind, m.mode, m.data, m.linkname) for m in package.members
    ]
    assert T.contents_tar_gz(members) == package.contents
    assert T.outer_tarball(package.metadata_config, T.contents_tar_gz(members)) == reference(case)


def test_modes_and_symlinks_are_kept():
    members = {m.path: m for m in T.read_package(reference("default_files")).members}
    assert members["priv/python/grpc_server.py"].mode == 0o755
    assert members["lib/default_files.ex"].mode == 0o644
    assert members["priv/python/pkg_link"].kind == "symlink"
    assert members["priv/python/pkg_link"].linkname == "pkg"
    assert members["priv/python/server_link.py"].linkname == "grpc_server.py"
    assert "priv/python" not in members  # non-empty directories are listed in metadata, not in the tar
    assert ".DS_Store" not in " ".join(members)


def test_gzip_envelope_is_hex_fixed_header():
    blob = T.contents_tar_gz([T.Member("a.txt", "file", 0o644, b"hello")])
    assert blob[:10] == bytes.fromhex("1f8b0800000000000000")
    raw = zlib.decompress(blob, 16 + zlib.MAX_WBITS)
    assert raw[100:108] == b"0100644\0" and raw[136:148] == b"07033241600\0"


def test_empty_directories_become_members(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.py").write_text("x = 1\n")
    members = T.contents_from_tree(tmp_path, ["empty", "full", "full/x.py"])
    assert [(m.path, m.kind) for m in members] == [("empty", "dir"), ("full/x.py", "file")]
    package = T.read_package(T.outer_tarball(b'{<<"name">>,<<"x">>}.\n', T.contents_tar_gz(members)))
    assert [(m.path, m.kind) for m in package.members] == [("empty", "dir"), ("full/x.py", "file")]


def test_building_twice_gives_identical_bytes(reference_project):
    root = reference_project("default_files")
    files = dict(T.read_package(reference("default_files")).metadata)["files"]
    first = T.contents_tar_gz(T.contents_from_tree(root, files))
    os.utime(root / "mix.exs", (0, 0))
    assert T.contents_tar_gz(T.contents_from_tree(root, files)) == first


@pytest.mark.interpreter_independent
def test_tar_writer_matches_erlang_for_long_and_unicode_names(tmp_path):
    """OTP's erl_tar (which hex_core's hex_erl_tar copies) writes PAX and ustar-prefix headers the same way."""
    erl = require_program("erl")
    names = [
        "a.txt",
        "a" * 120 + ".txt",
        "/".join(["dir"] * 30) + "/file.py",
        "x/" + "b" * 99,
        "d\u00e9j\u00e0/f/caf\u00e9.txt",
        "\u00e9t\u00e9",
    ]
    tree = tmp_path / "tree"
    for name in names:
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    (tree / "run.sh").write_text("#!/bin/sh\n")
    (tree / "run.sh").chmod(0o755)
    os.symlink("a.txt", tree / "link")
    os.symlink("../" + "c" * 110, tree / "x" / "longlink")
    (tree / "void").mkdir()
    names += ["run.sh", "link", "x/longlink", "void"]
    out = tmp_path / "erl.tar"
    erl_names = "[" + ",".join("[" + ",".join(str(ord(c)) for c in n) + "]" for n in names) + "]"
    script = (
        f'ok=file:set_cwd("{tree}"),{{ok,T}}=erl_tar:open("{out}",[write]),'
        "Opts=[{mtime,946684800},{atime,946684800},{ctime,946684800},{uid,0},{gid,0}],"
        f"[ok=erl_tar:add(T,N,N,Opts) || N <- {erl_names}],ok=erl_tar:close(T),halt()."
    )
    subprocess.run([erl, "-noshell", "+fnu", "-eval", script], check=True, capture_output=True, timeout=60)
    expected = out.read_bytes()
    mine = T.contents_tar(T.contents_from_tree(tree, names))
    # erl_tar pads the archive to a 10240-byte record on close; hex_erl_tar only writes two zero blocks.
    assert expected.rstrip(b"\0") == mine.rstrip(b"\0")


# -- reading: every refusal is one TarballError, raised before anything is written ----------------

METADATA = b'{<<"name">>,<<"demo">>}.\n{<<"version">>,<<"1.0.0">>}.\n'


def raw_tar(entries: list[tuple[str, bytes, bytes, str, int]]) -> bytes:
    """A tar with arbitrary (even hostile) entries: (name, typeflag, data, linkname, mode)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, typeflag, data, linkname, mode in entries:
            info = tarfile.TarInfo(name)
            info.type = typeflag
            info.mode = mode
            info.linkname = linkname
            info.size = len(data) if typeflag in (tarfile.REGTYPE, tarfile.AREGTYPE) else 0
            tar.addfile(info, io.BytesIO(data) if info.size else None)
    return out.getvalue()


def package_with(inner_entries, *, metadata: bytes = METADATA) -> bytes:
    contents = T.gzip_hex(raw_tar(inner_entries))
    return T.outer_tarball(metadata, contents)


def outer_with(files: list[tuple[str, bytes]]) -> bytes:
    return T._tar([T._entry(name, 0o100644, data, b"0") for name, data in files])


GOOD = [("lib/a.ex", tarfile.REGTYPE, b"defmodule A, do: nil\n", "", 0o644)]


def good_outer(**changes: bytes) -> list[tuple[str, bytes]]:
    contents = T.gzip_hex(raw_tar(GOOD))
    files = {
        "VERSION": b"3",
        "CHECKSUM": T.inner_checksum(METADATA, contents).encode(),
        "metadata.config": METADATA,
        "contents.tar.gz": contents,
    }
    files.update(changes)
    return list(files.items())


HOSTILE_INNER = {
    "absolute path": ([("/etc/passwd", tarfile.REGTYPE, b"x", "", 0o644)], "absolute"),
    "dot-dot": ([("lib/../../evil", tarfile.REGTYPE, b"x", "", 0o644)], r"\.\."),
    "symlink out": ([("lib/l", tarfile.SYMTYPE, b"", "../../etc", 0o777)], "outside"),
    "absolute symlink": ([("l", tarfile.SYMTYPE, b"", "/etc/passwd", 0o777)], "outside"),
    "symlink out through another symlink": (
        [("b", tarfile.SYMTYPE, b"", ".", 0o777), ("a", tarfile.SYMTYPE, b"", "b/b/b/../..", 0o777)],
        "outside",
    ),
    "symlink loop": (
        [("x", tarfile.SYMTYPE, b"", "y", 0o777), ("y", tarfile.SYMTYPE, b"", "x/z", 0o777)],
        "loop",
    ),
    "hard link": ([("a", tarfile.REGTYPE, b"x", "", 0o644), ("b", tarfile.LNKTYPE, b"", "a", 0o644)], "hard link"),
    "char device": ([("dev", tarfile.CHRTYPE, b"", "", 0o644)], "device"),
    "block device": ([("dev", tarfile.BLKTYPE, b"", "", 0o644)], "device"),
    "fifo": ([("pipe", tarfile.FIFOTYPE, b"", "", 0o644)], "FIFO"),
    "file through symlink": (
        [("l", tarfile.SYMTYPE, b"", ".", 0o777), ("l/x", tarfile.REGTYPE, b"x", "", 0o644)],
        "under the symlink",
    ),
    "duplicate": ([("a", tarfile.REGTYPE, b"x", "", 0o644), ("a", tarfile.REGTYPE, b"y", "", 0o644)], "twice"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE_INNER))
def test_hostile_members_are_refused_before_writing(name, tmp_path):
    entries, message = HOSTILE_INNER[name]
    data = package_with(entries)
    target = tmp_path / "out"
    with pytest.raises(TarballError, match=message):
        T.unpack(data, target)
    assert not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@functools.lru_cache(maxsize=1)
def gzip_bomb() -> bytes:
    """A tar header claiming a 129 MiB file, then zeros: ~130 KiB compressed, over the 128 MiB limit."""
    info = tarfile.TarInfo("big")
    info.size = 129 * 1024 * 1024
    compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
    chunks = [compressor.compress(info.tobuf(format=tarfile.GNU_FORMAT))]
    block = bytes(1024 * 1024)
    chunks += [compressor.compress(block) for _ in range(130)]
    chunks.append(compressor.flush())
    return b"".join(chunks)


OUTER_CASES = {
    "wrong version": (lambda: outer_with(good_outer(VERSION=b"2")), "unsupported version"),
    "checksum mismatch": (lambda: outer_with(good_outer(CHECKSUM=b"0" * 64)), "checksum mismatch"),
    "checksum not hex": (lambda: outer_with(good_outer(CHECKSUM=b"zz")), "CHECKSUM"),
    "missing member": (lambda: outer_with(good_outer()[:3]), "missing files: contents.tar.gz"),
    "unknown member": (lambda: outer_with(good_outer() + [("evil.sh", b"x")]), "invalid files: evil.sh"),
    "truncated": (lambda: outer_with(good_outer())[:1500], "truncated"),
    "garbage": (lambda: b"this is not a tarball at all" * 40, "corrupt|truncated"),
    "empty": (lambda: b"", "empty"),
    "too big": (lambda: bytes(T.MAX_OUTER_SIZE + 1), "over Hex's limit"),
    "metadata garbage": (
        lambda: T.outer_tarball(b"{{{ not erlang", T.gzip_hex(raw_tar(GOOD))),
        "metadata.config",
    ),
    "metadata too big": (
        lambda: T.outer_tarball(b'{<<"a">>,<<"' + b"x" * T.MAX_METADATA_SIZE + b'">>}.\n', T.gzip_hex(raw_tar(GOOD))),
        "over the limit",
    ),
    "contents not gzip": (lambda: T.outer_tarball(METADATA, b"plain bytes, no gzip"), "not a gzip"),
    "contents truncated gzip": (lambda: T.outer_tarball(METADATA, T.gzip_hex(raw_tar(GOOD))[:-20]), "gzip"),
    "gzip bomb": (lambda: T.outer_tarball(METADATA, gzip_bomb()), "limit"),
}


@pytest.mark.parametrize("name", sorted(OUTER_CASES))
def test_bad_packages_are_refused_with_one_error(name, tmp_path):
    build, message = OUTER_CASES[name]
    data = build()
    with pytest.raises(TarballError, match=message) as info:
        T.unpack(data, tmp_path / "out")
    assert "\n" not in str(info.value)
    assert not (tmp_path / "out").exists()


def test_unpack_writes_files_modes_links_and_metadata(tmp_path):
    package = T.unpack(reference("default_files"), tmp_path / "out")
    out = tmp_path / "out"
    assert (out / "priv/python/grpc_server.py").stat().st_mode & 0o777 == 0o755
    assert os.readlink(out / "priv/python/pkg_link") == "pkg"
    assert (out / "priv/python/pkg_link/mod.py").read_bytes() == (out / "priv/python/pkg/mod.py").read_bytes()
    assert (out / "hex_metadata.config").read_bytes() == package.metadata_config
    assert parse_config((out / "hex_metadata.config").read_bytes()) == package.metadata
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_unpack_refuses_a_non_empty_target(tmp_path):
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    with pytest.raises(TarballError, match="not an empty directory"):
        T.unpack(reference("hybrid_globs"), tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]


def test_unpack_below_a_file_or_failing_midway_is_one_error_and_leaves_nothing(tmp_path, monkeypatch):
    from hexpack.errors import HexpackError

    (tmp_path / "afile").write_text("x")
    with pytest.raises(HexpackError, match=r"afile/out: a file is in the way of the target's directory"):
        T.unpack(reference("hybrid_globs"), tmp_path / "afile" / "out")
    real_chmod = os.chmod

    def full_disk(path, mode, **kwargs):
        if str(path).endswith(".py"):
            raise OSError(28, "No space left on device", str(path))
        real_chmod(path, mode, **kwargs)

    monkeypatch.setattr(T.os, "chmod", full_disk)
    with pytest.raises(HexpackError, match=r"out: cannot write \S+\.py: No space left on device; nothing was unpacked"):
        T.unpack(reference("default_files"), tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["afile"]


def test_unpack_into_an_existing_empty_directory(tmp_path):
    (tmp_path / "out").mkdir()
    T.unpack(reference("regex_excludes"), tmp_path / "out")
    assert (tmp_path / "out" / "priv/python/donn\u00e9es.txt").exists()


def test_symlink_inside_the_package_is_allowed():
    data = package_with([("a/b/l", tarfile.SYMTYPE, b"", "../c", 0o777), ("a/c", tarfile.REGTYPE, b"x", "", 0o644)])
    members = T.read_package(data).members
    assert members[0].linkname == "../c"


def test_path_under_a_regular_file_is_refused():
    data = package_with([("a", tarfile.REGTYPE, b"x", "", 0o644), ("a/b", tarfile.REGTYPE, b"y", "", 0o644)])
    with pytest.raises(TarballError, match="under the file"):
        T.read_package(data)


def test_contents_from_tree_refuses_special_files(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    with pytest.raises(TarballError, match="not a regular file"):
        T.contents_from_tree(tmp_path, ["pipe"])


def test_contents_from_tree_names_a_missing_file(tmp_path):
    with pytest.raises(TarballError, match="cannot read nope.txt"):
        T.contents_from_tree(tmp_path, ["nope.txt"])


def test_outer_tarball_over_the_limit_is_refused():
    with pytest.raises(TarballError, match="over Hex's limit"):
        T.outer_tarball(METADATA, os.urandom(T.MAX_OUTER_SIZE))


def test_limits_are_hex_limits():
    assert T.LIMITS == {"outer": 16 * 2**20, "uncompressed": 128 * 2**20, "metadata": 2**20}


def test_read_package_returns_members_in_tar_order():
    members = T.read_package(reference("hybrid_globs")).members
    assert [m.path for m in members][:3] == [
        "lib/hybrid_globs.ex",
        "lib/hybrid_globs/port.ex",
        "priv/proto/bridge.proto",
    ]


def test_unpack_never_writes_through_an_existing_symlink(tmp_path):
    """Defence in depth for case-insensitive file systems, where "A" and "a/x" are the same path."""
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "root"
    root.mkdir()
    os.symlink(outside, root / "A")
    with pytest.raises(TarballError, match="not a directory"):
        T._make_dirs({"": root}, "A/x", "A/x/file")
    assert list(outside.iterdir()) == []


def test_unpack_makes_each_directory_once_however_deep(tmp_path, monkeypatch):
    """A chain of 500 directory members, each one level below the last, then a file in every one of them:
    one mkdir per directory (each used to be made again from the top: 125,250 calls)."""
    chain = ["/".join(["d"] * depth) for depth in range(1, 501)]
    members = [(path, tarfile.DIRTYPE, b"", "", 0o755) for path in chain]
    members += [(f"{path}/f", tarfile.REGTYPE, b"x", "", 0o644) for path in chain]
    data = package_with(members)
    calls: list[str] = []
    real_mkdir = os.mkdir
    monkeypatch.setattr(T.os, "mkdir", lambda path, *args: calls.append(path) or real_mkdir(path, *args))
    T.unpack(data, tmp_path / "out", metadata_file=False)
    inside = [str(path) for path in calls if ".hexpack-tmp/" in str(path)]  # not the staging directory itself
    assert len(inside) == len(set(inside)) == 500
    assert (tmp_path / "out" / chain[-1] / "f").read_bytes() == b"x"


def test_unpack_keeps_directory_members(tmp_path):
    data = package_with([("empty", tarfile.DIRTYPE, b"", "", 0o755), ("lib/a.ex", tarfile.REGTYPE, b"a", "", 0o600)])
    T.unpack(data, tmp_path / "out", metadata_file=False)
    assert (tmp_path / "out" / "empty").is_dir()
    assert (tmp_path / "out" / "lib" / "a.ex").stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["empty", "lib"]


@pytest.mark.interpreter_independent
def test_tar_writer_matches_erlang_at_the_ustar_length_boundaries(tmp_path):
    """Names whose parts sit at the 100-byte name / 155-byte prefix limits, written by both writers."""
    erl = require_program("erl")
    rng = random.Random(7)
    tree = tmp_path / "tree"
    names = []
    for index in range(120):
        parts = [f"d{index}"]
        for _ in range(rng.randrange(0, 4)):
            parts.append("p" * rng.choice([1, 5, 40, 49, 50, 51, 98, 99, 100, 101, 120]))
        parts.append(rng.choice(["f", "é", "x" * 98, "y" * 99, "z" * 100, "w" * 101]) + rng.choice(["", ".py"]))
        name = "/".join(parts)
        try:
            T._entry(name, 0o100644, b"", b"0")
        except TarballError:
            continue  # a prefix Hex's writer cannot hold either (erl_tar throws field_too_long)
        names.append(name)
        path = tree / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(name.encode())
    out = tmp_path / "erl.tar"
    erl_names = "[" + ",".join("[" + ",".join(str(ord(c)) for c in n) + "]" for n in names) + "]"
    script = (
        f'ok=file:set_cwd("{tree}"),{{ok,T}}=erl_tar:open("{out}",[write]),'
        "Opts=[{mtime,946684800},{atime,946684800},{ctime,946684800},{uid,0},{gid,0}],"
        f"[ok=erl_tar:add(T,N,N,Opts) || N <- {erl_names}],ok=erl_tar:close(T),halt()."
    )
    subprocess.run([erl, "-noshell", "+fnu", "-eval", script], check=True, capture_output=True, timeout=60)
    mine = T.contents_tar(T.contents_from_tree(tree, names))
    assert out.read_bytes().rstrip(b"\0") == mine.rstrip(b"\0")
    assert [m.path for m in T._check_members(T._read_tar(mine, "t", limit=T.MAX_UNCOMPRESSED_SIZE))] == names


# --- streaming writer: sizes known before reading, memory about the compressed size ---------


@pytest.mark.parametrize("case", ["hybrid_globs", "default_files", "regex_excludes"])
def test_streamed_contents_are_the_in_memory_ones(case, reference_project):
    from hexpack.hex.build import build_package

    root = reference_project(case)
    files = build_package(root, reader="static").files
    planned = T.plan_from_tree(root, files)
    members = T.contents_from_tree(root, files)
    assert T.stream_contents_tar_gz(planned) == T.contents_tar_gz(members)
    assert T.planned_tar_size(planned) == len(T.contents_tar(members))


def test_long_and_non_ascii_names_are_sized_exactly(tmp_path):
    names = ["a" * 99, "b" * 150, "dir/" + "c" * 120, "été/ñ.txt", "d" * 60 + "/" + "e" * 60 + "/f.py"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x" * 700)
    planned = T.plan_from_tree(tmp_path, names)
    assert T.planned_tar_size(planned) == len(T.contents_tar(T.contents_from_tree(tmp_path, names)))


def test_a_file_that_changes_size_while_building_is_refused(tmp_path):
    (tmp_path / "grows.txt").write_bytes(b"12345")
    planned = T.plan_from_tree(tmp_path, ["grows.txt"])
    (tmp_path / "grows.txt").write_bytes(b"123456")
    with pytest.raises(T.TarballError, match="grows.txt changed while the package was being built"):
        T.stream_contents_tar_gz(planned)


def test_the_compressed_limit_stops_the_stream_early(tmp_path):
    (tmp_path / "noise.bin").write_bytes(random.Random(1).randbytes(3 * T.READ_CHUNK))
    with pytest.raises(T.CompressedTooBig):
        T.stream_contents_tar_gz(T.plan_from_tree(tmp_path, ["noise.bin"]), limit=T.READ_CHUNK)


def test_a_big_tree_is_refused_before_any_file_is_read(tmp_path, monkeypatch):
    from hexpack.hex import build as B
    from hexpack.hex.build import PackageRefused, build_project
    from hexpack.mix.project import project_from_config
    from hexpack.mix.terms import Atom

    (tmp_path / "lib").mkdir()
    with open(tmp_path / "lib" / "huge.bin", "wb") as handle:
        handle.truncate(T.MAX_UNCOMPRESSED_SIZE + 1)  # sparse: no disk used, no data to read
    config = [(Atom("app"), Atom("big")), (Atom("version"), "1.0.0"), (Atom("description"), "Big.")]
    config.append((Atom("package"), [(Atom("licenses"), ["MIT"]), (Atom("links"), {}), (Atom("files"), ["lib"])]))
    project = project_from_config(tmp_path, config, reader="static")

    def no_reading(*args, **kwargs):
        raise AssertionError("a file was read before the size refusal")

    monkeypatch.setattr(B.tarball, "tar_batches", no_reading)  # what reads the files, on the build's thread or not
    with pytest.raises(PackageRefused) as refused:
        build_project(project)
    assert refused.value.lines() == ["Creating tarball failed: package exceeds max uncompressed size 134.217728 MB"]


def test_memory_stays_about_the_compressed_size(tmp_path):
    import tracemalloc

    from hexpack.hex.build import build_project
    from hexpack.mix.project import project_from_config
    from hexpack.mix.terms import Atom

    (tmp_path / "lib").mkdir()
    for index in range(4):
        with open(tmp_path / "lib" / f"zeros{index}.bin", "wb") as handle:
            handle.truncate(24 * 1024 * 1024)  # 96 MiB of zeros in all: compresses to about 100 KiB
    config = [(Atom("app"), Atom("zeros")), (Atom("version"), "1.0.0"), (Atom("description"), "Zeros.")]
    config.append((Atom("package"), [(Atom("licenses"), ["MIT"]), (Atom("links"), {}), (Atom("files"), ["lib"])]))
    project = project_from_config(tmp_path, config, reader="static")
    tracemalloc.start()
    try:
        result = build_project(project)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert len(result.tarball) < 1024 * 1024
    assert peak < 8 * 1024 * 1024, f"peak {peak / 2**20:.1f} MiB for a {len(result.tarball)} B package"


def test_the_first_batches_are_small_so_the_compressing_thread_starts_at_once(tmp_path):
    (tmp_path / "big.bin").write_bytes(bytes(T.BATCH * 3))
    sizes = [len(batch) for batch in T.tar_batches(T.plan_from_tree(tmp_path, ["big.bin"]))]
    assert sizes[:3] == [T.BLOCK + T.FIRST_BATCH, 4 * T.FIRST_BATCH, 16 * T.FIRST_BATCH]
    assert max(sizes) <= 2 * T.BATCH and sum(sizes) == T.BLOCK + 3 * T.BATCH + 2 * T.BLOCK
