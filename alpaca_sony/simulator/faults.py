"""Fault plan: the failures a test asks the simulated camera to produce, and when.

Tests steer faults through this Python API, never through magic bytes on the wire. Each fault fires
a set number of times and then disarms itself.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

# How a GetObject data phase can arrive damaged (FaultPlan.corrupt_download):
CORRUPT_SHORT = "short"  # 4 KiB fewer bytes than its ObjectInfo announced
CORRUPT_TYPE = "type"  # the container's type field is 0, no PTP container type
CORRUPT_BYTES = "bytes"  # framing intact, the file's first 4 KiB garbled (its TIFF header)
CORRUPTIONS = {
    CORRUPT_SHORT: "4 KiB shorter than its ObjectInfo size",
    CORRUPT_TYPE: "in a container of no PTP type",
    CORRUPT_BYTES: "with its first 4 KiB garbled",
}


@dataclass
class _Counted:
    remaining: int
    operation: int | None = None  # None: any operation
    skip: int = 0  # matching operations to let through first


@dataclass
class _Disconnect:
    operation: int | None
    occurrence: int
    after_bytes: int | None  # into the data phase; None: before the response


@dataclass
class FaultPlan:
    """Armed faults. All methods are thread-safe and chainable."""

    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    _busy: list[_Counted] = field(default_factory=list)
    _stuck: list[_Counted] = field(default_factory=list)
    _disconnects: list[_Disconnect] = field(default_factory=list)
    _disconnects_when: list[Callable[[], bool]] = field(default_factory=list)
    _power_offs_when: list[Callable[[], bool]] = field(default_factory=list)
    _stray_zlps: int = 0
    _af_misses: int = 0
    _stalls: int = 0
    _out_stalls: int = 0
    split_read_bytes: int | None = None
    host_crashed: bool = False  # OpenSession fails until a PTP Device Reset
    processing_hidden: bool = False  # 0xD215 reads 0 (not 1) while an image is produced
    _corruptions: list[str] = field(default_factory=list)  # kinds, for the next GetObjects
    # The link's bulk IN rate (a USB 1.1 port, a long hub chain); None: as fast as the bus.
    usb_bytes_per_s: float | None = None
    _operation_counts: dict[int, int] = field(default_factory=dict)

    # -- arming ----------------------------------------------------------------------------

    def busy(self, times: int = 3, operation: int | None = None) -> FaultPlan:
        """Answer DeviceBusy (0x2019) to the next ``times`` operations (of one code, or any)."""
        with self._lock:
            self._busy.append(_Counted(times, operation))
        return self

    def stall(self, operation: int | None = None, times: int = 1, after: int = 0) -> FaultPlan:
        """Never answer ``times`` operations (after letting ``after`` through): reads time out."""
        with self._lock:
            self._stuck.append(_Counted(times, operation, after))
        return self

    def disconnect(
        self, operation: int | None = None, occurrence: int = 1, after_bytes: int | None = None
    ) -> FaultPlan:
        """Pull the cable at the ``occurrence``-th ``operation`` (counted from now).

        With ``after_bytes`` the cable goes after that many bytes of the operation's data phase
        have been sent, else when the command arrives (before anything is answered).
        """
        with self._lock:
            self._disconnects.append(_Disconnect(operation, occurrence, after_bytes))
        return self

    def disconnect_when(self, condition: Callable[[], bool]) -> FaultPlan:
        """Pull the cable at the first command that arrives while ``condition()`` holds.

        For a moment no operation count can name, e.g. "while the shutter is open": how many
        commands the host sends before then depends on its polling.
        """
        with self._lock:
            self._disconnects_when.append(condition)
        return self

    def power_off_when(self, condition: Callable[[], bool]) -> FaultPlan:
        """Switch the camera off at the first command that arrives while ``condition()`` holds."""
        with self._lock:
            self._power_offs_when.append(condition)
        return self

    def take_power_off(self) -> bool:
        """True if the camera should switch itself off now (a power_off_when condition holds)."""
        with self._lock:
            conditions = list(self._power_offs_when)
        met = next((c for c in conditions if c()), None)  # conditions take the body's lock
        with self._lock:
            if met is not None and met in self._power_offs_when:
                self._power_offs_when.remove(met)
                return True
            return False

    def stray_zero_length_packets(self, count: int = 1) -> FaultPlan:
        """Send ``count`` unexpected zero-length packets before the next transfers."""
        with self._lock:
            self._stray_zlps += count
        return self

    def split_reads(self, max_bytes: int | None) -> FaultPlan:
        """Deliver at most ``max_bytes`` per bulk IN transfer (None: no limit)."""
        self.split_read_bytes = max_bytes
        return self

    def stall_bulk_in(self, times: int = 1) -> FaultPlan:
        """Halt the bulk IN endpoint before the next ``times`` reads (the host must clear it)."""
        with self._lock:
            self._stalls += times
        return self

    def stall_bulk_out(self, times: int = 1) -> FaultPlan:
        """Halt the bulk OUT endpoint before the next ``times`` writes (the host must clear it)."""
        with self._lock:
            self._out_stalls += times
        return self

    def take_out_stall(self) -> bool:
        """True if the bulk OUT endpoint should report a stall now."""
        with self._lock:
            if self._out_stalls > 0:
                self._out_stalls -= 1
                return True
            return False

    def take_stall(self) -> bool:
        """True if the bulk IN endpoint should report a stall now."""
        with self._lock:
            if self._stalls > 0:
                self._stalls -= 1
                return True
            return False

    def autofocus_miss(self, times: int = 1) -> FaultPlan:
        """The next ``times`` autofocus attempts fail: focus indication 3 and no photo."""
        with self._lock:
            self._af_misses += times
        return self

    def crash_host(self) -> FaultPlan:
        """The previous host died mid-session: OpenSession is refused until a Device Reset.

        libgphoto2 library.c camera_init meets this as InvalidTransactionID (or an I/O error)
        from OpenSession and answers it with the class request 0x66 (usb.c).
        """
        self.host_crashed = True
        return self

    def hide_processing(self) -> FaultPlan:
        """0xD215 shows nothing until the image is ready: a late image looks like no picture.

        libgphoto2 treats only 0xD215 >= 0x8000 as news; a driver that reads "nothing yet" as
        "no picture" and presses again shoots twice (sony-ptp.md 14.3).
        """
        self.processing_hidden = True
        return self

    def short_object(self, times: int = 1) -> FaultPlan:
        """The next ``times`` GetObject data phases are shorter than their ObjectInfo size."""
        return self.corrupt_download(CORRUPT_SHORT, times)

    def corrupt_download(self, kind: str, times: int = 1) -> FaultPlan:
        """The next ``times`` GetObject data phases arrive damaged, one of CORRUPTIONS.

        The camera believes it sent the file whole, so it drops it from its buffer as after
        any GetObject (sony-ptp.md 6.5): what the host received is the only copy left.
        """
        if kind not in CORRUPTIONS:
            raise ValueError(f"unknown corruption {kind!r}; known: {sorted(CORRUPTIONS)}")
        with self._lock:
            self._corruptions.extend([kind] * times)
        return self

    def take_corruption(self) -> str | None:
        """How this GetObject's data phase is damaged, or None."""
        with self._lock:
            return self._corruptions.pop(0) if self._corruptions else None

    def slow_usb(self, bytes_per_s: float | None) -> FaultPlan:
        """Bulk IN delivers at most ``bytes_per_s`` on the simulator's clock (None: no limit)."""
        self.usb_bytes_per_s = bytes_per_s
        return self

    # -- queried by the simulator ------------------------------------------------------------

    def on_command(self, operation: int) -> tuple[bool, bool, int | None]:
        """Per command: (answer busy?, stay silent?, cut after N data bytes, -1 now, None never)."""
        # Conditions ask the body, which takes its own lock: evaluated outside ours.
        with self._lock:
            conditions = list(self._disconnects_when)
        met = next((c for c in conditions if c()), None)
        with self._lock:
            if met is not None and met in self._disconnects_when:
                self._disconnects_when.remove(met)
                self._operation_counts[operation] = self._operation_counts.get(operation, 0) + 1
                return False, False, -1
            count = self._operation_counts.get(operation, 0) + 1
            self._operation_counts[operation] = count
            disconnect_at: int | None = None
            for fault in list(self._disconnects):
                if fault.operation in (None, operation):
                    fault.occurrence -= 1
                    if fault.occurrence <= 0:
                        self._disconnects.remove(fault)
                        disconnect_at = -1 if fault.after_bytes is None else fault.after_bytes
                        break
            return (
                self._take(self._busy, operation),
                self._take(self._stuck, operation),
                disconnect_at,
            )

    @staticmethod
    def _take(faults: list[_Counted], operation: int) -> bool:
        for fault in faults:
            if fault.operation in (None, operation) and fault.remaining > 0:
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                fault.remaining -= 1
                if fault.remaining == 0:
                    faults.remove(fault)
                return True
        return False

    def take_stray_zlp(self) -> bool:
        """True if a stray zero-length packet should be sent now."""
        with self._lock:
            if self._stray_zlps > 0:
                self._stray_zlps -= 1
                return True
            return False

    def take_af_miss(self) -> bool:
        """True if this autofocus attempt should fail."""
        with self._lock:
            if self._af_misses > 0:
                self._af_misses -= 1
                return True
            return False
