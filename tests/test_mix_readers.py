"""The two mix.exs readers: the real ``elixir`` (truth) and the static one.

Every test that runs elixir spawns it once (about 0.7 s each), never per
assertion, and the agreement tests share one for all their projects
(``by_elixir``). The ``elixir`` fixture fails these tests in CI when elixir is
missing and skips them elsewhere.
"""

from __future__ import annotations

import os
import random
import re
import textwrap
from pathlib import Path
from typing import Any

import pytest
from conftest import REFERENCE_CASES, ElixirReads, copy_reference, examples, require_program
from hexpack.errors import Problems, ProjectError
from hexpack.mix.elixir import Opaque, decode_etf, read_several_with_elixir, read_with_elixir
from hexpack.mix.project import Dep, MixProject
from hexpack.mix.readers import read_project
from hexpack.mix.static import PACKAGING_KEYS, Unreadable, evaluate_source, has_unreadable, read_statically
from hexpack.mix.terms import Atom, Regex, to_string
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st


def canon(value: Any, *, map_order: bool = True) -> Any:
    """A comparable form that tells atoms from strings and bools from ints.

    With ``map_order`` the order of map keys counts too (both readers hand
    maps over in Erlang's order for small maps).
    """
    if value is None:
        return ("nil",)
    if isinstance(value, bool):
        return ("bool", value)
    if isinstance(value, Atom):
        return ("atom", str.__str__(value))
    if isinstance(value, str):
        return ("str", value)
    if isinstance(value, int):
        return ("int", value)
    if isinstance(value, float):
        return ("float", value)
    if isinstance(value, Regex):
        return ("regex", value.source, value.options)
    if isinstance(value, list):
        return ("list", [canon(v, map_order=map_order) for v in value])
    if isinstance(value, tuple):
        return ("tuple", [canon(v, map_order=map_order) for v in value])
    if isinstance(value, dict):
        pairs = [(canon(k, map_order=map_order), canon(v, map_order=map_order)) for k, v in value.items()]
        return ("map", pairs if map_order else sorted(pairs, key=repr))
    return ("other", repr(value))


def tree(root: Path) -> dict[str, tuple[int, int]]:
    """Every path under root with its size and mtime, to prove nothing changed."""
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = Path(dirpath, name)
            st_ = path.lstat()
            found[str(path.relative_to(root))] = (st_.st_size, st_.st_mtime_ns)
    return found


def assert_same_project(static, elixir_read) -> None:
    """Equal in everything, except values the static reader kept as Unreadable (never packaging keys)."""
    unreadable = {key for key, value in static.config if has_unreadable(value)}
    assert not unreadable & set(PACKAGING_KEYS)
    assert canon([kv for kv in static.config if kv[0] not in unreadable]) == canon(
        [kv for kv in elixir_read.config if kv[0] not in unreadable]
    )
    assert (static.app, static.version, static.elixir, static.description) == (
        elixir_read.app,
        elixir_read.version,
        elixir_read.elixir,
        elixir_read.description,
    )
    assert [(d.name, d.requirement, canon(d.opts)) for d in static.deps] == [
        (d.name, d.requirement, canon(d.opts)) for d in elixir_read.deps
    ]
    assert canon(static.package) == canon(elixir_read.package)
    assert (static.reader, elixir_read.reader) == ("static", "elixir")


def write_project(tmp_path: Path, source: str) -> Path:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "mix.exs").write_text(textwrap.dedent(source), encoding="utf-8")
    return tmp_path


# --------------------------------------------------------------------------
# The Hex reference projects
# --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def by_elixir(tmp_path_factory) -> tuple[ElixirReads, dict[str, dict[str, tuple[int, int]]]]:
    """The projects the agreement tests below compare, read by one elixir process, and each tree before."""
    require_program("elixir")
    base = tmp_path_factory.mktemp("by_elixir")
    requests: dict[object, tuple[Path, dict[str, str | None]]] = {}
    for case in REFERENCE_CASES:
        requests[case] = (copy_reference(case, base / case), {})
    requests["snakepit_like"] = (write_project(base / "snakepit_like", SNAKEPIT_LIKE), {"MIX_ENV": None})
    (base / "tricky").mkdir()
    (base / "tricky" / "mix.exs").write_bytes(TRICKY.replace("\n", "\r\n").encode())
    requests["tricky"] = (base / "tricky", {})
    before = {key: tree(root) for key, (root, _) in requests.items()}
    return ElixirReads(requests), before


@pytest.mark.parametrize("case", REFERENCE_CASES)
def test_readers_agree_on_reference_project_and_leave_it_untouched(case, elixir, by_elixir, monkeypatch):
    reads, before = by_elixir
    root = reads.use(case, monkeypatch)
    from_elixir = reads.read(case)
    assert tree(root) == before[case], "reading with elixir must not create _build, deps or any other file"
    assert not (root / "_build").exists() and not (root / "deps").exists()
    assert_same_project(read_statically(root), from_elixir)


