# mypy: ignore-errors
# Why canvas-core reserves the field name "fields" (the class below raises
# TypeError when defined): pyright binds the keyword to emit_event's own
# **fields parameter. The renamed field is clean.
from canvas_core.events import Event, emit_event


class Renamed(Event):
    field_names: list[str]


class Colliding(Event):
    fields: list[str]


emit_event(Renamed, field_names=["a"])
emit_event(Colliding, fields=["a"])
