"""Text folding and tokenising shared by the query parser, the reference evaluator and the matcher.

Both evaluators see text through exactly these functions, so "case- and accent-insensitive,
word-boundary aware" means one thing everywhere. Rules are in docs/query-language.md.
"""

from __future__ import annotations

import re
import unicodedata

# Diacritics left after NFKD (Latin, Greek, Cyrillic accents) and emoji variation selectors.
# Other combining marks (Devanagari vowel signs, Japanese dakuten) are part of their letter.
_STRIP = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe00-\ufe0f\ufe20-\ufe2f"
    "\U000e0100-\U000e01ef]+"
)

# Scripts written without spaces between words: every character is a token of its own, so a
# term made of them matches as a substring.
_UNSPACED = (
    (0x0E00, 0x0EFF),  # Thai, Lao
    (0x1000, 0x109F),  # Myanmar
    (0x1780, 0x17FF),  # Khmer
    (0x3005, 0x3007),  # 々 〆 〇
    (0x3040, 0x30FF),  # Hiragana, Katakana
    (0x31F0, 0x31FF),  # Katakana extensions
    (0x3400, 0x4DBF),  # CJK extension A
    (0x4E00, 0x9FFF),  # CJK unified ideographs
    (0xF900, 0xFAFF),  # CJK compatibility ideographs
    (0x20000, 0x3134F),  # CJK extensions B-G
)


def is_unspaced(char: str) -> bool:
    """True for a character of a script written without spaces (Chinese, Japanese, Thai…)."""
    code = ord(char)
    return any(low <= code <= high for low, high in _UNSPACED)


class _Table(dict[int, str]):
    """str.translate table filled on first sight of each character, by Unicode category."""

    def __missing__(self, code: int) -> str:
        char = chr(code)
        category = unicodedata.category(char)
        if category[0] in "PZC":
            out = " "  # punctuation, spaces and control/format characters separate words
        elif category[0] == "S" or is_unspaced(char):
            out = f" {char} "  # emoji, symbols and unspaced-script characters stand alone
        else:
            out = char  # letters, digits, marks
        self[code] = out
        return out


_TABLE = _Table()
for _code in range(128):  # prefill ASCII so the common path never misses
    _TABLE.__missing__(_code)


def fold(text: str) -> str:
    """Case-folded, accents removed, compatibility forms unified; nothing else changed."""
    if text.isascii():
        return text.lower()
    # Decompose before and after case folding: 𝓐 decomposes to A, and folding can decompose.
    text = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return unicodedata.normalize("NFC", _STRIP.sub("", text))


def tokens(text: str) -> list[str]:
    """The words of a text after folding: what terms, phrases and NEAR count in."""
    return fold(text).translate(_TABLE).split()


def fold_key(value: str) -> str:
    """A hashtag, handle, language, network or domain folded for equality (no tokenising)."""
    return "".join(fold(value).split())
