"""The quotas proof: does each account have the quotas its stacks need, and which increases
must be requested before the first deploy (`make quotas`, tools.quotas).

It counts, from the cloud assembly, per account and region (per VPC for endpoints in a VPC):

- Lambda concurrent executions: the concurrency functions reserve, plus the 100 Lambda keeps
  unreserved once anything is reserved, or the bursts the API stages in front of unreserved
  functions admit, whichever is more;
- SageMaker endpoint instances per type: each variant's instances at deploy, its autoscaling
  maximum at peak, doubled because an update provisions the new fleet before retiring the old
  (blue/green); shadow variants; Clarify's shadow endpoints; serverless concurrency;
- SageMaker job instances per type (training, spot training, processing, transform, and their
  totals): for a pipeline, the most its steps can use at once (steps that wait for none of the
  others run together, a tuning job runs its parallel training jobs together), one execution
  per pipeline at a time; Model Monitor's job definitions all at once (their schedules start on
  the same hour);
- Studio JupyterLab apps per type: one per space;
- interface endpoints per VPC.

A need is judged against the value the config states AWS has granted the account
(`accounts.<name>.quotas`), else the value a new account has (proofs/data/new_account_quotas.json):
below what the deploy needs, or a granted value below the peak, AWS would refuse it (fails);
a new account's value below the peak, or no published value at all, cannot be decided
offline: AWS raises some quotas with usage, and SageMaker's vary by account.

Not counted, because they do not bind this platform's accounts: IAM roles (1,000 per account),
CloudFormation stacks (2,000 per region), SSM parameters (10,000), KMS keys (100,000), security
groups (2,500 per VPC), gateway endpoints (20 per region, the baseline makes 2), EventBridge
rules (300 per bus), and the per-tuning-job parallelism quota (the spot training quota it
multiplies binds first). Not counted because the assembly cannot say how many: notebook
instances and projects users launch from Service Catalog, and spaces they create themselves.
"""

from __future__ import annotations

import itertools
import json
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from proofs.assembly import Environment, Resource, Stack
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict
from stacks.config import OrgConfig

REPOSITORY = Path(__file__).resolve().parent.parent
TABLE = REPOSITORY / "proofs" / "data" / "new_account_quotas.json"
PROOF = "quotas"
UNRESERVED_MINIMUM = 100
"""Executions Lambda keeps unreserved: "You can reserve up to the Unreserved account concurrency
value minus 100" (docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html)."""
MONITORING_JOBS = (
    "AWS::SageMaker::DataQualityJobDefinition",
    "AWS::SageMaker::ModelQualityJobDefinition",
    "AWS::SageMaker::ModelBiasJobDefinition",
    "AWS::SageMaker::ModelExplainabilityJobDefinition",
)
PROCESSING_STEPS = ("Processing", "QualityCheck", "ClarifyCheck")
SHADOW_ENDPOINT_CHECKS = ("MODEL_BIAS", "MODEL_EXPLAINABILITY")
"""Clarify checks that serve the candidate model from a shadow endpoint of one instance."""
SHADOW_INSTANCE_ARGUMENT = "--shadow-instance-type"
"""How the platform's pipelines name that instance (ml_pipelines/contract.py writes it into the
analysis config, which lives in S3 and so is not in the assembly)."""
MOST_STEPS_TRIED = 16
"""Steps of one pipeline whose every combination is tried; beyond, all are counted at once."""
JUPYTER_LAB = "JupyterLab"


@dataclass(frozen=True)
class QuotaSpec:
    """One row of the committed table: a quota, or a family of per-instance-type quotas."""

    id: str
    service_code: str
    name: str
    """The quota's name in Service Quotas; `{instance_type}` stands for the type."""
    aws_default: int | None
    """The default AWS publishes; None where it publishes none."""
    new_account: int | None
    """What a new account has; None where AWS publishes nothing a new account can rely on."""
    rule: str
    sources: tuple[str, ...]
    quota_code: str | None = None
    quota_codes: Mapping[str, str] = field(default_factory=dict, compare=False, hash=False)
    """Per-instance-type quotas: the codes of the types in the table, by type."""


@cache
def table() -> dict[str, QuotaSpec]:
    rows: list[dict[str, Any]] = json.loads(TABLE.read_text(encoding="utf-8"))["quotas"]
    return {row["id"]: QuotaSpec(**{**row, "sources": tuple(row["sources"])}) for row in rows}


