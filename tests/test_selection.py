"""File selection: hexpack.hex.selection against Elixir's real Path.wildcard/1 and Hex's walk.

The Elixir comparisons build one tree, run ONE ``elixir`` process that
evaluates every pattern (and Hex 2.5.1's ``expand_paths``/exclude logic,
transcribed in the script below) and compare its answers with Python's.
Both processes list the same unmodified directories, so even the
directory-read order of the walk must agree.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hexpack.errors import PackageError, ProjectError
from hexpack.hex.selection import (
    DEFAULT_FILES,
    GlobError,
    compile_glob,
    is_excluded,
    matches_exclude,
    select_files,
    wildcard,
)
from hexpack.mix.terms import Regex

TREE_FILES = [
    "lib/app.ex",
    "lib/app/sub.ex",
    "lib/app/deep/er/most.ex",
    "lib/.hidden.ex",
    "lib/.hdir/x.ex",
    "priv/python/grpc_server.py",
    "priv/python/.env",
    "priv/python/__pycache__/m.cpython-311.pyc",
    "priv/python/pkg/__init__.py",
    "priv/python/pkg/mod.py",
    "priv/python/pkg/.DS_Store",
    "priv/python/pkg/x.DS_Store",
    "priv/python/pkg/a-.DS_Store",
    "priv/python/données.txt",
    "priv/python/with space.txt",
    "priv/python/br[a]ck.txt",
    "priv/python/brack.txt",
    "priv/python/cur{l}y.txt",
    "priv/python/com,ma.txt",
    "priv/python/q?.txt",
    "priv/python/star*.txt",
    "priv/python/tests/test_a.py",
    "priv/python/bridge.egg-info/PKG-INFO",
    "priv/proto/bridge.proto",
    "README.md",
    "readme.txt",
    "LICENSE",
    "LICENSE.md",
    "CHANGELOG.md",
    "mix.exs",
    ".formatter.exs",
    ".DS_Store",
    "Makefile",
    "Makefile.win",
    "src/a.erl",
    "c_src/nif.c",
    "hex_metadata.config",
    "_build/dev/x.beam",
]

PATTERNS = [
    "*",
    "**",
    ".*",
    "*.md",
    "?EADME.md",
    "[A-Z]*",
    "[a-z]*",
    "[]a-c]*",
    "[!a]*",
    "[z-a]*",
    "[a-",
    "a[",
    "{lib,src}",
    "{lib,src}/**",
    "{README,LICENSE}*",
    "{README,LICENSE}.{md,txt}",
    "{,.}formatter.exs",
    "lib",
    "lib/",
    "lib/**",
    "lib/**/*.ex",
    "lib/*/*.ex",
    "lib/**/deep/**/*.ex",
    "lib/.hidden.ex",
    "lib/.h*",
    "lib/*/.h*",
    "**/*.py",
    "**/*.ex",
    "**/most.ex",
    "**/__pycache__",
    "**/__pycache__/*",
    "priv/**/*.py",
    "priv/python/*",
    "priv/python/**",
    "priv/python/.env",
    "priv/python/*/.DS_Store",
    "priv/python/**/.DS_Store",
    "priv/python/link_dir",
    "priv/python/link_dir/*",
    "priv/python/link_dir/**/*.py",
    "priv/python/broken",
    "priv/python/br*",
    "priv/python/br[a]ck.txt",
    "priv/python/br\\[a]ck.txt",
    "priv/python/cur{l}y.txt",
    "priv/python/cur\\{l}y.txt",
    "priv/python/com,ma.txt",
    "priv/python/{com\\,ma,with space}.txt",
    "priv/python/*.{txt,py}",
    "priv/python/d*",
    "priv/python/donn?es.txt",
    "priv/python/q?.txt",
    "priv/python/q\\?.txt",
    "priv/python/star\\*.txt",
    "priv/python/star*",
    "priv/*/grpc_server.py",
    "priv/*/*/",
    "priv/../mix.exs",
    "lib/../*.md",
    "lib/app/..",
    "lib/*/../*.ex",
    "./lib",
    "./*.exs",
    ".",
    "./",
    "lib/.",
    "lib/./*.ex",
    "./lib/**/*.ex",
    "lib/./**",
    "nonexistent*/../x",
    "lib//app.ex",
    "/lib",
    "priv/empty",
    "priv/empty/*",
    "priv/empty/**",
    "nonexistent",
    "nonexistent/*",
    "*.nothing",
    "Makefile*",
    "**/",
    "a**",
    "**a",
    "*a*b*",
    "lib/**/**",
    "hex_metadata.config",
    "*.config",
    "{a",
    "{a,{b,c}}",
    "",
]

SELECTIONS = [
    (None, []),
    (["lib", "priv", "mix.exs"], []),
    (["priv/python"], ["__pycache__"]),
    (["priv/python"], [Regex("__pycache__"), Regex(r"\.pyc$"), Regex("^priv/python/tests"), "egg-info"]),
    (["priv/python/*.py", "priv/python/**/*.py", "lib/**/*.ex", "lib"], ["**/__pycache__", Regex("tests$")]),
    (["priv/python/link_dir", "priv/python/link_dir/**", "priv/python/link_file.py", "priv/python/broken"], []),
    (["priv", "priv/python", "priv/python/pkg/mod.py"], [Regex("DS_STORE", "i")]),
    (["./lib", "lib/../mix.exs", "lib/app/.."], []),
    (["priv/python"], [Regex("é"), Regex("^priv/python/donn\\W")]),
    (["priv/python"], [Regex("^priv/python/donn.es")]),
    (["priv/python"], [Regex("^priv/python/donn..es")]),
    (["priv/python"], [Regex("^priv/python/donn.es", "u"), Regex("^priv/python/w\\w+ ", "u")]),
    (["priv/python", "*"], [""]),
    ([".DS_Store", "priv/python/pkg/.DS_Store"], []),
    ([], []),
]


def make_tree(root: Path) -> None:
    for rel in TREE_FILES:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(rel)
    (root / "priv" / "empty").mkdir()
    (root / "priv" / "python" / "link_dir").symlink_to("pkg")
    (root / "priv" / "python" / "link_file.py").symlink_to("grpc_server.py")
    (root / "priv" / "python" / "broken").symlink_to("nowhere")


def _ex_string(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("#{", "\\#{").replace("\n", "\\n")
    return f'"{escaped}"'


def _ex_value(value) -> str:
    if isinstance(value, Regex):
        return f"Regex.compile!({_ex_string(value.source)}, {_ex_string(value.options)})"
    if isinstance(value, list):
        return "[" + ", ".join(_ex_value(v) for v in value) + "]"
    if value is None:
        return "nil"
    return _ex_string(value)


ELIXIR_SCRIPT = r"""
defmodule T do
  # Hex 2.5.1 Mix.Tasks.Hex.Build: expand_paths/2, dir_files/1 and the reject in package/2
  def dir_files(path) do
    case File.lstat(path) do
      {:ok, %File.Stat{type: :directory}} ->
        [path | path |> File.ls!() |> Enum.flat_map(&dir_files(Path.join(path, &1)))]
      _ -> [path]
    end
  end

  def select(dir, files, excludes) do
    expand_dir = Path.expand(dir)
    excludes = excludes ++ [~r/\W\.DS_Store$/]
    files
    |> Enum.map(&Path.join(dir, &1))
    |> Enum.flat_map(&Path.wildcard/1)
    |> Enum.flat_map(&dir_files/1)
    |> Enum.map(&Path.expand/1)
    |> Enum.uniq()
    |> Enum.map(&Path.relative_to(&1, expand_dir))
    |> Enum.reject(fn path -> Enum.any?(excludes, &(path =~ &1)) end)
  end

  def out(tag, index, list), do: Enum.each(list, &IO.puts("#{tag}\t#{index}\t#{&1}"))
