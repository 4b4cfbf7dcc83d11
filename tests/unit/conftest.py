"""Unit-only fixtures (no Kafka broker, no registry server). Helpers live in ``support.py``."""

from __future__ import annotations

import pytest

from streams.envelope.base import CompiledKey, compile_key
from streams.envelope.debezium import CompiledEnvelope, compile_envelope
from streams.keys import KeyRing
from streams.policy.loader import LoadedPolicy, load_policy
from streams.policy.model import SourcePolicy

from .support import ACCOUNTS_TOPIC, CONTACTS_TOPIC, OTHER_KEY, POLICY_FILE, TEST_KEY, TEST_KEY_ID, load_avsc


@pytest.fixture(scope="session")
def loaded_policy() -> LoadedPolicy:
    return load_policy(POLICY_FILE)


@pytest.fixture(scope="session")
def contacts_source(loaded_policy: LoadedPolicy) -> SourcePolicy:
    source = loaded_policy.policy.source_for_topic(CONTACTS_TOPIC)
    assert source is not None
    return source


@pytest.fixture(scope="session")
def accounts_source(loaded_policy: LoadedPolicy) -> SourcePolicy:
    source = loaded_policy.policy.source_for_topic(ACCOUNTS_TOPIC)
    assert source is not None
    return source


@pytest.fixture(scope="session")
def keyring() -> KeyRing:
    # "other" doubles as the default encryption key (the demo policy encrypts sfdc-accounts.AccountNumber).
    return KeyRing({TEST_KEY_ID: TEST_KEY, "other": OTHER_KEY}, TEST_KEY_ID, {"encrypt": "other"})


@pytest.fixture(scope="session")
def contacts_plans(contacts_source: SourcePolicy, keyring: KeyRing) -> tuple[CompiledKey, CompiledEnvelope]:
    return (
        compile_key(contacts_source, load_avsc(CONTACTS_TOPIC, "key"), keyring),
        compile_envelope(contacts_source, load_avsc(CONTACTS_TOPIC, "value"), keyring),
    )


@pytest.fixture(scope="session")
def accounts_plans(accounts_source: SourcePolicy, keyring: KeyRing) -> tuple[CompiledKey, CompiledEnvelope]:
    return (
        compile_key(accounts_source, load_avsc(ACCOUNTS_TOPIC, "key"), keyring),
        compile_envelope(accounts_source, load_avsc(ACCOUNTS_TOPIC, "value"), keyring),
    )
