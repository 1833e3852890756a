"""Optional mDNS/DNS-SD advertisement of the Alpaca server (discovery layer).

Alpaca itself does not use mDNS: no official client browses for it (``alpaca.md`` §6). A few
third-party tools look for ``_alpaca._tcp``; this module serves them, next to (never instead of)
the UDP responder in :mod:`alpaca_sony.discovery.alpaca_udp`.

The service is ``<name>._alpaca._tcp.local.`` on the HTTP port, with this TXT record (keys kept
within the 9 characters RFC 6763 §6.4 recommends; every string at most 255 bytes):

=============  ==========================================================================
``txtvers``    ``1``, the version of this layout
``server``     server name (``ServerName`` of ``/management/v1/description``)
``version``    server version (``ManufacturerVersion``)
``devices``    number of configured devices
``dev<i>``     device *i* (0-based) as ``<DeviceType>,<DeviceNumber>,<UniqueID>``; split on
               the first two commas only (type and number never contain one)
``name<i>``    device *i*'s ``DeviceName``
=============  ==========================================================================

If the record would outgrow one packet, trailing devices are left out while ``devices`` keeps the
full count; ``/management/v1/configureddevices`` stays the authoritative list.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import ipaddress
import logging
import re
import socket
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Self

import ifaddr
from zeroconf import Error as ZeroconfError
from zeroconf import InterfaceChoice, ServiceInfo, Zeroconf

from alpaca_sony import __version__

log = logging.getLogger(__name__)

SERVICE_TYPE = "_alpaca._tcp.local."

TXT_VERSION = "1"

_TXT_BUDGET = 1300
"""Bytes of TXT data that fit one mDNS packet next to the other records."""

_MAX_LABEL = 63
_MAX_TXT_STRING = 255


@dataclass(frozen=True)
class AdvertisedDevice:
    """One configured Alpaca device, as listed in the TXT record.

    Attributes:
        device_type: standard ASCOM type name, e.g. ``"Camera"``.
        device_number: the number in ``/api/v1/{type}/{number}/``.
        name: the device's ``DeviceName``.
        unique_id: the device's ``UniqueID``.
    """

    device_type: str
    device_number: int
    name: str
    unique_id: str


def _truncate_utf8(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` UTF-8 bytes without splitting a character."""
    return text.encode()[:limit].decode(errors="ignore")


def txt_properties(
    server_name: str, version: str, devices: Sequence[AdvertisedDevice]
) -> dict[str, str]:
    """The TXT record (layout in the module docstring).

    Args:
        server_name: server name.
        version: server version.
        devices: configured devices, in order.

    Returns:
        Keys and values, in record order.
    """

    def entry(key: str, value: str) -> tuple[str, str]:
        return key, _truncate_utf8(value, _MAX_TXT_STRING - len(key) - 1)

    properties = dict(
        [
            entry("txtvers", TXT_VERSION),
            entry("server", server_name),
            entry("version", version),
            entry("devices", str(len(devices))),
        ]
    )
    # Each string costs a length byte plus "key=value".
    size = sum(len(k) + len(v.encode()) + 2 for k, v in properties.items())
    for i, device in enumerate(devices):
        pair = dict(
            [
                entry(
                    f"dev{i}",
                    f"{device.device_type},{device.device_number},{device.unique_id}",
                ),
                entry(f"name{i}", device.name),
            ]
        )
        cost = sum(len(k) + len(v.encode()) + 2 for k, v in pair.items())
        if size + cost > _TXT_BUDGET:
            log.warning("mDNS TXT record full: %d of %d devices listed", i, len(devices))
            break
        properties.update(pair)
        size += cost
    return properties


def instance_label(name: str) -> str:
    """A DNS-SD instance label for ``name``.

    Control characters are dropped (RFC 6763 §4.1.1) and dots replaced with ``-`` (zeroconf
    does not escape them, so they would split the label); the result is at most 63 bytes.

    Args:
        name: a human-readable server name.

    Returns:
        The label; ``"Alpaca server"`` if nothing printable is left.
    """
    cleaned = "".join(c for c in name if c.isprintable()).replace(".", "-").strip()
    return _truncate_utf8(cleaned, _MAX_LABEL).strip() or "Alpaca server"


_MACHINE_ID_FILES = (Path("/etc/machine-id"), Path("/var/lib/dbus/machine-id"))


def host_tag(machine_id_files: Sequence[Path] = _MACHINE_ID_FILES) -> str:
    """Four hex digits that tell this host from others with the same host name.

    Two Raspberry Pis out of the box are both called ``raspberrypi``: their instance and host
    names must still differ, or a client may reach the wrong one. The tag is a hash of the
    systemd machine id (stable across reboots and address changes), else of the MAC address.
    """
    for path in machine_id_files:
        try:
            machine_id = path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            continue
        if machine_id:
            break
    else:
        machine_id = f"{uuid.getnode():012x}"
    return hashlib.sha256(machine_id.encode()).hexdigest()[:4]


def host_label(tag: str | None = None) -> str:
    """This host's mDNS host label, ``<hostname>-<tag>`` (``.local.`` is appended by the caller)."""
    short = socket.gethostname().split(".", 1)[0]
    name = re.sub(r"[^A-Za-z0-9-]", "-", short).strip("-") or "alpaca-sony"
    suffix = f"-{host_tag() if tag is None else tag}"
    return name[: _MAX_LABEL - len(suffix)] + suffix


def default_instance_name(tag: str | None = None) -> str:
    """The server's instance name unless configured: unique per host, readable in a browser list."""
    short = socket.gethostname().split(".", 1)[0] or "localhost"
    return f"alpaca-sony on {short} ({host_tag() if tag is None else tag})"


