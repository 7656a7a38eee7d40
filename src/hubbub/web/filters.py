"""Post filters as they arrive in a query string, checked once for both the pages and the API."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session

from hubbub.core.clock import parse_timestamp
from hubbub.posts.models import Author
from hubbub.posts.queries import PostFilter
from hubbub.sources.base import connectors
from hubbub.web.queries import PostCursor

PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_MAX_LENGTH = {"network": 32, "author": 512, "contains": 500}
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"", "0", "false", "off", "no"}
#: Accepted values a notice or a refusal lists before it says "…".
MOST_CHOICES = 12


class FilterError(ValueError):
    """One query parameter that cannot be used, with the reason shown to the user."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Unknown:
    """A filter value a page cannot use: the page says so in a notice and shows ``instead``;
    a download refuses it (see :func:`refusal`). Every page reports such values this way
    (template ``_filter_notices.html``), never by silently showing something else."""

    what: str  # as the notice names it: period, sentiment, language, network, status …
    value: str
    instead: str
    known: str  # the accepted values, as the user may type them

    def _use(self) -> str:
        return f" (use {self.known})" if self.known else ""

    def notice(self) -> str:
        return f"Unknown {self.what} {self.value[:40]!r}{self._use()}: showing {self.instead}"

    def refusal(self) -> str:
        return f"unknown {self.what} {self.value[:40]!r}{self._use()}"


def refusal(unknown: Iterable[Unknown]) -> str:
    """Why a download holds nothing: it must not silently hold something other than asked."""
    return "; ".join(u.refusal() for u in unknown) + ". Nothing was exported."


def choices(values: Iterable[str]) -> str:
    """Accepted values for a notice: the first :data:`MOST_CHOICES`, then "…"."""
    listed = list(values)
    shown = ", ".join(listed[:MOST_CHOICES])
    return shown + ", …" if len(listed) > MOST_CHOICES else shown


class UnknownValue(FilterError):
    """A value outside the accepted ones: the API answers it with a 400 naming them, a page
    turns it into an :class:`Unknown` notice with :meth:`unknown`."""

    def __init__(self, field: str, value: str, known: Sequence[str]) -> None:
        self.value = value
        self.known = choices(known)
        super().__init__(field, f"is unknown: {value[:40]!r} (use {self.known})")

    def unknown(self, instead: str) -> Unknown:
        return Unknown(self.field, self.value, instead, self.known)


def connector_networks() -> list[str]:
    """The networks of the registered connectors."""
    return sorted({connectors.get(kind).network for kind in connectors})


def read_network(session: Session, workspace_id: int, value: str | None) -> str | None:
    """A ``network`` filter as posts store it (trimmed, lower case; None for none given).

    Known networks are the registered connectors' and any network an author of the
    workspace is on (an imported file may name any network); anything else raises
    :class:`UnknownValue`, so a mistyped network is said rather than answered with nothing.
    A known network without posts is a true empty answer. Only a value outside the
    connectors' costs a query: a seek that stops at the first author on it, and for an
    unknown one a pass over the workspace's authors to list the known networks.
    """
    network = (value or "").strip().lower()
    if not network or network in connector_networks():
        return network or None
    on_it = select(Author.id).where(Author.workspace_id == workspace_id, Author.network == network)
    if session.scalar(on_it.limit(1)) is not None:
        return network
    stored = session.scalars(
        select(Author.network).where(Author.workspace_id == workspace_id).distinct()
    )
    raise UnknownValue("network", (value or "").strip(), sorted({*connector_networks(), *stored}))


def query_time(field: str, value: str) -> datetime | None:
    if not value:
        return None
    try:
        return parse_timestamp(value)
    except ValueError:
        raise FilterError(
            field, "is not an ISO 8601 date or time (UTC), e.g. 2026-07-04T12:00"
        ) from None


def parse_flag(field: str, value: bool | str | None) -> bool:
    """HTML checkboxes send ``on``, API clients ``true``; anything unexpected is refused."""
    if isinstance(value, bool):
        return value
    text = (value or "").strip().lower()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise FilterError(field, "must be true or false")


@dataclass(frozen=True)
class PostQuery:
    """The raw, already trimmed parameters; empty text means no constraint."""

    network: str = ""
    author: str = ""
    contains: str = ""
    since: str = ""
    until: str = ""
    deleted: bool = False
    unique: bool = False
    limit: int = DEFAULT_PAGE_SIZE
    cursor: str = ""

    @classmethod
    def build(
        cls,
        *,
        network: str | None = None,
        author: str | None = None,
        contains: str | None = None,
        since: str | None = None,
        until: str | None = None,
        deleted: bool | str | None = None,
        unique: bool | str | None = None,
        limit: str | int | None = None,
        cursor: str | None = None,
    ) -> PostQuery:
        """Trim and check every parameter; raises :class:`FilterError` on the first bad one."""
        values = {"network": network, "author": author, "contains": contains}
        for field, value in values.items():
            if value and len(value) > _MAX_LENGTH[field]:
                raise FilterError(field, f"is longer than {_MAX_LENGTH[field]} characters")
        if limit is None or limit == "":
            size = DEFAULT_PAGE_SIZE
        else:
            try:
                size = int(limit)
            except ValueError:
                raise FilterError("limit", "must be a whole number") from None
            if not 1 <= size <= MAX_PAGE_SIZE:
                raise FilterError("limit", f"must be between 1 and {MAX_PAGE_SIZE}")
        query = cls(
            network=(network or "").strip().lower(),
            author=(author or "").strip(),
            contains=(contains or "").strip(),
            since=(since or "").strip(),
            until=(until or "").strip(),
            deleted=parse_flag("deleted", deleted),
            unique=parse_flag("unique", unique),
            limit=size,
            cursor=(cursor or "").strip(),
        )
        query.post_filter(0)  # check the times now, so every caller gets the error up front
        query.position()
        return query

    def post_filter(self, workspace_id: int) -> PostFilter:
        since = query_time("since", self.since)
        until = query_time("until", self.until)
        if since and until and since >= until:
            raise FilterError("until", "must be later than since")
        return PostFilter(
            workspace_id=workspace_id,
            network=self.network or None,
            author=self.author or None,
            since=since,
            until=until,
            contains=self.contains or None,
            include_deleted=self.deleted,
            include_near_duplicates=not self.unique,
        )

    def position(self) -> PostCursor | None:
        if not self.cursor:
            return None
        try:
            return PostCursor.decode(self.cursor)
        except ValueError as exc:
            raise FilterError("cursor", str(exc)) from None

    def query_string(self, cursor: PostCursor | None = None) -> str:
        """These filters (only those set) plus a cursor, for links to other pages."""
        pairs: list[tuple[str, str]] = [
            (name, value)
            for name, value in (
                ("network", self.network),
                ("author", self.author),
                ("contains", self.contains),
                ("since", self.since),
                ("until", self.until),
            )
            if value
        ]
        if self.deleted:
            pairs.append(("deleted", "on"))
        if self.unique:
            pairs.append(("unique", "on"))
        if self.limit != DEFAULT_PAGE_SIZE:
            pairs.append(("limit", str(self.limit)))
        if cursor is not None:
            pairs.append(("cursor", cursor.encode()))
        return urlencode(pairs)
