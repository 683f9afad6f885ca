"""Django system checks of the background set-up (``manage.py check``, run by ``runserver`` and ``migrate``)."""

from __future__ import annotations

import importlib.util
import os
from typing import Any

from django.conf import settings
from django.core import checks

from ._engine import InProcessEngine, current_engine
from ._settings import ENGINE_SETTING, EngineNotConfigured, engine_from_setting

__all__ = ["check_background"]

BROKER_SETTINGS = ("CELERY_BROKER_URL", "BROKER_URL")


def _background_handlers() -> list[Any]:
    from ._handler import registered_background_handlers

    return list(registered_background_handlers())


@checks.register()
def check_background(app_configs: Any = None, **_: Any) -> list[checks.CheckMessage]:
    """The engine setting imports; background handlers do not silently run in-process; workers can import them."""
    messages: list[checks.CheckMessage] = []
    configured = getattr(settings, ENGINE_SETTING, None)
    if configured is not None:
        try:
            engine_from_setting(configured)
        except EngineNotConfigured as exc:
            messages.append(
                checks.Error(
                    str(exc),
                    hint=f"Set {ENGINE_SETTING} to the import path of your Celery app (e.g. 'mysite.celery:app') "
                    "or to a dict with 'broker_url'; see the background handlers guide.",
                    id="canvas_core.E001",
                )
            )
    handlers = _background_handlers()
    broker = next((name for name in BROKER_SETTINGS if getattr(settings, name, None) or os.environ.get(name)), None)
    if handlers and broker and isinstance(current_engine(), InProcessEngine):
        messages.append(
            checks.Warning(
                f"{len(handlers)} background handler(s) will run inside this process (InProcessEngine), although "
                f"{broker} configures a broker: nothing makes them run on Celery workers.",
                hint=f"Set {ENGINE_SETTING} = 'mysite.celery:app' (your Celery app's import path) in the settings.",
                id="canvas_core.W001",
            )
        )
    for runner in handlers:
        module = runner.name.partition(":")[0]
        try:
            found = importlib.util.find_spec(module) is not None
        except (ImportError, ValueError):
            found = False
        if not found or module == "__main__":
            messages.append(
                checks.Warning(
                    f"the background handler {runner.name} is defined in {module!r}, which cannot be imported by "
                    "that name: a worker would not find it.",
                    hint="Define background handlers in a module of an installed app (its handlers.py, say), "
                    "importable by its dotted path from the worker's working directory.",
                    id="canvas_core.W002",
                )
            )
    return messages
