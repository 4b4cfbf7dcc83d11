"""Progress bars for long commands (generate, demo), on stderr and only on a terminal: stdout stays the
machine-readable result (the last JSON line)."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeRemainingColumn

T = TypeVar("T")


def _progress() -> Progress:
    console = Console(stderr=True)
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not sys.stderr.isatty(),
    )


def tracked(items: Iterable[T], total: int, description: str) -> Iterator[T]:
    """``items``, advancing a bar of ``total`` steps."""
    with _progress() as bar:
        task = bar.add_task(description, total=total)
        for item in items:
            yield item
            bar.advance(task)


@contextmanager
def counter(total: int, description: str) -> Iterator[tuple[Progress, TaskID]]:
    """A bar the caller advances (``bar.update(task, completed=n)``)."""
    with _progress() as bar:
        yield bar, bar.add_task(description, total=total)
