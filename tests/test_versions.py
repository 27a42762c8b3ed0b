"""The SemVer <-> PEP 440 mapping and the bump arithmetic."""

from __future__ import annotations

import pytest
from hexpack.errors import UsageError
from hexpack.versioning.versions import (
    Version,
    bump_version,
    compare_semver,
    elixir_requirement_allows,
    numeric_key,
    parse,
    parse_pep440,
)
from hypothesis import given
from hypothesis import strategies as st
from packaging.version import Version as PyVersion


@pytest.mark.parametrize(
    ("semver", "pep440"),
    [
        ("1.4.0", "1.4.0"),
        ("0.0.0", "0.0.0"),
        ("1.4.0-alpha.2", "1.4.0a2"),
        ("1.4.0-beta.1", "1.4.0b1"),
        ("1.4.0-rc.1", "1.4.0rc1"),
        ("10.20.30-rc.0", "10.20.30rc0"),
    ],
)
def test_mapping(semver, pep440):
    version = parse(semver)
    assert version.semver == semver
    assert version.pep440 == pep440
    assert str(PyVersion(pep440)) == pep440  # already normalised
    assert parse_pep440(pep440) == version


@pytest.mark.parametrize(
    ("text", "named"),
    [
        ("1.0.0-foo.1", "pre-release '-foo.1'"),
        ("1.0.0-rc", "pre-release '-rc'"),
        ("1.0.0-rc.1.2", "pre-release '-rc.1.2'"),
        ("1.0.0-alpha.beta", "pre-release '-alpha.beta'"),
        ("1.0.0-RC.1", "pre-release '-RC.1'"),
        ("1.0.0+build.5", "build metadata '+build.5'"),
        ("1.0.0-rc.1+exp", "build metadata '+exp'"),
    ],
)
def test_shapes_without_counterpart_are_refused_by_name(text, named):
    with pytest.raises(UsageError) as info:
        parse(text)
    assert named in str(info.value)
    assert "PEP 440" in str(info.value)


@pytest.mark.parametrize("text", ["1.2", "v1.2.3", "01.2.3", "1.2.3.4", "1.2.3-", "", "1.2.x"])
def test_non_semver_is_refused(text):
    with pytest.raises(UsageError, match="not a SemVer version"):
        parse(text)


@pytest.mark.parametrize(
    "text", ["1.4.0-rc.1", "1.4", "1.4.0.post1", "1.4.0.dev1", "1!1.4.0", "1.4.0+local", "1.4.0c1"]
)
def test_parse_pep440_accepts_only_normalised_counterparts(text):
    # a place must hold the normalised form; anything else reads as a mismatch
    assert parse_pep440(text) is None


# --------------------------------------------------------------------------- ordering

numbers = st.integers(min_value=0, max_value=30)
pres = st.one_of(st.none(), st.tuples(st.sampled_from(["alpha", "beta", "rc"]), numbers))
versions = st.builds(Version, numbers, numbers, numbers, pres)


def sign(value: int) -> int:
    return (value > 0) - (value < 0)


@given(versions, versions)
def test_mapping_preserves_ordering(a, b):
    semver_order = compare_semver(a.semver, b.semver)
    py_a, py_b = PyVersion(a.pep440), PyVersion(b.pep440)
    pep_order = (py_a > py_b) - (py_a < py_b)
    assert semver_order == pep_order
    assert sign((a > b) - (a < b)) == semver_order
    assert str(py_a) == a.pep440  # normalised form
    assert parse(a.semver) == a
    assert parse_pep440(a.pep440) == a


@given(versions)
def test_bumps_always_go_up(v):
    for part in ("major", "minor", "patch", "pre", "release"):
        try:
            new = bump_version(v, part)
        except UsageError:
            assert (part == "pre" and v.pre is None) or (part == "release" and v.pre is None)
            continue
        assert compare_semver(new.semver, v.semver) == 1
        assert PyVersion(new.pep440) > PyVersion(v.pep440)


def test_compare_semver_follows_the_spec_example():
    chain = [
        "1.0.0-alpha",
        "1.0.0-alpha.1",
        "1.0.0-alpha.beta",
        "1.0.0-beta",
        "1.0.0-beta.2",
        "1.0.0-beta.11",
        "1.0.0-rc.1",
        "1.0.0",
    ]
    for low, high in zip(chain, chain[1:], strict=False):
        assert compare_semver(low, high) == -1
        assert compare_semver(high, low) == 1
    assert compare_semver("1.0.0+a", "1.0.0+b") == 0


