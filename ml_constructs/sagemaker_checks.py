"""`SageMakerChecks`: a policy-validation plugin with rules for SageMaker, which the public
cdk-nag packs barely cover.

Usable by any CDK app: `cdk.Validations.of(app).add_plugins(SageMakerChecks(...))`. CDK calls
it once per synth with every stack's template; the rules read each resource's properties as
CloudFormation receives them and, for the rules about production endpoints, the other
resources of the same template (the scaling targets, monitoring schedules and job definitions
that go with an endpoint). Templates a stack deploys as file assets (Service Catalog product
templates) are checked too, as the stack's account. Production is whatever runs in
`production_accounts`, except a template that deploys one of `test_endpoints` (an endpoint
tested in a production account; its stack holds that one endpoint); model package group
policies may name only `organization_accounts` (when given) and never everyone.

Rule ids are `SageMaker-<Rule>`; findings of the pipeline rule are per step,
`SageMaker-PipelineStepsIsolated[<step>]`. They are acknowledged like any validation finding:
`cdk.Validations.of(construct).acknowledge(cdk.Acknowledgment(id="SageMaker::<finding>", ...))`.

Why templates rather than constructs: a construct's properties can only be read across the
jsii bridge, a round trip to the Node process per read (several per resource, about 2 seconds
for the example organization); the templates are files, read once.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii

from ml_constructs.instance_types import supports_volume_encryption

PACK_NAME = "SageMaker"
Properties = dict[str, Any]


class Compliance(Enum):
    COMPLIANT = "compliant"
    NON_COMPLIANT = "non-compliant"
    NOT_APPLICABLE = "not applicable"


COMPLIANT, NON_COMPLIANT, NOT_APPLICABLE = Compliance.COMPLIANT, Compliance.NON_COMPLIANT, Compliance.NOT_APPLICABLE
Verdict = Compliance | list[str]
"""A rule's verdict on one resource; a list names the failing parts (the pipeline rule's steps)."""

MONITORING_JOB_TYPES = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQualityJobInput",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQualityJobInput",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBiasJobInput",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainabilityJobInput",
}


def _verdict(ok: bool) -> Compliance:
    return COMPLIANT if ok else NON_COMPLIANT


@dataclass(frozen=True)
class Template:
    """One synthesized template: where it is, the account and region it deploys to, its resources."""

    path: str
    account: str | None
    resources: dict[str, Any]
    region: str | None = None

    @classmethod
    def read(cls, path: Path, account: str | None, region: str | None = None) -> Template:
        document = json.loads(path.read_text(encoding="utf-8"))
        return cls(str(path), account, document.get("Resources", {}), region)

    def of_type(self, resource_type: str) -> Iterator[Resource]:
        for logical_id, resource in self.resources.items():
            if resource.get("Type") == resource_type:
                yield Resource(self, resource_type, logical_id, resource.get("Properties", {}))


@dataclass(frozen=True)
class Resource:
    """A CloudFormation resource as the rules see it: its template, type, logical id, properties."""

    template: Template
    type: str
    logical_id: str
    properties: Properties

    def siblings(self, resource_type: str) -> Iterator[Resource]:
        """The other resources of this type in the same template."""
        return self.template.of_type(resource_type)


@dataclass(frozen=True)
class Context:
    production_accounts: frozenset[str]
    organization_accounts: frozenset[str] | None
    test_endpoints: frozenset[tuple[str, str]] = frozenset()
    """(account, endpoint name) of the endpoints tested in production accounts."""
    standby_endpoints: frozenset[tuple[str, str, str]] = frozenset()
    """(account, region, endpoint name) of production endpoints' standbys in recovery regions."""

    def is_standby(self, endpoint: Resource) -> bool:
        template = endpoint.template
        name = endpoint.properties.get("EndpointName")
        return (template.account, template.region, name) in self.standby_endpoints

    def in_production(self, resource: Resource) -> bool:
        template = resource.template
        return template.account in self.production_accounts and not any(
            (template.account, endpoint.properties.get("EndpointName")) in self.test_endpoints
            for endpoint in template.of_type("AWS::SageMaker::Endpoint")
        )


@dataclass(frozen=True)
class Rule:
    name: str
    resource_type: str
    info: str
    explanation: str
    check: Callable[[Context, Resource], Verdict]


@dataclass(frozen=True)
class Finding:
    """A rule's finding on one resource: `SageMaker-<Rule>`, or `SageMaker-<Rule>[<part>]`."""

    rule: Rule
    name: str
    resource: Resource


