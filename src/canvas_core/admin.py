"""The Setting admin: registered for the active Setting model unless ``CANVAS_SETTING_ADMIN = False``.

A sensitive value is never displayed: not in the list, not in the change form
(where a write-only input replaces it), not in the history (whose messages
name changed fields, never values). Staff search settings by key.

To customise it, set ``CANVAS_SETTING_ADMIN = False`` and register a subclass
of :class:`SettingAdmin` yourself.
"""

from __future__ import annotations

import json
from typing import Any

from django.conf import settings
from django.contrib import admin
from django.core.exceptions import ImproperlyConfigured

from django import forms

from .config import get_setting_model
from .models import AbstractSetting

__all__ = [
    "REDACTED",
    "SettingAdmin",
    "SettingForm",
    "WriteOnlyJSONField",
    "WriteOnlyJSONInput",
    "register_setting_admin",
]

REDACTED = "[REDACTED]"
"""What the admin shows in place of a sensitive value."""

_PREVIEW_LENGTH = 80


class WriteOnlyJSONInput(forms.PasswordInput):
    """A password-style input: it never renders a value, so a secret never reaches the page."""

    def __init__(self) -> None:
        super().__init__(render_value=False, attrs={"autocomplete": "new-password", "size": 60})


class WriteOnlyJSONField(forms.JSONField):
    """A JSON value typed into a :class:`WriteOnlyJSONInput`; left empty, it changes nothing."""

    widget = WriteOnlyJSONInput

    def has_changed(self, initial: Any, data: Any) -> bool:
        return data not in (None, "")


class SettingForm(forms.ModelForm):  # type: ignore[type-arg]
    """The change form: a sensitive setting's value is write-only, and kept when left empty."""

    class Meta:
        fields = ("key", "value", "sensitive")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self._holds_secret():
            # Replaced, not just re-widgeted: the model field's widget would render the secret
            # (or re-render a typed one when the form has errors).
            self.fields["value"] = WriteOnlyJSONField(
                required=False,
                label="Value",
                help_text=(
                    "Secret: never shown. Type a JSON value to replace it (a string in double quotes, "
                    'like "s3cr3t"), or leave this empty to keep the current value.'
                ),
            )

    def _holds_secret(self) -> bool:
        """Whether the page may hold a secret: the stored row is sensitive, or the submitted form says so."""
        if self._stored_secret():
            return True
        if self.is_bound:
            widget = self.fields["sensitive"].widget
            return bool(widget.value_from_datadict(self.data, self.files, self.add_prefix("sensitive")))
        return False

    def _stored_secret(self) -> bool:
        return self.instance.pk is not None and bool(self.instance.sensitive)

    def clean(self) -> dict[str, Any]:
        cleaned: dict[str, Any] = super().clean() or {}
        if not isinstance(self.fields["value"], WriteOnlyJSONField) or not self._stored_secret():
            return cleaned
        if self.fields["value"].has_changed(None, self.data.get(self.add_prefix("value"))):
            return cleaned  # replaced
        if not cleaned.get("sensitive", True):
            self.add_error(
                "value",
                "Enter a new value to make this setting non-sensitive: the current value is secret, and would "
                "be shown from then on.",
            )
        cleaned["value"] = self.instance.value  # left empty: kept
        return cleaned


class SettingAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Lists settings with their values (sensitive ones redacted); searches by key."""

    form = SettingForm
    list_display = ("key", "displayed_value", "sensitive")
    list_filter = ("sensitive",)
    search_fields = ("key",)
    ordering = ("key",)

    @admin.display(description="value")
    def displayed_value(self, setting: AbstractSetting) -> str:
        """The value as JSON, shortened; :data:`REDACTED` for a sensitive one."""
        if setting.sensitive:
            return REDACTED
        text = json.dumps(setting.value, ensure_ascii=False, default=str)
        return text if len(text) <= _PREVIEW_LENGTH else text[: _PREVIEW_LENGTH - 1] + "…"


def register_setting_admin(site: admin.AdminSite | None = None) -> bool:
    """Register :class:`SettingAdmin` for the active Setting model on ``site`` (default: the admin site).

    Does nothing, and returns ``False``, when ``CANVAS_SETTING_ADMIN`` is
    ``False`` or the model is registered already (by the project's own admin).
    """
    enabled = getattr(settings, "CANVAS_SETTING_ADMIN", True)
    if not isinstance(enabled, bool):
        raise ImproperlyConfigured(f"CANVAS_SETTING_ADMIN must be True or False, got {enabled!r}")
    site = admin.site if site is None else site
    model = get_setting_model()
    if not enabled or site.is_registered(model):
        return False
    site.register(model, SettingAdmin)
    return True


register_setting_admin()
