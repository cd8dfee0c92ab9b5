"""Model Monitor on one endpoint, and the alarms that say its model has drifted.

- Data quality: a job definition comparing captured requests with baseline statistics and
  constraints (those the served model package registers), on a schedule.
- Model quality (optional): captured predictions merged with ground truth that arrives
  later, for binary, multiclass or regression problems.
- Bias drift and feature-attribution drift (optional): Clarify jobs with an analysis config
  (label, facets and thresholds; the SHAP baseline) and the baseline constraints violations
  are judged against.

Jobs run in the VPC with the serving key on volumes and reports, and publish their metrics to
CloudWatch; all are network-isolated but feature attribution: SHAP needs the model's
predictions for synthetic records, which Clarify gets from a shadow endpoint of the endpoint's
model that it creates, invokes and deletes through the SageMaker API (the VPC's interface
endpoints), never from the monitored endpoint, whose captured traffic it would pollute.
Every alarm notifies the alerts topic; those that call for retraining are combined into one
composite alarm per endpoint, whose state changes the platform forwards to the model's
development account.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from constructs import Construct

SCHEDULES = {"hourly": "cron(0 * ? * * *)", "daily": "cron(0 0 ? * * *)"}
SCHEDULE_SUFFIXES = {
    "DataQuality": "data-quality",
    "ModelQuality": "model-quality",
    "ModelBias": "model-bias",
    "ModelExplainability": "model-explainability",
}
"""A schedule is named `<endpoint>-<suffix>`; its metrics carry the name as a dimension."""
DATA_METRICS = "aws/sagemaker/Endpoints/data-metrics"
MODEL_METRICS = "aws/sagemaker/Endpoints/model-metrics"
COMPARISONS = {
    "above": cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    "at-or-above": cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
    "below": cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    "at-or-below": cloudwatch.ComparisonOperator.LESS_THAN_OR_EQUAL_TO_THRESHOLD,
}
MODEL_QUALITY_METRICS = {
    "BinaryClassification": {"accuracy", "auc", "f1", "precision", "recall", "true_positive_rate"},
    "MulticlassClassification": {"accuracy", "weighted_f1", "weighted_precision", "weighted_recall"},
    "Regression": {"mae", "mse", "rmse", "r2"},
}
"""What Model Monitor's model-quality job publishes, by problem type."""


@dataclass(frozen=True)
class AlarmSpec:
    name: str
    namespace: str
    metric: str
    threshold: float
    comparison: Literal["above", "at-or-above", "below", "at-or-below"]
    dimensions: dict[str, str] = field(default_factory=dict)
    statistic: str = "Maximum"
    periods: int = 1
    period_minutes: int = 60
    retrain: bool = True


@dataclass(frozen=True)
class DataQuality:
    statistics_uri: str
    constraints_uri: str


@dataclass(frozen=True)
class ModelQuality:
    problem_type: Literal["BinaryClassification", "MulticlassClassification", "Regression"]
    ground_truth_uri: str
    probability_threshold: float


@dataclass(frozen=True)
class Clarify:
    """A Clarify job: bias drift (with ground truth) or feature-attribution drift."""

    image_uri: str
    analysis_config_uri: str
    constraints_uri: str
    ground_truth_uri: str | None = None
    probability_threshold: float = 0.5


@dataclass(frozen=True)
class MonitoringJobs:
    """Where and how the jobs run."""

    role_arn: str
    image_uri: str
    key: kms.IKey
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]
    reports_uri: str
    instance_type: str = "ml.m5.xlarge"


