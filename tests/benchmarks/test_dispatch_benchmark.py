"""Dispatch cost, next to the floor of building the same pydantic model by hand.

Not part of the default test run. Run with:

    .venv/bin/python -m pytest tests/benchmarks/test_dispatch_benchmark.py --benchmark-group-by=group

Compare each ``canvas_core`` row with the ``floor`` row of its group: the
difference is the whole cost of the bus. ``../shared/bench/compare.py`` adds
the peers (Django signals, blinker, pluggy, pyee).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from pytest_benchmark.fixture import BenchmarkFixture

from canvas_core import events


class Message(events.Event):
    message: str
    count: int


class Floor(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    message: str
    count: int


def reader(sink: list[int]) -> Callable[[Any], None]:
    def handler(event: Any) -> None:
        sink.append(event.count)

    return handler


@pytest.mark.parametrize("handlers", [0, 1, 10])
def test_emit(benchmark: BenchmarkFixture, handlers: int) -> None:
    benchmark.group = f"emit{handlers}"
    sink: list[int] = []
    for _ in range(handlers):
        events.handle_event(Message)(reader(sink))

    def run() -> None:
        events.emit_event(Message, message="hello", count=1)
        sink.clear()

    benchmark(run)


@pytest.mark.parametrize("handlers", [0, 1, 10])
def test_floor(benchmark: BenchmarkFixture, handlers: int) -> None:
    benchmark.group = f"emit{handlers}"
    sink: list[int] = []
    loop = tuple(reader(sink) for _ in range(handlers))

    def run() -> None:
        event = Floor(message="hello", count=1)
        for handler in loop:
            try:  # noqa: SIM105 - the same try/except the bus pays for
                handler(event)
            except Exception:
                pass
        sink.clear()

    benchmark(run)


def test_emit_in_a_crowd(benchmark: BenchmarkFixture) -> None:
    """One matching handler among 2,000 other event types and 1,000 other origins."""
    benchmark.group = "emit1"
    sink: list[int] = []
    events.handle_event(Message)(reader(sink))
    for index in range(2000):
        other = type(f"Crowd{index}", (events.Event,), {"__annotations__": {"x": int}})
        events.handle_event(other)(lambda event: None)
    for index in range(1000):
        events.handle_event(Message, origin=("elsewhere", index))(lambda event: None)

    def run() -> None:
        events.emit_event(Message, origin="here", message="hello", count=1)
        sink.clear()

    benchmark(run)


def test_emit_generic_record_event(benchmark: BenchmarkFixture) -> None:
    """What the ORM integration pays per lifecycle event with one handler."""
    benchmark.group = "records"

    class Setting:
        pass

    setting = Setting()
    events.handle_event(events.PostRecordUpdate, origin=Setting)(lambda event: None)
    parametrized = events.PostRecordUpdate[Setting]

    benchmark(lambda: events.emit_event(parametrized, origin=Setting, record=setting, diff={}))


def test_handler_failure(benchmark: BenchmarkFixture) -> None:
    """The failure path: logging with traceback plus a HandlerFailed emission."""
    import logging

    benchmark.group = "failure"
    logging.getLogger("canvas_core.events").disabled = True

    @events.handle_event(Message)
    def broken(event: Message) -> None:
        raise ValueError

    try:
        benchmark(lambda: events.emit_event(Message, message="hello", count=1))
    finally:
        logging.getLogger("canvas_core.events").disabled = False
