"""Hubbub's settings: one typed class read from ``HUBBUB_*`` environment variables.

Every field carries a description; ``docs/settings.md`` is tested against this class.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hubbub.core.errors import ConfigError


def _names(value: Any) -> Any:
    """A list setting from the environment: a JSON list, or names separated by commas."""
    if not isinstance(value, str):
        return value
    text = value.strip()
    if text.startswith("["):
        return json.loads(text)  # a malformed list is a validation error naming the variable
    return [name.strip() for name in text.split(",") if name.strip()]


#: A list of names (hosts), given as ``a,b`` or as JSON ``["a", "b"]``.
Names = Annotated[list[str], NoDecode, BeforeValidator(_names)]


class Settings(BaseSettings):
    """Runtime configuration; each field maps to ``HUBBUB_<FIELD>``."""

    model_config = SettingsConfigDict(env_prefix="HUBBUB_", env_file=None, extra="ignore")

    home: Path = Field(
        default=Path(".hubbub"),
        description="Folder for the embedded SQLite database and local state.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy URL of the database; empty means SQLite at HOME/hubbub.db. "
            "PostgreSQL: postgresql+psycopg://user@host/db."
        ),
    )
    secret_key: SecretStr | None = Field(
        default=None,
        description=(
            "Key that encrypts stored credentials (Fernet, urlsafe base64 of 32 bytes); "
            "empty means a key generated once into HOME/secret.key."
        ),
    )
    max_payload_bytes: int = Field(
        default=1_000_000,
        ge=1024,
        description="Largest raw payload (one event, one HTTP body after decompression) accepted.",
    )
    max_future_skew_seconds: int = Field(
        default=86_400,
        ge=0,
        description="Posts dated further than this in the future are rejected as bad timestamps.",
    )
    allow_private_addresses: bool = Field(
        default=False,
        description=(
            "Allow fetching URLs that resolve to loopback, private or link-local addresses "
            "(off by default against SSRF)."
        ),
    )
    allowed_private_hosts: Names = Field(
        default_factory=list,
        description="Host names or IPs that may resolve to private addresses even when refused.",
    )
    http_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Connect and read timeout of outgoing HTTP requests."
    )
    user_agent: str = Field(
        default="Hubbub/0.1 (+https://github.com/hubbub-social/hubbub)",
        description="User-Agent sent with every outgoing request.",
    )
    extra_shorteners: Names = Field(
        default_factory=list,
        description=(
            "Hosts whose links only redirect (e.g. the brand's own short domain), resolved to "
            "where they lead like the built-in list (bit.ly, t.co, buff.ly …)."
        ),
    )
    source_rescan_seconds: float = Field(
        default=10.0,
        gt=0,
        le=3600,
        description=(
            "How often a running listener reads the sources again, to start added ones and "
            "restart or stop changed, disabled or removed ones."
        ),
    )
    ingest_batch_size: int = Field(
        default=500, ge=1, le=10_000, description="Events written per ingest transaction."
    )
    ingest_commit_batches: int = Field(
        default=1,
        ge=1,
        le=64,
        description=(
            "Batches a long import may write in one transaction when its prepare worker is "
            "ahead of the writer (fewer commits rewrite fewer index pages: worth it where the "
            "writer, not the prepare worker, is the bottleneck); a live stream whose next "
            "batch is not ready yet still commits each batch at once."
        ),
    )
    ingest_prepare_workers: int = Field(
        default=1,
        ge=0,
        le=1,
        description=(
            "Processes that decode and prepare the next batches of a long import while the "
            "current one is written (0: all in one process). Short inputs never start one."
        ),
    )
    ingest_batch_seconds: float = Field(
        default=0.5,
        gt=0,
        description="Longest wait before a partial batch is written (bounds latency).",
    )
    dead_letter_max_bytes: int = Field(
        default=16_000_000,
        ge=1024,
        description="Bytes of a refused payload kept in the dead-letter store (the rest is cut).",
    )
    near_duplicate_min_chars: int = Field(
        default=24,
        ge=1,
        description="Shortest normalised text that takes part in near-duplicate linking.",
    )
    sentiment_tier: Literal["default", "ml"] = Field(
        default="default",
        description=(
            "Which tier labels the sentiment of matched posts: `default` (always there, fast) "
            "or `ml` (`pip install 'hubbub[ml]'`; about 120 matched posts/s in the pipeline on "
            "2 cores, and a workspace's calibration from corrections applies to the default "
            "tier only; docs/sentiment.md)."
        ),
    )
    sentiment_ml_precision: Literal["auto", "float32", "bfloat16", "int8"] = Field(
        default="auto",
        description=(
            "Arithmetic of the `ml` tier's encoder. `auto`: float32, or bfloat16 where the CPU "
            "has native bf16 and it times faster at load. `float32`: the same vectors on every "
            "machine. `int8`: about 1.4 times float32 on an AVX2-only 2-core machine at the "
            "same measured accuracy, but about 3% of labels depend on which posts share a "
            "batch (docs/sentiment.md)."
        ),
    )
    keep: Literal["concerned", "all"] = Field(
        default="concerned",
        description=(
            "Which posts a workspace stores: `concerned` keeps posts matching one of its topics, "
            "posts addressed to its own accounts, replies and reshares/quotes in threads it "
            "already holds, and counts the rest; `all` keeps every post. A workspace without "
            "topics keeps everything (docs/listening.md)."
        ),
    )

    allowed_hosts: Names = Field(
        default_factory=lambda: ["127.0.0.1", "localhost"],
        description=(
            "Host header names the web app answers (others get 400, which also stops DNS "
            "rebinding); add the public name when serving beyond loopback."
        ),
    )
    cookie_secure: bool = Field(
        default=False,
        description=(
            "Mark cookies Secure even on plain-HTTP requests (set it behind a TLS proxy); "
            "requests that arrive over HTTPS always get Secure cookies."
        ),
    )
    session_hours: float = Field(
        default=336.0, gt=0, description="How long a browser stays signed in (default 14 days)."
    )
    one_time_password_hours: float = Field(
        default=72.0,
        gt=0,
        le=8760,
        description=(
            "How long a password Hubbub made up (a new member's, the demo owner's) signs in;"
            " later, an owner issues another."
        ),
    )
    login_max_failures_per_account: int = Field(
        default=5,
        ge=1,
        description="Failed sign-ins to one account within the throttle window before it waits.",
    )
    login_max_failures_per_address: int = Field(
        default=20,
        ge=1,
        description="Failed sign-ins from one client address within the window before it waits.",
    )
    login_throttle_seconds: int = Field(
        default=900, ge=1, description="Window over which failed sign-ins are counted."
    )
    public_url: str | None = Field(
        default=None,
        description=(
            "Base URL of the web app in links sent by e-mail (e.g. https://hubbub.example.com); "
            "empty means the scheme and host of the request."
        ),
    )
    smtp_host: str | None = Field(
        default=None,
        description="SMTP server for e-mail (password reset links); empty turns e-mail off.",
    )
    smtp_port: int = Field(default=587, ge=1, le=65535, description="Port of the SMTP server.")
    smtp_username: str | None = Field(
        default=None, description="SMTP user name; empty means no authentication."
    )
    smtp_password: SecretStr | None = Field(default=None, description="SMTP password.")
    smtp_from: str | None = Field(
        default=None, description="Sender address of Hubbub's e-mail; needed with SMTP_HOST."
    )
    smtp_starttls: bool = Field(
        default=True, description="Upgrade the SMTP connection with STARTTLS before sending."
    )
    password_reset_minutes: int = Field(
        default=60, ge=5, le=1440, description="How long an e-mailed password reset link works."
    )
    webhook_max_attempts: int = Field(
        default=10, ge=1, le=50, description="Attempts at one webhook delivery before it is dead."
    )
    webhook_backoff_seconds: float = Field(
        default=30.0,
        gt=0,
        description="Wait before the second webhook attempt; doubled each time, with jitter.",
    )
    webhook_backoff_max_seconds: float = Field(
        default=21_600.0, gt=0, description="Longest wait between two webhook attempts."
    )
    webhook_timeout_seconds: float = Field(
        default=10.0, gt=0, description="How long a webhook receiver may take to answer."
    )
    mastodon_limits_timeout_seconds: float = Field(
        default=3.0,
        gt=0,
        le=60,
        description=(
            "How long a page waits for a Mastodon server to say its reply length limit; a server "
            "that does not answer in time gets Mastodon's default (500) for five minutes."
        ),
    )

    @property
    def effective_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.home / 'hubbub.db').resolve()}"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings, read once; a value that does not validate is a ConfigError
    naming the variable (never its value, which may be a secret)."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = [
            f"HUBBUB_{'_'.join(str(part) for part in error['loc']).upper()}: {error['msg']}"
            for error in exc.errors()
        ]
        raise ConfigError("; ".join(problems)) from None


def settings_markdown() -> str:
    """The settings reference page (docs/settings.md), generated so it never drifts."""
    lines = [
        "# Settings",
        "",
        "Hubbub reads its settings from environment variables (`HUBBUB_*`). This page is",
        "generated from `hubbub.settings.Settings`; a test fails when the two differ.",
        "A value that does not validate stops the command with one line naming the variable",
        "(not its value) and exit code 2.",
        "",
        "| variable | default | meaning |",
        "|---|---|---|",
    ]
    for name, field in Settings.model_fields.items():
        if field.default_factory is not None:
            default = repr(field.default_factory())  # type: ignore[call-arg]
        else:
            value = field.default
            default = (
                "(none)"
                if value is None
                else str(value)
                if isinstance(value, Path)
                else repr(value)
            )
        description = (field.description or "").replace("|", "\\|")
        lines.append(f"| `HUBBUB_{name.upper()}` | `{default}` | {description} |")
    lines += [
        "",
        "Lists are names separated by commas",
        "(`HUBBUB_ALLOWED_PRIVATE_HOSTS=127.0.0.1,feeds.lan`)",
        "or a JSON list (`'[\"127.0.0.1\"]'`).",
        "",
    ]
    return "\n".join(lines)
