"""``crm-anonymizer policy lint``: check a policy against the schemas it will meet, for CI/CD.

Errors (exit non-zero): a rule that matches no field (a typo, ``Email`` for ``email``: under ``default: keep``
the raw value would go out; the worker refuses to start, with a "did you mean" for near misses), a field the
policy does not cover (it would be dropped: say so explicitly with
``drop``), a transform that does not fit the field's type, a DP rule without bounds or epsilon (refused when
the file is validated), a key reference to a key id that is not configured, a derived output schema that is
not backward compatible with the output subject already registered, a source whose input schema is missing.
Warnings: ``default: keep`` (uncovered fields would pass through unchanged), a missing key schema.

Schemas come from a directory of ``.avsc`` files named by subject (``<topic>-value.avsc``,
``<topic>-key.avsc``, and for the compatibility check ``<output_topic>-value.avsc``) or from a registry.
"""

from __future__ import annotations

import difflib
import json
import re
import secrets
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from streams.avro.compat import backward_problems
from streams.envelope.base import EnvelopePlan
from streams.envelope.metadata import KAFKA_TIMESTAMP
from streams.envelope.registry import compile_source_key, compile_source_value
from streams.errors import PolicyError
from streams.keys import KeyRing
from streams.policy.loader import LoadedPolicy
from streams.policy.model import SourcePolicy

if TYPE_CHECKING:
    from streams.risk.evaluate import Evaluation


class SubjectSchemas(Protocol):
    """Latest schemas by subject: a directory of ``.avsc`` files here, or the registry
    (``streams.kafka.registry.RegistrySchemas``)."""

    def get(self, subject: str) -> Any | None:
        """The (latest) schema registered under ``subject`` as JSON, or None."""


class DirectorySchemas:
    def __init__(self, root: Path) -> None:
        self._files = {p.name.removesuffix(".avsc"): p for p in root.rglob("*.avsc")}

    def get(self, subject: str) -> Any | None:
        path = self._files.get(subject)
        return json.loads(path.read_text()) if path else None


@dataclass(frozen=True, slots=True)
class Finding:
    level: str  # "error" | "warning"
    code: str  # uncovered | policy_schema | incompatible_output | missing_schema | default_keep | missing_key_schema
    source: str
    path: str
    message: str


#: Findings that make the worker refuse to start: it could not publish correctly with them.
BLOCKING_AT_START = frozenset({"policy_schema", "incompatible_output", "unmatched_rule"})


@dataclass(slots=True)
class SourceReport:
    name: str
    topic: str
    output_topic: str
    rows: list[dict[str, str]] = field(default_factory=list)  # field, type, transform, output type


@dataclass(slots=True)
class LintReport:
    policy_id: str
    policy_hash: str
    findings: list[Finding] = field(default_factory=list)
    sources: list[SourceReport] = field(default_factory=list)

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_json(self) -> str:
        return json.dumps(
            {
                "ok": self.ok,
                "policy_id": self.policy_id,
                "policy_hash": self.policy_hash,
                "findings": [asdict(f) for f in self.findings],
                "sources": [asdict(s) for s in self.sources],
            },
            indent=2,
        )


def lint_keyring(key_ids: Iterable[str], encryption_key_id: str | None) -> KeyRing:
    """A keyring with throwaway material under the configured ids: lint checks references, not secrets."""
    ids = list(dict.fromkeys(key_ids))
    keys = {key_id: secrets.token_bytes(64) for key_id in ids}
    defaults = {"encrypt": encryption_key_id} if encryption_key_id in keys else {}
    return KeyRing(keys, ids[0], defaults)


