# mypy: ignore-errors
# What an editor shows for emit_event calls without any plugin: basedpyright
# reads the ParamSpec signature of emit_event. Checked by test_ide.py against
# expected.txt; the mistakes below are deliberate.
from collections import defaultdict
from typing import Any, reveal_type

from canvas_core.events import Event, PostRecordUpdate, emit_event


class BeforeMessageSend(Event):
    message: str


class SignupFormSubmitted(Event):
    email: str
    error_messages: defaultdict[str, list[str]]

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.error_messages = defaultdict(list)


class Setting:
    pass


unknown = emit_event(BeforeMessageSend, message="hi", bogus=1)
wrong_type = emit_event(BeforeMessageSend, message=1)
missing = emit_event(BeforeMessageSend)
reveal_type(emit_event(BeforeMessageSend, message="hi"))
reveal_type(emit_event(PostRecordUpdate[Setting], record=Setting(), diff={}))
wrong_record = emit_event(PostRecordUpdate[Setting], record=1, diff={})
# The editor's limit: a custom __init__(**attrs) accepts anything. The mypy
# plugin reports this call; pyright cannot.
unchecked = emit_event(SignupFormSubmitted, email=1, pasword="x")
