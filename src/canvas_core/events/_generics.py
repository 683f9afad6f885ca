"""Generic events: inferring type arguments, and matching handlers covariantly.

A handler for ``PostRecordUpdate[Setting]`` should hear about every
``PostRecordUpdate`` whose record is a ``Setting``, including one about a
subclass (a proxy model, say). Pydantic's parametrized classes are invariant
(``PostRecordUpdate[Proxy]`` is no subclass of ``PostRecordUpdate[Setting]``),
so delivery compares the fields' declared types instead.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

# Every parametrized event class stays referenced (``Event`` adds them as they
# are created), so that ``PostRecordUpdate[Setting]`` is the same class object
# for the life of the process; pydantic's own cache holds them weakly.
kept_parametrizations: set[type[BaseModel]] = set()


def parametrize_from_values(event_type: type[BaseModel], fields: dict[str, Any]) -> type[BaseModel]:
    """Return ``event_type[...]`` with each type parameter taken from a field value.

    A parameter can be inferred when some field is annotated with it directly
    (``record: R``); the argument is then ``type(fields["record"])``. If the
    field is absent, ``event_type`` is returned so that validation reports it
    as missing.
    """
    parameters = event_type.__pydantic_generic_metadata__["parameters"]
    arguments: list[Any] = []
    for parameter in parameters:
        field_name = _field_annotated_with(event_type, parameter)
        if field_name is None:
            raise TypeError(
                f"cannot infer the type argument {parameter} of {event_type.__qualname__} from its fields; "
                f"emit {event_type.__qualname__}[...] with an explicit type argument"
            )
        if field_name not in fields:
            return event_type
        arguments.append(type(fields[field_name]))
    concrete: type[BaseModel] = event_type[tuple(arguments) if len(arguments) > 1 else arguments[0]]  # type: ignore[index]
    return concrete


def _field_annotated_with(event_type: type[BaseModel], parameter: Any) -> str | None:
    for name, field in event_type.model_fields.items():
        if field.annotation is parameter:
            return name
    return None


def event_type_matches(event_type: type[BaseModel], handled_type: type[BaseModel]) -> bool:
    """Whether a handler registered for ``handled_type`` receives ``event_type``.

    Subclasses match. A parametrized generic (``PostRecordUpdate[Setting]``)
    also matches any subclass of its generic origin whose fields bound to type
    parameters hold subclasses of the handler's arguments.
    """
    if issubclass(event_type, handled_type):
        return True
    metadata = handled_type.__pydantic_generic_metadata__
    generic_origin = metadata["origin"]
    if generic_origin is None or not issubclass(event_type, generic_origin):
        return False
    for name, field in generic_origin.model_fields.items():
        if not isinstance(field.annotation, TypeVar):
            continue
        wanted = handled_type.model_fields[name].annotation
        actual = event_type.model_fields[name].annotation
        if not _type_argument_matches(actual, wanted):
            return False
    return True


def _type_argument_matches(actual: Any, wanted: Any) -> bool:
    if wanted is Any or actual == wanted:
        return True
    if isinstance(actual, type) and isinstance(wanted, type):
        return issubclass(actual, wanted)
    return False
