"""Least-privilege execution policies and the bootstrap commands for every account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ml_constructs.function import POWERTOOLS_LAYER_PARAMETER
from stacks.bootstrap import MANAGED_POLICY_MAX_CHARACTERS, bootstrap_commands, execution_policies
from tests.conftest import EXAMPLE_CONFIG
from tools import bootstrap_commands as tool


def _statements(config, account: str) -> dict[str, dict[str, Any]]:
    return {
        statement["Sid"]: statement
        for policy in execution_policies(config, account)
        for statement in policy.document["Statement"]
    }


@pytest.mark.parametrize(
    "account", ["management", "log-archive", "shared-services", "data", "ml-dev", "ml-test", "ml-prod"]
)
def test_execution_policies_are_bounded(example_config, account):
    for policy in execution_policies(example_config, account):
        assert policy.size <= MANAGED_POLICY_MAX_CHARACTERS
        for statement in policy.document["Statement"]:
            assert statement["Effect"] == "Allow"
            assert statement["Action"] != ["*"], "never AdministratorAccess"
            assert not any(action.startswith("iam:") and "User" in action for action in statement["Action"])
    iam = _statements(example_config, account)["PlatformRolesAndPolicies"]
    account_id = example_config.accounts[account].id
    assert iam["Resource"] == [f"arn:aws:iam::{account_id}:role/acme-*", f"arn:aws:iam::{account_id}:policy/acme-*"]
    assert _statements(example_config, account)["PlatformBuckets"]["Resource"] == [
        "arn:aws:s3:::acme-*",
        "arn:aws:s3:::acme-*/*",
    ]


def test_deploy_time_lookups_of_aws_public_parameters_are_allowed(example_config):
    # Every Lambda's Powertools layer ARN is an AWS public SSM parameter CloudFormation resolves.
    public = _statements(example_config, "ml-dev")["AwsPublicParameters"]
    assert public["Resource"] == "arn:aws:ssm:*::parameter/aws/service/*"
    assert POWERTOOLS_LAYER_PARAMETER.startswith("/aws/service/")


def test_each_role_adds_only_its_services(example_config):
    assert "OrganizationStructure" in _statements(example_config, "management")
    assert "OrganizationStructure" not in _statements(example_config, "ml-prod")
    assert "MachineLearningServices" in _statements(example_config, "ml-prod")
    assert "MachineLearningServices" not in _statements(example_config, "log-archive")
    assert "PackageMirror" in _statements(example_config, "shared-services")
    assert [p.name for p in execution_policies(example_config, "log-archive")] == ["acme-cdk-execution"]


def test_bootstrap_commands_trust_shared_services_with_the_execution_policies(example_config):
    lines = bootstrap_commands(example_config, "build/bootstrap")
    bootstraps = [line for line in lines if line.startswith("npx cdk bootstrap")]
    assert len(bootstraps) == len(example_config.accounts)
    ml_prod = next(line for line in bootstraps if "aws://777777777777/eu-west-1" in line)
    assert " --trust 333333333333 " in ml_prod
    assert ml_prod.endswith(
        "--cloudformation-execution-policies arn:aws:iam::777777777777:policy/acme-cdk-execution,"
        "arn:aws:iam::777777777777:policy/acme-cdk-execution-ml-prod"
    )
    shared = next(line for line in bootstraps if "aws://333333333333/" in line)
    assert "--trust" not in shared, "the pipeline's own account needs no trust in itself"
    # Production and the pipelines' account are bootstrapped in the recovery region too.
    assert ml_prod.startswith("npx cdk bootstrap aws://777777777777/eu-west-1 aws://777777777777/eu-central-1 ")
    assert shared.startswith("npx cdk bootstrap aws://333333333333/eu-west-1 aws://333333333333/eu-central-1 ")
    ml_test = next(line for line in bootstraps if "aws://666666666666/" in line)
    assert "eu-central-1" not in ml_test
    assert (
        "aws iam create-policy --policy-name acme-cdk-execution-management --policy-document "
        "file://build/bootstrap/management-acme-cdk-execution-management.json"
    ) in lines


def test_tool_writes_every_policy_and_prints_the_commands(tmp_path: Path, capsys):
    assert tool.main(["bootstrap_commands", str(EXAMPLE_CONFIG), str(tmp_path)]) == 0
    written = sorted(path.name for path in tmp_path.iterdir())
    assert "ml-prod-acme-cdk-execution-ml-prod.json" in written
    assert len(written) == 13
    document = json.loads((tmp_path / "management-acme-cdk-execution.json").read_text())
    assert document["Version"] == "2012-10-17"
    assert "npx cdk bootstrap aws://111111111111/eu-west-1" in capsys.readouterr().out


def test_tool_reports_a_bad_config_without_traceback(tmp_path: Path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("organization: {}\n")
    assert tool.main(["bootstrap_commands", str(bad), str(tmp_path / "out")]) == 1
    assert "organization.name: field required" in capsys.readouterr().err
