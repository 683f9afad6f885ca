"""Background handlers: run a handler elsewhere, later, with a copy of the event.

Register one with ``handle_event(..., background=True)``::

    @events.handle_event(OrderPlaced, background=True)
    def send_receipt(event: OrderPlaced) -> None: ...

The emitter does not wait for it: once the emission's other handlers have run
(and, for record events, once the transaction commits), the event is
serialized and handed to the current :class:`Engine`. The default,
:class:`InProcessEngine`, runs the handler in-process right then; name a
Celery app in the Django setting ``CANVAS_BACKGROUND_ENGINE`` (or call
:func:`configure` outside Django) to run it on Celery workers. Changes a
background handler makes to its copy of the event never reach the emitter.
"""

from . import _handler  # installs the registry's hook for background=True registrations
from ._engine import Engine, InProcessEngine, current_engine, run_job, use_engine
from ._registrations import rebuild as rebuild_job
from ._serialization import EventNotSerializable, Job, JobRejected, RecordNotFound
from ._settings import EngineNotConfigured, configure

del _handler

__all__ = [
    "Engine",
    "EngineNotConfigured",
    "EventNotSerializable",
    "InProcessEngine",
    "Job",
    "JobRejected",
    "RecordNotFound",
    "configure",
    "current_engine",
    "rebuild_job",
    "run_job",
    "use_engine",
]
