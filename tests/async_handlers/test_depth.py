"""aemit_event's nesting depth without an asyncio loop."""

from __future__ import annotations

import contextlib
from collections.abc import Coroutine
from typing import Any

from canvas_core import events


class Hop(events.Event):
    depth: int


def test_runaway_recursion_without_an_event_loop_is_stopped() -> None:
    """A coroutine driven by hand (as another async library would) has no asyncio task: still bounded."""
    reported: list[events.HandlerFailed] = []
    events.handle_event(events.HandlerFailed)(reported.append)

    @events.handle_event(Hop)
    async def forever(event: Hop) -> None:
        await events.aemit_event(Hop, depth=event.depth + 1)

    coroutine: Coroutine[Any, Any, object] = events.aemit_event(Hop, depth=1)
    with contextlib.suppress(StopIteration):
        coroutine.send(None)
    [nesting_error] = [r for r in reported if isinstance(r.exception, events.EventNestingError)]
    assert nesting_error.event.depth == events.MAX_NESTING_DEPTH  # type: ignore[attr-defined]