end

[root] = System.argv()
default = ~w(lib priv .formatter.exs mix.exs README* readme* LICENSE* license*
             CHANGELOG* changelog* src c_src Makefile*)

for {pattern, index} <- Enum.with_index(PATTERNS) do
  try do
    T.out("W", index, Path.wildcard(Path.join(root, pattern)) |> Enum.map(&Path.relative_to(&1, root)))
    IO.puts("D\t#{index}\t")
  rescue
    _ -> IO.puts("X\t#{index}\t")
  end
end

for {{files, excludes}, index} <- Enum.with_index(SELECTIONS) do
  T.out("S", index, T.select(root, files || default, excludes))
  IO.puts("D\tS#{index}\t")
end
"""


@pytest.fixture(scope="module")
def elixir_answers(tmp_path_factory):
    from conftest import require_program

    require_program("elixir")
    base = tmp_path_factory.mktemp("globtree")
    root = base / "tree"
    root.mkdir()
    make_tree(root)
    script = ELIXIR_SCRIPT.replace("PATTERNS", "[" + ", ".join(_ex_string(p) for p in PATTERNS) + "]").replace(
        "SELECTIONS",
        "[" + ", ".join("{" + _ex_value(files) + ", " + _ex_value(ex) + "}" for files, ex in SELECTIONS) + "]",
    )
    script_path = base / "wildcards.exs"
    script_path.write_text(script)
    done = subprocess.run(
        ["elixir", str(script_path), str(root)], capture_output=True, text=True, encoding="utf-8", timeout=120
    )
    assert done.returncode == 0, done.stderr
    globs: dict[int, list[str] | None] = {}
    selections: dict[int, list[str]] = {}
    for line in done.stdout.splitlines():
        tag, index, value = line.split("\t", 2)
        if tag == "W":
            globs.setdefault(int(index), []).append(value)  # type: ignore[union-attr]
        elif tag == "X":
            globs[int(index)] = None
        elif tag == "D" and not index.startswith("S"):
            globs.setdefault(int(index), [])
        elif tag == "S":
            selections.setdefault(int(index), []).append(value)
        elif tag == "D":
            selections.setdefault(int(index[1:]), [])
    return root, globs, selections


@pytest.mark.interpreter_independent
def test_wildcard_matches_elixir_path_wildcard(elixir_answers):
    root, globs, _ = elixir_answers
    assert len(globs) == len(PATTERNS)
    mismatches = []
    for index, pattern in enumerate(PATTERNS):
        expected = globs[index]
        try:
            got: list[str] | None = wildcard(root, pattern)
        except GlobError:
            got = None
        if got != expected:
            mismatches.append((pattern, expected, got))
    assert mismatches == []


@pytest.mark.interpreter_independent
def test_selection_matches_hex_expand_paths(elixir_answers):
    root, _, selections = elixir_answers
    mismatches = []
    for index, (files, excludes) in enumerate(SELECTIONS):
        got = select_files(root, files, excludes)
        if got != selections[index]:
            mismatches.append((files, excludes, selections[index], got))
    assert mismatches == []


# ---------------------------------------------------------------------------
# Without Elixir: the rules themselves
# ---------------------------------------------------------------------------


@pytest.fixture
def tree(tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    make_tree(root)
    return root


def test_default_files_are_hexs():
    assert DEFAULT_FILES == (
        "lib", "priv", ".formatter.exs", "mix.exs", "README*", "readme*", "LICENSE*", "license*",
        "CHANGELOG*", "changelog*", "src", "c_src", "Makefile*",
    )  # fmt: skip


def test_globs_skip_dotfiles_but_literals_do_not(tree):
    assert wildcard(tree, "lib/*") == ["lib/app", "lib/app.ex"]
    assert wildcard(tree, "lib/.hidden.ex") == ["lib/.hidden.ex"]
    assert wildcard(tree, ".*") == []
    assert "lib/.hdir/x.ex" not in wildcard(tree, "**/*.ex")


def test_each_globs_matches_are_sorted(tree):
    found = wildcard(tree, "priv/python/*")
    assert found == sorted(found)
    assert "priv/python/données.txt" in found


def test_globs_follow_directory_symlinks_but_the_walk_does_not(tree):
    assert "priv/python/link_dir/mod.py" in wildcard(tree, "priv/python/**/*.py")
    walked = select_files(tree, ["priv/python"], [])
    assert "priv/python/link_dir" in walked
    assert not any(path.startswith("priv/python/link_dir/") for path in walked)


def test_broken_symlink_matches_literally(tree):
    assert wildcard(tree, "priv/python/broken") == ["priv/python/broken"]
    assert select_files(tree, ["priv/python/broken"], []) == ["priv/python/broken"]


def test_directories_walked_in_listdir_order_with_dotfiles(tree):
    calls = []

    def listdir(path):
        calls.append(path)
        return sorted(os.listdir(path), reverse=True)

    got = select_files(tree, ["lib"], [], listdir=listdir)
    assert got == [
        "lib", "lib/app.ex", "lib/app", "lib/app/sub.ex", "lib/app/deep", "lib/app/deep/er", "lib/app/deep/er/most.ex",
        "lib/.hidden.ex", "lib/.hdir", "lib/.hdir/x.ex",
    ]  # fmt: skip
    assert calls and all(str(tree) in call for call in calls)


def test_exclude_strings_are_substrings_and_regexes_search(tree):
    got = select_files(tree, ["priv/python"], ["**/__pycache__", Regex(r"\.py$"), "egg-info"])
    assert "priv/python/__pycache__/m.cpython-311.pyc" in got  # the glob-looking string matches nothing
    assert not any(path.endswith(".py") for path in got)
    assert not any("egg-info" in path for path in got)


def test_ds_store_dropped_after_a_non_word_character():
    assert is_excluded("priv/.DS_Store", [])
    assert is_excluded("priv/a-.DS_Store", [])
    assert not is_excluded("priv/x.DS_Store", [])
    assert not is_excluded(".DS_Store", [])  # Hex's ~r/\W\.DS_Store$/ needs a character before the dot


def test_regex_without_u_works_on_bytes_like_pcre():
    assert matches_exclude(Regex(r"^donn\W"), "données")  # é is two non-word bytes for PCRE
    assert not matches_exclude(Regex(r"^donn\W", "u"), "données")
    assert not matches_exclude(Regex(r"^donn.es"), "données")
    assert matches_exclude(Regex(r"^donn..es"), "données")
    assert matches_exclude(Regex(r"^donn.es", "u"), "données")
    assert matches_exclude(Regex("READ", "i"), "readme")


def test_duplicates_removed_keeping_first(tree):
    got = select_files(tree, ["mix.exs", "*.exs", "lib/app.ex", "lib"], [])
    assert got[:3] == ["mix.exs", "lib/app.ex", "lib"]
    assert len(got) == len(set(got))


def test_bad_patterns_are_refused_with_the_pattern_named(tree):
    with pytest.raises(GlobError, match=r"'\{a'"):
        wildcard(tree, "{a")
    with pytest.raises(GlobError, match="nested braces"):
        compile_glob("{a,{b,c}}")
    with pytest.raises(ProjectError, match="neither a string nor a regex"):
        select_files(tree, ["lib"], [42])
    with pytest.raises(ProjectError, match="not a string"):
        select_files(tree, [42], [])


def test_paths_outside_the_project_are_refused(tree):
    with pytest.raises(PackageError, match="outside the project"):
        select_files(tree / "lib", ["../mix.exs"], [])


def test_empty_directory_is_listed(tree):
    assert select_files(tree, ["priv/empty"], []) == ["priv/empty"]


def test_a_file_name_that_is_not_utf8_is_refused_by_name_unless_excluded(tmp_path):
    priv = os.fsencode(tmp_path / "priv")
    os.mkdir(priv)
    for name in (b"ok.txt", b"\xff.txt", b"b\xe9"):
        with open(os.path.join(priv, name), "wb"):
            pass
    with pytest.raises(PackageError, match=r"file name\(s\) not valid UTF-8: priv/\\xff.txt, priv/b\\xe9; rename them"):
        select_files(tmp_path, ["priv"])
    selected = select_files(tmp_path, ["priv"], [Regex("\\xff"), Regex("b\\xe9")])
    assert selected == ["priv", "priv/ok.txt"]
