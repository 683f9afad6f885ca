"""``manage.py canvas_schema --write PATH | --check PATH``: the schema gate of events that cross processes."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from canvas_core.cli import _schema


class Command(BaseCommand):
    help = (
        "Write (--write) or check (--check) a snapshot of the JSON Schema of every event a background handler "
        "receives; --check fails on a change that would break jobs written by the other version."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        _schema.add_schema_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        if _schema.schema_command(write=options["write"], check=options["check"], out=self.stdout):
            raise CommandError("the schemas are not compatible with the snapshot (see above)")
