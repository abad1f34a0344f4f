"""The Stripe provider's tests: localstripe runs for the whole session, the app's settings point at it, and
``stripe_org`` is a merchant connected to it."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest

from server.billing import payment_providers
from server.billing.schemas import PaymentProviderPut
from server.settings import Settings
from tests.localstripe_server import LocalStripe

SECRET_KEY = "sk_test_selfserve4242"
PUBLISHABLE_KEY = "pk_test_selfserve4242"
WEBHOOK_SECRET = "whsec_selfservetests"


@pytest.fixture(scope="session")
def localstripe() -> Iterator[LocalStripe]:
    server = LocalStripe.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def settings(settings: Settings, localstripe: LocalStripe) -> Settings:
    return dataclasses.replace(settings, stripe_api_base=localstripe.url, stripe_js_url=localstripe.js_url)


@pytest.fixture(autouse=True)
def providers_reach_localstripe(settings, keyring) -> None:
    """Services called without an app (most of these tests) charge through localstripe too."""
    payment_providers.configure(settings, keyring)


@pytest.fixture
async def stripe_org(org, keyring):
    put = PaymentProviderPut(
        provider="stripe",
        secret_key=SECRET_KEY,
        publishable_key=PUBLISHABLE_KEY,
        webhook_secret=WEBHOOK_SECRET,
    )
    await payment_providers.put_provider(org.org.id, put, keyring=keyring)
    return org