def _lint_source(source: SourcePolicy, schemas: SubjectSchemas, keyring: KeyRing, report: LintReport) -> None:
    def add(level: str, code: str, path: str, message: str) -> None:
        report.findings.append(Finding(level, code, source.name, path, message))

    source_report = SourceReport(source.name, source.topic, source.output_topic)
    report.sources.append(source_report)
    if source.default == "keep":
        add("warning", "default_keep", "", "default: keep passes every uncovered field through unchanged")
    value_schema = schemas.get(f"{source.topic}-value")
    if value_schema is None:
        add("error", "missing_schema", "", f"no input schema for subject {source.topic}-value")
        return
    key_schema = schemas.get(f"{source.topic}-key")
    if key_schema is None:
        add(
            "warning",
            "missing_key_schema",
            "",
            f"no key schema for subject {source.topic}-key (key handling not checked)",
        )
    try:
        compiled = compile_source_value(source, value_schema, keyring)
    except PolicyError as exc:
        add("error", "policy_schema", "", str(exc))
        return
    key_ok = False
    if key_schema is not None:
        try:
            key = compile_source_key(source, key_schema, keyring)
            key_ok = True
            for path, in_type, out_type in key.record.output_types:
                source_report.rows.append(
                    {"field": path, "type": in_type, "transform": dict(key.record.actions)[path], "output": out_type}
                )
        except PolicyError as exc:
            add("error", "policy_schema", "key", str(exc))
    key_paths = [p.removeprefix("key.") for p, _ in key.record.actions] if key_schema is not None and key_ok else []
    for rule, hint in unmatched_rules(source, [p for p, _ in compiled.actions], key_paths):
        add("error", "unmatched_rule", rule, f"rule {rule!r} matches no field of the input schema{hint}")
    types = {path: (in_type, out_type) for path, in_type, out_type in compiled.output_types}
    for path, action in compiled.actions:
        in_type, out_type = types.get(path, ("", "-"))
        source_report.rows.append({"field": path, "type": in_type, "transform": action, "output": out_type})
    for path in compiled.uncovered:
        if source.default == "keep":
            add("warning", "uncovered", path, "not covered by the policy: passed through unchanged (default: keep)")
        else:
            add("error", "uncovered", path, "not covered by the policy: it would be dropped; name it (drop, keep, ...)")
    for level, code, path, message in time_exposure(compiled, date_only_fields(value_schema)):
        add(level, code, path, message)
    registered = schemas.get(f"{source.output_topic}-value")
    if registered is not None:
        for problem in backward_problems(compiled.output_schema, registered):
            add(
                "error",
                "incompatible_output",
                problem.split(":", 1)[0],
                f"derived output schema is not backward compatible with {source.output_topic}-value: {problem}",
            )


_GENERALIZED_SECONDS = {"month": 28 * 86_400, "quarter": 89 * 86_400, "year": 365 * 86_400}
_SHIFT = re.compile(r"date_shift\(max_days=(\d+)")
_GENERALIZE = re.compile(r"generalize\(to=(month|quarter|year)\)")


def date_only_fields(schema: Any) -> frozenset[str]:
    """Paths of fields a Salesforce schema documents as dates without a time (``Data:DateOnly``): stored as
    epoch millis like date-times, but a birth date is not the time of a change."""
    found: set[str] = set()

    def walk(record: Any, prefix: str) -> None:
        for fld in record.get("fields", []) if isinstance(record, dict) else []:
            path = f"{prefix}{fld['name']}"
            if "DateOnly" in str(fld.get("doc", "")):
                found.add(path)
            for branch in fld["type"] if isinstance(fld["type"], list) else [fld["type"]]:
                if isinstance(branch, dict) and branch.get("type") == "record":
                    walk(branch, f"{path}.")

    walk(schema, "")
    return frozenset(found)


def time_exposure(compiled: EnvelopePlan, date_only: frozenset[str] = frozenset()) -> list[tuple[str, str, str, str]]:
    """Row dates whose protection a kept envelope time or the Kafka timestamp undoes.

    A change event's own time is the time of the change it carries: ``updated_at`` on an update, ``created_at``
    on a create. So a date_shift is given away to within the granularity of the finest kept event time (and
    with it every shifted date of the subject: the offset is per subject), and a date generalized to a month is
    still told to the hour when the event time is kept to the hour. (level, code, path, message) each.
    """
    times = [(path, a) for path, a in compiled.metadata if a.kept and a.seconds() < float("inf")]
    times = [(p, a) for p, a in times if any(t in p for t in ("ts_", "Timestamp"))]
    times.append((KAFKA_TIMESTAMP, compiled.kafka_timestamp))
    finest_path, finest = min(times, key=lambda item: item[1].seconds())
    precision = finest.seconds()
    said = "exactly" if precision == 0 else f"to the {finest.granularity}"
    # Only timestamps record the time of a change; a date (a birth date) is not set to the event's time.
    timestamps = {p for p, in_type, _ in compiled.output_types if "imestamp" in in_type and p not in date_only}
    found: list[tuple[str, str, str, str]] = []
    for path, action in compiled.actions:
        if (shift := _SHIFT.match(action)) and precision < 2 * int(shift.group(1)) * 86_400:
            found.append(
                (
                    "error" if path in timestamps else "warning",
                    "time.shift_exposed",
                    path,
                    f"date_shift is undone: {finest_path} keeps the event time {said}, so a shifted date that"
                    " tracks the event (updated_at, LastModifiedDate) gives away the subject's offset, and with it"
                    " every shifted date of the subject; coarsen or drop the envelope times (metadata) or"
                    " generalize/drop this field",
                )
            )
        elif (
            (general := _GENERALIZE.match(action))
            and path in timestamps
            and precision < _GENERALIZED_SECONDS[general.group(1)]
        ):
            found.append(
                (
                    "warning",
                    "time.generalize_exposed",
                    path,
                    f"generalized to {general.group(1)}, but {finest_path} keeps the event time {said}: on the"
                    " change that sets this field (a create, an update) its value is told that precisely",
                )
            )
    return found


