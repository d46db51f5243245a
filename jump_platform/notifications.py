"""Run notifications: what a message about a Dagster run says, and where it is delivered.

This is the Dagster-native successor of the email n8n used to send. Plain Python with no Dagster import:
the sensors in `jump_platform/defs/notifications/sensors.py` turn a run into a `Notification` and call
`send_notification`, and the tests call both directly.

Where a message goes is decided at send time from environment variables, first match wins:

1. `JUMP_NOTIFY_WEBHOOK`: a JSON POST to that URL (the body carries a `text` field, so Slack or Mattermost
   incoming webhooks display it as is). The URL must be `https://`, or `http://` to a loopback address;
   redirects are not followed; the URL, which often carries a token, is never written to a log;
2. `JUMP_SMTP_HOST`: an email through that SMTP server (`JUMP_SMTP_PORT`, default 25, or 465 with SMTPS;
   `JUMP_SMTP_FROM`; `JUMP_SMTP_TO`, a comma-separated list; optional `JUMP_SMTP_USER` / `JUMP_SMTP_PASSWORD`;
   `JUMP_SMTP_STARTTLS` truthy to upgrade the connection, or `JUMP_SMTP_SSL` truthy for SMTPS, both
   verifying the server's certificate). A password is only ever sent encrypted: with credentials and
   neither STARTTLS nor SMTPS, the email is refused, unless `JUMP_SMTP_ALLOW_PLAINTEXT=true` says so;
3. otherwise one JSON line appended to `<data dir>/notifications.log` (`JUMP_DATA_DIR`, default `data/`).

A delivery that fails is logged and the message falls back to the log file, with the reason, so that no
notification is ever lost silently. Like `jump_platform.settings`, every variable is read when a message is
built or sent, never at import time.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import os
import smtplib
import ssl
import urllib.parse
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Literal

from jump_platform import settings

logger = logging.getLogger(__name__)

DEFAULT_UI_URL = "http://127.0.0.1:3000"
DEFAULT_SMTP_PORT = 25
DEFAULT_SMTPS_PORT = 465
DEFAULT_SMTP_FROM = "jump-platform@localhost"
# Seconds to wait for a webhook or an SMTP server before falling back to the log file. Short, because a
# sensor tick that hangs delays every other notification.
SEND_TIMEOUT_SECONDS = 10.0
# Errors can carry whole tracebacks; a notification only needs enough to recognise the failure.
MAX_ERROR_CHARS = 2000
LOG_FILE_NAME = "notifications.log"

RunOutcome = Literal["FAILURE", "SUCCESS"]
Channel = Literal["webhook", "smtp", "log"]

_TRUTHY = {"1", "true", "yes", "on", "y"}


def _env(name: str) -> str:
    return os.environ.get(name, "").strip()


def is_truthy(value: str | None) -> bool:
    """Whether an environment variable's value means "on" (1, true, yes, on, y; any case)."""
    return value is not None and value.strip().lower() in _TRUTHY


@dataclass(frozen=True)
class FailedStep:
    """One step of a run that failed, and why."""

    step_key: str
    error: str


@dataclass(frozen=True)
class Notification:
    """Everything a person needs to know about a finished run, without opening Dagster."""

    status: RunOutcome
    run_id: str
    job_name: str
    # What the run was, for a human: the job's name, or the assets of an ad hoc materialization.
    run_name: str
    run_url: str
    failed_steps: tuple[FailedStep, ...] = ()
    error: str | None = None
    partition_key: str | None = None
    occurred_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))

    @property
    def subject(self) -> str:
        """A one-line summary, used as the email subject and the first line of every message."""
        verb = "failed" if self.status == "FAILURE" else "succeeded"
        partition = f" [partition {self.partition_key}]" if self.partition_key else ""
        steps = ""
        if self.failed_steps:
            steps = " at step " + ", ".join(step.step_key for step in self.failed_steps)
        return f"[jump_platform] Run {verb}: {self.run_name}{partition}{steps} (run {self.run_id[:8]})"

    @property
    def text(self) -> str:
        """The full message as plain text: summary, failed steps with their errors, link to the run."""
        lines = [self.subject, "", f"Job: {self.job_name}", f"Run: {self.run_id}"]
        if self.partition_key:
            lines.append(f"Partition: {self.partition_key}")
        for step in self.failed_steps:
            lines += ["", f"Failed step: {step.step_key}", step.error]
        if self.error and not self.failed_steps:
            lines += ["", f"Error: {self.error}"]
        lines += ["", f"Open the run: {self.run_url}"]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, object]:
        """The notification as JSON-ready data: every field, plus `subject` and `text` for chat webhooks."""
        return {**asdict(self), "subject": self.subject, "text": self.text}


def ui_base_url() -> str:
    """The Dagster UI's address, from `JUMP_UI_URL` (default `http://127.0.0.1:3000`), without trailing slash."""
    return (_env("JUMP_UI_URL") or DEFAULT_UI_URL).rstrip("/")


def run_url(run_id: str) -> str:
    """The link to a run's page in the Dagster UI."""
    return f"{ui_base_url()}/runs/{run_id}"


