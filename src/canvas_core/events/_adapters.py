"""Handlers that are not called plainly: coroutine functions and background handlers.

The registry decides once, at registration, how each handler runs and stores
an adapter in its place; the dispatch loop then calls every entry of a plan the
same way, so plain synchronous handlers pay nothing for these features.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

__all__ = ["AsyncHandler", "AsyncHandlerError", "HandlerAdapter"]


class AsyncHandlerError(RuntimeError):
    """An ``async def`` handler matched an :func:`emit_event` made while an event loop runs in the thread.

    ``emit_event`` cannot wait for a coroutine there without blocking the loop
    it would need; the handler is not started, and this error is reported like
    any handler failure. Emit with ``await aemit_event(...)`` from async code.
    """


class HandlerAdapter:
    """Stands in a dispatch plan for a registered handler that needs more than a call."""

    __slots__ = ("handler",)

    background: ClassVar[bool] = False
    """A background handler: plans run these after all others, so that their copy of the event is final."""

    def __init__(self, handler: Callable[[Any], object]) -> None:
        self.handler = handler

    def __call__(self, event: Any) -> object:  # pragma: no cover - every adapter overrides it
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.handler!r}>"


class AsyncHandler(HandlerAdapter):
    """An ``async def`` handler.

    :func:`aemit_event` awaits ``handler`` directly. Called synchronously (from
    :func:`emit_event`), it runs the coroutine to completion on a new event
    loop, or raises :class:`AsyncHandlerError` when a loop is already running
    in the thread.
    """

    __slots__ = ()

    handler: Callable[[Any], Awaitable[object]]

    def __call__(self, event: Any) -> object:
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_await(self.handler(event)))
        raise AsyncHandlerError(
            f"async handler {getattr(self.handler, '__qualname__', self.handler)} cannot run from emit_event() "
            "while an event loop is running in this thread: waiting for it would block that loop. "
            "Emit with `await aemit_event(...)` from async code."
        )


async def _await(awaitable: Awaitable[object]) -> object:
    return await awaitable