# --- Studio and notebooks -------------------------------------------------------------------


def studio_vpc_only(_: Context, domain: Resource) -> Verdict:
    return _verdict(domain.properties.get("AppNetworkAccessType") == "VpcOnly")


def studio_storage_encrypted(_: Context, domain: Resource) -> Verdict:
    return _verdict(bool(domain.properties.get("KmsKeyId")))


def studio_no_root(_: Context, domain: Resource) -> Verdict:
    docker = domain.properties.get("DomainSettings", {}).get("DockerSettings", {})
    return _verdict(docker.get("EnableDockerAccess") == "DISABLED")


def notebook_no_direct_internet(_: Context, notebook: Resource) -> Verdict:
    properties = notebook.properties
    return _verdict(properties.get("DirectInternetAccess") == "Disabled" and bool(properties.get("SubnetId")))


def notebook_no_root(_: Context, notebook: Resource) -> Verdict:
    return _verdict(notebook.properties.get("RootAccess") == "Disabled")


# --- Endpoints ------------------------------------------------------------------------------


def _instance_variants(config: Resource) -> list[Properties]:
    return [
        variant
        for variant in config.properties.get("ProductionVariants", [])
        + config.properties.get("ShadowProductionVariants", [])
        if "ServerlessConfig" not in variant
    ]


def endpoint_config_encrypted(_: Context, config: Resource) -> Verdict:
    variants = _instance_variants(config)
    volumes_take_key = bool(variants) and all(
        isinstance(variant.get("InstanceType"), str) and supports_volume_encryption(variant["InstanceType"])
        for variant in variants
    )
    if volumes_take_key and not config.properties.get("KmsKeyId"):
        return NON_COMPLIANT
    capture = config.properties.get("DataCaptureConfig")
    return _verdict(capture is None or bool(capture.get("KmsKeyId")))


def production_data_capture(context: Context, config: Resource) -> Verdict:
    if not context.in_production(config) or not _instance_variants(config):
        return NOT_APPLICABLE  # serverless endpoints capture no data
    return _verdict(config.properties.get("DataCaptureConfig", {}).get("EnableCapture") is True)


def _config_of(endpoint: Resource) -> Resource | None:
    reference = json.dumps(endpoint.properties.get("EndpointConfigName"))
    return next(
        (config for config in endpoint.siblings("AWS::SageMaker::EndpointConfig") if config.logical_id in reference),
        None,
    )


def production_autoscaling(context: Context, endpoint: Resource) -> Verdict:
    if not context.in_production(endpoint):
        return NOT_APPLICABLE
    config = _config_of(endpoint)
    if config is None:
        return NON_COMPLIANT  # its variants are out of sight: nothing proves they scale
    name = endpoint.properties.get("EndpointName")
    floors = {
        target.properties.get("ResourceId"): target.properties.get("MinCapacity", 0)
        for target in endpoint.siblings("AWS::ApplicationAutoScaling::ScalableTarget")
        if target.properties.get("ScalableDimension") == "sagemaker:variant:DesiredInstanceCount"
    }
    variants = [v for v in config.properties.get("ProductionVariants", []) if "ServerlessConfig" not in v]
    return _verdict(all(floors.get(f"endpoint/{name}/variant/{v['VariantName']}", 0) >= 2 for v in variants))


def production_deployment_guardrails(context: Context, endpoint: Resource) -> Verdict:
    if not context.in_production(endpoint):
        return NOT_APPLICABLE
    deployment = endpoint.properties.get("DeploymentConfig", {})
    policy = deployment.get("BlueGreenUpdatePolicy") or deployment.get("RollingUpdatePolicy")
    return _verdict(bool(policy) and bool(deployment.get("AutoRollbackConfiguration", {}).get("Alarms")))


def _hosts_only_multi_model(endpoint: Resource) -> bool:
    """Whether every model behind the endpoint is a multi-model container, which Model Monitor
    does not support."""
    config = _config_of(endpoint)
    if config is None:
        return False
    references = json.dumps(config.properties.get("ProductionVariants", []))
    models = [model for model in endpoint.siblings("AWS::SageMaker::Model") if model.logical_id in references]
    return bool(models) and all(
        model.properties.get("PrimaryContainer", {}).get("Mode") == "MultiModel" for model in models
    )


