"""The Alpaca protocol rules (alpaca.md section 0) at the Falcon level, member by member."""

from __future__ import annotations

import re
from collections.abc import Callable

import numpy as np
import pytest

from alpaca_sony.alpaca import imagebytes
from alpaca_sony.alpaca.members import MEMBERS
from tests.alpaca.conftest import Api

STANDARD_KEYS = ("ClientTransactionID", "ServerTransactionID", "ErrorNumber", "ErrorMessage")


def test_envelope_keys_types_and_content_type(api: Api) -> None:
    reply = api.get("interfaceversion")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    body = reply.json
    assert body["Value"] == 4 and isinstance(body["Value"], int)
    assert all(key in body for key in STANDARD_KEYS)
    assert body["ClientTransactionID"] == 67890 and body["ServerTransactionID"] >= 1
    assert body["ErrorNumber"] == 0 and body["ErrorMessage"] == ""
    put = api.put("connected", "Connected=False").json
    assert set(put) == set(STANDARD_KEYS)  # PUTs carry no Value


def test_server_transaction_ids_increase(api: Api) -> None:
    ids = [api.get("name").json["ServerTransactionID"] for _ in range(5)]
    assert ids == sorted(ids) and len(set(ids)) == 5 and ids[0] >= 1


def test_get_parameter_names_are_case_insensitive(api: Api) -> None:
    for query in ("clientid=1&clienttransactionid=67890", "CLIENTID=1&CLIENTTRANSACTIONID=67890"):
        assert api.get("name", query).json["ClientTransactionID"] == 67890
    assert api.get("name", "ClientTransactionID=67890&ExtraParameter=ExtraValue").status_code == 200


