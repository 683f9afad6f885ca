"""Turning an event into JSON for a worker, and back, without trusting what comes back.

The event is dumped with pydantic in Python mode and turned into JSON-compatible
data here, so that secrets (``SecretStr``, ``SecretBytes``, ``Secret[...]``)
travel with their real values: pydantic's JSON mode would mask them. The job
payload therefore holds secrets and is only ever written to a protected channel
(the outbox row, or a signed message; see :mod:`canvas_core.background.celery`).

A Django model instance travels as a reference (its model label and primary
key) and is fetched again where the event is rebuilt; a deleted one carries its
field values. Django is imported only when a Django model is met.

Rebuilding imports nothing named by the job: the handler and event class are
looked up among this process's background registrations
(:mod:`._registrations`), and a record may only be of a model the event class
declares.
"""

from __future__ import annotations

import functools
import inspect
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from pydantic import ConfigDict, Secret, SecretBytes, SecretStr, TypeAdapter, ValidationError
from pydantic.errors import PydanticInvalidForJsonSchema, PydanticUserError
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import PydanticSerializationError, core_schema, to_jsonable_python

from canvas_core.events import EmissionContext, Event, HandlerFailed, PostRecordDelete, PreRecordDelete, current_context
from canvas_core.events._generics import event_type_matches

__all__ = [
    "EventNotSerializable",
    "Job",
    "JobRejected",
    "RecordNotFound",
    "check_serializable",
    "describe_error",
    "event_name",
    "handler_name",
]


class EventNotSerializable(TypeError):
    """An event cannot be copied to a worker: a field holds a value JSON cannot carry.

    Raised when a background handler is registered for such an event type, or,
    for a value only known when it is emitted, by the emission (where it is
    reported like a handler failure).
    """


class RecordNotFound(LookupError):
    """A record an event refers to no longer exists when the worker rebuilds the event."""


class JobRejected(ValueError):
    """A job this process will not run: it names no background registration of this process, or its data
    does not fit the event class. The message never contains field values."""


PAYLOAD_VERSION = 1

_UNBOUND = object()


