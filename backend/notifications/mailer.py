"""Sending one e-mail over SMTP (or into the log when no SMTP server is configured)."""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import make_msgid

import structlog

from backend.config import Settings

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Mail:
    """A plain-text e-mail."""

    to: tuple[str, ...]
    subject: str
    body: str


def send(settings: Settings, mail: Mail) -> None:
    """Send ``mail`` through ``PODIUM_SMTP_*``; raises on an SMTP failure (the job retries).

    Without ``PODIUM_SMTP_HOST`` the e-mail is written to the log instead (development).
    """
    if not mail.to:
        return
    if not settings.smtp_host:
        log.info("mail.not_sent_no_smtp", to=list(mail.to), subject=mail.subject, body=mail.body)
        return
    message = EmailMessage()
    message["From"] = settings.mail_from
    message["To"] = ", ".join(mail.to)
    message["Subject"] = mail.subject
    message["Message-ID"] = make_msgid(domain="podium")
    message.set_content(mail.body)
    smtp_class = smtplib.SMTP_SSL if settings.smtp_ssl else smtplib.SMTP
    with smtp_class(
        settings.smtp_host, settings.smtp_port, timeout=settings.smtp_timeout_s
    ) as smtp:
        if settings.smtp_starttls and not settings.smtp_ssl:
            smtp.starttls(context=ssl.create_default_context())
        if settings.smtp_username:
            smtp.login(settings.smtp_username, settings.smtp_password)
        smtp.send_message(message)
    log.info("mail.sent", to=list(mail.to), subject=mail.subject)
