"""Envelope values the sources write are checked against their known sets; anything else is replaced."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from streams.envelope import validate
from streams.envelope.validate import REPLACED, debezium_op, salesforce_origin


@pytest.mark.parametrize("op", ["c", "u", "d", "r", "t", "m"])
def test_known_debezium_ops_pass(op: str) -> None:
    assert debezium_op(op) == op


@pytest.mark.parametrize("op", ["jane@doe.com", "C", "", None, 3, "create"])
def test_any_other_op_is_replaced_and_reported_without_the_value(op: object, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(validate, "_reported", {})
    with capture_logs() as logs:
        assert debezium_op(op) == REPLACED
        debezium_op(op)  # the second within a minute is counted, not logged
    assert [entry["event"] for entry in logs] == ["envelope_value_replaced"]
    assert logs[0]["field"] == "op"
    assert set(logs[0]) == {"event", "log_level", "field", "replaced"}  # no value anywhere


@pytest.mark.parametrize(
    ("origin", "released"),
    [
        ("com/salesforce/api/soap/61.0;client=SfdcInternalAPI/", "com/salesforce/api/soap"),
        ("com/salesforce/api/bulkapi/58.0", "com/salesforce/api/bulkapi"),
        ("com/salesforce/api/toolingrest", "com/salesforce/api/toolingrest"),
        ("com/salesforce/janedoe/secret", ""),  # the reported leak: two arbitrary segments were kept
        ("com/salesforce/api/janedoe/61.0", ""),
        ("com/salesforce/api/soapy", ""),
        ("", ""),
    ],
)
def test_change_origin_is_released_only_as_a_known_api_family(origin: str, released: str) -> None:
    assert salesforce_origin(origin) == released
