"""Run notifications, delivered to real local receivers: an HTTP server, an SMTP server and the log file.

Every receiver listens on 127.0.0.1 on a port the OS picks. Deliveries are synchronous (the HTTP handler and
the SMTP handler record the message before answering), so no test has to wait for anything.
"""

from __future__ import annotations

import json
import logging
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from jump_platform.defs.notifications.sensors import notify_on_run_failure, notify_on_run_success
from jump_platform.notifications import (
    FailedStep,
    Notification,
    build_notification,
    check_webhook_url,
    readable_run_name,
    send_notification,
)

NOTIFICATION_VARIABLES = [
    "JUMP_NOTIFY_WEBHOOK",
    "JUMP_NOTIFY_SUCCESS",
    "JUMP_UI_URL",
    "JUMP_SMTP_HOST",
    "JUMP_SMTP_PORT",
    "JUMP_SMTP_FROM",
    "JUMP_SMTP_TO",
    "JUMP_SMTP_USER",
    "JUMP_SMTP_PASSWORD",
    "JUMP_SMTP_STARTTLS",
    "JUMP_SMTP_SSL",
    "JUMP_SMTP_ALLOW_PLAINTEXT",
]


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No notification setting leaks in from the shell, and the log file lands in a temporary data dir."""
    for name in NOTIFICATION_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    data_dir = tmp_path / "data"
    monkeypatch.setenv("JUMP_DATA_DIR", str(data_dir))
    return data_dir


def read_log(data_dir: Path) -> list[dict[str, object]]:
    return [json.loads(line) for line in (data_dir / "notifications.log").read_text().splitlines()]


# --- receivers ---------------------------------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    url: str
    bodies: list[dict[str, object]] = field(default_factory=list)
    content_types: list[str] = field(default_factory=list)
    answer_status: int = 200
    location: str | None = None  # sent with the answer, to play a redirect
    gets: int = 0


@pytest.fixture
def webhook() -> Iterator[WebhookReceiver]:
    """An HTTP server on 127.0.0.1 that records each JSON body POSTed to it."""
    receiver = WebhookReceiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # name imposed by http.server
            length = int(self.headers["Content-Length"])
            receiver.bodies.append(json.loads(self.rfile.read(length)))
            receiver.content_types.append(self.headers["Content-Type"])
            self.send_response(receiver.answer_status)
            if receiver.location:
                self.send_header("Location", receiver.location)
            self.end_headers()

        def do_GET(self) -> None:  # what a followed 302 would send
            receiver.gets += 1
            self.send_response(200)
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # silence request logging
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/jump"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


class _LoopbackController(Controller):
    """An aiosmtpd controller that may listen on port 0: it learns the port the OS picked before the
    controller's own start-up connection uses it."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@dataclass
class SmtpReceiver:
    port: int
    envelopes: list[Envelope] = field(default_factory=list)
    logins: list[tuple[str, str]] = field(default_factory=list)

    def messages(self) -> list[Message]:
        return [message_from_bytes(envelope.original_content or b"") for envelope in self.envelopes]


def _start_smtp(**controller_options: object) -> tuple[_LoopbackController, SmtpReceiver]:
    receiver = SmtpReceiver(port=0)

    class Handler:
        async def handle_DATA(self, server: object, session: Session, envelope: Envelope) -> str:  # noqa: N802 (aiosmtpd's name)
            receiver.envelopes.append(envelope)
            return "250 Message accepted for delivery"

    controller = _LoopbackController(Handler(), hostname="127.0.0.1", port=0, server_hostname="localhost", **controller_options)
    controller.start()
    receiver.port = controller.port
    return controller, receiver


@pytest.fixture
def smtp() -> Iterator[SmtpReceiver]:
    """An SMTP server on 127.0.0.1 that records every email it accepts."""
    controller, receiver = _start_smtp()
    try:
        yield receiver
    finally:
        controller.stop()


