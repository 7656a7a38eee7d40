"""Fingerprints: what counts as the same text, and the ASCII fast path agreeing with Unicode's."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from hubbub.posts.fingerprint import fingerprint, normalise_text


def test_same_text_across_networks_has_one_fingerprint() -> None:
    a = fingerprint(
        "Acme launches rocket skates TODAY! https://acme.example/x @amira.bsky.social", 10
    )
    b = fingerprint(
        "acme launches rocket skates today https://t.co/abc @amira@mastodon.example", 10
    )
    assert a is not None
    assert a == b


def test_accents_and_punctuation_do_not_matter() -> None:
    assert normalise_text("Café — crème brûlée!!") == normalise_text("cafe creme brulee")


def test_short_texts_have_no_fingerprint() -> None:
    assert fingerprint("lol", 24) is None


@given(st.text(alphabet=st.characters(max_codepoint=127), max_size=200))
def test_ascii_fast_path_matches_the_unicode_rule(text: str) -> None:
    slow = " ".join(re.sub(r"[\W_]+", " ", text.casefold()).split())
    urlish_or_mention = "/" in text or "www." in text or "@" in text
    if not urlish_or_mention:
        assert normalise_text(text) == slow


@given(st.text(max_size=200))
def test_dropping_accents_by_table_matches_dropping_them_one_by_one(text: str) -> None:
    # Stored fingerprints must not move: the table drops exactly what combining() names.
    folded = text.casefold()
    if folded.isascii() or "/" in text or "www." in text or "@" in text:
        return  # other paths, tested above
    decomposed = unicodedata.normalize("NFKD", folded)
    if len(decomposed) != len(folded):
        folded = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    assert normalise_text(text) == " ".join(re.sub(r"[\W_]+", " ", folded).split())


def test_japanese_and_vietnamese_keep_their_letters() -> None:
    assert normalise_text("ガギグ Tiếng Việt") == "カキク tieng viet"
