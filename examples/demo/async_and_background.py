"""Demo section: async handlers, and background handlers (in-process here; Celery in production)."""

from __future__ import annotations

import asyncio

from canvas_core import background, events

from ._output import section


class PhotoUploaded(events.Event):
    """A user uploaded a photo."""

    photo_id: int
    caption: str
    alt_text: str = ""


async def describe_photo(event: PhotoUploaded) -> None:
    """An async handler: calls an (imaginary) image-description service."""
    await asyncio.sleep(0.01)
    event.alt_text = f"a photo captioned {event.caption!r}"


def make_thumbnails(event: PhotoUploaded) -> None:
    """A background handler: slow work the uploader should not wait for."""
    print(f"  [background] thumbnails for photo {event.photo_id}, alt text: {event.alt_text!r}")
    event.caption = "changed by the background handler"  # its own copy: the uploader never sees this


def run() -> None:
    section("Async handlers: await aemit_event(); emit_event() runs them too when no loop runs")
    events.handle_event(PhotoUploaded)(describe_photo)
    try:
        uploaded = asyncio.run(events.aemit_event(PhotoUploaded, photo_id=1, caption="harbour at dawn"))
        print(f"aemit_event -> alt text {uploaded.alt_text!r}")
        uploaded = events.emit_event(PhotoUploaded, photo_id=2, caption="cat on a keyboard")
        print(f"emit_event  -> alt text {uploaded.alt_text!r}")

        section("Background handlers: enqueued after the others, run with a copy of the event")
        events.handle_event(PhotoUploaded, background=True)(make_thumbnails)
        engine = type(background.current_engine()).__name__
        print(f"engine: {engine} (no broker configured; CeleryEngine runs them on Celery workers)")
        uploaded = events.emit_event(PhotoUploaded, photo_id=3, caption="mountain lake")
        print(f"the uploader still sees caption {uploaded.caption!r}: background changes never flow back")
    finally:
        events.remove_handler(describe_photo)
        events.remove_handler(make_thumbnails)
