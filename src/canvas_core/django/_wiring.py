"""Emitting the six record lifecycle events from the Django ORM, for the models that need them.

"Pay only for what is handled": a model is wired only while some registered
handler could receive one of its record events, and only for those events.
An unwired model runs Django's own code behind one dictionary lookup: no
extra query on save, load or delete, and Django's fast delete path (which
Django takes only when no delete signal receiver exists for the model).
When a registration changes (the core registry tells its change listeners
which one), only the models it can reach are re-examined.

How each operation is observed:

* load: ``from_db`` is wrapped on each model whose update events are handled
  (models nobody tracks load through Django's own, untouched); the wrapper
  keeps a reference to the row it built the instance from, and a marshalled
  copy of its mutable values (JSON), so that the diff of the next save needs
  no query and still sees in-place changes;
* save: ``Model.save_base`` is wrapped (Django's ``pre_save`` cannot add the
  fields a pre handler changed to ``update_fields``); ``save()``, ``asave()``,
  ``create()``, ``get_or_create()`` and ``update_or_create()`` all end there;
* delete: ``pre_delete``/``post_delete`` receivers per wired model, which
  covers ``delete()``, ``adelete()``, ``QuerySet.delete()`` and cascades;
* ``QuerySet.bulk_create`` and ``QuerySet.bulk_update`` are wrapped;
* ``refresh_from_db`` (and so loading a deferred field) refreshes the copy.
"""

from __future__ import annotations

import itertools
import marshal
import operator
import threading
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import date, datetime
from decimal import Decimal
from typing import Any, TypeAlias
from uuid import UUID

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.deletion import Collector
from django.db.models.signals import post_delete, pre_delete
from django.utils.module_loading import autodiscover_modules

from canvas_core.events import (
    Event,
    PostRecordCreate,
    PostRecordDelete,
    PostRecordUpdate,
    PreRecordCreate,
    PreRecordDelete,
    PreRecordUpdate,
    RecordEvent,
    Registration,
)
from canvas_core.events._dispatch import registry
from canvas_core.events._generics import _type_argument_matches
from canvas_core.events._registry import RegistrationChange, origin_matches

from . import _relations, _updates
from ._delivery import deliver, deliver_each

__all__ = [
    "DEFAULT_HANDLER_MODULES",
    "KINDS",
    "ModelHooks",
    "all_models_wired",
    "handler_module_names",
    "install",
    "rewire",
    "wired_events",
]

RecordKind: TypeAlias = type[RecordEvent[Any]]
KINDS: tuple[RecordKind, ...] = (
    PreRecordCreate,
    PostRecordCreate,
    PreRecordUpdate,
    PostRecordUpdate,
    PreRecordDelete,
    PostRecordDelete,
)

STORED = "_canvas_stored"
"""Instance ``__dict__`` key of the stored values: a dict attname -> value, or a ``LoadedRow``."""

# What from_db keeps: the attnames and the row the instance was built from, the
# positions of mutable values in it, and a copy of those (marshal bytes, or a
# tuple of copies for values marshal cannot handle). Decoded only on save.
LoadedRow: TypeAlias = tuple[Sequence[str], Sequence[Any], tuple[int, ...], "bytes | tuple[Any, ...]"]
PARENT_ROW = "_canvas_parent_row"
"""Marks the parent-table half of a multi-table child being deleted (not a record of its own)."""

# Field types whose values are never mutated in place; values of other fields
# (JSON, arrays, custom fields) are copied when kept, so that an in-place
# change is seen as a change.
_SCALAR_FIELD_TYPES = frozenset(
    {
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "BinaryField",
        "BooleanField",
        "CharField",
        "DateField",
        "DateTimeField",
        "DecimalField",
        "DurationField",
        "EmailField",
        "FilePathField",
        "FloatField",
        "ForeignKey",
        "GenericIPAddressField",
        "IPAddressField",
        "IntegerField",
        "OneToOneField",
        "PositiveBigIntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SlugField",
        "SmallAutoField",
        "SmallIntegerField",
        "TextField",
        "TimeField",
        "URLField",
        "UUIDField",
    }
)

_MISSING: Any = object()


