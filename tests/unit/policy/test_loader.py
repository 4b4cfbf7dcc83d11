from __future__ import annotations

import copy
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from streams.errors import PolicyError
from streams.policy.loader import load_policy, parse_policy
from streams.transforms.drop import DropRule
from streams.transforms.generalize import GeneralizeRule
from streams.transforms.keep import KeepRule
from streams.transforms.mask import MaskRule
from streams.transforms.tokenize import TokenizeRule

from ..support import POLICY_FILE

BASE: dict[str, Any] = yaml.safe_load(POLICY_FILE.read_bytes())


def write_policy(tmp_path: Path, data: Any, name: str = "policy.yaml") -> Path:
    path = tmp_path / "policies" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False) if not isinstance(data, str) else data)
    return path


def mutated(change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(BASE)
    change(data)
    return data


def load_error(tmp_path: Path, data: Any) -> tuple[Path, str]:
    path = write_policy(tmp_path, data)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    return path, str(info.value)


def test_repository_policy_loads() -> None:
    loaded = load_policy(POLICY_FILE)
    assert loaded.path == POLICY_FILE
    assert loaded.content_hash == hashlib.sha256(POLICY_FILE.read_bytes()).hexdigest()
    policy = loaded.policy
    assert policy.id == "crm-default"
    assert policy.version == 1
    assert [s.name for s in policy.sources] == ["contacts", "accounts"]
    contacts = policy.source_for_topic("crm.public.contacts")
    assert contacts is not None
    assert contacts.output_topic == "anon.crm.public.contacts"
    assert isinstance(contacts.fields["email"], TokenizeRule)
    assert contacts.fields["email"].normalize == "lower"
    assert contacts.fields["email"].scope == "email"
    assert isinstance(contacts.fields["first_name"], MaskRule)
    assert isinstance(contacts.fields["birth_date"], GeneralizeRule)
    assert contacts.fields["birth_date"].to == "year"
    assert "updated_at" not in contacts.fields
    assert policy.source_for_topic("nope") is None


def test_content_hash_changes_with_any_byte(tmp_path: Path) -> None:
    text = POLICY_FILE.read_bytes()
    a = parse_policy(text, Path("a.yaml"))
    b = parse_policy(text + b"\n# comment\n", Path("b.yaml"))
    assert a.policy == b.policy
    assert a.content_hash != b.content_hash
    assert b.content_hash == hashlib.sha256(text + b"\n# comment\n").hexdigest()


def test_shorthand_keep_and_drop(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0]["fields"].update(city="keep", notes="drop"))
    data["sources"][0]["key"] = {"id": "keep"}
    loaded = load_policy(write_policy(tmp_path, data))
    contacts = loaded.policy.sources[0]
    assert isinstance(contacts.fields["city"], KeepRule)
    assert isinstance(contacts.fields["notes"], DropRule)
    assert isinstance(contacts.fields["street"], DropRule)  # `street: drop` in the repository file
    assert isinstance(contacts.key["id"], KeepRule)


def test_missing_file_names_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "policy.yaml"
    with pytest.raises(PolicyError) as info:
        load_policy(missing)
    assert str(missing) in str(info.value)


def test_invalid_yaml_names_the_path(tmp_path: Path) -> None:
    path, message = load_error(tmp_path, "id: [unclosed\n")
    assert str(path) in message
    assert "YAML" in message


def test_unknown_transform_names_file_source_and_field(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0]["fields"].update(email={"transform": "tokenise", "scope": "email"}))
    path, message = load_error(tmp_path, data)
    assert str(path) in message
    assert "'contacts'" in message
    assert "email" in message
    assert "tokenise" in message


def test_unknown_shorthand_names_source_and_field(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][1]["fields"].update(website="delete"))
    path, message = load_error(tmp_path, data)
    assert str(path) in message
    assert "'accounts'" in message
    assert "website" in message


def test_generalize_with_two_options(tmp_path: Path) -> None:
    data = mutated(
        lambda d: d["sources"][0]["fields"].update(
            birth_date={"transform": "generalize", "to": "year", "bucket_width": 5}
        )
    )
    path, message = load_error(tmp_path, data)
    assert str(path) in message
    assert "'contacts'" in message
    assert "birth_date" in message
    assert "exactly one" in message


def test_generalize_with_no_option(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0]["fields"].update(birth_date={"transform": "generalize"}))
    _, message = load_error(tmp_path, data)
    assert "birth_date" in message
    assert "exactly one" in message


def test_unknown_parameter_names_the_field(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0]["fields"].update(first_name={"transform": "mask", "keep_frist": 1}))
    _, message = load_error(tmp_path, data)
    assert "'contacts'" in message
    assert "first_name" in message
    assert "keep_frist" in message


def test_bad_scope_pattern(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0]["fields"].update(email={"transform": "tokenize", "scope": "a b"}))
    _, message = load_error(tmp_path, data)
    assert "email" in message
    assert "scope" in message


def test_key_rule_error_names_key_field(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0].update(key={"id": {"transform": "hash"}}))
    _, message = load_error(tmp_path, data)
    assert "'contacts'" in message
    assert "key.id" in message


def test_output_topic_equal_to_topic(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0].update(output_topic=d["sources"][0]["topic"]))
    path, message = load_error(tmp_path, data)
    assert str(path) in message
    assert "'contacts'" in message
    assert "output_topic" in message


def test_duplicate_source_topics(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][1].update(topic="crm.public.contacts"))
    path, message = load_error(tmp_path, data)
    assert str(path) in message
    assert "only once" in message
    # The operator must learn which topic (or source) is duplicated.
    assert "crm.public.contacts" in message or "'accounts'" in message


def test_unknown_envelope(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0].update(envelope="maxwell"))
    _, message = load_error(tmp_path, data)
    assert "'contacts'" in message
    assert "envelope" in message


def test_unknown_top_level_key(tmp_path: Path) -> None:
    data = mutated(lambda d: d.update(sorces=[]))
    _, message = load_error(tmp_path, data)
    assert "sorces" in message


def test_no_sources(tmp_path: Path) -> None:
    _, message = load_error(tmp_path, {"id": "p", "version": 1, "sources": []})
    assert "sources" in message


def test_empty_file(tmp_path: Path) -> None:
    path, message = load_error(tmp_path, "")
    assert str(path) in message


@pytest.mark.parametrize("entry", ["contacts", None, 42])
def test_source_that_is_not_a_mapping_is_a_policy_error(tmp_path: Path, entry: object) -> None:
    """A malformed source entry must give a PolicyError naming the file, not crash the loader."""
    path, message = load_error(tmp_path, {"id": "p", "version": 1, "sources": [entry]})
    assert str(path) in message
    assert "sources" in message or "source" in message


def test_errors_do_not_echo_rule_values(tmp_path: Path) -> None:
    data = mutated(lambda d: d["sources"][0]["fields"].update(email={"transform": "mask", "char": "CANARY-long-char"}))
    _, message = load_error(tmp_path, data)
    assert "email" in message
    assert "CANARY-long-char" not in message
