"""``make bench``: the real server (``selfserve serve --no-worker``, one uvicorn worker) on the seeded demo
data, on SQLite and then on PostgreSQL, driven by wrk at 32 connections over loopback; then the same views
on the scale dataset, and its CSV exports checked against the database (``tests.bench.exports``). Prints
one table, every figure next to its target.

    python -m tests.bench.run [--databases sqlite,postgres] [--seconds 5] [--no-scale] [--mounts 15]
                              [--only-exports]
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import hashlib
import hmac
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from server.auth.tokens import mint_portal_token
from server.console.auth import COOKIE as CONSOLE_COOKIE
from server.console.auth import open_session
from server.db.engine import bind_tables, close_engine, engine_from_url, open_engine
from server.db.migrate import migrate
from server.db.tables import Customer, Meter, Organization, StaffMember
from server.demo.seed import DEMO_ORIGINS, DEMO_OWNER, seed_demo
from server.organizations.service import create_api_key, normalize_origins
from server.paths import STATIC_DIR
from server.portal.hosted import SESSION_COOKIE
from server.security.keyring import Keyring
from tests.bench import exports, load, mount
from tests.bench.scale import ScaleSize, add_scale_dataset

SECRET_KEY = "bench-secret-key-" + "k" * 32
POSTGRES_ADMIN_URL = os.environ.get(
    "SELFSERVE_BENCH_POSTGRES_URL", "postgresql://root@127.0.0.1:5432/postgres"
)
VIEWS = ("overview", "subscriptions", "orders", "usage", "wallet", "settings")
CUSTOMER = "usr_1004"
"""Kenji Watanabe: a metered plan a year old, orders every month, a usage credit in his wallet."""
EMBED_ORIGIN = DEMO_ORIGINS[0]
API_KEYS = 200
"""Each key may make 500 requests a minute; the runs go round them so the limit never answers instead."""
EVENTS_PER_BATCH = 1000
TOKENS_PER_SECOND_BOUND = 4000
"""Single-use tokens minted per second of exchange load: more than the server can redeem."""
STARTUP_SECONDS = 60
WARMUP_SECONDS = 1
EVENTS_SECONDS = 10
"""32 batches of 1,000 in flight take seconds each: a longer window counts whole ones."""

VIEW_RATIO, VIEW_P99_MS, MINT_RATIO, EVENTS_PER_S, SCALE_SHARE, MOUNT_MS = 0.30, 25.0, 0.5, 20_000, 0.8, 250.0
EXCHANGE_RATIO, EXCHANGE_P99_MS = 0.25, 50.0
LOADER_BUDGET = 1800
REDIS_URL = os.environ.get("SELFSERVE_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")


@dataclass(frozen=True)
class Setup:
    org_id: str
    slug: str
    customer_id: str
    embed_secret: str
    api_keys: list[str]
    event_name: str
    console_session: str
    """The demo owner's console session (its cookie's value)."""


@dataclass(frozen=True)
class Row:
    database: str
    dataset: str
    measure: str
    value: str
    p50: str = ""
    p99: str = ""
    ratio: str = ""
    target: str = ""
    met: str = ""


def _reachable(url: str) -> bool:
    """Something answers at ``url``'s host and port."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 6379), timeout=1):
            return True
    except OSError:
        return False


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- databases and data -------------------------------------------------------------------------------


class DatabaseUnreachable(RuntimeError):
    """The benchmark's PostgreSQL cannot be reached: its rows say so and the run goes on."""


