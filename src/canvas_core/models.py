"""The default Setting model (Django only; ``import canvas_core`` never imports this).

A project may swap it for its own model, the way ``AUTH_USER_MODEL`` works::

    # settings.py
    CANVAS_SETTING_MODEL = "myapp.Setting"

Code that needs the model asks :func:`canvas_core.config.get_setting_model`
instead of importing :class:`Setting` directly.
"""

from __future__ import annotations

from typing import Any

from django.db import models

from canvas_core.background._models import BackgroundJob, DeadLetter  # the tables of background delivery

__all__ = ["AbstractSetting", "BackgroundJob", "DeadLetter", "Setting"]


class AbstractSetting(models.Model):
    """The fields every Setting model has; subclass it to write your own Setting model."""

    # Annotated for editors: pyright, unlike mypy with django-stubs, cannot tell
    # a field's Python type from its constructor and reports it Unknown.
    key: models.CharField[str, str] = models.CharField(
        max_length=255, unique=True, help_text="Unique name of the setting."
    )
    value: models.JSONField[Any, Any] = models.JSONField(
        null=True, blank=True, default=None, help_text="Any JSON value."
    )
    sensitive: models.BooleanField[bool, bool] = models.BooleanField(
        default=False, help_text="Whether the value is secret (logs and displays must redact it)."
    )

    objects = models.Manager()  # declared so that type checkers see it on every Setting model

    class Meta:
        abstract = True
        ordering = ("key",)

    def __str__(self) -> str:
        return self.key


class Setting(AbstractSetting):
    """A named JSON value. Swappable through ``CANVAS_SETTING_MODEL``."""

    class Meta(AbstractSetting.Meta):
        swappable = "CANVAS_SETTING_MODEL"
