"""Who handles what: registrations, their index, and the per-(event type, origin) plan cache.

Writes (register, remove) are rare and take a lock. Reads happen on every
emission and take none: the dispatcher reads ``Registry.plans`` with a single
dict lookup; on a miss, ``Registry.free`` says with one more whether the origin
is one no registration is scoped to (then the type's plan for every origin
applies, and nothing is cached for that origin), and only the rest comes here.
That costs hash lookups along the event type's MRO (see ``_index``), never a
scan of the registry; a write drops only the plans of the event types it can reach.
"""

from __future__ import annotations

import enum
import functools
import inspect
import itertools
import os
import threading
import types
import weakref
from collections.abc import Callable, Collection, Hashable, Iterable
from typing import Any, NamedTuple

from ._adapters import AsyncHandler, BackgroundFieldFilter, FieldFilter, HandlerAdapter
from ._describe import describe_callable, describe_origin
from ._event import Event, builder_for
from ._generics import event_type_matches
from ._index import Parametrizations, TypeIndex, matching_types, ordered_runners, origin_matches

__all__ = ["Registration", "RegistrationChange", "Registry", "SourceLocation", "handler_source", "origin_matches"]

Handler = Callable[[Any], object]

# (build the event from its fields, handlers to run). ``handlers`` is None when
# they depend on the built event's class (generic events emitted unparametrized).
Plan = tuple[Callable[[dict[str, Any]], Event], "tuple[Handler, ...] | None"]

# Bound on cached plans (one per event type and origin: strings, tenants'
# ids... can be many).
_MAX_PLANS = 4096
# Once full, only one miss in this many is cached (evicting the oldest
# quarter): origins cycling through more than the bound would otherwise pay
# for caching on every emission, and new long-lived origins still get in.
_ADMIT_WHEN_FULL = 16


# (the plan for every origin no registration is scoped to, the origins that are, whether classes are among them)
FreePlan = tuple[Plan, Collection[object], bool]

# (how to build the event, its TypeIndex (None for an unparametrized generic),
# the plan when it is the same for every origin)
_IndexEntry = tuple[Callable[[dict[str, Any]], Event], TypeIndex | None, Plan | None]

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


class RegistrationChange(NamedTuple):
    """What changed, as told to :attr:`Registry.change_listeners`."""

    registration: Registration | None
    """The registration added or removed; ``None`` when any may have changed (``clear``, ``restore``)."""
    added: bool
    """Whether it was added (``False``: removed)."""
    generation: int
    """The registry's generation after the change (see :meth:`Registry.registrations_at`).

    Listeners run outside the registry's lock, so two threads' changes may
    reach them in either order; a listener that also reads every registration
    uses this to skip changes that reading already included.
    """


