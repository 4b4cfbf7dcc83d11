"""Shared test configuration.

Under ``make test`` (CRM_ANON_FAIL_ON_SKIP=1) a skipped test fails the run: tests that need the broker or the
registry must run, never be skipped and counted as passing.
"""

from __future__ import annotations

import os

import pytest

_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped:
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if os.environ.get("CRM_ANON_FAIL_ON_SKIP") == "1" and _skipped:
        print(f"\n{len(_skipped)} test(s) skipped under CRM_ANON_FAIL_ON_SKIP=1: {_skipped}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
