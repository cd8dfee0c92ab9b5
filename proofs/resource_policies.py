"""Which resource of the assembly an ARN names, which account owns it, and the resource-based
policy AWS evaluates with it (a key policy, a bucket policy, a role's trust policy, ...).

Policies are read resolved (proofs.resolve) from the resource itself or from the separate
resources that set them (AWS::S3::BucketPolicy, AWS::SNS::TopicPolicy, AWS::SQS::QueuePolicy,
AWS::Events::EventBusPolicy, AWS::Lambda::Permission).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any

from proofs.assembly import Resource, Stack
from proofs.iam import ResourcePolicy, ResourcePolicyKind
from proofs.identities import identity_of
from proofs.resolve import Resolver, unresolved_parts


@dataclass(frozen=True)
class Located:
    stack: Stack
    resource: Resource

    @property
    def account(self) -> str:
        return self.stack.account


_KEY_ARN = re.compile(r"^arn:[^:]+:kms:")
_ROLE_ARN = re.compile(r"^arn:[^:]+:iam::\d{12}:role/")
_S3_ARN = re.compile(r"^arn:[^:]+:s3:::([^/]+)")
_BUCKET_ACCOUNT = re.compile(r"-(\d{12})-[a-z]{2}(?:-gov)?-[a-z]+-\d$")


_OWN_POLICY = {
    "AWS::KMS::Key": ("KeyPolicy", ResourcePolicyKind.KEY_POLICY),
    "AWS::IAM::Role": ("AssumeRolePolicyDocument", ResourcePolicyKind.TRUST_POLICY),
    "AWS::SageMaker::ModelPackageGroup": ("ModelPackageGroupPolicy", ResourcePolicyKind.RESOURCE_BASED),
    "AWS::ECR::Repository": ("RepositoryPolicyText", ResourcePolicyKind.RESOURCE_BASED),
    "AWS::CodeArtifact::Domain": ("PermissionsPolicyDocument", ResourcePolicyKind.RESOURCE_BASED),
    "AWS::CodeArtifact::Repository": ("PermissionsPolicyDocument", ResourcePolicyKind.RESOURCE_BASED),
}
"""Resources that carry their policy: the property, and how AWS evaluates it."""
_ATTACHED_POLICY = {
    "AWS::S3::Bucket": ("AWS::S3::BucketPolicy", "Bucket", "PolicyDocument"),
    "AWS::SNS::Topic": ("AWS::SNS::TopicPolicy", "Topics", "PolicyDocument"),
    "AWS::SQS::Queue": ("AWS::SQS::QueuePolicy", "Queues", "PolicyDocument"),
}
"""Resources whose policy another resource sets: its type, the property naming the target, the document."""


class ResourceIndex:
    """Every resource of the assembly with a modelled ARN, by that ARN (and buckets by name)."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self._policies: dict[str, ResourcePolicy | None] = {}
        self._external: dict[str, ResourcePolicy] = {}
        self._boundaries: dict[str, str | None] = {}

    @cached_property
    def _by_arn(self) -> dict[str, list[Located]]:
        found: dict[str, list[Located]] = {}
        for stack in self.resolver.assembly.stacks:
            for resource in stack.resources():
                identity = identity_of(resource.type)
                if identity is None or identity.arn is None:
                    continue
                arn = self.resolver.identity(stack, resource.logical_id, "arn")
                if isinstance(arn, str) and not unresolved_parts(arn):
                    found.setdefault(arn, []).append(Located(stack, resource))
        return found

    def locate(self, arn: str) -> Located | None:
        """The resource that holds `arn`'s policy: itself, or the bucket of an object, the group
        of a model package, the function of a version or alias."""
        return next(iter(self.candidates(arn)), None)

    def candidates(self, arn: str) -> list[Located]:
        """Every resource of the assembly that holds `arn`'s policy (as `locate`), in assembly
        order. More than one when CloudFormation makes the names up: a global resource (an IAM
        role) of the same stack name and logical id in two Regions has one representative ARN
        (proofs.identities) for two."""
        if arn in self._by_arn:
            return self._by_arn[arn]
        bucket = _S3_ARN.match(arn)
        if bucket:
            return self._by_arn.get(f"arn:aws:s3:::{bucket[1]}", [])
        if ":model-package/" in arn:
            head, _, rest = arn.partition(":model-package/")
            return self._by_arn.get(f"{head}:model-package-group/{rest.split('/')[0]}", [])
        if ":function:" in arn and arn.count(":") > 6:
            return self._by_arn.get(arn.rsplit(":", 1)[0], [])
        return []

    def with_external(self, policies: Mapping[str, ResourcePolicy]) -> ResourceIndex:
        """This index also knowing `policies`, by ARN: those of resources outside the assembly
        (a CDK bootstrap role's trust, which proofs.deploy.bootstrap decides) or of access that
        is not a resource's policy (a portfolio's principals). A new index sharing what this one
        has read; this one is left as it is, so that a proof given it (the deploy preflight)
        never sees another's additions."""
        extended = ResourceIndex(self.resolver)
        extended._policies = self._policies
        extended._boundaries = self._boundaries
        extended.__dict__["_by_arn"] = self._by_arn
        extended._external = {**self._external, **policies}
        return extended

    def policy_for(self, action: str, arn: str) -> ResourcePolicy | None:
        """The resource policy AWS evaluates with `action` on `arn`: a key policy only for KMS's
        own actions, a trust policy only for assuming the role, others as they are."""
        policy = self._external.get(arn) or self.policy(arn)
        if policy is None:
            return None
        service = action.split(":", 1)[0].lower()
        if policy.kind is ResourcePolicyKind.KEY_POLICY and service != "kms":
            return None
        if policy.kind is ResourcePolicyKind.TRUST_POLICY and not action.lower().startswith(
            ("sts:assumerole", "sts:tagsession")
        ):
            return None
        return policy

    def role_boundary(self, role_arn: str) -> str | None:
        """The permissions boundary a role of the assembly is created with (asked for every
        request that changes a role)."""
        if role_arn not in self._boundaries:
            self._boundaries[role_arn] = self._role_boundary(role_arn)
        return self._boundaries[role_arn]

    def _role_boundary(self, role_arn: str) -> str | None:
        located = self.locate(role_arn)
        if located is None or located.resource.type != "AWS::IAM::Role":
            return None
        boundary = self.resolver.resolve(located.stack, located.resource.properties.get("PermissionsBoundary"))
        return boundary if isinstance(boundary, str) else None

    def target_keys(self, action: str, arn: str) -> dict[str, str]:
        """Condition keys that come from the resource a request acts on: a role's permissions
        boundary for changes to it, the service of a service-linked role being created."""
        lowered = action.lower()
        if lowered in ROLE_CHANGES and is_role(arn):
            boundary = self.role_boundary(arn)
            return {"iam:PermissionsBoundary": boundary} if boundary else {}
        if lowered == "iam:createservicelinkedrole" and "/aws-service-role/" in arn:
            return {"iam:AWSServiceName": arn.split("/aws-service-role/")[1].split("/", maxsplit=1)[0]}
        return {}

    def owner(self, arn: str, default: str | None = None) -> str | None:
        """The account that owns the resource: from the assembly, the ARN, or a bucket name
        that ends in `-<account>-<region>` (the platform's and CDK's bucket names)."""
        located = self.locate(arn)
        if located is not None:
            return located.account
        bucket = _S3_ARN.match(arn)
        if bucket:
            match = _BUCKET_ACCOUNT.search(bucket[1])
            return match[1] if match else default
        parts = arn.split(":")
        return parts[4] if len(parts) > 4 and parts[4] else default

    def policy(self, arn: str) -> ResourcePolicy | None:
        """The resource-based policy evaluated with requests on `arn` (None if it has none)."""
        if arn not in self._policies:
            self._policies[arn] = self._policy_of(arn)
        return self._policies[arn]

    def _policy_of(self, arn: str) -> ResourcePolicy | None:
        located = self.locate(arn)
        if located is None:
            return next((policy for pattern, policy in aws_owned() if pattern.match(arn)), None)
        stack, resource = located.stack, located.resource
        properties, name = resource.properties, f"policy of {resource.path}"
        own = _OWN_POLICY.get(resource.type)
        if own is not None:
            document, kind = own
            return self._policy(stack, properties.get(document), name, kind)
        attached = _ATTACHED_POLICY.get(resource.type)
        if attached is not None:
            return self._attached_policy(stack, resource, *attached)
        if resource.type == "AWS::Events::EventBus":
            return self._event_bus_policy(stack, resource)
        if resource.type == "AWS::Lambda::Function":
            return self._function_policy(stack, resource)
        return None

    def _policy(
        self, stack: Stack, document: Any, name: str, kind: ResourcePolicyKind = ResourcePolicyKind.RESOURCE_BASED
    ) -> ResourcePolicy | None:
        resolved = self.resolver.resolve(stack, document)
        if isinstance(resolved, str):
            import json  # noqa: PLC0415 - policies given as JSON text are rare

            resolved = json.loads(resolved)
        return ResourcePolicy(name, resolved, kind) if resolved else None

    def _attached_policy(
        self, stack: Stack, target: Resource, kind: str, reference: str, document: str
    ) -> ResourcePolicy | None:
        statements: list[Any] = []
        for resource in stack.resources(kind):
            targets = resource.properties.get(reference)
            if _refers_to(targets if isinstance(targets, list) else [targets], target.logical_id):
                policy = self.resolver.resolve(stack, resource.properties.get(document, {}))
                statements += _statements(policy)
        if not statements:
            return None
        return ResourcePolicy(f"policy of {target.path}", {"Version": "2012-10-17", "Statement": statements})

    def _function_policy(self, stack: Stack, function: Resource) -> ResourcePolicy | None:
        """A function's resource policy: the AWS::Lambda::Permission resources of its account."""
        arn = self.resolver.identity(stack, function.logical_id, "arn")
        name = self.resolver.identity(stack, function.logical_id, "name")
        statements = []
        for owner in self.resolver.assembly.stacks_in(stack.environment):
            for permission in owner.resources("AWS::Lambda::Permission"):
                properties = self.resolver.resolve(owner, permission.properties)
                if properties.get("FunctionName") not in (arn, name):
                    continue
                principal = str(properties.get("Principal", ""))
                condition: dict[str, Any] = {}
                if "SourceArn" in properties:
                    condition["ArnLike"] = {"aws:SourceArn": properties["SourceArn"]}
                if "SourceAccount" in properties:
                    condition["StringEquals"] = {"aws:SourceAccount": properties["SourceAccount"]}
                statements.append(
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": principal}
                        if principal.endswith(".amazonaws.com")
                        else {"AWS": principal},
                        "Action": properties.get("Action", "lambda:InvokeFunction"),
                        "Resource": arn,
                        **({"Condition": condition} if condition else {}),
                    }
                )
        if not statements:
            return None
        return ResourcePolicy(f"permissions of {function.path}", {"Version": "2012-10-17", "Statement": statements})

    def _event_bus_policy(self, stack: Stack, bus: Resource) -> ResourcePolicy | None:
        statements = _statements(self.resolver.resolve(stack, bus.properties.get("Policy", {})))
        for resource in stack.resources("AWS::Events::EventBusPolicy"):
            if _refers_to([resource.properties.get("EventBusName")], bus.logical_id):
                statement = self.resolver.resolve(stack, resource.properties.get("Statement"))
                statements += [statement] if statement else []
        if not statements:
            return None
        return ResourcePolicy(f"policy of {bus.path}", {"Version": "2012-10-17", "Statement": statements})


