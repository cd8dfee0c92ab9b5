"""Checks that need the whole organization at once.

Each rule yields `Problem`s instead of raising, so one run reports every problem in the
file. They run only on a config that passed the per-field checks of the models.

The last section, "Derived names", is the one place that checks what the config's names
become: every physical name, stage id, pipeline action and alarm name, computed by
stacks.naming and stacks.deployment_order, against AWS's rule for it and for collisions.
"""

from __future__ import annotations

import ipaddress
import math
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass

from ml_constructs.instance_types import LOCAL_STORAGE_FAMILIES, is_burstable, supports_volume_encryption
from ml_constructs.service_control_policies import limit_violations
from ml_pipelines.contract import METRIC_DIRECTIONS, METRIC_RANGES, TUNABLE_HYPERPARAMETERS, csv_argument
from ml_pipelines.templates import clarify_images, container_images, model_monitor_images
from stacks import naming
from stacks.config import aws_data
from stacks.config.models import (
    TRAIL_ARN,
    BatchInference,
    Endpoint,
    FeatureType,
    Guardrail,
    InferenceApi,
    MetricAlarm,
    Model,
    Monitoring,
    OrgConfig,
    Role,
    Tuning,
)
from stacks.deployment_order import PlannedStage, planned_stages
from stacks.guardrails import guardrail_documents

MAX_CONTAINER_ARGUMENT = 256
"""A processing job's container arguments are at most 256 characters each."""
PRODUCTION_MIN_CAPACITY = 2
"""Production endpoints keep at least two instances so they span availability zones."""

EXACTLY_ONE = (Role.MANAGEMENT, Role.LOG_ARCHIVE, Role.SHARED_SERVICES, Role.DATA)
AT_LEAST_ONE = (Role.ML_DEV, Role.ML_TEST, Role.ML_PROD)
RESERVED_FEATURE_NAMES = frozenset({"is_deleted", "write_time", "api_invocation_time"})
MAX_OU_DEPTH = 5
"""AWS Organizations nests OUs at most five levels below the root."""
MAX_TRANSFORM_PAYLOAD_MB = 100
"""CreateTransformJob: MaxPayloadInMB, and MaxConcurrentTransforms x MaxPayloadInMB, at most 100 MB."""
MAX_ALARM_WINDOW_MINUTES = 7 * 24 * 60
MAX_SHORT_PERIOD_ALARM_WINDOW_MINUTES = 24 * 60
"""PutMetricAlarm: Period x EvaluationPeriods is at most seven days, and at most one day for
periods under an hour (CloudWatch API Reference, PutMetricAlarm, Period)."""

MetricRange = tuple[float, float]
MODEL_MONITOR_METRIC_RANGES: dict[str, dict[str, MetricRange]] = {
    # ml_constructs.model_monitor.DATA_METRICS: a feature's distance from its baseline distribution.
    "aws/sagemaker/Endpoints/data-metrics": {"feature_baseline_drift_": (0.0, 1.0)},
    # ml_constructs.model_monitor.MODEL_METRICS: what the model-quality job computes.
    "aws/sagemaker/Endpoints/model-metrics": {
        **dict.fromkeys(
            (
                *("accuracy", "auc", "f1", "precision", "recall", "true_positive_rate"),
                *("weighted_f1", "weighted_precision", "weighted_recall"),
            ),
            (0.0, 1.0),
        ),
        **dict.fromkeys(("mae", "mse", "rmse"), (0.0, math.inf)),
        "r2": (-math.inf, 1.0),
    },
}
"""Where Model Monitor's metrics can lie, by namespace and metric name (or name prefix)."""


@dataclass(frozen=True, order=True)
class Problem:
    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


def check(config: OrgConfig) -> list[Problem]:
    """Every cross-field problem of the config, sorted by path."""
    problems: list[Problem] = []
    for rule in RULES:
        problems.extend(rule(config))
    return sorted(set(problems))


def warnings(config: OrgConfig) -> list[Problem]:
    """What a valid config should still be told: where the guardrails cannot reach."""
    return list(_unguarded_management_roles(config))


def _unguarded_management_roles(config: OrgConfig) -> Iterator[Problem]:
    """SCPs never apply to the management account (AWS Organizations User Guide, "Service control
    policies": they do not affect users or roles in the management account), so the roles it
    holds besides management run without the guardrails their OU would give them."""
    for name, account in config.accounts.items():
        others = tuple(role for role in account.roles if role is not Role.MANAGEMENT)
        if Role.MANAGEMENT not in account.roles or not others:
            continue
        guardrails = ", ".join(sorted(config.guardrails_of(account.model_copy(update={"roles": others}))))
        unguarded = f"the guardrails ({guardrails})" if guardrails else "no guardrail"
        if len(config.accounts) == 1:
            yield Problem(
                f"accounts.{name}",
                f"a single-account sandbox: every role is the management account's, and SCPs never apply to "
                f"the management account, so {unguarded} its roles would get in their OU protect nothing here. "
                "The platform's own roles, boundaries and key and bucket policies still apply; keep production "
                "data out of it",
            )
        else:
            yield Problem(
                f"accounts.{name}",
                f"holds {', '.join(others)} beside management, and SCPs never apply to the management account: "
                f"{unguarded} their OU would give them do not protect them here; give them member accounts "
                "where that matters",
            )


def _regions(config: OrgConfig) -> Iterator[Problem]:
    allowed = config.organization.allowed_regions
    if config.organization.home_region not in allowed:
        yield Problem("organization.home_region", f"must be one of allowed_regions {list(allowed)}")
    for name, account in config.accounts.items():
        if account.region is not None and account.region not in allowed:
            yield Problem(f"accounts.{name}.region", f"must be one of allowed_regions {list(allowed)}")
    yield from _one_partition(config)


def _one_partition(config: OrgConfig) -> Iterator[Problem]:
    """An organization, its accounts and its roles live in one partition (aws, aws-cn, aws-us-gov, ...)."""
    partitions = aws_data.region_partitions()
    home = config.organization.home_region
    regions = [
        (f"organization.allowed_regions.{index}", region)
        for index, region in enumerate(config.organization.allowed_regions)
    ]
    regions += [
        (f"accounts.{name}.region", account.region) for name, account in config.accounts.items() if account.region
    ]
    regions += [
        (f"endpoints.{index}.recovery_region", endpoint.recovery_region)
        for index, endpoint in enumerate(config.endpoints)
        if endpoint.recovery_region
    ]
    for path, region in regions:
        if partitions[region] != partitions[home]:
            yield Problem(
                path,
                f"{region} is in partition {partitions[region]}, but home_region {home} is in {partitions[home]}: "
                "an organization's accounts are all in one partition",
            )


