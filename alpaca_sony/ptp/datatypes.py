"""PTP dataset primitives: scalars, arrays and strings, read from and written to bytes. Pure.

Every read is bounds-checked and raises :class:`MalformedData`, so a truncated or garbage dataset
can never crash or hang a caller.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable

from alpaca_sony.errors import MalformedData
from alpaca_sony.ptp.codes import ARRAY_FLAG, DataType

# (size in bytes, signed) for every scalar type code.
SCALAR_LAYOUT: dict[int, tuple[int, bool]] = {
    DataType.INT8: (1, True),
    DataType.UINT8: (1, False),
    DataType.INT16: (2, True),
    DataType.UINT16: (2, False),
    DataType.INT32: (4, True),
    DataType.UINT32: (4, False),
    DataType.INT64: (8, True),
    DataType.UINT64: (8, False),
    DataType.INT128: (16, True),
    DataType.UINT128: (16, False),
}

Value = int | str | tuple[int, ...]


def is_known_type(data_type: int) -> bool:
    """True for the scalar, array and string codes PTP defines."""
    return (
        data_type in SCALAR_LAYOUT
        or data_type == DataType.STR
        or ((data_type & ~ARRAY_FLAG) in SCALAR_LAYOUT and data_type & ARRAY_FLAG == ARRAY_FLAG)
    )


class Reader:
    """A bounds-checked little-endian cursor over a byte buffer."""

    def __init__(self, data: bytes | bytearray | memoryview, offset: int = 0):
        self._data = memoryview(data).cast("B") if not isinstance(data, bytes) else data
        self.offset = offset

    @property
    def remaining(self) -> int:
        """Bytes not yet consumed."""
        return len(self._data) - self.offset

    def _take(self, size: int, what: str) -> bytes:
        if size < 0 or self.offset + size > len(self._data):
            raise MalformedData(
                f"{what}: needs {size} bytes at offset {self.offset}, "
                f"only {max(0, self.remaining)} left"
            )
        chunk = bytes(self._data[self.offset : self.offset + size])
        self.offset += size
        return chunk

    def skip(self, size: int, what: str = "padding") -> None:
        """Advance without decoding."""
        self._take(size, what)

    def peek_u16(self) -> int | None:
        """The next UINT16 without consuming it, or None at the end."""
        if self.remaining < 2:
            return None
        return int.from_bytes(self._data[self.offset : self.offset + 2], "little")

    def integer(self, data_type: int, what: str = "value") -> int:
        """A scalar of the given PTP type."""
        try:
            size, signed = SCALAR_LAYOUT[data_type]
        except KeyError:
            raise MalformedData(f"{what}: 0x{data_type:04X} is not a scalar type") from None
        return int.from_bytes(self._take(size, what), "little", signed=signed)

    def u8(self, what: str = "UINT8") -> int:
        return self.integer(DataType.UINT8, what)

    def u16(self, what: str = "UINT16") -> int:
        return self.integer(DataType.UINT16, what)

    def u32(self, what: str = "UINT32") -> int:
        return self.integer(DataType.UINT32, what)

    def u64(self, what: str = "UINT64") -> int:
        return self.integer(DataType.UINT64, what)

    def string(self, what: str = "string") -> str:
        """A PTP string: a count of UTF-16 units (NUL included), then the units."""
        count = self.u8(what)
        if count == 0:
            return ""
        raw = self._take(count * 2, what)
        text = raw.decode("utf-16-le", errors="replace")
        return text[:-1] if text.endswith("\x00") else text

    def array(self, element_type: int, what: str = "array") -> tuple[int, ...]:
        """A UINT32 count followed by that many scalars."""
        count = self.u32(what)
        size, signed = SCALAR_LAYOUT.get(element_type, (0, False))
        if size == 0:
            raise MalformedData(f"{what}: 0x{element_type:04X} is not a scalar type")
        raw = self._take(count * size, what)  # checks the count against the bytes left first
        return tuple(
            int.from_bytes(raw[i : i + size], "little", signed=signed)
            for i in range(0, len(raw), size)
        )

    def value(self, data_type: int, what: str = "value") -> Value:
        """A value of any PTP type: scalar, array or string."""
        if data_type == DataType.STR:
            return self.string(what)
        if data_type & ARRAY_FLAG and (data_type & ~ARRAY_FLAG) in SCALAR_LAYOUT:
            return self.array(data_type & ~ARRAY_FLAG, what)
        if data_type in SCALAR_LAYOUT:
            return self.integer(data_type, what)
        raise MalformedData(f"{what}: unknown data type 0x{data_type:04X}")


class Writer:
    """Builds a little-endian dataset."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def raw(self, data: bytes) -> Writer:
        self._parts.append(bytes(data))
        return self

    def integer(self, data_type: int, value: int) -> Writer:
        size, signed = SCALAR_LAYOUT[data_type]
        try:
            self._parts.append(value.to_bytes(size, "little", signed=signed))
        except OverflowError:
            raise ValueError(f"{value} does not fit type 0x{data_type:04X}") from None
        return self

    def u8(self, value: int) -> Writer:
        return self.integer(DataType.UINT8, value)

    def u16(self, value: int) -> Writer:
        return self.integer(DataType.UINT16, value)

    def u32(self, value: int) -> Writer:
        return self.integer(DataType.UINT32, value)

    def u64(self, value: int) -> Writer:
        return self.integer(DataType.UINT64, value)

    def string(self, text: str) -> Writer:
        if not text:
            return self.u8(0)
        units = (text + "\x00").encode("utf-16-le")
        if len(units) // 2 > 255:
            raise ValueError("a PTP string holds at most 254 characters")
        self._parts.append(struct.pack("<B", len(units) // 2))
        self._parts.append(units)
        return self

    def array(self, element_type: int, values: Iterable[int]) -> Writer:
        items = list(values)
        self.u32(len(items))
        for item in items:
            self.integer(element_type, item)
        return self

    def value(self, data_type: int, value: Value) -> Writer:
        if data_type == DataType.STR:
            if not isinstance(value, str):
                raise TypeError("STR value must be str")
            return self.string(value)
        if data_type & ARRAY_FLAG:
            if not isinstance(value, tuple):
                raise TypeError("array value must be a tuple")
            return self.array(data_type & ~ARRAY_FLAG, value)
        if not isinstance(value, int):
            raise TypeError("scalar value must be int")
        return self.integer(data_type, value)

    def getvalue(self) -> bytes:
        return b"".join(self._parts)


def encode_value(data_type: int, value: Value) -> bytes:
    """The wire bytes of one value."""
    return Writer().value(data_type, value).getvalue()
