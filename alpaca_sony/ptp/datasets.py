"""DeviceInfo (0x1001) and ObjectInfo (0x1008): decoded by the driver, encoded by the simulator."""

from __future__ import annotations

from dataclasses import dataclass

from alpaca_sony.errors import MalformedData
from alpaca_sony.ptp.codes import DataType
from alpaca_sony.ptp.datatypes import Reader, Writer


@dataclass(frozen=True)
class DeviceInfo:
    """The PTP DeviceInfo dataset."""

    standard_version: int
    vendor_extension_id: int
    vendor_extension_version: int
    vendor_extension_desc: str
    functional_mode: int
    operations_supported: tuple[int, ...]
    events_supported: tuple[int, ...]
    device_properties_supported: tuple[int, ...]
    capture_formats: tuple[int, ...]
    image_formats: tuple[int, ...]
    manufacturer: str
    model: str
    device_version: str
    serial_number: str

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> DeviceInfo:
        """Parse the dataset.

        Raises:
            MalformedData: truncated or inconsistent bytes.
        """
        r = Reader(data)
        return cls(
            standard_version=r.u16("StandardVersion"),
            vendor_extension_id=r.u32("VendorExtensionID"),
            vendor_extension_version=r.u16("VendorExtensionVersion"),
            vendor_extension_desc=r.string("VendorExtensionDesc"),
            functional_mode=r.u16("FunctionalMode"),
            operations_supported=r.array(DataType.UINT16, "OperationsSupported"),
            events_supported=r.array(DataType.UINT16, "EventsSupported"),
            device_properties_supported=r.array(DataType.UINT16, "DevicePropertiesSupported"),
            capture_formats=r.array(DataType.UINT16, "CaptureFormats"),
            image_formats=r.array(DataType.UINT16, "ImageFormats"),
            manufacturer=r.string("Manufacturer"),
            model=r.string("Model"),
            device_version=r.string("DeviceVersion"),
            serial_number=r.string("SerialNumber"),
        )

    def encode(self) -> bytes:
        """The dataset's bytes (the simulator's answer to GetDeviceInfo)."""
        return (
            Writer()
            .u16(self.standard_version)
            .u32(self.vendor_extension_id)
            .u16(self.vendor_extension_version)
            .string(self.vendor_extension_desc)
            .u16(self.functional_mode)
            .array(DataType.UINT16, self.operations_supported)
            .array(DataType.UINT16, self.events_supported)
            .array(DataType.UINT16, self.device_properties_supported)
            .array(DataType.UINT16, self.capture_formats)
            .array(DataType.UINT16, self.image_formats)
            .string(self.manufacturer)
            .string(self.model)
            .string(self.device_version)
            .string(self.serial_number)
            .getvalue()
        )


@dataclass(frozen=True)
class ObjectInfo:
    """The PTP ObjectInfo dataset (Sony fills it for the captured file at 0xFFFFC001)."""

    storage_id: int
    object_format: int
    protection_status: int
    compressed_size: int
    thumb_format: int
    thumb_compressed_size: int
    thumb_width: int
    thumb_height: int
    image_width: int
    image_height: int
    image_bit_depth: int
    parent_object: int
    association_type: int
    association_desc: int
    sequence_number: int
    filename: str
    capture_date: str
    modification_date: str
    keywords: str

    @classmethod
    def decode(cls, data: bytes | bytearray | memoryview) -> ObjectInfo:
        """Parse the dataset; dates and keywords may be missing on some bodies.

        Raises:
            MalformedData: truncated before the file name.
        """
        r = Reader(data)
        fixed = (
            r.u32("StorageID"),
            r.u16("ObjectFormat"),
            r.u16("ProtectionStatus"),
            r.u32("ObjectCompressedSize"),
            r.u16("ThumbFormat"),
            r.u32("ThumbCompressedSize"),
            r.u32("ThumbPixWidth"),
            r.u32("ThumbPixHeight"),
            r.u32("ImagePixWidth"),
            r.u32("ImagePixHeight"),
            r.u32("ImageBitDepth"),
            r.u32("ParentObject"),
            r.u16("AssociationType"),
            r.u32("AssociationDesc"),
            r.u32("SequenceNumber"),
        )
        filename = r.string("Filename")
        tail: list[str] = []
        for field in ("CaptureDate", "ModificationDate", "Keywords"):
            if r.remaining == 0:
                tail.append("")
                continue
            try:
                tail.append(r.string(field))
            except MalformedData:
                raise MalformedData(f"ObjectInfo {field} is truncated") from None
        return cls(*fixed, filename, *tail)

    def encode(self) -> bytes:
        """The dataset's bytes (the simulator's answer to GetObjectInfo)."""
        return (
            Writer()
            .u32(self.storage_id)
            .u16(self.object_format)
            .u16(self.protection_status)
            .u32(self.compressed_size)
            .u16(self.thumb_format)
            .u32(self.thumb_compressed_size)
            .u32(self.thumb_width)
            .u32(self.thumb_height)
            .u32(self.image_width)
            .u32(self.image_height)
            .u32(self.image_bit_depth)
            .u32(self.parent_object)
            .u16(self.association_type)
            .u32(self.association_desc)
            .u32(self.sequence_number)
            .string(self.filename)
            .string(self.capture_date)
            .string(self.modification_date)
            .string(self.keywords)
            .getvalue()
        )
