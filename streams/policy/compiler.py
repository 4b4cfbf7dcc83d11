"""Compile policy rules against one record schema: a field plan plus the derived output record.

Compilation happens once per (source, writer schema); the hot path only runs the resulting plan.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from streams.avro_types import AvroType, make_nullable, split_nullable
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.build import build_transform
from streams.transforms.base import Transform
from streams.transforms.registry import FieldRule

DROP = "drop"


@dataclass(frozen=True, slots=True)
class FieldPlan:
    """One output field: where it comes from and what is done to its non-null values."""

    name: str
    transform: Transform
    nullable: bool


@dataclass(frozen=True, slots=True)
class CompiledRecord:
    plan: tuple[FieldPlan, ...]
    output_schema: dict[str, Any]  # expanded form (named types inline); callers dedupe when writing
    actions: tuple[tuple[str, str], ...]  # (field path, action label), in schema order
    uncovered: tuple[str, ...]  # fields in the schema that no rule named: dropped (fail closed)


def compile_record(
    record: Mapping[str, Any],
    rules: Mapping[str, FieldRule],
    keyring: KeyRing,
    *,
    output_name: str,
    path_prefix: str = "",
    fallback_rules: Mapping[str, FieldRule] | None = None,
) -> CompiledRecord:
    """Match rules to the fields of an (expanded) Avro record schema.

    ``fallback_rules`` are consulted for fields ``rules`` does not name (key fields reuse row rules so that
    the key and the row give the same token for the same identifier).
    """
    if record.get("type") != "record":
        raise PolicyError(f"{path_prefix or 'schema'}: expected an Avro record")
    plan: list[FieldPlan] = []
    fields_out: list[dict[str, Any]] = []
    actions: list[tuple[str, str]] = []
    uncovered: list[str] = []
    for fld in record["fields"]:
        name = str(fld["name"])
        path = f"{path_prefix}{name}"
        rule = rules.get(name) or (fallback_rules or {}).get(name)
        if rule is None:
            uncovered.append(path)
            actions.append((path, DROP))
            continue
        try:
            transform = build_transform(rule, keyring)
        except KeyError as exc:
            raise PolicyError(f"field {path!r}: {exc.args[0]}") from None
        if transform is None:
            actions.append((path, DROP))
            continue
        inner, nullable = split_nullable(fld["type"])
        if isinstance(inner, list):
            raise PolicyError(f"field {path!r}: unions of several non-null types are not supported")
        out_type = transform.output_type(inner, path)
        bound = transform.bind(inner)
        plan.append(FieldPlan(name=name, transform=bound, nullable=nullable))
        out_field: dict[str, Any] = {
            "name": name,
            "type": make_nullable(out_type, nullable),
            "doc": f"crm-anonymizer: {bound.label}",
        }
        if nullable:
            out_field["default"] = None
        fields_out.append(out_field)
        actions.append((path, bound.label))
    output: dict[str, Any] = {
        "type": "record",
        "name": output_name,
        "doc": "Anonymized by crm-anonymizer; each field's doc names its transform.",
        "fields": fields_out,
    }
    return CompiledRecord(tuple(plan), output, tuple(actions), tuple(uncovered))


def anonymized_name(full_name: str) -> str:
    """Output record names live under an ``anon.`` namespace so they never pass for the raw types."""
    return full_name if full_name.startswith("anon.") else f"anon.{full_name}"


def record_of(avro_type: AvroType, what: str) -> dict[str, Any]:
    inner, _ = split_nullable(avro_type)
    if not (isinstance(inner, dict) and inner.get("type") == "record"):
        raise PolicyError(f"{what}: expected a record (or nullable record)")
    return inner