class ModelHooks:
    """What is wired for one model: the parametrized event classes to emit (None: not handled)."""

    def __init__(self, model: type[Model], kinds: frozenset[RecordKind]) -> None:
        self.model = model
        self.kinds = kinds

        def parametrized(kind: RecordKind) -> type[Event] | None:
            return kind[model] if kind in kinds else None  # type: ignore[index]

        self.pre_create = parametrized(PreRecordCreate)
        self.post_create = parametrized(PostRecordCreate)
        self.pre_update = parametrized(PreRecordUpdate)
        self.post_update = parametrized(PostRecordUpdate)
        self.pre_delete = parametrized(PreRecordDelete)
        self.post_delete = parametrized(PostRecordDelete)
        self.tracks = self.pre_update is not None or self.post_update is not None
        self.saves = self.tracks or self.pre_create is not None or self.post_create is not None
        self.deletes = self.pre_delete is not None or self.post_delete is not None

        fields = [
            field
            for field in model._meta.concrete_fields
            if not field.primary_key and not getattr(field, "generated", False)
        ]
        self.fields: tuple[tuple[str, str], ...] = tuple((field.name, field.attname) for field in fields)
        self.attnames = tuple(attname for _, attname in self.fields)
        self.containers = tuple(
            field.attname for field in fields if field.get_internal_type() not in _SCALAR_FIELD_TYPES
        )
        self.attname_of = dict(self.fields) | {a: a for a in self.attnames}
        concrete = model._meta.concrete_model
        # A multi-table child: its delete also sends delete signals for its parent-table rows.
        self.has_parents = concrete is not None and any(link is not None for link in concrete._meta.parents.values())
        self.container_set = frozenset(self.containers)
        # (the attname list of the last query's rows, positions of containers in it)
        self._positions: tuple[Sequence[str] | None, tuple[int, ...], Callable[[Sequence[Any]], Any] | None] = (
            None,
            (),
            None,
        )

    def loaded_row(self, field_names: Sequence[str], row: Sequence[Any]) -> LoadedRow:
        """What to keep of a row loaded from the database (cheap: the row itself, plus copies of containers).

        The copies are marshalled: one value when there is one container, a
        tuple of them otherwise (what ``itemgetter`` returns).
        """
        names, positions, containers_of = self._positions
        if names is not field_names:  # a new query; all rows of a query share one list
            positions = tuple(i for i, name in enumerate(field_names) if name in self.container_set)
            containers_of = operator.itemgetter(*positions) if positions else None
            self._positions = (field_names, positions, containers_of)
        if containers_of is None:
            return (field_names, row, positions, b"")
        containers = containers_of(row)
        try:
            return (field_names, row, positions, marshal.dumps(containers))
        except ValueError:  # a value marshal cannot copy (a custom type): copy it the slow way
            copied = tuple(_copy_slowly(row[i]) for i in positions)
            return (field_names, row, positions, copied)


_hooks: dict[type[Model], ModelHooks] = {}
_tracked: dict[type[Model], ModelHooks] = {}  # those of _hooks whose update events are handled
_lock = threading.RLock()
_installed = False
_wire_all_models = 0  # > 0 while all_models_wired() is active


def wired_events(model: type[Model]) -> frozenset[type[RecordEvent[Any]]]:
    """The record event classes ``model`` emits now (unparametrized); empty when it is not wired.

    A model is wired for an event exactly while some registered handler
    could receive that event from it (or while emissions are captured, see
    :func:`canvas_core.testing.capture_events`); an unwired model costs nothing.
    """
    hooks = _hooks.get(model)
    return hooks.kinds if hooks is not None else frozenset()


# -- deciding what to wire ----------------------------------------------------------------------


def _is_record_registration(registration: Registration) -> bool:
    event_type = registration.event_type
    generic = event_type.__pydantic_generic_metadata__["origin"] or event_type
    return any(issubclass(kind, generic) for kind in KINDS)


def _kinds_for(model: type[Model], registrations: Iterable[Registration]) -> frozenset[RecordKind]:
    """The record events of ``model`` that some registration would receive."""
    kinds: set[RecordKind] = set()
    for registration in registrations:
        if not origin_matches(registration.origin, model):
            continue
        event_type = registration.event_type
        generic = event_type.__pydantic_generic_metadata__["origin"]
        if generic is not None:  # e.g. PostRecordUpdate[Setting]: the model must be a Setting
            record_field = event_type.model_fields.get("record")
            if record_field is None or not _type_argument_matches(model, record_field.annotation):
                continue
        else:
            generic = event_type
        kinds.update(kind for kind in KINDS if issubclass(kind, generic))
    return frozenset(kinds)


def rewire(*, force: bool = False) -> None:
    """Wire each installed model for exactly the record events some handler can receive.

    Recounts from every registration (``force`` is accepted for callers of
    the earlier signature; every call recounts).
    """
    global _models_seen, _counted_generation
    if not _installed:
        return
    with _lock:
        models = apps.get_models(include_auto_created=True)  # the through tables of ManyToManyFields too
        _reach.clear()
        _counted_generation, registrations = registry.registrations_at()
        for registration in registrations:
            if _is_record_registration(registration):
                _count(registration, 1, models)
        _models_seen = models
        _apply(set(models) | set(_hooks))


# model -> record event class -> how many registrations can deliver it from that model
_reach: dict[type[Model], dict[RecordKind, int]] = {}
_models_seen: list[type[Model]] | None = None  # apps.get_models() when _reach was last recounted
_counted_generation = 0  # the registry's generation _reach was recounted at: older changes are in it
_deferred = False  # while install() imports the handlers modules: one recount afterwards


def _count(registration: Registration, step: int, models: list[type[Model]]) -> list[type[Model]]:
    """Add ``step`` to the counts of the models ``registration`` reaches; return those models."""
    reached = []
    for model in _reachable_models(registration.origin, models):
        kinds = _kinds_for(model, (registration,))
        if kinds:
            counts = _reach.setdefault(model, {})
            for kind in kinds:
                counts[kind] = counts.get(kind, 0) + step
            reached.append(model)
    return reached


