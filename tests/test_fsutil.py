import base64
import hashlib
import json
import os
import subprocess
import sys

import pytest
from hexpack.errors import HexpackError
from hexpack.fsutil import FileTransaction, atomic_write_bytes, project_lock, remove_tree, state_dir


def test_atomic_write_keeps_mode(tmp_path):
    target = tmp_path / "run.sh"
    target.write_text("old")
    target.chmod(0o755)
    atomic_write_bytes(target, b"new")
    assert target.read_bytes() == b"new"
    assert target.stat().st_mode & 0o777 == 0o755
    assert list(tmp_path.iterdir()) == [target]


@pytest.mark.parametrize("fail_at", [0, 1, 2])
def test_transaction_restores_every_file_on_failure(tmp_path, fail_at):
    files = {tmp_path / f"f{i}": f"old{i}".encode() for i in range(3)}
    for path, data in files.items():
        path.write_bytes(data)

    def boom(path, index):
        if index == fail_at:
            raise OSError("injected")

    with pytest.raises(OSError):
        FileTransaction(before_write=boom).apply({p: b"new" for p in files})
    assert {p: p.read_bytes() for p in files} == files
    assert sorted(tmp_path.iterdir()) == sorted(files)


def test_transaction_names_every_unwritable_target_before_writing(tmp_path):
    from hexpack.errors import Problems

    (tmp_path / "a_dir").mkdir()
    (tmp_path / "a_file").write_text("x")
    keep = tmp_path / "keep"
    keep.write_text("old")
    plan = {keep: b"new", tmp_path / "a_dir": b"x", tmp_path / "a_file" / "sub": b"x", tmp_path / "gone" / "f": b"x"}
    with pytest.raises(Problems) as caught:
        FileTransaction().apply(plan)
    assert caught.value.lines() == [
        f"{tmp_path / 'a_dir'}: is a directory where a file is to be written; move it away",
        f"{tmp_path / 'a_file'}: is not a directory; cannot write sub there",
        f"{tmp_path / 'gone'}: directory does not exist; cannot write f there",
    ]
    assert keep.read_text() == "old"


def test_transaction_turns_a_failed_write_into_one_line_and_restores(tmp_path, monkeypatch):
    from hexpack import fsutil
    from hexpack.errors import HexpackError

    first, second = tmp_path / "first", tmp_path / "second"
    first.write_text("old")
    real = fsutil._write_new_file

    def full_disk(path, data, mode):
        if os.path.basename(path).startswith(".second."):
            raise OSError(28, "No space left on device")
        real(path, data, mode)

    monkeypatch.setattr(fsutil, "_write_new_file", full_disk)
    for root in (None, tmp_path):  # in-process only, and journaled under the project lock
        with pytest.raises(HexpackError, match=r"second: cannot write: No space left on device; nothing was changed"):
            FileTransaction(root=root).apply({first: b"new", second: b"new"})
        assert first.read_text() == "old" and not second.exists()
        assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["first"] + ([".hexpack"] if root else []))
        assert not (tmp_path / ".hexpack" / "journal.json").exists()


# ----------------------------------------------------------------------------- the project lock

HOLD_LOCK = """
import sys, time
from hexpack.fsutil import project_lock
with project_lock(sys.argv[1], "hexpack bump"):
    print("held", flush=True)
    time.sleep(60)
"""


def hold_lock(root):
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(root)], stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline() == "held\n"
    return holder


def test_a_second_run_waits_then_refuses_in_one_line_naming_the_holder(tmp_path, monkeypatch):
    monkeypatch.setenv("HEXPACK_LOCK_WAIT", "0.3")
    holder = hold_lock(tmp_path)
    try:
        with pytest.raises(HexpackError) as caught, project_lock(tmp_path, "hexpack assemble"):
            pass
        assert caught.value.one_line() == (
            f"{tmp_path}: `hexpack bump` (pid {holder.pid}) is changing this project; hexpack assemble waited "
            "0.3 s and changed nothing; let it finish, then run again"
        )
    finally:
        holder.kill()
        holder.communicate()
    with project_lock(tmp_path, "hexpack assemble"):  # a killed holder never blocks the next run
        pass


def test_the_lock_is_reentrant_and_lives_outside_the_tracked_tree(tmp_path):
    assert state_dir(tmp_path) == tmp_path / ".hexpack"
    subprocess.run(["git", "init", "-q", str(tmp_path / "repo")], check=True)
    assert state_dir(tmp_path / "repo") == tmp_path / "repo" / ".git" / "hexpack"
    (tmp_path / "repo" / "a").mkdir()
    (tmp_path / "repo" / "b").mkdir()
    in_a, in_b = state_dir(tmp_path / "repo" / "a"), state_dir(tmp_path / "repo" / "b")
    assert in_a.parent == tmp_path / "repo" / ".git" / "hexpack" / "projects" and in_a != in_b  # one per project
    # a worktree's .git is a file naming its git directory
    (tmp_path / "wt").mkdir()
    (tmp_path / "wt" / ".git").write_text(f"gitdir: {tmp_path / 'repo' / '.git'}\n")
    assert state_dir(tmp_path / "wt") == tmp_path / "repo" / ".git" / "hexpack"
    with project_lock(tmp_path, "outer") as outer, project_lock(tmp_path, "inner") as inner:
        assert inner is outer


# ----------------------------------------------------------------------------- the journal


