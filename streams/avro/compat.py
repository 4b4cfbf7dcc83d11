"""Avro backward compatibility: can a reader using the NEW schema read data written with the OLD one?

The Avro specification's schema-resolution rules, applied to expanded schemas. Used by ``policy lint`` and
by the worker at start, so a policy change that would break consumers of an already registered output
subject is caught before anything is published (Apicurio's default compatibility level is NONE, so the
registry alone would accept it).
"""

from __future__ import annotations

from typing import Any

from streams.avro.types import expand

PROMOTIONS = {
    "int": {"int", "long", "float", "double"},
    "long": {"long", "float", "double"},
    "float": {"float", "double"},
    "string": {"string", "bytes"},
    "bytes": {"bytes", "string"},
}


def _kind(schema: Any) -> str:
    if isinstance(schema, list):
        return "union"
    if isinstance(schema, dict):
        kind = schema["type"]
        return _kind(kind) if isinstance(kind, dict | list) else str(kind)
    return str(schema)


def _unwrap(schema: Any) -> Any:
    while isinstance(schema, dict) and isinstance(schema.get("type"), dict | list):
        schema = schema["type"]
    return schema


def _problems(reader: Any, writer: Any, path: str) -> list[str]:
    reader, writer = _unwrap(reader), _unwrap(writer)
    r_kind, w_kind = _kind(reader), _kind(writer)
    where = path or "(root)"
    if w_kind == "union":
        out: list[str] = []
        for branch in writer:
            out += _problems(reader, branch, path)
        return out
    if r_kind == "union":
        for branch in reader:
            if not _problems(branch, writer, path):
                return []
        # Report the details of the branch of the same kind (and name), so nested changes name their field.
        for branch in reader:
            candidate = _unwrap(branch)
            if _kind(candidate) != w_kind:
                continue
            if isinstance(writer, dict) and isinstance(candidate, dict) and candidate.get("name") != writer.get("name"):
                continue
            return _problems(candidate, writer, path)
        return [f"{where}: written type {w_kind} matches no branch of the new union"]
    if w_kind in PROMOTIONS or w_kind in ("null", "boolean", "double"):
        allowed = PROMOTIONS.get(w_kind, {w_kind})
        return [] if r_kind in allowed else [f"{where}: type changed from {w_kind} to {r_kind}"]
    if r_kind != w_kind:
        return [f"{where}: type changed from {w_kind} to {r_kind}"]
    if w_kind == "record":
        out = []
        written = {f["name"]: f for f in writer["fields"]}
        for fld in reader["fields"]:
            child = f"{path}.{fld['name']}" if path else str(fld["name"])
            if fld["name"] in written:
                out += _problems(fld["type"], written[fld["name"]]["type"], child)
            elif "default" not in fld:
                out.append(f"{child}: new field without a default")
        return out
    if w_kind == "enum":
        missing = set(writer["symbols"]) - set(reader["symbols"])
        if missing and "default" not in reader:
            return [f"{where}: enum symbols removed: {sorted(missing)}"]
        return []
    if w_kind == "array":
        return _problems(reader["items"], writer["items"], f"{path}[]")
    if w_kind == "map":
        return _problems(reader["values"], writer["values"], f"{path}{{}}")
    if w_kind == "fixed" and reader.get("size") != writer.get("size"):
        return [f"{where}: fixed size changed"]
    return []


def backward_problems(new_schema: Any, old_schema: Any) -> list[str]:
    """Empty when data written with ``old_schema`` can be read with ``new_schema``."""
    return _problems(expand(new_schema), expand(old_schema), "")
