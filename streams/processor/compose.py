"""The composition root: settings + policy -> a ready :class:`~streams.ports.BatchProcessor`.

The only place where the pipeline meets its adapters (registry cache, librdkafka sink, dead-letter sealer,
keys). The Faust agent (``app``) and the offload child (``offload``) both build through here, so the child
never imports Faust.
"""

from __future__ import annotations

from streams.deadletter import DeadLetterSealer
from streams.k_anonymity import derive_k_key, uses_k_anonymity
from streams.kafka.config import registry_client
from streams.kafka.registry import SchemaCache
from streams.kafka.sink import KafkaSink
from streams.keys import keyring_from_settings, parse_key
from streams.policy.loader import LoadedPolicy
from streams.ports import Sink
from streams.processor.pipeline import Pipeline
from streams.settings import Settings
from streams.subject_state import derive_state_key, uses_subject_state


def kafka_sink(settings: Settings) -> KafkaSink:
    return KafkaSink(
        settings.connection, linger_ms=settings.producer_linger_ms, max_record_bytes=settings.max_record_bytes
    )


def state_secret(settings: Settings) -> bytes:
    """The key of the subject-state table keys, derived from the tokenization key."""
    keyring = keyring_from_settings(settings)
    return derive_state_key(keyring.get(None)[1])


def build_pipeline(
    settings: Settings, loaded: LoadedPolicy, sink: Sink, *, published_outcome: str = "PUBLISHED"
) -> Pipeline:
    """The in-process pipeline over ``sink``; keys and the dead-letter key come from ``settings``."""
    keyring = keyring_from_settings(settings)
    sealer = DeadLetterSealer(
        parse_key(settings.dead_letter_key, "CRM_ANON_DEAD_LETTER_KEY"), settings.dead_letter_key_id
    )
    schemas = SchemaCache(registry_client(settings.connection))
    return Pipeline(
        loaded,
        keyring,
        schemas,
        sink,
        sealer,
        audit_topic=settings.audit_topic,
        dead_letter_topic=settings.dead_letter_topic,
        state_secret=derive_state_key(keyring.get(None)[1]) if uses_subject_state(loaded.policy) else None,
        k_secret=derive_k_key(keyring.get(None)[1]) if uses_k_anonymity(loaded.policy) else None,
        max_record_bytes=settings.max_record_bytes,
        published_outcome=published_outcome,
    )
