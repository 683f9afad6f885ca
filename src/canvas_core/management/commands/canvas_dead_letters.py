"""``manage.py canvas_dead_letters [list|replay|discard] [ID ...] [--all]``: background jobs no worker completed."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from canvas_core.cli import _background


class Command(BaseCommand):
    help = (
        "List dead letters; replay them (re-validated against today's event classes, then enqueued again) or "
        "discard them."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        _background.add_dead_letter_arguments(parser)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            status = _background.dead_letters_command(
                options["action"], options["ids"], every=options["all"], as_json=options["json"], out=self.stdout
            )
        except _background.CommandFailed as exc:
            raise CommandError(str(exc)) from exc
        if status:
            raise CommandError("some dead letters could not be replayed (see above)")