@pytest.fixture
def smtp_with_login() -> Iterator[SmtpReceiver]:
    """An SMTP server that demands AUTH (over plain text: loopback only) and accepts jump / s3cret."""
    receiver_holder: list[SmtpReceiver] = []

    def authenticator(server: object, session: Session, envelope: Envelope, mechanism: str, data: object) -> AuthResult:
        assert isinstance(data, LoginPassword)
        login, password = data.login.decode(), data.password.decode()
        receiver_holder[0].logins.append((login, password))
        return AuthResult(success=(login, password) == ("jump", "s3cret"))

    controller, receiver = _start_smtp(authenticator=authenticator, auth_required=True, auth_require_tls=False)
    receiver_holder.append(receiver)
    try:
        yield receiver
    finally:
        controller.stop()


@dataclass
class TlsIdentity:
    certificate: Path
    key: Path


@pytest.fixture
def loopback_certificate(tmp_path: Path) -> TlsIdentity:
    """A self-signed certificate for 127.0.0.1, made with the openssl command line tool."""
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is needed to make a test certificate")
    identity = TlsIdentity(certificate=tmp_path / "smtp.crt", key=tmp_path / "smtp.key")
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
         "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(identity.key), "-out", str(identity.certificate)],
        check=True,
        capture_output=True,
        timeout=30,
    )  # fmt: skip
    return identity


@pytest.fixture
def smtp_with_starttls(loopback_certificate: TlsIdentity) -> Iterator[SmtpReceiver]:
    """An SMTP server that refuses mail until the client upgrades the connection with STARTTLS."""
    tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_context.load_cert_chain(loopback_certificate.certificate, loopback_certificate.key)
    controller, receiver = _start_smtp(tls_context=tls_context, require_starttls=True)
    try:
        yield receiver
    finally:
        controller.stop()


