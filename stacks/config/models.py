"""The organization configuration: typed, frozen pydantic models of `config/*.yaml`.

These models check each value on its own (formats, ranges, required fields), against AWS's
published facts where there are some: regions and instance types as botocore ships them
(`stacks.config.aws_data`), EventBridge Scheduler's expression grammar
(`stacks.config.schedules`), IANA time zone names (zoneinfo). Checks that need several parts
of the file at once (references, overlaps, uniqueness across lists, derived names and their
collisions, reachable thresholds, production floors) live in `stacks.config.rules`.
Field documentation here is the reference for config authors (see config/README.md).
"""

from __future__ import annotations

import difflib
import ipaddress
import zoneinfo
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache, cached_property
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from ml_constructs.service_control_policies import SCPS_PER_TARGET
from stacks import naming
from stacks.config import aws_data
from stacks.config.schedules import schedule_problem

NAME_PATTERN = r"^[a-z][a-z0-9-]*[a-z0-9]$"
"""Lower-case names usable in every AWS resource name the platform derives from them."""


class Role(StrEnum):
    """What an account does in the platform (DESIGN.md section 1)."""

    MANAGEMENT = "management"
    LOG_ARCHIVE = "log-archive"
    SHARED_SERVICES = "shared-services"
    DATA = "data"
    ML_DEV = "ml-dev"
    ML_TEST = "ml-test"
    ML_PROD = "ml-prod"


WORKLOAD_ROLES = frozenset({Role.DATA, Role.ML_DEV, Role.ML_TEST, Role.ML_PROD})
"""Roles whose accounts run SageMaker or data workloads and so get the isolated VPC."""


class Persona(StrEnum):
    DATA_SCIENTIST = "data-scientist"
    ML_ENGINEER = "ml-engineer"


def _twelve_digits(value: str) -> str:
    # str.isdigit alone would take other scripts' digits (Arabic-Indic, fullwidth), which AWS does not.
    if len(value) != 12 or not value.isascii() or not value.isdigit():
        raise ValueError("must be 12 digits 0-9, quoted (an account id is a string)")
    return value


def _suggestion(value: str, candidates: Iterable[str]) -> str:
    close = difflib.get_close_matches(value, list(candidates), n=3)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def _known_region(value: str) -> str:
    regions = aws_data.region_partitions()
    if value not in regions:
        raise ValueError(
            f"'{value}' is not a region in {aws_data.BOTOCORE}'s endpoint data{_suggestion(value, regions)} "
            f"(regions: {', '.join(sorted(regions))})"
        )
    return value


def _instance_type_for(use: aws_data.InstanceUse) -> Callable[[str], str]:
    def check(value: str) -> str:
        offered = aws_data.instance_types(use)
        if value in offered:
            return value
        family = value.rpartition(".")[0]
        sizes = sorted(
            offered_type.rpartition(".")[2] for offered_type in offered if offered_type.startswith(family + ".")
        )
        families = sorted({offered_type.rpartition(".")[0] for offered_type in offered})
        allowed = f"{family} sizes there: {', '.join(sizes)}" if sizes else f"families there: {', '.join(families)}"
        raise ValueError(
            f"'{value}' is not an instance type SageMaker offers for {use.purpose} ({aws_data.BOTOCORE}, "
            f"{use.shape}){_suggestion(value, offered)} ({allowed})"
        )

    return check


NOT_TIME_ZONES = frozenset({"localtime", "Factory"})
"""Files of a system's zoneinfo directory that name no place: the machine's own zone, and tzdata's placeholder."""


@cache
def _time_zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones()) - NOT_TIME_ZONES


def _iana_time_zone(value: str) -> str:
    zones = _time_zones()
    if not zones:
        raise ValueError(
            "this machine has no IANA time zone database to check it against: install the tzdata package "
            "(pinned in requirements.txt), which Python's zoneinfo reads where the system has none"
        )
    if value not in zones:
        raise ValueError(
            f"'{value}' is not an IANA time zone name such as UTC, Europe/Dublin or America/New_York"
            f"{_suggestion(value, zones)}"
        )
    return value


def _recurring_schedule(value: str) -> str:
    problem = schedule_problem(value)
    if problem is not None:
        raise ValueError(problem)
    return value


def _ipv4_network(value: str) -> str:
    try:
        network = ipaddress.IPv4Network(value, strict=True)
    except ValueError as error:
        raise ValueError(f"not a valid IPv4 network in CIDR notation ({error})") from None
    if not 16 <= network.prefixlen <= 24:
        raise ValueError("prefix length must be between /16 and /24 to leave room for subnets")
    return value


