# mypy: ignore-errors
# The settings page's spelling for editors: a TYPE_CHECKING import of the
# model CANVAS_SETTING_MODEL names, get_setting_model() at run time. Clean in
# basedpyright, which knows the swapped model's own fields.
from typing import TYPE_CHECKING, reveal_type

from canvas_core import config, events

if TYPE_CHECKING:
    from tenant_app.models import TenantSetting as Setting
else:
    Setting = config.get_setting_model()


@events.handle_event(events.PostRecordUpdate, origin=Setting)
def handle_setting_change(event: events.PostRecordUpdate[Setting]) -> None:
    reveal_type(event.record)
    reveal_type(event.record.key)
    reveal_type(event.record.sensitive)
    reveal_type(event.record.tenant)


def emit(setting: Setting) -> None:
    events.emit_event(events.PostRecordUpdate[Setting], origin=Setting, record=setting, diff={})
    events.emit_event(events.PostRecordUpdate[Setting], origin=Setting, record=1, diff={})
