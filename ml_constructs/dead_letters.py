"""Dead-letter queues that someone hears about: KMS-encrypted, TLS-only, and alarmed.

Whatever delivers work asynchronously (Lambda, EventBridge, Scheduler) sends what it could
not deliver here, and the alarm tells the account's alerts topic.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sqs as sqs
from constructs import Construct


def alarmed_dead_letter_queue(
    scope: Construct, *, key: kms.IKey, alarm_topic: sns.ITopic, description: str
) -> sqs.Queue:
    """A `DeadLetterQueue` in `scope`, with a `DeadLettersAlarm` on any message waiting in it."""
    queue = sqs.Queue(
        scope,
        "DeadLetterQueue",
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=key,
        enforce_ssl=True,
        retention_period=cdk.Duration.days(14),
        # Marks the queue as a dead-letter queue (how AWS Control Tower's CT.SQS.PR.1 tells one
        # from a queue that needs its own); allowAll is SQS's default, so nothing is widened.
        redrive_allow_policy=sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.ALLOW_ALL),
    )
    alarm = cloudwatch.Alarm(
        scope,
        "DeadLettersAlarm",
        alarm_description=f"{description} are waiting in a dead-letter queue",
        metric=queue.metric_approximate_number_of_messages_visible(period=cdk.Duration.minutes(5), statistic="Maximum"),
        threshold=0,
        comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluation_periods=1,
        treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
    )
    alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))
    return queue