def _account_ids_and_roles(config: OrgConfig) -> Iterator[Problem]:
    ids = Counter(account.id for account in config.accounts.values())
    for name, account in config.accounts.items():
        if ids[account.id] > 1:
            yield Problem(f"accounts.{name}.id", f"duplicate account id {account.id}")
        if len(set(account.roles)) != len(account.roles):
            yield Problem(f"accounts.{name}.roles", "lists a role twice")
    for role in EXACTLY_ONE:
        holders = [name for name, _ in config.accounts_with(role)]
        if len(holders) != 1:
            yield Problem("accounts", f"exactly one account must have role {role.value}, found {holders}")
    for role in AT_LEAST_ONE:
        if not config.accounts_with(role):
            yield Problem("accounts", f"at least one account must have role {role.value}")


def _networks(config: OrgConfig) -> Iterator[Problem]:
    networks: list[tuple[str, ipaddress.IPv4Network]] = []
    for name, account in config.accounts.items():
        path = f"accounts.{name}.network"
        if account.network is None:
            if account.is_workload:
                yield Problem(path, "required for accounts with a workload role (data, ml-dev, ml-test, ml-prod)")
            continue
        networks.append((name, ipaddress.IPv4Network(account.network.cidr)))
    # CIDR blocks overlap only by containment: in address order, each block can only overlap the
    # one before it that reaches furthest. One pass, for organizations of any size.
    networks.sort(key=lambda named: (named[1].network_address, named[1].prefixlen))
    furthest: tuple[str, ipaddress.IPv4Network] | None = None
    for name, network in networks:
        if furthest is not None and network.network_address <= furthest[1].broadcast_address:
            yield Problem(f"accounts.{name}.network.cidr", f"{network} overlaps accounts.{furthest[0]} ({furthest[1]})")
        if furthest is None or network.broadcast_address > furthest[1].broadcast_address:
            furthest = (name, network)


def _account_reference(config: OrgConfig, path: str, name: str, role: Role) -> Iterator[Problem]:
    account = config.accounts.get(name)
    if account is None:
        yield Problem(path, f"unknown account '{name}'")
    elif role not in account.roles:
        yield Problem(path, f"account '{name}' does not have role {role.value}")


def _teams(config: OrgConfig) -> Iterator[Problem]:
    for team_name, team in config.teams.items():
        path = f"teams.{team_name}"
        yield from _account_reference(config, f"{path}.accounts.dev", team.accounts.dev, Role.ML_DEV)
        yield from _account_reference(config, f"{path}.accounts.test", team.accounts.test, Role.ML_TEST)
        yield from _account_reference(config, f"{path}.accounts.prod", team.accounts.prod, Role.ML_PROD)
        yield from _duplicates(f"{path}.users", (user.name for user in team.users))


def _team_reference(config: OrgConfig, path: str, team: str) -> Iterator[Problem]:
    if team not in config.teams:
        yield Problem(path, f"unknown team '{team}'")


def _model_reference(config: OrgConfig, path: str, model: str) -> Iterator[Problem]:
    if model not in config.team_of_model:
        yield Problem(path, f"unknown model '{model}'")


def _feature_store(config: OrgConfig) -> Iterator[Problem]:
    store = config.feature_store
    if store is None:
        return
    yield from _account_reference(config, "feature_store.account", store.account, Role.DATA)
    if store.offline_expiration_days is not None and (
        store.offline_expiration_days <= store.offline_transition_to_infrequent_access_days
    ):
        yield Problem("feature_store.offline_expiration_days", "must be later than the transition to infrequent access")
    yield from _duplicates("feature_store.feature_groups", (group.name for group in store.feature_groups))
    for index, group in enumerate(store.feature_groups):
        path = f"feature_store.feature_groups.{index}"
        yield from _team_reference(config, f"{path}.team", group.team)
        types = {feature.name: feature.type for feature in group.features}
        yield from _duplicates(f"{path}.features", (feature.name for feature in group.features))
        for feature_index, feature in enumerate(group.features):
            if feature.name.lower() in RESERVED_FEATURE_NAMES:
                yield Problem(f"{path}.features.{feature_index}.name", f"'{feature.name}' is reserved by Feature Store")
        if group.record_identifier not in types:
            yield Problem(f"{path}.record_identifier", f"'{group.record_identifier}' is not one of the features")
        if group.event_time not in types:
            yield Problem(f"{path}.event_time", f"'{group.event_time}' is not one of the features")
        elif types[group.event_time] is FeatureType.INTEGRAL:
            yield Problem(f"{path}.event_time", "must be a String (ISO-8601) or Fractional (epoch seconds) feature")
        if group.online_store.ttl_days is not None and not group.online_store.enabled:
            yield Problem(f"{path}.online_store.ttl_days", "applies only when the online store is enabled")
        if not group.online_store.enabled and not group.offline_store:
            yield Problem(path, "needs an online store, an offline store, or both")


def _models(config: OrgConfig) -> Iterator[Problem]:
    yield from _duplicates("models", (model.name for model in config.models))
    for index, model in enumerate(config.models):
        path = f"models.{index}"
        yield from _team_reference(config, f"{path}.team", model.team)
        better = METRIC_DIRECTIONS.get(model.metric.name)
        if better is None:
            yield Problem(
                f"{path}.metric.name",
                f"the evaluate step reports {', '.join(sorted(METRIC_DIRECTIONS))}, not '{model.metric.name}'",
            )
        elif model.metric.direction != better:
            yield Problem(f"{path}.metric.direction", f"{model.metric.name} is better when it is {better}d")
        else:
            yield from _metric_threshold(f"{path}.metric.threshold", model)
        yield from _job_instance_types(path, model)
        team = config.teams.get(model.team)
        if team is not None and team.accounts.dev in config.accounts:
            region = config.region_of(config.accounts[team.accounts.dev])
            if region not in container_images():
                yield Problem(
                    f"{path}.team", f"no scikit-learn container image in {region}, the region of its ml-dev account"
                )
            if region not in model_monitor_images():
                yield Problem(f"{path}.team", f"no Model Monitor image in {region} for the pipeline's baseline step")
            if model.bias_check is not None and region not in clarify_images():
                yield Problem(f"{path}.bias_check", f"no Clarify image in {region} for the pipeline's bias check")
        if model.bias_check is not None:
            for field in ("facet_values", "label_values"):
                if len(csv_argument(getattr(model.bias_check, field))) > MAX_CONTAINER_ARGUMENT:
                    yield Problem(f"{path}.bias_check.{field}", "too many values: at most 256 characters in all")
        if model.tuning is not None:
            yield from _tuning(f"{path}.tuning", model.tuning)


