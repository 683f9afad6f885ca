"""Failing a test when a handler failed in it: the option, ini setting, marker and context manager."""

from __future__ import annotations

import pytest

from canvas_core import events
from canvas_core.testing import HandlerFailuresError, raise_handler_failures
from tests.testing.conftest import run_inner_pytest

pytestmark = pytest.mark.canvas_fail_on_handler_error(False)  # failing handlers are the point


class Ping(events.Event):
    pass


def test_raise_handler_failures_raises_at_the_end_with_every_failure() -> None:
    ran: list[str] = []

    @events.handle_event(Ping, origin="shop")
    def broken(event: Ping) -> None:
        raise KeyError("missing")

    @events.handle_event(Ping)
    def fine(event: Ping) -> None:
        ran.append("fine")

    def emit_twice() -> None:
        with raise_handler_failures():
            events.emit_event(Ping, origin="shop")
            events.emit_event(Ping, origin="shop")
            assert ran == ["fine", "fine"]  # the emitter carried on inside the block

    with pytest.raises(HandlerFailuresError) as error:
        emit_twice()
    message = str(error.value)
    assert message.startswith("2 event handler(s) failed")
    assert (
        "test_handler_failures.test_raise_handler_failures_raises_at_the_end_with_every_failure.<locals>.broken "
        "raised KeyError: 'missing' while handling Ping (origin: 'shop')" in message
    )
    assert 'raise KeyError("missing")' in message  # the traceback
    assert [f.handler for f in error.value.failures] == [broken, broken]


def test_raise_handler_failures_is_quiet_when_nothing_failed() -> None:
    events.handle_event(Ping)(lambda event: None)
    with raise_handler_failures() as recorder:
        events.emit_event(Ping)
    assert recorder.failures == []


FAILING_HANDLER_TESTS = """
import pytest
from canvas_core import events


class Ping(events.Event):
    pass


def broken(event):
    raise RuntimeError("handler bug")


def test_plain():
    events.handle_event(Ping)(broken)
    events.emit_event(Ping)


@pytest.mark.canvas_fail_on_handler_error
def test_marked():
    events.handle_event(Ping)(broken)
    events.emit_event(Ping)


@pytest.mark.canvas_fail_on_handler_error(False)
def test_opted_out():
    events.handle_event(Ping)(broken)
    events.emit_event(Ping)


@pytest.fixture
def emits_in_setup():
    events.handle_event(Ping)(broken)
    events.emit_event(Ping)


@pytest.mark.canvas_fail_on_handler_error
def test_failure_in_fixture_setup(emits_in_setup):
    pass


@pytest.mark.canvas_fail_on_handler_error
def test_own_failure_wins():
    events.handle_event(Ping)(broken)
    events.emit_event(Ping)
    assert False, "the test's own assertion"
"""


def test_off_by_default_except_for_marked_tests(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_HANDLER_TESTS)
    result = run_inner_pytest(pytester, "-rf")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        [
            "FAILED *::test_marked*",
            "FAILED *::test_failure_in_fixture_setup*",
            "FAILED *::test_own_failure_wins*",
        ]
    )
    result.stdout.fnmatch_lines(["E       AssertionError: the test's own assertion"])
    result.stdout.fnmatch_lines(
        [
            "1 event handler(s) failed; the emitter carried on, but this check does not:",
            "1. *.broken raised RuntimeError: handler bug while handling Ping (origin: None)",
        ]
    )
    result.stdout.fnmatch_lines(['*raise RuntimeError("handler bug")*'])


def test_the_option_turns_it_on_for_every_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_HANDLER_TESTS)
    result = run_inner_pytest(pytester, "--canvas-fail-on-handler-error")
    result.assert_outcomes(passed=1, failed=4)


def test_the_ini_setting_turns_it_on_for_every_test(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncanvas_fail_on_handler_error = true\n")
    pytester.makepyfile(FAILING_HANDLER_TESTS)
    result = run_inner_pytest(pytester)
    result.assert_outcomes(passed=1, failed=4)


def test_a_bad_marker_argument_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest

        @pytest.mark.canvas_fail_on_handler_error("yes")
        def test_it():
            pass
        """
    )
    result = run_inner_pytest(pytester)
    result.stderr.fnmatch_lines(["*canvas_fail_on_handler_error() takes True or False, got 'yes'*"])


def test_the_check_removes_its_recorder_after_each_test(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(FAILING_HANDLER_TESTS)
    before = events.installed_instruments()
    run_inner_pytest(pytester, "--canvas-fail-on-handler-error")
    assert events.installed_instruments() == before


def test_isolation_can_be_turned_off(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncanvas_isolate_handlers = false\n")
    pytester.makepyfile(
        """
        from canvas_core import events

        class Ping(events.Event):
            pass

        def test_registers():
            events.handle_event(Ping)(print)

        def test_still_registered():
            assert events.handlers_for(Ping) == (print,)
            events.remove_handler(print)
        """
    )
    run_inner_pytest(pytester, "-p", "no:randomly").assert_outcomes(passed=2)
