"""Demo section: Setting changes become record lifecycle events and structured logs.

Configures Django itself (SQLite in a temporary folder), so it must run in a
process where nothing else configured Django.
"""

from __future__ import annotations

import logging
import tempfile
from pathlib import Path
from typing import Any

from ._output import section
from .core import show_logs


def _setup_django(folder: Path) -> None:
    from django.conf import settings
    from django.core.management import call_command

    import django

    if not settings.configured:
        settings.configure(
            INSTALLED_APPS=["django.contrib.contenttypes", "canvas_core"],
            DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(folder / "demo.sqlite3")}},
            DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
            USE_TZ=True,
        )
        django.setup()
    call_command("migrate", verbosity=0)


def run() -> None:
    section("Django: Setting changes become lifecycle events and structured logs")
    with tempfile.TemporaryDirectory(prefix="canvas-demo-") as folder:
        _setup_django(Path(folder))
        _show_setting_events()


def _show_setting_events() -> None:
    from django.db import transaction

    from canvas_core import config, events
    from canvas_core import logging as canvas_logging
    from canvas_core.django import after_commit

    show_logs()
    logging.getLogger("demo.settings").setLevel(logging.INFO)
    logger = canvas_logging.get_logger("demo.settings")
    Setting = config.get_setting_model()
    print(f"active Setting model: {Setting._meta.label}; SQLite in a temporary folder")

    def show(event: events.RecordEvent[Any]) -> None:
        name = type(event).__name__
        diff = getattr(event, "diff", None)
        print(f"  event {name}" + (f" diff={_redacted(event.record, diff)}" if diff is not None else ""))

    def log_change(event: events.PostRecordUpdate[Any]) -> None:
        setting, diff = event.record, event.diff
        if "value" not in diff:
            return
        old_value, new_value = diff["value"]
        if setting.sensitive:
            old_value, new_value = "[REDACTED]", "[REDACTED]"
        logger.info("A setting was changed.", setting=setting.key, old_value=old_value, new_value=new_value)

    def email_admins(event: events.PostRecordUpdate[Any]) -> None:
        print(f"  after commit: would email the admins about {event.record.key!r}")

    events.handle_event(events.RecordEvent, origin=Setting)(show)
    events.handle_event(events.PostRecordUpdate, origin=Setting)(log_change)
    notify_admins = events.handle_event(events.PostRecordUpdate, origin=Setting)(after_commit(email_admins))
    try:
        print("create site_name, then change it:")
        site_name = Setting.objects.create(key="site_name", value="Canvas")
        site_name.value = "Canvas LMS"
        site_name.save()

        print("a sensitive setting: its values never reach the log")
        api_key = Setting.objects.create(key="api_key", value="s3cr3t", sensitive=True)
        api_key.value = "n3w-s3cr3t"
        api_key.save()

        print("a JSON value changed in place is a change:")
        palette = Setting.objects.create(key="palette", value={"colors": ["blue"]})
        palette.value["colors"].append("red")
        palette.save()

        print("inside a transaction that rolls back, the after-commit handler never runs:")
        try:
            with transaction.atomic():
                site_name.value = "Rolled back"
                site_name.save()
                raise RuntimeError("abort")
        except RuntimeError:
            print("  (rolled back: the log line came from a synchronous handler, no email was sent)")

        print("delete:")
        palette.delete()
    finally:
        for handler in (show, log_change, notify_admins):
            events.remove_handler(handler)


def _redacted(record: Any, diff: dict[str, tuple[Any, Any]]) -> dict[str, tuple[Any, Any]]:
    if getattr(record, "sensitive", False) and "value" in diff:
        return {**diff, "value": ("[REDACTED]", "[REDACTED]")}
    return diff
