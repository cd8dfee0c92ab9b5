"""The self-service products: CloudFormation templates (Service Catalog product stacks) that
data scientists launch in their own accounts, built from the platform's constructs.

Each reads what it needs from the account at launch time (SSM parameters the platform
published there: `<prefix>/baseline/...`, `<prefix>/studio/...`, `<prefix>/feature-store/...`),
so one template serves every account it is shared with.
"""

from __future__ import annotations

from typing import Any, cast

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.arns import ACCOUNT_ID, PARTITION, in_this_account
from ml_constructs.feature_store import offline_store, online_store
from ml_constructs.registry import ModelPackageGroup
from ml_constructs.service_catalog import PortableProductStack
from ml_constructs.storage import SecureBucket
from ml_constructs.studio import Member, StudioMembers

MAX_FEATURES = 12
"""Features a launch may define besides the record identifier and event time; larger groups
belong in the platform's config."""
FEATURE_TYPES = ("String", "Integral", "Fractional")


def _parameter(scope: Construct, name: str) -> str:
    return ssm.StringParameter.value_for_string_parameter(scope, name)


def _launch_account_role(scope: Construct, construct_id: str, name: str) -> iam.IRole:
    """A role of the account the product launches in. Products are released once for every
    account they are shared with, so no ARN may name the account that synthesized them."""
    return iam.Role.from_role_arn(scope, construct_id, f"arn:{PARTITION}:iam::{ACCOUNT_ID}:role/{name}", mutable=False)


def _role_arn_parameter(scope: Construct, role_prefix: str, description: str) -> cdk.CfnParameter:
    return cdk.CfnParameter(
        scope,
        "ExecutionRoleArn",
        type="String",
        description=description,
        allowed_pattern=rf"^arn:aws[a-z-]*:iam::\d{{12}}:role/{role_prefix}[\w+=,.@-]+$",
        constraint_description=f"the ARN of one of your team's roles ({role_prefix}...)",
    )


class StudioUserProduct(PortableProductStack):
    """A Studio user profile and its private JupyterLab space, in the account's domain."""

    def __init__(self, scope: Construct, construct_id: str, *, parameter_prefix: str, team_role_prefix: str) -> None:
        super().__init__(scope, construct_id, description="Studio user environment: profile and private space")
        user = cdk.CfnParameter(
            self,
            "UserName",
            type="String",
            description="The new member's user name (becomes the profile and space name)",
            allowed_pattern=r"^[a-z0-9](-*[a-z0-9]){1,40}$",
        )
        role = _role_arn_parameter(self, team_role_prefix, "The team's Studio execution role for this member")
        StudioMembers(
            self,
            "Member",
            domain_id=_parameter(self, f"{parameter_prefix}/studio/domain-id"),
            members=[
                Member(
                    profile_name=user.value_as_string,
                    execution_role_arn=role.value_as_string,
                    tags={"platform:user": user.value_as_string},
                    key="User",
                )
            ],
            teardown_function_arn=_parameter(self, f"{parameter_prefix}/studio/teardown-function-arn"),
        )


