"""A team's model-build pipelines: one SageMaker pipeline per model, and its retraining schedule,
in shards of a few models each (stacks.sharding.model_build_shards).

The pipelines come from the SDK-written templates in ml_pipelines/definitions, filled with
this account's names: jobs run as the team's job role, in the VPC's private subnets behind a
security group of their own, network-isolated, with the registry's models key on volumes
and outputs, so the model artifacts they write are the ones the serving accounts may read.
The steps' code is the ml_pipelines package, uploaded as a CDK asset.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Mapping
from functools import cache
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3_assets as s3_assets
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.network import allow_https_to_aws
from ml_constructs.pipeline_template import PipelineSchedule, TemplatedPipeline
from ml_pipelines.contract import TUNABLE_HYPERPARAMETERS, csv_argument, range_parameter
from ml_pipelines.packaging import write_archive
from ml_pipelines.templates import clarify_images, container_images, model_monitor_images, template_path
from stacks import imports, naming
from stacks.config import OrgConfig
from stacks.config.models import BiasCheck, Model, Tuning
from stacks.monitoring import drift_alarm_records, model_group_record
from stacks.platform_stack import PlatformStack
from stacks.registry_stack import RegistryStack
from stacks.studio_stack import TeamStack

SCHEDULED_REASON = "schedule"
"""The RetrainingReason of executions the schedule starts (registered with the package)."""


@cache
def _code_archive() -> Path:
    """Built once per synth; identical bytes for identical code, so the asset hash is stable."""
    return write_archive(Path(tempfile.mkdtemp(prefix="ml-pipelines-code-")) / "code.tar.gz")


def _tuning_limits(tuning: Tuning | None) -> dict[str, int]:
    """The tuned template's job limits (placeholders: the SDK cannot make them parameters)."""
    if tuning is None:
        return {}
    return {"TuningMaxJobs": tuning.max_jobs, "TuningMaxParallelJobs": tuning.max_parallel_jobs}


def _bias_check(bias_check: BiasCheck | None, region: str) -> dict[str, str]:
    """The bias template's placeholders: the facet and labels the preprocess step writes into
    Clarify's analysis config, and Clarify's image."""
    if bias_check is None:
        return {}
    return {
        "BiasFacet": str(bias_check.facet_feature),
        "BiasFacetValues": csv_argument(bias_check.facet_values),
        "BiasLabelValues": csv_argument(bias_check.label_values),
        "BiasProbabilityThreshold": str(bias_check.probability_threshold),
        "ClarifyImage": clarify_images()[region],
    }


def _tuning_parameters(tuning: Tuning | None) -> dict[str, object]:
    """The tuned template's parameter defaults: the strategy and each hyperparameter's range."""
    if tuning is None:
        return {}
    defaults: dict[str, object] = {"TuningStrategy": tuning.strategy}
    for name, (kind, lowest, highest) in TUNABLE_HYPERPARAMETERS.items():
        for bound, value in zip(("Min", "Max"), tuning.ranges.get(name, (lowest, highest)), strict=True):
            defaults[range_parameter(name, bound)] = int(value) if kind == "Integer" else value
    return defaults


class ModelBuildStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgConfig,
        team: TeamStack,
        registry: RegistryStack,
        team_name: str,
        models: list[Model],
        shard_index: int,
    ) -> None:
        org = config.organization.name
        account = config.accounts[config.teams[team_name].accounts.dev]
        assert account.network is not None
        zones = account.network.availability_zones
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "model-build", team_name, str(shard_index)),
            description=f"ML platform team {team_name}: model-build pipelines and retraining schedules",
            availability_zone_count=zones,
        )
        vpc = imports.baseline_vpc(self, "Vpc", org, account.network.cidr)
        jobs = ec2.SecurityGroup(
            self,
            "JobSecurityGroup",
            vpc=vpc,
            description=f"Pipeline jobs of team {team_name}",
            allow_all_outbound=False,
        )
        # Distributed jobs talk among their own instances; everything else they reach is an
        # AWS API behind the VPC's endpoints, S3 above all (SageMaker moves the jobs' data).
        jobs.add_ingress_rule(jobs, ec2.Port.all_tcp(), "Between the instances of one job")
        jobs.add_egress_rule(jobs, ec2.Port.all_tcp(), "Between the instances of one job")
        allow_https_to_aws(jobs)
        code = s3_assets.Asset(self, "Code", path=str(_code_archive()))
        roles = team.roles
        image = container_images()[self.region]
        prefixes = [f"{model.name}/*" for model in models]
        artifacts = naming.model_artifacts_bucket(org, account.id, self.region)
        iam.ManagedPolicy(
            self,
            "ModelBuildAccess",
            description=f"Team {team_name}'s pipelines and jobs: step code, their models' artifacts, the models key",
            roles=[roles.job, roles.pipeline],
            statements=[
                iam.PolicyStatement(
                    sid="StepCode",
                    actions=["s3:GetObject"],
                    resources=[code.bucket.arn_for_objects(code.s3_object_key)],
                ),
                iam.PolicyStatement(
                    sid="ModelArtifacts",
                    actions=["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
                    resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{artifacts}/{prefix}" for prefix in prefixes],
                ),
                iam.PolicyStatement(
                    sid="ModelArtifactsList",
                    actions=["s3:ListBucket", "s3:GetBucketLocation"],
                    resources=[registry.artifacts.bucket_arn],
                    conditions={"StringLike": {"s3:prefix": [*prefixes, *(model.name for model in models)]}},
                ),
                iam.PolicyStatement(
                    sid="ModelsKey",
                    actions=["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey", "kms:CreateGrant"],
                    resources=[registry.key.key_arn],
                ),
            ],
        )
        scheduled = [model for model in models if model.retraining_schedule]
        alerts = imports.alerts_topic(self, "Alerts", org) if scheduled else None
        for model in models:
            pipeline = TemplatedPipeline(
                self,
                f"Pipeline-{model.name}",
                pipeline_name=naming.pipeline_name(org, model.name),
                description=f"Builds model {model.name}: preprocess, {'tune' if model.tuning else 'train'}, evaluate, "
                "register if it meets its metric",
                template=template_path(
                    model.metric.direction, tuned=model.tuning is not None, bias=model.bias_check is not None
                ),
                values={
                    "AccountId": self.account,
                    "ArtifactBucket": registry.artifacts.bucket_name,
                    "CodeBucket": code.s3_bucket_name,
                    "CodeArchiveFile": code.s3_object_key,
                    "JobRoleName": roles.job.role_name,
                    "KmsKeyArn": registry.key.key_arn,
                    "MetricName": model.metric.name,
                    "ModelName": model.name,
                    "ModelPackageGroupName": naming.model_package_group_name(org, model.name),
                    "MonitorImage": model_monitor_images()[self.region],
                    "Partition": self.partition,
                    "ProcessingImage": image,
                    "SecurityGroupIds": [jobs.security_group_id],
                    "SubnetIds": imports.private_subnet_ids(self, org, zones),
                    "TrainingImage": image,
                    **_tuning_limits(model.tuning),
                    **_bias_check(model.bias_check, self.region),
                },
                parameter_defaults={
                    "InputDataUri": model.input_data_uri
                    or f"s3://{registry.artifacts.bucket_name}/{model.name}/input/",
                    "ProcessingInstanceType": model.processing_instance_type,
                    "TrainingInstanceType": model.training_instance_type,
                    "MetricThreshold": model.metric.threshold,
                    **_tuning_parameters(model.tuning),
                },
                role=roles.pipeline,
            )
            cdk.Tags.of(pipeline).add("platform:model", model.name)
            if model.retraining_schedule and alerts is not None:
                PipelineSchedule(
                    self,
                    f"Retraining-{model.name}",
                    pipeline=pipeline,
                    description=f"Retrains with {pipeline.pipeline_name}",
                    expression=model.retraining_schedule,
                    parameters={"RetrainingReason": SCHEDULED_REASON},
                    key=registry.key,
                    alarm_topic=alerts,
                )
            self._publish(
                f"GroupRecord-{model.name}",
                naming.model_group_records(org),
                naming.model_package_group_name(org, model.name),
                model_group_record(org, model),
            )
        for alarm, record in drift_alarm_records(config, models).items():
            self._publish(f"DriftAlarmRecord-{alarm}", naming.drift_alarm_records(org), alarm, record)
        cdk.Tags.of(self).add("platform:team", team_name)

    def _publish(self, construct_id: str, path: str, name: str, record: Mapping[str, object]) -> None:
        """A record the registry's functions look up by name (one small parameter each, so their
        configuration grows with the models without reaching a size limit)."""
        ssm.StringParameter(
            self,
            construct_id,
            parameter_name=f"{path}/{name}",
            string_value=json.dumps(record, sort_keys=True),
            description="Read by the model registry's approval and drift functions",
        )
