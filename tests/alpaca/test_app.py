"""The app's answers to each kind of failure, mapped by Falcon's error handlers (alpaca.md 1.6)."""

from __future__ import annotations

from alpaca_sony.alpaca.errors import DriverError
from tests.alpaca.conftest import Api


def test_a_camera_failure_is_a_driver_error_with_the_transaction_echoed(api: Api) -> None:
    api.camera.unplug()
    reply = api.put("connected", "Connected=True")
    assert reply.status_code == 200 and reply.headers["content-type"] == "application/json"
    body = reply.json
    assert body["ErrorNumber"] == DriverError.error_number == 0x500
    assert body["ErrorMessage"].startswith("could not connect")
    assert body["ClientTransactionID"] == 67890 and body["ServerTransactionID"] >= 1
    assert "Value" not in body  # a PUT without a Value keeps none on error
    api.camera.replug()
    api.connect()
    assert api.value("connected") is True


def test_refusals_are_plain_text_400s_that_say_what_is_wrong(api: Api) -> None:
    cases = {
        "/api/v1/camera/9/name": "there is no camera number 9",
        "/api/v1/camera/0/imageready2": "imageready2 is not a camera property that can be read",
        "/management/v1/description?ClientID=-1": "clientid='-1' is not a number",
    }
    for path, message in cases.items():
        url, _, query = path.partition("?")
        reply = api.client.simulate_get(url, query_string=query)
        assert reply.status_code == 400 and reply.headers["content-type"].startswith("text/plain")
        assert reply.text.startswith(message), path
    written = api.put("camerastate", "CameraState=0")
    assert written.status_code == 400 and "camerastate is not a camera member" in written.text


def test_an_image_error_for_an_imagebytes_client_is_json_with_its_ids(api: Api) -> None:
    first = api.get("name").json["ServerTransactionID"]
    reply = api.get("imagearray", headers={"Accept": "application/imagebytes"})
    assert reply.headers["content-type"] == "application/json"
    body = reply.json
    assert (body["ErrorNumber"], body["Value"]) == (0x407, None)
    assert body["ClientTransactionID"] == 67890 and body["ServerTransactionID"] == first + 1
