"""Proof 1 of the preflight: each account's CloudFormation execution role may create, update
and delete every resource of every stack deployed there.

Each requirement (proofs.deploy.requirements) is evaluated, on the ARNs it names, against
everything AWS evaluates for the execution role: its execution policies (generated,
proofs.deploy.policies), its permissions boundary, the SCPs on the account's OU path (the
organization stack, proofs.organization), and the resource's own policy where AWS consults one
(a KMS key's key policy, a bucket's policy in another account).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache, cached_property
from typing import Any

from proofs.context import ProofContext
from proofs.deploy.exceptions import EXCEPTIONS, HandlerException
from proofs.deploy.policies import ManagedPolicy, execution_policies, permissions_boundary
from proofs.deploy.requirements import Requirement, Unknown, Unneeded, stack_requirements
from proofs.findings import Finding, Verdict
from proofs.iam import (
    ContextValue,
    Decision,
    Layer,
    Policy,
    Principal,
    Request,
    ResourcePolicy,
    ServiceControlPolicies,
    evaluate,
    principal_context,
)
from proofs.organization import OrganizationView, organization_view, service_control_policies
from stacks.config import Role

PROOF = "deploy-permissions"
ABSENT_FROM_DIRECT_CALLS = frozenset(
    key.lower()
    for key in (
        "kms:ViaService",
        "aws:CalledVia",
        "aws:CalledViaFirst",
        "aws:CalledViaLast",
        "aws:SourceArn",
        "aws:SourceAccount",
    )
)
"""Keys no request of the execution role carries: CloudFormation calls each service itself with
the role's credentials, not through another service (IAM and KMS condition key references)."""
EVALUATION_RULE = (
    "IAM policy evaluation logic (IAM User Guide): an explicit deny in any policy wins; the identity-based "
    "policies, the permissions boundary and every SCP level must allow; a KMS key's key policy must allow"
)


@dataclass
class AccountDeployment:
    """What one account's execution role must be allowed, and the policies that allow it."""

    account: str
    organization: str
    management: bool
    required: list[Requirement] = field(default_factory=list)
    unneeded: list[Unneeded] = field(default_factory=list)
    unknown: list[Unknown] = field(default_factory=list)
    exceptions_used: set[HandlerException] = field(default_factory=set)

    @cached_property
    def policies(self) -> list[ManagedPolicy]:
        """The execution policies, generated once the account's requirements are all known."""
        return execution_policies(self.organization, self.required)

    @cached_property
    def boundary(self) -> ManagedPolicy:
        return permissions_boundary(self.organization, self.account, management=self.management)


def account_deployments(context: ProofContext) -> dict[str, AccountDeployment]:
    """Every account's requirements, over all its stacks and regions, in account order."""
    return context.computed("account deployments", _account_deployments)


def _account_deployments(context: ProofContext) -> dict[str, AccountDeployment]:
    management = {account.id for _, account in context.config.accounts_with(Role.MANAGEMENT)}
    deployments: dict[str, AccountDeployment] = {}
    for stack in context.assembly.stacks:
        deployment = deployments.setdefault(
            stack.account,
            AccountDeployment(stack.account, context.config.organization.name, stack.account in management),
        )
        derived = stack_requirements(context, stack)
        deployment.required += derived.required
        deployment.unneeded += derived.unneeded
        deployment.unknown += derived.unknown
        deployment.exceptions_used |= derived.exceptions_used
    return dict(sorted(deployments.items()))


def unused_exceptions(deployments: dict[str, AccountDeployment]) -> list[HandlerException]:
    used = set().union(*(deployment.exceptions_used for deployment in deployments.values()))
    return [exception for exception in EXCEPTIONS if exception not in used]


def execution_role_policies(
    context: ProofContext, view: OrganizationView, deployment: AccountDeployment
) -> ExecutionRolePolicies:
    """The generated execution policies and boundary of the account, and its SCPs."""
    boundary = deployment.boundary
    return ExecutionRolePolicies(
        [Policy(policy.name, policy.document) for policy in deployment.policies],
        Policy(boundary.name, boundary.document),
        service_control_policies(context, view, deployment.account),
    )


def prove(context: ProofContext) -> list[Finding]:
    view = organization_view(context)
    findings: list[Finding] = []
    for deployment in account_deployments(context).values():
        policies = execution_role_policies(context, view, deployment)
        findings += evaluate_requirements(context, deployment.required, policies, EXECUTION_ROLE)
        findings += undecided(context, deployment.unknown)
    return findings


@dataclass(frozen=True)
class ExecutionRolePolicies:
    """What AWS evaluates for the role a stack deploys as, besides the resource's policy."""

    identity: list[Policy]
    boundary: Policy | None
    scps: ServiceControlPolicies


@dataclass(frozen=True)
class Deployer:
    """Who creates a stack's resources, as a finding names it, and how its policies change."""

    proof: str
    who: str
    fix: str


EXECUTION_ROLE = Deployer(
    PROOF,
    "the execution role",
    "regenerate and re-apply the account's execution policies (make bootstrap-commands), or change what denies it",
)