@dataclass(frozen=True, order=True)
class Quota:
    """One quota of the Service Quotas listing."""

    spec_id: str
    instance_type: str | None = None

    @property
    def spec(self) -> QuotaSpec:
        return table()[self.spec_id]

    @property
    def name(self) -> str:
        return self.spec.name.format(instance_type=self.instance_type)

    @property
    def code(self) -> str | None:
        return self.spec.quota_code or self.spec.quota_codes.get(self.instance_type or "")

    @property
    def service_code(self) -> str:
        return self.spec.service_code

    def __str__(self) -> str:
        return f"{self.service_code} {self.code or '(code: see make quotas)'} {self.name}"


@dataclass(frozen=True)
class Usage:
    """What one resource or pipeline needs of one quota: when it deploys, and at its peak."""

    quota: Quota
    environment: Environment
    at_deploy: int
    peak: int
    why: str
    scope: str = ""
    """For per-VPC quotas, the VPC."""


@dataclass(frozen=True)
class Uncounted:
    """A resource whose needs cannot be counted from the assembly."""

    environment: Environment
    subject: str
    what: str


@dataclass(frozen=True)
class Need:
    """Everything an account (and VPC) needs of one quota."""

    quota: Quota
    environment: Environment
    scope: str
    at_deploy: int
    peak: int
    why: tuple[str, ...]


@dataclass(frozen=True)
class Shortfall:
    """A need that the account's quota does not cover, or may not."""

    need: Need
    has: int | None
    """What the account has: the granted value the config states, else a new account's."""
    granted: bool
    verdict: Verdict


def check(context: ProofContext) -> list[Finding]:
    needs, uncounted = count(context)
    return [
        *(_finding(context, shortfall) for shortfall in shortfalls(context.config, needs)),
        *(
            Finding(
                PROOF,
                context.where(item.environment),
                item.subject,
                f"its quota needs cannot be counted offline: {item.what}",
                "every quota the resource counts against must cover it (proofs/data/new_account_quotas.json)",
                "check the account's quotas for it by hand",
                Verdict.UNDECIDED,
            )
            for item in uncounted
        ),
    ]


def count(context: ProofContext) -> tuple[list[Need], list[Uncounted]]:
    """Every account's needs, summed per quota (and VPC), and what could not be counted."""
    usages: dict[tuple[Quota, Environment, str], list[Usage]] = defaultdict(list)
    uncounted: list[Uncounted] = []
    for counter in COUNTERS:
        for item in counter(context):
            if isinstance(item, Uncounted):
                uncounted.append(item)
            else:
                usages[item.quota, item.environment, item.scope].append(item)
    needs = [
        Need(
            quota,
            environment,
            scope,
            sum(usage.at_deploy for usage in found),
            sum(usage.peak for usage in found),
            tuple(usage.why for usage in found),
        )
        for (quota, environment, scope), found in sorted(usages.items(), key=lambda item: (item[0][1], item[0]))
    ]
    return needs, uncounted


def shortfalls(config: OrgConfig, needs: Iterable[Need]) -> list[Shortfall]:
    granted = _granted(config)
    found = []
    for need in needs:
        quota, environment = need.quota, need.environment
        has = next(
            (
                granted[key]
                for key in (
                    (environment, quota.service_code, quota.code),
                    (environment, quota.service_code, quota.name),
                )
                if key in granted
            ),
            None,
        )
        if has is not None:
            if has < need.peak:
                found.append(Shortfall(need, has, True, Verdict.FAILS))
            continue
        fresh = quota.spec.new_account
        if fresh is not None and fresh < need.at_deploy:
            found.append(Shortfall(need, fresh, False, Verdict.FAILS))
        elif fresh is None or fresh < need.peak:
            found.append(Shortfall(need, fresh, False, Verdict.UNDECIDED))
    return found


def _granted(config: OrgConfig) -> dict[tuple[Environment, str, str], int]:
    return {
        (Environment(account.id, quota.region or config.region_of(account)), quota.service, quota.quota): quota.value
        for account in config.accounts.values()
        for quota in account.quotas
    }


