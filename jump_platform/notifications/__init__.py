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

The modules: `message` (what a message says) and `delivery` (where it goes).
"""

from jump_platform.notifications.delivery import check_webhook_url, send_notification
from jump_platform.notifications.message import (
    FailedStep,
    Notification,
    build_notification,
    readable_run_name,
)

__all__ = [
    "FailedStep",
    "Notification",
    "build_notification",
    "check_webhook_url",
    "readable_run_name",
    "send_notification",
]
