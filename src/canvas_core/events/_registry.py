"""Who handles what: registrations, and the per-(event type, origin) lookup cache.

Writes (register, remove) are rare and take a lock. Reads happen on every
emission and take none: the dispatcher reads ``Registry.plans`` with a single
dict lookup, and only a miss comes here. Every write clears that cache, so a
miss always recomputes from the current registrations.
"""

from __future__ import annotations

import functools
import inspect
import threading
from collections.abc import Callable, Collection, Hashable, Iterable
from typing import Any, NamedTuple

from ._adapters import AsyncHandler, BackgroundFieldFilter, FieldFilter, HandlerAdapter
from ._describe import describe_callable, describe_origin
from ._event import Event, builder_for
from ._generics import event_type_matches

__all__ = ["Registration", "Registry", "SourceLocation", "handler_source"]

Handler = Callable[[Any], object]

# (build the event from its fields, handlers to run). ``handlers`` is None when
# they depend on the built event's class (generic events emitted unparametrized).
Plan = tuple[Callable[[dict[str, Any]], Event], "tuple[Handler, ...] | None"]

# Bound on cached plans. Emitters may pass a new origin object on each call (a
# request, say); the cache must not keep them all.
_MAX_PLANS = 4096


# A copy of the registrations, restorable with ``Registry.restore``.
Snapshot = dict[type[Event], dict[Hashable | None, dict[Handler, Handler]]]


class SourceLocation(NamedTuple):
    """Where a handler is defined: ``str()`` gives ``file:line``."""

    file: str
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


class Registration(NamedTuple):
    """One ``handle_event`` registration, as listed by :func:`registrations`.

    Unpacks as ``(event_type, origin, handler)``; :attr:`handler_name` and
    :attr:`source` say which function it is and where it is defined.
    """

    event_type: type[Event]
    """The event class the handler was registered for."""
    origin: Hashable | None
    """The origin it was registered with (``None``: every origin)."""
    handler: Callable[[Any], object]
    """The registered callable itself."""

    @property
    def handler_name(self) -> str:
        """The handler's ``module.qualname`` (the name used in logs and spans)."""
        return describe_callable(self.handler)

    @property
    def source(self) -> SourceLocation | None:
        """The file and first line of the handler's definition, or ``None`` when it has no Python source."""
        return handler_source(self.handler)

    def receives(self, event_type: type[Event], origin: object = None) -> bool:
        """Whether this registration receives an emission of ``event_type`` from ``origin``."""
        return event_type_matches(event_type, self.event_type) and origin_matches(self.origin, origin)


def handler_source(handler: Callable[..., object]) -> SourceLocation | None:
    """Where ``handler``'s code is defined, seeing through decorators, partials and bound methods.

    Callable instances point at their class's ``__call__``. Builtins, which
    have no Python code, give ``None``.
    """
    target: object = handler
    for _ in range(100):  # a bound on unwrapping, against cycles
        if isinstance(target, functools.partial):
            target = target.func
        elif inspect.ismethod(target):
            target = target.__func__
        elif hasattr(target, "__wrapped__"):
            target = target.__wrapped__
        else:
            break
    code = getattr(target, "__code__", None)
    if code is None and callable(target) and not isinstance(target, type):
        code = getattr(type(target).__call__, "__code__", None)
    if code is None:
        return None
    return SourceLocation(code.co_filename, code.co_firstlineno)


def origin_matches(registered: object, emitted: object) -> bool:
    """Whether a handler registered with ``registered`` as origin receives an emission from ``emitted``.

    No origin means every emission. Otherwise the origins must be equal, or
    both be classes with ``emitted`` a subclass of ``registered`` (a handler
    scoped to a model hears about its proxy models too).
    """
    if registered is None or registered is emitted:  # identity first, as dict lookups do (nan, broken __eq__)
        return True
    if isinstance(registered, type) and isinstance(emitted, type):
        return issubclass(emitted, registered)
    try:
        return bool(registered == emitted)
    except Exception:  # an origin with a broken __eq__ matches nothing
        return False


