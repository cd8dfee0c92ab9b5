"""Guardrail service control policies as plain documents, and the AWS limits they must meet.

Pure Python (no aws_cdk import), so the config validation can check the generated
documents' sizes before the CDK runtime starts. Every document is a deny list: SCPs
never grant, they only bound what IAM may grant in member accounts.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

PolicyDocument = dict[str, Any]

SCP_MAX_CHARACTERS = 5120
"""AWS Organizations' size limit of one SCP document."""
SCPS_PER_TARGET = 5
"""How many SCPs one root, OU or account may have attached, FullAWSAccess included (AWS
Organizations User Guide, "Quotas for AWS Organizations": maximum number of policies attached
to a root, OU or account, 5 for SCPs)."""

# Services whose API is global (served from us-east-1) or that manage the account itself:
# a region restriction must leave them alone or the console and IAM stop working.
GLOBAL_SERVICE_ACTIONS = (
    "account:*",
    "aws-portal:*",
    "billing:*",
    "budgets:*",
    "ce:*",
    "cloudfront:*",
    "cur:*",
    "globalaccelerator:*",
    "health:*",
    "iam:*",
    "networkmanager:*",
    "organizations:*",
    "pricing:*",
    "route53:*",
    "route53domains:*",
    "s3:GetAccountPublicAccessBlock",
    "s3:ListAllMyBuckets",
    "s3:PutAccountPublicAccessBlock",
    "shield:*",
    "sso:*",
    "sts:*",
    "support:*",
    "trustedadvisor:*",
    "waf:*",
    "wafv2:*",
    "ec2:DescribeRegions",
)

# SageMaker creates these with compute the guardrails must keep inside the VPC and keys.
JOBS_WITH_VPC = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModel",  # transform jobs and endpoints run the model's VPC configuration
)
JOBS_WITH_VOLUME_KEY = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateTransformJob",
)
CLARIFY_SHADOW_ENDPOINT_CONFIGS = "arn:*:sagemaker:*:*:endpoint-config/sm-clarify-*"
"""What Clarify names the endpoint configs of the shadow endpoints it serves a model from
while its post-training bias and SHAP checks and its feature-attribution monitoring run: its
analysis config cannot name a volume key for them, so they are the one kind of endpoint
config without a customer key (SageMaker still encrypts their volumes, with its own key). IAM
lets only the pipelines' job roles and Model Monitor's role create them
(ml_constructs.personas, stacks.serving_stack)."""
CLARIFY_SHADOW_ENDPOINTS = "arn:*:sagemaker:*:*:endpoint/sm-clarify-*"
"""The shadow endpoints themselves: the job that creates one deletes it when it ends, which
the production guardrail must allow (no production endpoint is named sm-clarify-*)."""
JOBS_WITH_OUTPUT_KEY = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateProcessingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateTransformJob",
)
JOBS_WITH_NETWORK_ISOLATION = (
    "sagemaker:CreateTrainingJob",
    "sagemaker:CreateHyperParameterTuningJob",
    "sagemaker:CreateModel",
)
PRODUCTION_CHANGES = (
    "sagemaker:DeleteEndpoint",
    "sagemaker:UpdateEndpoint",
    "sagemaker:UpdateEndpointWeightsAndCapacities",
    "sagemaker:DeleteEndpointConfig",
    "sagemaker:DeleteModelPackageGroup",
    "sagemaker:PutModelPackageGroupPolicy",
    "sagemaker:DeleteModelPackageGroupPolicy",
)


def _document(*statements: PolicyDocument) -> PolicyDocument:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def _deny(
    sid: str,
    actions: Sequence[str],
    resource: str | Sequence[str] = "*",
    *,
    not_resource: str | Sequence[str] | None = None,
    **condition: Any,
) -> PolicyDocument:
    statement: PolicyDocument = {"Sid": sid, "Effect": "Deny", "Action": list(actions)}
    if not_resource is None:
        statement["Resource"] = resource
    else:
        statement["NotResource"] = not_resource if isinstance(not_resource, str) else list(not_resource)
    if condition:
        statement["Condition"] = condition
    return statement


def _unless_principal(patterns: Sequence[str]) -> dict[str, Any]:
    return {"ArnNotLike": {"aws:PrincipalArn": list(patterns)}}


def protect_baseline(*, trail_name: str, flow_log_group: str, exempt_roles: Sequence[str]) -> PolicyDocument:
    """No account leaves the organization; the audit trail, AWS Config and VPC flow logs
    cannot be switched off or altered except by the roles that deploy them."""
    exempt = _unless_principal(exempt_roles)
    return _document(
        _deny("DenyLeavingOrganization", ["organizations:LeaveOrganization"]),
        _deny(
            "ProtectOrganizationTrail",
            [
                "cloudtrail:StopLogging",
                "cloudtrail:DeleteTrail",
                "cloudtrail:UpdateTrail",
                "cloudtrail:PutEventSelectors",
                "cloudtrail:PutInsightSelectors",
            ],
            f"arn:aws:cloudtrail:*:*:trail/{trail_name}",
        ),
        _deny(
            "ProtectConfigRecording",
            [
                "config:StopConfigurationRecorder",
                "config:DeleteConfigurationRecorder",
                "config:PutConfigurationRecorder",
                "config:DeleteDeliveryChannel",
                "config:PutDeliveryChannel",
                "config:DeleteRetentionConfiguration",
            ],
            **exempt,
        ),
        _deny("ProtectFlowLogs", ["ec2:DeleteFlowLogs"], **exempt),
        _deny(
            "ProtectFlowLogGroup",
            [
                "logs:DeleteLogGroup",
                "logs:DeleteLogStream",
                "logs:PutRetentionPolicy",
                "logs:DeleteRetentionPolicy",
                "logs:DisassociateKmsKey",
            ],
            f"arn:aws:logs:*:*:log-group:{flow_log_group}*",
            **exempt,
        ),
    )


