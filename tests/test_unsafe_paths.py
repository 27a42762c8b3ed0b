"""Build-time safety equal to Hex's: unsafe symlinks and paths leaving the project are refused in Hex's words.

Each case of ``fixtures/hex-unsafe/cases.json`` is rebuilt in ``tmp_path`` and built
with ``hexpack build`` (both readers of mix.exs: the static one here, Elixir's in the
live comparison). The recorded line is what real Hex 2.5.1 printed; when Hex is
installed (``MIX_ARCHIVES``) the same tree is also built with ``mix hex.build`` and the
lines compared again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from conftest import REPO
from hexpack.cli import main
from hexpack.hex.unsafe_paths import unsafe_entries
from hexpack.verify.runner import mix_hex_available

CASES = json.loads((REPO / "tests" / "fixtures" / "hex-unsafe" / "cases.json").read_text())
MIX = """defmodule U.MixProject do
  use Mix.Project
  def project do
    [app: :u, version: "0.1.0", description: "d", package: [licenses: ["MIT"], links: %{}, files: FILES]]
  end
end
"""


def make_case(tmp_path: Path, name: str) -> tuple[Path, Path]:
    spec = CASES[name]
    project = tmp_path / "project"
    outside = tmp_path / "outside"
    (project / "lib").mkdir(parents=True)
    (project / "priv").mkdir()
    outside.mkdir()
    (outside / "secret").write_text("not for the package\n")
    (project / "lib" / "u.ex").write_text("defmodule U do end\n")
    (project / "mix.exs").write_text(MIX.replace("FILES", json.dumps(spec["files"])))
    for link, target in spec.get("links", {}).items():
        os.symlink(substitute(target, project, outside), project / link)
    for fifo in spec.get("fifos", []):
        os.mkfifo(project / fifo)
    return project, outside


def substitute(text: str, project: Path, outside: Path) -> str:
    return text.replace("PROJECTNAME", project.name).replace("PROJECT", str(project)).replace("OUTSIDE", str(outside))


@pytest.mark.parametrize("name", sorted(CASES))
def test_build_refuses_what_hex_refuses_in_hex_words(name, tmp_path, capsys):
    project, outside = make_case(tmp_path, name)
    code = main(["build", "--project", str(project), "--reader", "static", "-o", str(tmp_path / "out.tar")])
    err = capsys.readouterr().err
    expected = substitute(CASES[name]["hex"], project, outside)
    if expected.startswith("Package checksum"):
        assert code == 0, err
        return
    assert code == 1
    assert "Traceback" not in err
    assert f"error: {expected.removeprefix('** (Mix) ')}" in err.splitlines()
    assert not (tmp_path / "out.tar").exists()


def test_no_content_from_outside_is_ever_packed(tmp_path):
    """Even where Hex would not look (a second unsafe file after the first), every one is named."""
    project, outside = make_case(tmp_path, "through_a_glob")
    (outside / "other").write_text("x")
    assert unsafe_entries(project, ["lib/u.ex", "priv/ext/secret", "priv/ext/other", "priv/ext"]) == [
        "unsafe path in tarball: priv/ext/secret",
        "unsafe path in tarball: priv/ext/other",
        f"unsafe symlink in tarball: priv/ext -> {outside}",
    ]


def test_many_files_cost_one_readlink_per_directory(tmp_path, monkeypatch):
    (tmp_path / "a" / "b").mkdir(parents=True)
    files = [f"a/b/f{i}" for i in range(200)]
    for name in files:
        (tmp_path / name).write_text("")
    calls = []
    real = os.readlink

    def counting(path, *args, **kwargs):
        calls.append(path)
        return real(path, *args, **kwargs)

    monkeypatch.setattr(os, "readlink", counting)
    assert unsafe_entries(tmp_path, files) == []
    assert len(calls) == 2 + len(files)  # a, a/b, then each file once


@pytest.mark.engine_choice  # real Hex, when installed (every other test sees Mix without it)
@pytest.mark.interpreter_independent
@pytest.mark.parametrize("name", sorted(CASES))
def test_real_hex_still_says_what_was_recorded(name, tmp_path):
    available, why = mix_hex_available()
    if not available:
        pytest.skip(why)  # the recorded lines above stand in for Hex; with Hex installed they are re-checked
    project, outside = make_case(tmp_path, name)
    env = {**os.environ, "MIX_ENV": "dev"}
    done = subprocess.run(
        [shutil.which("mix") or "mix", "hex.build"], cwd=project, capture_output=True, text=True, env=env, timeout=300
    )
    lines = [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]
    expected = substitute(CASES[name]["hex"], project, outside)
    if expected.startswith("Package checksum"):
        assert any(line.startswith("Package checksum: ") for line in lines), lines
        assert main(["build", "--project", str(project), "--reader", "elixir", "-o", str(tmp_path / "o.tar")]) == 0
        assert (tmp_path / "o.tar").read_bytes() == (project / "u-0.1.0.tar").read_bytes()
        return
    assert lines[-1] == expected
