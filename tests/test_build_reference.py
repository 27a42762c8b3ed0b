"""hexpack's builder against what the real ``mix hex.build`` (Hex 2.5.1) made.

Each case copies ``hex-reference/<case>/project`` into tmp_path and builds it.
The directory walk's order comes from the file system, as it does for Hex, so
these tests give the builder the reference's order through ``listdir`` (read
off the reference ``metadata.config``); with it, the tarball must be byte for
byte the reference. mix.exs is read with the real Elixir (the truth).
"""

from __future__ import annotations

import os
import re
import shutil
import stat
from pathlib import Path

import pytest
from conftest import HEX_REFERENCE, copy_reference
from hexpack import cli
from hexpack.hex.build import PackageRefused, build_project
from hexpack.hex.tarball import read_package

# tarball.contents_from_tree leaves a scandir iterator unclosed for directories
# (reported to its owner); the warning fires in a finalizer, outside this code.
pytestmark = [
    pytest.mark.filterwarnings("ignore:unclosed scandir iterator:ResourceWarning"),
    pytest.mark.interpreter_independent,  # the Hex engine on Elixir's reading (test_tarball's bytes run on each Python)
]

BUILDS = ("hybrid_globs", "default_files", "regex_excludes", "package_map")
REFUSED = {
    "missing_files": "Missing files: priv/python/grpc_server.py, priv/python/*_pb2.py",
    "path_dependency": "Dependencies excluded from the package (only Hex packages can be dependencies): local_dep",
}


def reference(case: str):
    return read_package((HEX_REFERENCE / case / "hex-2.5.1.tar").read_bytes())


def log_lines(case: str) -> list[str]:
    """What Hex printed, without its warnings (yellow: between ESC[33m and ESC[0m)."""
    text = (HEX_REFERENCE / case / "hex-2.5.1.log").read_text(encoding="utf-8")
    return re.sub(r"\x1b\[33m.*?\x1b\[0m\n", "", text, flags=re.S).splitlines()


def hex_warnings(case: str) -> list[str]:
    text = (HEX_REFERENCE / case / "hex-2.5.1.log").read_text(encoding="utf-8")
    return re.findall(r"\x1b\[33m(.*?)\x1b\[0m", text, flags=re.S)


def normalize_modes(root: Path) -> None:
    """What a git checkout with umask 022 gives (and what Hex saw): 0755 or 0644."""
    for dirpath, dirnames, filenames in os.walk(root):
        for name in filenames:
            path = Path(dirpath, name)
            if path.is_symlink():
                continue
            mode = path.stat().st_mode
            path.chmod(0o755 if mode & stat.S_IXUSR else 0o644)
        for name in dirnames:
            path = Path(dirpath, name)
            if not path.is_symlink():
                path.chmod(0o755)


def reference_listdir(root: Path, files: list[str]):
    """A ``listdir`` returning each directory's entries in the reference's order.

    An entry's position is where the first path through it appears in the
    reference ``files`` list; entries Hex left out come after, sorted.
    """
    order: dict[str, list[str]] = {}
    for path in files:
        parts = path.split("/")
        for depth in range(len(parts)):
            children = order.setdefault("/".join(parts[:depth]), [])
            if parts[depth] not in children:
                children.append(parts[depth])
    root_text = os.path.realpath(root)

    def listdir(path: str) -> list[str]:
        names = os.listdir(path)
        rel = os.path.relpath(os.path.realpath(path) if not os.path.islink(path) else path, root_text)
        rel = "" if rel == "." else os.path.normpath(rel)
        known = [name for name in order.get(rel, []) if name in names]
        return known + sorted(name for name in names if name not in known)

    return listdir


@pytest.fixture(scope="module")
def projects(tmp_path_factory):
    """mix.exs of every case read with Elixir, all in one BEAM (about 0.7 s of CPU for each start)."""
    from conftest import ElixirReads, require_program

    require_program("elixir")
    base = tmp_path_factory.mktemp("read")
    return ElixirReads({case: (copy_reference(case, base / case), {}) for case in (*BUILDS, *sorted(REFUSED))}).read


@pytest.fixture(scope="module")
def built(projects, tmp_path_factory):
    """Each case built once from its own copy, in the reference's directory order."""
    cache: dict[str, tuple] = {}

    def build(case: str):
        if case not in cache:
            root = copy_reference(case, tmp_path_factory.mktemp("build") / case)
            normalize_modes(root)
            ref = reference(case)
            listdir = reference_listdir(root, ref.meta("files"))
            cache[case] = (root, ref, build_project(projects(case), root=root, listdir=listdir))
        return cache[case]

    return build


@pytest.mark.parametrize("case", BUILDS)
def test_same_metadata_terms_and_file_set(built, case):
    _, ref, result = built(case)
    assert result.metadata == ref.metadata
    assert result.files == ref.meta("files")
    assert sorted(result.files) == sorted(ref.meta("files"))


@pytest.mark.parametrize("case", BUILDS)
def test_same_members_bytes_modes_and_symlinks(built, case):
    _, ref, result = built(case)

    def shape(members):
        return [(m.path, m.kind, m.mode & 0o7777, m.data, m.linkname) for m in members]

    assert shape(read_package(result.tarball).members) == shape(ref.members)
    # what the build planned (from lstat, before reading) is what it wrote
    assert [(m.path, m.kind, m.mode, m.size, m.linkname) for m in result.members] == [
        (m.path, m.kind, m.mode & 0o7777, m.size, m.linkname) for m in ref.members
    ]


