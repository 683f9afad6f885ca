# The example of issue 4, exactly as written. mypy reads `Setting` as a variable
# (a call's result is never a type alias), so this module is excluded from type
# checking in pyproject.toml; typed code imports the model class instead.
from canvas_core import config, events, logging

logger = logging.get_logger(__name__)
Setting = config.get_setting_model()


@events.handle_event(events.PostRecordUpdate, origin=Setting)
def handle_setting_change(event: events.PostRecordUpdate[Setting]) -> None:
    setting, diff = event.record, event.diff
    if "value" not in diff:
        return
    old_value, new_value = diff["value"]
    if setting.sensitive:
        old_value, new_value = "[REDACTED]", "[REDACTED]"
    logger.info("A setting was changed.", setting=setting.key, old_value=old_value, new_value=new_value)