def _reachable_models(origin: object, models: list[type[Model]]) -> Iterable[type[Model]]:
    """The installed models an emission from which ``origin`` can match: a model class's subtree, not all."""
    if origin is None:
        return models
    if isinstance(origin, type) and type(origin).__subclasscheck__ is type.__subclasscheck__:
        installed = set(models)
        found: dict[type, None] = {}
        pending = [origin]
        while pending:
            cls = pending.pop()
            if cls not in found:
                found[cls] = None
                pending.extend(cls.__subclasses__())
        return [cls for cls in found if cls in installed]
    return [model for model in models if origin_matches(origin, model)]


def _apply(models: Iterable[type[Model]]) -> None:
    """Wire ``models`` for the kinds their counts say, leaving unchanged hooks in place."""
    changed = False
    for model in models:
        if _wire_all_models:
            kinds = frozenset(KINDS)
        else:
            kinds = frozenset(kind for kind, count in _reach.get(model, {}).items() if count > 0)
        old = _hooks.get(model)
        if (old.kinds if old is not None else frozenset()) == kinds:
            continue
        changed = True
        hooks = ModelHooks(model, kinds) if kinds else None
        _connect(model, hooks)
        if hooks is None:
            _hooks.pop(model, None)
            _tracked.pop(model, None)
        else:
            _hooks[model] = hooks
            if hooks.tracks:
                _tracked[model] = hooks
            else:
                _tracked.pop(model, None)
        _keep_loaded_rows(model, model in _tracked)
    if changed:
        _relations.connect(_hooks)


@contextmanager
def all_models_wired() -> Iterator[None]:
    """Wire every installed model for every record event while active, handled or not.

    For capturing emissions in tests (:func:`canvas_core.testing.capture_events`):
    an event nobody handles must still be emitted to be seen. Nests.
    """
    global _wire_all_models
    with _lock:
        _wire_all_models += 1
        rewire(force=True)
    try:
        yield
    finally:
        with _lock:
            _wire_all_models -= 1
            rewire(force=True)


def _connect(model: type[Model], hooks: ModelHooks | None) -> None:
    uid = "canvas_core.record_events"
    # Django sends no delete signal for an auto-created through model (a receiver would only cost it its
    # fast delete): _relations reports those rows' deletions.
    signalled = hooks is not None and not model._meta.auto_created
    for signal, receiver, wanted in (
        (pre_delete, _on_pre_delete, signalled and hooks is not None and hooks.pre_delete is not None),
        (post_delete, _on_post_delete, signalled and hooks is not None and hooks.post_delete is not None),
    ):
        if wanted:
            signal.connect(receiver, sender=model, weak=False, dispatch_uid=uid)
        else:
            signal.disconnect(sender=model, dispatch_uid=uid)


def _on_registration_changed(change: RegistrationChange) -> None:
    """Re-examine only the models the changed registration can reach (all, after ``clear``/``restore``)."""
    if _deferred or not _installed:
        return
    registration = change.registration
    if registration is not None and not _is_record_registration(registration):
        return  # most registrations: nothing to do
    with _lock:
        if change.generation <= _counted_generation:
            return  # another thread's recount already saw it
        models = apps.get_models(include_auto_created=True)  # the through tables of ManyToManyFields too
        if registration is None or models is not _models_seen:  # everything, or models were added since
            rewire()
            return
        _apply(_count(registration, 1 if change.added else -1, models))


# -- stored values and diffs --------------------------------------------------------------------


def _copy(value: Any) -> Any:
    """A copy of a container value deep enough that in-place changes to the original don't reach it."""
    try:
        return marshal.loads(marshal.dumps(value))  # JSON-like values: fast, and as deep as it gets
    except ValueError:
        return _copy_slowly(value)


def _copy_slowly(value: Any) -> Any:
    cls = type(value)
    if cls is dict:
        return {key: _copy_slowly(item) for key, item in value.items()}
    if cls is list:
        return [_copy_slowly(item) for item in value]
    if cls is set or cls is bytearray:
        return cls(value)
    return value


# Types of values that are never expressions (``F()``, ``Value()``, a subquery...): the common case,
# decided without looking for ``resolve_expression``.
_PLAIN_VALUE_TYPES = frozenset({str, int, float, bool, type(None), dict, list, bytes, Decimal, datetime, date, UUID})


def _capture(hooks: ModelHooks, values: dict[str, Any]) -> dict[str, Any]:
    """The stored values of the loaded fields (expressions, whose result is unknown, left out)."""
    plain = _PLAIN_VALUE_TYPES
    containers = hooks.container_set
    stored: dict[str, Any] = {}
    for attname in hooks.attnames:  # one pass: runs for every record created while update events are handled
        value = values.get(attname, _MISSING)
        if value is _MISSING or (type(value) not in plain and hasattr(value, "resolve_expression")):
            continue
        stored[attname] = _copy(value) if attname in containers else value
    return stored


def _copy_loaded(hooks: ModelHooks, values: dict[str, Any]) -> dict[str, Any]:
    """The current values of the loaded fields, containers copied (to see what handlers change)."""
    copied = {attname: values[attname] for attname in hooks.attnames if attname in values}
    for attname in hooks.containers:
        if attname in copied:
            copied[attname] = _copy(copied[attname])
    return copied