class Registry:
    """All handler registrations of a process, and the lookup cache."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        # event type -> origin -> handler -> what a plan calls for it (the
        # handler itself, or an adapter chosen at registration)
        self._by_type: dict[type[Event], dict[Hashable | None, dict[Handler, Handler]]] = {}
        # (event type, origin) -> Plan. Read without the lock by the dispatcher.
        self.plans: dict[tuple[type[Event], object], Plan] = {}
        # Called with no argument after every change of the registrations, for
        # integrations that prepare work per registration (the Django one wires
        # models only when some handler can receive their record events).
        # Never called while dispatching.
        self.listeners: list[Callable[[], object]] = []
        # Functions integrations add to name the fields of an origin (the
        # Django one: a model's fields), for checking ``fields=`` filters. Each
        # returns None for an origin it does not know.
        self.field_names: list[Callable[[object], Collection[str] | None]] = []
        # Set while instruments are installed: turns a plan's handlers into
        # the instrumented run (see ``_instruments``).
        self._wrap_handlers: Callable[[object, tuple[Handler, ...]], tuple[Handler, ...]] | None = None

    # -- writes ---------------------------------------------------------------

    def add(
        self,
        event_type: type[Event],
        origin: Hashable | None,
        handler: Handler,
        *,
        background: bool = False,
        fields: frozenset[str] | None = None,
    ) -> None:
        check_registration(event_type, origin, handler)
        if fields is not None:
            check_fields(event_type, origin, fields, self.field_names)
        runner = _runner_for(event_type, handler, background)
        if fields is not None:
            runner = (BackgroundFieldFilter if background else FieldFilter)(handler, runner, fields)
        with self._lock:
            handlers = self._by_type.setdefault(event_type, {}).setdefault(origin, {})
            registered = handlers.get(handler)
            if registered is not None:
                if _is_background(registered) != background:
                    raise ValueError(
                        f"handler {describe_callable(handler)} is already registered for {event_type.__qualname__} "
                        f"with background={not background}; remove_handler() it first to change how it runs"
                    )
                registered_fields = registered.fields if isinstance(registered, FieldFilter) else None
                if registered_fields != fields:
                    raise ValueError(
                        f"handler {describe_callable(handler)} is already registered for {event_type.__qualname__} "
                        f"with fields={sorted(registered_fields) if registered_fields else None}; "
                        "remove_handler() it first to change its field filter"
                    )
                return  # registering twice registers once
            handlers[handler] = runner
            self.plans.clear()
        self._changed()

    def remove(
        self,
        handler: Handler,
        event_type: type[Event] | None = None,
        origin: Hashable | None = None,
    ) -> int:
        """Remove registrations of ``handler``; return how many were removed."""
        removed = 0
        with self._lock:
            for registered_type, by_origin in list(self._by_type.items()):
                if event_type is not None and registered_type is not event_type:
                    continue
                for registered_origin, handlers in list(by_origin.items()):
                    if event_type is not None and registered_origin != origin:
                        continue
                    if handlers.pop(handler, _MISSING) is not _MISSING:
                        removed += 1
                    if not handlers:
                        del by_origin[registered_origin]
                if not by_origin:
                    del self._by_type[registered_type]
            if removed:
                self.plans.clear()
        if removed:
            self._changed()
        return removed

    def clear(self) -> None:
        with self._lock:
            self._by_type.clear()
            self.plans.clear()
        self._changed()

    def _changed(self) -> None:
        for listener in list(self.listeners):
            listener()

    def snapshot(self) -> Snapshot:
        """A copy of every registration, for :meth:`restore`."""
        with self._lock:
            return _copy(self._by_type)

    def restore(self, snapshot: Snapshot) -> bool:
        """Make the registrations exactly those of ``snapshot``; return whether anything changed."""
        with self._lock:
            if self._by_type == snapshot:
                return False
            self._by_type = _copy(snapshot)
            self.plans.clear()
        self._changed()
        return True

    def set_plan_wrapper(self, wrap: Callable[[object, tuple[Handler, ...]], tuple[Handler, ...]] | None) -> None:
        """Have every plan computed from now on run its handlers through ``wrap(origin, handlers)``."""
        with self._lock:
            self._wrap_handlers = wrap
            self.plans.clear()

    # -- reads ----------------------------------------------------------------

    def registrations(self) -> list[Registration]:
        with self._lock:
            return [
                Registration(event_type, origin, handler)
                for event_type, by_origin in self._by_type.items()
                for origin, handlers in by_origin.items()
                for handler in handlers
            ]

    def registrations_for(self, event_type: type[Event], origin: object = None) -> list[Registration]:
        """The registrations an emission of ``event_type`` from ``origin`` reaches."""
        with self._lock:
            return [
                Registration(registered_type, registered_origin, handler)
                for registered_type, by_origin in self._by_type.items()
                if event_type_matches(event_type, registered_type)
                for registered_origin, handlers in by_origin.items()
                if origin_matches(registered_origin, origin)
                for handler in handlers
            ]

    def handlers_for(self, event_type: type[Event], origin: object = None) -> tuple[Handler, ...]:
        """The handlers an emission of ``event_type`` from ``origin`` runs (order not meaningful)."""
        return tuple(self._matching(event_type, origin))

    def runners_for(self, event_type: type[Event], origin: object = None) -> tuple[Handler, ...]:
        """What the dispatcher calls for those handlers: background handlers last.

        Background handlers copy the event when they run; running them after
        the others means the copy carries every change the others made.
        """
        runners = self._matching(event_type, origin).values()
        first = [runner for runner in runners if not _is_background(runner)]
        return (*first, *(runner for runner in runners if _is_background(runner)))

    def _matching(self, event_type: type[Event], origin: object) -> dict[Handler, Handler]:
        with self._lock:
            found: dict[Handler, Handler] = {}
            for registered_type, by_origin in self._by_type.items():
                if not event_type_matches(event_type, registered_type):
                    continue
                for registered_origin, handlers in by_origin.items():
                    if origin_matches(registered_origin, origin):
                        found.update(handlers)
            return found

    def plan(self, event_type: type[Event], origin: object) -> Plan:
        """Compute (and cache, when ``origin`` is hashable) what an emission does."""
        build = builder_for(event_type)
        with self._lock:
            if event_type.__pydantic_generic_metadata__["parameters"]:
                handlers = None  # known once the event, and so its parametrized class, exists
            else:
                handlers = self.runners_for(event_type, origin)
                if self._wrap_handlers is not None:
                    handlers = self._wrap_handlers(origin, handlers)
            plan: Plan = (build, handlers)
            try:
                if len(self.plans) >= _MAX_PLANS:
                    self.plans.clear()
                self.plans[event_type, origin] = plan
            except Exception:
                pass  # an unhashable origin (or one whose __hash__ raises): correct, just not cached
            return plan

    def cached_handlers(self, event_type: type[Event], origin: object) -> tuple[Handler, ...]:
        """Handlers for an already built event's class (its plan is computed when missing)."""
        try:
            plan = self.plans[event_type, origin]
        except Exception:  # a miss, or an origin that cannot be hashed
            plan = self.plan(event_type, origin)
        handlers = plan[1]
        assert handlers is not None  # a built event's class is never an unparametrized generic
        return handlers


