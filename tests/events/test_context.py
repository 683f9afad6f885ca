"""events.context(): who, which request and why, isolated per thread and task, seen by nested emissions."""

from __future__ import annotations

import asyncio
import threading

import pytest

from canvas_core import events


class Ping(events.Event):
    pass


class Pong(events.Event):
    pass


def test_handlers_and_nested_emissions_see_the_context() -> None:
    seen: list[tuple[str, str | None, str | None]] = []

    @events.handle_event(Ping)
    def on_ping(event: Ping) -> None:
        seen.append(("ping", events.current_context().actor, events.current_context().reason))
        with events.context(reason="follow-up"):
            events.emit_event(Pong)

    @events.handle_event(Pong)
    def on_pong(event: Pong) -> None:
        seen.append(("pong", events.current_context().actor, events.current_context().reason))

    with events.context(actor="auth.user:1", reason="ticket 311"):
        events.emit_event(Ping)
    events.emit_event(Pong)
    assert seen == [
        ("ping", "auth.user:1", "ticket 311"),
        ("pong", "auth.user:1", "follow-up"),  # inner blocks override what they set, keep the rest
        ("pong", None, None),
    ]


def test_blocks_restore_on_exit_and_merge_extra() -> None:
    with events.context(request_id="r1", extra={"tenant": "a"}) as outer:
        with events.context(extra={"region": "eu"}, request_id=None) as inner:
            assert inner.as_dict() == {"extra": {"tenant": "a", "region": "eu"}}
        assert events.current_context() is outer
        with pytest.raises(RuntimeError), events.context(reason="x"):
            raise RuntimeError
        assert events.current_context() is outer
    assert not events.current_context()
    assert events.current_context().as_dict() == {}


def test_threads_and_tasks_are_isolated() -> None:
    seen: dict[str, str | None] = {}

    def in_thread() -> None:
        seen["thread"] = events.current_context().actor

    async def task(name: str) -> None:
        with events.context(actor=name):
            await asyncio.sleep(0)
            seen[name] = events.current_context().actor

    async def main() -> None:
        await asyncio.gather(task("a"), task("b"))

    with events.context(actor="main"):
        thread = threading.Thread(target=in_thread)
        thread.start()
        thread.join()
        asyncio.run(main())
    assert seen == {"thread": None, "a": "a", "b": "b"}


def test_a_lazy_actor_is_resolved_once_and_only_when_asked() -> None:
    calls: list[int] = []

    def lookup() -> str:
        calls.append(1)
        return "auth.user:7"

    with events.context(actor=lookup) as ctx:
        assert calls == []
        assert ctx.actor == "auth.user:7"
        assert ctx.actor == "auth.user:7"
    assert calls == [1]


def test_bad_values_are_refused_with_what_to_pass() -> None:
    class User:
        pk = 1

    with pytest.raises(TypeError, match="pass an identifier such as"), events.context(actor=User()):  # type: ignore[arg-type]
        pass
    with pytest.raises(TypeError, match=r"request_id=\.\.\.\) takes a string"), events.context(request_id=5):  # type: ignore[arg-type]
        pass
    with pytest.raises(AttributeError, match="immutable"):
        events.current_context().reason = "x"


def test_round_trip_keeps_only_strings_and_repr_shows_no_values() -> None:
    ctx = events.EmissionContext(actor="a", request_id="r", reason="why", extra={"k": "v"})
    assert events.EmissionContext.from_dict(ctx.as_dict()) == ctx
    assert events.EmissionContext.from_dict({"actor": 1, "extra": {"k": 2}}).as_dict() == {}
    assert "why" not in repr(ctx)
