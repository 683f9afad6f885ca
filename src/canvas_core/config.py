"""Project configuration held in the database: the active Setting model, and reading and writing settings::

    from canvas_core import config

    page_size = config.get_setting("page_size", default=20, type=int)
    config.set_setting("page_size", 50)

Requires Django (``canvas-core[django]``) and ``"canvas_core"`` in
``INSTALLED_APPS``.
"""

from __future__ import annotations

import builtins
import threading
import time
from functools import partial
from typing import TYPE_CHECKING, Any, Final, TypeVar, overload

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import router, transaction
from pydantic import TypeAdapter, ValidationError

from canvas_core.events import PostRecordCreate, PostRecordDelete, PostRecordUpdate, RecordEvent, handle_event

if TYPE_CHECKING:
    from .models import AbstractSetting

__all__ = [
    "DEFAULT_CACHE_SECONDS",
    "DEFAULT_SETTING_MODEL",
    "MISSING",
    "SettingNotFound",
    "SettingTypeError",
    "clear_setting_cache",
    "get_setting",
    "get_setting_model",
    "set_setting",
]

T = TypeVar("T")

DEFAULT_SETTING_MODEL = "canvas_core.Setting"
"""The model :func:`get_setting_model` returns unless ``CANVAS_SETTING_MODEL`` names another."""


def get_setting_model() -> type[AbstractSetting]:
    """Return the active Setting model: ``settings.CANVAS_SETTING_MODEL``, else ``canvas_core.Setting``.

    Like :func:`django.contrib.auth.get_user_model`, it may be called while
    models are still being imported (at module level of a ``models`` or
    ``handlers`` module). Raises :class:`ImproperlyConfigured` when the setting
    is malformed or names a model that is not installed.
    """
    label = getattr(settings, "CANVAS_SETTING_MODEL", DEFAULT_SETTING_MODEL)
    try:
        model: type[AbstractSetting] = apps.get_model(label, require_ready=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"CANVAS_SETTING_MODEL must be of the form 'app_label.ModelName', got {label!r}"
        ) from None
    except LookupError:
        raise ImproperlyConfigured(
            f"CANVAS_SETTING_MODEL refers to model {label!r}, which is not installed; "
            "add its app to INSTALLED_APPS or fix the label"
        ) from None
    return model


# -- reading and writing settings -------------------------------------------------------------------


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING: Final[Any] = _Missing()
"""``get_setting``'s default ``default``: raise :class:`SettingNotFound` when the setting does not exist."""

DEFAULT_CACHE_SECONDS = 60.0
"""How long a value read by :func:`get_setting` is reused, unless ``CANVAS_SETTING_CACHE_SECONDS`` says otherwise."""


class SettingNotFound(LookupError):
    """:func:`get_setting` was asked for a setting that does not exist, and given no default."""


class SettingTypeError(TypeError):
    """A setting's value does not have the type :func:`get_setting` was asked for (the value is not shown)."""


# key -> (value, or MISSING for "no such row"; monotonic time it was read)
_cache: dict[str, tuple[Any, float]] = {}
_cache_lock = threading.Lock()
_now = time.monotonic  # the cache's clock (a test moves it)
# Bumped by every invalidation: a read that started before one must not fill the cache.
_generation = 0


def _cache_seconds() -> float:
    seconds = getattr(settings, "CANVAS_SETTING_CACHE_SECONDS", DEFAULT_CACHE_SECONDS)
    if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
        raise ImproperlyConfigured(
            f"CANVAS_SETTING_CACHE_SECONDS must be a number of seconds >= 0 (0 turns the cache off), got {seconds!r}"
        )
    return float(seconds)


def _read(key: str) -> Any:
    """The stored value of ``key`` (MISSING if there is no such row), from the cache or the database."""
    seconds = _cache_seconds()
    now = _now()
    cached = _cache.get(key)
    if cached is not None and now - cached[1] < seconds:
        return cached[0]
    generation = _generation
    model = get_setting_model()
    row = model._default_manager.filter(key=key).values_list("value").first()
    value = MISSING if row is None else row[0]
    # Inside a transaction the row may be one this transaction wrote, and may yet roll back: not cached.
    database = router.db_for_read(model)
    if seconds and not transaction.get_connection(database).in_atomic_block:
        with _cache_lock:
            if generation == _generation:
                _cache[key] = (value, now)
    return value