def _metric_threshold(path: str, model: Model) -> Iterator[Problem]:
    """A threshold the metric cannot reach registers nothing; one it always reaches gates nothing."""
    metric, threshold = model.metric, model.metric.threshold
    lowest, highest = METRIC_RANGES[metric.name]
    reach = f"{metric.name} lies between {lowest:g} and {highest:g}"
    if metric.direction == "maximize" and threshold > highest:
        yield Problem(path, f"{reach}, so no model could reach {threshold:g}")
    elif metric.direction == "maximize" and threshold <= lowest:
        yield Problem(path, f"{reach}, so every model reaches {threshold:g}: give a bar above {lowest:g}")
    elif metric.direction == "minimize" and threshold < lowest:
        yield Problem(path, f"{reach}, so no model could get down to {threshold:g}")
    elif metric.direction == "minimize" and threshold >= highest:
        yield Problem(path, f"{reach}, so every model gets down to {threshold:g}: give a bar below {highest:g}")


def _job_instance_types(path: str, model: Model) -> Iterator[Problem]:
    """The pipeline's jobs encrypt their volumes with the models key, which local-storage types refuse."""
    for field in ("processing_instance_type", "training_instance_type"):
        instance_type = getattr(model, field)
        if not supports_volume_encryption(instance_type):
            yield Problem(
                f"{path}.{field}",
                f"{instance_type} keeps its volume on local instance storage, which takes no KMS key; the "
                "pipeline's jobs encrypt theirs: choose a family without local storage (not "
                f"{', '.join(sorted(LOCAL_STORAGE_FAMILIES))})",
            )
    if model.bias_check is not None and model.processing_instance_type not in aws_data.instance_types(
        aws_data.ENDPOINT
    ):
        yield Problem(
            f"{path}.processing_instance_type",
            f"the bias check's Clarify job serves the candidate from a shadow endpoint on this type, and "
            f"{model.processing_instance_type} is not an endpoint instance type",
        )


def _tuning(path: str, tuning: Tuning) -> Iterator[Problem]:
    if tuning.max_parallel_jobs > tuning.max_jobs:
        yield Problem(f"{path}.max_parallel_jobs", "must be at most max_jobs")
    for name, (lowest, highest) in tuning.ranges.items():
        if name not in TUNABLE_HYPERPARAMETERS:
            yield Problem(f"{path}.ranges.{name}", f"the train step tunes {', '.join(TUNABLE_HYPERPARAMETERS)}")
            continue
        kind = TUNABLE_HYPERPARAMETERS[name][0]
        if not 0 < lowest < highest:
            yield Problem(f"{path}.ranges.{name}", "give a lowest and a higher highest value, both above 0")
        elif kind == "Integer" and not (lowest.is_integer() and highest.is_integer()):
            yield Problem(f"{path}.ranges.{name}", "takes whole numbers")


def _endpoints(config: OrgConfig) -> Iterator[Problem]:
    yield from _duplicates("endpoints", (endpoint.name for endpoint in config.endpoints))
    for index, endpoint in enumerate(config.endpoints):
        path = f"endpoints.{index}"
        yield from _model_reference(config, f"{path}.model", endpoint.model)
        yield from _serverless_or_variants(config, path, endpoint)
        yield from _multi_model(path, endpoint)
        if endpoint.recovery_region is not None:
            yield from _recovery(config, path, endpoint, endpoint.recovery_region)
        yield from _api_failover(path, endpoint)
        if endpoint.api is not None:
            yield from _inference_api(config, path, endpoint.api)
        yield from _duplicates(
            f"{path}.variants",
            [variant.name for variant in endpoint.variants] + ([endpoint.shadow.name] if endpoint.shadow else []),
        )
        if endpoint.variants and sum(variant.weight for variant in endpoint.variants) <= 0:
            yield Problem(f"{path}.variants", "weights must add up to more than 0")
        if endpoint.shadow is not None and len(endpoint.variants) != 1:
            yield Problem(f"{path}.shadow", "a shadow variant shadows exactly one production variant")
        if endpoint.monitoring is not None:
            yield from _monitoring(config, path, endpoint, endpoint.monitoring)
        elif endpoint.multi_model is None and endpoint.serverless is None:
            # The SageMaker pack's ProductionMonitoring gate, said before synth with the key's path.
            yield Problem(
                f"{path}.monitoring",
                "required: every endpoint is promoted to production, where Model Monitor watches it "
                "(at least `monitoring: {data_quality: true}`); only multi-model and serverless endpoints, "
                "which Model Monitor does not support, go without",
            )
        if endpoint.working_hours.start_hour >= endpoint.working_hours.end_hour:
            yield Problem(f"{path}.working_hours.end_hour", "must be after start_hour")
        for variant_index, variant in enumerate(endpoint.variants):
            variant_path = f"{path}.variants.{variant_index}"
            # Every endpoint is promoted to a production account, so the floor always applies.
            if variant.min_capacity < PRODUCTION_MIN_CAPACITY:
                yield Problem(
                    f"{variant_path}.min_capacity",
                    f"production endpoints need at least {PRODUCTION_MIN_CAPACITY} instances to span AZs",
                )
            if variant.max_capacity < variant.min_capacity:
                yield Problem(f"{variant_path}.max_capacity", "must be at least min_capacity")
            if variant.max_capacity > variant.min_capacity and is_burstable(variant.instance_type):
                yield Problem(
                    f"{variant_path}.instance_type",
                    f"burstable {variant.instance_type} cannot be autoscaled: its CPU credits make "
                    "invocations per instance a misleading scaling signal",
                )


