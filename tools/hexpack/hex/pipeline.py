"""``contents.tar.gz`` compressed on a second thread while the build checks the package.

Deflate is most of a build's work and zlib releases the GIL while it compresses. So once the files
are selected, the build plans the members (``lstat`` only), reads the first few batches of the tar
stream and hands them to a thread that does nothing but compress; then it runs Hex's checks, the
unsafe-path check and writes ``metadata.config`` while the thread works, and reads the rest of the
files (if any) as the thread takes them. The thread runs no Python beyond a loop around zlib: two
threads both running Python would only take turns at the GIL.

The work is speculative. When a check refuses the package, the build cancels the thread, waits for
it and reports the check's errors as before; nothing was written. An error found while reading
ahead (a file that cannot be read, the uncompressed limit) is held and raised only once every check
has passed, in the order a build without the thread finds it. Memory stays the compressed output
plus at most ``QUEUED`` batches waiting for the thread.

``_thread`` and ``_queue`` rather than ``threading`` and ``queue``: the build's start-up would pay
for importing those.
"""

from __future__ import annotations

import _thread
import os
from _queue import Empty, SimpleQueue

from ..digest import sha256
from . import tarball

TYPE_CHECKING = False  # what typing.TYPE_CHECKING is at run time, without loading typing (hexpack build's start-up)
if TYPE_CHECKING:
    from collections.abc import Generator
    from typing import Any

__all__ = ["QUEUED", "ContentsInBackground", "UncompressedTooBig"]

QUEUED = 8  # batches (of at most 2 x tarball.READ_CHUNK bytes) read ahead of the compressing thread


class UncompressedTooBig(tarball.TarballError):
    """The planned inner tar passes Hex's uncompressed limit: found from ``lstat`` before any file is read."""


class ContentsInBackground:
    """``contents.tar.gz`` of ``files`` under ``root``, compressed on a thread of its own.

    Creating it plans the members, starts the thread and reads up to ``QUEUED`` batches for it.
    ``limit`` is the compressed size allowed; ``set_limit`` lowers it while the thread runs.
    ``result()`` reads the rest, waits, and returns the planned members and the bytes, or raises
    the first error found; ``cancel()`` stops the thread and waits for it. The caller ends with one
    of them (``cancel()`` after ``result()`` does nothing), so no thread outlives the build.
    """

    def __init__(self, root: str | os.PathLike[str], files: list[str], *, limit: int | None = None):
        self._deflater = tarball.Deflater(limit)
        self._held: BaseException | None = None  # found by this thread before the checks ran
        self._error: BaseException | None = None  # found by the compressing thread
        self._cancelled = False
        self._running = False
        self._all_queued = False
        self._ended = False  # set by the thread as it stops
        self._batches: Generator[bytes, None, None] | None = None
        try:
            self._members = tarball.plan_from_tree(root, files)
            if tarball.planned_tar_size(self._members) > tarball.MAX_UNCOMPRESSED_SIZE:
                raise UncompressedTooBig("the package files pass Hex's uncompressed limit")
        except tarball.TarballError as exc:
            self._held = exc
            return
        self._batches = tarball.tar_batches(self._members)
        self._todo: SimpleQueue = SimpleQueue()  # batches for the thread; None: no more
        self._credits: SimpleQueue = SimpleQueue()  # one item per batch that may still be queued
        for _ in range(QUEUED):
            self._credits.put(True)
        self._done = _thread.allocate_lock()
        self._done.acquire()  # released by the thread as its last act: acquiring it again is joining it
        try:
            _thread.start_new_thread(self._compress, ())
        except RuntimeError:  # no thread to be had (a process limit): result() compresses on its own
            return
        self._running = True
        try:
            self._read_ahead()
        except BaseException:
            self.cancel()
            raise

    def _compress(self) -> None:
        """The thread: compress what is queued until None arrives or the build cancels."""
        try:
            while True:
                batch = self._todo.get()
                if batch is None or self._cancelled:
                    break
                self._deflater.compress(batch)
                self._credits.put(True)  # room for one more batch; new output to hash
        except BaseException as exc:  # handed to the build's thread, which raises it
            self._error = exc
        finally:
            self._ended = True
            self._credits.put(True)  # the build's thread, if it waits, wakes up and sees why
            self._done.release()

    def _read_ahead(self) -> None:
        """Queue batches while there is room, without waiting: work for the thread during the checks."""
        try:
            while self._error is None and not self._all_queued:
                try:
                    self._credits.get(block=False)
                except Empty:
                    return
                self._queue_next()
        except tarball.TarballError as exc:  # a file that cannot be read: reported after the checks
            self._held = exc
            self._todo.put(None)

    def _queue_next(self) -> None:
        """Read the next batch and queue it, or queue the end."""
        batch = next(self._batches, None)
        if batch is not None:
            self._deflater.count(batch)  # the gzip trailer's CRC-32 here: the thread only compresses
        self._todo.put(batch)
        self._all_queued = batch is None

    def set_limit(self, limit: int) -> None:
        """Lower the compressed size allowed (the thread reads it after each batch)."""
        self._deflater.limit = limit

    def _join(self) -> None:
        if self._running:
            self._done.acquire()
            self._running = False

    def result(self, *, hashed_after: bytes = b"") -> tuple[list[tarball.PlannedMember], bytes, str]:
        """Read the files not read yet, wait for the thread, and return the members, ``contents.tar.gz``
        and the SHA-256 (hex) of ``hashed_after`` followed by it, hashed as the thread's output comes
        (a build's CHECKSUM hashes ``VERSION`` and ``metadata.config`` before ``contents.tar.gz``)."""
        hasher = sha256(hashed_after)  # CPython's own SHA-256 whatever the size: it hashes while the thread works
        hashed = 0  # output chunks hashed so far
        if self._held is None:
            try:
                while self._running and self._error is None and not (self._all_queued and self._ended):
                    self._credits.get()  # a batch compressed (or the thread stopped): room for one more
                    hashed = self._hash(hasher, hashed)
                    if self._error is None and not self._all_queued:
                        self._queue_next()
                if not self._running and self._batches is not None:  # no thread was started
                    for batch in self._batches:
                        self._deflater.add(batch)
            except BaseException:
                self.cancel()
                raise
        self._join()
        error = self._held or self._error
        if error is not None:
            self._held = self._error = None  # raised once
            raise error
        contents = self._deflater.finish()
        self._hash(hasher, hashed)
        return self._members, contents, hasher.hexdigest()

    def _hash(self, hasher: Any, start: int) -> int:
        """Hash the output chunks from ``start`` on; the number hashed."""
        chunks = self._deflater.chunks
        end = len(chunks)  # the thread only appends
        for chunk in chunks[start:end]:
            hasher.update(chunk)
        return end

    def cancel(self) -> None:
        """Stop the thread after its current batch and wait for it; what it made or found is dropped."""
        if self._running:
            self._cancelled = True
            self._todo.put(None)  # wakes the thread if it waits for a batch
            self._join()
        if self._batches is not None:
            self._batches.close()  # the file being read, if any, is closed now
        self._held = self._error = None
