"""``/v1/payment-provider`` and ``selfserve provider``: a merchant connects Stripe with its keys, which are
stored encrypted and never shown again (only the last four characters of the secret key)."""

from __future__ import annotations

import json

from server.db.tables import PaymentProviderConfig
from tests.integration.oauth.test_cli import _selfserve
from tests.integration.stripe.conftest import PUBLISHABLE_KEY, SECRET_KEY, WEBHOOK_SECRET

STRIPE_KEYS = {"secret_key": SECRET_KEY, "publishable_key": PUBLISHABLE_KEY, "webhook_secret": WEBHOOK_SECRET}


async def test_the_sandbox_is_the_default(client, api_headers):
    response = await client.get("/v1/payment-provider", headers=api_headers)
    assert response.status_code == 200
    assert response.json()["provider"] == "sandbox"
    assert response.json()["publishable_key"] is None


async def test_connecting_stripe_keeps_the_secrets_encrypted_and_never_returns_them(
    client, api_headers, org, keyring, engine
):
    response = await client.put(
        "/v1/payment-provider", headers=api_headers, json={"provider": "stripe", **STRIPE_KEYS}
    )
    assert response.status_code == 200, response.text
    shown = response.json()
    assert shown["provider"] == "stripe"
    assert shown["publishable_key"] == PUBLISHABLE_KEY
    assert shown["secret_key_last4"] == "4242"
    assert shown["webhook_url"].endswith(f"/webhooks/stripe/{org.org.slug}")
    assert SECRET_KEY not in response.text
    assert WEBHOOK_SECRET not in response.text
    got = await client.get("/v1/payment-provider", headers=api_headers)
    assert got.json() == shown

    row = await PaymentProviderConfig.objects().where(PaymentProviderConfig.org == org.org.id).first()
    assert SECRET_KEY not in row.secret_key_encrypted
    assert WEBHOOK_SECRET not in row.webhook_secret_encrypted
    assert keyring.box.decrypt(row.secret_key_encrypted) == SECRET_KEY
    assert keyring.box.decrypt(row.webhook_secret_encrypted) == WEBHOOK_SECRET

    # a new publishable key alone keeps the stored secrets
    response = await client.put(
        "/v1/payment-provider",
        headers=api_headers,
        json={"provider": "stripe", "publishable_key": "pk_test_newkey1"},
    )
    assert response.json()["publishable_key"] == "pk_test_newkey1"
    assert response.json()["secret_key_last4"] == "4242"


async def test_refusals(client, api_headers):
    first_time = await client.put(
        "/v1/payment-provider",
        headers=api_headers,
        json={"provider": "stripe", "publishable_key": PUBLISHABLE_KEY},
    )
    assert first_time.status_code == 422
    assert "secret_key" in first_time.json()["detail"]
    mixed = await client.put(
        "/v1/payment-provider",
        headers=api_headers,
        json={"provider": "stripe", **STRIPE_KEYS, "secret_key": "sk_live_abcdefgh"},
    )
    assert mixed.status_code == 422
    assert "test keys or both live" in mixed.json()["detail"]
    malformed = await client.put(
        "/v1/payment-provider",
        headers=api_headers,
        json={"provider": "stripe", **STRIPE_KEYS, "secret_key": "pk_x"},
    )
    assert malformed.status_code in (400, 422)
    sandbox_with_keys = await client.put(
        "/v1/payment-provider", headers=api_headers, json={"provider": "sandbox", "secret_key": SECRET_KEY}
    )
    assert sandbox_with_keys.status_code == 422


async def test_back_to_the_sandbox_forgets_the_keys(client, api_headers, org):
    await client.put("/v1/payment-provider", headers=api_headers, json={"provider": "stripe", **STRIPE_KEYS})
    response = await client.put("/v1/payment-provider", headers=api_headers, json={"provider": "sandbox"})
    assert response.json()["provider"] == "sandbox"
    assert await PaymentProviderConfig.count().where(PaymentProviderConfig.org == org.org.id) == 0


async def test_cli_connects_stripe_with_secrets_from_standard_input(settings, org, keyring):
    slug = org.org.slug
    code, out, err = await _selfserve(
        settings,
        *("provider", "set", "--org", slug, "--stripe", "--publishable-key", PUBLISHABLE_KEY),
        *("--secret-key", "-", "--webhook-secret", "-", "--json"),
        stdin=f"{SECRET_KEY}\n{WEBHOOK_SECRET}\n",
    )
    assert code == 0, err
    printed = json.loads(out)
    assert (printed["provider"], printed["secret_key_last4"]) == ("stripe", "4242")
    assert SECRET_KEY not in out
    row = await PaymentProviderConfig.objects().where(PaymentProviderConfig.org == org.org.id).first()
    assert keyring.box.decrypt(row.webhook_secret_encrypted) == WEBHOOK_SECRET

    code, out, err = await _selfserve(settings, "provider", "show", "--org", slug)
    assert code == 0, err
    assert f"publishable key {PUBLISHABLE_KEY}, secret key ending in 4242" in out
    assert f"https://billing.example.com/webhooks/stripe/{slug}" in out

    code, _out, err = await _selfserve(
        settings, "provider", "set", "--org", slug, "--stripe", "--secret-key", "nope"
    )
    assert code == 1
    assert "secret_key" in err
    assert "Traceback" not in err

    code, out, err = await _selfserve(settings, "provider", "set", "--org", slug, "--sandbox")
    assert code == 0, err
    assert "sandbox test cards" in out


async def test_the_portal_page_allows_stripe_only_for_a_merchant_on_stripe(
    client, api_headers, org, localstripe
):
    params = {"view": "settings", "origin": "https://app.example.com", "org": org.org.slug}
    before = (await client.get("/embed", params=params)).headers["content-security-policy"]
    assert localstripe.url not in before
    assert "frame-src" not in before
    await client.put("/v1/payment-provider", headers=api_headers, json={"provider": "stripe", **STRIPE_KEYS})
    after = (await client.get("/embed", params=params)).headers["content-security-policy"]
    for directive in ("script-src", "connect-src", "frame-src"):
        assert localstripe.url in next(d for d in after.split("; ") if d.startswith(directive))