def _serverless(endpoint: Resource) -> bool:
    """Whether the endpoint's variants are serverless, which capture no data for Model Monitor."""
    config = _config_of(endpoint)
    variants = config.properties.get("ProductionVariants", []) if config is not None else []
    return bool(variants) and all("ServerlessConfig" in variant for variant in variants)


def production_monitoring(context: Context, endpoint: Resource) -> Verdict:
    # A standby serves no traffic until clients fail over: the primary's schedules watch the model.
    if (
        not context.in_production(endpoint)
        or _hosts_only_multi_model(endpoint)
        or _serverless(endpoint)
        or context.is_standby(endpoint)
    ):
        return NOT_APPLICABLE
    name = endpoint.properties.get("EndpointName")
    watching = {
        job.logical_id
        for job_type, input_key in MONITORING_JOB_TYPES.items()
        for job in endpoint.siblings(job_type)
        if job.properties.get(input_key, {}).get("EndpointInput", {}).get("EndpointName") == name
    }
    schedules = [json.dumps(s.properties) for s in endpoint.siblings("AWS::SageMaker::MonitoringSchedule")]
    return _verdict(any(job in schedule for job in watching for schedule in schedules))


# --- Pipelines, feature groups, registry -----------------------------------------------------


def _definition(pipeline: Resource) -> Any:
    """The pipeline definition; references inside its strings stand in as `<ref>`."""
    body = pipeline.properties.get("PipelineDefinition", {}).get("PipelineDefinitionBody")
    if isinstance(body, dict) and "Fn::Join" in body:
        body = "".join(part if isinstance(part, str) else "<ref>" for part in body["Fn::Join"][1])
    return json.loads(body) if isinstance(body, str) else None


def _steps(steps: list[Any]) -> Iterator[Properties]:
    for step in steps:
        yield step
        for branch in ("IfSteps", "ElseSteps"):
            yield from _steps(step.get("Arguments", {}).get(branch, []))


def _step_is_isolated(step: Properties) -> bool:
    arguments = step.get("Arguments", {})
    if step.get("Type") == "Tuning":
        # Every training job of the tuning run gets this definition.
        arguments = arguments.get("TrainingJobDefinition", {})
    if step.get("Type") in ("Training", "Tuning"):
        return bool(
            arguments.get("EnableNetworkIsolation") is True
            and arguments.get("VpcConfig", {}).get("Subnets")
            and arguments.get("ResourceConfig", {}).get("VolumeKmsKeyId")
            and arguments.get("OutputDataConfig", {}).get("KmsKeyId")
        )
    network = arguments.get("NetworkConfig", {})
    return bool(
        network.get("EnableNetworkIsolation") is True
        and network.get("VpcConfig", {}).get("Subnets")
        and arguments.get("ProcessingResources", {}).get("ClusterConfig", {}).get("VolumeKmsKeyId")
        and arguments.get("ProcessingOutputConfig", {}).get("KmsKeyId")
    )


def pipeline_steps_isolated(_: Context, pipeline: Resource) -> Verdict:
    definition = _definition(pipeline)
    if definition is None:
        return NON_COMPLIANT  # a definition kept in S3 cannot be checked here
    failing = [
        str(step.get("Name"))
        for step in _steps(definition.get("Steps", []))
        if step.get("Type") in ("Training", "Tuning", "Processing", "QualityCheck", "ClarifyCheck")
        and not _step_is_isolated(step)
    ]
    return failing or COMPLIANT


def feature_group_encrypted(_: Context, group: Resource) -> Verdict:
    online = group.properties.get("OnlineStoreConfig")
    offline = group.properties.get("OfflineStoreConfig")
    online_ok = (
        online is None or not online.get("EnableOnlineStore") or bool(online.get("SecurityConfig", {}).get("KmsKeyId"))
    )
    offline_ok = offline is None or bool(offline.get("S3StorageConfig", {}).get("KmsKeyId"))
    return _verdict(online_ok and offline_ok)


def _aws_principals(statement: Properties) -> list[str]:
    principal = statement.get("Principal")
    if principal == "*":
        return ["*"]
    found = principal.get("AWS", []) if isinstance(principal, dict) else []
    return [json.dumps(p) if not isinstance(p, str) else p for p in (found if isinstance(found, list) else [found])]


def model_package_group_organization_only(context: Context, group: Resource) -> Verdict:
    policy = group.properties.get("ModelPackageGroupPolicy")
    if not policy:
        return NOT_APPLICABLE
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    principals = [p for s in statements if s.get("Effect") == "Allow" for p in _aws_principals(s)]
    if "*" in principals:
        return NON_COMPLIANT
    allowed = context.organization_accounts
    return _verdict(allowed is None or all(any(a in p for a in allowed) for p in principals))


