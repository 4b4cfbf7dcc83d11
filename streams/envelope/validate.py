"""Envelope values that are not ours to pass: checked against their known sets, anything else replaced.

A Debezium ``op`` or a Salesforce ``changeOrigin`` is a string the source writes; copied as-is, a hostile or
broken producer could put any text (an e-mail address, a name) into the output and into the audit event's
``operation``. These values are validated against the sets the sources document; anything else is replaced
by :data:`REPLACED` (``op``) or the empty string (``changeOrigin``), and reported: a warning naming the field
(never the value), at most once a minute per field, with the count replaced since the last one.
"""

from __future__ import annotations

import re
import time

import structlog

log = structlog.get_logger(__name__)

REPLACED = "unknown"

# Debezium's ``op``: create, update, delete, read (snapshot), truncate, message.
DEBEZIUM_OPS = frozenset({"c", "u", "d", "r", "t", "m"})

# Salesforce's ``changeOrigin``: ``com/salesforce/api/<API_Name>/<API_Version>;client=<Client_ID>``, where the
# API name is one of these (Apex ChangeEventHeader reference). Only the family, without version and client,
# is released.
SALESFORCE_APIS = frozenset(
    {"soap", "rest", "bulkapi", "xmlrpc", "oldsoap", "toolingsoap", "toolingrest", "apex", "apexdebuggerrest"}
)
_ORIGIN = re.compile(r"com/salesforce/api/([a-z]+)(?:/|;|$)")
# Origins released whole (no version, no client): Apex changes as this project has seen them reported.
SALESFORCE_ORIGINS = frozenset({"com/salesforce/apex"})

REPORT_EVERY_S = 60.0
_reported: dict[str, tuple[float, int]] = {}


def report_replaced(field: str) -> None:
    """Count a replaced value of ``field``; log it at most once per :data:`REPORT_EVERY_S`."""
    now = time.monotonic()
    last, count = _reported.get(field, (-REPORT_EVERY_S, 0))
    count += 1
    if now - last >= REPORT_EVERY_S:
        log.warning("envelope_value_replaced", field=field, replaced=count)
        _reported[field] = (now, 0)
    else:
        _reported[field] = (last, count)


def debezium_op(value: object) -> str:
    if isinstance(value, str) and value in DEBEZIUM_OPS:
        return value
    report_replaced("op")
    return REPLACED


def salesforce_origin(value: str) -> str:
    """``com/salesforce/api/soap/61.0;client=X`` -> ``com/salesforce/api/soap``; empty stays empty; anything
    else (an unknown API name, another path) is replaced by the empty string and reported."""
    if not value or value in SALESFORCE_ORIGINS:
        return value
    match = _ORIGIN.match(value)
    if match and match.group(1) in SALESFORCE_APIS:
        return f"com/salesforce/api/{match.group(1)}"
    report_replaced("changeOrigin")
    return ""
