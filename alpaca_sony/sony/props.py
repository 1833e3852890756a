"""Sony property descriptors: the GetAllExtDevicePropInfo (0x9209) dataset (sony-ptp.md 4).

Two layouts exist: v2 bodies send one enumeration list per descriptor, v3 bodies (and some late v2
firmware) send two (the settable values, then the valid get/set values). The parser either follows
the negotiated version or, when unsure, libgphoto2's rule: after the first list, a next UINT16 below
0x200 is the second list's count (a property code is always >= 0x5000).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from alpaca_sony.errors import MalformedData
from alpaca_sony.ptp.datatypes import SCALAR_LAYOUT, Reader, Value, is_known_type
from alpaca_sony.sony.codes import FormFlag, GetSet

log = logging.getLogger(__name__)

_SECOND_LIST_LIMIT = 0x200
_MIN_DESCRIPTOR_BYTES = 7  # code, type, getset, enabled, form flag with 0-byte values


@dataclass(frozen=True)
class PropertyDescriptor:
    """One property (or control) as the camera describes it."""

    code: int
    data_type: int
    get_set: int
    is_enabled: int
    factory_default: Value
    current: Value
    form: FormFlag
    range: tuple[int, int, int] | None = None
    values: tuple[Value, ...] = ()
    valid_values: tuple[Value, ...] | None = None

    @property
    def allowed_values(self) -> tuple[Value, ...]:
        """The values to choose from: the second (Get/Set) list when the body sends two.

        libgphoto2 and Sony's sample code use the second list; in the real ILCE-7SM3 dump the
        first list of 0x500E is empty and the second holds 13 values (sony-ptp.md 14.5).
        """
        return self.values if self.valid_values is None else self.valid_values

    @property
    def writable(self) -> bool:
        """Settable with an absolute value (0x9205)."""
        return self.get_set == GetSet.GET_SET

    @property
    def enabled(self) -> bool:
        """Not greyed out on the camera (1 = enabled; 2 = display only)."""
        return self.is_enabled == 1

    @property
    def int_value(self) -> int:
        """The current value of a scalar property.

        Raises:
            MalformedData: the property holds a string or an array.
        """
        if not isinstance(self.current, int):
            raise MalformedData(f"property 0x{self.code:04X} is not a scalar")
        return self.current


class PropertyTable(Mapping[int, PropertyDescriptor]):
    """All descriptors of one 0x9209 read, by code."""

    def __init__(self, descriptors: Mapping[int, PropertyDescriptor]):
        self._by_code = dict(descriptors)

    def __getitem__(self, code: int) -> PropertyDescriptor:
        return self._by_code[code]

    def __iter__(self) -> Iterator[int]:
        return iter(self._by_code)

    def __len__(self) -> int:
        return len(self._by_code)

    def value(self, code: int, default: int | None = None) -> int | None:
        """The current scalar value of ``code``, or ``default`` when the camera did not send it."""
        descriptor = self._by_code.get(code)
        if descriptor is None or not isinstance(descriptor.current, int):
            return default
        return descriptor.current


def _read_enum_list(reader: Reader, data_type: int, code: int) -> tuple[Value, ...]:
    count = reader.u16(f"0x{code:04X} enumeration count")
    element_size = SCALAR_LAYOUT.get(data_type, (0, False))[0]
    if element_size and count * element_size > reader.remaining:
        raise MalformedData(
            f"0x{code:04X} enumeration claims {count} values but only {reader.remaining} "
            "bytes remain"
        )
    return tuple(reader.value(data_type, f"0x{code:04X} enumeration value") for _ in range(count))


def _parse_descriptor(reader: Reader, two_lists: bool | None) -> PropertyDescriptor:
    code = reader.u16("property code")
    data_type = reader.u16(f"0x{code:04X} data type")
    if not is_known_type(data_type):
        raise MalformedData(f"property 0x{code:04X} has unknown data type 0x{data_type:04X}")
    get_set = reader.u8(f"0x{code:04X} GetSet")
    is_enabled = reader.u8(f"0x{code:04X} IsEnabled")
    default = reader.value(data_type, f"0x{code:04X} default value")
    current = reader.value(data_type, f"0x{code:04X} current value")
    form_flag = reader.u8(f"0x{code:04X} form flag")
    try:
        form = FormFlag(form_flag)
    except ValueError:
        raise MalformedData(f"property 0x{code:04X} has unknown form flag {form_flag}") from None
    if form == FormFlag.RANGE:
        if data_type not in SCALAR_LAYOUT:
            raise MalformedData(f"property 0x{code:04X}: a range needs a scalar type")
        bounds = tuple(reader.integer(data_type, f"0x{code:04X} range") for _ in range(3))
        return PropertyDescriptor(
            code,
            data_type,
            get_set,
            is_enabled,
            default,
            current,
            form,
            range=bounds,  # type: ignore[arg-type]
        )
    if form == FormFlag.ENUM:
        values = _read_enum_list(reader, data_type, code)
        valid: tuple[Value, ...] | None = None
        peek = reader.peek_u16()
        second = (
            two_lists if two_lists is not None else peek is not None and peek < _SECOND_LIST_LIMIT
        )
        if second:
            valid = _read_enum_list(reader, data_type, code)
        return PropertyDescriptor(
            code,
            data_type,
            get_set,
            is_enabled,
            default,
            current,
            form,
            values=values,
            valid_values=valid,
        )
    return PropertyDescriptor(code, data_type, get_set, is_enabled, default, current, form)


def parse_all_properties(
    data: bytes | bytearray | memoryview, two_lists: bool | None = None
) -> PropertyTable:
    """Decode a 0x9209 data phase.

    Args:
        data: the payload (after the container header).
        two_lists: True for v3 layout, False for v2, None to detect per descriptor.

    Raises:
        MalformedData: truncated data, an impossible count, unknown types or form flags.
    """
    reader = Reader(data)
    if reader.remaining < 8:
        raise MalformedData(f"0x9209 data of {reader.remaining} bytes has no element count")
    count = reader.u32("element count")
    reader.u32("element count high word")
    if count * _MIN_DESCRIPTOR_BYTES > reader.remaining:
        raise MalformedData(
            f"0x9209 claims {count} descriptors but only {reader.remaining} bytes follow"
        )
    descriptors: dict[int, PropertyDescriptor] = {}
    for _ in range(count):
        descriptor = _parse_descriptor(reader, two_lists)
        descriptors[descriptor.code] = descriptor
    if reader.remaining:
        log.debug("0x9209: %d bytes after the last descriptor ignored", reader.remaining)
    return PropertyTable(descriptors)
