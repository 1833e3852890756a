"""The JSON text of an image array, made a part at a time, and its exact length counted without it.

``orjson.dumps(pixels, option=OPT_SERIALIZE_NUMPY)`` of a 61 MP RGB frame is over 1 GB of text,
serialised in one call that holds the GIL for seconds. Here the text is the same bytes, made on
demand as consecutive parts: part k is the orjson text of a block of x columns (the first axis,
x-major as Alpaca wants it) with its outer brackets replaced by the comma or bracket that joins
it to its neighbours. A part is at most :data:`PART_BYTES` long (or one column), so a download
holds one part at a time and each part is a short GIL hold.

Content-Length is known before any part is made: orjson writes an integer as its plain decimal
(no spaces, no exponent), so a block's text length is its brackets and commas (fixed by its
shape) plus the decimal digits (and minus signs) of its values, counted with numpy.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import numpy.typing as npt
import orjson

# Text per part (at most; a part is never less than one x column). waitress's main loop makes a
# part inside one read(), so it must be short: 256 KiB is 0.2-0.5 ms of orjson here. Bigger is
# slower, not faster: for RGB, orjson took 2 ns a byte up to about 300 KB of output and 3.5-4
# above 500 KB (one dumps of a whole 61 MP RGB frame: 13 ns a byte, 15 s, 7.7 GB of peak RSS).
PART_BYTES = 256 << 10


def _structure_bytes(shape: tuple[int, ...]) -> int:
    """Brackets and commas in the JSON nested lists of an array of this shape."""
    total = 0
    lists = 1  # the lists at the current depth: one outermost
    for length in shape:
        total += lists * (2 + max(length - 1, 0))  # each list's brackets and inner commas
        lists *= length
    return total


def _max_value_chars(dtype: np.dtype[Any]) -> int:
    info = np.iinfo(dtype)
    return max(len(str(info.min)), len(str(info.max)))


def _value_chars(block: npt.NDArray[np.integer[Any]]) -> int:
    """Characters of every value of ``block`` written as a decimal: digits and minus signs."""
    info = np.iinfo(block.dtype)
    chars = block.size  # every value has a first digit
    power = 10
    while power <= info.max:
        chars += int(np.count_nonzero(block >= power))
        if info.min < 0 and -power >= info.min:
            chars += int(np.count_nonzero(block <= -power))
        power *= 10
    if info.min < 0:
        chars += int(np.count_nonzero(block < 0))
    return chars


class JsonArrayText:
    """The bytes of ``orjson.dumps(pixels, option=OPT_SERIALIZE_NUMPY)``, as :attr:`part_count`
    parts made on demand by :meth:`part`; :attr:`length` is their total, counted without them.

    Holds the array (a reference, never a copy) and where each part ends: 8 bytes a part, 76 KB
    for the 9504 parts of a 61 MP RGB frame's 1.2 GB of text.

    Raises:
        TypeError: ``pixels`` is not an integer array (its JSON length could not be counted).
    """

    def __init__(self, pixels: npt.NDArray[np.integer[Any]], part_bytes: int | None = None):
        if not np.issubdtype(pixels.dtype, np.integer) or pixels.ndim == 0:
            raise TypeError(f"JSON text is made for integer arrays only, not {pixels.dtype}")
        self._pixels = pixels
        width = pixels.shape[0]
        column = pixels.shape[1:]
        worst_column = _structure_bytes((1, *column)) + math.prod(column) * (
            _max_value_chars(pixels.dtype) + 1
        )
        self._columns = max(1, (part_bytes or PART_BYTES) // worst_column)
        lengths = []
        for start in range(0, width, self._columns):
            block = pixels[start : start + self._columns]
            # The block's own text less its outer brackets, plus the "[" or "," before it.
            lengths.append(_structure_bytes(block.shape) - 1 + _value_chars(block))
        if lengths:
            lengths[-1] += 1  # the closing "]"
        else:
            lengths.append(2)  # no columns at all: "[]"
        self._ends = np.cumsum(lengths, dtype=np.int64)
        self.length = int(self._ends[-1])

    @property
    def part_count(self) -> int:
        return len(self._ends)

    @property
    def lengths(self) -> list[int]:
        """Each part's length, in order."""
        return np.diff(self._ends, prepend=0).tolist()  # type: ignore[no-any-return]

    def part_at(self, offset: int) -> tuple[int, int]:
        """(index, offset where it begins) of the part holding byte ``offset`` of the text."""
        index = int(np.searchsorted(self._ends, offset, side="right"))
        return index, int(self._ends[index - 1]) if index else 0

    def part(self, index: int) -> bytes:
        """Part ``index`` (0 <= index < part_count) of the text, checked against its length.

        Raises:
            RuntimeError: the text is not the length counted (the Content-Length sent would be
                wrong; a bug, never left to cut a download short unseen).
        """
        if self._pixels.shape[0] == 0:
            text = b"[]"
        else:
            start = index * self._columns
            # orjson serialises C-contiguous arrays only; a block of a C-contiguous frame is one.
            block = np.ascontiguousarray(self._pixels[start : start + self._columns])
            dumped = orjson.dumps(block, option=orjson.OPT_SERIALIZE_NUMPY)
            opening = b"[" if index == 0 else b","
            closing = b"]" if index == self.part_count - 1 else b""
            text = b"".join((opening, memoryview(dumped)[1:-1], closing))
        expected = int(self._ends[index]) - (int(self._ends[index - 1]) if index else 0)
        if len(text) != expected:
            raise RuntimeError(f"JSON part {index} is {len(text)} bytes, not {expected}")
        return text
