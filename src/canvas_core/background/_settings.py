"""The engine named by configuration: Django's ``CANVAS_BACKGROUND_ENGINE``, or :func:`configure` elsewhere.

``CANVAS_BACKGROUND_ENGINE`` is one of:

* ``"mysite.celery:app"``: the import path of a Celery app (``module:attribute``
  or ``module.attribute``), run with a :class:`~canvas_core.background.celery.CeleryEngine`
  with default options;
* a dict: ``{"app": "mysite.celery:app", "retries": 3, "retry_delay": 1.0,
  "queue": None, "max_lost_deliveries": 3}``, or with ``"broker_url"``
  instead of ``"app"`` to have canvas-core create a Celery app of its own
  (enough for processes that only emit; workers are started with a Celery
  app module, so give them ``"app"``).

canvas-core's ``AppConfig.ready()`` applies it, so the web processes, the
management commands and the workers all use it from start-up. The path comes
from the project's settings, never from a message.
"""

from __future__ import annotations

import contextlib
import importlib
from typing import Any

from ._engine import Engine, use_engine

__all__ = ["ENGINE_SETTING", "EngineNotConfigured", "configure", "engine_from_setting"]

ENGINE_SETTING = "CANVAS_BACKGROUND_ENGINE"

_OPTIONS = ("retries", "retry_delay", "queue", "max_lost_deliveries", "outbox")


class EngineNotConfigured(RuntimeError):
    """The configured engine cannot be built (a wrong import path, an unknown option)."""


def import_object(path: str) -> Any:
    """The object at ``path`` (``module:attribute`` or ``module.attribute``)."""
    module_name, colon, attribute = path.partition(":")
    if not colon:
        module_name, _, attribute = path.rpartition(".")
    if not module_name or not attribute:
        raise EngineNotConfigured(f"{ENGINE_SETTING} = {path!r} is not an import path like 'mysite.celery:app'")
    try:
        found: Any = importlib.import_module(module_name)
        for part in attribute.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise EngineNotConfigured(
            f"{ENGINE_SETTING} names {path!r}, which cannot be imported ({type(exc).__name__}: {exc}); set it to "
            "the import path of your Celery app, e.g. 'mysite.celery:app', with mysite/celery.py defining `app`"
        ) from None
    return found


def engine_from_setting(value: object) -> Engine:
    """Build the engine a ``CANVAS_BACKGROUND_ENGINE`` value describes."""
    options: dict[str, Any] = {}
    if isinstance(value, str):
        target = import_object(value)
    elif isinstance(value, dict):
        unknown = set(value) - {"app", "broker_url", *_OPTIONS}
        if unknown or ("app" in value) == ("broker_url" in value):
            raise EngineNotConfigured(
                f"{ENGINE_SETTING} must have either 'app' (the import path of a Celery app) or 'broker_url', and "
                f"only the options {', '.join(_OPTIONS)}; got the keys {sorted(value)}"
            )
        options = {name: value[name] for name in _OPTIONS if name in value}
        if "app" in value:
            target = import_object(value["app"])
        else:
            from celery import Celery

            target = Celery("canvas_core", broker=value["broker_url"])
    else:
        raise EngineNotConfigured(
            f"{ENGINE_SETTING} must be an import path string or a dict, got a {type(value).__qualname__}"
        )
    if hasattr(target, "enqueue"):
        if options:
            raise EngineNotConfigured(f"{ENGINE_SETTING} options apply to a Celery app, not to an engine")
        engine: Engine = target
        return engine
    return _engine_for_app(target, options)


def _engine_for_app(app: object, options: dict[str, Any]) -> Engine:
    from celery import Celery

    if not isinstance(app, Celery):
        raise EngineNotConfigured(
            f"{ENGINE_SETTING} must name a Celery app or an engine, and names a {type(app).__qualname__}"
        )
    from .celery import CeleryEngine

    existing = getattr(app, "_canvas_core_engine", None)
    if isinstance(existing, CeleryEngine):
        return existing  # one engine, and so one task, per app
    try:
        engine = CeleryEngine(app, **options)
    except (TypeError, ValueError) as exc:
        raise EngineNotConfigured(f"{ENGINE_SETTING} has an invalid option: {exc}") from None
    app._canvas_core_engine = engine  # type: ignore[attr-defined]
    return engine


def configure(engine: object) -> Engine:
    """Outside Django: make ``engine`` the engine of this process, and return what runs the jobs.

    ``engine`` is a Celery app (run with a default
    :class:`~canvas_core.background.celery.CeleryEngine`), a value like
    ``CANVAS_BACKGROUND_ENGINE``'s, or an engine. Call it once at start-up in
    every process, emitters and workers: in the module that defines the Celery
    app, ``background.configure(app)``.
    """
    if hasattr(engine, "enqueue"):
        built: Engine = engine
    elif isinstance(engine, str | dict):
        built = engine_from_setting(engine)
    else:
        built = _engine_for_app(engine, {})
    use_engine(built)
    return built


def configure_from_django() -> None:
    """Apply ``CANVAS_BACKGROUND_ENGINE`` if the project sets it (called by canvas-core's ``AppConfig.ready()``)."""
    from django.conf import settings

    value = getattr(settings, ENGINE_SETTING, None)
    if value is None:
        return
    with contextlib.suppress(EngineNotConfigured):  # the system check reports it, saying what to do
        use_engine(engine_from_setting(value))
