"""An error tracker that hooks the logging module (Sentry's SDK) still gets every record once configure() runs.

Sentry's logging integration patches the logging module for the whole
process: the check runs in a child process of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("sentry_sdk")

SCRIPT = textwrap.dedent(
    """
    import io, json, logging
    import sentry_sdk
    import sentry_sdk.transport
    from sentry_sdk.integrations.logging import LoggingIntegration
    from canvas_core import logging as canvas_logging

    sent = []

    class KeptTransport(sentry_sdk.transport.Transport):  # keeps what the SDK would send; no network
        def capture_envelope(self, envelope):
            event = envelope.get_event()
            if event is not None:
                sent.append(event)

    sentry_sdk.init(
        dsn="https://public@sentry.invalid/1",
        default_integrations=False,
        integrations=[LoggingIntegration(level=logging.INFO, event_level=logging.ERROR)],
        transport=KeptTransport,
        send_client_reports=False,
    )
    stream = io.StringIO()
    canvas_logging.configure("json", stream=stream)
    logger = canvas_logging.get_logger("shop.sync")
    logger.info("Sync started.", batch=7)
    try:
        raise ValueError("the sync broke")
    except ValueError:
        logger.exception("Could not sync.", attempt=2)
    sentry_sdk.get_client().close()
    print(json.dumps({"sent": sent, "lines": stream.getvalue().splitlines()}, default=str))
    """
)


def test_sentry_gets_the_error_with_its_traceback_and_the_earlier_lines_as_breadcrumbs() -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, check=True, timeout=120)
    report = json.loads(result.stdout)
    (event,) = report["sent"]
    # Grouped by the template, whatever the values; shown with them.
    assert event["logentry"]["message"] == "Could not sync. attempt=%s"
    assert event["logentry"]["params"] == ["2"]
    assert event["logentry"]["formatted"] == "Could not sync. attempt=2"
    assert event["logger"] == "shop.sync"
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("ValueError", "the sync broke")
    breadcrumbs = [crumb["message"] for crumb in event["breadcrumbs"]["values"]]
    assert breadcrumbs == ["Sync started. batch=7"]
    # ...and the JSON lines were written all the same.
    assert [json.loads(line)["event"] for line in report["lines"]] == ["Sync started.", "Could not sync."]
