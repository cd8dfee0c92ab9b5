"""`app.py` as the CDK CLI runs it: a bad config ends in one list of problems, exit 1, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_iam as iam

import app
from stacks import composition
from stacks.config import load_config
from tests.conftest import EXAMPLE_CONFIG, ROOT, run_app


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


@pytest.mark.parametrize(
    ("hostile", "problem"),
    [
        ("binary-bytes.yaml", "(file): contains NUL bytes"),
        ("deep-flow-nesting.yaml", "(file): nests deeper than 32 levels"),
        ("alias-bomb.yaml", "(file): expands to more than 20000 values through its aliases"),
        ("duplicate-account.yaml", "accounts.ml-prod: the key is given 2 times"),
        ("utf16-with-bom-and-a-bad-id.yaml", "accounts.ml-prod.id: must be 12 digits 0-9"),
    ],
)
def test_a_hostile_file_is_one_clear_error(hostile: str, problem: str):
    config_file = ROOT / "tests" / "hostile_configs" / hostile
    result = run_app(config_file)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    headline, line, after = result.stderr.split("\n", 2)
    assert headline == f"error: {config_file}: 1 configuration problem(s)"
    assert line.startswith(f"  - {problem}")
    assert after == ""


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
    result = run_app(config_file, tmp_path / "cdk.out")
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


def test_a_copy_of_the_example_with_another_management_account_synthesizes(tmp_path: Path):
    """The README's first step: copy the example and edit it. The released products of `acme`
    hold no account id of the hub (the management account), so they are still the same releases;
    a product that did change is refused with its name and the way to release it, not a traceback."""
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    document["accounts"]["management"]["id"] = "101010101010"
    config_file = tmp_path / "my-org.yaml"
    config_file.write_text(yaml.safe_dump(document))
    result = run_app(config_file, tmp_path / "cdk.out")
    assert result.returncode == 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr

    document["self_service"]["notebook_instance_types"] = ["ml.t3.xlarge"]  # the notebook's default type
    config_file.write_text(yaml.safe_dump(document))
    result = run_app(config_file, tmp_path / "cdk.out")
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    assert "error: released Service Catalog products changed:" in result.stderr
    assert "acme/notebook: the template differs from its release release-1.0" in result.stderr
    assert "make release-products" in result.stderr


def test_a_construct_validation_error_is_named_not_hidden(monkeypatch, capsys, tmp_path: Path):
    """CDK's own validation (here: a statement without resources, as a smoke-test role without
    test accounts once had) is only in the error; it used to end in "findings above" with none above."""

    def build_invalid(scope: cdk.App, _config: object) -> None:
        stack = cdk.Stack(scope, "Invalid")
        role = iam.Role(stack, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        iam.Policy(stack, "Policy", roles=[role], statements=[iam.PolicyStatement(actions=["sts:AssumeRole"])])

    monkeypatch.setattr(composition, "build", build_invalid)
    monkeypatch.setenv("CDK_OUTDIR", str(tmp_path))
    assert app.synthesize(load_config(EXAMPLE_CONFIG)) == 1
    error = capsys.readouterr().err
    assert (
        "CDK's construct validation failed:\n  - [Invalid/Policy] A PolicyStatement used in an identity-based" in error
    )
