"""The baseline levels, each run as its own process: ``python -m tests.bench.levels {l0,l1,l2} ...``.

- ``l0``: confluent-kafka Consumer (assigned every partition) -> Producer, bytes unchanged, record timestamp
  kept. ``consume(500, timeout=5 ms)`` mirrors the processor's micro-batch (500 events or 5 ms).
- ``l1``: l0 plus fastavro decode and re-encode of key and value with the writer schema, fetched from the
  registry once per schema id (Confluent framing kept).
- ``l2``: a Faust agent in the style of Faust's documentation: ``async for value in stream`` and one
  ``await out_topic.send(...)`` per event (raw serializers), decoding and re-encoding each event like l1.

``--wrap``: seek a partition back to its beginning when the consumer reaches its end, so that a fast level
never starves on a pre-filled topic (l0/l1 only; Faust reads once). SIGTERM stops a level cleanly.
"""

from __future__ import annotations

import argparse
import io
import json
import signal
import struct
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from confluent_kafka import KafkaError, TopicPartition
from confluent_kafka.schema_registry import SchemaRegistryClient
from fastavro import parse_schema, schemaless_reader, schemaless_writer

from tests.bench.common import assign_all, consumer, produce, producer

_HEADER = struct.Struct(">bI")

Recode = Callable[[bytes | None], bytes | None]


class Recoder:
    """Decode a Confluent-framed Avro payload with its writer schema and encode it again, unchanged."""

    def __init__(self, registry_url: str) -> None:
        self._client = SchemaRegistryClient({"url": registry_url})
        self._schemas: dict[int, Any] = {}

    def _schema(self, schema_id: int) -> Any:
        parsed = self._schemas.get(schema_id)
        if parsed is None:  # once per id
            parsed = parse_schema(json.loads(self._client.get_schema(schema_id).schema_str))
            self._schemas[schema_id] = parsed
        return parsed

    def __call__(self, data: bytes | None) -> bytes | None:
        if data is None:
            return None
        _, schema_id = _HEADER.unpack_from(data)
        parsed = self._schema(schema_id)
        record = schemaless_reader(io.BytesIO(data[_HEADER.size :]), parsed, None)
        out = io.BytesIO()
        out.write(data[: _HEADER.size])
        schemaless_writer(out, parsed, record)
        return out.getvalue()


def run_librdkafka(args: argparse.Namespace, recode: Recode | None) -> None:
    stopping = False

    def stop(_signum: int, _frame: Any) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    # fetch.wait.max.ms 10: with the default (500 ms) each wrap-around waited for the broker's empty long-poll
    # at the end of the partition, which capped L0 at one pass over the topic per second. With data waiting a
    # fetch returns at once either way.
    cons = consumer(
        args.bootstrap,
        f"bench-{args.level}-{uuid.uuid4().hex[:8]}",
        **{"enable.partition.eof": True, "fetch.wait.max.ms": 10},
    )
    assignment = assign_all(cons, args.input)
    low = {(tp.topic, tp.partition): tp.offset for tp in assignment}
    prod = producer(args.bootstrap, output=True)
    output = args.output
    while not stopping:
        for msg in cons.consume(500, 0.005):
            err = msg.error()
            if err is not None:
                if err.code() == KafkaError._PARTITION_EOF and args.wrap:
                    topic, partition = msg.topic(), msg.partition()
                    cons.seek(TopicPartition(topic, partition, low[(topic, partition)]))
                continue
            key, value = msg.key(), msg.value()
            if recode is not None:
                key, value = recode(key), recode(value)
            produce(prod, output, key, value, msg.timestamp()[1])
        prod.poll(0)
    prod.flush(10)
    cons.close()


def run_faust(args: argparse.Namespace) -> None:
    import faust

    app = faust.App(
        args.app_id,
        broker=f"kafka://{args.bootstrap}",
        store="memory://",
        datadir=str(args.datadir),
        key_serializer="raw",
        value_serializer="raw",
        topic_partitions=3,
        topic_replication_factor=1,
        consumer_auto_offset_reset="earliest",
        # The benchmark's producer settings, as far as Faust's aiokafka producer takes them: acks=all and
        # linger 5 ms. Idempotence is only enabled by Faust in exactly-once mode; aiokafka's lz4 codec needs
        # a package the project does not ship, so this level's output is uncompressed.
        producer_acks=-1,
        producer_linger=0.005,
        web_enabled=False,
    )
    source = app.topic(*args.input, key_serializer="raw", value_serializer="raw")
    out_topic = app.topic(args.output, key_serializer="raw", value_serializer="raw")
    recode = Recoder(args.registry_url)

    @app.agent(source)
    async def passthrough(stream: Any) -> None:
        async for value in stream:
            event = stream.current_event
            await out_topic.send(key=recode(event.key), value=recode(value), timestamp=event.message.timestamp)

    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("level", choices=["l0", "l1", "l2"])
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--registry-url", required=True)
    parser.add_argument("--input", action="append", required=True, help="input topic (repeatable)")
    parser.add_argument("--output", required=True)
    parser.add_argument("--wrap", action="store_true", help="seek back to the beginning at the end (l0/l1)")
    parser.add_argument("--app-id", default=f"bench-l2-{uuid.uuid4().hex[:8]}")
    parser.add_argument("--datadir", type=Path, default=Path(".local") / "bench-faust")
    args = parser.parse_args()
    if args.level == "l0":
        run_librdkafka(args, None)
    elif args.level == "l1":
        run_librdkafka(args, Recoder(args.registry_url))
    else:
        run_faust(args)


if __name__ == "__main__":
    main()
