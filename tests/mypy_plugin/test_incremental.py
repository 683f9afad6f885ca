"""The plugin under mypy's incremental cache and under the daemon (dmypy).

What the plugin reads from an event's class body is kept in mypy's cache, so a
caller checked against a cached events module must see the same fields as on
a cold run; and the daemon must re-check ``emit_event`` call sites when a
field changes in another module. Each test drives real mypy processes on a
small project in a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

EVENTS = """\
from collections import defaultdict
from typing import Any

from pydantic import Field

from canvas_core.events import Event


class Base(Event):
    account: int


class MessageSent(Base):
    message: str
    retries: int = Field(3)


class SignupFormSubmitted(Event):
    email: str
    error_messages: defaultdict[str, list[str]]

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self.error_messages = defaultdict(list)
"""

CALLER = """\
from canvas_core.events import emit_event

from events import MessageSent, SignupFormSubmitted


def send() -> None:
    emit_event(MessageSent, account=1, message="hi")
    emit_event(SignupFormSubmitted, email="ada@example.com")
"""

PLUGIN_SETS = {
    "plugin": "canvas_core_mypy",
    # pydantic.mypy replaces the synthesised __init__ with its own: without the
    # plugin's dependencies, the daemon misses field changes in this setting.
    "with-pydantic": "pydantic.mypy, canvas_core_mypy",
}


def _write(path: Path, text: str) -> None:
    # A new modification time on every write: the daemon compares stat data
    # first, and two writes within the file system's time resolution look alike.
    previous = path.stat().st_mtime_ns if path.exists() else 0
    path.write_text(text)
    os.utime(path, ns=(previous + 2_000_000_000, previous + 2_000_000_000))


@pytest.fixture(params=sorted(PLUGIN_SETS))
def project(request: pytest.FixtureRequest, tmp_path: Path) -> Path:
    _write(tmp_path / "events.py", EVENTS)
    _write(tmp_path / "caller.py", CALLER)
    (tmp_path / "mypy.ini").write_text(
        f"[mypy]\nstrict = True\nplugins = {PLUGIN_SETS[request.param]}\ncache_dir = {tmp_path / 'cache'}\n"
    )
    return tmp_path


def _errors(output: str) -> list[str]:
    return [line for line in output.splitlines() if ": error:" in line]


def _mypy(project: Path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", "mypy.ini", "events.py", "caller.py"],
        cwd=project,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode in (0, 1), result.stderr
    return _errors(result.stdout)


def test_incremental_cache_cold_warm_and_edits(project: Path) -> None:
    assert _mypy(project) == []  # cold: fills the cache
    assert _mypy(project) == []  # warm: everything from the cache

    # The caller alone changes: it is checked against the cached events
    # module, whose stored field facts (Field(3) default, custom __init__) hold.
    _write(project / "caller.py", CALLER.replace('email="ada@example.com"', "email=1, pasword=2"))
    assert _mypy(project) == [
        'caller.py:8: error: Unexpected keyword argument "pasword" for "emit_event"  [call-arg]',
        'caller.py:8: error: Argument "email" to "emit_event" has incompatible type "int"; expected "str"  [arg-type]',
    ]

    _write(project / "caller.py", CALLER)
    assert _mypy(project) == []

    # The events module changes: an inherited field's type.
    _write(project / "events.py", EVENTS.replace("account: int", "account: str"))
    assert _mypy(project) == [
        'caller.py:7: error: Argument "account" to "emit_event" has incompatible type "int"; expected "str"  '
        "[arg-type]",
    ]


class Daemon:
    """A dmypy server for one project, with its own status file."""

    def __init__(self, project: Path) -> None:
        self.project = project
        self.command = [sys.executable, "-m", "mypy.dmypy", "--status-file", str(project / ".dmypy.json")]

    def run(self, *arguments: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*self.command, *arguments], cwd=self.project, capture_output=True, text=True, check=False
        )

    def check(self, *files: str) -> list[str]:
        result = self.run("check", *(files or ("events.py", "caller.py")))
        assert result.returncode in (0, 1), result.stdout + result.stderr
        return _errors(result.stdout)


@pytest.fixture
def daemon(project: Path) -> Iterator[Daemon]:
    server = Daemon(project)
    started = server.run("start", "--", "--config-file", "mypy.ini")
    assert started.returncode == 0, started.stdout + started.stderr
    try:
        yield server
    finally:
        server.run("stop")


def test_daemon_rechecks_call_sites_when_a_field_changes(project: Path, daemon: Daemon) -> None:
    assert daemon.check() == []

    _write(project / "events.py", EVENTS.replace("message: str", "message: bytes"))
    assert daemon.check() == [
        'caller.py:7: error: Argument "message" to "emit_event" has incompatible type "str"; expected "bytes"  '
        "[arg-type]",
    ]

    # A field of a base class, and a field of an event with its own __init__.
    _write(
        project / "events.py",
        EVENTS.replace("account: int", "account: bytes").replace("email: str", "email: bytes"),
    )
    assert daemon.check() == [
        'caller.py:7: error: Argument "account" to "emit_event" has incompatible type "int"; expected "bytes"  '
        "[arg-type]",
        'caller.py:8: error: Argument "email" to "emit_event" has incompatible type "str"; expected "bytes"  '
        "[arg-type]",
    ]

    # A new required field, then the caller is fixed.
    _write(project / "events.py", EVENTS.replace("    retries: int = Field(3)", "    retries: int = Field()"))
    assert daemon.check() == ['caller.py:7: error: Missing named argument "retries" for "emit_event"  [call-arg]']
    _write(project / "caller.py", CALLER.replace('message="hi"', 'message="hi", retries=0'))
    assert daemon.check() == []


BASE_CONFIG = """\
from pydantic import ConfigDict

