"""One Alpaca exposure on a connected body: plan, set, shoot, save the originals, decode.

Runs on the device worker's thread. Stale images found before the shot are saved, never returned
as the new frame; RAW+JPEG pairs share one file name stem; an aborted exposure is still
downloaded and saved (the buffer must stay clear) but yields no frame; one aborted before S2 is
pressed takes no picture at all (issue 9 point 2).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from alpaca_sony.camera.decode import (
    DecodedFrame,
    DecodeOptions,
    RawNotUsable,
    ReadoutMode,
    Subframe,
    decode,
)
from alpaca_sony.camera.held_originals import FallbackFolder, PendingOriginals, file_name
from alpaca_sony.camera.originals import OriginalsFolder, ShotFacts, file_stem
from alpaca_sony.camera.spool import DiskSpool, ShotSpools
from alpaca_sony.camera.state import CameraState, ExposureStatus
from alpaca_sony.clock import Clock
from alpaca_sony.errors import CameraError, NoImageTaken
from alpaca_sony.sony.capture import (
    AutofocusFailed,
    CaptureAborted,
    CapturePhase,
    CaptureResult,
    CaptureSequence,
    ExposurePlan,
    NoShotSeen,
    plan_exposure,
    shutter_ladder,
)
from alpaca_sony.sony.props import PropertyTable
from alpaca_sony.sony.protocol import DamagedDownload, DownloadedFile

log = logging.getLogger(__name__)

StatusSink = Callable[[CameraState, ExposureStatus], None]
_RAW_SUFFIXES = (".ARW", ".SRF", ".SR2")


@dataclass(frozen=True)
class CaptureOptions:
    """User choices that shape every exposure."""

    prefer_builtin_speeds: bool = False
    keep_jpeg: bool = False
    save_originals: bool = True
    also_save_to_card: bool = False  # the camera keeps its own copy too (0xD222 host + card)
    af_retry_pause_s: float = 2.0
    # Originals held in memory while the folder refuses them (full, read-only, gone); beyond
    # this they go to the fallback folder.
    pending_limit_bytes: int = 1 << 30
    decode: DecodeOptions = field(default_factory=DecodeOptions)


@dataclass(frozen=True)
class ExposureRequest:
    """What the client asked for."""

    duration_s: float
    light: bool = True
    iso: int | None = None  # a raw 0xD21E value; None leaves the camera's ISO alone
    readout: ReadoutMode = ReadoutMode.RAW
    subframe: Subframe = field(default_factory=Subframe)


class ExposureControl:
    """How other threads end an exposure early: both end a BULB hold at once."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.aborted = threading.Event()
        self.stopped = threading.Event()

    def abort(self) -> None:
        """End now and discard the frame: before S2 nothing is shot; after S2 the file is still
        downloaded and saved."""
        self.aborted.set()
        self.cancel.set()

    def stop(self) -> None:
        """End now and keep the frame."""
        self.stopped.set()
        self.cancel.set()


@dataclass(frozen=True)
class StagedFile:
    """A downloaded file written to a temporary name, waiting to be made durable."""

    temp: Path
    stem: str
    extension: str
    is_raw: bool


@dataclass
class ExposureOutcome:
    """What an exposure produced; ``staged`` files still need :meth:`ExposureRunner.commit`."""

    status: ExposureStatus
    frame: DecodedFrame | None
    staged: list[StagedFile] = field(default_factory=list)
    recovered: list[Path] = field(default_factory=list)


