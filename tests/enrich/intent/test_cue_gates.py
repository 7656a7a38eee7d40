"""The intent cues skip a regex when its needles are absent: counts must not change."""

from __future__ import annotations

import re
import sys

import numpy as np
import orjson

from hubbub.connectors.bluesky.workload import jetstream_events
from hubbub.enrich.intent.data import read_posts
from hubbub.enrich.intent.features import _FOLD_LIKE_RE, cues, ungated_cues
from tests.support.data import shared_path

EDGE_CASES = [
    "MY ORDER #A-12345 NEVER CAME!!! refund pls",
    "İ've been waiting, my ıtem never arrived",  # dotted/dotless I: re.IGNORECASE folds them
    "reſtore my account pleaſe",  # long s: casefold and re agree
    "\u212audos to the team",  # the Kelvin sign is a K to both
    "Straße, ﬁx it",  # foldings that grow a character
    "love it ❤️ ❤ \ufe0f 🥹 ✨",
    "WIN a FREE iPhone 💰 link in bio www.scam.xyz",
    "€5 off, 20 % now, $3.50",
    "what do i do now?",
    "",
]


def _texts() -> list[str]:
    texts = list(read_posts().texts) + EDGE_CASES
    texts += [orjson.loads(e)["commit"]["record"]["text"] for e in jetstream_events(3000, seed=9)]
    folder = shared_path("sentiment", "vader_icwsm2014")
    for name in ("tweets_GroundTruth.txt", "movieReviewSnippets_GroundTruth.txt"):
        lines = (folder / name).read_text(encoding="utf-8", errors="replace").splitlines()
        texts += [line.split("\t")[-1] for line in lines]
    val = shared_path("sentiment", "tweeteval_val", "val_text.txt")
    texts += val.read_text(encoding="utf-8").splitlines()
    return texts


def test_gated_cue_counts_equal_the_ungated_ones_on_every_text_we_have() -> None:
    texts = _texts()
    assert len(texts) > 15_000
    gated, reference = cues(texts), ungated_cues(texts)
    differing = np.flatnonzero((gated != reference).any(axis=1))
    assert differing.size == 0, [texts[i] for i in differing[:5]]
    assert reference.sum() > 0  # the cues do fire on this set


def test_the_fold_table_covers_every_character_re_ignorecase_maps_to_a_letter() -> None:
    every = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for char in set(re.findall(f"(?i){letter}", every)):
            assert char.translate(_FOLD_LIKE_RE).casefold() == letter, hex(ord(char))
