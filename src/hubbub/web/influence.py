"""Influence and buzz pages: ranked influencers (and marking them), the community map, buzz
cascades and the campaign seeding planner.

Every figure comes from :mod:`hubbub.graph`; the pictures are SVG drawn here on the server
from numbers and escaped labels (no script, no CDN). Each page works on one topic's posts or,
without ``?topic=``, on the whole workspace, and bounds what it draws.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar
from urllib.parse import urlencode

import igraph
from fastapi import APIRouter, Depends, Form, HTTPException, Query, Request
from fastapi.responses import RedirectResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from hubbub.core.errors import Rejected
from hubbub.graph import queries as graph_queries
from hubbub.graph.actions import catch_up, mark_author, unmark_author
from hubbub.graph.cache import ResultCache
from hubbub.graph.cascades import (
    Cascade,
    largest_cascades,
    stored_cascade,
    summarise,
)
from hubbub.graph.communities import Community, find_communities
from hubbub.graph.interactions import InteractionGraph, interaction_graph
from hubbub.graph.models import MARK_KINDS
from hubbub.listening.actions import get_topic
from hubbub.listening.queries import list_topics
from hubbub.posts.models import Post
from hubbub.store.engine import transaction
from hubbub.web.auth import Access, Permit
from hubbub.web.charts import bar_chart
from hubbub.web.deps import MAX_ROW_ID, RowId, SessionDep
from hubbub.web.pages import render
from hubbub.workspaces.queries import own_accounts

if TYPE_CHECKING:
    from hubbub.graph.influencers import Influencer

router = APIRouter(include_in_schema=False)
T = TypeVar("T")
_CACHE_LOCK = threading.Lock()

ReadInfluence = Annotated[Access, Depends(Permit("influence.read"))]
MarkAuthors = Annotated[Access, Depends(Permit("influence.mark"))]

RANK_ALL = 100_000
"""Rank every candidate, then filter: filters must not change anyone's rank."""
MAX_ROWS = 200
MAP_NODES = 300
MAP_EDGES = 1_500
MAP_LABELS = 8
INSIDE_PULL = 4.0
ACROSS_PULL = 0.25
PALETTE = 10  # colours comm1..comm10 in style.css; other communities share "comm0"
CASCADE_NODES = 400
CASCADE_LIST = 20
MAX_K = 100
WEB_MC_RUNS = 2_000
ALWAYS_EXCLUDED = ("blocked", "competitor")
CATCH_UP_POSTS = 20_000
"""A page brings the persisted graph up to date itself when at most this many posts wait
(a few seconds of work); a longer backlog is the worker's or `hubbub graph refresh`'s."""
CATCH_UP_SECONDS = 15.0
COLUMNS = ("score", "reach", "resonance", "relevance", "authority", "followers", "author")


# --- shared -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Selection:
    """The posts a page works on: one topic's matches, or (``topic_id`` None) every post."""

    topic: str
    topic_id: int | None


def _select(session: SessionDep, access: Access, topic: str) -> Selection:
    if not topic.strip():
        return Selection("", None)
    try:
        found = get_topic(session, access.ws.id, topic)
    except Rejected:
        raise HTTPException(404, f"no topic named {topic!r} in this workspace") from None
    return Selection(found.name, found.id)


def _cache(request: Request) -> ResultCache:
    """The app's cache of computed graph results (one per app, so per database)."""
    with _CACHE_LOCK:
        found: ResultCache | None = getattr(request.app.state, "influence_cache", None)
        if found is None:
            found = request.app.state.influence_cache = ResultCache()
        return found


