"""Post filters as they arrive in a query string, checked once for both the pages and the API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from hubbub.core.clock import parse_timestamp
from hubbub.posts.queries import PostFilter
from hubbub.web.queries import PostCursor

PAGE_SIZES = (10, 25, 50, 100, 200)
DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
_MAX_LENGTH = {"network": 32, "author": 512, "contains": 500}
_TRUE = {"1", "true", "on", "yes"}
_FALSE = {"", "0", "false", "off", "no"}


class FilterError(ValueError):
    """One query parameter that cannot be used, with the reason shown to the user."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


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
