"""Text fingerprints that link the same text cross-posted or syndicated on several networks."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_URLISH = re.compile(r"(?:https?://|www\.)\S+|\b[\w-]+(?:\.[\w-]+)+/\S*", re.IGNORECASE)
_MENTION = re.compile(r"(?<!\w)@[\w.-]+(?:@[\w.-]+)?")
_NON_WORD = re.compile(r"[\W_]+")
# For ASCII text: every character outside [A-Za-z0-9] becomes a space, as _NON_WORD would.
_ASCII_NON_WORD = str.maketrans({chr(c): " " for c in range(128) if not chr(c).isalnum()})


def normalise_text(text: str) -> str:
    """Lower case, accents, links, @mentions, punctuation and spacing removed.

    Networks differ in exactly these: link shorteners, handle syntax, smart quotes, hashtag
    signs. What is left is what a reader would call "the same text".
    """
    if "/" in text or "www." in text:
        text = _URLISH.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    text = text.casefold()
    if text.isascii():
        return " ".join(text.translate(_ASCII_NON_WORD).split())
    decomposed = unicodedata.normalize("NFKD", text)
    if len(decomposed) != len(text):  # only then are there accents to drop
        text = decomposed.translate(_COMBINING_MARKS)
    return " ".join(_NON_WORD.sub(" ", text).split())


class _CombiningMarks(dict[int, int | None]):
    """``str.translate`` table dropping what ``unicodedata.combining`` names, in C.

    Filled as characters are met: building it for all of Unicode up front cost 0.3 s at
    the start of every process that fingerprints a non-ASCII text.
    """

    def __missing__(self, code: int) -> int | None:
        kept = None if unicodedata.combining(chr(code)) else code
        self[code] = kept
        return kept


_COMBINING_MARKS = _CombiningMarks()


def fingerprint(text: str, min_chars: int) -> int | None:
    """A signed 64-bit hash of the normalised text, or None when too short to mean anything."""
    normal = normalise_text(text)
    if len(normal) < min_chars:
        return None
    digest = hashlib.blake2b(normal.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)
