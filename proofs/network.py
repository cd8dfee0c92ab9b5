"""The network proof: every compute attached to a VPC reaches, through that VPC, each AWS
service it calls, and Studio reaches its home EFS.

Computes (`computes`): Lambda functions with a VpcConfig; SageMaker models (what endpoints,
batch transform jobs and Clarify's shadow endpoints run) and notebook instances; the four kinds
of monitoring job definitions; the jobs of SageMaker pipelines (processing, training, tuning,
quality and Clarify checks, and the models of Model steps), read from each pipeline's
definition body as an execution with the parameters' defaults sees them; Studio domains (their
user and space defaults) and user profiles. Private spaces run as their owner's profile and
shared spaces with the domain's space defaults, so spaces add no compute of their own.

What a compute calls (`Compute.needs`) is derived, not listed:
- the services its execution role's identity-based policies allow actions on, each action
  mapped to the VPC endpoint that serves it (`endpoint_services`), except what the platform
  does with the role outside the VPC: Lambda writes a function's logs, manages its network
  interfaces and sends to its dead-letter queue ("Sending Lambda function logs to CloudWatch
  Logs"; "Giving Lambda functions access to resources in an Amazon VPC"), SageMaker attaches its
  jobs and models to the VPC ("Give SageMaker hosted endpoints access to resources in your
  Amazon VPC"), and permissions that are no calls of their own (iam:PassRole,
  sts:GetServiceBearerToken, KMS use that a kms:ViaService condition leaves to another service);
- what the runtime needs: a network-isolated SageMaker container calls nothing, but SageMaker
  moves its data and model artifacts to and from S3 through the VPC ("Run training and
  inference containers in internet-free mode"); Studio in VPC-only mode needs the SageMaker API
  and runtime ("Connect Amazon SageMaker Studio in a VPC to External Resources"); a Clarify job
  that serves a shadow endpoint calls the SageMaker API and runtime ("Give SageMaker Clarify
  jobs access to resources in your Amazon VPC").

The rules (`Rule`, cited in every finding): an endpoint for the service in the compute's VPC
and Region; an interface endpoint with private DNS whose security groups admit TCP 443 from the
compute, and compute groups that let it out (groups are stateful: no return rules needed); a
gateway endpoint associated with the route table of each of the compute's subnets, and compute
groups that let TCP 443 out to the service's prefix list; groups and subnets of one VPC; for
Studio, NFS (TCP 2049) allowed in and out between the domain's groups and the subnets that hold
its EFS mount targets. A group declared without `SecurityGroupEgress` keeps the default rule
that allows all outbound traffic (CloudFormation, AWS::EC2::SecurityGroup).

What depends on something outside the assembly (a security group or subnet no stack declares,
a prefix list known only by id, a role or AWS managed policy the assembly does not hold, a
compute of a Service Catalog product) is reported as undecided, by name. `path_exists` answers
one hop for the runtime flow proofs.
"""

from __future__ import annotations

import ipaddress
import json
import weakref
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from proofs.assembly import Environment, Resource, Stack
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict
from proofs.iam import Effect, PolicyError, Statement, parse_statements
from proofs.iam.patterns import action_matches
from proofs.resolve import Resolver, unresolved, unresolved_parts
from proofs.roles import role_policies

PROOF = "network"
HTTPS = 443
NFS = 2049


class Rule(Enum):
    """The AWS rules the proof rests on, with their sources."""

    ENDPOINT = (
        "A VPC without an internet or NAT gateway reaches an AWS service only through a VPC endpoint for "
        'it, and an endpoint serves its own Region only (AWS PrivateLink Guide, "Access AWS services '
        'through AWS PrivateLink" and "AWS services that integrate with AWS PrivateLink", '
        "https://docs.aws.amazon.com/vpc/latest/privatelink/aws-services-privatelink-support.html)"
    )
    PRIVATE_DNS = (
        "AWS SDKs call a service at its default DNS name, which resolves to an interface endpoint only "
        "when the endpoint has private DNS enabled, and private DNS needs the VPC's DNS hostnames and DNS "
        'resolution (AWS PrivateLink Guide, "DNS hostnames", '
        "https://docs.aws.amazon.com/vpc/latest/privatelink/privatelink-access-aws-services.html)"
    )
    EGRESS = (
        "Security groups are stateful: responses return whatever the inbound rules say, but a request "
        "leaves only if an outbound rule of one of the resource's security groups allows it (Amazon VPC "
        'User Guide, "Security groups", https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html)'
    )
    ENDPOINT_INGRESS = (
        "The security groups of an interface endpoint must allow inbound HTTPS (TCP 443) from the "
        'resources that call the service (AWS PrivateLink Guide, "Access an AWS service using an '
        'interface VPC endpoint", https://docs.aws.amazon.com/vpc/latest/privatelink/create-interface-endpoint.html)'
    )
    GATEWAY_ROUTES = (
        "A gateway endpoint serves only the subnets whose route tables it is associated with; each gets "
        'a route to the service\'s prefix list (AWS PrivateLink Guide, "Gateway endpoints", '
        "https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html)"
    )
    GATEWAY_EGRESS = (
        "Traffic through a gateway endpoint goes to the service's public addresses, its AWS-managed "
        "prefix list, so the resource's security groups must let TCP 443 out to that prefix list or "
        'anywhere (AWS PrivateLink Guide, "Gateway endpoints": security, '
        "https://docs.aws.amazon.com/vpc/latest/privatelink/gateway-endpoints.html)"
    )
    SAME_VPC = (
        "A security group belongs to one VPC and only resources in that VPC can use it (Amazon VPC User "
        'Guide, "Security groups", https://docs.aws.amazon.com/vpc/latest/userguide/vpc-security-groups.html)'
    )
    STUDIO_NFS = (
        "Studio apps mount the domain's home EFS volume, whose mount targets SageMaker creates in the "
        "domain's subnets, over NFS: \"NFS traffic over TCP on port 2049 needs to be allowed in both inbound "
        'and outbound rules in order to launch a SageMaker Studio app" (SageMaker API Reference, '
        'CreateDomain; "Connect Amazon SageMaker Studio in a VPC to External Resources", VPC only '
        "requirements, https://docs.aws.amazon.com/sagemaker/latest/dg/studio-updated-and-internet-access.html)"
    )
    ISOLATION = (
        'A network-isolated container makes no outbound calls, even to AWS services ("Run training and '
        'inference containers in internet-free mode", '
        "https://docs.aws.amazon.com/sagemaker/latest/dg/mkt-algo-model-internet-free.html), and a Clarify "
        'job that serves a shadow endpoint must call the SageMaker API and runtime ("Give SageMaker '
        'Clarify jobs access to resources in your Amazon VPC", '
        "https://docs.aws.amazon.com/sagemaker/latest/dg/clarify-vpc.html)"
    )
    OUTSIDE_ASSEMBLY = (
        "What AWS would check here (security groups, subnets, route tables, roles, policies) is not "
        "declared by the assembly, so the answer depends on what exists when the stack deploys"
    )

    def __str__(self) -> str:
        return str(self.value)


