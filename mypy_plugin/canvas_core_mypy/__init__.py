"""canvas-core's mypy plugin: every ``emit_event(E, **fields)`` checked against ``E``'s fields.

Enable it in the mypy configuration, next to any other plugin, in any order::

    [tool.mypy]
    plugins = ["canvas_core_mypy"]

It checks each call's keywords against the event's annotated fields (names,
types, required fields), including events with their own ``__init__``, and
reports event fields that ``emit_event`` could never accept. It depends on mypy
only and is never imported by canvas-core at run time.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Final

from mypy.nodes import MypyFile, TypeInfo, Var
from mypy.options import Options
from mypy.plugin import ClassDefContext, DynamicClassDefContext, FunctionSigContext, Plugin, ReportConfigContext
from mypy.types import FunctionLike, get_proper_type

from ._emit import EMIT_FUNCTIONS, emit_event_signature, emit_event_signature_if_emit, is_emit_function
from ._fields import EVENT_FULLNAME, record_event_class
from ._handle import HANDLE_EVENT_FULLNAME, handle_event_signature
from ._setting_model import GET_SETTING_MODEL_FULLNAME, alias_setting_model, read_setting_model

__all__ = ["CanvasCorePlugin", "__version__", "plugin"]

# Part of mypy's cache key (see report_config_data): bump it whenever the
# plugin's logic changes, so that no result computed by an older one is reused.
__version__: Final = "1.4.0"


class CanvasCorePlugin(Plugin):
    """Checks ``emit_event`` calls; records what event class bodies declare."""

    def __init__(self, options: Options) -> None:
        super().__init__(options)
        self.setting_model = read_setting_model(options.config_file)

    def get_function_signature_hook(self, fullname: str) -> Callable[[FunctionSigContext], FunctionLike] | None:
        # Claimed by the callee's identity, not its spelling: ``emit = emit_event``
        # (or a walrus) binds a variable whose type is emit_event's signature.
        if fullname == HANDLE_EVENT_FULLNAME:
            return functools.partial(handle_event_signature, lookup=self.lookup_fully_qualified)
        if fullname in EMIT_FUNCTIONS:
            return functools.partial(emit_event_signature, lookup=self.lookup_fully_qualified)
        if "." not in fullname:
            # A local variable, known by its short name only: its type decides,
            # in the hook. No other plugin keys a hook on a local name.
            return functools.partial(emit_event_signature_if_emit, lookup=self.lookup_fully_qualified)
        symbol = self.lookup_fully_qualified(fullname)
        if symbol is not None and isinstance(symbol.node, Var) and is_emit_function(get_proper_type(symbol.node.type)):
            return functools.partial(emit_event_signature, lookup=self.lookup_fully_qualified)
        return None

    def get_customize_class_mro_hook(self, fullname: str) -> Callable[[ClassDefContext], None] | None:
        # mypy gives each class hook to the first plugin that claims it. The
        # base-class hook of every pydantic model belongs to pydantic.mypy; this
        # one is unclaimed by it and by django-stubs for events, so the plugin
        # order does not matter. Claimed for Event subclasses only.
        symbol = self.lookup_fully_qualified(fullname)
        info = symbol.node if symbol is not None else None
        if isinstance(info, TypeInfo) and info.has_base(EVENT_FULLNAME) and info.fullname != EVENT_FULLNAME:
            return record_event_class
        return None

    def get_additional_deps(self, file: MypyFile) -> list[tuple[int, str, int]]:
        # get_setting_model() is aliased to the configured model class: make
        # sure its module is part of the build wherever the function is.
        if file.fullname == GET_SETTING_MODEL_FULLNAME.rpartition(".")[0]:
            return [(10, self.setting_model.rpartition(".")[0], -1)]
        return []

    def get_dynamic_class_hook(self, fullname: str) -> Callable[[DynamicClassDefContext], None] | None:
        if fullname == GET_SETTING_MODEL_FULLNAME:
            return functools.partial(alias_setting_model, setting_model=self.setting_model)
        return None

    def report_config_data(self, ctx: ReportConfigContext) -> dict[str, Any]:
        # Cached results are valid for this plugin version and configuration only.
        return {"version": __version__, "setting_model": self.setting_model}


def plugin(version: str) -> type[Plugin]:
    """Entry point mypy calls with its own version."""
    return CanvasCorePlugin
