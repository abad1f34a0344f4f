"""The wallet's background job (listed in ``server.jobs``): credits past their expiry. One bounded
batch, safe to re-run."""

from __future__ import annotations

from server.wallet import service as wallet
from server.worker import JobContext


async def expire_wallet_credits(context: JobContext) -> int:
    return await wallet.expire_credits()
