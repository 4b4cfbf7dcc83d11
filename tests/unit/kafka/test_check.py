"""Which librdkafka errors end the connection check at once (credentials, certificates), which are transient;
the same for the registry check."""

from __future__ import annotations

import httpx
import pytest
from confluent_kafka import KafkaError

from streams.errors import ConnectError
from streams.kafka.check import AUTHENTICATION, CLIENT_CERT, UNTRUSTED, check_registry, classify
from streams.settings import ConnectionSettings


def test_fatal_librdkafka_errors_are_told_apart_from_transient_ones() -> None:
    assert classify(KafkaError._AUTHENTICATION, "SASL authentication error") == AUTHENTICATION
    assert classify(KafkaError._SSL, "certificate verify failed") == UNTRUSTED
    assert classify(KafkaError._TRANSPORT, "SSL alert number 42: bad certificate") == CLIENT_CERT
    assert classify(KafkaError._TRANSPORT, "Connection refused") is None
    assert classify(KafkaError._ALL_BROKERS_DOWN, "1/1 brokers are down") is None


def _registry_answering(status: int | None) -> httpx.Client:
    def answer(request: httpx.Request) -> httpx.Response:
        if status is None:
            raise httpx.ConnectError("refused", request=request)
        return httpx.Response(status)

    return httpx.Client(transport=httpx.MockTransport(answer))


REGISTRY = ConnectionSettings(registry_url="http://registry.invalid/apis/ccompat/v7")


def test_registry_check_through_a_given_client_sorts_answers_into_fatal_and_transient() -> None:
    # A start-up wait retries every second through one client (httpx.get would build one, and an SSL context,
    # per try).
    check_registry(REGISTRY, client=_registry_answering(200))
    with pytest.raises(ConnectError, match="refused the credentials") as refused:
        check_registry(REGISTRY, client=_registry_answering(401))
    assert not refused.value.transient
    for status in (None, 503, 429):
        with pytest.raises(ConnectError) as waiting:
            check_registry(REGISTRY, client=_registry_answering(status))
        assert waiting.value.transient
