"""Who made a change and why: the emission context.

A handler often needs to know more than the event says: which user caused
it, which request it belongs to, why it happened. Passing that through every
event's fields would put it in every event's schema and every emit call.
Instead the emitter's code (or a middleware) sets it once, for a block::

    with events.context(actor="user:42", request_id="9f1c", reason="support ticket 311"):
        ...  # every emission in here, however deep, sees it

and handlers read it with :func:`current_context`. It is held in a
:class:`~contextvars.ContextVar`, so threads and asyncio tasks each see their
own, nested emissions see their emitter's, and integrations carry it to the
places a context variable does not reach by itself (``after_commit``
callbacks, background jobs, OpenTelemetry spans).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = ["EmissionContext", "context", "current_context"]

_UNSET: Any = object()


class EmissionContext:
    """What :func:`context` blocks say about the emissions inside them (immutable).

    Every attribute is ``None`` (``extra``: empty) unless some enclosing
    block set it. Values are strings, because they travel: into span
    attributes and background jobs.

    * :attr:`actor`: who causes the emissions;
    * ``request_id``: an id of the request, job or command they belong to;
    * ``reason``: why the change is made, in words (an admin action, a
      migration, a support ticket);
    * ``extra``: further string values an application wants handlers to see.
    """

    __slots__ = ("_actor", "extra", "reason", "request_id")

    _actor: str | Callable[[], str | None] | None
    request_id: str | None
    reason: str | None
    extra: Mapping[str, str]

    def __init__(
        self,
        *,
        actor: str | Callable[[], str | None] | None = None,
        request_id: str | None = None,
        reason: str | None = None,
        extra: Mapping[str, str] | None = None,
    ) -> None:
        object.__setattr__(self, "_actor", actor)
        object.__setattr__(self, "request_id", request_id)
        object.__setattr__(self, "reason", reason)
        object.__setattr__(self, "extra", dict(extra or {}))

    @property
    def actor(self) -> str | None:
        """Who causes the emissions: a user, a service, a command (``"auth.user:42"``, ``"cron"``).

        A middleware may give a function instead of a string, so that the user
        is looked up only if some handler asks; it is called at most once.
        """
        actor = self._actor
        if callable(actor):
            resolved = actor()
            object.__setattr__(self, "_actor", resolved)
            return resolved
        return actor

    def merged(self, **changes: Any) -> EmissionContext:
        """A copy with ``changes`` applied; ``extra`` is merged key by key."""
        extra = dict(self.extra)
        extra.update(changes.pop("extra", None) or {})
        values: dict[str, Any] = {"actor": self._actor, "request_id": self.request_id, "reason": self.reason}
        values.update({key: value for key, value in changes.items() if value is not _UNSET})
        return EmissionContext(**values, extra=extra)

    def as_dict(self) -> dict[str, Any]:
        """The values that are set, as plain data (for a background job or a log line)."""
        values: dict[str, Any] = {
            key: value
            for key, value in (("actor", self.actor), ("request_id", self.request_id), ("reason", self.reason))
            if value is not None
        }
        if self.extra:
            values["extra"] = dict(self.extra)
        return values

    @classmethod
    def from_dict(cls, values: Mapping[str, Any]) -> EmissionContext:
        """Rebuild a context from :meth:`as_dict`; anything but strings is dropped."""

        def text(key: str) -> str | None:
            value = values.get(key)
            return value if isinstance(value, str) else None

        extra = values.get("extra")
        return cls(
            actor=text("actor"),
            request_id=text("request_id"),
            reason=text("reason"),
            extra={k: v for k, v in extra.items() if isinstance(k, str) and isinstance(v, str)}
            if isinstance(extra, Mapping)
            else None,
        )

    def __bool__(self) -> bool:
        return bool(self._actor is not None or self.request_id or self.reason or self.extra)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("EmissionContext is immutable; open a nested events.context(...) block instead")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, EmissionContext):
            return NotImplemented
        return self.as_dict() == other.as_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        # Keys only: an actor or a reason can be personal data.
        return f"<EmissionContext {', '.join(self.as_dict()) or 'empty'}>"


EMPTY_CONTEXT = EmissionContext()

_current: ContextVar[EmissionContext] = ContextVar("canvas_core_emission_context", default=EMPTY_CONTEXT)


def current_context() -> EmissionContext:
    """The emission context in effect here (an empty one outside every :func:`context` block)."""
    return _current.get()


@contextmanager
def context(
    *,
    actor: str | Callable[[], str | None] | None = _UNSET,
    request_id: str | None = _UNSET,
    reason: str | None = _UNSET,
    extra: Mapping[str, str] | None = None,
) -> Iterator[EmissionContext]:
    """Set who, which request and why for every emission in the block; yield the context in effect.

    Blocks nest: an inner block overrides what it sets and keeps the rest
    (``extra`` merges key by key; pass ``None`` explicitly to clear a value).
    The previous context is restored on exit, also when the block raises.
    """
    for name, value in (("request_id", request_id), ("reason", reason)):
        if value is not _UNSET and value is not None and not isinstance(value, str):
            raise TypeError(f"events.context({name}=...) takes a string, got {type(value).__qualname__}")
    if actor is not _UNSET and actor is not None and not (isinstance(actor, str) or callable(actor)):
        raise TypeError(
            f"events.context(actor=...) takes a string (or a function returning one), got {type(actor).__qualname__}; "
            "pass an identifier such as f'auth.user:{user.pk}', not the user object"
        )
    if extra is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in extra.items()):
        raise TypeError("events.context(extra=...) takes a mapping of strings to strings")
    new = _current.get().merged(actor=actor, request_id=request_id, reason=reason, extra=extra)
    token = _current.set(new)
    try:
        yield new
    finally:
        _current.reset(token)


@contextmanager
def restored_context(saved: EmissionContext) -> Iterator[None]:
    """Run a block under a context saved earlier (for integrations that run work later or elsewhere)."""
    token = _current.set(saved)
    try:
        yield
    finally:
        _current.reset(token)