def _cached(
    request: Request,
    session: SessionDep,
    access: Access,
    selection: Selection,
    key: tuple[Any, ...],
    compute: Callable[[], T],
) -> T:
    """A page's computed result, reused while the workspace's graph data is unchanged.

    When the worker has not brought the persisted graph up to date, the page does it first
    (a short backlog only), so the ranking and the seeding read the stored edges; otherwise
    (a graph never built, a conflicting update) the graph functions read the posts."""
    topic_id = selection.topic_id or 0
    if graph_queries.graph_freshness(session, access.ws.id, topic_id) is None:
        catch_up(
            request.app.state.engine,
            access.ws.id,
            budget_seconds=CATCH_UP_SECONDS,
            max_posts=CATCH_UP_POSTS,
        )
        session.commit()  # end the read transaction: see what the catch-up wrote
    # Registering an account changes who is left out of rankings and seeds: part of the version.
    version = (
        graph_queries.graph_version(session, access.ws.id, topic_id),
        own_accounts(session, access.ws.id),
    )
    return _cache(request).get_or_compute((access.ws.id, topic_id, *key), version, compute)


def _ranking(
    request: Request, session: SessionDep, access: Access, selection: Selection
) -> list[Influencer]:
    """Every candidate of the workspace or topic, ranked (cached; filters come after)."""
    from hubbub.graph.influencers import rank_influencers  # loads numba: not at CLI start

    return _cached(
        request,
        session,
        access,
        selection,
        ("ranking",),
        lambda: rank_influencers(
            session, access.ws.id, topic_id=selection.topic_id, limit=RANK_ALL
        ),
    )


def _base(session: SessionDep, access: Access, selection: Selection) -> dict[str, Any]:
    return {
        "topics": [t.name for t in list_topics(session, access.ws.id)],
        "topic": selection.topic,
    }


def _query(**params: Any) -> str:
    """A query string of the non-empty parameters (lists repeat the key)."""
    pairs: list[tuple[str, str]] = []
    for key, value in params.items():
        for item in value if isinstance(value, list | tuple) else [value]:
            if item not in (None, "", False):
                pairs.append((key, str(item)))
    return urlencode(pairs)


# --- influencers --------------------------------------------------------------------------


@dataclass(frozen=True)
class Row:
    rank: int
    person: Influencer
    url: str | None

    @property
    def name(self) -> str:
        return self.person.handle or self.person.native_id

    def value(self, column: str) -> float | str:
        if column == "author":
            return self.name.lower()
        if column == "score":
            return self.person.score
        if column == "followers":
            return self.person.followers if self.person.followers is not None else -1
        return self.person.parts.get(column, 0.0)


