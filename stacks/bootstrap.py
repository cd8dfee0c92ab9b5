"""What each account must allow CloudFormation to do, and the commands that bootstrap it.

`cdk bootstrap` gives CloudFormation AdministratorAccess unless told otherwise. The
platform bootstraps every account with execution policies that allow only the services
its stacks use, and only on resources named with the organization's prefix where the
service supports resource-level permissions (CDK names every generated role, policy,
function and log group after its stack, and every platform stack name starts with it).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from stacks import naming
from stacks.config import OrgConfig, Role
from stacks.config.models import WORKLOAD_ROLES

MANAGED_POLICY_MAX_CHARACTERS = 6144
"""IAM's limit for one managed policy document (white space not counted)."""

Statement = dict[str, Any]


def _allow(sid: str, actions: list[str], resources: list[str] | str = "*") -> Statement:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(actions), "Resource": resources}


def _base(org: str, account_id: str) -> list[Statement]:
    """What every account's stacks need: baseline keys, buckets, network, logs, parameters."""
    iam_arn = f"arn:aws:iam::{account_id}"
    return [
        _allow("CloudFormationOwnStacks", ["cloudformation:*"], f"arn:aws:cloudformation:*:{account_id}:stack/{org}-*"),
        _allow(
            "KmsKeysAndAliases",
            [
                "kms:CreateKey",
                "kms:CreateAlias",
                "kms:DeleteAlias",
                "kms:UpdateAlias",
                "kms:DescribeKey",
                "kms:EnableKeyRotation",
                "kms:GetKeyPolicy",
                "kms:GetKeyRotationStatus",
                "kms:ListResourceTags",
                "kms:PutKeyPolicy",
                "kms:ScheduleKeyDeletion",
                "kms:TagResource",
                "kms:UntagResource",
                "kms:UpdateKeyDescription",
            ],
        ),
        _allow("PlatformBuckets", ["s3:*"], [f"arn:aws:s3:::{org}-*", f"arn:aws:s3:::{org}-*/*"]),
        _allow(
            "PlatformParameters",
            ["ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParameter*", "ssm:AddTagsToResource"],
            f"arn:aws:ssm:*:{account_id}:parameter/{org}/*",
        ),
        # Resolved at deploy time: AWS's public parameters, such as the Powertools layer ARN.
        _allow(
            "AwsPublicParameters", ["ssm:GetParameters", "ssm:GetParameter"], "arn:aws:ssm:*::parameter/aws/service/*"
        ),
        _allow(
            "IsolatedNetwork",
            [
                "ec2:Describe*",
                "ec2:CreateVpc",
                "ec2:DeleteVpc",
                "ec2:ModifyVpcAttribute",
                "ec2:CreateSubnet",
                "ec2:DeleteSubnet",
                "ec2:CreateRouteTable",
                "ec2:DeleteRouteTable",
                "ec2:AssociateRouteTable",
                "ec2:DisassociateRouteTable",
                "ec2:CreateVpcEndpoint",
                "ec2:DeleteVpcEndpoints",
                "ec2:ModifyVpcEndpoint",
                "ec2:CreateSecurityGroup",
                "ec2:DeleteSecurityGroup",
                "ec2:AuthorizeSecurityGroupIngress",
                "ec2:AuthorizeSecurityGroupEgress",
                "ec2:RevokeSecurityGroupIngress",
                "ec2:RevokeSecurityGroupEgress",
                "ec2:CreateFlowLogs",
                "ec2:DeleteFlowLogs",
                "ec2:CreateTags",
                "ec2:DeleteTags",
            ],
        ),
        _allow(
            "PlatformLogGroups",
            ["logs:*"],
            [f"arn:aws:logs:*:{account_id}:log-group:{org}-*", f"arn:aws:logs:*:{account_id}:log-group:/{org}/*"],
        ),
        _allow("DescribeLogGroups", ["logs:DescribeLogGroups"]),
        _allow(
            "PlatformRolesAndPolicies",
            [
                "iam:AttachRolePolicy",
                "iam:CreatePolicy",
                "iam:CreatePolicyVersion",
                "iam:CreateRole",
                "iam:DeletePolicy",
                "iam:DeletePolicyVersion",
                "iam:DeleteRole",
                "iam:DeleteRolePolicy",
                "iam:DetachRolePolicy",
                "iam:GetPolicy",
                "iam:GetPolicyVersion",
                "iam:GetRole",
                "iam:GetRolePolicy",
                "iam:ListPolicyVersions",
                "iam:PassRole",
                "iam:PutRolePolicy",
                "iam:TagPolicy",
                "iam:TagRole",
                "iam:UntagRole",
                "iam:UpdateAssumeRolePolicy",
                "iam:UpdateRoleDescription",
            ],
            [f"{iam_arn}:role/{org}-*", f"{iam_arn}:policy/{org}-*"],
        ),
        # CDK's own custom resources (for example the one closing the default security group).
        _allow("CdkCustomResourceFunctions", ["lambda:*"], f"arn:aws:lambda:*:{account_id}:function:{org}-*"),
    ]


