"""``canvas-events graph``: the event map, read from source code without importing it.

The scan parses each file with :mod:`ast` and records three things:

* event classes: subclasses of ``canvas_core.events.Event``, directly or through
  other event classes, written as ``Event``, ``events.Event`` or any imported
  alias;
* emit sites: calls of ``emit_event`` (``events.emit_event(E, ...)`` too), with
  the enclosing function and the ``origin=`` expression;
* handlers: functions decorated with ``handle_event(E, origin=...)``, and the
  call form ``handle_event(E)(function)``, with how each runs: ``background``
  (``background=True``), ``async`` (``async def``), ``after_commit`` (under
  ``@after_commit``).

Record events (``PostRecordUpdate[Book]``...) are emitted by the Django ORM,
not by an ``emit_event`` call in the source: each handled one gets the ORM as
its emitter.

Names are resolved through each file's imports, so ``from .models import Paid``
and ``billing.events.Paid`` name the same class. What cannot be resolved
statically is shown as written, except an event type held in a function's
parameter or local variable: nothing is known about it, and it is left out.

The map renders as Mermaid, Graphviz DOT, JSON, or a self-contained HTML page
that draws the DOT with a vendored copy of Viz.js (Graphviz compiled to
WebAssembly, from the npm package ``@viz-js/viz``), so it opens offline.
"""

from __future__ import annotations

import ast
import dataclasses
import html
import json
import os
from collections.abc import Iterable, Iterator
from importlib import resources
from pathlib import Path

__all__ = ["EmitSite", "EventClass", "EventMap", "HandlerSite", "ScanError", "render", "scan"]

# Where the public names live; private modules re-export into this namespace.
_EVENTS_MODULE = "canvas_core.events"
_BUILTIN_EVENTS = {
    "Event": (),
    "HandlerFailed": ("Event",),
    "RecordEvent": ("Event",),
    "PreRecordCreate": ("RecordEvent",),
    "PostRecordCreate": ("RecordEvent",),
    "PreRecordUpdate": ("RecordEvent",),
    "PostRecordUpdate": ("RecordEvent",),
    "PreRecordDelete": ("RecordEvent",),
    "PostRecordDelete": ("RecordEvent",),
}
_SKIPPED_DIRS = {"__pycache__", "node_modules", "site-packages"}


class ScanError(Exception):
    """A path given to :func:`scan` cannot be read."""


@dataclasses.dataclass(frozen=True)
class EventClass:
    """An event class found in the source: ``name`` is ``module.QualName``."""

    name: str
    bases: tuple[str, ...]
    file: str
    line: int


ORM_EMITTER = "Django ORM"
"""The ``emitter`` of the record events the ORM emits (their :class:`EmitSite` has no file and line 0)."""


@dataclasses.dataclass(frozen=True)
class EmitSite:
    """An ``emit_event`` call: ``emitter`` is the enclosing function (``module.<module>`` at top level).

    For a record event, :data:`ORM_EMITTER`, with ``origin`` the model (``None``: any model).
    """

    event: str
    origin: str | None
    emitter: str
    file: str
    line: int


RUNS = ("background", "async", "after_commit")
"""The ways a handler can run besides plainly, as :attr:`HandlerSite.runs` and ``canvas-events handlers`` name them."""


@dataclasses.dataclass(frozen=True)
class HandlerSite:
    """A ``handle_event`` registration of ``handler`` for ``event``.

    ``line`` is that of the registration's first decorator (as in
    ``canvas-events handlers``); ``runs`` lists what of :data:`RUNS` applies.
    """

    event: str
    origin: str | None
    handler: str
    file: str
    line: int
    runs: tuple[str, ...] = ()


@dataclasses.dataclass
class EventMap:
    """Everything :func:`scan` found, plus the files it had to skip and why."""

    events: list[EventClass] = dataclasses.field(default_factory=list)
    emits: list[EmitSite] = dataclasses.field(default_factory=list)
    handlers: list[HandlerSite] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)

    def event_names(self) -> list[str]:
        """Every event that appears anywhere in the map, defined here or not."""
        names = {event.name for event in self.events}
        names.update(site.event for site in self.emits)
        names.update(site.event for site in self.handlers)
        names.update(base for event in self.events for base in event.bases)
        return sorted(names)