def _serverless_or_variants(config: OrgConfig, path: str, endpoint: Endpoint) -> Iterator[Problem]:
    if bool(endpoint.variants) == (endpoint.serverless is not None):
        yield Problem(f"{path}.variants", "give either instance variants or serverless, not both or neither")
    guarded = [
        name
        for name in config.serving_accounts_of(endpoint)
        if Guardrail.ML_WORKLOADS in config.guardrails_of(config.accounts[name])
    ]
    instances = [(f"{path}.variants.{index}", variant.instance_type) for index, variant in enumerate(endpoint.variants)]
    if endpoint.shadow is not None:
        instances.append((f"{path}.shadow", endpoint.shadow.instance_type))
    for instance_path, instance_type in instances:
        if guarded and not supports_volume_encryption(instance_type):
            yield Problem(
                f"{instance_path}.instance_type",
                f"{instance_type} keeps its volume on local instance storage, which takes no KMS key; "
                f"the ml-workloads guardrail on {', '.join(guarded)} requires one",
            )
    if endpoint.serverless is None:
        return
    serverless = endpoint.serverless
    if (
        serverless.provisioned_concurrency is not None
        and serverless.provisioned_concurrency > serverless.max_concurrency
    ):
        yield Problem(
            f"{path}.serverless.provisioned_concurrency",
            f"must be at most max_concurrency ({serverless.max_concurrency}): SageMaker cannot keep more "
            "concurrency warm than the endpoint may use",
        )
    if guarded:
        yield Problem(
            f"{path}.serverless",
            "serverless endpoints run outside the VPC and without network isolation, which the ml-workloads "
            f"guardrail on {', '.join(guarded)} denies; serve from accounts in OUs without it, or use instances",
        )
    # What SageMaker supports on serverless endpoints.
    if endpoint.monitoring is not None:
        yield Problem(f"{path}.monitoring", "serverless endpoints capture no data for Model Monitor")
    if endpoint.shadow is not None:
        yield Problem(f"{path}.shadow", "serverless endpoints have no shadow variants")
    if endpoint.deployment.strategy != "all-at-once":
        yield Problem(f"{path}.deployment.strategy", "serverless endpoints shift traffic all at once")


def _recovery(config: OrgConfig, path: str, endpoint: Endpoint, region: str) -> Iterator[Problem]:
    """What a standby copy of a production endpoint in a second region needs."""
    path = f"{path}.recovery_region"
    if region not in config.organization.allowed_regions:
        yield Problem(path, f"{region} is not one of organization.allowed_regions")
    if region not in container_images():
        yield Problem(path, f"no scikit-learn serving image in {region}")
    for name in config.serving_accounts_of(endpoint):
        account = config.accounts[name]
        if account.is_production and config.region_of(account) == region:
            yield Problem(path, f"{region} is already the region of {name}: recovery needs another")
    if endpoint.multi_model is not None:
        yield Problem(path, "recovery copies one approved package: a multi-model endpoint's prefix is not copied")
    if endpoint.has_challenger:
        yield Problem(
            path,
            "recovery copies one approved package: an endpoint with a challenger (a second variant or a shadow) "
            "serves two",
        )


def _multi_model(path: str, endpoint: Endpoint) -> Iterator[Problem]:
    """What SageMaker does not support on multi-model endpoints, and what their smoke test cannot do."""
    if endpoint.multi_model is None:
        return
    models_uri = endpoint.multi_model.models_uri
    if models_uri is not None and not models_uri.endswith("/"):
        yield Problem(f"{path}.multi_model.models_uri", "must be a prefix ending in /")
    if endpoint.serverless is not None:
        yield Problem(f"{path}.serverless", "multi-model endpoints run on instances, not serverless")
    if endpoint.shadow is not None:
        yield Problem(f"{path}.shadow", "multi-model endpoints have no shadow variants")
    if endpoint.monitoring is not None:
        yield Problem(f"{path}.monitoring", "Model Monitor supports only endpoints that host a single model")
    if endpoint.smoke_test is not None:
        yield Problem(
            f"{path}.smoke_test",
            "a multi-model endpoint serves the archives its team publishes, not the package the deployment "
            "brings, so the deployment checks only that it is in service: an archive it invoked would be one "
            "nothing in the deployment produces, and its absence would block the package",
        )


def _inference_api(config: OrgConfig, path: str, api: InferenceApi) -> Iterator[Problem]:
    path = f"{path}.api"
    if (api.authorization == "cognito") != (api.cognito_user_pool_arn is not None):
        yield Problem(f"{path}.cognito_user_pool_arn", "required with cognito authorization, and only then")
    if api.caller_accounts and api.authorization != "iam":
        yield Problem(f"{path}.caller_accounts", "only IAM authorization admits other accounts")
    outside = sorted(set(api.caller_accounts) - set(config.account_ids()))
    if outside:
        yield Problem(f"{path}.caller_accounts", f"not accounts of this organization: {outside}")
    if api.quota_per_day is not None and not api.api_keys:
        yield Problem(f"{path}.quota_per_day", "quotas are counted per API key: set api_keys")
    if api.burst_limit < api.rate_limit_rps:
        yield Problem(f"{path}.burst_limit", "must be at least rate_limit_rps")
    domain = api.custom_domain
    if domain is not None and not domain.name.endswith(f".{domain.hosted_zone_name}"):
        yield Problem(f"{path}.custom_domain.name", f"must be a name in the zone {domain.hosted_zone_name}")


def _api_failover(path: str, endpoint: Endpoint) -> Iterator[Problem]:
    """An API in front of a standby fails over by DNS, which needs a name and region-free calls."""
    if endpoint.api is None or endpoint.recovery_region is None:
        return
    if endpoint.api.custom_domain is None:
        yield Problem(f"{path}.api.custom_domain", "required with recovery_region: clients fail over through DNS")
    if endpoint.api.authorization == "iam":
        yield Problem(
            f"{path}.api.authorization",
            "SigV4 signs for one region, so a call DNS sends to the recovery region is refused: use cognito "
            "with recovery_region",
        )