RULES: tuple[Rule, ...] = (
    Rule(
        "StudioVpcOnly",
        "AWS::SageMaker::Domain",
        "The Studio domain does not keep its traffic in the VPC (AppNetworkAccessType VpcOnly).",
        "With PublicInternetOnly, Studio apps reach the internet directly, outside the VPC's controls.",
        studio_vpc_only,
    ),
    Rule(
        "StudioStorageEncrypted",
        "AWS::SageMaker::Domain",
        "The Studio domain does not encrypt its storage with a customer-managed key (KmsKeyId).",
        "The home file system and the spaces' volumes hold data and notebooks; a customer key makes access auditable.",
        studio_storage_encrypted,
    ),
    Rule(
        "StudioNoRootAccess",
        "AWS::SageMaker::Domain",
        "The Studio domain allows Docker access (DomainSettings.DockerSettings.EnableDockerAccess).",
        "Docker in Studio gives users root-equivalent control of their apps and bypasses image governance.",
        studio_no_root,
    ),
    Rule(
        "NotebookNoDirectInternet",
        "AWS::SageMaker::NotebookInstance",
        "The notebook instance has direct internet access or no subnet.",
        "A notebook instance outside the VPC, or with internet access of its own, can move data past every "
        "network control.",
        notebook_no_direct_internet,
    ),
    Rule(
        "NotebookNoRootAccess",
        "AWS::SageMaker::NotebookInstance",
        "The notebook instance gives its users root access.",
        "Root lets users change the instance's software and security configuration.",
        notebook_no_root,
    ),
    Rule(
        "EndpointConfigEncrypted",
        "AWS::SageMaker::EndpointConfig",
        "The endpoint config encrypts neither its volumes (where the instance types allow a key) nor captured data "
        "with a customer-managed key.",
        "Volumes hold the model and captured requests hold customer data; both should use a key the platform controls.",
        endpoint_config_encrypted,
    ),
    Rule(
        "ProductionDataCapture",
        "AWS::SageMaker::EndpointConfig",
        "The production endpoint config does not capture data.",
        "Without captured requests and responses, Model Monitor has nothing to compare with the baseline.",
        production_data_capture,
    ),
    Rule(
        "ProductionAutoscaling",
        "AWS::SageMaker::Endpoint",
        "A production variant is not autoscaled with a minimum capacity of at least 2.",
        "One instance is one availability zone; scaling keeps the endpoint up under load and across zones.",
        production_autoscaling,
    ),
    Rule(
        "ProductionDeploymentGuardrails",
        "AWS::SageMaker::Endpoint",
        "The production endpoint has no blue/green or rolling deployment config with auto-rollback alarms.",
        "Without guardrails, an update replaces the fleet at once and a bad model serves every request.",
        production_deployment_guardrails,
    ),
    Rule(
        "ProductionMonitoring",
        "AWS::SageMaker::Endpoint",
        "The production endpoint has no monitoring schedule in its stack.",
        "Without Model Monitor, drift in the data or the model's quality goes unnoticed.",
        production_monitoring,
    ),
    Rule(
        "PipelineStepsIsolated",
        "AWS::SageMaker::Pipeline",
        "A training, tuning, processing, quality or Clarify check step of the pipeline runs outside the VPC, without "
        "network isolation, or without customer-managed keys on its volumes and outputs.",
        "Pipeline steps handle training data and models; they should run under the same controls as any job.",
        pipeline_steps_isolated,
    ),
    Rule(
        "FeatureGroupEncrypted",
        "AWS::SageMaker::FeatureGroup",
        "The feature group does not encrypt its online or offline store with a customer-managed key.",
        "Feature stores hold customer data, online for serving and offline for training.",
        feature_group_encrypted,
    ),
    Rule(
        "ModelPackageGroupOrganizationOnly",
        "AWS::SageMaker::ModelPackageGroup",
        "The model package group's policy grants principals outside the organization's accounts.",
        "Models are intellectual property and can leak training data; only the platform's accounts should deploy them.",
        model_package_group_organization_only,
    ),
)


def _rules_by_type() -> dict[str, list[Rule]]:
    by_type: dict[str, list[Rule]] = {}
    for rule in RULES:
        by_type.setdefault(rule.resource_type, []).append(rule)
    return by_type


