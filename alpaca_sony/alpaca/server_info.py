"""Who this server is: what /management/v1/description and the setup pages say about it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerInfo:
    """The server's identity and the settings in force (shown on the setup page)."""

    name: str
    manufacturer: str
    version: str
    location: str
    settings: dict[str, str]
