import uuid

import pytest

from server.customers.schemas import CustomerCreate
from server.customers.service import create_customer
from server.tokens import mint_portal_token

PARENT = "https://app.example.com"


@pytest.fixture
async def customer(org):
    return await create_customer(
        org.org.id,
        CustomerCreate(
            email=f"ada-{uuid.uuid4().hex[:6]}@example.com", name="Ada Lovelace", external_id="u-42"
        ),
    )


@pytest.fixture
def mint(org, customer):
    def _mint(**claims):
        return mint_portal_token(
            org_id=org.org.id,
            customer_id=claims.pop("customer_id", customer.id),
            secret=org.embed_secret,
            **claims,
        )

    return _mint


@pytest.fixture
def open_session(client, mint):
    async def _open(origin=PARENT, **claims):
        response = await client.post("/embed/session", json={"token": mint(**claims), "origin": origin})
        assert response.status_code == 201, response.text
        return response.json()["session"]

    return _open


async def fetch_document(client, path: str, headers: dict[str, str]):
    """What the portal script does on a download link: ask ``path`` for a single-use link, then follow it.
    Returns (the link, the download's response)."""
    asked = await client.post(path, headers=headers)
    assert asked.status_code == 201, asked.text
    link = asked.json()["url"]
    return link, await client.get(link)