RULES_BY_TYPE = _rules_by_type()


def findings(context: Context, templates: Sequence[Template]) -> list[Finding]:
    """Every rule applied to every resource of its type in `templates`."""
    found = []
    for template in templates:
        for resource_type, rules in RULES_BY_TYPE.items():
            for resource in template.of_type(resource_type):
                for rule in rules:
                    verdict = rule.check(context, resource)
                    if verdict is NON_COMPLIANT:
                        found.append(Finding(rule, f"{PACK_NAME}-{rule.name}", resource))
                    elif isinstance(verdict, list):
                        found += [Finding(rule, f"{PACK_NAME}-{rule.name}[{part}]", resource) for part in verdict]
    return found


class Assembly:
    """A cloud assembly directory's templates, as its manifest describes them: which account
    each stack deploys to, and which further templates it deploys as file assets (Service
    Catalog product and nested stack templates)."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        self._artifacts: dict[str, Any] = manifest.get("artifacts", {})

    def templates_of(self, template_file: str) -> list[Template]:
        """The stack's template (`template_file`, a name in this directory) and its asset templates."""
        stack = next(
            artifact
            for artifact in self._artifacts.values()
            if artifact.get("properties", {}).get("templateFile") == template_file
        )
        account, region = _environment(stack.get("environment", ""))
        names = [template_file]
        for dependency in stack.get("dependencies", []):
            artifact = self._artifacts.get(dependency, {})
            if artifact.get("type") == "cdk:asset-manifest":
                assets = json.loads((self._directory / artifact["properties"]["file"]).read_text(encoding="utf-8"))
                names += sorted(
                    path
                    for path in (entry["source"].get("path", "") for entry in assets.get("files", {}).values())
                    if path.endswith(".template.json") and path != template_file
                )
        return [Template.read(self._directory / name, account, region) for name in names]


def _environment(environment: str) -> tuple[str | None, str | None]:
    """`aws://123456789012/eu-west-1` -> (`123456789012`, `eu-west-1`); None for what the stack
    leaves unknown (environment-agnostic)."""
    account, _, region = environment.removeprefix("aws://").partition("/")
    return (account if account.isdigit() else None, region if region and not region.startswith("unknown") else None)


@jsii.implements(cdk.IPolicyValidationPlugin)
class SageMakerChecks:
    """The plugin. `production_accounts`: where the production rules apply, except to the
    templates of `test_endpoints` ((account, endpoint name) pairs); `standby_endpoints`: (account,
    region, endpoint name) of standbys, which need no monitoring of their own;
    `organization_accounts`: the only accounts model package group policies may grant (any
    account when None)."""

    def __init__(
        self,
        *,
        production_accounts: Sequence[str] = (),
        organization_accounts: Sequence[str] | None = None,
        test_endpoints: Collection[tuple[str, str]] = (),
        standby_endpoints: Collection[tuple[str, str, str]] = (),
    ) -> None:
        self._context = Context(
            frozenset(production_accounts),
            frozenset(organization_accounts) if organization_accounts is not None else None,
            frozenset(test_endpoints),
            frozenset(standby_endpoints),
        )

    @property
    def name(self) -> str:
        return PACK_NAME

    # Neither is reported: CDK only writes them into its version reporting, which the platform turns off.
    @property
    def version(self) -> str | None:
        return None

    @property
    def rule_ids(self) -> list[str] | None:
        return None

    def validate(self, context: cdk.IPolicyValidationContext) -> cdk.PolicyValidationPluginReport:
        assemblies: dict[Path, Assembly] = {}
        templates = []
        for template_path in map(Path, context.template_paths):
            if template_path.parent not in assemblies:
                assemblies[template_path.parent] = Assembly(template_path.parent)
            templates += assemblies[template_path.parent].templates_of(template_path.name)
        by_name: dict[str, list[Finding]] = {}
        for finding in findings(self._context, templates):
            by_name.setdefault(finding.name, []).append(finding)
        violations = [
            cdk.PolicyViolation(
                rule_name=name,
                description=f"{found[0].rule.info}\n\n{found[0].rule.explanation}",
                severity="error",
                violating_resources=[
                    cdk.PolicyViolatingResource(
                        resource_logical_id=finding.resource.logical_id,
                        template_path=finding.resource.template.path,
                        locations=["Properties"],
                    )
                    for finding in found
                ],
            )
            for name, found in by_name.items()
        ]
        return cdk.PolicyValidationPluginReport(success=not violations, violations=violations)
