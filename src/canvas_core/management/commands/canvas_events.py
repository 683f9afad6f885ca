"""``manage.py canvas_events``: list every event type with its handlers in this Django project."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from canvas_core.cli import _handlers


class Command(BaseCommand):
    help = (
        "List every event type with its handlers (qualified name, origin, source file:line), "
        "as registered once Django is set up and the given modules are imported."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("modules", nargs="*", metavar="MODULE", help="extra modules to import first")
        parser.add_argument("--json", action="store_true", help="print a JSON list instead of text")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            _handlers.import_modules(options["modules"])
        except _handlers.ImportFailed as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(_handlers.render_rows(_handlers.handler_rows(), as_json=options["json"]), ending="")
