"""Django app configuration: ``INSTALLED_APPS = [..., "canvas_core"]``."""

from __future__ import annotations

from django.apps import AppConfig


class CanvasCoreConfig(AppConfig):
    """Installs the record lifecycle events and imports every app's ``handlers`` module."""

    name = "canvas_core"
    label = "canvas_core"
    verbose_name = "canvas-core"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from .django import _wiring

        _wiring.install()
