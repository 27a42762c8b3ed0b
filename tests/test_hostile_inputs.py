"""Hostile packages, metadata and mix.exs: each gives a result or one error line, within fixed caps.

Regression tests for the crashes and hangs issue 11 lists (RecursionError, Python's
4,300-digit limit, quadratic path checks, a PAX ``size`` record ignored, ...). The timing
side is measured by ``benchmarks/hostile_inputs.py``; here only the answers are checked.
"""

from __future__ import annotations

import io
import os
import tarfile

import pytest
from hexpack.cli import main
from hexpack.errors import ProjectError, TarballError
from hexpack.hex import erlterm
from hexpack.hex import tarball as T
from hexpack.hex.tarball import Member
from hexpack.mix.static import evaluate_source
from hexpack.mix.terms import MAX_INTEGER_DIGITS, MAX_NESTING, bounds_problem

METADATA = b'{<<"name">>,<<"demo">>}.\n{<<"version">>,<<"1.0.0">>}.\n'
FILE = Member("lib/a.ex", "file", 0o644, b"x\n")


def package(members: list[Member], metadata: bytes = METADATA) -> bytes:
    return T.outer_tarball(metadata, T.contents_tar_gz(members))


def with_extra(value: bytes) -> bytes:
    return package([FILE], METADATA + b'{<<"extra">>,' + value + b"}.\n")


