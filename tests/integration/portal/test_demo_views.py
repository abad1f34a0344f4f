"""Every view renders for every demo customer as well-formed HTML, and stays under 15 queries for the
richest one."""

import contextlib
import uuid
from html.parser import HTMLParser

import pytest

from server.db.tables import Customer, Order
from server.demo.seed import seed_demo
from server.tokens import mint_portal_token
from widgets import VIEWS

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
MAX_QUERIES = 15


class BalanceChecker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        # inside <svg> (foreign content) HTML allows any element to close itself
        if tag not in VOID and "svg" not in self.stack:
            self.problems.append(f"self-closed <{tag}/>")

    def handle_endtag(self, tag):
        if tag in VOID:
            self.problems.append(f"end tag for void <{tag}>")
        elif not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else 'nothing'}>")
        else:
            self.stack.pop()


def well_formed(html: str) -> list[str]:
    checker = BalanceChecker()
    checker.feed(html)
    checker.close()
    return checker.problems + [f"<{tag}> never closed" for tag in checker.stack]


@pytest.fixture(scope="module")
async def demo(engine, keyring):
    created = await seed_demo(keyring, slug=f"demo-{uuid.uuid4().hex[:8]}", name="Acme")
    assert created is not None
    return created


async def _session(client, demo, customer_id):
    token = mint_portal_token(org_id=demo.org.id, customer_id=customer_id, secret=demo.embed_secret)
    response = await client.post("/embed/session", json={"token": token, "origin": "http://127.0.0.1:8001"})
    assert response.status_code == 201, response.text
    return {"Authorization": f"Bearer {response.json()['session']}"}


@contextlib.contextmanager
def counting_queries(engine):
    """Counts every statement the engine runs (engines use __slots__, so the class method is wrapped)."""
    counter = {"n": 0}
    engine_class = type(engine)
    original = engine_class.run_querystring

    async def counted(self, *args, **kwargs):
        counter["n"] += 1
        return await original(self, *args, **kwargs)

    engine_class.run_querystring = counted
    try:
        yield counter
    finally:
        engine_class.run_querystring = original


async def test_every_view_renders_well_formed_for_every_demo_customer(client, demo):
    customers = await Customer.select(Customer.id).where(Customer.org == demo.org.id)
    assert len(customers) >= 15
    for row in customers:
        headers = await _session(client, demo, row["id"])
        for slug in VIEWS:
            response = await client.get(f"/embed/views/{slug}", headers=headers)
            assert response.status_code == 200, (slug, response.text[:300])
            assert well_formed(response.text) == [], (slug, well_formed(response.text))


async def test_richest_customer_views_need_fewer_than_15_queries(client, demo, engine):
    orders = await Order.select(Order.customer).where(Order.org == demo.org.id)
    counts: dict[str, int] = {}
    for row in orders:
        counts[str(row["customer"])] = counts.get(str(row["customer"]), 0) + 1
    richest = max(counts, key=counts.get)
    headers = await _session(client, demo, richest)
    used = {}
    for slug in VIEWS:
        with counting_queries(engine) as counter:
            response = await client.get(f"/embed/views/{slug}", headers=headers)
        assert response.status_code == 200
        used[slug] = counter["n"]
    assert all(n < MAX_QUERIES for n in used.values()), used
