"""Portal tokens carried across organizations (issue 15): a token is redeemed only where it belongs, and
only for a customer of the organization whose secret signed it."""

import uuid

from server.auth.tokens import mint_portal_token
from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.organizations.service import create_organization
from tests.integration.hosted.conftest import open_token, session_cookie

ORIGIN = "https://app.example.com"


async def _other_org(keyring):
    return await create_organization(keyring, name=f"Other {uuid.uuid4().hex[:8]}", origins=[ORIGIN])


async def test_a_token_posted_to_another_orgs_portal_is_refused_there_and_still_opens_its_own(
    client, org, customer, keyring
):
    other = await _other_org(keyring)
    token = mint_portal_token(org_id=org.org.id, customer_id=customer.id, secret=org.embed_secret)
    refused = await open_token(client, other, token)
    assert refused.status_code == 410
    assert customer.email not in refused.text  # the other org learns nothing about the customer
    assert "set-cookie" not in refused.headers

    opened = await open_token(client, org, token)
    assert opened.status_code == 303, opened.text
    assert session_cookie(opened).value


async def test_an_org_cannot_sign_a_token_for_another_orgs_customer(client, org, customer, keyring):
    other = await _other_org(keyring)
    forged = mint_portal_token(org_id=other.org.id, customer_id=customer.id, secret=other.embed_secret)
    embedded = await client.post("/embed/session", json={"token": forged, "origin": ORIGIN})
    assert embedded.status_code == 401, embedded.text
    assert embedded.json() == {"code": "token_wrong_customer"}
    hosted = await open_token(client, other, forged)
    assert hosted.status_code == 410
    assert "set-cookie" not in hosted.headers
    assert customer.email not in hosted.text

    # the other org's own customer is fine with the same secret
    own = await create_customer(other.org.id, CustomerCreate(email="bea@example.com", name="Bea"))
    token = mint_portal_token(org_id=other.org.id, customer_id=own.id, secret=other.embed_secret)
    assert (await client.post("/embed/session", json={"token": token, "origin": ORIGIN})).status_code == 201