# The reviewed mapping from IAM actions to the VPC endpoint services that serve their calls
# (com.amazonaws.<region>.<name>, as "AWS services that integrate with AWS PrivateLink" names
# them). A service's endpoint name is its endpoint prefix in botocore's data, parts reversed
# (api.sagemaker: sagemaker.api); tests/proofs/test_network.py holds the table to that.
ENDPOINT_SERVICES: Mapping[str, str] = {
    "athena": "athena",
    "cloudwatch": "monitoring",
    "codeartifact": "codeartifact.api",
    "dynamodb": "dynamodb",
    "ec2": "ec2",
    "ecr": "ecr.api",
    "elasticfilesystem": "elasticfilesystem",
    "events": "events",
    "glue": "glue",
    "kms": "kms",
    "lambda": "lambda",
    "logs": "logs",
    "s3": "s3",
    "sagemaker": "sagemaker.api",
    "secretsmanager": "secretsmanager",
    "servicecatalog": "servicecatalog",
    "sns": "sns",
    "sqs": "sqs",
    "ssm": "ssm",
    "states": "states",
    "sts": "sts",
    "xray": "xray",
}
"""IAM service prefix -> the endpoint of the service's API."""

ACTION_ENDPOINT_SERVICES: Mapping[str, tuple[str, ...]] = {
    **dict.fromkeys(
        ("sagemaker:InvokeEndpoint", "sagemaker:InvokeEndpointAsync", "sagemaker:InvokeEndpointWithResponseStream"),
        ("sagemaker.runtime",),
    ),
    **dict.fromkeys(
        ("sagemaker:PutRecord", "sagemaker:GetRecord", "sagemaker:DeleteRecord", "sagemaker:BatchGetRecord"),
        ("sagemaker.featurestore-runtime",),
    ),
    # A Docker pull goes to the registry endpoint and fetches the layers from S3 (Amazon ECR User
    # Guide, "Amazon ECR interface VPC endpoints (AWS PrivateLink)").
    **dict.fromkeys(
        ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"),
        ("ecr.api", "ecr.dkr", "s3"),
    ),
    # The API (GetPackageVersionAsset, PublishPackageVersion) and package managers (through the
    # repositories endpoint) both need these; package assets come from S3 (CodeArtifact User
    # Guide, "Create VPC endpoints for CodeArtifact", "Create the Amazon S3 gateway endpoint").
    **dict.fromkeys(
        ("codeartifact:ReadFromRepository", "codeartifact:PublishPackageVersion"),
        ("codeartifact.api", "codeartifact.repositories", "s3"),
    ),
}
"""Actions whose calls another endpoint than their prefix's serves."""

GATEWAY_SERVICES = frozenset({"s3", "dynamodb"})
"""The services that offer gateway endpoints (AWS PrivateLink Guide, "Gateway endpoints")."""

NOT_CALLS = ("iam:PassRole", "sts:GetServiceBearerToken")
"""Permissions that AWS checks on another call and that are never called themselves (IAM User
Guide, "Grant a user permissions to pass a role"; CodeArtifact User Guide, "AWS CodeArtifact
authentication and tokens")."""

