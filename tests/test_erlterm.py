"""metadata.config text: byte-identical to Hex's, checked against the references and against real Erlang."""

from __future__ import annotations

import random
import subprocess
import tarfile

import pytest
from conftest import HEX_REFERENCE, IN_CI, examples, require_program
from hexpack.errors import TarballError
from hexpack.hex.erlterm import format_config, format_term, parse_config, parse_terms
from hexpack.mix.terms import Atom
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

BUILT_CASES = ("hybrid_globs", "default_files", "regex_excludes")


def reference_metadata(case: str) -> bytes:
    with tarfile.open(HEX_REFERENCE / case / "hex-2.5.1.tar") as tar:
        member = tar.extractfile("metadata.config")
        assert member is not None
        return member.read()


@pytest.mark.parametrize("case", BUILT_CASES)
def test_reference_metadata_round_trips_byte_for_byte(case):
    data = reference_metadata(case)
    pairs = parse_config(data)
    assert format_config(pairs) == data


def test_reference_metadata_terms():
    pairs = dict(parse_config(reference_metadata("regex_excludes")))
    assert pairs["name"] == "regex_excludes_pkg"
    assert "priv/python/données.txt" in pairs["files"]
    assert pairs["extra"] == [("python", [("requires", ">=3.10")])]
    assert pairs["requirements"][0][2] == ("optional", False)


def test_hex_layout_of_a_typical_metadata():
    text = format_config(
        [
            ("app", "demo"),
            ("links", [("GitHub", "https://example.invalid/" + "x" * 60)]),
            ("licenses", ["MIT"]),
            ("files", ["priv/python/donn\u00e9es.txt", "lib"]),
        ]
    ).decode()
    assert text == (
        '{<<"app">>,<<"demo">>}.\n'
        '{<<"links">>,\n'
        ' [{<<"GitHub">>,\n'
        '   <<"https://example.invalid/' + "x" * 60 + '">>}]}.\n'
        '{<<"licenses">>,[<<"MIT">>]}.\n'
        '{<<"files">>,[<<"priv/python/donn\u00e9es.txt"/utf8>>,<<"lib">>]}.\n'
    )


def test_binaries_outside_latin1_are_written_as_bytes_like_hex():
    # The BEAM's default printable range is latin1, so Hex writes such text as bytes.
    assert format_term("\u65e5") == "<<230,151,165>>"
    assert format_term("caf\u00e9") == '<<"caf\u00e9"/utf8>>'
    assert format_term(b"\xe9") == '<<"\u00e9">>'
    assert format_term([True, None, Atom("Foo"), 1.0e-5, 0.0001]) == "[true,nil,'Foo',1.0e-5,0.0001]"


def test_dicts_are_refused():
    with pytest.raises(TarballError, match="maps"):
        format_config([("links", {"a": "b"})])


@pytest.mark.parametrize(
    "garbage",
    [b'{<<"app">>,', b"not erlang", b'{<<"a">>,1}', b"[1,2].\n", b"{1,2}.\n", b'{<<"a">>,<<300>>}.\n', b"\xff\xfe{"],
)
def test_parse_config_refuses_garbage_with_one_error(garbage):
    with pytest.raises(TarballError) as info:
        parse_config(garbage)
    assert "metadata.config" in str(info.value)


# -- property test against the real Erlang pretty printer -----------------------------------------

_text = st.text(
    alphabet=st.sampled_from(
        list("abcdefghijklmnopqrstuvwxyz_-./~> 0123456789ABC") + list('"\\\n\t\u00e9\u20ac\u65e5\u00ff\x00\x7f\x1b')
    ),
    max_size=120,
)
_leaf = st.one_of(
    _text,
    _text,
    st.sampled_from([True, False, None, Atom("ok"), Atom("Foo"), Atom("with space"), Atom("a@b")]),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    st.binary(min_size=1, max_size=80),
    st.lists(st.integers(min_value=32, max_value=126), min_size=1, max_size=6),
)


def _tagged(items):
    return (Atom("a_rather_long_tag"), *items) if items else (Atom("ok"), 1)


_term = st.recursive(
    _leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=20),
        st.lists(inner, max_size=4).map(tuple),
        st.lists(inner, max_size=3).map(_tagged),
    ),
    max_leaves=25,
)
_pair = st.tuples(_text.map(lambda s: s[:20]), _term)


