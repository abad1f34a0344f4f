"""Fixtures for the mail tests: a real SMTP server per test, a frozen clock, a job context aimed at it."""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Iterator

import pytest

from server import clock
from server.clock import FrozenClock, use_clock
from server.security.keyring import Keyring
from server.settings import Settings
from server.worker import JobContext
from tests.integration.mail.support import Inbox, free_port, start_smtp


@pytest.fixture
def smtp_port() -> int:
    return free_port()


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    controller, inbox = start_smtp(smtp_port)
    yield inbox
    controller.stop()


@pytest.fixture
def frozen() -> Iterator[FrozenClock]:
    with use_clock(FrozenClock(clock.now())) as frozen_clock:
        assert isinstance(frozen_clock, FrozenClock)
        yield frozen_clock


@pytest.fixture
def smtp_context(settings: Settings, keyring: Keyring, smtp_port: int) -> JobContext:
    return JobContext(dataclasses.replace(settings, smtp_url=f"smtp://127.0.0.1:{smtp_port}"), keyring)


@pytest.fixture
def recipient() -> str:
    return f"{uuid.uuid4().hex}@customer.example"
