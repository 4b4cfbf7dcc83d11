"""Paced producer for the latency phase: ``python -m tests.bench.pacer --pool FILE --topic T --rate R ...``.

Writes pool events at ``rate`` events/s (one librdkafka producer, the benchmark's producer settings), each
stamped with its send time (the record timestamp), for ``--settle`` + ``--window`` + ``--tail`` seconds,
after one warm-up event (connection, producer id). The measured window starts ``--settle`` seconds after the
first send. Prints one JSON object: the window (epoch ms), the events stamped inside it (what the output
consumer must see), events sent, the achieved rate. No randomness: the schedule is a straight line.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path
from typing import Any

from tests.bench.common import producer, read_pool


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--bootstrap", required=True)
    parser.add_argument("--pool", type=Path, required=True)
    parser.add_argument("--topic", required=True)
    parser.add_argument("--rate", type=float, required=True)
    parser.add_argument("--settle", type=float, default=1.0, help="seconds before the window")
    parser.add_argument("--window", type=float, required=True, help="measured window, seconds")
    parser.add_argument("--tail", type=float, default=0.3, help="seconds of load after the window")
    args = parser.parse_args()

    pool = read_pool(args.pool)
    prod = producer(args.bootstrap)
    errors: list[str] = []

    def on_delivery(err: Any, _msg: Any) -> None:
        if err is not None:
            errors.append(err.name())

    topic, rate = args.topic, args.rate
    # Connect and get the idempotent producer id before the clock starts: one event, delivered. Without it the
    # first ~0.5 s of stamped events would wait for the connection and show up as latency of the level.
    key, value = pool[-1]
    prod.produce(topic, value=value, key=key, on_delivery=on_delivery)
    if prod.flush(30):
        raise SystemExit("pacer: could not deliver the warm-up event")
    first = int(time.time() * 1000)
    window_start = first + int(args.settle * 1000)
    window_end = window_start + int(args.window * 1000)
    stop_ms = window_end + int(args.tail * 1000)
    sent = in_window = 0
    started = time.monotonic()
    while True:
        now = time.time()
        if now * 1000 >= stop_ms:
            break
        due = int(rate * (time.monotonic() - started)) - sent
        if due <= 0:
            prod.poll(0)
            time.sleep(0.0005)
            continue
        for _ in range(min(due, 1000)):
            key, value = pool[sent % len(pool)]
            stamp = int(time.time() * 1000)
            while True:
                try:
                    prod.produce(topic, value=value, key=key, timestamp=stamp, on_delivery=on_delivery)
                    break
                except BufferError:
                    prod.poll(0.001)
            sent += 1
            if window_start <= stamp < window_end:
                in_window += 1
        prod.poll(0)
    elapsed = time.monotonic() - started
    remaining = prod.flush(30)
    print(
        json.dumps(
            {
                "window_start_ms": window_start,
                "window_end_ms": window_end,
                "in_window": in_window,
                "sent": sent,
                "achieved_rate": sent / elapsed if elapsed > 0 else 0.0,
                "undelivered": remaining + len(errors),
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
