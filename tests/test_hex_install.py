"""Finding Hex without starting the BEAM: one function, used by doctor and verify alike."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import pytest
from conftest import require_program
from hexpack.hex import install as hex_install
from hexpack.hex.rules import HEX_VERSION
from hexpack.onboarding import doctor
from hexpack.verify import runner


def app_file(version: str) -> bytes:
    return f'{{application,hex,\n [{{description,"hex"}},\n  {{vsn,"{version}"}}]}}.\n'.encode()


def make_dir_archive(archives: Path, name: str, version: str) -> None:
    ebin = archives / name / name / "ebin"
    ebin.mkdir(parents=True)
    (ebin / "hex.app").write_bytes(app_file(version))


def test_hex_from_source_is_a_dir_named_hex_and_its_version_comes_from_hex_app(tmp_path):
    make_dir_archive(tmp_path / "archives", "hex", "2.5.1")
    found = hex_install.find_hex({"MIX_ARCHIVES": str(tmp_path / "archives")})
    assert found is not None and found.version == "2.5.1" and found.reproduced
    assert hex_install.version_note(found) == "Hex 2.5.1, the version the builtin engine reproduces"


def test_mix_local_hex_layouts_and_the_newest_of_several(tmp_path):
    archives = tmp_path / "home" / ".mix" / "archives"
    make_dir_archive(archives, "hex-2.0.6", "2.0.6")
    with zipfile.ZipFile(archives / "hex-2.6.0.ez", "w") as ez:
        ez.writestr("hex-2.6.0/ebin/hex.app", app_file("2.6.0"))
    (archives / "hexagon-1.0").mkdir()  # another archive whose name merely starts with hex
    found = hex_install.find_hex({"HOME": str(tmp_path / "home")})
    assert found is not None and found.version == "2.6.0" and not found.reproduced
    note = hex_install.version_note(found)
    assert note.startswith(f"Hex 2.6.0 is installed; the builtin engine reproduces Hex {HEX_VERSION}")
    assert "--engine both" in note


def test_where_mix_looks(tmp_path):
    env = {"HOME": str(tmp_path)}
    assert hex_install.archives_dir(env) == tmp_path / ".mix" / "archives"
    assert hex_install.archives_dir({**env, "MIX_HOME": "/m"}) == Path("/m/archives")
    assert hex_install.archives_dir({**env, "MIX_HOME": "/m", "MIX_ARCHIVES": "/a"}) == Path("/a")
    assert hex_install.archives_dir({**env, "MIX_XDG": "1"}) == tmp_path / ".local" / "share" / "mix" / "archives"
    assert hex_install.find_hex({"MIX_ARCHIVES": str(tmp_path / "missing")}) is None


@pytest.mark.interpreter_independent  # doctor asks Elixir (`elixir --version`) for each archive directory
def test_doctor_and_verify_agree(tmp_path, monkeypatch):
    require_program("mix")  # both report "needs mix" without it
    for archives in (tmp_path / "none", tmp_path / "bare", tmp_path / "versioned"):
        archives.mkdir()
    make_dir_archive(tmp_path / "bare", "hex", "2.5.1")
    make_dir_archive(tmp_path / "versioned", "hex-2.6.0", "2.6.0")
    for name in ("none", "bare", "versioned"):
        monkeypatch.setenv("MIX_ARCHIVES", str(tmp_path / name))
        rows = {check.name: check for check in doctor.check_elixir(False, dict(os.environ))}
        available, why = runner.mix_hex_available()
        assert (rows["hex"].status == "ok") == available, name
        if available:
            assert rows["hex"].found == why