def _finding(context: ProofContext, shortfall: Shortfall) -> Finding:
    need, spec = shortfall.need, shortfall.need.quota.spec
    needs = f"needs {need.peak} ({'; '.join(need.why)})"
    if shortfall.granted:
        problem = f"{needs}, and the config states the account has {shortfall.has}"
    elif shortfall.verdict is Verdict.FAILS:
        problem = f"the deploy needs {need.at_deploy} ({'; '.join(need.why)}); a new account has {shortfall.has}"
    elif shortfall.has is not None:
        problem = (
            f"{needs}; a new account has {shortfall.has}, and whether AWS has raised it since cannot be known offline"
        )
    else:
        published = "" if spec.aws_default is None else f" (the documented default is {spec.aws_default})"
        problem = f"{needs}; AWS publishes no value a new account can rely on{published}"
    account = context.account_name(need.environment.account)
    return Finding(
        PROOF,
        context.where(need.environment),
        f"{need.quota}" + (f" of {need.scope}" if need.scope else ""),
        problem,
        f"{spec.rule} ({spec.sources[0]}; more sources in {TABLE.relative_to(REPOSITORY)})",
        f"request {need.peak} before the first deploy (`make quotas` prints the command), then state the "
        f"granted value under accounts.{account}.quotas",
        shortfall.verdict,
    )


# What each part of the platform needs, read from the templates.


def _lambda_concurrency(context: ProofContext) -> Iterator[Usage | Uncounted]:
    quota = Quota("lambda-concurrent-executions")
    for environment in context.assembly.environments:
        reserved: list[tuple[str, int]] = []
        bursts: list[tuple[str, int]] = []
        for stack in context.assembly.stacks_in(environment):
            functions = {function.logical_id: function for function in stack.resources("AWS::Lambda::Function")}
            reservations = {
                logical_id: value
                for logical_id, function in functions.items()
                if isinstance(value := function.properties.get("ReservedConcurrentExecutions"), int)
            }
            reserved += [(_where(functions[logical_id]), value) for logical_id, value in reservations.items()]
            for function_id, burst, stage in _api_bursts(stack, set(functions)):
                if function_id in reservations:
                    continue  # its reservation caps it
                if burst is None:
                    yield Uncounted(environment, _where(stage), "the stage sets no burst limit")
                else:
                    bursts.append((_where(functions[function_id]), burst))
        total_reserved = sum(value for _, value in reserved)
        unreserved_floor = UNRESERVED_MINIMUM if reserved else 0
        peak = total_reserved + max(sum(burst for _, burst in bursts), unreserved_floor)
        if peak == 0:
            continue
        why = [
            *(f"{path} reserves {value}" for path, value in reserved),
            *([f"{UNRESERVED_MINIMUM} stay unreserved"] if reserved else []),
            *(f"{path} takes API bursts of {burst}" for path, burst in bursts),
        ]
        yield Usage(quota, environment, total_reserved + unreserved_floor, peak, ", ".join(why))


def _api_bursts(stack: Stack, functions: set[str]) -> Iterator[tuple[str, int | None, Resource]]:
    """(function, the burst limit of a stage that invokes it, the stage) for every API Gateway
    stage of `stack` in front of one of `functions`."""
    invoked: dict[str, set[str]] = defaultdict(set)
    for method in stack.resources("AWS::ApiGateway::Method"):
        api = _logical_id(method.properties.get("RestApiId"))
        uri = method.properties.get("Integration", {}).get("Uri")
        invoked[api or ""] |= {logical_id for logical_id in _references(uri) if logical_id in functions}
    for stage in stack.resources("AWS::ApiGateway::Stage"):
        settings = stage.properties.get("MethodSettings", [])
        burst = next(
            (
                setting.get("ThrottlingBurstLimit")
                for setting in settings
                if setting.get("ResourcePath") == "/*" and setting.get("HttpMethod") == "*"
            ),
            None,
        )
        for function_id in sorted(invoked.get(_logical_id(stage.properties.get("RestApiId")) or "", ())):
            yield function_id, burst if isinstance(burst, int) else None, stage


def _interface_endpoints(context: ProofContext) -> Iterator[Usage | Uncounted]:
    quota = Quota("vpc-interface-endpoints")
    for stack in context.assembly.stacks:
        for endpoint in stack.resources("AWS::EC2::VPCEndpoint"):
            # CloudFormation's default type is Gateway.
            if endpoint.properties.get("VpcEndpointType", "Gateway") not in ("Interface", "GatewayLoadBalancer"):
                continue
            vpc_resource = _referenced(stack, endpoint.properties.get("VpcId"))
            vpc = (
                _where(vpc_resource)
                if vpc_resource is not None
                else str(context.resolver.resolve(stack, endpoint.properties.get("VpcId")))
            )
            service = context.resolver.resolve(stack, endpoint.properties.get("ServiceName"))
            yield Usage(quota, stack.environment, 1, 1, f"{service}", scope=vpc)


