"""The execution policies and the permissions boundary of each account, generated from what
its stacks need (proofs.deploy.requirements) instead of kept by hand.

Execution policies: every required action on the ARNs the stacks touch, scoped to the
organization's names (`<org>-*`, `/<org>/*`) where the name is the organization's, to the
account and region always, and "*" only for actions without resource-level permissions; split
into managed policies under IAM's 6,144-character limit.

The permissions boundary (`<org>-permissions-boundary`) is attached to the CloudFormation
execution role (`cdk bootstrap --custom-permissions-boundary`) and to every role the stacks
create (CDK's permissions-boundary context, stacks.stages). It allows everything except the
ways out of it: creating a role or user without it, changing a role that does not carry it,
removing it, editing it or the execution policies; and outside the management account,
changing the organization or Identity Center.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from proofs.deploy.requirements import Requirement
from proofs.identities import GENERATED
from stacks import naming

_SEPARATORS = re.compile(r"([/:])")
MANAGED_POLICY_MAX_CHARACTERS = 6144
"""IAM's limit for one managed policy document, white space not counted (IAM quotas)."""
MANAGED_POLICIES_PER_ROLE = 10
"""Managed policies one role may have attached by default (IAM quotas; 20 on request)."""

IAM_GUARDED_ACTIONS = (
    "iam:AttachRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
    "iam:DeleteRole",
)
"""Changes to a role that the boundary allows only on roles that carry it."""
ORGANIZATION_ADMINISTRATION = ("organizations:*", "sso:*", "sso-directory:*", "identitystore:*", "account:*")


@dataclass(frozen=True)
class ManagedPolicy:
    name: str
    document: dict[str, Any]

    @property
    def size(self) -> int:
        return len(json.dumps(self.document, separators=(",", ":")))

    def arn(self, account: str) -> str:
        return f"arn:aws:iam::{account}:policy/{self.name}"


def permissions_boundary(org: str, account: str, *, management: bool) -> ManagedPolicy:
    name = naming.permissions_boundary(org)
    boundary_arn = f"arn:aws:iam::{account}:policy/{name}"
    guarded_policies = [boundary_arn, f"arn:aws:iam::{account}:policy/{naming.execution_policy_prefix(org)}*"]
    without_boundary = {"StringNotEquals": {"iam:PermissionsBoundary": boundary_arn}}
    # In the management account, assigning a permission set to the account itself makes IAM
    # Identity Center create its AWSReservedSSO role there with the caller's credentials and
    # no boundary; the execution role there administers the organization anyway.
    scope: dict[str, Any] = (
        {"NotResource": [f"arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/*"]}
        if management
        else {"Resource": "*"}
    )
    statements: list[dict[str, Any]] = [
        {"Sid": "EverythingTheIdentityPoliciesAllow", "Effect": "Allow", "Action": "*", "Resource": "*"},
        {
            "Sid": "NoRoleOrUserWithoutThisBoundary",
            "Effect": "Deny",
            "Action": [
                "iam:CreateRole",
                "iam:CreateUser",
                "iam:PutRolePermissionsBoundary",
                "iam:PutUserPermissionsBoundary",
            ],
            **scope,
            "Condition": without_boundary,
        },
        {
            "Sid": "NoChangeToRolesWithoutThisBoundary",
            "Effect": "Deny",
            "Action": list(IAM_GUARDED_ACTIONS),
            **scope,
            "Condition": without_boundary,
        },
        {
            "Sid": "NoRemovingBoundaries",
            "Effect": "Deny",
            "Action": ["iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary"],
            "Resource": "*",
        },
        {
            "Sid": "NoEditingTheBoundaryOrTheExecutionPolicies",
            "Effect": "Deny",
            "Action": [
                "iam:CreatePolicyVersion",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:SetDefaultPolicyVersion",
                "iam:TagPolicy",
                "iam:UntagPolicy",
            ],
            "Resource": guarded_policies,
        },
        {
            "Sid": "NoUsersOrAccessKeys",
            "Effect": "Deny",
            "Action": ["iam:CreateAccessKey", "iam:CreateLoginProfile"],
            "Resource": "*",
        },
    ]
    if not management:
        statements.append(
            {
                "Sid": "OrganizationOnlyFromTheManagementAccount",
                "Effect": "Deny",
                "Action": list(ORGANIZATION_ADMINISTRATION),
                "Resource": "*",
            }
        )
    return ManagedPolicy(name, {"Version": "2012-10-17", "Statement": statements})


