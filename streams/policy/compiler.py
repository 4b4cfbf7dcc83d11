"""Compile policy rules against one record schema: a field plan plus the derived output record.

Compilation happens once per (source, writer schema); the hot path only runs the resulting plan. Rules are
addressed by path relative to the row: ``email``, ``address.city`` (nested record), ``phones[]`` (each array
element), ``attributes{}`` (each map value), ``contacts[].email``. A field with no rule of its own but rules
below it is descended into; a field with neither is *uncovered*: dropped (or kept, with ``default: keep``)
and reported.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from streams.avro.types import AvroType, make_nullable, split_nullable
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.build import build_transform
from streams.transforms.base import Transform
from streams.transforms.keep import Keep
from streams.transforms.nested import ArrayTransform, MapTransform, RecordTransform
from streams.transforms.plan import FieldPlan
from streams.transforms.registry import FieldRule

DROP = "drop"
DEFAULT_KEEP = "keep (default)"

__all__ = ["DROP", "CompiledRecord", "FieldPlan", "anonymized_name", "compile_record", "record_of"]


@dataclass(frozen=True, slots=True)
class CompiledRecord:
    plan: tuple[FieldPlan, ...]
    output_schema: dict[str, Any]  # expanded form (named types inline); callers dedupe when writing
    actions: tuple[tuple[str, str], ...]  # (field path, action label), in schema order
    uncovered: tuple[str, ...]  # fields in the schema that no rule named
    epsilon: tuple[tuple[str, float], ...] = ()  # DP fields: epsilon per released value
    output_types: tuple[tuple[str, str, str], ...] = ()  # (path, input type label, output type label)


@dataclass(slots=True)
class _Acc:
    actions: list[tuple[str, str]]
    uncovered: list[str]
    epsilon: list[tuple[str, float]]
    types: list[tuple[str, str, str]]
    nullable: frozenset[str] = frozenset()  # paths whose output is nullable whatever the input says


def _rules_below(rules: Mapping[str, FieldRule], path: str) -> list[str]:
    return sorted(p for p in rules if p.startswith((f"{path}.", f"{path}[]", f"{path}{{}}", f"{path}{KEYS}")))


KEYS = "{keys}"  # ``attributes{keys}``: the rule for a map's keys (default: the ``attributes{}`` rule)


def _map_keys(path: str, shown: str, rules: Mapping[str, FieldRule], keyring: KeyRing, acc: _Acc) -> Transform | None:
    """The transform for a map's keys: its ``{keys}`` rule, else the map values' own rule (keys are data
    too), else refused. ``keep`` keeps them (None)."""
    rule = rules.get(f"{path}{KEYS}")
    where = f"{shown}{KEYS}"
    if rule is None:
        rule = rules.get(f"{path}{{}}")
        if rule is None:
            raise PolicyError(
                f"field {shown!r}: its map keys need a rule ({where}: keep, or a string transform), since the "
                "values have rules below them"
            )
    try:
        transform = build_transform(rule, keyring)
    except KeyError as exc:
        raise PolicyError(f"field {where!r}: {exc.args[0]}") from None
    if transform is None:
        raise PolicyError(f"field {where!r}: map keys cannot be dropped; keep them or transform them")
    if isinstance(transform, Keep):
        acc.actions.append((where, "keep"))
        return None
    try:
        out_type = transform.output_type("string", where)
    except PolicyError as exc:
        raise PolicyError(f"{exc} (map keys are strings: give {where} its own rule, or keep)") from None
    if out_type != "string":
        raise PolicyError(f"field {where!r}: the keys' transform must give strings, it gives {_label(out_type)}")
    bound = transform.bind("string")
    acc.actions.append((where, bound.label))
    return bound


def _label(avro_type: AvroType) -> str:
    from streams.avro.types import type_label

    return type_label(avro_type)


def _compile_type(
    avro_type: AvroType,
    path: str,
    report: str,
    rules: Mapping[str, FieldRule],
    keyring: KeyRing,
    default: str,
    acc: _Acc,
) -> tuple[Transform, AvroType] | None:
    """Transform and output type for a value at ``path`` (None: dropped). ``report`` prefixes audit paths."""
    inner, nullable = split_nullable(avro_type)
    rule = rules.get(path)
    shown = f"{report}{path}"
    if rule is not None:
        below = _rules_below(rules, path)
        if below:
            # A rule on the parent would silently win over the rules below it (a child `drop` would leak).
            raise PolicyError(
                f"field {shown!r} has its own rule and rules below it ({', '.join(below)}); keep only one of them"
            )
        try:
            transform = build_transform(rule, keyring)
        except KeyError as exc:
            raise PolicyError(f"field {shown!r}: {exc.args[0]}") from None
        if transform is None:
            acc.actions.append((shown, DROP))
            acc.types.append((shown, _label(avro_type), "-"))
            return None
        if isinstance(inner, list):
            raise PolicyError(f"field {shown!r}: unions of several non-null types are not supported")
        out_type = transform.output_type(inner, shown)
        bound = transform.bind(inner)
        acc.actions.append((shown, bound.label))
        acc.types.append((shown, _label(avro_type), _label(make_nullable(out_type, nullable))))
        if bound.epsilon is not None:
            acc.epsilon.append((shown, bound.epsilon))
        return bound, out_type
    if isinstance(inner, list) and _rules_below(rules, path):
        # Child rules under a union of several types (say [null, record, string]) used to be ignored silently.
        raise PolicyError(
            f"field {shown!r} is a union of several types; rules below it ({', '.join(_rules_below(rules, path))}) "
            "are not supported: give the field one rule (drop, redact, ...)"
        )
    kind = inner.get("type") if isinstance(inner, dict) else None
    if kind in ("record", "array", "map") and _rules_below(rules, path):
        if kind == "record":
            sub = _compile_fields(inner, rules, keyring, default, acc, prefix=f"{path}.", report=report)
            # Named by path: one input type used in two places under different rules gives two output types.
            suffix = path.replace("[]", "_items").replace("{}", "_values").replace(".", "_")
            out_record = {
                **{k: v for k, v in inner.items() if not k.startswith("connect.")},
                "name": f"{anonymized_name(str(inner['name']))}_{suffix}",
                "fields": sub[1],
            }
            return RecordTransform(sub[0], out_record), out_record
        marker, items_key, cls = ("[]", "items", ArrayTransform) if kind == "array" else ("{}", "values", MapTransform)
        element = _compile_type(inner[items_key], f"{path}{marker}", report, rules, keyring, default, acc)
        if element is None:
            acc.actions.append((shown, DROP))
            return None
        element_transform, element_out = element
        _, element_nullable = split_nullable(inner[items_key])
        element_nullable = element_nullable or element_transform.forces_nullable
        out_container = {**inner, items_key: make_nullable(element_out, element_nullable)}
        if kind == "map":
            keys = _map_keys(path, shown, rules, keyring, acc)
            return MapTransform(element_transform, element_nullable, out_container, keys), out_container
        return cls(element_transform, element_nullable, out_container), out_container
    acc.uncovered.append(shown)
    if default == "keep":
        acc.actions.append((shown, DEFAULT_KEEP))
        acc.types.append((shown, _label(avro_type), _label(avro_type)))
        return Keep(), inner
    acc.actions.append((shown, DROP))
    acc.types.append((shown, _label(avro_type), "-"))
    return None


def _compile_fields(
    record: Mapping[str, Any],
    rules: Mapping[str, FieldRule],
    keyring: KeyRing,
    default: str,
    acc: _Acc,
    *,
    prefix: str = "",
    report: str = "",
) -> tuple[tuple[FieldPlan, ...], list[dict[str, Any]]]:
    plan: list[FieldPlan] = []
    fields_out: list[dict[str, Any]] = []
    for fld in record["fields"]:
        name = str(fld["name"])
        compiled = _compile_type(fld["type"], f"{prefix}{name}", report, rules, keyring, default, acc)
        if compiled is None:
            continue
        transform, out_type = compiled
        _, nullable = split_nullable(fld["type"])
        nullable = nullable or transform.forces_nullable or f"{prefix}{name}" in acc.nullable
        plan.append(FieldPlan(name=name, transform=transform, nullable=nullable))
        out_field: dict[str, Any] = {
            "name": name,
            "type": make_nullable(out_type, nullable),
            "doc": f"crm-anonymizer: {transform.label}",
        }
        if nullable:
            out_field["default"] = None
        fields_out.append(out_field)
    return tuple(plan), fields_out


def compile_record(
    record: Mapping[str, Any],
    rules: Mapping[str, FieldRule],
    keyring: KeyRing,
    *,
    output_name: str,
    path_prefix: str = "",
    fallback_rules: Mapping[str, FieldRule] | None = None,
    default: Literal["drop", "keep"] = "drop",
    nullable: frozenset[str] = frozenset(),
) -> CompiledRecord:
    """Match rules to the fields of an (expanded) Avro record schema.

    ``fallback_rules`` are consulted for paths ``rules`` does not name (key fields reuse row rules so that
    the key and the row give the same token for the same identifier). ``path_prefix`` only prefixes the
    paths reported in actions (``key.id``); rule lookups use paths relative to the record. ``nullable``: paths
    whose output must take null even if the input cannot (k-anonymity suppresses quasi-identifiers).
    """
    if record.get("type") != "record":
        raise PolicyError(f"{path_prefix or 'schema'}: expected an Avro record")
    merged: dict[str, FieldRule] = {**(fallback_rules or {}), **rules}
    acc = _Acc([], [], [], [], nullable)
    plan, fields_out = _compile_fields(record, merged, keyring, default, acc, report=path_prefix)
    output: dict[str, Any] = {
        "type": "record",
        "name": output_name,
        "doc": "Anonymized by crm-anonymizer; each field's doc names its transform.",
        "fields": fields_out,
    }
    return CompiledRecord(plan, output, tuple(acc.actions), tuple(acc.uncovered), tuple(acc.epsilon), tuple(acc.types))


def anonymized_name(full_name: str) -> str:
    """Output record names live under an ``anon.`` namespace so they never pass for the raw types."""
    return full_name if full_name.startswith("anon.") else f"anon.{full_name}"


def record_of(avro_type: AvroType, what: str) -> dict[str, Any]:
    inner, _ = split_nullable(avro_type)
    if not (isinstance(inner, dict) and inner.get("type") == "record"):
        raise PolicyError(f"{what}: expected a record (or nullable record)")
    return inner
