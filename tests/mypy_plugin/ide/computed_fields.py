# mypy: ignore-errors
# Events that compute fields themselves, by the recipes the docs prefer:
# the generated signature stays, so basedpyright checks calls (and completes
# the fields); the mistakes below are deliberate.
from collections import defaultdict
from typing import Any

from pydantic import Field

from canvas_core.events import Event, emit_event


def no_errors() -> defaultdict[str, list[str]]:
    return defaultdict(list)


class SignupFormSubmitted(Event):
    email: str
    password: str
    error_messages: defaultdict[str, list[str]] = Field(default_factory=no_errors, init=False)


class InvoiceIssued(Event):
    net_cents: int
    vat_rate: float
    gross_cents: int = Field(default=0, init=False)

    def model_post_init(self, context: Any, /) -> None:
        self.gross_cents = round(self.net_cents * (1 + self.vat_rate))


emit_event(SignupFormSubmitted, email="ada@example.com", password="correct horse")
emit_event(SignupFormSubmitted, email=1, pasword="x")
emit_event(SignupFormSubmitted, email="a", password="b", error_messages=no_errors())
emit_event(InvoiceIssued, net_cents=1000, vat_rate=0.2)
emit_event(InvoiceIssued, net_cents=1000, vat_rate=0.2, gross_cents=1200)
