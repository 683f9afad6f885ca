"""config.get_setting / set_setting: typed reads, a per-process cache that record events keep fresh."""

from __future__ import annotations

import json

import pytest
from django.db import connection, transaction
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from hypothesis import given, settings
from hypothesis import strategies as st

from canvas_core import config
from canvas_core.models import Setting

# Reads inside a transaction are never cached: these tests commit for real.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _fresh_cache() -> None:
    config.clear_setting_cache()


def _queries(key: str, **kwargs: object) -> tuple[object, int]:
    with CaptureQueriesContext(connection) as queries:
        value = config.get_setting(key, **kwargs)
    return value, len(queries)


def _write_elsewhere(key: str, value: int) -> None:
    """Change a row behind the ORM's back, as another process (or raw SQL) does."""
    table = connection.ops.quote_name(Setting._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {table} SET value = %s WHERE key = %s", [json.dumps(value), key])


def test_a_missing_setting_raises_unless_a_default_is_given() -> None:
    with pytest.raises(config.SettingNotFound, match="there is no setting 'page_size'"):
        config.get_setting("page_size")
    assert config.get_setting("page_size", default=20) == 20
    assert config.get_setting("page_size", None) is None


def test_set_then_get() -> None:
    config.set_setting("page_size", 50)
    assert config.get_setting("page_size") == 50
    config.set_setting("page_size", 60)
    assert config.get_setting("page_size") == 60
    assert Setting.objects.get(key="page_size").sensitive is False


def test_set_setting_keeps_the_sensitive_flag_unless_told() -> None:
    config.set_setting("api_key", "a", sensitive=True)
    config.set_setting("api_key", "b")
    assert Setting.objects.get(key="api_key").sensitive is True
    config.set_setting("api_key", "c", sensitive=False)
    assert Setting.objects.get(key="api_key").sensitive is False


def test_a_null_value_is_a_value_not_a_missing_setting() -> None:
    config.set_setting("nothing", None)
    assert config.get_setting("nothing", default="fallback") is None


def test_values_are_cached_and_each_write_clears_them() -> None:
    config.set_setting("page_size", 50)
    assert _queries("page_size") == (50, 1)
    assert _queries("page_size") == (50, 0)  # cached

    setting = Setting.objects.get(key="page_size")
    setting.value = 70
    setting.save()  # a plain ORM save: its record event clears the cached value
    assert _queries("page_size") == (70, 1)

    setting.delete()
    assert _queries("page_size", default=None) == (None, 1)
    assert _queries("page_size", default=None) == (None, 0)  # "no such setting" is cached too
    Setting.objects.create(key="page_size", value=80)
    assert _queries("page_size") == (80, 1)


def test_a_renamed_setting_is_gone_under_its_old_name() -> None:
    config.set_setting("old", 1)
    assert config.get_setting("old") == 1
    setting = Setting.objects.get(key="old")
    setting.key = "new"
    setting.save()
    assert config.get_setting("old", default=None) is None
    assert config.get_setting("new") == 1


def test_a_rolled_back_write_is_not_seen() -> None:
    config.set_setting("page_size", 50)
    assert config.get_setting("page_size") == 50
    with transaction.atomic():
        config.set_setting("page_size", 99)
        assert config.get_setting("page_size") == 99  # this transaction sees its own write...
        transaction.set_rollback(True)
    assert config.get_setting("page_size") == 50  # ...nobody keeps it after the rollback


def test_the_cache_can_be_turned_off() -> None:
    config.set_setting("page_size", 50)
    with override_settings(CANVAS_SETTING_CACHE_SECONDS=0):
        assert _queries("page_size") == (50, 1)
        assert _queries("page_size") == (50, 1)


def test_a_change_made_elsewhere_is_seen_once_the_cached_value_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr("canvas_core.config._now", lambda: clock[0])
    config.set_setting("page_size", 50)
    assert _queries("page_size") == (50, 1)
    _write_elsewhere("page_size", 51)  # no record event in this process: it can't know
    clock[0] += config.DEFAULT_CACHE_SECONDS - 1
    assert _queries("page_size") == (50, 0)
    clock[0] += 1
    assert _queries("page_size") == (51, 1)
    _write_elsewhere("page_size", 52)
    config.clear_setting_cache()
    assert _queries("page_size") == (52, 1)


def test_a_malformed_cache_duration_says_what_to_write() -> None:
    with override_settings(CANVAS_SETTING_CACHE_SECONDS="60"), pytest.raises(Exception, match="number of seconds"):
        config.get_setting("x", default=None)


def test_typed_reads_validate_without_showing_the_value() -> None:
    config.set_setting("page_size", 50)
    config.set_setting("hosts", ["a", "b"])
    config.set_setting("api_key", "s3cr3t-value", sensitive=True)
    assert config.get_setting("page_size", type=int) == 50
    assert config.get_setting("hosts", type=list[str]) == ["a", "b"]
    assert config.get_setting("absent", 3, type=int) == 3
    with pytest.raises(config.SettingTypeError, match="setting 'api_key' is not a valid int") as raised:
        config.get_setting("api_key", type=int)
    assert "s3cr3t" not in str(raised.value)


@settings(max_examples=25, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
        max_leaves=10,
    )
)
def test_any_json_value_round_trips(value: object) -> None:
    config.set_setting("any", value)
    assert config.get_setting("any") == value
    assert config.get_setting("any") == value  # from the cache
