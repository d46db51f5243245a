"""Where a notification is delivered: a webhook, an email, or the log file (see the package)."""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import urllib.parse
import urllib.request
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from jump_platform import settings
from jump_platform.notifications.message import Notification

logger = logging.getLogger(__name__)

DEFAULT_SMTP_PORT = 25
DEFAULT_SMTPS_PORT = 465
DEFAULT_SMTP_FROM = "jump-platform@localhost"
# Seconds to wait for a webhook or an SMTP server before falling back to the log file. Short, because a
# sensor tick that hangs delays every other notification.
SEND_TIMEOUT_SECONDS = 10.0
LOG_FILE_NAME = "notifications.log"

Channel = Literal["webhook", "smtp", "log"]


def notifications_log_path() -> Path:
    """`<data dir>/notifications.log`, the delivery of last resort (default `data/notifications.log`)."""
    return settings.data_dir() / LOG_FILE_NAME


def check_webhook_url(url: str, setting: str = "JUMP_NOTIFY_WEBHOOK") -> None:
    """Refuse a webhook URL that would send the message (and its token) in clear over a network:
    only `https://`, or `http://` to a loopback address, is accepted. The error names the `setting`
    the URL came from, never the URL."""
    if settings.is_private_url(url):
        return
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    if parsed.scheme == "http" and host:
        raise ValueError(f"{setting} must be https:// (http:// is accepted to a loopback address only, such as 127.0.0.1)")
    raise ValueError(
        f"{setting} must be an https:// URL (or http:// to a loopback address), found scheme {parsed.scheme!r}"
        + ("" if host else " without a host")
    )


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect could send the message elsewhere, even in clear: answer 3xx is an error instead."""

    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


def post_to_webhook(notification: Notification, url: str, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """POST the notification as JSON to `url`; raise if the server does not answer with a 2xx status."""
    check_webhook_url(url)
    request = urllib.request.Request(
        url,
        data=json.dumps(notification.to_dict()).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "jump_platform-notifications"},
        method="POST",
    )
    # The opener raises HTTPError for 4xx/5xx (and 3xx) answers and URLError when nobody listens.
    with urllib.request.build_opener(_NoRedirect).open(request, timeout=timeout) as response:
        if not 200 <= response.status < 300:
            raise RuntimeError(f"webhook answered HTTP {response.status}")


def send_email(notification: Notification, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
    """Email the notification through the SMTP server described by the `JUMP_SMTP_*` variables."""
    recipients = list(settings.read("smtp_to"))
    if not recipients:
        raise ValueError("JUMP_SMTP_HOST is set but JUMP_SMTP_TO names no recipient")
    smtps, starttls = settings.read("smtp_ssl"), settings.read("smtp_starttls")
    user = settings.read("smtp_user")
    if user and not (smtps or starttls) and not settings.read("smtp_allow_plaintext"):
        raise ValueError(
            "JUMP_SMTP_USER is set but the connection would not be encrypted, so the password is not sent: "
            "set JUMP_SMTP_STARTTLS=true or JUMP_SMTP_SSL=true (or JUMP_SMTP_ALLOW_PLAINTEXT=true to send it in clear)"
        )
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = settings.read("smtp_from") or DEFAULT_SMTP_FROM
    message["To"] = ", ".join(recipients)
    message.set_content(notification.text)

    # A verifying context: smtplib's default would accept any certificate.
    context = ssl.create_default_context()
    port = settings.read("smtp_port") or (DEFAULT_SMTPS_PORT if smtps else DEFAULT_SMTP_PORT)
    host = settings.read("smtp_host")
    if smtps:
        connection = smtplib.SMTP_SSL(host, port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(host, port, timeout=timeout)
    with connection as smtp:
        if starttls and not smtps:
            smtp.starttls(context=context)
        if user:
            # The password is taken as is: leading or trailing spaces may be part of it.
            smtp.login(user, settings.read("smtp_password") or "")
        smtp.send_message(message)


def append_to_log(notification: Notification, path: Path, delivery_error: str | None = None) -> None:
    """Append the notification as one JSON line to `path`, creating its folder if needed."""
    record = notification.to_dict()
    if delivery_error:
        record["delivery_error"] = delivery_error
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log_file:
        log_file.write(json.dumps(record, ensure_ascii=False) + "\n")


def send_notification(notification: Notification) -> Channel:
    """Deliver the notification to the configured channel and return the channel that received it.

    Falls back to the log file, recording why, when the webhook or the SMTP server fails, or when its
    setting cannot be used (the code location refuses to load with one, but the environment of a
    long-running process may change). Only a failure to write the log file itself raises, so that
    the sensor tick shows the error in the UI.
    """
    log_path = notifications_log_path()
    webhook: str | None = None
    channel: Channel | None = None
    try:
        channel = "webhook"
        webhook = settings.read("notify_webhook")
        channel = "smtp"
        smtp_host = settings.read("smtp_host")
        channel = None
        if webhook:
            channel = "webhook"
            post_to_webhook(notification, webhook)
            return channel
        if smtp_host:
            channel = "smtp"
            send_email(notification)
            return channel
    except Exception as error:
        reason = f"{channel} delivery failed: {type(error).__name__}: {error}"
        if webhook:
            # The URL may carry a token: never in a log, even inside an error message.
            reason = reason.replace(webhook, "<JUMP_NOTIFY_WEBHOOK>")
        logger.error("Notification for run %s: %s; appending it to %s", notification.run_id, reason, log_path)
        append_to_log(notification, log_path, delivery_error=reason)
        return "log"

    append_to_log(notification, log_path)
    return "log"
