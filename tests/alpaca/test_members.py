"""The member table against the official Alpaca spec, and the app honouring each row's facts.

The spec is ASCOM's OpenAPI file (``../shared/spec/AlpacaDeviceAPI_v1P7.yaml``, read in place):
every ICameraV4 and common member it lists has exactly one row, with the spec's verbs, the spec's
PUT parameters (names, order, types) and a Value exactly where the spec's PUT answers one.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from alpaca_sony.alpaca.members import MEMBERS, ROWS, Member
from tests.alpaca.conftest import Api

SPEC = Path(__file__).resolve().parents[3] / "shared" / "spec" / "AlpacaDeviceAPI_v1P7.yaml"
CAMERA_PREFIXES = ("/camera/{device_number}/", "/{device_type}/{device_number}/")
# The spec's (type, format) of a form property -> Param.kind.
KINDS = {("boolean", None): "boolean", ("integer", "int32"): "int32", ("number", None): "number",
         ("string", None): "string"}  # fmt: skip
# Where the table knowingly differs from the YAML, and why.
SPEC_DIFFERENCES = {
    # ICameraV4 CommandBlind/CommandBool/CommandString(string command, bool raw); the YAML's
    # own description of Raw says "If set to true" but declares it a string.
    ("commandblind", "Raw"): "boolean",
    ("commandbool", "Raw"): "boolean",
    ("commandstring", "Raw"): "boolean",
}
ID_NAMES = ("ClientID", "ClientTransactionID")


@cache
def _spec() -> dict[str, Any]:
    if not SPEC.is_file():
        raise AssertionError(f"the Alpaca spec is missing: {SPEC} (../shared/spec beside the repo)")
    with SPEC.open(encoding="utf-8") as file:
        loaded: dict[str, Any] = yaml.safe_load(file)
    return loaded


def _resolve(node: Any) -> Any:
    """Follow ``$ref``s within the spec."""
    while isinstance(node, dict) and set(node) == {"$ref"}:
        target: Any = _spec()
        for key in node["$ref"].removeprefix("#/").split("/"):
            target = target[key]
        node = target
    return node


def _spec_members() -> dict[str, dict[str, Any]]:
    """path element -> {verb: operation} for the camera's and the common members."""
    members: dict[str, dict[str, Any]] = {}
    for path, operations in _spec()["paths"].items():
        for prefix in CAMERA_PREFIXES:
            if path.startswith(prefix):
                members[path.removeprefix(prefix)] = operations
    return members


def _form_properties(operation: dict[str, Any]) -> list[tuple[str, str]]:
    """The PUT's required form parameters besides the IDs: (name, kind), in the spec's order."""
    if "requestBody" not in operation:
        return []
    body = _resolve(operation["requestBody"])
    schema = _resolve(body["content"]["application/x-www-form-urlencoded"]["schema"])
    found: list[tuple[str, str]] = []
    for part in (_resolve(p) for p in schema.get("allOf", [schema])):
        properties = part.get("properties", {})
        for name in part.get("required", []):
            spec_type = _resolve(properties[name])
            found.append((name, KINDS[(spec_type["type"], spec_type.get("format"))]))
    return [(name, kind) for name, kind in found if name not in ID_NAMES]


def _answers_value(operation: dict[str, Any]) -> bool:
    return not operation["responses"]["200"]["$ref"].endswith("/MethodResponse")


def test_the_spec_is_what_this_test_expects() -> None:
    members = _spec_members()
    assert len(members) > 70 and "startexposure" in members and "action" in members


def test_every_spec_member_has_exactly_one_row() -> None:
    paths = [row.path for row in ROWS]
    assert len(paths) == len(set(paths)), "a member has two rows"
    assert set(paths) == set(_spec_members())


@pytest.mark.parametrize("row", ROWS, ids=lambda row: row.path)
def test_row_has_the_spec_verbs(row: Member) -> None:
    operations = _spec_members()[row.path]
    assert (row.get is not None) == ("get" in operations)
    assert (row.put is not None) == ("put" in operations)
    assert row.image == row.path.startswith("imagearray")


@pytest.mark.parametrize("row", [r for r in ROWS if r.put], ids=lambda row: row.path)
def test_put_row_has_the_spec_parameters_and_value(row: Member) -> None:
    assert row.put is not None
    operation = _spec_members()[row.path]["put"]
    expected = [
        (name, SPEC_DIFFERENCES.get((row.path, name), kind))
        for name, kind in _form_properties(operation)
    ]
    assert [(p.name, p.kind) for p in row.put.params] == expected
    assert row.put.returns_value == _answers_value(operation)
    if len(expected) == 1 and expected[0][0].lower() == row.path:
        assert row.name == expected[0][0]  # the row's ASCOM casing is the spec's


# -- the app does what the rows say ---------------------------------------------------------------

VALID = {"boolean": "false", "int32": "0", "number": "-1", "string": "x"}
INVALID = {"boolean": "maybe", "int32": "1.5", "number": "nan"}
# Writes that would change the connection the loops below rely on.
CONNECTION = {"connected", "connect", "disconnect"}


def _form(row: Member, **replace: str | None) -> str:
    """Valid text for every parameter of ``row`` (a side-effect-free value: Duration -1)."""
    assert row.put is not None
    pairs = []
    for param in row.put.params:
        value = replace.get(param.name, VALID[param.kind])
        if value is not None:
            pairs.append(f"{param.name}={value}")
    return "&".join(pairs)


def test_connection_is_needed_exactly_where_the_row_says(api: Api) -> None:
    for row in ROWS:
        if row.get is not None:
            reply = api.get(row.path).json
            assert (reply["ErrorNumber"] == 0x407) == row.needs_connection, row.path
        if row.put is not None and row.path not in CONNECTION:
            reply = api.put(row.path, _form(row)).json
            assert (reply["ErrorNumber"] == 0x407) == row.needs_connection, row.path
    assert not MEMBERS["connected"].needs_connection and api.value("connected") is False


def test_every_declared_parameter_is_required_and_parsed_before_the_connection(api: Api) -> None:
    for row in ROWS:
        for param in row.put.params if row.put else ():
            missing = api.put(row.path, _form(row, **{param.name: None}))
            assert missing.status_code == 400 and param.name in missing.text, row.path
            if param.kind in INVALID:
                bad = api.put(row.path, _form(row, **{param.name: INVALID[param.kind]}))
                assert bad.status_code == 400 and param.name in bad.text, row.path


def test_a_put_answers_value_exactly_where_the_row_says(api: Api) -> None:
    api.connect()
    for row in ROWS:
        if row.put is None or row.path in CONNECTION:
            continue
        reply = api.put(row.path, _form(row))
        assert reply.status_code == 200, row.path
        assert ("Value" in reply.json) == row.put.returns_value, (row.path, reply.json)
    assert api.camera.body.shots == []  # Duration=-1 was refused: nothing was shot
