import shutil
import subprocess
import sys
from pathlib import Path

from hexpack import cli
from hexpack.errors import HexpackError, Problems


def test_unknown_command_is_one_line_and_exit_2(capsys):
    assert cli.main(["no-such-command"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ")
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_every_subcommand_has_help(capsys):
    for name in cli.COMMANDS:
        try:
            cli.main([name, "--help"])
        except SystemExit as exc:
            assert exc.code == 0
    assert "usage" in capsys.readouterr().out


def test_problems_print_one_line_each():
    problems = Problems([HexpackError("a", subject="x"), HexpackError("b", subject="y", hint="fix y")])
    assert problems.lines() == ["x: a", "y: b; fix y"]


def test_module_entry_point_runs():
    proc = subprocess.run([sys.executable, "-m", "hexpack", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0
    assert proc.stdout.startswith("hexpack ")


def test_an_unknown_option_names_the_command_it_was_given_to(capsys):
    assert cli.main(["pythons", "--bogus"]) == 2
    err = capsys.readouterr().err
    assert err == "error: hexpack pythons: unrecognized arguments: --bogus; see `hexpack pythons --help`\n"


def test_a_chosen_command_builds_only_its_own_parser_and_the_rest_still_list_all():
    chosen = cli.build_parser(["-v", "build", "--project", "inspect"])
    assert list(chosen._subparsers._group_actions[0].choices) == ["build"]
    for argv in (["-h", "build"], ["buld"], [], ["-h", "--version"]):
        assert list(cli.build_parser(argv)._subparsers._group_actions[0].choices) == list(cli.COMMANDS)
    assert cli.build_parser(["-v", "--version", "build"])._subparsers is None  # argparse stops at --version


def test_version_imports_no_command():
    """`hexpack --version` answers without importing the commands (the whole library, about 0.3 s)."""
    report = "print(sorted(m for m in sys.modules if m.startswith('hexpack.commands')), file=sys.stderr)"
    code = f"import atexit, sys\natexit.register(lambda: {report})\nfrom hexpack import cli\ncli.entry_point()"
    for argv in (["--version"], ["-v", "--version", "build"]):
        proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=60)
        assert (proc.returncode, proc.stdout.split()[0], proc.stderr) == (0, "hexpack", "[]\n"), argv


def _argparse_namespace(argv):
    args, unknown = cli.build_parser(argv).parse_known_args(argv)
    assert unknown == []
    return vars(args)


def test_the_quick_path_reads_a_plain_command_line_as_argparse_does(tmp_path):
    """Every plain command line the quick path takes gives argparse's namespace, defaults and conversions
    included; what it declines (help, abbreviations, --opt=value, bad values, positionals) goes to argparse."""
    project = str(tmp_path)
    taken = [
        ["build"],
        ["-v", "build", "--project", project, "-o", "x.tar"],
        ["build", "--root", project, "--reader", "static", "--output", "y.tar", "--reader", "elixir"],
        ["--verbose", "build", "--project", ""],
        ["version", "--project", project, "--json"],
        ["version"],
    ]
    for argv in taken:
        quick = cli.quick_parse(argv)
        assert quick is not None, argv
        assert vars(quick) == _argparse_namespace(argv), argv
    declined = [
        [],
        ["-h"],
        ["build", "--help"],
        ["build", "--proj", project],
        ["build", "--project=" + project],
        ["build", "--reader", "bogus"],
        ["build", "-o"],
        ["build", "-o", "-x"],
        ["build", "extra"],
        ["build", "-v"],
        ["version", "--project", str(tmp_path / "missing")],
        ["unpack", "file.tar"],
        ["buld"],
    ]
    assert [argv for argv in declined if cli.quick_parse(argv) is not None] == []


def test_a_build_loads_none_of_what_only_other_commands_need(tmp_path):
    """hexpack build's start-up is most of its time on a small package: argparse (with gettext, locale and
    shutil), dataclasses (with inspect), typing, hashlib (with OpenSSL), pathlib (with glob) and the
    Elixir engine (with subprocess) stay unloaded when the static read is certain, and the package is
    still Hex's, byte for byte."""
    reference = Path(__file__).parent / "fixtures" / "hex-reference" / "regex_excludes"
    project = tmp_path / "project"
    shutil.copytree(reference / "project", project, symlinks=True)
    heavy = [
        "argparse",
        "dataclasses",
        "inspect",
        "typing",
        "shutil",
        "threading",
        "subprocess",
        "struct",
        "unicodedata",
        "hashlib",  # with OpenSSL (hexpack.digest)
        "_hashlib",
        "pathlib",  # with glob, fnmatch, ntpath, pwd and grp (hexpack.paths)
        "glob",
        "fnmatch",
    ]
    heavy.append("hexpack.mix.elixir")
    code = (  # what the interpreter's own start-up (site, .pth files) loaded does not count
        "import sys; before = set(sys.modules); from hexpack import cli; "
        "status = cli.main(['build', '--project', sys.argv[1], '-o', sys.argv[2]]); "
        f"print(status, [name for name in {heavy!r} if name in sys.modules and name not in before])"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(project), str(tmp_path / "built.tar")], capture_output=True, text=True
    )
    assert done.stdout.strip().splitlines()[-1] == "0 []", done.stderr
    assert (tmp_path / "built.tar").read_bytes() == (reference / "hex-2.5.1.tar").read_bytes()


def _entry_point(tmp_path, before: str, *argv: str) -> subprocess.CompletedProcess:
    """``hexpack ARGV`` through the process entry point, after running ``before`` in the same process.

    ``before`` may leave something the interpreter's teardown would do: an object whose finalizer
    writes ``teardown.txt``, an atexit callback, a thread still running."""
    code = f"import sys\n{before}\nsys.argv[1:] = {list(argv)!r}\nfrom hexpack.cli import entry_point\nentry_point()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, timeout=120)


FINALIZER = (  # os bound early: the teardown may have cleared the builtins when it runs
    "import os\n"
    "class Finalized:\n"
    "    def __del__(self, os=os):\n"
    "        os.close(os.open('teardown.txt', os.O_CREAT | os.O_WRONLY))\n"
    "finalized = Finalized()"
)


def test_a_build_ends_without_the_interpreters_teardown_its_output_whole(tmp_path):
    """The teardown (7 ms of a snakepit build) is skipped: a finalizer left alive never runs, yet every
    line the build printed arrives through the pipe and the exit status is the build's."""
    reference = Path(__file__).parent / "fixtures" / "hex-reference" / "regex_excludes"
    shutil.copytree(reference / "project", tmp_path / "project", symlinks=True)
    built = _entry_point(tmp_path, FINALIZER, "build", "--project", "project", "-o", "built.tar")
    assert built.returncode == 0, built.stderr
    assert built.stdout.splitlines()[0].startswith("Building ") and built.stdout.endswith("Saved to built.tar\n")
    assert (tmp_path / "built.tar").read_bytes() == (reference / "hex-2.5.1.tar").read_bytes()
    assert not (tmp_path / "teardown.txt").exists()
    refused = _entry_point(tmp_path, FINALIZER, "build", "--project", "nowhere")
    assert refused.returncode == 2 and refused.stderr.startswith("error: nowhere: no mix.exs here")
    # started with stdout closed (sys.stdout is None): the report goes nowhere, the package is written
    (tmp_path / "built.tar").unlink()
    closed = subprocess.run(
        ["sh", "-c", 'exec "$0" -m hexpack build --project project -o built.tar >&-', sys.executable],
        capture_output=True, text=True, cwd=tmp_path, timeout=120,
    )  # fmt: skip
    assert (closed.returncode, closed.stderr) == (0, "")
    assert (tmp_path / "built.tar").read_bytes() == (reference / "hex-2.5.1.tar").read_bytes()


def test_the_teardown_runs_when_something_is_left_for_it(tmp_path):
    """An atexit callback or a thread still running (logging, subprocesses, verify's strands) keeps the
    normal exit: the callback runs, the thread finishes, finalizers run."""
    callback = f"{FINALIZER}\nimport atexit\natexit.register(print, 'atexit ran')"
    done = _entry_point(tmp_path, callback, "build", "--project", "nowhere")
    assert (done.returncode, done.stdout) == (2, "atexit ran\n")
    assert (tmp_path / "teardown.txt").exists()
    (tmp_path / "teardown.txt").unlink()
    late = "lambda: (time.sleep(0.2), print('thread ran'))"
    thread = f"{FINALIZER}\nimport threading, time\nthreading.Thread(target={late}).start()"
    done = _entry_point(tmp_path, thread, "build", "--project", "nowhere")
    assert (done.returncode, done.stdout) == (2, "thread ran\n")
    assert (tmp_path / "teardown.txt").exists()


def test_lines_are_written_in_one_write_as_line_writes_them():
    import io

    from hexpack.output import Output

    class Writes(io.StringIO):
        def __init__(self):
            super().__init__()
            self.calls = 0

        def write(self, text):
            self.calls += 1
            return super().write(text)

    one, each = Writes(), Writes()
    texts = ["Building p 1.0.0", "  Files:", "    lib/p.ex", ""]
    Output(one).lines(texts)
    for text in texts:
        Output(each).line(text)
    assert one.getvalue() == each.getvalue() and one.calls == 1
    Output(one).lines([])
    assert one.calls == 1
