"""Library log lines are rate-limited per kind: an outage is a few lines, not a thousand."""

from __future__ import annotations

import logging

import pytest

from streams import logging as app_logging


def test_repeated_connection_errors_are_rate_limited(caplog: pytest.LogCaptureFixture) -> None:
    limit = app_logging.RateLimit(every_s=60)
    logger = logging.getLogger("aiokafka.test_rate_limit")
    logger.addFilter(limit)
    try:
        with caplog.at_level(logging.ERROR, logger="aiokafka.test_rate_limit"):
            for attempt in range(1_000):
                logger.error("Unable connect to node with id %s: %s", 1, f"refused {attempt}")
            logger.error("Another kind of error")
    finally:
        logger.removeFilter(limit)
    messages = [r.getMessage() for r in caplog.records if r.name == "aiokafka.test_rate_limit"]
    assert len(messages) == 2
    assert limit.suppressed == 999


def test_the_next_line_let_through_counts_the_suppressed(caplog: pytest.LogCaptureFixture) -> None:
    limit = app_logging.RateLimit(every_s=0.0)
    record = logging.LogRecord("aiokafka.x", logging.ERROR, __file__, 1, "refused %s", (1,), None)
    assert limit.filter(record)
    limit._last[("aiokafka.x", logging.ERROR, "refused %s")] = (0.0, 5)
    again = logging.LogRecord("aiokafka.x", logging.ERROR, __file__, 1, "refused %s", (1,), None)
    assert limit.filter(again)
    assert again.getMessage() == "refused 1 [5 similar lines suppressed in the last 0s]"


def test_library_loggers_get_the_filter() -> None:
    import aiokafka.conn  # noqa: F401 (creates its module logger)

    import streams.kafka.config  # noqa: F401 (creates the librdkafka logger)

    app_logging.rate_limit_library_logs()
    assert app_logging.RATE_LIMIT in logging.getLogger("aiokafka.conn").filters
    assert app_logging.RATE_LIMIT in logging.getLogger("confluent_kafka.librdkafka").filters


def test_librdkafka_lines_are_rate_limited_even_when_logging_is_configured_first() -> None:
    """The offload child configures logging before it imports the client config (a fresh interpreter)."""
    import subprocess
    import sys

    code = (
        "import streams.logging as L; L.configure('info', 'json')\n"
        "import streams.kafka.config as c; print(L.RATE_LIMIT in c.LIBRDKAFKA_LOGGER.filters)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