_MISSING = object()


# Builds the runner of a ``background=True`` registration: installed by the
# integration that runs background handlers (``canvas_core.background`` sets it
# on import), so that this core imports no integration.
background_runner: Callable[[type[Event], Handler], Handler] | None = None


def _runner_for(event_type: type[Event], handler: Handler, background: bool) -> Handler:
    if background:
        if background_runner is None:
            raise TypeError(
                "handle_event(..., background=True) needs canvas_core.background: add "
                "`import canvas_core.background` (or install and configure an integration that runs background "
                "handlers) before registering background handlers"
            )
        return background_runner(event_type, handler)
    if is_coroutine_callable(handler):
        return AsyncHandler(handler)
    return handler


def _is_background(runner: Handler) -> bool:
    return isinstance(runner, HandlerAdapter) and runner.background


def is_coroutine_callable(handler: object) -> bool:
    """Whether calling ``handler`` returns a coroutine (an ``async def`` function or ``__call__``)."""
    call_method = type(handler).__call__ if not inspect.isroutine(handler) else None
    return inspect.iscoroutinefunction(handler) or inspect.iscoroutinefunction(call_method)


def _copy(by_type: Snapshot) -> Snapshot:
    return {t: {o: dict(handlers) for o, handlers in by_origin.items()} for t, by_origin in by_type.items()}


