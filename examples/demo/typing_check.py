"""Demo section: mypy, with the bundled plugin, catches a wrong emit_event call before it runs."""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path

from mypy import api as mypy_api

from ._output import section

EXAMPLE = textwrap.dedent(
    """\
    from collections import defaultdict
    from typing import Any

    from canvas_core.events import Event, emit_event


    class SignupFormSubmitted(Event):
        email: str
        password: str
        error_messages: defaultdict[str, list[str]]

        def __init__(self, **attrs: Any) -> None:
            super().__init__(**attrs)
            self.error_messages = defaultdict(list)


    emit_event(SignupFormSubmitted, email="ada@example.com", password="correct horse")
    emit_event(SignupFormSubmitted, email=42, pasword="hunter2")
    """
)


def run() -> None:
    section("Type checking: mypy with the bundled plugin catches a wrong emit_event call")
    with tempfile.TemporaryDirectory() as folder:
        example = Path(folder) / "signup.py"
        example.write_text(EXAMPLE)
        config = Path(folder) / "mypy.ini"
        config.write_text("[mypy]\nstrict = True\nplugins = canvas_core_mypy\n")
        report, errors, status = mypy_api.run(
            ["--config-file", str(config), "--cache-dir", str(Path(folder) / "cache"), str(example)]
        )
    print("signup.py, line 18 (SignupFormSubmitted has its own __init__, so only the plugin sees this):")
    print("  emit_event(SignupFormSubmitted, email=42, pasword='hunter2')")
    print(f"mypy (exit status {status}) says:")
    for line in (report + errors).splitlines():
        print(f"  {line.replace(str(example), 'signup.py')}")