def _stored(values: dict[str, Any]) -> dict[str, Any]:
    """A new dict of the stored values kept on an instance (empty when none were kept)."""
    kept = values.get(STORED)
    if kept is None:
        return {}
    if type(kept) is dict:
        return dict(kept)
    field_names, row, positions, copies = kept
    stored = dict(zip(field_names, row, strict=True))
    if positions:
        if type(copies) is bytes:
            copies = marshal.loads(copies)
            if len(positions) == 1:
                copies = (copies,)
        for position, value in zip(positions, copies, strict=True):
            stored[field_names[position]] = value
    return stored


_django_from_db = Model.from_db.__func__  # type: ignore[attr-defined]


def _own_from_db(model: type[Model]) -> Callable[..., Model]:
    """The function ``model.from_db`` runs without canvas-core's wrappers (Django's, or the model's own)."""
    for klass in model.__mro__:
        attribute = klass.__dict__.get("from_db")
        if attribute is None:
            continue
        function = getattr(attribute, "__func__", attribute)
        if not getattr(function, "keeps_loaded_rows", False):
            return function  # type: ignore[no-any-return]
    return _django_from_db  # type: ignore[no-any-return]


def loads_like_django(model: type[Model]) -> bool:
    """Whether loading a record of ``model`` is Django's own ``from_db`` (with canvas-core's wrapper or not)."""
    return _own_from_db(model) is _django_from_db


def _keep_loaded_rows(model: type[Model], keep: bool) -> None:
    """Wrap ``model.from_db`` so that its records keep the row they were loaded from, or unwrap it.

    Per model, not on ``Model``: loading a model nobody tracks costs nothing. Subclasses inherit the
    wrapper; it keeps rows only for the classes that are tracked themselves.
    """
    installed = model.__dict__.get("from_db")
    ours = installed is not None and getattr(getattr(installed, "__func__", installed), "keeps_loaded_rows", False)
    if keep == ours:
        return
    if not keep:
        previous = _replaced_from_db.pop(model, None)
        if previous is None:
            delattr(model, "from_db")
        else:
            model.from_db = previous  # type: ignore[method-assign]
        return
    own = _own_from_db(model)
    if "from_db" in model.__dict__:
        _replaced_from_db[model] = model.__dict__["from_db"]
    else:  # (and forget one replaced earlier but since removed by someone else)
        _replaced_from_db.pop(model, None)

    def from_db(
        cls: type[Model], /, db: str, field_names: Sequence[str], values: Sequence[Any], **options: Any
    ) -> Model:
        # ``options``: arguments newer Django versions add (6.1: ``fetch_mode``), passed through.
        instance: Model = own(cls, db, field_names, values, **options)
        hooks = _tracked.get(cls)
        if hooks is not None:
            instance.__dict__[STORED] = hooks.loaded_row(field_names, values)
        return instance

    from_db.keeps_loaded_rows = True  # type: ignore[attr-defined]
    model.from_db = classmethod(from_db)  # type: ignore[method-assign, assignment]


_replaced_from_db: dict[type[Model], Any] = {}  # a model's own from_db, while canvas-core's wraps it


def _fetch_stored(
    model: type[Model], using: str, pks: Sequence[Any], attnames: Sequence[str]
) -> dict[Any, dict[str, Any]]:
    """Stored values of ``attnames`` for the rows ``pks``, in one query: pk -> attname -> value."""
    if not attnames or not pks:
        return {}
    rows = model._base_manager.db_manager(using).filter(pk__in=pks).values_list("pk", *attnames)
    return {row[0]: dict(zip(attnames, row[1:], strict=True)) for row in rows}


def _diff(
    fields: Iterable[tuple[str, str]], stored: dict[str, Any], values: dict[str, Any]
) -> dict[str, tuple[Any, Any]]:
    diff: dict[str, tuple[Any, Any]] = {}
    plain = _PLAIN_VALUE_TYPES
    for name, attname in fields:
        new = values.get(attname, _MISSING)
        old = stored.get(attname, _MISSING)
        if old is _MISSING or new is _MISSING:
            continue
        if old != new and (type(new) in plain or not hasattr(new, "resolve_expression")):
            diff[name] = (old, new)
    return diff


def _written_fields(
    hooks: ModelHooks, values: dict[str, Any], update_fields: Iterable[str] | None
) -> tuple[tuple[str, str], ...]:
    if update_fields is None:
        return tuple(field for field in hooks.fields if field[1] in values)
    names = set(update_fields)
    return tuple(field for field in hooks.fields if field[0] in names or field[1] in names)