@overload
def get_setting(key: str) -> Any: ...
@overload
def get_setting(key: str, default: T) -> Any: ...
@overload
def get_setting(key: str, *, type: builtins.type[T]) -> T: ...
@overload
def get_setting(key: str, default: T, *, type: builtins.type[T]) -> T: ...


def get_setting(key: str, default: Any = MISSING, *, type: Any = None) -> Any:
    """The value of the setting ``key``: ``default`` if there is no such setting, else :class:`SettingNotFound`.

    With ``type`` (``int``, ``list[str]``, a pydantic model...), the value is
    validated as that type, and the result is typed so: a value that does not
    fit raises :class:`SettingTypeError` (which never shows the value).
    ``default`` is returned as given.

    Values are cached in the process for ``CANVAS_SETTING_CACHE_SECONDS``
    (default 60; 0 turns the cache off). A change saved through the ORM in
    this process (``save()``, ``delete()``, :func:`set_setting`, the admin)
    clears the cached value at once, through record events; other processes
    see it once their cached copy expires. Reads inside a transaction are
    never cached.
    """
    value = _read(key)
    if value is MISSING:
        if default is MISSING:
            raise SettingNotFound(
                f"there is no setting {key!r}; create it (config.set_setting, the admin) or pass a default"
            )
        return default
    if type is None:
        return value
    try:
        return TypeAdapter(type).validate_python(value)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(map(str, error['loc'])) or 'value'}: {error['msg']}"
            for error in exc.errors(include_input=False, include_url=False)
        )
        raise SettingTypeError(f"setting {key!r} is not a valid {_type_name(type)}: {problems}") from None


def _type_name(annotation: object) -> str:
    return getattr(annotation, "__name__", None) or str(annotation)


def set_setting(key: str, value: Any, *, sensitive: bool | None = None) -> None:
    """Store ``value`` (anything JSON can hold) as the setting ``key``, creating it if needed.

    ``sensitive`` marks the value secret (see the admin); ``None`` keeps the
    current flag (``False`` for a new setting). The write goes through the
    ORM, so record event handlers run and caches are cleared.
    """
    model = get_setting_model()
    setting = model._default_manager.filter(key=key).first()
    if setting is None:
        setting = model(key=key, value=value, sensitive=bool(sensitive))
    else:
        setting.value = value
        if sensitive is not None:
            setting.sensitive = sensitive
    setting.save()


def clear_setting_cache() -> None:
    """Forget every cached value: the next :func:`get_setting` of each key reads the database."""
    global _generation
    with _cache_lock:
        _generation += 1
        _cache.clear()


def _forget(key: str) -> None:
    global _generation
    with _cache_lock:
        _generation += 1
        _cache.pop(key, None)


def _on_setting_written(event: RecordEvent[Any]) -> None:
    """Clear the cached value of the written setting, now and once its transaction commits."""
    record = event.record
    keys = {record.key}
    diff = getattr(event, "diff", None)
    if diff and "key" in diff:  # renamed: the old name is gone
        keys.update(diff["key"])
    for key in keys:
        _forget(key)
    # Another thread may read the old value before this transaction commits, and cache it.
    database = record._state.db or router.db_for_write(type(record))
    transaction.on_commit(partial(_forget_all, keys), using=database)


def _forget_all(keys: set[str]) -> None:
    for key in keys:
        _forget(key)


def install_cache_invalidation() -> None:
    """Register the handlers that keep :func:`get_setting`'s cache fresh (called by the app's ``ready()``)."""
    model = get_setting_model()
    for kind in (PostRecordCreate, PostRecordUpdate, PostRecordDelete):
        handle_event(kind, origin=model)(_on_setting_written)
