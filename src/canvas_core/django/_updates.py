"""Update events for writes that never call ``save()``: ``QuerySet.update()`` and cascaded field updates.

``QuerySet.update(**values)`` is one UPDATE statement; Django builds no
instance and sends no signal. For a model whose update events are handled,
the wrapper here turns it into:

1. one SELECT of the matched rows, locked (``SELECT ... FOR UPDATE`` where the
   database has it, in key order so that overlapping updates queue rather
   than deadlock), that also computes every new value: expressions
   (``F("n") + 1``, ``Case``, subqueries) are selected as annotations, so the
   diff holds the results the UPDATE is about to store;
2. ``PreRecordUpdate`` for each row (the record as it is stored, the diff);
3. the UPDATE of exactly the rows read (a row committed by someone else in
   between is neither updated nor reported, a row a Pre handler changed is
   still updated): on PostgreSQL ``pk = ANY(%s)`` with
   the keys as one array, elsewhere ``pk IN (...)`` in batches of the
   database's parameter limit;
4. ``PostRecordUpdate`` for each row, the record now holding the new values,

all in one transaction (the caller's, or one opened for it). Models nobody
listens to run Django's own ``update()``, behind one dictionary lookup.

Cascades (``on_delete=SET_NULL``, ``SET_DEFAULT``, ``SET(...)``) reach the
database either through ``QuerySet.update()`` or through
``UpdateQuery.update_batch()``; both are covered.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from django.db import connections, transaction
from django.db.models import ExpressionWrapper, F, Field, ForeignObject, Lookup, Model, QuerySet
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query_utils import DeferredAttribute
from django.db.models.signals import post_init, pre_init
from django.db.models.sql import UpdateQuery

from canvas_core.events._records import UpdateOperation

from . import _wiring
from ._delivery import deliver_each

__all__ = ["bypassed", "install", "update_with_events"]

logger = logging.getLogger("canvas_core.django")

_django_update = QuerySet.update
_django_update_batch = UpdateQuery.update_batch

_ANNOTATION = "_canvas_new_{}"


class _Bypass(threading.local):
    depth = 0


_bypass = _Bypass()


@contextmanager
def bypassed() -> Iterator[None]:
    """Run Django's own ``update()`` in the block: for writes whose events are emitted already (``bulk_update``)."""
    _bypass.depth += 1
    try:
        yield
    finally:
        _bypass.depth -= 1


def _update(self: QuerySet[Any], **values: Any) -> int:
    hooks = _wiring._tracked.get(self.model)
    if hooks is None or not values or self.query.is_sliced or _bypass.depth:
        return _django_update(self, **values)  # Django's own errors for slices and empty updates
    self._for_write = True  # type: ignore[attr-defined]  # as Django's update() does: self.db is the write database
    return update_with_events(self, hooks, values, "queryset_update")


def _update_batch(self: UpdateQuery, pk_list: list[Any], values: dict[str, Any], using: str) -> None:
    model: type[Model] | None = self.model
    hooks = _wiring._tracked.get(model) if model is not None else None
    if model is None or hooks is None:
        _django_update_batch(self, pk_list, values, using)
        return
    rows = model._base_manager.db_manager(using).filter(pk__in=list(pk_list))
    update_with_events(rows, hooks, values, "cascade")


