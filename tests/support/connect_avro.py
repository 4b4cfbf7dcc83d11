"""Kafka Connect JSON -> what Debezium's AvroConverter puts on the wire, for the Debezium fixtures.

The fixtures in ``tests/fixtures/debezium/`` are change events as Kafka Connect's JsonConverter prints them
(``{"schema": <Connect schema>, "payload": <value>}``), copied from Debezium's documentation and examples.
The anonymizer consumes Avro. This module turns a fixture into the Avro schema and the Avro value that the
same event has when Debezium runs with the Avro converter, so the fixtures can go through the real pipeline.

Three parts:

* ``load_lenient`` / ``load_connect_json``: read the documentation blocks, several of which are not valid
  JSON as printed. Every repair is listed in ``fixes`` (and each kind is explained where it is made).
* ``avro_schema``: a Connect schema -> an Avro schema, following Confluent's ``AvroData.fromConnectSchema``
  (confluentinc/schema-registry, ``avro-converter/src/main/java/io/confluent/connect/avro/AvroData.java``):
  struct -> record (Connect name split at the last dot into namespace and name, sanitized for Avro the way
  Debezium's ``schema.name.adjustment.mode=avro`` does), int8/int16/int32 -> int (int8/int16 marked with
  ``connect.type``), int64 -> long, float32 -> float, float64 -> double, boolean, string, bytes, array, map;
  an optional type -> ``["null", T]`` with default null, or ``[T, "null"]`` with the Connect default when
  the field has one (Avro wants the default's branch first); Connect metadata kept as ``connect.name``,
  ``connect.version``, ``connect.parameters``, ``connect.default``, ``connect.doc``, so semantic types such as
  ``io.debezium.time.Date``, ``MicroTimestamp``, ``ZonedTimestamp`` or ``io.debezium.data.Enum`` stay
  recognisable. A record name met a second time (``before`` and ``after`` share ``...Value``) is emitted
  once and referred to by its full name afterwards.
* ``avro_value``: a Connect JSON payload -> the plain Python value fastavro / AvroSerializer write for that
  schema, following JsonConverter's reading rules (a null or absent field takes the Connect default, else
  null when optional; a null required field is an error). Strict on types: nothing is coerced.

And a small catalogue of the fixture data sets (``DATASETS``), shared by the unit and integration tests.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "debezium"

# --------------------------------------------------------------------------------------------------------
# Lenient loading of documentation blocks
# --------------------------------------------------------------------------------------------------------

# AsciiDoc attributes left in the doc blocks. `{context}` is `mysql` or `mariadb` when the shared MySQL/MariaDB
# page is rendered; we render the MySQL page. `{debezium-version}` is the current release when rendered; the
# value is an opaque string to the anonymizer (source.version is kept as is), so any stand-in will do.
DOC_ATTRIBUTES: dict[str, str] = {"context": "mysql", "debezium-version": "3.3.0.Final"}

# `"schema": { ... }`, `"schema": {...}` (docs) and `"schema": { <omitted> }` (kafka-ssl README) stand for a
# schema the author left out. They become null: the record is then "payload only", like a JsonConverter
# with schemas.enable=false, and callers supply the schema (see DATASETS).
_PLACEHOLDER = re.compile(r"\{\s*(?:\.\.\.|<omitted>)\s*\}")


@dataclass(frozen=True)
class Lenient:
    data: Any
    fixes: tuple[str, ...]  # one line per repair, in the order they were made


def _repair_commas(text: str, fixes: list[str]) -> str:
    """Remove trailing commas and insert missing ones, outside string literals only.

    * trailing comma: a `,` whose next significant character is `}` or `]` (postgres key/update/delete,
      mysql truncate) is dropped.
    * missing comma: a string literal that starts right after a complete value (string, number, literal,
      `}` or `]`) can only be the next member whose separating comma was lost (tutorial 04-tombstone.key.json:
      `"name": "dbserver1.inventory.customers.Key"` then `"optional": false` on the next line); a comma is
      inserted. Valid JSON never has a value directly followed by a string, so valid input is unchanged.
    """
    out: list[str] = []
    in_string = escaped = False
    last = ""  # last significant character class outside strings: one of { [ , : or "v" (a value ended)
    pending_comma: int | None = None  # index in `out` of a comma that may turn out to be trailing
    line = 1
    for ch in text:
        if ch == "\n":
            line += 1
        if in_string:
            out.append(ch)
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
                last = "v"
            continue
        if ch.isspace():
            out.append(ch)
            continue
        if ch == '"':
            if last == "v":
                out.append(",")
                fixes.append(f"line {line}: missing comma inserted before a member")
            in_string = True
            pending_comma = None
            out.append(ch)
            continue
        if ch in "}]":
            if pending_comma is not None:
                out[pending_comma] = ""
                fixes.append(f"line {line}: trailing comma before {ch!r} removed")
            pending_comma = None
            last = "v"
            out.append(ch)
            continue
        if ch == ",":
            pending_comma = len(out)
            last = ","
            out.append(ch)
            continue
        pending_comma = None
        last = ch if ch in "{[:" else "v"
        out.append(ch)
    return "".join(out)


def load_lenient(source: Path | str, attributes: Mapping[str, str] = DOC_ATTRIBUTES) -> Lenient:
    """Parse a documentation JSON block, repairing what the docs print but JSON does not allow.

    Repairs, each reported in ``fixes``: placeholders -> null; AsciiDoc attributes -> their rendered value;
    trailing commas removed; a missing comma between members inserted; duplicate keys -> the last value wins
    (what Jackson and Python's json do; e.g. the tutorial's `source` prints `"name"` twice, first with the
    version attribute, then with the server name).
    """
    text = source.read_text() if isinstance(source, Path) else source
    fixes: list[str] = []

    def placeholder(match: re.Match[str]) -> str:
        fixes.append(f"placeholder {match.group(0)!r} -> null")
        return "null"

    text = _PLACEHOLDER.sub(placeholder, text)
    for name, value in attributes.items():
        token = "{" + name + "}"
        if token in text:
            fixes.append(f"AsciiDoc attribute {token} -> {value!r} ({text.count(token)}x)")
            text = text.replace(token, value)
    text = _repair_commas(text, fixes)

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj: dict[str, Any] = {}
        for key, value in items:
            if key in obj:
                fixes.append(f"duplicate key {key!r}: kept the last value {value!r}, dropped {obj[key]!r}")
            obj[key] = value
        return obj

    return Lenient(json.loads(text, object_pairs_hook=pairs), tuple(fixes))


@dataclass(frozen=True)
class ConnectJson:
    """One JsonConverter record: its Connect schema (None if not printed) and payload (None: Kafka null)."""

    schema: dict[str, Any] | None
    payload: Any
    fixes: tuple[str, ...] = ()


def _normalize_field(fld: dict[str, Any], where: str, fixes: list[str], position: int) -> dict[str, Any]:
    """Bring a field printed as `{"name", "index", "schema": {"type": "INT32", "optional": "false"}}` (the
    PostgreSQL key example: Connect's Java ``Field``/``ConnectSchema`` toString form, not JsonConverter's)
    into JsonConverter's `{"field", "type", "optional"}` form."""
    if "field" in fld or "schema" not in fld:
        return fld
    inner = dict(fld["schema"])
    if str(fld.get("index", position)) != str(position):
        raise ValueError(f"{where}: field {fld['name']!r} has index {fld['index']} at position {position}")
    out = {**_normalize_schema(inner, f"{where}.{fld['name']}", fixes), "field": fld["name"]}
    fixes.append(f"{where}: field {fld['name']!r} rewritten from the Java toString form to JsonConverter form")
    return out


