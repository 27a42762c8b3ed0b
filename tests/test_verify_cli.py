"""`hexpack verify` end to end on the Hex reference projects and on hand-edited tarballs.

Smoke tests and the Python dist are skipped here (they create venvs; see
test_verify_repo.py for the slow runs), so these stay fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from conftest import HEX_REFERENCE
from hexpack import cli
from hexpack.hex import install as hex_install
from hexpack.hex import tarball

FAST = ["--skip", "smoke,pydist"]


def run_verify(capsys, *args: str) -> tuple[int, str]:
    code = cli.main(["verify", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def test_default_files_fails_for_env_and_pycache(elixir, reference_project, capsys):
    project = reference_project("default_files")
    code, out = run_verify(capsys, "--project", str(project), *FAST)
    assert code == 1
    assert "priv/python/.env: forbidden environment file" in out
    assert "priv/python/__pycache__/grpc_server.cpython-312.pyc: forbidden Python bytecode cache" in out
    assert "2 symlink(s), all inside the package" in out
    assert "Traceback" not in out


def test_hybrid_globs_gets_the_substring_warning(elixir, reference_project, capsys, tmp_path):
    project = reference_project("hybrid_globs")
    report = tmp_path / "report.json"
    code, out = run_verify(capsys, "--project", str(project), *FAST, "--json", str(report))
    assert code == 1  # a warning is not a pass
    assert (
        'exclude_patterns "**/__pycache__": looks like a glob, but Hex matches exclude strings as plain substrings'
        in out
    )
    assert r"use the regex ~r/(^|\/)__pycache__(\/|$)/ in mix.exs" in out
    assert '"priv/python/hybrid_bridge/legacy": removed 1: priv/python/hybrid_bridge/legacy/old.py' in out
    data = json.loads(report.read_text())
    excludes = next(g for g in data["gates"] if g["name"] == "exclude patterns")
    assert excludes["status"] == "warn"
    assert excludes["details"]["patterns"][0]["glob_like"] is True
    assert data["ok"] is False
    code, _ = run_verify(capsys, "--project", str(project), *FAST, "--allow-warnings")
    assert code == 0


def test_missing_files_fails_with_hex_message(elixir, reference_project, capsys):
    project = reference_project("missing_files")
    code, out = run_verify(capsys, "--project", str(project), *FAST)
    assert code == 1
    assert "Missing files: priv/python/grpc_server.py, priv/python/*_pb2.py" in out
    assert "skipped: no tarball to check" in out


def _fail_lines(out: str) -> list[str]:
    return [line for line in out.splitlines() if " fail " in f" {line} " or line.strip().startswith("fail:")]


def test_tarball_with_checksum_mismatch_fails_cleanly(capsys, tmp_path):
    data = (HEX_REFERENCE / "hybrid_globs" / "hex-2.5.1.tar").read_bytes()
    at = data.index(b"Runs a Python")
    edited = tmp_path / "edited.tar"
    edited.write_bytes(data[:at] + b"X" + data[at + 1 :])
    code, out = run_verify(capsys, "--tarball", str(edited), "--project", str(tmp_path))
    assert code == 1
    assert "Traceback" not in out
    failing = _fail_lines(out)
    assert len(failing) == 1 and "checksum mismatch" in failing[0] and str(edited) in failing[0]


def test_tarball_with_traversal_path_fails_cleanly(capsys, tmp_path):
    good = tarball.read_package((HEX_REFERENCE / "hybrid_globs" / "hex-2.5.1.tar").read_bytes())
    members = [tarball.Member("lib/a.ex", "file", 0o644, b"x"), tarball.Member("../evil.py", "file", 0o644, b"x")]
    edited = tmp_path / "traversal.tar"
    edited.write_bytes(tarball.outer_tarball(good.metadata_config, tarball.contents_tar_gz(members)))
    code, out = run_verify(capsys, "--tarball", str(edited), "--project", str(tmp_path))
    assert code == 1
    assert "Traceback" not in out
    failing = _fail_lines(out)
    assert len(failing) == 1 and "'../evil.py' leaves the package" in failing[0]


def test_reference_tarball_checks_without_a_project(capsys, tmp_path):
    """A good tarball from elsewhere: the content gates run, only the project-bound ones are skipped."""
    tar = HEX_REFERENCE / "hybrid_globs" / "hex-2.5.1.tar"
    code, out = run_verify(capsys, "--tarball", str(tar), "--project", str(tmp_path), "--skip", "smoke")
    assert "required files" in out and "all 5 present" in out
    assert "skipped: no mix project (verifying a given tarball)" in out
    assert code == 0


def test_unknown_gate_is_a_usage_error(capsys, tmp_path):
    code, out = run_verify(capsys, "--tarball", str(tmp_path / "x.tar"), "--skip", "bogus")
    assert code == 2
    assert "unknown gate(s) bogus" in out


@pytest.mark.parametrize("missing", ["nothing.tar"])
def test_unreadable_tarball(capsys, tmp_path, missing):
    code, out = run_verify(capsys, "--tarball", str(tmp_path / missing), "--project", str(tmp_path))
    assert code == 1
    assert "nothing.tar: no such file or directory" in out


def test_engine_mix_without_hex_fails_with_the_install_hint(elixir, reference_project, capsys, monkeypatch):
    from hexpack.verify import runner

    monkeypatch.setattr(runner, "mix_hex_available", lambda: (False, "Hex is not installed"))
    code, out = run_verify(capsys, "--project", str(reference_project("hybrid_globs")), *FAST, "--engine", "mix")
    assert code == 1
    assert "Hex is not installed; install Hex (mix local.hex) or use --engine builtin" in out


def test_engine_both_compares_with_mix_hex_build(elixir, reference_project, capsys, monkeypatch):
    """A test double stands in for `mix hex.build` (Hex cannot be installed here): it returns
    what Hex 2.5.1 really built for this project, then a tarball with one file changed."""
    from hexpack.verify import runner

    project = reference_project("hybrid_globs")
    real = (HEX_REFERENCE / "hybrid_globs" / "hex-2.5.1.tar").read_bytes()
    newer = hex_install.HexArchive(Path("hex-2.6.0"), "2.6.0")  # what hex_install reports for another Hex
    monkeypatch.setattr(runner, "mix_hex_available", lambda: (True, hex_install.version_note(newer)))
    monkeypatch.setattr(runner, "build_with_mix", lambda root: real)
    code, out = run_verify(capsys, "--project", str(project), *FAST, "--engine", "both", "--allow-warnings")
    assert "builtin engine and mix hex.build are byte-identical" in out
    assert "hybrid_globs-1.4.0-rc.1.tar as Hex 2.5.1 builds it" in out  # the builtin row names its Hex
    assert "Hex 2.6.0 is installed; the builtin engine reproduces Hex 2.5.1" in out
    assert code == 0

    package = tarball.read_package(real)
    members = [
        tarball.Member(m.path, m.kind, m.mode, b"changed\n" if m.path == "README.md" else m.data, m.linkname)
        for m in package.members
    ]
    other = tarball.outer_tarball(package.metadata_config, tarball.contents_tar_gz(members))
    monkeypatch.setattr(runner, "build_with_mix", lambda root: other)
    code, out = run_verify(capsys, "--project", str(project), *FAST, "--engine", "both", "--allow-warnings")
    assert code == 1
    assert "README.md: changed in mix hex.build's tarball (content differs" in out


def test_bad_options_are_refused_together_before_any_gate(tmp_path, capsys):
    from hexpack import cli

    code = cli.main(
        ["verify", "--tarball", str(tmp_path / "x.tar"), "--json", str(tmp_path / "no" / "r.json"), "--jobs", "0"]
        + ["--python", "banana"]
    )
    captured = capsys.readouterr()
    assert code != 0 and captured.out == ""  # no gate ran
    assert captured.err.splitlines() == [
        f"error: --json {tmp_path / 'no' / 'r.json'}: its directory does not exist",
        "error: --jobs 0: must be at least 1",
        "error: --python banana: is not a Python version; write it as 3.12",
    ]


def test_a_device_as_tarball_is_read_only_up_to_hexs_limit(capsys):
    from hexpack import cli

    assert cli.main(["verify", "--tarball", "/dev/zero", "--skip", "smoke,pydist"]) == 1
    assert "/dev/zero: more than Hex's limit of 16777216 bytes" in capsys.readouterr().out


def test_each_gate_is_shown_as_it_finishes_before_the_table(elixir, reference_project, capsys):
    """The command prints a line per finished gate (the library calls back, never prints), then the table."""
    from hexpack.verify.runner import Options, verify

    project = reference_project("default_files")
    heard = []
    report = verify(Options(root=project, skip=frozenset({"smoke", "pydist"})), on_gate=heard.append)
    assert sorted(map(id, heard)) == sorted(map(id, report.gates))  # every gate, once
    assert capsys.readouterr() == ("", "")
    code, out = run_verify(capsys, "--project", str(project), *FAST)
    lines = out.splitlines()
    table = lines.index(next(line for line in lines if line.startswith("gate ")))
    progress = lines[:table]
    assert "FAIL  3 tarball: forbidden files (" in "\n".join(progress)
    assert any(line.startswith("PASS  2 build: tarball is valid (") for line in progress)
    assert len([line for line in progress if line.strip()]) == len(report.gates)


def test_spdx_warning_is_one_row(reference_project, capsys, tmp_path):
    """Hex's license warning shows once (the metadata gate's row), not again as a builtin-engine warning."""
    project = reference_project("package_map")
    report = tmp_path / "report.json"
    code, out = run_verify(
        capsys, "--project", str(project), *FAST, "--engine", "builtin", "--reader", "static", "--json", str(report)
    )
    assert code == 1  # the warning is not allowed without --allow-warnings
    findings = [
        (gate["name"], finding["message"])
        for gate in json.loads(report.read_text(encoding="utf-8"))["gates"]
        for finding in gate.get("findings", [])
        if "SPDX" in finding["message"]
    ]
    assert findings == [("metadata", "licenses not recognized by SPDX, which Hex 2.5.1 warns about: Apache 2, mit")]
    table_rows = [line for line in out.splitlines() if line.startswith(("2 build", "3 tarball")) and "SPDX" in line]
    assert len(table_rows) == 1
    assert "would warn" not in out
