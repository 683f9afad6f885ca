"""Record lifecycle events from the Django ORM.

Add ``"canvas_core"`` to ``INSTALLED_APPS``; every model then emits the six
record events (:class:`~canvas_core.events.PreRecordCreate` ...
:class:`~canvas_core.events.PostRecordDelete`) around its writes, as soon as a
handler for them is registered. See :doc:`/guide/records`, and
:doc:`/guide/django-tutorial` for a whole project.

This package imports Django; :mod:`canvas_core` and :mod:`canvas_core.events`
never do.
"""

from ._after_commit import after_commit
from ._wiring import wired_events

__all__ = ["after_commit", "wired_events"]
