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