def decide(context: ProofContext, requirement: Requirement, arn: str, policies: ExecutionRolePolicies) -> Decision:
    """Whether the execution role of the requirement's stack may make its request on `arn`."""
    stack = requirement.stack
    role, role_keys = _execution_role(str(stack.execution_role_arn), context.config.landing_zone.organization_id)
    keys = {
        **role_keys,
        "aws:RequestedRegion": stack.region,
        # CloudFormation calls every service over TLS 1.2 or later.
        "aws:SecureTransport": True,
        **({"s3:TlsVersion": "1.2"} if requirement.action.lower().startswith("s3:") else {}),
        # A handler needs kms:CreateGrant because the service creates the grants of the resource
        # it makes with the caller's credentials; KMS then sets kms:GrantIsForAWSResource (KMS
        # Developer Guide, "kms:GrantIsForAWSResource"). CloudFormation creates no grant itself.
        **({"kms:GrantIsForAWSResource": True} if requirement.action.lower() == "kms:creategrant" else {}),
        **{key: list(value) if isinstance(value, tuple) else value for key, value in requirement.context},
        **context.index.target_keys(requirement.action, arn),
    }
    return evaluate(
        Request(requirement.action, arn, role, keys),
        identity_policies=policies.identity,
        permissions_boundary=policies.boundary,
        service_control_policies=policies.scps,
        resource_policy=_resource_policy(context, requirement.action, arn),
        resource_account=context.index.owner(arn, stack.account),
    )


@cache
def _execution_role(arn: str, organization_id: str | None) -> tuple[Principal, Mapping[str, ContextValue]]:
    """The role and the condition keys it gives every request (the same for thousands)."""
    role = Principal.role(arn)
    return role, principal_context(role, organization_id=organization_id)


def evaluate_requirements(
    context: ProofContext, requirements: list[Requirement], policies: ExecutionRolePolicies, deployer: Deployer
) -> list[Finding]:
    """A finding for each requirement the role its stack deploys as may not make, or may make only
    as far as a condition key the template does not tell goes."""
    findings: dict[tuple[str, str, str], Finding] = {}
    decided: dict[tuple[str, str, str, tuple[tuple[str, Any], ...]], Decision] = {}
    for requirement in requirements:
        stack = requirement.stack
        if stack.execution_role_arn is None:
            continue
        for arn in requirement.resources:
            # The same request comes from the create, update and delete handlers, and from
            # resources alike: decided once.
            key = (stack.execution_role_arn, requirement.action, arn, requirement.context)
            decision = decided.get(key)
            if decision is None:
                decision = decided[key] = decide(context, requirement, arn, policies)
            finding = _finding(context, requirement, arn, decision, deployer)
            if finding is not None:
                findings.setdefault((stack.display_name, requirement.action, finding.problem), finding)
    return list(findings.values())


def _resource_policy(context: ProofContext, action: str, arn: str) -> ResourcePolicy | None:
    """The resource's own policy, as AWS evaluates it with the request (proofs.resource_policies)."""
    return context.index.policy_for(action, arn)


def _finding(
    context: ProofContext, requirement: Requirement, arn: str, decision: Decision, deployer: Deployer
) -> Finding | None:
    if decision.allowed and not decision.missing_keys:
        return None  # most requests: nothing to report
    where = context.where(requirement.stack.environment)
    subject = f"{requirement.stack.display_name} {requirement.subject} ({requirement.operation})"
    owner = context.index.owner(arn, requirement.stack.account)
    if (
        not decision.allowed
        and not decision.explicit_denies
        and all(deny.layer is Layer.RESOURCE for deny in decision.implicit_denies)
        and owner != requirement.stack.account
        and context.index.locate(arn) is None
    ):
        # Only the resource's own side is missing, and it lives outside the assembly (a
        # connection shared through AWS RAM, a resource of an account the platform does not build).
        return Finding(
            deployer.proof,
            where,
            subject,
            f"{requirement.action} on {arn} is allowed to {deployer.who}; account {owner}, which holds the "
            "resource outside the cloud assembly, must grant it (a resource policy or an AWS RAM share)",
            EVALUATION_RULE,
            "grant it in that account (docs/operations.md, 'Prepare the organization')",
            Verdict.UNDECIDED,
        )
    if not decision.allowed:
        return Finding(
            deployer.proof,
            where,
            subject,
            f"{deployer.who} may not {requirement.action} on {arn}: {decision}",
            EVALUATION_RULE,
            deployer.fix,
        )
    missing = [key for key in decision.missing_keys if key.lower() not in ABSENT_FROM_DIRECT_CALLS]
    if missing:
        return Finding(
            deployer.proof,
            where,
            subject,
            f"{requirement.action} on {arn} is allowed only as far as the request's "
            f"{', '.join(missing)} goes, which the template does not tell",
            EVALUATION_RULE,
            "derive the key from the resource's properties (proofs.request_keys)",
            Verdict.UNDECIDED,
        )
    return None


def undecided(context: ProofContext, unknown: list[Unknown], proof: str = PROOF) -> list[Finding]:
    by_what: dict[str, list[Unknown]] = defaultdict(list)
    for item in unknown:
        by_what[item.what].append(item)
    return [
        Finding(
            proof,
            context.where(items[0].stack.environment),
            f"{items[0].stack.display_name} {items[0].subject}"
            + (f" and {len(items) - 1} more" if len(items) > 1 else ""),
            f"{what}: not granted",
            "CloudFormation resource provider schemas (handler permissions) and IAM's Service Authorization Reference",
            "if AWS needs it, add it to proofs/deploy/exceptions.py with its reason",
            Verdict.UNDECIDED,
        )
        for what, items in sorted(by_what.items())
    ]