AccountId = Annotated[str, AfterValidator(_twelve_digits)]
Email = Annotated[str, Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=64)]
Cidr = Annotated[str, AfterValidator(_ipv4_network)]
Name = Annotated[str, Field(pattern=NAME_PATTERN, min_length=2, max_length=32)]
Region = Annotated[str, AfterValidator(_known_region)]
TrainingInstanceType = Annotated[str, AfterValidator(_instance_type_for(aws_data.TRAINING))]
ProcessingInstanceType = Annotated[str, AfterValidator(_instance_type_for(aws_data.PROCESSING))]
EndpointInstanceType = Annotated[str, AfterValidator(_instance_type_for(aws_data.ENDPOINT))]
TransformInstanceType = Annotated[str, AfterValidator(_instance_type_for(aws_data.TRANSFORM))]
StudioInstanceType = Annotated[str, AfterValidator(_instance_type_for(aws_data.STUDIO_APP))]
NotebookInstanceType = Annotated[str, AfterValidator(_instance_type_for(aws_data.NOTEBOOK))]
Schedule = Annotated[str, AfterValidator(_recurring_schedule)]
TimeZone = Annotated[str, AfterValidator(_iana_time_zone)]
VariantName = Annotated[str, Field(pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9])*$", max_length=63)]
"""SageMaker's VariantName: letters, digits and inner hyphens, 63 characters at most."""
AlarmName = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]+$", max_length=255)]
"""CloudWatch's AlarmName: 1-255 characters, no control characters."""


class Frozen(BaseModel):
    """Base of every config model: immutable and strict about unknown keys (typos fail)."""

    # NaN and infinities pass no comparison and no AWS API takes them: every float is finite.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)


class Network(Frozen):
    """The isolated VPC of a workload account."""

    cidr: Cidr
    availability_zones: int = Field(
        default=2,
        ge=2,
        le=6,
        description="how many zones the subnets span; which zones is resolved at deploy time "
        "(Fn::GetAZs), so synth never asks AWS",
    )


class GrantedQuota(Frozen):
    """A quota value AWS has granted the account (Service Quotas). The preflight checks the
    account's needs against it instead of a new account's value (proofs/data/new_account_quotas.json)."""

    service: str = Field(pattern=r"^[a-z][a-z0-9-]{1,63}$", description="service code: lambda, sagemaker, vpc")
    quota: str = Field(
        min_length=1,
        max_length=128,
        description="quota code (L-B99A9384) or name (ml.m5.large for endpoint usage), as `make quotas` prints them",
    )
    value: int = Field(ge=0)
    region: Region | None = Field(default=None, description="default: the account's region")


class Account(Frozen):
    id: AccountId
    roles: tuple[Role, ...] = Field(min_length=1)
    region: Region | None = Field(default=None, description="default: organization.home_region")
    email: Email | None = Field(default=None, description="root email; required when the landing zone creates accounts")
    network: Network | None = Field(default=None, description="required for workload roles")
    ou: Name | None = Field(default=None, description="key of the organizational unit; default: by role")
    monthly_budget_usd: float | None = Field(default=None, gt=0)
    quotas: tuple[GrantedQuota, ...] = Field(
        default=(), max_length=200, description="quota values granted beyond a new account's (make quotas)"
    )

    @property
    def is_production(self) -> bool:
        return Role.ML_PROD in self.roles

    @property
    def is_workload(self) -> bool:
        return any(role in WORKLOAD_ROLES for role in self.roles)


class Organization(Frozen):
    name: Annotated[str, Field(pattern=NAME_PATTERN, min_length=2, max_length=24)] = Field(
        description="prefix of every physical name; keep it short: the longest derived name "
        "(a bucket, 63 characters at most) is checked for every account"
    )
    home_region: Region
    allowed_regions: tuple[Region, ...] = Field(min_length=1)


class User(Frozen):
    name: Name
    persona: Persona = Persona.DATA_SCIENTIST


class TeamAccounts(Frozen):
    """Which accounts a team builds, tests and serves its models in (names under `accounts`)."""

    dev: Name
    test: Name
    prod: Name


class Team(Frozen):
    cost_center: str = Field(min_length=1, max_length=64)
    accounts: TeamAccounts
    users: tuple[User, ...] = ()
    shared_space: bool = Field(default=False, description="a JupyterLab space every team member may open")
    monthly_budget_usd: float | None = Field(default=None, gt=0)


class FeatureType(StrEnum):
    STRING = "String"
    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"


class Feature(Frozen):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9])*$", max_length=64)] = Field(
        description="Feature Store's FeatureName: letters and digits, inner hyphens and underscores, 64 at most"
    )
    type: FeatureType


class OnlineStore(Frozen):
    enabled: bool = True
    ttl_days: int | None = Field(default=None, ge=1, le=3650)


class FeatureGroup(Frozen):
    name: Name
    team: Name
    description: str = Field(default="", max_length=128, description="Feature Store takes 128 characters at most")
    record_identifier: str
    event_time: str
    features: tuple[Feature, ...] = Field(min_length=2, max_length=2500)
    online_store: OnlineStore = OnlineStore()
    offline_store: bool = True


class FeatureStore(Frozen):
    account: Name
    offline_transition_to_infrequent_access_days: int = Field(default=30, ge=30)
    offline_expiration_days: int | None = Field(default=None, ge=1)
    feature_groups: tuple[FeatureGroup, ...] = ()


class Metric(Frozen):
    """The evaluation metric a model must reach to be registered and approved."""

    name: str = Field(min_length=1, max_length=64)
    threshold: float
    direction: Literal["maximize", "minimize"] = "maximize"


