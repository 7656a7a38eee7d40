"""The sections a report is built from, in one registry that other features can add to.

A section reads one workspace over one period and returns its figures, tables (headers and
rows: what the XLSX and CSV exports hold) and charts. Register one with :func:`section`;
the order of :data:`DEFAULT_SECTIONS` is the order of a report.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from markupsafe import Markup
from sqlalchemy.orm import Session

from hubbub.alerts.queries import stored_alerts
from hubbub.core.registry import Registry
from hubbub.inbox.models import STATUSES
from hubbub.listening.dashboard import share_of_voice as share_of_voice_of
from hubbub.listening.metrics import funnel
from hubbub.listening.models import Topic
from hubbub.reports import queries
from hubbub.reports.charts import SENTIMENT_COLOURS, colour, line_chart, stacked_bars

Cell = str | int | float | None


class Badge(str):
    """A text cell the HTML and PDF show as a badge (the exports hold its text)."""

    __slots__ = ()


YOUR_ACCOUNT = Badge("your account")
"""The mark of the workspace's own accounts, worded as on the topic dashboard."""

SENTIMENTS = ("positive", "neutral", "negative")


@dataclass(frozen=True)
class ReportScope:
    """What a report covers: one workspace, a period [start, end) in UTC, its topics."""

    workspace_id: int
    start: datetime
    end: datetime
    zone: ZoneInfo
    topics: tuple[Topic, ...]
    now: datetime

    def local_days(self) -> list[date]:
        """The calendar days of the period in the report's time zone."""
        first = self.start.astimezone(self.zone).date()
        last = (self.end - timedelta(microseconds=1)).astimezone(self.zone).date()
        return [first + timedelta(days=i) for i in range((last - first).days + 1)]


@dataclass(frozen=True)
class Table:
    """A table as exported: ``name`` is its sheet (and CSV file) name."""

    name: str
    title: str
    headers: list[str]
    rows: list[list[Cell]]


@dataclass
class SectionResult:
    key: str
    title: str
    figures: list[tuple[str, str]] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    charts: list[Markup] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)
    note: str = ""


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    description: str
    build: Callable[[Session, ReportScope], SectionResult]


SECTIONS: Registry[Section] = Registry("report section")
#: The sections of a report when none are chosen, in report order.
DEFAULT_SECTIONS = (
    "overview",
    "sentiment",
    "share_of_voice",
    "funnel",
    "top_posts",
    "top_authors",
    "alerts",
    "inbox",
)


def section(
    key: str, title: str, description: str
) -> Callable[[Callable[[Session, ReportScope], SectionResult]], Section]:
    """Register the decorated builder as the report section ``key``."""

    def decorator(build: Callable[[Session, ReportScope], SectionResult]) -> Section:
        return SECTIONS.register(key)(Section(key, title, description, build))

    return decorator


def ordered(keys: list[str]) -> list[str]:
    """Known keys in report order (registry additions after the defaults); raises KeyError
    naming an unknown one."""
    for key in keys:
        SECTIONS.get(key)
    chosen = set(keys) or set(DEFAULT_SECTIONS)
    extra = [k for k in SECTIONS.names() if k not in DEFAULT_SECTIONS]
    return [k for k in (*DEFAULT_SECTIONS, *extra) if k in chosen]


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{100 * value:.1f}%"