def test_hybrid_globs_values(reference_project):
    project = read_statically(reference_project("hybrid_globs"))
    assert project.app == "hybrid_globs"
    assert project.version == "1.4.0-rc.1"
    assert project.elixir == "~> 1.14"
    assert project.description == "Runs a Python gRPC bridge next to the BEAM.\n"  # heredoc, untrimmed
    assert project.deps == [
        Dep("jason", "~> 1.4", []),
        Dep("telemetry", "~> 1.2", [(Atom("optional"), True)]),
        Dep("ex_doc", "~> 0.30", [(Atom("only"), Atom("dev")), (Atom("runtime"), False)]),
    ]
    assert project.deps[2].opt("only") == "dev" and isinstance(project.deps[2].opt("only"), Atom)
    assert canon(project.exclude_patterns) == canon(
        ["**/__pycache__", Regex(r"\.pyc$", ""), "priv/python/hybrid_bridge/legacy"]
    )
    assert project.package["links"] == {
        "Changelog": "https://example.invalid/hybrid_globs/blob/main/CHANGELOG.md",
        "Source": "https://example.invalid/hybrid_globs",
    }
    assert list(project.package["links"]) == ["Changelog", "Source"]  # Erlang's map order
    assert project.files is not None and project.files[:3] == ["lib", "priv/proto", "priv/python/*.py"]
    assert project.files[-1] == "LICENSE*"
    assert project.package_name == "hybrid_globs"


def test_regex_excludes_values(reference_project):
    project = read_statically(reference_project("regex_excludes"))
    assert project.package_name == "regex_excludes_pkg"
    assert project.files == ["lib", "priv/python", "mix.exs", "README*"]
    assert canon(project.exclude_patterns) == canon(
        [
            Regex("__pycache__"),
            Regex(r"\.pyc$"),
            Regex(r"\.pytest_cache"),
            Regex("^priv/python/tests"),
            "egg-info",
        ]
    )
    assert project.exclude_patterns[3].search("priv/python/tests/test_x.py")
    assert project.package["extra"] == {"python": {"requires": ">=3.10"}}
    assert project.package["licenses"] == ["MIT", "Apache-2.0"]
    assert project.deps == [Dep("nimble_options", "~> 1.0", [])]


def test_default_files_and_path_dependency_values(reference_project):
    default = read_statically(reference_project("default_files"))
    assert default.description == "  Ships whatever Hex picks by default.  "  # trimming is the builder's job
    assert default.files is None
    assert default.package == {"licenses": ["MIT"], "links": {}}
    path_dep = read_statically(reference_project("path_dependency"))
    assert path_dep.deps[1] == Dep("local_dep", None, [(Atom("path"), "../local_dep")])


# --------------------------------------------------------------------------
# A snakepit-like project
# --------------------------------------------------------------------------

SNAKEPIT_LIKE = '''\
    defmodule Snakepit.MixProject do
      use Mix.Project

      @version "0.6.6"
      @source_url "https://example.invalid/snakepit"

      def project do
        [
          app: :snakepit,
          version: @version,
          elixir: "~> 1.14",
          start_permanent: Mix.env() == :prod,
          elixirc_paths: elixirc_paths(Mix.env()),
          description: description(),
          package: package(),
          deps: deps(),
          docs: docs(),
          aliases: ["proto.gen": ["cmd mkdir -p lib/generated", "cmd protoc --proto_path=priv/proto x.proto"]],
          name: "Snakepit",
          source_url: @source_url
        ]
      end

      def application do
        [extra_applications: [:logger], mod: {Snakepit.Application, []}]
      end

      defp deps do
        [
          {:jason, "~> 1.0"},
          {:grpc, "~> 0.10.2"},
          {:bridge, github: "example/bridge", branch: "main"},
          {:stream_data, "~> 1.0", only: [:test]},
          {:ex_doc, "~> 0.34", only: :dev, runtime: false}
        ]
      end

      defp description do
        """
        High-performance pooler and session manager for external language integrations.
        Supports Python with gRPC streaming.
        """
      end

      defp package do
        [
          name: "snakepit",
          licenses: ["MIT"],
          links: %{
            "GitHub" => @source_url,
            "Changelog" => "#{@source_url}/blob/main/CHANGELOG.md"
          },
          files: [
            "lib",
            "priv/proto",
            "priv/python/*.py",
            "priv/python/requirements*.txt",
            "priv/python/snakepit_bridge",
            # build configuration
            ".formatter.exs",
            "mix.exs",
            "README.md",
            "LICENSE*"
          ],
          exclude_patterns: ["**/__pycache__", ~r/\\.pyc$/]
        ]
      end

      defp docs do
        [
          main: "readme",
          source_ref: "v#{@version}",
          assets: %{"assets" => "assets"},
          extras: [
            "README.md",
            {"guides/INSTALLATION.md", title: "Installation Guide"},
            {"docs/adr-001.md",
             title: "ADR-001: Worker Starter Pattern"}
          ],
          groups_for_extras: ["Getting Started": ["guides/INSTALLATION.md"], Guides: ["README.md"]],
          groups_for_modules: ["Core API": [Snakepit, Snakepit.Adapter]],
          before_closing_head_tag: &docs_head/1
        ]
      end

      defp docs_head(:html), do: "<script></script>"
      defp docs_head(_), do: ""

      defp elixirc_paths(:test), do: ["lib", "test/support"]
      defp elixirc_paths(_), do: ["lib"]
    end
'''


