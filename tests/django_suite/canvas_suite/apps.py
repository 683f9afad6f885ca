"""Catch-all handlers of the six record events, reading them as a user's handler would, and counting them.

What canvas_core logs at ERROR is kept too: a handler failure, or an event the
integration could not build (which it logs instead of raising), is a finding
even when every test passes.
"""

from __future__ import annotations

import atexit
import json
import logging
import multiprocessing.util
import os
from collections import Counter
from pathlib import Path
from typing import Any

from django.apps import AppConfig

from canvas_core import events

received: Counter[str] = Counter()
errors: list[str] = []


class _KeepErrors(logging.Handler):
    def emit(self, record: logging.LogRecord) -> None:
        if len(errors) < 100:
            errors.append(f"{record.name}: {record.getMessage()}")


_keep_errors = _KeepErrors(logging.ERROR)  # one instance: addHandler() then ignores a second ready()


def _observe(event: events.RecordEvent[Any]) -> None:
    record = event.record
    label = type(record)._meta.label
    pk = record.pk
    diff = getattr(event, "diff", None)
    if diff is not None:
        for name, (old, new) in diff.items():
            repr((name, old, new))
    repr((label, pk))
    kind = type(event).__pydantic_generic_metadata__["origin"] or type(event)  # PostRecordUpdate[Model] -> ...
    received[kind.__name__] += 1


def _write_counts() -> None:
    # One file per process (the parallel runner's workers count their own); rewriting it is harmless.
    folder = os.environ.get("CANVAS_SUITE_COUNTS")
    if folder:
        Path(folder, f"{os.getpid()}.json").write_text(json.dumps({"received": received, "errors": errors}))


def _after_fork(_: object) -> None:
    received.clear()  # the parent's counts are the parent's
    errors.clear()
    multiprocessing.util.Finalize(None, _write_counts, exitpriority=10)


class CanvasSuiteConfig(AppConfig):
    name = "canvas_suite"
    label = "canvas_suite"

    def ready(self) -> None:
        for kind in (
            events.PreRecordCreate,
            events.PostRecordCreate,
            events.PreRecordUpdate,
            events.PostRecordUpdate,
            events.PreRecordDelete,
            events.PostRecordDelete,
        ):
            events.handle_event(kind)(_observe)
        logging.getLogger("canvas_core").addHandler(_keep_errors)
        atexit.register(_write_counts)
        multiprocessing.util.Finalize(None, _write_counts, exitpriority=10)  # spawned workers
        multiprocessing.util.register_after_fork(received, _after_fork)  # forked workers