def _normalize_schema(schema: dict[str, Any], where: str, fixes: list[str]) -> dict[str, Any]:
    out = dict(schema)
    if isinstance(out.get("type"), str) and out["type"] != out["type"].lower():
        fixes.append(f"{where}: type {out['type']!r} -> {out['type'].lower()!r}")
        out["type"] = out["type"].lower()
    if isinstance(out.get("optional"), str):
        fixes.append(f"{where}: optional {out['optional']!r} (a string) -> boolean")
        out["optional"] = out["optional"].lower() == "true"
    if out.get("type") == "struct":
        out["fields"] = [
            _normalize_schema(_normalize_field(f, where, fixes, i), f"{where}.{f.get('field', f.get('name'))}", fixes)
            for i, f in enumerate(out["fields"])
        ]
    for part in ("items", "keys", "values"):
        if isinstance(out.get(part), dict):
            out[part] = _normalize_schema(out[part], f"{where}.{part}", fixes)
    return out


_INTEGER_TYPES = {"int8": (-(2**7), 2**7), "int16": (-(2**15), 2**15), "int32": (-(2**31), 2**31)}
_INTEGER_TYPES["int64"] = (-(2**63), 2**63)


def _unquote_numbers(schema: Mapping[str, Any], payload: Any, where: str, fixes: list[str]) -> Any:
    """The PostgreSQL key example prints the INT32 id as `"1"`; JsonConverter prints integers unquoted."""
    kind = schema.get("type")
    if kind in _INTEGER_TYPES and isinstance(payload, str) and re.fullmatch(r"-?\d+", payload):
        fixes.append(f"{where}: quoted integer {payload!r} -> {int(payload)}")
        return int(payload)
    if kind == "struct" and isinstance(payload, dict):
        by_name = {f["field"]: f for f in schema["fields"]}
        return {
            k: _unquote_numbers(by_name[k], v, f"{where}.{k}", fixes) if k in by_name else v for k, v in payload.items()
        }
    return payload


