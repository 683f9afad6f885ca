"""What an editor offers at ``emit_event(E, ``: basedpyright's language server, driven over stdio.

The server is started as an editor starts it, a file is opened, and
completion is asked for right after the event type. The offered keywords
must be the event's fields: ``message=`` for a plain event, ``record=`` and
``diff=`` for a generic record event, and the fields (not ``attrs=``) for an
event that computes a field itself by the recipe the docs recommend.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from queue import Empty, Queue
from typing import Any

import pytest

SOURCE = """\
from typing import Any

from pydantic import Field

from canvas_core import events


class BeforeMessageSend(events.Event):
    message: str


class InvoiceIssued(events.Event):
    net_cents: int
    vat_rate: float
    gross_cents: int = Field(default=0, init=False)

    def model_post_init(self, context: Any, /) -> None:
        self.gross_cents = round(self.net_cents * (1 + self.vat_rate))


class Setting:
    key: str = ""


events.emit_event(BeforeMessageSend, )
events.emit_event(events.PostRecordUpdate[Setting], )
events.emit_event(InvoiceIssued, )
"""

# Generous: the first completion waits for the server to analyse the project, on a shared machine.
TIMEOUT = 120.0


class LanguageServer:
    """A JSON-RPC connection to a language server over its stdin and stdout."""

    def __init__(self, command: list[str], cwd: Path) -> None:
        self.process = subprocess.Popen(
            command, cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL
        )
        self.responses: Queue[dict[str, Any]] = Queue()
        self.next_id = 0
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.process.stdin is not None
        self.process.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.process.stdin.flush()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = 0
            while (line := stream.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode().partition(":")
                if name.lower() == "content-length":
                    length = int(value)
            if not length:
                return  # the server exited
            message = json.loads(stream.read(length))
            if "method" in message and "id" in message:  # a request from the server: settings, registrations
                asked = message["method"] == "workspace/configuration"
                result: Any = [{}] * len(message["params"]["items"]) if asked else None
                self._send({"id": message["id"], "result": result})
            elif "id" in message:
                self.responses.put(message)

    def request(self, method: str, params: dict[str, Any]) -> Any:
        self.next_id += 1
        self._send({"id": self.next_id, "method": method, "params": params})
        while True:
            try:
                response = self.responses.get(timeout=TIMEOUT)
            except Empty:
                pytest.fail(f"no answer to {method} within {TIMEOUT:.0f}s")
            if response.get("id") == self.next_id:
                assert "error" not in response, response
                return response["result"]

    def notify(self, method: str, params: dict[str, Any]) -> None:
        self._send({"method": method, "params": params})

    def close(self) -> None:
        if self.process.poll() is None:
            try:
                self.request("shutdown", {})
                self.notify("exit", {})
                self.process.wait(timeout=10)
            except (OSError, subprocess.TimeoutExpired, pytest.fail.Exception):
                self.process.kill()
                self.process.wait()
        self.reader.join(timeout=10)
        for stream in (self.process.stdin, self.process.stdout):
            if stream is not None:
                stream.close()


@pytest.fixture
def server(tmp_path: Path) -> Any:
    executable = shutil.which("basedpyright-langserver", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("basedpyright-langserver is not installed next to this Python (the dev group installs it)")
    # This interpreter's own import path: an environment layered by
    # `uv run --with` is no single virtualenv pyright could be pointed at.
    search_paths = [entry for entry in sys.path if entry and Path(entry).is_dir()]
    (tmp_path / "pyrightconfig.json").write_text(
        json.dumps({"extraPaths": search_paths, "reportMissingModuleSource": False})
    )
    try:
        connection = LanguageServer([executable, "--stdio"], tmp_path)
    except OSError as error:
        pytest.skip(f"basedpyright-langserver cannot start: {error}")
    try:
        connection.request(
            "initialize",
            {
                "processId": None,
                "rootUri": tmp_path.as_uri(),
                "capabilities": {"textDocument": {"completion": {"completionItem": {"snippetSupport": False}}}},
                "workspaceFolders": [{"uri": tmp_path.as_uri(), "name": "project"}],
            },
        )
    except pytest.fail.Exception:
        connection.close()
        pytest.skip("basedpyright-langserver started but did not answer initialize")
    connection.notify("initialized", {})
    yield connection
    connection.close()


def _completions(server: LanguageServer, path: Path, line_text: str) -> set[str]:
    line = SOURCE.splitlines().index(line_text)
    result = server.request(
        "textDocument/completion",
        {"textDocument": {"uri": path.as_uri()}, "position": {"line": line, "character": len(line_text) - 1}},
    )
    items = result["items"] if isinstance(result, dict) else result
    return {item["label"] for item in items}


def test_completion_offers_the_event_fields_as_keywords(server: LanguageServer, tmp_path: Path) -> None:
    path = tmp_path / "emitting.py"
    path.write_text(SOURCE)
    server.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": path.as_uri(), "languageId": "python", "version": 1, "text": SOURCE}},
    )

    assert "message=" in _completions(server, path, "events.emit_event(BeforeMessageSend, )")

    record_event = _completions(server, path, "events.emit_event(events.PostRecordUpdate[Setting], )")
    assert {"record=", "diff=", "origin="} <= record_event

    computed = _completions(server, path, "events.emit_event(InvoiceIssued, )")
    assert {"net_cents=", "vat_rate="} <= computed
    assert "gross_cents=" not in computed  # init=False: the event computes it
    assert "attrs=" not in computed