class NotebookInstanceProduct(PortableProductStack):
    """A notebook instance in the account's isolated VPC: no root, no direct internet, KMS."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameter_prefix: str,
        team_role_prefix: str,
        default_instance_type: str,
    ) -> None:
        super().__init__(scope, construct_id, description="Notebook instance: VPC only, no root, encrypted")
        self.instance_type = cdk.CfnParameter(
            self,
            "InstanceType",
            type="String",
            default=default_instance_type,
            description="Instance type (the portfolio allows only approved types)",
        )
        volume = cdk.CfnParameter(
            self, "VolumeSizeGb", type="Number", default=20, min_value=5, max_value=200, description="Volume in GB"
        )
        role = _role_arn_parameter(self, team_role_prefix, "The team's execution role the notebook runs as")
        vpc_id = _parameter(self, f"{parameter_prefix}/baseline/vpc-id")
        endpoints = _parameter(self, f"{parameter_prefix}/baseline/endpoint-security-group-id")
        group = ec2.CfnSecurityGroup(
            self,
            "SecurityGroup",
            vpc_id=vpc_id,
            group_description="Notebook instance: HTTPS to the VPC interface endpoints only",
            security_group_egress=[
                ec2.CfnSecurityGroup.EgressProperty(
                    ip_protocol="tcp",
                    from_port=443,
                    to_port=443,
                    destination_security_group_id=endpoints,
                    description="AWS APIs through the VPC's interface endpoints",
                )
            ],
        )
        sagemaker.CfnNotebookInstance(
            self,
            "Notebook",
            instance_type=self.instance_type.value_as_string,
            role_arn=role.value_as_string,
            root_access="Disabled",
            direct_internet_access="Disabled",
            subnet_id=cdk.Fn.select(
                0, cdk.Fn.split(",", _parameter(self, f"{parameter_prefix}/baseline/private-subnet-ids"))
            ),
            security_group_ids=[group.attr_group_id],
            kms_key_id=_parameter(self, f"{parameter_prefix}/baseline/storage-key-arn"),
            volume_size_in_gb=volume.value_as_number,
            platform_identifier="notebook-al2-v3",
        )


class FeatureGroupProduct(PortableProductStack):
    """A feature group in the data account's central store, online and offline, encrypted."""

    def __init__(self, scope: Construct, construct_id: str, *, parameter_prefix: str, name_prefix: str) -> None:
        super().__init__(scope, construct_id, description="Feature group in the central Feature Store")
        name = cdk.CfnParameter(
            self,
            "FeatureGroupName",
            type="String",
            description=f"Name after the '{name_prefix}-' prefix",
            allowed_pattern=r"^[a-z0-9](-*[a-z0-9]){1,40}$",
        )
        table = cdk.CfnParameter(
            self,
            "TableName",
            type="String",
            description="Offline store table in the Feature Store database",
            allowed_pattern=r"^[a-z][a-z0-9_]{1,80}$",
        )
        record = cdk.CfnParameter(self, "RecordIdentifier", type="String", allowed_pattern=r"^[a-zA-Z0-9]\w{0,63}$")
        event_time = cdk.CfnParameter(self, "EventTime", type="String", allowed_pattern=r"^[a-zA-Z0-9]\w{0,63}$")
        ttl = cdk.CfnParameter(
            self, "OnlineTtlDays", type="Number", default=365, min_value=1, max_value=3650, description="Online TTL"
        )
        definitions: list[Any] = [
            sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                feature_name=record.value_as_string, feature_type="String"
            ),
            sagemaker.CfnFeatureGroup.FeatureDefinitionProperty(
                feature_name=event_time.value_as_string, feature_type="String"
            ),
        ]
        for index in range(1, MAX_FEATURES + 1):
            feature = cdk.CfnParameter(
                self,
                f"Feature{index}Name",
                type="String",
                default="",
                allowed_pattern=r"^([a-zA-Z0-9]\w{0,63})?$",
                description=f"Feature {index} (leave empty for none)",
            )
            kind = cdk.CfnParameter(
                self, f"Feature{index}Type", type="String", default="String", allowed_values=list(FEATURE_TYPES)
            )
            defined = cdk.CfnCondition(
                self,
                f"HasFeature{index}",
                expression=cdk.Fn.condition_not(cdk.Fn.condition_equals(feature.value_as_string, "")),
            )
            definitions.append(
                cdk.Fn.condition_if(
                    defined.logical_id,
                    {"FeatureName": feature.value_as_string, "FeatureType": kind.value_as_string},
                    cdk.Aws.NO_VALUE,
                )
            )
        store = f"{parameter_prefix}/feature-store"
        key_arn = _parameter(self, f"{store}/key-arn")
        group = sagemaker.CfnFeatureGroup(
            self,
            "FeatureGroup",
            feature_group_name=cdk.Fn.join("-", [name_prefix, name.value_as_string]),
            record_identifier_feature_name=record.value_as_string,
            event_time_feature_name=event_time.value_as_string,
            feature_definitions=definitions,
            online_store_config=online_store(key_arn, ttl_days=None)
            | {"TtlDuration": {"Unit": "Days", "Value": ttl.value_as_number}},
            offline_store_config=offline_store(
                _parameter(self, f"{store}/offline-uri"),
                key_arn,
                _parameter(self, f"{store}/database"),
                table.value_as_string,
            ),
            role_arn=_parameter(self, f"{store}/store-role-arn"),
        )
        # The records are the data: terminating the product keeps the group.
        group.apply_removal_policy(cdk.RemovalPolicy.RETAIN)