# -- scanning -------------------------------------------------------------------------------------


def scan(paths: Iterable[str | os.PathLike[str]]) -> EventMap:
    """Scan Python files and directories (recursively) for events, emit sites and handlers.

    Raises :class:`ScanError` for a path that does not exist or cannot be read.
    Files that do not parse are listed in :attr:`EventMap.skipped` instead.
    """
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise ScanError(f"cannot read {raw}: no such file or directory")
        files.extend(_python_files(path))

    event_map = EventMap()
    classes: dict[str, tuple[list[_Ref], str, int]] = {}  # name -> (bases, file, line)
    raw_emits: list[tuple[_Ref, str | None, str, str, int]] = []
    raw_handlers: list[tuple[_Ref, str | None, str, str, int, tuple[str, ...]]] = []
    functions: dict[str, tuple[tuple[str, ...], str, int]] = {}  # qualified name -> (how it runs, file, line)
    for file in files:
        try:
            source = file.read_bytes()
        except OSError as exc:
            raise ScanError(f"cannot read {file}: {exc.strerror or exc}") from None
        try:
            tree = ast.parse(source, filename=str(file))
        except (SyntaxError, ValueError) as exc:
            event_map.skipped.append(f"{_display(file)}: not valid Python ({exc})")
            continue
        visitor = _FileVisitor(_module_name(file), _display(file), is_package=file.name == "__init__.py")
        visitor.visit(tree)
        classes.update((_public_name(name), found) for name, found in visitor.classes.items())
        raw_emits.extend(visitor.emits)
        raw_handlers.extend(visitor.handlers)
        functions.update(visitor.functions)

    resolve = _Resolver(classes)
    for name in sorted(resolve.event_classes()):
        if name in classes:
            bases, file_name, line = classes[name]
            # Deriving from RecordEvent[R] is deriving from RecordEvent: drop the type arguments.
            event_bases = tuple(
                resolved
                for resolved in (resolve.name(dataclasses.replace(base, subscript="")) for base in bases)
                if resolve.is_event(resolved)
            )
            event_map.events.append(EventClass(name, event_bases, file_name, line))
    for ref, origin, where, file_name, line in raw_emits:
        event_map.emits.append(EmitSite(resolve.name(ref), origin, where, file_name, line))
    for ref, origin, where, file_name, line, runs in raw_handlers:
        definition = functions.get(where)
        if definition is not None:
            # The call form says only background=; the function's definition says the rest, and where it is
            # (which is what the running process reports).
            defined_runs, file_name, line = definition
            runs = tuple(way for way in RUNS if way in runs or way in defined_runs)
        event_map.handlers.append(HandlerSite(resolve.name(ref), origin, where, file_name, line, runs))
    orm_emits = {
        (handler.event, handler.origin)
        for handler in event_map.handlers
        if _is_record_event(handler.event, event_map.events)
    }
    event_map.emits.extend(EmitSite(event, origin, ORM_EMITTER, "", 0) for event, origin in sorted(orm_emits, key=str))
    return event_map


_RECORD_EVENT = f"{_EVENTS_MODULE}.RecordEvent"


def _is_record_event(name: str, events: list[EventClass]) -> bool:
    """Whether ``name`` (maybe parametrized) is ``RecordEvent`` or derives from it."""
    bases = {event.name: event.bases for event in events}
    bases.update(
        (f"{_EVENTS_MODULE}.{short}", tuple(f"{_EVENTS_MODULE}.{b}" for b in of))
        for short, of in _BUILTIN_EVENTS.items()
    )
    pending, seen = [name.split("[", 1)[0]], set()
    while pending:
        current = pending.pop()
        if current == _RECORD_EVENT:
            return True
        if current not in seen:
            seen.add(current)
            pending.extend(bases.get(current, ()))
    return False


def _python_files(path: Path) -> Iterator[Path]:
    if path.is_file():
        yield path
        return
    if not os.access(path, os.R_OK | os.X_OK):
        raise ScanError(f"cannot read {path}: permission denied")
    for root, dirs, names in os.walk(path):
        dirs[:] = sorted(d for d in dirs if not d.startswith(".") and d not in _SKIPPED_DIRS)
        yield from (Path(root, name) for name in sorted(names) if name.endswith(".py"))


