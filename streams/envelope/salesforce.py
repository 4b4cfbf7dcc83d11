"""Salesforce Change Data Capture envelopes, as the Pub/Sub API delivers them (``envelope: salesforce``).

An event is one Avro record ``com.sforce.eventbus.<Object>ChangeEvent``: field 0 is ``ChangeEventHeader``,
then every field of the object as a nullable union. Updates are sparse: only changed fields carry values,
the rest are null. Gap events (``GAP_*``) carry the header only.

The object fields (one row image, slot ``record``) go through the policy. Rules address them by name or
path relative to the object (``Email``, ``Name.FirstName``, ``MailingAddress.City``); a leading
``<Object>.`` (``Contact.Email``) is accepted and stripped. Null fields stay null: nothing is invented for
fields an update did not touch, and a gap event's body is all null whatever it holds.

Salesforce types dates only in the field doc (``Data:DateOnly``, ``Data:DateTime``, ``Audit:DateTime``); the
values are epoch milliseconds in a plain ``long``. Such fields are compiled as ``timestamp-millis`` so that
date transforms (``generalize to: year``, ``date_shift``) apply; a kept one keeps its millisecond value and
its output schema says ``timestamp-millis``.

The header is handled here, the same way for every policy (each field is listed in the audit actions):

- ``entityName`` and ``changeType`` are kept. ``commitTimestamp`` is coarsened (default: to the hour),
  ``commitNumber`` (commitTimestamp x 10^6 + n: a clock; an int64 that can pass 2^53, never converted through
  a float when kept), ``transactionKey`` and ``sequenceNumber`` are positions, dropped by default: the
  source's ``metadata`` policy decides (``envelope.header.<field>``, ``streams.envelope.metadata``).
- ``recordIds``: each ID goes through the rule the policy gives ``Id`` (else the key's ``recordId`` rule,
  else ``tokenize`` scope ``sfdc-id``), the same transform the Kafka key gets, so the tokens of the header,
  the key and any ``Id`` column join. Two forms pass unchanged because they name no record: a wildcard
  ``001*`` (an object's 3-character key prefix plus ``*``, sent when a field type change touches every
  record of the object) and the overflow placeholder ``000000000000000AAA`` of ``GAP_OVERFLOW`` events.
- ``commitUser`` (a user ID: personal data) is tokenized with scope ``sfdc-user``. Policies that tokenize
  ``OwnerId``/``CreatedById``/``LastModifiedById`` with that scope (and the default key) can join them.
- ``changeOrigin`` is cut to its API family (``com/salesforce/api/soap/61.0;client=SfdcInternalAPI/`` ->
  ``com/salesforce/api/soap``): the ``client=`` part can name an integration or a person's tool. Anything
  not of the form ``com/salesforce/...`` becomes the empty string.
- ``changedFields``, ``nulledFields`` and ``diffFields`` are decoded from their bitmaps into field names
  (``Email``, ``MailingAddress.City``) and only names of fields present in the output are kept, so a
  dropped field does not show up even as a name. The output header types them as arrays of field names.
- ``gap`` (added, boolean): true for ``GAP_*`` events.
- Any other header field is dropped and reported as uncovered.

Bitmaps (Pub/Sub API "Event Deserialization Considerations"): an element ``0x<hex>`` is a number whose bit i
(least significant = 0) marks field i of the *writer* schema's top-level record (0 is the header). An element
``<pos>-0x<hex>`` marks the fields of the compound record (Address, Switchable_PersonName) at top-level
position ``pos``, giving ``Parent.Child`` names. Hex of either case is accepted, the top-level bitmap may be
missing (a ``nulledFields`` that only nulls compound sub-fields), and plain names (the CometD form) pass as
names. Bits that name no field of the schema are ignored.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from streams.avro.types import AvroType, dedupe_named, expand, make_nullable, split_nullable, type_label
from streams.envelope.base import CompiledKey, compile_key, subject_key
from streams.envelope.metadata import (
    KAFKA_TIMESTAMP,
    MetaAction,
    MetaField,
    check_paths,
    kafka_timestamp_action,
    resolve,
)
from streams.envelope.validate import salesforce_origin
from streams.errors import AnonymizationError, PolicyError, ReasonCode
from streams.keys import KeyRing
from streams.policy.build import build_transform
from streams.policy.compiler import CompiledRecord, anonymized_name, compile_record, record_of
from streams.policy.model import SourcePolicy
from streams.transforms.base import BatchContext, Transform
from streams.transforms.plan import Row
from streams.transforms.registry import FieldRule
from streams.transforms.tokenize import TokenizeRule

HEADER = "ChangeEventHeader"
BODY_SLOT = "record"
KEY_FIELD = "recordId"
GAP_FLAG = "gap"
GAP_PREFIX = "GAP_"
ID_SCOPE = "sfdc-id"
USER_SCOPE = "sfdc-user"
OVERFLOW_ID = "000000000000000AAA"
WILDCARD_ID = re.compile(r"[0-9A-Za-z]{3}\*\Z")
BITMAP_FIELDS = ("nulledFields", "diffFields", "changedFields")
DATE_KINDS = frozenset({"DateOnly", "DateTime"})

HeaderKind = Literal["keep", "ids", "user", "origin", "names", "meta"]
HEADER_KINDS: dict[str, HeaderKind] = {
    "entityName": "keep",
    "recordIds": "ids",
    "changeType": "keep",
    "changeOrigin": "origin",
    "transactionKey": "meta",
    "sequenceNumber": "meta",
    "commitTimestamp": "meta",
    "commitNumber": "meta",
    "commitUser": "user",
    "nulledFields": "names",
    "diffFields": "names",
    "changedFields": "names",
}
#: Header metadata under the source's ``metadata`` policy: the commit time is coarsened, the commit number
#: (commitTimestamp x 10^6 + n: a clock), the transaction key and the sequence within it are positions.
HEADER_METADATA: dict[str, MetaField] = {
    "commitTimestamp": MetaField("envelope.header.commitTimestamp", "time", "ms"),
    "commitNumber": MetaField("envelope.header.commitNumber", "position"),
    "transactionKey": MetaField("envelope.header.transactionKey", "position"),
    "sequenceNumber": MetaField("envelope.header.sequenceNumber", "position"),
}
REQUIRED_HEADER = ("entityName", "recordIds", "changeType")
ORIGIN_LABEL = "reduce(api family)"
NAMES_LABEL = "decode(bitmap -> output field names)"

# (field name, names of the fields of its compound record or None), by position in the writer schema.
FieldLayout = tuple[tuple[str, tuple[str, ...] | None], ...]

_TOP_BITMAP = re.compile(r"0[xX]([0-9a-fA-F]+)\Z")
_NESTED_BITMAP = re.compile(r"(\d{1,6})-0[xX]([0-9a-fA-F]+)\Z")


# -- bitmaps --------------------------------------------------------------------------------------------
def bitmap_layout(record: Mapping[str, Any]) -> FieldLayout:
    """The positions bitmaps refer to: each top-level field of an (expanded) event record, with the field
    names of its compound record (the record inside a ``["null", record]`` union) if it is one."""
    layout: list[tuple[str, tuple[str, ...] | None]] = []
    for fld in record["fields"]:
        inner, _ = split_nullable(fld["type"])
        children = None
        if isinstance(inner, dict) and inner.get("type") == "record":
            children = tuple(str(f["name"]) for f in inner["fields"])
        layout.append((str(fld["name"]), children))
    return tuple(layout)


def _set_bits(hex_digits: str, limit: int) -> Iterator[int]:
    value = int(hex_digits, 16)
    return (i for i in range(min(value.bit_length(), limit)) if value >> i & 1)


def decode_field_list(entries: Iterable[str], layout: FieldLayout) -> list[str]:
    """Field names from a ``changedFields``/``nulledFields``/``diffFields`` list, in order, without repeats.

    ``['0x0320']`` -> the fields at positions 5, 8 and 9; ``['4-0x10']`` -> ``<field 4>.<its field 4>``;
    a plain name passes as it is. Positions the layout does not have are ignored.
    """
    names: list[str] = []
    for raw in entries:
        entry = raw.strip()
        if top := _TOP_BITMAP.match(entry):
            names.extend(layout[i][0] for i in _set_bits(top.group(1), len(layout)))
        elif nested := _NESTED_BITMAP.match(entry):
            position = int(nested.group(1))
            if position >= len(layout):
                continue
            parent, children = layout[position]
            if children is None:
                continue
            names.extend(f"{parent}.{children[i]}" for i in _set_bits(nested.group(2), len(children)))
        elif entry and not entry.lower().startswith("0x"):
            names.append(entry)
    return list(dict.fromkeys(names))


def api_family(origin: str) -> str:
    """``com/salesforce/api/soap/61.0;client=SfdcInternalAPI/`` -> ``com/salesforce/api/soap``; anything but a
    known API family -> ``""`` (reported: see ``envelope.validate``)."""
    return salesforce_origin(origin)


def is_passthrough_id(record_id: str) -> bool:
    """Wildcard (``001*``) and overflow IDs name no record: they are not personal data."""
    return record_id == OVERFLOW_ID or WILDCARD_ID.match(record_id) is not None


# -- names and rules ------------------------------------------------------------------------------------
def object_name(event_record_name: str) -> str:
    """``com.sforce.eventbus.ContactChangeEvent`` -> ``Contact``; ``Employee__ChangeEvent`` -> ``Employee__c``."""
    short = event_record_name.rsplit(".", 1)[-1]
    base = short.removesuffix("ChangeEvent")
    return f"{base}c" if base.endswith("__") else base


def normalize_rules(rules: Mapping[str, FieldRule], obj: str, top_level: Iterable[str] = ()) -> dict[str, FieldRule]:
    """Strip a leading ``<obj>.`` from rule paths (unless the object has a field of that very name)."""
    prefix = f"{obj}."
    strip = obj not in set(top_level)
    out: dict[str, FieldRule] = {}
    written: dict[str, str] = {}
    for path, rule in rules.items():
        bare = path.removeprefix(prefix) if strip else path
        if bare in out:
            raise PolicyError(f"rules {written[bare]!r} and {path!r} name the same field {bare!r}")
        out[bare] = rule
        written[bare] = path
    return out


def id_rule(source: SourcePolicy) -> FieldRule:
    """The rule for record IDs (header ``recordIds``, Kafka key ``recordId``): ``Id``, else a single
    ``<Object>.Id``, else the key's ``recordId`` rule, else ``tokenize`` scope ``sfdc-id``."""
    if "Id" in source.fields:
        return source.fields["Id"]
    prefixed = [p for p in source.fields if p.endswith(".Id") and p.count(".") == 1]
    if len(prefixed) > 1:
        raise PolicyError(f"source {source.name!r}: several ID rules ({', '.join(sorted(prefixed))})")
    if prefixed:
        return source.fields[prefixed[0]]
    if KEY_FIELD in source.key:
        return source.key[KEY_FIELD]
    return TokenizeRule(transform="tokenize", scope=ID_SCOPE)