def check_registration(event_type: object, origin: object, handler: object) -> None:
    """Raise a clear :class:`TypeError` for a registration that could never work."""
    check_target(event_type, origin)
    check_handler(handler)


def check_target(event_type: object, origin: object) -> None:
    """Raise :class:`TypeError` unless ``event_type`` is an event class and ``origin`` is hashable."""
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(
            f"handle_event() needs an Event subclass, got {event_type!r}; "
            "declare the event as `class MyEvent(canvas_core.events.Event): ...`"
        )
    try:
        hash(origin)
    except TypeError:
        raise TypeError(
            f"handle_event() origin must be hashable, got an unhashable {type(origin).__qualname__}; "
            "use a class, a module, a string or another hashable object"
        ) from None


def check_fields(
    event_type: type[Event],
    origin: object,
    fields: object,
    field_names: Iterable[Callable[[object], Collection[str] | None]] = (),
) -> None:
    """Raise :class:`TypeError` unless ``fields`` can filter ``event_type`` emitted from ``origin``."""
    if not isinstance(fields, frozenset) or not all(isinstance(name, str) for name in fields):
        raise TypeError(f"handle_event(fields=...) takes a set of field names, e.g. fields={{'value'}}; got {fields!r}")
    if not fields:
        raise TypeError("handle_event(fields=...) needs at least one field name (or leave fields out)")
    if "diff" not in event_type.model_fields:
        raise TypeError(
            f"handle_event(fields=...) filters update events by their diff, and {event_type.__qualname__} has none; "
            "use it with PreRecordUpdate or PostRecordUpdate"
        )
    for names_of in field_names:
        known = names_of(origin)
        if known is None:
            continue
        unknown = sorted(fields - set(known))
        if unknown:
            raise TypeError(
                f"handle_event(fields=...): {', '.join(map(repr, unknown))} "
                f"{'is not a field' if len(unknown) == 1 else 'are not fields'} of {describe_origin(origin)}; "
                f"its fields are {', '.join(sorted(known))}"
            )
        return


def check_handler(handler: object) -> None:
    """Raise :class:`TypeError` unless ``handler`` can be called with the event alone."""
    if not callable(handler):
        raise TypeError(f"handle_event() decorates a callable, got {describe_origin(handler)}")
    name = describe_callable(handler)
    call_method = None if inspect.isroutine(handler) else type(handler).__call__
    for kind, test in (
        ("a generator", inspect.isgeneratorfunction),
        ("an async generator", inspect.isasyncgenfunction),
    ):
        if test(handler) or test(call_method):
            raise TypeError(
                f"handler {name} is {kind} function: calling it only creates {kind} and runs none of its code, "
                "so it would never handle anything. Remove the `yield` (handlers return nothing), or call "
                "the generator from a plain handler"
            )
    try:
        signature = inspect.signature(handler)
    except (TypeError, ValueError):
        return  # some builtins have no introspectable signature; trust them
    try:
        signature.bind(object())
    except TypeError:
        raise TypeError(f"handler {name}{signature} must accept exactly one positional argument, the event") from None
