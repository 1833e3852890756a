"""The project's exception tree (a leaf module: every layer may import it).

Lower layers raise the most specific class; callers wrap with ``raise ... from exc``.
"""

from __future__ import annotations


class AlpacaSonyError(Exception):
    """Root of every error this package raises on purpose."""


class ConfigError(AlpacaSonyError):
    """A configuration file or flag is invalid."""


class TransportError(AlpacaSonyError):
    """USB transfer failed.

    Attributes:
        errno: the OS errno pyusb reported, if any.
        backend_code: the libusb error code, if any.
    """

    def __init__(self, message: str, errno: int | None = None, backend_code: int | None = None):
        super().__init__(message)
        self.errno = errno
        self.backend_code = backend_code


class TransportTimeout(TransportError):
    """A USB transfer did not complete within its deadline."""


class DeviceDisconnected(TransportError):
    """The camera went away (cable pulled, camera switched off)."""


class DeviceNotFound(AlpacaSonyError):
    """No usable Sony camera is attached; the message says what to change."""


class DeviceAccessDenied(AlpacaSonyError):
    """The camera is attached but this process may not open it; the message names the fix."""


class ProtocolError(AlpacaSonyError):
    """The camera answered with bytes that do not follow the protocol."""


class MalformedData(ProtocolError):
    """A container or dataset is truncated, over-long or otherwise undecodable."""


class PtpResponseError(ProtocolError):
    """The camera answered an operation with a response code other than OK.

    Attributes:
        operation: the PTP operation code that was refused.
        code: the response code the camera sent.
    """

    def __init__(self, operation: int, code: int, code_name: str = "", message: str | None = None):
        # The raiser (the PTP layer) names the code: this module is the leaf and imports nothing.
        named = f" ({code_name})" if code_name else ""
        text = message or f"camera answered operation 0x{operation:04X} with 0x{code:04X}{named}"
        super().__init__(text)
        self.operation = operation
        self.code = code


class CameraError(AlpacaSonyError):
    """The camera could not do what was asked; the message is meant for a person."""


class CaptureTimeout(CameraError):
    """The camera did not produce the image within the deadline."""


class NoImageTaken(CameraError):
    """The shutter was pressed but the camera took no picture (AF miss, buffer full, ...)."""


class UnsupportedSetting(CameraError):
    """A setting value the camera does not offer, or cannot be changed in its current mode."""


class SettingDidNotStick(CameraError):
    """The camera accepted a change but reading it back shows another value."""
