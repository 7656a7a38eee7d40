"""Reads of the webhooks feature, always within one workspace."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.webhooks.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


def endpoints(session: Session, workspace_id: int) -> list[WebhookEndpoint]:
    return list(
        session.scalars(
            select(WebhookEndpoint)
            .where(WebhookEndpoint.workspace_id == workspace_id)
            .order_by(WebhookEndpoint.id)
        )
    )


def endpoint(session: Session, workspace_id: int, endpoint_id: int) -> WebhookEndpoint | None:
    found = session.get(WebhookEndpoint, endpoint_id)
    return found if found is not None and found.workspace_id == workspace_id else None


def deliveries(
    session: Session,
    workspace_id: int,
    *,
    endpoint_id: int | None = None,
    state: str | None = None,
    limit: int = 50,
) -> list[WebhookDelivery]:
    """Newest first."""
    query = select(WebhookDelivery).where(WebhookDelivery.workspace_id == workspace_id)
    if endpoint_id is not None:
        query = query.where(WebhookDelivery.endpoint_id == endpoint_id)
    if state is not None:
        query = query.where(WebhookDelivery.state == state)
    return list(session.scalars(query.order_by(WebhookDelivery.id.desc()).limit(limit)))


def attempts(session: Session, delivery_ids: list[int]) -> dict[int, list[WebhookAttempt]]:
    """Each delivery's attempts, oldest first."""
    found: dict[int, list[WebhookAttempt]] = {i: [] for i in delivery_ids}
    if not delivery_ids:
        return found
    for row in session.scalars(
        select(WebhookAttempt)
        .where(WebhookAttempt.delivery_id.in_(delivery_ids))
        .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt, WebhookAttempt.id)
    ):
        found[row.delivery_id].append(row)
    return found
