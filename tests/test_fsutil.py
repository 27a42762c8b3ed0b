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
