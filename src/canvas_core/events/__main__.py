"""``python -m canvas_core.events``: the ``canvas-events`` command."""

from canvas_core.cli import main

raise SystemExit(main())
