"""Bad input on the command line: one error line naming the input, a non-zero exit, never a traceback.

Cross-cutting cases (the settings file every command reads, the argument parser) live here; a
module's own inputs are tested next to that module.
"""

from __future__ import annotations

import os

import pytest
from hexpack import cli, config
from hexpack.errors import ProjectError


def _error_lines(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert lines and all(line.startswith("error: ") for line in lines), err
    return lines


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b'[tool.hexpack]\npython = ["3.11"]\n# caf\xe9\n', "pyproject.toml:3: not UTF-8 text (byte 0xe9)"),
        (b"\x89PNG\r\n\x1a\n\x00\x00garbage", "not UTF-8 text"),
        (b"tool = 3\n", "tool must be a table"),
        (b"[tool]\nhexpack = 3\n", "[tool.hexpack] must be a table"),
        (
            b"[tool.hexpack]\nfoo = 1\n[tool.hexpack.asemble]\nx = 1\n",
            "[tool.hexpack]: unknown setting(s) asemble (did you mean assemble?), foo; known settings: assemble,",
        ),
    ],
)
def test_bad_pyproject_is_one_line_naming_it(tmp_path, capsys, content, expected):
    (tmp_path / "pyproject.toml").write_bytes(content)
    with pytest.raises(ProjectError) as caught:
        config.load(tmp_path)
    assert expected in caught.value.one_line()
    assert str(tmp_path / "pyproject.toml") in caught.value.one_line()
    assert cli.main(["version", "--root", str(tmp_path)]) == 1
    (line,) = _error_lines(capsys)
    assert expected in line


def test_settings_file_that_is_a_directory_is_refused(tmp_path):
    (tmp_path / "hexpack.toml").mkdir()
    with pytest.raises(ProjectError, match="hexpack.toml: is a directory"):
        config.load(tmp_path)


def test_tool_hexpack_inside_hexpack_toml_says_where_the_tables_go(tmp_path):
    (tmp_path / "hexpack.toml").write_text('[tool.hexpack.stubs]\ngrpcio-tools = "1.0"\n', encoding="utf-8")
    with pytest.raises(ProjectError, match=r"unknown setting\(s\) tool; hexpack.toml holds the tables itself: write"):
        config.load(tmp_path)


def test_hexpack_toml_unknown_table_is_named(tmp_path):
    (tmp_path / "hexpack.toml").write_text('python = ["3.12"]\n[stub]\nout = "x"\n', encoding="utf-8")
    with pytest.raises(
        ProjectError,
        match=r"hexpack.toml: unknown setting\(s\) stub \(did you mean stubs\?\); known settings: assemble",
    ):
        config.load(tmp_path)


def test_a_missing_working_directory_is_named_not_the_program(tmp_path):
    from hexpack import proc
    from hexpack.errors import CommandNotFound, HexpackError

    with pytest.raises(HexpackError) as caught:
        proc.run(["git", "status"], cwd=tmp_path / "gone")
    assert not isinstance(caught.value, CommandNotFound)
    expected = f"{tmp_path / 'gone'}: cannot run git here: No such file or directory; check the path"
    assert caught.value.one_line() == expected


def test_output_that_is_not_utf8_does_not_end_the_run(tmp_path):
    import sys

    from hexpack import proc

    done = proc.run([sys.executable, "-c", "import sys; sys.stdout.buffer.write(b'name-\\xff.md\\n')"])
    assert done.stdout == "name-\udcff.md\n"
    assert os.fsencode(done.stdout.strip()) == b"name-\xff.md"  # a path round-trips to the same file


@pytest.mark.parametrize("command", [["version"], ["stubs"], ["assemble"], ["doctor"], ["pythons"], ["bump", "patch"]])
def test_a_root_that_is_missing_or_a_file_is_a_usage_error(tmp_path, capsys, command):
    (tmp_path / "afile").write_text("x")
    for root, what in ((tmp_path / "gone", "directory not found"), (tmp_path / "afile", "not a directory")):
        assert cli.main([*command, "--root", str(root)]) == 2  # never a default run on nothing (assemble said 0)
        (line,) = _error_lines(capsys)
        name = command[0]
        assert line == f"error: hexpack {name}: argument --project/--root: {root}: {what}; see `hexpack {name} --help`"
