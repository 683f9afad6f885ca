"""Dispatch cost against registry size, per-call origins and registration churn.

Not part of the default test run. Run with (the 100,000-type cases build
100,000 event classes, about a minute)::

    .venv/bin/python -m pytest tests/benchmarks/test_registry_scaling.py -o addopts="" -p no:randomly \\
        --benchmark-only --benchmark-group-by=group --benchmark-columns=min,median,rounds \\
        --benchmark-json=/tmp/scaling.json -s
    .venv/bin/python -m tests.benchmarks.scaling_table /tmp/scaling.json   # the table in docs/guide/performance.md

Each group compares a scenario with its baseline at the same registry size:

* ``origin-N``: an emission from a new origin object each call (a request, a
  model instance) against a cache hit, with N other event types registered.
  Both create the object, so the difference is the dispatch alone;
* ``churn-100000``: the first emission after a registration change, and
  ``handle_event``/``remove_handler`` themselves, with 100,000 types registered;
* ``rotating``: cycling through 10,000 distinct origins against one origin;
* ``aemit-sync``/``aemit-async``: ``aemit_event`` against a coroutine that builds
  the event and calls (awaits) the handler, 1,000 of each per round in a task,
  the two timed in turn (their ratio is in each benchmark's ``extra_info``).

``test_memory`` prints bytes per registration and per cached plan (tracemalloc).
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import statistics
import time
import tracemalloc
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict
from pytest_benchmark.fixture import BenchmarkFixture

from canvas_core import events
from canvas_core.events._registry import Registry

SIZES = [10, 1_000, 100_000]


class Message(events.Event):
    message: str
    count: int


class Floor(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
    message: str
    count: int


class Request:
    """A per-call origin: hashable by identity, and not worth keeping."""


class Billing:
    """A long-lived origin (a class)."""


_crowd_types: list[type[events.Event]] = []


def _noop(event: events.Event) -> None:
    pass


def register_crowd(size: int) -> None:
    """Register a handler for each of ``size`` other event types (the classes are made once per process)."""
    while len(_crowd_types) < size:
        _crowd_types.append(type(f"Crowd{len(_crowd_types)}", (events.Event,), {}))
    for event_type in _crowd_types[:size]:
        events.handle_event(event_type)(_noop)


def message_handlers(sink: list[int]) -> None:
    """One handler for every origin, and one scoped to another origin (so that the origin is looked up)."""
    events.handle_event(Message)(lambda event: sink.append(event.count))
    events.handle_event(Message, origin="elsewhere")(_noop)


@pytest.mark.parametrize("size", SIZES)
def test_cache_hit(benchmark: BenchmarkFixture, size: int) -> None:
    benchmark.group = f"origin-{size}"
    register_crowd(size)
    sink: list[int] = []
    message_handlers(sink)

    def run() -> None:
        Request()
        events.emit_event(Message, origin=Billing, message="hello", count=1)
        sink.clear()

    benchmark(run)


@pytest.mark.parametrize("size", SIZES)
def test_new_origin_each_call(benchmark: BenchmarkFixture, size: int) -> None:
    benchmark.group = f"origin-{size}"
    register_crowd(size)
    sink: list[int] = []
    message_handlers(sink)

    def run() -> None:
        events.emit_event(Message, origin=Request(), message="hello", count=1)
        sink.clear()

    benchmark(run)


def test_first_emission_after_a_change(benchmark: BenchmarkFixture) -> None:
    benchmark.group = "churn-100000"
    register_crowd(100_000)
    sink: list[int] = []
    message_handlers(sink)
    toggled = itertools.cycle([True, False])

    def change() -> None:
        if next(toggled):
            events.handle_event(Message)(_noop)
        else:
            events.remove_handler(_noop, Message)

    def first_emission() -> None:
        events.emit_event(Message, origin=Billing, message="hello", count=1)
        sink.clear()

    benchmark.pedantic(first_emission, setup=change, rounds=500, warmup_rounds=10)  # type: ignore[no-untyped-call]


def test_handle_event(benchmark: BenchmarkFixture) -> None:
    benchmark.group = "churn-100000"
    register_crowd(100_000)
    message_handlers([])
    events.emit_event(Message, origin=Billing, message="hello", count=1)

    def handler(event: Message) -> None:
        pass

    def register() -> None:
        events.handle_event(Message)(handler)

    def unregister() -> None:
        events.remove_handler(handler)

    benchmark.pedantic(register, setup=unregister, rounds=500, warmup_rounds=10)  # type: ignore[no-untyped-call]


def test_remove_handler(benchmark: BenchmarkFixture) -> None:
    benchmark.group = "churn-100000"
    register_crowd(100_000)
    message_handlers([])
    events.emit_event(Message, origin=Billing, message="hello", count=1)

    def handler(event: Message) -> None:
        pass

    def register() -> None:
        events.handle_event(Message)(handler)

    def unregister() -> None:
        events.remove_handler(handler)

    benchmark.pedantic(unregister, setup=register, rounds=500, warmup_rounds=10)  # type: ignore[no-untyped-call]


ROTATION = 10_000


@pytest.mark.parametrize("kind", ["fixed", "objects", "strings"])
def test_rotating_origins(benchmark: BenchmarkFixture, kind: str) -> None:
    """10,000 distinct origins in turn (objects are never cached; strings overflow the plan cache)."""
    benchmark.group = "rotating"
    sink: list[int] = []
    message_handlers(sink)
    origins: list[object]
    if kind == "fixed":
        origins = [Billing]
    elif kind == "objects":
        origins = [Request() for _ in range(ROTATION)]
    else:
        origins = [f"tenant-{index}" for index in range(ROTATION)]
    cycle = itertools.cycle(origins)

    def run() -> None:
        events.emit_event(Message, origin=next(cycle), message="hello", count=1)
        sink.clear()

    benchmark(run)


AEMITS_PER_ROUND = 1_000
INTERLEAVED_ROUNDS = 200


@pytest.mark.parametrize("handler_kind", ["sync", "async"])
def test_aemit(benchmark: BenchmarkFixture, handler_kind: str) -> None:
    """1,000 emissions per round inside one task of a running loop (times are per 1,000).

    The benchmark times ``aemit_event``; its floor is timed in the same test,
    round for round in turn with it, so that their ratio (``extra_info``) does
    not depend on how busy the machine was in between.
    """
    benchmark.group = f"aemit-{handler_kind}"
    sink: list[int] = []

    def sync_handler(event: Any) -> None:
        sink.append(event.count)

    async def async_handler(event: Any) -> None:
        sink.append(event.count)

    async def floor_sync(**fields: Any) -> None:
        event = Floor(**fields)
        try:  # noqa: SIM105 - the same try/except the bus pays for
            sync_handler(event)
        except Exception:
            pass

    async def floor_async(**fields: Any) -> None:
        event = Floor(**fields)
        try:  # noqa: SIM105 - the same try/except the bus pays for
            await async_handler(event)
        except Exception:
            pass

    async def rounds() -> None:
        for _ in range(AEMITS_PER_ROUND):
            await events.aemit_event(Message, message="hello", count=1)
        sink.clear()

    async def floor_rounds() -> None:
        floor = floor_sync if handler_kind == "sync" else floor_async
        for _ in range(AEMITS_PER_ROUND):
            await floor(message="hello", count=1)
        sink.clear()

    events.handle_event(Message)(sync_handler if handler_kind == "sync" else async_handler)
    loop = asyncio.new_event_loop()
    try:
        times: dict[str, list[float]] = {"aemit": [], "floor": []}
        for _ in range(INTERLEAVED_ROUNDS):
            for side, run in (("floor", floor_rounds), ("aemit", rounds)):
                start = time.perf_counter()
                loop.run_until_complete(run())
                times[side].append(time.perf_counter() - start)
        ratios = [aemit / floor for aemit, floor in zip(times["aemit"], times["floor"], strict=True)]
        benchmark.extra_info.update(
            floor_best=min(times["floor"]),
            ratio_best=min(times["aemit"]) / min(times["floor"]),
            ratio_median=statistics.median(ratios),
        )
        benchmark(lambda: loop.run_until_complete(rounds()))
    finally:
        loop.close()


def test_memory(benchmark: BenchmarkFixture) -> None:
    """Bytes per registration (100,000 registrations) and per cached plan, and none kept per call origin."""
    benchmark.group = "memory"
    size = 100_000
    while len(_crowd_types) < size:
        _crowd_types.append(type(f"Crowd{len(_crowd_types)}", (events.Event,), {}))
    registry = Registry()
    handlers = [(lambda event: None) for _ in range(size)]
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    for event_type, handler in zip(_crowd_types[:size], handlers, strict=True):
        registry.add(event_type, None, handler)
    per_registration = (tracemalloc.get_traced_memory()[0] - before) / size

    before = tracemalloc.get_traced_memory()[0]
    plans = 4_000
    for event_type in _crowd_types[:plans]:
        registry.plan(event_type, Billing)
    per_plan = (tracemalloc.get_traced_memory()[0] - before) / plans

    before = tracemalloc.get_traced_memory()[0]
    for _ in range(10_000):
        registry.plan(_crowd_types[0], Request())
    gc.collect()
    per_call_origin = (tracemalloc.get_traced_memory()[0] - before) / 10_000
    tracemalloc.stop()

    benchmark.extra_info.update(
        bytes_per_registration=round(per_registration),
        bytes_per_plan=round(per_plan),
        bytes_per_call_origin=round(per_call_origin, 2),
    )
    print(
        f"\nmemory: {per_registration:.0f} B per registration (of {size:,}), {per_plan:.0f} B per cached plan, "
        f"{per_call_origin:.2f} B kept per emission from a per-call origin"
    )
    benchmark.pedantic(lambda: registry.plan(_crowd_types[0], Request()), rounds=100)  # type: ignore[no-untyped-call]