@dataclass(frozen=True, slots=True)
class Job:
    """One background handler to run for one event: everything a worker needs, as JSON-compatible data.

    Records (Django model instances) are listed in :attr:`records`; where one
    occurred, :attr:`fields` holds ``{marker: index}``, a one-key dict whose
    key is this job's random :attr:`marker`, so that no data of the event can
    be mistaken for a record.
    """

    handler: str
    """Name of the handler, ``module:qualname`` (a key of the worker's registrations, never imported)."""
    registered_for: str
    """Name of the event class the handler was registered for (see :func:`event_name`)."""
    event_type: str
    """Name of the emitted event's class, the registered one or a subclass of it."""
    fields: dict[str, Any]
    """The event's fields as JSON-compatible data, secrets included."""
    records: tuple[dict[str, Any], ...] = ()
    """References to records: ``{"model": "app_label.model", "pk": ...}``, plus ``"fields"`` for deleted ones."""
    marker: str = ""
    """The key that marks a record's place in :attr:`fields`."""
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    """Unique id of the job: workers record finished ids, and dead letters keep it."""
    context: dict[str, Any] = field(default_factory=dict)
    """The emitter's :func:`canvas_core.events.context` (strings only); the worker runs the handler in it."""
    sealed: bool = False
    """The event has secret or ``repr=False`` fields: a message carrying the job itself must be encrypted.
    Not part of the payload (how the job travels, not what it is)."""

    @classmethod
    def for_event(cls, handler: str, registered_for: type[Event], event: Event) -> Job:
        """Copy ``event`` for ``handler``; raise :class:`EventNotSerializable` if it cannot travel."""
        event_class = type(event)
        job_id = uuid.uuid4()
        marker = f"__canvas_record_{job_id.hex}__"  # as unguessable as a fresh uuid4 when the event was built
        allowed = record_models(event_class)
        records: list[dict[str, Any]] = []

        def encode_record(value: Any) -> object:
            if type(value) not in allowed:
                raise EventNotSerializable(
                    f"{event_class.__qualname__} holds a {type(value).__qualname__} in a field not declared with "
                    "that model: declare the field with the model class so that workers accept the record"
                )
            records.append(_reference(value))
            return {marker: len(records) - 1}

        # The row of a deleted record is gone by the time the worker runs (and
        # Django may have cleared its primary key): carry its values instead.
        record = getattr(event, "record", None)
        deleted = isinstance(event, PreRecordDelete | PostRecordDelete) and _is_django_model(record)
        try:
            dumped = event.model_dump(mode="python", exclude={"record"} if deleted else None)
            fields = _jsonable(dumped, encode_record)
        except (PydanticSerializationError, EventNotSerializable, TypeError, ValueError) as exc:
            raise EventNotSerializable(
                f"{event_class.__qualname__} cannot be copied to a background handler: {exc}"
            ) from None
        if deleted:
            if type(record) not in allowed:  # pragma: no cover - the record field is declared with its model
                raise EventNotSerializable(f"{event_class.__qualname__}'s record has an undeclared model")
            records.append(_snapshot(record))
            fields["record"] = {marker: len(records) - 1}
        return cls(
            handler=handler,
            registered_for=_event_name(registered_for),
            event_type=_event_name(event_class),
            fields=fields,
            records=tuple(records),
            marker=marker if records else "",
            id=str(job_id),
            context=current_context().as_dict(),
            sealed=has_secrets(event_class),
        )

    def to_payload(self) -> dict[str, Any]:
        """The job as a JSON-compatible dict (what the outbox row or a signed message holds)."""
        return {
            "v": PAYLOAD_VERSION,
            "id": self.id,
            "handler": self.handler,
            "registered_for": self.registered_for,
            "event_type": self.event_type,
            "fields": self.fields,
            "records": list(self.records),
            "marker": self.marker,
            "context": self.context,
        }

    @classmethod
    def from_payload(cls, payload: object) -> Job:
        """The job :meth:`to_payload` described; :class:`JobRejected` for anything else."""
        if not isinstance(payload, dict) or payload.get("v") != PAYLOAD_VERSION:
            raise JobRejected("the job payload is not a canvas-core job of a version this worker reads")
        try:
            job = cls(
                handler=payload["handler"],
                registered_for=payload["registered_for"],
                event_type=payload["event_type"],
                fields=payload["fields"],
                records=tuple(payload["records"]),
                marker=payload["marker"],
                id=payload["id"],
                # Jobs written before the context travelled have none; whatever it holds, only strings are kept.
                context=EmissionContext.from_dict(payload.get("context") or {}).as_dict(),
            )
        except (KeyError, TypeError):
            raise JobRejected("the job payload lacks a field a job has") from None
        strings = (job.handler, job.registered_for, job.event_type, job.marker, job.id)
        if not all(isinstance(value, str) for value in strings) or not isinstance(job.fields, dict):
            raise JobRejected("the job payload has a field of the wrong type")
        if not all(isinstance(reference, dict) for reference in job.records):
            raise JobRejected("the job payload has a malformed record reference")
        return job

    def rebuild(self, event_class: type[Event]) -> Event:
        """Rebuild the event as ``event_class`` (found by :func:`resolve_event_class`), fetching records again.

        Raises :class:`JobRejected` when the data does not fit the class, and
        :class:`RecordNotFound` when a referenced row is gone.
        """
        fields: Any = self.fields
        if self.records:
            allowed = {model._meta.label_lower: model for model in record_models(event_class)}
            fetched = [_fetch(reference, allowed) for reference in self.records]
            fields = _put_records(fields, self.marker, fetched)
        try:
            return event_class.model_validate(fields)
        except ValidationError as exc:
            raise JobRejected(
                f"the job's data does not fit {event_class.__qualname__}: {describe_error(exc)}"
            ) from None


def handler_name(handler: object) -> str:
    """``module:qualname`` of a background handler; :class:`TypeError` saying what to do unless a worker can
    find the very same function by that name."""
    target = handler
    if inspect.ismethod(target):
        raise TypeError(
            f"the bound method {target.__qualname__} cannot be a background handler: a worker has no instance "
            "to call it on. Register a module-level function (which may build or look up the instance)"
        )
    if not inspect.isfunction(target):
        raise TypeError(
            f"{target!r} cannot be a background handler: background handlers are module-level functions "
            "(not partials, callable objects, classes or builtins), which a worker finds by module and name"
        )
    module = getattr(target, "__module__", None)
    qualname = target.__qualname__
    if not isinstance(module, str) or "<" in qualname or module == "__main__":
        raise TypeError(
            f"the background handler {qualname} cannot be found by a worker: background handling needs "
            "module-level classes and functions in an importable module (not __main__, not defined inside a "
            "function)"
        )
    # Under the decorator the module does not bind the name yet; bound to
    # something else, the name would not say which code the worker runs.
    found: object = sys.modules.get(module)
    for part in qualname.split("."):
        found = getattr(found, part, _UNBOUND)
    if found is not _UNBOUND and found is not target:
        raise TypeError(
            f"the background handler {module}:{qualname} is not what {module}.{qualname} names (it was renamed, "
            "replaced by a decorator or defined twice): register the function the module exposes under its name, "
            "so that the worker runs the same code"
        )
    return f"{module}:{qualname}"