def _monitoring(config: OrgConfig, path: str, endpoint: Endpoint, monitoring: Monitoring) -> Iterator[Problem]:
    if endpoint.data_capture.sampling_percent == 0:
        yield Problem(f"{path}.data_capture.sampling_percent", "Model Monitor needs captured data: above 0")
    for name in config.serving_accounts_of(endpoint):
        region = config.region_of(config.accounts[name])
        if config.accounts[name].is_production and region not in model_monitor_images():
            yield Problem(f"{path}.monitoring", f"no Model Monitor image in {region}, the region of {name}")
        uses_clarify = monitoring.bias is not None or monitoring.feature_attribution is not None
        if config.accounts[name].is_production and uses_clarify and region not in clarify_images():
            yield Problem(f"{path}.monitoring", f"no Clarify image in {region}, the region of {name}")
    yield from _duplicates(f"{path}.monitoring.alarms", (alarm.name for alarm in monitoring.alarms))
    # A Clarify monitor reads the analysis config and constraints the deployed package
    # registers; only the pipeline of a model with a bias check writes and registers them.
    model = next((model for model in config.models if model.name == endpoint.model), None)
    if model is not None and model.bias_check is None:
        for monitor in ("bias", "feature_attribution"):
            if getattr(monitoring, monitor) is not None:
                yield Problem(
                    f"{path}.monitoring.{monitor}",
                    f"needs models[].bias_check of {model.name}: its pipeline writes and registers with each "
                    "package the analysis config and constraints this monitor reads",
                )
    for index, alarm in enumerate(monitoring.alarms):
        yield from _alarm(f"{path}.monitoring.alarms.{index}", alarm)


def _alarm(path: str, alarm: MetricAlarm) -> Iterator[Problem]:
    window = alarm.periods * alarm.period_minutes
    limit, span = (
        (MAX_ALARM_WINDOW_MINUTES, "seven days")
        if alarm.period_minutes >= 60
        else (MAX_SHORT_PERIOD_ALARM_WINDOW_MINUTES, "a day, with periods under an hour")
    )
    if window > limit:
        yield Problem(
            f"{path}.periods",
            f"periods x period_minutes is {window} minutes; CloudWatch evaluates an alarm over at most "
            f"{limit} minutes ({span})",
        )
    reach = _metric_range(alarm)
    if reach is None:
        return
    lowest, highest = reach
    threshold = alarm.threshold
    never, always = {
        "above": (threshold >= highest, threshold < lowest),
        "at-or-above": (threshold > highest, threshold <= lowest),
        "below": (threshold <= lowest, threshold > highest),
        "at-or-below": (threshold < lowest, threshold >= highest),
    }[alarm.comparison]
    where = f"{alarm.metric} ({alarm.statistic}) lies between {lowest:g} and {highest:g}"
    if never:
        yield Problem(f"{path}.threshold", f"{where}, so '{alarm.comparison} {threshold:g}' can never trigger")
    elif always:
        yield Problem(
            f"{path}.threshold",
            f"{where}, so '{alarm.comparison} {threshold:g}' always holds: the alarm would never leave ALARM",
        )


def _metric_range(alarm: MetricAlarm) -> MetricRange | None:
    """Where the alarm's statistic can lie, where that is known: counts are never negative, and
    Model Monitor's metrics have fixed ranges."""
    if alarm.statistic == "SampleCount":
        return (0.0, math.inf)
    for metric, reach in MODEL_MONITOR_METRIC_RANGES.get(alarm.namespace, {}).items():
        if alarm.metric == metric or (metric.endswith("_") and alarm.metric.startswith(metric)):
            return reach
    return None


def _batch_inference(config: OrgConfig) -> Iterator[Problem]:
    yield from _duplicates("batch_inference", (job.name for job in config.batch_inference))
    for index, job in enumerate(config.batch_inference):
        path = f"batch_inference.{index}"
        yield from _model_reference(config, f"{path}.model", job.model)
        yield from _locations(path, job)
        if not supports_volume_encryption(job.instance_type):
            yield Problem(
                f"{path}.instance_type",
                f"{job.instance_type} has instance storage, which a transform job's KMS key cannot encrypt",
            )
        if job.split_type == "None" and job.batch_strategy == "MultiRecord":
            yield Problem(
                f"{path}.batch_strategy", "whole files (split_type None) are sent one at a time: SingleRecord"
            )
        if job.max_payload_mb * job.max_concurrent_transforms > MAX_TRANSFORM_PAYLOAD_MB:
            yield Problem(
                f"{path}.max_concurrent_transforms",
                f"max_concurrent_transforms x max_payload_mb is "
                f"{job.max_payload_mb * job.max_concurrent_transforms} MB; SageMaker allows at most "
                f"{MAX_TRANSFORM_PAYLOAD_MB} MB in flight per instance",
            )


def _locations(path: str, job: BatchInference) -> Iterator[Problem]:
    for field, uri in (("input_uri", job.input_uri), ("output_uri", job.output_uri)):
        if uri is not None and not uri.endswith("/"):
            yield Problem(f"{path}.{field}", "must be a prefix ending in /")
    if (
        job.input_uri
        and job.output_uri
        and (job.output_uri.startswith(job.input_uri) or job.input_uri.startswith(job.output_uri))
    ):
        yield Problem(f"{path}.output_uri", "must not overlap input_uri: the next run would score the results")


def _delivery(config: OrgConfig) -> Iterator[Problem]:
    if (config.endpoints or config.batch_inference) and config.delivery is None:
        yield Problem(
            "delivery", "required: endpoints and batch jobs are deployed by pipelines that build from this repository"
        )


def _self_service(config: OrgConfig) -> Iterator[Problem]:
    catalog = config.self_service
    if catalog is None:
        return
    units = {unit.key for unit in config.landing_zone.organizational_units}
    yield from _duplicates("self_service.share_to", catalog.share_to)
    for index, key in enumerate(catalog.share_to):
        if key not in units:
            yield Problem(f"self_service.share_to.{index}", f"unknown organizational unit '{key}'")
    yield from _duplicates("self_service.notebook_instance_types", catalog.notebook_instance_types)
    if catalog.project_connection_arn is None and config.delivery is None:
        yield Problem("self_service.project_connection_arn", "required when there is no delivery.connection_arn")