class Tuning(Frozen):
    """Hyperparameter tuning in the model-build pipeline: a tuning job on managed spot capacity
    instead of one training job; its best job's model is evaluated and registered."""

    max_jobs: int = Field(default=10, ge=1, le=500, description="training jobs in all")
    max_parallel_jobs: int = Field(default=2, ge=1, le=100)
    strategy: Literal["Bayesian", "Random", "Hyperband"] = "Bayesian"
    ranges: dict[str, tuple[float, float]] = Field(
        default_factory=dict,
        description="lowest and highest value of the train step's hyperparameters n-estimators, max-depth "
        "and learning-rate; those not given keep the platform's ranges (50-400, 2-6, 0.01-0.3)",
    )


CsvValue = int | float | Annotated[str, Field(pattern=r"^[^,]+$")]


class BiasCheck(Frozen):
    """Clarify's checks of every run (docs/architecture.md, "Model build"): pre-training bias of the training
    data, post-training bias of the candidate's predictions and SHAP feature attributions,
    registered with the package as its reports and drift-check baselines; the same run writes
    the analysis configs of the endpoint's bias and feature-attribution monitoring."""

    facet_feature: int = Field(
        ge=0, description="the sensitive feature: its position among the input's columns other than the label, from 0"
    )
    facet_values: tuple[CsvValue, ...] = Field(min_length=1, description="its values that mark the sensitive group")
    label_values: tuple[CsvValue, ...] = Field(default=(1,), min_length=1, description="the favourable labels")
    probability_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="the probability of label 1 from which the prediction is 1"
    )


class Model(Frozen):
    name: Name
    team: Name
    metric: Metric
    input_data_uri: str | None = Field(
        default=None,
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$",
        description="CSV files with a header and a `label` column; default: the model's input/ prefix "
        "in the account's model-artifacts bucket",
    )
    processing_instance_type: ProcessingInstanceType = "ml.m5.large"
    training_instance_type: TrainingInstanceType = Field(default="ml.m5.large", description="trained on managed spot")
    retraining_schedule: Schedule | None = Field(
        default=None, description="EventBridge Scheduler expression (UTC), e.g. cron(0 3 ? * MON *)"
    )
    tuning: Tuning | None = None
    bias_check: BiasCheck | None = None


class Variant(Frozen):
    """An instance variant. With more than one, the first serves the champion and the others the
    challenger, the newly approved package."""

    name: VariantName = Field(description="stable: autoscaling registers each variant by name")
    instance_type: EndpointInstanceType
    min_capacity: int = Field(default=2, ge=1)
    max_capacity: int = Field(default=4, ge=1)
    weight: float = Field(default=1.0, ge=0)
    max_rps_per_instance: float = Field(
        default=10.0, gt=0, description="measured in a load test; drives the scaling target"
    )


class ShadowVariant(Frozen):
    """A variant that receives a copy of the traffic; its answers are captured, never returned."""

    name: VariantName = "shadow"
    instance_type: EndpointInstanceType
    instance_count: int = Field(default=1, ge=1)
    sampling_percent: int = Field(default=100, ge=1, le=100)


class Serverless(Frozen):
    """Serverless inference instead of instances, for models with little or irregular traffic."""

    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = 2048
    max_concurrency: int = Field(default=5, ge=1, le=200)
    provisioned_concurrency: int | None = Field(default=None, ge=1, le=200)


class DataCapture(Frozen):
    sampling_percent: int = Field(default=100, ge=0, le=100)


class Deployment(Frozen):
    """Blue/green traffic shifting of endpoint updates."""

    strategy: Literal["canary", "linear", "all-at-once"] = "canary"
    step_percent: int = Field(default=10, ge=1, le=99)
    wait_minutes: int = Field(default=10, ge=0, le=60)
    rollback_alarms: tuple[AlarmName, ...] = Field(
        default=(),
        max_length=8,
        description="names of more CloudWatch alarms (in the serving account) that roll an update back",
    )


class Scaling(Frozen):
    """How instance variants scale; the target is computed from each variant's max_rps_per_instance."""

    metric: Literal["invocations", "latency"] = Field(
        default="invocations",
        description="invocations: SageMakerVariantInvocationsPerInstance at max_rps x safety_factor x 60; "
        "latency: average ModelLatency at half the endpoint's latency_slo_ms",
    )
    safety_factor: float = Field(default=0.5, gt=0, le=1)
    scale_out_cooldown_seconds: int = Field(default=60, ge=0, le=3600)
    scale_in_cooldown_seconds: int = Field(default=600, ge=0, le=3600)


class WorkingHours(Frozen):
    """When non-production endpoints keep their capacity; outside, they scale down to one instance."""

    start_hour: int = Field(default=7, ge=0, le=23)
    end_hour: int = Field(default=19, ge=1, le=23)
    days: Literal["MON-FRI", "MON-SAT", "MON-SUN"] = "MON-FRI"
    timezone: TimeZone = "UTC"


class SmokeTest(Frozen):
    """What the deployment pipeline sends the ml-test endpoint before asking for approval."""

    payload: str = Field(min_length=1, max_length=6000, description="one request body")
    content_type: str = "text/csv"
    max_latency_ms: int = Field(default=2000, ge=1)


S3Uri = Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")]


