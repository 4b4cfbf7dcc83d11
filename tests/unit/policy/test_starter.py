"""``policy init``: a starter policy from a schema that covers every field, with a reason beside each guess."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from streams.cli import main
from streams.keys import KeyRing
from streams.policy.lint import DirectorySchemas, lint_policy
from streams.policy.loader import parse_policy
from streams.policy.starter import guess, starter_policy
from streams.settings import REPO_ROOT

from ..support import ACCOUNTS_TOPIC, CONTACTS_TOPIC, DEBEZIUM_SCHEMAS, load_avsc

TOPICS = [CONTACTS_TOPIC, ACCOUNTS_TOPIC]
FIELD_LINE = re.compile(r"^      (?P<name>[A-Za-z_][A-Za-z0-9_]*): (?P<rule>.+?)  # (?P<reason>\S.*)$")


def row_field_names(topic: str) -> list[str]:
    value = load_avsc(topic, "value")
    before = next(f for f in value["fields"] if f["name"] == "before")
    row = next(b for b in before["type"] if b != "null")
    return [str(f["name"]) for f in row["fields"]]


def starter_fields(topic: str) -> dict[str, Any]:
    data = yaml.safe_load(starter_policy(load_avsc(topic, "value"), topic))
    fields = data["sources"][0]["fields"]
    assert isinstance(fields, dict)
    return fields


def transform_of(rule: Any) -> str:
    return rule if isinstance(rule, str) else str(rule["transform"])


@pytest.mark.parametrize("topic", TOPICS)
def test_starter_yaml_has_the_source_header(topic: str) -> None:
    data = yaml.safe_load(starter_policy(load_avsc(topic, "value"), topic, policy_id="my-start"))
    assert data["id"] == "my-start"
    assert data["version"] == 1
    [source] = data["sources"]
    assert source["topic"] == topic
    assert source["output_topic"] == f"anon.{topic}"
    assert source["envelope"] == "debezium"
    assert source["name"] == topic.rsplit(".", 1)[-1]


@pytest.mark.parametrize("topic", TOPICS)
def test_starter_names_every_row_field_in_schema_order(topic: str) -> None:
    assert list(starter_fields(topic)) == row_field_names(topic)


@pytest.mark.parametrize("topic", TOPICS)
def test_every_field_line_has_a_reason_comment(topic: str) -> None:
    text = starter_policy(load_avsc(topic, "value"), topic)
    lines = text.splitlines()
    start = lines.index("    fields:") + 1
    field_lines = lines[start:]
    assert len(field_lines) == len(row_field_names(topic))
    names = []
    for line in field_lines:
        match = FIELD_LINE.match(line)
        assert match, line
        assert match["reason"].strip()
        names.append(match["name"])
    assert names == row_field_names(topic)


@pytest.mark.parametrize("topic", TOPICS)
def test_starter_policy_validates_as_a_policy(topic: str) -> None:
    """Needs every transform the starter writes (including ``scrub_text`` for free text) in the registry."""
    text = starter_policy(load_avsc(topic, "value"), topic)
    loaded = parse_policy(text.encode(), Path(f"{topic}.yaml"))
    [source] = loaded.policy.sources
    assert source.topic == topic
    assert set(source.fields) == set(row_field_names(topic))


@pytest.mark.parametrize("topic", TOPICS)
def test_starter_policy_lints_without_uncovered_fields(topic: str, keyring: KeyRing) -> None:
    text = starter_policy(load_avsc(topic, "value"), topic)
    loaded = parse_policy(text.encode(), Path(f"{topic}.yaml"))
    report = lint_policy(loaded, DirectorySchemas(DEBEZIUM_SCHEMAS), keyring)
    assert [f for f in report.findings if f.code == "uncovered"] == []
    assert report.ok, report.findings


def test_contacts_guesses() -> None:
    fields = starter_fields(CONTACTS_TOPIC)
    assert fields["email"]["transform"] == "tokenize"
    assert fields["email"]["scope"] == "email"
    assert fields["phone"]["transform"] == "mask"
    assert fields["phone"]["style"] == "phone"
    assert fields["birth_date"] == {"transform": "generalize", "to": "year"}
    assert fields["notes"] == {"transform": "scrub_text"}
    assert fields["street"] == "drop"
    assert fields["first_name"]["transform"] == "tokenize"
    assert fields["last_name"]["transform"] == "tokenize"
    assert fields["postal_code"] == {"transform": "generalize", "prefix_length": 3}
    assert fields["marketing_opt_in"] == "keep"
    assert fields["created_at"] == {"transform": "generalize", "to": "month"}
    assert fields["id"]["transform"] == "tokenize"
    assert fields["lifetime_value"]["transform"] == "generalize"
    assert fields["job_title"] == "drop"  # no rule of thumb: fail closed


def test_accounts_guesses() -> None:
    fields = starter_fields(ACCOUNTS_TOPIC)
    assert fields["owner_email"]["transform"] == "tokenize"
    assert fields["phone"]["transform"] == "mask"
    assert fields["description"] == {"transform": "scrub_text"}
    assert fields["billing_street"] == "drop"
    assert fields["billing_postal_code"]["transform"] == "generalize"
    assert fields["employee_count"] == "drop"


def test_reasons_say_why() -> None:
    text = starter_policy(load_avsc(CONTACTS_TOPIC, "value"), CONTACTS_TOPIC)
    reasons = {m["name"]: m["reason"] for m in map(FIELD_LINE.match, text.splitlines()) if m}
    assert "email" in reasons["email"]
    assert "phone" in reasons["phone"]
    assert "birth" in reasons["birth_date"]
    assert "free text" in reasons["notes"]
    assert "review" in reasons["job_title"]


@pytest.mark.parametrize(
    ("name", "avro_type", "transform"),
    [
        ("notes", "long", "drop"),  # scrub_text only for strings
        ("email", "boolean", "keep"),  # tokenize does not fit a boolean: falls back to the type rule
        ("zip", "long", "drop"),  # prefix generalization only for strings
        ("salary", "string", "drop"),  # bucketing only for numbers
        ("flag", ["null", "boolean"], "keep"),
        ("tier", {"type": "enum", "name": "Tier", "symbols": ["A", "B"]}, "keep"),
        ("signed_up", {"type": "int", "logicalType": "date"}, "generalize"),
        ("dob", {"type": "int", "connect.name": "io.debezium.time.Date"}, "generalize"),
        ("home", {"type": "record", "name": "Addr", "fields": [{"name": "street", "type": "string"}]}, "drop"),
        ("tags", {"type": "array", "items": "string"}, "drop"),
        ("misc", "double", "drop"),
    ],
)
def test_guess_respects_types(name: str, avro_type: Any, transform: str) -> None:
    rule = yaml.safe_load(f"x: {guess(name, avro_type).rule}")["x"]
    assert transform_of(rule) == transform


def test_guess_for_dates() -> None:
    assert guess("dob", {"type": "int", "logicalType": "date"}).rule == "{transform: generalize, to: year}"
    assert guess("signed_up", {"type": "int", "logicalType": "date"}).rule == "{transform: generalize, to: month}"


def test_guess_for_nested_types_explains_path_rules() -> None:
    reason = guess("tags", {"type": "array", "items": "string"}).reason
    assert "a[]" in reason


# --- CLI ---------------------------------------------------------------------------------------------------


def test_cli_init_prints_the_starter() -> None:
    schema_file = DEBEZIUM_SCHEMAS / f"{CONTACTS_TOPIC}-value.avsc"
    result = CliRunner().invoke(main, ["policy", "init", "--schema", str(schema_file)])
    assert result.exit_code == 0, result.output
    assert result.output == starter_policy(load_avsc(CONTACTS_TOPIC, "value"), CONTACTS_TOPIC)


def test_cli_init_topic_option() -> None:
    schema_file = DEBEZIUM_SCHEMAS / f"{ACCOUNTS_TOPIC}-value.avsc"
    result = CliRunner().invoke(main, ["policy", "init", "--schema", str(schema_file), "--topic", "db.sales.accounts"])
    assert result.exit_code == 0, result.output
    data = yaml.safe_load(result.output)
    assert data["sources"][0]["topic"] == "db.sales.accounts"
    assert data["sources"][0]["output_topic"] == "anon.db.sales.accounts"


def test_cli_init_writes_a_file(tmp_path: Path) -> None:
    schema_file = DEBEZIUM_SCHEMAS / f"{ACCOUNTS_TOPIC}-value.avsc"
    out = tmp_path / "starter.yaml"
    result = CliRunner().invoke(main, ["policy", "init", "--schema", str(schema_file), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"wrote {out}" in result.output
    assert out.read_text() == starter_policy(load_avsc(ACCOUNTS_TOPIC, "value"), ACCOUNTS_TOPIC)


@pytest.mark.parametrize("both", [True, False])
def test_cli_init_needs_exactly_one_of_subject_and_schema(both: bool) -> None:
    schema_file = DEBEZIUM_SCHEMAS / f"{ACCOUNTS_TOPIC}-value.avsc"
    args = ["--schema", str(schema_file), "--subject", f"{ACCOUNTS_TOPIC}-value"] if both else []
    result = CliRunner().invoke(main, ["policy", "init", *args])
    assert result.exit_code == 2
    assert "exactly one of --subject S or --schema FILE" in result.output


def test_starter_policy_for_a_salesforce_change_event_lints_clean(keyring: KeyRing) -> None:
    """The header is the envelope's business: the starter names the object fields, with …Id fields tokenized
    and a boolean whose name mentions a phone (HasOptedOutOfFax) not given a phone mask."""
    schema = json.loads((REPO_ROOT / "schemas" / "salesforce" / "sfdc.ContactChangeEvent-value.avsc").read_text())
    text = starter_policy(schema, "sfdc.ContactChangeEvent")
    loaded = parse_policy(text.encode(), Path("starter.yaml"))
    [source] = loaded.policy.sources
    assert source.envelope == "salesforce"
    assert "ChangeEventHeader" not in source.fields
    assert source.fields["AccountId"].transform == "tokenize"
    assert source.fields["HasOptedOutOfFax"].transform == "keep"
    report = lint_policy(loaded, DirectorySchemas(REPO_ROOT / "schemas"), keyring)
    assert report.ok, report.findings
