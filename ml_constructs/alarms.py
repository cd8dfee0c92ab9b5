"""An alarm that notifies a topic: the one shape of every alarm the platform's constructs raise."""

from __future__ import annotations

from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_sns as sns
from constructs import Construct


def notifying_alarm(
    scope: Construct,
    construct_id: str,
    *,
    topic: sns.ITopic,
    description: str,
    metric: cloudwatch.IMetric,
    threshold: float,
    comparison: cloudwatch.ComparisonOperator = cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    periods: int,
    datapoints: int,
    missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
) -> cloudwatch.Alarm:
    """Alarms after `datapoints` of the last `periods` breach; missing data does not breach unless told."""
    alarm = cloudwatch.Alarm(
        scope,
        construct_id,
        alarm_description=description,
        metric=metric,
        threshold=threshold,
        comparison_operator=comparison,
        evaluation_periods=periods,
        datapoints_to_alarm=datapoints,
        treat_missing_data=missing,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
    return alarm
