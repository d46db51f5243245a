"""What a message about a finished Dagster run says (plain Python, no Dagster import)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Literal

from jump_platform import settings

# Errors can carry whole tracebacks; a notification only needs enough to recognise the failure.
MAX_ERROR_CHARS = 2000

RunOutcome = Literal["FAILURE", "SUCCESS"]


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
    return settings.read("ui_url").rstrip("/")


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
