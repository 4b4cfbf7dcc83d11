"""Throughput, latency and memory benchmark of the anonymizer against three baselines (``python -m tests.bench.run``).

Levels, one after another on the same local broker, the same 3-partition input topic and the same generated
Debezium contact events:

- ``L0``: raw confluent-kafka consume -> produce of the bytes, unchanged.
- ``L1``: L0 plus fastavro decode and re-encode with the writer schema (Confluent framing).
- ``L2``: a Faust agent written the way Faust's documentation shows, decoding and re-encoding each event.
- ``P``: the real processor (``python -m streams.cli worker``) with ``tests/bench/policy.yaml``.

Plus a transform-only comparison without Kafka: ``streams.core.anonymize_batch`` against presidio-anonymizer's
``BatchAnonymizerEngine`` on the same decoded records. See ``run.py`` for the method and its limits.
"""