def _module_name(file: Path) -> str:
    """The import name of ``file``: its stem, prefixed by every enclosing package."""
    file = file.resolve()
    parts = [] if file.stem == "__init__" else [file.stem]
    directory = file.parent
    while (directory / "__init__.py").exists():
        parts.insert(0, directory.name)
        directory = directory.parent
    return ".".join(parts) or file.parent.name


def _display(file: Path) -> str:
    try:
        return str(file.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(file)


@dataclasses.dataclass(frozen=True)
class _Ref:
    """A name as resolved through a file's imports: ``module.attr``, or unresolvable ``text``."""

    qualified: str | None
    text: str
    subscript: str = ""
    dynamic: bool = False


class _FileVisitor(ast.NodeVisitor):
    def __init__(self, module: str, file: str, is_package: bool = False) -> None:
        self.module = module
        self.is_package = is_package
        self.file = file
        self.imports: dict[str, str] = {}  # local name -> qualified name (module or module.attr)
        self.scope: list[str] = []
        self.classes: dict[str, tuple[list[_Ref], str, int]] = {}
        self.emits: list[tuple[_Ref, str | None, str, str, int]] = []
        self.handlers: list[tuple[_Ref, str | None, str, str, int, tuple[str, ...]]] = []
        # qualified name -> (how it runs: async, after_commit; file; line of its first decorator or def)
        self.functions: dict[str, tuple[tuple[str, ...], str, int]] = {}
        self.local_names: list[set[str]] = []  # per enclosing function: its parameters and assigned names

    # imports
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.asname:
                self.imports[alias.asname] = alias.name
            else:
                top = alias.name.split(".")[0]
                self.imports[top] = top

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        base = node.module or ""
        if node.level:
            # `from . import x` is relative to the module's package: its name minus the last part,
            # except in a package's __init__.py, which is its own package.
            package = self.module.split(".") + ([""] if self.is_package else [])
            anchor = package[: len(package) - node.level] if len(package) >= node.level else []
            base = ".".join([*anchor, *([base] if base else [])])
        for alias in node.names:
            self.imports[alias.asname or alias.name] = f"{base}.{alias.name}" if base else alias.name

    # scopes
    def _qualname(self, name: str) -> str:
        return ".".join([self.module, *self.scope, name])

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.classes[self._qualname(node.name)] = (
            [self.ref(base) for base in node.bases],
            self.file,
            node.lineno,
        )
        self._visit_decorated(node)

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self._visit_decorated(node)

    def visit_AsyncFunctionDef(self, node: ast.AsyncFunctionDef) -> None:
        self._visit_decorated(node)

    def _visit_decorated(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        runs = self._runs_of_definition(node)
        # The registration's line, as the running process reports it: the first decorator's.
        line = min((decorator.lineno for decorator in node.decorator_list), default=node.lineno)
        if not isinstance(node, ast.ClassDef):
            self.functions[self._qualname(node.name)] = (runs, self.file, line)
        for decorator in node.decorator_list:
            if isinstance(decorator, ast.Call) and self._is(decorator.func, "handle_event"):
                target = self._handle_target(decorator)
                if target is not None:
                    how = (*runs, *_background(decorator))
                    self.handlers.append((*target, self._qualname(node.name), self.file, line, how))
            else:
                self.visit(decorator)
        for child in node.bases if isinstance(node, ast.ClassDef) else ():
            self.visit(child)
        self.scope.append(node.name if isinstance(node, ast.ClassDef) else f"{node.name}.<locals>")
        if not isinstance(node, ast.ClassDef):
            self.local_names.append(_local_names(node))
        for statement in node.body:
            self.visit(statement)
        if not isinstance(node, ast.ClassDef):
            self.local_names.pop()
        self.scope.pop()

    def _runs_of_definition(self, node: ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) -> tuple[str, ...]:
        runs: list[str] = []
        if isinstance(node, ast.AsyncFunctionDef):
            runs.append("async")
        for decorator in node.decorator_list:
            qualified = self.ref(decorator).qualified or ""
            if qualified.startswith("canvas_core.django") and qualified.endswith(".after_commit"):
                runs.append("after_commit")
        return tuple(runs)

    # calls
    def visit_Call(self, node: ast.Call) -> None:
        if self._is(node.func, "emit_event") and node.args:
            origin = _keyword(node, "origin")
            event = self.ref(node.args[0])
            if not event.dynamic:
                self.emits.append((event, origin, self._emitter(), self.file, node.lineno))
        elif (
            isinstance(node.func, ast.Call) and self._is(node.func.func, "handle_event") and len(node.args) == 1
        ):  # handle_event(E)(function)
            target = self._handle_target(node.func)
            if target is not None:
                handler = self.ref(node.args[0])
                name = handler.qualified or self._qualname(handler.text)
                if name not in self.functions and f"{self.module}.{handler.text}" in self.functions:
                    name = f"{self.module}.{handler.text}"  # a module-level function registered inside a function
                self.handlers.append((*target, name, self.file, node.lineno, _background(node.func)))
        self.generic_visit(node)

    def _emitter(self) -> str:
        if not self.scope:
            return f"{self.module}.<module>"
        return ".".join([self.module, *self.scope]).removesuffix(".<locals>")

    def _handle_target(self, call: ast.Call) -> tuple[_Ref, str | None] | None:
        event = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "event_type"), None)
        if event is None:
            return None
        origin = call.args[1] if len(call.args) > 1 else None
        ref = self.ref(event)
        if ref.dynamic:
            return None
        return ref, ast.unparse(origin) if origin is not None else _keyword(call, "origin")

    def _is(self, func: ast.expr, name: str) -> bool:
        qualified = self.ref(func).qualified
        return qualified is not None and qualified.startswith("canvas_core.events") and qualified.endswith(f".{name}")

    def ref(self, node: ast.expr) -> _Ref:
        """Resolve a name, dotted name or subscript (``PostRecordUpdate[Setting]``) through the imports."""
        if isinstance(node, ast.Subscript):
            inner = self.ref(node.value)
            return _Ref(inner.qualified, inner.text, f"[{ast.unparse(node.slice)}]")
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.insert(0, node.attr)
            node = node.value
        text = ast.unparse(node) if not isinstance(node, ast.Name) else node.id
        if not isinstance(node, ast.Name):
            return _Ref(None, ".".join([text, *parts]))
        full_text = ".".join([node.id, *parts])
        if node.id in self.imports:
            return _Ref(".".join([self.imports[node.id], *parts]), full_text)
        if self.local_names and node.id in self.local_names[-1]:
            return _Ref(None, full_text, dynamic=True)  # a parameter or variable: any class at run time
        # A name defined in this module (or unknown: resolved later by class name).
        return _Ref(".".join([self.module, *self.scope_prefix(), node.id, *parts]), full_text)

    def scope_prefix(self) -> list[str]:
        # Classes defined in an enclosing function are visible by bare name inside it.
        return list(self.scope)