def erlang_pretty(terms: list[object], tmp_path) -> list[str]:
    """Print every term with io_lib_pretty:print(T, [{encoding, utf8}]) in one Erlang VM, as Hex does."""
    erl = require_program("erl")
    source = tmp_path / "terms.txt"
    result = tmp_path / "out.txt"
    # One-line term text; Erlang parses it back, so a wrong writer shows up as a wrong layout too.
    source.write_text("".join(format_term(t, line_length=10**9) + ".\n" for t in terms), encoding="utf-8")
    script = (
        f'{{ok,Ts}}=file:consult("{source}"),'
        f'ok=file:write_file("{result}",'
        '[unicode:characters_to_binary([io_lib_pretty:print(T,[{encoding,utf8}]),".\\n\\x{1}\\n"]) || T <- Ts]),'
        "halt()."
    )
    subprocess.run([erl, "-noshell", "-eval", script], check=True, capture_output=True, timeout=120)
    outputs = result.read_bytes().decode("utf-8").split("\x01\n")[:-1]
    assert len(outputs) == len(terms)
    return outputs


def _random_text(rng: random.Random) -> str:
    alphabet = "abcdefghijklmnopqrstuvwxyz_-./~> 0123456789ABC" + '"\\\n\t\u00e9\u20ac\u65e5\u00ff\x00\x7f\x1b'
    if rng.random() < 0.6:
        alphabet = alphabet[:47]
    return "".join(rng.choice(alphabet) for _ in range(rng.choice([0, 1, 3, 8, 15, 30, 50, 70, 90, 120])))


def _random_term(rng: random.Random, depth: int = 0) -> object:
    """Metadata-like terms sized to hit every wrapping rule of io_lib_pretty."""
    roll = rng.random()
    if depth > 3 or roll < 0.45:
        kind = rng.randrange(9)
        if kind <= 3:
            return _random_text(rng)
        if kind == 4:
            return rng.choice([True, False, None, Atom("ok"), Atom("Foo"), Atom("with space"), Atom("a@b")])
        if kind == 5:
            return rng.choice([0, 1, -5, 123456789, 2**70, -(2**40)])
        if kind == 6:
            return rng.choice([0.1, 1.5, 1e10, 1e21, 123456.789, 1e-3, 1e-4, 1e-5, -2.5, 5e-324, 100.0, 0.0, 2.0**60])
        if kind == 7:
            return bytes(rng.randrange(256) for _ in range(rng.choice([1, 3, 20, 40, 70])))
        return [rng.randrange(32, 127) for _ in range(rng.randrange(1, 6))]
    if roll < 0.75:
        return [_random_term(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 3, 5, 8, 20]))]
    items = [_random_term(rng, depth + 1) for _ in range(rng.choice([0, 1, 2, 2, 2, 3, 4]))]
    if len(items) >= 2 and rng.random() < 0.3:
        items[0] = rng.choice([Atom("ok"), Atom("a_rather_long_tag_name"), True, Atom("x")])
    return tuple(items)


@pytest.mark.interpreter_independent
@pytest.mark.parametrize("seed", [1, 2] if IN_CI else [1])
def test_format_matches_real_erlang_on_random_terms(seed, tmp_path):
    rng = random.Random(seed)
    pairs = [(_random_text(rng)[:20], _random_term(rng)) for _ in range(400)]
    expected = erlang_pretty(pairs, tmp_path)
    mismatches = [(p, e) for p, e in zip(pairs, expected, strict=True) if format_term(p) + ".\n" != e]
    assert not mismatches, (
        f"{len(mismatches)} layouts differ, first: {mismatches[0][1]!r} vs {format_term(mismatches[0][0])!r}"
    )


@settings(
    max_examples=3 if IN_CI else 1,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@pytest.mark.interpreter_independent
@given(pairs=st.lists(_pair, min_size=40, max_size=40))
def test_format_matches_real_erlang_on_hypothesis_terms(pairs, tmp_path):
    expected = erlang_pretty(pairs, tmp_path)
    mismatches = [(p, e) for p, e in zip(pairs, expected, strict=True) if format_term(p) + ".\n" != e]
    assert not mismatches, (
        f"{len(mismatches)} layouts differ, first: {mismatches[0][1]!r} vs {format_term(mismatches[0][0])!r}"
    )


def _normal(term):
    """What survives a write/read cycle: atoms true/false/nil are bools/None, printable int lists are lists."""
    if isinstance(term, (bytes, bytearray)):
        try:
            return bytes(term).decode("utf-8")
        except UnicodeDecodeError:
            return bytes(term)
    if isinstance(term, list):
        return [_normal(t) for t in term]
    if isinstance(term, tuple):
        return tuple(_normal(t) for t in term)
    return term


@settings(max_examples=examples(150, 30), deadline=None)
@given(pairs=st.lists(_pair, max_size=5))
def test_parse_is_the_inverse_of_format(pairs):
    data = format_config(pairs)
    parsed = parse_config(data)
    assert parsed == [_normal(p) for p in pairs]
    assert format_config(parsed) == data


def test_parse_terms_reads_erlang_syntax_variants():
    assert parse_terms('{a, \'B\', "hi", <<"x"/utf8, 0>>, 16#ff, $a, 2.5e3}. % comment\n') == [
        (Atom("a"), Atom("B"), [104, 105], "x\x00", 255, 97, 2500.0)
    ]
