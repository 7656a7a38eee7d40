"""Signed deliveries to a real local receiver: signature, retries with backoff, dead letters."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from hubbub.settings import Settings
from hubbub.store.engine import transaction
from hubbub.webhooks.actions import (
    WebhookError,
    add_endpoint,
    claim,
    enqueue,
    remove_endpoint,
    set_active,
)
from hubbub.webhooks.delivery import deliver_due, sign, verify
from hubbub.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from tests.webhooks.conftest import Receiver, drain


def _endpoint(
    engine: Engine, settings: Settings, workspace_id: int, url: str, events: list[str] | None = None
) -> tuple[int, str]:
    with transaction(engine) as session:
        endpoint, secret = add_endpoint(session, settings, workspace_id, url, events=events)
        return endpoint.id, secret


def _fire(engine: Engine, workspace_id: int, event: str = "alert.fired") -> None:
    with transaction(engine) as session:
        enqueue(session, workspace_id, event, {"alert": {"kind": "volume", "topic": "skates"}})


def _attempts(engine: Engine) -> list[tuple[int, int | None, str | None]]:
    with Session(engine) as session:
        rows = session.scalars(select(WebhookAttempt).order_by(WebhookAttempt.id))
        return [(a.attempt, a.status, a.error) for a in rows]


def _states(engine: Engine) -> list[str]:
    with Session(engine) as session:
        return list(session.scalars(select(WebhookDelivery.state).order_by(WebhookDelivery.id)))


def test_a_delivery_is_signed_over_timestamp_and_body(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _, secret = _endpoint(engine, fast, workspace_id, receiver.url)
    _fire(engine, workspace_id)
    report = drain(engine, fast)
    assert report.delivered == 1
    [got] = receiver.requests
    headers = got.headers
    assert headers["content-type"] == "application/json"
    assert headers["x-hubbub-event"] == "alert.fired"
    assert len(headers["x-hubbub-delivery"]) == 36
    timestamp, signature = headers["x-hubbub-timestamp"], headers["x-hubbub-signature"]
    assert signature.startswith("sha256=")
    assert verify(secret, timestamp, got.body, signature)
    assert not verify(secret + "x", timestamp, got.body, signature)
    assert not verify(secret, str(int(timestamp) + 1), got.body, signature)
    assert not verify(secret, timestamp, got.body + b" ", signature)
    body = json.loads(got.body)
    assert body["type"] == "alert.fired"
    assert body["workspace_id"] == workspace_id
    assert body["data"] == {"alert": {"kind": "volume", "topic": "skates"}}
    assert _states(engine) == ["delivered"]
    assert _attempts(engine) == [(1, 200, None)]
    # The secret is stored encrypted, never as given.
    with Session(engine) as session:
        stored = session.scalar(select(WebhookEndpoint.secret))
    assert stored is not None and secret not in stored


def test_sign_matches_a_receiver_written_from_the_docs() -> None:
    import hashlib
    import hmac

    body = b'{"id":"x"}'
    expected = hmac.new(b"whsec_k", b"1700000000." + body, hashlib.sha256).hexdigest()
    assert sign("whsec_k", "1700000000", body) == f"sha256={expected}"


def test_failures_retry_with_backoff_and_succeed_exactly_once(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _endpoint(engine, fast, workspace_id, receiver.url)
    receiver.fail_first("500", "503")
    _fire(engine, workspace_id)
    report = drain(engine, fast)
    assert report.delivered == 1 and report.retrying == 2
    assert [r.headers.get("x-hubbub-delivery") for r in receiver.requests].count(
        receiver.requests[0].headers["x-hubbub-delivery"]
    ) == 3, "every attempt carries the same delivery id"
    gaps = [b.at - a.at for a, b in zip(receiver.requests, receiver.requests[1:], strict=False)]
    assert gaps[0] >= 0.05 * 0.8 and gaps[1] >= 0.1 * 0.8, gaps  # doubling, with jitter
    assert _attempts(engine) == [(1, 500, "HTTP 500"), (2, 503, "HTTP 503"), (3, 200, None)]
    assert _states(engine) == ["delivered"]
    drain(engine, fast)
    assert len(receiver.requests) == 3, "a delivered event is never sent again"


def test_a_receiver_that_times_out_is_retried(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _endpoint(engine, fast, workspace_id, receiver.url)
    receiver.fail_first("timeout")
    _fire(engine, workspace_id)
    drain(engine, fast)
    attempts = _attempts(engine)
    assert [a[1] for a in attempts] == [None, 200]
    assert attempts[0][2] is not None and "timeout" in attempts[0][2]
    assert _states(engine) == ["delivered"]


def test_the_last_failed_attempt_makes_the_delivery_dead(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _endpoint(engine, fast, workspace_id, receiver.url)
    receiver.fail_first(*["500"] * 10)
    _fire(engine, workspace_id)
    report = drain(engine, fast)
    assert report.dead == 1 and report.delivered == 0
    assert len(receiver.requests) == fast.webhook_max_attempts == 4
    assert _states(engine) == ["dead"]
    with Session(engine) as session:
        row = session.scalar(select(WebhookDelivery))
        assert row is not None and row.last_status == 500 and row.attempts == 4


def test_loopback_is_refused_unless_allowed(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    closed = fast.model_copy(update={"allowed_private_hosts": []})
    with pytest.raises(WebhookError, match="non-public"):  # refused when it is added
        _endpoint(engine, closed, workspace_id, receiver.url)
    # Added while allowed, then no longer allowed: each delivery checks again.
    _endpoint(engine, fast, workspace_id, receiver.url)
    _fire(engine, workspace_id)
    report = drain(engine, closed)
    assert report.dead == 1
    assert receiver.requests == []
    [(attempt, status, error)] = _attempts(engine)
    assert attempt == 1 and status is None and error is not None and "non-public" in error
    # The same URL with the host allowed is delivered.
    _fire(engine, workspace_id)
    assert drain(engine, fast).delivered == 1
    assert len(receiver.requests) == 1


def test_only_active_subscribed_endpoints_get_an_event(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _endpoint(engine, fast, workspace_id, receiver.url + "?alerts", ["alert.fired"])
    _endpoint(engine, fast, workspace_id, receiver.url + "?resolved", ["conversation.resolved"])
    paused, _ = _endpoint(engine, fast, workspace_id, receiver.url + "?paused")
    with transaction(engine) as session:
        set_active(session, workspace_id, paused, False)
    _fire(engine, workspace_id, "alert.fired")
    drain(engine, fast)
    assert [r.path for r in receiver.requests] == ["/hook?alerts"]


def test_a_rolled_back_action_enqueues_nothing(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _endpoint(engine, fast, workspace_id, receiver.url)
    with pytest.raises(RuntimeError), transaction(engine) as session:
        enqueue(session, workspace_id, "alert.fired", {"alert": {}})
        raise RuntimeError("the action failed after its event was written")
    assert _states(engine) == []
    drain(engine, fast)
    assert receiver.requests == []


def test_a_claimed_delivery_is_not_claimed_twice(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _endpoint(engine, fast, workspace_id, receiver.url)
    _fire(engine, workspace_id)
    with transaction(engine) as session:
        first = claim(session, fast)
    with transaction(engine) as session:
        second = claim(session, fast)
    assert len(first) == 1 and second == []


def test_removing_an_endpoint_drops_its_pending_deliveries(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    endpoint_id, _ = _endpoint(engine, fast, workspace_id, receiver.url)
    _fire(engine, workspace_id)
    with transaction(engine) as session:
        remove_endpoint(session, workspace_id, endpoint_id)
    assert _states(engine) == []
    drain(engine, fast)
    assert receiver.requests == []


def test_a_failing_receiver_gets_one_attempt_per_round_and_keeps_the_order(
    engine: Engine, fast: Settings, workspace_id: int, receiver: Receiver
) -> None:
    _endpoint(engine, fast, workspace_id, receiver.url)
    receiver.fail_first("timeout")
    with transaction(engine) as session:
        for n in range(3):
            enqueue(session, workspace_id, "alert.fired", {"alert": {"n": n}})
    first = deliver_due(engine, fast)
    assert (first.delivered, first.retrying) == (0, 1)
    assert len(receiver.requests) == 1, "the others wait for the receiver to come back"
    with Session(engine) as session:
        attempts = list(
            session.scalars(select(WebhookDelivery.attempts).order_by(WebhookDelivery.id))
        )
    assert attempts == [1, 0, 0]
    assert deliver_due(engine, fast).delivered == 0, "the endpoint is cooling down"
    drain(engine, fast)
    sent = [json.loads(r.body)["data"]["alert"]["n"] for r in receiver.requests]
    assert sent == [0, 0, 1, 2]
    assert _states(engine) == ["delivered"] * 3
