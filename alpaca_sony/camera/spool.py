"""Originals written to disk while they download, so staging costs nothing after the transfer.

The device worker reads USB; each piece that arrives is queued for a writer thread, one per file,
which writes it to a hidden temporary file in the originals folder. The worker never waits on the
disk during the transfer (a real camera's USB reads would otherwise pause for every write); at
the end it waits only for the last piece. The pieces are the download's own buffers: queuing them
copies nothing. After the last piece the writer fsyncs the file while the frame decodes: a head
start for the commit, which fsyncs it again (and handles any failure).

A spool is only a head start: the file is in memory whole as well, so a spool that fails (disk
full, folder gone) or that ends up with other bytes than the download (a retried transfer) is
discarded and the runner stages from memory as before, which holds the original if the folder
refuses it. A spool nobody claims (the download failed) is removed.
"""

from __future__ import annotations

import logging
import os
import queue
import threading
from pathlib import Path

from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.ptp.datasets import ObjectInfo
from alpaca_sony.sony.codes import FORMAT_JPEG
from alpaca_sony.sony.protocol import DownloadedFile, Spool

log = logging.getLogger(__name__)

_END = None


class DiskSpool:
    """One file being written as it downloads, on its own writer thread."""

    def __init__(self, temp: Path, fd: int, name: str):
        self.temp = temp
        self._fd = fd
        self._name = name
        self._pieces: queue.SimpleQueue[memoryview | None] = queue.SimpleQueue()
        self._written = 0
        self._error: OSError | None = None
        self._ended = False
        self._all_written = threading.Event()
        self._thread = threading.Thread(target=self._write_all, name="original-spool", daemon=True)
        self._thread.start()

    def write(self, chunk: memoryview) -> None:
        """Queue a piece (the worker's thread; returns at once)."""
        if not self._ended:
            self._pieces.put(chunk)

    def _write_all(self) -> None:
        while (piece := self._pieces.get()) is not _END:
            if self._error is not None:
                continue  # drain the queue; the spool is already lost
            try:
                view = memoryview(piece).cast("B")
                while view:
                    view = view[os.write(self._fd, view) :]
                self._written += len(piece)
            except OSError as exc:
                self._error = exc
        self._all_written.set()
        try:
            if self._error is None:
                os.fsync(self._fd)
        except OSError as exc:
            log.debug("early fsync of %s failed (commit fsyncs it again): %s", self.temp, exc)
        finally:
            os.close(self._fd)

    def _end(self) -> None:
        """Let the writer finish what is queued; returns once it is written (not yet fsynced)."""
        if not self._ended:
            self._ended = True
            self._pieces.put(_END)
        self._all_written.wait()

    def flushed(self) -> None:
        """Wait until the writer thread has fsynced and closed the file."""
        self._end()
        self._thread.join()

    def finish(self, expected_bytes: int) -> Path | None:
        """The staged file once every piece is on its way to disk, or None (and no file) when
        it failed or holds another number of bytes than the download."""
        self._end()
        if self._error is None and self._written == expected_bytes:
            return self.temp
        if self._error is not None:
            log.warning("could not write %s while downloading it: %s", self._name, self._error)
        else:
            log.warning(
                "%s: %d bytes written while downloading, %d downloaded; staging it again",
                self._name,
                self._written,
                expected_bytes,
            )
        self.discard()
        return None

    def discard(self) -> None:
        """End the writer and remove the temporary file."""
        self.flushed()
        try:
            self.temp.unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not remove the temporary file %s: %s", self.temp, exc)


class ShotSpools:
    """The spools of one exposure's downloads: opens them, hands each to its file, and removes
    the ones no file claimed."""

    def __init__(self, folder: OriginalsFolder | None, keep_jpeg: bool, flushing: list[DiskSpool]):
        self._folder = folder
        self._keep_jpeg = keep_jpeg
        self._open: list[DiskSpool] = []
        self._flushing = flushing  # claimed spools still fsyncing: the runner's commit waits

    def __call__(self, info: ObjectInfo) -> Spool | None:
        """A spool for a file that may be saved, or None (saving off, a JPEG not kept, or the
        folder refusing a new file: then staging from memory deals with it). Only the format
        says what a file is before its bytes arrive: anything but a JPEG is spooled, and one
        the runner does not keep is removed unclaimed."""
        if self._folder is None or (info.object_format == FORMAT_JPEG and not self._keep_jpeg):
            return None
        try:
            temp, fd = self._folder.new_temporary()
        except OSError as exc:
            log.debug("no spool for %s: %s", info.filename, exc)
            return None
        spool = DiskSpool(temp, fd, info.filename)
        self._open.append(spool)
        return spool

    def claim(self, file: DownloadedFile) -> Path | None:
        """The staged temporary file of a downloaded file, if its spool holds exactly its bytes."""
        spool = file.spool
        if not isinstance(spool, DiskSpool) or spool not in self._open:
            return None
        self._open.remove(spool)
        staged = spool.finish(len(file.data))
        if staged is not None:
            self._flushing.append(spool)
        return staged

    def __enter__(self) -> ShotSpools:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.discard_unclaimed()

    def discard_unclaimed(self) -> None:
        """Remove the spools of downloads that did not complete (their files were never staged)."""
        for spool in self._open:
            spool.discard()
        self._open.clear()
