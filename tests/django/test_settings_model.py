"""The Setting model, swapping it, and the issue's logging example."""

from __future__ import annotations

import importlib
import logging
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from canvas_core import config, events
from canvas_core.models import Setting
from tests.testapp.models import CustomSetting

pytestmark = pytest.mark.django_db


def test_the_default_setting_model() -> None:
    assert config.get_setting_model() is Setting
    setting = Setting.objects.create(key="site_name", value={"en": "Canvas"})
    assert Setting.objects.get(key="site_name").value == {"en": "Canvas"}
    assert setting.sensitive is False
    assert str(setting) == "site_name"


def test_keys_are_unique() -> None:
    from django.db import IntegrityError, transaction

    Setting.objects.create(key="a", value=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Setting.objects.create(key="a", value=2)


def test_the_model_is_swappable() -> None:
    with override_settings(CANVAS_SETTING_MODEL="testapp.CustomSetting"):
        assert config.get_setting_model() is CustomSetting
        assert Setting._meta.swapped == "testapp.CustomSetting"


@pytest.mark.parametrize(
    ("label", "message"),
    [("no_dot", "must be of the form 'app_label.ModelName'"), ("testapp.Missing", "which is not installed")],
)
def test_a_bad_setting_model_label_says_what_is_wrong(label: str, message: str) -> None:
    with override_settings(CANVAS_SETTING_MODEL=label), pytest.raises(ImproperlyConfigured, match=message):
        config.get_setting_model()


def test_the_issue_example_logs_changes_and_redacts_sensitive_values(caplog: pytest.LogCaptureFixture) -> None:
    sys.modules.pop("tests.django.setting_example", None)
    # Importing registers its handler (the autouse fixture removes it afterwards).
    example = importlib.import_module("tests.django.setting_example")
    Setting.objects.create(key="site_name", value="Canvas")
    Setting.objects.create(key="api_key", value="s3cr3t", sensitive=True)
    caplog.set_level(logging.INFO, logger=example.__name__)

    site_name = Setting.objects.get(key="site_name")
    site_name.value = "Canvas LMS"
    site_name.save()
    api_key = Setting.objects.get(key="api_key")
    api_key.value = "n3w s3cr3t"
    api_key.save()
    api_key.sensitive = False
    api_key.save()  # "value" not in the diff: nothing logged

    records = [record for record in caplog.records if record.name == example.__name__]
    assert [record.fields for record in records] == [  # type: ignore[attr-defined]
        {"setting": "site_name", "old_value": "Canvas", "new_value": "Canvas LMS"},
        {"setting": "api_key", "old_value": "[REDACTED]", "new_value": "[REDACTED]"},
    ]
    assert "s3cr3t" not in caplog.text


def test_handlers_of_the_default_model_hear_a_swapped_in_subclass() -> None:
    class Seen(list[str]):
        pass

    seen = Seen()

    @events.handle_event(events.PostRecordCreate, origin=CustomSetting)
    def created(event: events.PostRecordCreate[CustomSetting]) -> None:
        seen.append(event.record.key)

    CustomSetting.objects.create(key="theme", value="dark")
    assert seen == ["theme"]
