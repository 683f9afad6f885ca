"""Which registrations an emission reaches, found by hash lookups instead of a scan of the registry.

An emission of ``(event type, origin)`` is matched in two steps:

* :class:`TypeIndex`, computed once per emitted event type: the registered
  event types it matches (its MRO, plus the parametrizations of generic bases
  that match it covariantly, see :class:`Parametrizations`), with their
  handlers merged by registered origin. It does not depend on the origin.
* :meth:`TypeIndex.matching`, per origin: a dict lookup for an equal origin,
  one per MRO level for a class origin. Only an unhashable origin is compared
  with each origin registered for those types, which is what matching it means.

Origins match as dict keys do: the same object, or an equal one (so
``float("nan")`` reaches a handler registered with that very object).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from ._adapters import HandlerAdapter
from ._generics import event_type_matches

__all__ = ["Parametrizations", "TypeIndex", "ordered_runners", "origin_matches"]

E = TypeVar("E", bound=BaseModel)
Handler = Callable[[Any], object]
Runners = dict[Handler, Handler]  # handler -> what a plan calls for it
ByOrigin = dict[Any, Runners]


def origin_matches(registered: object, emitted: object) -> bool:
    """Whether a handler registered with ``registered`` as origin receives an emission from ``emitted``.

    No origin means every emission. Otherwise the origins must be the same
    object or equal, or both be classes with ``emitted`` a subclass of
    ``registered`` (a handler scoped to a model hears about its proxy models too).
    """
    if registered is None or registered is emitted:
        return True
    if isinstance(registered, type) and isinstance(emitted, type):
        return issubclass(emitted, registered)
    try:
        return bool(registered == emitted)
    except Exception:  # an origin with a broken __eq__ matches nothing
        return False


def plain_class(value: object) -> bool:
    """Whether ``issubclass(x, value)`` means ``value in x.__mro__`` (no ``__subclasscheck__`` of its own)."""
    return isinstance(value, type) and type(value).__subclasscheck__ is type.__subclasscheck__


_NO_ARGUMENT: Any = object()


class Parametrizations:
    """The registered parametrizations of one generic event class, indexed by their first type argument.

    ``PostRecordUpdate[Setting]`` is filed under ``Setting``: an emitted
    ``PostRecordUpdate[Proxy]`` finds it by walking ``Proxy``'s MRO. Candidates
    are then confirmed with :func:`event_type_matches`, so the index only
    narrows, never decides.
    """

    __slots__ = ("by_argument", "field", "unindexed")

    def __init__(self, generic: type[BaseModel]) -> None:
        # the first field annotated with a type parameter: its annotation in a
        # parametrization is the type argument
        self.field = next((n for n, f in generic.model_fields.items() if isinstance(f.annotation, TypeVar)), None)
        self.by_argument: dict[object, dict[type[BaseModel], None]] = {}
        self.unindexed: dict[type[BaseModel], None] = {}  # arguments no MRO walk can find (Any, ABCs...)

    def _argument(self, event_type: type[BaseModel]) -> Any:
        field = event_type.model_fields.get(self.field) if self.field is not None else None
        return _NO_ARGUMENT if field is None else field.annotation

    def add(self, parametrized: type[BaseModel]) -> None:
        argument = self._argument(parametrized)
        if plain_class(argument):
            self.by_argument.setdefault(argument, {})[parametrized] = None
        else:
            self.unindexed[parametrized] = None

    def discard(self, parametrized: type[BaseModel]) -> bool:
        """Forget ``parametrized``; return whether none is left."""
        argument = self._argument(parametrized)
        if plain_class(argument):
            bucket = self.by_argument.get(argument, {})
            bucket.pop(parametrized, None)
            if not bucket:
                self.by_argument.pop(argument, None)
        else:
            self.unindexed.pop(parametrized, None)
        return not self.by_argument and not self.unindexed

    def matching(self, event_type: type[BaseModel]) -> Iterator[type[BaseModel]]:
        """The registered parametrizations a handler of which receives ``event_type``."""
        candidates: list[dict[type[BaseModel], None]] = [self.unindexed]
        actual = self._argument(event_type)
        if isinstance(actual, type):
            candidates.extend(self.by_argument[cls] for cls in actual.__mro__ if cls in self.by_argument)
        else:  # Any, a type parameter, an alias: only an equal argument could match; compare with each
            candidates.extend(self.by_argument.values())
        for bucket in candidates:
            for parametrized in bucket:
                if event_type_matches(event_type, parametrized):
                    yield parametrized


def matching_types(
    event_type: type[E], by_type: dict[Any, ByOrigin], generics: dict[type, Parametrizations]
) -> list[type[E]]:
    """The registered event types whose handlers receive ``event_type``: its MRO, and matching parametrizations."""
    found: dict[type[E], None] = {}
    for cls in event_type.__mro__:
        if cls in by_type:
            found[cls] = None
        parametrizations = generics.get(cls)
        if parametrizations is not None:
            found.update(dict.fromkeys(parametrizations.matching(event_type)))  # type: ignore[arg-type]
    return list(found)


def ordered_runners(runners: Runners) -> tuple[Handler, ...]:
    """What the dispatcher calls, background handlers last.

    Background handlers copy the event when they run; running them after
    the others means the copy carries every change the others made.
    """
    values = runners.values()
    first = [runner for runner in values if not (isinstance(runner, HandlerAdapter) and runner.background)]
    if len(first) == len(runners):
        return tuple(first)
    return (*first, *(runner for runner in values if isinstance(runner, HandlerAdapter) and runner.background))


class TypeIndex:
    """The registrations one event type reaches, ready for per-origin lookups. Never changed once built."""

    __slots__ = ("classes", "everyone", "pairs", "runners", "unusual", "values")

    def __init__(self, types: Sequence[type[BaseModel]], by_type: dict[Any, ByOrigin]) -> None:
        self.everyone: Runners = {}  # registered without an origin
        self.values: ByOrigin = {}  # by origin (not a class), equal origins merged
        self.classes: dict[type, Runners] = {}  # by class origin, found along the emitted class's MRO
        self.unusual: list[tuple[object, Runners]] = []  # compared one by one: custom __subclasscheck__, broken __eq__
        self.pairs: list[tuple[object, Runners]] = []  # every origin-scoped registration, for unhashable origins
        for event_type in types:
            for origin, runners in by_type[event_type].items():
                if origin is None:
                    self.everyone.update(runners)
                    continue
                runners = dict(runners)  # a copy: the registry changes its own under its lock, this is read without
                self.pairs.append((origin, runners))
                if isinstance(origin, type):
                    if plain_class(origin):
                        self.classes.setdefault(origin, {}).update(runners)
                    else:
                        self.unusual.append((origin, runners))
                    continue
                try:
                    self.values.setdefault(origin, {}).update(runners)
                except Exception:  # hashing met an origin whose __eq__ raises
                    self.unusual.append((origin, runners))
        self.runners = ordered_runners(self.everyone)  # for origins no scoped registration matches

    def matching(self, origin: object) -> Runners | None:
        """Runners for an emission from ``origin``; ``None`` when only :attr:`everyone` match."""
        if not self.pairs:
            return None
        try:
            found = self._by_hash(origin)
        except Exception:  # unhashable, a __hash__ that raises, or a colliding __eq__ that raises
            found = [runners for registered, runners in self.pairs if origin_matches(registered, origin)]
        if not found:
            return None
        merged = dict(self.everyone)
        for runners in found:
            merged.update(runners)
        return merged

    def _by_hash(self, origin: object) -> list[Runners]:
        found: list[Runners] = []
        runners = self.values.get(origin)
        if runners is not None:
            found.append(runners)
        classes = self.classes
        if classes:
            if isinstance(origin, type):
                found.extend(classes[cls] for cls in origin.__mro__ if cls in classes)
            elif origin in classes:  # an object equal to a class: matched by equality, like any origin
                found.append(classes[origin])
        for registered, runners in self.unusual:
            if origin_matches(registered, origin):
                found.append(runners)
        return found