def test_snakepit_like_project(elixir, by_elixir, monkeypatch):
    """snakepit's shape: Mix.env() and captures in keys packaging never reads don't stop the static reader."""
    reads, _ = by_elixir
    static = read_statically(reads.use("snakepit_like", monkeypatch))
    assert_same_project(static, reads.read("snakepit_like"))
    config = dict(static.config)
    assert config["start_permanent"] is False  # Mix.env() is :dev, as for `mix hex.build` without MIX_ENV
    assert config["elixirc_paths"] == Unreadable(13, "cannot evaluate `elixirc_paths/1` without Elixir")
    captures = [value for key, value in config["docs"] if isinstance(value, Unreadable)]
    assert len(captures) == 1 and "`&` (a function capture)" in captures[0].what  # the rest of docs: is read
    assert config["aliases"] == [
        (Atom("proto.gen"), ["cmd mkdir -p lib/generated", "cmd protoc --proto_path=priv/proto x.proto"])
    ]
    assert static.version == "0.6.6"
    assert static.deps[2] == Dep("bridge", None, [(Atom("github"), "example/bridge"), (Atom("branch"), "main")])
    assert static.deps[3].opt("only") == [Atom("test")]
    assert "priv/python/*.py" in static.files and "priv/python/requirements*.txt" in static.files
    docs = dict(evaluate_source(textwrap.dedent(SNAKEPIT_LIKE).replace("&docs_head/1", '""')))["docs"]
    assert dict(docs)["source_ref"] == "v0.6.6"
    assert dict(docs)["extras"][1] == ("guides/INSTALLATION.md", [(Atom("title"), "Installation Guide")])
    groups = dict(dict(docs)["groups_for_modules"])
    assert canon(groups["Core API"]) == canon([Atom("Elixir.Snakepit"), Atom("Elixir.Snakepit.Adapter")])
    assert static.description.endswith("gRPC streaming.\n")


def test_elixir_reads_what_the_static_reader_refuses(tmp_path, elixir):
    """Real-world shapes: Mix.env(), a function with arguments, captures."""
    root = write_project(
        tmp_path,
        """\
        defmodule Real.MixProject do
          use Mix.Project

          def project do
            [
              app: :real,
              version: "1.0.0",
              start_permanent: Mix.env() == :prod,
              elixirc_paths: elixirc_paths(Mix.env()),
              docs: [before_closing_body_tag: &before_closing_body_tag/1]
            ]
          end

          defp elixirc_paths(:test), do: ["lib", "test/support"]
          defp elixirc_paths(_), do: ["lib"]

          def before_closing_body_tag(_), do: ""
        end
        """,
    )
    static = read_statically(root)  # none of these keys is one packaging reads
    assert [key for key, value in static.config if has_unreadable(value)] == ["elixirc_paths", "docs"]
    assert dict(static.config)["start_permanent"] is False
    project = read_project(root, reader="elixir")
    assert project.reader == "elixir"
    config = dict(project.config)
    assert config["start_permanent"] is False
    assert config["elixirc_paths"] == ["lib"]
    capture = dict(config["docs"])["before_closing_body_tag"]
    assert isinstance(capture, Opaque) and capture.kind == "function"
    assert "before_closing_body_tag" in capture.text


TRICKY = r'''
# comment with #{ and "
defmodule Tricky.MixProject do
  use Mix.Project
  alias Tricky.Sub, as: S
  @x "X"
  @tab "\ttabbed"
  @moduledoc """
  Docs mention #{@x}.
  """
  def project() do
    name = "bee"
    [
      app: :tricky,
      version: "1.0.0",
      h1: """
        indented #{@x}
          a #{
            @x
          } b \
      joined "quotes" \#{not}
      """,
      h2: ~S"""
      raw \n #{no}
      """,
      h3: ~r"""
      ^a\n
      """x,
      regexes: [~r/a\/b\.c\n/i, ~r{^priv/x}, ~r|x|U, ~R/a\/b\d/, ~r"q\"z"ms, ~r/#{@x}/, ~r<x>],
      w: ~w(#{@x}a b#{@x})a ++ ~W[x#{1} y] ++ ~w/p q/c,
      chars: [?é, ?\s, ?\t, ?", ?#, ?\\, 'abc', ~c(a b)],
      keys: ["quoted#{@x}": 1, "plain": 2, a?: 3],
      nested: "#{"a#{@x}b"}",
      vars: [name, @tab],
      seps: [~s<a\>b>, ~s[a\]b], ~s{a\}b}, ~s"a\"b", ~s'a\'b', ~s|a\|b|, ~s/a\/b/],
      nums: [1, -2, 0x1F, 0b101, 0o17, 1_000, 1.5, -2.5e-3, 1.0e10, 123_456.789e2, 123456789012345678901234567890],
      atoms: [:a, :"b c", :c?, :d!, :e@f, S, Tricky.Other, Elixir.Q, __MODULE__, true, :nil, :é],
      maps: %{"z" => 1, :a => 2, 1 => 3, {1} => 4, [1] => 5, "b" => %{nested: [1]}, "q": 6},
      tuples: {:a, b: 1},
      escapes: "tab\t nl\n q\" bs\\ hash\# uni\u00e9 \u{1F600} \x41 \e\s\d",
      multiline: "line1
    line2",
      crlf: "kept",
      from_fun: more(),
      trailing: [1, 2,],
    ]
  end

  defp more,
    do: [:done]
end
'''


