"""The deployment files a team copies: docker-compose.yml and deploy/workspace.yaml. No Docker engine
runs here, so they are read, not run: each service from the one image, the UI on loopback only, one
shared instance storage, and a workspace that reaches the user-code service where it listens."""

from __future__ import annotations

import re
import shlex

import pytest
import yaml

from jump_platform import settings

ROOT = settings.PROJECT_ROOT


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _command(service: dict) -> str:
    command = service["command"]
    return command if isinstance(command, str) else shlex.join(command)


def test_the_three_dagster_services_and_postgres(compose: dict) -> None:
    assert set(compose["services"]) == {"postgres", "user_code", "webserver", "daemon"}
    for name in ("user_code", "webserver", "daemon"):
        service = compose["services"][name]
        assert service["build"] == ".", f"{name} is not built from the project's Dockerfile"
        assert (ROOT / "Dockerfile").is_file()
        assert service["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "healthcheck" in compose["services"]["postgres"]


def test_every_dagster_service_shares_one_postgres_instance_storage(compose: dict) -> None:
    services = compose["services"]
    urls = {name: services[name]["environment"]["JUMP_DAGSTER_POSTGRES_URL"] for name in ("user_code", "webserver", "daemon")}
    assert len(set(urls.values())) == 1
    url = next(iter(urls.values()))
    assert url.startswith("postgresql://") and "@postgres:5432/" in url
    # the password comes from the environment of `docker compose`, never from the file
    assert "${JUMP_DAGSTER_PG_PASSWORD" in url
    for name in ("user_code", "webserver", "daemon"):
        # each writes its instance (with that storage) before it starts
        assert _command(compose["services"][name]).startswith("bash -c 'python -m jump_platform.runner.instance && exec ")


def test_the_ui_is_published_on_loopback_only(compose: dict) -> None:
    for name, service in compose["services"].items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} on every interface"
    assert compose["services"]["webserver"]["ports"] == ["127.0.0.1:3000:3000"]


def test_the_workspace_reaches_the_user_code_server_where_it_listens(compose: dict) -> None:
    workspace = yaml.safe_load((ROOT / "deploy" / "workspace.yaml").read_text())
    (location,) = workspace["load_from"]
    server = location["grpc_server"]
    user_code = _command(compose["services"]["user_code"])
    assert server["host"] == "user_code"
    assert re.search(rf"dagster code-server start -h 0\.0\.0\.0 -p {server['port']} -m jump_platform\.definitions", user_code)
    assert f"--location-name {server['location_name']}" in user_code
    for name in ("webserver", "daemon"):
        assert "-w deploy/workspace.yaml" in _command(compose["services"][name])
    # the runs execute in the user-code service: it holds the lakehouse volume
    assert "./data:/app/data" in compose["services"]["user_code"]["volumes"]


def test_the_modules_the_services_run_exist() -> None:
    import importlib.util

    for module in ("jump_platform.runner.instance", "jump_platform.definitions"):
        assert importlib.util.find_spec(module) is not None, module
