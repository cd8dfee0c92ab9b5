"""The organization configuration: typed, frozen pydantic models of `config/*.yaml`.

These models check each value on its own (formats, ranges, required fields), against AWS's
published facts where there are some: regions and instance types as botocore ships them
(`stacks.config.aws_data`), EventBridge Scheduler's expression grammar
(`stacks.config.schedules`), IANA time zone names (zoneinfo). Checks that need several parts
of the file at once (references, overlaps, uniqueness across lists, derived names and their
collisions, reachable thresholds, production floors) live in `stacks.config.rules`.
Every field's description is its documentation: docs/config-reference.md is generated from
these models (tools/config_reference.py), and a test holds every field to having one.
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

    cidr: Cidr = Field(description="the VPC's IPv4 CIDR, /16 to /24, not overlapping any other account's")
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

    service: str = Field(pattern=r"^[a-z][a-z0-9-]{1,63}$", description="service code: `lambda`, `sagemaker`, `vpc`")
    quota: str = Field(
        min_length=1,
        max_length=128,
        description="quota code (`L-B99A9384`) or name (`ml.m5.large for endpoint usage`), as `make quotas` "
        "prints them",
    )
    value: int = Field(ge=0, description="the value AWS granted")
    region: Region | None = Field(default=None, description="where AWS granted it; default: the account's region")


class Account(Frozen):
    """An AWS account of the organization and what it does in the platform."""

    id: AccountId = Field(
        description="12-digit AWS account id (ASCII digits 0-9, quoted: YAML would read a number), unique"
    )
    roles: tuple[Role, ...] = Field(
        min_length=1,
        description="what the account does, each role once. Exactly one account each holds `management`, "
        "`log-archive`, `shared-services` and `data`, at least one each of `ml-dev`, `ml-test` and `ml-prod`, "
        'and an account may hold several (docs/architecture.md, "Account layouts"). Accounts with `ml-prod` '
        "are production: stateful resources are retained and stacks termination-protected. Synth warns when "
        "the management account holds other roles: SCPs never apply to it, so the guardrails do not protect "
        "them there",
    )
    region: Region | None = Field(
        default=None,
        description="where the account's stacks deploy, one of `organization.allowed_regions`; "
        "default: `organization.home_region`",
    )
    email: Email | None = Field(
        default=None,
        description="root email, used only when the landing zone creates the account "
        "(`landing_zone.create_accounts`: then required, and unique, for every account but management)",
    )
    network: Network | None = Field(
        default=None, description="the isolated VPC; required for the roles `data`, `ml-dev`, `ml-test` and `ml-prod`"
    )
    ou: Name | None = Field(
        default=None,
        description="key of the account's OU in `landing_zone.organizational_units`; never for the management "
        "account, which stays at the root; default: by role, the most guarded the account holds first: "
        "`ml-prod`, `ml-test`, `ml-dev` to the OU of that key, `data` to `workloads`, `log-archive` to "
        "`security`, `shared-services` to `infrastructure`",
    )
    monthly_budget_usd: float | None = Field(
        default=None,
        gt=0,
        description="monthly cost budget of the account, alerting `landing_zone.budget_alert_emails`; "
        "default: no budget",
    )
    quotas: tuple[GrantedQuota, ...] = Field(
        default=(),
        max_length=200,
        description="quota values AWS has granted the account (`make quotas`): the preflight checks the account's "
        "needs against them instead of a new account's (`proofs/data/new_account_quotas.json`); default: a new "
        "account's",
    )

    @property
    def is_production(self) -> bool:
        return Role.ML_PROD in self.roles

    @property
    def is_workload(self) -> bool:
        return any(role in WORKLOAD_ROLES for role in self.roles)


class Organization(Frozen):
    """Who the organization is, and where the platform may deploy."""

    name: Annotated[str, Field(pattern=NAME_PATTERN, min_length=2, max_length=24)] = Field(
        description="prefix of every physical name (`acme` gives `acme-baseline`, "
        "`acme-access-logs-<id>-<region>`); keep it short: the longest bucket name it makes in any account "
        "and region must fit S3's 63 characters"
    )
    home_region: Region = Field(
        description="the region of every account that names none: a region of the pinned botocore's endpoint "
        "data, one of `allowed_regions`"
    )
    allowed_regions: tuple[Region, ...] = Field(
        min_length=1,
        description="the only regions the platform deploys to (`deny-other-regions` denies the others); all in "
        "`home_region`'s partition (`aws`, `aws-cn`, `aws-us-gov`, ...)",
    )


class User(Frozen):
    """A Studio user of the team."""

    name: Name = Field(
        description="user name (with `studio.auth_mode: sso`, the Identity Center user name); the Studio profile "
        "and private space are `<team>-<user>`, 63 characters at most, unique among the teams sharing the "
        "ml-dev account"
    )
    persona: Persona = Field(
        default=Persona.DATA_SCIENTIST,
        description="`ml-engineer` also runs the team's pipelines and approves its model packages",
    )


class TeamAccounts(Frozen):
    """Which accounts a team builds, tests and serves its models in (names under `accounts`)."""

    dev: Name = Field(description="the team's ml-dev account: Studio, its pipelines, its model registry")
    test: Name = Field(
        description="the ml-test account its endpoints and batch jobs are tested in; it may be `prod` (an account "
        "holding both roles), where the test deployments are named `<name>-test`, so no other endpoint, or "
        "batch job, of that name may be deployed there"
    )
    prod: Name = Field(description="the ml-prod account that serves its endpoints and batch jobs")


class Team(Frozen):
    """A team: its users, and the accounts it builds, tests and serves its models in."""

    cost_center: str = Field(min_length=1, max_length=64, description="tagged on the team's resources and budgets")
    accounts: TeamAccounts
    users: tuple[User, ...] = Field(default=(), description="the team's Studio users, each name once")
    shared_space: bool = Field(
        default=False,
        description="a JupyterLab space every team member may open, `<team>-shared` (so no user of the team is "
        "named `shared`)",
    )
    monthly_budget_usd: float | None = Field(
        default=None,
        gt=0,
        description="monthly budget of everything tagged `platform:team=<team>` (activate that cost allocation "
        "tag once in the Billing console); default: no budget",
    )


class FeatureType(StrEnum):
    STRING = "String"
    INTEGRAL = "Integral"
    FRACTIONAL = "Fractional"


class Feature(Frozen):
    name: Annotated[str, Field(pattern=r"^[a-zA-Z0-9]([-_]*[a-zA-Z0-9])*$", max_length=64)] = Field(
        description="Feature Store's FeatureName: letters and digits, inner hyphens and underscores, 64 at most; "
        "`is_deleted`, `write_time` and `api_invocation_time` are reserved"
    )
    type: FeatureType = Field(description="the feature's type in Feature Store")


class OnlineStore(Frozen):
    """The feature group's online store: the latest record of each identifier, for low-latency reads."""

    enabled: bool = Field(
        default=True, description="a group needs an online store, an offline store (`offline_store`), or both"
    )
    ttl_days: int | None = Field(
        default=None, ge=1, le=3650, description="how long its records live; only with `enabled`; default: for ever"
    )


