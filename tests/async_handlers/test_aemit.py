"""Async handlers: aemit_event, and what emit_event does with them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from canvas_core import events


class Greeting(events.Event):
    text: str


class Chain(events.Event):
    depth: int
    task: str


def test_aemit_awaits_async_handlers_and_calls_sync_ones() -> None:
    @events.handle_event(Greeting)
    async def shout(event: Greeting) -> None:
        await asyncio.sleep(0)  # really suspends
        event.text = event.text.upper()

    @events.handle_event(Greeting)
    def exclaim(event: Greeting) -> None:
        event.text += "!"

    greeting = asyncio.run(events.aemit_event(Greeting, text="hi"))

    assert greeting.text == "HI!"  # in either order


def test_aemit_scopes_handlers_by_origin() -> None:
    heard: list[str] = []

    @events.handle_event(Greeting, origin="mail")
    async def from_mail(event: Greeting) -> None:
        heard.append(f"mail:{event.text}")

    @events.handle_event(Greeting, origin="sms")
    async def from_sms(event: Greeting) -> None:
        heard.append(f"sms:{event.text}")

    asyncio.run(events.aemit_event(Greeting, origin="mail", text="a"))
    asyncio.run(events.aemit_event(Greeting, text="b"))

    assert heard == ["mail:a"]


def test_aemit_isolates_and_reports_failures_to_async_reporters(caplog: pytest.LogCaptureFixture) -> None:
    reported: list[events.HandlerFailed] = []
    ran: list[str] = []

    @events.handle_event(Greeting)
    async def broken(event: Greeting) -> None:
        raise ValueError("broken handler")

    @events.handle_event(Greeting)
    async def fine(event: Greeting) -> None:
        ran.append(event.text)

    @events.handle_event(events.HandlerFailed)
    async def report(event: events.HandlerFailed) -> None:
        await asyncio.sleep(0)
        reported.append(event)

    with caplog.at_level(logging.ERROR, logger="canvas_core.events"):
        greeting = asyncio.run(events.aemit_event(Greeting, text="x"))

    assert ran == ["x"]
    [failure] = reported
    assert failure.handler is broken  # the function as registered, not an adapter
    assert failure.event is greeting
    assert str(failure.exception) == "broken handler"
    assert "test_aemit_isolates_and_reports_failures_to_async_reporters.<locals>.broken failed" in caplog.text


def test_aemit_validates_fields_and_rejects_positional_arguments() -> None:
    with pytest.raises(events.EventValidationError, match="text"):
        asyncio.run(events.aemit_event(Greeting, text=1))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="keyword arguments only"):
        asyncio.run(events.aemit_event(Greeting, None, "positional"))  # type: ignore[call-arg]


def test_an_async_callable_object_is_a_valid_handler() -> None:
    class Collector:
        def __init__(self) -> None:
            self.texts: list[str] = []

        async def __call__(self, event: Greeting) -> None:
            self.texts.append(event.text)

    collector = Collector()
    events.handle_event(Greeting)(collector)

    asyncio.run(events.aemit_event(Greeting, text="async"))
    events.emit_event(Greeting, text="sync")

    assert collector.texts == ["async", "sync"]


def test_async_handlers_with_a_wrong_signature_are_still_rejected() -> None:
    async def no_arguments() -> None:
        pass

    with pytest.raises(TypeError, match="exactly one positional argument"):
        events.handle_event(Greeting)(no_arguments)  # type: ignore[arg-type]


def test_emit_event_without_a_running_loop_runs_async_handlers_to_completion() -> None:
    @events.handle_event(Greeting)
    async def shout(event: Greeting) -> None:
        await asyncio.sleep(0)
        event.text = event.text.upper()

    assert events.emit_event(Greeting, text="sync caller").text == "SYNC CALLER"


def test_emit_event_inside_a_running_loop_reports_async_handlers_instead_of_blocking() -> None:
    started: list[str] = []
    ran: list[str] = []
    reported: list[events.HandlerFailed] = []

    @events.handle_event(Greeting)
    async def needs_the_loop(event: Greeting) -> None:
        started.append(event.text)

    @events.handle_event(Greeting)
    def plain(event: Greeting) -> None:
        ran.append(event.text)

    events.handle_event(events.HandlerFailed)(reported.append)

    async def async_caller() -> Greeting:
        return events.emit_event(Greeting, text="from a coroutine")

    greeting = asyncio.run(async_caller())

    assert started == []  # never started, so no "coroutine was never awaited" either
    assert ran == ["from a coroutine"]
    [failure] = reported
    assert failure.handler is needs_the_loop
    assert failure.event is greeting
    assert isinstance(failure.exception, events.AsyncHandlerError)
    assert "await aemit_event" in str(failure.exception)


def test_nesting_depth_is_counted_per_task() -> None:
    """Two tasks nesting concurrently on one thread each stay under the limit."""
    deepest: dict[str, int] = {}
    depth_per_task = events.MAX_NESTING_DEPTH - 4

    @events.handle_event(Chain)
    async def deeper(event: Chain) -> None:
        deepest[event.task] = max(deepest.get(event.task, 0), event.depth)
        if event.depth < depth_per_task:
            await asyncio.sleep(0)  # let the other task nest in between
            await events.aemit_event(Chain, depth=event.depth + 1, task=event.task)

    async def both() -> None:
        await asyncio.gather(
            events.aemit_event(Chain, depth=1, task="a"),
            events.aemit_event(Chain, depth=1, task="b"),
        )

    asyncio.run(both())
    assert deepest == {"a": depth_per_task, "b": depth_per_task}


def test_runaway_async_recursion_is_stopped_and_reported() -> None:
    reported: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reported.append)

    @events.handle_event(Chain)
    async def forever(event: Chain) -> None:
        await events.aemit_event(Chain, depth=event.depth + 1, task="loop")

    asyncio.run(events.aemit_event(Chain, depth=1, task="loop"))

    nesting_errors = [r for r in reported if isinstance(r.exception, events.EventNestingError)]
    assert len(nesting_errors) == 1
    assert nesting_errors[0].event.depth == events.MAX_NESTING_DEPTH  # type: ignore[attr-defined]


@given(st.lists(st.booleans(), min_size=1, max_size=8))
def test_aemit_runs_each_matching_handler_once_whatever_the_mix(kinds: list[bool]) -> None:
    """Any mix of sync and async handlers: each runs exactly once, before the event is returned."""
    calls: list[int] = []

    def make(index: int, is_async: bool) -> Callable[[Greeting], object]:
        if is_async:

            async def handler(event: Greeting) -> None:
                await asyncio.sleep(0)
                calls.append(index)

        else:

            def handler(event: Greeting) -> None:  # type: ignore[misc]
                calls.append(index)

        return handler

    handlers = [make(index, is_async) for index, is_async in enumerate(kinds)]
    for handler in handlers:
        events.handle_event(Greeting)(handler)
    try:
        asyncio.run(events.aemit_event(Greeting, text="mix"))
        assert sorted(calls) == list(range(len(kinds)))
    finally:
        for handler in handlers:
            events.remove_handler(handler)
