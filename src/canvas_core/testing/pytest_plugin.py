"""The canvas-core pytest plugin, loaded automatically through the ``pytest11`` entry point.

Until a test uses it, the plugin only restores registrations after each
test (``canvas_isolate_handlers``, on by default). Everything else is asked for:

Fixtures
    ``captured_events``: an :class:`~canvas_core.testing.EventCapture` that
    records every emission of the test. ``event_handlers``: run only chosen
    handlers, or mute events, for the rest of the test.

Options (and ini settings)
    ``--canvas-shuffle`` (``canvas_shuffle = true``): run handlers in a random
    order on every emission; the seed is printed in the report header.
    ``--canvas-seed=N``: shuffle with seed ``N`` (reproduces a failure).
    ``--canvas-fail-on-handler-error`` (``canvas_fail_on_handler_error =
    true``): fail a test when a handler raised during it.

Markers
    ``@pytest.mark.canvas_fail_on_handler_error`` turns that check on for one
    test; ``@pytest.mark.canvas_fail_on_handler_error(False)`` turns it off.

canvas-core itself is imported only once a test needs it, so that coverage
tools started after plugins still see its import.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from contextlib import ExitStack
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from canvas_core.events import Event, Registration
    from canvas_core.testing import EventCapture, HandlerFailureRecorder, ShuffledOrder

_SHUFFLE: pytest.StashKey[ShuffledOrder] = pytest.StashKey()
_RECORDER: pytest.StashKey[HandlerFailureRecorder] = pytest.StashKey()
_FAIL_MARKER = "canvas_fail_on_handler_error"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("canvas-core", "canvas-core event handlers")
    group.addoption(
        "--canvas-shuffle",
        action="store_true",
        default=None,
        help="run event handlers in a random order on every emission (seed printed in the header)",
    )
    group.addoption(
        "--canvas-seed",
        type=int,
        default=None,
        metavar="SEED",
        help="shuffle event handlers with this seed (implies --canvas-shuffle); reproduces a shuffled run",
    )
    group.addoption(
        "--canvas-fail-on-handler-error",
        action="store_true",
        default=None,
        help="fail a test when an event handler raised during it",
    )
    parser.addini("canvas_shuffle", type="bool", default=False, help="run event handlers in a random order")
    parser.addini(
        "canvas_fail_on_handler_error", type="bool", default=False, help="fail a test when an event handler raised"
    )
    parser.addini(
        "canvas_isolate_handlers",
        type="bool",
        default=True,
        help="remove event handlers registered during a test after it (default: true)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{_FAIL_MARKER}(enabled=True): fail the test when an event handler raises during it "
        "(False turns off a check enabled by option or ini)",
    )
    seed: int | None = config.getoption("canvas_seed")
    if seed is None and (config.getoption("canvas_shuffle") or config.getini("canvas_shuffle")):
        from canvas_core.testing import new_seed

        seed = new_seed()
    if seed is not None:
        from canvas_core.events import add_instrument
        from canvas_core.testing import ShuffledOrder

        shuffle = ShuffledOrder(seed)
        add_instrument(shuffle)
        config.stash[_SHUFFLE] = shuffle


def pytest_unconfigure(config: pytest.Config) -> None:
    shuffle = config.stash.get(_SHUFFLE, None)
    if shuffle is not None:
        from canvas_core.events import remove_instrument

        remove_instrument(shuffle)
        del config.stash[_SHUFFLE]


def pytest_report_header(config: pytest.Config) -> str | None:
    shuffle = config.stash.get(_SHUFFLE, None)
    if shuffle is None:
        return None
    return (
        f"canvas-core: event handlers shuffled with seed {shuffle.seed} (reproduce with --canvas-seed={shuffle.seed})"
    )


def _marker_setting(item: pytest.Item) -> bool | None:
    """The ``canvas_fail_on_handler_error`` marker's choice for ``item``, or None without the marker."""
    marker = item.get_closest_marker(_FAIL_MARKER)
    if marker is None:
        return None
    enabled = marker.args[0] if marker.args else marker.kwargs.get("enabled", True)
    if not isinstance(enabled, bool):
        raise pytest.UsageError(f"{item.nodeid}: @pytest.mark.{_FAIL_MARKER}() takes True or False, got {enabled!r}")
    return enabled


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        _marker_setting(item)  # a misused marker stops the run before any test, like an unknown option