class FeatureGroup(Frozen):
    """A feature group in the Feature Store's account."""

    name: Name = Field(description="the group; its physical name `<org>-<name>` is 64 characters at most")
    team: Name = Field(description="the team that owns it")
    description: str = Field(
        default="", max_length=128, description="its description in Feature Store, 128 characters at most"
    )
    record_identifier: str = Field(description="the feature that identifies a record, one of `features`")
    event_time: str = Field(
        description="the feature that holds each record's time, one of `features`: a `String` (ISO-8601) or "
        "`Fractional` (epoch seconds) one"
    )
    features: tuple[Feature, ...] = Field(min_length=2, max_length=2500, description="its features, each name once")
    online_store: OnlineStore = OnlineStore()
    offline_store: bool = Field(
        default=True,
        description="an offline store (Apache Iceberg tables in the Feature Store's bucket, catalogued in Glue), "
        "for training",
    )


class FeatureStore(Frozen):
    """The central Feature Store, shared with the teams' accounts, and its offline store's lifecycle."""

    account: Name = Field(description="the account (role `data`) holding the Feature Store")
    offline_transition_to_infrequent_access_days: int = Field(
        default=30, ge=30, description="offline-store objects move to S3 Standard-IA after this many days (30 or more)"
    )
    offline_expiration_days: int | None = Field(
        default=None,
        ge=1,
        description="offline-store objects expire after this many days, later than the move to Standard-IA; "
        "default: never",
    )
    feature_groups: tuple[FeatureGroup, ...] = Field(default=(), description="the feature groups, each name once")


class Metric(Frozen):
    """The evaluation metric a model must reach to be registered and approved."""

    name: str = Field(
        min_length=1,
        max_length=64,
        description="one the evaluate step reports: `auc` and `accuracy` (`maximize`, between 0 and 1), "
        "`log_loss` (`minimize`, 0 or more)",
    )
    threshold: float = Field(
        description="the bar to reach; a threshold no model can reach, or every model reaches, is refused"
    )
    direction: Literal["maximize", "minimize"] = Field(
        default="maximize", description="whether higher or lower is better: the metric's own"
    )


class Tuning(Frozen):
    """Hyperparameter tuning in the model-build pipeline: a tuning job (managed spot, in the VPC,
    network-isolated, KMS-encrypted) instead of one training job, optimizing `metric` on the
    validation split; its best job's model is evaluated and registered."""

    max_jobs: int = Field(default=10, ge=1, le=500, description="training jobs in all")
    max_parallel_jobs: int = Field(default=2, ge=1, le=100, description="training jobs at a time, at most `max_jobs`")
    strategy: Literal["Bayesian", "Random", "Hyperband"] = Field(
        default="Bayesian", description="how SageMaker picks each job's hyperparameters"
    )
    ranges: dict[str, tuple[float, float]] = Field(
        default={},
        description="`{hyperparameter: [lowest, highest]}`, both above 0, for the train step's `n-estimators`, "
        "`max-depth` (whole numbers) and `learning-rate`; those not given keep the platform's ranges (50-400, "
        "2-6, 0.01-0.3). They are also pipeline parameters (`NEstimatorsMin`, ...), so a run may narrow them",
    )


CsvValue = int | float | Annotated[str, Field(pattern=r"^[^,]+$")]


