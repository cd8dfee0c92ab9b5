"""Proof 2 of the preflight: the execution role cannot escalate, and the organization can be
changed only from the management account.

Every account's execution role (its generated execution policies, the permissions boundary,
the SCPs) must be denied the ways past its boundary, each asked as AWS would evaluate it:
creating a role or user without the boundary or with another; attaching a policy to, or
rewriting the policy or trust of, a role that does not carry the boundary (AdministratorAccess
on a CDK bootstrap role); removing a boundary; editing the boundary or the execution policies;
creating access keys; and outside the management account, changing the organization or
Identity Center.

In the management account, no role the platform deploys may be assumed from another account
while it can change the organization (organizations:*, sso:*), and its CDK roles trust no other
account (proofs.deploy.bootstrap).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from proofs.context import ProofContext
from proofs.deploy.bootstrap import AccountBootstrap, bootstrap_plan, boundary_policies
from proofs.findings import Finding
from proofs.iam import Policy, Principal, Request, evaluate, principal_context
from proofs.organization import organization_view, service_control_policies
from proofs.roles import Roles
from stacks import naming

PROOF = "no-escalation"
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
ORGANIZATION_CHANGES = (
    "organizations:CreateAccount",
    "organizations:AttachPolicy",
    "organizations:DetachPolicy",
    "organizations:UpdatePolicy",
    "organizations:MoveAccount",
    "sso:CreatePermissionSet",
    "sso:CreateAccountAssignment",
    "sso:PutInlinePolicyToPermissionSet",
)
"""What controls the organization: its accounts, SCPs and who may sign in where."""
_RULE = (
    "IAM permissions boundaries (IAM User Guide, 'Permissions boundaries for IAM entities': delegating role "
    "creation safely) and policy evaluation logic"
)


@dataclass(frozen=True)
class Attempt:
    """A request the execution role must be denied, and why allowing it would escalate."""

    action: str
    resource: str
    context: Mapping[str, str]
    escalation: str


def attempts(plan: AccountBootstrap, org: str) -> list[Attempt]:
    account = plan.account
    role = f"arn:aws:iam::{account}:role/{org}-escalation-test"
    bootstrap_role = f"arn:aws:iam::{account}:role/{naming.cdk_bootstrap_role('deploy', account, plan.regions[0])}"
    guarded = [plan.boundary.arn(account), *(policy.arn(account) for policy in plan.execution_policies)]
    found = [
        Attempt("iam:CreateRole", role, {}, "a role without the boundary could do anything the account allows"),
        Attempt(
            "iam:CreateRole",
            role,
            {"iam:PermissionsBoundary": ADMINISTRATOR_ACCESS},
            "a role bounded by AdministratorAccess is not bounded",
        ),
        Attempt("iam:CreateUser", f"arn:aws:iam::{account}:user/{org}-escalation-test", {}, "a user without it"),
        Attempt(
            "iam:AttachRolePolicy",
            bootstrap_role,
            {"iam:PolicyARN": ADMINISTRATOR_ACCESS},
            "AdministratorAccess on a role the boundary does not limit",
        ),
        Attempt("iam:PutRolePolicy", bootstrap_role, {}, "any inline policy on a role the boundary does not limit"),
        Attempt(
            "iam:UpdateAssumeRolePolicy", bootstrap_role, {}, "trusting anyone with a role the boundary does not limit"
        ),
        Attempt("iam:DeleteRolePermissionsBoundary", role, {}, "removing the boundary from a platform role"),
        Attempt("iam:CreateAccessKey", f"arn:aws:iam::{account}:user/*", {}, "long-term credentials"),
    ]
    for policy in guarded:
        found += [
            Attempt(action, policy, {}, "rewriting the policies that limit the execution role")
            for action in ("iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion", "iam:DeletePolicy")
        ]
    if plan.phase != 1:
        found += [
            Attempt(action, "*", {}, "changing the organization from outside its management account")
            for action in ORGANIZATION_CHANGES
        ]
    return found


def prove(context: ProofContext) -> list[Finding]:
    org = context.config.organization.name
    view = organization_view(context)
    findings: list[Finding] = []
    plans = bootstrap_plan(context)
    for plan in plans:
        principal = Principal.role(_execution_role(plan))
        scps = service_control_policies(context, view, plan.account)
        identity = [Policy(policy.name, policy.document) for policy in plan.execution_policies]
        boundary = Policy(plan.boundary.name, plan.boundary.document)
        for attempt in attempts(plan, org):
            decision = evaluate(
                Request(
                    attempt.action, attempt.resource, principal, {**principal_context(principal), **attempt.context}
                ),
                identity_policies=identity,
                permissions_boundary=boundary,
                service_control_policies=scps,
                resource_account=plan.account,
            )
            if decision.allowed:
                findings.append(
                    Finding(
                        PROOF,
                        f"{plan.name} {plan.account}",
                        f"execution role: {attempt.action} on {attempt.resource}",
                        f"is allowed ({decision}): {attempt.escalation}",
                        _RULE,
                        "deny it in the permissions boundary (proofs.deploy.policies.permissions_boundary)",
                    )
                )
    findings += _management_roles(context, plans)
    return findings


def _execution_role(plan: AccountBootstrap) -> str:
    return f"arn:aws:iam::{plan.account}:role/{naming.cdk_bootstrap_role('cfn-exec', plan.account, plan.regions[0])}"


def _management_roles(context: ProofContext, plans: list[AccountBootstrap]) -> list[Finding]:
    """No other account can reach a role of the management account that changes the organization."""
    management = next((plan for plan in plans if plan.phase == 1), None)
    if management is None:
        return []
    findings: list[Finding] = []
    if management.trusted_account is not None:
        findings.append(
            Finding(
                PROOF,
                f"{management.name} {management.account}",
                "CDK bootstrap",
                f"the management account's deploy roles trust {management.trusted_account}",
                "whoever controls a trusted account deploys to the management account",
                "bootstrap the management account without --trust",
            )
        )
    roles = Roles(context.resolver, boundary_policies(plans))
    others = sorted({account.id for account in context.config.accounts.values()} - {management.account})
    for role in roles:
        if role.account != management.account or role.trust_policy is None:
            continue
        for outsider in others:
            caller = Principal.root(outsider)
            trusted = evaluate(
                Request("sts:AssumeRole", role.arn, caller, principal_context(caller)),
                resource_policy=role.trust_policy,
            )
            if not trusted.allowed:
                continue
            powers = [
                action
                for action in ORGANIZATION_CHANGES
                if evaluate(
                    Request(action, "*", Principal.role(role.arn), principal_context(Principal.role(role.arn))),
                    identity_policies=role.identity_policies,
                    permissions_boundary=role.boundary,
                ).allowed
            ]
            if powers:
                findings.append(
                    Finding(
                        PROOF,
                        f"{management.name} {management.account}",
                        role.resource.path,
                        f"account {outsider} may assume {role.arn}, which may {', '.join(powers)}",
                        "the organization must be administered only from its management account",
                        "trust no other account, or take the organization's administration away from the role",
                    )
                )
    return findings