def _fail_on_handler_error(item: pytest.Item) -> bool:
    enabled = _marker_setting(item)
    if enabled is not None:
        return enabled
    return bool(item.config.getoption("canvas_fail_on_handler_error") or item.config.getini(_FAIL_MARKER))


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> Generator[None, None, None]:
    shuffle = item.config.stash.get(_SHUFFLE, None)
    if shuffle is not None:
        shuffle.reseed(item.nodeid)  # each test's orders depend on the seed and the test alone
    if _fail_on_handler_error(item):
        from canvas_core.events import add_instrument
        from canvas_core.testing import HandlerFailureRecorder

        recorder = HandlerFailureRecorder()
        add_instrument(recorder)
        item.stash[_RECORDER] = recorder
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    result = yield
    recorder = item.stash.get(_RECORDER, None)
    if recorder is not None and recorder.failures:
        from canvas_core.testing._failures import explain_failures

        pytest.fail(
            f"{explain_failures(recorder.failures)}\n\n"
            f"(checked because of {_FAIL_MARKER}; handlers that are meant to fail in this test can be "
            f"allowed with @pytest.mark.{_FAIL_MARKER}(False))",
            pytrace=False,
        )
    return result


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item) -> Generator[None, None, None]:
    try:
        return (yield)
    finally:
        recorder = item.stash.get(_RECORDER, None)
        if recorder is not None:
            from canvas_core.events import remove_instrument

            remove_instrument(recorder)
            del item.stash[_RECORDER]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    shuffle = item.config.stash.get(_SHUFFLE, None)
    if shuffle is not None and report.failed:
        report.sections.append(
            (
                "canvas-core",
                f"event handlers were shuffled with seed {shuffle.seed}; rerun with --canvas-seed={shuffle.seed}",
            )
        )
    return report


@pytest.fixture(autouse=True)
def _canvas_core_isolated_handlers(request: pytest.FixtureRequest) -> Iterator[None]:
    """Remove handlers registered during the test after it (ini ``canvas_isolate_handlers``)."""
    if not request.config.getini("canvas_isolate_handlers"):
        yield
        return
    from canvas_core.testing import isolated_handlers

    with isolated_handlers():
        yield


@pytest.fixture
def captured_events() -> Iterator[EventCapture]:
    """Every emission from this fixture's set-up to the end of the test, with assertion helpers."""
    from canvas_core.testing import capture_events

    with capture_events() as captured:
        yield captured


class EventHandlers:
    """Control which handlers run for the rest of a test (the ``event_handlers`` fixture)."""

    def __init__(self, stack: ExitStack) -> None:
        self._stack = stack

    def only(self, *handlers: Callable[..., object]) -> None:
        """From now on, keep only the registrations of ``handlers`` (see :func:`~canvas_core.testing.only_handlers`)."""
        from canvas_core.testing import only_handlers

        self._stack.enter_context(only_handlers(*handlers))

    def mute(self, *event_types: type[Event]) -> None:
        """From now on, run no handler for these events (see :func:`~canvas_core.testing.muted`)."""
        from canvas_core.testing import muted

        self._stack.enter_context(muted(*event_types))

    def registrations(self) -> list[Registration]:
        """The current registrations (see :func:`canvas_core.events.registrations`)."""
        from canvas_core.events import registrations

        return registrations()


@pytest.fixture
def event_handlers() -> Iterator[EventHandlers]:
    """Run only chosen handlers, or mute events, until the end of the test."""
    with ExitStack() as stack:
        yield EventHandlers(stack)
