"""``selfserve token``: offline minting from the command line, as a merchant's ops person would run it."""

import asyncio
import json
import os
import sys

from server.auth.replay import DatabaseReplayStore
from server.auth.tokens import redeem_portal_token


async def _selfserve(settings, *args):
    env = {
        **os.environ,
        "SELFSERVE_DATABASE_URL": settings.database_url,
        "SELFSERVE_SECRET_KEYS": ",".join(settings.secret_keys),
        "SELFSERVE_PUBLIC_URL": "https://billing.example.com",
    }
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "server.cli",
        *args,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await process.communicate()
    return process.returncode, out.decode(), err.decode()


async def test_token_by_external_id_prints_a_redeemable_token_and_url(
    client, api_headers, org, settings, keyring
):
    await client.post(
        "/v1/customers", json={"email": "c@example.com", "external_id": "cli-1"}, headers=api_headers
    )
    code, out, err = await _selfserve(
        settings,
        "token",
        "--org",
        org.org.slug,
        "--external-id",
        "cli-1",
        "--ttl",
        "300",
        "--view",
        "orders",
        "--json",
    )
    assert code == 0, err
    printed = json.loads(out)
    assert printed["customer_portal_url"] == (
        f"https://billing.example.com/portal/{org.org.slug}#token={printed['token']}"
    )
    claims = await redeem_portal_token(printed["token"], keyring=keyring, replay_store=DatabaseReplayStore())
    assert claims.views == ["orders"]
    assert claims.exp - claims.iat == 300
    assert claims.jti == printed["id"]


async def test_token_for_an_unknown_customer_fails_clearly(org, settings):
    code, _, err = await _selfserve(settings, "token", "--org", org.org.slug, "--customer", "not-a-uuid")
    assert code == 1
    assert "--customer must be a customer id" in err
    code, _, err = await _selfserve(settings, "token", "--org", org.org.slug, "--external-id", "ghost")
    assert code == 1
    assert "no customer" in err