def _record_written(
    hooks: ModelHooks,
    using: str,
    instances: Sequence[Model],
    written: Sequence[tuple[str, str]],
    stored_by_obj: Sequence[dict[str, Any]],
) -> list[dict[str, tuple[Any, Any]]]:
    """Each written instance's diff from its stored values; the values just written become its stored ones.

    One pass per instance. Values written as expressions (``F()``, ``Now()``...)
    are read back, in one query for all the instances. ``stored_by_obj`` holds
    new dicts (they become the instances' stored values).
    """
    plain = _PLAIN_VALUE_TYPES
    containers = hooks.container_set
    diffs: list[dict[str, tuple[Any, Any]]] = []
    pending: dict[Any, tuple[dict[str, Any], dict[str, tuple[Any, Any]], list[tuple[str, str]]]] = {}
    for instance, stored in zip(instances, stored_by_obj, strict=True):
        values = instance.__dict__
        diff: dict[str, tuple[Any, Any]] = {}
        expressions: list[tuple[str, str]] | None = None
        for name, attname in written:
            new = values.get(attname, _MISSING)
            if new is _MISSING:
                continue
            if type(new) not in plain and hasattr(new, "resolve_expression"):
                if expressions is None:
                    expressions = []
                expressions.append((name, attname))
                continue
            if attname in containers:
                new = _copy(new)
            old = stored.get(attname, _MISSING)
            if old is not _MISSING and old != new:
                diff[name] = (old, new)
            stored[attname] = new
        if expressions is not None:
            pending[instance.pk] = (stored, diff, expressions)
        values[STORED] = stored
        diffs.append(diff)
    if pending:
        attnames = sorted({attname for _, _, expressions in pending.values() for _, attname in expressions})
        rows = _fetch_stored(hooks.model, using, list(pending), attnames)
        for pk, (stored, diff, expressions) in pending.items():
            row = rows.get(pk, {})
            for name, attname in expressions:
                new = row.get(attname, _MISSING)
                if new is _MISSING:  # not read back (the row is gone): its value is unknown
                    stored.pop(attname, None)
                    continue
                if attname in containers:
                    new = _copy(new)
                old = stored.get(attname, _MISSING)
                if old is not _MISSING and old != new:
                    diff[name] = (old, new)
                stored[attname] = new
    return diffs


# -- save -----------------------------------------------------------------------------------------

_django_save_base = Model.save_base


def _save_base(
    self: Model,
    raw: bool = False,
    force_insert: Any = False,
    force_update: bool = False,
    using: str | None = None,
    update_fields: Iterable[str] | None = None,
    **extra: Any,  # arguments a later Django may add: passed through
) -> None:
    hooks = _hooks.get(type(self))
    if hooks is None or raw or not hooks.saves:
        _django_save_base(self, raw, force_insert, force_update, using, update_fields, **extra)
        return
    using = using or router.db_for_write(type(self), instance=self)
    _save_with_events(self, hooks, force_insert, force_update, using, update_fields, extra)


def _pk_has_default(model: type[Model]) -> bool:
    # Django's own test for skipping the UPDATE: every field of the pk (composite ones too) has a default.
    return all(field.has_default() or field.has_db_default() for field in model._meta.pk_fields)


def _save_with_events(
    instance: Model,
    hooks: ModelHooks,
    force_insert: Any,
    force_update: bool,
    using: str,
    update_fields: Iterable[str] | None,
    extra: dict[str, Any],
) -> None:
    model = type(instance)
    values = instance.__dict__
    pk = instance.pk
    stored: dict[str, Any] | None = None
    pk_set = instance._is_pk_set()  # type: ignore[attr-defined]
    # Django inserts a new instance, one it is told to insert, and one without a pk (whatever its
    # _state says: ``obj.pk = None; obj.save()`` is Django's way to copy a row).
    creating = instance._state.adding or bool(force_insert) or not pk_set
    if creating and not force_insert and pk_set and not _pk_has_default(model):
        # Django will try an UPDATE first: find out whether the row exists (one query).
        found = _fetch_stored(model, using, [pk], hooks.attnames)
        if found:
            creating, stored = False, found[pk]

    if creating:
        if hooks.pre_create is not None:
            deliver(hooks.pre_create, model, using, {"record": instance})
        _django_save_base(instance, False, force_insert, force_update, using, update_fields, **extra)
        if hooks.tracks:
            values[STORED] = _capture(hooks, values)
        if hooks.post_create is not None:
            deliver(hooks.post_create, model, using, {"record": instance})
        return

    if not hooks.tracks:  # only create events are handled
        _django_save_base(instance, False, force_insert, force_update, using, update_fields, **extra)
        return

    written = _written_fields(hooks, values, update_fields)
    stored = _with_missing_stored(hooks, using, pk, stored if stored is not None else _stored(values), written)
    if hooks.pre_update is not None:
        before = _copy_loaded(hooks, values) if update_fields is not None else None
        diff = _diff(written, stored, values)
        deliver(
            hooks.pre_update, model, using, {"record": instance, "diff": diff, "update_fields": _names(update_fields)}
        )
        if before is not None and update_fields is not None:
            # Fields a pre handler changed are saved too, also outside update_fields.
            changed = {name for name, attname in hooks.fields if attname in values and attname not in before}
            changed.update(_diff(hooks.fields, before, values))
            added = {
                name for name in changed if name not in update_fields and hooks.attname_of[name] not in update_fields
            }
            if added:
                update_fields = frozenset(update_fields) | added
                written = _written_fields(hooks, values, update_fields)
                stored = _with_missing_stored(hooks, using, pk, stored, written)
    _django_save_base(instance, False, force_insert, force_update, using, update_fields, **extra)
    (diff,) = _record_written(hooks, using, (instance,), written, (stored,))
    if hooks.post_update is not None:
        deliver(
            hooks.post_update, model, using, {"record": instance, "diff": diff, "update_fields": _names(update_fields)}
        )


