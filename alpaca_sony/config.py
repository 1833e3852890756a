"""Settings: frozen dataclasses loaded once from a TOML file; command-line flags win.

Unknown keys are an error that names the key, so a typo never silently does nothing. The
``[camera]`` section turns into the camera layer's option objects here and only here
(:meth:`CameraSettings.capture_options`), so the server and the command line read the same.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from alpaca_sony.camera.decode import (
    DEFAULT_ALGORITHM,
    ColourSpace,
    DecodeOptions,
    demosaic_algorithm,
)
from alpaca_sony.camera.exposure import CaptureOptions
from alpaca_sony.camera.held_originals import FallbackFolder, default_fallback_folder
from alpaca_sony.camera.originals import OriginalsFolder
from alpaca_sony.errors import ConfigError

# (lowest, highest) for each limit: outside them the server would refuse its own clients or
# no longer be bounded.
_LIMIT_RANGES = {
    "connection_limit": (10, 10_000),
    "channel_timeout": (1, 3600),
    "request_header_timeout": (1, 600),
    "max_request_header_bytes": (4096, 1 << 20),
    "max_request_body_bytes": (1024, 1 << 30),
}


@dataclass(frozen=True)
class ServerSettings:
    host: str = "0.0.0.0"
    port: int = 11111
    threads: int = 8
    location: str = ""
    # HTTP limits, so one host on the LAN cannot lock the others out (defaults for a Pi):
    connection_limit: int = 100  # open client connections in all (waitress's default)
    connections_per_client: int = 20  # from one address; below connection_limit
    channel_timeout: int = 60  # seconds before an idle connection is closed
    # Seconds a request's line and headers may take to arrive once begun (slowloris); bodies
    # and responses are not timed, so a slow WiFi download is never cut.
    request_header_timeout: int = 10
    max_request_header_bytes: int = 64 * 1024
    max_request_body_bytes: int = 1024 * 1024  # an Alpaca form is a few hundred bytes
    # Names besides the server's own that a request's Host header may carry ("*": any).
    allowed_hosts: tuple[str, ...] = ()
    # HTTP Basic authentication, off unless both are set; the password only ever in a file
    # (a flag shows in `ps`, the environment in `docker inspect`): alpaca/auth.py.
    auth_user: str = ""
    auth_password_file: str = ""

    def __post_init__(self) -> None:
        """Checked here, so a bad value from the file or a flag fails before anything starts.

        Raises:
            ConfigError: a limit out of range or a malformed allowed host.
        """
        for key, (low, high) in _LIMIT_RANGES.items():
            value = getattr(self, key)
            if not low <= value <= high:
                raise ConfigError(
                    f"server.{key} must be a whole number from {low} to {high}, not {value}"
                )
        if not 1 <= self.connections_per_client < self.connection_limit:
            raise ConfigError(
                f"server.connections_per_client must be from 1 to {self.connection_limit - 1} "
                f"(below server.connection_limit, or one client can take every connection), "
                f"not {self.connections_per_client}"
            )
        for name in self.allowed_hosts:
            if not name or any(c in name for c in " /\\@\t"):
                raise ConfigError(
                    f"server.allowed_hosts must list host names or addresses such as "
                    f'"observatory.lan", not {name!r}'
                )
        if bool(self.auth_user) != bool(self.auth_password_file):
            given, missing = (
                ("auth_user", "auth_password_file")
                if self.auth_user
                else ("auth_password_file", "auth_user")
            )
            raise ConfigError(
                f"server.{given} is set but server.{missing} is not: authentication needs both "
                "a user name and a file holding the password (--auth-user, --auth-password-file)"
            )
        if ":" in self.auth_user or not self.auth_user.isprintable():
            raise ConfigError(
                "server.auth_user must be a user name without colons or control characters "
                f"(HTTP Basic authentication cannot carry them), not {self.auth_user!r}"
            )


@dataclass(frozen=True)
class DiscoverySettings:
    enabled: bool = True
    port: int = 32227
    mdns: bool = True


@dataclass(frozen=True)
class CameraSettings:
    simulator: str | None = None  # a model name: serve the built-in simulated body
    simulator_report: str | None = None  # a libgphoto2 report file: serve the body it describes
    # Where --simulator looks for the model's report (None: ../shared/samples/libgphoto2-sony
    # beside the working directory or the checkout; "": only the built-in table).
    simulator_reports: str | None = None
    save_dir: str = "~/alpaca-sony/originals"
    save_originals: bool = True
    keep_jpeg: bool = False
    also_save_to_card: bool = False
    min_free_mb: int = 1024
    # Originals the save folder refuses wait in memory up to this much, then in fallback_dir
    # ("": XDG state, or /var/tmp when only that is on another disk; held_originals.py).
    hold_in_memory_mb: int = 1024
    fallback_dir: str = ""
    prefer_builtin_speeds: bool = False
    demosaic: str = DEFAULT_ALGORITHM  # RGB modes: EA or BILINEAR (fast), or LibRaw's AHD, DCB, ...
    rgb_primaries: str = "camera"  # or "srgb"

    def capture_options(self) -> CaptureOptions:
        """What every exposure is shaped by.

        Raises:
            ConfigError: ``rgb_primaries`` names no colour space, or ``demosaic`` no algorithm.
        """
        try:
            colour_space = ColourSpace(self.rgb_primaries)
        except ValueError:
            choices = " or ".join(repr(c.value) for c in ColourSpace)
            raise ConfigError(
                f"camera.rgb_primaries must be {choices}, not {self.rgb_primaries!r}"
            ) from None
        try:
            algorithm = demosaic_algorithm(self.demosaic)
        except ValueError as exc:
            raise ConfigError(f"camera.demosaic {exc}") from None
        return CaptureOptions(
            prefer_builtin_speeds=self.prefer_builtin_speeds,
            keep_jpeg=self.keep_jpeg,
            save_originals=self.save_originals,
            also_save_to_card=self.also_save_to_card,
            pending_limit_bytes=max(0, self.hold_in_memory_mb) << 20,
            decode=DecodeOptions(colour_space=colour_space, algorithm=algorithm),
        )

    def originals_folder(self) -> OriginalsFolder:
        """Where the camera's original files go (used only while ``save_originals`` is on)."""
        return OriginalsFolder(Path(self.save_dir).expanduser(), self.min_free_mb << 20)

    def fallback_folder(self) -> FallbackFolder:
        """Where held originals go when memory is full or the server stops.

        Raises:
            ConfigError: it is the save folder itself.
        """
        save = Path(self.save_dir).expanduser()
        if not self.fallback_dir:
            return default_fallback_folder(save)
        folder = Path(self.fallback_dir).expanduser()
        if folder.absolute() == save.absolute():
            raise ConfigError(
                "camera.fallback_dir must be another folder than camera.save_dir: it keeps the "
                "originals the save folder refuses"
            )
        return FallbackFolder(folder)


