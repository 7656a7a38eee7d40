"""``hubbub bench alerts`` end to end: posts in real time, apprise to a local receiver.

About 5 s (the shortest run that has a baseline before its spike): the only test that drives
the whole path from a tipping post to a notification arriving over HTTP.
"""

from __future__ import annotations

from hubbub.bench.alerts import run


def test_every_spike_reaches_the_receiver_with_its_latency() -> None:
    report = run(seconds=5.0, rate=200, spikes=1, seed=1)
    assert report["failures"] == []
    assert report["alerts_received"] == report["spikes"] == 1
    latency = report["latency_seconds"]
    assert latency["max"] is not None and 0 < latency["p50"] <= latency["max"]
    assert report["posts"] == 5 * 200 + 600
