"""Generic events: inferring type arguments, and matching handlers covariantly.

A handler for ``PostRecordUpdate[Setting]`` should hear about every
``PostRecordUpdate`` whose record is a ``Setting``, including one about a
subclass (a proxy model, say). Pydantic's parametrized classes are invariant
(``PostRecordUpdate[Proxy]`` is no subclass of ``PostRecordUpdate[Setting]``),
so delivery compares the fields' declared types instead.
"""

from __future__ import annotations

import types
from typing import Annotated, Any, Final, TypeVar, Union, get_args, get_origin

from pydantic import BaseModel

# Every parametrized event class stays referenced (``Event`` adds them as they
# are created), so that ``PostRecordUpdate[Setting]`` is the same class object
# for the life of the process; pydantic's own cache holds them weakly.
kept_parametrizations: set[type[BaseModel]] = set()


def parametrize_from_values(event_type: type[BaseModel], fields: dict[str, Any]) -> type[BaseModel]:
    """Return ``event_type[...]`` with each type parameter inferred from the field values.

    A parameter is inferred from every field whose annotation mentions it:
    ``record: R`` takes the class of the value, ``items: list[R]`` the
    classes of its items, ``record: R | None`` the class of a value that is
    not ``None`` (and ``dict``, ``tuple``, ``set`` and the like alike);
    several classes give their closest common base. The result honours the
    parameter's bound or constraints, as type checkers do.

    When the values give no class (``None``, an empty list, a field left to
    its default) or one outside the bound or constraints, the argument is
    what pydantic checks an unparametrized parameter against, so validation
    decides exactly as ``event_type(**fields)`` would. A required field left
    out returns ``event_type`` itself, for validation to report it. A
    parameter that no field mentions raises :class:`TypeError`: no value
    could ever tell it.
    """
    parameters = event_type.__pydantic_generic_metadata__["parameters"]
    arguments: list[Any] = []
    for parameter in parameters:
        annotated = [
            (name, field.annotation)
            for name, field in event_type.model_fields.items()
            if _mentions(field.annotation, parameter)
        ]
        if not annotated:
            raise TypeError(
                f"cannot infer the type argument {parameter} of {event_type.__qualname__} from its fields; "
                f"emit {event_type.__qualname__}[...] with an explicit type argument"
            )
        if any(name not in fields and event_type.model_fields[name].is_required() for name, _ in annotated):
            return event_type  # validation reports the missing field, under the class's own name
        classes = [
            cls
            for name, annotation in annotated
            if name in fields
            for cls in _classes_for(annotation, fields[name], parameter)
        ]
        arguments.append(_argument_for(parameter, classes))
    concrete: type[BaseModel] = event_type[tuple(arguments) if len(arguments) > 1 else arguments[0]]  # type: ignore[index]
    return concrete


_COLLECTIONS: Final = (list, tuple, set, frozenset, dict)


def _mentions(annotation: Any, parameter: Any) -> bool:
    return annotation is parameter or any(_mentions(argument, parameter) for argument in get_args(annotation))


def _classes_for(annotation: Any, value: Any, parameter: Any) -> list[type]:
    """The classes ``value`` shows for ``parameter`` inside ``annotation`` (none when it shows nothing)."""
    if annotation is parameter:
        return [type(value)]
    origin = get_origin(annotation)
    arguments = get_args(annotation)
    if origin is Annotated:
        return _classes_for(arguments[0], value, parameter)
    if origin is Union or origin is types.UnionType:
        # The value belongs to one member: the first that mentions the
        # parameter and shows a class, once members it plainly is are ruled out.
        if any(isinstance(member, type) and isinstance(value, member) for member in arguments):
            return []
        for member in arguments:
            if _mentions(member, parameter) and (classes := _classes_for(member, value, parameter)):
                return classes
        return []
    # Only the built-in collections are looked into: iterating any other
    # iterable (a generator) could use up the value before it is validated.
    if not isinstance(origin, type) or not isinstance(value, origin) or not isinstance(value, _COLLECTIONS):
        return []
    items: Any = value
    if isinstance(items, dict):
        if len(arguments) != 2:
            return []
        found = [cls for key in items for cls in _classes_for(arguments[0], key, parameter)]
        return found + [cls for item in items.values() for cls in _classes_for(arguments[1], item, parameter)]
    if isinstance(items, tuple) and not (len(arguments) == 2 and arguments[1] is Ellipsis):
        pairs = zip(items, arguments, strict=False)  # tuple[R, int]: item by item
        return [cls for item, member in pairs for cls in _classes_for(member, item, parameter)]
    return [cls for item in items for cls in _classes_for(arguments[0], item, parameter)] if arguments else []


def _argument_for(parameter: Any, classes: list[type]) -> Any:
    """The type argument ``classes`` give ``parameter``.

    Without a class, or with one outside the bound or constraints, it is what
    pydantic validates an unparametrized class against (the bound, the
    constraints, else ``Any``): the fields then pass or fail exactly as in
    ``event_type(**fields)``.
    """
    constraints = getattr(parameter, "__constraints__", ())
    bound = getattr(parameter, "__bound__", None)
    if classes:
        argument = _closest_common_base(classes)
        if constraints:
            # A constrained parameter is one of its constraints, never a subclass of one.
            matching = next((c for c in constraints if isinstance(c, type) and issubclass(argument, c)), None)
            if matching is not None:
                return matching
        elif bound is None or _is_subclass(argument, bound):
            return argument
    if constraints:
        return Union[constraints]  # noqa: UP007  # built from a tuple at run time
    return Any if bound is None else bound


def _closest_common_base(classes: list[type]) -> type:
    first, *others = classes
    return next(base for base in first.__mro__ if all(issubclass(other, base) for other in others))


def _is_subclass(argument: type, bound: Any) -> bool:
    """Whether ``argument`` is within ``bound``; a bound that is no class (a string, ``list[int]``) is not."""
    if get_origin(bound) is Union or isinstance(bound, types.UnionType):
        return any(_is_subclass(argument, member) for member in get_args(bound))
    return isinstance(bound, type) and issubclass(argument, bound)


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
