"""Batch inference with one approved model package: a SageMaker pipeline whose transform step
scores every file under an input prefix, optionally on a schedule.

- the model: from the package given at deploy time, in the VPC, network-isolated
  (ml_constructs.sagemaker_model), so the transform job's containers reach nothing but S3
  through the VPC's endpoints;
- the pipeline: the SDK-generated template ml_pipelines/definitions/batch-transform.json,
  with the locations, instances and record handling as parameter defaults, output and volume
  encrypted with the account's key, and a results folder per run;
- a schedule (EventBridge Scheduler, with retries and an alarmed dead-letter queue), and word
  on the alerts topic of every run that fails or is stopped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.pipeline_template import PipelineSchedule, TemplatedPipeline
from ml_constructs.sagemaker_model import ModelNetwork, isolated_model
from ml_pipelines.templates import BATCH_TEMPLATE, TEMPLATE_DIR


@dataclass(frozen=True)
class Transform:
    input_uri: str
    """s3://bucket/prefix/ of the files to score."""
    output_uri: str
    """s3://bucket/prefix/; each run writes below <output_uri><run id>/."""
    instance_type: str
    instance_count: int
    content_type: str
    accept: str
    split_type: Literal["Line", "RecordIO", "TFRecord", "None"]
    batch_strategy: Literal["MultiRecord", "SingleRecord"]
    max_payload_mb: int
    max_concurrent_transforms: int


class BatchTransformPipeline(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pipeline_name: str,
        model_package_arn: str,
        execution_role_arn: str,
        pipeline_role: iam.IRole,
        subnet_ids: Sequence[str],
        security_group_ids: Sequence[str],
        key: kms.IKey,
        alarm_topic: sns.ITopic,
        transform: Transform,
        schedule: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.model = isolated_model(
            self,
            "Model",
            execution_role_arn=execution_role_arn,
            source=model_package_arn,
            network=ModelNetwork(subnet_ids, security_group_ids),
        )
        self.pipeline = TemplatedPipeline(
            self,
            "Pipeline",
            pipeline_name=pipeline_name,
            description="Scores the files under the input prefix with the deployed model package",
            template=TEMPLATE_DIR / BATCH_TEMPLATE,
            values={
                "KmsKeyArn": key.key_arn,
                "TransformInstanceCount": transform.instance_count,
                "TransformMaxPayloadInMB": transform.max_payload_mb,
                "TransformMaxConcurrency": transform.max_concurrent_transforms,
            },
            parameter_defaults={
                # Replaced with each deployment of a new package, and the pipeline with it.
                "ModelName": self.model.attr_model_name,
                "InputUri": transform.input_uri,
                "OutputUri": transform.output_uri,
                "InstanceType": transform.instance_type,
                "ContentType": transform.content_type,
                "Accept": transform.accept,
                "SplitType": transform.split_type,
                "AssembleWith": "None" if transform.split_type == "None" else "Line",
                "BatchStrategy": transform.batch_strategy,
            },
            role=pipeline_role,
        )
        self.schedule = (
            PipelineSchedule(
                self,
                "Schedule",
                pipeline=self.pipeline,
                description=f"Batch inference with {pipeline_name}",
                expression=schedule,
                parameters={},
                key=key,
                alarm_topic=alarm_topic,
            )
            if schedule
            else None
        )
        events.Rule(
            self,
            "FailedRuns",
            description=f"Runs of {pipeline_name} that failed or were stopped",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Model Building Pipeline Execution Status Change"],
                detail={
                    "pipelineArn": [self.pipeline.pipeline_arn],
                    "currentPipelineExecutionStatus": ["Failed", "Stopped"],
                },
            ),
            targets=[
                targets.SnsTopic(
                    alarm_topic,
                    message=events.RuleTargetInput.from_text(
                        f"Batch inference {pipeline_name}: run "
                        f"{events.EventField.from_path('$.detail.pipelineExecutionDisplayName')} "
                        f"{events.EventField.from_path('$.detail.currentPipelineExecutionStatus')}"
                    ),
                )
            ],
        )