def _local_names(function: ast.FunctionDef | ast.AsyncFunctionDef) -> set[str]:
    """The parameters of ``function`` and the names assigned in its body (not in nested functions or classes)."""
    arguments = function.args
    names = {a.arg for a in (*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs)}
    names.update(a.arg for a in (arguments.vararg, arguments.kwarg) if a is not None)
    pending: list[ast.AST] = list(function.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef | ast.Lambda):
            continue
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
        pending.extend(ast.iter_child_nodes(node))
    return names


def _background(call: ast.Call) -> tuple[str, ...]:
    """``("background",)`` for ``handle_event(..., background=True)``."""
    flag = _keyword(call, "background")
    return ("background",) if flag == "True" else ()


def _keyword(call: ast.Call, name: str) -> str | None:
    for keyword in call.keywords:
        if keyword.arg == name:
            return ast.unparse(keyword.value)
    return None


_PUBLIC_BUILTINS = {f"{_EVENTS_MODULE}.{name}" for name in _BUILTIN_EVENTS}


def _public_name(qualified: str) -> str:
    """``canvas_core.events._records.PostRecordUpdate`` -> ``canvas_core.events.PostRecordUpdate``."""
    module, _, short = qualified.rpartition(".")
    if short in _BUILTIN_EVENTS and (module == _EVENTS_MODULE or module.startswith(f"{_EVENTS_MODULE}._")):
        return f"{_EVENTS_MODULE}.{short}"
    return qualified