@pytest.mark.parametrize("case", BUILDS)
def test_byte_identical_to_hex(built, case):
    _, ref, result = built(case)
    reference_bytes = (HEX_REFERENCE / case / "hex-2.5.1.tar").read_bytes()
    assert result.metadata_config == ref.metadata_config
    assert result.contents == ref.contents
    assert result.inner_checksum == ref.inner_checksum
    assert result.tarball == reference_bytes
    logged = [line for line in log_lines(case) if line.startswith("Package checksum: ")]
    assert logged == [f"Package checksum: {result.outer_checksum}"]


@pytest.mark.parametrize("case", BUILDS)
def test_report_is_what_hex_printed(built, case):
    _, _, result = built(case)
    log = log_lines(case)
    assert log[-1].startswith("Saved to ")
    assert result.report_lines == log[:-1]
    assert result.warnings == hex_warnings(case)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_hexs_message(reference_project, projects, case):
    root = reference_project(case)
    with pytest.raises(PackageRefused) as refused:
        build_project(projects(case), root=root)
    assert [problem.what for problem in refused.value.problems] == [REFUSED[case]]
    log = log_lines(case)
    stop = log.index("** (Mix) Stopping package build due to errors.")
    assert log[stop + 1 :] == [REFUSED[case]]
    assert sorted(refused.value.report_lines) == sorted(log[:stop])
    assert refused.value.report_lines[:4] == log[:4]


@pytest.mark.parametrize("case", BUILDS)
def test_building_twice_gives_identical_bytes(reference_project, projects, tmp_path, case):
    first = reference_project(case)
    normalize_modes(first)
    once = build_project(projects(case), root=first)
    assert build_project(projects(case), root=first).tarball == once.tarball
    # a second copy elsewhere, listed in the first copy's order, builds the same bytes
    other = tmp_path / "elsewhere" / case
    shutil.copytree(first, other, symlinks=True)
    assert build_project(projects(case), root=other, listdir=reference_listdir(other, once.files)).tarball == (
        once.tarball
    )


def test_cli_prints_hexs_report_and_saves(reference_project, elixir, capsys, monkeypatch):
    root = reference_project("regex_excludes")
    normalize_modes(root)
    monkeypatch.chdir(root.parent)
    assert cli.main(["build", "--project", root.name]) == 0
    out = capsys.readouterr().out.splitlines()
    log = log_lines("regex_excludes")
    saved = root / "regex_excludes_pkg-2.0.0.tar"
    assert out[-1] == f"Saved to {root.name}/regex_excludes_pkg-2.0.0.tar"
    assert sorted(out[:-1]) == sorted(log[:-1])  # file order is the file system's
    assert out[0] == log[0] and out[-2] == log[-2]  # same checksum
    assert read_package(saved.read_bytes()).metadata == reference("regex_excludes").metadata
    assert stat.S_IMODE(saved.stat().st_mode) == 0o644
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(".")] == []


def test_cli_output_option_and_refusal(reference_project, elixir, capsys, tmp_path):
    root = reference_project("hybrid_globs")
    normalize_modes(root)
    target = tmp_path / "out.tar"
    assert cli.main(["build", "--project", str(root), "-o", str(target), "--reader", "elixir"]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"Saved to {target}"
    assert target.read_bytes() == (HEX_REFERENCE / "hybrid_globs" / "hex-2.5.1.tar").read_bytes()

    refused = reference_project("path_dependency")
    assert cli.main(["build", "--project", str(refused), "-o", str(tmp_path / "no.tar")]) == 1
    captured = capsys.readouterr()
    assert captured.out.splitlines()[0] == "Building regex_excludes_pkg 2.0.0"
    assert captured.err.strip() == f"error: {REFUSED['path_dependency']}"
    assert not (tmp_path / "no.tar").exists()


def test_cli_refuses_a_directory_without_mix_exs(tmp_path, capsys):
    assert cli.main(["build", "--project", str(tmp_path)]) == 2
    assert "no mix.exs here" in capsys.readouterr().err


def test_cli_bad_output_paths_are_one_line_errors(reference_project, capsys, tmp_path):
    root = reference_project("default_files")
    static = ["--reader", "static"]
    assert cli.main(["build", "--project", str(root), "-o", str(tmp_path), *static]) == 2
    assert capsys.readouterr().err.strip().endswith("is a directory; give -o a file name")
    assert cli.main(["build", "--project", str(root), "-o", str(tmp_path / "missing" / "x.tar"), *static]) == 2
    assert "directory does not exist" in capsys.readouterr().err
    (tmp_path / "afile").write_text("x")
    assert cli.main(["build", "--project", str(root), "-o", str(tmp_path / "afile" / "x.tar"), *static]) == 2
    captured = capsys.readouterr()
    assert captured.err == f"error: {tmp_path / 'afile'}: is not a directory; create it or choose another -o\n"
    assert captured.out == ""  # refused before building, not after printing the whole package