LAMBDA_OWN_ACTIONS = (
    "logs:CreateLogGroup",
    "logs:CreateLogStream",
    "logs:PutLogEvents",
    "ec2:CreateNetworkInterface",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSubnets",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
"""What Lambda does with a function's role, outside its VPC (AWSLambdaVPCAccessExecutionRole)."""

SAGEMAKER_OWN_ACTIONS = (
    "ec2:DescribeVpcEndpoints",
    "ec2:DescribeDhcpOptions",
    "ec2:DescribeVpcs",
    "ec2:DescribeSubnets",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DeleteNetworkInterfacePermission",
    "ec2:DeleteNetworkInterface",
    "ec2:CreateNetworkInterfacePermission",
    "ec2:CreateNetworkInterface",
)
"""What SageMaker does with an execution role to attach a job or model to the VPC."""

_ACTION_ENDPOINTS = {action.lower(): services for action, services in ACTION_ENDPOINT_SERVICES.items()}


def endpoint_services(action: str) -> tuple[str, ...] | None:
    """The VPC endpoint services (`sagemaker.runtime`, `s3`, ...) that calls authorized by the
    IAM `action` (wildcards allowed) may go to; None when no reviewed mapping covers it."""
    exact = _ACTION_ENDPOINTS.get(action.lower())
    if exact is not None:
        return exact
    wildcard = "*" in action or "?" in action
    matched = [
        service
        for known, found in ACTION_ENDPOINT_SERVICES.items()
        if wildcard and action_matches(action, known)
        for service in found
    ]
    default = ENDPOINT_SERVICES.get(action.partition(":")[0].lower())
    services = ([default] if default else []) + matched
    return tuple(dict.fromkeys(services)) or None


def service_name(region: str, service: str) -> str:
    """The name a VPC endpoint for `service` in `region` has (AWS::EC2::VPCEndpoint ServiceName)."""
    return f"com.amazonaws.{region}.{service}"


# ---------------------------------------------------------------------------------------------
# The network the templates declare, per account and Region.


@dataclass(frozen=True)
class Permission:
    """One rule of a security group: protocol, ports and peer."""

    protocol: str
    """ "tcp", "udp", "icmp", ... or "-1" for all."""
    from_port: int
    to_port: int
    cidr: ipaddress.IPv4Network | None = None
    group: str | None = None
    prefix_list: str | None = None
    unresolved: tuple[str, ...] = ()

    def allows_tcp(self, port: int) -> bool:
        return self.protocol == "-1" or (self.protocol == "tcp" and self.from_port <= port <= self.to_port)

    def reaches(self, groups: Sequence[str], subnets: Sequence[Subnet]) -> bool:
        """Whether the peer is anywhere, one of `groups`, or a CIDR holding all of `subnets`."""
        if self.anywhere:
            return True
        if self.group is not None:
            return self.group in groups
        return (
            self.cidr is not None
            and bool(subnets)
            and all(subnet.cidr is not None and subnet.cidr.subnet_of(self.cidr) for subnet in subnets)
        )

    @property
    def anywhere(self) -> bool:
        return self.cidr is not None and self.cidr.prefixlen == 0


ALL_OUTBOUND = Permission("-1", 0, 65535, cidr=ipaddress.IPv4Network("0.0.0.0/0"))
_PROTOCOLS = {"6": "tcp", "17": "udp", "1": "icmp", "all": "-1"}


@dataclass
class Group:
    id: str
    declared: str
    vpc: str
    ingress: list[Permission] = field(default_factory=list)
    egress: list[Permission] = field(default_factory=list)


@dataclass(frozen=True)
class Subnet:
    id: str
    vpc: str
    cidr: ipaddress.IPv4Network | None
    route_table: str | None


@dataclass(frozen=True)
class Endpoint:
    id: str
    declared: str
    vpc: str
    service: str
    gateway: bool
    groups: tuple[str, ...]
    subnets: tuple[str, ...]
    route_tables: tuple[str, ...]
    private_dns: bool


class Network:
    """The security groups, subnets, VPCs and endpoints that the stacks of one account and
    Region declare, by the ids the resolver gives them."""

    def __init__(self, resolver: Resolver, environment: Environment) -> None:
        self.environment = environment
        self.groups: dict[str, Group] = {}
        self.subnets: dict[str, Subnet] = {}
        self.vpc_dns: dict[str, bool] = {}
        """VPC id -> DNS hostnames and DNS resolution both enabled (private DNS needs both)."""
        self.endpoints: list[Endpoint] = []
        route_tables: dict[str, str] = {}
        rules: list[tuple[str, str, Permission]] = []
        subnets: list[tuple[str, Mapping[str, Any]]] = []
        for stack in resolver.assembly.stacks_in(environment):
            for resource in stack.resources(*_NETWORK_TYPES):
                properties: Mapping[str, Any] = resolver.resolve(stack, resource.properties)
                declared = f"{stack.display_name}/{resource.logical_id}"
                ref = str(resolver.resolve(stack, {"Ref": resource.logical_id})) if resource.type in _IDENTIFIED else ""
                if resource.type == "AWS::EC2::SecurityGroup":
                    self.groups[ref] = _group(ref, declared, properties)
                elif resource.type in ("AWS::EC2::SecurityGroupIngress", "AWS::EC2::SecurityGroupEgress"):
                    direction = "ingress" if resource.type.endswith("Ingress") else "egress"
                    rules.append((direction, str(properties.get("GroupId")), _permission(properties, direction)))
                elif resource.type == "AWS::EC2::VPC":
                    # For a VPC that CloudFormation creates, DNS resolution defaults to on and DNS
                    # hostnames to off (AWS::EC2::VPC).
                    support = properties.get("EnableDnsSupport", True)
                    self.vpc_dns[ref] = support is True and properties.get("EnableDnsHostnames", False) is True
                elif resource.type == "AWS::EC2::SubnetRouteTableAssociation":
                    route_tables[str(properties.get("SubnetId"))] = str(properties.get("RouteTableId"))
                elif resource.type == "AWS::EC2::Subnet":
                    subnets.append((ref, properties))
                else:
                    self.endpoints.append(_endpoint(ref, declared, properties))
        for direction, group_id, permission in rules:
            group = self.groups.get(group_id)
            if group is not None:
                (group.ingress if direction == "ingress" else group.egress).append(permission)
        for subnet_id, properties in subnets:
            cidr = _network(properties.get("CidrBlock"))
            self.subnets[subnet_id] = Subnet(subnet_id, str(properties.get("VpcId")), cidr, route_tables.get(subnet_id))


_NETWORK_TYPES = (
    "AWS::EC2::SecurityGroup",
    "AWS::EC2::SecurityGroupIngress",
    "AWS::EC2::SecurityGroupEgress",
    "AWS::EC2::VPC",
    "AWS::EC2::Subnet",
    "AWS::EC2::SubnetRouteTableAssociation",
    "AWS::EC2::VPCEndpoint",
)
_IDENTIFIED = frozenset({"AWS::EC2::SecurityGroup", "AWS::EC2::VPC", "AWS::EC2::Subnet", "AWS::EC2::VPCEndpoint"})


def _group(group_id: str, declared: str, properties: Mapping[str, Any]) -> Group:
    egress = properties.get("SecurityGroupEgress")
    return Group(
        group_id,
        declared,
        str(properties.get("VpcId")),
        [_permission(rule, "ingress") for rule in properties.get("SecurityGroupIngress", [])],
        [ALL_OUTBOUND] if egress is None else [_permission(rule, "egress") for rule in egress],
    )


def _network(value: Any) -> ipaddress.IPv4Network | None:
    try:
        return ipaddress.IPv4Network(str(value))
    except ValueError:
        return None


def _port(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def _permission(rule: Mapping[str, Any], direction: str) -> Permission:
    peer = "Destination" if direction == "egress" else "Source"
    protocol = str(rule.get("IpProtocol", "-1")).lower()
    return Permission(
        _PROTOCOLS.get(protocol, protocol),
        _port(rule.get("FromPort"), 0),
        _port(rule.get("ToPort"), 65535),
        cidr=_network(rule["CidrIp"]) if "CidrIp" in rule else None,
        group=str(rule[f"{peer}SecurityGroupId"]) if f"{peer}SecurityGroupId" in rule else None,
        prefix_list=str(rule[f"{peer}PrefixListId"]) if f"{peer}PrefixListId" in rule else None,
        unresolved=tuple(unresolved_parts(dict(rule))),
    )


def _endpoint(endpoint_id: str, declared: str, properties: Mapping[str, Any]) -> Endpoint:
    return Endpoint(
        id=endpoint_id,
        declared=declared,
        vpc=str(properties.get("VpcId")),
        service=str(properties.get("ServiceName")),
        gateway=properties.get("VpcEndpointType", "Gateway") == "Gateway",
        groups=tuple(str(group) for group in properties.get("SecurityGroupIds", [])),
        subnets=tuple(str(subnet) for subnet in properties.get("SubnetIds", [])),
        route_tables=tuple(str(table) for table in properties.get("RouteTableIds", [])),
        # Off unless set, for an interface endpoint CloudFormation creates (AWS::EC2::VPCEndpoint).
        private_dns=properties.get("PrivateDnsEnabled", False) is True,
    )


# ---------------------------------------------------------------------------------------------
# What attaches to a VPC, and what it calls.


@dataclass(frozen=True)
class Need:
    """A service that a compute calls through its VPC, and why."""

    service: str
    """The endpoint service: `sagemaker.runtime`, `s3`, ..."""
    region: str
    why: str
    by_container: bool = True
    """Called by the compute's own code (False: by SageMaker, for the compute, through its VPC)."""


@dataclass(frozen=True)
class Compute:
    """Something that runs in a VPC: a resource of a stack, or part of one (a pipeline step, a
    domain's user or space defaults)."""

    stack: Stack
    logical_id: str
    part: str
    kind: str
    security_groups: tuple[str, ...]
    subnets: tuple[str, ...]
    needs: tuple[Need, ...]
    unknown: tuple[str, ...] = ()
    """What else it may call that the assembly does not say (a role or policy it does not hold)."""
    isolated: bool = False
    nfs: bool = False
    """A Studio app, which mounts the domain's home EFS over NFS."""

    @property
    def subject(self) -> str:
        part = f" {self.part}" if self.part else ""
        return f"{self.stack.display_name} {self.logical_id}{part} ({self.kind})"

    @property
    def region(self) -> str:
        return self.stack.region


@dataclass(frozen=True)
class Unread:
    """A compute the proof cannot read offline, and why."""

    stack: Stack
    subject: str
    why: str


S3_DATA = "SageMaker moves the job's data and model artifacts to and from S3 through the VPC"
STUDIO_APIS = "Studio in VPC-only mode runs only with the SageMaker API and runtime reachable"
CLARIFY_APIS = "Clarify creates a shadow endpoint and invokes it through the SageMaker API and runtime"
NOTEBOOK_APIS = "a notebook instance without direct internet access calls SageMaker through the VPC"


class _Reader:
    """Reads the computes of the stacks of one assembly and derives what each calls."""

    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.domains: dict[tuple[Environment, str], tuple[Stack, Resource]] = {}
        for stack in resolver.assembly.stacks:
            for domain in stack.resources("AWS::SageMaker::Domain"):
                domain_id = str(resolver.resolve(stack, {"Fn::GetAtt": [domain.logical_id, "DomainId"]}))
                self.domains[(stack.environment, domain_id)] = (stack, domain)

    def read(self) -> list[Compute | Unread]:
        found: list[Compute | Unread] = []
        for stack in self.resolver.assembly.stacks:
            for resource in stack.resources():
                read = _READERS.get(resource.type)
                if read is not None:
                    found += read(self, stack, resource)
            found += _product_computes(stack)
        return found

    def compute(
        self,
        stack: Stack,
        resource: Resource,
        kind: str,
        vpc_config: Mapping[str, Any],
        *,
        part: str = "",
        role: Any = None,
        own_actions: Sequence[str] = SAGEMAKER_OWN_ACTIONS,
        isolated: bool = False,
        runtime: Sequence[Need] = (),
        dead_letters: str | None = None,
        nfs: bool = False,
    ) -> Compute:
        needs = list(runtime)
        unknown: list[str] = []
        # An isolated container calls nothing, whatever its role allows.
        if role is not None and not isolated:
            role_needs, unknown = self.role_needs(stack, str(role), own_actions, dead_letters)
            needs += role_needs
        return Compute(
            stack,
            resource.logical_id,
            part,
            kind,
            tuple(str(group) for group in vpc_config.get("SecurityGroupIds", [])),
            tuple(str(subnet) for subnet in vpc_config.get("Subnets", [])),
            _merged(needs),
            tuple(unknown),
            isolated,
            nfs,
        )

    def role_needs(
        self, stack: Stack, role: str, own_actions: Sequence[str], dead_letters: str | None
    ) -> tuple[list[Need], list[str]]:
        found = role_policies(self.resolver, stack.environment, role)
        role_name = role.rsplit("/", 1)[-1]
        exempt = {action.lower() for action in (*NOT_CALLS, *own_actions)}
        needs: list[Need] = []
        unknown = list(found.unknown)
        for policy in found.policies:
            try:
                statements = parse_statements(policy)
            except PolicyError as error:
                unknown.append(str(error))
                continue
            for statement in statements:
                if statement.effect is not Effect.ALLOW or _used_by_a_service(statement, dead_letters):
                    continue
                if statement.not_action or "*" in statement.actions:
                    but = f" but {list(statement.actions)}" if statement.not_action else ""
                    unknown.append(f"{policy.name} allows every action{but}")
                    continue
                for action in statement.actions:
                    if action.lower() in exempt:
                        continue
                    services = endpoint_services(action)
                    if services is None:
                        unknown.append(f"{action} ({policy.name}): no reviewed endpoint in proofs.network")
                        continue
                    why = f"role {role_name} allows {action}"
                    needs += [Need(s, region, why) for s in services for region in _regions(statement, stack.region)]
        return needs, unknown


def _used_by_a_service(statement: Statement, dead_letters: str | None) -> bool:
    """Whether a service, not the compute's code, uses the whole statement: KMS limited to calls
    through another service, or Lambda sending to the function's dead-letter target."""
    if any(key.lower() == "kms:viaservice" for block in statement.condition.values() for key in block):
        return True
    return (
        dead_letters is not None
        and statement.resources == (dead_letters,)
        and all(action.lower() in ("sqs:sendmessage", "sns:publish") for action in statement.actions)
    )


def _regions(statement: Statement, home: str) -> list[str]:
    """The Regions of the resources a statement names (the ARN's fourth field): `home` where a
    resource names none, any or an unresolved one."""
    regions = set()
    for resource in statement.resources or ("*",):
        parts = resource.split(":")
        region = parts[3] if len(parts) > 5 and not statement.not_resource else ""
        regions.add(region if region and "*" not in region and "{" not in region else home)
    return sorted(regions)


def _merged(needs: Sequence[Need]) -> tuple[Need, ...]:
    """One need per service and Region, with its reasons; the container's own if any is."""
    merged: dict[tuple[str, str], list[Need]] = defaultdict(list)
    for need in needs:
        merged[(need.service, need.region)].append(need)
    return tuple(
        Need(service, region, "; ".join(dict.fromkeys(n.why for n in same)), any(n.by_container for n in same))
        for (service, region), same in sorted(merged.items())
    )


def _lambda(reader: _Reader, stack: Stack, resource: Resource) -> list[Compute | Unread]:
    properties = reader.resolver.resolve(stack, resource.properties)
    vpc_config = properties.get("VpcConfig", {})
    if not vpc_config.get("SubnetIds"):
        return []
    return [
        reader.compute(
            stack,
            resource,
            "Lambda function",
            {"SecurityGroupIds": vpc_config.get("SecurityGroupIds", []), "Subnets": vpc_config["SubnetIds"]},
            role=properties.get("Role"),
            own_actions=LAMBDA_OWN_ACTIONS,
            dead_letters=properties.get("DeadLetterConfig", {}).get("TargetArn"),
        )
    ]


def _sagemaker(
    reader: _Reader,
    stack: Stack,
    resource: Resource,
    kind: str,
    settings: Mapping[str, Any],
    *,
    part: str = "",
    role_key: str = "RoleArn",
    serves_model: bool = False,
) -> list[Compute | Unread]:
    """A SageMaker job or model; `settings` holds its VpcConfig and EnableNetworkIsolation, or a
    NetworkConfig that does."""
    network = settings.get("NetworkConfig", settings)
    vpc_config = network.get("VpcConfig")
    if not isinstance(vpc_config, Mapping):
        return []
    runtime = [Need("s3", stack.region, S3_DATA, by_container=False)]
    if serves_model:
        runtime += [Need(service, stack.region, CLARIFY_APIS) for service in ("sagemaker.api", "sagemaker.runtime")]
    isolated = network.get("EnableNetworkIsolation") is True
    return [
        reader.compute(
            stack,
            resource,
            kind,
            vpc_config,
            part=part,
            role=settings.get(role_key),
            isolated=isolated,
            runtime=runtime,
        )
    ]


def _model(reader: _Reader, stack: Stack, resource: Resource) -> list[Compute | Unread]:
    properties = reader.resolver.resolve(stack, resource.properties)
    return _sagemaker(reader, stack, resource, "SageMaker model", properties, role_key="ExecutionRoleArn")


def _monitoring(reader: _Reader, stack: Stack, resource: Resource) -> list[Compute | Unread]:
    properties = reader.resolver.resolve(stack, resource.properties)
    return _sagemaker(reader, stack, resource, "monitoring job", properties)


def _notebook(reader: _Reader, stack: Stack, resource: Resource) -> list[Compute | Unread]:
    properties = reader.resolver.resolve(stack, resource.properties)
    if "SubnetId" not in properties:
        return []
    return [
        reader.compute(
            stack,
            resource,
            "notebook instance",
            {"SecurityGroupIds": properties.get("SecurityGroupIds", []), "Subnets": [properties["SubnetId"]]},
            role=properties.get("RoleArn"),
            runtime=[Need(service, stack.region, NOTEBOOK_APIS) for service in ("sagemaker.api", "sagemaker.runtime")],
        )
    ]


def _domain(reader: _Reader, stack: Stack, resource: Resource) -> list[Compute | Unread]:
    domain = reader.resolver.resolve(stack, resource.properties)
    users = domain.get("DefaultUserSettings", {})
    found: list[Compute | Unread] = [_studio_apps(reader, stack, resource, domain, users, part="DefaultUserSettings")]
    if "DefaultSpaceSettings" in domain:
        spaces = {**users, **domain["DefaultSpaceSettings"]}
        found.append(_studio_apps(reader, stack, resource, domain, spaces, part="DefaultSpaceSettings"))
    return found


def _profile(reader: _Reader, stack: Stack, resource: Resource) -> list[Compute | Unread]:
    profile = reader.resolver.resolve(stack, resource.properties)
    found = reader.domains.get((stack.environment, str(profile.get("DomainId"))))
    if found is None:
        why = f"its domain {profile.get('DomainId')} is declared by no stack of {stack.environment}"
        return [Unread(stack, f"{stack.display_name} {resource.logical_id} (Studio user profile)", why)]
    domain = reader.resolver.resolve(found[0], found[1].properties)
    settings = {**domain.get("DefaultUserSettings", {}), **profile.get("UserSettings", {})}
    return [_studio_apps(reader, stack, resource, domain, settings, part="")]


def _studio_apps(
    reader: _Reader,
    stack: Stack,
    resource: Resource,
    domain: Mapping[str, Any],
    settings: Mapping[str, Any],
    *,
    part: str,
) -> Compute:
    # Outside VPC-only mode only the EFS traffic goes through the VPC.
    vpc_only = domain.get("AppNetworkAccessType") == "VpcOnly"
    return reader.compute(
        stack,
        resource,
        "Studio apps",
        {"SecurityGroupIds": settings.get("SecurityGroups", []), "Subnets": domain.get("SubnetIds", [])},
        part=part,
        role=settings.get("ExecutionRole") if vpc_only else None,
        runtime=[Need(service, stack.region, STUDIO_APIS) for service in ("sagemaker.api", "sagemaker.runtime")]
        if vpc_only
        else [],
        nfs=True,
    )


def _pipeline(reader: _Reader, stack: Stack, resource: Resource) -> list[Compute | Unread]:
    body = reader.resolver.resolve(stack, resource.properties.get("PipelineDefinition", {})).get(
        "PipelineDefinitionBody"
    )
    if not isinstance(body, str):
        why = "its definition is read from S3 (PipelineDefinitionS3Location) when the stack deploys"
        return [Unread(stack, f"{stack.display_name} {resource.logical_id} (pipeline)", why)]
    definition = json.loads(body)
    defaults = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition.get("Parameters", [])}
    return _steps(reader, stack, resource, definition.get("Steps", []), PipelineValues(defaults))


@dataclass(frozen=True)
class PipelineValues:
    """Pipeline step arguments as an execution with the parameters' defaults sees them; other
    properties (of steps, of the execution) become unresolved markers."""

    defaults: Mapping[str, Any]

    def __call__(self, value: Any) -> Any:
        if isinstance(value, Mapping):
            reference = str(value.get("Get", ""))
            if set(value) == {"Get"} and reference.startswith("Parameters."):
                name = reference.removeprefix("Parameters.")
                return self.defaults.get(name, unresolved(f"pipeline parameter {name} without a default"))
            if set(value) == {"Get"} or any(key.startswith("Std:") for key in value):
                return unresolved(f"pipeline property {reference or next(iter(value))}")
            return {key: self(item) for key, item in value.items()}
        if isinstance(value, list):
            return [self(item) for item in value]
        return value


_NO_VPC_STEPS = frozenset({"RegisterModel", "Fail", "Lambda", "Callback", "Transform", "EMR", "AutoML"})
"""Steps with no VPC compute of their own: a transform job runs in its model's network, a
Lambda step's function is checked where a stack declares it, the others run outside the VPC."""
_JOB_STEPS = {"Processing": "processing job", "QualityCheck": "quality check job", "ClarifyCheck": "Clarify job"}


def _steps(
    reader: _Reader, stack: Stack, resource: Resource, steps: Sequence[Mapping[str, Any]], values: PipelineValues
) -> list[Compute | Unread]:
    found: list[Compute | Unread] = []
    for step in steps:
        kind, part = str(step.get("Type")), f"step {step.get('Name')}"
        arguments = values(step.get("Arguments", {}))
        if kind == "Condition":
            branches = [*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])]
            found += _steps(reader, stack, resource, branches, values)
        elif kind in _JOB_STEPS:
            serves_model = kind == "ClarifyCheck" and "ModelName" in step
            found += _sagemaker(
                reader, stack, resource, _JOB_STEPS[kind], arguments, part=part, serves_model=serves_model
            )
        elif kind == "Training":
            found += _sagemaker(reader, stack, resource, "training job", arguments, part=part)
        elif kind == "Tuning":
            jobs = [arguments.get("TrainingJobDefinition"), *arguments.get("TrainingJobDefinitions", [])]
            for job in (job for job in jobs if isinstance(job, Mapping)):
                found += _sagemaker(reader, stack, resource, "tuning job", job, part=part)
        elif kind == "Model":
            found += _sagemaker(
                reader, stack, resource, "SageMaker model", arguments, part=part, role_key="ExecutionRoleArn"
            )
        elif kind not in _NO_VPC_STEPS:
            subject = f"{stack.display_name} {resource.logical_id} {part} ({kind} step)"
            found.append(Unread(stack, subject, f"the proof does not know what a {kind} step runs"))
    return found


