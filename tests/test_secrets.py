"""The publishing secrets: redaction (overlapping secrets too) and environments without them."""

from __future__ import annotations

import sys

import pytest
from hexpack import proc
from hexpack.errors import CommandFailed, Problems
from hexpack.secrets import PUBLISH_SECRETS, redact, scrub_error, secret_values, without_secrets
from test_release import git, repo  # noqa: F401  (repo is the fixture of a release-ready git repository)


@pytest.mark.parametrize(
    ("text", "secrets", "expected"),
    [
        ("key s3krit456 and krit", ["krit", "s3krit456"], "key *** and ***"),
        ("key s3krit456 and krit", ["s3krit456", "krit"], "key *** and ***"),  # order does not matter
        ("abcdef", ["abcd", "cdef"], "***"),  # overlapping: one span, nothing of either shown
        ("abcabc", ["abc"], "***"),  # adjacent occurrences merge
        ("aaaa", ["aa"], "***"),
        ("nothing here", ["s3krit"], "nothing here"),
        ("empty secrets are ignored", ["", ""], "empty secrets are ignored"),
    ],
)
def test_redact_masks_every_occurrence_of_every_secret(text, secrets, expected):
    assert redact(text, secrets) == expected


def test_no_piece_of_a_longer_secret_survives_a_shorter_one():
    long, short = "s3krit456", "krit"
    shown = redact(f"[{long}] [{short}] [{long}{short}]", [short, long])
    assert "sekrit" not in shown and "Zq7" not in shown and "Xw9" not in shown


def test_one_list_of_secrets_for_every_environment():
    environ = {"HEX_API_KEY": "h", "TWINE_PASSWORD": "t", "UV_PUBLISH_TOKEN": "", "PATH": "/bin"}
    assert secret_values(environ) == ["h", "t"]
    assert without_secrets(environ) == {"PATH": "/bin"}
    assert {"HEX_API_KEY", "TWINE_PASSWORD"} <= set(PUBLISH_SECRETS)


def test_a_failing_command_reports_its_output_redacted():
    code = "import sys; print('token s3krit456'); sys.exit(3)"
    with pytest.raises(CommandFailed) as caught:
        proc.run([sys.executable, "-c", code, "s3krit456"], redact=["krit", "s3krit456"])
    assert "krit" not in caught.value.output and "krit" not in str(caught.value)
    assert caught.value.output.startswith("token ***")


def test_scrub_error_masks_every_problem_and_the_command():
    failed = CommandFailed(["twine", "upload", "--password", "s3krit456"], 1, "refused for s3krit456\n")
    group = scrub_error(Problems([failed, CommandFailed(["x"], 2, "krit")]), ["krit", "s3krit456"])
    assert "krit" not in str(group) and "krit" not in failed.output and "krit" not in " ".join(failed.argv)
    assert group.lines()[0] == "twine upload --password ...: exited with status 1: refused for ***"


def test_the_smoke_server_and_client_never_see_the_secrets(tmp_path, monkeypatch):
    from hexpack.verify.launch import check_server
    from hexpack.verify.venvs import clean_env

    monkeypatch.setenv("HEX_API_KEY", "hex-secret-for-the-server")
    env = clean_env()
    assert "HEX_API_KEY" not in env
    env["TWINE_PASSWORD"] = "twine-secret-for-the-server"  # even when a caller passes one in
    server = [sys.executable, "-c", "import os; print(os.environ.get('HEX_API_KEY'), os.environ.get('TWINE_PASSWORD'))"]
    result = check_server(
        server, client_python=sys.executable, client_args=[], env=env, cwd=tmp_path, subject="server", timeout=10
    )
    assert result.output == "None None\n"


def test_release_gates_run_without_the_secrets_and_their_output_is_redacted(repo, tmp_path, monkeypatch, capsys):  # noqa: F811
    """A real release up to a failing lint gate that prints both secrets; the publish doubles of
    test_release stand in for `mix hex.publish` and `twine upload` (never reached here)."""
    import json

    from hexpack import cli

    root = repo
    monkeypatch.setenv("HEX_API_KEY", "Zq7sekritXw9")
    monkeypatch.setenv("TWINE_PASSWORD", "sekrit")  # a part of the other secret
    seen = tmp_path / "gate-env.json"
    leak = (
        "import json, os, sys; "
        f"open({str(seen)!r}, 'w').write(json.dumps([os.environ.get(k) for k in ('HEX_API_KEY', 'TWINE_PASSWORD')])); "
        "print('leaking Zq7sekritXw9 and sekrit'); sys.exit(1)"
    )
    (root / "pyproject.toml").write_text(f"[tool.hexpack.release]\nlint = {json.dumps([sys.executable, '-c', leak])}\n")
    git(root, "commit", "-qam", "a leaking lint gate")
    code = cli.main(["-v", "release", "--project", str(root), "--date", "2026-11-22", "minor", "--publish"])
    captured = capsys.readouterr()
    assert code == 1
    assert json.loads(seen.read_text()) == [None, None]  # the gate never had them
    shown = captured.out + captured.err
    assert "leaking *** and ***" in shown  # the gate's own line, redacted as one span per secret
    assert "sekrit" not in shown and "Zq7" not in shown and "Xw9" not in shown
