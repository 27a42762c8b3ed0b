"""Property tests for the hostile-input classes of issue 11: every input gives a result or one TarballError/GlobError.

The cases are the same on every run (the hypothesis profile in conftest derandomizes;
``HEXPACK_FUZZ_RANDOM=1`` explores fresh ones). Classes: terms nested around the depth
cap and integers around the digit cap; member paths and symlink targets built from
``.``, ``..``, empty and long components (around the path cap); PAX ``size`` records;
member names full of control characters printed by ``inspect``; glob patterns of stars,
brackets and braces. Caps and linear time are what keeps each case fast; a regression to
recursion or quadratic time shows up here as an exception or a hang.
"""

from __future__ import annotations

import contextlib
import io
import tarfile

import pytest
from conftest import examples
from hexpack.cli import main
from hexpack.errors import TarballError
from hexpack.hex import erlterm
from hexpack.hex import tarball as T
from hexpack.hex.diff import render
from hexpack.hex.selection import GlobError, wildcard
from hexpack.hex.tarball import Member
from hexpack.mix.terms import MAX_INTEGER_DIGITS, MAX_NESTING
from hexpack.output import shown
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_hostile_inputs import pax_package
from test_tarball_fuzz import check_unpack

FUZZ = settings(
    max_examples=examples(300, 60),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
METADATA = b'{<<"name">>,<<"demo">>}.\n{<<"version">>,<<"1.0.0">>}.\n'
FILE = Member("lib/a.ex", "file", 0o644, b"x\n")


def package(members: list[Member], metadata: bytes = METADATA) -> bytes:
    return T.outer_tarball(metadata, T.contents_tar_gz(members))


# -- terms -------------------------------------------------------------------------------------------

_opening = st.sampled_from(["[", "{"])


@st.composite
def nested_term(draw) -> bytes:
    depth = draw(st.integers(0, MAX_NESTING + 40))
    openings = draw(st.lists(_opening, min_size=depth, max_size=depth))
    closing = {"[": "]", "{": "}"}
    leaf = draw(st.sampled_from(["1", '<<"x">>', "abc", "[]", "1.5e300", "-7"]))
    return ("".join(openings) + leaf + "".join(closing[o] for o in reversed(openings))).encode()


@st.composite
def number(draw) -> bytes:
    digits = draw(st.integers(1, MAX_INTEGER_DIGITS + 3000))
    form = draw(st.sampled_from(["dec", "neg", "hex", "bin", "float"]))
    body = draw(st.sampled_from("123456789")) * digits
    return {
        "dec": body,
        "neg": "-" + body,
        "hex": "16#" + "f" * digits,
        "bin": "2#" + "1" * digits,
        "float": f"1.{body[:400]}e{draw(st.integers(-400, 400))}",
    }[form].encode()


@pytest.mark.slow
@FUZZ
@given(value=st.one_of(nested_term(), number()))
def test_metadata_terms_near_the_caps_give_a_value_or_one_error(value):
    data = package([FILE], METADATA + b'{<<"extra">>,' + value + b"}.\n")
    try:
        read = T.read_package(data)
    except TarballError as exc:
        assert "\n" not in exc.one_line()
        return
    extra = read.meta("extra")
    # whatever was read can be printed again, by Hex's printer and by inspect's renderer
    assert erlterm.parse_config(erlterm.format_config([("extra", extra)])) == [("extra", extra)]
    assert isinstance(render(extra), str)


# -- paths and symlink targets -----------------------------------------------------------------------

_component = st.sampled_from(["a", "b", ".", "..", "", "lib", "x" * 200])


@st.composite
def path_text(draw) -> str:
    count = draw(st.sampled_from([1, 2, 5, 40, 300, 2049, 3000]))
    base = draw(st.lists(_component, min_size=1, max_size=8))
    return "/".join(base[i % len(base)] for i in range(count))


@pytest.mark.slow
@FUZZ
@given(
    paths=st.lists(path_text(), min_size=1, max_size=4),
    targets=st.lists(path_text(), min_size=0, max_size=4),
)
def test_paths_and_link_targets_of_any_shape_give_a_package_or_one_error(paths, targets):
    out = io.BytesIO()  # tarfile writes any name as a PAX record, in linear time
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path in ["lib/a.ex", *paths]:
            info = tarfile.TarInfo(path)
            info.size = 1
            tar.addfile(info, io.BytesIO(b"y"))
        for index, target in enumerate(targets):
            info = tarfile.TarInfo(f"l{index}")
            info.type, info.linkname = tarfile.SYMTYPE, target
            tar.addfile(info)
    check_unpack(T.outer_tarball(METADATA, T.gzip_hex(out.getvalue())))


@pytest.mark.slow
@FUZZ
@given(
    size=st.one_of(st.integers(0, 10**30).map(str), st.text(max_size=30)),
    body=st.binary(max_size=2000),
)
def test_pax_size_records_are_honoured_or_refused(size, body):
    try:
        data = pax_package({"size": size}, body)
    except (UnicodeError, ValueError):
        return  # tarfile cannot write such a record
    try:
        read = T.read_package(data)
    except TarballError:
        assert size != str(len(body))
        return
    assert size == str(len(body)) and read.members[0].data == body


# -- names that try to forge output ------------------------------------------------------------------

_hostile_char = st.sampled_from(["\n", "\r", "\x1b", "\x1b[2J", "\u202e", "\t", "\x00", "\x7f", "\x9b", "é", " "])


@pytest.mark.slow
@FUZZ
@given(names=st.lists(st.lists(st.one_of(_hostile_char, st.sampled_from("abc/")), min_size=1, max_size=12), max_size=5))
def test_inspect_prints_one_line_per_member_whatever_the_names(names, tmp_path_factory):
    members = [FILE]
    for index, chars in enumerate(names):
        members.append(Member(f"n{index}/" + "".join(chars).strip("/"), "file", 0o644, b""))
    try:
        data = package(members)
        members = T.read_package(data).members  # as read back: "a//b/" is "a/b"
    except TarballError:
        return
    path = tmp_path_factory.mktemp("inspect") / "p.tar"
    path.write_bytes(data)
    stream = io.StringIO()
    with contextlib.redirect_stdout(stream):
        assert main(["inspect", str(path)]) == 0
    out = stream.getvalue()
    assert "\x1b" not in out and "\u202e" not in out and "\r" not in out
    listing = out.split("Files (", 1)[1].splitlines()[1:]
    assert len(listing) == len(members)
    for member in members:
        assert any(line.endswith(shown(member.path)) for line in listing)


# -- globs -------------------------------------------------------------------------------------------

_glob_char = st.sampled_from(["*", "**", "?", "[", "]", "{", "}", ",", "a", "/", "\\", ".", "-", "!"])


@pytest.fixture(scope="module")
def glob_tree(tmp_path_factory):
    root = tmp_path_factory.mktemp("globs")
    for rel in ("lib/a.ex", "lib/b/c.ex", "priv/a-b", "priv/.hidden", "a/a/a/a"):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("")
    return root


@pytest.mark.slow
@FUZZ
@given(parts=st.lists(_glob_char, max_size=400), repeat=st.integers(1, 30))
def test_glob_patterns_of_any_shape_match_or_give_one_error(parts, repeat, glob_tree):
    pattern = "".join(parts) * repeat
    try:
        found = wildcard(glob_tree, pattern)
    except GlobError as exc:
        assert "\n" not in exc.one_line() and len(exc.one_line()) < 400
        return
    assert all(not p.startswith("/") for p in found)


@pytest.mark.parametrize("digits", [830, 831, 1000])
def test_a_hex_integer_is_capped_by_its_value_so_what_is_read_prints_again(digits):
    """16# and 2# literals are shorter than their decimal print: 1,000 hex digits are 1,205 decimal ones,
    which the reader would refuse when the value is printed and read again (found by the fuzz test above)."""
    data = package([FILE], METADATA + b'{<<"extra">>,16#' + b"f" * digits + b"}.\n")
    try:
        extra = T.read_package(data).meta("extra")
    except TarballError as exc:
        assert digits > 830 and "has more than 1000 digits" in exc.one_line()
        return
    assert digits == 830
    assert erlterm.parse_config(erlterm.format_config([("extra", extra)])) == [("extra", extra)]