_READERS: Mapping[str, Callable[[_Reader, Stack, Resource], list[Compute | Unread]]] = {
    "AWS::Lambda::Function": _lambda,
    "AWS::SageMaker::Model": _model,
    "AWS::SageMaker::NotebookInstance": _notebook,
    "AWS::SageMaker::DataQualityJobDefinition": _monitoring,
    "AWS::SageMaker::ModelQualityJobDefinition": _monitoring,
    "AWS::SageMaker::ModelBiasJobDefinition": _monitoring,
    "AWS::SageMaker::ModelExplainabilityJobDefinition": _monitoring,
    "AWS::SageMaker::Domain": _domain,
    "AWS::SageMaker::UserProfile": _profile,
    "AWS::SageMaker::Pipeline": _pipeline,
}
_VPC_PROPERTIES = ("VpcConfig", "SubnetId", "SecurityGroup", "DomainId")


def _product_computes(stack: Stack) -> list[Compute | Unread]:
    """Computes of the Service Catalog products `stack` publishes: they run in the account that
    provisions the product, with the network and role given then."""
    found: list[Compute | Unread] = []
    for path in stack.asset_templates:
        template = json.loads(path.read_text(encoding="utf-8"))
        for logical_id, definition in template.get("Resources", {}).items():
            text = json.dumps(definition.get("Properties", {}))
            if definition["Type"] in _READERS and any(key in text for key in _VPC_PROPERTIES):
                subject = f"{stack.display_name} product template {path.name} {logical_id} ({definition['Type']})"
                why = "it runs in the account that provisions the product, with the network and role given then"
                found.append(Unread(stack, subject, why))
    return found