AWS_OWNED: tuple[tuple[re.Pattern[str], ResourcePolicy], ...] = (
    (
        re.compile(r"^arn:aws:lambda:[a-z0-9-]+:017000801446:layer:AWSLambdaPowertoolsPython"),
        ResourcePolicy(
            "Powertools for AWS Lambda's public layer permission",
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": "*", "Action": "lambda:GetLayerVersion", "Resource": "*"}
                ],
            },
        ),
    ),
)
"""Resources AWS owns outside the assembly, with the policy AWS documents for them: the
Powertools layers are public ("Lambda Layer" in Powertools' documentation: "public layers")."""


@cache
def _image_registries() -> tuple[tuple[re.Pattern[str], ResourcePolicy], ...]:
    """The repositories of the SageMaker images the platform runs (scikit-learn, Model Monitor,
    Clarify), in AWS's accounts per region as the sagemaker SDK lists them: any AWS account may
    pull them ("Docker Registry Paths and Example Code", SageMaker Developer Guide)."""
    from ml_pipelines.templates import clarify_images, container_images, model_monitor_images  # noqa: PLC0415

    repositories = {
        f"arn:aws:ecr:{region}:{uri.split('.')[0]}:repository/{uri.split('/', 1)[1].split(':')[0]}"
        for table in (container_images(), clarify_images(), model_monitor_images())
        for region, uri in table.items()
    }
    pull = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                "Resource": "*",
            }
        ],
    }
    policy = ResourcePolicy("SageMaker's public image repositories", pull)
    return tuple((re.compile(f"^{re.escape(arn)}$"), policy) for arn in sorted(repositories))


