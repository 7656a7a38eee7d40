"""Folding and tokenising: the one definition of a word that every evaluator shares."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from hubbub.listening.normal import fold, fold_key, is_unspaced, tokens


def test_tokens() -> None:
    assert tokens("Héllo, WORLD! it's 2026…") == ["hello", "world", "it", "s", "2026"]
    assert tokens("acme🔥🔥") == ["acme", "🔥", "🔥"]
    assert tokens("東京タワー") == ["東", "京", "タ", "ワ", "ー"]
    assert tokens("snake_case a\u200db") == ["snake", "case", "a", "b"]
    assert tokens("ＡＣＭＥ") == ["acme"]  # full-width letters
    assert tokens("c++ $5") == ["c", "+", "+", "$", "5"]
    assert tokens("") == [] and tokens(" \t\n") == []


def test_fold_keeps_marks_that_are_part_of_letters() -> None:
    assert fold("が") == "が"
    assert fold("किताब") == "किताब"
    assert fold("Ça") == "ca"


def test_fold_key_has_no_spaces() -> None:
    assert fold_key(" En-US ") == "en-us"
    assert fold_key("Café Bar") == "cafebar"


def test_unspaced_scripts() -> None:
    assert is_unspaced("東") and is_unspaced("ก") and is_unspaced("カ")
    assert not is_unspaced("a") and not is_unspaced("한")


@settings(max_examples=500, deadline=None)
@given(st.text(max_size=60))
def test_tokenising_is_idempotent(text: str) -> None:
    """Words written out and read again are the same words: what patterns rely on."""
    words = tokens(text)
    assert tokens(" ".join(words)) == words
    assert all(w and " " not in w and "\x00" not in w for w in words)
