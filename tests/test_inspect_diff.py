"""`hexpack inspect`, `hexpack unpack` and `hexpack diff` on the Hex references, real builds and damaged files."""

from __future__ import annotations

import io
import json
import os
import tarfile

import pytest
from conftest import HEX_REFERENCE
from hexpack.cli import main
from hexpack.hex import tarball as T
from hexpack.hex.diff import diff_packages, load_package

REF = {case: HEX_REFERENCE / case / "hex-2.5.1.tar" for case in ("default_files", "hybrid_globs", "regex_excludes")}


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def rebuilt(case: str, change) -> bytes:
    """The reference package with its members changed by ``change(members)``; metadata kept."""
    package = T.read_package(REF[case].read_bytes())
    members = [T.Member(m.path, m.kind, m.mode, m.data, m.linkname) for m in package.members]
    change(members)
    return T.outer_tarball(package.metadata_config, T.contents_tar_gz(members))


# -- inspect ---------------------------------------------------------------------------------------


def test_inspect_shows_metadata_files_and_verified_checksums(capsys):
    code, out, _ = run(capsys, "inspect", str(REF["default_files"]))
    assert code == 0
    assert "Package: default_files 0.3.2" in out
    assert "VERSION: 3" in out
    assert "CHECKSUM: DF39824D9FB78F9559342F449041ABE8721AEDAF7B857D53510CACC0B900B94D  inner checksum OK" in out
    assert "Package checksum: 7bf0e1a0bb591e93619d204940209e03d50ee207adf5897ff79f00f51a9413a7" in out
    assert "  build_tools: mix, make" in out
    rows = [line.split() for line in out.splitlines() if line.startswith("  0")]
    assert ["0755", "23", "priv/python/grpc_server.py"] in rows
    assert ["0777", "-", "priv/python/pkg_link", "->", "pkg"] in rows


def test_inspect_json(capsys):
    code, out, _ = run(capsys, "inspect", "--json", str(REF["regex_excludes"]))
    assert code == 0
    data = json.loads(out)
    assert data["name"] == "regex_excludes_pkg"
    assert data["format_version"] == "3"
    assert data["inner_checksum_ok"] is True
    assert data["outer_checksum"] == "238a5ffda2bf70551bcbe4d8f392a48eef83aa8ec7596f5903b1adb0df9d29bf"
    assert data["metadata"]["extra"] == {"python": {"requires": ">=3.10"}}
    entry = next(f for f in data["files"] if f["path"] == "priv/python/donn\u00e9es.txt")
    assert (entry["kind"], entry["mode"], entry["size"]) == ("file", "0644", 2)


def test_inspect_reports_a_checksum_mismatch_in_one_line(capsys, tmp_path):
    data = bytearray(REF["hybrid_globs"].read_bytes())
    index = data.index(b"Runs a Python gRPC bridge")
    data[index] = ord("r")  # inside metadata.config: the tar headers stay valid, the CHECKSUM no longer matches
    damaged = tmp_path / "damaged.tar"
    damaged.write_bytes(bytes(data))
    code, out, err = run(capsys, "inspect", str(damaged))
    assert code == 1
    assert "inner checksum MISMATCH: the contents give " in out
    assert "Package: hybrid_globs 1.4.0-rc.1" in out  # still shown, so the damage can be looked at
    assert err.startswith("error: ") and "checksum mismatch" in err and err.count("\n") == 1
    code, out, _ = run(capsys, "inspect", "--json", str(damaged))
    assert code == 1 and json.loads(out)["inner_checksum_ok"] is False
    code, _, err = run(capsys, "unpack", str(damaged), "-o", str(tmp_path / "out"))
    assert code == 1 and "checksum mismatch" in err and not (tmp_path / "out").exists()


@pytest.mark.parametrize("content", [b"", b"garbage" * 100])
def test_inspect_refuses_garbage(capsys, tmp_path, content):
    path = tmp_path / "x.tar"
    path.write_bytes(content)
    code, _, err = run(capsys, "inspect", str(path))
    assert code == 1 and err.startswith("error: ") and err.count("\n") == 1