def update_with_events(
    queryset: QuerySet[Any], hooks: _wiring.ModelHooks, values: dict[str, Any], operation: UpdateOperation
) -> int:
    """Run ``queryset.update(**values)`` with update events for every matched row; return the row count."""
    # Django's own checks first, with its own errors (an unknown field, a joined reference, ordering by an
    # aggregate, a composite pk in an expression...), before anything is read, locked, emitted, or the
    # caller's transaction is marked for rollback: an update of no rows runs no SQL.
    _django_update(queryset.none(), **values)
    model = queryset.model
    using = queryset.db  # the write database: callers mark the queryset for writing
    meta = model._meta
    fields: list[tuple[Field[Any, Any], Any]] = []
    for name, value in values.items():
        field = meta.get_field(name)
        if not isinstance(field, Field) or not field.concrete or field.many_to_many:
            return _django_update(queryset, **values)  # Django raises its own, precise error
        fields.append((field, value))

    connection = connections[using]
    with transaction.atomic(using=using, savepoint=False):
        selected = _plain_rows(queryset, using)
        if connection.features.has_select_for_update:
            if selected.query.group_by is not None:
                # An aggregate annotation groups the rows, and FOR UPDATE is not allowed with GROUP BY:
                # select (and lock) the matched rows themselves.
                selected = model._base_manager.db_manager(using).filter(pk__in=selected.values("pk"))
            of = ("self",) if connection.features.has_select_for_update_of else ()
            selected = selected.select_for_update(of=of)
        attnames = [field.attname for field in meta.concrete_fields]
        width = len(attnames)
        # Per updated field: its name, its position in a row, and where its new value is: the column of
        # its annotation (an expression, computed by the SELECT) or the stored form of the literal.
        annotations: dict[str, ExpressionWrapper[Any]] = {}
        changes: list[tuple[str, int, int | None, Any]] = []
        for field, value in fields:
            if hasattr(value, "resolve_expression"):
                changes.append((field.name, attnames.index(field.attname), width + len(annotations), None))
                annotations[_ANNOTATION.format(len(annotations))] = ExpressionWrapper(value, output_field=field)
            else:
                changes.append((field.name, attnames.index(field.attname), None, _stored_form(field, value)))
        if annotations:
            selected = selected.annotate(**annotations)
        # Lock in key order: two concurrent update() calls over overlapping rows then queue behind each
        # other instead of deadlocking (in physical order, each could hold a row the other needs next).
        # Tuples, not model instances: each record is built once below, from the row as stored before the
        # UPDATE (for Pre handlers) or after it (Post only), the costly part of Model.__init__ left out.
        rows = list(selected.order_by("pk").values_list(*attnames, *annotations))
        if not rows:
            return 0

        old_rows: list[tuple[Any, ...]] = []
        new_rows: list[tuple[Any, ...]] = []
        diffs: list[dict[str, tuple[Any, Any]]] = []
        for row in rows:
            old_row = row[:width]
            new_row = list(old_row)
            diff: dict[str, tuple[Any, Any]] = {}
            for name, position, column, literal in changes:
                new = row[column] if column is not None else literal
                new_row[position] = new
                if old_row[position] != new:
                    diff[name] = (old_row[position], new)
            old_rows.append(old_row)
            new_rows.append(tuple(new_row))
            diffs.append(diff)

        build = _record_builder(model, hooks, using, attnames)
        records: list[Model] | None = None
        if hooks.pre_update is not None:
            records = [build(row) for row in old_rows]
            before = [_field_values(hooks, record) for record in records]
            deliver_each(
                hooks.pre_update,
                model,
                using,
                [{"record": r, "diff": dict(d), "operation": operation} for r, d in zip(records, diffs, strict=True)],
            )
            _warn_about_unwritten_changes(hooks, records, before, operation)

        pk_field = meta.pk
        assert pk_field is not None
        if pk_field.column is not None:
            pk_position = attnames.index(pk_field.attname)
            pks = [row[pk_position] for row in old_rows]
        else:  # a composite key: tuples of its fields' values
            positions = [attnames.index(field.attname) for field in pk_field.fields]
            pks = [tuple(row[position] for position in positions) for row in old_rows]
        # Exactly the rows read and locked, whatever a Pre handler did to them meanwhile: the rows
        # updated are the rows reported. Through the caller's queryset only when the values may refer
        # to its annotations (its filters then apply again).
        restricted = (
            queryset.using(using) if queryset.query.annotations else model._base_manager.db_manager(using).all()
        )
        count = 0
        if connection.vendor == "postgresql" and pk_field.column is not None:  # one column (not a composite key)
            # One array parameter: with one per key, Django and psycopg spend longer preparing the
            # parameters than the server spends on the update.
            keys = [pk_field.get_db_prep_value(pk, connection) for pk in pks]
            count = _django_update(restricted.filter(_KeyIn(F("pk"), keys)), **values)
        else:
            for batch in _batches(pks, connection.features.max_query_params):
                count += _django_update(restricted.filter(pk__in=batch), **values)

        if records is None:
            # Only Post is handled: each record is built once, from the row as it is stored now.
            records = [build(row) for row in new_rows]
        else:
            _store_new_values(hooks, records, fields, new_rows, [position for _, position, _, _ in changes])
        if hooks.post_update is not None:
            deliver_each(
                hooks.post_update,
                model,
                using,
                [{"record": r, "diff": d, "operation": operation} for r, d in zip(records, diffs, strict=True)],
            )
        return count


def _store_new_values(
    hooks: _wiring.ModelHooks,
    records: Sequence[Model],
    fields: Sequence[tuple[Field[Any, Any], Any]],
    new_rows: Sequence[tuple[Any, ...]],
    positions: Sequence[int],
) -> None:
    """Give the records Pre handlers saw the values now stored (what those handlers changed stays)."""
    containers = set(hooks.containers)
    plain = not any(field.attname in containers for field, _ in fields)
    for record, row in zip(records, new_rows, strict=True):
        state = record.__dict__
        for (field, _), position in zip(fields, positions, strict=True):
            state[field.attname] = row[position]
            if isinstance(field, ForeignObject):
                record._state.fields_cache.pop(field.name, None)  # a cached related object is stale now
        kept = state.get(_wiring.STORED)
        if plain and type(kept) is tuple and len(kept) == len(_EMPTY_ROW):
            # The row kept at load, with the new values: its copies of containers (none of them written
            # here) were made before any handler could change one in place.
            state[_wiring.STORED] = (kept[0], row, kept[2], kept[3])
        else:
            stored = _wiring._stored(state)
            stored.update(_wiring._capture(hooks, {field.attname: state[field.attname] for field, _ in fields}))
            state[_wiring.STORED] = stored