def closed_loopback_port() -> int:
    """A loopback port nobody listens on: connecting to it is refused at once."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def invoice_failure() -> Notification:
    return build_notification(
        status="FAILURE",
        run_id="0f1e2d3c-aaaa-bbbb-cccc-000000000001",
        job_name="daily_refresh",
        failed_steps=[FailedStep("staging__app__invoices", "ValueError: amount must be positive")],
        error='Execution of run for "daily_refresh" failed.',
        partition_key="2026-11",
    )


# --- webhook -----------------------------------------------------------------------------------------------


def test_failed_run_notification_is_posted_as_json_to_the_webhook(
    webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    monkeypatch.setenv("JUMP_NOTIFY_WEBHOOK", webhook.url)
    monkeypatch.setenv("JUMP_UI_URL", "https://dagster.jump.example/")

    channel = send_notification(invoice_failure())

    assert channel == "webhook"
    assert webhook.content_types == ["application/json"]
    [body] = webhook.bodies
    assert body["status"] == "FAILURE"
    assert body["job_name"] == "daily_refresh"
    assert body["run_id"] == "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    assert body["failed_steps"] == [{"step_key": "staging__app__invoices", "error": "ValueError: amount must be positive"}]
    assert body["partition_key"] == "2026-11"
    assert body["run_url"] == "https://dagster.jump.example/runs/0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    # Chat webhooks (Slack, Mattermost) display `text`: it must hold the essentials on its own.
    for essential in ("daily_refresh", "staging__app__invoices", "amount must be positive", body["run_url"]):
        assert essential in str(body["text"])
    assert not (clean_environment / "notifications.log").exists()


def test_a_webhook_answering_an_error_falls_back_to_the_log_file_with_the_reason(
    webhook: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
    clean_environment: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("JUMP_NOTIFY_WEBHOOK", webhook.url)
    webhook.answer_status = 500

    with caplog.at_level(logging.ERROR, logger="jump_platform.notifications"):
        channel = send_notification(invoice_failure())

    assert channel == "log"
    assert len(webhook.bodies) == 1  # it was tried
    [logged] = read_log(clean_environment)
    assert logged["job_name"] == "daily_refresh"
    assert "webhook delivery failed" in str(logged["delivery_error"])
    assert "500" in str(logged["delivery_error"])
    assert "webhook delivery failed" in caplog.text
    assert "/hooks/jump" not in caplog.text + json.dumps(logged)  # the URL may carry a token


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://hooks.example.com/T0K3N", "http:// to a loopback address only"),
        ("ftp://hooks.example.com/T0K3N", "JUMP_NOTIFY_WEBHOOK: expected an https:// URL"),
        ("file:///etc/passwd", "JUMP_NOTIFY_WEBHOOK: expected an https:// URL"),
        ("hooks.example.com/T0K3N", "JUMP_NOTIFY_WEBHOOK: expected an https:// URL"),
    ],
)
def test_a_webhook_url_that_is_not_https_or_loopback_is_refused_without_being_logged(
    url: str, expected: str, monkeypatch: pytest.MonkeyPatch, clean_environment: Path, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setenv("JUMP_NOTIFY_WEBHOOK", url)
    with caplog.at_level(logging.DEBUG):
        assert send_notification(invoice_failure()) == "log"
    [logged] = read_log(clean_environment)
    assert expected in str(logged["delivery_error"])
    assert "T0K3N" not in caplog.text + json.dumps(logged) and "passwd" not in caplog.text


def test_webhook_urls_accepted_are_https_and_loopback_http() -> None:
    for url in ("https://hooks.example.com/x", "http://127.0.0.1:8080/x", "http://localhost/x", "http://[::1]/x"):
        check_webhook_url(url)
    for url in ("http://hooks.example.com/x", "ftp://hooks.example.com/x", "hooks.example.com/x"):
        with pytest.raises(ValueError, match="JUMP_NOTIFY_WEBHOOK must be"):
            check_webhook_url(url)


def test_a_webhook_redirect_is_not_followed(
    webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    monkeypatch.setenv("JUMP_NOTIFY_WEBHOOK", webhook.url)
    webhook.answer_status, webhook.location = 302, webhook.url + "/elsewhere"  # urllib would follow it by default
    assert send_notification(invoice_failure()) == "log"
    assert webhook.gets == 0 and len(webhook.bodies) == 1
    assert "302" in str(read_log(clean_environment)[0]["delivery_error"])


# --- SMTP --------------------------------------------------------------------------------------------------


def test_failed_run_notification_is_emailed_to_every_smtp_recipient(
    smtp: SmtpReceiver, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JUMP_SMTP_PORT", str(smtp.port))
    monkeypatch.setenv("JUMP_SMTP_FROM", "dagster@jump.example")
    monkeypatch.setenv("JUMP_SMTP_TO", "data@jump.example, finance@jump.example")

    channel = send_notification(invoice_failure())

    assert channel == "smtp"
    [envelope] = smtp.envelopes
    assert envelope.mail_from == "dagster@jump.example"
    assert envelope.rcpt_tos == ["data@jump.example", "finance@jump.example"]
    [email] = smtp.messages()
    assert "Run failed: daily_refresh" in email["Subject"]
    assert "staging__app__invoices" in email["Subject"]
    body = email.get_payload(decode=True).decode()
    assert "ValueError: amount must be positive" in body
    assert "http://127.0.0.1:3000/runs/0f1e2d3c-aaaa-bbbb-cccc-000000000001" in body
    assert not (clean_environment / "notifications.log").exists()


# AUTH over plain text is what aiosmtpd warns about; acceptable on loopback, in a test.
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_credentials_are_used_to_log_in(smtp_with_login: SmtpReceiver, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JUMP_SMTP_PORT", str(smtp_with_login.port))
    monkeypatch.setenv("JUMP_SMTP_TO", "data@jump.example")
    monkeypatch.setenv("JUMP_SMTP_USER", "jump")
    monkeypatch.setenv("JUMP_SMTP_PASSWORD", "s3cret")
    monkeypatch.setenv("JUMP_SMTP_ALLOW_PLAINTEXT", "true")  # the explicit opt-in to AUTH in clear

    assert send_notification(invoice_failure()) == "smtp"

    assert smtp_with_login.logins == [("jump", "s3cret")]
    assert len(smtp_with_login.envelopes) == 1


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_credentials_are_never_sent_over_plain_text_by_default(
    smtp_with_login: SmtpReceiver, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JUMP_SMTP_PORT", str(smtp_with_login.port))
    monkeypatch.setenv("JUMP_SMTP_TO", "data@jump.example")
    monkeypatch.setenv("JUMP_SMTP_USER", "jump")
    monkeypatch.setenv("JUMP_SMTP_PASSWORD", "s3cret")

    assert send_notification(invoice_failure()) == "log"

    assert smtp_with_login.logins == [] and smtp_with_login.envelopes == []
    [logged] = read_log(clean_environment)
    assert "set JUMP_SMTP_STARTTLS=true or JUMP_SMTP_SSL=true" in str(logged["delivery_error"])
    assert "s3cret" not in json.dumps(logged)


def test_smtps_delivers_over_implicit_tls_to_a_trusted_server(
    loopback_certificate: TlsIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    tls_context.load_cert_chain(loopback_certificate.certificate, loopback_certificate.key)
    monkeypatch.setenv("SSL_CERT_FILE", str(loopback_certificate.certificate))
    controller, receiver = _start_smtp(ssl_context=tls_context)
    try:
        monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
        monkeypatch.setenv("JUMP_SMTP_PORT", str(receiver.port))
        monkeypatch.setenv("JUMP_SMTP_TO", "data@jump.example")
        monkeypatch.setenv("JUMP_SMTP_SSL", "true")
        assert send_notification(invoice_failure()) == "smtp"
    finally:
        controller.stop()
    assert len(receiver.envelopes) == 1


def test_starttls_upgrades_the_connection_to_a_trusted_server(
    smtp_with_starttls: SmtpReceiver, loopback_certificate: TlsIdentity, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JUMP_SMTP_PORT", str(smtp_with_starttls.port))
    monkeypatch.setenv("JUMP_SMTP_TO", "data@jump.example")
    monkeypatch.setenv("JUMP_SMTP_STARTTLS", "true")
    # Trust the test certificate the way an operator would trust a private CA.
    monkeypatch.setenv("SSL_CERT_FILE", str(loopback_certificate.certificate))

    assert send_notification(invoice_failure()) == "smtp"

    assert len(smtp_with_starttls.envelopes) == 1


def test_starttls_refuses_a_server_whose_certificate_is_not_trusted(
    smtp_with_starttls: SmtpReceiver, monkeypatch: pytest.MonkeyPatch, clean_environment: Path, tmp_path: Path
) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JUMP_SMTP_PORT", str(smtp_with_starttls.port))
    monkeypatch.setenv("JUMP_SMTP_TO", "data@jump.example")
    monkeypatch.setenv("JUMP_SMTP_STARTTLS", "true")
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "no-such-ca.pem"))  # trust nothing

    assert send_notification(invoice_failure()) == "log"

    assert smtp_with_starttls.envelopes == []
    [logged] = read_log(clean_environment)
    assert "SSLCertVerificationError" in str(logged["delivery_error"])


def test_an_unreachable_smtp_server_falls_back_to_the_log_file(monkeypatch: pytest.MonkeyPatch, clean_environment: Path) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JUMP_SMTP_PORT", str(closed_loopback_port()))
    monkeypatch.setenv("JUMP_SMTP_TO", "data@jump.example")

    assert send_notification(invoice_failure()) == "log"

    [logged] = read_log(clean_environment)
    assert logged["run_id"] == "0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    assert "smtp delivery failed" in str(logged["delivery_error"])


def test_smtp_without_recipients_falls_back_to_the_log_file(
    smtp: SmtpReceiver, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    monkeypatch.setenv("JUMP_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("JUMP_SMTP_PORT", str(smtp.port))

    assert send_notification(invoice_failure()) == "log"

    assert smtp.envelopes == []
    [logged] = read_log(clean_environment)
    assert "JUMP_SMTP_TO" in str(logged["delivery_error"])


# --- log file ----------------------------------------------------------------------------------------------


def test_without_webhook_or_smtp_each_notification_is_appended_as_one_json_line(clean_environment: Path) -> None:
    assert not clean_environment.exists()  # the data folder is created on demand

    assert send_notification(invoice_failure()) == "log"
    assert send_notification(invoice_failure()) == "log"

    lines = read_log(clean_environment)
    assert len(lines) == 2
    assert lines[0]["job_name"] == "daily_refresh"
    assert lines[0]["failed_steps"] == [{"step_key": "staging__app__invoices", "error": "ValueError: amount must be positive"}]
    assert lines[0]["run_url"] == "http://127.0.0.1:3000/runs/0f1e2d3c-aaaa-bbbb-cccc-000000000001"
    assert "delivery_error" not in lines[0]


# --- message content ---------------------------------------------------------------------------------------


def test_runs_of_hidden_asset_jobs_are_named_by_their_assets() -> None:
    assert readable_run_name("daily_refresh", ["sources/app__invoices"]) == "daily_refresh"
    assert readable_run_name("__ASSET_JOB", ["marts/kpi__monthly_turnover"]) == ("materialization of marts/kpi__monthly_turnover")
    assert readable_run_name("__ASSET_JOB", [f"staging/t{i}" for i in range(7)]).endswith("and 2 more")
    assert readable_run_name("__ASSET_JOB") == "asset materialization"


def test_long_errors_are_truncated() -> None:
    notification = build_notification(status="FAILURE", run_id="r", job_name="j", failed_steps=[FailedStep("s", "x" * 10_000)])
    assert len(notification.failed_steps[0].error) <= 2000
    assert notification.failed_steps[0].error.endswith("[truncated]")


# --- the Dagster sensors -----------------------------------------------------------------------------------


@dg.asset
def monthly_turnover() -> int:
    """A tiny asset that fails the way a bad delivery would."""
    raise ValueError("amount must be positive")


@dg.asset
def healthy_asset() -> int:
    """A tiny asset that always succeeds."""
    return 1


TINY_DEFS = dg.Definitions(
    assets=[monthly_turnover, healthy_asset],
    jobs=[
        dg.define_asset_job("tiny_failing_job", selection=[monthly_turnover]),
        dg.define_asset_job("tiny_healthy_job", selection=[healthy_asset]),
    ],
)


def test_run_failure_sensor_reports_the_job_the_failed_step_its_error_and_the_link(
    webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("JUMP_NOTIFY_WEBHOOK", webhook.url)
    monkeypatch.setenv("JUMP_UI_URL", "http://dagster.internal:3000")
    instance = dg.DagsterInstance.ephemeral()
    result = TINY_DEFS.resolve_job_def("tiny_failing_job").execute_in_process(instance=instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name=notify_on_run_failure.name,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()

    notify_on_run_failure(context)

    [body] = webhook.bodies
    assert body["status"] == "FAILURE"
    assert body["job_name"] == "tiny_failing_job"
    assert body["run_id"] == result.run_id
    [failed_step] = body["failed_steps"]
    assert failed_step["step_key"] == "monthly_turnover"
    assert failed_step["error"] == (
        'DagsterExecutionStepExecutionError: Error occurred while executing op "monthly_turnover":\n'
        "ValueError: amount must be positive"
    )
    assert body["run_url"] == f"http://dagster.internal:3000/runs/{result.run_id}"


def test_success_sensor_reports_only_while_jump_notify_success_is_true(
    webhook: WebhookReceiver, monkeypatch: pytest.MonkeyPatch, clean_environment: Path
) -> None:
    monkeypatch.setenv("JUMP_NOTIFY_WEBHOOK", webhook.url)
    instance = dg.DagsterInstance.ephemeral()
    result = TINY_DEFS.resolve_job_def("tiny_healthy_job").execute_in_process(instance=instance)

    def tick() -> None:
        notify_on_run_success(
            dg.build_run_status_sensor_context(
                sensor_name=notify_on_run_success.name,
                dagster_event=result.get_run_success_event(),
                dagster_instance=instance,
                dagster_run=result.dagster_run,
            )
        )

    tick()  # JUMP_NOTIFY_SUCCESS unset: silent, not even the log file
    monkeypatch.setenv("JUMP_NOTIFY_SUCCESS", "false")
    tick()
    assert webhook.bodies == []
    assert not (clean_environment / "notifications.log").exists()

    monkeypatch.setenv("JUMP_NOTIFY_SUCCESS", "true")  # read at tick time: no reload needed
    tick()

    [body] = webhook.bodies
    assert body["status"] == "SUCCESS"
    assert body["job_name"] == "tiny_healthy_job"
    assert body["failed_steps"] == []
    assert "Run succeeded: tiny_healthy_job" in str(body["text"])


def test_the_code_location_runs_both_notification_sensors_for_all_its_jobs() -> None:
    from jump_platform import definitions  # needs the dbt manifest (`make prepare`)

    defs = definitions.defs()
    dg.Definitions.validate_loadable(defs)
    for name in ("notify_on_run_failure", "notify_on_run_success"):
        sensor = defs.resolve_sensor_def(name)
        assert isinstance(sensor, dg.RunStatusSensorDefinition)
        assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
