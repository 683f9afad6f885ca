"""Imported when the app is installed, like every installed app's ``handlers`` module."""

from __future__ import annotations

from canvas_core import events

from .models import LateArrival


@events.handle_event(events.PostRecordCreate, origin=LateArrival)
def greet(event: events.PostRecordCreate[LateArrival]) -> None:
    pass
