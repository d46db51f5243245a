"""The UI's main buttons, driven through the webserver's GraphQL API as the UI drives them, on a
running `make dev` (`dg dev`): *Materialize all* on the global lineage launches one run of every
asset (no partition dialog: no asset is partitioned), and that run succeeds; job `refresh` holds
no partitioned asset; the UI shows automation on."""

import json
import time
import urllib.request
from pathlib import Path

import pytest

from jump_platform_tests.dagster_dev import DagsterDev, running_dagster_dev

DEADLINE_SECONDS = 600

ASSET_NODES = """
query AssetNodes {
  assetNodes { assetKey { path } isExecutable isPartitioned jobNames }
  instance { autoMaterializePaused }
  repositoriesOrError {
    ... on RepositoryConnection { nodes { name location { name } } }
  }
}
"""

# What the UI sends for *Materialize all* of unpartitioned assets: the hidden asset job, the
# selection of every asset (see LaunchAssetExecutionButton in Dagster's UI).
LAUNCH_RUN = """
mutation LaunchRun($executionParams: ExecutionParams!) {
  launchRun(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
    ... on InvalidSubsetError { message }
    ... on RunConfigValidationInvalid { errors { message } }
  }
}
"""

RUN_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) { ... on Run { status } }
}
"""


def graphql(dev: DagsterDev, query: str, variables: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{dev.url}/graphql",
        data=json.dumps({"query": query, "variables": variables or {}}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as response:
        answer = json.load(response)
    assert "errors" not in answer, answer
    return answer["data"]


def _wait_for_the_webserver(dev: DagsterDev) -> dict:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while True:
        assert dev.process.poll() is None, dev.log.read_text()[-3000:]
        assert time.monotonic() < deadline, dev.log.read_text()[-3000:]
        try:
            data = graphql(dev, ASSET_NODES)
            if data["repositoriesOrError"].get("nodes"):
                return data
        except OSError:
            pass
        time.sleep(2)


@pytest.mark.slow
def test_materialize_all_from_the_global_lineage_launches_a_run_that_succeeds(tmp_path: Path) -> None:
    with running_dagster_dev(tmp_path, JUMP_PRODUCER="generator", JUMP_SCALE="0.05") as dev:
        data = _wait_for_the_webserver(dev)
        nodes = data["assetNodes"]
        # No partition dialog: no asset of the graph is partitioned; job `refresh` holds them all.
        assert not [n["assetKey"]["path"] for n in nodes if n["isPartitioned"]]
        executable = [n for n in nodes if n["isExecutable"]]
        assert all("refresh" in n["jobNames"] for n in executable)
        # `make prepare` turned the instance's automation switch on: no "Auto-materialize off".
        assert data["instance"]["autoMaterializePaused"] is False

        [repository] = data["repositoriesOrError"]["nodes"]
        launched = graphql(
            dev,
            LAUNCH_RUN,
            {
                "executionParams": {
                    "selector": {
                        "repositoryLocationName": repository["location"]["name"],
                        "repositoryName": repository["name"],
                        "pipelineName": "__ASSET_JOB",
                        "assetSelection": [n["assetKey"] for n in executable],
                        "assetCheckSelection": [],
                    },
                    "mode": "default",
                    "executionMetadata": {"tags": []},
                    "runConfigData": "{}",
                }
            },
        )["launchRun"]
        assert launched["__typename"] == "LaunchRunSuccess", launched
        run_id = launched["run"]["runId"]

        deadline = time.monotonic() + DEADLINE_SECONDS
        status = None
        while status not in ("SUCCESS", "FAILURE", "CANCELED"):
            assert time.monotonic() < deadline, f"run {run_id} is {status}\n{dev.log.read_text()[-3000:]}"
            time.sleep(3)
            status = graphql(dev, RUN_STATUS, {"runId": run_id})["runOrError"]["status"]
        assert status == "SUCCESS", dev.log.read_text()[-5000:]
