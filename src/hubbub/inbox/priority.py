"""Priority of a conversation: points from intent, negativity, author reach and waiting time,
with every part kept so the inbox can say why a conversation is on top."""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

#: Intents that open a conversation on their own, and what each weighs.
INTENT_POINTS: dict[str, float] = {
    "support_request": 30.0,
    "complaint": 25.0,
    "purchase_intent": 20.0,
    "question": 15.0,
}
REASON_POINTS: dict[str, float] = {"mention": 10.0, "reply": 10.0, "intent": 0.0}
NEGATIVITY_POINTS = 25.0  # times P(negative) - P(positive), when negative
REACH_POINTS_PER_DECADE = 5.0  # per factor ten of followers, capped
REACH_CAP = 25.0
WAIT_POINTS_PER_HOUR = 2.0
WAIT_CAP = 30.0


def score(
    *,
    reason: str,
    intent: str | None,
    intent_score: float | None,
    sentiment: float | None,
    followers: int | None,
    waiting_since: datetime,
    now: datetime,
) -> tuple[float, list[dict[str, Any]]]:
    """Total points and the explanation: one ``{factor, value, points}`` per part."""
    parts: list[dict[str, Any]] = []
    parts.append({"factor": "reason", "value": reason, "points": REASON_POINTS.get(reason, 0.0)})
    if intent is not None:
        points = INTENT_POINTS.get(intent, 0.0)
        parts.append(
            {
                "factor": "intent",
                "value": intent,
                "confidence": round(intent_score or 0.0, 3),
                "points": points,
            }
        )
    if sentiment is not None:
        negativity = max(0.0, -sentiment)
        parts.append(
            {
                "factor": "negativity",
                "value": round(negativity, 3),
                "points": round(NEGATIVITY_POINTS * negativity, 2),
            }
        )
    reach = min(REACH_CAP, REACH_POINTS_PER_DECADE * math.log10((followers or 0) + 1))
    parts.append({"factor": "followers", "value": followers or 0, "points": round(reach, 2)})
    hours = max(0.0, (now - waiting_since).total_seconds() / 3600)
    parts.append(
        {
            "factor": "waiting_hours",
            "value": round(hours, 2),
            "points": round(min(WAIT_CAP, WAIT_POINTS_PER_HOUR * hours), 2),
        }
    )
    return round(sum(float(part["points"]) for part in parts), 2), parts
