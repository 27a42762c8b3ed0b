"""The one settings validator: a table declared as data, every problem named at once, one path rule."""

from __future__ import annotations

import pytest
from hexpack import config
from hexpack.errors import Problems, ProjectError
from hexpack.settings_schema import (
    Choice,
    Field,
    Flag,
    Number,
    ProjectPath,
    ProjectPaths,
    Rule,
    Sub,
    Table,
    Text,
    TextMap,
    Texts,
    check,
    toml_form,
    validate,
)

INNER = Table("demo.inner", (Field("snippet", Text(empty=True), default=""),))
DEMO = Table(
    "demo",
    (
        Field(
            "pin", Text(noun='one exact version such as "1.2.3"', pattern=r"\d+(\.\d+)*"), required=True, form='"1.2.3"'
        ),
        Field("out", ProjectPath(), default="out"),
        Field("protos", ProjectPaths(glob=True), default=("proto/*.proto",)),
        Field("mode", Choice(("auto", "minor", "patch")), default="auto"),
        Field("fast", Flag(), default=True),
        Field("timeout", Number(), default=60.0),
        Field("argv", Texts(nonempty=True, noun="an argv list (no shell)"), default=("nox", "-s", "lint")),
        Field("env", TextMap(), default={}),
        Field("inner", Sub(INNER), default=INNER.defaults()),
    ),
)
SUBJECT = "pyproject.toml [tool.hexpack.demo]"


def test_absent_keys_read_as_their_defaults_and_values_are_typed(tmp_path):
    values = validate(
        DEMO, {"pin": "1.2.3", "timeout": 5, "out": "./build/", "protos": "a/b.proto"}, root=tmp_path, subject=SUBJECT
    )
    assert values == {
        "pin": "1.2.3",
        "out": "build",  # normalised, relative to the project root
        "protos": ("a/b.proto",),  # one string is a list of one
        "mode": "auto",
        "fast": True,
        "timeout": 5.0,
        "argv": ("nox", "-s", "lint"),
        "env": {},
        "inner": {"snippet": ""},
    }


def test_every_problem_is_reported_at_once_in_declaration_order(tmp_path):
    raw = {
        "outt": "x",
        "out": 4,
        "protos": ["../other/*.proto", "/etc/x.proto"],
        "mode": "major",
        "fast": "yes",
        "timeout": 0,
        "argv": "nox -s lint",
        "env": {"A": 1},
        "inner": {"snipet": "IO.puts(1)"},
    }
    with pytest.raises(Problems) as caught:
        validate(DEMO, raw, root=tmp_path, subject=SUBJECT)
    assert caught.value.lines() == [
        f"{SUBJECT}: unknown setting(s) outt (did you mean out?); known settings: argv, env, fast, inner, mode, out,"
        " pin, protos, timeout",
        f'{SUBJECT}: pin must be one exact version such as "1.2.3"; add pin = "1.2.3"',
        f'{SUBJECT}: out must be a path, got 4; write e.g. out = "out"',
        f"{SUBJECT}: protos = '../other/*.proto' leaves the project; use a path relative to the project root,"
        " without '..' or a link out of it",
        f"{SUBJECT}: protos = '/etc/x.proto' leaves the project; use a path relative to the project root,"
        " without '..' or a link out of it",
        f"{SUBJECT}: mode must be one of auto, minor, patch, got 'major'; write e.g. mode = \"auto\"",
        f"{SUBJECT}: fast must be true or false, got 'yes'; write e.g. fast = true",
        f"{SUBJECT}: timeout must be a positive number, got 0; write e.g. timeout = 60.0",
        f"{SUBJECT}: argv must be an argv list (no shell), got 'nox -s lint';"
        ' write e.g. argv = ["nox", "-s", "lint"]',
        f"{SUBJECT}: env must be a table of strings, got {{'A': 1}}",
        "pyproject.toml [tool.hexpack.demo.inner]: unknown setting(s) snipet (did you mean snippet?);"
        " known settings: snippet",
    ]


def test_one_problem_is_raised_as_itself():
    with pytest.raises(ProjectError) as caught:
        validate(DEMO, {"pin": 1}, root=None, subject=SUBJECT)
    assert not isinstance(caught.value, Problems)
    assert (
        caught.value.one_line()
        == f'{SUBJECT}: pin must be one exact version such as "1.2.3", got 1; write e.g. pin = "1.2.3"'
    )


def test_an_unknown_key_far_from_every_known_one_gets_no_guess():
    problems = check(DEMO, {"pin": "1", "colour": "blue"}, root=None, subject=SUBJECT)[1]
    assert [p.what for p in problems] == ["unknown setting(s) colour"]