# ---------------------------------------------------------------------------------------------
# The rules.


@dataclass(frozen=True)
class _Placement:
    """A compute's security groups and subnets as the assembly declares them."""

    network: Network
    groups: tuple[Group, ...]
    subnets: tuple[Subnet, ...]
    unknown: tuple[str, ...]
    """Ids of groups or subnets the assembly does not declare."""

    @property
    def vpcs(self) -> set[str]:
        return {group.vpc for group in self.groups} | {subnet.vpc for subnet in self.subnets}

    @property
    def group_ids(self) -> tuple[str, ...]:
        return tuple(group.id for group in self.groups)

    def egress(self) -> Iterator[Permission]:
        return (permission for group in self.groups for permission in group.egress)

    def ingress(self) -> Iterator[Permission]:
        return (permission for group in self.groups for permission in group.ingress)


def _place(network: Network, compute: Compute) -> _Placement:
    unknown = [
        f"{kind} {', '.join(unresolved_parts(item_id)) or item_id}"
        for kind, ids, declared in (
            ("security group", compute.security_groups, network.groups),
            ("subnet", compute.subnets, network.subnets),
        )
        for item_id in ids
        if item_id not in declared
    ]
    groups = tuple(network.groups[g] for g in compute.security_groups if g in network.groups)
    subnets = tuple(network.subnets[s] for s in compute.subnets if s in network.subnets)
    return _Placement(network, groups, subnets, tuple(unknown))