def one_error_line(capsys, argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code != 0
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


# -- metadata terms ----------------------------------------------------------------------------------


def test_metadata_nested_past_the_cap_is_one_error_not_a_recursion_error():
    deep = b"[" * (MAX_NESTING + 1) + b"]" * (MAX_NESTING + 1)
    with pytest.raises(TarballError, match=f"nested more than {MAX_NESTING} levels"):
        T.read_package(with_extra(deep))
    with pytest.raises(TarballError, match="nested"):
        T.read_package(with_extra(b"{" * 5000 + b"}" * 5000))


def test_metadata_nested_up_to_the_cap_is_read_and_printed():
    ok = b"[" * (MAX_NESTING - 1) + b"]" * (MAX_NESTING - 1)  # inside the {Key, Value} tuple
    value = T.read_package(with_extra(ok)).meta("extra")
    assert erlterm.format_term(value).count("[") == MAX_NESTING - 1


@pytest.mark.parametrize("literal", [b"9" * 5000, b"-" + b"9" * 5000, b"16#" + b"f" * 5000, b"2#" + b"1" * 20000])
def test_metadata_integer_over_the_digit_cap_is_one_error(literal):
    with pytest.raises(TarballError, match=f"at most {MAX_INTEGER_DIGITS} are read"):
        T.read_package(with_extra(literal))


def test_metadata_integer_at_the_cap_round_trips():
    literal = b"9" * MAX_INTEGER_DIGITS
    assert T.read_package(with_extra(literal)).meta("extra") == int(literal)


@pytest.mark.parametrize("command", ["inspect", "unpack"])
def test_an_infinite_float_is_refused_by_inspect_and_unpack_alike(command, tmp_path, capsys):
    """erl_scan refuses 1.0e999 (list_to_float/1 fails), so Hex could not read this metadata."""
    path = tmp_path / "inf.tar"
    path.write_bytes(with_extra(b"1.0e999"))
    argv = [command, str(path)] + (["-o", str(tmp_path / "out")] if command == "unpack" else [])
    assert "float 1.0e999 is out of range" in one_error_line(capsys, argv)
    assert not (tmp_path / "out").exists()


def test_bounds_problem_walks_any_depth_without_recursion():
    value: list = []
    for _ in range(100_000):
        value = [value]
    assert bounds_problem(value) == f"nested more than {MAX_NESTING} levels deep"
    assert bounds_problem({"a": [10 ** (MAX_INTEGER_DIGITS + 5)]}) is not None
    assert bounds_problem([1, (2, {"k": "v"})]) is None


# -- mix.exs -----------------------------------------------------------------------------------------

MIX = """defmodule P.MixProject do
  use Mix.Project
  def project do
    [app: :p, version: "0.1.0", description: "d", package: [licenses: ["MIT"], extra: %{"n" => VALUE}]]
  end
end
"""


@pytest.mark.parametrize(
    "value, message",
    [
        ("9" * 5000, "integer literal of 5000 digits"),
        ("0x" + "f" * 5000, "integer literal of 5000 digits"),
        ("[" * 300 + "]" * 300, "nested too deeply"),
        ("[" * (MAX_NESTING + 5) + "]" * (MAX_NESTING + 5), f"nested more than {MAX_NESTING} levels"),
    ],
)
def test_static_reader_refuses_huge_integers_and_deep_nesting_in_one_line(value, message, tmp_path):
    (tmp_path / "mix.exs").write_text(MIX.replace("VALUE", value))
    from hexpack.mix.static import read_statically

    with pytest.raises(ProjectError, match=message) as caught:
        read_statically(tmp_path)
    assert "\n" not in caught.value.one_line()


def test_static_evaluation_of_a_huge_integer_is_a_project_error():
    with pytest.raises(ProjectError, match="digits"):
        evaluate_source(MIX.replace("VALUE", "1" * 4400))


@pytest.mark.parametrize("value", ["9" * 5000, "[" * 300 + "]" * 300])
def test_elixir_reader_applies_the_same_caps(value, tmp_path, elixir):
    (tmp_path / "mix.exs").write_text(MIX.replace("VALUE", value))
    from hexpack.mix.elixir import read_with_elixir

    with pytest.raises(ProjectError, match="digits|nested more than"):
        read_with_elixir(tmp_path)


# -- member paths and symlink targets ----------------------------------------------------------------


def test_a_pax_path_of_200000_components_is_refused_by_its_length():
    data = package([Member("a/" * 200_000 + "b", "file", 0o644, b"x")])
    assert len(data) < 20_000
    with pytest.raises(TarballError, match=f"over the limit of {T.MAX_PATH_LENGTH}"):
        T.read_package(data)


def test_the_member_count_is_capped(monkeypatch):
    """The cap is lowered to keep the test fast; the check is the same at 100,000."""
    monkeypatch.setattr(T, "MAX_MEMBERS", 10)
    assert T.read_package(package([Member(f"f{i}", "file", 0o644, b"") for i in range(10)]))
    with pytest.raises(TarballError, match="more than 10 members"):
        T.read_package(package([Member(f"f{i}", "file", 0o644, b"") for i in range(11)]))


def test_a_long_symlink_target_is_refused_by_its_length():
    data = package([FILE, Member("l", "symlink", 0o777, linkname="./" * 100_000 + "lib/a.ex")])
    with pytest.raises(TarballError, match=f"target of 200008 characters, over the limit of {T.MAX_PATH_LENGTH}"):
        T.read_package(data)


def test_paths_and_targets_up_to_the_cap_are_read():
    deep = "d/" * 1000 + "f"  # 2001 characters, 1001 components
    target = "/".join([".."] * 1000) + "/lib/a.ex"
    data = package([FILE, Member(deep, "file", 0o644, b"x"), Member(deep + "l", "symlink", 0o777, linkname=target)])
    assert [m.path for m in T.read_package(data).members] == ["lib/a.ex", deep, deep + "l"]


def test_a_member_below_a_symlink_is_named_with_the_link():
    data = package([Member("a/l", "symlink", 0o777, linkname="."), Member("a/l/x/y", "file", 0o644, b"")])
    with pytest.raises(TarballError, match="member 'a/l/x/y' lies under the symlink 'a/l'"):
        T.read_package(data)


def test_links_following_long_links_stay_within_the_work_budget():
    """Each link points through the previous one: checking all naively is quadratic."""
    members = [FILE, Member("l0", "symlink", 0o777, linkname="lib")]
    long_target = "./" * 2000
    for index in range(1, 40):
        members.append(Member(f"l{index}", "symlink", 0o777, linkname=f"{long_target}l{index - 1}"))
    members += [Member(f"m{n}", "symlink", 0o777, linkname="l39/a.ex") for n in range(3000)]
    # steps are counted after "." is dropped, so the package is fine ...
    assert len(T.read_package(package(members)).members) == len(members)
    # ... while ".." that cannot be dropped makes the chain expensive and hits the budget
    up = "lib/../" * 500
    members = [FILE, Member("l0", "symlink", 0o777, linkname="lib")]
    members += [Member(f"l{i}", "symlink", 0o777, linkname=f"{up}l{i - 1}") for i in range(1, 40)]
    members += [Member(f"m{n}", "symlink", 0o777, linkname="l39/a.ex") for n in range(300)]
    with pytest.raises(TarballError, match="too tangled to check"):
        T.read_package(package(members))


# -- PAX size records --------------------------------------------------------------------------------


def pax_package(records: dict[str, str], data: bytes = b"hello") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo("lib/a.ex")
        info.size = len(data)
        info.pax_headers = records
        tar.addfile(info, io.BytesIO(data))
    return T.outer_tarball(METADATA, T.gzip_hex(out.getvalue()))


def test_a_pax_size_record_that_disagrees_with_the_header_is_refused():
    with pytest.raises(TarballError, match="PAX size record says 2 bytes, the header 5"):
        T.read_package(pax_package({"size": "2"}))
    with pytest.raises(TarballError, match="malformed PAX size record"):
        T.read_package(pax_package({"size": "two"}))


def test_a_pax_size_record_that_agrees_is_read():
    assert T.read_package(pax_package({"size": "5"})).members[0].data == b"hello"


# -- output a name cannot forge ----------------------------------------------------------------------

FORGING = "lib/x.ex\n  0644  999  lib/forged.ex\x1b[2J\u202e"


def test_shown_escapes_control_and_format_characters_only():
    from hexpack.output import shown

    assert shown("lib/é/中.ex") == "lib/é/中.ex"
    assert shown(FORGING) == "lib/x.ex\\n  0644  999  lib/forged.ex\\x1b[2J\\u202e"


def forging_package() -> bytes:
    members = [FILE, Member(FORGING, "file", 0o644, b"x"), Member("l", "symlink", 0o777, linkname="lib/a.ex\x1b[31m")]
    metadata = METADATA + b'{<<"description">>,<<"one\\nlib/evil.ex\\e[2J">>}.\n'
    return package(members, metadata)


@pytest.mark.parametrize("command", ["inspect", "diff", "unpack"])
def test_member_names_and_metadata_cannot_forge_output(command, tmp_path, capsys):
    path = tmp_path / "forge.tar"
    path.write_bytes(forging_package())
    other = tmp_path / "plain.tar"
    other.write_bytes(package([FILE]))
    argv = {
        "inspect": ["inspect", str(path)],
        "diff": ["diff", str(other), str(path)],
        "unpack": ["unpack", str(path), "-o", str(tmp_path / "out")],
    }[command]
    main(argv)
    captured = capsys.readouterr()
    for stream in (captured.out, captured.err):
        assert "\x1b" not in stream and "\u202e" not in stream
        assert "lib/forged.ex" not in stream or "\\n  0644  999  lib/forged.ex" in stream
        assert not any(line.startswith("  0644  999") for line in stream.splitlines())
    if command != "unpack":
        assert "lib/x.ex\\n  0644  999  lib/forged.ex\\x1b[2J\\u202e" in captured.out


def test_verify_table_escapes_names(tmp_path, capsys):
    """verify's gates print through Output.table, which escapes every cell."""
    from hexpack.output import Output

    stream = io.StringIO()
    Output(stream=stream).table(("path", "status"), [(FORGING, "fail")], status_column=1)
    assert "\x1b" not in stream.getvalue() and len(stream.getvalue().splitlines()) == 2


# -- verify rules on hostile metadata and links ------------------------------------------------------


@pytest.mark.parametrize("url", ["http://[::1", "https://[bad]x/", "http://host:port/", "https://ok.example/\n"])
def test_malformed_link_urls_are_findings_not_tracebacks(url):
    from hexpack.verify import content_rules as rules

    found = rules.check_metadata([("name", "demo"), ("version", "1.0.0"), ("links", [("Source", url)])])
    assert any("not a well-formed http(s) URL" in f.message for f in found)


def test_verify_symlink_rule_is_linear_and_names_each_kind():
    from hexpack.verify import content_rules as rules

    members = [
        FILE,
        Member("in", "symlink", 0o777, linkname="lib/a.ex"),
        Member("dir", "symlink", 0o777, linkname="lib"),
        Member("gone", "symlink", 0o777, linkname="lib/missing"),
        Member("through_file", "symlink", 0o777, linkname="lib/a.ex/../a.ex"),
        Member("out", "symlink", 0o777, linkname="dir/../.."),
        Member("abs", "symlink", 0o777, linkname="/etc/passwd"),
        Member("long", "symlink", 0o777, linkname="d/" * 3000),
    ]
    text = "\n".join(f.one_line() for f in rules.check_symlinks(members))
    assert "gone: dangling symlink" in text and "through_file: dangling symlink" in text
    assert "out: symlink points outside" in text and "long: symlink points outside" in text
    assert "abs: symlink to the absolute path /etc/passwd" in text
    assert "in:" not in text and "dir:" not in text


# -- globs, trees and exclude regexes ----------------------------------------------------------------


def test_a_glob_of_5000_stars_matches_without_recursion(tmp_path):
    from hexpack.hex.selection import wildcard

    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / "aaaa.ex").write_text("")
    assert wildcard(tmp_path, "lib/" + "*" * 4000) == ["lib/aaaa.ex"]
    assert wildcard(tmp_path, "lib/" + "a*" * 2000 + "x") == []
    assert wildcard(tmp_path, "lib/" + "{a,a}" * 60 + "*") == []  # 2**60 ways to try, none tried twice
    assert wildcard(tmp_path, "lib/{a,b}*.{ex,exs}") == ["lib/aaaa.ex"]


