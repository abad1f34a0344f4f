"""Fixtures for webhook tests: settings that allow localhost receivers (pytest-httpserver is the real
receiver), a job context, and an API client over an app built with those settings."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from server.app import create_app
from server.security.keyring import Keyring
from server.settings import Settings
from server.webhooks.endpoints import create_endpoint
from server.webhooks.schemas import WebhookEndpointCreate
from server.worker import JobContext


@pytest.fixture
def local_settings(settings: Settings) -> Settings:
    return dataclasses.replace(settings, allow_local_webhooks=True)


@pytest.fixture
def job_context(local_settings: Settings, keyring: Keyring) -> JobContext:
    return JobContext(local_settings, keyring)


@pytest.fixture
async def local_client(local_settings: Settings, engine: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The API with localhost receivers allowed, as in development."""
    transport = httpx.ASGITransport(app=create_app(local_settings, engine=engine))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
        yield http


@pytest.fixture
def make_endpoint(org: Any, keyring: Keyring) -> Any:
    """``await make_endpoint(url, event_types=[...])`` → (endpoint, secret) for this test's org."""

    async def make(url: str, **fields: Any) -> tuple[Any, str]:
        data = WebhookEndpointCreate(url=url, **fields)
        return await create_endpoint(org.org.id, keyring, data, allow_local=True)

    return make
