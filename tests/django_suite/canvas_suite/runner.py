"""A test runner that writes each test's outcome to ``CANVAS_SUITE_RESULTS`` (JSON: test id -> outcome)."""

from __future__ import annotations

import json
import os
import unittest
from pathlib import Path
from typing import Any, ClassVar

from django.test.runner import DiscoverRunner

_ExcInfo = Any


class RecordingResult(unittest.TextTestResult):
    """Text output as usual; outcomes kept by test id (in parallel runs, the main process replays them)."""

    outcomes: ClassVar[dict[str, str]] = {}  # one run per process: shared by the result objects

    def _record(self, test: unittest.TestCase, outcome: str) -> None:
        # A failing subtest fails its test; a later success of the test must not hide it.
        if self.outcomes.get(test.id()) not in {"failure", "error"}:
            self.outcomes[test.id()] = outcome

    def addSuccess(self, test: unittest.TestCase) -> None:
        super().addSuccess(test)
        self._record(test, "success")

    def addFailure(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        super().addFailure(test, err)
        self._record(test, "failure")

    def addError(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        super().addError(test, err)
        self._record(test, "error")

    def addSkip(self, test: unittest.TestCase, reason: str) -> None:
        super().addSkip(test, reason)
        self._record(test, "skip")

    def addExpectedFailure(self, test: unittest.TestCase, err: _ExcInfo) -> None:
        super().addExpectedFailure(test, err)
        self._record(test, "expected failure")

    def addUnexpectedSuccess(self, test: unittest.TestCase) -> None:
        super().addUnexpectedSuccess(test)
        self._record(test, "unexpected success")

    def addSubTest(self, test: unittest.TestCase, subtest: unittest.TestCase, err: _ExcInfo | None) -> None:
        super().addSubTest(test, subtest, err)
        if err is not None:
            self._record(test, "failure")


class RecordingRunner(DiscoverRunner):
    def get_resultclass(self) -> Any:
        return super().get_resultclass() or RecordingResult

    def run_suite(self, suite: unittest.TestSuite, **kwargs: Any) -> Any:
        result = super().run_suite(suite, **kwargs)
        path = os.environ.get("CANVAS_SUITE_RESULTS")
        if path:
            Path(path).write_text(json.dumps(RecordingResult.outcomes, indent=0, sort_keys=True))
        return result