def load_connect_json(path: Path, attributes: Mapping[str, str] = DOC_ATTRIBUTES) -> ConnectJson:
    """A fixture file as (schema, payload). Files without the schema/payload wrapper are payload only."""
    loaded = load_lenient(path, attributes)
    fixes = list(loaded.fixes)
    data = loaded.data
    if isinstance(data, dict) and set(data) == {"schema", "payload"}:
        schema, payload = data["schema"], data["payload"]
    else:
        schema, payload = None, data
    if schema is not None:
        schema = _normalize_schema(schema, "schema", fixes)
        payload = _unquote_numbers(schema, payload, "payload", fixes)
    return ConnectJson(schema, payload, tuple(fixes))


# --------------------------------------------------------------------------------------------------------
# Connect schema -> Avro schema
# --------------------------------------------------------------------------------------------------------

_AVRO_PRIMITIVE = {
    "int8": "int",
    "int16": "int",
    "int32": "int",
    "int64": "long",
    "float32": "float",
    "float64": "double",
    "boolean": "boolean",
    "string": "string",
    "bytes": "bytes",
}
_NAME_CHAR = re.compile(r"[A-Za-z0-9_]")


def avro_name(connect_name: str) -> str:
    """Sanitize a Connect schema name into a valid Avro full name.

    Like Debezium's ``schema.name.adjustment.mode=avro``: every character that Avro does not allow in a name
    becomes ``_`` (`mysql-server-1.inventory.customers.Value` -> `mysql_server_1.inventory.customers.Value`;
    an unrendered `{context}` would become `_context_`), and a segment that starts with a digit gets a
    leading ``_``.
    """
    segments = []
    for segment in connect_name.split("."):
        fixed = "".join(ch if _NAME_CHAR.fullmatch(ch) else "_" for ch in segment) or "_"
        segments.append(f"_{fixed}" if fixed[0].isdigit() else fixed)
    return ".".join(segments)


def _split_name(full: str) -> tuple[str | None, str]:
    namespace, _, name = full.rpartition(".")
    return (namespace or None), name