class RecordIdTransform(Transform):
    """Applies the ID rule to record IDs, except wildcard and overflow IDs, which pass unchanged."""

    name = "record_id"
    accepts = frozenset({"string"})

    def __init__(self, inner: Transform) -> None:
        self.inner = inner
        self.epsilon = inner.epsilon
        self.delta = inner.delta

    @property
    def label(self) -> str:
        return self.inner.label

    def output_type(self, input_type: AvroType, path: str) -> AvroType:
        return self.inner.output_type(input_type, path)

    def apply(self, values: Sequence[Any], ctx: BatchContext) -> list[Any]:
        out = list(values)
        positions = [i for i, v in enumerate(values) if not (isinstance(v, str) and is_passthrough_id(v))]
        if positions:
            subjects = tuple(ctx.subject_keys[i] for i in positions) if ctx.subject_keys else ()
            results = self.inner.apply([values[i] for i in positions], BatchContext(subjects))
            for i, result in zip(positions, results, strict=True):
                out[i] = result
        return out


def _string_transform(rule: FieldRule, keyring: KeyRing, path: str) -> Transform:
    """A transform that turns one string into one string (record IDs, user IDs)."""
    try:
        transform = build_transform(rule, keyring)
    except KeyError as exc:
        raise PolicyError(f"field {path!r}: {exc.args[0]}") from None
    if transform is None:
        raise PolicyError(f"field {path!r}: record IDs cannot be dropped; tokenize (or keep) them")
    if transform.output_type("string", path) != "string":
        raise PolicyError(f"field {path!r}: the rule must turn an ID string into a string")
    return transform.bind("string")