def deny_other_regions(*, allowed_regions: Sequence[str], exempt_roles: Sequence[str]) -> PolicyDocument:
    """Regional services only in the allowed regions; global services stay usable."""
    return _document(
        {
            "Sid": "DenyOutsideAllowedRegions",
            "Effect": "Deny",
            "NotAction": list(GLOBAL_SERVICE_ACTIONS),
            "Resource": "*",
            "Condition": {
                "StringNotEquals": {"aws:RequestedRegion": list(allowed_regions)},
                **_unless_principal(exempt_roles),
            },
        }
    )


def ml_workloads() -> PolicyDocument:
    """SageMaker in workload accounts: Studio VPC-only; notebooks without internet or root;
    jobs, models and endpoints in a VPC with customer keys (Clarify's shadow endpoints aside:
    CLARIFY_SHADOW_ENDPOINT_CONFIGS); training and models network-isolated."""
    return _document(
        # Negated operators also match when the key is absent, so omitting a setting is denied too.
        _deny(
            "StudioDomainsVpcOnly",
            ["sagemaker:CreateDomain"],
            StringNotEquals={"sagemaker:AppNetworkAccessType": "VpcOnly"},
        ),
        _deny(
            "NotebooksWithoutDirectInternet",
            ["sagemaker:CreateNotebookInstance"],
            StringNotEquals={"sagemaker:DirectInternetAccess": "Disabled"},
        ),
        _deny(
            "NotebooksWithoutRoot",
            ["sagemaker:CreateNotebookInstance", "sagemaker:UpdateNotebookInstance"],
            StringNotEquals={"sagemaker:RootAccess": "Disabled"},
        ),
        _deny("JobsInVpc", JOBS_WITH_VPC, Null={"sagemaker:VpcSubnets": "true"}),
        _deny("VolumesEncryptedWithCustomerKey", JOBS_WITH_VOLUME_KEY, Null={"sagemaker:VolumeKmsKey": "true"}),
        _deny(
            "EndpointVolumesEncryptedWithCustomerKey",
            ["sagemaker:CreateEndpointConfig"],
            not_resource=CLARIFY_SHADOW_ENDPOINT_CONFIGS,
            Null={"sagemaker:VolumeKmsKey": "true"},
        ),
        _deny("OutputsEncryptedWithCustomerKey", JOBS_WITH_OUTPUT_KEY, Null={"sagemaker:OutputKmsKey": "true"}),
        # IfExists: an absent key counts as "false", so isolation must be asked for explicitly.
        _deny(
            "TrainingAndModelsNetworkIsolated",
            JOBS_WITH_NETWORK_ISOLATION,
            BoolIfExists={"sagemaker:NetworkIsolation": "false"},
        ),
    )


def ml_production(*, deployment_roles: Sequence[str]) -> PolicyDocument:
    """Production serving changes only through the deployment roles (Clarify's shadow
    endpoints aside, which feature-attribution monitoring deletes after each run); no public
    or vendor workforces see production data."""
    return _document(
        _deny(
            "ServingChangesOnlyByDeployment",
            PRODUCTION_CHANGES,
            not_resource=[CLARIFY_SHADOW_ENDPOINTS, CLARIFY_SHADOW_ENDPOINT_CONFIGS],
            **_unless_principal(deployment_roles),
        ),
        _deny(
            "PrivateWorkforcesOnly",
            ["sagemaker:CreateLabelingJob"],
            StringEquals={"sagemaker:WorkteamType": ["public-crowd", "vendor-crowd"]},
        ),
    )


def minified(document: PolicyDocument) -> str:
    """The document as Organizations stores it, without insignificant whitespace."""
    return json.dumps(document, separators=(",", ":"))


def limit_violations(
    documents: Mapping[str, PolicyDocument],
    attachments: Mapping[str, Sequence[str]],
    others: Mapping[str, int] | None = None,
) -> list[tuple[str, str]]:
    """(subject, message) for every SCP over the size limit and every target over the count.

    `attachments` maps a target (an OU) to the names of the documents attached to it. `others`
    counts, per target, the SCPs attached there besides them: by default 1, AWS's FullAWSAccess,
    which Organizations attaches to every new target; an existing OU may have more (Control
    Tower's controls). They all count against the limit.
    """
    problems = []
    for name, document in documents.items():
        size = len(minified(document))
        if size > SCP_MAX_CHARACTERS:
            problems.append((name, f"SCP is {size} characters, over the limit of {SCP_MAX_CHARACTERS}"))
    for target, names in attachments.items():
        already = (others or {}).get(target, 1)
        count = len(names) + already
        if count > SCPS_PER_TARGET:
            included = (
                "FullAWSAccess included" if already == 1 else f"{already} attached already, FullAWSAccess included"
            )
            problems.append((target, f"{count} SCPs attached ({included}), over the limit of {SCPS_PER_TARGET}"))
    return problems
