"""The Setting admin: no page ever shows a sensitive value; staff can replace one without seeing it."""

from __future__ import annotations

import json

import pytest
from django.contrib import admin
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ImproperlyConfigured
from django.test import Client, override_settings

from canvas_core.admin import REDACTED, SettingAdmin, register_setting_admin
from canvas_core.models import Setting

SECRET = "s3cr3t-token-0451"
NEW_SECRET = "n3w-s3cr3t-token-9917"

pytestmark = pytest.mark.django_db


def _page(client: Client, url: str, **params: str) -> str:
    response = client.get(url, params)
    assert response.status_code == 200, url
    return response.content.decode()


def _assert_no_secret(html: str) -> None:
    assert SECRET not in html
    assert NEW_SECRET not in html
    assert json.dumps(SECRET) not in html


@pytest.fixture
def api_key() -> Setting:
    return Setting.objects.create(key="api_key", value=SECRET, sensitive=True)


def test_the_setting_admin_is_registered_by_default() -> None:
    assert isinstance(admin.site.get_model_admin(Setting), SettingAdmin)


def test_the_list_redacts_sensitive_values_and_shows_the_others(admin_client: Client, api_key: Setting) -> None:
    Setting.objects.create(key="site_name", value={"title": "Canvas"})
    html = _page(admin_client, "/admin/canvas_core/setting/")
    _assert_no_secret(html)
    assert REDACTED in html
    assert "api_key" in html
    assert "{&quot;title&quot;: &quot;Canvas&quot;}" in html


def test_the_change_form_has_a_write_only_input(admin_client: Client, api_key: Setting) -> None:
    html = _page(admin_client, f"/admin/canvas_core/setting/{api_key.pk}/change/")
    _assert_no_secret(html)
    assert 'type="password" name="value"' in html
    assert "never shown" in html


def test_leaving_the_input_empty_keeps_the_secret(admin_client: Client, api_key: Setting) -> None:
    response = admin_client.post(
        f"/admin/canvas_core/setting/{api_key.pk}/change/", {"key": "api_key", "value": "", "sensitive": "on"}
    )
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.value == SECRET
    assert LogEntry.objects.get().get_change_message() == "No fields changed."


def test_a_typed_value_replaces_the_secret_and_the_history_shows_neither(
    admin_client: Client, api_key: Setting
) -> None:
    response = admin_client.post(
        f"/admin/canvas_core/setting/{api_key.pk}/change/",
        {"key": "api_key", "value": json.dumps(NEW_SECRET), "sensitive": "on"},
    )
    assert response.status_code == 302
    api_key.refresh_from_db()
    assert api_key.value == NEW_SECRET
    entry = LogEntry.objects.get()
    assert entry.get_change_message() == "Changed Value."
    _assert_no_secret(entry.change_message + entry.object_repr)
    _assert_no_secret(_page(admin_client, f"/admin/canvas_core/setting/{api_key.pk}/history/"))
    _assert_no_secret(_page(admin_client, f"/admin/canvas_core/setting/{api_key.pk}/change/"))


def test_making_a_secret_visible_requires_a_new_value(admin_client: Client, api_key: Setting) -> None:
    url = f"/admin/canvas_core/setting/{api_key.pk}/change/"
    response = admin_client.post(url, {"key": "api_key", "value": ""})
    assert response.status_code == 200  # the form again, with the error
    html = response.content.decode()
    assert "Enter a new value to make this setting non-sensitive" in html
    _assert_no_secret(html)
    api_key.refresh_from_db()
    assert (api_key.value, api_key.sensitive) == (SECRET, True)

    assert admin_client.post(url, {"key": "api_key", "value": '"public now"'}).status_code == 302
    api_key.refresh_from_db()
    assert (api_key.value, api_key.sensitive) == ("public now", False)


def test_a_secret_typed_into_a_failing_add_form_is_not_shown_again(admin_client: Client, api_key: Setting) -> None:
    response = admin_client.post(
        "/admin/canvas_core/setting/add/", {"key": "api_key", "value": json.dumps(NEW_SECRET), "sensitive": "on"}
    )
    assert response.status_code == 200  # the key exists already
    _assert_no_secret(response.content.decode())


def test_adding_a_sensitive_setting(admin_client: Client) -> None:
    response = admin_client.post(
        "/admin/canvas_core/setting/add/", {"key": "smtp_password", "value": json.dumps(SECRET), "sensitive": "on"}
    )
    assert response.status_code == 302
    assert Setting.objects.get(key="smtp_password").value == SECRET
    _assert_no_secret(_page(admin_client, "/admin/canvas_core/setting/"))


def test_a_bad_json_value_is_a_form_error(admin_client: Client, api_key: Setting) -> None:
    response = admin_client.post(
        f"/admin/canvas_core/setting/{api_key.pk}/change/", {"key": "api_key", "value": "not json", "sensitive": "on"}
    )
    assert response.status_code == 200
    assert "Enter a valid JSON." in response.content.decode()
    api_key.refresh_from_db()
    assert api_key.value == SECRET


def test_search_by_key(admin_client: Client, api_key: Setting) -> None:
    Setting.objects.create(key="site_name", value="Canvas")
    html = _page(admin_client, "/admin/canvas_core/setting/", q="site")
    assert "site_name" in html
    assert "api_key" not in html


def test_the_admin_can_be_turned_off() -> None:
    site = admin.AdminSite(name="fresh")
    with override_settings(CANVAS_SETTING_ADMIN=False):
        assert register_setting_admin(site) is False
    assert not site.is_registered(Setting)
    assert register_setting_admin(site) is True
    assert register_setting_admin(site) is False  # registered already: left alone


def test_a_malformed_switch_says_what_to_write() -> None:
    with override_settings(CANVAS_SETTING_ADMIN="no"), pytest.raises(ImproperlyConfigured, match="True or False"):
        register_setting_admin(admin.AdminSite(name="fresh"))
