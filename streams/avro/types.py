"""Small helpers over parsed Avro schemas (plain dicts/lists/strings as in JSON)."""

from __future__ import annotations

from typing import Any

AvroType = Any  # str | list | dict: Avro's own JSON shape

PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})


def split_nullable(avro_type: AvroType) -> tuple[AvroType, bool]:
    """Return (non-null branch, nullable) for ``T`` or ``["null", T]``; other unions are returned whole."""
    if isinstance(avro_type, list):
        branches = [b for b in avro_type if b != "null"]
        nullable = len(branches) != len(avro_type)
        if len(branches) == 1:
            return branches[0], nullable
        return branches, nullable
    return avro_type, False


def make_nullable(avro_type: AvroType, nullable: bool) -> AvroType:
    return ["null", avro_type] if nullable else avro_type


def base_name(avro_type: AvroType) -> str:
    """The primitive or complex type name: 'string', 'long', 'record', 'array', ..."""
    if isinstance(avro_type, dict):
        return str(avro_type["type"]) if not isinstance(avro_type["type"], dict) else base_name(avro_type["type"])
    if isinstance(avro_type, list):
        return "union"
    return str(avro_type)


def logical_name(avro_type: AvroType) -> str | None:
    """Avro logicalType or Kafka Connect semantic name (``connect.name``), whichever is present."""
    if isinstance(avro_type, dict):
        return avro_type.get("logicalType") or avro_type.get("connect.name")
    return None


def type_label(avro_type: AvroType) -> str:
    """Short human label for tables and messages: 'long', 'int/io.debezium.time.Date', 'record Foo'."""
    inner, nullable = split_nullable(avro_type)
    if isinstance(inner, dict) and inner.get("type") in ("record", "enum", "fixed"):
        label = f"{inner['type']} {inner.get('name', '')}".strip()
    else:
        label = base_name(inner)
        logical = logical_name(inner)
        if logical:
            label = f"{label}/{logical}"
    return f"{label}?" if nullable else label


def expand(schema: AvroType) -> AvroType:
    """Schema with every named type inlined under its full name: easy to analyse, not valid to write."""
    from fastavro.schema import expand_schema

    return expand_schema(schema)


def dedupe_named(avro_type: AvroType, emitted: set[str]) -> AvroType:
    """Turn an expanded type back into a writable one: a named type is defined at first use, then referenced.

    ``emitted`` carries the names already defined earlier in the schema being built (in field order).
    """
    if isinstance(avro_type, list):
        return [dedupe_named(b, emitted) for b in avro_type]
    if not isinstance(avro_type, dict):
        return avro_type
    kind = avro_type.get("type")
    if kind in ("record", "error", "enum", "fixed"):
        name = str(avro_type["name"])
        if name in emitted:
            return name
        emitted.add(name)
        if kind in ("record", "error"):
            return {
                **avro_type,
                "fields": [{**f, "type": dedupe_named(f["type"], emitted)} for f in avro_type["fields"]],
            }
        return avro_type
    if kind == "array":
        return {**avro_type, "items": dedupe_named(avro_type["items"], emitted)}
    if kind == "map":
        return {**avro_type, "values": dedupe_named(avro_type["values"], emitted)}
    if isinstance(kind, dict | list):
        return {**avro_type, "type": dedupe_named(kind, emitted)}
    return avro_type