def event_name(event_type: type[Any]) -> str:
    """A stable name for an event class: ``module:qualname``, plus ``[arguments]`` for a parametrized generic."""
    metadata = getattr(event_type, "__pydantic_generic_metadata__", None) or {}
    origin = metadata.get("origin") or event_type
    name = f"{origin.__module__}:{origin.__qualname__}"
    arguments = metadata.get("args") or ()
    if arguments:
        name += "[" + ",".join(_argument_name(argument) for argument in arguments) + "]"
    return name


_event_name = functools.cache(event_name)  # for emitters: a class's name does not change


def _argument_name(argument: object) -> str:
    if _is_django_model_class(argument):
        return f"model:{argument._meta.label_lower}"  # type: ignore[attr-defined]
    if isinstance(argument, type):
        return event_name(argument)
    return repr(argument)


def resolve_event_class(name: str, registered: type[Event]) -> type[Event]:
    """The class named ``name`` among ``registered`` and its subclasses; :class:`JobRejected` otherwise.

    Nothing is imported: the candidates are classes this process defined. A
    generic registered unparametrized (``PostRecordUpdate``) may receive it
    parametrized with an installed Django model, created here if needed.
    """
    for candidate in _subclasses(registered):
        if event_name(candidate) == name:
            return candidate
    origin_name, _, arguments = name.partition("[")
    if arguments and registered.__pydantic_generic_metadata__["parameters"] and event_name(registered) == origin_name:
        models = [_installed_model(label) for label in arguments.rstrip("]").split(",")]
        if all(model is not None for model in models):
            parametrized: type[Event] = registered[tuple(models) if len(models) > 1 else models[0]]  # type: ignore[index]
            if event_type_matches(parametrized, registered) and event_name(parametrized) == name:
                return parametrized
    raise JobRejected(
        f"the job's event class {name} is not {event_name(registered)} nor one of its subclasses in this worker"
    )


def _subclasses(cls: type[Event]) -> Iterator[type[Event]]:
    seen: set[type[Event]] = set()
    pending = [cls]
    while pending:
        current = pending.pop()
        if current in seen:
            continue
        seen.add(current)
        yield current
        pending.extend(current.__subclasses__())


def _installed_model(argument: str) -> Any:
    if not argument.startswith("model:"):
        return None
    from django.apps import apps

    try:
        return apps.get_model(argument.removeprefix("model:"))
    except (LookupError, ValueError):
        return None


def describe_error(exc: BaseException) -> str:
    """What went wrong, without the values involved (pydantic and Django messages quote the input)."""
    if isinstance(exc, ValidationError):
        problems = [
            f"{'.'.join(map(str, error['loc'])) or '(event)'}: {error['type']}"
            for error in exc.errors(include_url=False, include_input=False, include_context=False)
        ]
        return f"{len(problems)} validation error(s): " + "; ".join(problems)
    if type(exc).__name__ == "ValidationError" and hasattr(exc, "error_dict"):  # Django's, with field names
        codes = {name: [error.code or "invalid" for error in errors] for name, errors in exc.error_dict.items()}
        return f"invalid field(s): {codes}"
    if isinstance(exc, JobRejected | RecordNotFound | EventNotSerializable):
        return str(exc)
    return type(exc).__qualname__  # an arbitrary exception's message may quote values


_JSON_SCALARS = frozenset({str, int, float, bool, type(None)})


def _jsonable(value: Any, encode_record: Callable[[Any], object]) -> Any:
    """JSON-compatible data for a Python-mode dump, secrets revealed, records replaced."""
    cls = type(value)
    if cls in _JSON_SCALARS:  # the usual values, told by their exact type (subclasses: the checks below)
        return value
    if cls is dict:
        return {key if type(key) is str else _key(key): _jsonable(item, encode_record) for key, item in value.items()}
    if isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, SecretStr | SecretBytes | Secret):
        return _jsonable(value.get_secret_value(), encode_record)
    if isinstance(value, dict):
        return {_key(key): _jsonable(item, encode_record) for key, item in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(item, encode_record) for item in value]
    if _is_django_model(value):
        return encode_record(value)
    try:
        return to_jsonable_python(value)  # dates, decimals, UUIDs, enums, bytes...: pydantic's JSON form
    except PydanticSerializationError:
        raise EventNotSerializable(
            f"a value of type {type(value).__qualname__} cannot be copied to a background handler; "
            "use JSON-compatible field types (or Django models, which travel as references)"
        ) from None


