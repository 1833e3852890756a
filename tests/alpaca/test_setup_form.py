"""The setup page's capture-settings form: what a browser submits, read strictly (issue 9
point 8). Every field is checked before anything applies; the page's own form, submitted as it
stands, asks for exactly the options it shows; its config lines load back to the same options."""

from __future__ import annotations

import dataclasses
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from alpaca_sony.alpaca.csrf import TOKEN_FIELD
from alpaca_sony.alpaca.setup_form import (
    FormRefused,
    capture_options_from,
    config_lines,
    read_fields,
)
from alpaca_sony.alpaca.setup_pages import CaptureForm, device_page
from alpaca_sony.camera.decode import ColourSpace, DecodeOptions, demosaic_algorithms
from alpaca_sony.camera.exposure import CaptureOptions
from alpaca_sony.config import load
from tests.alpaca.conftest import SERVER
from tests.alpaca.test_setup_pages import VIEW

ALGORITHMS = demosaic_algorithms()
CURRENT = CaptureOptions(af_retry_pause_s=7.5, pending_limit_bytes=12345)
GOOD = {TOKEN_FIELD: "t", "keep_jpeg": "on", "demosaic": "VNG", "rgb_primaries": "srgb"}

options_st = st.builds(
    CaptureOptions,
    prefer_builtin_speeds=st.booleans(),
    keep_jpeg=st.booleans(),
    save_originals=st.booleans(),
    also_save_to_card=st.booleans(),
    decode=st.builds(
        DecodeOptions,
        colour_space=st.sampled_from(ColourSpace),
        algorithm=st.sampled_from(ALGORITHMS),
    ),
)


class _Browser(HTMLParser):
    """What a browser submits for the page's form, untouched: hidden fields, ticked boxes and
    each list's selected option."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: list[tuple[str, str]] = []
        self._select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "input" and (a.get("type") == "hidden" or "checked" in a):
            self.fields.append((a["name"] or "", a.get("value") or "on"))
        elif tag == "select":
            self._select = a["name"]
        elif tag == "option" and "selected" in a and self._select:
            self.fields.append((self._select, a["value"] or ""))


def _submitted(options: CaptureOptions) -> bytes:
    form = CaptureForm("/setup/v1/camera/0/setup", "tok", options, ALGORITHMS)
    browser = _Browser()
    browser.feed(device_page(SERVER, VIEW, form))
    return urlencode(browser.fields).encode()


@given(options=options_st)
def test_the_page_submitted_unchanged_asks_for_what_it_shows(options: CaptureOptions) -> None:
    fields = read_fields(_submitted(options))
    assert fields[TOKEN_FIELD] == "tok"
    assert capture_options_from(fields, options, ALGORITHMS) == options


def test_fields_apply_over_the_options_the_form_does_not_offer() -> None:
    got = capture_options_from(GOOD, CURRENT, ALGORITHMS)
    assert got == dataclasses.replace(
        CURRENT,
        keep_jpeg=True,
        save_originals=False,  # an unticked box sends nothing: off
        decode=DecodeOptions(ColourSpace.SRGB, "VNG", CURRENT.decode.camera_white_balance),
    )
    assert (got.af_retry_pause_s, got.pending_limit_bytes) == (7.5, 12345)


@pytest.mark.parametrize(
    ("change", "sentence"),
    [
        (
            {"demosaic": "AMAZE"},
            "Demosaic algorithm (RGB readout modes) must be one of "
            f"{', '.join(ALGORITHMS)}, not 'AMAZE'.",
        ),
        ({"rgb_primaries": None}, "RGB primaries (RGB readout modes) is missing: choose one"),
        ({"keep_jpeg": "yes"}, "Keep the JPEG too (when the camera shoots RAW+JPEG) must be on or"),
        ({"save_dir": "/etc"}, "The form has no field 'save_dir': reload the setup page"),
    ],
)
def test_one_bad_field_refuses_the_whole_form_with_one_sentence(
    change: dict[str, str | None], sentence: str
) -> None:
    fields = {k: v for k, v in {**GOOD, **change}.items() if v is not None}
    with pytest.raises(FormRefused) as refused:
        capture_options_from(fields, CURRENT, ALGORITHMS)
    message = str(refused.value)
    assert message.startswith(sentence) and message.endswith(".") and "\n" not in message


def test_choices_are_read_without_regard_to_case() -> None:
    got = capture_options_from(
        {**GOOD, "demosaic": "vng", "rgb_primaries": "SRGB"}, CURRENT, ALGORITHMS
    )
    assert (got.decode.algorithm, got.decode.colour_space) == ("VNG", ColourSpace.SRGB)


@pytest.mark.parametrize(
    ("body", "sentence"),
    [
        (
            b"keep_jpeg=on&keep_jpeg=off",
            "The field 'keep_jpeg' was sent twice: send each field once.",
        ),
        (b"demosaic=%ff", "The form could not be read: send it as UTF-8"),
        (b"\xff=1", "The form could not be read: send it as UTF-8"),
        (b"demosaic", "The form could not be read: send it as UTF-8"),
        (b"demosaic=" + b"A" * 201, "The field 'demosaic' is too long"),
    ],
)
def test_unreadable_bodies_are_refused(body: bytes, sentence: str) -> None:
    with pytest.raises(FormRefused, match="^" + sentence.replace("(", r"\(").replace(")", r"\)")):
        read_fields(body)


@given(body=st.binary(max_size=300))
def test_any_body_is_read_or_refused_with_a_sentence(body: bytes) -> None:
    refusal = ""
    try:
        capture_options_from(read_fields(body), CURRENT, ALGORITHMS)
    except FormRefused as exc:
        refusal = str(exc)
    assert refusal == "" or (refusal.endswith(".") and "\n" not in refusal)


@given(options=options_st)
def test_the_config_lines_load_back_to_the_same_options(
    options: CaptureOptions, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path = tmp_path_factory.mktemp("config") / "alpaca-sony.toml"
    path.write_text(config_lines(options), encoding="utf-8")
    assert load(Path(path)).camera.capture_options() == options
