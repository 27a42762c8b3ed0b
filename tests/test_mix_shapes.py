"""Real projects' mix.exs shapes (tests/fixtures/mix_shapes): the static reader reads what packaging
needs exactly as Elixir does, evaluates ``Mix.env()`` as ``mix hex.build`` would, and refuses with
the line what it cannot evaluate exactly."""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

import pytest
from conftest import ElixirReads, require_program
from hexpack.errors import ProjectError
from hexpack.hex.build import build_project
from hexpack.hex.tarball import read_package
from hexpack.mix.static import PACKAGING_KEYS, has_unreadable, read_statically
from hexpack.mix.terms import Atom
from test_build_reference import normalize_modes, reference_listdir
from test_mix_readers import assert_same_project

SHAPES = Path(__file__).parent / "fixtures" / "mix_shapes"
CASES = ("phoenix_like", "snex_like", "explorer_like", "exla_like", "pythonx_like", "mix_env", "fn_if", "if_parens")


def copy_shape(case: str, target: Path) -> Path:
    shutil.copytree(SHAPES / case / "project", target)
    # git keeps no empty directory, and Hex packed the shape's empty ones (pythonx_like's priv/)
    recorded = read_package((SHAPES / case / "hex-2.5.1.tar").read_bytes())
    for member in recorded.members:
        if member.kind == "dir":
            (target / member.path).mkdir(parents=True, exist_ok=True)
    return target


@pytest.fixture
def shape(tmp_path):
    return lambda case: copy_shape(case, tmp_path / case)


# (MIX_ENV, what project/0 prefers, the description and dep Mix.env() chose)
ENV_CASES = [
    (None, "start_permanent: false", "run in dev, compiled in dev", "other"),
    ("prod", "start_permanent: false", "run in prod, compiled in prod", "prod_only"),
    # Mix.CLI compiles mix.exs in :dev, then switches env and calls project/0 again
    (None, 'preferred_cli_env: ["hex.build": :prod]', "run in prod, compiled in dev", "other"),
    (None, "preferred_cli_env: %{docs: :docs}", "run in dev, compiled in dev", "other"),
    ("test", 'preferred_cli_env: ["hex.build": :prod]', "run in test, compiled in test", "other"),
]


@pytest.fixture(scope="module")
def by_elixir(tmp_path_factory) -> ElixirReads:
    """Every project the agreement tests below compare, read by one elixir process."""
    require_program("elixir")
    base = tmp_path_factory.mktemp("by_elixir")
    requests = {case: (copy_shape(case, base / case), {"MIX_ENV": None}) for case in CASES}
    requests["explorer_like built"] = (
        copy_shape("explorer_like", base / "explorer_like_built"),
        {"MIX_ENV": None, "EXPLORER_LIKE_BUILD": "true"},  # System.get_env is read at build time, here
    )
    requests["fn_if prod without links"] = (
        copy_shape("fn_if", base / "fn_if_prod"),
        {"MIX_ENV": "prod", "FN_IF_SHAPE_NO_LINKS": "1"},
    )
    for index, (mix_env, preferred, _, _) in enumerate(ENV_CASES):
        requests[(mix_env, preferred)] = (write_env_project(base / f"env{index}", preferred), {"MIX_ENV": mix_env})
    return ElixirReads(requests)


@pytest.mark.parametrize("case", CASES)
def test_static_reader_agrees_with_elixir(case, by_elixir, elixir, monkeypatch):
    root = by_elixir.use(case, monkeypatch)
    static = read_statically(root)
    assert not any(has_unreadable(value) for key, value in static.config if key in PACKAGING_KEYS)
    assert_same_project(static, by_elixir.read(case))


@pytest.mark.parametrize("case", CASES)
def test_static_read_builds_what_hex_built(case, shape, monkeypatch):
    """Each shape's recorded `mix hex.build` (Hex 2.5.1, MIX_ENV unset): the static reader's build is byte-identical."""
    monkeypatch.delenv("MIX_ENV", raising=False)
    monkeypatch.delenv("EXPLORER_LIKE_BUILD", raising=False)
    root = shape(case)
    normalize_modes(root)
    recorded = (SHAPES / case / "hex-2.5.1.tar").read_bytes()
    files = read_package(recorded).meta("files")
    result = build_project(read_statically(root), root=root, listdir=reference_listdir(root, files))
    assert result.tarball == recorded
    log = (SHAPES / case / "hex-2.5.1.log").read_text(encoding="utf-8").splitlines()
    assert result.report_lines == log[:-1]


