"""Sensors that report finished runs: every failure, and successful runs when `JUMP_NOTIFY_SUCCESS` is on.

Thin wiring around `jump_platform.notifications`, which builds and delivers the messages. These sensors only
read the Dagster instance's event log: they never open the lakehouse.
"""

from __future__ import annotations

from typing import Any

import dagster as dg

from jump_platform import settings
from jump_platform.notifications import FailedStep, Notification, build_notification, send_notification


def error_text(error: Any | None) -> str:
    """The messages of a Dagster error and of its causes, one per line, without stack traces.

    `error` is the `SerializableErrorInfo` carried by failure events (not exported by `dagster`, hence `Any`).
    The wrapping Dagster error ("Error occurred while executing op ...") comes first, the user's exception
    (e.g. "ValueError: amount must be positive") after it.
    """
    messages: list[str] = []
    while error is not None:
        messages.append(error.message.strip().removeprefix("dagster._core.errors."))
        error = error.cause
    return "\n".join(message for message in messages if message)


def _asset_keys(run: dg.DagsterRun) -> list[str]:
    return sorted(key.to_user_string() for key in (run.asset_selection or ()))


def failure_notification(context: dg.RunFailureSensorContext) -> Notification:
    """The notification for a failed run: its job, each failed step with its error, and the run's link."""
    run = context.dagster_run
    failed_steps = [
        FailedStep(step_key=event.step_key or "?", error=error_text(event.event_specific_data.error))
        for event in context.get_step_failure_events()
    ]
    # A run can also fail outside any step (run worker crash, bad config): the run failure event then
    # holds the only explanation, in its error or its message.
    failure = context.failure_event
    run_error = getattr(failure.event_specific_data, "error", None)
    return build_notification(
        status="FAILURE",
        run_id=run.run_id,
        job_name=run.job_name,
        failed_steps=failed_steps,
        error=error_text(run_error) or failure.message,
        asset_keys=_asset_keys(run),
        partition_key=run.tags.get("dagster/partition"),
    )


@dg.run_failure_sensor(
    name="notify_on_run_failure",
    description=(
        "Reports every failed run of this code location, with its failed steps, their errors and a link to"
        " the run, to JUMP_NOTIFY_WEBHOOK, the JUMP_SMTP_* server or data/notifications.log."
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def notify_on_run_failure(context: dg.RunFailureSensorContext) -> None:
    """Send one notification per failed run."""
    notification = failure_notification(context)
    channel = send_notification(notification)
    context.log.info(f"Reported failed run {notification.run_id} ({notification.run_name}) via {channel}.")


@dg.run_status_sensor(
    name="notify_on_run_success",
    run_status=dg.DagsterRunStatus.SUCCESS,
    description=(
        "Reports successful runs of this code location, only while the environment variable"
        " JUMP_NOTIFY_SUCCESS is true (read at every tick, so no reload is needed)."
    ),
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def notify_on_run_success(context: dg.RunStatusSensorContext) -> None:
    """Send one notification per successful run, when `JUMP_NOTIFY_SUCCESS` is on."""
    # Returning None (not a SkipReason) lets the sensor move on to the next finished run in the same tick.
    if not settings.read("notify_success"):
        return
    run = context.dagster_run
    notification = build_notification(
        status="SUCCESS",
        run_id=run.run_id,
        job_name=run.job_name,
        asset_keys=_asset_keys(run),
        partition_key=run.tags.get("dagster/partition"),
    )
    channel = send_notification(notification)
    context.log.info(f"Reported successful run {notification.run_id} ({notification.run_name}) via {channel}.")
