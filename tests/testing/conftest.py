"""Helpers for this area's tests.

The suite also passes under the plugin's own options (``--canvas-shuffle``,
``--canvas-fail-on-handler-error``): tests that need a bus without the outer
run's instruments suspend them, and tests whose handlers fail on purpose say so
with ``canvas_fail_on_handler_error(False)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from canvas_core import events


@contextmanager
def outer_instruments_suspended() -> Iterator[None]:
    """Uninstall the instruments installed so far (the outer test run's) for the block."""
    suspended = events.installed_instruments()
    for instrument in suspended:
        events.remove_instrument(instrument)
    try:
        yield
    finally:
        for instrument in suspended:
            events.add_instrument(instrument)


@pytest.fixture
def no_outer_instruments() -> Iterator[None]:
    """Run the test on a bus without the outer run's instruments (such as its shuffle)."""
    with outer_instruments_suspended():
        yield


def run_inner_pytest(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    """Run pytest in-process on pytester's files, as a fresh session would.

    Without the outer run's Django set-up, cache, or instruments: they are
    process-wide, and the inner session installs its own.
    """
    with outer_instruments_suspended():
        return pytester.runpytest("-p", "no:django", "-p", "no:cacheprovider", *args)
