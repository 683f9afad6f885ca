"""``EventContextMiddleware``: every emission during a request knows who made it and which request it was.

Add it after Django's ``AuthenticationMiddleware``::

    MIDDLEWARE = [
        ...,
        "django.contrib.auth.middleware.AuthenticationMiddleware",
        "canvas_core.django.middleware.EventContextMiddleware",
    ]

Each request then runs inside :func:`canvas_core.events.context` with

* ``actor``: ``"<app_label>.<model>:<pk>"`` of ``request.user`` when someone
  is logged in (``"auth.user:42"``), ``None`` otherwise. The user is looked up
  only if a handler asks (``request.user`` is lazy, and stays so);
* ``request_id``: the request's ``X-Request-ID`` header when it is a sane
  token (letters, digits, ``-_.:``, at most 128 characters), otherwise a new
  random id. The header is named by the ``CANVAS_REQUEST_ID_HEADER`` setting
  (``None`` to never trust a client's id). The id is also sent back in the
  response under the same header, unless the response sets one itself.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase

from canvas_core.events import context

__all__ = ["EventContextMiddleware", "actor_of"]

_TOKEN = re.compile(r"[A-Za-z0-9._:\-]{1,128}")


def actor_of(user: Any) -> str | None:
    """``"<app_label>.<model>:<pk>"`` for an authenticated user, ``None`` for an anonymous one."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return f"{user._meta.label_lower}:{user.pk}"


class EventContextMiddleware:
    """Runs each request inside ``events.context(actor=..., request_id=...)`` (sync and async)."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.header: str | None = getattr(settings, "CANVAS_REQUEST_ID_HEADER", "X-Request-ID")
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:
        if self.is_async:
            return self._acall(request)
        request_id = self._request_id(request)
        with context(actor=self._actor(request), request_id=request_id):
            response = self.get_response(request)
        return self._tagged(response, request_id)

    async def _acall(self, request: HttpRequest) -> HttpResponseBase:
        request_id = self._request_id(request)
        get_response: Callable[[HttpRequest], Awaitable[HttpResponseBase]] = self.get_response
        # In async code the user is loaded now: a handler running on the event
        # loop could not run the synchronous query that request.user needs.
        actor = actor_of(await request.auser()) if hasattr(request, "auser") else None
        with context(actor=actor, request_id=request_id):
            response = await get_response(request)
        return self._tagged(response, request_id)

    def _request_id(self, request: HttpRequest) -> str:
        if self.header:
            given = request.headers.get(self.header)
            if given and _TOKEN.fullmatch(given):
                return given
        return uuid.uuid4().hex

    @staticmethod
    def _actor(request: HttpRequest) -> Callable[[], str | None] | None:
        if not hasattr(request, "user"):
            return None  # no AuthenticationMiddleware before this one
        return lambda: actor_of(request.user)

    def _tagged(self, response: HttpResponseBase, request_id: str) -> HttpResponseBase:
        if self.header and self.header not in response.headers:
            response.headers[self.header] = request_id
        return response