class ModelQuality(Frozen):
    """Model Monitor's model-quality job: predictions captured at the endpoint against ground truth."""

    problem_type: Literal["BinaryClassification", "MulticlassClassification", "Regression"]
    ground_truth_uri: S3Uri | None = Field(
        default=None,
        description="where labels for captured requests arrive (JSON lines); default: the account's "
        "data-capture bucket, ground-truth/<endpoint>/",
    )
    probability_threshold: float = Field(default=0.5, gt=0, lt=1, description="binary classification cut-off")


class ClarifyMonitoring(Frozen):
    """A Clarify monitoring job (bias drift or feature-attribution drift). Its analysis config
    (label, facets and their thresholds; the SHAP baseline) and baseline constraints are those
    the deployed package registers: the model-build pipeline of a model with `bias_check`
    writes and registers them."""

    ground_truth_uri: S3Uri | None = Field(
        default=None, description="bias only; default: the account's data-capture bucket, ground-truth/<endpoint>/"
    )
    probability_threshold: float = Field(default=0.5, gt=0, lt=1)


class MetricAlarm(Frozen):
    """A CloudWatch alarm on any metric; those with `retrain` start the model's retraining."""

    name: Name
    namespace: str = Field(min_length=1, max_length=255)
    metric: str = Field(min_length=1, max_length=255)
    dimensions: dict[
        Annotated[str, Field(min_length=1, max_length=255)], Annotated[str, Field(min_length=1, max_length=1024)]
    ] = Field(default_factory=dict, max_length=30, description="CloudWatch: names 1-255 characters, values 1-1024")
    statistic: str = Field(
        default="Maximum", pattern=r"^(Average|Maximum|Minimum|Sum|SampleCount|p[0-9]{1,2}(\.[0-9]+)?)$"
    )
    threshold: float
    comparison: Literal["above", "at-or-above", "below", "at-or-below"] = "above"
    periods: int = Field(default=1, ge=1, le=24)
    period_minutes: int = Field(default=60, ge=1, le=1440)
    retrain: bool = True


class Monitoring(Frozen):
    """Model Monitor on the endpoint in production, its alarms, and retraining on drift."""

    data_quality: bool = Field(
        default=True, description="against the data-quality baseline the deployed package registers"
    )
    schedule: Literal["hourly", "daily"] = "hourly"
    drift_features: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=200)], ...] = Field(
        default=(),
        max_length=20,
        description="features whose baseline drift gets an alarm (default alarms); Model Monitor names the "
        "columns of captured CSV _c0, _c1, ...",
    )
    drift_threshold: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="a drift distance is at most 1, so an alarm above 1 or more could never fire",
    )
    model_quality: ModelQuality | None = None
    bias: ClarifyMonitoring | None = None
    feature_attribution: ClarifyMonitoring | None = None
    alarms: tuple[MetricAlarm, ...] = Field(default=(), max_length=20, description="more alarms, on any metric")
    retraining_cooldown_hours: int = Field(
        default=24, ge=0, le=8760, description="a year at most: longer would switch drift retraining off"
    )


class MultiModel(Frozen):
    """Many models of one framework behind one endpoint; each request names its model (TargetModel),
    which SageMaker loads from the prefix on first use and keeps while memory allows."""

    models_uri: S3Uri | None = Field(
        default=None,
        description="prefix of the model archives (<name>.tar.gz), ending in /; default: the model's "
        "multi-model/ prefix in its registry's model-artifacts bucket, where the team's pipelines write",
    )