def test_readers_agree_on_tricky_syntax_with_crlf_line_endings(elixir, by_elixir, monkeypatch):
    """Sigils with every delimiter, heredocs, interpolation, escapes, aliases and CRLF."""
    reads, _ = by_elixir
    root = reads.use("tricky", monkeypatch)
    static = read_statically(root)
    assert b"\r\n" in (root / "mix.exs").read_bytes()
    assert_same_project(static, reads.read("tricky"))
    config = dict(static.config)
    assert config["h1"] == '  indented X\r\n    a X b joined "quotes" #{not}\r\n'
    assert canon(config["atoms"][5]) == canon(Atom("Elixir.Tricky.Sub"))
    assert config["multiline"] == "line1\r\n    line2"


# --------------------------------------------------------------------------
# Refusals and errors
# --------------------------------------------------------------------------

REFUSAL_TEMPLATE = """\
defmodule R.MixProject do
  use Mix.Project

  @unused File.read!("NOT_READ")

  def project do
    [
      app: :r,
      version: {version},
      deps: []
    ]
  end
end
"""


@pytest.mark.parametrize(
    ("expression", "construct"),
    [
        ('File.read!("VERSION")', "`File.read!/1`"),
        ('System.fetch_env!("VERSION")', "`System.fetch_env!/1`"),
        ('"0.1.0" |> String.trim()', "`|>` (a pipe)"),
        ("Mix.target()", "`Mix.target/0`"),
        ('String.ends_with?("a", :a)', "`String.ends_with?/2` here"),
        ('"x" and true', "`and` on a value that is not a boolean"),
        ('if true, do: "1", else: "2"', "`if`"),
        ('if(true) do\n      "1"\n    end', "`if`"),  # parenthesised, only if(c, do: a, else: b) is read
        ('if(true, do: "1", else: "2", also: "3")', "`if`"),
        ('unless(true, [do: "1"])', "`unless`"),
        ('case 1 do\n      _ -> "1"\n    end', "`case`"),
        ("version()", "`version/0`"),
        ("elixirc_paths(:test)", "`elixirc_paths/1`"),
        ("@missing", "module attribute @missing is not set before this use"),
        ('"#{1.5}"', "a float interpolated into a string"),
        ("1 + 1", "`+`"),
        ("%Version{}", "the struct `%Version{}`"),
        ("~D[2024-01-01]", "the sigil `~D`"),
        (":os.getenv()", "`:os.getenv/0`"),
    ],
)
def test_static_reader_refuses_with_line_number(tmp_path, expression, construct):
    root = write_project(tmp_path, REFUSAL_TEMPLATE.replace("{version}", expression))
    with pytest.raises(ProjectError) as info:
        read_statically(root)
    message = str(info.value)
    assert message.startswith(f"{root / 'mix.exs'} line 9: "), message
    assert construct in message
    assert message.endswith("install elixir (apt-get install -y elixir)")
    assert "\n" not in message


def test_static_refusal_names_the_line_inside_a_helper(tmp_path):
    root = write_project(
        tmp_path,
        """\
        defmodule R.MixProject do
          use Mix.Project
          @version "VERSION"
                   |> File.read!()
                   |> String.trim()

          def project, do: [app: :r, version: @version, package: package()]

          defp package do
            [
              files: ~w(lib mix.exs),
              links: %{"Env" => System.fetch_env!("URL")}
            ]
          end
        end
        """,
    )
    with pytest.raises(Problems) as every:  # both keys packaging reads are reported in one go
        read_statically(root)
    assert [line.split("mix.exs ", 1)[1] for line in every.value.lines()] == [
        "line 4: cannot evaluate `|>` (a pipe) without Elixir (for version:); "
        "install elixir (apt-get install -y elixir)",
        "line 12: cannot evaluate `System.fetch_env!/1` without Elixir (for package:); "
        "install elixir (apt-get install -y elixir)",
    ]
    source = re.sub(r'"VERSION"\s*\|> File\.read!\(\)\s*\|> String\.trim\(\)', '"1"', (root / "mix.exs").read_text())
    (root / "mix.exs").write_text(source)
    with pytest.raises(ProjectError, match=r"line 10: cannot evaluate `System\.fetch_env!/1` without Elixir"):
        read_statically(root)


