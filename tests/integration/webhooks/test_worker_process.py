"""The worker as a real process (``selfserve worker``) against the test database: killing it mid-delivery
loses nothing, and the resent delivery carries the same webhook-id; SIGTERM stops it cleanly."""

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
from datetime import timedelta

import pytest

from server import clock
from server.db.engine import write_transaction
from server.db.tables import WebhookDelivery
from server.webhooks.delivery import LEASE
from server.webhooks.outbox import record_event
from tests.integration.webhooks.support import deliver_until_settled, statuses


class HoldingReceiver:
    """A raw HTTP receiver that holds every request open while ``holding`` is set, then answers 200.
    ``release_for_new_requests`` drops the requests held so far (their sender is dead) unanswered."""

    def __init__(self):
        self.seen = []  # webhook-ids in arrival order
        self.answered = []
        self.holding = True
        self.generation = 0
        self.arrived = asyncio.Event()
        self._server = None

    async def start(self):
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}/hook"

    async def _handle(self, reader, writer):
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            headers = dict(
                line.split(": ", 1) for line in head.decode("latin-1").split("\r\n")[1:] if ": " in line
            )
            headers = {k.lower(): v for k, v in headers.items()}
            await reader.readexactly(int(headers.get("content-length", "0")))
            self.seen.append(headers["webhook-id"])
            self.arrived.set()
            generation = self.generation
            while self.holding:
                await asyncio.sleep(0.05)
            if generation != self.generation:
                return
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            await writer.drain()
            self.answered.append(headers["webhook-id"])
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    def release_for_new_requests(self):
        self.generation += 1
        self.holding = False

    def close(self):
        self._server.close()


def _worker_env(database_url, settings, tmp_path):
    return {
        **os.environ,
        "SELFSERVE_DATABASE_URL": database_url,
        "SELFSERVE_SECRET_KEYS": ",".join(settings.secret_keys),
        "SELFSERVE_ALLOW_LOCAL_WEBHOOKS": "1",
        "SELFSERVE_DATA_DIR": str(tmp_path),
    }


def _start_worker(env, repo_root, stdout):
    return subprocess.Popen(
        [sys.executable, "-m", "server.cli", "worker"],
        cwd=repo_root,
        env=env,
        stdout=stdout,
        stderr=subprocess.STDOUT,
    )


async def test_killing_the_worker_mid_delivery_loses_nothing(
    org, make_endpoint, job_context, database_url, settings, tmp_path, repo_root
):
    receiver = HoldingReceiver()
    endpoint, _ = await make_endpoint(await receiver.start())
    async with write_transaction():
        events = [await record_event(org.org.id, "order.paid", {"id": f"o{n}"}) for n in range(3)]
    log = (tmp_path / "worker.log").open("wb")
    worker = _start_worker(_worker_env(database_url, settings, tmp_path), repo_root, log)
    try:
        await asyncio.wait_for(receiver.arrived.wait(), timeout=60)
        for _ in range(100):  # let all three requests reach the receiver
            if len(receiver.seen) == 3:
                break
            await asyncio.sleep(0.05)
    finally:
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        log.close()
    assert receiver.answered == []
    in_flight = await WebhookDelivery.objects().where(WebhookDelivery.endpoint == endpoint.id)
    assert all(d.status == "pending" and d.locked_until is not None for d in in_flight)

    # after the dead worker's lease expires, another worker sends them again
    receiver.release_for_new_requests()
    frozen = clock.FrozenClock(clock.now() + LEASE + timedelta(seconds=1))
    with clock.use_clock(frozen):
        await deliver_until_settled(job_context, org.org.id)
    receiver.close()

    ids = sorted(str(e.id) for e in events)
    assert sorted(receiver.answered) == ids, "each event answered exactly once"
    assert sorted(set(receiver.seen)) == ids
    assert all(receiver.seen.count(i) == 2 for i in ids), "each killed attempt resent with its webhook-id"
    assert await statuses(org.org.id) == {"succeeded": 3}


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
async def test_sigterm_stops_the_worker_cleanly(database_url, settings, tmp_path, repo_root):
    worker = _start_worker(_worker_env(database_url, settings, tmp_path), repo_root, subprocess.PIPE)
    try:
        line = await asyncio.wait_for(asyncio.to_thread(worker.stdout.readline), timeout=60)
        assert b"selfserve worker running" in line
        assert b"webhook-delivery" in line
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 30) == 0
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
        worker.stdout.close()


@contextlib.asynccontextmanager
async def lifespan(app):
    """Run the ASGI lifespan (startup, then shutdown) on this loop, as uvicorn does."""
    to_app, from_app = asyncio.Queue(), asyncio.Queue()
    task = asyncio.create_task(
        app({"type": "lifespan", "asgi": {"version": "3.0"}}, to_app.get, from_app.put)
    )
    await to_app.put({"type": "lifespan.startup"})
    assert (await from_app.get())["type"] == "lifespan.startup.complete"
    try:
        yield
    finally:
        await to_app.put({"type": "lifespan.shutdown"})
        assert (await from_app.get())["type"] == "lifespan.shutdown.complete"
        await task


async def test_the_app_runs_the_worker_in_process_unless_told_not_to(
    org, make_endpoint, local_settings, engine
):
    from server.app import create_app

    receiver = HoldingReceiver()
    receiver.holding = False
    await make_endpoint(await receiver.start())
    async with write_transaction():
        event = await record_event(org.org.id, "subscription.updated", {"id": "s1"})
    async with lifespan(create_app(local_settings, engine=engine, run_worker=False)):
        await asyncio.sleep(0.5)
        assert receiver.seen == []
    async with lifespan(create_app(local_settings, engine=engine, run_worker=True)):
        await asyncio.wait_for(receiver.arrived.wait(), timeout=30)
        for _ in range(100):
            if await statuses(org.org.id) == {"succeeded": 1}:
                break
            await asyncio.sleep(0.05)
    receiver.close()
    assert receiver.answered == [str(event.id)]
    assert await statuses(org.org.id) == {"succeeded": 1}