class MlopsProjectProduct(PortableProductStack):
    """A SageMaker project: a model package group; the build pipeline that runs the project's
    repository (CodeConnections source, then CodeBuild upserting and starting its SageMaker
    pipeline); the approval rules that report every decision on the group and start the deploy
    pipeline on approvals (staging, a person's approval, production)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        parameter_prefix: str,
        name_prefix: str,
        team_role_prefix: str,
        connection_arn: str,
        serving_account_ids: list[str],
        build_role_name: str,
        pipeline_role_name: str,
        trigger_role_name: str,
    ) -> None:
        super().__init__(scope, construct_id, description="MLOps project: build, train, register, approve, deploy")
        project = cdk.CfnParameter(
            self, "SageMakerProjectName", type="String", allowed_pattern=r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,31}$"
        )
        project_id = cdk.CfnParameter(self, "SageMakerProjectId", type="String", allowed_pattern=r"^[a-z0-9-]{1,20}$")
        repository = cdk.CfnParameter(
            self,
            "RepositoryId",
            type="String",
            allowed_pattern=r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$",
            description="owner/name",
        )
        branch = cdk.CfnParameter(self, "Branch", type="String", default="main")
        connection = cdk.CfnParameter(
            self, "ConnectionArn", type="String", default=connection_arn, description="CodeConnections connection"
        )
        pipeline_role = _role_arn_parameter(self, team_role_prefix, "The team's SageMaker pipeline execution role")
        name = cdk.Fn.join("-", [name_prefix, project.value_as_string])
        registry = ModelPackageGroup(
            self, "Registry", name=name, description="Models of the project", serving_account_ids=serving_account_ids
        )
        key = kms.Key.from_key_arn(self, "StorageKey", _parameter(self, f"{parameter_prefix}/baseline/storage-key-arn"))
        access_logs = s3.Bucket.from_bucket_name(
            self, "AccessLogs", _parameter(self, f"{parameter_prefix}/baseline/access-logs-bucket")
        )
        artifacts = SecureBucket(self, "Artifacts", encryption_key=key, access_logs=access_logs)
        build_role = _launch_account_role(self, "BuildRole", build_role_name)
        variables = {
            "SAGEMAKER_PROJECT_NAME": project.value_as_string,
            "SAGEMAKER_PROJECT_ID": project_id.value_as_string,
            "MODEL_PACKAGE_GROUP_NAME": name,
            "SAGEMAKER_PIPELINE_ROLE_ARN": pipeline_role.value_as_string,
            "ARTIFACT_BUCKET": artifacts.bucket_name,
        }

        def build_project(construct_id: str, purpose: str, buildspec: str) -> codebuild.PipelineProject:
            project = codebuild.PipelineProject(
                self,
                construct_id,
                project_name=cdk.Fn.join("-", [name, purpose]),
                description=f"Runs the project repository's {buildspec}",
                role=build_role,
                encryption_key=key,
                build_spec=codebuild.BuildSpec.from_source_filename(buildspec),
                environment=codebuild.BuildEnvironment(build_image=codebuild.LinuxBuildImage.STANDARD_7_0),
                environment_variables={
                    key: codebuild.BuildEnvironmentVariable(value=value) for key, value in variables.items()
                },
            )
            # CodeBuild's default, stated (AWS Control Tower's CT.CODEBUILD.PR.3): build logs go to
            # the account's /aws/codebuild/<project> group. Set on the resource: CDK's logging
            # option would add a log resource policy naming the synthesizing account.
            cast(
                codebuild.CfnProject, project.node.default_child
            ).logs_config = codebuild.CfnProject.LogsConfigProperty(
                cloud_watch_logs=codebuild.CfnProject.CloudWatchLogsConfigProperty(status="ENABLED")
            )
            return project

        # Every action runs as the pipeline's own role: no per-action roles with inline policies.
        runner = _launch_account_role(self, "PipelineRole", pipeline_role_name)
        source = codepipeline.Artifact("Source")
        from_repository = codepipeline.StageProps(
            stage_name="Source",
            actions=[
                actions.CodeStarConnectionsSourceAction(
                    action_name="Repository",
                    connection_arn=connection.value_as_string,
                    owner=cdk.Fn.select(0, cdk.Fn.split("/", repository.value_as_string)),
                    repo=cdk.Fn.select(1, cdk.Fn.split("/", repository.value_as_string)),
                    branch=branch.value_as_string,
                    output=source,
                    role=runner,
                )
            ],
        )

        def pipeline(construct_id: str, purpose: str, stages: list[codepipeline.StageProps]) -> codepipeline.Pipeline:
            return codepipeline.Pipeline(
                self,
                construct_id,
                pipeline_name=cdk.Fn.join("-", [name, purpose]),
                pipeline_type=codepipeline.PipelineType.V2,
                artifact_bucket=artifacts,
                role=runner,
                stages=[from_repository, *stages],
            )

        # Model build: the repository's buildspec.yml upserts and starts the SageMaker pipeline.
        build = build_project("Build", "build", "buildspec.yml")
        pipeline(
            "ModelBuild",
            "model-build",
            [
                codepipeline.StageProps(
                    stage_name="Build",
                    actions=[actions.CodeBuildAction(action_name="Pipeline", project=build, input=source, role=runner)],
                )
            ],
        )

        # Model deploy, started by every approval: deploy/buildspec.yml deploys the group's latest
        # approved package to the project's staging endpoint, then, after a person approves, to
        # its production endpoint (STAGE tells which), in this account. Serving in the
        # organization's test and production accounts is the platform's path: models[] and endpoints[].
        deploy = build_project("Deploy", "deploy", "deploy/buildspec.yml")

        def deploy_to(stage: str, run_order: int) -> actions.CodeBuildAction:
            return actions.CodeBuildAction(
                action_name=f"Deploy-{stage}",
                project=deploy,
                input=source,
                role=runner,
                run_order=run_order,
                environment_variables={"STAGE": codebuild.BuildEnvironmentVariable(value=stage)},
            )

        deployment = pipeline(
            "ModelDeploy",
            "model-deploy",
            [
                codepipeline.StageProps(stage_name="Staging", actions=[deploy_to("staging", 1)]),
                codepipeline.StageProps(
                    stage_name="Production",
                    actions=[
                        actions.ManualApprovalAction(action_name="ApproveProduction", run_order=1, role=runner),
                        deploy_to("prod", 2),
                    ],
                ),
            ],
        )
        decisions = sns.Topic.from_topic_arn(
            self, "Alerts", _parameter(self, f"{parameter_prefix}/baseline/alerts-topic-arn")
        )
        package_decisions = events.EventPattern(
            source=["aws.sagemaker"],
            detail_type=["SageMaker Model Package State Change"],
            detail={"ModelPackageGroupName": [registry.group_name], "ModelApprovalStatus": ["Approved", "Rejected"]},
        )
        events.Rule(
            self,
            "ApprovalDecisions",
            description="Reports every approval decision on the project's model packages",
            event_pattern=package_decisions,
            targets=[targets.SnsTopic(decisions)],
        )
        # The pipeline by an ARN of the launch account (its own ARN would name the account that
        # synthesized the product); the rule still waits for it.
        deploy_target = codepipeline.Pipeline.from_pipeline_arn(
            self, "DeployTarget", in_this_account("codepipeline", deployment.pipeline_name)
        )
        approvals = events.Rule(
            self,
            "Approvals",
            description="Deploys every approved model package of the project",
            event_pattern=events.EventPattern(
                source=package_decisions.source,
                detail_type=package_decisions.detail_type,
                detail={"ModelPackageGroupName": [registry.group_name], "ModelApprovalStatus": ["Approved"]},
            ),
            targets=[
                targets.CodePipeline(
                    deploy_target, event_role=_launch_account_role(self, "TriggerRole", trigger_role_name)
                )
            ],
        )
        approvals.node.add_dependency(deployment)
