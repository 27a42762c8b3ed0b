"""Hex's metadata rules, declared once in ``hexpack.hex.rules``: the engine and verify agree.

The grapheme count is compared with Elixir's own ``String.length/1`` (one
``elixir`` run for every sample); the license list with Hex 2.5.1's recorded
warning (``hex-reference/package_map``).
"""

from __future__ import annotations

import subprocess

import pytest
from conftest import HEX_REFERENCE
from hexpack.hex import rules as hex_rules
from hexpack.hex.build import build_project
from hexpack.mix.readers import read_project
from hexpack.verify import content_rules

SAMPLES = [
    "plain ASCII",
    "e\u0301" * 5,  # combining acute
    "a\r\nb",
    "\U0001f1eb\U0001f1f7\U0001f1e9\U0001f1ea\U0001f1ee",  # two flags and a lone regional indicator
    "\U0001f469\u200d\U0001f4bb and \U0001f44d\U0001f3fd",  # ZWJ sequence, skin tone
    "\u1100\u1161\u11a8 \uac00\u11a8 \ud55c\uad6d\uc5b4",  # Hangul jamo and syllables
    "\u0915\u094d\u0937\u093f",  # Devanagari with virama and a spacing mark
    "\u2764\ufe0f text\u00a0and\u200btabs\t",
    "\u0600\u0661 \U000e0067 tag",
]


def test_description_length_is_elixirs_string_length(elixir):
    script = (
        "for line <- IO.stream(:stdio, :line), "
        'do: IO.puts(line |> String.trim_trailing("\\n") |> Base.decode16!() |> String.length())'
    )
    given = "".join(sample.encode("utf-8").hex().upper() + "\n" for sample in SAMPLES)
    done = subprocess.run([elixir, "-e", script], input=given, capture_output=True, text=True, check=True)
    assert [int(n) for n in done.stdout.split()] == [hex_rules.description_length(s) for s in SAMPLES]


def test_combining_accents_count_as_one_character_in_engine_and_verify(tmp_path):
    description = "e\u0301" * 300  # 600 code points, 300 graphemes: Hex builds it
    assert hex_rules.description_length(description) == 300
    assert not hex_rules.description_too_long(description)
    assert hex_rules.description_too_long(description + "e\u0301")
    meta = {"version": "1.0.0", "description": description, "licenses": ["MIT"], "links": {}}
    assert [f.status for f in content_rules.check_metadata(meta)] == ["pass"]
    too_long = content_rules.check_metadata({**meta, "description": description + "x"})
    assert [f.message for f in too_long] == ["description is 301 characters, more than Hex's 300"]


def test_license_rules_are_hexs_list():
    assert hex_rules.valid_license("Apache-2.0")
    assert hex_rules.valid_license("LicenseRef-Acme-1.0")
    assert not hex_rules.valid_license("LicenseRef-")
    assert not hex_rules.valid_license("LicenseRef-a b")
    assert not hex_rules.valid_license("apache-2.0")  # case-sensitive, as Hex's list is
    assert not hex_rules.valid_license("Apache 2")
    # every identifier Hex 2.5.1 knows is an SPDX identifier packaging knows too
    licenses = pytest.importorskip("packaging.licenses._spdx")
    known = {entry["id"] for entry in licenses.LICENSES.values()}
    assert hex_rules._spdx_ids() <= known
    assert len(hex_rules._spdx_ids()) == 659


def test_spdx_warning_is_what_hex_printed(tmp_path):
    """hex-reference/package_map: `package:` as a map, two unknown licenses, 200 combining accents."""
    import shutil

    root = tmp_path / "package_map"
    shutil.copytree(HEX_REFERENCE / "package_map" / "project", root)
    log = (HEX_REFERENCE / "package_map" / "hex-2.5.1.log").read_text(encoding="utf-8")
    start = log.index("The following licenses")
    printed = log[start : log.index("\x1b[0m", start)]
    result = build_project(read_project(root, reader="static"))
    assert result.warnings == [printed]
    meta = dict(result.metadata)
    findings = content_rules.check_metadata(meta)
    assert [(f.status, f.message) for f in findings] == [
        ("warn", "licenses not recognized by SPDX, which Hex 2.5.1 warns about: Apache 2, mit")
    ]


def test_no_licenses_warning():
    assert hex_rules.license_warnings([]) == ["You have not included any licenses"]
    assert hex_rules.license_warnings(["MIT", "LicenseRef-x"]) == []


def test_links_rule_is_shared():
    assert hex_rules.link_problems({"GitHub": "https://example.invalid/x"}) == []
    assert hex_rules.link_problems({"Docs": "ftp://x"}) == ["link Docs is not a well-formed http(s) URL: ftp://x"]
    assert hex_rules.link_problems("https://x") == [hex_rules.LINKS_NOT_A_MAP]