@dataclass(frozen=True)
class _Verdict:
    """A rule's answer for one compute: nothing (it holds), or a problem and its fix."""

    rule: Rule
    problem: str
    fix: str
    verdict: Verdict = Verdict.FAILS


def _judged(doubt: Sequence[str], result: _Verdict) -> _Verdict:
    """A failure stays one only if nothing the proof could not read (`doubt`) might lift it."""
    if not doubt:
        return result
    return _Verdict(
        result.rule, f"{result.problem}, unless {'; '.join(doubt)} allows it", result.fix, Verdict.UNDECIDED
    )


def _path(placement: _Placement, compute: Compute, need: Need) -> _Verdict | None:
    home = placement.network.environment.region
    name = service_name(need.region, need.service)
    if compute.isolated and need.by_container:
        return _Verdict(
            Rule.ISOLATION,
            f"is network-isolated, so it cannot call {need.service} ({need.why})",
            "run it without network isolation, or drop what needs the call",
        )
    if need.region != home:
        return _Verdict(
            Rule.ENDPOINT,
            f"calls {name} ({need.why}), but the endpoints of its VPC serve {home} only",
            f"call the service in {home}, or run the compute in {need.region}",
        )
    if len(placement.vpcs) != 1:
        return None  # reported by the placement: no VPC, or more than one
    (vpc,) = placement.vpcs
    candidates = [e for e in placement.network.endpoints if e.vpc == vpc and e.service == name]
    if not candidates:
        kind = "gateway or interface" if need.service in GATEWAY_SERVICES else "interface"
        return _Verdict(
            Rule.ENDPOINT,
            f"calls {need.service} ({need.why}), but VPC {vpc} has no endpoint {name}",
            f"add a {kind} endpoint for {name} to the VPC (ml_constructs/network.py), or stop calling it",
        )
    verdicts = [_gateway(placement, need, e) if e.gateway else _interface(placement, need, e) for e in candidates]
    if any(verdict is None for verdict in verdicts):
        return None
    return min((v for v in verdicts if v is not None), key=lambda v: v.verdict is Verdict.FAILS)


