"""Background jobs, listed once in ``server.jobs.JOBS``, run by ``selfserve worker`` and inside ``selfserve
serve`` (unless ``--no-worker``). A job is an async function that does one bounded batch of due work and
returns how many items it handled; it must be safe to run again after a crash halfway (leases, conditional
updates)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

from server.security.keyring import Keyring
from server.settings import Settings

log = logging.getLogger("selfserve.worker")


@dataclass(frozen=True)
class JobContext:
    settings: Settings
    keyring: Keyring


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[JobContext], Awaitable[int]]
    idle_seconds: float = 5.0
    """Pause after a batch that found nothing to do."""
    drain: Callable[[], Awaitable[None]] | None = None
    """Awaited at a graceful stop, for a job that leaves work running in the background between runs."""


async def run_once(jobs: Sequence[Job], context: JobContext) -> dict[str, int]:
    """Run every job once (tests call this after moving the clock)."""
    return {job.name: await job.run(context) for job in jobs}


async def _loop(job: Job, context: JobContext, stop: asyncio.Event) -> None:
    while not stop.is_set():
        try:
            handled = await job.run(context)
        except Exception:
            log.exception("job %s failed; retrying after a pause", job.name)
            handled = 0
        if handled == 0:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=job.idle_seconds)


async def run_forever(jobs: Sequence[Job], context: JobContext, stop: asyncio.Event) -> None:
    """Run every job until ``stop`` is set, then let background work finish."""
    await asyncio.gather(*(_loop(job, context, stop) for job in jobs))
    await asyncio.gather(*(job.drain() for job in jobs if job.drain is not None))


class BackgroundWorker:
    """``run_forever`` as a task on the running loop: the in-process worker of ``selfserve serve``."""

    def __init__(self, jobs: Sequence[Job], context: JobContext) -> None:
        self._jobs = jobs
        self._context = context
        self._stop = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(
            run_forever(self._jobs, self._context, self._stop), name="selfserve-worker"
        )

    async def stop(self) -> None:
        """Let every job finish its current batch, then return."""
        self._stop.set()
        if self._task is not None:
            await self._task