class _Resolver:
    """Turns references into event names and decides which classes are events (transitively)."""

    def __init__(self, classes: dict[str, tuple[list[_Ref], str, int]]) -> None:
        self.classes = classes
        self.by_short_name: dict[str, list[str]] = {}
        for name in classes:
            self.by_short_name.setdefault(name.rsplit(".", 1)[-1], []).append(name)
        self._events: set[str] | None = None

    def _class_name(self, qualified: str) -> str | None:
        qualified = _public_name(qualified)
        if qualified in self.classes or qualified in _PUBLIC_BUILTINS:
            return qualified
        module, _, short = qualified.rpartition(".")
        # Locally scoped lookups fall back outwards: demo.f.<locals>.E -> demo.E
        while "." in module:
            module = module.rpartition(".")[0]
            if f"{module}.{short}" in self.classes:
                return f"{module}.{short}"
        candidates = self.by_short_name.get(short, [])
        return candidates[0] if len(candidates) == 1 else None

    def name(self, ref: _Ref) -> str:
        """The display name of a referenced class: qualified when known, as written otherwise."""
        found = self._class_name(ref.qualified) if ref.qualified else None
        return (found or ref.text) + ref.subscript

    def event_classes(self) -> set[str]:
        if self._events is None:
            events = set(_PUBLIC_BUILTINS)
            changed = True
            while changed:
                changed = False
                for name, (bases, _, _) in self.classes.items():
                    if name in events:
                        continue
                    resolved = (self._class_name(base.qualified) for base in bases if base.qualified)
                    if any(base in events for base in resolved):
                        events.add(name)
                        changed = True
            self._events = events
        return self._events

    def is_event(self, name: str) -> bool:
        return name.split("[", 1)[0] in self.event_classes()


# -- rendering ------------------------------------------------------------------------------------

FORMATS = ("mermaid", "dot", "html", "json")


@dataclasses.dataclass(frozen=True)
class _Edge:
    source: str
    target: str
    label: str
    kind: str  # "emits", "handles" or "subclass"


_ID_PREFIX = {"emitter": "src", "event": "ev", "handler": "h"}


def _graph(event_map: EventMap) -> tuple[dict[str, tuple[str, str]], list[_Edge]]:
    """Nodes (id -> (kind, label)) and edges: emitters -> events -> handlers, subclasses -> bases."""
    nodes: dict[str, tuple[str, str]] = {}
    ids: dict[tuple[str, str], str] = {}

    def node(kind: str, key: str, label: str) -> str:
        if (kind, key) not in ids:
            ids[kind, key] = f"{_ID_PREFIX[kind]}{len(ids)}"
            nodes[ids[kind, key]] = (kind, label)
        return ids[kind, key]

    defined = {event.name: event for event in event_map.events}
    # Every event derives from Event: draw that only when someone handles Event itself.
    root = f"{_EVENTS_MODULE}.Event"
    show_root = any(site.event == root for site in event_map.handlers) or any(
        site.event == root for site in event_map.emits
    )
    for name in event_map.event_names():
        if name == root and not show_root:
            continue
        where = f"\n{defined[name].file}:{defined[name].line}" if name in defined else ""
        node("event", name, _short(name) + where)
    edges: list[_Edge] = []
    for event in event_map.events:
        for base in event.bases:
            if base == root and not show_root:
                continue
            edges.append(_Edge(node("event", event.name, ""), node("event", base, ""), "subclass of", "subclass"))
    for name in event_map.event_names():  # PostRecordUpdate[Setting] -> PostRecordUpdate
        generic = name.split("[", 1)[0]
        if generic != name and (generic != root or show_root):
            edges.append(_Edge(node("event", name, ""), node("event", generic, ""), "parametrized", "subclass"))
    for emit in event_map.emits:
        if emit.emitter == ORM_EMITTER:
            source = node("emitter", f"{ORM_EMITTER}:{emit.origin}", _describe_orm(emit.origin, "\n"))
            label = _RECORD_WRITES.get(_short(emit.event).split("[", 1)[0].rpartition(".")[2], "")
        else:
            source = node("emitter", emit.emitter, f"{_short(emit.emitter)}\n{emit.file}")
            label = f"line {emit.line}" + (f", origin={emit.origin}" if emit.origin else "")
        edges.append(_Edge(source, node("event", emit.event, ""), label, "emits"))
    failed = f"{_EVENTS_MODULE}.HandlerFailed"
    if any(site.event == failed for site in event_map.handlers):
        source = node("emitter", "<any failing handler>", "canvas-core, when\nany handler raises")
        edges.append(_Edge(source, node("event", failed, ""), "origin=the failed event's class", "emits"))
    for handler in event_map.handlers:
        runs = f"\n[{', '.join(handler.runs)}]" if handler.runs else ""
        target = node("handler", handler.handler, f"{_short(handler.handler)}\n{handler.file}:{handler.line}{runs}")
        label = f"origin={handler.origin}" if handler.origin else ""
        edges.append(_Edge(node("event", handler.event, ""), target, label, "handles"))
    return nodes, edges


