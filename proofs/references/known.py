"""What a template may name that no stack of the assembly creates, and why it exists: the
reviewed lists of the references proof.

- `AWS_OWNED`: what AWS creates and keeps in every account (AWS managed policies, public
  parameters, service-linked roles the platform's services create on first use), each with
  the AWS page that says so.
- `CONFIG_SUPPLIED`: resources the config names that exist outside the platform by design (a
  CodeConnections connection, a Cognito user pool, the Identity Center instance). The config
  is the platform's statement that they exist; whether they do cannot be seen offline.
- `bootstrapped`: what `cdk bootstrap` creates in every bootstrapped account and Region
  (proofs.deploy.bootstrap says which), with the execution policies and permissions boundary
  the bootstrap commands create.

An entry that matches no reference of the example organization fails its test
(tests/proofs/test_references.py), so the lists cannot rot.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from proofs.assembly import Environment
from proofs.context import ProofContext
from proofs.deploy.bootstrap import AccountBootstrap
from stacks import naming


@dataclass(frozen=True)
class Listed:
    """A class of names that exist without a stack of the assembly."""

    name: str
    reason: str
    matches: Callable[[str], bool]


AWS_MANAGED_POLICIES = frozenset(
    {
        "AdministratorAccess",
        "SecurityAudit",
        "job-function/ViewOnlyAccess",
        "service-role/AWSLambdaBasicExecutionRole",
    }
)
"""The AWS managed policies the platform attaches, by path and name; tests hold each to AWS's
list of managed policies (moto's copy)."""

SERVICE_LINKED_ROLES = {
    "sagemaker.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint": (
        "Application Auto Scaling creates it when a SageMaker variant is first registered as a scalable target "
        "(Application Auto Scaling User Guide, 'Service-linked roles for Application Auto Scaling')"
    ),
}
"""Service-linked roles a template names, by `<service>/<role name>`, with what creates them."""


def _policy(arn: str) -> bool:
    return arn.startswith("arn:aws:iam::aws:policy/") and arn.removeprefix("arn:aws:iam::aws:policy/") in (
        AWS_MANAGED_POLICIES
    )


def _service_linked_role(arn: str) -> bool:
    match = re.fullmatch(r"arn:aws:iam::\d{12}:role/aws-service-role/(.+)", arn)
    return match is not None and match[1] in SERVICE_LINKED_ROLES


AWS_OWNED: tuple[Listed, ...] = (
    Listed(
        "AWS managed policies",
        "AWS creates and maintains AWS managed policies in every account (IAM User Guide, 'AWS managed policies')",
        _policy,
    ),
    Listed(
        "service-linked roles",
        "; ".join(SERVICE_LINKED_ROLES.values()),
        _service_linked_role,
    ),
    Listed(
        "Powertools public parameters",
        "Powertools for AWS Lambda publishes each layer version's ARN as a public SSM parameter under "
        "/aws/service/powertools/ in every Region it supports (Powertools documentation, 'Lambda Layer')",
        lambda name: name.startswith("/aws/service/powertools/python/"),
    ),
)


@dataclass(frozen=True)
class ConfigSupplied:
    """Resources a config field names that the platform uses but does not create."""

    field: str
    reason: str
    values: Callable[[ProofContext], Iterator[str]]


def _connections(context: ProofContext) -> Iterator[str]:
    config = context.config
    if config.delivery is not None:
        yield config.delivery.connection_arn
    if config.self_service is not None and config.self_service.project_connection_arn:
        yield config.self_service.project_connection_arn


def _user_pools(context: ProofContext) -> Iterator[str]:
    for endpoint in context.config.endpoints:
        if endpoint.api is not None and endpoint.api.cognito_user_pool_arn:
            yield endpoint.api.cognito_user_pool_arn


def _identity_center(context: ProofContext) -> Iterator[str]:
    identity = context.config.landing_zone.identity_center
    if identity is not None:
        yield identity.instance_arn


CONFIG_SUPPLIED: tuple[ConfigSupplied, ...] = (
    ConfigSupplied(
        "delivery.connection_arn, self_service.project_connection_arn",
        "A CodeConnections connection is authorized by a person with the repository host (a connection "
        "CloudFormation creates stays PENDING until someone completes the handshake in the console: "
        "CodeConnections User Guide, 'Update a pending connection'); docs/operations.md, 'Prepare the organization'.",
        _connections,
    ),
    ConfigSupplied(
        "endpoints[].api.cognito_user_pool_arn",
        "The user pool belongs to the application that calls the inference API; the platform only "
        "authorizes its tokens (docs/architecture.md, 'Inference API').",
        _user_pools,
    ),
    ConfigSupplied(
        "landing_zone.identity_center.instance_arn",
        "The organization's IAM Identity Center instance is enabled once in the management account, "
        "outside CloudFormation (docs/operations.md, 'Prepare the organization').",
        _identity_center,
    ),
)


CDK_BOOTSTRAP_ROLES = ("deploy", "cfn-exec", "file-publishing", "image-publishing", "lookup")
"""The roles the CDK bootstrap template creates (`cdk-<qualifier>-<kind>-role-<account>-<region>`)."""
CDK_BOOTSTRAP_VERSION = f"/cdk-bootstrap/{naming.CDK_QUALIFIER}/version"


def bootstrapped(plan: AccountBootstrap) -> Iterator[tuple[str, Environment]]:
    """What the bootstrap of `plan`'s account creates: ARNs and parameter names, with the
    environment they are in. From the CDK bootstrap template (its resources' names) and the
    policies `make bootstrap-commands` creates before it (proofs.deploy.bootstrap)."""
    account = plan.account
    for region in plan.regions:
        environment = Environment(account, region)
        for kind in CDK_BOOTSTRAP_ROLES:
            yield f"arn:aws:iam::{account}:role/{naming.cdk_bootstrap_role(kind, account, region)}", environment
        yield f"arn:aws:s3:::cdk-{naming.CDK_QUALIFIER}-assets-{account}-{region}", environment
        yield CDK_BOOTSTRAP_VERSION, environment
    home = Environment(account, plan.regions[0])
    for policy in (plan.boundary, *plan.execution_policies):
        yield policy.arn(account), home