def _organizational_units(config: OrgConfig) -> Iterator[Problem]:
    units = config.landing_zone.organizational_units
    path = "landing_zone.organizational_units"
    yield from _duplicates(path, (unit.key for unit in units))
    yield from _adopted_units(config)
    parents = {unit.key: unit.parent for unit in units}
    for index, unit in enumerate(units):
        yield from _duplicates(f"{path}.{index}.guardrails", (str(guardrail) for guardrail in unit.guardrails))
        if unit.parent is not None and unit.parent not in parents:
            yield Problem(f"{path}.{index}.parent", f"unknown organizational unit '{unit.parent}'")
            continue
        chain = [unit.key]
        parent = unit.parent
        while parent is not None and parent in parents:
            if parent in chain:
                yield Problem(f"{path}.{index}.parent", f"cycle: {' -> '.join([*chain, parent])}")
                break
            chain.append(parent)
            parent = parents[parent]
        else:
            if len(chain) > MAX_OU_DEPTH:
                yield Problem(f"{path}.{index}", f"nested {len(chain)} levels deep, over the limit of {MAX_OU_DEPTH}")
    for name, account in config.accounts.items():
        if Role.MANAGEMENT in account.roles and account.ou is not None:
            yield Problem(
                f"accounts.{name}.ou",
                "the management account stays at the organization's root: AWS Organizations cannot move it "
                "into an OU, and no SCP ever applies to it",
            )
        ou = config.ou_of(account)
        if ou is not None and ou not in parents:
            where = "ou" if account.ou is not None else "roles"
            yield Problem(
                f"accounts.{name}.{where}",
                f"organizational unit '{ou}' is not in landing_zone.organizational_units"
                + ("" if account.ou is not None else " (set accounts.<name>.ou)"),
            )
    stackset = config.landing_zone.baseline_stackset
    if stackset is not None:
        for index, ou in enumerate(stackset.target_ous):
            if ou not in parents:
                yield Problem(
                    f"landing_zone.baseline_stackset.target_ous.{index}", f"unknown organizational unit '{ou}'"
                )


def _adopted_units(config: OrgConfig) -> Iterator[Problem]:
    """OUs that exist already are adopted by id, where they are, with the SCPs they have."""
    units = config.landing_zone.organizational_units
    path = "landing_zone.organizational_units"
    yield from _duplicates(path, (unit.id for unit in units if unit.id is not None))
    for index, unit in enumerate(units):
        if unit.id is not None and unit.parent is not None:
            yield Problem(
                f"{path}.{index}.parent",
                "an adopted OU (one with an id) keeps the parent it has in AWS Organizations: remove parent",
            )
        if unit.id is None and unit.attached_policies is not None:
            yield Problem(
                f"{path}.{index}.attached_policies",
                "counts the SCPs an existing OU already has: give the OU's id to adopt it, or remove "
                "attached_policies (a new OU has FullAWSAccess alone)",
            )


def _guardrail_limits(config: OrgConfig) -> Iterator[Problem]:
    documents = guardrail_documents(config)
    units = config.landing_zone.organizational_units
    attachments = {unit.key: [str(g) for g in unit.guardrails] for unit in units}
    others = {unit.key: unit.other_policies for unit in units}
    for subject, message in limit_violations({str(k): v for k, v in documents.items()}, attachments, others):
        if subject in attachments:
            index = next(i for i, u in enumerate(config.landing_zone.organizational_units) if u.key == subject)
            yield Problem(f"landing_zone.organizational_units.{index}.guardrails", message)
        else:
            # Only the exempt role list and the region list make a generated document grow.
            yield Problem(
                "landing_zone.deployment_role_patterns",
                f"guardrail {subject}: {message}; use fewer or shorter role patterns or regions",
            )


def _account_creation(config: OrgConfig) -> Iterator[Problem]:
    if not config.landing_zone.create_accounts:
        return
    if config.landing_zone.move_accounts:
        yield Problem(
            "landing_zone.move_accounts",
            "the accounts the landing zone creates (create_accounts) are created in their OUs: set one of the two",
        )
    management = {name for name, _ in config.accounts_with(Role.MANAGEMENT)}
    emails = Counter(account.email for account in config.accounts.values() if account.email)
    for name, account in config.accounts.items():
        if name in management:
            continue
        if account.email is None:
            yield Problem(f"accounts.{name}.email", "required when landing_zone.create_accounts is true")
        elif emails[account.email] > 1:
            yield Problem(f"accounts.{name}.email", f"duplicate email {account.email}")


def _trail(config: OrgConfig) -> Iterator[Problem]:
    trail = config.landing_zone.trail
    if trail.existing_arn is not None:
        yield from _adopted_trail(config, trail.existing_arn)
        # The retention keys describe the archive of the trail the platform creates.
        for field in sorted(trail.model_fields_set - {"existing_arn"}):
            yield Problem(
                f"landing_zone.trail.{field}",
                "describes the archive of the trail the platform creates; an adopted trail keeps its own: remove it",
            )
    elif trail.expire_after_days <= max(trail.retention_days, trail.archive_after_days):
        yield Problem(
            "landing_zone.trail.expire_after_days", "must be later than retention_days and archive_after_days"
        )


def _adopted_trail(config: OrgConfig, arn: str) -> Iterator[Problem]:
    match = re.match(TRAIL_ARN, arn)
    assert match is not None, "the model checked the pattern"
    partition, region, account, _ = match.groups()
    path = "landing_zone.trail.existing_arn"
    _, management = config.account_with(Role.MANAGEMENT)
    if account != management.id:
        yield Problem(
            path,
            f"names account {account}; an organization trail belongs to the management account {management.id}, "
            "even when a delegated administrator created it",
        )
    partitions = aws_data.region_partitions()
    home = partitions[config.organization.home_region]
    if region not in partitions:
        yield Problem(path, f"'{region}' is not a region in {aws_data.BOTOCORE}'s endpoint data")
    elif partitions[region] != home or partition != home:
        yield Problem(path, f"is not in partition {home}, the home region's: an organization lives in one partition")


def _studio(config: OrgConfig) -> Iterator[Problem]:
    studio = config.studio
    if studio.auth_mode == "sso" and config.landing_zone.identity_center is None:
        yield Problem("studio.auth_mode", "sso needs landing_zone.identity_center")
    if studio.max_idle_timeout_minutes < studio.idle_timeout_minutes:
        yield Problem("studio.max_idle_timeout_minutes", "must be at least idle_timeout_minutes")
    if studio.max_volume_gb < studio.default_volume_gb:
        yield Problem("studio.max_volume_gb", "must be at least default_volume_gb")


