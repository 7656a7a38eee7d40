"""Properties: the index prefilter never drops a true match, and search returns exactly what the
reference evaluator accepts among all stored posts, for random rules."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from hubbub.core.clock import utcnow
from hubbub.core.items import DeleteItem, Item, PostItem
from hubbub.listening.document import Document
from hubbub.listening.normal import tokens
from hubbub.listening.query import And, Field, MinFollowers, Near, Node, Not, Or, Text
from hubbub.listening.reference import matches
from hubbub.listening.search import Either, Every, Pre, prefilter, search_posts
from hubbub.listening.search_index import index_tokens
from hubbub.posts.actions import store_items
from hubbub.store.engine import transaction
from tests.support.factories import BASE_TIME, example_post

# Words that meet each other: accents, case, prefixes, emoji, CJK, Greek, symbols, and ASCII
# words that look like encoded tokens ("x2b" is how "+" is stored).
WORDS = [
    "acme",
    "Acmé",
    "acmeville",
    "ac",
    "corp",
    "phone",
    "e-mail",
    "🔥",
    "東京",
    "京",
    "ß",
    "ss",
    "Ελλάδα",
    "ελ",
    "+",
    "x2b",
    "1e5",
    "qoverflow",
]
SEPARATORS = [" ", ", ", "-", "\n", ""]
HASHTAGS = ["acme", "Café", "東京"]
MENTIONS = ["bob", "bob@x.social", "carol"]
LINKS = ["https://acme.com/a", "https://shop.acme.com/b", "http://www.globex.org"]
LANGS = ["en", "en-GB", "fr", "ja"]

word = st.sampled_from(WORDS)


def _text(parts: list[str], prefix: bool) -> Text:
    return Text(tuple(w for part in parts for w in tokens(part)), prefix)


text_atoms = st.builds(_text, st.lists(word, min_size=1, max_size=3), st.booleans()).filter(
    lambda t: bool(t.words)
)
fields = st.one_of(
    st.builds(Field, st.just("lang"), st.sampled_from(["en", "en-gb", "ja", "fr"])),
    st.builds(Field, st.just("source"), st.sampled_from(["bluesky", "mastodon"])),
    st.builds(
        Field, st.just("author"), st.sampled_from(["amira.bsky.social", "chen@mastodon.example"])
    ),
    st.builds(Field, st.just("domain"), st.sampled_from(["acme.com", "shop.acme.com", "org"])),
    st.builds(Field, st.just("hashtag"), st.sampled_from(["acme", "cafe", "東京"])),
    st.builds(Field, st.just("mention"), st.sampled_from(["bob", "bob@x.social", "carol"])),
    st.builds(Field, st.just("is"), st.sampled_from(["reply", "repost"])),
    st.builds(Field, st.just("has"), st.just("link")),
    st.builds(MinFollowers, st.sampled_from([0, 100, 1000])),
)
nears = st.builds(
    Near,
    st.lists(text_atoms, min_size=1, max_size=2).map(tuple),
    st.lists(text_atoms, min_size=1, max_size=2).map(tuple),
    st.integers(0, 3),
)
leaves: st.SearchStrategy[Node] = st.one_of(text_atoms, text_atoms, text_atoms, fields, nears)
rules: st.SearchStrategy[Node] = st.recursive(
    leaves,
    lambda inner: st.one_of(
        st.builds(Not, inner),
        st.lists(inner, min_size=2, max_size=3).map(lambda c: And(tuple(c))),
        st.lists(inner, min_size=2, max_size=3).map(lambda c: Or(tuple(c))),
    ),
    max_leaves=6,
)
texts = st.lists(st.tuples(word, st.sampled_from(SEPARATORS)), max_size=10).map(
    lambda parts: "".join(w + s for w, s in parts)
)
documents = st.builds(
    Document,
    text=st.one_of(texts, st.text(max_size=30)),
    title=st.one_of(st.just(""), texts),
    langs=st.lists(st.sampled_from(LANGS), max_size=2).map(tuple),
    network=st.sampled_from(["", "bluesky", "mastodon"]),
    author_handle=st.sampled_from(["", "amira.bsky.social"]),
    author_followers=st.one_of(st.none(), st.integers(0, 2000)),
    hashtags=st.lists(st.sampled_from(HASHTAGS), max_size=2).map(tuple),
    mentions=st.lists(st.sampled_from(MENTIONS), max_size=2).map(tuple),
    link_domains=st.lists(st.sampled_from(["acme.com", "shop.acme.com"]), max_size=2).map(tuple),
    is_reply=st.booleans(),
    is_repost=st.booleans(),
)


def holds(pre: Pre, stream: list[str]) -> bool:
    """The prefilter evaluated on an index token stream, as FTS5 and tsquery evaluate it."""
    if pre is None:
        return True
    if isinstance(pre, Every):
        return all(holds(p, stream) for p in pre.parts)
    if isinstance(pre, Either):
        return any(holds(p, stream) for p in pre.parts)
    n = len(pre.tokens)
    for i in range(len(stream) - n + 1):
        window = stream[i : i + n]
        head_ok = window[:-1] == list(pre.tokens[:-1])
        last = window[-1]
        if head_ok and (last.startswith(pre.tokens[-1]) if pre.prefix else last == pre.tokens[-1]):
            return True
    return False


@settings(max_examples=300, deadline=None)
@given(rules, documents)
def test_the_prefilter_never_drops_a_match(node: Node, doc: Document) -> None:
    if matches(node, doc):
        assert holds(prefilter(node), index_tokens(doc))


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=20), st.text(max_size=40))
def test_any_unicode_word_is_indexed_findably(term: str, text: str) -> None:
    words = tokens(term)
    if not words:
        return
    doc = Document(text=f"{text} {term}")
    for node in (Text(tuple(words)), Text(tuple(words), prefix=True)):
        assert matches(node, doc)
        assert holds(prefilter(node), index_tokens(doc))


def _corpus(seed: int) -> tuple[list[PostItem], list[str]]:
    """Random posts from the shared vocabulary, and the native ids of those deleted later."""
    rng = random.Random(seed)
    posts: list[PostItem] = []
    for n in range(40):
        text = "".join(rng.choice(WORDS) + rng.choice(SEPARATORS) for _ in range(rng.randint(0, 8)))
        extra = {
            "title": rng.choice([None, None, rng.choice(WORDS) + " " + rng.choice(WORDS)]),
            "langs": tuple(rng.sample(LANGS, rng.randint(0, 2))),
            "hashtags": tuple(rng.sample(HASHTAGS, rng.randint(0, 1))),
            "mentions": tuple(rng.sample(MENTIONS, rng.randint(0, 1))),
            "links": tuple(rng.sample(LINKS, rng.randint(0, 1))),
            "likes": rng.choice([None, 0, 5, 50]),
            "created_at": BASE_TIME + timedelta(minutes=rng.randint(0, 30)),
        }
        if rng.random() < 0.2:
            extra["reply_to"] = "at://x/1"
        if rng.random() < 0.1:
            extra["kind"] = "reshare"
        author = rng.choice(["amira", "bruno", "chen"])
        posts.append(example_post(n, author=author, text=text, **extra))
    deleted = [p.native_id for p in rng.sample(posts, 4)]
    return posts, deleted


@pytest.fixture
def stored(engine: Engine, workspace_id: int) -> tuple[Engine, int, dict[str, Document]]:
    posts, deleted = _corpus(7)
    with transaction(engine) as session:
        by_network: dict[str, list[Item]] = {"bluesky": [], "mastodon": []}
        for p in posts:
            by_network[
                "mastodon" if p.author.handle and "@" in p.author.handle else "bluesky"
            ].append(p)
        for network, items in by_network.items():
            store_items(session, workspace_id, network, items, received_at=utcnow())
    # Half the corpus is indexed before the deletes, the rest catches up afterwards.
    with transaction(engine) as session:
        search_posts(session, workspace_id, "acme", limit=1)
    with transaction(engine) as session:
        for p in posts:
            if p.native_id in deleted:
                network = "mastodon" if p.author.handle and "@" in p.author.handle else "bluesky"
                store_items(
                    session,
                    workspace_id,
                    network,
                    [DeleteItem(native_id=p.native_id, at=utcnow())],
                    received_at=utcnow(),
                )
    live = {
        p.text + "|" + p.native_id: Document.from_post(
            p, network="mastodon" if p.author.handle and "@" in p.author.handle else "bluesky"
        )
        for p in posts
        if p.native_id not in deleted
    }
    return engine, workspace_id, live


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(node=rules)
def test_search_equals_the_reference_over_all_stored_posts(
    stored: tuple[Engine, int, dict[str, Document]], node: Node
) -> None:
    engine, workspace_id, live = stored
    expected = sorted(key.split("|")[1] for key, doc in live.items() if matches(node, doc))
    with transaction(engine) as session:
        page = search_posts(session, workspace_id, node, limit=1000)
        ids = [hit.post_id for hit in page.hits]
        native = dict(session.connection().exec_driver_sql("SELECT id, native_id FROM posts").all())
    assert sorted(native[i] for i in ids) == expected
    keys = [(hit.created_at, hit.post_id) for hit in page.hits]
    assert keys == sorted(keys, reverse=True)
