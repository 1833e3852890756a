"""DeviceInfo, ObjectInfo and the Sony datasets pinned to bytes whose layout does not come from our
own codecs: libgphoto2's offsets (camlibs/ptp2/ptp-pack.c PTP_di_* and PTP_oi_*, as INDIGO's
indigo_ptp_sony.c reads ObjectInfo: size at 8, file name at 52) and the real USB dumps in the
ILCE-7SM3 and DSC-RX0 reports. A field order swapped consistently in an encoder and its decoder
passes every round trip; it fails here."""

from __future__ import annotations

import re
import struct

from alpaca_sony.ptp.codes import ContainerType, OpCode, ResponseCode
from alpaca_sony.ptp.container import unpack_header
from alpaca_sony.ptp.datasets import DeviceInfo, ObjectInfo
from alpaca_sony.sony.capture import plan_exposure
from alpaca_sony.sony.codes import CAPTURED_IMAGE_HANDLE, FORMAT_ARW, SonyOp
from alpaca_sony.sony.protocol import ExtDeviceInfo
from tests.conftest import Rig
from tests.samples import hexdumps_after, report

_HEX = re.compile(r"^[0-9a-f]{4}  ((?:[0-9a-f]{2}[ -]){1,16})")


def _first_dump_after(text: str, marker: str) -> bytes:
    """The first hex dump after ``marker`` (written or read; log prefixes allowed)."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if marker in line)
    data = bytearray()
    for line in lines[start + 1 :]:
        match = _HEX.match(line)
        if match:
            data += bytes.fromhex(match.group(1).replace("-", " "))
        elif data:
            break
    return bytes(data)


def _ptp_string(text: str) -> bytes:
    # PIMA 15740 string: a count of UCS-2 units including the terminator, then the units.
    if not text:
        return b"\x00"
    units = (text + "\x00").encode("utf-16-le")
    return bytes((len(units) // 2,)) + units


def _u16_array(values: tuple[int, ...]) -> bytes:
    return struct.pack(f"<I{len(values)}H", len(values), *values)


def test_device_info_decodes_libgphoto2s_layout_with_the_a7sm3_reports_values() -> None:
    # Values from the head of sony-a7sm3.txt (lines 3-10), except that the two versions (both
    # 100 there) and the functional mode differ so that a swap shows; offsets from ptp-pack.c
    # (StandardVersion 0, VendorExtensionID 2, VendorExtensionVersion 6, VendorExtensionDesc 8).
    head = struct.pack("<HIH", 100, 0x00000011, 110)
    data = (
        head
        + _ptp_string("Sony PTP Extensions")
        + struct.pack("<H", 0x0007)
        + _u16_array((0x1001, 0x1002, 0x9202))
        + _u16_array((0xC201, 0xC203))
        + _u16_array((0x5004,))
        + _u16_array(())
        + _u16_array((0xB101, 0x3801))
        + _ptp_string("Sony Corporation")
        + _ptp_string("ILCE-7SM3")
        + _ptp_string("3.00")
        + _ptp_string("n" * 32)
    )
    info = DeviceInfo.decode(data)
    assert (info.standard_version, info.vendor_extension_id, info.vendor_extension_version) == (
        100,
        0x11,
        110,
    )
    assert info.vendor_extension_desc == "Sony PTP Extensions" and info.functional_mode == 7
    assert info.operations_supported == (0x1001, 0x1002, 0x9202)
    assert info.events_supported == (0xC201, 0xC203)
    assert info.device_properties_supported == (0x5004,) and info.capture_formats == ()
    assert info.image_formats == (0xB101, 0x3801)
    assert (info.manufacturer, info.model, info.device_version) == (
        "Sony Corporation",
        "ILCE-7SM3",
        "3.00",
    )
    assert info.serial_number == "n" * 32


def test_the_simulators_device_info_has_libgphoto2s_layout(rig: Rig) -> None:
    _, payload = rig.session.transaction(OpCode.GET_DEVICE_INFO)
    data = payload.tobytes()
    assert struct.unpack_from("<HIH", data, 0) == (100, 0x11, 100)
    assert data[8:9] == bytes((len("Sony PTP Extensions") + 1,))
    assert data[9:47].decode("utf-16-le") == "Sony PTP Extensions"


def test_object_info_decodes_libgphoto2s_layout() -> None:
    fixed = struct.pack(
        "<IHHIHIIIIIIIHII",
        0x00010001,  # StorageID 0
        FORMAT_ARW,  # ObjectFormat 4
        0,  # ProtectionStatus 6
        24_000_000,  # ObjectSize 8
        0x3801,  # ThumbFormat 12
        16_000,  # ThumbSize 14
        160,  # ThumbPixWidth 18
        120,  # ThumbPixHeight 22
        6024,  # ImagePixWidth 26
        4024,  # ImagePixHeight 30
        14,  # ImageBitDepth 34
        0,  # ParentObject 38
        0,  # AssociationType 42
        0,  # AssociationDesc 44
        7,  # SequenceNumber 48
    )
    assert len(fixed) == 52  # PTP_oi_filenamelen
    data = fixed + _ptp_string("DSC01234.ARW") + _ptp_string("20261201T101500") * 2 + b"\x00"
    info = ObjectInfo.decode(data)
    assert (info.storage_id, info.object_format, info.compressed_size) == (
        0x00010001,
        FORMAT_ARW,
        24_000_000,
    )
    assert (info.thumb_format, info.thumb_compressed_size) == (0x3801, 16_000)
    assert (info.thumb_width, info.thumb_height, info.image_width, info.image_height) == (
        160,
        120,
        6024,
        4024,
    )
    assert (info.image_bit_depth, info.sequence_number, info.filename) == (14, 7, "DSC01234.ARW")
    assert info.capture_date == "20261201T101500"


def test_the_simulators_object_info_has_the_layout_indigo_reads(rig: Rig) -> None:
    rig.capture.expose(plan_exposure(1 / 125, [(1 << 16) | 125]), None)
    rig.camera.body.preload_stale_images(1)
    rig.capture.read_settings()
    _, info = rig.session.transaction(OpCode.GET_OBJECT_INFO, (CAPTURED_IMAGE_HANDLE,))
    data = info.tobytes()
    _, file = rig.session.transaction(OpCode.GET_OBJECT, (CAPTURED_IMAGE_HANDLE,))
    assert struct.unpack_from("<H", data, 4)[0] == FORMAT_ARW
    assert struct.unpack_from("<I", data, 8)[0] == len(file)  # INDIGO: size at offset 8
    assert struct.unpack_from("<I", data, 48)[0] == 2  # SequenceNumber
    length = data[52]
    assert data[53 : 53 + 2 * (length - 1)].decode("utf-16-le").endswith(".ARW")


def test_real_sdio_ext_device_info_bytes() -> None:
    container = b"".join(
        hexdumps_after(
            report("sony-a7sm3.txt"), "Reading PTP_OC 0x9202 (GetSDIOGetExtDeviceInfo) data"
        )
    )
    header = unpack_header(container)
    assert (header.type, header.code, header.length) == (ContainerType.DATA, 0x9202, 756)
    payload = container[12:]
    ext = ExtDeviceInfo.decode(payload)
    assert ext.version == struct.unpack_from("<H", payload, 0)[0] == 300  # 0x012C
    count = struct.unpack_from("<I", payload, 2)[0]
    assert ext.property_codes == struct.unpack_from(f"<{count}H", payload, 6)
    assert 0xD2C1 in ext.control_codes and 0xD2C1 not in ext.property_codes


def test_real_response_containers_decode() -> None:
    # sony-dsc-rx0.txt line 1410: the 0x9202 response, 0c 00 00 00 03 00 01 20 0a 00 00 00.
    container = _first_dump_after(report("sony-dsc-rx0.txt"), "Reading PTP_OC 0x9202 (PTP_OC_SONY")
    header = unpack_header(container)
    assert (header.length, header.type, header.code, header.transaction_id) == (
        12,
        ContainerType.RESPONSE,
        ResponseCode.OK,
        10,
    )


def test_our_position_key_set_sends_the_real_a7sm3_bytes(rig: Rig) -> None:
    # sony-a7sm3.txt lines 567-579: 0x9205 (0xD25A) with a 13-byte data container (one UINT8,
    # value 1).
    text = report("sony-a7sm3.txt")
    sent = _first_dump_after(text, "Sending PTP_OC 0x9205 (SetControlDeviceA) data")
    assert unpack_header(sent).length == 13
    rig.sony.set_property(rig.sony.read_properties(), 0xD25A, sent[12])
    op, params, data = rig.camera.wire_log[-1]
    assert (op, params, data) == (SonyOp.SDIO_SET_EXT_DEVICE_PROP_VALUE, (0xD25A,), sent[12:])
