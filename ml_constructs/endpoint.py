"""A SageMaker endpoint serving one model package, or many models of one framework, with the
guardrails production needs.

What no public CDK library offers in one piece:
- a model from a model package ARN given at deploy time (a stack parameter), or a multi-model
  container (the framework's image and a prefix of model archives), in the VPC,
  network-isolated; optionally a second model, the champion's, from another package;
- an endpoint config of instance variants or one serverless variant: with a champion, the
  first instance variant serves it and every other variant (and an optional shadow variant)
  serves the challenger, the endpoint's model, at the weights given; data capture to a
  KMS-encrypted S3 prefix of its own; the volume key wherever the instance types take one;
- blue/green updates (canary, linear or all at once) that roll back on the 5XX-rate and p99
  latency alarms and any alarm the caller adds, and keep each instance variant's current
  instance count (what autoscaling set) instead of resetting it to the config's initial count;
- target-tracking autoscaling per instance variant (invocations per instance, from the
  measured maximum, or model latency), short scale-out and longer scale-in cooldowns, and an
  optional off-hours schedule that scales non-production endpoints down to one instance;
- alarms on error rates, latency, CPU, memory, disk and, where traffic is expected, silence;
  on multi-model endpoints also on the time requests wait for their model to load.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.alarms import notifying_alarm
from ml_constructs.instance_types import is_burstable, supports_volume_encryption, vcpus
from ml_constructs.sagemaker_model import ModelNetwork, ModelSource, MultiModelSource, isolated_model

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_SERVICE_LINKED_ROLE = "/".join(
    (
        "aws-service-role",
        "sagemaker.application-autoscaling.amazonaws.com",
        "AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint",
    )
)
NAMESPACE = "AWS/SageMaker"
INSTANCE_NAMESPACE = "/aws/sagemaker/Endpoints"
ERROR_RATE_PERCENT = {"5XX": 1.0, "4XX": 5.0}
"""Share of invocations that may fail before the alarm: server errors roll updates back."""
UTILIZATION_PERCENT = 80.0


def invocations_target(max_rps_per_instance: float, safety_factor: float) -> float:
    """AWS's guidance for SageMakerVariantInvocationsPerInstance (a per-minute metric):
    the highest sustainable requests per second of one instance (from a load test) x a
    safety factor x 60."""
    return round(max_rps_per_instance * safety_factor * 60, 2)


@dataclass(frozen=True)
class InstanceVariant:
    name: str
    """Stable: autoscaling registers the variant by name."""
    instance_type: str
    weight: float
    min_capacity: int
    max_capacity: int
    max_rps_per_instance: float


@dataclass(frozen=True)
class ShadowVariant:
    name: str
    instance_type: str
    instance_count: int
    sampling_percent: int


@dataclass(frozen=True)
class ServerlessVariant:
    memory_mb: int
    max_concurrency: int
    provisioned_concurrency: int | None = None
    name: str = "serverless"


@dataclass(frozen=True)
class DataCapture:
    destination: str
    """s3://bucket/prefix; SageMaker adds endpoint, variant and date below it."""
    sampling_percent: int


@dataclass(frozen=True)
class TrafficShift:
    strategy: Literal["canary", "linear", "all-at-once"]
    step_percent: int
    wait_minutes: int


@dataclass(frozen=True)
class Scaling:
    metric: Literal["invocations", "latency"]
    safety_factor: float
    scale_out_cooldown_seconds: int
    scale_in_cooldown_seconds: int


@dataclass(frozen=True)
class WorkingHours:
    """Outside these hours, the schedule scales each instance variant down to one instance."""

    start_hour: int
    end_hour: int
    days: str
    timezone: str