def _record_builder(
    model: type[Model], hooks: _wiring.ModelHooks, using: str, attnames: list[str]
) -> Callable[[Sequence[Any]], Model]:
    """A function building a record of ``model`` from a row of all its concrete fields, as loaded from ``using``.

    It is ``from_db``, or, where that is the same, a shortcut past ``Model.__init__`` (most of the cost
    of a record): for a model with no ``__init__``, ``__setattr__`` or ``from_db`` of its own, no ``pre_init`` or
    ``post_init`` receiver and no field whose attribute does something when set. Either way the record
    keeps the row as its stored values, as loading it does.
    """

    def from_db(row: Sequence[Any]) -> Model:
        record = model.from_db(using, attnames, row)
        record.__dict__[_wiring.STORED] = hooks.loaded_row(attnames, row)
        return record

    if (
        model.__init__ is not Model.__init__
        or model.__setattr__ is not Model.__setattr__
        or not _wiring.loads_like_django(model)
        or pre_init.has_listeners(model)
        or post_init.has_listeners(model)
        or any(type(inspect.getattr_static(model, attname, None)) not in _PLAIN_ATTRIBUTES for attname in attnames)
    ):
        return from_db

    new_record = object.__new__
    names = tuple(attnames)

    def shortcut(row: Sequence[Any]) -> Model:
        record: Model = new_record(model)
        state = ModelState()
        state.adding = False
        state.db = using
        values = record.__dict__
        values["_state"] = state
        values.update(zip(names, row, strict=True))
        values[_wiring.STORED] = hooks.loaded_row(attnames, row)
        return record

    return shortcut


# What a field's attribute on the model class may be for the shortcut: nothing, or a descriptor whose
# __set__ (if any) only stores the value (a foreign key's drops a cached related object: there is none).
_PLAIN_ATTRIBUTES = (type(None), DeferredAttribute, ForeignKeyDeferredAttribute)
_EMPTY_ROW: _wiring.LoadedRow = ((), (), (), b"")  # the shape of what from_db keeps


class _KeyIn(Lookup):
    """``lhs = ANY(%s)`` with the keys as one array (PostgreSQL)."""

    lookup_name = "canvas_core_key_in"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> Any:
        lhs, lhs_params = self.process_lhs(compiler, connection)
        return f"{lhs} = ANY(%s)", (*lhs_params, self.rhs)


def _plain_rows(queryset: QuerySet[Any], using: str) -> QuerySet[Any]:
    """The rows ``queryset`` matches, as whole model instances with no related objects loaded."""
    if getattr(queryset, "_fields", None) is not None or queryset.query.deferred_loading != (frozenset(), True):
        # values() or only()/defer(): select the same rows afresh, every field loaded.
        rows: QuerySet[Any] = queryset.model._base_manager.db_manager(using).filter(pk__in=queryset.values("pk"))
        return rows
    return queryset.using(using).select_related(None).prefetch_related(None)


def _stored_form(field: Field[Any, Any], value: Any) -> Any:
    """The value a literal becomes once stored, as Django reads it back (a model instance: its key)."""
    if isinstance(value, Model):
        return value.pk
    if isinstance(field, ForeignObject):
        target = field.target_field
        return target.to_python(value) if value is not None else None
    return field.to_python(value) if value is not None else None


def _field_values(hooks: _wiring.ModelHooks, record: Model) -> dict[str, Any]:
    return _wiring._copy_loaded(hooks, record.__dict__)


def _warn_about_unwritten_changes(
    hooks: _wiring.ModelHooks, records: Sequence[Model], before: Sequence[dict[str, Any]], operation: str
) -> None:
    # QuerySet.update() writes only the values it was given; a Pre handler's
    # change to the record would be lost without a word. Say so (names only).
    changed = sorted(
        {
            name
            for record, values in zip(records, before, strict=True)
            for name in _wiring._diff(hooks.fields, values, record.__dict__)
        }
    )
    if changed:
        logger.warning(
            "PreRecordUpdate handlers changed %s of %s records during %s; it writes only the values it was given, "
            "so these changes were not saved (save() or bulk_update() them in a Post handler instead)",
            ", ".join(changed),
            hooks.model._meta.label,
            "QuerySet.update()" if operation == "queryset_update" else "a cascaded update",
            extra={"fields": changed, "model": hooks.model._meta.label},
        )


def _batches(pks: list[Any], limit: int | None) -> list[list[Any]]:
    size = max(1, (limit or 2000) - 10)  # leave room for parameters of the values themselves
    return [pks[start : start + size] for start in range(0, len(pks), size)]


def install() -> None:
    """Wrap ``QuerySet.update`` and ``UpdateQuery.update_batch`` (idempotent; called by the wiring)."""
    QuerySet.update = _update  # type: ignore[method-assign]
    UpdateQuery.update_batch = _update_batch  # type: ignore[method-assign]