@pytest.mark.parametrize("pattern, message", [("{a}" * 100, "more than 64 {...} groups"), ("a" * 5000, "longer")])
def test_oversized_globs_are_one_error(pattern, message, tmp_path):
    from hexpack.hex.selection import GlobError, wildcard

    with pytest.raises(GlobError, match=message) as caught:
        wildcard(tmp_path, pattern)
    assert len(caught.value.one_line()) < 300


def test_a_tree_deeper_than_the_recursion_limit_is_walked_in_order(tmp_path):
    import sys

    from hexpack.hex.selection import select_files

    depth = sys.getrecursionlimit() + 200
    fds = [os.open(tmp_path, os.O_RDONLY)]
    try:
        for _ in range(depth):  # relative to a directory fd: the path grows past what one call may name
            os.mkdir("d", dir_fd=fds[-1])
            fds.append(os.open("d", os.O_RDONLY, dir_fd=fds[-1]))
        selected = select_files(tmp_path, ["d"])
        assert len(selected) == depth and selected[1] == "d/d" and selected[-1].count("/") == depth - 1
        assert len(select_files(tmp_path, ["d/**"])) == depth - 1
    finally:
        # shutil.rmtree recurses once per level: left behind, this tree would break pytest's own clean-up
        while fds:
            os.close(fds.pop())
            if fds:
                os.rmdir("d", dir_fd=fds[-1])