class EndpointMonitor(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        endpoint_name: str,
        endpoint: cdk.CfnResource,
        jobs: MonitoringJobs,
        schedule: Literal["hourly", "daily"],
        alarm_topic: sns.ITopic,
        data_quality: DataQuality | None = None,
        model_quality: ModelQuality | None = None,
        bias: Clarify | None = None,
        feature_attribution: Clarify | None = None,
        alarms: Sequence[AlarmSpec] = (),
    ) -> None:
        super().__init__(scope, construct_id)
        self.endpoint_name = endpoint_name
        self._jobs = jobs
        self.schedules: dict[str, sagemaker.CfnMonitoringSchedule] = {}
        if data_quality is not None:
            definition = self._data_quality(data_quality)
            self._schedule("DataQuality", _name_of(definition.attr_job_definition_arn), schedule, endpoint)
        if model_quality is not None:
            quality = self._model_quality(model_quality)
            self._schedule("ModelQuality", _name_of(quality.attr_job_definition_arn), schedule, endpoint)
        if bias is not None:
            self._schedule("ModelBias", _name_of(self._bias(bias).attr_job_definition_arn), schedule, endpoint)
        if feature_attribution is not None:
            explainability = self._explainability(feature_attribution)
            self._schedule("ModelExplainability", _name_of(explainability.attr_job_definition_arn), schedule, endpoint)
        self.alarms = [self._alarm(spec, alarm_topic) for spec in alarms]
        retraining = [alarm for alarm, spec in zip(self.alarms, alarms, strict=True) if spec.retrain]
        self.drift_alarm: cloudwatch.CompositeAlarm | None = None
        if retraining:
            self.drift_alarm = cloudwatch.CompositeAlarm(
                self,
                "Drift",
                composite_alarm_name=f"{endpoint_name}-drift",
                alarm_description=f"{endpoint_name}: its model drifted; the model's retraining starts",
                alarm_rule=cloudwatch.AlarmRule.any_of(*retraining),
            )
            self.drift_alarm.add_alarm_action(cloudwatch_actions.SnsAction(alarm_topic))

    # The job definition types share these property shapes, each under its own class.
    def _network(self, cfn: Any, isolated: bool = True) -> Any:
        return cfn.NetworkConfigProperty(
            enable_network_isolation=isolated,
            enable_inter_container_traffic_encryption=True,
            vpc_config=cfn.VpcConfigProperty(
                subnets=list(self._jobs.subnet_ids), security_group_ids=list(self._jobs.security_group_ids)
            ),
        )

    def _resources(self, cfn: Any) -> Any:
        return cfn.MonitoringResourcesProperty(
            cluster_config=cfn.ClusterConfigProperty(
                instance_count=1,
                instance_type=self._jobs.instance_type,
                volume_size_in_gb=20,
                volume_kms_key_id=self._jobs.key.key_arn,
            )
        )

    def _output(self, cfn: Any, kind: str) -> Any:
        return cfn.MonitoringOutputConfigProperty(
            kms_key_id=self._jobs.key.key_arn,
            monitoring_outputs=[
                cfn.MonitoringOutputProperty(
                    s3_output=cfn.S3OutputProperty(
                        local_path="/opt/ml/processing/output",
                        s3_uri=f"{self._jobs.reports_uri}/{kind}",
                        s3_upload_mode="EndOfJob",
                    )
                )
            ],
        )

    def _data_quality(self, quality: DataQuality) -> sagemaker.CfnDataQualityJobDefinition:
        return sagemaker.CfnDataQualityJobDefinition(
            self,
            "DataQualityJob",
            role_arn=self._jobs.role_arn,
            data_quality_app_specification=sagemaker.CfnDataQualityJobDefinition.DataQualityAppSpecificationProperty(
                image_uri=self._jobs.image_uri,
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            data_quality_baseline_config=sagemaker.CfnDataQualityJobDefinition.DataQualityBaselineConfigProperty(
                constraints_resource=sagemaker.CfnDataQualityJobDefinition.ConstraintsResourceProperty(
                    s3_uri=quality.constraints_uri
                ),
                statistics_resource=sagemaker.CfnDataQualityJobDefinition.StatisticsResourceProperty(
                    s3_uri=quality.statistics_uri
                ),
            ),
            data_quality_job_input=sagemaker.CfnDataQualityJobDefinition.DataQualityJobInputProperty(
                endpoint_input=sagemaker.CfnDataQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=self.endpoint_name, local_path="/opt/ml/processing/input/endpoint"
                )
            ),
            data_quality_job_output_config=self._output(sagemaker.CfnDataQualityJobDefinition, "data-quality"),
            job_resources=self._resources(sagemaker.CfnDataQualityJobDefinition),
            network_config=self._network(sagemaker.CfnDataQualityJobDefinition),
            stopping_condition=sagemaker.CfnDataQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=3600
            ),
        )

    def _model_quality(self, quality: ModelQuality) -> sagemaker.CfnModelQualityJobDefinition:
        binary = quality.problem_type == "BinaryClassification"
        return sagemaker.CfnModelQualityJobDefinition(
            self,
            "ModelQualityJob",
            role_arn=self._jobs.role_arn,
            model_quality_app_specification=sagemaker.CfnModelQualityJobDefinition.ModelQualityAppSpecificationProperty(
                image_uri=self._jobs.image_uri,
                problem_type=quality.problem_type,
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            model_quality_job_input=sagemaker.CfnModelQualityJobDefinition.ModelQualityJobInputProperty(
                endpoint_input=sagemaker.CfnModelQualityJobDefinition.EndpointInputProperty(
                    endpoint_name=self.endpoint_name,
                    local_path="/opt/ml/processing/input/endpoint",
                    # The serving code answers one probability per row: column 0 of the captured output.
                    probability_attribute="0" if binary else None,
                    probability_threshold_attribute=quality.probability_threshold if binary else None,
                    inference_attribute=None if binary else "0",
                ),
                ground_truth_s3_input=sagemaker.CfnModelQualityJobDefinition.MonitoringGroundTruthS3InputProperty(
                    s3_uri=quality.ground_truth_uri
                ),
            ),
            model_quality_job_output_config=self._output(sagemaker.CfnModelQualityJobDefinition, "model-quality"),
            job_resources=self._resources(sagemaker.CfnModelQualityJobDefinition),
            network_config=self._network(sagemaker.CfnModelQualityJobDefinition),
            stopping_condition=sagemaker.CfnModelQualityJobDefinition.StoppingConditionProperty(
                max_runtime_in_seconds=3600
            ),
        )

    def _bias(self, clarify: Clarify) -> sagemaker.CfnModelBiasJobDefinition:
        cfn = sagemaker.CfnModelBiasJobDefinition
        assert clarify.ground_truth_uri is not None, "bias is measured against ground truth"
        return cfn(
            self,
            "ModelBiasJob",
            role_arn=self._jobs.role_arn,
            model_bias_app_specification=cfn.ModelBiasAppSpecificationProperty(
                config_uri=clarify.analysis_config_uri,
                image_uri=clarify.image_uri,
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            model_bias_baseline_config=cfn.ModelBiasBaselineConfigProperty(
                constraints_resource=cfn.ConstraintsResourceProperty(s3_uri=clarify.constraints_uri)
            ),
            model_bias_job_input=cfn.ModelBiasJobInputProperty(
                endpoint_input=cfn.EndpointInputProperty(
                    endpoint_name=self.endpoint_name,
                    local_path="/opt/ml/processing/input/endpoint",
                    probability_threshold_attribute=clarify.probability_threshold,
                ),
                ground_truth_s3_input=cfn.MonitoringGroundTruthS3InputProperty(s3_uri=clarify.ground_truth_uri),
            ),
            model_bias_job_output_config=self._output(cfn, "model-bias"),
            job_resources=self._resources(cfn),
            network_config=self._network(cfn),
            stopping_condition=cfn.StoppingConditionProperty(max_runtime_in_seconds=3600),
        )

    def _explainability(self, clarify: Clarify) -> sagemaker.CfnModelExplainabilityJobDefinition:
        cfn = sagemaker.CfnModelExplainabilityJobDefinition
        return cfn(
            self,
            "ModelExplainabilityJob",
            role_arn=self._jobs.role_arn,
            model_explainability_app_specification=cfn.ModelExplainabilityAppSpecificationProperty(
                config_uri=clarify.analysis_config_uri,
                image_uri=clarify.image_uri,
                environment={"publish_cloudwatch_metrics": "Enabled"},
            ),
            model_explainability_baseline_config=cfn.ModelExplainabilityBaselineConfigProperty(
                constraints_resource=cfn.ConstraintsResourceProperty(s3_uri=clarify.constraints_uri)
            ),
            model_explainability_job_input=cfn.ModelExplainabilityJobInputProperty(
                endpoint_input=cfn.EndpointInputProperty(
                    endpoint_name=self.endpoint_name, local_path="/opt/ml/processing/input/endpoint"
                )
            ),
            model_explainability_job_output_config=self._output(cfn, "model-explainability"),
            job_resources=self._resources(cfn),
            # Clarify calls the SageMaker API for its shadow endpoint: not isolated, in the VPC.
            network_config=self._network(cfn, isolated=False),
            stopping_condition=cfn.StoppingConditionProperty(max_runtime_in_seconds=3600),
        )

    def _schedule(self, kind: str, definition_name: str, schedule: str, endpoint: cdk.CfnResource) -> None:
        monitoring = sagemaker.CfnMonitoringSchedule(
            self,
            f"{kind}Schedule",
            monitoring_schedule_name=f"{self.endpoint_name}-{SCHEDULE_SUFFIXES[kind]}",
            monitoring_schedule_config=sagemaker.CfnMonitoringSchedule.MonitoringScheduleConfigProperty(
                monitoring_job_definition_name=definition_name,
                monitoring_type=kind,
                schedule_config=sagemaker.CfnMonitoringSchedule.ScheduleConfigProperty(
                    schedule_expression=SCHEDULES[schedule]
                ),
            ),
        )
        monitoring.add_resource_dependency(endpoint)
        self.schedules[kind] = monitoring

    def _alarm(self, spec: AlarmSpec, topic: sns.ITopic) -> cloudwatch.Alarm:
        alarm = cloudwatch.Alarm(
            self,
            f"Alarm-{spec.name}",
            alarm_name=alarm_name(self.endpoint_name, spec),
            alarm_description=f"{self.endpoint_name}: {spec.metric} {spec.comparison} {spec.threshold:g}",
            metric=cloudwatch.Metric(
                namespace=spec.namespace,
                metric_name=spec.metric,
                dimensions_map=spec.dimensions,
                statistic=spec.statistic,
                period=cdk.Duration.minutes(spec.period_minutes),
            ),
            threshold=spec.threshold,
            comparison_operator=COMPARISONS[spec.comparison],
            evaluation_periods=spec.periods,
            # Monitoring runs hourly or daily: no data between runs is not a problem.
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        alarm.add_alarm_action(cloudwatch_actions.SnsAction(topic))
        return alarm


def _name_of(job_definition_arn: str) -> str:
    """A job definition is immutable: a change replaces it, so CloudFormation names it (a fixed
    name would collide with the old one); the schedule takes the name from the ARN."""
    return cdk.Fn.select(1, cdk.Fn.split("/", job_definition_arn))


def alarm_name(endpoint_name: str, spec: AlarmSpec) -> str:
    return f"{endpoint_name}-{spec.name}"
