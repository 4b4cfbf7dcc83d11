"""structlog setup: small processors, JSON or console, no values.

Faust and aiokafka log message contents at DEBUG (``send: ... k=... v=...``); their loggers are pinned to
WARNING whatever our level is, so a debug session cannot spill raw records into logs.
"""

from __future__ import annotations

import logging
import sys

import structlog

NOISY_LIBRARIES = ("faust", "aiokafka", "mode", "kafka", "httpx", "httpcore", "httpx2", "httpcore2", "confluent_kafka")


def configure(level: str = "info", fmt: str = "console") -> None:
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    logging.basicConfig(stream=sys.stderr, level=numeric, format="%(message)s", force=True)
    for name in NOISY_LIBRARIES:
        logging.getLogger(name).setLevel(max(numeric, logging.WARNING))
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    rate_limit_library_logs()


class RateLimit(logging.Filter):
    """Lets one line per (logger, level, message template) through every ``every_s`` seconds.

    A broker or registry outage makes client libraries log a connection error per retry (about 1,000 lines
    in 14 s during a broker restart); one line per kind and interval says the same. The next line let
    through says how many were suppressed.
    """

    def __init__(self, every_s: float = 10.0) -> None:
        super().__init__()
        self._every = every_s
        self._last: dict[tuple[str, int, str], tuple[float, int]] = {}
        self.suppressed = 0  # a metric: lines dropped

    def filter(self, record: logging.LogRecord) -> bool:
        import time

        key = (record.name, record.levelno, str(record.msg)[:80])
        now = time.monotonic()
        last, skipped = self._last.get(key, (-self._every, 0))
        if now - last < self._every:
            self._last[key] = (last, skipped + 1)
            self.suppressed += 1
            return False
        self._last[key] = (now, 0)
        if skipped:
            record.msg = f"{record.msg} [{skipped} similar lines suppressed in the last {self._every:.0f}s]"
        return True


RATE_LIMIT = RateLimit()
RATE_LIMITED_PREFIXES = ("aiokafka", "faust", "mode", "kafka", "confluent_kafka")


def rate_limit_library_logs() -> None:
    """Attach :data:`RATE_LIMIT` to every library logger created so far (a logger's filters apply to the
    records it creates, so each module logger gets it). Call after the libraries are imported."""
    for name in list(logging.root.manager.loggerDict):
        if name.split(".")[0] in RATE_LIMITED_PREFIXES:
            logger = logging.getLogger(name)
            if RATE_LIMIT not in logger.filters:
                logger.addFilter(RATE_LIMIT)
