"""Progress bars never change what a command yields or prints on stdout."""

from __future__ import annotations

import pytest

from streams.devtools.progress import counter, tracked


def test_tracked_yields_every_item_in_order(capsys: pytest.CaptureFixture[str]) -> None:
    assert list(tracked(iter(range(5)), 5, "x")) == [0, 1, 2, 3, 4]
    with counter(3, "y") as (bar, task):
        bar.update(task, completed=3)
        assert bar.tasks[0].completed == 3
    assert capsys.readouterr().out == ""