def _connect_props(schema: Mapping[str, Any], name: str | None) -> dict[str, Any]:
    props: dict[str, Any] = {}
    if schema.get("doc") is not None:
        props["connect.doc"] = schema["doc"]
    if schema.get("version") is not None:
        props["connect.version"] = schema["version"]
    if schema.get("parameters") is not None:
        props["connect.parameters"] = dict(schema["parameters"])
    if schema.get("default") is not None:
        props["connect.default"] = _default_value(schema, schema["default"])
    if name is not None:
        props["connect.name"] = name
    if schema["type"] in ("int8", "int16"):
        props["connect.type"] = schema["type"]
    return props


def _default_value(schema: Mapping[str, Any], value: Any) -> Any:
    """A Connect default as it appears in the Avro JSON (bytes defaults are base64 in Connect JSON)."""
    if schema["type"] == "bytes" and isinstance(value, str):
        return base64.b64decode(value).decode("latin-1")  # Avro JSON encodes bytes defaults as latin-1 text
    return value


class _SchemaBuilder:
    def __init__(self) -> None:
        self.defined: dict[str, Mapping[str, Any]] = {}  # Avro full name -> the Connect struct defining it

    def base(self, schema: Mapping[str, Any]) -> Any:
        """The Avro type of ``schema`` ignoring its optionality (AvroData's non-union base schema)."""
        kind = schema["type"]
        connect_name = schema.get("name")
        if kind == "struct":
            full = avro_name(connect_name) if connect_name else "io.confluent.connect.avro.ConnectDefault"
            if full in self.defined:
                if _struct_shape(self.defined[full]) != _struct_shape(schema):
                    raise ValueError(f"struct {full} is defined twice with different fields")
                return full
            self.defined[full] = schema
            namespace, name = _split_name(full)
            record: dict[str, Any] = {"type": "record", "name": name}
            if namespace:
                record["namespace"] = namespace
            record["fields"] = [self.field(f) for f in schema["fields"]]
            record.update(_connect_props(schema, full))
            return record
        if kind == "array":
            out: dict[str, Any] = {"type": "array", "items": self.type(schema["items"])}
        elif kind == "map":
            if schema["keys"]["type"] != "string" or schema["keys"].get("optional"):
                raise NotImplementedError("maps with non-string keys (AvroData writes an array of entries)")
            out = {"type": "map", "values": self.type(schema["values"])}
        elif kind in _AVRO_PRIMITIVE:
            out = {"type": _AVRO_PRIMITIVE[kind]}
        else:
            raise ValueError(f"unknown Connect type {kind!r}")
        out.update(_connect_props(schema, avro_name(connect_name) if connect_name else None))
        return out if len(out) > 1 else out["type"]

    def type(self, schema: Mapping[str, Any]) -> Any:
        base = self.base(schema)
        if not schema.get("optional"):
            return base
        return [base, "null"] if schema.get("default") is not None else ["null", base]

    def field(self, fld: Mapping[str, Any]) -> dict[str, Any]:
        name = fld["field"]
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
            raise ValueError(f"field name {name!r} is not a valid Avro name")
        out: dict[str, Any] = {"name": name, "type": self.type(fld)}
        if fld.get("doc") is not None:
            out["doc"] = fld["doc"]
        if fld.get("default") is not None:
            out["default"] = _default_value(fld, fld["default"])
        elif fld.get("optional"):
            out["default"] = None
        return out


def _struct_shape(schema: Mapping[str, Any]) -> Any:
    return json.dumps({k: v for k, v in schema.items() if k != "field"}, sort_keys=True)


def avro_schema(connect_schema: Mapping[str, Any]) -> Any:
    """The Avro schema (JSON form, writable as is) that AvroData derives from a Connect schema."""
    return _SchemaBuilder().type(connect_schema)


# --------------------------------------------------------------------------------------------------------
# Connect JSON payload -> Avro value
# --------------------------------------------------------------------------------------------------------

Absent = Literal["error", "debezium-fallback"]

