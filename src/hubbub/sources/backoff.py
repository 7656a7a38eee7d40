"""Exponential backoff with full jitter, for reconnects and retries."""

from __future__ import annotations

import random


class Backoff:
    """Delays grow ``base * 2**n`` up to ``cap``; each is drawn uniformly below that ceiling.

    Full jitter keeps many listeners from reconnecting in lock-step after an outage.
    """

    def __init__(self, base: float = 0.5, cap: float = 60.0, rng: random.Random | None = None):
        self.base = base
        self.cap = cap
        self.attempts = 0
        self._rng = rng or random.Random()

    def next_delay(self) -> float:
        ceiling = min(self.cap, self.base * (2**self.attempts))
        self.attempts += 1
        return self._rng.uniform(ceiling / 2, ceiling)

    def reset(self) -> None:
        self.attempts = 0
