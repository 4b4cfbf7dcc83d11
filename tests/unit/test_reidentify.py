"""Re-identification, unit part: token decryption, key files, audit records, the CLI with fake Kafka."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastavro import parse_schema, schemaless_reader
from hypothesis import given, settings
from hypothesis import strategies as st

from streams import reidentify as reid
from streams.audit import AUDIT_SCHEMA, SourcePosition
from streams.avro import wire
from streams.transforms.base import BatchContext
from streams.transforms.encrypt import DecryptionError, Encrypt

KEY = bytes(range(40, 72))
WRONG_KEY = bytes(range(80, 112))
KEY_ID = "e1"
KEYS = {KEY_ID: KEY}
PLAINTEXT = "ada.lovelace@example.com"
POSITION = SourcePosition("anon.crm.public.contacts", 2, 41)


def encryptor(mode: Any, path: str = "email", avro_type: str = "string", key: bytes = KEY) -> Encrypt:
    e = Encrypt(key, KEY_ID, mode)
    e.output_type(avro_type, path)
    bound = e.bind(avro_type)
    assert isinstance(bound, Encrypt)
    return bound


DET = encryptor("deterministic")
RND = encryptor("randomized")
DET_LONG = encryptor("deterministic", "id", "long")
RND_LONG = encryptor("randomized", "id", "long")


def token(value: Any = PLAINTEXT, mode: Any = "deterministic", path: str = "email") -> str:
    (out,) = encryptor(mode, path).apply([value], BatchContext())
    assert isinstance(out, str)
    return out


# --- decrypt_token ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["deterministic", "randomized"])
@pytest.mark.parametrize("path", ["email", "after.email", "before.email"])
def test_round_trip(mode: Any, path: str) -> None:
    assert reid.decrypt_token(token(mode=mode), KEYS, path) == PLAINTEXT


def test_key_field_round_trip() -> None:
    (tok,) = encryptor("randomized", "key.id", "long").apply([918273645], BatchContext())
    assert reid.decrypt_token(tok, KEYS, "key.id") == 918273645


@pytest.mark.parametrize("mode", ["deterministic", "randomized"])
def test_wrong_key_fails_without_plaintext(mode: Any) -> None:
    with pytest.raises(DecryptionError) as info:
        reid.decrypt_token(token(mode=mode), {KEY_ID: WRONG_KEY}, "email")
    assert PLAINTEXT not in str(info.value)
    assert "wrong key" in str(info.value)


def test_missing_key_id_fails() -> None:
    with pytest.raises(DecryptionError, match="no key with id 'e1'"):
        reid.decrypt_token(token(), {"other": KEY}, "email")


@pytest.mark.parametrize("mode", ["deterministic", "randomized"])
def test_wrong_field_path_fails(mode: Any) -> None:
    tok = token(mode=mode, path="email")
    for other in ("phone", "after.phone", "key.email.x", "Email"):
        with pytest.raises(DecryptionError):
            reid.decrypt_token(tok, KEYS, other)


@pytest.mark.parametrize(
    "bad", ["", "tok_k1_abcdef", "enc_x_e1_AAAA", "enc_d_e1_!!!!", "enc_d_e1_AAAA", "enc_d__AAAA", "enc_d_e1"]
)
def test_malformed_tokens_fail_cleanly(bad: str) -> None:
    with pytest.raises(DecryptionError):
        reid.decrypt_token(bad, KEYS, "email")


def test_modified_token_fails() -> None:
    tok = token(mode="randomized")
    flipped = tok[:-2] + ("A" if tok[-2] != "A" else "B") + tok[-1]
    with pytest.raises(DecryptionError):
        reid.decrypt_token(flipped, KEYS, "email")


def test_deterministic_mode_is_joinable() -> None:
    assert token("x@example.com") == token("x@example.com")
    assert token("x@example.com") != token("y@example.com")
    assert DET_LONG.apply([5, 5], BatchContext()) == DET_LONG.apply([5, 5], BatchContext())


def test_randomized_mode_differs_per_call() -> None:
    tokens = {token(mode="randomized") for _ in range(20)}
    assert len(tokens) == 20
    assert all(reid.decrypt_token(t, KEYS, "email") == PLAINTEXT for t in tokens)


@settings(max_examples=60, deadline=None)
@given(st.text())
def test_property_text_round_trip(value: str) -> None:
    for enc in (DET, RND):
        (out,) = enc.apply([value], BatchContext())
        assert out != value
        assert reid.decrypt_token(out, KEYS, "email") == value


@settings(max_examples=60, deadline=None)
@given(st.integers(min_value=-(2**63), max_value=2**63 - 1))
def test_property_int_round_trip(value: int) -> None:
    for enc in (DET_LONG, RND_LONG):
        (out,) = enc.apply([value], BatchContext())
        assert out != value and out != str(value)
        restored = reid.decrypt_token(out, KEYS, "id")
        assert restored == value
        assert type(restored) is int


# --- key files ----------------------------------------------------------------------------------------------


def test_parse_key_file() -> None:
    text = f"# operator keys\n\n{KEY_ID}={KEY.hex()}\n  e2 = {WRONG_KEY.hex()}  \n"
    assert reid.parse_key_file(text) == {KEY_ID: KEY, "e2": WRONG_KEY}


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("", "no keys"),
        ("just-a-line\n", "line 1"),
        (f"e1={'ab' * 8}\n", "at least 32 bytes"),
        ("e1=zz-not-hex-or-base64-zz\n", "hex or base64"),
    ],
)
def test_bad_key_files_do_not_echo_material(text: str, match: str) -> None:
    with pytest.raises(reid.ReidentifyError, match=match) as info:
        reid.parse_key_file(text)
    assert "abababab" not in str(info.value)
    assert "zz-not" not in str(info.value)


# --- audit records ------------------------------------------------------------------------------------------


class FakeRegistry:
    def __init__(self) -> None:
        self.subjects: list[str] = []

    def register_schema(self, subject_name: str, schema: Any) -> int:
        self.subjects.append(subject_name)
        assert schema.schema_type == "AVRO"
        return 77


class FakeProducer:
    def __init__(self, error: str | None = None, stuck: bool = False) -> None:
        self.sent: list[tuple[str, bytes, bytes]] = []
        self._pending: list[Any] = []
        self._error = error
        self._stuck = stuck

    def produce(self, topic: str, value: bytes | None = None, key: bytes | None = None, *, on_delivery: Any) -> None:
        assert value is not None and key is not None
        self.sent.append((topic, key, value))
        self._pending.append(on_delivery)

    def flush(self, timeout: float) -> int:
        if self._stuck:
            return len(self._pending)

        class Err:
            def __init__(self, name: str) -> None:
                self._name = name

            def name(self) -> str:
                return self._name

        for callback in self._pending:
            callback(Err(self._error) if self._error else None, None)
        self._pending.clear()
        return 0


def decode_audit(body: bytes) -> dict[str, Any]:
    schema_id, payload = wire.split_frame(body)
    assert schema_id == 77
    record: dict[str, Any] = schemaless_reader(io.BytesIO(payload), parse_schema(AUDIT_SCHEMA), None)
    return record


def fetched(after: dict[str, Any] | None, before: dict[str, Any] | None = None, key: Any = None) -> reid.FetchedRecord:
    return reid.FetchedRecord(
        position=POSITION,
        key=key,
        value={"before": before, "after": after, "op": "u"},
        schema_ids=(11, 12),
    )


def run(record: reid.FetchedRecord, path: str, keys: dict[str, bytes], producer: FakeProducer) -> Any:
    return reid.reidentify(
        record, path, keys, "alice@ops", producer=producer, registry=FakeRegistry(), audit_topic="crm.audit.test"
    )


def test_success_is_audited_without_values() -> None:
    producer = FakeProducer()
    assert run(fetched({"email": token()}), "after.email", KEYS, producer) == PLAINTEXT
    ((topic, key, body),) = producer.sent
    assert topic == "crm.audit.test"
    assert key == b"anon.crm.public.contacts/2"
    assert PLAINTEXT.encode() not in body
    audit = decode_audit(body)
    assert audit["kind"] == "REIDENTIFICATION"
    assert audit["actor"] == "alice@ops"
    assert audit["outcome"] == "PUBLISHED"
    assert audit["reason_code"] is None
    assert (audit["source_topic"], audit["source_partition"], audit["source_offset"]) == (POSITION.topic, 2, 41)
    assert audit["field_actions"] == [{"path": "after.email", "action": "reidentify"}]
    assert (audit["key_schema_id_in"], audit["value_schema_id_in"]) == (11, 12)


def test_failed_attempt_is_audited_and_reveals_nothing() -> None:
    producer = FakeProducer()
    with pytest.raises(reid.ReidentifyError) as info:
        run(fetched({"email": token()}), "email", {KEY_ID: WRONG_KEY}, producer)
    assert PLAINTEXT not in str(info.value)
    assert "audited" in str(info.value)
    audit = decode_audit(producer.sent[0][2])
    assert audit["reason_code"] == "reidentify.failed"
    assert audit["kind"] == "REIDENTIFICATION"


@pytest.mark.parametrize("producer", [FakeProducer(error="_MSG_TIMED_OUT"), FakeProducer(stuck=True)])
def test_no_audit_no_plaintext(producer: FakeProducer) -> None:
    with pytest.raises(reid.ReidentifyError, match="audit event"):
        run(fetched({"email": token()}), "email", KEYS, producer)


def test_field_resolution() -> None:
    before_only = fetched(None, before={"email": token("old@example.com")})
    assert run(before_only, "email", KEYS, FakeProducer()) == "old@example.com"
    assert run(before_only, "before.email", KEYS, FakeProducer()) == "old@example.com"
    (key_token,) = encryptor("deterministic", "key.id", "long").apply([5], BatchContext())
    assert run(fetched({"email": token()}, key={"id": key_token}), "key.id", KEYS, FakeProducer()) == 5
    nested = fetched({"address": {"city": token("Paris", path="address.city")}})
    assert run(nested, "after.address.city", KEYS, FakeProducer()) == "Paris"


@pytest.mark.parametrize(
    ("record", "path", "match"),
    [
        (fetched({"email": None}), "after.email", "is null"),
        (fetched(None), "after.email", "is null"),
        (fetched({"email": "x"}), "after.phone", "not in the record"),
        (fetched({"age": 41}), "after.age", "holds a int"),
        (fetched({"phones": []}), "after.phones[]", "not supported"),
    ],
)
def test_unusable_fields_are_not_audited(record: reid.FetchedRecord, path: str, match: str) -> None:
    producer = FakeProducer()
    with pytest.raises(reid.ReidentifyError, match=match) as info:
        run(record, path, KEYS, producer)
    assert producer.sent == []
    assert "41" not in str(info.value)


def test_actor_is_required() -> None:
    with pytest.raises(reid.ReidentifyError, match="actor"):
        reid.reidentify(
            fetched({"email": token()}),
            "email",
            KEYS,
            " ",
            producer=FakeProducer(),
            registry=FakeRegistry(),
            audit_topic="a",
        )


def test_format_plaintext() -> None:
    assert reid.format_plaintext("a") == "a"
    assert reid.format_plaintext(-5) == "-5"
    assert reid.format_plaintext(b"\x00\xff") == "00ff"


# --- CLI with fake Kafka ------------------------------------------------------------------------------------


@pytest.fixture
def fake_kafka(monkeypatch: pytest.MonkeyPatch) -> FakeProducer:
    import confluent_kafka
    import confluent_kafka.schema_registry

    import streams.kafka.admin

    producer = FakeProducer()
    record = fetched({"email": token()})
    monkeypatch.setattr(confluent_kafka, "Producer", lambda conf: producer)
    monkeypatch.setattr(confluent_kafka.schema_registry, "SchemaRegistryClient", lambda conf: FakeRegistry())
    monkeypatch.setattr(streams.kafka.admin, "ensure_topics", lambda *a, **k: None)
    monkeypatch.setattr(reid, "fetch_record", lambda *a, **k: record)
    return producer


def cli(key_file: Path, *extra: str) -> Any:
    from streams.cli import main

    args = ["reidentify", "--topic", POSITION.topic, "--partition", "2", "--offset", "41"]
    args += ["--field", "after.email", "--key-file", str(key_file), *extra]
    return CliRunner().invoke(main, args)


def test_cli_prints_only_the_plaintext(tmp_path: Path, fake_kafka: FakeProducer) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"{KEY_ID}={KEY.hex()}\n")
    result = cli(key_file, "--actor", "alice@ops")
    assert result.exit_code == 0, result.output
    assert result.stdout == PLAINTEXT + "\n"
    assert decode_audit(fake_kafka.sent[0][2])["actor"] == "alice@ops"


def test_cli_wrong_key_exits_non_zero_without_plaintext(tmp_path: Path, fake_kafka: FakeProducer) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"{KEY_ID}={WRONG_KEY.hex()}\n")
    result = cli(key_file, "--actor", "alice@ops")
    assert result.exit_code != 0
    assert PLAINTEXT not in result.output
    assert "wrong key" in result.output
    assert decode_audit(fake_kafka.sent[0][2])["reason_code"] == "reidentify.failed"


def test_cli_requires_actor(tmp_path: Path, fake_kafka: FakeProducer) -> None:
    key_file = tmp_path / "keys"
    key_file.write_text(f"{KEY_ID}={KEY.hex()}\n")
    result = cli(key_file)
    assert result.exit_code != 0
    assert "--actor" in result.output
    assert fake_kafka.sent == []
