"""Which librdkafka errors end the connection check at once (credentials, certificates), which are transient."""

from __future__ import annotations

from confluent_kafka import KafkaError

from streams.kafka.check import AUTHENTICATION, CLIENT_CERT, UNTRUSTED, classify


def test_fatal_librdkafka_errors_are_told_apart_from_transient_ones() -> None:
    assert classify(KafkaError._AUTHENTICATION, "SASL authentication error") == AUTHENTICATION
    assert classify(KafkaError._SSL, "certificate verify failed") == UNTRUSTED
    assert classify(KafkaError._TRANSPORT, "SSL alert number 42: bad certificate") == CLIENT_CERT
    assert classify(KafkaError._TRANSPORT, "Connection refused") is None
    assert classify(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down") is None
