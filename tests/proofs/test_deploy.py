"""The deploy preflight's proofs of permissions, escalation and deploy actions, on the example
organization and on planted defects.

The regression tests are the examples the "Deploy proof" issue names: each requirement is
derived from the assembly, allowed by the generated execution policies, and denied by the
hand-kept policies the platform bootstrapped with before (tests/proofs/fixtures, written by the
old stacks/bootstrap.py for the example).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

from proofs.context import ProofContext
from proofs.deploy import actions, escalation, permissions
from proofs.deploy.bootstrap import bootstrap_plan
from proofs.deploy.exceptions import EXCEPTIONS
from proofs.deploy.permissions import AccountDeployment, ExecutionRolePolicies, account_deployments, decide
from proofs.deploy.policies import ManagedPolicy, permissions_boundary
from proofs.deploy.requirements import Requirement
from proofs.findings import Verdict, failures
from proofs.iam import Policy, Principal, Request, evaluate, principal_context
from proofs.organization import organization_view

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="module")
def context(org) -> ProofContext:
    return ProofContext.read(org.directory, org.config)


@pytest.fixture(scope="module")
def deployments(context) -> dict[str, AccountDeployment]:
    return account_deployments(context)


def _account(context: ProofContext, name: str) -> str:
    return context.config.accounts[name].id


def _requirement(deployments, account: str, action: str, subject: str, resource: str = "") -> tuple[Requirement, str]:
    """The first requirement of `account` for `action` whose subject and ARN contain the parts."""
    for requirement in deployments[account].required:
        if requirement.action == action and subject in requirement.subject:
            for arn in requirement.resources:
                if resource in arn:
                    return requirement, arn
    raise AssertionError(f"no requirement {action} on {resource!r} for {subject!r} in {account}")


def _generated(context: ProofContext, deployment: AccountDeployment) -> ExecutionRolePolicies:
    return permissions.execution_role_policies(context, organization_view(context), deployment)


def _hand_kept(context: ProofContext, deployment: AccountDeployment, name: str) -> ExecutionRolePolicies:
    """The policies the account was bootstrapped with before they were generated (no boundary
    then: an allow-everything boundary leaves them as they were)."""
    kept = json.loads((FIXTURES / "hand_kept_execution_policies.json").read_text())[name]
    generated = _generated(context, deployment)
    everything = Policy(
        "no boundary", {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
    )
    return ExecutionRolePolicies([Policy(p["name"], p["document"]) for p in kept], everything, generated.scps)


@dataclass(frozen=True)
class Regression:
    account: str
    action: str
    subject: str
    resource: str = ""


REGRESSIONS = [
    pytest.param(Regression("ml-dev", "s3:GetObject", "/Function", "cdk-hnb659fds-assets-"), id="lambda-code"),
    pytest.param(
        Regression("management", "s3:GetObject", "Catalog/DataScience", "cdk-hnb659fds-assets-"),
        id="product-templates",
    ),
    pytest.param(
        Regression(
            "management", "iam:CreateServiceLinkedRole", "Trail/OrganizationTrail", "AWSServiceRoleForCloudTrail"
        ),
        id="trail-slr",
    ),
    pytest.param(
        Regression("ml-prod", "iam:CreateServiceLinkedRole", "Scaling", "AWSServiceRoleForApplicationAutoScaling"),
        id="autoscaling-slr",
    ),
    pytest.param(Regression("data", "kms:CreateGrant", "FeatureGroups", ":key/"), id="feature-store-key-grant"),
    pytest.param(Regression("data", "kms:GenerateDataKey", "FeatureGroups", ":key/"), id="feature-store-data-key"),
    pytest.param(Regression("shared-services", "kms:CreateGrant", "PackageMirror", ":key/"), id="codeartifact-key"),
    pytest.param(Regression("log-archive", "sns:CreateTopic", "Baseline/Alerts"), id="log-archive-topic"),
    pytest.param(Regression("management", "servicecatalog:CreatePortfolio", "Catalog"), id="management-catalog"),
    pytest.param(Regression("management", "sqs:CreateQueue", "ManagementCatalog"), id="management-sqs"),
    pytest.param(Regression("ml-dev", "iam:ListAttachedRolePolicies", "Role", ":role/"), id="role-deletion"),
]


@pytest.mark.parametrize("regression", REGRESSIONS)
def test_what_the_hand_kept_policies_denied_is_derived_and_allowed(context, deployments, regression: Regression):
    deployment = deployments[_account(context, regression.account)]
    requirement, arn = _requirement(
        deployments, deployment.account, regression.action, regression.subject, regression.resource
    )
    assert decide(context, requirement, arn, _generated(context, deployment)).allowed
    before = decide(context, requirement, arn, _hand_kept(context, deployment, regression.account))
    assert not before.allowed, f"the hand-kept policies allowed {regression.action} on {arn}: no regression test"


def test_the_example_organization_passes_the_deploy_proofs(context):
    for proof in (permissions.prove, escalation.prove, actions.prove):
        found = proof(context)
        assert not found, "\n".join(finding.render() for finding in found)


def test_every_reviewed_exception_is_used_by_the_example(deployments):
    assert permissions.unused_exceptions(deployments) == []
    assert {exception.reason for exception in EXCEPTIONS}, "the file holds reviewed exceptions"


def test_a_permission_the_policies_do_not_grant_fails_with_the_rule_and_the_fix(context, deployments):
    deployment = deployments[_account(context, "ml-dev")]
    requirement, arn = _requirement(deployments, deployment.account, "lambda:CreateFunction", "/Function")
    generated = _generated(context, deployment)
    without = [
        Policy(
            policy.name,
            {
                **policy.document,
                "Statement": [s for s in policy.document["Statement"] if "lambda:CreateFunction" not in s["Action"]],
            },
        )
        for policy in generated.identity
    ]
    decision = decide(context, requirement, arn, replace(generated, identity=without))
    assert not decision.allowed
    finding = permissions._finding(context, requirement, arn, decision, permissions.EXECUTION_ROLE)
    assert finding is not None and finding.verdict is Verdict.FAILS
    assert "may not lambda:CreateFunction" in finding.problem and "make bootstrap-commands" in finding.fix


def test_an_scp_denial_is_cited(context, deployments):
    """The ml-workloads guardrail denies endpoint configs without a volume key, even to the
    execution role: a config that names none would fail its deploy."""
    deployment = deployments[_account(context, "ml-prod")]
    requirement, arn = _requirement(deployments, deployment.account, "sagemaker:CreateEndpointConfig", "Endpoint")
    without_key = replace(
        requirement, context=tuple(kv for kv in requirement.context if kv[0] != "sagemaker:VolumeKmsKey")
    )
    decision = decide(context, without_key, arn, _generated(context, deployment))
    assert not decision.allowed
    assert "EndpointVolumesEncryptedWithCustomerKey" in str(decision)


def test_every_role_carries_the_boundary(org):
    for key, template in org.templates.items():
        for logical_id, resource in template["Resources"].items():
            if resource["Type"] == "AWS::IAM::Role" and not key.startswith("ManagementOrganization"):
                assert "acme-permissions-boundary" in json.dumps(resource["Properties"]["PermissionsBoundary"]), (
                    key,
                    logical_id,
                )


def test_the_execution_role_cannot_escape_its_boundary(context):
    """AWS's documented evaluation: the boundary's explicit denies win over any allow."""
    org = context.config.organization.name
    for plan in bootstrap_plan(context):
        principal = Principal.role(
            f"arn:aws:iam::{plan.account}:role/cdk-hnb659fds-cfn-exec-role-{plan.account}-{plan.regions[0]}"
        )
        everything = [
            Policy(
                "everything",
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]},
            )
        ]
        boundary = Policy(plan.boundary.name, plan.boundary.document)
        for attempt in escalation.attempts(plan, org):
            decision = evaluate(
                Request(
                    attempt.action, attempt.resource, principal, {**principal_context(principal), **attempt.context}
                ),
                identity_policies=everything,
                permissions_boundary=boundary,
                resource_account=plan.account,
            )
            assert not decision.allowed, (plan.name, attempt)


def test_an_allow_everything_boundary_is_an_escalation(context, monkeypatch):
    def permissive(org: str, account: str, *, management: bool) -> ManagedPolicy:
        policy = permissions_boundary(org, account, management=management)
        return replace(policy, document={"Version": "2012-10-17", "Statement": policy.document["Statement"][:1]})

    monkeypatch.setattr("proofs.deploy.permissions.permissions_boundary", permissive)
    found = escalation.prove(ProofContext.read(context.assembly.directory, context.config))
    assert found and all(finding.verdict is Verdict.FAILS for finding in found)
    attacks = {finding.subject.split(": ")[1].split(" on ")[0] for finding in found}
    # What the generated execution policies allow on the organization's roles and policies,
    # which only the boundary keeps from being an escalation.
    assert {"iam:CreateRole", "iam:CreatePolicyVersion", "iam:DeletePolicy"} <= attacks


def test_deploy_actions_without_capabilities_fail(context, tmp_path):
    """Regression: the models' deployment actions passed no capabilities, and their endpoint and
    batch stacks create IAM roles (InsufficientCapabilities after the manual approval)."""
    model_deployments = next(
        stack for stack in context.assembly.stacks if stack.display_name.endswith("ModelDeployments-0")
    )
    template = json.loads(model_deployments.template_path.read_text())
    for resource in template["Resources"].values():
        for stage in (
            resource.get("Properties", {}).get("Stages", [])
            if resource["Type"] == "AWS::CodePipeline::Pipeline"
            else []
        ):
            for action in stage["Actions"]:
                action.get("Configuration", {}).pop("Capabilities", None)
    copy = _copy_assembly(context, tmp_path)
    (copy / model_deployments.template_path.relative_to(context.assembly.directory)).write_text(json.dumps(template))
    found = failures(actions.prove(ProofContext.read(copy, context.config)))
    assert found
    assert all(
        "needs CAPABILITY_IAM" in finding.problem or "needs CAPABILITY_NAMED_IAM" in finding.problem
        for finding in found
    )
    assert any("Production/Deploy-fraud-detector" in finding.subject for finding in found)


def test_the_pipeline_cannot_deploy_to_the_management_account(context):
    """Its deploy roles trust no other account: an action there is refused at AssumeRole."""
    checker = actions._Checker(context)
    target = next(stack for stack in context.assembly.stacks if stack.display_name == "ManagementTrail/Trail")
    pipeline_role = next(
        action.pipeline_role for action in actions._deploy_actions(context) if "acme-platform" in action.name
    )
    action = actions.DeployAction(
        pipeline=next(s for s in context.assembly.stacks if s.display_name == "SharedServicesToolchain/Toolchain"),
        pipeline_role=pipeline_role,
        name="acme-platform/ManagementTrail/Prepare",
        configuration={
            "ActionMode": "CHANGE_SET_REPLACE",
            "RoleArn": target.execution_role_arn,
            "Capabilities": "CAPABILITY_NAMED_IAM",
        },
        action_role=target.deploy_role_arn,
    )
    (finding,) = checker._roles(action, target)
    assert "may not assume" in finding.problem and "trust policy" in finding.problem


def _copy_assembly(context: ProofContext, tmp_path: Path) -> Path:
    copy = tmp_path / "cdk.out"
    shutil.copytree(context.assembly.directory, copy, ignore=shutil.ignore_patterns("asset.*"))
    return copy
