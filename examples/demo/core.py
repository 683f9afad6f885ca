"""Demo sections for the core bus: watermark, signup validation, origins, failures."""

from __future__ import annotations

import logging
import sys
from collections import defaultdict
from typing import Any

from canvas_core import events

from ._output import section


class BeforeMessageSend(events.Event):
    """A message is about to be sent; handlers may rewrite it."""

    message: str


class SignupFormSubmitted(events.Event):
    """A signup form was submitted; handlers add validation errors."""

    email: str
    password: str
    error_messages: defaultdict[str, list[str]]

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.error_messages = defaultdict(list)


class InvoicePaid(events.Event):
    amount_cents: int


class Billing:
    """An origin: emissions from billing code say so."""


class Shop:
    """Another origin."""


# The handlers are module-level functions, registered by each part of the demo: a handler's
# name (in logs, reports and listings) is its module and qualified name.


def add_watermark(event: BeforeMessageSend) -> None:
    event.message = f"{event.message} (sent from Canvas)"


def check_email(event: SignupFormSubmitted) -> None:
    if "@" not in event.email:
        event.error_messages["email"].append("Enter a valid email address.")


def check_password(event: SignupFormSubmitted) -> None:
    if len(event.password) < 12:
        event.error_messages["password"].append("Use at least 12 characters.")


def count_all(event: InvoicePaid) -> None:
    print(f"  count_all saw {event.amount_cents} cents")


def billing_only(event: InvoicePaid) -> None:
    print(f"  billing_only saw {event.amount_cents} cents")


def check_spam(event: BeforeMessageSend) -> None:
    raise RuntimeError("the spam filter is down")


def report(event: events.HandlerFailed) -> None:
    print(f"  reported: {event.handler.__name__} raised {event.exception!r}")


def watermark_demo() -> None:
    section("Handlers change the event; the emitter reads the result")
    events.handle_event(BeforeMessageSend)(add_watermark)

    sent = events.emit_event(BeforeMessageSend, message="Hello, world!")
    print(f"emit_event(BeforeMessageSend, message='Hello, world!') -> {sent.message!r}")

    try:
        events.emit_event(BeforeMessageSend, message="hi", recipient="bob")  # type: ignore[call-arg]
    except TypeError as exc:
        print(f"An unknown field is a TypeError before any handler runs:\n  {exc}".replace("\n", "\n  "))


def signup_demo() -> None:
    section("Validation through events: handlers add errors, the form shows them")
    events.handle_event(SignupFormSubmitted)(check_email)
    events.handle_event(SignupFormSubmitted)(check_password)

    for email, password in [("ada@example.com", "correct horse battery"), ("ada", "short")]:
        submitted = events.emit_event(SignupFormSubmitted, email=email, password=password)
        errors = dict(submitted.error_messages) or "none"
        print(f"signup email={email!r}: errors {errors}")


def origin_demo() -> None:
    section("Origins: a handler can listen to one place only")
    events.handle_event(InvoicePaid)(count_all)
    events.handle_event(InvoicePaid, origin=Billing)(billing_only)

    print("emit from Billing:")
    events.emit_event(InvoicePaid, origin=Billing, amount_cents=1200)
    print("emit from Shop:")
    events.emit_event(InvoicePaid, origin=Shop, amount_cents=300)


class IndentedFormatter(logging.Formatter):
    """The demo's log lines: indented, tracebacks included, so that a logged failure does not look like a crash."""

    def format(self, record: logging.LogRecord) -> str:
        return "\n      ".join(super().format(record).splitlines())


def show_logs(stream: Any = None) -> None:
    """Print log records (INFO and up) indented in the demo's output."""
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(IndentedFormatter("  log %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(handlers=[handler], force=True)


def failure_demo() -> None:
    section("A failing handler is isolated, logged and reported; the others still run")
    show_logs()
    events.handle_event(BeforeMessageSend, origin=Shop)(check_spam)
    events.handle_event(events.HandlerFailed)(report)

    print("check_spam raises; the bus logs it with its traceback (indented below) and goes on:")
    sent = events.emit_event(BeforeMessageSend, origin=Shop, message="Order shipped")
    print(f"the emitter still got its event: {sent.message!r}")


def run() -> None:
    watermark_demo()
    signup_demo()
    origin_demo()
    failure_demo()