def unmatched_rules(source: SourcePolicy, value_paths: list[str], key_paths: list[str]) -> list[tuple[str, str]]:
    """Rules of ``source`` that name no field of the compiled schemas, each with a "did you mean" hint.

    A rule matches when its path is a compiled field path (value or key), or, for Salesforce, the path without
    its ``<Object>.`` prefix, or the record ID rule (``Id``/``<Object>.Id``: it applies to the header's
    ``recordIds`` and the key, not to a body field).
    """
    known = set(value_paths) | set(key_paths)
    bare = {p.split(".", 1)[1] for p in value_paths if "." in p}  # Salesforce: without ChangeEventHeader. etc.
    out: list[tuple[str, str]] = []
    for rule in source.fields:
        if rule in known:
            continue
        if source.envelope == "salesforce":
            stripped = rule.split(".", 1)[1] if "." in rule else rule
            if stripped in known or stripped in bare or stripped == "Id":
                continue
        out.append((rule, _did_you_mean(rule, sorted(known))))
    for rule in source.key:
        if rule not in key_paths:
            out.append((f"key.{rule}", _did_you_mean(rule, key_paths)))
    return out


def _did_you_mean(rule: str, paths: list[str]) -> str:
    same_case = [p for p in paths if p.lower() == rule.lower()]
    close = same_case or difflib.get_close_matches(rule, paths, n=1, cutoff=0.8)
    return f" (did you mean {close[0]!r}?)" if close else ""


def lint_policy(loaded: LoadedPolicy, schemas: SubjectSchemas, keyring: KeyRing) -> LintReport:
    report = LintReport(loaded.policy.id, loaded.content_hash)
    for source in loaded.policy.sources:
        _lint_source(source, schemas, keyring, report)
    return report


def render_text(report: LintReport) -> str:
    lines = [f"policy {report.policy_id} (sha256 {report.policy_hash[:16]})"]
    for source in report.sources:
        lines.append(f"\nsource {source.name}: {source.topic} -> {source.output_topic}")
        if source.rows:
            widths = [
                max(len(h), *(len(r[k]) for r in source.rows))
                for h, k in (("field", "field"), ("type", "type"), ("transform", "transform"), ("output", "output"))
            ]
            header = ("field", "type", "transform", "output type")
            lines.append("  " + "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)))
            for row in source.rows:
                cells = (row["field"], row["type"], row["transform"], row["output"])
                lines.append("  " + "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)))
    if report.findings:
        lines.append("")
    for finding in report.findings:
        where = f"{finding.source}" + (f" {finding.path}" if finding.path else "")
        lines.append(f"{finding.level.upper()}: {where}: {finding.message}")
    lines.append(
        f"\n{'OK' if report.ok else 'FAILED'}: {len(report.errors)} error(s), "
        f"{len(report.findings) - len(report.errors)} warning(s)"
    )
    return "\n".join(lines)


def add_risk_findings(report: LintReport, evaluation: Evaluation) -> None:
    """``policy lint --risk``: each threshold the evaluation's figures exceed is an error (code ``risk``)."""
    for failure in evaluation.failures():
        source, _, message = failure.partition(": ")
        report.findings.append(Finding("error", "risk", source, "", message or failure))