def _endpoints(context: ProofContext) -> Iterator[Usage | Uncounted]:
    for stack in context.assembly.stacks:
        scaled = {
            str(target["ResourceId"]): target["MaxCapacity"]
            for target in (
                context.resolver.resolve(stack, resource.properties)
                for resource in stack.resources("AWS::ApplicationAutoScaling::ScalableTarget")
            )
            if target.get("ServiceNamespace") == "sagemaker"
        }
        for endpoint in stack.resources("AWS::SageMaker::Endpoint"):
            config_resource = _referenced(stack, endpoint.properties.get("EndpointConfigName"))
            if config_resource is None:
                yield Uncounted(stack.environment, _where(endpoint), "its endpoint config is not in its stack")
                continue
            config = context.resolver.resolve(stack, config_resource.properties)
            name = context.resolver.resolve(stack, endpoint.properties.get("EndpointName"))
            for variant in (*config.get("ProductionVariants", []), *config.get("ShadowProductionVariants", [])):
                variant_name = variant.get("VariantName")
                yield _variant_usage(
                    stack.environment,
                    f"{_where(endpoint)} variant {variant_name}",
                    variant,
                    scaled.get(f"endpoint/{name}/variant/{variant_name}"),
                )


def _variant_usage(
    environment: Environment, label: str, variant: Mapping[str, Any], scaled_to: Any
) -> Usage | Uncounted:
    serverless = variant.get("ServerlessConfig")
    if serverless is not None:
        concurrency = serverless.get("MaxConcurrency")
        if not isinstance(concurrency, int):
            return Uncounted(environment, label, "its serverless concurrency is not in the template")
        quota = Quota("sagemaker-serverless-concurrency")
        return Usage(quota, environment, concurrency, concurrency, f"{label}: {concurrency} concurrent invocations")
    instance_type, initial = variant.get("InstanceType"), variant.get("InitialInstanceCount")
    if not isinstance(instance_type, str) or not isinstance(initial, int):
        return Uncounted(environment, label, "its instance type or count is not in the template")
    most = scaled_to if isinstance(scaled_to, int) else initial
    # An update (a new model version) provisions the new fleet before it retires the old one.
    return Usage(
        Quota("sagemaker-endpoint-instances", instance_type),
        environment,
        initial,
        2 * most,
        f"{label}: {initial} at deploy, up to {most}, twice that while an update replaces the fleet",
    )


def _pipelines(context: ProofContext) -> Iterator[Usage | Uncounted]:
    for stack in context.assembly.stacks:
        for pipeline in stack.resources("AWS::SageMaker::Pipeline"):
            name = context.resolver.resolve(stack, pipeline.properties.get("PipelineName"))
            body = context.resolver.resolve(stack, pipeline.properties.get("PipelineDefinition", {}))
            try:
                definition = json.loads(body["PipelineDefinitionBody"])
            except (KeyError, TypeError, json.JSONDecodeError):
                yield Uncounted(stack.environment, _where(pipeline), "its definition is not in the template")
                continue
            yield from _pipeline_usages(stack.environment, f"pipeline {name}", definition)


def _pipeline_usages(
    environment: Environment, label: str, definition: Mapping[str, Any]
) -> Iterator[Usage | Uncounted]:
    parameters = {parameter["Name"]: parameter.get("DefaultValue") for parameter in definition.get("Parameters", [])}
    steps = _pipeline_steps(definition.get("Steps", []))
    shadow_type = _shadow_instance_type([step for step, _ in steps.values()], parameters)
    weights: dict[Quota, dict[str, int]] = defaultdict(dict)
    for step_name, (step, _) in steps.items():
        used = _step_usage(step, parameters, shadow_type)
        if isinstance(used, str):
            yield Uncounted(environment, f"{label} step {step_name}", used)
            continue
        for quota, instances in used:
            weights[quota][step_name] = weights[quota].get(step_name, 0) + instances
    ancestors = _ancestors({step_name: dependencies for step_name, (_, dependencies) in steps.items()})
    for quota, by_step in sorted(weights.items()):
        most, together = _most_at_once(by_step, ancestors)
        steps_at_once = " + ".join(together) + (" at once" if len(together) > 1 else "")
        yield Usage(quota, environment, 0, most, f"{label}: {steps_at_once}")