def readable_run_name(job_name: str, asset_keys: Sequence[str] = ()) -> str:
    """A run's name for a human.

    Runs launched from the asset graph belong to hidden jobs whose names start with `__`
    (`__ASSET_JOB`, `__ephemeral_asset_job__`); those are named by the assets they materialize instead.
    """
    if not job_name.startswith("__"):
        return job_name
    if not asset_keys:
        return "asset materialization"
    shown = ", ".join(asset_keys[:5])
    more = f" and {len(asset_keys) - 5} more" if len(asset_keys) > 5 else ""
    return f"materialization of {shown}{more}"


def truncate(text: str, limit: int = MAX_ERROR_CHARS) -> str:
    """`text` cut to at most `limit` characters, marking the cut."""
    text = text.strip()
    marker = " ... [truncated]"
    return text if len(text) <= limit else text[: limit - len(marker)] + marker


def build_notification(
    *,
    status: RunOutcome,
    run_id: str,
    job_name: str,
    failed_steps: Sequence[FailedStep] = (),
    error: str | None = None,
    asset_keys: Sequence[str] = (),
    partition_key: str | None = None,
) -> Notification:
    """Assemble the notification for one finished run; the link to the run uses `JUMP_UI_URL`."""
    return Notification(
        status=status,
        run_id=run_id,
        job_name=job_name,
        run_name=readable_run_name(job_name, asset_keys),
        run_url=run_url(run_id),
        failed_steps=tuple(FailedStep(step.step_key, truncate(step.error)) for step in failed_steps),
        error=truncate(error) if error else None,
        partition_key=partition_key,
    )


def notifications_log_path() -> Path:
    """`<data dir>/notifications.log`, the delivery of last resort (default `data/notifications.log`)."""
    return settings.data_dir() / LOG_FILE_NAME


def check_webhook_url(url: str, setting: str = "JUMP_NOTIFY_WEBHOOK") -> None:
    """Refuse a webhook URL that would send the message (and its token) in clear over a network:
    only `https://`, or `http://` to a loopback address, is accepted. The error names the `setting`
    the URL came from, never the URL."""
    parsed = urllib.parse.urlsplit(url)
    host = parsed.hostname or ""
    if parsed.scheme == "https" and host:
        return
    if parsed.scheme == "http" and host:
        try:
            loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
        except ValueError:
            loopback = False
        if loopback:
            return
        raise ValueError(
            f"{setting} must be https:// (http:// is accepted to a loopback address only, such as 127.0.0.1)"
        )
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
    recipients = [address.strip() for address in _env("JUMP_SMTP_TO").split(",") if address.strip()]
    if not recipients:
        raise ValueError("JUMP_SMTP_HOST is set but JUMP_SMTP_TO names no recipient")
    smtps, starttls = is_truthy(_env("JUMP_SMTP_SSL")), is_truthy(_env("JUMP_SMTP_STARTTLS"))
    user = _env("JUMP_SMTP_USER")
    if user and not (smtps or starttls) and not is_truthy(_env("JUMP_SMTP_ALLOW_PLAINTEXT")):
        raise ValueError(
            "JUMP_SMTP_USER is set but the connection would not be encrypted, so the password is not sent: "
            "set JUMP_SMTP_STARTTLS=true or JUMP_SMTP_SSL=true (or JUMP_SMTP_ALLOW_PLAINTEXT=true to send it in clear)"
        )
    message = EmailMessage()
    message["Subject"] = notification.subject
    message["From"] = _env("JUMP_SMTP_FROM") or DEFAULT_SMTP_FROM
    message["To"] = ", ".join(recipients)
    message.set_content(notification.text)

    # A verifying context: smtplib's default would accept any certificate.
    context = ssl.create_default_context()
    port = int(_env("JUMP_SMTP_PORT") or (DEFAULT_SMTPS_PORT if smtps else DEFAULT_SMTP_PORT))
    if smtps:
        connection = smtplib.SMTP_SSL(_env("JUMP_SMTP_HOST"), port, timeout=timeout, context=context)
    else:
        connection = smtplib.SMTP(_env("JUMP_SMTP_HOST"), port, timeout=timeout)
    with connection as smtp:
        if starttls and not smtps:
            smtp.starttls(context=context)
        if user:
            # The password is taken as is: leading or trailing spaces may be part of it.
            smtp.login(user, os.environ.get("JUMP_SMTP_PASSWORD", ""))
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

    Falls back to the log file, recording why, when the webhook or the SMTP server fails. Only a failure
    to write the log file itself raises, so that the sensor tick shows the error in the UI.
    """
    log_path = notifications_log_path()
    webhook = _env("JUMP_NOTIFY_WEBHOOK")
    smtp_host = _env("JUMP_SMTP_HOST")

    channel: Channel | None = None
    try:
        if webhook:
            channel = "webhook"
            post_to_webhook(notification, webhook)
            return channel
        if smtp_host:
            channel = "smtp"
            send_email(notification)
            return channel
    except Exception as error:  # noqa: BLE001 (any delivery failure must end in the log file, not vanish)
        reason = f"{channel} delivery failed: {type(error).__name__}: {error}"
        if webhook:
            # The URL may carry a token: never in a log, even inside an error message.
            reason = reason.replace(webhook, "<JUMP_NOTIFY_WEBHOOK>")
        logger.error("Notification for run %s: %s; appending it to %s", notification.run_id, reason, log_path)
        append_to_log(notification, log_path, delivery_error=reason)
        return "log"

    append_to_log(notification, log_path)
    return "log"