def host_addresses() -> list[str]:
    """The host's IPv4 and IPv6 addresses for the A/AAAA records.

    Loopback addresses are left out unless there is nothing else (then only this host can reach
    the server anyway, and it can through loopback).

    Returns:
        Addresses as text, IPv4 first.
    """
    found: list[ipaddress.IPv4Address | ipaddress.IPv6Address] = []
    for adapter in ifaddr.get_adapters():
        for ip in adapter.ips:
            # ifaddr gives IPv4 as a string, IPv6 as (address, flowinfo, scope_id).
            text = ip.ip if isinstance(ip.ip, str) else ip.ip[0]
            try:
                address = ipaddress.ip_address(text.split("%", 1)[0])
            except ValueError:
                continue
            if address not in found:
                found.append(address)
    routable = [a for a in found if not a.is_loopback]
    chosen = routable or found
    chosen.sort(key=lambda a: a.version)
    return [str(a) for a in chosen]


class MdnsAdvertiser:
    """Registers ``<name>._alpaca._tcp.local.`` with zeroconf and withdraws it on stop.

    :meth:`start` returns at once: zeroconf probes for a name conflict (about 1-2 s) on its own
    event-loop thread. A name already taken on the network gets a suffix (``name-2``); see
    :attr:`service_name`.

    Args:
        port: HTTP port of the Alpaca API.
        name: the instance name (unique on the network; see :func:`default_instance_name`).
        devices: configured devices for the TXT record.
        server_name: ``ServerName`` for the TXT record; default ``name``.
        version: server version for the TXT record.
        addresses: addresses to publish; default :func:`host_addresses` at start.
        interfaces: addresses of the interfaces zeroconf listens and announces on; default all.
    """

    def __init__(
        self,
        port: int,
        name: str,
        devices: Sequence[AdvertisedDevice],
        *,
        version: str = __version__,
        server_name: str | None = None,
        addresses: Sequence[str] | None = None,
        interfaces: Sequence[str] | None = None,
    ) -> None:
        if not 0 < port < 65536:
            raise ValueError(f"port out of range: {port}")
        self._port = port
        self._name = name
        self._server_name = name if server_name is None else server_name
        self._version = version
        self._devices = tuple(devices)
        self._addresses = list(addresses) if addresses is not None else None
        self._interfaces = list(interfaces) if interfaces is not None else None
        self._zeroconf: Zeroconf | None = None
        self._info: ServiceInfo | None = None
        self._registration: concurrent.futures.Future[None] | None = None

    @property
    def service_name(self) -> str:
        """The full service name (with a suffix if zeroconf renamed it after a conflict).

        Raises:
            RuntimeError: before :meth:`start`.
        """
        if self._info is None:
            raise RuntimeError("MdnsAdvertiser not started")
        return self._info.name

    def start(self) -> None:
        """Open the mDNS sockets and start registering in the background.

        Raises:
            OSError: zeroconf cannot open its sockets.
            RuntimeError: already started, or zeroconf found no interface to listen on.
        """
        if self._zeroconf is not None:
            raise RuntimeError("MdnsAdvertiser already started")
        addresses = self._addresses if self._addresses is not None else host_addresses()
        info = ServiceInfo(
            SERVICE_TYPE,
            f"{instance_label(self._name)}.{SERVICE_TYPE}",
            port=self._port,
            properties=txt_properties(self._server_name, self._version, self._devices),
            server=f"{host_label()}.local.",
            parsed_addresses=addresses,
        )
        interfaces: InterfaceChoice | Sequence[str] = InterfaceChoice.All
        if self._interfaces is not None:
            interfaces = self._interfaces
        zeroconf = Zeroconf(interfaces=interfaces)
        loop = zeroconf.loop
        if loop is None:  # pragma: no cover - set by the constructor
            zeroconf.close()
            raise RuntimeError("zeroconf started without an event loop")
        self._zeroconf = zeroconf
        self._info = info
        self._registration = asyncio.run_coroutine_threadsafe(self._register(zeroconf, info), loop)
        self._registration.add_done_callback(self._registered)
        log.info(
            "registering mDNS service %s on port %d (%s)",
            info.name,
            self._port,
            ", ".join(addresses),
        )

    def wait_registered(self, timeout_s: float) -> bool:
        """Wait until the announcements are sent.

        Args:
            timeout_s: longest wait.

        Returns:
            True if registered; False on timeout, failure or before :meth:`start`.
        """
        if self._registration is None:
            return False
        try:
            self._registration.result(timeout_s)
        except (concurrent.futures.TimeoutError, concurrent.futures.CancelledError):
            return False
        except Exception:  # already logged by _registered
            return False
        return True

    def stop(self) -> None:
        """Withdraw the service (goodbye packets) and close zeroconf. Idempotent.

        Takes about half a second for the goodbyes when the service was registered.
        """
        zeroconf, self._zeroconf = self._zeroconf, None
        if zeroconf is None:
            return
        if self._registration is not None:
            self._registration.cancel()  # a registration still probing is abandoned
        try:
            zeroconf.close()  # sends goodbyes for whatever got registered
        except ZeroconfError as exc:
            log.warning("mDNS shutdown incomplete: %s", exc)
        log.info("mDNS service withdrawn")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @staticmethod
    async def _register(zeroconf: Zeroconf, info: ServiceInfo) -> None:
        announced = await zeroconf.async_register_service(info, allow_name_change=True)
        await announced

    def _registered(self, future: concurrent.futures.Future[None]) -> None:
        # Runs on zeroconf's loop thread (or the caller's, if already done): log only.
        if future.cancelled():
            return
        exc = future.exception()
        if exc is not None:
            log.warning("mDNS registration failed: %r", exc)
        elif self._info is not None:
            log.info("mDNS service %s registered", self._info.name)