# Debezium's JdbcValueConverters.convertValue: a null column value for a NOT NULL (non-optional) column
# becomes the schema default, else a per-type fallback ("" for strings, 0 for numbers, false, empty bytes).
_DEBEZIUM_FALLBACK = {
    "string": "",
    "int8": 0,
    "int16": 0,
    "int32": 0,
    "int64": 0,
    "float32": 0.0,
    "float64": 0.0,
    "boolean": False,
    "bytes": b"",
}


def unknown_fields(connect_schema: Mapping[str, Any], payload: Any, where: str = "") -> list[str]:
    """Payload members the schema does not declare (a JsonConverter never prints those; docs sometimes do)."""
    if connect_schema.get("type") != "struct" or not isinstance(payload, dict):
        return []
    by_name = {f["field"]: f for f in connect_schema["fields"]}
    found = [f"{where}{k}" for k in payload if k not in by_name]
    for k, v in payload.items():
        if k in by_name:
            found += unknown_fields(by_name[k], v, f"{where}{k}.")
    return found


def avro_value(
    connect_schema: Mapping[str, Any],
    payload: Any,
    *,
    absent: Absent = "error",
    unknown: Literal["error", "drop"] = "error",
    where: str = "",
) -> Any:
    """Convert a payload printed by JsonConverter into the value AvroData hands to the Avro writer.

    Null / absent members: the Connect default if the schema has one, else null when optional (the docs
    often leave null members out). A required member that is null or absent is an error, unless
    ``absent="debezium-fallback"``: then it gets what Debezium itself would have put there for a NOT NULL
    column it had no value for (``_DEBEZIUM_FALLBACK``), e.g. the non-key columns of a PostgreSQL
    ``REPLICA IDENTITY DEFAULT`` before image. Members the schema does not declare are an error, or dropped
    with ``unknown="drop"``.
    """
    label = where or "payload"
    if payload is None:
        if connect_schema.get("default") is not None:
            return _default_value(connect_schema, connect_schema["default"])
        if connect_schema.get("optional"):
            return None
        if absent == "debezium-fallback" and connect_schema["type"] in _DEBEZIUM_FALLBACK:
            return _DEBEZIUM_FALLBACK[connect_schema["type"]]
        raise ValueError(f"{label}: null or absent, but the schema says it is required")
    kind = connect_schema["type"]
    if kind == "struct":
        if not isinstance(payload, dict):
            raise TypeError(f"{label}: expected an object for a struct, got {type(payload).__name__}")
        extra = [k for k in payload if k not in {f["field"] for f in connect_schema["fields"]}]
        if extra and unknown == "error":
            raise ValueError(f"{label}: members not in the schema: {extra}")
        return {
            f["field"]: avro_value(
                f, payload.get(f["field"]), absent=absent, unknown=unknown, where=f"{where}{f['field']}."
            )
            for f in connect_schema["fields"]
        }
    if kind == "array":
        if not isinstance(payload, list):
            raise TypeError(f"{label}: expected an array")
        return [
            avro_value(connect_schema["items"], v, absent=absent, unknown=unknown, where=f"{where}[{i}].")
            for i, v in enumerate(payload)
        ]
    if kind == "map":
        if not isinstance(payload, dict):
            raise TypeError(f"{label}: expected an object for a map with string keys")
        return {
            k: avro_value(connect_schema["values"], v, absent=absent, unknown=unknown, where=f"{where}{{{k}}}.")
            for k, v in payload.items()
        }
    if kind in _INTEGER_TYPES:
        low, high = _INTEGER_TYPES[kind]
        if isinstance(payload, bool) or not isinstance(payload, int) or not low <= payload < high:
            raise TypeError(f"{label}: {payload!r} is not an {kind}")
        return payload
    if kind in ("float32", "float64"):
        if isinstance(payload, bool) or not isinstance(payload, int | float):
            raise TypeError(f"{label}: {payload!r} is not a {kind}")
        return float(payload)
    if kind == "boolean":
        if not isinstance(payload, bool):
            raise TypeError(f"{label}: {payload!r} is not a boolean")
        return payload
    if kind == "string":
        if not isinstance(payload, str):
            raise TypeError(f"{label}: {payload!r} is not a string")
        return payload
    if kind == "bytes":  # JsonConverter prints bytes as base64
        if isinstance(payload, bytes):
            return payload
        if not isinstance(payload, str):
            raise TypeError(f"{label}: {payload!r} is not base64 bytes")
        return base64.b64decode(payload, validate=True)
    raise ValueError(f"{label}: unknown Connect type {kind!r}")