@contextmanager
def database(kind: str, workdir: Path) -> Iterator[str]:
    """A fresh database URL, removed afterwards (PostgreSQL: a database of its own on the admin server)."""
    if kind == "sqlite":
        yield f"sqlite:///{workdir / 'bench.db'}"
        return
    import asyncpg

    name = f"selfserve_bench_{os.getpid()}_{secrets.token_hex(3)}"

    async def admin(sql: str) -> None:
        conn = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    try:
        asyncio.run(admin(f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnreachable(f"PostgreSQL at {POSTGRES_ADMIN_URL} is not reachable ({exc})") from exc
    try:
        yield urlunsplit(urlsplit(POSTGRES_ADMIN_URL)._replace(path="/" + name))
    finally:
        asyncio.run(admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def _with_engine(url: str, work: Callable[[], object]) -> object:
    async def runner() -> object:
        engine = engine_from_url(url)
        bind_tables(engine)
        await open_engine(engine)
        try:
            await migrate(engine)
            return await work()  # type: ignore[misc]
        finally:
            await close_engine(engine)

    return asyncio.run(runner())


def prepare(url: str, extra_origins: list[str]) -> Setup:
    """Migrate, seed the demo merchant, let ``extra_origins`` embed it, and make the API keys."""

    async def work() -> Setup:
        keyring = Keyring((SECRET_KEY,))
        created = await seed_demo(keyring)
        assert created is not None, "the benchmark needs a fresh database"
        org = created.org
        await Organization.update(
            {Organization.allowed_origins: normalize_origins([*DEMO_ORIGINS, *extra_origins])}
        ).where(Organization.id == org.id)
        keys = [created.api_key] + [
            await create_api_key(keyring, org, name=f"bench {n}") for n in range(API_KEYS - 1)
        ]
        customer = (
            await Customer.select(Customer.id)
            .where(Customer.org == org.id, Customer.external_id == CUSTOMER)
            .first()
        )
        meter = await Meter.select(Meter.event_name).where(Meter.org == org.id).first()
        owner = (
            await StaffMember.objects()
            .where(StaffMember.org == org.id, StaffMember.email == DEMO_OWNER)
            .first()
        )
        assert customer is not None
        assert meter is not None
        assert owner is not None
        console_session, _ = await open_session(org, owner)
        return Setup(
            str(org.id),
            org.slug,
            str(customer["id"]),
            created.embed_secret,
            keys,
            meter["event_name"],
            console_session,
        )

    result = _with_engine(url, work)
    assert isinstance(result, Setup)
    return result


def add_scale(url: str, org_id: str) -> ScaleSize:
    import uuid

    result = _with_engine(url, lambda: add_scale_dataset(uuid.UUID(org_id)))
    assert isinstance(result, ScaleSize)
    return result


# --- the server ---------------------------------------------------------------------------------------


@contextmanager
def server(
    url: str, workdir: Path, *, workers: int = 1, redis_url: str | None = None
) -> Iterator[tuple[str, int]]:
    """``selfserve serve --no-worker`` (one uvicorn worker, in the process itself, unless ``workers`` says
    more; rate limits and single use in Redis with ``redis_url``) on a free port, until the block ends: its
    base URL and process id."""
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SELFSERVE_")}
    env |= {
        "SELFSERVE_DATABASE_URL": url,
        "SELFSERVE_SECRET_KEYS": SECRET_KEY,
        "SELFSERVE_PUBLIC_URL": base,
        "SELFSERVE_DATA_DIR": str(workdir / "data"),
    }
    if redis_url:
        env["SELFSERVE_REDIS_URL"] = redis_url
    log = (workdir / "server.log").open("ab")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "server.cli",
            "serve",
            "--no-worker",
            "--port",
            str(port),
            "--workers",
            str(workers),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited ({process.returncode}); see {workdir / 'server.log'}")
            try:
                if httpx.get(base + "/health/live", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("the server did not start in time")
            time.sleep(0.1)
        yield base, process.pid
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# --- measures -----------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.seconds: float = args.seconds
        self.mounts: int = args.mounts
        self.workdir = workdir
        self.rows: list[Row] = []
        self.small_views: dict[str, float] = {}
        self.one_worker: dict[str, load.Figures] = {}
        """The small dataset's figures on one worker, for the multi-process stage to compare with."""

    def token(self, setup: Setup) -> str:
        return mint_portal_token(
            org_id=setup.org_id, customer_id=setup.customer_id, secret=setup.embed_secret
        )

    def hosted(self, base: str, setup: Setup) -> str:
        """A hosted portal session opened as the emailed link opens it: its cookie, ``name=value``."""
        opened = httpx.post(
            f"{base}/portal/{setup.slug}/session",
            data={"token": self.token(setup)},
            headers={"Origin": base},
            timeout=10,
        )
        assert opened.status_code == 303, opened.text
        return f"{SESSION_COOKIE}={opened.cookies[SESSION_COOKIE]}"

    def mint(self, setup: Setup) -> load.Request:
        """Token minting, round the API keys (so no key's rate limit answers)."""
        return load.Request(
            "/v1/customer-sessions",
            method="POST",
            headers={"Authorization": "Bearer {value}", "Content-Type": "application/json"},
            body=json.dumps({"external_customer_id": CUSTOMER}),
            per_line=self._lines("keys.txt", setup.api_keys),
        )

    def exchange(self, setup: Setup, name: str, seconds: float) -> load.Request:
        """A fresh single-use token per request, enough for ``seconds``."""
        count = int(TOKENS_PER_SECOND_BOUND * (seconds + 1))
        tokens = self._lines(name, [self.token(setup) for _ in range(count)])
        body = '{"token": "{value}", "origin": "' + EMBED_ORIGIN + '"}'
        headers = {"Content-Type": "application/json"}
        return load.Request(
            "/embed/session", method="POST", headers=headers, body=body, per_line=tokens, cycle=False
        )

    def multi_process(self, db: str, base: str, setup: Setup, workers: int) -> None:
        """The overview, minting and the exchange on ``workers`` processes sharing Redis, each set against
        the same measure on one worker earlier in this run."""
        session = httpx.post(
            base + "/embed/session", json={"token": self.token(setup), "origin": EMBED_ORIGIN}, timeout=10
        )
        session.raise_for_status()
        bearer = {"Authorization": "Bearer " + session.json()["session"]}
        for key, measure, request, warm in (
            (
                "overview",
                "GET /embed/views/overview",
                load.Request("/embed/views/overview", headers=bearer),
                None,
            ),
            ("mint", "POST /v1/customer-sessions", self.mint(setup), None),
            (
                "exchange",
                "POST /embed/session (token -> session)",
                self.exchange(setup, "tokens-multi.txt", self.seconds),
                self.exchange(setup, "warm-multi.txt", WARMUP_SECONDS),
            ),
        ):
            fig = self.measure(base, request, warm)
            one = self.one_worker.get(f"{db}:{key}")
            gain = fig.per_second / one.per_second if one and one.per_second else 0.0
            bad = fig.bad_status + fig.socket_errors
            self.rows.append(
                Row(
                    db,
                    "small",
                    f"{measure}, {workers} workers + Redis",
                    f"{fig.per_second:,.0f}",
                    f"{fig.p50_ms:.1f}",
                    f"{fig.p99_ms:.1f}",
                    f"{gain:.2f}x",
                    "x = against 1 worker (this run)",
                    f"no ({bad} failed)" if bad else "",
                )
            )

    @contextmanager
    def on_stripe(self, base: str, setup: Setup) -> Iterator[str]:
        """The merchant on Stripe (test keys, no call to Stripe is made) for the block, then back on the
        sandbox; yields the webhook signing secret."""
        secret = "whsec_" + secrets.token_hex(16)
        keys = {"secret_key": "sk_test_bench", "publishable_key": "pk_test_bench", "webhook_secret": secret}
        auth = {"Authorization": f"Bearer {setup.api_keys[0]}"}
        with httpx.Client(base_url=base, headers=auth, timeout=10) as api:
            api.put("/v1/payment-provider", json={"provider": "stripe", **keys}).raise_for_status()
            try:
                yield secret
            finally:
                api.put("/v1/payment-provider", json={"provider": "sandbox"}).raise_for_status()

    def stripe_events(self, setup: Setup, name: str, secret: str, seconds: float) -> load.Request:
        """Distinct Stripe events, each signed as Stripe signs them: a payment succeeded for a card selfserve
        does not hold (verified, looked up, kept so a redelivery is a replay, nothing else to apply)."""
        lines = []
        signed_at = int(time.time())
        for n in range(int(TOKENS_PER_SECOND_BOUND * (seconds + 1))):
            intent = {"id": f"pi_bench_{n}", "object": "payment_intent", "payment_method": f"pm_bench_{n}"}
            event = {"id": f"evt_bench_{name}_{n}", "object": "event", "type": "payment_intent.succeeded"}
            payload = json.dumps({**event, "data": {"object": intent}}, separators=(",", ":"))
            digest = hmac.new(secret.encode(), f"{signed_at}.{payload}".encode(), hashlib.sha256).hexdigest()
            lines.append(f"t={signed_at},v1={digest}\t{payload}")
        headers = {"Content-Type": "application/json", "Stripe-Signature": "{value}"}
        path = f"/webhooks/stripe/{setup.slug}"
        return load.Request(
            path,
            method="POST",
            headers=headers,
            body="{second}",
            per_line=self._lines(name, lines),
            cycle=False,
        )

    def measure(
        self, base: str, request: load.Request, warm: load.Request | None = None, seconds: float | None = None
    ) -> load.Figures:
        """A warm-up on one connection per wrk thread (so almost nothing is left queued in the server when
        it ends), then the measured load at 32 connections."""
        load.run(base, warm or request, WARMUP_SECONDS, self.workdir, connections=load.THREADS)
        return load.run(base, request, seconds or self.seconds, self.workdir)

    def _lines(self, name: str, values: list[str]) -> Path:
        path = self.workdir / name
        path.write_text("\n".join(values) + "\n")
        return path

    def stage(self, db: str, dataset: str, base: str, setup: Setup, page_url: str | None) -> None:
        def row(measure: str, fig: load.Figures, value: float, target: str, ok: bool, ratio: float) -> None:
            bad = fig.bad_status + fig.socket_errors
            self.rows.append(
                Row(
                    db,
                    dataset,
                    measure,
                    f"{value:,.0f}",
                    f"{fig.p50_ms:.1f}",
                    f"{fig.p99_ms:.1f}",
                    f"{ratio:.2f}x",
                    target,
                    ("yes" if ok else "no") if not bad else f"no ({bad} failed)",
                )
            )

        baseline = self.measure(base, load.Request("/health/live"))
        row("bare endpoint (baseline)", baseline, baseline.per_second, "", True, 1.0)
        base_rps = baseline.per_second

        session = httpx.post(
            base + "/embed/session", json={"token": self.token(setup), "origin": EMBED_ORIGIN}, timeout=10
        )
        session.raise_for_status()
        bearer = {"Authorization": "Bearer " + session.json()["session"]}
        for view in VIEWS:
            fig = self.measure(base, load.Request(f"/embed/views/{view}", headers=bearer))
            ratio = fig.per_second / base_rps
            target = f">= {VIEW_RATIO:.2f}x, p99 <= {VIEW_P99_MS:.0f} ms"
            ok = ratio >= VIEW_RATIO and fig.p99_ms <= VIEW_P99_MS
            if dataset == "small":
                self.small_views[f"{db}:{view}"] = fig.per_second
                self.one_worker[f"{db}:{view}"] = fig
            else:
                small = self.small_views.get(f"{db}:{view}")
                share = fig.per_second / small if small else 0.0
                target += f", >= {SCALE_SHARE:.0%} of small ({share:.0%})"
                ok = ok and share >= SCALE_SHARE
            row(f"GET /embed/views/{view}", fig, fig.per_second, target, ok, ratio)
        if dataset != "small":
            return

        page_target = f">= {VIEW_RATIO:.2f}x, p99 <= {VIEW_P99_MS:.0f} ms"
        for measure, path, cookie in (
            (
                "GET /portal/{slug} (hosted page, signed in)",
                f"/portal/{setup.slug}",
                self.hosted(base, setup),
            ),
            ("GET /console (console home)", "/console", f"{CONSOLE_COOKIE}={setup.console_session}"),
        ):
            fig = self.measure(base, load.Request(path, headers={"Cookie": cookie}))
            ratio = fig.per_second / base_rps
            ok = ratio >= VIEW_RATIO and fig.p99_ms <= VIEW_P99_MS
            row(measure, fig, fig.per_second, page_target, ok, ratio)

        keys = self._lines("keys.txt", setup.api_keys)
        auth = {"Authorization": "Bearer {value}", "Content-Type": "application/json"}
        fig = self.measure(base, self.mint(setup))
        self.one_worker[f"{db}:mint"] = fig
        ratio = fig.per_second / base_rps
        row(
            "POST /v1/customer-sessions",
            fig,
            fig.per_second,
            f">= {MINT_RATIO:.2f}x",
            ratio >= MINT_RATIO,
            ratio,
        )

        fig = self.measure(
            base,
            self.exchange(setup, "tokens.txt", self.seconds),
            self.exchange(setup, "warm.txt", WARMUP_SECONDS),
        )
        self.one_worker[f"{db}:exchange"] = fig
        ratio = fig.per_second / base_rps
        row(
            "POST /embed/session (token -> session)",
            fig,
            fig.per_second,
            f">= {EXCHANGE_RATIO:.2f}x, p99 <= {EXCHANGE_P99_MS:.0f} ms",
            ratio >= EXCHANGE_RATIO and fig.p99_ms <= EXCHANGE_P99_MS,
            ratio,
        )

        event = {"name": setup.event_name, "external_customer_id": CUSTOMER, "value": 1}
        batch = json.dumps({"events": [event] * EVENTS_PER_BATCH})
        ingest = load.Request("/v1/events", method="POST", headers=auth, body=batch, per_line=keys)
        fig = self.measure(base, ingest, seconds=max(self.seconds, EVENTS_SECONDS))
        events = fig.per_second * EVENTS_PER_BATCH
        row(
            "POST /v1/events (events/s, batches of 1,000)",
            fig,
            events,
            f">= {EVENTS_PER_S:,} events/s",
            events >= EVENTS_PER_S,
            fig.per_second / base_rps,
        )

        with self.on_stripe(base, setup) as webhook_secret:
            fig = self.measure(
                base,
                self.stripe_events(setup, "stripe.txt", webhook_secret, self.seconds),
                self.stripe_events(setup, "stripe-warm.txt", webhook_secret, WARMUP_SECONDS),
            )
        ratio = fig.per_second / base_rps
        row(
            "POST /webhooks/stripe/{slug} (signed event, kept once)",
            fig,
            fig.per_second,
            f">= {EXCHANGE_RATIO:.2f}x, p99 <= {EXCHANGE_P99_MS:.0f} ms",
            ratio >= EXCHANGE_RATIO and fig.p99_ms <= EXCHANGE_P99_MS,
            ratio,
        )

        if page_url is None:
            self.rows.append(Row(db, dataset, "mount() -> ready (median)", "missing: no Chromium"))
            return
        ms = asyncio.run(mount.median_mount_ms(page_url, lambda: self.token(setup), self.mounts))
        target = f"<= {MOUNT_MS:.0f} ms"
        self.rows.append(
            Row(
                db,
                dataset,
                "mount() -> ready (median ms)",
                f"{ms:.0f}",
                target=target,
                met="yes" if ms <= MOUNT_MS else "no",
            )
        )

    def csv_exports(self, db: str, url: str, base: str, pid: int, setup: Setup) -> None:
        """Every customer's usage CSV and the busiest one's orders CSV, checked against the database."""

        async def expected() -> tuple[tuple[list[exports.Expected], dict[str, int]], exports.Expected]:
            return await exports.expected_usage(setup.org_id), await exports.expected_orders(setup.org_id)

        (usage, events), orders = _with_engine(url, expected)  # type: ignore[misc]
        fig = exports.run(base, pid, setup.api_keys, usage, events, orders)
        measure = f"CSV exports (usage of all {len(usage):,} customers with usage, 1 orders), rows/s"
        checked = "each file's rows and sums = database; all = the events"
        met = "yes" if not fig.mismatches else "no: " + "; ".join(fig.mismatches[:3])
        self.rows.append(Row(db, "scale", measure, f"{fig.rows / fig.seconds:,.0f}", target=checked, met=met))
        self.rows.append(
            Row(db, "scale", f"  rows exported, in {fig.seconds:.2f} s", f"{fig.rows:,}", target="", met="")
        )
        self.rows.append(
            Row(
                db,
                "scale",
                "  server peak RSS growth during the exports (KiB)",
                f"{fig.peak_rss_growth_kib:,}",
                target="streamed: one page in memory",
                met="",
            )
        )


def loader_row() -> Row:
    size = len(gzip.compress((STATIC_DIR / "loader.js").read_bytes(), compresslevel=9))
    ok = size <= LOADER_BUDGET
    return Row(
        "-",
        "-",
        "loader.js gzip bytes",
        f"{size:,}",
        target=f"<= {LOADER_BUDGET:,} B",
        met="yes" if ok else "no",
    )


def print_table(rows: list[Row]) -> None:
    header = Row("database", "data", "measure", "req/s|value", "p50 ms", "p99 ms", "x base", "target", "met?")
    cells = [list(vars(r).values()) for r in [header, *rows]]
    widths = [max(len(c[i]) for c in cells) for i in range(len(header.__dict__))]
    right = {3, 4, 5, 6}
    for n, line in enumerate(cells):
        print(
            "  ".join(
                c.rjust(w) if i in right else c.ljust(w)
                for i, (c, w) in enumerate(zip(line, widths, strict=True))
            )
        )
        if n == 0:
            print("  ".join("-" * w for w in widths))


def run_database(args: argparse.Namespace, db: str, workdir: Path, has_chromium: bool) -> list[Row]:
    """The small dataset's figures, then (unless ``--no-scale``) the scale dataset's, on one database."""
    bench = Bench(args, workdir)
    host_port = _free_port()
    with database(db, workdir) as url:
        print(f"bench: {db}: seeding", file=sys.stderr, flush=True)
        setup = prepare(url, [f"http://localhost:{host_port}"])
        if args.views:
            with server(url, workdir) as (base, _):
                print(f"bench: {db}: measuring the small dataset", file=sys.stderr, flush=True)
                if has_chromium:
                    with mount.host_page(host_port, base) as page_url:
                        bench.stage(db, "small", base, setup, page_url)
                else:
                    bench.stage(db, "small", base, setup, None)
        if args.views and db == "postgres" and args.workers > 1:
            print(f"bench: {db}: {args.workers} workers sharing Redis", file=sys.stderr, flush=True)
            if _reachable(REDIS_URL):
                with server(url, workdir, workers=args.workers, redis_url=REDIS_URL) as (base, _):
                    bench.multi_process(db, base, setup, args.workers)
            else:
                bench.rows.append(
                    Row(db, "small", f"{args.workers} workers + Redis", f"missing: {REDIS_URL}")
                )
        if args.scale:
            print(f"bench: {db}: adding the scale dataset", file=sys.stderr, flush=True)
            started = time.monotonic()
            size = add_scale(url, setup.org_id)
            print(f"bench: {db}: {size} in {time.monotonic() - started:.0f} s", file=sys.stderr, flush=True)
            with server(url, workdir) as (base, pid):
                print(f"bench: {db}: measuring the scale dataset", file=sys.stderr, flush=True)
                if args.views:
                    bench.stage(db, "scale", base, setup, None)
                bench.csv_exports(db, url, base, pid, setup)
    return bench.rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench.run", description=__doc__)
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=5.0, help="measured seconds per figure")
    parser.add_argument("--mounts", type=int, default=15, help="mount() -> ready samples")
    parser.add_argument("--no-scale", dest="scale", action="store_false", help="skip the scale dataset")
    parser.add_argument(
        "--workers", type=int, default=2, help="processes of the multi-process figure (PostgreSQL + Redis)"
    )
    parser.add_argument(
        "--only-exports",
        dest="views",
        action="store_false",
        help="measure only the scale dataset's CSV exports (no wrk load, no mount)",
    )
    args = parser.parse_args(argv)
    if args.views and shutil.which("wrk") is None:
        print("bench: wrk is not installed (apt-get install -y wrk)", file=sys.stderr)
        return 2
    has_chromium = Path(mount.CHROMIUM).exists()
    rows = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="selfserve-bench-") as tmp:
        for db in args.databases.split(","):
            workdir = Path(tmp) / db
            workdir.mkdir()
            try:
                rows += run_database(args, db, workdir, has_chromium)
            except DatabaseUnreachable as exc:
                print(f"bench: {db}: {exc}", file=sys.stderr, flush=True)
                rows.append(Row(db, "-", "every figure: database unreachable", "missing"))
    rows.append(loader_row())
    print()
    print_table(rows)
    took = time.monotonic() - started
    load_text = f"wrk -t{load.THREADS} -c{load.CONNECTIONS}, {args.seconds:g} s a figure"
    print(f"\n{os.cpu_count()} cores, {load_text}; the whole run took {took:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
