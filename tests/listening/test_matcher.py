"""The compiled matcher as a long-lived object: many rules, updates, removals, threads."""

from __future__ import annotations

import threading

import pytest

from hubbub.listening.document import Document
from hubbub.listening.matcher import Matcher, document_keys, normalised
from hubbub.listening.query import QueryError
from hubbub.listening.reference import matches

RULES = {
    "acme": 'acme OR "acme corp" OR #acme',
    "globex": "globex* NOT job*",
    "fr-acme": "acme lang:fr",
    "quiet": "NOT (acme OR globex*)",
    "big": "min_followers:10000",
}


def test_many_rules_one_pass() -> None:
    matcher: Matcher[str] = Matcher(RULES)
    doc = Document(text="Acme and GlobexCorp", langs=("fr",), author_followers=50_000)
    assert sorted(matcher.match(doc)) == ["acme", "big", "fr-acme", "globex"]
    assert sorted(matcher.match(Document(text="globex jobs"))) == []
    assert sorted(matcher.match(Document(text="nothing"))) == ["quiet"]


def test_add_replace_remove() -> None:
    matcher: Matcher[str] = Matcher()
    doc = Document(text="the new acme phone")
    assert matcher.match(doc) == []
    matcher.add("t", "acme")
    assert matcher.match(doc) == ["t"]
    matcher.add("t", "globex")  # replacing drops the old rule's anchors
    assert matcher.match(doc) == []
    matcher.add("u", "phone")
    matcher.remove("t")
    matcher.remove("absent")
    assert matcher.match(doc) == ["u"]
    assert "u" in matcher and "t" not in matcher and len(matcher) == 1


def test_a_broken_rule_changes_nothing() -> None:
    matcher: Matcher[str] = Matcher({"a": "acme"})
    with pytest.raises(QueryError):
        matcher.update(add={"b": "phone", "c": "acme AND ("}, remove=["a"])
    assert matcher.match(Document(text="acme phone")) == ["a"]


def test_reusing_known_patterns_keeps_the_automaton() -> None:
    matcher: Matcher[str] = Matcher({"a": "acme OR phone"})
    automaton = matcher._snap.automaton
    matcher.add("b", "acme NEAR/2 phone")
    assert matcher._snap.automaton is automaton
    matcher.add("c", "globex")
    assert matcher._snap.automaton is not automaton
    assert sorted(matcher.match(Document(text="acme phone globex"))) == ["a", "b", "c"]


def test_removed_patterns_are_dropped_once_they_are_half() -> None:
    matcher: Matcher[int] = Matcher({i: f"word{i}" for i in range(10)})
    assert matcher._snap.built == 10
    matcher.update(remove=range(5))
    assert matcher._snap.built == 10  # dead patterns kept: removal does not rebuild
    assert matcher.match(Document(text="word1 word7")) == [7]
    matcher.remove(5)
    assert matcher._snap.built == 4 and matcher._snap.live == 4
    matcher.add(1, "word1")  # a pattern dropped by the rebuild comes back
    assert sorted(matcher.match(Document(text="word1 word7"))) == [1, 7]


def test_only_negative_rules_need_no_automaton() -> None:
    matcher: Matcher[str] = Matcher({"n": "NOT lang:fr", "f": "min_followers:5"})
    assert matcher._snap.automaton is None
    assert sorted(matcher.match(Document(text="x", author_followers=9))) == ["f", "n"]


def test_updates_while_matching_from_other_threads() -> None:
    matcher: Matcher[int] = Matcher({0: "acme"})
    doc = Document(text="acme " + " ".join(f"w{i}" for i in range(200)))
    errors: list[BaseException] = []
    stop = threading.Event()

    def reader() -> None:
        try:
            while not stop.is_set():
                found = matcher.match(doc)
                assert 0 in found
                assert all(isinstance(r, int) for r in found)
        except BaseException as error:  # report to the main thread
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for thread in threads:
        thread.start()
    for i in range(1, 300):
        matcher.add(i, f"w{i % 250} OR new{i}")
        if i % 3 == 0:
            matcher.remove(i - 1)
    stop.set()
    for thread in threads:
        thread.join(timeout=10)
    assert not errors
    assert 299 in matcher.match(doc)


def test_normalised_layout() -> None:
    assert normalised(Document(text="Hi, there!")) == (" hi there ", 0)
    norm, split = normalised(Document(title="A b", text="c"))
    assert norm == " a b \x00 c "
    assert norm[split] == "\x00"


def test_document_keys() -> None:
    keys = document_keys(Document(langs=("pt-BR",), link_domains=("a.b.com",), mentions=("x@y.z",)))
    assert {"lang:pt-br", "lang:pt", "domain:a.b.com", "domain:b.com", "mention:x"} <= keys
    assert "has:link" in keys and "is:reply" not in keys


@pytest.mark.parametrize(
    "shape",
    ["(x{i} OR y{i} ({r}))", "NOT (x{i} OR y{i} {r})", "x{i} OR NOT (y{i} {r})"],
)
def test_deepest_accepted_rules_compile(shape: str) -> None:
    rule, depth = "a", 0
    while True:  # nest until the parser refuses, then compile the last accepted rule
        deeper = shape.format(i=depth, r=rule)
        try:
            Matcher({0: deeper})
        except QueryError:
            break
        rule, depth = deeper, depth + 1
    assert depth >= 20
    for doc in (Document(text="x0"), Document(text="a y3"), Document(text="q")):
        assert Matcher({0: rule}).match(doc) == ([0] if matches(rule, doc) else [])
