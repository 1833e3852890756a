"""Access to the shared reference samples (read in place from ../shared, never copied).

Provenance of the golden data tests take from here:

* ``libgphoto2-sony/sony-*.txt``: verbatim copies of libgphoto2's ``camlibs/ptp2/cameras/`` reports
  (commit 813de344e697eee4443e4ca38b6923f1db46eef2, see that folder's README.md), each made by a
  real body on gphoto2. They hold DeviceInfo summaries and property reports for 23 bodies.
* USB transfers: ``sony-a7sm3.txt`` (ILCE-7SM3) logs "Read N ... (hexdump of N bytes)" blocks,
  read by :func:`hexdumps_after`: the handshake (0x9202 at line 123, 0x9201, 0x9205 at 550-579)
  and a complete 0x9209 data phase (line 1091 on, 1024 + 8192 + 145 bytes).
  ``sony-a6000.txt`` (ILCE-6000) logs gphoto2-port "Hexdump of N = 0x.. bytes follows" blocks,
  complete from line 976 (a 0x9207 data-out transaction, a 0x9209 data phase read as 1024 + 28
  bytes, an interrupt event), read by :func:`usb_transfers`. ``sony-dsc-rx0.txt`` holds one
  response dump (line 1410).

Tests name the file and the line or section their bytes come from at the point of use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

SHARED = Path(__file__).resolve().parents[2] / "shared"
GPHOTO_REPORTS = SHARED / "samples" / "libgphoto2-sony"

_HEX_LINE = re.compile(r"^[0-9a-f]{4}  ((?:[0-9a-f]{2}[ -]){0,16})", re.IGNORECASE)


def report(name: str) -> str:
    """The text of one libgphoto2 report, e.g. ``sony-a7sm3.txt``."""
    path = GPHOTO_REPORTS / name
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: tests need ../shared beside the checkout")
    return path.read_text(encoding="utf-8", errors="replace")


def hexdumps_after(text: str, marker: str) -> list[bytes]:
    """Every hex dump (one per USB read) after the first line containing ``marker``.

    Stops at the first line starting with 'Reading PTP_OC' for another operation's response.
    """
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    dumps: list[bytes] = []
    current: bytearray | None = None
    for line in lines[start + 1 :]:
        if line.startswith("Read ") and "hexdump" in line:
            current = bytearray()
            dumps.append(b"")
            continue
        match = _HEX_LINE.match(line)
        if match and current is not None:
            current += bytes.fromhex(match.group(1).replace("-", " "))
            dumps[-1] = bytes(current)
            continue
        if line.startswith(("Reading PTP_OC", "Sending PTP_OC")) and dumps:
            break
    return dumps


_PORT_IO = re.compile(
    r"gphoto2-port\(\d\): (Writing|Reading) (\d+)=0x[0-9a-f]+ (?:byte\(s\)|bytes) "
    r"(to port|from port|from interrupt endpoint)"
)
_PORT_HEXDUMP = re.compile(r"gphoto2-port\(\d\): Hexdump of (\d+) = 0x[0-9a-f]+ bytes follows:")


@dataclass(frozen=True)
class UsbTransfer:
    """One transfer a libgphoto2 debug log shows: ``out`` (bulk write), ``in`` (bulk read) or
    ``event`` (interrupt read), with ``asked`` the size libgphoto2 requested."""

    line: int  # 1-based line of the "Hexdump of" header in the report
    direction: str
    asked: int
    data: bytes


def usb_transfers(text: str, from_line: int = 1) -> list[UsbTransfer]:
    """Every transfer with a complete hex dump in a gphoto2-port debug log, from ``from_line`` on.

    Raises:
        ValueError: a dump holds fewer bytes than its header announces (an edited log).
    """
    transfers: list[UsbTransfer] = []
    lines = text.splitlines()
    pending: tuple[str, int] | None = None
    index = from_line - 1
    while index < len(lines):
        line = lines[index]
        if io := _PORT_IO.search(line):
            kind = {"to port": "out", "from port": "in"}.get(io.group(3), "event")
            pending = (kind, int(io.group(2)))
        elif (dump := _PORT_HEXDUMP.search(line)) and pending is not None:
            size = int(dump.group(1))
            header_line = index + 1
            data = bytearray()
            index += 1
            while index < len(lines) and (match := _HEX_LINE.match(lines[index])):
                data += bytes.fromhex(match.group(1).replace("-", " "))
                index += 1
            if len(data) != size:
                raise ValueError(f"line {index}: hex dump has {len(data)} of {size} bytes")
            transfers.append(UsbTransfer(header_line, pending[0], pending[1], bytes(data)))
            pending = None
            continue
        index += 1
    return transfers