class BiasCheck(Frozen):
    """Clarify's checks of every run (docs/architecture.md, "Model build"): pre-training bias of the
    training split, post-training bias of the candidate's predictions and SHAP feature attributions
    on the test split, registered with the package as its bias and explainability reports and
    drift-check baselines; the same run writes the analysis configs of the endpoint's
    `monitoring.bias` and `monitoring.feature_attribution`."""

    facet_feature: int = Field(
        ge=0,
        description="the sensitive feature: its position among the input's columns other than `label`, from 0 "
        "(Model Monitor's `_c<n>`)",
    )
    facet_values: tuple[CsvValue, ...] = Field(
        min_length=1,
        description="its values that mark the sensitive group; 256 characters at most in all (a container argument)",
    )
    label_values: tuple[CsvValue, ...] = Field(
        default=(1,),
        min_length=1,
        description="the favourable labels; 256 characters at most in all (a container argument)",
    )
    probability_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="the probability of label 1 from which the model's prediction is 1"
    )


class Model(Frozen):
    """A model project: its model-build pipeline and model package group in its team's ml-dev account."""

    name: Name = Field(
        description="the model project, each name once; its model package group is `<org>-<name>`, its pipeline "
        "`<org>-<name>-build` and its deployment pipeline `<org>-<name>-deploy`"
    )
    team: Name = Field(description="the team that builds it, and serves it from its ml-test and ml-prod accounts")
    metric: Metric
    input_data_uri: str | None = Field(
        default=None,
        pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$",
        description="S3 prefix of the training data (CSV files with a header and a `label` column), the "
        "pipeline's `InputDataUri` default; default: `s3://<org>-model-artifacts-<account>-<region>/<name>/input/`",
    )
    processing_instance_type: ProcessingInstanceType = Field(
        default="ml.m5.large",
        description="the processing steps' instance type, one of SageMaker's `ProcessingInstanceType`s, the "
        "pipeline's default; the jobs encrypt their volumes, so no types with local NVMe storage (`m5d`, `g5`, "
        "...); with `bias_check`, Clarify serves the candidate on it, so it must also be an endpoint type",
    )
    training_instance_type: TrainingInstanceType = Field(
        default="ml.m5.large",
        description="the instance type of (managed spot) training, one of SageMaker's `TrainingInstanceType`s, "
        "the pipeline's default; no types with local NVMe storage (`m5d`, `g5`, ...)",
    )
    retraining_schedule: Schedule | None = Field(
        default=None,
        description='EventBridge Scheduler expression in UTC (config/README.md, "Schedules"), e.g. '
        "`cron(0 3 ? * MON *)`: starts the pipeline with `RetrainingReason=schedule`; default: none",
    )
    tuning: Tuning | None = None
    bias_check: BiasCheck | None = None


class Variant(Frozen):
    """An instance variant. With more than one, the first serves the champion and the others the
    challenger, the newly approved package."""

    name: VariantName = Field(
        description="production variant name, unique in the endpoint; keep it stable: autoscaling registers against it"
    )
    instance_type: EndpointInstanceType = Field(
        description="one of SageMaker's `ProductionVariantInstanceType`s; burstable `ml.t*` types cannot be "
        "autoscaled (`max_capacity` must equal `min_capacity`); types with local NVMe storage (`g5`, `m5d`, ...) "
        "take no volume key, which the `ml-workloads` guardrail requires"
    )
    min_capacity: int = Field(
        default=2,
        ge=1,
        description="fewest instances; every endpoint reaches production, so at least 2, to span availability zones",
    )
    max_capacity: int = Field(default=4, ge=1, description="most instances, at least `min_capacity`")
    weight: float = Field(
        default=1.0,
        ge=0,
        description="traffic weight; with more than one variant the first serves the champion and the others the "
        "challenger, the newly approved package, until a person promotes it in the deployment pipeline "
        '(docs/architecture.md, "Serving and promotion"); the weights must add up to more than 0',
    )
    max_rps_per_instance: float = Field(
        default=10.0,
        gt=0,
        description="requests per second one instance sustains, measured in a load test; drives the scaling target",
    )


class ShadowVariant(Frozen):
    """A variant that receives a copy of the traffic; its answers are captured, never returned."""

    name: VariantName = Field(default="shadow", description="its variant name, unlike any variant's")
    instance_type: EndpointInstanceType = Field(description="as the variants' `instance_type`, and by their rules")
    instance_count: int = Field(default=1, ge=1, description="its instances")
    sampling_percent: int = Field(default=100, ge=1, le=100, description="share of the requests it gets a copy of")


class Serverless(Frozen):
    """Serverless inference instead of instances, for models with little or irregular traffic."""

    memory_mb: Literal[1024, 2048, 3072, 4096, 5120, 6144] = Field(
        default=2048, description="the serverless endpoint's memory, in MB"
    )
    max_concurrency: int = Field(default=5, ge=1, le=200, description="concurrent invocations at most")
    provisioned_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=200,
        description="concurrency SageMaker keeps warm, at most `max_concurrency`; default: none (cold starts)",
    )


class DataCapture(Frozen):
    """What the endpoint captures for Model Monitor, into the account's data-capture bucket."""

    sampling_percent: int = Field(
        default=100,
        ge=0,
        le=100,
        description="share of requests and responses captured (0: off, which `monitoring` does not allow)",
    )