# --------------------------------------------------------------------------- bump arithmetic


@pytest.mark.parametrize(
    ("current", "part", "expected"),
    [
        ("1.3.2", "major", "2.0.0"),
        ("1.3.2", "minor", "1.4.0"),
        ("1.3.2", "patch", "1.3.3"),
        ("1.4.0-rc.1", "pre", "1.4.0-rc.2"),
        ("1.4.0-alpha.3", "pre", "1.4.0-alpha.4"),
        ("1.4.0-rc.2", "release", "1.4.0"),
        ("1.4.0-rc.1", "patch", "1.4.1"),
        ("1.3.2", "1.4.0-rc.1", "1.4.0-rc.1"),
        ("1.4.0-beta.2", "1.4.0-rc.1", "1.4.0-rc.1"),
        ("1.4.0-rc.1", "1.4.0", "1.4.0"),
    ],
)
def test_bump(current, part, expected):
    assert bump_version(parse(current), part).semver == expected


@pytest.mark.parametrize(
    ("current", "arg", "message"),
    [
        ("1.3.2", "pre", "is a release, so `pre`"),
        ("1.3.2", "release", "already a release"),
        ("1.3.2", "1.3.2", "equal to the current version"),
        ("1.3.2", "1.3.1", "lower than the current version"),
        ("1.4.0", "1.4.0-rc.9", "lower than the current version"),
        ("1.3.2", "minr", "unknown part 'minr'"),
        ("1.3.2", "1.4", "not a SemVer version"),
        ("1.3.2", "1.4.0-foo.1", "no faithful PEP 440 counterpart"),
    ],
)
def test_bump_refusals(current, arg, message):
    with pytest.raises(UsageError, match=message.replace("`", ".").replace("(", r"\(")):
        bump_version(parse(current), arg)


identifiers = st.one_of(st.sampled_from(["alpha", "beta", "rc", "foo", "RC", "0", "1", "12", "x-y"]), numbers.map(str))
any_semver = st.builds(
    lambda core, pre, build: (
        ".".join(map(str, core)) + (f"-{'.'.join(pre)}" if pre else "") + (f"+{build}" if build else "")
    ),
    st.tuples(numbers, numbers, numbers),
    st.lists(identifiers, max_size=3),
    st.one_of(st.none(), st.sampled_from(["build.5", "sha.abc"])),
)


@given(any_semver)
def test_every_semver_is_mapped_faithfully_or_refused(text):
    try:
        version = parse(text)
    except UsageError as exc:
        assert "no faithful PEP 440 counterpart" in str(exc) or "no PEP 440 counterpart" in str(exc)
        return
    assert version.semver == text  # nothing dropped or rewritten
    assert parse_pep440(version.pep440) == version


@pytest.mark.parametrize(
    ("requirement", "version", "allowed"),
    [
        ("~> 1.18", "1.14.0", False),
        ("~> 1.18", "1.18.0", True),
        ("~> 1.18", "1.19.4", True),
        ("~> 1.18", "2.0.0", False),
        ("~> 1.14.2", "1.14.1", False),
        ("~> 1.14.2", "1.14.9", True),
        ("~> 1.14.2", "1.15.0", False),
        (">= 1.13.0 and < 1.17.0", "1.16.3", True),
        (">= 1.13.0 and < 1.17.0", "1.17.0", False),
        ("~> 1.11 or ~> 2.0", "2.1.0", True),
        ("== 1.14.0", "1.14.0", True),
        ("1.14.0", "1.14.1", False),
        ("~> 1.18", "1.19.0-rc.0", True),
        ("~> banana", "1.14.0", None),
        ("~> 1.18", "unknown", None),
    ],
)
def test_elixir_requirements_match_as_version_match_does(requirement, version, allowed):
    assert elixir_requirement_allows(requirement, version) is allowed


def test_one_numeric_key_orders_python_minors_pins_and_hex_archives():
    assert sorted(["3.10", "3.9", "3.13"], key=numeric_key) == ["3.9", "3.10", "3.13"]
    assert sorted(["1.100.0", "1.85.1", "1.9.0"], key=numeric_key) == ["1.9.0", "1.85.1", "1.100.0"]
    assert max([None, "2.0.0", "2.5.1"], key=numeric_key) == "2.5.1"
    assert numeric_key(None) < numeric_key("0.1")