def test_static_reader_is_lazy_about_what_project_does_not_use():
    source = textwrap.dedent(
        """\
        # a comment before the module
        defmodule Helper do
          def helper, do: System.get_env("X")
        end

        defmodule L.MixProject do
          use Mix.Project
          import Bitwise
          require Logger
          alias L.Sub, as: S

          @moduledoc false
          @spec project() :: keyword
          @version "1.0.0"
          @unused File.read!("nope") |> String.trim()
          @url "https://x.invalid/#{@version}"
          @version "2.0.0"

          def project do
            version = @version
            [app: :l, version: version, url: @url, mod: S, more: more() ++ [:z]; extra()]
          end

          def application, do: [mod: {L.App, Mix.env()}]
          defp more, do: [:a]
          defp extra do
            %{list: ~w[a b]a}
          end
          defp with_args(x), do: x
        end
        """
    )
    with pytest.raises(ProjectError, match="line 21"):  # `;` inside a list is not data
        evaluate_source(source)
    config = evaluate_source(source.replace("[:z]; extra()", "[:z], extra: extra()"))
    assert canon(config) == canon(
        [
            (Atom("app"), Atom("l")),
            (Atom("version"), "2.0.0"),
            (Atom("url"), "https://x.invalid/1.0.0"),
            (Atom("mod"), Atom("Elixir.L.Sub")),
            (Atom("more"), [Atom("a"), Atom("z")]),
            (Atom("extra"), {Atom("list"): [Atom("a"), Atom("b")]}),
        ]
    )