class Registry:
    """All handler registrations of a process, and the lookup cache."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        _registries.add(self)
        # event type -> origin -> handler -> what a plan calls for it (the
        # handler itself, or an adapter chosen at registration)
        self._by_type: dict[type[Event], dict[Hashable | None, dict[Handler, Handler]]] = {}
        # handler -> (event type, origin, its handlers dict) of each of its registrations: removal by handler
        self._by_handler: dict[Handler, list[tuple[type[Event], Hashable | None, dict[Handler, Handler]]]] = {}
        # generic event class -> its parametrizations that have registrations
        self._generics: dict[type, Parametrizations] = {}
        # emitted event type -> (how to build it, its TypeIndex or None for unparametrized generics,
        # the plan when it is the same for every origin or None)
        self._indexes: dict[type[Event], _IndexEntry] = {}
        # (event type, origin) -> Plan. Read without the lock by the dispatcher.
        # Only origins that are safe to keep (see ``_keepable``) are cached;
        # other origins are looked up in ``_indexes`` on each emission.
        self.plans: dict[tuple[type[Event], object], Plan] = {}
        # event type -> (its plan for every origin no registration is scoped to, the origins that
        # are, whether classes are among them: then class origins, matched along their MRO, get
        # plans of their own). Read without the lock by the dispatcher on a ``plans`` miss: an
        # origin nobody registered for (a request, a tenant's id) costs one more probe and is
        # neither cached nor kept. Absent while instruments are installed (they wrap plans per
        # origin) and for types whose origins are compared one by one (see TypeIndex.unusual).
        self.free: dict[type[Event], FreePlan] = {}
        self._plan_keys: dict[type[Event], dict[tuple[type[Event], object], None]] = {}  # plans, by event type
        self._misses_when_full = itertools.count()
        self._generation = 0  # one more with each change
        # Called with no argument after every change of the registrations.
        # Never called while dispatching.
        self.listeners: list[Callable[[], object]] = []
        # Called with a RegistrationChange after every change, for integrations
        # that prepare work per registration (the Django one wires models only
        # when some handler can receive their record events).
        self.change_listeners: list[Callable[[RegistrationChange], object]] = []
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
            by_origin = self._by_type.get(event_type)
            if by_origin is None:
                by_origin = self._by_type[event_type] = {}
                generic = event_type.__pydantic_generic_metadata__["origin"]
                if generic is not None:
                    if generic not in self._generics:
                        self._generics[generic] = Parametrizations(generic)
                    self._generics[generic].add(event_type)
            handlers = _lookup(by_origin, origin)
            if handlers is None:
                handlers = by_origin[origin] = {}
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
            self._by_handler.setdefault(handler, []).append((event_type, origin, handlers))
            self._invalidate(event_type)
            self._generation += 1
            generation = self._generation
        self._changed(RegistrationChange(Registration(event_type, origin, handler), True, generation))

    def remove(
        self,
        handler: Handler,
        event_type: type[Event] | None = None,
        origin: Hashable | None = None,
    ) -> int:
        """Remove registrations of ``handler``; return how many were removed."""
        if event_type is not None:
            check_event_type(event_type, "remove_handler")
        with self._lock:
            entries = self._by_handler.get(handler)
            if not entries:
                return 0
            if event_type is None:
                removed = entries
            else:
                by_origin = self._by_type.get(event_type)
                handlers = _lookup(by_origin, origin) if by_origin is not None else None
                removed = [entry for entry in entries if entry[2] is handlers]
            if not removed:
                return 0
            for registered_type, registered_origin, handlers in removed:
                del handlers[handler]
                if not handlers:
                    self._drop_origin(registered_type, registered_origin, handlers)
                self._invalidate(registered_type)
            if len(removed) == len(entries):
                del self._by_handler[handler]
            else:  # by identity: comparing the entries would compare origins
                gone = {id(entry[2]) for entry in removed}
                self._by_handler[handler] = [entry for entry in entries if id(entry[2]) not in gone]
            self._generation += 1
            generation = self._generation
        self._changed(
            *(RegistrationChange(Registration(t, o, handler), False, generation) for t, o, _ in removed),
        )
        return len(removed)

    def _drop_origin(self, event_type: type[Event], origin: object, handlers: dict[Handler, Handler]) -> None:
        """Delete the (now empty) ``handlers`` dict, registered under ``origin``, from ``event_type``'s origins."""
        by_origin = self._by_type[event_type]
        try:
            found = by_origin.get(origin) is handlers
        except Exception:  # a colliding origin's __eq__ raised
            found = False
        if found:
            del by_origin[origin]
        else:  # identity decides, not (broken) equality
            self._by_type[event_type] = by_origin = {o: h for o, h in by_origin.items() if h is not handlers}
        if not by_origin:
            del self._by_type[event_type]
            generic = event_type.__pydantic_generic_metadata__["origin"]
            parametrizations = self._generics.get(generic) if generic is not None else None
            if generic is not None and parametrizations is not None and parametrizations.discard(event_type):
                del self._generics[generic]

    def clear(self) -> None:
        with self._lock:
            self._by_type.clear()
            self._reindex()
            self._generation += 1
            generation = self._generation
        self._changed(RegistrationChange(None, False, generation))

    def _changed(self, *changes: RegistrationChange) -> None:
        """Tell the listeners: each plain listener once, each change listener once per change."""
        for listener in list(self.listeners):
            listener()
        for change_listener in list(self.change_listeners):
            for change in changes:
                change_listener(change)

    def snapshot(self) -> Snapshot:
        """A copy of every registration, for :meth:`restore`."""
        with self._lock:
            return _copy(self._by_type)

    def restore(self, snapshot: Snapshot) -> bool:
        """Make the registrations exactly those of ``snapshot``; return whether anything changed."""
        with self._lock:
            try:
                if self._by_type == snapshot:
                    return False
            except Exception:  # an origin whose __eq__ raises: assume a change
                pass
            self._by_type = _copy(snapshot)
            self._reindex()
            self._generation += 1
            generation = self._generation
        self._changed(RegistrationChange(None, True, generation))
        return True

    def _reindex(self) -> None:
        """Rebuild the indexes from ``_by_type`` and drop every cached plan."""
        self._by_handler.clear()
        self._generics.clear()
        for event_type, by_origin in self._by_type.items():
            generic = event_type.__pydantic_generic_metadata__["origin"]
            if generic is not None:
                self._generics.setdefault(generic, Parametrizations(generic)).add(event_type)
            for origin, handlers in by_origin.items():
                for handler in handlers:
                    self._by_handler.setdefault(handler, []).append((event_type, origin, handlers))
        self._indexes.clear()
        self.free.clear()
        self._plan_keys.clear()
        self.plans.clear()

    def set_plan_wrapper(self, wrap: Callable[[object, tuple[Handler, ...]], tuple[Handler, ...]] | None) -> None:
        """Have every plan computed from now on run its handlers through ``wrap(origin, handlers)``."""
        with self._lock:
            self._wrap_handlers = wrap
            self._indexes.clear()
            self.free.clear()
            self._plan_keys.clear()
            self.plans.clear()

    def _invalidate(self, changed: type[Event]) -> None:
        """Drop the cached plans of every event type a registration for ``changed`` reaches.

        Those are subclasses of ``changed`` (of its generic class, for a
        parametrization): walk that subtree, or, when more event types are in
        it than have plans, check the cached types instead.
        """
        indexes = self._indexes
        if not indexes:
            return
        generic = changed.__pydantic_generic_metadata__["origin"]
        root: type = generic if generic is not None else changed
        budget = len(indexes)
        seen: set[type] = set()
        pending = [root]
        while pending and len(seen) <= budget:
            cls = pending.pop()
            if cls not in seen:
                seen.add(cls)
                pending.extend(cls.__subclasses__())
        candidates = list(indexes) if len(seen) > budget else [cls for cls in seen if cls in indexes]
        for event_type in candidates:
            if event_type_matches(event_type, changed):
                del indexes[event_type]
                self.free.pop(event_type, None)
                for key in self._plan_keys.pop(event_type, ()):
                    self.plans.pop(key, None)

    # -- reads ----------------------------------------------------------------

    def registrations(self) -> list[Registration]:
        with self._lock:
            return [
                Registration(event_type, origin, handler)
                for event_type, by_origin in self._by_type.items()
                for origin, handlers in by_origin.items()
                for handler in handlers
            ]

    def registrations_at(self) -> tuple[int, list[Registration]]:
        """Every registration, and the generation they are the state of (changes up to it included)."""
        with self._lock:
            return self._generation, self.registrations()

    def registrations_for(self, event_type: type[Event], origin: object = None) -> list[Registration]:
        """The registrations an emission of ``event_type`` from ``origin`` reaches."""
        check_event_type(event_type, "registrations_for")
        with self._lock:
            return [
                Registration(registered_type, registered_origin, handler)
                for registered_type in matching_types(event_type, self._by_type, self._generics)
                for registered_origin, handlers in self._by_type[registered_type].items()
                if origin_matches(registered_origin, origin)
                for handler in handlers
            ]

    def handlers_for(self, event_type: type[Event], origin: object = None) -> tuple[Handler, ...]:
        """The handlers an emission of ``event_type`` from ``origin`` runs (order not meaningful)."""
        check_event_type(event_type, "handlers_for")
        return tuple(self._matching(event_type, origin))

    def runners_for(self, event_type: type[Event], origin: object = None) -> tuple[Handler, ...]:
        """What the dispatcher calls for those handlers: background handlers last."""
        check_event_type(event_type, "runners_for")
        return ordered_runners(self._matching(event_type, origin))

    def _matching(self, event_type: type[Event], origin: object) -> dict[Handler, Handler]:
        with self._lock:
            index = TypeIndex(matching_types(event_type, self._by_type, self._generics), self._by_type)
        found = index.matching(origin)
        return index.everyone if found is None else found

    def lookup(self, event_type: type[Event], origin: object) -> Plan:
        """What an emission does: the dispatcher's lookup (which inlines it), for the other callers."""
        try:
            plan = self.plans.get((event_type, origin))
            if plan is None:  # no plan of its own: is it an origin no registration is scoped to?
                free = self.free.get(event_type)
                if free is not None and origin not in free[1] and not (free[2] and isinstance(origin, type)):
                    plan = free[0]
        except Exception:  # an origin that cannot be hashed
            plan = None
        return self.plan(event_type, origin) if plan is None else plan

    def plan(self, event_type: type[Event], origin: object) -> Plan:
        """Compute what an emission does (cached when ``origin`` is safe to keep and needs its own plan)."""
        try:
            build, index, common = self._indexes[event_type]
        except (KeyError, TypeError):
            build, index, common = self._index_for(event_type)
        keep = _KEEPABLE_CLASSES.get(type(origin))
        if keep is None or keep is tuple:
            keep = _keepable(origin)
        # Only origins that can have a plan of their own are cached: classes (matched along their
        # MRO) and origins some registration is scoped to; and None, the usual origin. Any other
        # one gets the plan for every origin, so that one-off origins neither fill nor churn the cache.
        if common is not None and (not keep or (origin is not None and not isinstance(origin, type))):
            return common  # the same plan for every origin
        if index is None:
            handlers = common[1] if common is not None else None
        else:
            found = index.matching(origin)
            if found is None:
                handlers = index.runners
                if origin is not None and not isinstance(origin, type):
                    keep = False
            else:
                handlers = ordered_runners(found)
        wrap = self._wrap_handlers
        if wrap is not None and handlers is not None:
            handlers = wrap(origin, handlers)
        plan: Plan = (build, handlers)
        if keep and (len(self.plans) < _MAX_PLANS or not next(self._misses_when_full) % _ADMIT_WHEN_FULL):
            with self._lock:
                # not if a change (or an instrument) invalidated the index meanwhile
                entry = self._indexes.get(event_type)
                if entry is not None and entry[1] is index and self._wrap_handlers is wrap:
                    self._keep(event_type, origin, plan)
        return plan

    def _index_for(self, event_type: type[Event]) -> _IndexEntry:
        build = builder_for(event_type)  # raises a clear TypeError for a non-event
        with self._lock:
            entry = self._indexes.get(event_type)
            if entry is None:
                if event_type.__pydantic_generic_metadata__["parameters"]:
                    # handlers known once the event, and so its parametrized class, exists
                    entry = (build, None, (build, None))
                    if self._wrap_handlers is None:
                        self.free[event_type] = (entry[2], (), False)
                else:
                    index = TypeIndex(matching_types(event_type, self._by_type, self._generics), self._by_type)
                    no_origin_matters = not index.pairs and self._wrap_handlers is None
                    entry = (build, index, (build, index.runners) if no_origin_matters else None)
                    if self._wrap_handlers is None and not index.unusual:
                        self._free_plan(event_type, entry[2] or (build, index.runners), index)
                self._indexes[event_type] = entry
            return entry

    def _free_plan(self, event_type: type[Event], plan: Plan, index: TypeIndex) -> None:
        """Record ``plan`` as ``event_type``'s plan for every origin no registration is scoped to."""
        try:
            # an object equal to a registered class matches it too, by equality
            scoped: Collection[object] = {**index.values, **index.classes} if index.classes else index.values  # type: ignore[dict-item]
        except Exception:  # an origin whose __eq__ raises when compared with a class: no shortcut
            return
        self.free[event_type] = (plan, scoped, bool(index.classes))

    def _keep(self, event_type: type[Event], origin: object, plan: Plan) -> None:
        plans = self.plans
        if len(plans) >= _MAX_PLANS:
            # Evict the oldest quarter: bounded, and no cliff where every emission misses at once.
            for key in list(itertools.islice(plans, _MAX_PLANS // 4)):
                del plans[key]
                keys = self._plan_keys.get(key[0])
                if keys is not None:
                    keys.pop(key, None)
        key = (event_type, origin)
        plans[key] = plan
        self._plan_keys.setdefault(event_type, {})[key] = None

    def cached_handlers(self, event_type: type[Event], origin: object) -> tuple[Handler, ...]:
        """Handlers for an already built event's class (its plan is computed when missing)."""
        handlers = self.lookup(event_type, origin)[1]
        assert handlers is not None  # a built event's class is never an unparametrized generic
        return handlers


# Origins kept as plan cache keys: values that are small, immutable and
# usually long-lived, and functions. Anything else (a request, a model instance) is looked up
# on each emission, so the cache never keeps it alive. By the origin's class:
# True, False, or ``tuple`` (decided by the items).
_KEEPABLE_CLASSES: dict[type, bool | type[tuple[Any, ...]]] = {
    **dict.fromkeys((type(None), str, int, bool, float, bytes, type, types.ModuleType), True),
    # functions (not bound methods, made anew on each access and holding their object)
    **dict.fromkeys((types.FunctionType, types.BuiltinFunctionType), True),
    tuple: tuple,
    frozenset: tuple,
}
_KEEPABLE_CLASSES_BOUND = 1024  # the classes decided on; dynamic classes must not pile up


def _keepable(origin: object) -> bool:
    cls = type(origin)
    keep = _KEEPABLE_CLASSES.get(cls)
    if keep is tuple:
        return all(_keepable(item) for item in origin)  # type: ignore[attr-defined]
    if keep is None:
        keep = issubclass(cls, (type, types.ModuleType, enum.Enum))
        if len(_KEEPABLE_CLASSES) < _KEEPABLE_CLASSES_BOUND:
            _KEEPABLE_CLASSES[cls] = keep
    return bool(keep)


def _lookup(by_origin: dict[Hashable | None, dict[Handler, Handler]], origin: object) -> dict[Handler, Handler] | None:
    """``by_origin.get(origin)``, even when a registered origin's ``__eq__`` (or ``origin``'s hash) raises.

    Like a dict lookup: the same object first, then an equal one.
    """
    try:
        return by_origin.get(origin)
    except Exception:
        pass
    for registered, handlers in by_origin.items():
        if registered is origin:
            return handlers
    for registered, handlers in by_origin.items():
        try:
            if registered == origin:
                return handlers
        except Exception:  # this one's __eq__ is broken; it equals nothing
            continue
    return None


# Every registry, so that a forked child can replace their locks (see _after_fork).
_registries: weakref.WeakSet[Registry] = weakref.WeakSet()


def _after_fork() -> None:
    # A lock held by another thread at fork() stays held forever in the child,
    # where that thread does not exist: give the child fresh ones.
    for registry in list(_registries):
        registry._lock = threading.RLock()


if hasattr(os, "register_at_fork"):  # not on Windows
    os.register_at_fork(after_in_child=_after_fork)


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


def check_event_type(event_type: object, caller: str) -> None:
    """Raise a clear :class:`TypeError` unless ``event_type`` is an event class."""
    if not (isinstance(event_type, type) and issubclass(event_type, Event)):
        raise TypeError(
            f"{caller}() needs an Event subclass, got {event_type!r}; "
            "pass the event class itself (e.g. `MyEvent`, not an instance or its name)"
        )


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
    except Exception as exc:
        raise TypeError(
            f"handle_event() origin must be hashable, but hashing the {type(origin).__qualname__} given raised "
            f"{type(exc).__qualname__}; fix its __hash__, or use a class, a module or a string as origin"
        ) from exc


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