def _pipeline_steps(steps: Iterable[Mapping[str, Any]], parent: str | None = None) -> dict[str, tuple[Any, set[str]]]:
    """Every step by name, with the steps it waits for: those it names in DependsOn or whose
    properties it reads (`Steps.<name>...`), and the condition it is a branch of."""
    found: dict[str, tuple[Any, set[str]]] = {}
    for step in steps:
        arguments = step.get("Arguments", {})
        branches = (
            [*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])] if step["Type"] == "Condition" else []
        )
        own = {
            **step,
            "Arguments": {key: value for key, value in arguments.items() if key not in ("IfSteps", "ElseSteps")},
        }
        read = set(re.findall(r'"Steps\.([A-Za-z0-9_-]+)', json.dumps(own)))
        waits = {*step.get("DependsOn", []), *read, *([parent] if parent else [])} - {step["Name"]}
        found[step["Name"]] = (step, waits)
        found |= _pipeline_steps(branches, step["Name"])
    return found


def _ancestors(waits: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Every step each step waits for, directly or through others."""
    found: dict[str, set[str]] = {}

    def of(step: str) -> set[str]:
        if step not in found:
            found[step] = set()
            found[step] = {earlier for direct in waits.get(step, set()) for earlier in {direct, *of(direct)}}
        return found[step]

    return {step: of(step) for step in waits}


def _most_at_once(weights: Mapping[str, int], ancestors: Mapping[str, set[str]]) -> tuple[int, list[str]]:
    """The most instances steps can use at the same time, and those steps: steps none of which
    waits for another may all run together. A pipeline has few steps, so every set is tried."""
    steps = sorted(step for step, weight in weights.items() if weight > 0)
    if len(steps) > MOST_STEPS_TRIED:
        return sum(weights[step] for step in steps), steps
    best: tuple[int, list[str]] = (0, [])
    for size in range(1, len(steps) + 1):
        for chosen in itertools.combinations(steps, size):
            independent = all(
                first not in ancestors.get(second, set()) and second not in ancestors.get(first, set())
                for first, second in itertools.combinations(chosen, 2)
            )
            if independent and (total := sum(weights[step] for step in chosen)) > best[0]:
                best = (total, list(chosen))
    return best


def _step_usage(
    step: Mapping[str, Any], parameters: Mapping[str, Any], shadow_type: str | None
) -> list[tuple[Quota, int]] | str:
    """The instances one step uses, per quota, or why they cannot be counted."""
    arguments = step.get("Arguments", {})
    kind = step["Type"]
    used: list[tuple[str, Any, Any]] = []
    if kind in PROCESSING_STEPS:
        cluster = arguments.get("ProcessingResources", {}).get("ClusterConfig", {})
        used.append(("processing", cluster.get("InstanceType"), cluster.get("InstanceCount")))
    elif kind == "Training":
        training = "spot-training" if arguments.get("EnableManagedSpotTraining") is True else "training"
        resources = arguments.get("ResourceConfig", {})
        used.append((training, resources.get("InstanceType"), resources.get("InstanceCount")))
    elif kind == "Tuning":
        # A tuning job runs up to MaxParallelTrainingJobs training jobs at once.
        job = arguments.get("TrainingJobDefinition", {})
        limits = arguments.get("HyperParameterTuningJobConfig", {}).get("ResourceLimits", {})
        parallel = _value(limits.get("MaxParallelTrainingJobs"), parameters)
        training = "spot-training" if job.get("EnableManagedSpotTraining") is True else "training"
        resources = job.get("ResourceConfig", {})
        per_job = _value(resources.get("InstanceCount"), parameters)
        together = per_job * parallel if isinstance(per_job, int) and isinstance(parallel, int) else None
        used.append((training, resources.get("InstanceType"), together))
    elif kind == "Transform":
        resources = arguments.get("TransformResources", {})
        used.append(("transform", resources.get("InstanceType"), resources.get("InstanceCount")))
    if kind == "ClarifyCheck" and step.get("CheckType") in SHADOW_ENDPOINT_CHECKS:
        used.append(("endpoint", shadow_type, 1))
    counted: list[tuple[Quota, int]] = []
    for family, given_type, given_count in used:
        instance_type, instances = _value(given_type, parameters), _value(given_count, parameters)
        if not isinstance(instance_type, str) or not isinstance(instances, int):
            return f"the {family} instances' type or count is not in the definition"
        counted.append((Quota(f"sagemaker-{family}-instances", instance_type), instances))
        if family != "endpoint":
            total = "training" if family == "spot-training" else family
            counted.append((Quota(f"sagemaker-{total}-instances-total"), instances))
    return counted


def _shadow_instance_type(steps: Iterable[Mapping[str, Any]], parameters: Mapping[str, Any]) -> str | None:
    for step in steps:
        arguments = step.get("Arguments", {}).get("AppSpecification", {}).get("ContainerArguments", [])
        for flag, value in itertools.pairwise(arguments):
            if flag == SHADOW_INSTANCE_ARGUMENT:
                found = _value(value, parameters)
                return found if isinstance(found, str) else None
    return None


def _value(value: Any, parameters: Mapping[str, Any]) -> Any:
    """A value of a pipeline definition: a literal, or a parameter's default."""
    if isinstance(value, Mapping) and str(value.get("Get", "")).startswith("Parameters."):
        return parameters.get(value["Get"].removeprefix("Parameters."))
    return value


def _monitoring(context: ProofContext) -> Iterator[Usage | Uncounted]:
    for stack in context.assembly.stacks:
        for job in stack.resources(*MONITORING_JOBS):
            cluster = context.resolver.resolve(stack, job.properties.get("JobResources", {})).get("ClusterConfig", {})
            instance_type, instances = cluster.get("InstanceType"), cluster.get("InstanceCount")
            if not isinstance(instance_type, str) or not isinstance(instances, int):
                yield Uncounted(stack.environment, _where(job), "its instance type or count is not in the template")
                continue
            why = f"{_where(job)}: a Model Monitor job (the schedules start on the same hour)"
            yield Usage(Quota("sagemaker-processing-instances", instance_type), stack.environment, 0, instances, why)
            yield Usage(Quota("sagemaker-processing-instances-total"), stack.environment, 0, instances, why)


def _studio(context: ProofContext) -> Iterator[Usage | Uncounted]:
    for environment in context.assembly.environments:
        stacks = context.assembly.stacks_in(environment)
        domains = [(stack, domain) for stack in stacks for domain in stack.resources("AWS::SageMaker::Domain")]
        default = _domain_default_type(context, *domains[0]) if len(domains) == 1 else None
        for stack in stacks:
            for space in stack.resources("AWS::SageMaker::Space"):
                settings = context.resolver.resolve(stack, space.properties.get("SpaceSettings", {}))
                if settings.get("AppType") != JUPYTER_LAB:
                    yield Uncounted(
                        environment, _where(space), f"no quota of the table counts {settings.get('AppType')} apps"
                    )
                    continue
                instance_type = _default_type(settings.get("JupyterLabAppSettings")) or default
                if instance_type is None:
                    yield Uncounted(environment, _where(space), "its JupyterLab instance type is not in the assembly")
                    continue
                quota = Quota("sagemaker-studio-jupyterlab-apps", instance_type)
                yield Usage(quota, environment, 0, 1, f"{_where(space)}: one app when it runs")


def _domain_default_type(context: ProofContext, stack: Stack, domain: Resource) -> str | None:
    properties = context.resolver.resolve(stack, domain.properties)
    return _default_type(properties.get("DefaultSpaceSettings", {}).get("JupyterLabAppSettings")) or _default_type(
        properties.get("DefaultUserSettings", {}).get("JupyterLabAppSettings")
    )


def _default_type(settings: Any) -> str | None:
    instance_type = (settings or {}).get("DefaultResourceSpec", {}).get("InstanceType")
    return instance_type if isinstance(instance_type, str) else None


def _logical_id(value: Any) -> str | None:
    """The resource a `Ref` or `Fn::GetAtt` names."""
    if isinstance(value, Mapping) and "Ref" in value:
        return str(value["Ref"])
    if isinstance(value, Mapping) and "Fn::GetAtt" in value:
        target = value["Fn::GetAtt"]
        return str(target.split(".")[0] if isinstance(target, str) else target[0])
    return None


def _referenced(stack: Stack, value: Any) -> Resource | None:
    """The resource of `stack` that `value` refers to, if it is one."""
    logical_id = _logical_id(value)
    if logical_id is None or logical_id not in stack.template.get("Resources", {}):
        return None
    return stack.resource(logical_id)


def _references(value: Any) -> Iterator[str]:
    """Every resource `value` refers to, at any depth."""
    if (logical_id := _logical_id(value)) is not None:
        yield logical_id
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from _references(item)
    elif isinstance(value, list):
        for item in value:
            yield from _references(item)


def _where(resource: Resource) -> str:
    """The resource's construct path within its stage, without CDK's `/Resource`."""
    return resource.path.removesuffix("/Resource").split("/", 1)[-1]


COUNTERS = (_lambda_concurrency, _interface_endpoints, _endpoints, _pipelines, _monitoring, _studio)