def test_static_reader_errors_name_the_file(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        read_statically(tmp_path)
    root = write_project(tmp_path, "defmodule X do\nend\n")
    with pytest.raises(ProjectError, match=r"line 1: no module calls `use Mix.Project`"):
        read_statically(root)
    root = write_project(tmp_path, 'defmodule X.MixProject do\n  use Mix.Project\n  def project, do: [app: "x"]\nend\n')
    with pytest.raises(ProjectError, match=r'mix\.exs: app: must be an atom, got "x"'):
        read_statically(root)


def test_every_wrongly_typed_project_field_is_reported_at_once(tmp_path):
    from hexpack.errors import Problems

    body = '[app: "x", version: 1, description: :short, deps: [{:a, 3}, {:b, "~> 1.0"}, :c], package: 7]'
    root = write_project(tmp_path, f"defmodule X.MixProject do\n  use Mix.Project\n  def project, do: {body}\nend\n")
    with pytest.raises(Problems) as info:
        read_statically(root)
    assert [line.replace(str(root / "mix.exs"), "mix.exs") for line in info.value.lines()] == [
        'mix.exs: app: must be an atom, got "x"',
        "mix.exs: version: must be a string, got 1",
        "mix.exs: description: must be a string, got :short",
        "mix.exs: dependency specified in the wrong format: {:a, 3}; use {:name, requirement}, {:name, opts} or"
        " {:name, requirement, opts}",
        "mix.exs: dependency specified in the wrong format: :c; use {:name, requirement}, {:name, opts} or"
        " {:name, requirement, opts}",
        "mix.exs: package: must be a keyword list or a map, got 7",
    ]


def test_elixir_reader_gives_one_line_for_a_broken_mix_exs(tmp_path, elixir):
    root = write_project(
        tmp_path,
        """\
        defmodule Broken.MixProject do
          use Mix.Project
          def project do
            [app: :broken, version: "1.0.0"
          end
        end
        """,
    )
    before = tree(root)
    with pytest.raises(ProjectError) as info:
        read_with_elixir(root)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{root / 'mix.exs'}: Elixir cannot evaluate it: (SyntaxError) ")
    assert re.search(r"mix\.exs:5(:\d+)?: ", message), message
    assert tree(root) == before


def test_elixir_reader_reports_an_exception_raised_by_project(tmp_path, elixir):
    root = write_project(
        tmp_path,
        """\
        defmodule Raises.MixProject do
          use Mix.Project
          def project, do: [app: :raises, version: File.read!("NO_SUCH_VERSION_FILE")]
        end
        """,
    )
    with pytest.raises(ProjectError, match=r"\(File\.Error\) could not read file \"NO_SUCH_VERSION_FILE\"") as info:
        read_with_elixir(root)
    assert "\n" not in str(info.value)


def test_elixir_reader_needs_a_mix_exs(tmp_path):
    with pytest.raises(ProjectError, match="no such file"):
        read_with_elixir(tmp_path)


def log_elixir_calls(tmp_path: Path, elixir: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Put an ``elixir`` first on PATH that logs its arguments, one line per call, then runs the real one."""
    wrapper = tmp_path / "bin" / "elixir"
    wrapper.parent.mkdir()
    log = tmp_path / "calls.log"
    wrapper.write_text(f'#!/bin/sh\necho "$@" >> "{log}"\nexec "{elixir}" "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{wrapper.parent}{os.pathsep}{os.environ['PATH']}")
    return log


def test_elixir_reader_runs_one_elixir_process_per_read(tmp_path, elixir, reference_project, monkeypatch):
    root = reference_project("regex_excludes")
    log = log_elixir_calls(tmp_path, elixir, monkeypatch)
    assert read_with_elixir(root).package_name == "regex_excludes_pkg"
    calls = log.read_text().splitlines()
    assert len(calls) == 1 and calls[0].endswith("read_project.exs")


SEVERAL = """\
defmodule Same.MixProject do
  use Mix.Project
  @compiled_in Mix.env()
  def project, do: [app: :same, version: "{version}", description: "#{{@compiled_in}} #{{shape()}}"]
  defp shape, do: System.get_env("SEVERAL_SHAPE", "unset")
end
"""


def test_several_reads_share_one_elixir_and_each_sees_only_its_own_variables(tmp_path, elixir, monkeypatch):
    """Same module name in every project: each read pops the last project and purges its module."""
    log = log_elixir_calls(tmp_path, elixir, monkeypatch)
    monkeypatch.delenv("MIX_ENV", raising=False)
    monkeypatch.setenv("SEVERAL_SHAPE", "outer")
    roots = [write_project(tmp_path / f"p{i}", SEVERAL.format(version=f"1.0.{i}")) for i in range(4)]
    broken = write_project(tmp_path / "broken", "defmodule Broken do\n")
    results = read_several_with_elixir(
        [
            (roots[0], {"MIX_ENV": "prod", "SEVERAL_SHAPE": "first"}),
            (roots[1], {}),
            (broken, {}),
            (roots[2], {"SEVERAL_SHAPE": None}),
            (roots[3], {"MIX_ENV": "test"}),
        ]
    )
    assert [r.description if isinstance(r, MixProject) else type(r) for r in results] == [
        "prod first",
        "dev outer",  # the first read's variables and env were put back
        ProjectError,
        "dev unset",
        "test outer",
    ]
    assert [r.version for r in results if isinstance(r, MixProject)] == ["1.0.0", "1.0.1", "1.0.2", "1.0.3"]
    assert str(results[2]).startswith(f"{broken / 'mix.exs'}: Elixir cannot evaluate it: ")
    assert [line.split()[-1] for line in log.read_text().splitlines()] == ["--several"]


def test_several_reads_agree_with_single_reads_and_name_every_missing_mix_exs(tmp_path, elixir):
    root = write_project(tmp_path / "one", SEVERAL.format(version="2.0.0"))
    (several,) = read_several_with_elixir([(root, {})])
    alone = read_with_elixir(root)
    assert (several.config, several.root, several.reader) == (alone.config, alone.root, alone.reader)
    with pytest.raises(ProjectError) as info:
        read_several_with_elixir([(tmp_path / "a", {}), (root, {}), (tmp_path / "b", {})])
    assert str(info.value).startswith(f"{tmp_path / 'a' / 'mix.exs'}, {tmp_path / 'b' / 'mix.exs'}: no such file")


def test_a_mix_exs_that_halts_elixir_fails_its_read_and_every_later_one(tmp_path, elixir):
    first = write_project(tmp_path / "first", SEVERAL.format(version="1.0.0"))
    halts = write_project(tmp_path / "halts", "System.halt(3)\n")
    later = write_project(tmp_path / "later", SEVERAL.format(version="1.0.1"))
    results = read_several_with_elixir([(first, {}), (halts, {}), (later, {})])
    assert isinstance(results[0], MixProject) and results[0].version == "1.0.0"
    assert [str(r) for r in results[1:]] == [
        f"{halts / 'mix.exs'}: Elixir cannot evaluate it: elixir exited with status 3",
        f"{later / 'mix.exs'}: Elixir cannot evaluate it: elixir exited with status 3",
    ]


def _etf(*chunks: bytes) -> bytes:
    return bytes([131]) + b"".join(chunks)


def test_etf_decoder_handles_every_tag_elixir_can_send():
    atom_utf8 = bytes([118, 0, 2]) + "é".encode()
    small_atom_utf8 = bytes([119, 3]) + b"nil"
    large_tuple = bytes([105, 0, 0, 1, 0]) + bytes([97, 1]) * 256
    charlist = bytes([107, 0, 2]) + b"ab"
    not_utf8 = bytes([109, 0, 0, 0, 1, 0xFF])
    large_big = bytes([111, 0, 0, 0, 2, 1, 0, 1])  # -(256)
    old_float = bytes([99]) + b"1.50000000000000000000e+00".ljust(31, b"\0")
    assert decode_etf(_etf(atom_utf8)) == Atom("é")
    assert decode_etf(_etf(small_atom_utf8)) is None
    assert decode_etf(_etf(large_tuple)) == (1,) * 256
    assert decode_etf(_etf(charlist)) == [97, 98]
    assert decode_etf(_etf(not_utf8)) == b"\xff"
    assert decode_etf(_etf(large_big)) == -256
    assert decode_etf(_etf(old_float)) == 1.5
    regex = (
        bytes([104, 3, 100, 0, 17]) + b"__hexpack_regex__" + bytes([109, 0, 0, 0, 1]) + b"a" + bytes([109, 0, 0, 0, 0])
    )
    assert decode_etf(_etf(regex)) == Regex("a", "")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an Erlang external term"),
        (bytes([130, 106]), "not an Erlang external term"),
        (_etf(bytes([109, 0, 0, 0, 9]) + b"abc"), "truncated term"),
        (_etf(bytes([106, 106])), "trailing bytes"),
        (_etf(bytes([108, 0, 0, 0, 1, 97, 1, 97, 2])), "improper list"),
        (_etf(bytes([88])), "unsupported term tag 88"),
    ],
)
def test_etf_decoder_refuses_bad_input(data, message):
    with pytest.raises(ProjectError, match=message):
        decode_etf(data)


# --------------------------------------------------------------------------
# Property: random literal data written as Elixir reads back equal
# --------------------------------------------------------------------------

_WORD = st.from_regex(r"[a-z_][a-zA-Z0-9_]{0,8}[?!]?", fullmatch=True).filter(
    lambda w: w not in ("true", "false", "nil", "do", "end", "fn", "when", "and", "or", "not", "in")
)
_TEXT = st.text(
    st.one_of(
        st.sampled_from(list('\n\t"\\#{}()/|ab é😀 ')),
        st.characters(blacklist_categories=("Cs", "Cc", "Cf", "Co", "Cn", "Zl", "Zp")),
    ),
    max_size=12,
)
_REGEX_PIECES = st.sampled_from(
    ["a", "b", r"\.", ".", "^", "$", r"\d", "[a-z]", "(x|y)", "_", "-", "priv/", "a*", r"\d+", "[a-z]*", r"\.py$"]
)


@st.composite
def _regexes(draw):
    source = "".join(draw(st.lists(_REGEX_PIECES, min_size=1, max_size=6)))
    options = "".join(sorted(draw(st.sets(st.sampled_from("imsxuU"), max_size=2))))
    return Regex(source, options)


_ATOMS = st.one_of(_WORD, _TEXT.filter(lambda t: t not in ("true", "false", "nil"))).map(Atom)
_MAP_KEYS = st.one_of(_TEXT, st.integers(-1000, 1000), _WORD.map(Atom))
_LEAVES = st.one_of(
    _TEXT,
    _ATOMS,
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False, allow_subnormal=False, min_value=-1e300, max_value=1e300),
    st.booleans(),
    st.none(),
    _regexes(),
)
_VALUES = st.recursive(
    _LEAVES,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.lists(children, max_size=4).map(tuple),
        st.dictionaries(_MAP_KEYS, children, max_size=4),
        st.lists(st.tuples(_WORD.map(Atom), children), min_size=1, max_size=4),  # keyword lists
    ),
    max_leaves=12,
)


class _Renderer:
    """Writes a Python value as Elixir source, choosing among equivalent spellings."""

    def __init__(self, rnd: random.Random):
        self.rnd = rnd
        self.definitions: list[str] = []  # module attributes, in order
        self.functions: list[str] = []
        self.in_attr = 0  # Elixir evaluates attributes before the module's functions exist

    def choice(self, options: list[str]) -> str:
        return self.rnd.choice(options)

    def render(self, value: Any) -> str:
        how = self.choice(["inline", "inline", "inline", "attr"] + ([] if self.in_attr else ["fun"]))
        self.in_attr += how == "attr"
        text = self.inline(value)
        self.in_attr -= how == "attr"
        if how == "attr":
            name = f"a{len(self.definitions)}"
            self.definitions.append(f"  @{name} {text}\n")
            return f"@{name}"
        if how == "fun":
            name = f"f{len(self.functions)}"
            if self.choice(["short", "block"]) == "short":
                self.functions.append(f"  defp {name}, do: {text}\n")
            else:
                self.functions.append(f"  defp {name} do\n    {text}\n  end\n")
            return f"{name}()"
        return text

    def inline(self, value: Any) -> str:  # noqa: PLR0911
        if value is None:
            return self.choice(["nil", ":nil"])
        if isinstance(value, bool):
            text = "true" if value else "false"
            return self.choice([text, ":" + text])
        if isinstance(value, Atom):
            return self.atom(value)
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, int):
            if value >= 1000 and self.choice(["plain", "underscored"]) == "underscored":
                return f"{value // 1000}_{value % 1000:03d}"
            return str(value)
        if isinstance(value, float):
            return to_string(value)  # Elixir prints a float as it reads it back
        if isinstance(value, Regex):
            opener = self.choice([d for d in ("/", "{", "|", "(") if _CLOSERS.get(d, d) not in value.source])
            source = value.source.replace("/", "\\/") if opener == "/" else value.source
            return f"~r{opener}{source}{_CLOSERS.get(opener, opener)}{value.options}"
        if isinstance(value, tuple):
            return "{" + ", ".join(self.render(v) for v in value) + "}"
        if isinstance(value, dict):
            plain = value and all(isinstance(k, Atom) and re.fullmatch(r"[a-z_]\w*[?!]?", k) for k in value)
            if plain and self.choice(["arrow", "keyword"]) == "keyword":
                return "%{" + ", ".join(f"{k}: {self.render(v)}" for k, v in value.items()) + "}"
            return "%{" + ", ".join(f"{self.render(k)} => {self.render(v)}" for k, v in value.items()) + "}"
        if isinstance(value, list):
            return self.list(value)
        raise AssertionError(value)

    def list(self, value: list[Any]) -> str:
        keyword = value and all(
            isinstance(v, tuple) and len(v) == 2 and isinstance(v[0], Atom) and re.fullmatch(r"[a-z_]\w*[?!]?", v[0])
            for v in value
        )
        if keyword and self.choice(["kw", "tuples"]) == "kw":
            return "[" + ", ".join(f"{k}: {self.render(v)}" for k, v in value) + "]"
        words = value and all(
            isinstance(v, str) and not isinstance(v, Atom) and re.fullmatch(r"[\w.*/-]+", v) for v in value
        )
        if words and self.choice(["list", "sigil"]) == "sigil":
            used = set("".join(value))
            opener = self.choice([d for d in ("(", "[", "|", "/", "<") if not {d, _CLOSERS.get(d, d)} & used])
            return f"~{self.choice(['w', 'W'])}{opener}{' '.join(value)}{_CLOSERS.get(opener, opener)}"
        if len(value) >= 2 and self.choice(["one", "concat"]) == "concat":
            cut = self.rnd.randint(0, len(value))
            return self.list(value[:cut]) + " ++ " + self.list(value[cut:])
        trailing = "," if value and self.choice(["", "trailing"]) == "trailing" else ""
        return "[" + ", ".join(self.render(v) for v in value) + trailing + "]"

    def atom(self, value: Atom) -> str:
        text = str.__str__(value)
        if re.fullmatch(r"[a-z_][a-zA-Z0-9_]*[?!]?", text):
            return ":" + text
        return ':"' + _escape(text) + '"'

    def string(self, value: str) -> str:
        style = self.choice(["quoted", "quoted", "sigil_s", "sigil_S", "heredoc", "interpolated", "concat"])
        if style == "sigil_s":
            return "~s(" + value.replace("\\", "\\\\").replace(")", "\\)").replace("#{", "\\#{") + ")"
        if style == "sigil_S" and not set("\\|") & set(value):
            return "~S|" + value + "|"
        if style == "heredoc" and value.endswith("\n"):
            indent = " " * self.rnd.randint(0, 6)
            body = "".join(indent + line + "\n" for line in _escape(value, newlines=False)[:-1].split("\n"))
            return '"""\n' + body + indent + '"""'
        if style == "interpolated" and value:
            cut = self.rnd.randint(0, len(value))
            name = f"a{len(self.definitions)}"
            self.definitions.append(f"  @{name} {self.string(value[:cut])}\n")
            return '"#{@' + name + "}" + _escape(value[cut:]) + '"'
        if style == "concat" and value:
            cut = self.rnd.randint(0, len(value))
            return self.string(value[:cut]) + " <> " + self.string(value[cut:])
        return '"' + _escape(value) + '"'


_CLOSERS = {"(": ")", "[": "]", "{": "}", "<": ">"}


def _escape(text: str, *, newlines: bool = True) -> str:
    text = text.replace("\\", "\\\\").replace('"', '\\"').replace("#{", "\\#{").replace("\t", "\\t")
    return text.replace("\n", "\\n") if newlines else text


def _mix_exs(renderer: _Renderer, data: str) -> str:
    return (
        "defmodule Prop.MixProject do\n  use Mix.Project\n\n"
        + "".join(renderer.definitions)
        + f'\n  def project do\n    [app: :prop, version: "0.1.0", data: {data}]\n  end\n\n'
        + "".join(renderer.functions)
        + "end\n"
    )


def _expected(value: Any) -> list[tuple[Atom, Any]]:
    return [(Atom("app"), Atom("prop")), (Atom("version"), "0.1.0"), (Atom("data"), value)]


@settings(max_examples=examples(200), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(value=_VALUES, rnd=st.randoms(use_true_random=False))
def test_static_reader_reads_back_random_literal_data(value, rnd):
    renderer = _Renderer(rnd)
    source = _mix_exs(renderer, renderer.render(value))
    assert canon(evaluate_source(source), map_order=False) == canon(_expected(value), map_order=False), source


@settings(
    max_examples=3,
    deadline=None,
    phases=[Phase.explicit, Phase.reuse, Phase.generate],  # shrinking would rerun elixir for minutes
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
@given(values=st.lists(_VALUES, min_size=8, max_size=8), rnd=st.randoms(use_true_random=False))
def test_both_readers_agree_on_random_literal_data(values, rnd, tmp_path_factory, elixir):
    renderer = _Renderer(rnd)
    source = _mix_exs(renderer, "[" + ", ".join(renderer.render(v) for v in values) + "]")
    root = tmp_path_factory.mktemp("prop")
    (root / "mix.exs").write_text(source, encoding="utf-8")
    from_elixir = read_with_elixir(root).config
    assert canon(from_elixir, map_order=False) == canon(_expected(values), map_order=False), source
    assert canon(evaluate_source(source)) == canon(from_elixir), source


_MUTATIONS = st.sampled_from(
    list("()[]{}\"'#\\~/|<>%@:,.\n ;=&?!-+*^") + ["do", "end", "fn", '"""', "#{", "~r", "\\\n"]
)


@settings(max_examples=examples(300), deadline=None)
@given(
    case=st.sampled_from(REFERENCE_CASES),
    edits=st.lists(st.tuples(st.floats(0, 1), st.integers(0, 6), _MUTATIONS), min_size=1, max_size=3),
)
def test_static_reader_only_raises_project_error_on_mangled_mix_exs(case, edits):
    from conftest import HEX_REFERENCE

    source = (HEX_REFERENCE / case / "project" / "mix.exs").read_text()
    for where, cut, insert in edits:
        at = int(where * len(source))
        source = source[:at] + insert + source[at + cut :]
    try:
        evaluate_source(source)
    except ProjectError as exc:
        assert "\n" not in str(exc)


def test_static_reader_refuses_absurd_nesting():
    source = "defmodule D.MixProject do\n  use Mix.Project\n  def project, do: " + "[" * 5000 + "]" * 5000 + "\nend\n"
    with pytest.raises(ProjectError, match="nested too deeply"):
        evaluate_source(source)
