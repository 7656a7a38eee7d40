"""Property: on random rules and random posts the compiled matcher agrees with the reference."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hubbub.listening.document import Document
from hubbub.listening.matcher import Matcher
from hubbub.listening.normal import tokens
from hubbub.listening.query import (
    And,
    Field,
    MinFollowers,
    Near,
    Node,
    Not,
    Or,
    QueryError,
    Text,
    parse,
)
from hubbub.listening.reference import matches

# A small vocabulary so random rules and random texts actually meet: accents, case,
# punctuation, emoji, CJK and prefixes of each other.
WORDS = [
    "acme",
    "Acmé",
    "acmeville",
    "ac",
    "corp",
    "CORP",
    "phone",
    "e-mail",
    "🔥",
    "東京",
    "京",
    "ß",
    "ss",
]
SEPARATORS = [" ", "  ", ", ", "! ", "-", "\n", ""]

word = st.sampled_from(WORDS)
texts = st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), max_size=12).map(
    lambda parts: "".join(w + s for w, s in parts)
)
documents = st.builds(
    Document,
    text=texts,
    title=st.one_of(st.just(""), texts),
    langs=st.lists(st.sampled_from(["en", "en-GB", "fr", "ja"]), max_size=2).map(tuple),
    network=st.sampled_from(["", "bluesky", "mastodon"]),
    author_handle=st.sampled_from(["", "alice", "Bob"]),
    author_followers=st.one_of(st.none(), st.integers(0, 2000)),
    hashtags=st.lists(st.sampled_from(["acme", "Café"]), max_size=2).map(tuple),
    mentions=st.lists(st.sampled_from(["bob", "bob@x.social", "carol"]), max_size=2).map(tuple),
    link_domains=st.lists(st.sampled_from(["acme.com", "shop.acme.com"]), max_size=2).map(tuple),
    is_reply=st.booleans(),
    is_repost=st.booleans(),
)


def _text(parts: list[str], prefix: bool) -> Text:
    return Text(tuple(w for part in parts for w in tokens(part)), prefix)


text_atoms = st.builds(_text, st.lists(word, min_size=1, max_size=3), st.booleans())
fields = st.one_of(
    st.builds(Field, st.just("lang"), st.sampled_from(["en", "en-gb", "ja"])),
    st.builds(Field, st.just("source"), st.sampled_from(["bluesky", "mastodon"])),
    st.builds(Field, st.just("author"), st.sampled_from(["alice", "bob"])),
    st.builds(Field, st.just("domain"), st.sampled_from(["acme.com", "shop.acme.com"])),
    st.builds(Field, st.just("hashtag"), st.sampled_from(["acme", "cafe"])),
    st.builds(Field, st.just("mention"), st.sampled_from(["bob", "bob@x.social", "carol"])),
    st.builds(Field, st.just("is"), st.sampled_from(["reply", "repost"])),
    st.builds(Field, st.just("has"), st.just("link")),
    st.builds(MinFollowers, st.integers(0, 2000)),
)
nears = st.builds(
    Near,
    st.lists(text_atoms, min_size=1, max_size=2).map(tuple),
    st.lists(text_atoms, min_size=1, max_size=2).map(tuple),
    st.integers(0, 4),
)
leaves: st.SearchStrategy[Node] = st.one_of(text_atoms, text_atoms, fields, nears)
rules: st.SearchStrategy[Node] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(inner, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
    ),
    max_leaves=8,
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rules, min_size=1, max_size=6), st.lists(documents, min_size=1, max_size=4))
def test_compiled_matcher_agrees_with_reference(nodes: list[Node], docs: list[Document]) -> None:
    matcher: Matcher[int] = Matcher(dict(enumerate(nodes)))
    for doc in docs:
        expected = sorted(i for i, node in enumerate(nodes) if matches(node, doc))
        assert sorted(matcher.match(doc)) == expected


@settings(max_examples=200, deadline=None)
@given(rules, st.lists(documents, min_size=1, max_size=3))
def test_printed_rule_means_the_same(node: Node, docs: list[Document]) -> None:
    again = parse(str(node))
    for doc in docs:
        assert matches(again, doc) == matches(node, doc)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_any_string_parses_or_raises_query_error(rule: str) -> None:
    position = 0
    try:
        parse(rule)
    except QueryError as error:
        position = error.position
    assert 0 <= position <= len(rule)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=30), st.text(max_size=60))
def test_arbitrary_unicode_agrees(term: str, text: str) -> None:
    """Any single word or phrase from arbitrary Unicode, on arbitrary Unicode text."""
    words = tokens(term)
    if not words:
        return
    doc = Document(text=text + " " + term[: len(term) // 2])
    for node in (Text(tuple(words)), Text(tuple(words), prefix=True)):
        assert (Matcher({0: node}).match(doc) == [0]) == matches(node, doc)
    assert matches(Text(tuple(words)), Document(text=f"x {term} y"))
