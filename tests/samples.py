"""Access to the shared reference samples (read in place from ../shared, never copied)."""

from __future__ import annotations

import re
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
