"""Demo section: who handles what, listed live and drawn from the source (canvas-events)."""

from __future__ import annotations

import textwrap
from pathlib import Path

from canvas_core.cli import _graph, _handlers

from ._output import section


def run() -> None:
    section("Who handles what: canvas-events")
    print("canvas-events handlers lists the handlers registered so far in this process:")
    print(textwrap.indent(_handlers.render_rows(_handlers.handler_rows()).rstrip(), "  "))

    examples = Path(__file__).resolve().parent.parent
    event_map = _graph.scan([examples])
    print(
        f"\ncanvas-events graph reads the source without importing it: in examples/ it finds "
        f"{len(event_map.events)} event classes, {len(event_map.emits)} emit_event calls and "
        f"{len(event_map.handlers)} handlers. One emit site per event:"
    )
    first_sites = {site.event: site for site in reversed(event_map.emits)}
    for site in sorted(first_sites.values(), key=lambda site: (site.file, site.line)):
        if site.emitter == _graph.ORM_EMITTER:  # record events: no emit_event call, the ORM emits them
            print(f"  the Django ORM emits {site.event} when {site.origin or 'any model'} rows are written")
            continue
        origin = f" (origin={site.origin})" if site.origin else ""
        print(f"  {site.emitter} emits {site.event}{origin} at {site.file}:{site.line}")
    print(
        "Draw the whole map with `canvas-events graph examples -f html -o events.html` "
        "(an offline page), or as Mermaid (-f mermaid) or Graphviz (-f dot)."
    )
