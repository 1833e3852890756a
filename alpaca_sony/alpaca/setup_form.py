"""The setup page's capture-settings form: its fields, read strictly, turned into options.

Every field is checked before anything applies: one bad value refuses the whole form with one
sentence saying what to send, and the options stay as they were. Only settings that may change
while the server runs and take effect from the next exposure are here; the save folder is not
(no HTTP request may point the server at another place on the disk).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import parse_qsl

from alpaca_sony.alpaca.csrf import TOKEN_FIELD
from alpaca_sony.camera.decode import ColourSpace
from alpaca_sony.camera.exposure import CaptureOptions

MAX_FIELD_CHARS = 200


class FormRefused(ValueError):
    """The form cannot apply; the message is one sentence for the page."""


@dataclass(frozen=True)
class Switch:
    """A checkbox: checked sends ``on``, unchecked sends nothing (HTML forms)."""

    name: str
    label: str


@dataclass(frozen=True)
class Choice:
    """A drop-down list of fixed values."""

    name: str
    label: str


SWITCHES = (
    Switch("save_originals", "Save the camera's original files in the save folder"),
    Switch("keep_jpeg", "Keep the JPEG too (when the camera shoots RAW+JPEG)"),
    Switch("also_save_to_card", "Also leave a copy on the camera's memory card"),
    Switch("prefer_builtin_speeds", "Prefer the camera's built-in shutter speeds to BULB"),
)
DEMOSAIC = Choice("demosaic", "Demosaic algorithm (RGB readout modes)")
RGB_PRIMARIES = Choice("rgb_primaries", "RGB primaries (RGB readout modes)")
CHOICES = (DEMOSAIC, RGB_PRIMARIES)
_TRUE = ("on", "true", "1")
_FALSE = ("off", "false", "0")


def read_fields(body: bytes) -> dict[str, str]:
    """The fields of a urlencoded form body.

    Raises:
        FormRefused: not UTF-8, a field given twice, or an over-long value.
    """
    try:
        text = body.decode("utf-8")
        pairs = parse_qsl(text, keep_blank_values=True, strict_parsing=bool(text), errors="strict")
    except (UnicodeDecodeError, ValueError):
        raise FormRefused(
            "The form could not be read: send it as UTF-8 application/x-www-form-urlencoded."
        ) from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        shown = name[:40]
        if name in fields:
            raise FormRefused(f"The field {shown!r} was sent twice: send each field once.")
        if len(value) > MAX_FIELD_CHARS:
            raise FormRefused(f"The field {shown!r} is too long: choose one of the page's values.")
        fields[name] = value
    return fields


def _switch(fields: dict[str, str], switch: Switch) -> bool:
    value = fields.get(switch.name)
    if value is None:
        return False
    if value.lower() in _TRUE:
        return True
    if value.lower() in _FALSE:
        return False
    raise FormRefused(
        f"{switch.label} must be on or off, not {value[:40]!r}: tick or clear the box and apply."
    )


def _choice(fields: dict[str, str], choice: Choice, allowed: Sequence[str]) -> str:
    value = fields.get(choice.name)
    listed = ", ".join(allowed)
    if value is None:
        raise FormRefused(f"{choice.label} is missing: choose one of {listed}.")
    for candidate in allowed:
        if value.casefold() == candidate.casefold():
            return candidate
    raise FormRefused(f"{choice.label} must be one of {listed}, not {value[:40]!r}.")


def primaries_choices() -> list[str]:
    return [c.value for c in ColourSpace]


def capture_options_from(
    fields: dict[str, str], current: CaptureOptions, algorithms: Sequence[str]
) -> CaptureOptions:
    """The options the form asks for, laid over ``current`` (fields it lacks stay as they are).

    Args:
        fields: the form's fields (the CSRF token among them).
        current: the options in force; those the form does not offer are kept.
        algorithms: the demosaic algorithm names this LibRaw runs.

    Raises:
        FormRefused: an unknown field or a bad value (nothing applies).
    """
    known = {TOKEN_FIELD} | {s.name for s in SWITCHES} | {c.name for c in CHOICES}
    unknown = sorted(set(fields) - known)
    if unknown:
        raise FormRefused(
            f"The form has no field {unknown[0][:40]!r}: reload the setup page and use its form."
        )
    switches = {s.name: _switch(fields, s) for s in SWITCHES}
    algorithm = _choice(fields, DEMOSAIC, algorithms)
    primaries = _choice(fields, RGB_PRIMARIES, primaries_choices())
    decode = dataclasses.replace(
        current.decode,
        algorithm=algorithm,
        colour_space=ColourSpace(primaries),
    )
    return dataclasses.replace(current, decode=decode, **switches)


def config_lines(options: CaptureOptions) -> str:
    """The ``[camera]`` lines of the settings file that give ``options`` at the next start."""

    def toml(value: bool) -> str:
        return "true" if value else "false"

    return "\n".join(
        [
            "[camera]",
            *(f"{s.name} = {toml(getattr(options, s.name))}" for s in SWITCHES),
            f'demosaic = "{options.decode.algorithm}"',
            f'rgb_primaries = "{options.decode.colour_space.value}"',
        ]
    )