# What writes emit each record event, for the ORM's edges.
_RECORD_WRITES = {
    "PreRecordCreate": "before insert",
    "PostRecordCreate": "after insert",
    "PreRecordUpdate": "before update",
    "PostRecordUpdate": "after update",
    "PreRecordDelete": "before delete",
    "PostRecordDelete": "after delete",
    "RecordEvent": "every write",
}


def _describe_orm(origin: str | None, separator: str = " ") -> str:
    return f"{ORM_EMITTER}{separator}(writes of {origin or 'any model'})"


def _short(name: str) -> str:
    """``pkg.module.Class`` -> ``module.Class``: enough to tell apart, short enough to read."""
    head, bracket, tail = name.partition("[")
    parts = head.replace(".<locals>", "").split(".")
    return ".".join(parts[-2:]) + bracket + tail


def render(event_map: EventMap, output_format: str) -> str:
    """The map as ``mermaid``, ``dot``, ``html`` or ``json`` text."""
    if output_format == "mermaid":
        return _mermaid(event_map)
    if output_format == "dot":
        return _dot(event_map)
    if output_format == "html":
        return _html(event_map)
    if output_format == "json":
        return json.dumps(dataclasses.asdict(event_map), indent=2) + "\n"
    raise ValueError(f"unknown format {output_format!r}; choose one of {', '.join(FORMATS)}")


def _mermaid(event_map: EventMap) -> str:
    nodes, edges = _graph(event_map)
    lines = ["flowchart LR"]
    shapes = {"emitter": ('["', '"]'), "event": ('(["', '"])'), "handler": ('["', '"]')}
    for node_id, (kind, label) in nodes.items():
        opening, closing = shapes[kind]
        text = _mermaid_text(label).replace("\n", "<br/>")
        lines.append(f"    {node_id}{opening}{text}{closing}:::{kind}")
    arrows = {"emits": "-->", "handles": "-->", "subclass": "-.->"}
    for edge in edges:
        label = f'|"{_mermaid_text(edge.label)}"|' if edge.label else ""
        lines.append(f"    {edge.source} {arrows[edge.kind]}{label} {edge.target}")
    lines += [
        "    classDef emitter fill:#eef4ff,stroke:#4a6fb5",
        "    classDef event fill:#fff6dd,stroke:#b58a1b",
        "    classDef handler fill:#eaf7ea,stroke:#3c8c3c",
    ]
    return "\n".join(lines) + "\n"


def _mermaid_text(text: str) -> str:
    # Mermaid's own entity codes: quotes would end the label, brackets open HTML.
    for char, code in (("#", "#35;"), ("&", "#amp;"), ('"', "#quot;"), ("<", "#lt;"), (">", "#gt;")):
        text = text.replace(char, code)
    return text


