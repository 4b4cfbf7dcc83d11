"""The state tables' RocksDB stores get bounded memory, not Faust's defaults (2 GiB block cache per partition)."""

from __future__ import annotations

from pathlib import Path

import faust

from streams.policy.loader import load_policy
from streams.processor.state import MIB, KCountTables, SubjectStateTables, rocksdb_table_options

REPO_ROOT = Path(__file__).resolve().parents[3]
BENCH_POLICY = REPO_ROOT / "tests" / "bench" / "policy.yaml"


def _app(tmp_path: Path, store: str) -> faust.App:
    return faust.App("unit-state", broker="kafka://127.0.0.1:1", store=store, datadir=str(tmp_path))


def test_subject_state_stores_use_the_bounded_options(tmp_path: Path) -> None:
    loaded = load_policy(BENCH_POLICY)
    topic = loaded.policy.sources[0].topic
    options = rocksdb_table_options(cache_mb=8, write_buffer_mb=4)
    tables = SubjectStateTables(_app(tmp_path, "rocksdb://"), loaded.policy, {topic: 3}, b"k" * 32, options)
    (table,) = tables._tables.values()
    configured = table.data.rocksdb_options
    assert configured.block_cache_size == 8 * MIB
    assert configured.write_buffer_size == 4 * MIB
    assert configured.max_write_buffer_number == 2
    # Each table gets its own copy: Faust's store pops keys from the mapping it is handed.
    assert options["block_cache_size"] == 8 * MIB


def test_the_memory_store_takes_no_rocksdb_options(tmp_path: Path) -> None:
    loaded = load_policy(BENCH_POLICY)
    topic = loaded.policy.sources[0].topic
    tables = SubjectStateTables(_app(tmp_path, "memory://"), loaded.policy, {topic: 3}, b"k" * 32)
    (table,) = tables._tables.values()
    assert not hasattr(table.data, "rocksdb_options")
    assert not KCountTables(_app(tmp_path, "memory://"), loaded.policy, {topic: 3})  # no k-anonymity rule
