"""Subject state and k-anonymity class counts in Faust tables (RocksDB store, changelog topics on the broker):
the shell around ``streams.subject_state`` and ``streams.k_anonymity``.

One table per source whose policy has DP fields, with as many partitions as the source topic: an entry is
written with the partition of the source record it belongs to, so the table is co-partitioned with the source
and a rebalance moves a subject's state with its partition (Faust restores it from the changelog). A batch
holds records of several partitions, while Faust's RocksDB store and changelog pick the partition from the
*current event*; so each read and write runs with the current event set to a record of that subject.

Consistency with the child process: the parent reads the entries a batch needs, hands them to the pipeline
with the records, and writes back what the pipeline changed before the batch is acknowledged (inside the
batch task, before its acks). Residual: if the worker dies after the outputs are on the broker but before the changelog
write, the reprocessed batch draws fresh noise for values first released in it (one extra release per value,
per such crash); see the README.

Class counts (``KCountTables``) are per source, not per subject: the child holds them all in memory, the
parent loads them from the table once the partitions are assigned (and recovered) and writes back what each
batch changed. An entry goes to the partition of a record of the batch; the same class may so be stored in
several partitions, and loading keeps the entry with the most subjects (counts only grow, and every write
holds the whole class). A worker that holds only some partitions (several workers in one group) counts only
the classes stored in them: fewer subjects, so more suppression, never less.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import faust
from faust.streams import _current_event  # Faust keeps the current event in this ContextVar

from streams.k_anonymity import ClassCount
from streams.policy.model import Policy
from streams.subject_state import needs_subject_state, state_key


@contextmanager
def _as_current(event: faust.EventT[Any]) -> Iterator[None]:
    token = _current_event.set(weakref.ref(event))
    try:
        yield
    finally:
        _current_event.reset(token)


MIB = 1024 * 1024


def rocksdb_table_options(cache_mb: int, write_buffer_mb: int) -> dict[str, int]:
    """Bounded memory per table partition (Faust opens one RocksDB per partition): a block cache of
    ``cache_mb`` and at most two memtables of ``write_buffer_mb``. Faust's defaults (2 GiB of block cache and
    3 x 64 MiB of memtables per partition, i.e. up to ~13 GiB for two tables of 3 partitions) put no real bound
    on the worker's memory as its state grows; a 10-minute soak is too short to show it (its state stays
    under 1 MB), a month of CDC traffic is not. Not covered: Faust does not put index and bloom-filter blocks
    in the block cache (``cache_index_and_filter_blocks`` is not among its options), so those still grow with
    the number of SST files, i.e. with the size of the state."""
    return {
        "block_cache_size": cache_mb * MIB,
        "block_cache_compressed_size": cache_mb * MIB,  # python-rocksdb only; rocksdict has no compressed cache
        "write_buffer_size": write_buffer_mb * MIB,
        "max_write_buffer_number": 2,
        "target_file_size_base": 4 * write_buffer_mb * MIB,
    }


def _store_options(options: Mapping[str, Any] | None) -> dict[str, Any]:
    # A fresh dict per table: Faust's RocksDB store pops keys from the mapping it is given.
    return {} if options is None else {"options": dict(options)}


class SubjectStateTables:
    """The state tables of an app, keyed by source topic."""

    def __init__(
        self,
        app: faust.App,
        policy: Policy,
        partitions: Mapping[str, int],
        secret: bytes,
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._secret = secret
        self._tables: dict[str, Any] = {
            s.topic: app.Table(
                f"subject-state-{s.name}",
                default=None,
                partitions=partitions[s.topic],
                key_type=bytes,  # raw bytes: the app's serializers are "raw"
                value_type=bytes,
                help=f"DP releases and budget ledgers of the subjects of {s.name}",
                **_store_options(options),
            )
            for s in policy.sources
            if needs_subject_state(s)
        }

    def __bool__(self) -> bool:
        return bool(self._tables)

    def _keyed(self, events: Sequence[faust.EventT[Any]]) -> Iterator[tuple[bytes, faust.EventT[Any], Any]]:
        for event in events:
            table = self._tables.get(event.message.topic)
            if table is None:
                continue
            key = state_key(self._secret, event.message.topic, event.message.key)
            if key is not None:
                yield key, event, table

    def read(self, events: Sequence[faust.EventT[Any]]) -> dict[bytes, bytes]:
        """The stored states of the subjects of ``events`` (absent subjects are left out)."""
        found: dict[bytes, bytes] = {}
        for key, event, table in self._keyed(events):
            if key in found:
                continue
            with _as_current(event):
                raw = table.get(key)
            if raw is not None:
                found[key] = bytes(raw)
        return found

    def write(self, events: Sequence[faust.EventT[Any]], changed: Mapping[bytes, bytes]) -> None:
        """Store changed states, each in the partition of (the last) record of its subject."""
        owners: dict[bytes, tuple[faust.EventT[Any], Any]] = {}
        for key, event, table in self._keyed(events):
            if key in changed:
                owners[key] = (event, table)
        for key, (event, table) in owners.items():
            with _as_current(event):
                table[key] = changed[key]


class KCountTables:
    """The k-anonymity class-count tables of an app, keyed by source topic."""

    def __init__(
        self,
        app: faust.App,
        policy: Policy,
        partitions: Mapping[str, int],
        options: Mapping[str, Any] | None = None,
    ) -> None:
        self._tables: dict[str, Any] = {
            s.topic: app.Table(
                f"k-classes-{s.name}",
                default=None,
                partitions=partitions[s.topic],
                key_type=bytes,
                value_type=bytes,
                help=f"k-anonymity class counts of {s.name} (keyed digests of quasi-identifier combinations)",
                **_store_options(options),
            )
            for s in policy.sources
            if s.k_anonymity is not None
        }

    def __bool__(self) -> bool:
        return bool(self._tables)

    def read_all(self) -> dict[str, dict[bytes, bytes]]:
        """Every stored class of the assigned partitions, per source topic (the fullest copy of each)."""
        loaded: dict[str, dict[bytes, bytes]] = {}
        for topic, table in self._tables.items():
            best: dict[bytes, tuple[int, bytes]] = {}
            for key, raw in table.items():
                if raw is None:
                    continue
                value = bytes(raw)
                subjects = ClassCount.decode(value).subjects
                if key not in best or subjects > best[key][0]:
                    best[bytes(key)] = (subjects, value)
            loaded[topic] = {key: value for key, (_, value) in best.items()}
        return loaded

    def write(self, events: Sequence[faust.EventT[Any]], changed: Mapping[str, Mapping[bytes, bytes]]) -> None:
        """Store changed classes, each in the partition of the last record of its source in the batch."""
        last: dict[str, faust.EventT[Any]] = {e.message.topic: e for e in events}
        for topic, entries in changed.items():
            table = self._tables.get(topic)
            event = last.get(topic)
            if table is None or event is None or not entries:
                continue
            with _as_current(event):
                for key, value in entries.items():
                    table[key] = value