@lru_cache(maxsize=65536)
def generalize(arn: str, org: str) -> str:
    """The policy pattern that grants `arn` and its kind within the organization: a name of the
    organization's (or one CloudFormation generates) becomes `<org>-*`, an id the service
    chooses `*`, an S3 object key `*`; everything after the first wildcard is covered by it."""
    parts = arn.split(":", 5)
    if not arn.startswith("arn:") or len(parts) < 6:
        return arn
    head, resource = ":".join(parts[:5]), parts[5]
    if parts[2] == "s3" and "/" in resource:
        return f"{head}:{resource.split('/', 1)[0]}/*"
    return f"{head}:{_generalized_resource(resource, org)}"


def _generalized_resource(resource: str, org: str) -> str:
    tokens = _SEPARATORS.split(resource)
    for index, token in enumerate(tokens):
        before = "".join(tokens[:index])
        if token == org and index > 0:
            return f"{before}{org}{''.join(tokens[index + 1 : index + 2])}*"
        if token.startswith(f"{org}-"):
            return f"{before}{org}-*"
        if GENERATED in token or token == "*":
            return f"{before}*"
    return resource


def execution_policies(org: str, requirements: Iterable[Requirement]) -> list[ManagedPolicy]:
    """The account's execution policies: required actions grouped by the patterns they need."""
    actions_by_pattern: dict[str, set[str]] = defaultdict(set)
    for requirement in requirements:
        for arn in requirement.resources:
            actions_by_pattern[generalize(arn, org)].add(requirement.action)
    patterns_by_actions: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for pattern, actions in actions_by_pattern.items():
        # IAM reads actions case-insensitively, and the registry spells some two ways
        # (kms:GenerateDataKeyWithoutPlainText and ...Plaintext): the exact spelling breaks the
        # tie, so the set's order (which varies with the interpreter's hash seed) never shows.
        patterns_by_actions[tuple(sorted(actions, key=lambda action: (action.lower(), action)))].append(pattern)
    statements = [
        {"Effect": "Allow", "Action": list(actions), "Resource": sorted(patterns)}
        for actions, patterns in sorted(patterns_by_actions.items(), key=lambda item: sorted(item[1]))
    ]
    return _split(org, statements)


def _split(org: str, statements: list[dict[str, Any]]) -> list[ManagedPolicy]:
    documents: list[list[dict[str, Any]]] = [[]]
    for part in [part for statement in statements for part in _fitting(statement)]:
        candidate = documents[-1] + [part]
        if _size(candidate) > MANAGED_POLICY_MAX_CHARACTERS and documents[-1]:
            documents.append([part])
        else:
            documents[-1] = candidate
    return [
        ManagedPolicy(naming.execution_policy(org, index), {"Version": "2012-10-17", "Statement": document})
        for index, document in enumerate(documents, start=1)
    ]


def _fitting(statement: dict[str, Any]) -> list[dict[str, Any]]:
    """The statement, or halves of its actions until each part fits in one managed policy."""
    actions = statement["Action"]
    if _size([statement]) <= MANAGED_POLICY_MAX_CHARACTERS or len(actions) < 2:
        return [statement]
    middle = len(actions) // 2
    return [part for half in (actions[:middle], actions[middle:]) for part in _fitting({**statement, "Action": half})]


def _size(statements: list[dict[str, Any]]) -> int:
    return len(json.dumps({"Version": "2012-10-17", "Statement": statements}, separators=(",", ":")))