class Deployment(Frozen):
    """Blue/green traffic shifting of endpoint updates."""

    strategy: Literal["canary", "linear", "all-at-once"] = Field(
        default="canary",
        description="`canary`: `step_percent` of the traffic, then the rest; `linear`: `step_percent` more at each "
        "step; `all-at-once` (serverless endpoints' only one)",
    )
    step_percent: int = Field(default=10, ge=1, le=99, description="share of the capacity each step shifts")
    wait_minutes: int = Field(
        default=10,
        ge=0,
        le=60,
        description="wait after each step, and before the old fleet goes, for the rollback alarms to go off",
    )
    rollback_alarms: tuple[AlarmName, ...] = Field(
        default=(),
        max_length=8,
        description="names of more CloudWatch alarms in the serving account that roll an update back, besides "
        "each variant's 5XX rate and p99 latency",
    )


class Scaling(Frozen):
    """How instance variants scale; the target is computed from each variant's `max_rps_per_instance`."""

    metric: Literal["invocations", "latency"] = Field(
        default="invocations",
        description="`invocations`: target tracking on invocations per instance at `max_rps_per_instance` x "
        "`safety_factor` x 60 (AWS's guidance); `latency`: average model latency at half `latency_slo_ms`",
    )
    safety_factor: float = Field(
        default=0.5, gt=0, le=1, description="headroom: the share of `max_rps_per_instance` the target aims at"
    )
    scale_out_cooldown_seconds: int = Field(
        default=60, ge=0, le=3600, description="how soon after adding instances more may be added"
    )
    scale_in_cooldown_seconds: int = Field(
        default=600, ge=0, le=3600, description="how soon after removing instances more may be removed"
    )


class WorkingHours(Frozen):
    """When non-production endpoints keep their capacity; outside, they scale down to one instance."""

    start_hour: int = Field(default=7, ge=0, le=23, description="the hour the capacity comes back")
    end_hour: int = Field(
        default=19, ge=1, le=23, description="the hour the endpoint scales down to one instance, after `start_hour`"
    )
    days: Literal["MON-FRI", "MON-SAT", "MON-SUN"] = Field(default="MON-FRI", description="the working days")
    timezone: TimeZone = Field(
        default="UTC",
        description="an IANA time zone name (`Europe/Dublin`), checked with Python's zoneinfo (on machines "
        "without a system database, the `tzdata` package `requirements.txt` pins)",
    )


class SmokeTest(Frozen):
    """What the deployment pipeline sends the ml-test endpoint before asking for approval."""

    payload: str = Field(min_length=1, max_length=6000, description="one request body")
    content_type: str = Field(default="text/csv", description="the body's content type")
    max_latency_ms: int = Field(default=2000, ge=1, description="the test fails when the answer takes longer")


S3Uri = Annotated[str, Field(pattern=r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")]


class ModelQuality(Frozen):
    """Model Monitor's model-quality job: predictions captured at the endpoint against ground truth,
    with an alarm on the model's own `metric` when Model Monitor reports it."""

    problem_type: Literal["BinaryClassification", "MulticlassClassification", "Regression"] = Field(
        description="what the model predicts, in Model Monitor's terms"
    )
    ground_truth_uri: S3Uri | None = Field(
        default=None,
        description="where labels for captured requests arrive (JSON lines); default: "
        "`s3://<org>-data-capture-<account>-<region>/ground-truth/<endpoint>/`",
    )
    probability_threshold: float = Field(default=0.5, gt=0, lt=1, description="binary classification cut-off")


class ClarifyMonitoring(Frozen):
    """A Clarify monitoring job (bias drift or feature-attribution drift). Its analysis config
    (label, facets and their thresholds; the SHAP baseline) and baseline constraints are those
    the deployed package registers: the model-build pipeline of a model with `bias_check`
    writes and registers them."""

    ground_truth_uri: S3Uri | None = Field(
        default=None,
        description="bias only: where labels for captured requests arrive; default: the model-quality job's, "
        "`s3://<org>-data-capture-<account>-<region>/ground-truth/<endpoint>/`",
    )
    probability_threshold: float = Field(
        default=0.5, gt=0, lt=1, description="the probability of label 1 from which the model's prediction is 1"
    )


class MetricAlarm(Frozen):
    """A CloudWatch alarm on any metric; those with `retrain` start the model's retraining."""

    name: Name = Field(description="the alarm's name in the endpoint: `<org>-<endpoint>-<name>` in CloudWatch")
    namespace: str = Field(min_length=1, max_length=255, description="the metric's CloudWatch namespace")
    metric: str = Field(min_length=1, max_length=255, description="the metric's name")
    dimensions: dict[
        Annotated[str, Field(min_length=1, max_length=255)], Annotated[str, Field(min_length=1, max_length=1024)]
    ] = Field(default={}, max_length=30, description="the metric's dimensions, name to value")
    statistic: str = Field(
        default="Maximum",
        pattern=r"^(Average|Maximum|Minimum|Sum|SampleCount|p[0-9]{1,2}(\.[0-9]+)?)$",
        description="the statistic compared with `threshold`: `Average`, `Maximum`, `Minimum`, `Sum`, "
        "`SampleCount` or a percentile (`p99`, `p99.9`)",
    )
    threshold: float = Field(
        description="a threshold the metric can never cross, or always has crossed, is refused where its range is "
        "known (Model Monitor's metrics; `SampleCount` is never negative)"
    )
    comparison: Literal["above", "at-or-above", "below", "at-or-below"] = Field(
        default="above", description="how the statistic goes off against `threshold`"
    )
    periods: int = Field(
        default=1,
        ge=1,
        le=24,
        description="periods evaluated; `periods` x `period_minutes` is at most seven days (one day with periods "
        "under an hour), CloudWatch's evaluation range",
    )
    period_minutes: int = Field(default=60, ge=1, le=1440, description="the length of a period")
    retrain: bool = Field(default=True, description="the alarm also starts the model's retraining")


class Monitoring(Frozen):
    """Model Monitor on the endpoint in production, its alarms, and retraining on drift."""

    data_quality: bool = Field(
        default=True,
        description="Model Monitor's data-quality job (needs `data_capture`), against the baseline statistics and "
        "constraints the deployed package registers as its drift-check baselines (the deployment passes them "
        "to the endpoint stack)",
    )
    schedule: Literal["hourly", "daily"] = Field(default="hourly", description="how often the monitoring jobs run")
    drift_features: tuple[Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=200)], ...] = Field(
        default=(),
        max_length=20,
        description="features (Model Monitor names the columns of captured CSV `_c0`, `_c1`, ...) whose "
        "`feature_baseline_drift_<feature>` gets an alarm `drift-<feature>` above `drift_threshold`",
    )
    drift_threshold: float = Field(
        default=0.1,
        gt=0,
        lt=1,
        description="a drift distance is at most 1, so an alarm above 1 or more could never fire",
    )
    model_quality: ModelQuality | None = None
    bias: ClarifyMonitoring | None = Field(
        default=None,
        description="Clarify's bias-drift job, with the analysis config (label, facets, thresholds) and "
        "post-training bias constraints the deployed package registers: needs the model's `bias_check`",
    )
    feature_attribution: ClarifyMonitoring | None = Field(
        default=None,
        description="Clarify's feature-attribution (SHAP) drift job, with the analysis config (SHAP baseline) and "
        "attribution constraints the deployed package registers: needs the model's `bias_check`",
    )
    alarms: tuple[MetricAlarm, ...] = Field(
        default=(),
        max_length=20,
        description="more alarms, on any metric, each name once. An endpoint's alarms are named "
        "`<org>-<endpoint>-<name>`, beside `-drift-<feature>`, `-quality-<metric>` and the composite `-drift`: "
        "no two alarms of the organization may share a name",
    )
    retraining_cooldown_hours: int = Field(
        default=24,
        ge=0,
        le=8760,
        description="after a retraining starts, drift alarms start no other for this long; a year at most: "
        "longer would switch drift retraining off",
    )