def _share(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None


@section("overview", "Volume", "Mentions per day and topic, from the hourly rollups.")
def overview(session: Session, scope: ReportScope) -> SectionResult:
    days = scope.local_days()
    per_day: dict[int, dict[date, int]] = {t.id: dict.fromkeys(days, 0) for t in scope.topics}
    for topic_id, hour, posts in queries.hourly_volume(
        session, list(per_day), scope.start, scope.end
    ):
        day = hour.astimezone(scope.zone).date()
        if day in per_day[topic_id]:
            per_day[topic_id][day] += posts
    names = [t.name for t in scope.topics]
    rows: list[list[Cell]] = [
        [day.isoformat(), *(per_day[t.id][day] for t in scope.topics)] for day in days
    ]
    totals = {t.name: sum(per_day[t.id].values()) for t in scope.topics}
    result = SectionResult("overview", "Volume")
    posts = queries.distinct_posts(
        session, scope.workspace_id, scope.topics, scope.start, scope.end
    )
    # A post naming two topics is one post but a mention of each: both figures are given.
    result.figures = [("Posts", str(posts)), ("Topic mentions", str(sum(totals.values())))] + [
        (name, str(count)) for name, count in totals.items()
    ]
    result.tables = [Table("volume", "Mentions per day", ["day", *names], rows)]
    if scope.topics:
        result.charts = [
            line_chart(
                [d.isoformat() for d in days],
                {t.name: [per_day[t.id][d] for d in days] for t in scope.topics},
                "Mentions per day",
            )
        ]
    result.data = {"totals": totals, "posts": posts}
    return result


@section("sentiment", "Sentiment", "Positive, neutral and negative mentions per topic.")
def sentiment(session: Session, scope: ReportScope) -> SectionResult:
    counts = queries.sentiment_counts(session, [t.id for t in scope.topics], scope.start, scope.end)
    rows: list[list[Cell]] = []
    bars = []
    for topic in scope.topics:
        found = counts[topic.id]
        total = sum(found.values())
        rows.append(
            [
                topic.name,
                *(found.get(label, 0) for label in SENTIMENTS),
                total,
                _share(found.get("positive", 0), total),
                _share(found.get("negative", 0), total),
            ]
        )
        bars.append(
            (
                topic.name,
                [(label, found.get(label, 0), SENTIMENT_COLOURS[label]) for label in SENTIMENTS],
            )
        )
    result = SectionResult("sentiment", "Sentiment")
    result.tables = [
        Table(
            "sentiment",
            "Sentiment per topic",
            ["topic", *SENTIMENTS, "total", "positive share", "negative share"],
            rows,
        )
    ]
    if bars:
        result.charts = [stacked_bars(bars, "Sentiment per topic")]
    result.data = {t.name: dict(counts[t.id]) for t in scope.topics}
    return result


SHARE_OF_VOICE = "share of voice (vs competitors)"
"""The metrics' and dashboard's share of voice, under the same name wherever a report shows it."""
SHARE_OF_REPORT = "share of this report's mentions"


def _versus_competitors(
    session: Session, topic: Topic, start: datetime, end: datetime
) -> float | None:
    """The topic's posts against its own and every other ``competitor`` topic's, as the topic
    dashboard counts them; none without a competitor to compare with (as in the funnel)."""
    voices = share_of_voice_of(session, topic, start, end)
    total = sum(voice.posts for voice in voices)
    return voices[0].posts / total if len(voices) > 1 and total else None


@section(
    "share_of_voice",
    "Share of voice",
    "Each topic against the competitors, and its part of the report's mentions.",
)
def share_of_voice(session: Session, scope: ReportScope) -> SectionResult:
    counts = queries.sentiment_counts(session, [t.id for t in scope.topics], scope.start, scope.end)
    totals = {t.id: sum(counts[t.id].values()) for t in scope.topics}
    whole = sum(totals.values())
    rows: list[list[Cell]] = [
        [
            t.name,
            t.kind,
            totals[t.id],
            _versus_competitors(session, t, scope.start, scope.end),
            _share(totals[t.id], whole),
        ]
        for t in sorted(scope.topics, key=lambda t: (-totals[t.id], t.name))
    ]
    result = SectionResult("share_of_voice", "Share of voice")
    result.tables = [
        Table(
            "share_of_voice",
            "Share of voice",
            ["topic", "kind", "mentions", SHARE_OF_VOICE, SHARE_OF_REPORT],
            rows,
        )
    ]
    result.figures = [
        (f"{r[0]} vs competitors", _percent(r[3] if isinstance(r[3], float) else None))
        for r in rows
    ]
    if rows:
        result.charts = [
            stacked_bars(
                [
                    (str(r[0]), [("mentions", int(r[2] or 0), colour(i))])
                    for i, r in enumerate(rows)
                ],
                "Mentions per topic",
            )
        ]
    result.note = (
        "Share of voice (vs competitors) is a topic's mentions against its own and those of "
        "the workspace's competitor topics, as on the topic dashboard and in the funnel; empty "
        "when there is no competitor to compare with. The last column is the topic's part of "
        "the mentions of all this report's topics (a post naming two topics counts for both)."
    )
    return result


FUNNEL_HEADERS = [
    "topic",
    "mentions",
    "previous mentions",
    "unique authors",
    "potential reach",
    "engagement",
    "engagement per mention",
    "returning authors",
    "new authors",
    "returning share",
    SHARE_OF_VOICE,
    "positive share",
    "negative share",
]


@section("funnel", "Funnel", "Awareness to advocacy per topic, against the period before.")
def funnel_section(session: Session, scope: ReportScope) -> SectionResult:
    span = scope.end - scope.start
    rows: list[list[Cell]] = []
    for topic in scope.topics:
        now = funnel(session, topic, scope.start, scope.end)
        before = funnel(session, topic, scope.start - span, scope.start)
        rows.append(
            [
                topic.name,
                now.mentions,
                before.mentions,
                now.unique_authors,
                now.potential_reach,
                now.engagement,
                now.engagement_per_mention,
                now.returning_authors,
                now.new_authors,
                now.returning_share,
                now.share_of_voice,
                now.positive_share,
                now.negative_share,
            ]
        )
    result = SectionResult("funnel", "Funnel")
    result.tables = [Table("funnel", "Funnel metrics", FUNNEL_HEADERS, rows)]
    result.note = "Metrics are defined in docs/metrics.md; ratios are empty when undefined."
    return result


@section("top_posts", "Top posts", "The period's matched posts with the most engagement.")
def top_posts(session: Session, scope: ReportScope) -> SectionResult:
    found = queries.top_posts(session, scope.workspace_id, scope.topics, scope.start, scope.end)
    rows: list[list[Cell]] = [
        [
            p.post.created_at.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M"),
            p.author.handle or p.author.native_id,
            p.post.network,
            ", ".join(p.topics),
            p.engagement,
            # A story or feed entry may be a title alone (Hacker News): the title is its text.
            "\n".join(part for part in (p.post.title, p.post.text) if part)[:280],
            p.post.url,
        ]
        for p in found
    ]
    result = SectionResult("top_posts", "Top posts")
    result.tables = [
        Table(
            "top_posts",
            "Top posts by engagement",
            ["time", "author", "network", "topics", "engagement", "text", "url"],
            rows,
        )
    ]
    return result


@section("top_authors", "Top authors", "Who mentioned the topics most in the period.")
def top_authors(session: Session, scope: ReportScope) -> SectionResult:
    found = queries.top_authors(session, scope.workspace_id, scope.topics, scope.start, scope.end)
    rows: list[list[Cell]] = [
        [
            a.author.handle or a.author.native_id,
            a.author.network,
            a.mentions,
            a.author.followers,
            a.engagement,
            YOUR_ACCOUNT if a.own else None,
        ]
        for a in found
    ]
    result = SectionResult("top_authors", "Top authors")
    result.tables = [
        Table(
            "top_authors",
            "Top authors by mentions",
            ["author", "network", "mentions", "followers", "engagement", "own"],
            rows,
        )
    ]
    return result


@section("alerts", "Alerts", "Alerts raised in the period, with their explanation.")
def alerts(session: Session, scope: ReportScope) -> SectionResult:
    found = stored_alerts(session, scope.workspace_id, scope.start, scope.end)
    rows: list[list[Cell]] = [
        [
            str(a.get("time", "")),
            str(a.get("kind", "")),
            str(a.get("topic", "")),
            str(a.get("severity", "")),
            str((a.get("explanation") or {}).get("summary", "")),
        ]
        for a in found
    ]
    result = SectionResult("alerts", "Alerts")
    result.figures = [("Alerts", str(len(rows)))]
    result.tables = [
        Table(
            "alerts", "Alerts of the period", ["time", "kind", "topic", "severity", "summary"], rows
        )
    ]
    return result


@section("inbox", "Inbox", "Conversations opened in the period and first responses missed.")
def inbox(session: Session, scope: ReportScope) -> SectionResult:
    statuses = queries.conversations_by_status(session, scope.workspace_id, scope.start, scope.end)
    breaches = queries.first_response_breaches(
        session, scope.workspace_id, scope.start, scope.end, scope.now
    )
    opened = sum(statuses.values())
    result = SectionResult("inbox", "Inbox")
    result.figures = [("Conversations opened", str(opened)), ("SLA breaches", str(len(breaches)))]
    result.tables = [
        Table(
            "inbox_status",
            "Conversations opened, by status now",
            ["status", "conversations"],
            [[status, statuses.get(status, 0)] for status in STATUSES],
        ),
        Table(
            "sla_breaches",
            "First responses missed",
            ["conversation", "network", "status", "due", "answered"],
            [
                [
                    c.id,
                    c.network,
                    c.status,
                    c.first_response_due.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M")
                    if c.first_response_due
                    else None,
                    c.first_responded_at.astimezone(scope.zone).strftime("%Y-%m-%d %H:%M")
                    if c.first_responded_at
                    else "not yet",
                ]
                for c in breaches
            ],
        ),
    ]
    result.data = {"statuses": statuses, "breaches": len(breaches)}
    return result
