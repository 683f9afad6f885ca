"""``canvas-events handlers``: who handles what in a running process.

Shared by the command line and the Django management command ``canvas_events``.
It reads :func:`canvas_core.events.registrations`, so it shows exactly what
importing the given modules (or setting up Django) registered.
"""

from __future__ import annotations

import contextlib
import importlib
import inspect
import json
import os
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from canvas_core.events import Registration, registrations
from canvas_core.events._adapters import HandlerAdapter
from canvas_core.events._dispatch import registry
from canvas_core.events._registry import is_coroutine_callable
from canvas_core.events._reporting import describe_origin

__all__ = ["HandlerRow", "ImportFailed", "handler_rows", "import_modules", "render_rows", "setup_django"]


class ImportFailed(Exception):
    """A module named on the command line could not be imported (or Django not set up)."""


HandlerRow = dict[str, Any]
"""One listed handler: ``event``, ``handler``, ``origin``, ``source`` (``file:line`` or ``?``) and ``runs``.

``runs`` lists how the handler runs besides plainly: ``background``, ``async``
and ``after_commit`` (the names of :data:`canvas_core.cli._graph.RUNS`).
"""


def import_modules(names: Iterable[str]) -> None:
    """Import each module so that its ``handle_event`` decorators run.

    The current directory goes first on ``sys.path``, as with ``python -m``.
    """
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    for name in names:
        try:
            importlib.import_module(name)
        except ImportError as exc:
            raise ImportFailed(f"cannot import module {name!r}: {exc}") from exc
        except Exception as exc:  # the module itself is broken: say where, not only what
            raise ImportFailed(f"importing module {name!r} raised {type(exc).__name__}: {exc}") from exc


def setup_django(settings_module: str) -> None:
    """Configure Django with ``settings_module`` and run ``django.setup()`` (apps register their handlers)."""
    try:
        import django
    except ImportError:
        raise ImportFailed("--django needs Django installed: pip install 'canvas-core[django]'") from None
    os.environ["DJANGO_SETTINGS_MODULE"] = settings_module
    import_modules([settings_module])  # a clear error for a wrong name, before Django's own
    try:
        django.setup()
    except Exception as exc:
        raise ImportFailed(f"setting up Django with {settings_module!r} failed: {type(exc).__name__}: {exc}") from exc


def source_location(handler: Callable[..., object]) -> str:
    """``file:line`` where ``handler`` is defined (relative to the current directory when inside it), or ``?``."""
    function: Any = inspect.unwrap(handler)
    if not (inspect.isfunction(function) or inspect.ismethod(function)):
        function = type(function)  # a callable object: point at its class
    try:
        file = inspect.getsourcefile(function) or inspect.getfile(function)
        line = inspect.getsourcelines(function)[1]
    except (OSError, TypeError):
        return "?"
    with contextlib.suppress(ValueError):
        file = str(Path(file).resolve().relative_to(Path.cwd()))
    return f"{file}:{line}"


def _qualified(obj: object) -> str:
    """``module.qualname``, naming the public package rather than a private module that defines it."""
    module = getattr(obj, "__module__", None)
    name = getattr(obj, "__qualname__", None) or type(obj).__qualname__
    if not module:
        return name
    public, _, last = module.rpartition(".")
    if last.startswith("_") and getattr(sys.modules.get(public), name, None) is obj:
        module = public  # canvas_core.events._event.Event -> canvas_core.events.Event
    return f"{module}.{name}"


def runs(registration: Registration) -> list[str]:
    """How the registered handler runs besides plainly: ``background``, ``async``, ``after_commit``."""
    handler = registration.handler
    found: list[str] = []
    runners = registry.runners_for(registration.event_type, registration.origin)
    if any(isinstance(r, HandlerAdapter) and r.background and r.handler is handler for r in runners):
        found.append("background")
    if is_coroutine_callable(handler):
        found.append("async")
    if getattr(handler, "canvas_after_commit", False) is True:
        found.append("after_commit")
    return found


def handler_rows(found: Iterable[Registration] | None = None) -> list[HandlerRow]:
    """One row per registration, sorted by event type, then handler."""
    rows = [
        {
            "event": _qualified(registration.event_type),
            "handler": _qualified(registration.handler),
            "origin": "any" if registration.origin is None else describe_origin(registration.origin),
            "source": source_location(registration.handler),
            "runs": runs(registration),
        }
        for registration in (registrations() if found is None else found)
    ]
    return sorted(rows, key=lambda row: (row["event"], row["handler"], row["origin"]))


def render_rows(rows: list[HandlerRow], as_json: bool = False) -> str:
    """Rows as text grouped by event type (or as a JSON list)."""
    if as_json:
        return json.dumps(rows, indent=2) + "\n"
    if not rows:
        return "No handlers are registered. Name the modules that define them, or use --django SETTINGS.\n"
    lines: list[str] = []
    names = {id(row): row["handler"] + "".join(f" [{way}]" for way in row["runs"]) for row in rows}
    width = max(map(len, names.values()))
    origin_width = max(len(row["origin"]) for row in rows)
    event = None
    for row in rows:
        if row["event"] != event:
            event = row["event"]
            lines.append(("\n" if lines else "") + event)
        lines.append(f"  {names[id(row)]:<{width}}  origin: {row['origin']:<{origin_width}}  {row['source']}")
    count = len({row["event"] for row in rows})
    lines.append(f"\n{len(rows)} handler(s) for {count} event type(s).")
    return "\n".join(lines) + "\n"