def test_explorer_like_options_follow_the_environment(by_elixir, elixir, monkeypatch):
    monkeypatch.delenv("EXPLORER_LIKE_BUILD", raising=False)
    rustler = next(
        dep for dep in read_statically(by_elixir.use("explorer_like", monkeypatch)).deps if dep.name == "rustler"
    )
    assert rustler.opt("optional") is True
    static = read_statically(by_elixir.use("explorer_like built", monkeypatch))
    assert next(dep for dep in static.deps if dep.name == "rustler").opt("optional") is False
    assert_same_project(static, by_elixir.read("explorer_like built"))


def test_a_guard_before_the_module_is_an_assumption(shape):
    project = read_statically(shape("pythonx_like"))
    assert len(project.assumptions) == 1 and project.assumptions[0].startswith("mix.exs line 1: assumed")
    assert read_statically(shape("phoenix_like")).assumptions == ()  # code that cannot raise: nothing assumed


ENV_PROJECT = """\
defmodule EnvShape.MixProject do
  use Mix.Project

  @compiled_in Mix.env()
  if Mix.env() == :prod do
    defp deps, do: [{:prod_only, "~> 1.0"}]
  else
    defp deps, do: [{:other, "~> 1.0"}]
  end

  def project do
    [
      app: :env_shape,
      version: "1.0.0",
      description: "run in #{Mix.env()}, compiled in #{@compiled_in}",
      deps: deps(),
      {preferred}
    ]
  end
  {cli}
end
"""


def write_env_project(root: Path, preferred: str = "start_permanent: false", cli: str = "") -> Path:
    root.mkdir(exist_ok=True)
    (root / "mix.exs").write_text(ENV_PROJECT.replace("{preferred}", preferred).replace("{cli}", cli))
    return root


@pytest.mark.parametrize(("mix_env", "preferred", "description", "dep"), ENV_CASES)
def test_mix_env_is_the_env_mix_hex_build_runs_in(by_elixir, elixir, monkeypatch, mix_env, preferred, description, dep):
    static = read_statically(by_elixir.use((mix_env, preferred), monkeypatch))
    assert static.description == description
    assert [d.name for d in static.deps] == [dep]
    assert_same_project(static, by_elixir.read((mix_env, preferred)))


def test_a_cli_preference_for_hex_build_depends_on_the_elixir_version(tmp_path, monkeypatch):
    """Elixir 1.15+ reads `def cli`, 1.14 does not: the static reader cannot know which one builds."""
    monkeypatch.delenv("MIX_ENV", raising=False)
    cli = 'def cli, do: [preferred_envs: ["hex.build": :prod]]'
    root = write_env_project(tmp_path / "cli", cli=cli)
    with pytest.raises(ProjectError, match=r"line 15: cannot tell which env `mix hex.build` runs in"):
        read_statically(root)
    monkeypatch.setenv("MIX_ENV", "prod")  # then nothing is preferred
    assert read_statically(root).description == "run in prod, compiled in prod"
    other = write_env_project(tmp_path / "other", cli="def cli, do: [preferred_envs: [docs: :docs]]")
    monkeypatch.delenv("MIX_ENV")
    assert read_statically(other).description == "run in dev, compiled in dev"


def test_fn_if_follows_the_env_and_the_environment(by_elixir, elixir, monkeypatch):
    """fn_if's `if`/`unless` in function bodies, decided for each env and environment as Elixir decides them."""
    static = read_statically(by_elixir.use("fn_if prod without links", monkeypatch))
    assert [dep.name for dep in static.deps] == ["jason"]
    assert "links" not in static.package
    assert_same_project(static, by_elixir.read("fn_if prod without links"))


IF_IN_A_FUNCTION = """\
defmodule F.MixProject do
  use Mix.Project
  def project, do: [app: :f, version: "1.0.0", deps: deps()]
  defp deps do
    BODY
  end
end
"""


