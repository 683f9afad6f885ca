# mypy: ignore-errors
# A project's swapped Setting model (CANVAS_SETTING_MODEL = "tenant_app.TenantSetting"),
# for setting_model.py. Only type checked, never imported by the tests.
from __future__ import annotations

from django.db import models

from canvas_core.models import AbstractSetting


class TenantSetting(AbstractSetting):
    tenant: models.CharField[str, str] = models.CharField(max_length=100)

    class Meta:
        app_label = "tenant_app"
