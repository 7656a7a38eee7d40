"""Applies a workspace's calibration to new enrichment in the listening stage.

Only a calibration whose report says ``applied`` (enough corrections, better on the held-out
ones) changes anything; it replaces the sentiment label and score, never the intents.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, select

from hubbub.enrich.sentiment import LABELS, default_model
from hubbub.enrich.sentiment.calibration import Calibration, Report
from hubbub.listening.corrections.models import SentimentCalibration
from hubbub.listening.enrichment import DEFAULT_TIER, Candidate, Enriched, post_text


class Calibrations:
    """Each workspace's applied calibration, reloaded when its version changes."""

    def __init__(self) -> None:
        self._cached: dict[int, tuple[int, Calibration | None]] = {}

    def current(self, conn: Connection, workspace_id: int) -> Calibration | None:
        """One primary-key lookup per call; the JSON is parsed only after a refit."""
        version = conn.scalar(
            select(SentimentCalibration.version).where(
                SentimentCalibration.workspace_id == workspace_id
            )
        )
        if version is None:
            self._cached.pop(workspace_id, None)
            return None
        cached = self._cached.get(workspace_id)
        if cached is not None and cached[0] == version:
            return cached[1]
        row = conn.execute(
            select(SentimentCalibration.version, SentimentCalibration.report).where(
                SentimentCalibration.workspace_id == workspace_id
            )
        ).one()
        report = Report.from_dict(row.report)
        found = report.calibration if report.applied else None
        self._cached[workspace_id] = (int(row.version), found)
        return found

    def apply(
        self, conn: Connection, workspace_id: int, batch: Sequence[Candidate], out: list[Enriched]
    ) -> bool:
        """Recalibrate the sentiment of ``out`` (one per candidate) in place; True if it did.

        Only default-tier labels: the calibration is fitted on that tier's probabilities, and
        would bend another tier's the wrong way."""
        rows = [i for i, enriched in enumerate(out) if enriched.sentiment_tier == DEFAULT_TIER]
        if not rows:
            return False
        calibration = self.current(conn, workspace_id)
        if calibration is None:
            return False
        proba = calibration.proba(default_model().proba([post_text(batch[i].item) for i in rows]))
        for row, i in zip(proba, rows, strict=True):
            out[i].sentiment_label = LABELS[int(row.argmax())]
            out[i].sentiment_score = float(row[2] - row[0])
        return True
