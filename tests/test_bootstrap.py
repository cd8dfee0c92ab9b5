"""Every account's bootstrap: generated execution policies under IAM's limits, the permissions
boundary, who each account trusts, and the commands `make bootstrap-commands` prints."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from proofs.context import ProofContext
from proofs.deploy.bootstrap import AccountBootstrap, bootstrap_plan
from proofs.deploy.policies import MANAGED_POLICIES_PER_ROLE, MANAGED_POLICY_MAX_CHARACTERS
from tests.conftest import EXAMPLE_CONFIG
from tools import bootstrap_commands as tool


@pytest.fixture(scope="module")
def plans(org) -> dict[str, AccountBootstrap]:
    return {plan.name: plan for plan in bootstrap_plan(ProofContext.read(org.directory, org.config))}


@pytest.mark.parametrize(
    "account", ["management", "log-archive", "shared-services", "data", "ml-dev", "ml-test", "ml-prod"]
)
def test_execution_policies_fit_iam_and_never_grant_everything(plans, account):
    plan = plans[account]
    assert 1 <= len(plan.execution_policies) <= MANAGED_POLICIES_PER_ROLE
    for policy in plan.execution_policies:
        assert policy.size <= MANAGED_POLICY_MAX_CHARACTERS
        for statement in policy.document["Statement"]:
            assert statement["Effect"] == "Allow"
            assert "*" not in statement["Action"] and "iam:*" not in statement["Action"], "never AdministratorAccess"
            assert not {"iam:CreateUser", "iam:CreateAccessKey"} & set(statement["Action"])


def test_organization_administration_is_granted_only_in_the_management_account(plans):
    def granted(plan: AccountBootstrap) -> set[str]:
        return {
            action for policy in plan.execution_policies for s in policy.document["Statement"] for action in s["Action"]
        }

    assert "organizations:CreateOrganizationalUnit" in granted(plans["management"])
    for name, plan in plans.items():
        if name != "management":
            assert not [action for action in granted(plan) if action.startswith(("organizations:", "sso:"))], name


def test_lambda_code_is_read_from_the_cdk_assets_bucket(plans):
    """Regression: the hand-kept policies lacked s3:GetObject on the CDK assets bucket, which
    CloudFormation reads every function's code from with the execution role."""
    statements = [s for policy in plans["ml-dev"].execution_policies for s in policy.document["Statement"]]
    assets = "arn:aws:s3:::cdk-hnb659fds-assets-555555555555-eu-west-1/*"
    assert any("s3:GetObject" in s["Action"] and assets in s["Resource"] for s in statements)


def test_who_each_account_trusts(plans):
    assert plans["management"].trusted_account is None, "the organization is administered from its own account"
    assert plans["shared-services"].trusted_account is None
    for name in ("log-archive", "data", "ml-dev", "ml-test", "ml-prod"):
        assert plans[name].trusted_account == "333333333333", name
    phases = [plan.phase for plan in plans.values()]
    assert phases == sorted(phases), "management first, then shared-services, then the accounts that trust it"


def test_bootstrap_arguments_name_the_policies_the_boundary_and_the_recovery_region(plans):
    arguments = plans["ml-prod"].cdk_bootstrap_arguments()
    assert arguments[:2] == ["aws://777777777777/eu-west-1", "aws://777777777777/eu-central-1"]
    assert arguments[arguments.index("--trust") + 1] == "333333333333"
    assert arguments[arguments.index("--custom-permissions-boundary") + 1] == "acme-permissions-boundary"
    policies = arguments[arguments.index("--cloudformation-execution-policies") + 1].split(",")
    assert policies == [f"arn:aws:iam::777777777777:policy/acme-cdk-execution-{n}" for n in range(1, len(policies) + 1)]
    assert "--trust" not in plans["management"].cdk_bootstrap_arguments()


def test_the_tool_writes_every_policy_and_prints_the_commands_in_order(org, tmp_path: Path, capsys):
    policy_dir = tmp_path / "policies"
    assert tool.main(["bootstrap_commands", str(EXAMPLE_CONFIG), str(org.directory), str(policy_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    bootstraps = [line for line in lines if line.startswith("npx cdk bootstrap")]
    assert len(bootstraps) == 7
    assert bootstraps[0].startswith("npx cdk bootstrap aws://111111111111/eu-west-1 --cloudformation")
    boundary = json.loads((policy_dir / "ml-dev-acme-permissions-boundary.json").read_text())
    assert {s["Sid"] for s in boundary["Statement"]} >= {"NoRoleOrUserWithoutThisBoundary", "NoRemovingBoundaries"}
    assert (
        f"aws iam create-policy --policy-name acme-cdk-execution-1 --policy-document "
        f"file://{policy_dir}/ml-dev-acme-cdk-execution-1.json"
    ) in lines


def test_the_tool_needs_a_synthesized_assembly(tmp_path: Path, capsys):
    assert tool.main(["bootstrap_commands", str(EXAMPLE_CONFIG), str(tmp_path)]) == 1
    assert "run `make synth` first" in capsys.readouterr().err
