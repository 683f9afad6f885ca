"""Helpers for running pytest inside a test (pytester), with canvas-core's plugin loaded as users get it."""

from __future__ import annotations

import pytest


def run_inner_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in-process on pytester's files, without the outer run's Django set-up and cache."""
    return pytester.runpytest("-p", "no:django", "-p", "no:cacheprovider", *args)
