"""Where P's time goes: the worker's ``batch_stage_seconds`` histograms, read from its ``/metrics`` page.

The worker logs the port of its operations endpoint (``ops_endpoint``, JSON log line); the bench reads the page
once at the end of a phase, before stopping the worker, and again at the start of the measured window where it
can, so the figures are the window's. Per stage: the mean seconds per batch, and the share of the summed stage
time. ``queued`` is the mean age of a batch's records when the batch starts (broker, fetch, the consumer's
buffer and the batch window), so it is per record, not a part of the batch's processing time.
"""

from __future__ import annotations

import json
import re
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from streams.ports import BATCH_STAGES

_SAMPLE = re.compile(r'^crm_anon_batch_stage_seconds_(sum|count)\{stage="([a-z_]+)"\} ([0-9.eE+-]+)$')
_BATCH_SIZE = re.compile(r"^crm_anon_batch_size_(sum|count) ([0-9.eE+-]+)$")


@dataclass
class Stages:
    """Sums and counts of the stage histograms (and of the batch sizes) at one moment."""

    sums: dict[str, float]
    counts: dict[str, float]
    events: float = 0.0
    batches: float = 0.0

    def since(self, earlier: Stages | None) -> Stages:
        if earlier is None:
            return self
        return Stages(
            {k: v - earlier.sums.get(k, 0.0) for k, v in self.sums.items()},
            {k: v - earlier.counts.get(k, 0.0) for k, v in self.counts.items()},
            self.events - earlier.events,
            self.batches - earlier.batches,
        )

    def mean_ms(self) -> dict[str, float]:
        """Mean milliseconds per batch of each stage, in ``BATCH_STAGES`` order (stages never seen left out)."""
        return {s: 1000.0 * self.sums[s] / self.counts[s] for s in BATCH_STAGES if self.counts.get(s)}

    def mean_batch(self) -> float:
        return self.events / self.batches if self.batches else 0.0


def metrics_port(log_path: Path) -> int | None:
    """The port the worker logged for its operations endpoint, if it got that far."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        return None
    for line in lines:
        if '"ops_endpoint"' not in line:
            continue
        try:
            return int(json.loads(line[line.index("{") :])["port"])
        except (ValueError, KeyError):
            continue
    return None


def scrape(log_path: Path, timeout_s: float = 3.0) -> Stages | None:
    """The stage histograms of the worker that writes ``log_path``; None if it cannot be read."""
    port = metrics_port(log_path)
    if port is None:
        return None
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=timeout_s) as response:
            text = response.read().decode()
    except OSError:
        return None
    return parse(text)


def parse(text: str) -> Stages:
    stages = Stages({}, {})
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match:
            kind, stage, value = match.groups()
            (stages.sums if kind == "sum" else stages.counts)[stage] = float(value)
            continue
        match = _BATCH_SIZE.match(line)
        if match:
            if match.group(1) == "sum":
                stages.events = float(match.group(2))
            else:
                stages.batches = float(match.group(2))
    return stages
