"""A simulated camera in a child process, reached through a pipe.

Benchmarks use it so that the simulator's own buffers (its star field, its files) are not counted
in the driver process's memory or CPU time. It is a :class:`UsbFunction`, so either seam can put it
behind pyusb.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import threading
from multiprocessing.connection import Connection
from typing import Any

from alpaca_sony.simulator import usb_device
from alpaca_sony.simulator.usb_device import UsbFault, UsbIdentity

log = logging.getLogger(__name__)

_FAULTS = {cls.__name__: cls for cls in (
    usb_device.UsbFault, usb_device.UsbNoDevice, usb_device.UsbOverflow, usb_device.UsbPipe,
    usb_device.UsbStuck,
)}  # fmt: skip


def _serve(conn: Connection, settings: Any) -> None:
    """The child: one SimulatedCamera on the wall clock, answering requests until told to stop."""
    from alpaca_sony.clock import SystemClock
    from alpaca_sony.simulator.camera import SimulatedCamera

    camera = SimulatedCamera(SystemClock(), settings)
    while True:
        try:
            request = conn.recv()
        except EOFError:
            return
        name, args = request
        if name == "stop":
            conn.send(("ok", None))
            return
        try:
            if name == "write_bulk":
                camera.write_bulk(conn.recv_bytes())
                conn.send(("ok", None))
                continue
            if name in ("read_bulk", "read_interrupt"):
                data = getattr(camera, name)(*args)
                conn.send(("bytes" if data is not None else "ok", None))
                if data is not None:
                    conn.send_bytes(data)
                continue
            target: Any = camera
            for part in name.split("."):
                target = getattr(target, part)
            conn.send(("ok", target(*args) if callable(target) else target))
        except UsbFault as fault:
            conn.send(("fault", (type(fault).__name__, str(fault))))


class RemoteCamera:
    """A :class:`UsbFunction` whose device lives in another process."""

    def __init__(self, settings: Any):
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_serve, args=(child, settings), name="simulated-camera", daemon=True
        )
        self._process.start()
        self._lock = threading.Lock()
        self._identity: UsbIdentity = self.call("identity")

    def call(self, name: str, *args: Any) -> Any:
        """Call a method (or read an attribute, dotted paths allowed) of the child's camera."""
        with self._lock:
            self._conn.send((name, args))
            return self._reply()

    def _reply(self) -> Any:
        kind, value = self._conn.recv()
        if kind == "fault":
            raise _FAULTS[value[0]](value[1])
        if kind == "bytes":
            return self._conn.recv_bytes()
        return value

    @property
    def identity(self) -> UsbIdentity:
        return self._identity

    @property
    def attached(self) -> bool:
        return bool(self.call("attached"))

    def write_bulk(self, data: bytes) -> None:
        with self._lock:
            self._conn.send(("write_bulk", ()))
            self._conn.send_bytes(data)
            self._reply()

    def read_bulk(self, size: int) -> bytes | None:
        result: bytes | None = self.call("read_bulk", size)
        return result

    def read_interrupt(self, size: int) -> bytes | None:
        result: bytes | None = self.call("read_interrupt", size)
        return result

    def clear_halt(self, endpoint: int) -> None:
        self.call("clear_halt", endpoint)

    def reset(self) -> None:
        self.call("reset")

    def close(self) -> None:
        """Stop the child process."""
        with contextlib.suppress(EOFError, OSError):
            self.call("stop")
        self._process.join(5)