class ExposureRunner:
    """Runs exposures; holds the options and the originals folder."""

    def __init__(
        self,
        clock: Clock,
        options: CaptureOptions,
        originals: OriginalsFolder | None,
        fallback: FallbackFolder | None = None,
    ):
        self.clock = clock
        self.options = options
        # Kept while saving is off: the setup page may turn it on, and originals held in memory
        # are still written there after it is turned off (nothing shot is dropped).
        self.folder = originals
        self.pending = PendingOriginals(options.pending_limit_bytes, fallback)
        self._write_back: threading.Thread | None = None
        self._flushing: list[DiskSpool] = []  # spooled originals still being fsynced

    @property
    def originals(self) -> OriginalsFolder | None:
        """Where this exposure's originals go; None while saving is off."""
        return self.folder if self.options.save_originals else None

    def folder_refusal(self) -> str | None:
        """Why originals could not be saved if saving were turned on now (None: they could)."""
        if self.folder is None:
            return "no save folder is configured"
        reason = self.folder.unusable_because()
        return None if reason is None else f"{self.folder.folder} cannot be written ({reason})"

    # -- saving ----------------------------------------------------------------------------

    def _usable_folder(self) -> OriginalsFolder | None:
        if self.originals is None:
            return None
        try:
            if self.originals.low_on_space():
                log.warning(
                    "less than %d MB free in %s: originals may not fit",
                    self.originals.min_free_bytes // 1_000_000,
                    self.originals.folder,
                )
        except OSError as exc:
            # Staging will fail too and hold the originals in memory.
            log.error("the originals folder %s is unusable: %s", self.originals.folder, exc)
        return self.originals

    def disk_trouble(self) -> str:
        """Originals held in memory or lost, for the snapshot; "" when all are on disk."""
        if self.folder is None:
            return ""
        return self.pending.trouble(self.folder.folder)

    def flush_pending(self) -> list[Path]:
        """Write originals held in memory, if the folder takes them again; then move one from
        the fallback folder (both even while saving is off: they were shot while it was on)."""
        if self.folder is None:
            return []
        saved = self.pending.write_to(self.folder)
        moved = self.pending.move_back(self.folder)
        return [*saved, moved] if moved is not None else saved

    def put_away_held(self, reason: str) -> None:
        """Before the process ends: a last try at the folder, then the fallback for the rest."""
        if self.folder is not None:
            self.pending.write_to(self.folder)
        self.pending.evacuate(reason)

    def stage(
        self, model: str, files: list[DownloadedFile], exposure_s: float | None, iso: int | None
    ) -> list[StagedFile]:
        """Write the files of one shot to temporary files under one stem (not yet durable)."""
        return self._stage_shot(model, files, exposure_s, iso)[0]

    def _stage_shot(
        self,
        model: str,
        files: list[DownloadedFile],
        exposure_s: float | None,
        iso: int | None,
        *,
        damaged: bool = False,
        spools: ShotSpools | None = None,
    ) -> tuple[list[StagedFile], list[str]]:
        """:meth:`stage`, and the names the shot's files are saved under; ``damaged`` files get
        a name that says so. A file already written while it downloaded (``spools``) is not
        written again."""
        folder = self._usable_folder()
        if folder is None:
            return [], []
        staged: list[StagedFile] = []
        names: list[str] = []
        when = dt.datetime.now(dt.UTC)  # one time for the shot, so RAW+JPEG share the stem
        for file in files:
            if not file.is_raw and not self.options.keep_jpeg:
                continue
            facts = ShotFacts(model, file.info.sequence_number, exposure_s or 0.0, iso, when)
            stem = file_stem(facts) if exposure_s is not None else file_stem(facts) + "_recovered"
            if damaged:
                stem = file_stem(facts) + "_damaged"
            name = file.info.filename
            extension = _extension(name)
            names.append(file_name(stem, extension))
            spooled = spools.claim(file) if spools is not None else None
            try:
                temp = spooled or folder.stage(file.data)
            except OSError as exc:
                # Keep serving: the frame is still in memory and will be decoded; the
                # original waits in memory for the folder.
                self.pending.keep(stem, extension, file.data.tobytes(), exc)
                continue
            staged.append(StagedFile(temp, stem, extension, file.is_raw))
        return staged, names

    def commit(self, staged: list[StagedFile]) -> list[Path]:
        """Make staged files durable under their final names (in the folder they were staged
        in, even if saving was turned off since)."""
        self._finish_write_back()
        if self.folder is None:
            return []
        saved: list[Path] = []
        for item in staged:
            try:
                saved.append(self.folder.commit(item.temp, item.stem, item.extension))
            except OSError as exc:
                self._hold_staged(item, exc)
        return saved

    def _start_write_back(self, staged: list[StagedFile]) -> None:
        """Begin writing the staged files to disk on a helper thread while the frame decodes.

        The save overlaps the decode: commit's fsync then finds little left to write (seconds
        for a 120 MB ARW on an SD card). Only a head start: commit still fsyncs every file and
        handles any failure, so one here is merely logged.
        """
        if self._write_back is not None:
            self._write_back.join()
        spooled = {spool.temp for spool in self._flushing}  # their writers fsync them already
        paths = [item.temp for item in staged if item.temp not in spooled]
        if not paths:
            return
        thread = threading.Thread(
            target=_write_back, args=(paths,), name="originals-write-back", daemon=True
        )
        thread.start()
        self._write_back = thread

    def _finish_write_back(self) -> None:
        thread, self._write_back = self._write_back, None
        if thread is not None:
            thread.join()
        # Emptied in place: the shot's ShotSpools holds this very list.
        while self._flushing:
            self._flushing.pop().flushed()

    def _hold_staged(self, item: StagedFile, exc: OSError) -> None:
        """A staged file that could not be made durable: its bytes wait in memory instead."""
        try:
            data = item.temp.read_bytes()
        except OSError as read_exc:
            # The folder vanished with the staged file in it: nothing is left to keep.
            name = file_name(item.stem, item.extension)
            self.pending.lose(name, f"{exc}; its staged copy is gone too ({read_exc})")
            return
        self.pending.keep(item.stem, item.extension, data, exc)
        try:
            item.temp.unlink(missing_ok=True)
        except OSError as unlink_exc:
            log.warning("could not remove the temporary file %s: %s", item.temp, unlink_exc)

    def save(
        self, model: str, files: list[DownloadedFile], exposure_s: float | None, iso: int | None
    ) -> list[Path]:
        """Stage and commit at once (images recovered outside an exposure)."""
        return self.commit(self.stage(model, files, exposure_s, iso))

    # -- one exposure ------------------------------------------------------------------------

    def plan(
        self, capture: CaptureSequence, request: ExposureRequest, table: PropertyTable
    ) -> tuple[ExposurePlan, PropertyTable]:
        """Set drive mode, save destination, ISO and shutter speed (verified) for the request.

        ``table`` is the latest settings read; each setter reads again only when it changes
        something, so an exposure with everything already set costs no extra reads.
        """
        table = capture.prepare_body(table, self.options.also_save_to_card)
        if request.iso is not None:
            table = capture.set_iso(request.iso, table)
        plan = plan_exposure(
            request.duration_s,
            shutter_ladder(table, capture.camera.model),
            prefer_builtin=self.options.prefer_builtin_speeds,
        )
        table = capture.set_shutter(plan.shutter_raw, table)
        return plan, table

    def run(
        self,
        capture: CaptureSequence,
        request: ExposureRequest,
        control: ExposureControl,
        report: StatusSink,
    ) -> ExposureOutcome:
        """Shoot, download, save and decode.

        Raises:
            CameraError: the camera refused or failed (the message says what to do).
            TransportError: USB failed (the worker reconnects and recovers the image).
        """
        model_name = capture.camera.device_info.model if capture.camera.device_info else "camera"
        status = ExposureStatus(request.duration_s, request.duration_s, bulb=False)
        report(CameraState.WAITING, status)
        # The wait after connecting comes in expose, just before S1: setting the camera up
        # overlaps it instead of following it.
        table = capture.read_settings()
        stale, table = capture.drain(table)
        recovered = self.save(model_name, stale, None, None)
        if control.aborted.is_set():  # each step of Waiting may take seconds on a real body
            return self._aborted_before_shot(status, recovered)
        plan, table = self.plan(capture, request, table)
        status = ExposureStatus(request.duration_s, plan.duration_s, bulb=plan.is_bulb)

        def on_phase(phase: CapturePhase, at: float) -> None:
            nonlocal status
            if phase == CapturePhase.EXPOSING:
                status = replace(
                    status,
                    started_monotonic=at,
                    started_utc=dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds"),
                )
                report(CameraState.EXPOSING, status)
            elif phase == CapturePhase.READING:
                report(CameraState.READING, replace(status, ended_monotonic=at))
            else:
                report(CameraState.DOWNLOAD, status)

        # The shot's files are written to disk while they download (camera/spool.py); any that
        # no file claimed (a download that failed) are removed when the block ends.
        with ShotSpools(self.originals, self.options.keep_jpeg, self._flushing) as spools:
            try:
                result = self._expose_with_af_retry(capture, plan, table, control, on_phase, spools)
            except CaptureAborted:
                return self._aborted_before_shot(status, recovered)
            except DamagedDownload as exc:
                raise self._keep_damaged(model_name, exc, spools) from exc
            actual = result.ended_at - result.started_at
            status = replace(
                status,
                ended_monotonic=result.ended_at,
                actual_s=actual,
                aborted=control.aborted.is_set(),
                stopped=control.stopped.is_set() and not control.aborted.is_set(),
            )
            recovered += self.save(model_name, result.stale_files, None, None)
            iso = request.iso & 0xFFFFFF if request.iso is not None else None
            staged, names = self._stage_shot(model_name, result.files, actual, iso, spools=spools)
        outcome = ExposureOutcome(status, None, staged, recovered)
        if control.aborted.is_set():
            log.info("exposure aborted; its image was downloaded and kept on disk if saving is on")
            return outcome
        raw_files = [f for f in result.files if f.is_raw]
        if not raw_files:
            # What did arrive (a JPEG) is the user's picture: make it durable before the error.
            saved = self.commit(outcome.staged)
            kept = f"; {self._original_note(saved, names, 'JPEG')}" if names else ""
            raise CameraError(
                f"the camera sent no RAW file: set its file format to RAW or RAW+JPEG{kept}"
            )
        max_adu = capture.camera.model.sensor.max_adu if capture.camera.model else 16383
        raw_staged = [item.temp for item in staged if item.is_raw]
        # From the staged file (page cache) the ARW need not stay in this process's memory.
        source: bytes | Path = raw_staged[-1] if raw_staged else raw_files[-1].data.tobytes()
        self._start_write_back(staged)
        del result, raw_files
        try:
            outcome.frame = decode(
                source, request.readout, request.subframe, max_adu, self.options.decode, model_name
            )
        except CameraError as exc:
            # The original is the user's picture: make it durable before reporting the failure.
            saved = self.commit(outcome.staged)
            note = self._original_note(saved, names)
            if isinstance(exc, RawNotUsable):
                raise RawNotUsable(f"{exc}; {note}") from exc
            raise CameraError(f"{exc}; {note}") from exc
        except BaseException:
            self.commit(outcome.staged)  # a fault of ours never costs the user the picture
            raise
        return outcome

    def _original_note(self, saved: list[Path], names: list[str], what: str = "original") -> str:
        """Where the shot's original is, for a message about that shot: saved, held, or lost."""
        raw_saved = [p for p in saved if p.suffix.upper() in _RAW_SUFFIXES]
        if saved:
            return f"the {what} is saved as {(raw_saved or saved)[-1]}"
        if self.folder is not None:
            for name in sorted(names, key=lambda n: Path(n).suffix.upper() not in _RAW_SUFFIXES):
                whereabouts = self.pending.whereabouts(name, self.folder.folder)
                if whereabouts is not None:
                    return whereabouts.replace("the original", f"the {what}", 1)
        if self.originals is None:
            return f"the {what} was not saved (saving originals is off)"
        return f"the {what} was not saved (see the server log)"

    def _keep_damaged(
        self, model: str, exc: DamagedDownload, spools: ShotSpools | None = None
    ) -> CameraError:
        """Save what arrived of a damaged file under a name that says so; the error to report.

        The camera no longer holds the file, so these bytes are all that is left of the shot:
        kept for inspection, never decoded or named as a good frame.
        """
        staged, names = self._stage_shot(model, [exc.file], None, None, damaged=True, spools=spools)
        saved = self.commit(staged)
        kept = (
            f"what arrived is saved as {saved[-1]}, not as a frame"
            if saved
            else self._original_note(saved, names, "damaged file")
        )
        return CameraError(
            f"the camera sent a damaged image and no longer holds it ({exc}): {kept}; take the "
            "exposure again, and if this repeats try another USB cable or port"
        )

    @staticmethod
    def _aborted_before_shot(status: ExposureStatus, recovered: list[Path]) -> ExposureOutcome:
        log.info("exposure aborted before the shutter was pressed: no picture was taken")
        return ExposureOutcome(replace(status, aborted=True), None, [], recovered)

    def _expose_with_af_retry(
        self,
        capture: CaptureSequence,
        plan: ExposurePlan,
        table: PropertyTable,
        control: ExposureControl,
        on_phase: Callable[[CapturePhase, float], None],
        spools: ShotSpools | None = None,
    ) -> CaptureResult:
        """Expose; one more try with a longer autofocus pause only when focusing failed.

        A focus failure is seen with S1 held, before S2, so no picture exists and pressing again
        is safe. Any other missing picture may only be late: pressing again would be a second
        shot on the same frame (sony-ptp.md 14.3). The camera is asked once more; an image that
        turned up is this exposure's frame, else the error stands and the image, if it comes,
        is recovered and saved by the idle poll.
        """
        cancel, abort = control.cancel, control.aborted
        try:
            return capture.expose(
                plan, table, cancel=cancel, abort=abort, on_phase=on_phase, spool=spools
            )
        except AutofocusFailed:
            log.warning("the camera could not focus; retrying once with a longer pause")
        except NoShotSeen as exc:
            late, _ = capture.drain(capture.read_settings())
            if not late:
                raise
            log.warning("the image came after the no-picture deadline; keeping it")
            exc.result.files = late
            return exc.result
        try:
            return capture.expose(
                plan,
                cancel=cancel,
                abort=abort,
                on_phase=on_phase,
                af_pause_s=self.options.af_retry_pause_s,
                spool=spools,
            )
        except AutofocusFailed as exc:
            raise NoImageTaken(
                "the camera could not focus twice, so it took no picture: switch the lens or "
                "camera to manual focus (MF)"
            ) from exc


def _extension(camera_file_name: str) -> str:
    """The extension of the camera's file name, if it is a plain one (``ARW``, ``JPG``), else
    ``bin``: the camera's word never becomes a path separator or a hidden name on our disk."""
    extension = camera_file_name.rsplit(".", 1)[-1] if "." in camera_file_name else ""
    return (
        extension if extension.isascii() and extension.isalnum() and len(extension) <= 8 else "bin"
    )


def _write_back(paths: list[Path]) -> None:
    """fsync each file (on the write-back thread); a failure is left for commit to handle."""
    for path in paths:
        try:
            fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        except OSError as exc:
            log.debug("early write-back of %s failed (commit fsyncs it again): %s", path, exc)
