"""``manage.py canvas_relay``: publish outbox jobs a crash or a broker outage left behind."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from canvas_core.cli import _background


class Command(BaseCommand):
    help = (
        "Publish the background jobs that were committed but never reached the broker. Run it continuously in "
        "production next to the workers (several may run at once), or with --once."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        _background.add_relay_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            _background.relay_command(
                once=options["once"], older_than=options["older_than"], interval=options["interval"], out=self.stdout
            )
        except _background.CommandFailed as exc:
            raise CommandError(str(exc)) from exc
