"""Django app configuration: ``INSTALLED_APPS = [..., "canvas_core"]``."""

from __future__ import annotations

import logging
from collections.abc import Collection
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Model

from .events._dispatch import registry


def model_field_names(origin: object) -> Collection[str] | None:
    """The names a ``fields=`` filter may use for a model origin: its concrete and many-to-many fields."""
    if not (isinstance(origin, type) and issubclass(origin, Model)):
        return None
    # Forward fields only: reverse relations cannot be asked for before the app registry is ready.
    return {field.name for field in origin._meta._get_fields(reverse=False) if field.concrete or field.many_to_many}


# Before any app's handlers module can be imported: `handle_event(..., fields=...)` checks its names.
registry.field_names.append(model_field_names)


class CanvasCoreConfig(AppConfig):
    """Installs the record lifecycle events, imports every app's handler modules, applies ``CANVAS_LOGGING``."""

    name = "canvas_core"
    label = "canvas_core"
    verbose_name = "canvas-core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from . import config

        # Before _wiring imports the handlers modules: they may register
        # background handlers, which need canvas_core.background and the engine.
        from .background import _checks, _settings  # _checks registers the system checks

        _settings.configure_from_django()
        del _checks

        from .django import _wiring

        configure_logging()
        config.install_cache_invalidation()
        _wiring.install()


def configure_logging() -> None:
    """Apply the ``CANVAS_LOGGING`` setting, if set, with :func:`canvas_core.logging.configure`.

    ``CANVAS_LOGGING = "console"`` (or ``"json"``, ``"auto"``), or a dict of
    :func:`~canvas_core.logging.configure`'s arguments:
    ``{"output": "json", "level": "DEBUG"}``. Unless the project has a
    ``LOGGING`` setting of its own, the console handler Django adds to its
    ``django`` logger is removed, so that Django's lines are printed once, in
    the same format.
    """
    value: Any = getattr(settings, "CANVAS_LOGGING", None)
    if value is None:
        return
    from canvas_core.logging import configure

    if isinstance(value, str):
        options: dict[str, Any] = {"output": value}
    elif isinstance(value, dict) and set(value) <= {"output", "level"}:
        options = dict(value)
    else:
        raise ImproperlyConfigured(
            "CANVAS_LOGGING must be 'auto', 'console' or 'json', or a dict with the keys 'output' and/or "
            f"'level' (e.g. {{'output': 'json', 'level': 'INFO'}}); got {value!r}"
        )
    try:
        configure(**options)
    except ValueError as exc:
        raise ImproperlyConfigured(f"CANVAS_LOGGING: {exc}") from None
    if not getattr(settings, "LOGGING", None):
        django_logger = logging.getLogger("django")
        for handler in list(django_logger.handlers):
            if handler.get_name() == "console":  # Django's DEFAULT_LOGGING one, shown only with DEBUG
                django_logger.removeHandler(handler)