def _for_role(role: Role, org: str, account_id: str) -> list[Statement]:
    if role is Role.MANAGEMENT:
        return [
            _allow("OrganizationStructure", ["organizations:*"]),
            _allow("OrganizationTrail", ["cloudtrail:*"], f"arn:aws:cloudtrail:*:{account_id}:trail/{org}-*"),
            _allow("Budgets", ["budgets:*"], f"arn:aws:budgets::{account_id}:budget/{org}-*"),
            _allow("Notifications", ["sns:*"], f"arn:aws:sns:*:{account_id}:{org}-*"),
            _allow("IdentityCenter", ["sso:*", "identitystore:Describe*", "identitystore:List*"]),
            _allow("StackSets", ["cloudformation:*StackSet*", "cloudformation:*StackInstances*"]),
        ]
    if role is Role.SHARED_SERVICES:
        return [
            _allow(
                "PackageMirror",
                ["codeartifact:*"],
                [
                    f"arn:aws:codeartifact:*:{account_id}:domain/{org}",
                    f"arn:aws:codeartifact:*:{account_id}:repository/{org}/*",
                ],
            ),
            _allow(
                "DeploymentPipelines",
                ["codepipeline:*", "codebuild:*"],
                [f"arn:aws:codepipeline:*:{account_id}:{org}-*", f"arn:aws:codebuild:*:{account_id}:project/{org}-*"],
            ),
            _allow(
                "RepositoryConnection",
                ["codeconnections:PassConnection", "codestar-connections:PassConnection"],
                [
                    f"arn:aws:codeconnections:*:{account_id}:connection/*",
                    f"arn:aws:codestar-connections:*:{account_id}:connection/*",
                ],
            ),
            _allow(
                "DeploymentMessaging",
                ["events:*", "sns:*", "sqs:*", "cloudwatch:*"],
                [
                    f"arn:aws:events:*:{account_id}:*",
                    f"arn:aws:sns:*:{account_id}:{org}-*",
                    f"arn:aws:sqs:*:{account_id}:{org}-*",
                    f"arn:aws:cloudwatch:*:{account_id}:alarm:{org}-*",
                ],
            ),
        ]
    if role in WORKLOAD_ROLES:
        # The ML services the data, development, test and production stacks deploy.
        services = [
            "sagemaker:*",
            "application-autoscaling:*",
            "cloudwatch:*",
            "events:*",
            "scheduler:*",
            "sqs:*",
            "sns:*",
            "dynamodb:*",
            "glue:*",
            "ecr:*",
            "servicecatalog:*",
            # Inference APIs: the gateway, its web ACL, and a production API's name and certificate.
            "apigateway:*",
            "wafv2:*",
            "acm:*",
            "route53:*",
        ]
        return [_allow("MachineLearningServices", services)]
    return []


@dataclass(frozen=True)
class ExecutionPolicy:
    name: str
    document: dict[str, Any]

    @property
    def size(self) -> int:
        return len(json.dumps(self.document, separators=(",", ":")))


def execution_policies(config: OrgConfig, account_name: str) -> list[ExecutionPolicy]:
    """The account's execution policies: the base, plus one per role with statements."""
    org = config.organization.name
    account = config.accounts[account_name]
    policies = [ExecutionPolicy(naming.role_name(org, "cdk-execution"), _document(_base(org, account.id)))]
    for role in account.roles:
        statements = _for_role(role, org, account.id)
        if statements:
            policies.append(ExecutionPolicy(naming.role_name(org, f"cdk-execution-{role}"), _document(statements)))
    return policies


def _document(statements: list[Statement]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": statements}


def bootstrap_commands(config: OrgConfig, policy_dir: str) -> list[str]:
    """Shell lines that create each account's execution policies and bootstrap it, trusting
    the shared-services account (where the platform's pipeline deploys from)."""
    lines = []
    for name, account in config.accounts.items():
        region = config.region_of(account)
        policies = execution_policies(config, name)
        lines.append(f"# {name}: account {account.id}, region {region}, roles {', '.join(account.roles)}")
        lines.append(f"# (run with credentials for account {account.id})")
        for policy in policies:
            lines.append(
                f"aws iam create-policy --policy-name {policy.name} "
                f"--policy-document file://{policy_dir}/{name}-{policy.name}.json"
            )
        lines.append(f"npx cdk bootstrap {' '.join(cdk_bootstrap_arguments(config, name))}")
        lines.append("")
    return lines


def cdk_bootstrap_arguments(config: OrgConfig, account_name: str) -> list[str]:
    """`cdk bootstrap` arguments of an account: its environments (its region, and the recovery
    regions it deploys to), trust in shared-services (unless it is shared-services) and its
    execution policies, which must exist first."""
    _, shared_services = config.account_with(Role.SHARED_SERVICES)
    account = config.accounts[account_name]
    arns = ",".join(
        f"arn:aws:iam::{account.id}:policy/{policy.name}" for policy in execution_policies(config, account_name)
    )
    trust = [] if account.id == shared_services.id else ["--trust", shared_services.id]
    recovery = (
        config.recovery_regions() if account.id == shared_services.id else config.recovery_regions_of(account_name)
    )
    environments = [f"aws://{account.id}/{region}" for region in (config.region_of(account), *recovery)]
    return [*environments, *trust, "--cloudformation-execution-policies", arns]