# -- schema helpers ---------------------------------------------------------------------------------------
def _date_kind(fld: Mapping[str, Any]) -> bool:
    parts = str(fld.get("doc") or "").split(":")
    return len(parts) >= 2 and parts[1] in DATE_KINDS


def _annotate_dates(fields: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Give Salesforce date/datetime fields (plain long, typed in the doc) the ``timestamp-millis`` type."""
    out: list[dict[str, Any]] = []
    for fld in fields:
        inner, nullable = split_nullable(fld["type"])
        if inner == "long" and _date_kind(fld):
            out.append({**fld, "type": make_nullable({"type": "long", "logicalType": "timestamp-millis"}, nullable)})
        elif isinstance(inner, dict) and inner.get("type") == "record":
            out.append({**fld, "type": make_nullable({**inner, "fields": _annotate_dates(inner["fields"])}, nullable)})
        else:
            out.append(dict(fld))
    return out


def _output_paths(fields: Iterable[Mapping[str, Any]]) -> frozenset[str]:
    """Names a decoded field list may keep: output fields and the fields of output compound records."""
    paths: set[str] = set()
    for fld in fields:
        name = str(fld["name"])
        paths.add(name)
        inner, _ = split_nullable(fld["type"])
        if isinstance(inner, dict) and inner.get("type") == "record":
            paths.update(f"{name}.{sub['name']}" for sub in inner["fields"])
    return frozenset(paths)


def _unique_names(avro_type: AvroType, seen: dict[str, str], path: str) -> AvroType:
    """Rename named types that share a name but not a definition (MailingAddress and OtherAddress are both
    ``Address``; different rules give them different output records), so that deduplication stays correct."""
    if isinstance(avro_type, list):
        return [_unique_names(b, seen, path) for b in avro_type]
    if not isinstance(avro_type, dict):
        return avro_type
    kind = avro_type.get("type")
    if kind == "array":
        return {**avro_type, "items": _unique_names(avro_type["items"], seen, path)}
    if kind == "map":
        return {**avro_type, "values": _unique_names(avro_type["values"], seen, path)}
    if kind in ("record", "error"):
        out: dict[str, Any] = {
            **avro_type,
            "fields": [
                {**f, "type": _unique_names(f["type"], seen, f"{path}_{f['name']}" if path else str(f["name"]))}
                for f in avro_type["fields"]
            ],
        }
    elif kind in ("enum", "fixed"):
        out = dict(avro_type)
    else:
        return avro_type
    name = str(out["name"])
    definition = json.dumps({k: v for k, v in out.items() if k != "name"}, sort_keys=True)
    candidate, n = name, 1
    while candidate in seen and seen[candidate] != definition:
        candidate = f"{name}_{path}" if n == 1 else f"{name}_{path}_{n}"
        n += 1
    seen[candidate] = definition
    out["name"] = candidate
    return out


# -- the compiled envelope --------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class CompiledSalesforceEnvelope:
    row: CompiledRecord
    output_schema: dict[str, Any]  # writable Avro schema of the output value
    actions: tuple[tuple[str, str], ...]
    uncovered: tuple[str, ...]
    object_name: str
    header_fields: tuple[tuple[str, HeaderKind], ...]  # output header fields (besides ``gap``), in order
    header_meta: Mapping[str, MetaAction]  # header metadata field name -> its action
    kafka_timestamp: MetaAction
    body_fields: tuple[str, ...]  # output object fields, in order
    layout: FieldLayout  # writer schema positions, for the bitmaps
    output_paths: frozenset[str]  # field names the decoded bitmaps may keep
    id_transform: Transform
    user_transform: Transform
    header_types: tuple[tuple[str, str, str], ...] = ()

    @property
    def output_types(self) -> tuple[tuple[str, str, str], ...]:
        return self.header_types + self.row.output_types

    @property
    def epsilon(self) -> tuple[tuple[str, float], ...]:
        return self.row.epsilon

    @property
    def metadata(self) -> tuple[tuple[str, MetaAction], ...]:
        """Every metadata field of the schema (policy path, action)."""
        return tuple((HEADER_METADATA[name].path, action) for name, action in self.header_meta.items())

    @staticmethod
    def _header(value: Mapping[str, Any]) -> Mapping[str, Any]:
        header = value.get(HEADER)
        if not isinstance(header, Mapping):
            raise AnonymizationError(ReasonCode.UNSUPPORTED_ENVELOPE, "event has no ChangeEventHeader", field=HEADER)
        return header

    def is_gap(self, value: Mapping[str, Any]) -> bool:
        return str(self._header(value).get("changeType")).startswith(GAP_PREFIX)

    def images(self, value: Mapping[str, Any]) -> list[tuple[str, Row]]:
        return [] if self.is_gap(value) else [(BODY_SLOT, value)]

    def subject(self, key: Mapping[str, Any] | None, value: Mapping[str, Any]) -> bytes:
        if key is not None:
            return subject_key(key)
        ids = self._header(value).get("recordIds") or []
        return subject_key({KEY_FIELD: ids[0]}) if ids else b""

    def operation(self, value: Mapping[str, Any]) -> str:
        return str(self._header(value).get("changeType"))

    def decode_names(self, entries: Iterable[str]) -> list[str]:
        return [n for n in decode_field_list(entries, self.layout) if n in self.output_paths]

    def _apply(self, transform: Transform, values: list[Any], subject: bytes, name: str) -> list[Any]:
        path = f"{HEADER}.{name}"
        try:
            return transform.apply(values, BatchContext(tuple(subject for _ in values)))
        except AnonymizationError as exc:
            exc.field = path
            raise
        except Exception as exc:  # never let a value through an exception message
            raise AnonymizationError(
                ReasonCode.TRANSFORM_FAILED, f"{transform.name} raised {type(exc).__name__}", field=path
            ) from None

    def anonymize_header(self, header: Mapping[str, Any], subject: bytes) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name, kind in self.header_fields:
            value = header.get(name)
            if value is None:
                out[name] = None
            elif kind == "keep":
                out[name] = value
            elif kind == "ids":
                out[name] = self._apply(self.id_transform, list(value), subject, name)
            elif kind == "user":
                out[name] = self._apply(self.user_transform, [value], subject, name)[0]
            elif kind == "origin":
                out[name] = api_family(str(value))
            elif kind == "meta":
                out[name] = self.header_meta[name].apply(value)
            else:
                out[name] = self.decode_names(value)
        out[GAP_FLAG] = str(header.get("changeType")).startswith(GAP_PREFIX)
        return out

    def assemble(self, value: Mapping[str, Any], images: Mapping[str, dict[str, Any]]) -> dict[str, Any]:
        header = self._header(value)
        out: dict[str, Any] = {HEADER: self.anonymize_header(header, self.subject(None, value))}
        row = {} if out[HEADER][GAP_FLAG] else images.get(BODY_SLOT) or {}
        for name in self.body_fields:
            out[name] = row.get(name)
        return out


def _compile_header(
    header: Mapping[str, Any], ids_label: str, user_label: str, metadata: Mapping[str, MetaAction]
) -> tuple[dict[str, Any], list[tuple[str, HeaderKind]], list[tuple[str, str]], list[str], list[tuple[str, str, str]]]:
    fields_out: list[dict[str, Any]] = []
    kinds: list[tuple[str, HeaderKind]] = []
    actions: list[tuple[str, str]] = []
    uncovered: list[str] = []
    types: list[tuple[str, str, str]] = []
    for fld in header["fields"]:
        name = str(fld["name"])
        path = f"{HEADER}.{name}"
        kind = HEADER_KINDS.get(name)
        if kind is None:
            uncovered.append(path)
            actions.append((path, "drop"))
            types.append((path, type_label(fld["type"]), "-"))
            continue
        meta = metadata.get(name) if kind == "meta" else None
        if meta is not None and not meta.kept:
            actions.append((path, "drop"))
            types.append((path, type_label(fld["type"]), "-"))
            continue
        inner, nullable = split_nullable(fld["type"])
        if kind in ("ids", "names"):
            if not (isinstance(inner, dict) and inner.get("type") == "array" and inner.get("items") == "string"):
                raise PolicyError(f"{path}: expected an array of strings, got {type_label(fld['type'])}")
            out_type: AvroType = {"type": "array", "items": "string"}
        elif kind in ("user", "origin"):
            if inner != "string":
                raise PolicyError(f"{path}: expected a string, got {type_label(fld['type'])}")
            out_type = "string"
        elif isinstance(inner, dict) and inner.get("type") in ("enum", "fixed", "record"):
            out_type = {**inner, "name": anonymized_name(str(inner["name"]))}
        else:
            out_type = inner
        label = (
            meta.label
            if meta is not None
            else {
                "keep": "keep",
                "ids": f"{ids_label} (wildcard and overflow IDs kept)",
                "user": user_label,
                "origin": ORIGIN_LABEL,
                "names": NAMES_LABEL,
            }[kind]
        )
        out_field: dict[str, Any] = {
            "name": name,
            "type": make_nullable(out_type, nullable),
            "doc": f"crm-anonymizer: {label}"
            + (": the names of the output fields it lists" if kind == "names" else ""),
        }
        if nullable:
            out_field["default"] = None
        fields_out.append(out_field)
        kinds.append((name, kind))
        actions.append((path, label))
        types.append((path, type_label(fld["type"]), type_label(out_field["type"])))
    fields_out.append(
        {
            "name": GAP_FLAG,
            "type": "boolean",
            "default": False,
            "doc": "crm-anonymizer: true for GAP_* events (header only: every object field is null)",
        }
    )
    actions.append((f"{HEADER}.{GAP_FLAG}", "added(gap flag)"))
    out_header = {
        "type": "record",
        "name": anonymized_name(str(header["name"])),
        "doc": "Anonymized change event header; each field's doc says how it was handled.",
        "fields": fields_out,
    }
    return out_header, kinds, actions, uncovered, types


def compile_salesforce(source: SourcePolicy, value_schema: AvroType, keyring: KeyRing) -> CompiledSalesforceEnvelope:
    what = f"source {source.name!r} value schema"
    event = record_of(expand(value_schema), what)
    fields = list(event["fields"])
    if not fields or fields[0]["name"] != HEADER:
        raise PolicyError(f"{what} is not a Salesforce change event (first field must be {HEADER})")
    header = record_of(fields[0]["type"], f"{what} {HEADER}")
    if split_nullable(fields[0]["type"])[1]:
        raise PolicyError(f"{what}: {HEADER} must not be nullable")
    header_names = {str(f["name"]) for f in header["fields"]}
    missing = [n for n in REQUIRED_HEADER if n not in header_names]
    if missing:
        raise PolicyError(f"{what} is not a Salesforce change event ({HEADER} lacks {', '.join(missing)})")

    event_name = str(event["name"])
    obj = object_name(event_name)
    body = fields[1:]
    rules = normalize_rules(source.fields, obj, (str(f["name"]) for f in body))
    row = compile_record(
        {"type": "record", "name": event_name, "fields": _annotate_dates(body)},
        rules,
        keyring,
        output_name=anonymized_name(event_name),
        default=source.default,
    )
    id_transform = RecordIdTransform(_string_transform(id_rule(source), keyring, f"{HEADER}.recordIds"))
    user_transform = _string_transform(
        TokenizeRule(transform="tokenize", scope=USER_SCOPE), keyring, f"{HEADER}.commitUser"
    )
    check_paths(source, HEADER_METADATA.values())
    header_meta = {
        name: resolve(source.metadata, meta) for name, meta in HEADER_METADATA.items() if name in header_names
    }
    out_header, kinds, header_actions, header_uncovered, header_types = _compile_header(
        header, id_transform.label, user_transform.label, header_meta
    )
    kafka_action = kafka_timestamp_action(source)
    out_event: dict[str, Any] = {
        **row.output_schema,
        "doc": f"Anonymized {obj} change event (crm-anonymizer); each field's doc names its transform.",
        "fields": [{"name": HEADER, "type": out_header}, *row.output_schema["fields"]],
    }
    return CompiledSalesforceEnvelope(
        row=row,
        output_schema=dedupe_named(_unique_names(out_event, {}, ""), set()),
        actions=(*header_actions, *row.actions, (KAFKA_TIMESTAMP, kafka_action.label)),
        uncovered=tuple(header_uncovered) + row.uncovered,
        object_name=obj,
        header_fields=tuple(kinds),
        body_fields=tuple(p.name for p in row.plan),
        layout=bitmap_layout(event),
        output_paths=_output_paths(row.output_schema["fields"]),
        id_transform=id_transform,
        user_transform=user_transform,
        header_types=tuple(header_types),
        header_meta=header_meta,
        kafka_timestamp=kafka_action,
    )


def compile_salesforce_key(source: SourcePolicy, key_schema: AvroType, keyring: KeyRing) -> CompiledKey:
    """The Kafka key ``{recordId}``: by default the same rule as the header's ``recordIds`` (see ``id_rule``)."""
    key_rules: dict[str, FieldRule] = {KEY_FIELD: id_rule(source), **source.key}
    compiled = compile_key(source.model_copy(update={"key": key_rules}), key_schema, keyring)
    plan = tuple(
        replace(p, transform=RecordIdTransform(p.transform)) if p.name == KEY_FIELD else p for p in compiled.record.plan
    )
    return replace(compiled, record=replace(compiled.record, plan=plan))


class SalesforceEnvelope:
    """``envelope: salesforce``: Salesforce change events (ChangeEventHeader + sparse fields)."""

    kind = "salesforce"

    def compile_key(self, source: SourcePolicy, key_schema: AvroType, keyring: KeyRing) -> CompiledKey:
        return compile_salesforce_key(source, key_schema, keyring)

    def compile_value(
        self, source: SourcePolicy, value_schema: AvroType, keyring: KeyRing
    ) -> CompiledSalesforceEnvelope:
        return compile_salesforce(source, value_schema, keyring)


ENVELOPE = SalesforceEnvelope()
