from canvas_core import events


def test_readme_example() -> None:
    class BeforeMessageSend(events.Event):
        message: str

    @events.handle_event(BeforeMessageSend)
    def add_watermark(event: BeforeMessageSend) -> None:
        event.message = f"{event.message} (sent from Canvas)"

    sent = events.emit_event(BeforeMessageSend, message="Hello, world!")
    assert sent.message == "Hello, world! (sent from Canvas)"