class MultiModel(Frozen):
    """Many models of one framework behind one endpoint; each request names its model (TargetModel),
    which SageMaker loads from the prefix on first use and keeps while memory allows."""

    models_uri: S3Uri | None = Field(
        default=None,
        description="prefix of the model archives (`<name>.tar.gz`), ending in /; default: "
        "`s3://<org>-model-artifacts-<dev account>-<region>/<model>/multi-model/`, where the team's pipelines "
        "write",
    )


DomainName = Annotated[str, Field(pattern=r"^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$", max_length=253)]


class ApiDomain(Frozen):
    """The production API's own name, in a Route 53 hosted zone of the production account
    (docs/architecture.md, "Inference API"); with the endpoint's recovery_region, DNS fails over to the
    standby's API there."""

    name: DomainName = Field(description="the API's name, in the zone: for example `churn.ml.example.com`")
    hosted_zone_id: str = Field(pattern=r"^Z[A-Z0-9]{1,31}$", description="the hosted zone's id")
    hosted_zone_name: DomainName = Field(description="the hosted zone's name, for example `ml.example.com`")


class InferenceApi(Frozen):
    """An HTTPS front for the endpoint in each serving account: API Gateway (REST) -> a small
    function in the VPC -> InvokeEndpoint, behind a WAF web ACL (docs/architecture.md, "Inference API")."""

    authorization: Literal["iam", "cognito"] = Field(
        default="iam",
        description="`iam`: SigV4-signed calls, from the serving account and `caller_accounts`; `cognito`: tokens "
        "of `cognito_user_pool_arn`, the only choice with the endpoint's `recovery_region` (SigV4 signs for one "
        "region)",
    )
    cognito_user_pool_arn: str | None = Field(
        default=None,
        pattern=r"^arn:aws[a-z-]*:cognito-idp:[a-z0-9-]+:[0-9]{12}:userpool/[a-z0-9-]+_[0-9a-zA-Z]+$",
        description="the user pool whose tokens the API accepts; required with `cognito`, and only then",
    )
    caller_accounts: tuple[AccountId, ...] = Field(
        default=(),
        max_length=20,
        description="`iam` only: other accounts of the organization whose principals may call (resource policy)",
    )
    rate_limit_rps: float = Field(
        default=50,
        gt=0,
        le=10000,
        description="stage and usage-plan throttling: steady requests per second, all callers",
    )
    burst_limit: int = Field(
        default=100, ge=1, le=5000, description="requests at once above the steady rate, at least `rate_limit_rps`"
    )
    api_keys: bool = Field(default=False, description="callers also send a key of the API's usage plan (x-api-key)")
    quota_per_day: int | None = Field(
        default=None, ge=1, description="requests per day per API key; needs `api_keys`; default: no quota"
    )
    waf_rate_limit: int = Field(
        default=2000,
        ge=10,
        le=2_000_000_000,
        description="requests per 5 minutes one IP address may make before WAF blocks it",
    )
    max_payload_kb: int = Field(
        default=1024, ge=1, le=6144, description="the largest body: larger ones get 413; SageMaker takes at most 6 MB"
    )
    content_types: tuple[Annotated[str, Field(pattern=r"^[a-z]+/[a-z0-9.+-]+$")], ...] = Field(
        default=("text/csv", "application/json"),
        min_length=1,
        description="the content types the API accepts; others get 415",
    )
    max_concurrency: int | None = Field(
        default=None,
        ge=1,
        le=500,
        description="executions reserved for the API's function; default: none, the stage's throttling bounds it. "
        "Lambda keeps 100 of the account's executions unreserved, so the serving accounts need a concurrency "
        "quota of the reservations plus 100 (a new account has 10: request it first, `make quotas`, and state "
        "it under `accounts.<name>.quotas`)",
    )
    custom_domain: ApiDomain | None = Field(
        default=None,
        description="production only (ml-test keeps its API's URL): the API's own name in a Route 53 hosted zone "
        "of the production account, with a certificate; required with the endpoint's `recovery_region`, as DNS "
        "then fails over to the standby's API",
    )