def test_a_catastrophic_exclude_regex_is_stopped_with_one_error(tmp_path, monkeypatch):
    from hexpack.hex import selection
    from hexpack.hex.selection import select_files
    from hexpack.mix.terms import Regex

    assert selection.REGEX_TIME_LIMIT <= 2.0
    monkeypatch.setattr(selection, "REGEX_TIME_LIMIT", 0.3)  # the same timer, without spinning two seconds
    (tmp_path / "lib").mkdir()
    (tmp_path / "lib" / ("a" * 40 + "!")).write_text("")
    with pytest.raises(ProjectError, match=r"~r/\(a\+\)\+\$/ runs over 0.3 s .* \(catastrophic backtracking\)"):
        select_files(tmp_path, ["lib"], [Regex("(a+)+$")])
    # the timer is gone afterwards and ordinary regexes still work
    import signal

    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    assert select_files(tmp_path, ["lib"], [Regex("!$")]) == ["lib"]


# -- project files: unreadable, huge -----------------------------------------------------------------

PROJECT_MIX = MIX.replace(', extra: %{"n" => VALUE}', ', links: %{}, files: ["lib"]')


def small_project(tmp_path):
    project = tmp_path / "project"
    (project / "lib").mkdir(parents=True)
    (project / "lib" / "p.ex").write_text("defmodule P do end\n")
    (project / "mix.exs").write_text(PROJECT_MIX)
    return project