DomainName = Annotated[str, Field(pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", max_length=253)]


class ApiDomain(Frozen):
    """The production API's own name, in a Route 53 hosted zone of the production account
    (docs/architecture.md, "Inference API"); with the endpoint's recovery_region, DNS fails over to the
    standby's API there."""

    name: DomainName = Field(description="for example churn.ml.example.com")
    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{1,31}$")
    hosted_zone_name: DomainName = Field(description="the zone the name is in, for example ml.example.com")


class InferenceApi(Frozen):
    """An HTTPS front for the endpoint in each serving account: API Gateway (REST) -> a small
    function in the VPC -> InvokeEndpoint, behind a WAF web ACL (docs/architecture.md, "Inference API")."""

    authorization: Literal["iam", "cognito"] = Field(
        default="iam", description="iam: SigV4-signed calls; cognito: tokens of cognito_user_pool_arn"
    )
    cognito_user_pool_arn: str | None = Field(
        default=None, pattern=r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:[0-9]{12}:userpool/[a-z0-9-]+_[0-9a-zA-Z]+$"
    )
    caller_accounts: tuple[AccountId, ...] = Field(
        default=(), max_length=20, description="iam: other accounts whose principals may call (resource policy)"
    )
    rate_limit_rps: float = Field(default=50, gt=0, le=10000, description="steady requests per second, all callers")
    burst_limit: int = Field(default=100, ge=1, le=5000)
    api_keys: bool = Field(default=False, description="callers also send a key of the API's usage plan (x-api-key)")
    quota_per_day: int | None = Field(default=None, ge=1, description="requests per day per API key; needs api_keys")
    waf_rate_limit: int = Field(
        default=2000, ge=10, le=2_000_000_000, description="requests per 5 minutes one IP address may make"
    )
    max_payload_kb: int = Field(
        default=1024, ge=1, le=6144, description="larger bodies get 413; SageMaker takes at most 6 MB"
    )
    content_types: tuple[Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")], ...] = Field(
        default=("text/csv", "application/json"), min_length=1
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=500,
        description="concurrency reserved for the function; the account's Lambda quota must exceed the "
        "account's reservations by 100 (a new account's is 10: request an increase first, `make quotas`)",
    )
    custom_domain: ApiDomain | None = Field(default=None, description="production only; ml-test keeps its API's URL")


class Endpoint(Frozen):
    name: Name
    model: Name
    variants: tuple[Variant, ...] = Field(default=(), max_length=10, description="instance variants")
    serverless: Serverless | None = Field(default=None, description="instead of variants")
    shadow: ShadowVariant | None = None
    multi_model: MultiModel | None = Field(
        default=None,
        description="host the archives under a prefix with the framework's image instead of one model package",
    )
    data_capture: DataCapture = DataCapture()
    deployment: Deployment = Deployment()
    scaling: Scaling = Scaling()
    working_hours: WorkingHours = WorkingHours()
    latency_slo_ms: int = Field(default=500, ge=1)
    smoke_test: SmokeTest | None = None
    monitoring: Monitoring | None = None
    api: InferenceApi | None = None
    recovery_region: Region | None = Field(
        default=None,
        description="production also serves the endpoint from this region, on standby, with the same package "
        '(docs/architecture.md, "Second-region recovery")',
    )

    @property
    def has_challenger(self) -> bool:
        """Whether a newly approved package serves beside the champion: the first instance variant
        serves the champion, every other variant and the shadow the challenger
        (docs/architecture.md, "Serving and promotion")."""
        return self.multi_model is None and (len(self.variants) > 1 or self.shadow is not None)


class BatchInference(Frozen):
    """Scheduled batch scoring with a model's approved package, for models that need no
    real-time endpoint: a SageMaker pipeline with one transform job in each of the team's
    serving accounts, deployed by the model's deployment pipeline; production runs it on
    `schedule` (docs/architecture.md, "Batch inference")."""

    name: Name
    model: Name
    schedule: Schedule = Field(description="EventBridge Scheduler expression (UTC), production only")
    input_uri: S3Uri | None = Field(
        default=None,
        description="production: the prefix of the files to score, ending in /; default (and always in ml-test): "
        "<name>/input/ in the account's batch-inference bucket",
    )
    output_uri: S3Uri | None = Field(
        default=None,
        description="production: where each run writes a folder of results (named by the run), ending in /; "
        "default (and always in ml-test): <name>/output/ in the batch-inference bucket",
    )
    instance_type: TransformInstanceType = "ml.m5.large"
    instance_count: int = Field(default=1, ge=1, le=100)
    content_type: str = Field(default="text/csv", pattern=r"^[a-z]+/[a-z0-9.+-]+$")
    accept: str = Field(default="text/csv", pattern=r"^[a-z]+/[a-z0-9.+-]+$", description="format of the results")
    split_type: Literal["Line", "RecordIO", "TFRecord", "None"] = Field(
        default="Line", description="how files are cut into records (results are assembled the same way)"
    )
    batch_strategy: Literal["MultiRecord", "SingleRecord"] = "MultiRecord"
    max_payload_mb: int = Field(default=6, ge=1, le=100, description="largest request to the container")
    max_concurrent_transforms: int = Field(default=1, ge=1, le=100, description="requests per instance at a time")


class Guardrail(StrEnum):
    """The service control policies the landing zone can attach to an OU."""

    PROTECT_BASELINE = "protect-baseline"
    """No leaving the organization; trail, AWS Config and flow logs cannot be stopped or altered."""
    DENY_OTHER_REGIONS = "deny-other-regions"
    """Regional services only in the allowed regions."""
    ML_WORKLOADS = "ml-workloads"
    """SageMaker only VPC-bound, KMS-encrypted, network-isolated, no internet or root on notebooks."""
    ML_PRODUCTION = "ml-production"
    """Endpoints and model package groups changed only by the deployment roles; private workforces only."""


class OrganizationalUnit(Frozen):
    key: Name = Field(description="how accounts and other OUs refer to this OU")
    name: str = Field(min_length=1, max_length=128, description="the OU's name in AWS Organizations")
    id: Annotated[str, Field(pattern=r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")] | None = Field(
        default=None,
        description="an existing OU to adopt (Control Tower's Security or Sandbox, say): referenced by this id, "
        "never created or deleted; it keeps the parent it has, so it takes no `parent`",
    )
    parent: Name | None = Field(default=None, description="key of the parent OU; default: the organization root")
    guardrails: tuple[Guardrail, ...] = ()
    attached_policies: int | None = Field(
        default=None,
        ge=1,
        le=SCPS_PER_TARGET,
        description="an adopted OU's SCPs other than the platform's guardrails, FullAWSAccess and Control "
        "Tower's included; they count against AWS's limit of 5 per OU with the guardrails; default 1 "
        "(FullAWSAccess alone, as a new OU has)",
    )

    @property
    def other_policies(self) -> int:
        """The SCPs attached here that are not the platform's: FullAWSAccess, and an adopted OU's others."""
        return self.attached_policies or 1


DEFAULT_ORGANIZATIONAL_UNITS = (
    OrganizationalUnit(
        key="security", name="Security", guardrails=(Guardrail.PROTECT_BASELINE, Guardrail.DENY_OTHER_REGIONS)
    ),
    OrganizationalUnit(
        key="infrastructure",
        name="Infrastructure",
        guardrails=(Guardrail.PROTECT_BASELINE, Guardrail.DENY_OTHER_REGIONS),
    ),
    OrganizationalUnit(
        key="workloads",
        name="Workloads",
        guardrails=(Guardrail.PROTECT_BASELINE, Guardrail.DENY_OTHER_REGIONS, Guardrail.ML_WORKLOADS),
    ),
    OrganizationalUnit(key="ml-dev", name="ML-Dev", parent="workloads"),
    OrganizationalUnit(key="ml-test", name="ML-Test", parent="workloads"),
    OrganizationalUnit(key="ml-prod", name="ML-Prod", parent="workloads", guardrails=(Guardrail.ML_PRODUCTION,)),
    OrganizationalUnit(key="sandbox", name="Sandbox", guardrails=(Guardrail.PROTECT_BASELINE,)),
)

DEFAULT_OU_OF_ROLE = {
    Role.ML_PROD: "ml-prod",
    Role.ML_TEST: "ml-test",
    Role.ML_DEV: "ml-dev",
    Role.DATA: "workloads",
    Role.LOG_ARCHIVE: "security",
    Role.SHARED_SERVICES: "infrastructure",
}
"""Where an account goes when it names no OU: that of its role first in this order, so an
account of several roles gets the guardrails of the most guarded (one that serves production
goes to ML-Prod, one that runs workloads below Workloads). The management account stays at
the root: SCPs never apply to it."""


class Environment(StrEnum):
    """Which deployment of an endpoint or batch job: in its team's test or production account."""

    TEST = "test"
    PRODUCTION = "production"


@dataclass(frozen=True)
class Placement:
    """Where one deployment of an endpoint or batch job runs. Test and production are
    properties of the deployment, not of the account: one account may hold a team's test and
    production deployments, or one team's test and another's production (docs/architecture.md, "Account layouts")."""

    account: str
    """The config's name of the account."""
    environment: Environment
    beside_production: bool = False
    """The test deployment, in the account that also holds the production deployment of the
    same endpoint or job: its names are qualified (naming.deployed_name)."""

    @property
    def production(self) -> bool:
        return self.environment is Environment.PRODUCTION

    def deployed_name(self, name: str) -> str:
        return naming.deployed_name(name, test_beside_production=self.beside_production)


S = TypeVar("S", Endpoint, BatchInference)


@dataclass(frozen=True)
class Served(Generic[S]):
    """An endpoint or batch job (`item`) in one of its placements, with its model."""

    item: S
    model: Model
    placement: Placement

    @property
    def name(self) -> str:
        """Its name in the account: what its stack, construct id and physical names derive from."""
        return self.placement.deployed_name(self.item.name)


TRAIL_ARN = (
    r"^arn:(aws[a-z-]*):cloudtrail:([a-z0-9-]+):([0-9]{12}):trail/([A-Za-z0-9][A-Za-z0-9._-]{1,126}[A-Za-z0-9])$"
)
"""An organization trail's ARN: partition, region, the management account, the trail's name
(3-128 letters, digits, periods, underscores and hyphens, starting and ending with a letter or digit)."""


class OrganizationTrail(Frozen):
    """The organization trail and its archive in the log-archive account, or an existing trail
    the platform adopts (Control Tower's, with its own log archive)."""

    existing_arn: Annotated[str, Field(pattern=TRAIL_ARN)] | None = Field(
        default=None,
        description="adopt this organization trail instead of creating one: no trail stage, no archive "
        "stage; the protect-baseline guardrail protects it by name",
    )
    object_lock_mode: Literal["governance", "compliance"] = "governance"
    retention_days: int = Field(default=365, ge=1, description="object lock: no version can be deleted sooner")
    archive_after_days: int = Field(default=90, ge=1, description="move to S3 Glacier Flexible Retrieval")
    expire_after_days: int = Field(default=2557, ge=1, description="delete after about seven years")

    @property
    def name(self) -> str | None:
        """The adopted trail's name; None when the platform creates the trail."""
        return None if self.existing_arn is None else self.existing_arn.rpartition("/")[2]


class AccessPersona(StrEnum):
    """Who signs in through IAM Identity Center, and so which permission set they get."""

    PLATFORM_ADMIN = "platform-admin"
    DATA_SCIENTIST = "data-scientist"
    ML_ENGINEER = "ml-engineer"
    AUDITOR = "auditor"


GroupId = Annotated[
    str, Field(pattern=r"^([0-9a-f]{10}-)?[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
]


class IdentityCenter(Frozen):
    """IAM Identity Center: a permission set per persona, assigned to an identity-store group."""

    instance_arn: str = Field(pattern=r"^arn:aws[a-z-]*:sso:::instance/ssoins-[a-f0-9]{16}$")
    groups: dict[AccessPersona, GroupId] = Field(min_length=1, description="identity-store group id per persona")


class BaselineStackSet(Frozen):
    """The account baseline as a service-managed StackSet, for organizations of hundreds of accounts."""

    target_ous: tuple[Name, ...] = Field(min_length=1, description="OU keys; new accounts there get the baseline")
    vpc_cidr: Cidr = Field(description="every target account's VPC gets this CIDR (isolated VPCs never peer)")
    availability_zones: int = Field(default=2, ge=2, le=6)


class LandingZone(Frozen):
    organization_id: Annotated[str, Field(pattern=r"^o-[a-z0-9]{10,32}$")]
    root_id: Annotated[str, Field(pattern=r"^r-[0-9a-z]{4,32}$")]
    organizational_units: tuple[OrganizationalUnit, ...] = DEFAULT_ORGANIZATIONAL_UNITS
    create_accounts: bool = Field(
        default=False, description="create member accounts (AWS::Organizations::Account, retained on delete)"
    )
    move_accounts: bool = Field(
        default=False,
        description="move the existing member accounts into their OUs (a custom resource in the management "
        "account: an account already there is left alone, and on delete every account stays where it is); "
        "without it, the accounts are taken to be in their OUs already",
    )
    deployment_role_patterns: tuple[str, ...] = Field(
        default=("arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*", "arn:aws:iam::*:role/stacksets-exec-*"),
        min_length=1,
        description="roles exempt from the guardrails that protect what the platform deploys",
    )
    trail: OrganizationTrail = OrganizationTrail()
    budget_alert_emails: tuple[Email, ...] = Field(default=(), max_length=10)
    identity_center: IdentityCenter | None = None
    baseline_stackset: BaselineStackSet | None = None


CONNECTION_ARN = (
    r"^arn:aws[a-z-]*:(codeconnections|codestar-connections):[a-z0-9-]+:[0-9]{12}:connection/[0-9a-f-]{36}$"
)


class Delivery(Frozen):
    """Where the platform's code lives, for the pipelines in the shared-services account."""

    connection_arn: str = Field(
        pattern=CONNECTION_ARN,
        description="a CodeConnections connection to GitHub, GitLab or Bitbucket, in the shared-services account",
    )
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="owner/name")
    branch: str = Field(default="main", min_length=1, max_length=255)
    config_file: str = Field(
        pattern=r"^[A-Za-z0-9_./-]+\.ya?ml$",
        description="this organization's config file in the repository, which the pipelines synthesize; "
        "required, so a copy of the example never deploys the example organization",
    )


class SelfService(Frozen):
    """Service Catalog products data scientists launch themselves (docs/architecture.md, "Self-service")."""

    share_to: tuple[Name, ...] = Field(
        default=("ml-dev",),
        min_length=1,
        description="keys of the OUs the portfolio is shared to (organization sharing); the data account "
        "gets the feature group product by account share",
    )
    notebook_instance_types: tuple[NotebookInstanceType, ...] = Field(
        default=("ml.t3.large", "ml.t3.xlarge"),
        min_length=1,
        description="the instance types the notebook product's template constraint allows",
    )
    project_connection_arn: str | None = Field(
        default=None,
        pattern=CONNECTION_ARN,
        description="CodeConnections connection the MLOps project product builds from, usable in the ml-dev "
        "accounts (shared through AWS RAM); default: delivery.connection_arn",
    )
    s3_project_templates: bool = Field(
        default=False,
        description="also publish the project templates as SageMaker S3-based project templates in each ml-dev account",
    )


class Studio(Frozen):
    """SageMaker Studio in every ml-dev account."""

    auth_mode: Literal["iam", "sso"] = Field(
        default="iam", description="sso signs users in through IAM Identity Center (landing_zone.identity_center)"
    )
    default_instance_type: StudioInstanceType = "ml.t3.medium"
    idle_timeout_minutes: int = Field(default=60, ge=60, le=525600, description="JupyterLab shuts down when idle")
    max_idle_timeout_minutes: int = Field(default=240, ge=60, le=525600, description="users may not raise it past this")
    default_volume_gb: int = Field(default=5, ge=5, le=16384)
    max_volume_gb: int = Field(default=100, ge=5, le=16384)


class OrgConfig(Frozen):
    """The whole organization: the one input of the CDK app."""

    organization: Organization
    landing_zone: LandingZone
    accounts: dict[Name, Account] = Field(min_length=1)
    teams: dict[Name, Team] = {}
    studio: Studio = Studio()
    feature_store: FeatureStore | None = None
    models: tuple[Model, ...] = ()
    endpoints: tuple[Endpoint, ...] = ()
    batch_inference: tuple[BatchInference, ...] = ()
    delivery: Delivery | None = Field(default=None, description="required when there are endpoints or batch jobs")
    self_service: SelfService | None = None

    def region_of(self, account: Account) -> str:
        return account.region or self.organization.home_region

    def registry_of(self, model: Model) -> tuple[Account, str]:
        """The ml-dev account that builds and registers `model` (its team's), and its region."""
        account = self.accounts[self.teams[model.team].accounts.dev]
        return account, self.region_of(account)

    def accounts_with(self, role: Role) -> list[tuple[str, Account]]:
        return [(name, account) for name, account in self.accounts.items() if role in account.roles]

    def account_with(self, role: Role) -> tuple[str, Account]:
        """The one account of a role the rules require exactly one of (management, log-archive, ...)."""
        (only,) = self.accounts_with(role)
        return only

    def account_ids(self) -> list[str]:
        """The ids of every account the config names (all in the organization)."""
        return sorted({account.id for account in self.accounts.values()})

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy whose lookups (the cached properties) are computed afresh: `update` may change
        what they were computed from."""
        copied = super().model_copy(update=update, deep=deep)
        for name, attribute in vars(OrgConfig).items():
            if isinstance(attribute, cached_property):
                copied.__dict__.pop(name, None)
        return copied

    @cached_property
    def team_of_model(self) -> dict[str, str]:
        """Each model's team, by model name (the first model of a name, as rules report duplicates).
        Looked up once per endpoint and account, so large organizations validate in linear time."""
        return {model.name: model.team for model in reversed(self.models)}

    def placements_of(self, served: Endpoint | BatchInference) -> list[Placement]:
        """Where the endpoint or batch job is deployed: its team's test account, then its
        production account (the same account twice when the team tests where it serves)."""
        team = self.teams.get(self.team_of_model.get(served.model, ""))
        if team is None:
            return []
        test, prod = team.accounts.test, team.accounts.prod
        placements = (
            Placement(test, Environment.TEST, beside_production=test == prod),
            Placement(prod, Environment.PRODUCTION),
        )
        return [placement for placement in placements if placement.account in self.accounts]

    def placement_of(self, served: Endpoint | BatchInference, environment: Environment) -> Placement:
        """The endpoint's or batch job's test or production placement."""
        return next(placement for placement in self.placements_of(served) if placement.environment is environment)

    def serving_accounts_of(self, served: Endpoint | BatchInference) -> list[str]:
        """The ml-test and ml-prod accounts of the team whose model the endpoint or batch job serves."""
        return list(dict.fromkeys(placement.account for placement in self.placements_of(served)))

    @cached_property
    def model_named(self) -> dict[str, Model]:
        """Each model by name (the first of a name, as rules report duplicates)."""
        return {model.name: model for model in reversed(self.models)}

    def endpoints_served_in(self, account_name: str) -> list[Served[Endpoint]]:
        """The deployments of endpoints in an account: its teams' test or production ones, in
        config order, test before production."""
        return [
            Served(endpoint, self.model_named[endpoint.model], placement)
            for endpoint in self.endpoints
            for placement in self.placements_of(endpoint)
            if placement.account == account_name
        ]

    def batch_jobs_served_in(self, account_name: str) -> list[Served[BatchInference]]:
        """The deployments of batch inference jobs in an account, like endpoints_served_in."""
        return [
            Served(job, self.model_named[job.model], placement)
            for job in self.batch_inference
            for placement in self.placements_of(job)
            if placement.account == account_name
        ]

    @cached_property
    def recovery_regions_by_account(self) -> dict[str, list[str]]:
        """The recovery regions of the production endpoints each account serves."""
        found: dict[str, set[str]] = {}
        for endpoint in self.endpoints:
            if endpoint.recovery_region is None:
                continue
            for placement in self.placements_of(endpoint):
                if placement.production:
                    found.setdefault(placement.account, set()).add(endpoint.recovery_region)
        return {name: sorted(regions) for name, regions in found.items()}

    def recovery_regions_of(self, account_name: str) -> list[str]:
        """The recovery regions of the endpoints a production account serves."""
        return self.recovery_regions_by_account.get(account_name, [])

    def recovery_regions(self) -> list[str]:
        """Every recovery region of the organization's production endpoints."""
        return sorted({region for regions in self.recovery_regions_by_account.values() for region in regions})

    def serving_accounts(self) -> list[str]:
        """Every account that serves at least one endpoint or batch job, in config order."""
        served: tuple[Endpoint | BatchInference, ...] = (*self.endpoints, *self.batch_inference)
        serving = {name for item in served for name in self.serving_accounts_of(item)}
        return [name for name in self.accounts if name in serving]

    def guardrails_of(self, account: Account) -> set[Guardrail]:
        """The guardrails in force on the account: those of its OU and of every OU above it."""
        units = {unit.key: unit for unit in self.landing_zone.organizational_units}
        found: set[Guardrail] = set()
        key, seen = self.ou_of(account), set()
        while key is not None and key in units and key not in seen:
            seen.add(key)
            found.update(units[key].guardrails)
            key = units[key].parent
        return found

    def member_ous(self) -> list[tuple[str, Account, str]]:
        """(name, account, OU key) of every account that belongs in an OU, every member account:
        those the landing zone creates there, moves there, or takes to be there."""
        return [(name, account, ou) for name, account in self.accounts.items() if (ou := self.ou_of(account))]

    def ou_of(self, account: Account) -> str | None:
        """Key of the account's OU, or None for the organization root (always the management account's)."""
        if Role.MANAGEMENT in account.roles:
            return None
        if account.ou is not None:
            return account.ou
        return next((ou for role, ou in DEFAULT_OU_OF_ROLE.items() if role in account.roles), None)