def test_put_parameter_names_are_case_sensitive(api: Api) -> None:
    api.connect()
    assert api.put("binx", "bINx=1").status_code == 400
    assert api.put("startexposure", "dURATION=2&Light=true").status_code == 400
    # A mis-cased ClientTransactionID in a PUT is ignored: echoed as 0, the call succeeds.
    reply = api.client.simulate_put(
        "/api/v1/camera/0/binx",
        body="ClientID=1&clienttransactionid=67890&BinX=1",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert reply.status_code == 200 and reply.json["ClientTransactionID"] == 0


@pytest.mark.parametrize("bad", ["", "     ", "-12345", "NASDAQ", "4294967296", "1_000", " 1"])
@pytest.mark.parametrize("name", ["ClientID", "ClientTransactionID"])
def test_bad_ids_are_400_before_any_work(api: Api, bad: str, name: str) -> None:
    other = "ClientTransactionID" if name == "ClientID" else "ClientID"
    reply = api.get("name", f"{name}={bad}&{other}=1")
    assert reply.status_code == 400 and reply.headers["content-type"].startswith("text/plain")
    put = api.client.simulate_put(
        "/api/v1/camera/0/startexposure",
        body=f"{name}={bad}&{other}=1&Duration=2&Light=true",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert put.status_code == 400
    assert api.camera.body.shots == []


def test_bad_urls(api: Api) -> None:
    assert api.client.simulate_get("/api/v1/CAMERA/0/description").status_code in (400, 404)
    assert api.client.simulate_get("/api/v1/camera/0/Description").status_code == 400
    assert api.client.simulate_get("/api/v1/camera/0/descrip").status_code == 400
    for number in ("1", "-1", "99999", "A"):
        assert api.client.simulate_get(f"/api/v1/camera/{number}/description").status_code == 400
    assert api.client.simulate_get("/api/v1/baddevicetype/0/description").status_code == 404


@pytest.mark.parametrize("value", ["", "123456", "asdqwe"])
def test_bad_booleans_are_400(api: Api, value: str) -> None:
    assert api.put("connected", f"Connected={value}").status_code == 400


def test_interface_members_work_disconnected(api: Api) -> None:
    for member in ("interfaceversion", "connected", "connecting", "description", "driverinfo",
                   "driverversion", "name", "supportedactions"):  # fmt: skip
        assert api.get(member).json["ErrorNumber"] == 0, member
    assert re.fullmatch(r"\d+\.\d+", api.value("driverversion"))
    assert len(api.value("description")) <= 64


def test_every_camera_member_says_not_connected_while_disconnected(api: Api) -> None:
    free = {"connected", "connecting", "description", "driverinfo", "driverversion", "name",
            "supportedactions", "interfaceversion", "canabortexposure", "canasymmetricbin",
            "canfastreadout", "cangetcoolerpower", "canpulseguide", "cansetccdtemperature",
            "canstopexposure", "hasshutter", "maxbinx", "maxbiny", "exposuremax",
            "exposureresolution"}  # fmt: skip
    for member, entry in MEMBERS.items():
        if entry.get is not None and member not in free:
            reply = api.get(member).json
            assert reply["ErrorNumber"] == 0x407 and reply["Value"] is None, member
    assert api.get("imagearray").json["ErrorNumber"] == 0x407


def test_validation_order_400_beats_not_implemented(api: Api) -> None:
    api.connect()
    assert api.put("cooleron").status_code == 400  # missing CoolerOn
    assert api.put("cooleron", "CoolerOn=true").json["ErrorNumber"] == 0x400
    assert api.put("pulseguide", "Direction=0").status_code == 400
    assert api.put("pulseguide", "Direction=0&Duration=1").json["ErrorNumber"] == 0x400
    # alpyca's spelling of SubExposureDuration is accepted as that parameter (then 0x400).
    assert api.put("subexposureduration", "SubexposureDuration=1.5").json["ErrorNumber"] == 0x400
    assert api.put("subexposureduration", "sUBeXPOSUREdURATION=1.5").status_code == 400


def test_connect_resets_state(api: Api) -> None:
    api.connect()
    assert api.value("binx") == 1 and api.value("biny") == 1
    assert api.value("imageready") is False
    for member in ("lastexposureduration", "lastexposurestarttime"):
        reply = api.get(member).json
        assert reply["ErrorNumber"] == 0x40B and reply["Value"] is None
    assert api.get("imagearray").json["ErrorNumber"] == 0x40B


def test_async_connect_and_disconnect(api: Api) -> None:
    assert api.put("connect").json["ErrorNumber"] == 0
    for _ in range(500):
        if not api.value("connecting"):
            break
    assert api.value("connected") is True
    assert api.put("disconnect").json["ErrorNumber"] == 0
    assert api.value("connected") is False
    assert api.put("disconnect").json["ErrorNumber"] == 0  # idempotent


def test_camera_facts(api: Api) -> None:
    api.connect()
    assert (api.value("cameraxsize"), api.value("cameraysize")) == (6024, 4024)
    assert api.value("pixelsizex") == pytest.approx(5.95) and api.value("sensorname") == "IMX410"
    assert api.value("sensortype") == 2 and api.value("maxadu") == 16383
    assert (api.value("bayeroffsetx"), api.value("bayeroffsety")) == (0, 0)
    assert api.value("maxbinx") == 4 and api.value("canasymmetricbin") is False
    assert api.value("exposuremin") == pytest.approx(1 / 8000)
    assert api.value("exposuremax") >= 3600
    assert api.value("canpulseguide") is False and api.value("canfastreadout") is False
    unimplemented = ("fastreadout", "gainmin", "gainmax", "offset", "offsets",
                     "ccdtemperature", "ispulseguiding", "cooleron", "electronsperadu",
                     "fullwellcapacity")  # fmt: skip
    for member in unimplemented:
        assert api.get(member).json["ErrorNumber"] == 0x400, member
    assert api.put("fastreadout", "FastReadout=false").json["ErrorNumber"] == 0x400


def test_gain_is_the_iso_index(api: Api) -> None:
    api.connect()
    gains = api.value("gains")
    assert gains[0] == "ISO 50" and "ISO 800" in gains and "AUTO" not in " ".join(gains)
    assert gains[api.value("gain")] == "ISO 800"
    assert api.put("gain", "Gain=-1").json["ErrorNumber"] == 0x401
    assert api.put("gain", f"Gain={len(gains)}").json["ErrorNumber"] == 0x401
    assert api.put("gain", "Gain=abc").status_code == 400
    assert api.put("gain", f"Gain={gains.index('ISO 3200')}").json["ErrorNumber"] == 0


def test_binning_and_subframe_writes(api: Api) -> None:
    api.connect()
    for bad in (0, 5):
        assert api.put("binx", f"BinX={bad}").json["ErrorNumber"] == 0x401
    assert api.put("binx", "BinX=2").json["ErrorNumber"] == 0
    assert api.value("biny") == 2  # symmetric binning
    assert api.value("numx") == 3012
    # No cross-validation at write time ...
    assert api.put("numx", "NumX=99999").json["ErrorNumber"] == 0
    assert api.put("startx", "StartX=99999").json["ErrorNumber"] == 0
    # ... StartExposure validates.
    assert api.put("startexposure", "Duration=1&Light=true").json["ErrorNumber"] == 0x401
    assert api.put("startexposure", "Duration=-1&Light=true").json["ErrorNumber"] == 0x401
    assert api.put("startexposure", "Duration=nan&Light=true").status_code == 400


def test_readout_modes_switch_sensor_type(api: Api) -> None:
    api.connect()
    modes = api.value("readoutmodes")
    assert len(modes) == 3 and modes[0].startswith("Raw")
    assert api.put("readoutmode", "ReadoutMode=1").json["ErrorNumber"] == 0
    assert api.value("sensortype") == 1 and api.value("maxadu") == 65535
    assert api.put("readoutmode", "ReadoutMode=3").json["ErrorNumber"] == 0x401


def test_idle_abort_stop_and_percent(api: Api) -> None:
    api.connect()
    assert api.put("abortexposure").json["ErrorNumber"] == 0
    assert api.put("stopexposure").json["ErrorNumber"] == 0
    assert api.value("percentcompleted") == 0


def test_actions(api: Api) -> None:
    api.connect()
    assert "battery" in api.value("supportedactions")
    reply = api.put("action", "Action=Battery&Parameters=")
    assert reply.json["ErrorNumber"] == 0 and '"percent":80' in reply.json["Value"]
    assert api.put("action", "Action=selfdestruct&Parameters=").json["ErrorNumber"] == 0x40C
    assert api.put("action", "Action=battery").status_code == 400
    assert api.put("commandblind", "Command=x&Raw=false").json["ErrorNumber"] == 0x400


def test_device_state(api: Api) -> None:
    api.connect()
    names = {item["Name"] for item in api.value("devicestate")}
    allowed = {"CameraState", "CCDTemperature", "CoolerPower", "HeatSinkTemperature",
               "ImageReady", "IsPulseGuiding", "PercentCompleted", "TimeStamp"}  # fmt: skip
    assert names <= allowed and {"CameraState", "ImageReady"} <= names


def test_exposure_and_both_image_transfers(api: Api) -> None:
    api.connect()
    assert api.put("startexposure", "Duration=2&Light=true").json["ErrorNumber"] == 0
    api.wait_image()
    assert api.value("camerastate") == 0 and api.value("percentcompleted") == 100
    assert api.value("lastexposureduration") == pytest.approx(2.0, rel=0.02)
    start = api.value("lastexposurestarttime")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?", start)
    binary = api.get("imagearray", headers={"Accept": "application/imagebytes"})
    assert binary.headers["content-type"] == "application/imagebytes"
    fields = imagebytes.HEADER.unpack_from(binary.content)
    assert fields[0] == 1 and fields[2] == 67890 and fields[4] == 44
    assert fields[5:] == (2, 8, 2, 6024, 4024, 0)
    from_bytes = imagebytes.decode(binary.content)
    text = api.get("imagearray")
    assert text.text.startswith('{"Type":2,"Rank":2,"Value":[[')
    from_json = np.asarray(text.json["Value"], dtype=np.int32)
    assert from_json.shape == (6024, 4024) and np.array_equal(from_json, from_bytes)
    variant = api.get("imagearrayvariant", headers={"Accept": "application/imagebytes"})
    assert variant.content[44:] == binary.content[44:]


def test_image_errors_are_json_even_for_imagebytes_clients(api: Api) -> None:
    api.connect()
    reply = api.get("imagearray", headers={"Accept": "application/imagebytes"})
    assert reply.headers["content-type"] == "application/json"
    assert reply.json["ErrorNumber"] == 0x40B and reply.json["Value"] is None


def test_stop_cannot_shorten_a_built_in_speed(api_factory: Callable[..., Api]) -> None:
    api = api_factory(real_wait_s=10.0)
    api.connect()
    assert api.put("startexposure", "Duration=30&Light=true").json["ErrorNumber"] == 0
    assert api.clock.waiting.wait(10)
    assert api.value("camerastate") == 2
    assert api.put("stopexposure").json["ErrorNumber"] == 0x40B
    assert api.put("startexposure", "Duration=1&Light=true").json["ErrorNumber"] == 0x40B
    # AbortExposure is refused the same way: tests/alpaca/test_abort_client.py


def test_management_and_setup(api: Api) -> None:
    assert api.client.simulate_get("/management/apiversions").json["Value"] == [1]
    description = api.client.simulate_get("/management/v1/description").json["Value"]
    assert description["ManufacturerVersion"] == "0.1.0" and description["ServerName"]
    devices = api.client.simulate_get("/management/v1/configureddevices").json["Value"]
    assert devices == [
        {"DeviceName": "Sony a7 III", "DeviceType": "Camera", "DeviceNumber": 0,
         "UniqueID": api.device.unique_id}
    ]  # fmt: skip
    for path in ("/setup", "/setup/v1/camera/0/setup"):
        page = api.client.simulate_get(path)
        assert page.status_code == 200 and "Sony a7 III" in page.text


# Valid parameters for every PUT member (exact casing).
PUT_PARAMS = {
    "action": "Action=battery&Parameters=", "commandblind": "Command=x&Raw=false",
    "commandbool": "Command=x&Raw=false", "commandstring": "Command=x&Raw=false",
    "binx": "BinX=1", "biny": "BinY=1", "cooleron": "CoolerOn=false",
    "fastreadout": "FastReadout=false", "gain": "Gain=0", "numx": "NumX=10", "numy": "NumY=10",
    "offset": "Offset=0", "pulseguide": "Direction=0&Duration=1", "readoutmode": "ReadoutMode=0",
    "setccdtemperature": "SetCCDTemperature=0", "startexposure": "Duration=1&Light=true",
    "startx": "StartX=0", "starty": "StartY=0", "subexposureduration": "SubExposureDuration=1",
}  # fmt: skip
CONNECTION_MEMBERS = {"connected", "connect", "disconnect"}


def test_every_put_member_needs_the_connection(api: Api) -> None:
    for member, entry in MEMBERS.items():
        if entry.put is None or member in CONNECTION_MEMBERS:
            continue
        reply = api.put(member, PUT_PARAMS.get(member, ""))
        assert reply.status_code == 200, member
        assert reply.json["ErrorNumber"] == 0x407, (member, reply.json)


def test_every_put_member_with_parameters_refuses_them_missing_or_miscased(api: Api) -> None:
    api.connect()
    for member, params in PUT_PARAMS.items():
        first = params.split("&")[0]
        name, value = first.split("=")
        rest = "&".join(params.split("&")[1:])
        missing = api.put(member, rest)
        assert missing.status_code == 400, member
        inverted = name.swapcase() + "=" + value + ("&" + rest if rest else "")
        assert api.put(member, inverted).status_code == 400, member


def test_every_put_member_ignores_extra_parameters(api: Api) -> None:
    api.connect()
    for member, params in PUT_PARAMS.items():
        if member == "startexposure":
            continue
        reply = api.put(member, params + "&ExtraParameter=ExtraValue")
        assert reply.status_code == 200, member
        assert reply.json["ClientTransactionID"] == 67890