def _key(key: object) -> str:
    if isinstance(key, str):
        return key
    jsonable = to_jsonable_python(key)  # a date or enum key: its JSON form, which validation parses back
    return jsonable if isinstance(jsonable, str) else str(jsonable)


def check_serializable(event_type: type[Event]) -> None:
    """Raise :class:`EventNotSerializable` unless every field of ``event_type`` can travel as JSON."""
    origin = event_type.__pydantic_generic_metadata__["origin"] or event_type
    if issubclass(origin, HandlerFailed):
        raise EventNotSerializable(
            "HandlerFailed cannot go to a background handler: it carries the live handler, its exception and "
            "traceback, which no worker can receive. Register a plain handler of HandlerFailed and, if the work "
            "must run on a worker, have it emit an event of your own with the data the worker needs (the error's "
            "type and message, say), handled with background=True"
        )
    if origin.__module__ == "__main__" or "<" in origin.__qualname__:
        raise EventNotSerializable(
            f"the event class {origin.__qualname__} cannot be found by a worker: background handling needs "
            "module-level classes and functions in an importable module (not __main__, not defined inside a function)"
        )
    try:
        event_type.model_json_schema(schema_generator=_RecordsAsReferences)
    except (PydanticInvalidForJsonSchema, PydanticUserError) as exc:
        culprit = next(
            (f"field {name!r}" for name in event_type.model_fields if not _field_serializable(event_type, name)),
            "a field",
        )
        raise EventNotSerializable(
            f"{event_type.__qualname__} cannot be copied to a background handler: {culprit} has a type JSON cannot "
            f"carry ({exc.message}). Give its fields JSON-compatible types (or Django models, which travel as "
            "references)."
        ) from None


def _field_serializable(event_type: type[Event], name: str) -> bool:
    annotation: Any = event_type.model_fields[name].annotation
    try:
        try:
            adapter: TypeAdapter[Any] = TypeAdapter(annotation, config=ConfigDict(arbitrary_types_allowed=True))
        except PydanticUserError:  # a model, which brings its own config
            adapter = TypeAdapter(annotation)
        adapter.json_schema(schema_generator=_RecordsAsReferences)
    except (PydanticInvalidForJsonSchema, PydanticUserError):
        return False
    return True


class _RecordsAsReferences(GenerateJsonSchema):
    """JSON schema generation that accepts Django models (sent as references) and nothing else arbitrary."""

    def is_instance_schema(self, schema: core_schema.IsInstanceSchema) -> JsonSchemaValue:
        if _is_django_model_class(schema["cls"]):
            return {"type": "object"}
        return super().is_instance_schema(schema)


@functools.cache
def record_models(event_class: type[Event]) -> frozenset[type[Any]]:
    """The Django models ``event_class`` declares in its fields: the only ones a job's records may be."""
    return frozenset(
        node["cls"]
        for node in schema_nodes(event_class)
        if node.get("type") == "is-instance" and _is_django_model_class(node.get("cls"))
    )


def schema_nodes(event_class: type[Event]) -> Iterator[dict[str, Any]]:
    """Every dict node of ``event_class``'s pydantic core schema, each once (schemas share nodes)."""
    pending: list[object] = [event_class.__pydantic_core_schema__]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        if isinstance(node, dict):
            yield node
            pending.extend(node.values())
        elif isinstance(node, list | tuple):
            pending.extend(node)


def _reference(value: Any) -> dict[str, Any]:
    if value.pk is None:
        raise EventNotSerializable(
            f"an unsaved {type(value).__qualname__} cannot be sent to a background handler: it has no primary key"
        )
    return {"model": value._meta.label_lower, "pk": _jsonable_pk(value.pk)}


def _put_records(value: Any, marker: str, records: list[Any]) -> Any:
    if isinstance(value, dict):
        if len(value) == 1 and marker in value:
            index = value[marker]
            if not isinstance(index, int) or not 0 <= index < len(records):
                raise JobRejected("the job has a record marker that refers to no record")
            return records[index]
        return {key: _put_records(item, marker, records) for key, item in value.items()}
    if isinstance(value, list):
        return [_put_records(item, marker, records) for item in value]
    return value


