"""Helpers: evaluate a rule with the reference and the compiled matcher, insisting they agree."""

from __future__ import annotations

from hubbub.listening.document import Document
from hubbub.listening.matcher import Matcher
from hubbub.listening.reference import matches


def verdict(rule: str, doc: Document | str) -> bool:
    """The shared verdict of both evaluators on one rule and one document."""
    if isinstance(doc, str):
        doc = Document(text=doc)
    expected = matches(rule, doc)
    compiled = Matcher({"rule": rule}).match(doc) == ["rule"]
    assert compiled == expected, f"matcher says {compiled}, reference {expected}: {rule!r} {doc!r}"
    return expected