# --------------------------------------------------------------------------------------------------------
# Connect schema edits the fixtures need
# --------------------------------------------------------------------------------------------------------

ROW_IMAGES = ("before", "after")


def _fields(struct: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["field"]: f for f in struct["fields"]}


def with_optional_columns(envelope: Mapping[str, Any], required: Sequence[str]) -> dict[str, Any]:
    """A copy of an envelope schema whose row columns are all optional except ``required``.

    For PostgreSQL ``REPLICA IDENTITY DEFAULT`` as the docs print it: the ``before`` image of an update or
    delete carries only the primary key and every other column is null. Avro can carry those nulls only if
    the columns are optional (a table whose non-key columns are nullable). With the docs' own schema (NOT NULL
    columns) Debezium fills them instead; see ``avro_value(absent="debezium-fallback")``.
    """
    out = copy.deepcopy(dict(envelope))
    for slot in ROW_IMAGES:
        for column in _fields(out)[slot]["fields"]:
            if column["field"] not in required:
                column["optional"] = True
    return out


# Debezium 2.x/3.x Connect schema parts (as the connectors print them with schemas.enable=true):
# `source.snapshot` is a string (io.debezium.data.Enum; SnapshotRecord), `source.sequence` an optional string,
# and the envelope has an optional `transaction` block (SchemaFactory: struct "event.block", version 1).
SNAPSHOT_ENUM: dict[str, Any] = {
    "type": "string",
    "optional": True,
    "name": "io.debezium.data.Enum",
    "version": 1,
    "parameters": {"allowed": "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},
    "default": "false",
    "field": "snapshot",
}
SEQUENCE: dict[str, Any] = {"type": "string", "optional": True, "field": "sequence"}
TRANSACTION_BLOCK: dict[str, Any] = {
    "type": "struct",
    "fields": [
        {"type": "string", "optional": False, "field": "id"},
        {"type": "int64", "optional": False, "field": "total_order"},
        {"type": "int64", "optional": False, "field": "data_collection_order"},
    ],
    "optional": True,
    "name": "event.block",
    "version": 1,
    "field": "transaction",
}


def debezium3_layout(envelope: Mapping[str, Any]) -> dict[str, Any]:
    """An envelope schema from the docs, brought to the Debezium 3.x layout that payload-only 3.x output shows.

    Source block: ``version, connector, name, ts_ms, snapshot (Enum string), db, sequence, ts_us, ts_ns``,
    then the connector's own fields in their order. Envelope: ``before, after, source, transaction, op,
    ts_ms, ts_us, ts_ns``. (The order of members in the engine-wasm README output, which is the struct order.)
    """
    out = copy.deepcopy(dict(envelope))
    top = _fields(out)
    source = top["source"]
    src = _fields(source)
    head = [src["version"], src["connector"], src["name"], src["ts_ms"], dict(SNAPSHOT_ENUM), src["db"], SEQUENCE]
    stamps = [{**src[n], "optional": True} for n in ("ts_us", "ts_ns") if n in src]
    moved = {"version", "connector", "name", "ts_ms", "snapshot", "db", "sequence", "ts_us", "ts_ns"}
    source["fields"] = [*head, *stamps, *(f for f in source["fields"] if f["field"] not in moved)]
    order = ["before", "after", "source"]
    out["fields"] = [
        *(top[n] for n in order),
        dict(TRANSACTION_BLOCK),
        *(f for f in out["fields"] if f["field"] not in order and f["field"] != "transaction"),
    ]
    return out


# --------------------------------------------------------------------------------------------------------
# The fixture data sets: inventory.customers from four Debezium sources
# --------------------------------------------------------------------------------------------------------

TOMBSTONE = "TOMBSTONE"  # the audit operation of a Kafka null value


@dataclass(frozen=True)
class FixtureEvent:
    name: str  # fixture file (or "tombstone after <delete>")
    op: str  # Debezium op (r/c/u/d/t) or TOMBSTONE
    key: dict[str, Any] | None  # Avro key value (None: Kafka null key, e.g. truncate)
    value: dict[str, Any] | None  # Avro value (None: tombstone)
    payload: Any  # the Connect payload as loaded (for "no raw value leaks" checks)


@dataclass(frozen=True)
class Dataset:
    name: str
    connector: str  # "mysql" or "postgresql"
    key_connect: dict[str, Any]
    value_connect: dict[str, Any]
    events: tuple[FixtureEvent, ...]
    fixes: dict[str, tuple[str, ...]] = field(default_factory=dict)  # per file, what load_lenient repaired

    @property
    def key_schema(self) -> Any:
        return avro_schema(self.key_connect)

    @property
    def value_schema(self) -> Any:
        return avro_schema(self.value_connect)

    def raw_strings(self) -> set[str]:
        """Every raw row value (and MySQL's source.query) of the data set: none may reach any output."""
        found: set[str] = set()
        for event in self.events:
            payload = event.payload or {}
            for slot in ROW_IMAGES:
                for column in ("first_name", "last_name", "email"):
                    if (payload.get(slot) or {}).get(column):
                        found.add(payload[slot][column])
            if (payload.get("source") or {}).get("query"):
                found.add(payload["source"]["query"])
        return found


def _key_for(payload: Mapping[str, Any]) -> dict[str, Any]:
    """Debezium's key is the row's primary key (`id` for inventory.customers)."""
    image = payload.get("after") or payload.get("before")
    return {"id": image["id"]}


def _dataset(
    name: str,
    connector: str,
    key_file: str,
    schema_file: str,
    event_files: Sequence[str],
    *,
    adapt: Callable[[dict[str, Any]], dict[str, Any]] = lambda s: s,
    absent: Absent = "error",
    unknown: Literal["error", "drop"] = "error",
    tombstone_key_file: str | None = None,
) -> Dataset:
    fixes: dict[str, tuple[str, ...]] = {}

    def load(rel: str) -> ConnectJson:
        record = load_connect_json(FIXTURES / rel)
        fixes[rel] = record.fixes
        return record

    key = load(key_file)
    assert key.schema is not None
    base = load(schema_file)
    assert base.schema is not None, f"{schema_file} has no schema"
    value_connect = adapt(base.schema)
    events: list[FixtureEvent] = []
    for rel in event_files:
        record = load(rel)
        payload = record.payload
        op = payload["op"]
        value = avro_value(value_connect, payload, absent=absent, unknown=unknown)
        events.append(FixtureEvent(rel, op, None if op == "t" else _key_for(payload), value, payload))
        if op == "d":
            # A tombstone (same key, Kafka null value) follows every delete (postgresql.adoc line 1239,
            # tutorial delete page). Only the tutorial prints it; elsewhere it is built from the delete's key.
            tomb_key = events[-1].key
            if tombstone_key_file is not None:
                printed = load(tombstone_key_file)
                assert printed.schema == key.schema, "the tombstone's key schema differs from the key schema"
                tomb_key = avro_value(key.schema, printed.payload)
                assert tomb_key == events[-1].key, "the printed tombstone key differs from the delete's key"
            events.append(FixtureEvent(f"tombstone after {rel}", TOMBSTONE, tomb_key, None, None))
    return Dataset(name, connector, key.schema, value_connect, tuple(events), fixes)


def docs_postgresql(replica_identity: Literal["nullable", "not-null"] = "nullable") -> Dataset:
    """PostgreSQL connector reference (postgresql.adoc): c, u, d (+ tombstone), t; REPLICA IDENTITY DEFAULT.

    The update and delete `before` images hold only `id`. "nullable": the other columns are null, so the
    schema is the create event's with the non-key columns optional. "not-null": the create event's schema as
    printed (NOT NULL columns), filled the way Debezium fills them (empty strings).
    """
    return _dataset(
        f"docs-postgresql-{replica_identity}",
        "postgresql",
        "docs-postgresql/key.json",
        "docs-postgresql/create.value.json",
        [
            "docs-postgresql/create.value.json",
            "docs-postgresql/update.value.json",
            "docs-postgresql/delete.value.json",
            "docs-postgresql/truncate.value.json",
        ],
        adapt=(lambda s: with_optional_columns(s, ["id"])) if replica_identity == "nullable" else (lambda s: s),
        absent="error" if replica_identity == "nullable" else "debezium-fallback",
        # The create example's payload has source.sequence, which its printed schema does not declare.
        unknown="drop",
    )


def docs_mysql() -> Dataset:
    """MySQL connector reference (shared-mariadb-mysql.adoc rendered for MySQL): c, u, d (+ tombstone), t.

    Its key example is for row 1001 while the events are for row 1004: the key schema is taken from the
    example, the key value from each event's row (as Debezium does)."""
    return _dataset(
        "docs-mysql",
        "mysql",
        "docs-mysql/key.json",
        "docs-mysql/create.value.json",
        [
            "docs-mysql/create.value.json",
            "docs-mysql/update.value.json",
            "docs-mysql/delete.value.json",
            "docs-mysql/truncate.value.json",
        ],
    )


def tutorial_mysql() -> Dataset:
    """The Debezium tutorial (MySQL, topic dbserver1.inventory.customers): r, u, d, tombstone, all printed."""
    return _dataset(
        "docs-tutorial-mysql",
        "mysql",
        "docs-tutorial-mysql/01-snapshot-read.key.json",
        "docs-tutorial-mysql/01-snapshot-read.value.json",
        [
            "docs-tutorial-mysql/01-snapshot-read.value.json",
            "docs-tutorial-mysql/02-update.value.json",
            "docs-tutorial-mysql/03-delete.value.json",
        ],
        tombstone_key_file="docs-tutorial-mysql/04-tombstone.key.json",
    )


def engine_wasm_mysql() -> Dataset:
    """Debezium 3.0.1 engine-wasm README output (payload only, schemas off): r and u.

    Schema: the MySQL reference's create event schema (same connector and table), in the 3.x layout the
    payload shows (debezium3_layout: snapshot as an Enum string, sequence, transaction)."""
    return _dataset(
        "engine-wasm-mysql",
        "mysql",
        "docs-mysql/key.json",
        "docs-mysql/create.value.json",
        [
            "debezium-examples/engine-wasm-mysql-snapshot-r-1004.value.json",
            "debezium-examples/engine-wasm-mysql-update-u-1001.value.json",
        ],
        adapt=debezium3_layout,
    )


DATASETS: dict[str, Callable[[], Dataset]] = {
    "docs-postgresql-nullable": docs_postgresql,
    "docs-postgresql-not-null": lambda: docs_postgresql("not-null"),
    "docs-mysql": docs_mysql,
    "docs-tutorial-mysql": tutorial_mysql,
    "engine-wasm-mysql": engine_wasm_mysql,
}

# The policy rules for every inventory.customers table above: all four columns covered, nothing uncovered.
CUSTOMERS_FIELDS: dict[str, dict[str, Any]] = {
    "id": {"transform": "tokenize", "scope": "customer"},
    "first_name": {"transform": "mask", "keep_first": 1},
    "last_name": {"transform": "tokenize", "scope": "name"},
    "email": {"transform": "tokenize", "scope": "email", "normalize": "lower"},
}
