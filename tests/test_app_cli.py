"""`app.py` as the CDK CLI runs it: a bad config ends in one list of problems, exit 1, no traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

from tests.conftest import EXAMPLE_CONFIG, ROOT


def run_app(config_file: Path) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "CDK_CONTEXT_JSON": json.dumps({"config": str(config_file)})}
    return subprocess.run(
        [sys.executable, "app.py"], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120, check=False
    )


def test_bad_config_exits_non_zero_with_every_problem_and_no_traceback(tmp_path: Path):
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    document["accounts"]["ml-prod"]["id"] = "123"
    document["accounts"]["ml-test"]["network"]["cidr"] = "10.30.0.0/33"
    document["endpoints"][0]["variants"][0]["min_capacity"] = 1
    config_file = tmp_path / "bad.yaml"
    config_file.write_text(yaml.safe_dump(document))

    result = run_app(config_file)

    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert f"error: {config_file}: 2 configuration problem(s)" in result.stderr
    assert "accounts.ml-prod.id: must be 12 digits" in result.stderr
    assert "accounts.ml-test.network.cidr: not a valid IPv4 network" in result.stderr
    assert result.stdout == ""


def test_missing_config_file_is_one_clear_error(tmp_path: Path):
    result = run_app(tmp_path / "nowhere.yaml")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "(file): cannot be read" in result.stderr


def test_a_config_without_the_optional_parts_synthesizes(tmp_path: Path):
    """No endpoints, batch jobs, feature store, delivery or self-service: the acknowledgements of
    what is not built are not applicable, rather than stale. And a team without models yet: its
    roles are granted nothing on models."""
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    for optional in ("endpoints", "batch_inference", "delivery", "self_service", "feature_store"):
        del document[optional]
    document["teams"]["onboarding"] = {
        "cost_center": "CC-3003",
        "accounts": {"dev": "ml-dev", "test": "ml-test", "prod": "ml-prod"},
        "users": [{"name": "frank", "persona": "ml-engineer"}],
    }
    config_file = tmp_path / "lean.yaml"
    config_file.write_text(yaml.safe_dump(document))
    environment = {"CDK_OUTDIR": str(tmp_path / "cdk.out")}
    result = subprocess.run(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={**os.environ, **environment, "CDK_CONTEXT_JSON": json.dumps({"config": str(config_file)})},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert not (tmp_path / "cdk.out" / "assembly-MlProdServing").exists()
    (team,) = (tmp_path / "cdk.out" / "assembly-MlDevDevelopment").glob("*Teamonboarding*.template.json")
    statements = [
        statement
        for resource in json.loads(team.read_text())["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    assert statements and not {"RegisterTeamModels", "RunTeamPipelines", "ApproveTeamModels"} & {
        statement.get("Sid") for statement in statements
    }
