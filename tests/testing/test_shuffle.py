"""Seeded shuffling of handler order, and the plugin's options that turn it on."""

from __future__ import annotations

import itertools
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvas_core import events
from canvas_core.testing import ShuffledOrder, isolated_handlers, shuffled_handlers
from tests.testing.conftest import outer_instruments_suspended, run_inner_pytest


class Ping(events.Event):
    pass


def _register_three(ran: list[str]) -> None:
    for name in "abc":

        def record(event: Ping, name: str = name) -> None:
            ran.append(name)

        events.handle_event(Ping)(record)


def _orders(seed: int | str, emissions: int) -> list[str]:
    ran: list[str] = []
    _register_three(ran)
    with shuffled_handlers(seed):
        for _ in range(emissions):
            events.emit_event(Ping)
    return ["".join(ran[i : i + 3]) for i in range(0, len(ran), 3)]


@pytest.mark.usefixtures("no_outer_instruments")
def test_every_emission_draws_a_new_order_and_all_orders_occur() -> None:
    orders = _orders(seed=1, emissions=200)
    assert set(orders) == {"".join(p) for p in itertools.permutations("abc")}


@given(st.integers(min_value=0, max_value=10**9))
def test_the_same_seed_gives_the_same_orders(seed: int) -> None:
    def orders() -> list[str]:
        with isolated_handlers(), outer_instruments_suspended():
            return _orders(seed, emissions=5)

    assert orders() == orders()


def test_reseed_restarts_the_sequence_per_test() -> None:
    shuffle = ShuffledOrder(7)
    handlers = tuple(range(6))
    shuffle.reseed("test_a")
    first = [shuffle.select_handlers(Ping(), None, handlers) for _ in range(3)]  # type: ignore[arg-type]
    shuffle.reseed("test_b")
    shuffle.reseed("test_a")
    assert [shuffle.select_handlers(Ping(), None, handlers) for _ in range(3)] == first  # type: ignore[arg-type]


def test_a_drawn_seed_is_exposed() -> None:
    with shuffled_handlers() as shuffle:
        assert isinstance(shuffle.seed, int)


ORDER_DEPENDENT_TESTS = """
from canvas_core import events


class OrderPlaced(events.Event):
    total: int
    discounted: bool = False


def test_discount_then_tax():
    @events.handle_event(OrderPlaced)
    def apply_discount(event):
        event.total -= 10
        event.discounted = True

    @events.handle_event(OrderPlaced)
    def add_tax(event):
        # Silently relies on apply_discount having run first.
        assert event.discounted, "tax computed before the discount"
        event.total = event.total * 2

    for _ in range(20):
        assert events.emit_event(OrderPlaced, total=110).total == 200
"""


def test_registration_order_hides_the_dependency(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ORDER_DEPENDENT_TESTS)
    result = run_inner_pytest(pytester)
    result.assert_outcomes(passed=1)
    assert "shuffled with seed" not in result.stdout.str()


def test_shuffling_catches_handlers_that_depend_on_each_others_order(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(ORDER_DEPENDENT_TESTS)
    result = run_inner_pytest(pytester, "--canvas-shuffle")
    result.assert_outcomes(failed=1)
    header = re.search(
        r"canvas-core: event handlers shuffled with seed (\d+) \(reproduce with --canvas-seed=\1\)", result.stdout.str()
    )
    assert header is not None, result.stdout.str()
    result.stdout.fnmatch_lines(["*tax computed before the discount*", f"*rerun with --canvas-seed={header[1]}*"])

    # The printed seed reproduces the failure, at the same emission.
    first_failure = _failing_line(result)
    again = run_inner_pytest(pytester, f"--canvas-seed={header[1]}")
    again.assert_outcomes(failed=1)
    assert _failing_line(again) == first_failure


def _failing_line(result: pytest.RunResult) -> list[str]:
    return [line for line in result.outlines if line.startswith(">") or "AssertionError" in line]


def test_shuffling_from_the_ini_file(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ncanvas_shuffle = true\n")
    pytester.makepyfile(ORDER_DEPENDENT_TESTS)
    result = run_inner_pytest(pytester)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["canvas-core: event handlers shuffled with seed *"])


def test_the_session_removes_its_shuffle_when_it_ends(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_nothing(): pass")
    before = events.installed_instruments()
    run_inner_pytest(pytester, "--canvas-seed=3").assert_outcomes(passed=1)
    assert events.installed_instruments() == before