@pytest.mark.parametrize("text", ["/etc", "\\\\server\\share", "C:/x", "..", "../x", "a/../../x"])
def test_a_path_outside_the_project_is_refused_as_text(text):
    problems = check(DEMO, {"pin": "1", "out": text}, root=None, subject=SUBJECT)[1]
    assert [p.one_line() for p in problems] == [
        f"{SUBJECT}: out = {text!r} leaves the project; use a path relative to the project root, without '..' or a"
        " link out of it"
    ]


def test_a_symbolic_link_leading_out_of_the_project_is_refused(tmp_path):
    root, outside = tmp_path / "project", tmp_path / "outside"
    (root / "inner").mkdir(parents=True)
    outside.mkdir()
    (root / "out").symlink_to(outside)
    (root / "here").symlink_to(root / "inner")
    values, problems = check(
        DEMO, {"pin": "1", "out": "out/stubs", "protos": ["out/*.proto", "here/*.proto"]}, root=root, subject=SUBJECT
    )
    assert [p.what for p in problems] == [
        "out = 'out/stubs' leaves the project",
        "protos = 'out/*.proto' leaves the project",
    ]
    assert values["protos"] == ("here/*.proto",)  # a link that stays inside is a path like any other
    assert check(DEMO, {"pin": "1", "out": "a/../b"}, root=root, subject=SUBJECT) == (
        {**DEMO.defaults(), "pin": "1", "out": "b"},
        [],
    )


def test_rules_on_one_field_and_across_fields_join_the_same_list():
    table = Table(
        "t",
        (
            Field(
                "rpc", Text(empty=True), default="", rule=lambda v: None if "/" in v or not v else f"{v!r} needs a /"
            ),
            Field("ready", Choice(("stdout", "file"))),
            Field("env", Text(empty=True), default=""),
        ),
        rules=(
            Rule(
                ("ready", "env"),
                lambda v: ['ready = "file" needs env'] if v["ready"] == "file" and not v["env"] else [],
            ),
        ),
    )
    assert [p.what for p in check(table, {"rpc": "Ping"}, root=None, subject="t")[1]] == ["rpc 'Ping' needs a /"]
    assert [p.what for p in check(table, {"ready": "file"}, root=None, subject="t")[1]] == ['ready = "file" needs env']
    # a rule reading a field that had a problem stays quiet: it would judge the default, not what was written
    assert [p.what for p in check(table, {"ready": "file", "env": 3}, root=None, subject="t")[1]] == [
        "env must be a string, got 3"
    ]


def test_toml_forms_are_what_a_user_writes():
    assert toml_form("priv") == '"priv"'
    assert toml_form(False) == "false"
    assert toml_form(("nox", "-s")) == '["nox", "-s"]'
    assert toml_form({"LOG": "info", "a b": "x"}) == '{ LOG = "info", "a b" = "x" }'


def test_a_table_is_named_as_its_settings_file_writes_it(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.hexpack.verify]\nengine = "x"\n', encoding="utf-8")
    cfg = config.load(tmp_path)
    assert cfg.subject("verify.smoke") == f"{tmp_path / 'pyproject.toml'} [tool.hexpack.verify.smoke]"
    (tmp_path / "hexpack.toml").write_text('[stubs]\nout = "x"\n', encoding="utf-8")
    cfg = config.load(tmp_path)
    assert (cfg.header("stubs"), cfg.subject("")) == ("[stubs]", str(tmp_path / "hexpack.toml"))


def test_reading_some_fields_leaves_the_others_to_their_readers(tmp_path):
    """A broken ``python`` fails the commands that target Pythons, not ``hexpack version``."""
    (tmp_path / "pyproject.toml").write_text('[tool.hexpack]\npython = ["3"]\nrequirement = "."\n', encoding="utf-8")
    cfg = config.load(tmp_path)  # unknown keys only
    assert cfg.read(config.ROOT, fields=("requirement",)) == {"requirement": "."}
    with pytest.raises(ProjectError) as caught:
        cfg.read(config.ROOT, fields=("python",))
    assert caught.value.one_line() == (
        f"{tmp_path / 'pyproject.toml'} [tool.hexpack]: python must be a non-empty list of 'X.Y' strings,"
        """ got ['3']; write e.g. python = ["3.10", "3.11", "3.12", "3.13"]"""
    )


def test_a_feature_table_that_is_not_a_table_is_named_like_any_other_setting(tmp_path):
    (tmp_path / "hexpack.toml").write_text('stubs = "priv_python"\n', encoding="utf-8")
    with pytest.raises(ProjectError) as caught:
        config.load(tmp_path).section("stubs")
    assert (
        caught.value.one_line()
        == f"{tmp_path / 'hexpack.toml'}: stubs must be a table, got 'priv_python'; write [stubs]"
    )