def killed_transaction(tmp_path, step: int) -> tuple[dict, dict]:
    """Three files (one of them new) written by a transaction SIGKILLed at ``step``; (old, new) contents."""
    old = {"a": b"old a", "b": b"old b"}
    new = {"a": b"new a", "b": b"new b", "c": b"new c"}
    for name, data in old.items():
        (tmp_path / name).write_bytes(data)
    code = (
        "import sys; from pathlib import Path; from hexpack.fsutil import FileTransaction; root = Path(sys.argv[1]); "
        f"FileTransaction(root=root).apply({{root / n: d for n, d in {new!r}.items()}})"
    )
    env = dict(os.environ, HEXPACK_TEST_KILL_AT=str(step))
    done = subprocess.run([sys.executable, "-c", code, str(tmp_path)], env=env, capture_output=True)
    assert done.returncode == -9, done.stderr
    return old, new


def contents(root) -> dict:
    return {p.name: p.read_bytes() for p in root.iterdir() if p.is_file()}


@pytest.mark.parametrize("step", range(1, 10))
def test_a_transaction_killed_at_any_step_is_finished_or_undone_by_the_next_lock(tmp_path, step):
    old, new = killed_transaction(tmp_path, step)  # steps: journal, 3 temporaries, journal committed, 3 renames, end
    with project_lock(tmp_path, "next run") as lock:
        assert contents(tmp_path) == (old if step <= 5 else new)
    if step in (1, 9):  # killed before the journal existed, or after it was gone
        assert lock.recovered is None
    else:
        assert lock.recovered.startswith("undid" if step <= 5 else "finished")
    assert sorted(p.name for p in (tmp_path / ".hexpack").iterdir()) == ["lock"]


def test_a_kill_while_restoring_is_undone_not_finished(tmp_path):
    """The run failed after renaming `a`, began restoring and died: `a` old again, `b` old, no temporaries."""
    (tmp_path / "a").write_bytes(b"old a")
    (tmp_path / "b").write_bytes(b"old b")
    (tmp_path / ".hexpack").mkdir()
    entries = [
        {
            "target": str(tmp_path / name),
            "tmp": str(tmp_path / f".{name}.1-x.hexpack-tmp"),
            "old": base64.b64encode(f"old {name}".encode()).decode(),
            "new": hashlib.sha256(f"new {name}".encode()).hexdigest(),
        }
        for name in ("a", "b")
    ]
    (tmp_path / ".hexpack" / "journal.json").write_text(json.dumps({"state": "commit", "entries": entries}))
    with project_lock(tmp_path, "next run") as lock:
        assert contents(tmp_path) == {"a": b"old a", "b": b"old b"}
    assert lock.recovered.startswith("undid the interrupted write of 2 file(s) (left fully old)")


def test_a_file_edited_after_a_killed_commit_is_named_not_overwritten(tmp_path):
    old, new = killed_transaction(tmp_path, 6)  # committed, `a` renamed, `b` and `c` not yet
    (tmp_path / "b").write_bytes(b"edited by hand")
    with (
        pytest.raises(HexpackError, match=r"/b: changed since an interrupted hexpack run wrote it"),
        project_lock(tmp_path, "next run"),
    ):
        pass
    assert (tmp_path / "b").read_bytes() == b"edited by hand"


def test_a_link_is_written_through_and_stays_a_link(tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "README.md").write_text("old")
    (tmp_path / "README.md").symlink_to("docs/README.md")
    FileTransaction(root=tmp_path).apply({tmp_path / "README.md": b"new"})
    assert os.readlink(tmp_path / "README.md") == "docs/README.md"
    assert (tmp_path / "docs" / "README.md").read_bytes() == b"new"


def test_remove_tree_removes_read_only_directories(tmp_path):
    stage = tmp_path / "stage"
    (stage / "a" / "b").mkdir(parents=True)
    (stage / "a" / "b" / "f").write_text("x")
    for directory in (stage / "a" / "b", stage / "a", stage):
        directory.chmod(0o500)
    assert remove_tree(stage) and not stage.exists()


def test_a_journal_naming_a_file_outside_the_project_is_refused_untouched(tmp_path):
    """A project from elsewhere may ship a `.hexpack/journal.json`; recovery must not write where it says."""
    project, victim = tmp_path / "project", tmp_path / "victim"
    (project / ".hexpack").mkdir(parents=True)
    victim.write_text("precious")
    (tmp_path / ".victim.1-x.hexpack-tmp").write_text("evil")
    entry = {
        "target": str(victim),
        "tmp": str(tmp_path / ".victim.1-x.hexpack-tmp"),
        "old": None,
        "new": hashlib.sha256(b"evil").hexdigest(),
    }
    (project / ".hexpack" / "journal.json").write_text(json.dumps({"state": "commit", "entries": [entry]}))
    with pytest.raises(HexpackError, match="journal names a file outside the project"), project_lock(project, "x"):
        pass
    assert victim.read_text() == "precious"


def test_another_thread_of_the_same_process_waits_for_the_lock_too(tmp_path, monkeypatch):
    import threading

    monkeypatch.setenv("HEXPACK_LOCK_WAIT", "0.2")
    outcome = []

    def second() -> None:
        try:
            with project_lock(tmp_path, "second"):
                outcome.append("held")
        except HexpackError as exc:
            outcome.append(exc.what)

    with project_lock(tmp_path, "first"):
        thread = threading.Thread(target=second)
        thread.start()
        thread.join()
    assert len(outcome) == 1 and outcome[0].startswith(f"`first` (pid {os.getpid()}) is changing this project")