@pytest.mark.parametrize(
    ("body", "line", "what"),
    [
        ('if File.exists?("x") do\n      [{:a, "~> 1.0"}]\n    end', 5, "`File.exists?/1`"),
        ('if Mix.env() == :prod do\n      []\n    else\n      File.read!("x")\n    end', 8, "`File.read!/1`"),
        ('if Mix.env() == :dev do\n      []\n    else\n      File.read!("x")\n    end', None, None),
        ('unless System.get_env("HOME"),\n      do: File.read!("x"),\n      else: [] ++ []', None, None),
    ],
)
def test_an_if_in_a_function_is_read_only_when_exact(tmp_path, monkeypatch, body, line, what):
    """The condition must be evaluated exactly and then only the chosen branch is read (the other may hold
    anything, as Elixir never runs it); a condition or a chosen branch it cannot read is refused with its line."""
    monkeypatch.delenv("MIX_ENV", raising=False)
    monkeypatch.setenv("HOME", "/root")
    (tmp_path / "mix.exs").write_text(IF_IN_A_FUNCTION.replace("BODY", body))
    if what is None:
        assert read_statically(tmp_path).deps == []
        return
    with pytest.raises(ProjectError) as info:
        read_statically(tmp_path)
    assert f"mix.exs line {line}: cannot evaluate {what} without Elixir (for deps:)" in str(info.value)


@pytest.mark.parametrize(
    ("statement", "what"),
    [
        ("Module.put_attribute(__MODULE__, :x, 1)", "`Module.put_attribute/3` in the module body"),
        ('Code.eval_string("1")', "`Code.eval_string/1` in the module body"),
        ("Mix.env(:prod)", "`Mix.env/1` in the module body"),
        ('if File.exists?("x"), do: Code.require_file("x")', "`if` in the module body"),
        ("Application.put_env(:x, :y, 1)", "`Application.put_env/3` in the module body"),
    ],
)
def test_module_body_code_that_may_change_the_project_is_refused_with_its_line(tmp_path, statement, what):
    source = f"""\
    defmodule Body.MixProject do
      use Mix.Project
      {statement}
      def project, do: [app: :body, version: "1.0.0"]
    end
    """
    (tmp_path / "mix.exs").write_text(textwrap.dedent(source))
    with pytest.raises(ProjectError) as info:
        read_statically(tmp_path)
    assert f"mix.exs line 3: cannot evaluate {what} without Elixir" in str(info.value)


def test_harmless_module_body_code_is_skipped(tmp_path):
    source = """\
    defmodule Body.MixProject do
      use Mix.Project
      IO.puts("compiling #{Mix.env()}")
      for path <- :code.get_path(), String.contains?(List.to_string(path), "old"), do: Code.delete_path(path)
      def project, do: [app: :body, version: "1.0.0", deps: [{:a, "~> 1.0", optional: not true}]]
    end
    """
    (tmp_path / "mix.exs").write_text(textwrap.dedent(source))
    project = read_statically(tmp_path)
    assert project.deps[0].opts == [(Atom("optional"), False)]
    assert project.assumptions == ()


def test_auto_reads_statically_when_certain_and_with_elixir_otherwise(shape, tmp_path, elixir, monkeypatch):
    from hexpack.mix.readers import read_project

    monkeypatch.delenv("MIX_ENV", raising=False)
    assert read_project(shape("phoenix_like")).reader == "static"  # no BEAM start
    assert read_project(shape("pythonx_like")).reader == "elixir"  # a guard was assumed: Elixir decides
    needs_elixir = tmp_path / "needs_elixir"
    needs_elixir.mkdir()
    (needs_elixir / "mix.exs").write_text(
        "defmodule N.MixProject do\n  use Mix.Project\n"
        '  def project, do: [app: :n, version: "1.0.0", deps: deps()]\n'
        '  defp deps, do: if(Version.match?(System.version(), ">= 1.0.0"), do: [], else: [{:a, "~> 1.0"}])\n'
        "end\n"
    )
    project = read_project(needs_elixir)
    assert (project.reader, project.deps) == ("elixir", [])