from canvas_core.events import Event


class ByName(Event):
    model_config = ConfigDict(populate_by_name=True)
"""

ALIASED = """\
from pydantic import ConfigDict, Field

from base_config import ByName


class Inherited(ByName):
    user_id: int = Field(alias="userId")


class Configured(ByName):
    model_config = ConfigDict(populate_by_name=True)
    user_id: int = Field(alias="userId")


class Keyword(ByName, populate_by_name=True):
    user_id: int = Field(alias="userId")
"""

ALIASED_CALLER = """\
from canvas_core.events import emit_event

from aliased import Configured, Inherited, Keyword


def send() -> None:
    emit_event(Inherited, user_id=1)
    emit_event(Configured, user_id=1)
    emit_event(Keyword, user_id=1)
"""

CONFIG_FILES = ("base_config.py", "aliased.py", "aliased_caller.py")


def _by_name_refused(line: int) -> str:
    return (
        f'aliased_caller.py:{line}: error: Unexpected keyword argument "user_id" for "emit_event"; '
        'did you mean "userId"?  [call-arg]'
    )


def test_daemon_rechecks_call_sites_when_populate_by_name_is_turned_off(project: Path, daemon: Daemon) -> None:
    # No type changes with these edits (only a value in model_config, or a
    # class keyword), so nothing but the plugin's own dependencies fires.
    _write(project / "base_config.py", BASE_CONFIG)
    _write(project / "aliased.py", ALIASED)
    _write(project / "aliased_caller.py", ALIASED_CALLER)
    assert daemon.check(*CONFIG_FILES) == []

    # In the event's own model_config.
    _write(
        project / "aliased.py",
        ALIASED.replace(
            "model_config = ConfigDict(populate_by_name=True)", "model_config = ConfigDict(populate_by_name=False)"
        ),
    )
    assert daemon.check(*CONFIG_FILES) == [_by_name_refused(8)]

    # As a class keyword.
    _write(project / "aliased.py", ALIASED.replace("Keyword(ByName, populate_by_name=True)", "Keyword(ByName)"))
    assert daemon.check(*CONFIG_FILES) == []
    _write(
        project / "aliased.py",
        ALIASED.replace("Keyword(ByName, populate_by_name=True)", "Keyword(ByName, populate_by_name=False)"),
    )
    assert daemon.check(*CONFIG_FILES) == [_by_name_refused(9)]

    # In a base class's module: the subclasses that do not set it themselves change.
    _write(project / "aliased.py", ALIASED)
    assert daemon.check(*CONFIG_FILES) == []
    _write(project / "base_config.py", BASE_CONFIG.replace("populate_by_name=True", "populate_by_name=False"))
    assert daemon.check(*CONFIG_FILES) == [_by_name_refused(7)]
    _write(project / "base_config.py", BASE_CONFIG)
    assert daemon.check(*CONFIG_FILES) == []