def _duplicates(path: str, names: Iterable[str]) -> Iterator[Problem]:
    for name, count in Counter(names).items():
        if count > 1:
            yield Problem(path, f"duplicate name '{name}'")


# Derived names ----------------------------------------------------------------------------
# What the config's names become once the platform derives its names from them, each computed
# by stacks.naming or stacks.deployment_order (never re-derived here) and checked against
# AWS's rule for that kind of name, and against the other names it must not equal.


def _name(path: str, name: str, rule: naming.NameRule) -> Iterator[Problem]:
    violation = rule.violation(name)
    if violation is not None:
        yield Problem(path, violation)


def _derived_names(config: OrgConfig) -> Iterator[Problem]:
    stages = planned_stages(config)
    yield from _bucket_names(config, stages)
    yield from _resource_names(config)
    yield from _studio_names(config)
    yield from _stage_ids(config, stages)
    yield from _deployed_names(config)
    yield from _alarm_names(config)
    yield from _pipeline_actions(config)


def _bucket_names(config: OrgConfig, stages: list[PlannedStage]) -> Iterator[Problem]:
    """Every bucket purpose in every region each account deploys to; conservative, since not every
    account has every bucket, but one rule for all keeps the longest name in view."""
    org = config.organization.name
    regions: dict[str, set[str]] = {}
    for stage in stages:
        account = config.accounts[stage.account_name]
        regions.setdefault(stage.account_name, set()).add(stage.recovery_region or config.region_of(account))
    # Characters, prefixes and suffixes come from the organization's name: one bucket shows them.
    first = next(iter(config.accounts.values()))
    sample = naming.bucket_name(org, naming.BUCKET_PURPOSES[0], first.id, config.region_of(first))
    violation = naming.BUCKET.violation(sample)
    if violation is not None and len(sample) <= naming.BUCKET.max_length:
        yield Problem("organization.name", violation)
    for name, account_regions in regions.items():
        account = config.accounts[name]
        buckets = [
            naming.bucket_name(org, purpose, account.id, region)
            for region in sorted(account_regions)
            for purpose in naming.BUCKET_PURPOSES
        ]
        longest = max(buckets, key=len)
        if len(longest) > naming.BUCKET.max_length:
            yield from _name(f"accounts.{name}", longest, naming.BUCKET)


def _resource_names(config: OrgConfig) -> Iterator[Problem]:
    """SageMaker, pipeline, role and function names built from the config's names."""
    org = config.organization.name
    for role in (
        naming.MODEL_EXECUTION_ROLE,
        naming.SMOKE_TEST_ROLE,
        naming.SMOKE_TEST_LOCAL_ROLE,
        naming.MODEL_MONITOR_ROLE,
        naming.BATCH_PIPELINE_ROLE,
    ):
        yield from _name("organization.name", naming.role_name(org, role), naming.IAM_ROLE)
    yield from _name("organization.name", naming.role_name(org, naming.SMOKE_TEST_ROLE), naming.LAMBDA_FUNCTION)
    if config.feature_store is not None:
        for index, group in enumerate(config.feature_store.feature_groups):
            yield from _name(
                f"feature_store.feature_groups.{index}.name",
                naming.feature_group_name(org, group.name),
                naming.FEATURE_GROUP,
            )
    for index, model in enumerate(config.models):
        path = f"models.{index}.name"
        yield from _name(path, naming.model_package_group_name(org, model.name), naming.MODEL_PACKAGE_GROUP)
        yield from _name(path, naming.pipeline_name(org, model.name), naming.PIPELINE)
        yield from _name(path, naming.deployment_pipeline_name(org, model.name), naming.CODEPIPELINE)
    for index, endpoint in enumerate(config.endpoints):
        # Each deployment's name (a test deployment's may be qualified: naming.deployed_name).
        for deployed in dict.fromkeys(p.deployed_name(endpoint.name) for p in config.placements_of(endpoint)):
            yield from _name(f"endpoints.{index}.name", naming.endpoint_name(org, deployed), naming.ENDPOINT)
        # Only production deployments are monitored, and they keep the endpoint's own name.
        for suffix in _monitoring_schedules(endpoint.monitoring):
            schedule = naming.monitoring_schedule_name(naming.endpoint_name(org, endpoint.name), suffix)
            yield from _name(f"endpoints.{index}.name", schedule, naming.MONITORING_SCHEDULE)
    for index, job in enumerate(config.batch_inference):
        for deployed in dict.fromkeys(p.deployed_name(job.name) for p in config.placements_of(job)):
            pipeline = naming.batch_pipeline_name(org, deployed)
            yield from _name(f"batch_inference.{index}.name", pipeline, naming.PIPELINE)


def _deployed_names(config: OrgConfig) -> Iterator[Problem]:
    """An account's deployments of endpoints, and of batch jobs, need distinct names: their stacks
    and resources are named after them. A team that tests in its production account deploys
    `<name>-test` there beside `<name>` (naming.deployed_name), which another endpoint or job
    of that name would meet."""
    deployed_items: tuple[tuple[str, tuple[Endpoint | BatchInference, ...]], ...] = (
        ("endpoints", config.endpoints),
        ("batch_inference", config.batch_inference),
    )
    for kind, items in deployed_items:
        first_of: dict[tuple[str, str], str] = {}
        for index, item in enumerate(items):
            for placement in config.placements_of(item):
                deployed = placement.deployed_name(item.name)
                first = first_of.setdefault((placement.account, deployed), f"{kind}.{index}")
                if first != f"{kind}.{index}":
                    yield Problem(
                        f"{kind}.{index}.name",
                        f"deploys as {deployed} in account {placement.account}, as {first} does too (a team that "
                        f"tests in its production account deploys its test copy there as <name>-"
                        f"{naming.TEST_QUALIFIER}): rename one",
                    )


