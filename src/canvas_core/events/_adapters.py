"""Handlers that are not called plainly: coroutine functions and background handlers.

The registry decides once, at registration, how each handler runs and stores
an adapter in its place; the dispatch loop then calls every entry of a plan the
same way, so plain synchronous handlers pay nothing for these features.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

from ._describe import describe_callable

__all__ = ["ASYNC_RUNS", "AsyncHandler", "AsyncHandlerError", "FieldFilter", "HandlerAdapter", "reject_awaitable"]


class AsyncHandlerError(RuntimeError):
    """An async handler could not be run where it was emitted, and was reported as failed.

    Raised (and reported like any handler failure) in two cases:

    * an ``async def`` handler matched an :func:`emit_event` made while an
      event loop runs in the thread: ``emit_event`` cannot wait for a
      coroutine there without blocking the loop it would need, so the handler
      is not started. Emit with ``await aemit_event(...)`` from async code.
    * a handler registered as a plain callable returned a coroutine or another
      awaitable (a ``lambda`` calling an ``async def`` function, say). Nothing
      awaits it; the coroutine is closed. Declare the handler ``async def``
      (or mark it with :func:`inspect.markcoroutinefunction`) so that
      :func:`aemit_event` awaits it.
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
            f"async handler {describe_callable(self.handler)} cannot run from emit_event() "
            "while an event loop is running in this thread: waiting for it would block that loop. "
            "Emit with `await aemit_event(...)` from async code."
        )


async def _await(awaitable: Awaitable[object]) -> object:
    return await awaitable


def reject_awaitable(result: object, handler: Callable[..., object]) -> None:
    """Raise :class:`AsyncHandlerError` if a synchronous handler returned something to await.

    Called only for a result that is not ``None``, so ordinary handlers pay
    one comparison. A coroutine is closed, so that Python does not warn later
    that it was never awaited: the failure report says what happened instead.
    """
    if inspect.iscoroutine(result):
        result.close()
    elif not inspect.isawaitable(result):
        return
    raise AsyncHandlerError(
        f"handler {describe_callable(handler)} is synchronous but returned {type(result).__qualname__}, "
        "which nothing awaits; it did not run. Declare the handler `async def` (or mark it with "
        "inspect.markcoroutinefunction) and emit with `await aemit_event(...)`."
    )


# Plan entries that aemit_event awaits through their ``arun(event)`` (instrumented runs
# add their type here); any other entry that is not an AsyncHandler is called plainly.
ASYNC_RUNS: set[type[object]] = set()


class FieldFilter(HandlerAdapter):
    """Runs a handler of update events only when its diff names one of ``fields``.

    ``handle_event(PostRecordUpdate, origin=Setting, fields={"value"})`` stores
    this in the plan; ``runner`` is what would run otherwise (the handler, or
    its async or background adapter).
    """

    __slots__ = ("fields", "runner")

    def __init__(
        self, handler: Callable[[Any], object], runner: Callable[[Any], object], fields: frozenset[str]
    ) -> None:
        super().__init__(handler)
        self.runner = runner
        self.fields = fields

    def __call__(self, event: Any) -> object:
        if self.fields.isdisjoint(event.diff):
            return None
        return self.runner(event)

    async def arun(self, event: Any) -> None:
        if self.fields.isdisjoint(event.diff):
            return
        runner = self.runner
        if type(runner) is AsyncHandler:
            await runner.handler(event)
        else:
            result = runner(event)
            if result is not None:
                reject_awaitable(result, self.handler)


class BackgroundFieldFilter(FieldFilter):
    """A :class:`FieldFilter` in front of a background handler (plans run those last)."""

    __slots__ = ()

    background = True


ASYNC_RUNS.update((FieldFilter, BackgroundFieldFilter))