def _dot_string(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def _dot(event_map: EventMap) -> str:
    nodes, edges = _graph(event_map)
    styles = {
        "emitter": 'shape=box, style="rounded,filled", fillcolor="#eef4ff", color="#4a6fb5"',
        "event": 'shape=box, style="filled,bold", fillcolor="#fff6dd", color="#b58a1b"',
        "handler": 'shape=box, style="rounded,filled", fillcolor="#eaf7ea", color="#3c8c3c"',
    }
    lines = [
        "digraph events {",
        "    rankdir=LR;",
        '    graph [fontname="Helvetica", nodesep=0.3, ranksep=0.8];',
        '    node [fontname="Helvetica", fontsize=11];',
        '    edge [fontname="Helvetica", fontsize=9, color="#555555"];',
    ]
    for node_id, (kind, label) in nodes.items():
        lines.append(f"    {node_id} [label={_dot_string(label)}, {styles[kind]}];")
    for edge in edges:
        attributes = [f"label={_dot_string(edge.label)}"] if edge.label else []
        if edge.kind == "subclass":
            attributes.append('style=dashed, arrowhead=empty, color="#999999"')
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"    {edge.source} -> {edge.target}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def _html(event_map: EventMap) -> str:
    renderer = resources.files("canvas_core.cli").joinpath("_vendor", "viz-global.js").read_text("utf-8")
    dot = _dot(event_map)
    rows = []
    for name in event_map.event_names():
        emitted_by = [
            _describe_orm(e.origin) if e.emitter == ORM_EMITTER else f"{e.emitter} ({e.file}:{e.line})"
            for e in event_map.emits
            if e.event == name
        ]
        handled_by = [
            f"{h.handler} ({h.file}:{h.line})" + (f" [{', '.join(h.runs)}]" if h.runs else "")
            for h in event_map.handlers
            if h.event == name
        ]
        if name == f"{_EVENTS_MODULE}.Event" and not (emitted_by or handled_by):
            continue  # every event's base; listed only when used directly
        rows.append(
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td></tr>".format(
                html.escape(name),
                "<br>".join(map(html.escape, emitted_by)) or "&mdash;",
                "<br>".join(map(html.escape, handled_by)) or "&mdash;",
            )
        )
    skipped = "".join(f"<li>{html.escape(item)}</li>" for item in event_map.skipped)
    return _HTML_TEMPLATE.format(
        rows="\n".join(rows),
        skipped=f"<h2>Skipped files</h2><ul>{skipped}</ul>" if skipped else "",
        dot_source=html.escape(dot),
        dot_json=json.dumps(dot).replace("</", "<\\/"),
        renderer=renderer,
    )


_HTML_TEMPLATE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Event map</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 2rem; color: #222; }}
#graph svg {{ max-width: 100%; height: auto; }}
table {{ border-collapse: collapse; margin-top: 1rem; }}
td, th {{ border: 1px solid #ccc; padding: .3rem .6rem; text-align: left; vertical-align: top; }}
.legend span {{ padding: .1rem .5rem; margin-right: .5rem; border: 1px solid; border-radius: 4px; }}
</style>
</head>
<body>
<h1>Event map</h1>
<p class="legend"><span style="background:#eef4ff;border-color:#4a6fb5">emitter</span>
<span style="background:#fff6dd;border-color:#b58a1b">event</span>
<span style="background:#eaf7ea;border-color:#3c8c3c">handler</span>
dashed: subclass of (handlers of a base class also receive its subclasses)</p>
<div id="graph"><noscript>The drawing needs JavaScript; the table below lists the same map.</noscript></div>
<h2>Events</h2>
<table>
<tr><th>Event</th><th>Emitted by</th><th>Handled by</th></tr>
{rows}
</table>
{skipped}
<details><summary>Graphviz source</summary><pre>{dot_source}</pre></details>
<p><small>Generated by <code>canvas-events graph</code>. Drawn in the browser by Viz.js (Graphviz compiled to
WebAssembly), embedded in this page; no network access needed.</small></p>
<script>
{renderer}
</script>
<script>
Viz.instance().then(function (viz) {{
  document.getElementById("graph").appendChild(viz.renderSVGElement({dot_json}));
}}).catch(function (error) {{
  document.getElementById("graph").textContent = "Could not draw the map: " + error;
}});
</script>
</body>
</html>
"""
