"""The platform's own delivery: a self-mutating CDK pipeline in the shared-services account.

Its source is the platform's repository (the config's CodeConnections connection); its synth
step runs the developers' gates (`make test`) and then `make synth` of the organization's
config. It deploys the platform's stages in the waves of stacks.deployment_order, with the
production account's own stages last, behind a manual approval, in their waves too. The
endpoint stages are not its business: each model's deployment pipeline deploys them with an
approved package.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import groupby

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_logs as logs
from aws_cdk import pipelines
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.storage import SecureBucket
from stacks import console_links, imports, naming
from stacks.config import OrgConfig
from stacks.deployment_order import pipeline_stages
from stacks.platform_stack import PlatformStack
from stacks.replication_stack import artifact_stores


class ToolchainStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, stages: Sequence[cdk.Stage]) -> None:
        org = config.organization.name
        delivery = config.delivery
        assert delivery is not None, "built only when the config says where the repository is"
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "toolchain"),
            description="ML platform delivery: the self-mutating CDK pipeline of the whole organization",
            termination_protection=True,
        )
        key = PurposeKey(
            self,
            "ArtifactsKey",
            alias=naming.key_alias(org, "toolchain"),
            description="The platform pipeline's artifacts",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        artifacts = SecureBucket(
            self,
            "Artifacts",
            encryption_key=key,
            access_logs=imports.access_log_bucket(self, "AccessLogs", org),
        )
        artifact_bucket, replication_buckets = artifact_stores(self, config, artifacts)
        # Every CodeBuild project the pipeline generates (synth, self-mutation, asset
        # publishing) logs to one encrypted group, kept a year.
        key.allow_cloudwatch_logs()
        build_logs = logs.LogGroup(
            self,
            "BuildLogs",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        pipeline = pipelines.CodePipeline(
            self,
            "Pipeline",
            pipeline_name=naming.stack_name(org, "platform"),
            # Stages in recovery regions deploy through the replication buckets there.
            artifact_bucket=artifact_bucket,
            cross_region_replication_buckets=replication_buckets,
            self_mutation=True,
            docker_enabled_for_synth=False,
            code_build_defaults=pipelines.CodeBuildOptions(
                logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=build_logs))
            ),
            synth=pipelines.ShellStep(
                "Synth",
                input=pipelines.CodePipelineSource.connection(
                    delivery.repository, delivery.branch, connection_arn=delivery.connection_arn
                ),
                commands=["make test", f"make synth CONFIG={delivery.config_file}"],
                primary_output_directory="cdk.out",
            ),
        )
        console_links.publish(
            self,
            "The platform pipeline: synth, preflight and every stage it deploys",
            console_links.codepipeline_console(self.region, naming.stack_name(org, "platform")),
            "PlatformPipeline",
        )
        by_id = {stage.stage_name: stage for stage in stages}
        production = {name for name, account in config.accounts.items() if account.is_production}
        # The pipeline updates itself (self-mutation), and never touches the management account.
        planned = pipeline_stages(config)
        # The production account's own stages wait for a person; its baseline does not (every
        # account's baseline is one wave).
        gated = [p for p in planned if p.account_name in production and p.purpose != "Baseline"]
        for wave_number, wave_stages in groupby([p for p in planned if p not in gated], key=lambda p: p.wave):
            wave = pipeline.add_wave(f"Wave{wave_number}")
            for planned_stage in wave_stages:
                wave.add_stage(by_id[planned_stage.stage_id])
        # One approval, then the production account's stages wave by wave: in a wave they deploy
        # in parallel, and a recovery region's serving needs the primary region's model role.
        for index, (wave_number, wave_stages) in enumerate(groupby(gated, key=lambda p: p.wave)):
            if index == 0:
                approval = pipelines.ManualApprovalStep(
                    "ApproveProduction", comment="Deploy the platform to production"
                )
                wave = pipeline.add_wave("Production", pre=[approval])
            else:
                wave = pipeline.add_wave(f"ProductionWave{wave_number}")
            for planned_stage in wave_stages:
                wave.add_stage(by_id[planned_stage.stage_id])
        # aws_cdk.pipelines builds the CodePipeline during synthesis; the gates acknowledge its
        # generated roles' findings on this construct, their ancestor.
        self.pipeline = pipeline