def _names(update_fields: Iterable[str] | None) -> frozenset[str] | None:
    return None if update_fields is None else frozenset(update_fields)


def _with_missing_stored(
    hooks: ModelHooks, using: str, pk: Any, stored: dict[str, Any], written: Iterable[tuple[str, str]]
) -> dict[str, Any]:
    """``stored`` completed with the stored values of ``written`` fields it lacks (one query, if any)."""
    missing = [attname for _, attname in written if attname not in stored]
    if missing:
        stored.update(_fetch_stored(hooks.model, using, [pk], missing).get(pk, {}))
    return stored


# -- refresh ----------------------------------------------------------------------------------------

_django_refresh_from_db = Model.refresh_from_db


def _refresh_from_db(
    self: Model,
    using: str | None = None,
    fields: Iterable[str] | None = None,
    from_queryset: Any = None,
    **extra: Any,
) -> None:
    if fields is not None:
        fields = list(fields)
    _django_refresh_from_db(self, using, fields, from_queryset, **extra)
    hooks = _hooks.get(type(self))
    if hooks is None or not hooks.tracks:
        return
    values = self.__dict__
    refreshed = _written_fields(hooks, values, fields)
    stored = _stored(values)
    stored.update(_capture(hooks, {attname: values[attname] for _, attname in refreshed if attname in values}))
    values[STORED] = stored


# -- delete -----------------------------------------------------------------------------------------


def _mark_parent_rows(instance: Model) -> None:
    """Mark the parent-table instances Django collected when deleting a multi-table child.

    Django sends delete signals for them too, but they are part of the child
    record, whose own events are emitted.
    """
    concrete = type(instance)._meta.concrete_model
    assert concrete is not None
    for link in concrete._meta.parents.values():
        if link is None:
            continue
        parent = instance._state.fields_cache.get(link.name)
        if isinstance(parent, Model):
            parent.__dict__[PARENT_ROW] = True
            _mark_parent_rows(parent)


class _DeleteRun:
    """One ``Collector.delete()`` running in this thread, and the records its events were emitted for."""

    __slots__ = ("collector", "connection", "post_done", "pre_done", "using")

    def __init__(self, collector: Collector) -> None:
        # Its ``data`` (model -> the instances it deletes, in order) is read when a model's first signal
        # comes: Collector.delete() sorts it, rebinding the attribute, before sending any.
        self.collector = collector
        self.using: str = collector.using
        self.connection = connections[collector.using]
        # id() of the instances whose Pre / Post events went out with the rest of their model's
        # (the instances stay alive in ``data`` meanwhile, so their ids are unique).
        self.pre_done: set[int] = set()
        self.post_done: set[int] = set()


class _Deletes(threading.local):
    """The ``Collector.delete()`` calls running in this thread, innermost last."""

    def __init__(self) -> None:
        self.running: list[_DeleteRun] = []


_deletes = _Deletes()
_django_collector_delete = Collector.delete


def _collector_delete(self: Collector) -> tuple[int, dict[str, int]]:
    # Django sends the delete signals one row at a time, each model's rows one after the other: the
    # events of a model's rows are emitted together, on the first signal of that model (one handler
    # lookup, one savepoint guard), and the connection is looked up once per delete.
    if not _hooks:
        return _django_collector_delete(self)
    for model, instances in self.data.items():
        hooks = _hooks.get(model)
        if hooks is not None and hooks.deletes and hooks.has_parents:
            for instance in instances:
                _mark_parent_rows(instance)
    running = _deletes.running
    running.append(_DeleteRun(self))
    try:
        return _django_collector_delete(self)
    finally:
        running.pop()