def _fetch(reference: dict[str, Any], allowed: dict[str, type[Any]]) -> Any:
    model = allowed.get(reference.get("model"))  # type: ignore[arg-type]
    if model is None:
        raise JobRejected(
            f"the job refers to a record of model {str(reference.get('model'))[:100]!r}, which its event class does "
            f"not declare (it declares {sorted(allowed) or 'none'})"
        )
    if "fields" in reference:  # a deleted record: rebuilt, not fetched
        return _rebuild_deleted(model, reference)
    try:
        pk = model._meta.pk.to_python(reference.get("pk"))
        return model._base_manager.get(pk=pk)
    except model.DoesNotExist:
        raise RecordNotFound(f"{model.__qualname__} with primary key {reference['pk']!r} no longer exists") from None
    except Exception as exc:
        raise JobRejected(f"the job's reference to a {model.__qualname__} is invalid: {describe_error(exc)}") from None


def _rebuild_deleted(model: type[Any], reference: dict[str, Any]) -> Any:
    """An unsaved instance of ``model`` from a snapshot, each value checked against its field."""
    from django.core.exceptions import FieldDoesNotExist
    from django.core.exceptions import ValidationError as DjangoValidationError

    values = reference["fields"]
    if not isinstance(values, dict):
        raise JobRejected(f"the job's snapshot of a deleted {model.__qualname__} is malformed")
    attributes: dict[str, Any] = {}
    errors: dict[str, list[DjangoValidationError]] = {}
    for name, raw in values.items():
        try:
            model_field = model._meta.get_field(name)
        except FieldDoesNotExist:
            raise JobRejected(f"the job's snapshot of a deleted {model.__qualname__} has an unknown field") from None
        if model_field.many_to_many or not model_field.concrete:
            continue  # the relation rows are gone with the record
        target = model_field.target_field if model_field.is_relation else model_field
        try:
            value = target.to_python(raw)
            if value not in model_field.empty_values:
                target.run_validators(value)
            elif not model_field.null and raw is None:
                raise DjangoValidationError("null", code="null")
        except DjangoValidationError as exc:
            errors[name] = [exc]
            continue
        attributes[model_field.attname] = value
    if errors:
        raise JobRejected(
            f"the job's snapshot of a deleted {model.__qualname__} does not fit the model: invalid field(s) "
            f"{sorted(errors)}"
        )
    try:
        attributes[model._meta.pk.attname] = model._meta.pk.to_python(reference.get("pk"))
    except DjangoValidationError:
        raise JobRejected(f"the job's snapshot of a deleted {model.__qualname__} has an invalid primary key") from None
    return model(**attributes)


def _snapshot(record: Any) -> dict[str, Any]:
    import json

    from django.core import serializers

    [serialized] = json.loads(serializers.serialize("json", [record]))
    snapshot: dict[str, Any] = serialized
    return snapshot


def _jsonable_pk(value: object) -> object:
    return value if isinstance(value, int | str) else str(value)  # UUID and other keys: Django parses them back


def _is_django_model(value: object) -> bool:
    models = sys.modules.get("django.db.models")
    return models is not None and isinstance(value, models.Model)


def _is_django_model_class(cls: object) -> bool:
    models = sys.modules.get("django.db.models")
    return models is not None and isinstance(cls, type) and issubclass(cls, models.Model)


@functools.cache
def has_secrets(event_type: type[Event]) -> bool:
    """Whether ``event_type`` has a secret field (``SecretStr``, ``SecretBytes``, ``Secret[...]``) or a
    ``Field(repr=False)`` one, anywhere in its schema."""
    if any(not field.repr for field in event_type.model_fields.values()):
        return True
    for node in schema_nodes(event_type):
        # SecretStr and SecretBytes are classes; Secret[T] shows as pydantic's secret serializer.
        function = getattr(node.get("function"), "__name__", "") if node.get("type") == "function-plain" else ""
        if _is_secret_class(node.get("cls")) or function.startswith("_serialize_secret"):
            return True
    return False


def _is_secret_class(cls: object) -> bool:
    from pydantic import SecretBytes, SecretStr
    from pydantic.types import Secret

    return isinstance(cls, type) and issubclass(cls, SecretStr | SecretBytes | Secret)