@cache
def aws_owned() -> tuple[tuple[re.Pattern[str], ResourcePolicy], ...]:
    """Every AWS-owned resource the proofs know the policy of."""
    return (*AWS_OWNED, *_image_registries())


def is_aws_owned(arn: str) -> bool:
    return any(pattern.match(arn) for pattern, _ in aws_owned())


ROLE_CHANGES = frozenset(
    action.lower()
    for action in (
        "iam:CreateRole",
        "iam:PutRolePermissionsBoundary",
        "iam:AttachRolePolicy",
        "iam:DetachRolePolicy",
        "iam:PutRolePolicy",
        "iam:DeleteRolePolicy",
        "iam:UpdateAssumeRolePolicy",
        "iam:TagRole",
        "iam:UntagRole",
        "iam:UpdateRole",
        "iam:UpdateRoleDescription",
        "iam:DeleteRole",
    )
)
"""IAM actions on a role whose request carries iam:PermissionsBoundary (the role's boundary,
or the one being set), per the Service Authorization Reference's condition keys for IAM."""


def _statements(policy: Any) -> list[Any]:
    if not isinstance(policy, Mapping):
        return []
    statements = policy.get("Statement", [])
    return list(statements) if isinstance(statements, list) else [statements]


def _refers_to(values: Iterable[Any], logical_id: str) -> bool:
    """Whether any value is a Ref or GetAtt of `logical_id`."""
    for value in values:
        if isinstance(value, Mapping):
            if value.get("Ref") == logical_id:
                return True
            target = value.get("Fn::GetAtt")
            if isinstance(target, list) and target and target[0] == logical_id:
                return True
    return False


def is_key(arn: str) -> bool:
    return bool(_KEY_ARN.match(arn)) and ":key/" in arn


def is_role(arn: str) -> bool:
    return bool(_ROLE_ARN.match(arn))