def test_an_unreadable_file_is_one_error_naming_it(tmp_path, capsys, monkeypatch):
    """Test double: the suite runs as root here, where no file is unreadable, so open() is made to refuse."""
    project = small_project(tmp_path)
    real_open = open

    def refusing(path, *args, **kwargs):
        if str(path).endswith("p.ex"):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(T, "open", refusing, raising=False)
    line = one_error_line(capsys, ["build", "--project", str(project), "--reader", "static"])
    assert line == f"error: {project}: cannot read lib/p.ex: Permission denied; fix its permissions or exclude it"


def test_a_huge_sparse_file_is_refused_before_it_is_read(tmp_path):
    """1.5 GiB (sparse) under a 700 MiB address-space limit: reading it first would fail with MemoryError."""
    import subprocess
    import sys

    project = small_project(tmp_path)
    with open(project / "lib" / "huge.bin", "wb") as handle:
        handle.truncate(3 * 2**29)
    argv = ["build", "--project", str(project), "--reader", "static"]
    code = (
        "import resource; resource.setrlimit(resource.RLIMIT_AS, (700 * 2**20, 700 * 2**20)); "
        f"from hexpack.cli import main; raise SystemExit(main({argv!r}))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    assert done.stderr.strip().splitlines()[-1] == (
        "error: Creating tarball failed: package exceeds max uncompressed size 134.217728 MB"
    )


# -- the version audit on hostile trees --------------------------------------------------------------


def test_the_version_audit_reads_only_bounded_regular_files(tmp_path):
    """Tracked symlinks to /dev/zero and to a FIFO were read without end (memory, a hang)."""
    import shutil
    import subprocess

    from hexpack.versioning.places import AUDIT_MAX_SIZE, read_versions

    git = shutil.which("git")
    if git is None:
        pytest.skip("git is not installed")
    mix = (
        'defmodule W.MixProject do\n  use Mix.Project\n  def project do\n    [app: :w, version: "1.3.0"]\n  end\nend\n'
    )
    (tmp_path / "mix.exs").write_text(mix)
    (tmp_path / "notes.md").write_text("widget 1.3.0\n")
    (tmp_path / "big.txt").write_bytes(b"1.3.0\n" * (AUDIT_MAX_SIZE // 6 + 1))
    os.symlink("/dev/zero", tmp_path / "zero")
    os.mkfifo(tmp_path / "fifo_target")
    os.symlink("fifo_target", tmp_path / "fifo")
    subprocess.run([git, "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run([git, "add", "mix.exs", "notes.md", "big.txt", "zero", "fifo"], cwd=tmp_path, check=True)
    report = read_versions(tmp_path)
    assert [o.file for o in report.unexpected] == ["notes.md"]


# -- killed unpack runs ------------------------------------------------------------------------------

KILL_MIDWAY = """
import os, signal, sys
from hexpack.hex import tarball as T
real = T._make_dirs
def dying(root, parts, member):
    if member == "lib/b":  # the temporary directory holds lib/a.ex already: die as `kill -9` would
        os.kill(os.getpid(), signal.SIGKILL)
    return real(root, parts, member)
T._make_dirs = dying
T.unpack(open(sys.argv[1], "rb").read(), sys.argv[2])
"""


def test_the_next_unpack_removes_what_a_killed_run_left(tmp_path):
    import subprocess
    import sys

    members = [FILE, Member("lib/b", "dir", 0o555), Member("lib/b/c.ex", "file", 0o444, b"c")]
    path = tmp_path / "pkg.tar"
    path.write_bytes(package(members))
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-c", KILL_MIDWAY, str(path), str(out / "first")], timeout=60)
    assert done.returncode == -9
    leftovers = [p.name for p in out.iterdir()]
    assert len(leftovers) == 1 and leftovers[0].startswith(".first.") and leftovers[0].endswith(".hexpack-tmp")
    # a directory of a live process (this one) is left alone, whatever its name says
    live = out / f".other.{os.getpid()}.abcd1234.hexpack-tmp"
    live.mkdir()
    T.unpack(path.read_bytes(), out / "second")
    assert sorted(p.name for p in out.iterdir()) == sorted([live.name, "second"])
    assert (out / "second" / "lib" / "b" / "c.ex").read_bytes() == b"c"
