"""IAM Identity Center access for the platform's personas: a permission set each, assigned
to an identity-store group in the accounts that persona works in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_sso as sso
from constructs import Construct


@dataclass(frozen=True)
class PermissionSetSpec:
    description: str
    managed_policies: tuple[str, ...]
    inline_policy: Mapping[str, Any] | None = None
    session_hours: int = 4
    tags: Mapping[str, str] = field(default_factory=dict)


_READ_SAGEMAKER: dict[str, Any] = {
    "Sid": "ReadSageMaker",
    "Effect": "Allow",
    # SageMaker's read-only calls by name: what they may do is decidable from this policy alone
    # (an AWS managed policy changes without notice, and no proof can read it offline).
    "Action": [
        "sagemaker:Describe*",
        "sagemaker:List*",
        "sagemaker:Search",
        "sagemaker:GetSearchSuggestions",
        "sagemaker:BatchDescribeModelPackage",
        "sagemaker:BatchGetMetrics",
    ],
    "Resource": "*",
}
_READ_METRICS: dict[str, Any] = {
    "Sid": "ReadMetricsAndLogs",
    "Effect": "Allow",
    "Action": [
        "cloudwatch:Describe*",
        "cloudwatch:Get*",
        "cloudwatch:List*",
        "logs:Describe*",
        "logs:Get*",
        "logs:FilterLogEvents",
        "logs:StartQuery",
        "logs:StopQuery",
    ],
    "Resource": "*",
}


def _studio_for_own_profile_only() -> dict[str, Any]:
    # Attribute-based: Identity Center passes the user's `platform:user` attribute as a
    # session tag, and Studio opens only the user profile tagged with the same value.
    return {
        "Version": "2012-10-17",
        "Statement": [
            _READ_SAGEMAKER,
            {
                "Sid": "OpenOwnStudioProfile",
                "Effect": "Allow",
                "Action": "sagemaker:CreatePresignedDomainUrl",
                "Resource": "arn:aws:sagemaker:*:*:user-profile/*/*",
                "Condition": {
                    "StringEquals": {"sagemaker:ResourceTag/platform:user": "${aws:PrincipalTag/platform:user}"}
                },
            },
        ],
    }


def _approve_models_and_promotions(name_prefix: str) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [
            _READ_SAGEMAKER,
            _READ_METRICS,
            {
                "Sid": "ApproveModelPackages",
                "Effect": "Allow",
                "Action": ["sagemaker:UpdateModelPackage"],
                "Resource": f"arn:aws:sagemaker:*:*:model-package/{name_prefix}-*/*",
            },
            {
                "Sid": "ApprovePromotionToProduction",
                "Effect": "Allow",
                "Action": ["codepipeline:PutApprovalResult"],
                "Resource": f"arn:aws:codepipeline:*:*:{name_prefix}-*/*/*",
            },
        ],
    }


def persona_permission_sets(name_prefix: str) -> dict[str, PermissionSetSpec]:
    """The platform's personas. Only the platform admins administer; everyone else reads
    broadly and changes only what their job needs."""
    aws_managed = "arn:aws:iam::aws:policy/"
    return {
        "platform-admin": PermissionSetSpec(
            description="Operates the ML platform: full administration",
            managed_policies=(f"{aws_managed}AdministratorAccess",),
            session_hours=2,
        ),
        "data-scientist": PermissionSetSpec(
            description="Works in SageMaker Studio on their own user profile",
            managed_policies=(),
            inline_policy=_studio_for_own_profile_only(),
            session_hours=8,
        ),
        "ml-engineer": PermissionSetSpec(
            description="Approves model packages and promotions; reads pipelines, endpoints and metrics",
            managed_policies=(),
            inline_policy=_approve_models_and_promotions(name_prefix),
            session_hours=8,
        ),
        "auditor": PermissionSetSpec(
            description="Reviews security configuration and resources, changes nothing",
            managed_policies=(f"{aws_managed}SecurityAudit", f"{aws_managed}job-function/ViewOnlyAccess"),
        ),
    }


@dataclass(frozen=True)
class Assignment:
    persona: str
    group_id: str
    account_ids: Sequence[str]


class IdentityCenterAccess(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        instance_arn: str,
        permission_sets: Mapping[str, PermissionSetSpec],
        assignments: Sequence[Assignment],
        target_ids: Mapping[str, str] | None = None,
    ) -> None:
        """`target_ids`: what to assign in place of an account id, such as the id attribute of an
        account the same stack creates, so that the assignment waits for the account."""
        super().__init__(scope, construct_id)
        targets = dict(target_ids or {})
        self.permission_sets: dict[str, sso.CfnPermissionSet] = {}
        for persona, spec in permission_sets.items():
            self.permission_sets[persona] = sso.CfnPermissionSet(
                self,
                persona,
                instance_arn=instance_arn,
                name=persona,
                description=spec.description,
                managed_policies=list(spec.managed_policies) or None,
                inline_policy=dict(spec.inline_policy) if spec.inline_policy else None,
                session_duration=f"PT{spec.session_hours}H",
            )
        for assignment in assignments:
            permission_set = self.permission_sets[assignment.persona]
            for account_id in assignment.account_ids:
                sso.CfnAssignment(
                    self,
                    f"{assignment.persona}-{account_id}",
                    instance_arn=instance_arn,
                    permission_set_arn=permission_set.attr_permission_set_arn,
                    principal_id=assignment.group_id,
                    principal_type="GROUP",
                    target_id=targets.get(account_id, account_id),
                    target_type="AWS_ACCOUNT",
                )
        cdk.Tags.of(self).add("platform:component", "identity")
