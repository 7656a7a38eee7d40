"""Mail to users through the configured SMTP server: password resets, @-mentions, reports."""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage

from hubbub.settings import Settings


def smtp_ready(settings: Settings) -> bool:
    """Whether Hubbub can send mail at all (a server and a sender address are set)."""
    return bool(settings.smtp_host and settings.smtp_from)


def smtp_send(settings: Settings, message: EmailMessage) -> None:
    """Hand the message to the configured server; raises OSError or SMTPException."""
    assert settings.smtp_host is not None
    with smtplib.SMTP(
        settings.smtp_host, settings.smtp_port, timeout=settings.http_timeout_seconds
    ) as smtp:
        if settings.smtp_starttls:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            password = settings.smtp_password
            smtp.login(settings.smtp_username, password.get_secret_value() if password else "")
        smtp.send_message(message)