@dataclass(frozen=True)
class LoggingSettings:
    level: str = "INFO"


@dataclass(frozen=True)
class Config:
    server: ServerSettings = field(default_factory=ServerSettings)
    discovery: DiscoverySettings = field(default_factory=DiscoverySettings)
    camera: CameraSettings = field(default_factory=CameraSettings)
    logging: LoggingSettings = field(default_factory=LoggingSettings)


_SECTIONS: dict[str, type[Any]] = {
    "server": ServerSettings,
    "discovery": DiscoverySettings,
    "camera": CameraSettings,
    "logging": LoggingSettings,
}


def _section(name: str, cls: type[Any], table: Any) -> Any:
    if not isinstance(table, dict):
        raise ConfigError(f"[{name}] must be a table")
    known = {f.name: f for f in fields(cls)}
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"unknown setting {name}.{key} (known: {', '.join(sorted(known))})")
        default = getattr(cls(), key)
        if isinstance(default, tuple):  # a TOML array of strings
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                raise ConfigError(f'{name}.{key} must be a list of strings, like ["a", "b"]')
            values[key] = tuple(value)
            continue
        expected = type(default) if default is not None else str
        if isinstance(default, bool) and not isinstance(value, bool):
            raise ConfigError(f"{name}.{key} must be true or false")
        if not isinstance(value, expected) or (expected is int and isinstance(value, bool)):
            raise ConfigError(f"{name}.{key} must be a {expected.__name__}, not {value!r}")
        values[key] = value
    return cls(**values)


def load(path: Path | None) -> Config:
    """The configuration in ``path`` (defaults when None).

    Raises:
        ConfigError: unreadable file, bad TOML, unknown sections or keys, wrong types or values.
    """
    if path is None:
        return Config()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from exc
    sections: dict[str, Any] = {}
    for name, table in data.items():
        if name not in _SECTIONS:
            raise ConfigError(f"unknown section [{name}] (known: {', '.join(_SECTIONS)})")
        sections[name] = _section(name, _SECTIONS[name], table)
    config = Config(**sections)
    config.camera.capture_options()  # a bad value is reported now, not at the first exposure
    return config


def with_overrides(config: Config, **sections: dict[str, Any]) -> Config:
    """A copy with flag values (None means "not given") laid over the file's."""
    updated = {}
    for name, overrides in sections.items():
        given = {k: v for k, v in overrides.items() if v is not None}
        updated[name] = dataclasses.replace(getattr(config, name), **given)
    return dataclasses.replace(config, **updated)
