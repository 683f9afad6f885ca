"""Django app configuration: ``INSTALLED_APPS = [..., "canvas_core"]``."""

from __future__ import annotations

from collections.abc import Collection

from django.apps import AppConfig
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
    """Installs the record lifecycle events and imports every app's ``handlers`` module."""

    name = "canvas_core"
    label = "canvas_core"
    verbose_name = "canvas-core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .django import _wiring

        _wiring.install()