def test_inspect_missing_file_is_a_usage_error(capsys, tmp_path):
    code, _, err = run(capsys, "inspect", str(tmp_path / "nope.tar"))
    assert code == 2 and "no such file" in err


def test_inspect_reads_a_pipe_but_stops_at_the_size_limit(capsys, monkeypatch):
    monkeypatch.setattr(T, "MAX_OUTER_SIZE", 1024)
    assert main(["inspect", "/dev/zero"]) == 1  # endless and sizeless: it used to be read until memory ran out
    assert capsys.readouterr().err == "error: /dev/zero: more than Hex's limit of 1024 bytes\n"
    assert main(["unpack", "/dev/zero", "-o", "never"]) == 1
    assert capsys.readouterr().err == "error: /dev/zero: more than Hex's limit of 1024 bytes\n"
    assert not os.path.exists("never")


# -- unpack ----------------------------------------------------------------------------------------


def test_unpack_writes_the_package(capsys, tmp_path):
    target = tmp_path / "out"
    code, out, _ = run(capsys, "unpack", str(REF["default_files"]), "-o", str(target))
    assert code == 0
    assert "Unpacked default_files 0.3.2" in out and "12 files, 2 symlinks" in out
    assert os.readlink(target / "priv/python/server_link.py") == "grpc_server.py"
    assert os.access(target / "priv/python/grpc_server.py", os.X_OK)
    assert (target / "hex_metadata.config").exists()


def test_unpack_default_directory_and_no_metadata(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, _ = run(capsys, "unpack", str(REF["hybrid_globs"]), "--no-metadata")
    assert code == 0
    assert (tmp_path / "hybrid_globs-1.4.0-rc.1" / "lib" / "hybrid_globs.ex").exists()
    assert not (tmp_path / "hybrid_globs-1.4.0-rc.1" / "hex_metadata.config").exists()


def hostile(name: str, linkname: str = "", typeflag: bytes = tarfile.SYMTYPE) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.GNU_FORMAT) as tar:
        ok = tarfile.TarInfo("lib/ok.ex")
        ok.size = 3
        tar.addfile(ok, io.BytesIO(b"ok\n"))
        info = tarfile.TarInfo(name)
        info.type = typeflag
        info.linkname = linkname
        tar.addfile(info)
    return T.outer_tarball(b'{<<"name">>,<<"evil">>}.\n', T.gzip_hex(buf.getvalue()))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (lambda: hostile("lib/link", "../../../etc/passwd"), "points outside the package"),
        (lambda: hostile("../escape", "", tarfile.REGTYPE), "leaves the package"),
        (lambda: hostile("/abs", "", tarfile.REGTYPE), "absolute member path"),
        (lambda: hostile("fifo", "", tarfile.FIFOTYPE), "FIFO"),
    ],
)
def test_unpack_refuses_hostile_packages_before_writing(capsys, tmp_path, data, message):
    source = tmp_path / "evil.tar"
    source.write_bytes(data())
    code, out, err = run(capsys, "unpack", str(source), "-o", str(tmp_path / "out"))
    assert code == 1
    assert message in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]


# -- diff ------------------------------------------------------------------------------------------


def test_diff_of_a_package_with_itself_is_empty(capsys):
    code, out, _ = run(capsys, "diff", str(REF["hybrid_globs"]), str(REF["hybrid_globs"]))
    assert code == 0
    assert "identical packages (byte-identical)" in out


def test_diff_lists_file_changes(capsys, tmp_path):
    def change(members):
        by_path = {m.path: m for m in members}
        by_path["priv/python/grpc_server.py"].mode = 0o644
        by_path["priv/python/pkg_link"].linkname = "elsewhere"
        by_path["README.md"].data += b"more\n"
        members.remove(by_path["Makefile"])
        members.append(T.Member("priv/python/new.py", "file", 0o644, b"x = 1\n"))

    changed = tmp_path / "changed.tar"
    changed.write_bytes(rebuilt("default_files", change))
    code, out, _ = run(capsys, "diff", str(REF["default_files"]), str(changed))
    assert code == 1
    assert "  ~ priv/python/grpc_server.py (mode 0755 -> 0644)" in out
    assert "  ~ priv/python/pkg_link (symlink target pkg -> elsewhere)" in out
    assert "  ~ README.md (content differs (16 -> 21 bytes))" in out
    assert "  - Makefile" in out
    assert "  + priv/python/new.py" in out
    assert "5 file and 0 metadata differences" in out


