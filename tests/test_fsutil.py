import pytest
from hexpack.fsutil import FileTransaction, atomic_write_bytes


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
    real = fsutil.atomic_write_bytes

    def full_disk(path, data, **kwargs):
        if path == second:
            raise OSError(28, "No space left on device")
        real(path, data, **kwargs)

    monkeypatch.setattr(fsutil, "atomic_write_bytes", full_disk)
    with pytest.raises(HexpackError, match=r"second: cannot write: No space left on device; nothing was changed"):
        FileTransaction().apply({first: b"new", second: b"new"})
    assert first.read_text() == "old" and not second.exists()
