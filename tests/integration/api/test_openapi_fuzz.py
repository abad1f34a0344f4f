"""schemathesis against the live OpenAPI document, in process: every /v1 operation, every built-in check,
a fixed seed (derandomized) and up to 50 generated cases per operation and phase: no server error, no
schema violation."""

import pytest
import schemathesis
from schemathesis.config import PositiveDataAcceptanceConfig
from schemathesis.engine import Status, events

from server.app import create_app
from server.db.engine import bind_tables


class Unlimited:
    """The fuzzer sends far more than 500 requests a minute; the rate limit has its own test."""

    async def hit(self, bucket, limit):
        return None

    async def peek(self, bucket, limit):
        return None

    async def block(self, bucket, seconds):
        return None

    async def blocked_for(self, bucket):
        return None


def _merchant_api_schema(settings, api_headers):
    # schemathesis drives the app from its own event-loop thread, so this app opens its own engine.
    app = create_app(settings)
    app.state.rate_limiter = Unlimited()
    schema = schemathesis.openapi.from_asgi("/schema/openapi.json", app).include(path_regex="^/v1/")
    schema.config.generation.update(max_examples=50, deterministic=True, database="none")
    # Registering a webhook endpoint resolves its host (SSRF check); unresolvable names can take seconds.
    schema.config.update(headers=api_headers, request_timeout=30)
    # 422 is how the API refuses a well-formed value it cannot accept (an unknown currency, say).
    schema.config.checks.positive_data_acceptance = PositiveDataAcceptanceConfig(
        expected_statuses=["2xx", "401", "404", "409", "422"]
    )
    return schema


def _problems(event):
    if isinstance(event, events.ScenarioFinished) and event.status in {Status.FAILURE, Status.ERROR}:
        return [
            f"{event.label}: {check.name}: {check.failure_info.failure.title} "
            f"({getattr(check.failure_info.failure, 'status_code', '')}): "
            f"{check.failure_info.failure.message[:300]}\n    {check.failure_info.code_sample[:600]}"
            for checks in event.recorder.checks.values()
            for check in checks
            if check.failure_info is not None
        ] or [f"{event.label}: {event.status}"]
    if isinstance(event, events.NonFatalError | events.FatalError):
        return [f"{getattr(event, 'label', '')}: {event.value!r}"]
    return []


def test_every_operation_survives_generated_requests(settings, engine, api_headers, db_kind):
    if db_kind != "sqlite":
        pytest.skip("the fuzz run is engine-independent and runs once, in the SQLite pass")
    schema = _merchant_api_schema(settings, api_headers)
    problems, operations = [], set()
    try:
        for event in schemathesis.engine.from_schema(schema).execute():
            problems += _problems(event)
            if isinstance(event, events.ScenarioFinished) and event.label:
                operations.add(event.label)
    finally:
        bind_tables(engine)
    assert not problems, "\n".join(sorted(set(problems)))
    assert len(operations) >= 30