class ModelEndpoint(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        execution_role_arn: str,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str],
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        latency_slo_ms: int,
        traffic_shift: TrafficShift,
        model: ModelSource,
        champion: str | None = None,
        variants: Sequence[InstanceVariant] = (),
        serverless: ServerlessVariant | None = None,
        shadow: ShadowVariant | None = None,
        data_capture: DataCapture | None = None,
        scaling: Scaling | None = None,
        working_hours: WorkingHours | None = None,
        expects_traffic: bool = False,
        rollback_alarm_names: Sequence[str] = (),
    ) -> None:
        """`champion`: the package the first instance variant serves, beside the challenger
        (`model`) on the other variants and the shadow."""
        super().__init__(scope, construct_id)
        if bool(variants) == (serverless is not None):
            raise ValueError("an endpoint has instance variants or a serverless variant")
        if champion is not None and len(variants) + (shadow is not None) < 2:
            raise ValueError("a champion serves beside a challenger: give a second variant or a shadow")
        multi_model = isinstance(model, MultiModelSource)
        if multi_model and (serverless is not None or shadow is not None):
            raise ValueError("multi-model endpoints run on instance variants without shadows")
        self.endpoint_name = endpoint_name
        self._alarm_topic = alarm_topic
        # Serverless inference takes neither a VPC nor isolation (config rules keep it out of
        # guarded accounts).
        network = None if serverless else ModelNetwork(subnet_ids, security_group_ids)
        self.model = isolated_model(self, "Model", execution_role_arn=execution_role_arn, source=model, network=network)
        self.champion_model = (
            isolated_model(
                self, "ChampionModel", execution_role_arn=execution_role_arn, source=champion, network=network
            )
            if champion is not None
            else None
        )
        self.config = self._endpoint_config(variants, serverless, shadow, data_capture, key)
        names = [variant.name for variant in variants] if variants else [serverless.name] if serverless else []
        self.alarms: list[cloudwatch.Alarm] = []
        rollback = []
        for variant_name in names:
            rollback += [
                self._error_rate_alarm(variant_name, "5XX"),
                self._latency_alarm(variant_name, latency_slo_ms),
            ]
            self._error_rate_alarm(variant_name, "4XX")
            if expects_traffic:
                self._silence_alarm(variant_name)
        for variant in variants:
            self._utilization_alarms(variant)
            if multi_model:
                self._model_loading_alarm(variant.name, latency_slo_ms)
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            "Endpoint",
            endpoint_name=endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
            # Every deployment is a new endpoint config (CloudFormation replaces the immutable
            # config and updates the endpoint to it). Without retention each variant would start
            # the new fleet at its initial (minimum) count, at peak too, and autoscaling cannot
            # add capacity while the update runs: keep the counts autoscaling set. Weights and
            # data capture still come from the config, so a change to them deploys. Serverless
            # variants have no instance count.
            retain_all_variant_properties=True if variants else None,
            exclude_retained_variant_properties=[
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type=kind)
                for kind in ("DesiredWeight", "DataCaptureConfig")
            ]
            if variants
            else None,
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=self._blue_green(traffic_shift),
                auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=[
                        sagemaker.CfnEndpoint.AlarmProperty(alarm_name=name)
                        for name in [*(alarm.alarm_name for alarm in rollback), *rollback_alarm_names]
                    ]
                ),
            ),
        )
        self.scalable_targets = [
            self._autoscale(variant, scaling, latency_slo_ms, working_hours)
            for variant in variants
            if scaling is not None and variant.max_capacity > variant.min_capacity
        ]

    def _endpoint_config(
        self,
        variants: Sequence[InstanceVariant],
        serverless: ServerlessVariant | None,
        shadow: ShadowVariant | None,
        data_capture: DataCapture | None,
        key: kms.IKey,
    ) -> sagemaker.CfnEndpointConfig:
        model_name = self.model.attr_model_name
        production = [
            sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                variant_name=variant.name,
                model_name=self.champion_model.attr_model_name
                if self.champion_model is not None and index == 0
                else model_name,
                instance_type=variant.instance_type,
                initial_instance_count=variant.min_capacity,
                initial_variant_weight=variant.weight,
            )
            for index, variant in enumerate(variants)
        ]
        if serverless is not None:
            production.append(
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=serverless.name,
                    model_name=model_name,
                    serverless_config=sagemaker.CfnEndpointConfig.ServerlessConfigProperty(
                        memory_size_in_mb=serverless.memory_mb,
                        max_concurrency=serverless.max_concurrency,
                        provisioned_concurrency=serverless.provisioned_concurrency,
                    ),
                )
            )
        shadows = (
            [
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=shadow.name,
                    model_name=model_name,
                    instance_type=shadow.instance_type,
                    initial_instance_count=shadow.instance_count,
                    # Relative to the one production variant's weight: the share of requests copied.
                    initial_variant_weight=variants[0].weight * shadow.sampling_percent / 100,
                )
            ]
            if shadow is not None
            else None
        )
        instance_types = [variant.instance_type for variant in variants] + ([shadow.instance_type] if shadow else [])
        takes_volume_key = bool(instance_types) and all(map(supports_volume_encryption, instance_types))
        return sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=production,
            shadow_production_variants=shadows,
            kms_key_id=key.key_arn if takes_volume_key else None,
            data_capture_config=sagemaker.CfnEndpointConfig.DataCaptureConfigProperty(
                enable_capture=True,
                initial_sampling_percentage=data_capture.sampling_percent,
                destination_s3_uri=data_capture.destination,
                kms_key_id=key.key_arn,
                capture_options=[
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Input"),
                    sagemaker.CfnEndpointConfig.CaptureOptionProperty(capture_mode="Output"),
                ],
                capture_content_type_header=sagemaker.CfnEndpointConfig.CaptureContentTypeHeaderProperty(
                    csv_content_types=["text/csv"], json_content_types=["application/json"]
                ),
            )
            if data_capture is not None and serverless is None
            else None,
        )

    @staticmethod
    def _blue_green(shift: TrafficShift) -> sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty:
        wait = shift.wait_minutes * 60
        size = sagemaker.CfnEndpoint.CapacitySizeProperty(type="CAPACITY_PERCENT", value=shift.step_percent)
        routing = sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
            type={"canary": "CANARY", "linear": "LINEAR", "all-at-once": "ALL_AT_ONCE"}[shift.strategy],
            wait_interval_in_seconds=wait,
            canary_size=size if shift.strategy == "canary" else None,
            linear_step_size=size if shift.strategy == "linear" else None,
        )
        steps = 100 // shift.step_percent + 1 if shift.strategy == "linear" else 2
        return sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
            traffic_routing_configuration=routing,
            # The old fleet stays this long after all traffic moved: a last chance to roll back.
            termination_wait_in_seconds=wait,
            # Provisioning, every wait and the bake time, with an hour to spare.
            maximum_execution_timeout_in_seconds=min(3600 + steps * wait + wait, 14400),
        )

    def _metric(self, name: str, variant: str, statistic: str, namespace: str = NAMESPACE) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace=namespace,
            metric_name=name,
            dimensions_map={"EndpointName": self.endpoint_name, "VariantName": variant},
            statistic=statistic,
            period=cdk.Duration.minutes(1),
        )

    def _alarm(
        self,
        construct_id: str,
        description: str,
        metric: cloudwatch.IMetric,
        threshold: float,
        comparison: cloudwatch.ComparisonOperator,
        *,
        periods: int,
        datapoints: int,
        missing: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
    ) -> cloudwatch.Alarm:
        alarm = notifying_alarm(
            self,
            construct_id,
            topic=self._alarm_topic,
            description=description,
            metric=metric,
            threshold=threshold,
            comparison=comparison,
            periods=periods,
            datapoints=datapoints,
            missing=missing,
        )
        self.alarms.append(alarm)
        return alarm

    def _error_rate_alarm(self, variant: str, kind: str) -> cloudwatch.Alarm:
        threshold = ERROR_RATE_PERCENT[kind]
        rate = cloudwatch.MathExpression(
            expression="100 * errors / MAX([invocations, 1])",
            using_metrics={
                "errors": self._metric(f"Invocation{kind}Errors", variant, "Sum"),
                "invocations": self._metric("Invocations", variant, "Sum"),
            },
            label=f"{kind} rate (%)",
            period=cdk.Duration.minutes(1),
        )
        return self._alarm(
            f"{variant}{kind}Rate",
            f"{self.endpoint_name}/{variant}: over {threshold}% of invocations answered {kind}",
            rate,
            threshold,
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            periods=3,
            datapoints=2,
        )

    def _latency_alarm(self, variant: str, latency_slo_ms: int) -> cloudwatch.Alarm:
        return self._alarm(
            f"{variant}LatencyP99",
            f"{self.endpoint_name}/{variant}: p99 model latency above the {latency_slo_ms} ms objective",
            self._metric("ModelLatency", variant, "p99"),
            latency_slo_ms * 1000,  # ModelLatency is in microseconds
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            periods=3,
            datapoints=3,
        )

    def _silence_alarm(self, variant: str) -> cloudwatch.Alarm:
        return self._alarm(
            f"{variant}NoInvocations",
            f"{self.endpoint_name}/{variant}: no invocations for 15 minutes while traffic is expected",
            self._metric("Invocations", variant, "Sum").with_(period=cdk.Duration.minutes(15)),
            1,
            cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            periods=1,
            datapoints=1,
            missing=cloudwatch.TreatMissingData.BREACHING,
        )

    def _model_loading_alarm(self, variant: str, latency_slo_ms: int) -> cloudwatch.Alarm:
        """Requests that wait for their model to load miss the objective: sustained waits mean the
        instances' memory no longer holds the models in use (a larger instance type, or more)."""
        return self._alarm(
            f"{variant}ModelLoadingWait",
            f"{self.endpoint_name}/{variant}: requests wait over {latency_slo_ms} ms on average for their "
            "model to load, for 15 minutes",
            self._metric("ModelLoadingWaitTime", variant, "Average"),
            latency_slo_ms * 1000,  # microseconds, as ModelLatency
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            periods=15,
            datapoints=12,
        )

    def _utilization_alarms(self, variant: InstanceVariant) -> None:
        for metric_name, ceiling in (
            ("CPUUtilization", UTILIZATION_PERCENT * vcpus(variant.instance_type)),
            ("MemoryUtilization", UTILIZATION_PERCENT),
            ("DiskUtilization", UTILIZATION_PERCENT),
        ):
            self._alarm(
                f"{variant.name}{metric_name}",
                f"{self.endpoint_name}/{variant.name}: {metric_name} above {ceiling:g}% for 10 minutes",
                self._metric(metric_name, variant.name, "Average", INSTANCE_NAMESPACE),
                ceiling,
                cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
                periods=10,
                datapoints=8,
            )

    def _autoscale(
        self,
        variant: InstanceVariant,
        scaling: Scaling,
        latency_slo_ms: int,
        working_hours: WorkingHours | None,
    ) -> autoscaling.ScalableTarget:
        if is_burstable(variant.instance_type):
            raise ValueError(f"{variant.name}: burstable {variant.instance_type} cannot be autoscaled")
        target = autoscaling.ScalableTarget(
            self,
            f"{variant.name}Scaling",
            service_namespace=autoscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{variant.name}",
            scalable_dimension=SCALABLE_DIMENSION,
            min_capacity=variant.min_capacity,
            max_capacity=variant.max_capacity,
            # What Application Auto Scaling uses for SageMaker anyway; no role of our own to keep.
            role=iam.Role.from_role_arn(
                self,
                f"{variant.name}ScalingRole",
                cdk.Stack.of(self).format_arn(
                    service="iam",
                    region="",
                    resource="role",
                    resource_name=SCALING_SERVICE_LINKED_ROLE,
                ),
                mutable=False,
            ),
        )
        target.node.add_dependency(self.endpoint)
        scale_out = cdk.Duration.seconds(scaling.scale_out_cooldown_seconds)
        scale_in = cdk.Duration.seconds(scaling.scale_in_cooldown_seconds)
        if scaling.metric == "invocations":
            target.scale_to_track_metric(
                "InvocationsPerInstance",
                predefined_metric=autoscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
                target_value=invocations_target(variant.max_rps_per_instance, scaling.safety_factor),
                scale_out_cooldown=scale_out,
                scale_in_cooldown=scale_in,
            )
        else:
            # The custom-metric override: keep average model latency at half the p99 objective.
            target.scale_to_track_metric(
                "ModelLatency",
                custom_metric=self._metric("ModelLatency", variant.name, "Average"),
                target_value=latency_slo_ms * 1000 / 2,
                scale_out_cooldown=scale_out,
                scale_in_cooldown=scale_in,
            )
        if working_hours is not None:
            hours = working_hours
            zone = cdk.TimeZone.of(hours.timezone)
            target.scale_on_schedule(
                "WorkingHoursStart",
                schedule=autoscaling.Schedule.cron(hour=str(hours.start_hour), minute="0", week_day=hours.days),
                time_zone=zone,
                min_capacity=variant.min_capacity,
                max_capacity=variant.max_capacity,
            )
            target.scale_on_schedule(
                "WorkingHoursEnd",
                schedule=autoscaling.Schedule.cron(hour=str(hours.end_hour), minute="0", week_day=hours.days),
                time_zone=zone,
                min_capacity=1,
                max_capacity=1,
            )
        return target