class Endpoint(Frozen):
    """A real-time endpoint serving a model's approved package in its team's ml-test and ml-prod accounts."""

    name: Name = Field(description="the endpoint, each name once; physical name `<org>-<name>`, 63 characters at most")
    model: Name = Field(description="the model it serves")
    variants: tuple[Variant, ...] = Field(
        default=(), max_length=10, description="instance variants, each name once; give either these or `serverless`"
    )
    serverless: Serverless | None = Field(
        default=None,
        description="serverless inference instead of `variants`: no VPC, no network isolation, no data capture, so "
        "only for accounts outside OUs with the `ml-workloads` guardrail; deployments all at once",
    )
    shadow: ShadowVariant | None = Field(
        default=None,
        description="a shadow variant that gets a copy of `sampling_percent` of the requests; its answers are "
        "captured, never returned. Needs exactly one variant, which serves the champion while the shadow serves "
        "the challenger, the newly approved package",
    )
    multi_model: MultiModel | None = Field(
        default=None,
        description="a multi-model endpoint: the framework's image serves every archive under `models_uri`, "
        "loading each on its first request (`TargetModel`); deployments leave it as it is (no model package), "
        "and publishing a model is writing its archive there. No Model Monitor, shadow or serverless (SageMaker "
        "supports none of them on multi-model endpoints); an alarm when requests wait longer than "
        "`latency_slo_ms` for their model to load",
    )
    data_capture: DataCapture = DataCapture()
    deployment: Deployment = Deployment()
    scaling: Scaling = Scaling()
    working_hours: WorkingHours = WorkingHours()
    latency_slo_ms: int = Field(default=500, ge=1, description="p99 model latency objective: alarms and rollback")
    smoke_test: SmokeTest | None = Field(
        default=None,
        description="the request the deployment pipeline sends the ml-test endpoint before asking for approval; "
        "without it, only the endpoint's status is checked. Not on multi-model endpoints: they serve the "
        "archives their team publishes, not the package the deployment brings",
    )
    monitoring: Monitoring | None = Field(
        default=None,
        description="Model Monitor on the production endpoint, its alarms and retraining on drift; required "
        "(every endpoint reaches production), except on multi-model and serverless endpoints, which Model "
        "Monitor does not support",
    )
    api: InferenceApi | None = None
    recovery_region: Region | None = Field(
        default=None,
        description="production also serves the endpoint from this region, on standby, with the same package "
        '(docs/architecture.md, "Second-region recovery"): an allowed region other than production\'s; not for '
        "multi-model endpoints nor endpoints with a challenger (a second variant or a shadow), as the standby "
        "serves one package; its deployment action `Deploy-<name>-recovery` must not be another endpoint's "
        "`Deploy-<name>`",
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

    name: Name = Field(
        description="the job, each name once: stack `<org>-batch-<name>`, pipeline `<org>-<name>-batch`, "
        "deployment action `Deploy-batch-<name>`, which must not be an endpoint's `Deploy-<name>`"
    )
    model: Name = Field(description="the model it scores with")
    schedule: Schedule = Field(
        description="EventBridge Scheduler expression in UTC, `cron(...)` or `rate(...)` (config/README.md, "
        '"Schedules"); production only'
    )
    input_uri: S3Uri | None = Field(
        default=None,
        description="production: the prefix (ending in /) of the files to score, in a bucket of the production "
        "account whose key admits `<org>-model-execution`; ml-test always uses its own bucket; default: "
        "`s3://<org>-batch-inference-<account>-<region>/<name>/input/`",
    )
    output_uri: S3Uri | None = Field(
        default=None,
        description="production: the prefix (ending in /, not overlapping `input_uri`) under which each run "
        "writes a folder of results, in a bucket like `input_uri`'s; ml-test always uses its own bucket; "
        "default: `s3://<org>-batch-inference-<account>-<region>/<name>/output/`",
    )
    instance_type: TransformInstanceType = Field(
        default="ml.m5.large",
        description="the transform job's instances, one of SageMaker's `TransformInstanceType`s; types with local "
        "NVMe storage (`m5d`, `g5`, ...) take no volume key and are refused",
    )
    instance_count: int = Field(default=1, ge=1, le=100, description="how many of them")
    content_type: str = Field(default="text/csv", pattern=r"^[a-z]+/[a-z0-9.+-]+$", description="the files' format")
    accept: str = Field(default="text/csv", pattern=r"^[a-z]+/[a-z0-9.+-]+$", description="the results' format")
    split_type: Literal["Line", "RecordIO", "TFRecord", "None"] = Field(
        default="Line",
        description="how files are cut into records (`None`: whole files, which need `SingleRecord`); results are "
        "assembled the same way",
    )
    batch_strategy: Literal["MultiRecord", "SingleRecord"] = Field(
        default="MultiRecord", description="whether a request carries as many records as fit, or one"
    )
    max_payload_mb: int = Field(
        default=6,
        ge=1,
        le=100,
        description="the largest request to the container; x `max_concurrent_transforms` at most 100 MB "
        "(SageMaker's limit)",
    )
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
    """An organizational unit, created by the landing zone or adopted by id."""

    key: Name = Field(
        description="how accounts (`accounts.<name>.ou`), other OUs (`parent`), `baseline_stackset.target_ous` and "
        "`self_service.share_to` refer to this OU; each key once"
    )
    name: str = Field(min_length=1, max_length=128, description="the OU's name in AWS Organizations")
    id: Annotated[str, Field(pattern=r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")] | None = Field(
        default=None,
        description="adopt this existing OU (Control Tower's Security or Sandbox, say): referenced, never created "
        "or deleted; guardrails still attach to it and new OUs may name it as `parent`; it keeps its own parent, "
        "so it takes no `parent`; each id once; default: the OU is created",
    )
    parent: Name | None = Field(default=None, description="key of the parent OU; default: the organization root")
    guardrails: tuple[Guardrail, ...] = Field(
        default=(),
        description="the platform's SCPs attached to the OU, each once, in force on every OU below it too "
        "(docs/architecture.md, \"Guardrails\"); with the OU's other policies at most 5, AWS's limit per OU",
    )
    attached_policies: int | None = Field(
        default=None,
        ge=1,
        le=SCPS_PER_TARGET,
        description="an adopted OU's SCPs besides the platform's guardrails, FullAWSAccess and Control Tower's "
        "controls included (`aws organizations list-policies-for-target --target-id <id> --filter "
        "SERVICE_CONTROL_POLICY`); with its guardrails at most 5, AWS's limit per OU; only with `id`; default 1 "
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
        description="adopt this organization trail (Control Tower's `aws-controltower-BaselineCloudTrail`, say) "
        "instead of creating one: no `<Account>Trail` or `<Account>Archive` stage, and none of the retention keys "
        "below; `protect-baseline` protects it by name. The management account's, in the organization's "
        "partition; default: the platform creates the trail and its archive",
    )
    object_lock_mode: Literal["governance", "compliance"] = Field(
        default="governance", description="the archive's S3 Object Lock mode"
    )
    retention_days: int = Field(
        default=365, ge=1, description="days each log object is locked: no version can be deleted sooner"
    )
    archive_after_days: int = Field(
        default=90, ge=1, description="days after which log objects move to S3 Glacier Flexible Retrieval"
    )
    expire_after_days: int = Field(
        default=2557,
        ge=1,
        description="days after which log objects are deleted (2557: about seven years), later than "
        "`retention_days` and `archive_after_days`",
    )

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
    """IAM Identity Center: the platform creates a permission set per persona and assigns it to an
    existing identity-store group, never creating groups."""

    instance_arn: str = Field(
        pattern=r"^arn:aws[a-z-]*:sso:::instance/ssoins-[a-f0-9]{16}$", description="the Identity Center instance"
    )
    groups: dict[AccessPersona, GroupId] = Field(
        min_length=1,
        description="the id of an existing identity-store group per persona: `platform-admin` and `auditor` are "
        "assigned every account, `data-scientist` the teams' ml-dev accounts, `ml-engineer` their ml-dev, "
        "ml-test and ml-prod accounts",
    )


class BaselineStackSet(Frozen):
    """The account baseline as a service-managed StackSet, for organizations of hundreds of accounts
    (docs/architecture.md, "Baseline at scale")."""

    target_ous: tuple[Name, ...] = Field(
        min_length=1, description="OU keys; every account there, new ones included, gets the baseline"
    )
    vpc_cidr: Cidr = Field(
        description="every target account's VPC gets this CIDR, /16 to /24 (isolated VPCs never peer)"
    )
    availability_zones: int = Field(default=2, ge=2, le=6, description="how many zones the subnets span")


class LandingZone(Frozen):
    """The organization's structure, in the management account: OUs and their guardrails, the
    accounts' creation or placement, the organization trail, budget alerts, IAM Identity Center."""

    organization_id: Annotated[str, Field(pattern=r"^o-[a-z0-9]{10,32}$")] = Field(
        description="the AWS Organizations organization's id"
    )
    root_id: Annotated[str, Field(pattern=r"^r-[0-9a-z]{4,32}$")] = Field(
        description="the id of the organization's root"
    )
    organizational_units: tuple[OrganizationalUnit, ...] = Field(
        default=DEFAULT_ORGANIZATIONAL_UNITS,
        description="the OUs, at most five levels below the root, without cycles; default: Security and "
        "Infrastructure (`protect-baseline`, `deny-other-regions`), Workloads (those and `ml-workloads`) with "
        "ML-Dev, ML-Test and ML-Prod (`ml-production`) below it, and Sandbox (`protect-baseline`)",
    )
    create_accounts: bool = Field(
        default=False,
        description="create the member accounts (AWS::Organizations::Account, retained on delete): every account "
        "but management then needs `email`",
    )
    move_accounts: bool = Field(
        default=False,
        description="move the existing member accounts into their OUs (stage `<Account>Placement` of the "
        "management account: an account there already is left alone, and deleting it moves nothing back); not "
        "with `create_accounts`. Without either, the accounts are taken to be in their OUs, and the preflight "
        "says so per account",
    )
    deployment_role_patterns: tuple[str, ...] = Field(
        default=("arn:aws:iam::*:role/cdk-hnb659fds-cfn-exec-role-*", "arn:aws:iam::*:role/stacksets-exec-*"),
        min_length=1,
        description="IAM role ARN patterns exempt from the guardrails that protect what the platform deploys "
        "(default: the CDK CloudFormation execution roles and the StackSet execution roles); they must leave "
        "the guardrails within SCPs' 5,120 characters",
    )
    trail: OrganizationTrail = OrganizationTrail()
    budget_alert_emails: tuple[Email, ...] = Field(
        default=(), max_length=10, description="the addresses every budget alerts"
    )
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
    repository: str = Field(pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$", description="`owner/name`")
    branch: str = Field(default="main", min_length=1, max_length=255, description="the branch the pipelines build")
    config_file: str = Field(
        pattern=r"^[A-Za-z0-9_./-]+\.ya?ml$",
        description="this organization's config file in the repository, which the pipelines synthesize; "
        "required, so a copy of the example never deploys the example organization",
    )


class SelfService(Frozen):
    """The Service Catalog portfolio, in the management account, whose products data scientists
    launch without IAM or CloudFormation rights (docs/architecture.md, "Self-service")."""

    share_to: tuple[Name, ...] = Field(
        default=("ml-dev",),
        min_length=1,
        description="keys of the OUs the portfolio is shared to through AWS Organizations, principal names and tag "
        "options included, each once; the data account gets it by account share, for the feature group product",
    )
    notebook_instance_types: tuple[NotebookInstanceType, ...] = Field(
        default=("ml.t3.large", "ml.t3.xlarge"),
        min_length=1,
        description="the only instance types the notebook product's template constraint accepts, each once, each "
        "one of SageMaker's notebook `InstanceType`s; the first is the product's default",
    )
    project_connection_arn: str | None = Field(
        default=None,
        pattern=CONNECTION_ARN,
        description="the CodeConnections connection MLOps projects build from, usable in the ml-dev accounts (share "
        "it with them through AWS RAM); default: `delivery.connection_arn`, which is then required",
    )
    s3_project_templates: bool = Field(
        default=False,
        description="also publish the project template as a SageMaker S3-based project template in each ml-dev "
        "account (bucket with CORS, object tagged `sagemaker:studio-visibility=true`, domain tagged "
        "`sagemaker:projectS3TemplatesLocation`)",
    )


class Studio(Frozen):
    """SageMaker Studio in every ml-dev account."""

    auth_mode: Literal["iam", "sso"] = Field(
        default="iam",
        description="`sso` signs users in through IAM Identity Center (needs `landing_zone.identity_center`; user "
        "names are then Identity Center user names)",
    )
    default_instance_type: StudioInstanceType = Field(
        default="ml.t3.medium", description="JupyterLab's default instance, one of SageMaker's `AppInstanceType`s"
    )
    idle_timeout_minutes: int = Field(
        default=60, ge=60, le=525600, description="JupyterLab shuts down after this idle time"
    )
    max_idle_timeout_minutes: int = Field(
        default=240,
        ge=60,
        le=525600,
        description="users may raise the idle timeout up to this, at least `idle_timeout_minutes`",
    )
    default_volume_gb: int = Field(default=5, ge=5, le=16384, description="a space's storage")
    max_volume_gb: int = Field(
        default=100,
        ge=5,
        le=16384,
        description="users may grow a space's storage up to this, at least `default_volume_gb`",
    )


class OrgConfig(Frozen):
    """The whole organization: the one input of the CDK app."""

    organization: Organization
    landing_zone: LandingZone
    accounts: dict[Name, Account] = Field(
        min_length=1,
        description="the accounts, by their name in the platform: stage ids are built from it (`ml-prod` gives "
        "`MlProdBaseline`), and no two accounts may give the same stage id, even in a different case",
    )
    teams: dict[Name, Team] = Field(default={}, description="the teams, by name")
    studio: Studio = Studio()
    feature_store: FeatureStore | None = None
    models: tuple[Model, ...] = Field(default=(), description="the models the teams build, each name once")
    endpoints: tuple[Endpoint, ...] = Field(
        default=(),
        description="real-time endpoints, each name once; each is served in the ml-test and ml-prod accounts of its "
        "model's team",
    )
    batch_inference: tuple[BatchInference, ...] = Field(
        default=(),
        description="scheduled batch scoring with a model's approved package in the ml-test and ml-prod accounts "
        "of its team: a SageMaker pipeline with one transform job, deployed by the model's deployment "
        'pipeline; production runs it on the schedule (docs/architecture.md, "Batch inference")',
    )
    delivery: Delivery | None = Field(
        default=None,
        description="where the platform's code lives, which the pipelines in the shared-services account build "
        "from; required when there are endpoints or batch jobs",
    )
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