def _interface(placement: _Placement, need: Need, endpoint: Endpoint) -> _Verdict | None:
    network = placement.network
    dns = network.vpc_dns.get(endpoint.vpc)
    if not endpoint.private_dns or dns is False:
        return _Verdict(
            Rule.PRIVATE_DNS,
            f"calls {endpoint.service} ({need.why}) through {endpoint.declared}, but the endpoint's private DNS "
            "or the VPC's DNS hostnames and resolution are off",
            "enable PrivateDnsEnabled on the endpoint, and EnableDnsHostnames and EnableDnsSupport on the VPC",
        )
    if dns is None:
        return _Verdict(
            Rule.OUTSIDE_ASSEMBLY,
            f"calls {endpoint.service} through {endpoint.declared}, whose VPC {endpoint.vpc} (and so its DNS "
            "settings) no stack of the assembly declares",
            "declare the VPC in a stack of the assembly",
            Verdict.UNDECIDED,
        )
    endpoint_subnets = [network.subnets[s] for s in endpoint.subnets if s in network.subnets]
    unread_subnets = [f"subnet {s}" for s in endpoint.subnets if s not in network.subnets]
    out = [p for p in placement.egress() if p.allows_tcp(HTTPS)]
    if not any(p.reaches(endpoint.groups, endpoint_subnets) for p in out):
        return _judged(
            [*placement.unknown, *unread_subnets, *_unread_peers(out)],
            _Verdict(
                Rule.EGRESS,
                f"calls {endpoint.service} ({need.why}), but its security groups {list(placement.group_ids)} let no "
                f"TCP 443 out to {endpoint.declared} (its groups {list(endpoint.groups)} or subnets)",
                "allow TCP 443 out to the endpoint's security group or the VPC's CIDR",
            ),
        )
    endpoint_groups = [network.groups[g] for g in endpoint.groups if g in network.groups]
    unread_groups = [f"security group {g}" for g in endpoint.groups if g not in network.groups]
    admitted = [p for group in endpoint_groups for p in group.ingress if p.allows_tcp(HTTPS)]
    if not any(p.reaches(placement.group_ids, placement.subnets) for p in admitted):
        return _judged(
            [*placement.unknown, *unread_groups, *_unread_peers(admitted)],
            _Verdict(
                Rule.ENDPOINT_INGRESS,
                f"calls {endpoint.service} ({need.why}), but the security groups {list(endpoint.groups)} of "
                f"{endpoint.declared} admit no TCP 443 from its groups {list(placement.group_ids)} or subnets "
                f"{[s.id for s in placement.subnets]}",
                "allow TCP 443 in on the endpoint's security group from the VPC's CIDR or the compute's group",
            ),
        )
    return None


def _gateway(placement: _Placement, need: Need, endpoint: Endpoint) -> _Verdict | None:
    unassociated = [s.id for s in placement.subnets if s.route_table is None]
    if unassociated:
        return _Verdict(
            Rule.OUTSIDE_ASSEMBLY,
            f"reaches {endpoint.service} only if the VPC's main route table, which subnets {unassociated} use, "
            f"is associated with {endpoint.declared}",
            "associate the subnets with route tables the stacks declare",
            Verdict.UNDECIDED,
        )
    missing = [s.id for s in placement.subnets if s.route_table not in endpoint.route_tables]
    if missing:
        return _Verdict(
            Rule.GATEWAY_ROUTES,
            f"calls {endpoint.service} ({need.why}) from subnets {missing}, whose route tables gateway "
            f"{endpoint.declared} is not associated with",
            "add the subnets' route tables to the gateway endpoint's RouteTableIds",
        )
    out = [p for p in placement.egress() if p.allows_tcp(HTTPS)]
    if any(p.anywhere for p in out):
        return None
    lists = [f"prefix list {p.prefix_list} (is it {endpoint.service}'s?)" for p in out if p.prefix_list]
    return _judged(
        [*placement.unknown, *lists, *_unread_peers(out)],
        _Verdict(
            Rule.GATEWAY_EGRESS,
            f"calls {endpoint.service} ({need.why}) through gateway {endpoint.declared}, but its security groups "
            f"{list(placement.group_ids)} let TCP 443 out only to {sorted({_peer(p) for p in out}) or 'nowhere'}",
            f"allow TCP 443 out to {endpoint.service}'s prefix list, or anywhere (the VPC routes only to its "
            "endpoints): ml_constructs.network.allow_https_to_aws",
        ),
    )