def _studio_names(config: OrgConfig) -> Iterator[Problem]:
    """Every user's profile and private space, and each team's shared space, in the Studio domain
    of the team's ml-dev account, where teams share one namespace: team `a-b`'s user `c` and team
    `a`'s user `b-c` are both `a-b-c`."""
    maker_in: dict[tuple[str, str], str] = {}
    for team_name, team in config.teams.items():
        spaces = [
            (f"teams.{team_name}.users.{index}.name", naming.user_profile_name(team_name, user.name))
            for index, user in enumerate(team.users)
        ]
        for path, profile in spaces:
            yield from _name(path, profile, naming.STUDIO_USER_PROFILE)
        if team.shared_space:
            spaces.append((f"teams.{team_name}.shared_space", naming.shared_space_name(team_name)))
            yield from _name(spaces[-1][0], spaces[-1][1], naming.STUDIO_SPACE)
        for path, space in spaces:
            first = maker_in.setdefault((team.accounts.dev, space), path)
            if first != path:
                yield Problem(
                    path,
                    f"makes the Studio space {space} in account {team.accounts.dev}, which {first} makes too: "
                    "rename one",
                )


def _monitoring_schedules(monitoring: Monitoring | None) -> list[str]:
    """The suffixes of the Model Monitor schedules an endpoint's monitoring gets."""
    if monitoring is None:
        return []
    data, quality, bias, attribution = naming.MONITORING_SCHEDULE_SUFFIXES
    wanted = (
        (data, monitoring.data_quality),
        (quality, monitoring.model_quality is not None),
        (bias, monitoring.bias is not None),
        (attribution, monitoring.feature_attribution is not None),
    )
    return [suffix for suffix, enabled in wanted if enabled]


def _stage_ids(config: OrgConfig, stages: list[PlannedStage]) -> Iterator[Problem]:
    """Stage ids join an account name's words, capitalized (`ml-prod` -> `MlProd...`), so different
    names can meet; and cdk.out holds a folder per stage, one folder on a case-insensitive file
    system (macOS, Windows) for ids that differ only in case."""
    order = {name: index for index, name in enumerate(config.accounts)}
    stages_of: dict[str, list[PlannedStage]] = {}
    for stage in stages:
        stages_of.setdefault(stage.stage_id.lower(), []).append(stage)
    reported: set[str] = set()
    for same in stages_of.values():
        first, *others = sorted(same, key=lambda stage: order[stage.account_name])
        for other in others:
            if other.account_name == first.account_name or other.account_name in reported:
                continue
            reported.add(other.account_name)
            how = "is also" if other.stage_id == first.stage_id else f"differs only in case from {first.stage_id},"
            yield Problem(
                f"accounts.{other.account_name}",
                f"its stage id {other.stage_id} {how} a stage of accounts.{first.account_name}; stage ids join "
                "the name's words capitalized: rename one of the two accounts",
            )


def _alarm_names(config: OrgConfig) -> Iterator[Problem]:
    """The alarms of every monitored endpoint: their construct ids (`Alarm-<name>`) are unique per
    endpoint, and their names across the organization, since the registry's drift records are
    keyed by alarm name."""
    org = config.organization.name
    metrics = {model.name: model.metric.name for model in reversed(config.models)}
    maker_of: dict[str, str] = {}
    for index, endpoint in enumerate(config.endpoints):
        monitoring = endpoint.monitoring
        if monitoring is None:
            continue
        path = f"endpoints.{index}.monitoring"
        # (where the alarm comes from, how a message names that, the alarm); the composite first,
        # so that a configured alarm of the same name is the one reported.
        alarms = [(path, f"{path} (the composite of its drift alarms)", naming.DRIFT_COMPOSITE_ALARM)]
        if monitoring.data_quality:
            alarms += [
                (f"{path}.drift_features.{i}", f"{path}.drift_features.{i}", naming.feature_drift_alarm(feature))
                for i, feature in enumerate(monitoring.drift_features)
            ]
        if monitoring.model_quality is not None and endpoint.model in metrics:
            quality = naming.model_quality_alarm(metrics[endpoint.model])
            alarms.append((f"{path}.model_quality", f"{path}.model_quality", quality))
        alarms += [
            (f"{path}.alarms.{i}.name", f"{path}.alarms.{i}", alarm.name) for i, alarm in enumerate(monitoring.alarms)
        ]
        endpoint_name = naming.endpoint_name(org, endpoint.name)
        for alarm_path, maker, alarm in alarms:
            full_name = naming.monitor_alarm_name(endpoint_name, alarm)
            yield from _name(alarm_path, full_name, naming.ALARM)
            first = maker_of.setdefault(full_name, maker)
            if first != maker:
                yield Problem(
                    alarm_path,
                    f"makes the alarm {full_name}, which {first} makes too: the drift function and CloudWatch "
                    "tell alarms apart by name; rename one",
                )


def _pipeline_actions(config: OrgConfig) -> Iterator[Problem]:
    """A model's deployment pipeline has an action per endpoint, standby and batch job; CodePipeline
    needs their names distinct."""
    actions_of: dict[str, list[tuple[str, str]]] = {}
    for index, endpoint in enumerate(config.endpoints):
        actions = actions_of.setdefault(endpoint.model, [])
        actions += [
            (f"endpoints.{index}.name", naming.deploy_action_name(endpoint.name)),
            (f"endpoints.{index}.name", naming.smoke_test_action_name(endpoint.name)),
        ]
        if endpoint.recovery_region is not None:
            actions.append((f"endpoints.{index}.recovery_region", naming.deploy_recovery_action_name(endpoint.name)))
    for index, job in enumerate(config.batch_inference):
        actions_of.setdefault(job.model, []).append(
            (f"batch_inference.{index}.name", naming.deploy_batch_action_name(job.name))
        )
    for model, actions in actions_of.items():
        owner_of: dict[str, str] = {}
        for path, action in actions:
            yield from _name(path, action, naming.CODEPIPELINE_ACTION)
            first = owner_of.setdefault(action, path)
            if first != path:
                yield Problem(
                    path,
                    f"makes the action {action} in model {model}'s deployment pipeline, which {first} makes too: "
                    "CodePipeline needs distinct action names; rename one",
                )


RULES: tuple[Callable[[OrgConfig], Iterable[Problem]], ...] = (
    _regions,
    _account_ids_and_roles,
    _networks,
    _teams,
    _feature_store,
    _models,
    _endpoints,
    _batch_inference,
    _delivery,
    _self_service,
    _organizational_units,
    _guardrail_limits,
    _account_creation,
    _trail,
    _studio,
    _derived_names,
)