def _on_pre_delete(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    running = _deletes.running
    if running and id(instance) in running[-1].pre_done and running[-1].using == using:
        return  # its event went out with its model's others (the common case: first, and cheap)
    hooks = _hooks.get(sender)
    if hooks is not None and hooks.pre_delete is not None:
        _deliver_delete(hooks, hooks.pre_delete, sender, instance, using, pre=True)


def _on_post_delete(sender: type[Model], instance: Model, using: str, **kwargs: Any) -> None:
    running = _deletes.running
    if running and id(instance) in running[-1].post_done and running[-1].using == using:
        return
    hooks = _hooks.get(sender)
    if hooks is not None and hooks.post_delete is not None:
        _deliver_delete(hooks, hooks.post_delete, sender, instance, using, pre=False)


def _deliver_delete(
    hooks: ModelHooks, event_type: type[Event], sender: type[Model], instance: Model, using: str, *, pre: bool
) -> None:
    """Emit ``event_type`` for ``instance``, with its model's other rows when a ``Collector.delete()`` runs."""
    running = _deletes.running
    run = running[-1] if running and running[-1].using == using else None
    batch = None if run is None else run.collector.data.get(sender)
    if not isinstance(batch, list):  # (Collector.delete() sorts each model's set into a list before any signal)
        batch = None
    # Django signals a model's first instance first; any other is looked for by identity (== compares keys).
    if run is None or not batch or (batch[0] is not instance and not any(item is instance for item in batch)):
        # A signal sent outside Collector.delete(), or by hand for an instance it is not deleting: alone.
        if hooks.has_parents:
            _mark_parent_rows(instance)
        if PARENT_ROW not in instance.__dict__:
            deliver(event_type, sender, using, {"record": instance})
        return
    (run.pre_done if pre else run.post_done).update(map(id, batch))
    records = [{"record": record} for record in batch if PARENT_ROW not in record.__dict__]
    deliver_each(event_type, sender, using, records, run.connection)


# -- bulk operations ----------------------------------------------------------------------------------

_django_bulk_create = QuerySet.bulk_create
_django_bulk_update = QuerySet.bulk_update


def _bulk_create(
    self: QuerySet[Any],
    objs: Iterable[Model],
    batch_size: int | None = None,
    ignore_conflicts: bool = False,
    update_conflicts: bool = False,
    update_fields: Sequence[str] | None = None,
    unique_fields: Sequence[str] | None = None,
) -> list[Any]:
    if not _hooks or ignore_conflicts or update_conflicts:
        # With conflicts ignored or turned into updates, Django cannot tell which rows were inserted.
        return _django_bulk_create(
            self, objs, batch_size, ignore_conflicts, update_conflicts, update_fields, unique_fields
        )
    objs = list(objs)
    # Each record's own model: a proxy's manager accepts instances of the concrete model, and the reverse.
    hooks_of = [_hooks.get(type(obj)) for obj in objs]
    if not any(hooks is not None and hooks.saves for hooks in hooks_of):
        return _django_bulk_create(
            self, objs, batch_size, ignore_conflicts, update_conflicts, update_fields, unique_fields
        )
    # Marked for writing, as Django's bulk_create does first: self.db is then the write database.
    self._for_write = True  # type: ignore[attr-defined]
    using = self.db
    _deliver_grouped(
        using,
        (
            (hooks.pre_create, type(obj), {"record": obj})
            for obj, hooks in zip(objs, hooks_of, strict=True)
            if hooks is not None and hooks.pre_create is not None
        ),
    )
    created = _django_bulk_create(
        self, objs, batch_size, ignore_conflicts, update_conflicts, update_fields, unique_fields
    )
    for obj, hooks in zip(objs, hooks_of, strict=True):
        if hooks is not None and hooks.tracks:
            obj.__dict__[STORED] = _capture(hooks, obj.__dict__)
    _deliver_grouped(
        using,
        (
            (hooks.post_create, type(obj), {"record": obj})
            for obj, hooks in zip(objs, hooks_of, strict=True)
            if hooks is not None and hooks.post_create is not None
        ),
    )
    return created


def _deliver_grouped(using: str, deliveries: Iterable[tuple[type[Event], type[Model], dict[str, Any]]]) -> None:
    """Deliver ``(event type, model, fields)`` in order, each run of one event type and model together."""
    for (event_type, model), run in itertools.groupby(deliveries, key=lambda delivery: delivery[:2]):
        deliver_each(event_type, model, using, [fields for _, _, fields in run])


def _bulk_update(
    self: QuerySet[Any], objs: Iterable[Model], fields: Iterable[str], batch_size: int | None = None
) -> int:
    if not _tracked:
        return _django_bulk_update(self, objs, fields, batch_size)
    objs = list(objs)
    fields = list(fields)
    # Grouped by each record's own model (see _bulk_create); Django writes them all in one go.
    groups: dict[ModelHooks, list[Model]] = {}
    for obj in objs:
        hooks = _tracked.get(type(obj))
        if hooks is not None:
            groups.setdefault(hooks, []).append(obj)
    if not groups:
        return _django_bulk_update(self, objs, fields, batch_size)
    # Marked for writing, as Django's bulk_update does first: self.db is then the write database.
    self._for_write = True  # type: ignore[attr-defined]
    using = self.db
    plans: list[tuple[ModelHooks, list[Model], tuple[tuple[str, str], ...], list[dict[str, Any]] | None]] = []
    fetched: dict[ModelHooks, dict[Any, dict[str, Any]]] = {}
    extra: set[str] = set()
    for hooks, members in groups.items():
        written = _written_fields(hooks, {}, fields)
        if hooks.pre_update is None:
            # Decoded after the write: fewer objects alive through Django's update (and its garbage
            # collections). Only what the kept values lack is read now, before it is overwritten.
            fetched[hooks] = _missing_stored(hooks, using, members, written)
            plans.append((hooks, members, written, None))
            continue
        stored_by_obj = _stored_for_bulk(hooks, using, members, written)
        befores = [_copy_loaded(hooks, obj.__dict__) for obj in members]
        deliver_each(
            hooks.pre_update,
            hooks.model,  # every member's own model (groups are by model)
            using,
            [
                {"record": obj, "diff": _diff(written, stored, obj.__dict__), "operation": "bulk_update"}
                for obj, stored in zip(members, stored_by_obj, strict=True)
            ],
        )
        for obj, before in zip(members, befores, strict=True):
            extra.update(_diff(hooks.fields, before, obj.__dict__))
        plans.append((hooks, members, written, stored_by_obj))
    extra.difference_update(name for _, _, written, _ in plans for name, _ in written)
    if extra:  # fields Pre handlers changed are written too
        fields += sorted(extra)
        for i, (hooks, members, _, known) in enumerate(plans):
            written = _written_fields(hooks, {}, fields)
            if known is None:
                fetched[hooks] = _missing_stored(hooks, using, members, written)
                plans[i] = (hooks, members, written, None)
            else:
                plans[i] = (hooks, members, written, _stored_for_bulk(hooks, using, members, written, known))
    with _updates.bypassed():  # Django's bulk_update runs QuerySet.update(): its events are these
        updated = _django_bulk_update(self, objs, fields, batch_size)
    connection = connections[using]
    for hooks, members, written, known in plans:
        if known is None:
            known = [_stored(obj.__dict__) for obj in members]
            missing = fetched[hooks]
            if missing:
                for obj, stored in zip(members, known, strict=True):
                    for attname, value in missing.get(obj.pk, {}).items():
                        stored.setdefault(attname, value)
        diffs = _record_written(hooks, using, members, written, known)
        post_update = hooks.post_update
        if post_update is not None:
            each = [
                {"record": obj, "diff": diff, "operation": "bulk_update"}
                for obj, diff in zip(members, diffs, strict=True)
            ]
            deliver_each(post_update, hooks.model, using, each, connection)
    return updated


def _missing_stored(
    hooks: ModelHooks, using: str, objs: Sequence[Model], written: Sequence[tuple[str, str]]
) -> dict[Any, dict[str, Any]]:
    """The stored values of ``written`` fields that the objects' kept values lack, in one query: pk -> values."""
    attnames = [attname for _, attname in written]
    missing: set[str] = set()
    pks = []
    layouts: dict[int, frozenset[str]] = {}  # the rows of one query share their attname list
    for obj in objs:
        kept = obj.__dict__.get(STORED)
        have: Collection[str]
        if kept is None:
            have = ()
        elif type(kept) is dict:
            have = kept
        else:
            names = kept[0]
            have = layouts.get(id(names)) or layouts.setdefault(id(names), frozenset(names))
        lacking = [attname for attname in attnames if attname not in have]
        if lacking:
            missing.update(lacking)
            pks.append(obj.pk)
    return _fetch_stored(hooks.model, using, pks, sorted(missing)) if missing else {}


def _stored_for_bulk(
    hooks: ModelHooks,
    using: str,
    objs: Sequence[Model],
    written: Sequence[tuple[str, str]],
    known: Sequence[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Each object's stored values for ``written``, the missing ones read in one query."""
    stored_by_obj = [dict(known[i]) if known else _stored(obj.__dict__) for i, obj in enumerate(objs)]
    missing = {attname for stored in stored_by_obj for _, attname in written if attname not in stored}
    if missing:
        pks = [obj.pk for obj, stored in zip(objs, stored_by_obj, strict=True) if any(a not in stored for a in missing)]
        rows = _fetch_stored(hooks.model, using, pks, sorted(missing))
        for obj, stored in zip(objs, stored_by_obj, strict=True):
            for attname, value in rows.get(obj.pk, {}).items():
                stored.setdefault(attname, value)
    return stored_by_obj


# -- installation -------------------------------------------------------------------------------------


def install() -> None:
    """Install the ORM hooks, import every app's handler modules, and wire the models.

    Called by ``canvas_core``'s AppConfig once Django's apps are ready. Called
    again when the app registry is populated again (``apps.set_installed_apps()``,
    as Django's own test runner and ``override_settings(INSTALLED_APPS=...)``
    do), it imports the new apps' handler modules and wires their models.
    """
    global _installed, _deferred
    with _lock:
        if not _installed:
            Model.save_base = _save_base  # type: ignore[method-assign]
            Model.refresh_from_db = _refresh_from_db  # type: ignore[method-assign]
            QuerySet.bulk_create = _bulk_create  # type: ignore[assignment, method-assign]
            QuerySet.bulk_update = _bulk_update  # type: ignore[method-assign]
            Collector.delete = _collector_delete  # type: ignore[method-assign]
            _updates.install()
            registry.change_listeners.append(_on_registration_changed)
            _installed = True
    _deferred = True  # registrations made while importing are counted once, by the rewire below
    try:
        autodiscover_modules(*handler_module_names())
    finally:
        _deferred = False
        rewire()


DEFAULT_HANDLER_MODULES = ("handlers",)


def handler_module_names() -> tuple[str, ...]:
    """The module names imported from every installed app at start-up: ``CANVAS_HANDLER_MODULES``.

    Default ``("handlers",)``; a project whose handlers live in ``signals.py``
    or ``receivers.py`` names those. Raises ``ImproperlyConfigured`` for
    anything but a list or tuple of module names.
    """
    names = getattr(settings, "CANVAS_HANDLER_MODULES", DEFAULT_HANDLER_MODULES)
    if (
        not isinstance(names, list | tuple)
        or not names
        or not all(
            isinstance(name, str) and name and all(part.isidentifier() for part in name.split(".")) for name in names
        )
    ):
        raise ImproperlyConfigured(
            "CANVAS_HANDLER_MODULES must be a non-empty list or tuple of module names relative to each app, "
            f"like ('handlers', 'receivers'); got {names!r}"
        )
    return tuple(names)
