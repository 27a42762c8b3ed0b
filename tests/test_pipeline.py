"""contents.tar.gz compressed on a second thread while the build checks the package (``hexpack.hex.pipeline``).

That work is speculative: a refusal found meanwhile must stop the thread and leave nothing behind,
what the thread raises (or reading ahead finds) must come out as the build's usual one-line errors,
in the order a build without the thread gives them, and the bytes must be the serial writer's.
"""

from __future__ import annotations

import _thread
import hashlib
import random
import time

import pytest
from hexpack.cli import main
from hexpack.hex import pipeline
from hexpack.hex import tarball as T

FILES = 24  # of FILE_SIZE random bytes: more than the read-ahead holds, so some are read only after the checks
FILE_SIZE = 128 * 1024


def project(tmp_path, files: str = '["lib"]'):
    root = tmp_path / "project"
    (root / "lib").mkdir(parents=True)
    rng = random.Random(7)
    for index in range(FILES):
        (root / "lib" / f"blob{index:02d}.bin").write_bytes(rng.randbytes(FILE_SIZE))
    (root / "mix.exs").write_text(
        "defmodule P.MixProject do\n  use Mix.Project\n  def project do\n"
        '    [app: :p, version: "0.1.0", description: "d",\n'
        f'     package: [licenses: ["MIT"], links: %{{}}, files: {files}]]\n'
        "  end\nend\n"
    )
    return root


@pytest.fixture
def threads(monkeypatch):
    """The threads the build starts, each marked when it has ended."""
    started: list[list[bool]] = []
    real = _thread.start_new_thread

    def tracked(function, args):
        ended: list[bool] = []
        started.append(ended)

        def run(*args):
            try:
                function(*args)
            finally:
                ended.append(True)

        return real(run, args)

    monkeypatch.setattr(pipeline._thread, "start_new_thread", tracked)
    return started


def all_ended(threads) -> bool:
    """True once every tracked thread has returned (a joined thread still has a few bytecodes to run)."""
    deadline = time.monotonic() + 10
    while not all(threads) and time.monotonic() < deadline:
        time.sleep(0.01)
    return all(threads)


@pytest.fixture
def compressed(monkeypatch):
    """When each batch the thread compressed was done (time.monotonic())."""
    ends: list[float] = []
    real = T.Deflater.compress

    def compress(self, data):
        try:
            real(self, data)
        finally:
            ends.append(time.monotonic())

    monkeypatch.setattr(T.Deflater, "compress", compress)
    return ends


@pytest.fixture
def opened(monkeypatch):
    """The package files the build opened, in order."""
    names: list[str] = []
    real = open

    def recording(path, *args, **kwargs):
        names.append(str(path).rsplit("/", 1)[-1])
        return real(path, *args, **kwargs)

    monkeypatch.setattr(T, "open", recording, raising=False)
    return names


def one_error_line(capsys, argv: list[str]) -> str:
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 1
    assert "Traceback" not in captured.err
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    return lines[0]


def test_the_background_contents_are_the_serial_writers(tmp_path, threads):
    root = project(tmp_path)
    files = ["lib"] + [f"lib/blob{index:02d}.bin" for index in range(FILES)]
    serial = T.stream_contents_tar_gz(T.plan_from_tree(root, files))
    job = pipeline.ContentsInBackground(root, files)
    members, contents, digest = job.result(hashed_after=b"3metadata")
    job.cancel()  # after result(): nothing to do
    assert contents == serial
    assert digest == hashlib.sha256(b"3metadata" + serial).hexdigest()
    assert members == T.plan_from_tree(root, files)
    assert len(threads) == 1 and all_ended(threads)


def test_without_a_thread_the_build_compresses_on_its_own(tmp_path, monkeypatch):
    """A process out of threads (RLIMIT_NPROC) still builds the same package."""
    root = project(tmp_path)
    files = ["lib"] + [f"lib/blob{index:02d}.bin" for index in range(FILES)]

    def refused(function, args):
        raise RuntimeError("can't start new thread")

    monkeypatch.setattr(pipeline._thread, "start_new_thread", refused)
    _, contents, digest = pipeline.ContentsInBackground(root, files).result()
    assert contents == T.stream_contents_tar_gz(T.plan_from_tree(root, files))
    assert digest == hashlib.sha256(contents).hexdigest()


def test_a_refused_check_stops_the_thread_and_writes_nothing(tmp_path, capsys, threads, compressed, opened):
    root = project(tmp_path, files='["lib", "missing"]')
    out = tmp_path / "out" / "p.tar"
    out.parent.mkdir()
    line = one_error_line(capsys, ["build", "--project", str(root), "-o", str(out)])
    returned = time.monotonic()
    assert line.startswith("error: Missing files: missing")
    assert list(out.parent.iterdir()) == []
    assert len(threads) == 1 and all_ended(threads)
    assert all(end <= returned for end in compressed)  # the build waited for the thread to stop
    read = [name for name in opened if name.startswith("blob")]
    assert 0 < len(read) < FILES  # only what was read ahead; the rest never opened


def test_an_error_in_the_compressing_thread_is_the_usual_one_line(
    tmp_path, capsys, monkeypatch, threads, compressed, opened
):
    monkeypatch.setattr(T, "MAX_OUTER_SIZE", 50_000)
    root = project(tmp_path)
    out = tmp_path / "out" / "p.tar"
    out.parent.mkdir()
    line = one_error_line(capsys, ["build", "--project", str(root), "-o", str(out)])
    returned = time.monotonic()
    assert line == "error: Creating tarball failed: package exceeds max compressed size 0.05 MB"
    assert list(out.parent.iterdir()) == []
    assert len(threads) == 1 and all_ended(threads)
    # random bytes do not compress: the 80 KiB of the first two batches pass the limit, and the thread stops there
    assert len(compressed) == 2 and all(end <= returned for end in compressed)
    assert len([name for name in opened if name.startswith("blob")]) < FILES  # reading stopped with the thread


def refusing_open(monkeypatch, name: str) -> None:
    """Test double: the suite runs as root here, where no file is unreadable, so open() is made to refuse."""
    real = open

    def refusing(path, *args, **kwargs):
        if str(path).endswith(name):
            raise PermissionError(13, "Permission denied", str(path))
        return real(path, *args, **kwargs)

    monkeypatch.setattr(T, "open", refusing, raising=False)


@pytest.mark.parametrize("problem", ["unreadable", "too big"])
def test_what_reading_ahead_finds_waits_for_the_checks(tmp_path, capsys, monkeypatch, threads, problem):
    """Hex's checks come first: a file that cannot be read or the uncompressed limit is reported only
    when they pass, as a build without the thread reports them."""
    if problem == "unreadable":
        refusing_open(monkeypatch, "blob01.bin")
        expected = "cannot read lib/blob01.bin: Permission denied; fix its permissions or exclude it"
    else:
        monkeypatch.setattr(T, "MAX_UNCOMPRESSED_SIZE", 100_000)
        expected = "Creating tarball failed: package exceeds max uncompressed size 0.1 MB"
    refused = project(tmp_path / "refused", files='["lib", "missing"]')
    line = one_error_line(capsys, ["build", "--project", str(refused), "-o", str(tmp_path / "refused.tar")])
    assert line.startswith("error: Missing files: missing")
    accepted = project(tmp_path / "accepted")
    line = one_error_line(capsys, ["build", "--project", str(accepted), "-o", str(tmp_path / "accepted.tar")])
    assert line.endswith(expected)
    assert not (tmp_path / "refused.tar").exists() and not (tmp_path / "accepted.tar").exists()
    assert all_ended(threads)