def test_diff_lists_metadata_changes_key_by_key(capsys):
    code, out, _ = run(capsys, "diff", str(REF["regex_excludes"]), str(REF["hybrid_globs"]))
    assert code == 1
    assert "  ~ version: 2.0.0 -> 1.4.0-rc.1" in out
    assert "  - extra: python: requires: >=3.10" in out
    assert "  ~ licenses: - MIT" in out


def test_diff_json(capsys):
    code, out, _ = run(capsys, "diff", "--json", str(REF["regex_excludes"]), str(REF["hybrid_globs"]))
    assert code == 1
    data = json.loads(out)
    assert data["identical"] is False and data["same_bytes"] is False
    version = next(c for c in data["metadata"] if c["key"] == "version")
    assert (version["change"], version["old"], version["new"]) == ("changed", "2.0.0", "1.4.0-rc.1")
    assert {"path": "LICENSE", "change": "added", "details": ["file"]} in data["files"]


def test_diff_same_files_in_another_order_is_identical_but_not_byte_identical(capsys, tmp_path):
    reordered = tmp_path / "reordered.tar"
    reordered.write_bytes(rebuilt("hybrid_globs", lambda members: members.reverse()))
    code, out, _ = run(capsys, "diff", str(REF["hybrid_globs"]), str(reordered))
    assert code == 0
    assert "same files and metadata; tarball bytes differ" in out


@pytest.mark.interpreter_independent
def test_diff_against_a_project_directory(capsys, reference_project):
    """A directory side is built first (hexpack.hex.build), then compared like a tarball."""
    root = reference_project("regex_excludes")
    package, label = load_package(root)
    assert label.endswith("(built from source)")
    diff = diff_packages(T.read_package(REF["regex_excludes"].read_bytes()), package)
    assert diff.files == []
    # directory listing order depends on the file system, so only the order of metadata "files" may differ
    assert all(c.key == "files" and c.details == ["same entries, different order"] for c in diff.metadata)

    (root / "priv/python/grpc_server.py").chmod(0o755)
    (root / "README.md").write_text("changed\n")
    code, out, _ = run(capsys, "diff", str(REF["regex_excludes"]), str(root))
    assert code == 1
    assert "~ priv/python/grpc_server.py (mode 0644 -> 0755)" in out
    assert "~ README.md (content differs (8 -> 8 bytes))" in out


def test_inspect_and_diff_of_a_directory_take_reader(capsys, reference_project, monkeypatch, tmp_path):
    """--reader static needs no Elixir; --reader elixir without it on PATH is one error line."""
    root = reference_project("regex_excludes")
    monkeypatch.setenv("PATH", str(tmp_path))  # no elixir anywhere
    code, out, _ = run(capsys, "inspect", str(root), "--reader", "static")
    assert code == 0 and "(built from source)" in out
    code, out, _ = run(capsys, "diff", str(REF["regex_excludes"]), str(root), "--reader", "static")
    assert code == 0 and "identical packages" in out
    for argv in (["inspect", str(root)], ["diff", str(REF["regex_excludes"]), str(root)]):
        code, _, err = run(capsys, *argv, "--reader", "elixir")
        assert code != 0 and len(err.strip().splitlines()) == 1 and "elixir" in err


def test_diff_refuses_a_directory_without_mix_exs(capsys, tmp_path):
    code, _, err = run(capsys, "diff", str(REF["hybrid_globs"]), str(tmp_path))
    assert code == 2 and "no mix.exs" in err


def test_unpack_default_directory_is_never_taken_from_a_hostile_name(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    contents = T.contents_tar_gz([T.Member("lib/a.ex", "file", 0o644, b"a")])
    evil = tmp_path / "evil.tar"
    evil.write_bytes(T.outer_tarball(b'{<<"name">>,<<"../../escape">>}.\n{<<"version">>,<<"1.0.0">>}.\n', contents))
    code, _, err = run(capsys, "unpack", str(evil))
    assert code == 2 and "not a safe directory name" in err and "-o DIR" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["evil.tar"]
