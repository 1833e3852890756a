"""Composition root: the one place where the parts are wired together.

Cameras found on USB (or the simulated one) become device workers and Alpaca camera devices, ordered
by serial number so device numbers stay the same across restarts; the Falcon app is served by
waitress; discovery and mDNS announce it.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from alpaca_sony import __version__
from alpaca_sony.alpaca.app import create_app
from alpaca_sony.alpaca.auth import protect, read_credentials, warn_if_open
from alpaca_sony.alpaca.camera_device import CameraDevice
from alpaca_sony.alpaca.host_check import HostCheck
from alpaca_sony.alpaca.server_info import ServerInfo
from alpaca_sony.camera.exposure import ExposureRunner
from alpaca_sony.camera.worker import DeviceWorker
from alpaca_sony.clock import Clock, SystemClock
from alpaca_sony.config import Config
from alpaca_sony.devices import open_camera, survey
from alpaca_sony.discovery.mdns import host_addresses, host_label
from alpaca_sony.errors import ConfigError
from alpaca_sony.http_server import HttpServer
from alpaca_sony.sony.models import CameraModel, model_for
from alpaca_sony.transport.usb import default_backend

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Found:
    serial_number: str | None
    model: CameraModel | None


# Extra Alpaca actions per USB serial number: name -> run(parameters) -> JSON text.
ActionTables = dict[str, dict[str, Callable[[str], str]]]


def _backend(config: Config, clock: Clock) -> tuple[Any, ActionTables]:
    """The cameras on USB, or the simulated body the settings name with its fault actions."""
    camera = config.camera
    if not camera.simulator and not camera.simulator_report:
        return default_backend(), {}  # a real camera never offers fault actions
    # Imported only here: serving real cameras never loads the simulator.
    from alpaca_sony.simulator.camera import SimulatedCamera
    from alpaca_sony.simulator.factory import SimulatorChoice, body_settings
    from alpaca_sony.simulator.pyusb_backend import SimulatorBackend
    from alpaca_sony.simulator.rehearsal import rehearsal_actions

    choice = SimulatorChoice(camera.simulator, camera.simulator_report, camera.simulator_reports)
    simulated = SimulatedCamera(clock, body_settings(choice))
    actions = {simulated.settings.serial_number: rehearsal_actions(simulated)}
    return SimulatorBackend([simulated], clock), actions


class Runtime:
    """The running server: workers, the HTTP server, discovery."""

    def __init__(self, config: Config, clock: Clock | None = None, backend: Any = None):
        self.config = config
        self.clock = clock or SystemClock()
        self._extra_actions: ActionTables = {}
        if backend is None:
            backend, self._extra_actions = _backend(config, self.clock)
        self.backend = backend
        self.devices: list[CameraDevice] = []
        self._stoppers: list[Callable[[], None]] = []

    # -- cameras -------------------------------------------------------------------------------

    def _found(self) -> list[_Found]:
        rows = [r for r in survey(self.backend) if r.mode == "PC Remote"]
        found = sorted(
            (_Found(r.usb.serial_number, model_for(r.model or "")) for r in rows),
            key=lambda f: f.serial_number or "",
        )
        if not found:
            log.warning(
                "no Sony camera in PC Remote mode on USB yet: camera 0 will take the first one "
                "that appears (`alpaca-sony list` says what to fix)"
            )
            return [_Found(None, None)]
        return found

    def _check_save_folder(self) -> None:
        camera = self.config.camera
        if not camera.save_originals:
            return
        folder = camera.originals_folder()
        reason = folder.unusable_because()
        if reason is not None:
            raise ConfigError(
                f"the save folder {folder.folder} cannot be written ({reason}): choose another "
                "with --save-dir or save_dir in the [camera] section, or fix its permissions"
            )
        fallback = camera.fallback_folder()
        reason = fallback.unusable_because()
        if reason is not None:  # serving still works: said once, loudly
            log.error(
                "the fallback folder %s cannot be written (%s): originals the save folder refuses "
                "beyond %d MB held in memory, or held when the server stops, would be lost; set "
                "fallback_dir in the [camera] section",
                fallback.folder,
                reason,
                camera.hold_in_memory_mb,
            )
        if waiting := fallback.waiting():
            log.warning(
                "%d original(s) the save folder refused earlier wait in %s: moving them into %s",
                len(waiting),
                fallback.folder,
                folder.folder,
            )

    def _runner(self) -> ExposureRunner:
        camera = self.config.camera
        return ExposureRunner(
            self.clock,
            camera.capture_options(),
            camera.originals_folder(),
            camera.fallback_folder(),
        )

    def _build_devices(self) -> None:
        for number, found in enumerate(self._found()):
            serial = found.serial_number

            def opener(serial: str | None = serial) -> Any:
                return open_camera(self.backend, self.clock, serial)

            worker = DeviceWorker(opener, self.clock, self._runner(), name=f"camera-{number}")
            worker.start()
            self._stoppers.append(worker.stop)
            # Before the simulated body shows up (e.g. in MTP mode) camera 0 has no serial yet.
            tables = list(self._extra_actions.values())
            extra = self._extra_actions.get(serial or "", tables[0] if tables else None)
            self.devices.append(
                CameraDevice(number, worker, self.clock, found.model, serial or "unknown", extra)
            )
            log.info(
                "camera %d: %s serial %s",
                number,
                found.model.model if found.model else "(waiting for a camera)",
                serial,
            )

    # -- serving ---------------------------------------------------------------------------------

    def start(self) -> int:
        """Start everything; returns the HTTP port (useful with port 0).

        Raises:
            ConfigError: the save folder cannot be written (said once here, not per frame), or
                the password file cannot be used.
        """
        server_cfg = self.config.server
        credentials = read_credentials(server_cfg.auth_user, server_cfg.auth_password_file)
        self._check_save_folder()
        self._build_devices()
        info = ServerInfo(
            name="alpaca-sony",
            manufacturer="alpaca-sony project",
            version=__version__,
            location=server_cfg.location,
            settings={
                "HTTP address": f"{server_cfg.host}:{server_cfg.port}",
                "Discovery": (
                    f"UDP {self.config.discovery.port}" if self.config.discovery.enabled else "off"
                ),
                "mDNS": "on" if self.config.discovery.mdns else "off",
                # The folder itself; whether saving is on is each camera's page (its form).
                "Originals folder": self.config.camera.save_dir,
                "Fallback folder (originals the save folder refused)": str(
                    self.config.camera.fallback_folder().folder
                ),
                "HTTP connections": f"{server_cfg.connection_limit} in all, "
                f"{server_cfg.connections_per_client} per client, idle ones closed after "
                f"{server_cfg.channel_timeout} s, headers due within "
                f"{server_cfg.request_header_timeout} s",
                "Allowed Host names": ", ".join(server_cfg.allowed_hosts) or "this host's own",
                "Authentication": f"on (user {credentials.user})" if credentials else "off",
                # Capture settings change per camera on its page: only the ones in force now
                # belong there, so none is shown here (it would go stale).
            },
        )
        # The Host check first: a rebinding page gets its 400 before any password prompt.
        app = self._host_check(protect(create_app(self.devices, info), credentials))
        warn_if_open(server_cfg.host, credentials)
        http = HttpServer(app, server_cfg)
        port = http.port
        http.start()
        self._stoppers.insert(0, http.stop)
        log.info("Alpaca server on http://%s:%d/ (setup: /setup)", server_cfg.host, port)
        self._start_discovery(port)
        return port

    def _host_check(self, app: Any) -> HostCheck:
        """The names a request's Host header may carry: this host's own and the user's."""
        hostname = socket.gethostname().lower()
        short = hostname.split(".", 1)[0]
        names = {
            "localhost",
            hostname,
            short,
            f"{short}.local",
            f"{host_label()}.local",  # the name mDNS announces for this host
            *self.config.server.allowed_hosts,
        }
        if self.config.server.host not in ("", "0.0.0.0", "::"):
            names.add(self.config.server.host)  # the bound address or name
        return HostCheck(app, names, host_addresses)

    def _start_discovery(self, port: int) -> None:
        discovery = self.config.discovery
        if discovery.enabled:
            from alpaca_sony.discovery.alpaca_udp import DiscoveryError, DiscoveryResponder

            responder = DiscoveryResponder(alpaca_port=port, port=discovery.port)
            try:
                responder.start()
            except DiscoveryError as exc:
                # Clients can still be pointed at the address by hand: keep serving.
                log.error("Alpaca discovery is off: %s", exc)
            else:
                self._stoppers.insert(0, responder.stop)
                log.info("Alpaca discovery on UDP port %d", responder.bound_port)
        if discovery.mdns:
            from alpaca_sony.discovery.mdns import MdnsAdvertiser, default_instance_name

            advertiser = MdnsAdvertiser(
                port=port,
                name=default_instance_name(),
                devices=self._mdns_devices(),
                server_name="alpaca-sony",
            )
            try:
                advertiser.start()
            except (OSError, RuntimeError) as exc:
                log.warning("mDNS advertisement is off: %s", exc)
            else:
                self._stoppers.insert(0, advertiser.stop)

    def _mdns_devices(self) -> list[Any]:
        from alpaca_sony.discovery.mdns import AdvertisedDevice

        return [AdvertisedDevice("Camera", d.number, d.name(), d.unique_id) for d in self.devices]

    def stop(self) -> None:
        """Stop discovery, the HTTP server and every worker (each camera disconnected)."""
        for stopper in self._stoppers:
            try:
                stopper()
            except Exception:
                log.exception("error while stopping")
        self._stoppers.clear()
