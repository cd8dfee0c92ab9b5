"""What to watch on a monitored production endpoint, derived from the config.

Shared by the endpoint stack (which creates the schedules and alarms in the production
account) and the registry stack (whose drift function must know which alarms mean which
model's retraining).
"""

from __future__ import annotations

from collections.abc import Sequence

from ml_constructs.model_monitor import (
    DATA_METRICS,
    MODEL_METRICS,
    MODEL_QUALITY_METRICS,
    SCHEDULE_SUFFIXES,
    AlarmSpec,
)
from stacks import naming
from stacks.config import OrgConfig
from stacks.config.models import Endpoint, Model


def schedule_name(organization: str, endpoint: Endpoint, kind: str) -> str:
    """The name of the endpoint's `DataQuality` or `ModelQuality` schedule, a dimension of its metrics."""
    return naming.monitoring_schedule_name(naming.endpoint_name(organization, endpoint.name), SCHEDULE_SUFFIXES[kind])


def alarm_specs(config: OrgConfig, endpoint: Endpoint, model: Model) -> list[AlarmSpec]:
    """The default alarms (feature drift, the model's own metric) and the configured ones."""
    monitoring = endpoint.monitoring
    if monitoring is None:
        return []
    org = config.organization.name
    name = naming.endpoint_name(org, endpoint.name)
    specs = [
        AlarmSpec(
            name=naming.feature_drift_alarm(feature),
            namespace=DATA_METRICS,
            metric=f"feature_baseline_drift_{feature}",
            dimensions={"Endpoint": name, "MonitoringSchedule": schedule_name(org, endpoint, "DataQuality")},
            threshold=monitoring.drift_threshold,
            comparison="above",
        )
        for feature in monitoring.drift_features
        if monitoring.data_quality
    ]
    quality = monitoring.model_quality
    if quality is not None and model.metric.name in MODEL_QUALITY_METRICS[quality.problem_type]:
        specs.append(
            AlarmSpec(
                name=naming.model_quality_alarm(model.metric.name),
                namespace=MODEL_METRICS,
                metric=model.metric.name,
                dimensions={"Endpoint": name, "MonitoringSchedule": schedule_name(org, endpoint, "ModelQuality")},
                threshold=model.metric.threshold,
                comparison="below" if model.metric.direction == "maximize" else "above",
            )
        )
    specs += [
        AlarmSpec(
            name=alarm.name,
            namespace=alarm.namespace,
            metric=alarm.metric,
            dimensions=dict(alarm.dimensions),
            statistic=alarm.statistic,
            threshold=alarm.threshold,
            comparison=alarm.comparison,
            periods=alarm.periods,
            period_minutes=alarm.period_minutes,
            retrain=alarm.retrain,
        )
        for alarm in monitoring.alarms
    ]
    return specs


def drift_alarm_names(config: OrgConfig, endpoint: Endpoint, model: Model) -> list[str]:
    """The alarms whose ALARM starts the model's retraining."""
    name = naming.endpoint_name(config.organization.name, endpoint.name)
    return [naming.monitor_alarm_name(name, spec.name) for spec in alarm_specs(config, endpoint, model) if spec.retrain]


def model_group_record(organization: str, model: Model) -> dict[str, str | float]:
    """What the approval function needs to know of a model's package group."""
    return {
        "model": model.name,
        "metric": model.metric.name,
        "threshold": model.metric.threshold,
        "direction": model.metric.direction,
    }


def drift_alarm_records(config: OrgConfig, models: Sequence[Model]) -> dict[str, dict[str, str | int]]:
    """Each retraining alarm of the endpoints serving `models`, and what the drift function needs."""
    org = config.organization.name
    return {
        name: {
            "model": model.name,
            "endpoint": naming.endpoint_name(org, endpoint.name),
            "pipeline": naming.pipeline_name(org, model.name),
            "cooldown_hours": endpoint.monitoring.retraining_cooldown_hours,
        }
        for model in models
        for endpoint in config.endpoints
        if endpoint.model == model.name and endpoint.monitoring is not None
        for name in drift_alarm_names(config, endpoint, model)
    }
