"""``hexpack.paths``: path text exactly as ``pathlib`` writes it, so messages do not change with the module."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest
from hexpack.cli import main
from hexpack.paths import joined, name_of, parent_of

CASES = ["", ".", "./", "..", "../a", "a", "a/", "a//b", "a/./b/", "/", "//", "///", "//a", "///a/b", "/a/b/c/",
         "./a/../b", "a/b.tar", "/x.tar", "x.tar", "..//..", ".//.", "a/.hidden", "é/ñ"]  # fmt: skip


@pytest.mark.parametrize("text", CASES)
def test_the_text_is_pathlibs(text):
    path = PurePosixPath(text)
    assert name_of(text) == str(path)
    assert parent_of(text) == str(path.parent)
    for name in ("mix.exs", "a/b", "./x", "x/"):
        assert joined(text, name) == str(path / name)
    assert name_of(path) == str(path)  # a PathLike too


def test_build_names_paths_as_before(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "proj").mkdir()
    assert main(["build", "--project", "./proj//"]) == 2
    assert capsys.readouterr().err.startswith("error: proj: no mix.exs here")
    (tmp_path / "proj" / "mix.exs").write_text("")
    assert main(["build", "--project", "proj", "-o", "./gone/x.tar"]) == 2
    assert capsys.readouterr().err.startswith("error: gone: directory does not exist")
    assert main(["build", "--project", "proj", "-o", "proj/"]) == 2
    assert capsys.readouterr().err.startswith("error: proj: is a directory")