def _number(text: str, what: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise Rejected("bad_number", f"{what} must be a number, not {text!r}") from None
    if not math.isfinite(value):
        raise Rejected("bad_number", f"{what} must be a finite number")
    return value


@router.get("/w/{slug}/influencers")
def influencers(
    request: Request,
    session: SessionDep,
    access: ReadInfluence,
    topic: str = "",
    network: str = "",
    mark: str = "",
    min_score: str = "",
    hide_flagged: str = "",
    sort: str = "score",
    order: str = "desc",
    page: Annotated[str, Query(max_length=9)] = "",
) -> Response:
    """The explained ranking; filters and sorting are a GET form, so every view is a link.
    ``page`` (from 1) walks past the first ``MAX_ROWS`` rows."""
    selection = _select(session, access, topic)
    sort = sort if sort in COLUMNS else "score"
    descending = order != "asc"
    error: Rejected | None = None
    try:
        floor = _number(min_score, "minimum score")
    except Rejected as exc:
        error, floor = exc, None
    ranked = _ranking(request, session, access, selection)
    urls = graph_queries.author_urls(session, access.ws.id, [p.author_id for p in ranked])
    rows = [Row(i, p, urls.get(p.author_id)) for i, p in enumerate(ranked, start=1)]
    networks = sorted({p.network for p in ranked})
    shown = [
        r
        for r in rows
        if (not network or r.person.network == network)
        and (not mark or (mark == "none" and not r.person.marks) or mark in r.person.marks)
        and (floor is None or r.person.score >= floor)
        and not (hide_flagged and r.person.flags)
    ]
    shown.sort(key=lambda r: r.rank)
    shown.sort(key=lambda r: r.value(sort), reverse=descending)
    pages = max(1, math.ceil(len(shown) / MAX_ROWS))
    number = int(page) if page.isdecimal() else 1
    if page and not 1 <= number <= pages:
        error = Rejected("bad_page", f"page {page!r} is not one of 1 to {pages}")
    number = min(max(number, 1), pages)
    filters = {
        "topic": selection.topic,
        "network": network,
        "mark": mark,
        "min_score": min_score,
        "hide_flagged": hide_flagged,
    }
    sort_links = {
        column: _query(
            **filters,
            sort=column,
            order="asc" if column == sort and descending else "desc",
        )
        for column in COLUMNS
    }
    order_now = "desc" if descending else "asc"
    page_links = {
        n: _query(**filters, sort=sort, order=order_now, page=n) for n in (number - 1, number + 1)
    }
    return render(
        request,
        session,
        access,
        "influencers",
        {
            **_base(session, access, selection),
            "rows": shown[(number - 1) * MAX_ROWS : number * MAX_ROWS],
            "first_row": (number - 1) * MAX_ROWS + 1,
            "page": number,
            "pages": pages,
            "page_links": page_links,
            "total": len(shown),
            "ranked": len(rows),
            "max_rows": MAX_ROWS,
            "networks": networks,
            "marks": MARK_KINDS,
            "form": filters,
            "sort": sort,
            "descending": descending,
            "sort_links": sort_links,
            "error": error,
        },
        400 if error else 200,
    )


@router.post("/w/{slug}/influencers/mark")
def mark_influencer(
    request: Request,
    access: MarkAuthors,
    author_id: Annotated[int, Form(ge=1, le=MAX_ROW_ID)],
    mark: Annotated[str, Form(max_length=16)],
    action: Annotated[Literal["add", "remove"], Form()] = "add",
    topic: Annotated[str, Form(max_length=200)] = "",
) -> Response:
    """Put a mark on an author or take it off (through the graph actions), then go back."""
    try:
        with transaction(request.app.state.engine) as tx:
            actor = access.principal.actor
            if action == "remove":
                unmark_author(tx, access.ws.id, author_id, mark, actor=actor)
            else:
                mark_author(tx, access.ws.id, author_id, mark, actor=actor)
    except Rejected as exc:
        raise HTTPException(400, exc.detail) from None
    back = f"/w/{access.ws.slug}/influencers"
    if topic:
        back += "?" + _query(topic=topic)
    return RedirectResponse(back, status_code=303)


# --- communities --------------------------------------------------------------------------


def _membership(graph: InteractionGraph, cards: Sequence[Community]) -> list[int]:
    """Community number of each node (0: in none), from the cards found on this graph."""
    number = [0] * len(graph.nodes)
    for card in cards:
        for node in card.nodes:
            number[node] = card.number
    return number


def _same(membership: list[int], keep: list[int], u: int, v: int) -> bool:
    return membership[keep[u]] > 0 and membership[keep[u]] == membership[keep[v]]


@dataclass(frozen=True)
class MapNode:
    x: float
    y: float
    r: float
    community: int
    label: str
    score: float


def network_svg(
    nodes: Sequence[MapNode], edges: Sequence[tuple[int, int, float]], title: str
) -> Markup:
    """Nodes (coloured by community class, sized by score) and edges (width by weight)."""
    width, height = 800, 600
    heaviest = max((w for _, _, w in edges), default=1.0) or 1.0
    parts = [
        f'<svg class="network-map" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title><g class="edges">'
    ]
    for u, v, weight in edges:
        a, b = nodes[u], nodes[v]
        stroke = 0.4 + 2.0 * math.sqrt(weight / heaviest)
        parts.append(
            f'<line x1="{a.x:.1f}" y1="{a.y:.1f}" x2="{b.x:.1f}" y2="{b.y:.1f}" '
            f'stroke-width="{stroke:.2f}"/>'
        )
    parts.append('</g><g class="nodes">')
    for node in nodes:
        colour = node.community if 0 < node.community <= PALETTE else 0
        parts.append(
            f'<circle class="comm{colour}" cx="{node.x:.1f}" cy="{node.y:.1f}" r="{node.r:.1f}">'
            f"<title>{escape(node.label)} · community {node.community or '—'} · "
            f"score {node.score:.3f}</title></circle>"
        )
    placed: list[tuple[float, float, float]] = []  # (left, right, baseline) of drawn labels
    for i in sorted(range(len(nodes)), key=lambda i: -nodes[i].score):
        if len(placed) == MAP_LABELS:
            break
        node = nodes[i]
        anchor = "end" if node.x > width * 0.75 else "start"
        dx = -node.r - 2 if anchor == "end" else node.r + 2
        extent = 8.5 * min(len(node.label), 40)  # about 8.5 px a character at 15 px
        left_x = node.x + dx - (extent if anchor == "end" else 0)
        box = (left_x, left_x + extent, node.y + 4)
        if any(abs(box[2] - b[2]) < 18 and box[0] < b[1] and b[0] < box[1] for b in placed):
            continue  # would overlap a label already drawn
        placed.append(box)
        parts.append(
            f'<text class="label" x="{node.x + dx:.1f}" y="{node.y + 4:.1f}" '
            f'text-anchor="{anchor}">{escape(node.label[:40])}</text>'
        )
    parts.append("</g></svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only


def community_map(
    graph: InteractionGraph,
    membership: list[int],
    scores: dict[int, float],
    teleport: dict[int, float],
) -> tuple[list[MapNode], list[tuple[int, int, float]], int]:
    """Layout of the top :data:`MAP_NODES` nodes by authority (Fruchterman–Reingold, seeded
    start so the same data draws the same picture); returns nodes, edges and nodes left out."""
    from hubbub.graph.influencers import topic_pagerank

    if not graph.nodes:
        return [], [], 0
    authority = topic_pagerank(graph, teleport)
    keep = sorted(range(len(graph.nodes)), key=lambda i: (-authority[i], i))[:MAP_NODES]
    position = {node: i for i, node in enumerate(keep)}
    pairs: dict[tuple[int, int], float] = {}
    for (u, v), edge in graph.edges.items():
        if u in position and v in position:
            key = (min(position[u], position[v]), max(position[u], position[v]))
            pairs[key] = pairs.get(key, 0.0) + edge.weight
    edges = sorted(pairs.items(), key=lambda item: (-round(item[1], 9), item[0]))
    sub = igraph.Graph(n=len(keep), edges=[p for p, _ in edges])
    # Links inside a community pull harder, so that communities show as groups.
    weights = [
        (math.log1p(w) + 0.1) * (INSIDE_PULL if _same(membership, keep, u, v) else ACROSS_PULL)
        for (u, v), w in edges
    ]
    start = [
        [math.cos(2 * math.pi * i / len(keep)), math.sin(2 * math.pi * i / len(keep))]
        for i in range(len(keep))
    ]
    coords = sub.layout_fruchterman_reingold(
        weights=weights if edges else None, niter=500, seed=start, grid="nogrid"
    ).coords
    xs = [c[0] for c in coords]
    ys = [c[1] for c in coords]
    span_x = (max(xs) - min(xs)) or 1.0
    span_y = (max(ys) - min(ys)) or 1.0
    top_score = max((scores.get(graph.nodes[n].author_id or -1, 0.0) for n in keep), default=0.0)
    nodes: list[MapNode] = []
    for i, node in enumerate(keep):
        score = scores.get(graph.nodes[node].author_id or -1, 0.0)
        nodes.append(
            MapNode(
                x=30 + 740 * (xs[i] - min(xs)) / span_x,
                y=30 + 540 * (ys[i] - min(ys)) / span_y,
                r=2.5 + 8.5 * score / top_score if top_score > 0 else 4,
                community=membership[node],
                label=graph.nodes[node].label,
                score=score,
            )
        )
    drawn = [(u, v, w) for (u, v), w in edges[:MAP_EDGES]]
    return nodes, drawn, len(graph.nodes) - len(keep)


def _community_page(
    session: SessionDep, workspace_id: int, selection: Selection, ranked: list[Influencer]
) -> dict[str, Any]:
    """Cards, map and counts of the communities page (the persisted graph when fresh)."""
    graph = interaction_graph(session, workspace_id, topic_id=selection.topic_id)
    teleport = graph_queries.posts_per_author(session, workspace_id, selection.topic_id or 0)
    cards = find_communities(
        session, workspace_id, topic_id=selection.topic_id, graph=graph, post_counts=teleport
    )
    picture: Markup | None = None
    left_out = 0
    if graph.edges:
        membership = _membership(graph, cards)
        scores = {p.author_id: p.score for p in ranked}
        nodes, edges, left_out = community_map(
            graph, membership, scores, {a: float(n) for a, n in teleport.items()}
        )
        picture = network_svg(
            nodes, edges, f"Interaction map: {len(nodes)} authors, {len(edges)} links"
        )
    return {
        "cards": cards,
        "picture": picture,
        "left_out": left_out,
        "graph_nodes": len(graph.nodes),
        "graph_edges": len(graph.edges),
    }


@router.get("/w/{slug}/communities")
def communities(
    request: Request, session: SessionDep, access: ReadInfluence, topic: str = ""
) -> Response:
    """The interaction graph's communities: a map of the most central authors and one card
    per community with what its members post."""
    selection = _select(session, access, topic)
    ranked = _ranking(request, session, access, selection)
    found = _cached(
        request,
        session,
        access,
        selection,
        ("communities",),
        lambda: _community_page(session, access.ws.id, selection, ranked),
    )
    return render(
        request,
        session,
        access,
        "communities",
        {
            **_base(session, access, selection),
            **found,
            "map_nodes": MAP_NODES,
            "map_edges": MAP_EDGES,
            "palette": PALETTE,
        },
    )


# --- cascades -----------------------------------------------------------------------------


@router.get("/w/{slug}/cascades")
def cascades(
    request: Request, session: SessionDep, access: ReadInfluence, topic: str = ""
) -> Response:
    """The biggest reshare/reply cascades started by stored posts."""
    selection = _select(session, access, topic)

    found = _cached(
        request,
        session,
        access,
        selection,
        ("cascades",),
        lambda: largest_cascades(session, access.ws.id, selection.topic_id, CASCADE_LIST),
    )
    return render(
        request,
        session,
        access,
        "cascades",
        {**_base(session, access, selection), "cascades": found, "limit": CASCADE_LIST},
    )


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 36 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


def cascade_svg(cascade: Cascade, title: str) -> Markup:
    """The tree over time: x is the time since the root post (log scale), y a depth-first
    order of the tree (each subtree on consecutive rows), elbow links from parent to child."""
    n = len(cascade)
    children: list[list[int]] = [[] for _ in range(n)]
    for child in range(1, n):
        children[cascade.parents[child]].append(child)
    row = [0] * n
    order: list[int] = []
    stack = [0]
    while stack:
        node = stack.pop()
        row[node] = len(order)
        order.append(node)
        stack.extend(reversed(children[node]))
    width, left, right, top = 800, 40, 20, 24
    step = 28 if n <= 20 else 14 if n <= 60 else max(4, 840 // n)  # rows readable on a phone
    height = top + step * n + 30
    span = (cascade.times[-1] - cascade.times[0]) if n > 1 else 0.0
    span = span or 1.0
    # Most adoptions come early and a few days later: time runs on a log scale (of minutes).
    scale = math.log1p(span / 60)

    def at(seconds: float) -> float:
        return left + (width - left - right) * math.log1p(max(seconds, 0.0) / 60) / scale

    def x(i: int) -> float:
        return at(cascade.times[i] - cascade.times[0])

    def y(i: int) -> float:
        return top + step * row[i] + step / 2

    parts = [
        f'<svg class="cascade-tree" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>'
    ]
    axis_y = height - 22
    parts.append(
        f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}"/>'
    )
    for tick in range(5):
        seconds = 60 * math.expm1(scale * tick / 4)  # evenly spaced on the log scale
        anchor = "start" if tick == 0 else "end" if tick == 4 else "middle"
        parts.append(
            f'<line class="grid" x1="{at(seconds):.1f}" y1="{top}" x2="{at(seconds):.1f}" '
            f'y2="{axis_y}"/><text class="tick" x="{at(seconds):.1f}" y="{height - 6}" '
            f'text-anchor="{anchor}">{"0" if tick == 0 else "+" + _duration(seconds)}</text>'
        )
    for child in range(1, n):
        parent = cascade.parents[child]
        parts.append(
            f'<path class="link {escape(cascade.kinds[child])}" '
            f'd="M{x(parent):.1f} {y(parent):.1f}V{y(child):.1f}H{x(child):.1f}"/>'
        )
    radius = min(5.0, step / 2.5 + 0.5)
    for i in range(n):
        offset = cascade.times[i] - cascade.times[0]
        parts.append(
            f'<circle class="node {escape(cascade.kinds[i])}" cx="{x(i):.1f}" cy="{y(i):.1f}" '
            f'r="{radius:.1f}"><title>{escape(cascade.users[i])} · {escape(cascade.kinds[i])} · '
            f"+{_duration(offset)}</title></circle>"
        )
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 - numbers and escaped labels only


def _adoptions_chart(cascade: Cascade) -> Markup:
    """Adoptions per time slice (20 slices from the root to the last adoption)."""
    span = cascade.times[-1] - cascade.times[0]
    slices = 20
    counts = [0] * slices
    for t in cascade.times[1:]:
        index = min(int((t - cascade.times[0]) / span * slices), slices - 1) if span else 0
        counts[index] += 1
    bars = [(f"+{_duration(span * i / slices)}", c) for i, c in enumerate(counts)]
    return bar_chart(bars, "Adoptions over time since the root post")


@router.get("/w/{slug}/cascades/{post_id}")
def cascade(
    request: Request, session: SessionDep, access: ReadInfluence, post_id: RowId, topic: str = ""
) -> Response:
    """One post's reshare/reply tree over time, with its shape and who amplified it."""
    root = session.scalar(
        select(Post).where(
            Post.id == post_id, Post.workspace_id == access.ws.id, Post.deleted.is_(False)
        )
    )
    if root is None:
        raise HTTPException(404, f"no post {post_id} in this workspace")
    selection = _select(session, access, topic)
    tree = stored_cascade(session, access.ws.id, post_id, selection.topic_id)
    summary = summarise(tree, amplifiers=5)
    drawn = tree
    if len(tree) > CASCADE_NODES:  # the earliest adopters; parents come before children
        drawn = Cascade(
            tree.key,
            tree.users[:CASCADE_NODES],
            tree.parents[:CASCADE_NODES],
            tree.times[:CASCADE_NODES],
            tree.kinds[:CASCADE_NODES],
            tree.audience[:CASCADE_NODES],
        )
    author = graph_queries.authors(session, [root.author_id]).get(root.author_id)
    urls = graph_queries.author_urls(session, access.ws.id, [root.author_id])
    return render(
        request,
        session,
        access,
        "cascade",
        {
            **_base(session, access, selection),
            "post": root,
            "author": author,
            "author_url": urls.get(root.author_id),
            "summary": summary,
            "to_half": _duration(summary.seconds_to_half),
            "duration": _duration(summary.duration_seconds),
            "picture": cascade_svg(drawn, f"Cascade of post {post_id}: {len(drawn)} people"),
            "chart": _adoptions_chart(tree) if len(tree) > 1 else None,
            "drawn": len(drawn),
            "max_nodes": CASCADE_NODES,
        },
    )


# --- seeding ------------------------------------------------------------------------------


def _authors(session: SessionDep, workspace_id: int, names: Sequence[str]) -> list[int]:
    """Author ids of handles (or native ids) typed into the planner."""
    found: list[int] = []
    for name in names:
        author = graph_queries.find_author(session, workspace_id, name)
        if author is None:
            raise Rejected("unknown_author", f"no author {name!r} in this workspace")
        found.append(author.id)
    return found


def _costs(session: SessionDep, workspace_id: int, text: str) -> dict[int, float]:
    """``handle cost`` pairs, whitespace or comma separated, to costs per author id."""
    words = text.replace(",", " ").split()
    if len(words) % 2:
        raise Rejected("bad_costs", "costs are pairs: a handle, then its cost")
    found: dict[int, float] = {}
    for name, value in zip(words[::2], words[1::2], strict=True):
        cost = _number(value, f"the cost of {name}")
        if cost is None or cost <= 0:
            raise Rejected("bad_costs", f"the cost of {name} must be above zero")
        found[_authors(session, workspace_id, [name])[0]] = cost
    return found


@router.get("/w/{slug}/seeding")
def seeding(
    request: Request,
    session: SessionDep,
    access: ReadInfluence,
    topic: str = "",
    k: str = "",
    model: str = "IC",
    probabilities: str = "wc",
    exclude: Annotated[list[str] | None, Query()] = None,
    force: str = "",
    skip: str = "",
    costs: str = "",
    budget: str = "",
    include_flagged: bool = False,
) -> Response:
    """Choose campaign seeds with IMM on submit (a read-only GET form) and compare them with
    the top-k by followers and by PageRank, each checked by Monte Carlo simulation.

    ``skip`` and ``force`` name accounts (handles); ``costs`` is ``handle cost`` pairs
    (others cost 1), which only count with a ``budget``."""
    from hubbub.graph.campaign import Probabilities, plan_campaign
    from hubbub.graph.seeding.api import Model

    selection = _select(session, access, topic)
    excluded_marks = [m for m in exclude or [] if m in MARK_KINDS and m not in ALWAYS_EXCLUDED]
    form = {
        "k": k,
        "model": model.upper(),
        "probabilities": probabilities,
        "exclude": excluded_marks,
        "force": force,
        "skip": skip,
        "costs": costs,
        "budget": budget,
        "include_flagged": include_flagged,
    }
    plan: dict[str, Any] | None = None
    error: Rejected | None = None
    if k:
        try:
            wanted = _number(k, "k")
            if wanted is None or wanted != int(wanted) or not 1 <= wanted <= MAX_K:
                raise Rejected("bad_k", f"k must be a whole number from 1 to {MAX_K}")
            if form["model"] not in ("IC", "LT"):
                raise Rejected("bad_model", "the model is IC or LT")
            if probabilities not in {p.value for p in Probabilities}:
                raise Rejected("bad_probabilities", "probabilities are wc or learned")
            marks = graph_queries.author_marks(session, access.ws.id)
            skipped = {a for a, kinds in marks.items() if set(kinds) & set(excluded_marks)}
            skipped.update(_authors(session, access.ws.id, skip.replace(",", " ").split()))
            forced = _authors(session, access.ws.id, force.replace(",", " ").split())
            spend = _number(budget, "budget")
            if spend is not None and spend <= 0:
                raise Rejected("bad_budget", "the budget must be above zero")
            options = {
                "k": int(wanted),
                "model": Model(form["model"]),
                "probabilities": Probabilities(probabilities),
                "force": tuple(forced),
                "exclude": tuple(sorted(skipped)),
                "costs": _costs(session, access.ws.id, costs) if spend is not None else None,
                "budget": spend,
                "include_flagged": include_flagged,
            }
            plan = _cached(
                request,
                session,
                access,
                selection,
                ("seeding", *sorted((key, repr(value)) for key, value in options.items())),
                lambda: plan_campaign(
                    session,
                    access.ws.id,
                    topic_id=selection.topic_id,
                    mc_runs=WEB_MC_RUNS,
                    **options,  # type: ignore[arg-type]
                ),
            )
        except Rejected as exc:
            error = exc
    return render(
        request,
        session,
        access,
        "seeding",
        {
            **_base(session, access, selection),
            "form": form,
            "plan": plan,
            "error": error,
            "marks": [m for m in MARK_KINDS if m not in ALWAYS_EXCLUDED],
            "always_excluded": ALWAYS_EXCLUDED,
            "max_k": MAX_K,
            "mc_runs": WEB_MC_RUNS,
        },
        400 if error is not None and error.code != "empty_graph" else 200,
    )
