"""``policy lint``: findings against a directory of schemas, the text/JSON reports, and the CLI command."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from streams.cli import main
from streams.envelope.registry import compile_source_value
from streams.keys import KeyRing
from streams.policy.lint import DirectorySchemas, LintReport, lint_policy, render_text
from streams.policy.loader import load_policy
from streams.policy.model import SourcePolicy

from ..support import CONTACTS_TOPIC, REPO_ROOT, load_avsc

CRM_POLICY = REPO_ROOT / "tests" / "policies" / "crm-v2-month-times.yaml"  # v2: many transforms (v3 drops most)
SCHEMAS = REPO_ROOT / "schemas"
OUTPUT_SUBJECT_FILE = "anon.crm.public.contacts-value.avsc"


@pytest.fixture(scope="module")
def crm_data() -> dict[str, Any]:
    data = yaml.safe_load(CRM_POLICY.read_text())
    assert isinstance(data, dict)
    return data


def variant(crm_data: dict[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(crm_data)


def contacts_fields(data: dict[str, Any]) -> dict[str, Any]:
    source = next(s for s in data["sources"] if s["name"] == "contacts")
    fields = source["fields"]
    assert isinstance(fields, dict)
    return fields


def write_policy(tmp_path: Path, data: dict[str, Any], name: str = "policy.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def lint(path: Path, keyring: KeyRing, schema_dir: Path = SCHEMAS) -> LintReport:
    return lint_policy(load_policy(path), DirectorySchemas(schema_dir), keyring)


def codes(report: LintReport, level: str | None = None) -> set[str]:
    return {f.code for f in report.findings if level is None or f.level == level}


@pytest.fixture
def schema_dir_with_output(tmp_path: Path, keyring: KeyRing) -> Path:
    """The Debezium input schemas plus the output subject derived from the clean policy, as if registered."""
    root = tmp_path / "schemas"
    root.mkdir()
    for avsc in SCHEMAS.rglob("*.avsc"):
        shutil.copy(avsc, root / avsc.name)
    contacts = load_policy(CRM_POLICY).policy.source_for_topic(CONTACTS_TOPIC)
    assert contacts is not None
    compiled = compile_source_value(contacts, load_avsc(CONTACTS_TOPIC, "value"), keyring)
    (root / OUTPUT_SUBJECT_FILE).write_text(json.dumps(compiled.output_schema))
    return root


# --- lint_policy -------------------------------------------------------------------------------------------


def test_crm_policy_lints_clean(keyring: KeyRing) -> None:
    report = lint(CRM_POLICY, keyring)
    assert report.ok
    assert report.errors == []
    assert report.findings == []
    assert report.policy_id == "crm-default"
    assert [s.name for s in report.sources] == ["contacts", "accounts", "sfdc-contacts", "sfdc-accounts"]
    rows = {r["field"]: r for r in report.sources[0].rows}
    assert rows["email"]["transform"].startswith("tokenize(")
    assert rows["email"]["output"] == "string"
    assert rows["street"]["transform"] == "drop"
    assert rows["street"]["output"] == "-"
    assert rows["birth_date"]["output"] == "int?"
    assert "key.id" in rows


def test_removed_field_is_an_uncovered_error(tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing) -> None:
    data = variant(crm_data)
    del contacts_fields(data)["notes"]
    report = lint(write_policy(tmp_path, data), keyring)
    assert not report.ok
    uncovered = [f for f in report.findings if f.code == "uncovered"]
    assert [(f.level, f.source, f.path) for f in uncovered] == [("error", "contacts", "notes")]
    assert "drop" in uncovered[0].message


def test_default_keep_with_removed_field_gives_warnings_only(
    tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing
) -> None:
    data = variant(crm_data)
    contacts = next(s for s in data["sources"] if s["name"] == "contacts")
    contacts["default"] = "keep"
    del contacts["fields"]["notes"]
    report = lint(write_policy(tmp_path, data), keyring)
    assert report.ok
    assert report.errors == []
    assert codes(report, "warning") == {"default_keep", "uncovered"}
    assert [f.path for f in report.findings if f.code == "uncovered"] == ["notes"]


def test_default_keep_table_shows_the_uncovered_field_passed_through(
    tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing
) -> None:
    """The warning says ``notes`` is "passed through unchanged (default: keep)": the table and the derived
    output schema must agree. Currently compile_envelope (streams/envelope/debezium.py) never passes
    ``source.default`` to compile_record, so the field is dropped and the row reads ``drop`` / ``-``."""
    data = variant(crm_data)
    contacts = next(s for s in data["sources"] if s["name"] == "contacts")
    contacts["default"] = "keep"
    del contacts["fields"]["notes"]
    report = lint(write_policy(tmp_path, data), keyring)
    rows = {r["field"]: r for r in report.sources[0].rows}
    assert rows["notes"]["transform"] == "keep (default)"
    assert rows["notes"]["output"] == "string?"


def test_transform_that_does_not_fit_the_type_is_a_policy_schema_error(
    tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing
) -> None:
    data = variant(crm_data)
    contacts_fields(data)["lifetime_value"] = {"transform": "mask"}
    report = lint(write_policy(tmp_path, data), keyring)
    assert not report.ok
    errors = [f for f in report.errors if f.code == "policy_schema"]
    assert len(errors) == 1
    assert errors[0].source == "contacts"
    assert "lifetime_value" in errors[0].message
    assert "double" in errors[0].message


def test_unknown_key_id_is_an_error_naming_the_key(tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing) -> None:
    data = variant(crm_data)
    contacts_fields(data)["email"] = {"transform": "tokenize", "scope": "email", "key": "nope"}
    report = lint(write_policy(tmp_path, data), keyring)
    assert not report.ok
    assert len(report.errors) == 1
    assert "nope" in report.errors[0].message
    assert "email" in report.errors[0].message


def test_configured_other_key_id_is_accepted(tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing) -> None:
    data = variant(crm_data)
    contacts_fields(data)["email"] = {"transform": "tokenize", "scope": "email", "key": "other"}
    assert lint(write_policy(tmp_path, data), keyring).ok


def test_missing_input_schema_is_an_error(tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing) -> None:
    data = variant(crm_data)
    contacts = next(s for s in data["sources"] if s["name"] == "contacts")
    contacts["topic"] = "crm.public.nobody"
    report = lint(write_policy(tmp_path, data), keyring)
    assert not report.ok
    missing = [f for f in report.errors if f.code == "missing_schema"]
    assert len(missing) == 1
    assert missing[0].source == "contacts"
    assert "crm.public.nobody-value" in missing[0].message
    assert {f.source for f in report.errors} == {"contacts"}  # accounts still lints clean


def test_missing_key_schema_is_only_a_warning(tmp_path: Path, keyring: KeyRing) -> None:
    values_only = tmp_path / "schemas"
    values_only.mkdir()
    for avsc in SCHEMAS.rglob("*-value.avsc"):
        shutil.copy(avsc, values_only / avsc.name)
    report = lint(CRM_POLICY, keyring, values_only)
    assert report.ok
    assert codes(report) == {"missing_key_schema"}
    assert {f.source for f in report.findings} == {"contacts", "accounts", "sfdc-contacts", "sfdc-accounts"}


def test_unchanged_policy_is_compatible_with_its_registered_output(
    schema_dir_with_output: Path, keyring: KeyRing
) -> None:
    report = lint(CRM_POLICY, keyring, schema_dir_with_output)
    assert "incompatible_output" not in codes(report)
    assert report.ok


def test_output_type_change_is_incompatible(
    tmp_path: Path, crm_data: dict[str, Any], schema_dir_with_output: Path, keyring: KeyRing
) -> None:
    data = variant(crm_data)
    contacts_fields(data)["birth_date"] = {"transform": "generalize", "to": "month"}  # int year -> "YYYY-MM"
    report = lint(write_policy(tmp_path, data), keyring, schema_dir_with_output)
    assert not report.ok
    incompatible = [f for f in report.errors if f.code == "incompatible_output"]
    assert incompatible
    assert {f.source for f in incompatible} == {"contacts"}
    assert all("anon.crm.public.contacts-value" in f.message for f in incompatible)
    # Only the source with a registered output subject is checked.
    assert {f.source for f in report.errors} == {"contacts"}


def test_incompatible_output_finding_names_the_changed_field(
    tmp_path: Path, crm_data: dict[str, Any], schema_dir_with_output: Path, keyring: KeyRing
) -> None:
    """The finding must say which field broke compatibility (the row images are nullable unions).

    Currently it reports only ``before``/``after``: ``written type record matches no branch of the new union``
    (see test_schema_compat: nested changes inside a ``["null", record]`` union lose their path).
    """
    data = variant(crm_data)
    contacts_fields(data)["birth_date"] = {"transform": "generalize", "to": "month"}
    report = lint(write_policy(tmp_path, data), keyring, schema_dir_with_output)
    incompatible = [f for f in report.errors if f.code == "incompatible_output"]
    assert incompatible
    assert all("birth_date" in f.path for f in incompatible), [(f.path, f.message) for f in incompatible]


def test_compatible_output_changes_pass(
    tmp_path: Path, crm_data: dict[str, Any], schema_dir_with_output: Path, keyring: KeyRing
) -> None:
    data = variant(crm_data)
    fields = contacts_fields(data)
    fields["job_title"] = "drop"  # a removed output field: readers ignore it
    fields["notes"] = {"transform": "mask"}  # a new nullable output field gets a null default
    report = lint(write_policy(tmp_path, data), keyring, schema_dir_with_output)
    assert "incompatible_output" not in codes(report)
    assert report.ok


def test_newly_required_output_field_is_incompatible(
    crm_data: dict[str, Any], schema_dir_with_output: Path, keyring: KeyRing
) -> None:
    """Registered output without ``updated_at``; the policy then brings it back as a required string."""
    shrunk = next(s for s in variant(crm_data)["sources"] if s["name"] == "contacts")
    del shrunk["fields"]["updated_at"]
    source = SourcePolicy.model_validate(shrunk)
    compiled = compile_source_value(source, load_avsc(CONTACTS_TOPIC, "value"), keyring)
    (schema_dir_with_output / OUTPUT_SUBJECT_FILE).write_text(json.dumps(compiled.output_schema))
    report = lint(CRM_POLICY, keyring, schema_dir_with_output)
    assert "incompatible_output" in codes(report, "error")


# --- reports -----------------------------------------------------------------------------------------------


def test_render_text_clean_report(keyring: KeyRing) -> None:
    text = render_text(lint(CRM_POLICY, keyring))
    lines = text.splitlines()
    assert lines[0].startswith("policy crm-default (sha256 ")
    assert "source contacts: crm.public.contacts -> anon.crm.public.contacts" in lines
    header = next(line for line in lines if line.strip().startswith("field"))
    assert header.split() == ["field", "type", "transform", "output", "type"]
    assert any(line.split()[:2] == ["email", "string"] for line in lines if line.startswith("  "))
    assert lines[-1] == "OK: 0 error(s), 0 warning(s)"
    assert "FAILED" not in text


def test_render_text_failed_report(tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing) -> None:
    data = variant(crm_data)
    del contacts_fields(data)["notes"]
    contacts_fields(data)["lifetime_value"] = {"transform": "mask"}
    text = render_text(lint(write_policy(tmp_path, data), keyring))
    assert "ERROR: contacts: field 'lifetime_value'" in text
    assert text.splitlines()[-1] == "FAILED: 1 error(s), 0 warning(s)"


def test_render_text_warnings_only_is_ok(tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing) -> None:
    data = variant(crm_data)
    contacts = next(s for s in data["sources"] if s["name"] == "contacts")
    contacts["default"] = "keep"
    del contacts["fields"]["notes"]
    text = render_text(lint(write_policy(tmp_path, data), keyring))
    assert "WARNING: contacts notes: " in text
    assert "WARNING: contacts: default: keep" in text
    assert text.splitlines()[-1] == "OK: 0 error(s), 2 warning(s)"


def test_to_json(tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing) -> None:
    clean = json.loads(lint(CRM_POLICY, keyring).to_json())
    assert clean["ok"] is True
    assert clean["policy_id"] == "crm-default"
    assert len(clean["policy_hash"]) == 64
    assert clean["findings"] == []
    assert [s["name"] for s in clean["sources"]] == ["contacts", "accounts", "sfdc-contacts", "sfdc-accounts"]
    assert {"field", "type", "transform", "output"} <= set(clean["sources"][0]["rows"][0])

    data = variant(crm_data)
    del contacts_fields(data)["notes"]
    failed = json.loads(lint(write_policy(tmp_path, data), keyring).to_json())
    assert failed["ok"] is False
    assert failed["findings"] == [
        {
            "level": "error",
            "code": "uncovered",
            "source": "contacts",
            "path": "notes",
            "message": failed["findings"][0]["message"],
        }
    ]


# --- CLI ---------------------------------------------------------------------------------------------------


def run_lint(*args: str) -> Any:
    return CliRunner().invoke(main, ["policy", "lint", *args])


def test_cli_lint_clean_policy_exits_0() -> None:
    result = run_lint(str(CRM_POLICY), "--schemas", str(SCHEMAS))
    assert result.exit_code == 0, result.output
    assert "OK: 0 error(s)" in result.output
    assert "field" in result.output


def test_cli_lint_uncovered_field_exits_1_and_names_it(tmp_path: Path, crm_data: dict[str, Any]) -> None:
    data = variant(crm_data)
    del contacts_fields(data)["notes"]
    result = run_lint(str(write_policy(tmp_path, data)), "--schemas", str(SCHEMAS))
    assert result.exit_code == 1, result.output
    assert "ERROR: contacts notes: not covered" in result.output
    assert "FAILED" in result.output


def test_cli_lint_json(tmp_path: Path, crm_data: dict[str, Any]) -> None:
    clean = run_lint(str(CRM_POLICY), "--schemas", str(SCHEMAS), "--json")
    assert clean.exit_code == 0, clean.output
    assert json.loads(clean.output)["ok"] is True

    data = variant(crm_data)
    del contacts_fields(data)["notes"]
    failed = run_lint(str(write_policy(tmp_path, data)), "--schemas", str(SCHEMAS), "--json")
    assert failed.exit_code == 1
    parsed = json.loads(failed.output)
    assert parsed["ok"] is False
    assert [(f["code"], f["path"]) for f in parsed["findings"]] == [("uncovered", "notes")]


def test_cli_lint_key_id_option(tmp_path: Path, crm_data: dict[str, Any]) -> None:
    data = variant(crm_data)
    contacts_fields(data)["email"] = {"transform": "tokenize", "scope": "email", "key": "nope"}
    path = write_policy(tmp_path, data)
    refused = run_lint(str(path), "--schemas", str(SCHEMAS))
    assert refused.exit_code == 1
    assert "nope" in refused.output
    # e1: the demo policy also encrypts (sfdc-accounts.AccountNumber) with the default encryption key id.
    accepted = run_lint(str(path), "--schemas", str(SCHEMAS), "--key-id", "k1", "--key-id", "nope", "--key-id", "e1")
    assert accepted.exit_code == 0, accepted.output


@pytest.mark.parametrize("with_schemas", [True, False])
def test_cli_lint_needs_exactly_one_schema_source(with_schemas: bool) -> None:
    extra = ["--schemas", str(SCHEMAS), "--registry", "http://127.0.0.1:1"] if with_schemas else []
    result = run_lint(str(CRM_POLICY), *extra)
    assert result.exit_code == 2
    assert "exactly one of --schemas DIR or --registry URL" in result.output


def test_cli_lint_invalid_policy_exits_1_naming_the_file(tmp_path: Path, crm_data: dict[str, Any]) -> None:
    data = variant(crm_data)
    contacts_fields(data)["notes"] = {"transform": "frobnicate"}
    path = write_policy(tmp_path, data, "broken.yaml")
    result = run_lint(str(path), "--schemas", str(SCHEMAS))
    assert result.exit_code == 1
    assert str(path) in result.output
    assert "notes" in result.output
    assert "frobnicate" in result.output

    as_json = run_lint(str(path), "--schemas", str(SCHEMAS), "--json")
    assert as_json.exit_code == 1
    parsed = json.loads(as_json.stdout)
    assert parsed["ok"] is False
    assert str(path) in parsed["findings"][0]["message"]


def test_cli_lint_dp_rule_without_bounds_is_refused(tmp_path: Path, crm_data: dict[str, Any]) -> None:
    data = variant(crm_data)
    contacts_fields(data)["lifetime_value"] = {"transform": "laplace", "epsilon": 1.0}
    path = write_policy(tmp_path, data, "dp.yaml")
    result = run_lint(str(path), "--schemas", str(SCHEMAS))
    assert result.exit_code == 1
    assert str(path) in result.output
    assert "lifetime_value" in result.output
    assert "lower" in result.output
    assert "upper" in result.output


def test_cli_lint_dp_rule_with_bounds_lints_clean(tmp_path: Path, crm_data: dict[str, Any]) -> None:
    data = variant(crm_data)
    contacts_fields(data)["lifetime_value"] = {"transform": "laplace", "epsilon": 1.0, "lower": 0, "upper": 100000}
    result = run_lint(str(write_policy(tmp_path, data, "dp.yaml")), "--schemas", str(SCHEMAS))
    assert result.exit_code == 0, result.output
    assert "laplace" in result.output


# --- time exposure: envelope times and the Kafka timestamp against the row's date transforms ---------------


def contacts_source(data: dict[str, Any]) -> dict[str, Any]:
    source: dict[str, Any] = next(s for s in data["sources"] if s["name"] == "contacts")
    return source


def time_findings(report: LintReport) -> dict[tuple[str, str], str]:
    return {(f.path, f.code): f.level for f in report.findings if f.code.startswith("time.")}


def test_a_date_shift_the_event_time_gives_away_is_an_error(
    tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing
) -> None:
    data = variant(crm_data)
    source = contacts_source(data)
    source.pop("metadata", None)  # the defaults: event times to the hour
    source["fields"]["updated_at"] = {"transform": "date_shift", "max_days": 30}
    source["fields"]["birth_date"] = {"transform": "date_shift", "max_days": 30}
    report = lint(write_policy(tmp_path, data), keyring)
    found = time_findings(report)
    assert found[("updated_at", "time.shift_exposed")] == "error"  # a timestamp: it tracks the event
    assert found[("birth_date", "time.shift_exposed")] == "warning"  # a date: the offset leaks through others
    assert found[("created_at", "time.generalize_exposed")] == "warning"  # month, told to the hour on create
    assert not report.ok


def test_a_date_shift_holds_when_every_kept_event_time_is_coarser_than_its_range(
    tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing
) -> None:
    data = variant(crm_data)
    source = contacts_source(data)
    source["metadata"] = {"time": "month"}
    source["fields"]["updated_at"] = {"transform": "date_shift", "max_days": 10}  # 20 days < a month
    assert time_findings(lint(write_policy(tmp_path, data), keyring)) == {}
    source["fields"]["updated_at"] = {"transform": "date_shift", "max_days": 60}  # 120 days > a month
    found = time_findings(lint(write_policy(tmp_path, data, "wide.yaml"), keyring))
    assert found == {("updated_at", "time.shift_exposed"): "error"}


def test_a_kept_exact_envelope_time_exposes_even_a_year(
    tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing
) -> None:
    data = variant(crm_data)
    source = contacts_source(data)
    source["metadata"] = {"time": "month", "fields": {"envelope.source.ts_ms": "keep"}}
    source["fields"]["created_at"] = {"transform": "generalize", "to": "year"}
    report = lint(write_policy(tmp_path, data), keyring)
    finding = next(f for f in report.findings if f.code == "time.generalize_exposed" and f.path == "created_at")
    assert "envelope.source.ts_ms keeps the event time exactly" in finding.message


@pytest.mark.parametrize(
    ("rule", "hint"),
    [("Email", "did you mean 'email'?"), ("emial", "did you mean 'email'?"), ("no_such_field", "")],
)
def test_a_rule_that_matches_no_field_is_an_error_that_blocks_the_worker(
    tmp_path: Path, crm_data: dict[str, Any], keyring: KeyRing, rule: str, hint: str
) -> None:
    """The reported fail-open: under ``default: keep`` a misspelt rule left the raw value going out."""
    from streams.policy.lint import BLOCKING_AT_START

    data = variant(crm_data)
    source = next(s for s in data["sources"] if s["name"] == "contacts")
    source["default"] = "keep"
    fields = contacts_fields(data)
    fields[rule] = fields.pop("email")
    report = lint(write_policy(tmp_path, data), keyring)
    unmatched = [f for f in report.findings if f.code == "unmatched_rule"]
    assert [(f.level, f.source, f.path) for f in unmatched] == [("error", "contacts", rule)]
    assert hint in unmatched[0].message
    assert "unmatched_rule" in BLOCKING_AT_START
    assert not report.ok


def test_salesforce_object_prefixed_and_id_rules_count_as_matched(keyring: KeyRing) -> None:
    report = lint(CRM_POLICY, keyring)
    assert "unmatched_rule" not in codes(report)