def _nfs(placement: _Placement) -> _Verdict | None:
    groups, subnets = placement.group_ids, placement.subnets
    directions = (("out", list(placement.egress())), ("in", list(placement.ingress())))
    blocked = [
        way for way, rules in directions if not any(p.allows_tcp(NFS) and p.reaches(groups, subnets) for p in rules)
    ]
    if not blocked:
        return None
    return _judged(
        [*placement.unknown, *_unread_peers([p for _, rules in directions for p in rules])],
        _Verdict(
            Rule.STUDIO_NFS,
            f"its security groups {list(groups)} allow no NFS (TCP 2049) {' or '.join(blocked)} between the "
            "domain's apps and its EFS mount targets",
            "allow TCP 2049 in and out between the domain's security groups (a self-referencing rule)",
        ),
    )


def _peer(permission: Permission) -> str:
    return str(permission.cidr or permission.group or permission.prefix_list)


def _unread_peers(permissions: Sequence[Permission]) -> list[str]:
    return [part for permission in permissions for part in permission.unresolved]


def _placement_findings(placement: _Placement, compute: Compute) -> list[_Verdict]:
    found: list[_Verdict] = []
    if placement.unknown:
        found.append(
            _Verdict(
                Rule.OUTSIDE_ASSEMBLY,
                f"runs with {', '.join(placement.unknown)}, which no stack of the assembly declares",
                "publish them from a stack of the assembly, or accept that this path is proven at deploy time",
                Verdict.UNDECIDED,
            )
        )
    if len(placement.vpcs) > 1:
        where = {g.id: g.vpc for g in placement.groups} | {s.id: s.vpc for s in placement.subnets}
        found.append(
            _Verdict(
                Rule.SAME_VPC,
                f"has security groups and subnets in different VPCs: {where}",
                "use security groups of the subnets' VPC",
            )
        )
    if compute.unknown:
        found.append(
            _Verdict(
                Rule.OUTSIDE_ASSEMBLY,
                f"may call more services than the proof can see: {'; '.join(compute.unknown)}",
                "declare the role's policies in the assembly, or add the service to proofs.network's table",
                Verdict.UNDECIDED,
            )
        )
    return found


# ---------------------------------------------------------------------------------------------
# The proof and its API.


class _Cache:
    def __init__(self, resolver: Resolver) -> None:
        self.resolver = resolver
        self.networks: dict[Environment, Network] = {}
        self.found: list[Compute | Unread] | None = None

    def network(self, environment: Environment) -> Network:
        if environment not in self.networks:
            self.networks[environment] = Network(self.resolver, environment)
        return self.networks[environment]

    def computes(self) -> list[Compute | Unread]:
        if self.found is None:
            self.found = _Reader(self.resolver).read()
        return self.found


_CACHES: weakref.WeakKeyDictionary[Resolver, _Cache] = weakref.WeakKeyDictionary()


def _cache(context: ProofContext) -> _Cache:
    cache = _CACHES.get(context.resolver)
    if cache is None:
        cache = _CACHES[context.resolver] = _Cache(context.resolver)
    return cache


def computes(context: ProofContext) -> list[Compute]:
    """Every compute of the assembly that attaches to a VPC."""
    return [found for found in _cache(context).computes() if isinstance(found, Compute)]


def compute(context: ProofContext, stack: Stack, logical_id: str, part: str = "") -> Compute:
    """The compute that resource `logical_id` of `stack` declares (`part`: a pipeline step
    `step <name>`, a domain's `DefaultUserSettings` or `DefaultSpaceSettings`)."""
    for found in computes(context):
        if found.stack == stack and found.logical_id == logical_id and found.part == part:
            return found
    raise LookupError(f"{stack.display_name} {logical_id} {part}: no compute attached to a VPC")


def path_exists(context: ProofContext, compute: Compute, service: str, region: str | None = None) -> Finding | None:
    """None if the network lets `compute` reach the endpoint service `service` (`sagemaker.runtime`,
    `s3`; see `endpoint_services` for an IAM action's) of `region` (its own by default) through its
    VPC; otherwise what fails, or what cannot be decided offline. Whether a network-isolated
    container may call at all is `Compute.isolated`'s to say, not the network's."""
    placement = _place(_cache(context).network(compute.stack.environment), compute)
    need = Need(service, region or compute.region, "asked by a flow", by_container=False)
    verdict = _path(placement, compute, need)
    return None if verdict is None else _finding(context, compute, verdict)


def _finding(context: ProofContext, compute: Compute, verdict: _Verdict) -> Finding:
    return Finding(
        PROOF,
        context.where(compute.stack.environment),
        compute.subject,
        verdict.problem,
        str(verdict.rule),
        verdict.fix,
        verdict.verdict,
    )


def check(context: ProofContext, compute: Compute) -> list[Finding]:
    """Every rule, for one compute."""
    placement = _place(_cache(context).network(compute.stack.environment), compute)
    verdicts = _placement_findings(placement, compute)
    verdicts += [v for v in (_path(placement, compute, need) for need in compute.needs) if v is not None]
    nfs = _nfs(placement) if compute.nfs else None
    if nfs is not None:
        verdicts.append(nfs)
    return [_finding(context, compute, verdict) for verdict in verdicts]


def prove(context: ProofContext) -> list[Finding]:
    """The preflight's network proof over the whole assembly."""
    findings: list[Finding] = []
    for found in _cache(context).computes():
        if isinstance(found, Compute):
            findings += check(context, found)
            continue
        findings.append(
            Finding(
                PROOF,
                context.where(found.stack.environment),
                found.subject,
                f"is not proven offline: {found.why}",
                str(Rule.OUTSIDE_ASSEMBLY),
                "prove its network path where it is provisioned",
                Verdict.UNDECIDED,
            )
        )
    return findings
