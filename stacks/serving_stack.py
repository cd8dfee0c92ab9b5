"""Serving in ml-test and ml-prod accounts.

- `ServingStack` (the platform deploys it, stage `<Account>Serving`): what every endpoint and
  batch job of the account shares: the serving key, the data-capture bucket, the model
  execution role, the endpoints' security group, the smoke-test role (test accounts), a
  dashboard of every endpoint, and for batch jobs their bucket and pipelines' role. It
  publishes the generated ids as SSM parameters.
- `EndpointStack` (stage `<Account>Endpoints`, one stack per endpoint): deployed only by the
  model's deployment pipeline, which passes the approved model package as the stack
  parameter `ModelPackageArn`, so CloudFormation owns every endpoint and each update is a
  blue/green deployment that rolls back on alarms. An endpoint with a challenger (a second
  instance variant or a shadow) serves that package beside the current champion, whose package
  is the parameter `ChampionModelPackageArn`. A monitored production endpoint also takes the
  drift-check baselines of the package it monitors against (`REGISTERED_BASELINES`; with a
  challenger, the champion's), so monitoring compares with what the served model was trained
  on, and nothing else moves it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs import endpoint as serving
from ml_constructs import model_monitor
from ml_constructs.arns import in_this_account
from ml_constructs.dead_letters import alarmed_dead_letter_queue
from ml_constructs.encryption import PurposeKey
from ml_constructs.network import allow_https_to_aws
from ml_constructs.personas import CLARIFY_SHADOW_ENDPOINTS
from ml_constructs.roles import managed_policies, role_with_managed_policy
from ml_constructs.sagemaker_model import ModelArchive, ModelSource, MultiModelSource
from ml_constructs.sagemaker_permissions import ecr_token, sagemaker_metrics, vpc_network_interfaces
from ml_constructs.serving_dashboard import EndpointPanel, ServingDashboard
from ml_constructs.storage import SecureBucket
from ml_pipelines.packaging import SERVING_ENVIRONMENT
from ml_pipelines.templates import (
    MULTI_MODEL,
    REGISTERED_BASELINES,
    RUNS,
    baseline_files,
    clarify_images,
    container_images,
    model_archives,
    model_monitor_images,
)
from stacks import console_links, imports, naming
from stacks import monitoring as monitoring_config
from stacks.config import OrgConfig, Role
from stacks.config.models import BatchInference, Endpoint, Model, Served
from stacks.platform_stack import PlatformStack

PACKAGE_PARAMETER = "ModelPackageArn"
CHAMPION = "Champion"
"""The prefix of the champion's counterpart of a deployment variable (its package, its baselines)."""
CHAMPION_PARAMETER = f"{CHAMPION}{PACKAGE_PARAMETER}"
MONITOR_BASELINES = {
    "data_quality": ("DataQualityStatisticsUri", "DataQualityConstraintsUri"),
    "bias": ("BiasConfigUri", "BiasConstraintsUri"),
    "feature_attribution": ("ExplainabilityConfigUri", "ExplainabilityConstraintsUri"),
}
"""What each monitor (a `monitoring` key) reads of the package's REGISTERED_BASELINES."""


def batch_locations(config: OrgConfig, served: Served[BatchInference]) -> tuple[str, str]:
    """The input and output prefixes of a batch job's deployment: those of the config in
    production; in test, and by default, the folders of its deployed name in the account's
    batch bucket, so a test run never reads or writes production data (in an account that
    holds both, the test deployment's name is qualified)."""
    account = config.accounts[served.placement.account]
    bucket = naming.bucket_name(config.organization.name, "batch-inference", account.id, config.region_of(account))
    default_input, default_output = f"s3://{bucket}/{served.name}/input/", f"s3://{bucket}/{served.name}/output/"
    if not served.placement.production:
        return default_input, default_output
    job = served.item
    return job.input_uri or default_input, job.output_uri or default_output


def smoke_tested_endpoints(config: OrgConfig, account_name: str) -> list[str] | None:
    """The endpoints the account's smoke-test role may describe and invoke: None where the
    account holds no test deployment of an endpoint (no role); every endpoint of the platform
    where it holds no production deployment either; else the test deployments' names only,
    so that the smoke test never reaches a production endpoint."""
    served = config.endpoints_served_in(account_name)
    tested = [naming.endpoint_name(config.organization.name, s.name) for s in served if not s.placement.production]
    if not tested:
        return None
    if not any(s.placement.production for s in served):
        return [f"{config.organization.name}-*"]
    return tested


def model_package_pattern(config: OrgConfig, model_name: str) -> str:
    """The packages a stack of the model may be given: a version of the model's own group, in
    its registry account (the deploy preflight derives what CloudFormation reads from it)."""
    model = next(model for model in config.models if model.name == model_name)
    registry, region = config.registry_of(model)
    group = naming.model_package_group_name(config.organization.name, model.name)
    return rf"^arn:aws:sagemaker:{region}:{registry.id}:model-package/{re.escape(group)}/\d+$"


def multi_model_prefix(config: OrgConfig, endpoint: Endpoint) -> str:
    """The default home of a multi-model endpoint's archives: its model's multi-model/ prefix in
    the registry's artifacts bucket, which the team's pipelines may write and serving may read."""
    model = next(model for model in config.models if model.name == endpoint.model)
    return f"s3://{_artifacts_bucket(config, model)}/{model.name}/{MULTI_MODEL}/"


def _artifacts_bucket(config: OrgConfig, model: Model) -> str:
    dev, dev_region = config.registry_of(model)
    return naming.model_artifacts_bucket(config.organization.name, dev.id, dev_region)


def _artifacts(config: OrgConfig, model: Model, keys: Sequence[str]) -> list[str]:
    """The ARNs of `keys` (patterns) in the artifacts bucket of `model`'s registry."""
    return [f"arn:{cdk.Aws.PARTITION}:s3:::{_artifacts_bucket(config, model)}/{key}" for key in keys]


ARCHIVE_COPY_TOKEN = "model-archive-copy-service-token"
"""The serving parameter of a recovery region that names the model archive copy provider."""


def serving_parameter(organization: str, name: str) -> str:
    return naming.ssm_parameter_name(organization, "serving", name)


def add_serving_foundation(
    stack: cdk.Stack, org: str, account_id: str, vpc_cidr: str, keep: cdk.RemovalPolicy
) -> tuple[PurposeKey, SecureBucket, ec2.SecurityGroup]:
    """What every endpoint of an account and region shares: the serving key, the data-capture
    bucket and the endpoints' security group, published as SSM parameters for the endpoint
    stacks (their construct ids, and so logical ids, are the same in every region)."""
    key = PurposeKey(
        stack,
        "ServingKey",
        alias=naming.key_alias(org, "serving"),
        description="Endpoint volumes and captured inference data",
        removal_policy=keep,
    )
    key.allow_cloudwatch_logs()
    data_capture = SecureBucket(
        stack,
        "DataCapture",
        bucket_name=naming.bucket_name(org, "data-capture", account_id, stack.region),
        encryption_key=key,
        access_logs=imports.access_log_bucket(stack, "AccessLogs", org),
    )
    vpc = imports.baseline_vpc(stack, "Vpc", org, vpc_cidr, with_subnets=False)
    security_group = ec2.SecurityGroup(
        stack, "EndpointSecurityGroup", vpc=vpc, description="Endpoints", allow_all_outbound=False
    )
    # Isolated containers make no calls; SageMaker moves models, captured data and batch
    # inputs and outputs to and from S3 through the VPC on their behalf.
    allow_https_to_aws(security_group)
    for name, value in (("key-arn", key.key_arn), ("security-group-id", security_group.security_group_id)):
        ssm.StringParameter(
            stack,
            f"Parameter-{name}",
            parameter_name=serving_parameter(org, name),
            string_value=value,
            description="Read by the account's endpoint stacks at deploy time",
        )
    return key, data_capture, security_group


def endpoint_runtime_statements(
    data_capture: s3.IBucket, key: kms.IKey, other_log_groups: Sequence[str] = ()
) -> list[iam.PolicyStatement]:
    """What the model execution role does with a region's serving resources while endpoints
    run: capture data, use the serving key, write logs (and to `other_log_groups`)."""
    return [
        iam.PolicyStatement(
            sid="CaptureData", actions=["s3:PutObject"], resources=[data_capture.arn_for_objects("endpoints/*")]
        ),
        serving_key_use(key),
        iam.PolicyStatement(
            sid="EndpointLogs",
            actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[in_this_account("logs", "log-group:/aws/sagemaker/Endpoints/*"), *other_log_groups],
        ),
    ]


def serving_key_use(key: kms.IKey) -> iam.PolicyStatement:
    """What endpoints and Model Monitor do with the serving key."""
    return iam.PolicyStatement(
        sid="ServingKey",
        actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:CreateGrant", "kms:DescribeKey"],
        resources=[key.key_arn],
    )


class ServingStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, account_name: str) -> None:
        org = config.organization.name
        account = config.accounts[account_name]
        assert account.network is not None
        production = account.is_production
        keep = cdk.RemovalPolicy.RETAIN if production else cdk.RemovalPolicy.DESTROY
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "serving"),
            description="ML platform serving: key, data capture, model execution role, dashboard",
            availability_zone_count=account.network.availability_zones,
            termination_protection=production,
        )
        served = config.endpoints_served_in(account_name)
        batch_jobs = config.batch_jobs_served_in(account_name)
        self.key, self.data_capture, self.security_group = add_serving_foundation(
            self, org, account.id, account.network.cidr, keep
        )
        self.model_role = role_with_managed_policy(
            self,
            "ModelExecution",
            role_name=naming.role_name(org, naming.MODEL_EXECUTION_ROLE),
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Endpoints: read approved models from their registries, capture data, write logs",
            statements=self._model_statements(config, served, [job.model for job in batch_jobs]),
        )
        if batch_jobs:
            self._batch_inference(config, account_name, batch_jobs)
        tested = smoke_tested_endpoints(config, account_name)
        if tested is not None:
            self._smoke_test_role(config, account_name, tested)
        monitored = [s for s in served if s.placement.production and s.item.monitoring is not None]
        if monitored:
            self._monitoring(config, monitored)
        dashboard_name = naming.stack_name(org, "endpoints")
        console_links.publish(
            self,
            "The account's endpoints: invocations, latency, errors and instances per variant",
            console_links.dashboard_console(self.region, dashboard_name),
            "DashboardUrl",
        )
        ServingDashboard(
            self,
            "Dashboard",
            dashboard_name=dashboard_name,
            panels=[
                EndpointPanel(
                    endpoint_name=naming.endpoint_name(org, s.name),
                    variants=[variant.name for variant in s.item.variants] or ["serverless"],
                )
                for s in served
            ],
        )

    def _model_statements(
        self, config: OrgConfig, served: list[Served[Endpoint]], batch_models: list[Model]
    ) -> list[iam.PolicyStatement]:
        org = config.organization.name
        models = list({model.name: model for model in [*(s.model for s in served), *batch_models]}.values())
        registries = sorted({config.teams[model.team].accounts.dev for model in models})
        # The models of the served packages and the multi-model archives, never training data.
        artifacts = [arn for model in models for arn in _artifacts(config, model, model_archives(model.name))]
        keys = []
        repositories = []
        for name in registries:
            dev = config.accounts[name]
            dev_region = config.region_of(dev)
            keys.append(f"arn:{cdk.Aws.PARTITION}:kms:{dev_region}:{dev.id}:key/*")
            repositories += [
                f"arn:{cdk.Aws.PARTITION}:ecr:{dev_region}:{dev.id}:repository/{org}/{model.name}"
                for model in models
                if config.teams[model.team].accounts.dev == name
            ]
        # Multi-model archives, by default in the registry (kept elsewhere, their buckets' keys
        # must admit this role).
        artifacts += sorted(
            {
                f"arn:{cdk.Aws.PARTITION}:s3:::"
                f"{(s.item.multi_model.models_uri or multi_model_prefix(config, s.item)).removeprefix('s3://')}*"
                for s in served
                if s.item.multi_model is not None
            }
        )
        return [
            iam.PolicyStatement(sid="ReadApprovedModels", actions=["s3:GetObject"], resources=artifacts),
            self._decrypt_through_s3(keys),
            iam.PolicyStatement(
                sid="PullModelImages",
                actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                # The registries' own images and SageMaker's framework images (AWS-owned accounts).
                resources=[*repositories, f"arn:{cdk.Aws.PARTITION}:ecr:{self.region}:*:repository/sagemaker-*"],
            ),
            ecr_token(),
            *endpoint_runtime_statements(
                self.data_capture,
                self.key,
                [in_this_account("logs", "log-group:/aws/sagemaker/TransformJobs*")] if batch_models else [],
            ),
            sagemaker_metrics("EndpointMetrics"),
            vpc_network_interfaces("EndpointNetworkInterfaces"),
        ]

    def _batch_inference(self, config: OrgConfig, account_name: str, jobs: list[Served[BatchInference]]) -> None:
        """The batch jobs' bucket, the model role's access to their locations, and the role their
        pipelines start transform jobs with."""
        org = config.organization.name
        account = config.accounts[account_name]
        SecureBucket(
            self,
            "BatchInference",
            bucket_name=naming.bucket_name(org, "batch-inference", account.id, config.region_of(account)),
            encryption_key=self.key,
            access_logs=imports.access_log_bucket(self, "BatchAccessLogs", org),
        )
        locations = [batch_locations(config, job) for job in jobs]
        inputs = sorted({input_uri.removeprefix("s3://") for input_uri, _ in locations})
        outputs = sorted({output_uri.removeprefix("s3://") for _, output_uri in locations})
        buckets: dict[str, list[str]] = {}
        for prefix in inputs:
            bucket, _, key = prefix.partition("/")
            buckets.setdefault(bucket, []).append(f"{key}*")
        locations_policies = managed_policies(
            self,
            "BatchLocations",
            description="Transform jobs: read their inputs, write their results",
            statements=[
                iam.PolicyStatement(
                    sid="ReadInputs",
                    actions=["s3:GetObject"],
                    resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{prefix}*" for prefix in inputs],
                ),
                *(
                    iam.PolicyStatement(
                        sid=f"ListInputs{index}",
                        actions=["s3:ListBucket"],
                        resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}"],
                        conditions={"StringLike": {"s3:prefix": prefixes}},
                    )
                    for index, (bucket, prefixes) in enumerate(sorted(buckets.items()))
                ),
                iam.PolicyStatement(
                    sid="WriteResults",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[f"arn:{cdk.Aws.PARTITION}:s3:::{prefix}*" for prefix in outputs],
                ),
                # Locations of the config in other buckets of this account, under their own keys.
                iam.PolicyStatement(
                    sid="LocationKeysThroughS3",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[in_this_account("kms", "key/*")],
                    conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
                ),
            ],
        )
        for policy in locations_policies:
            self.model_role.add_managed_policy(policy)
        role_with_managed_policy(
            self,
            "BatchPipeline",
            role_name=naming.role_name(org, naming.BATCH_PIPELINE_ROLE),
            assumed_by=iam.ServicePrincipal(
                "sagemaker.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": account.id}}
            ),
            description="Batch inference pipelines: run transform jobs as the model execution role",
            statements=[
                iam.PolicyStatement(
                    sid="TransformJobs",
                    actions=[
                        "sagemaker:CreateTransformJob",
                        "sagemaker:DescribeTransformJob",
                        "sagemaker:StopTransformJob",
                        "sagemaker:AddTags",
                    ],
                    # SageMaker Pipelines names its jobs pipelines-<execution>-<step>-<suffix>.
                    resources=[in_this_account("sagemaker", "transform-job/pipelines-*")],
                ),
                iam.PolicyStatement(
                    sid="RunAsTheModelRole",
                    actions=["iam:PassRole"],
                    resources=[self.model_role.role_arn],
                    conditions={"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
                ),
            ],
        )

    def _decrypt_through_s3(self, registry_keys: list[str]) -> iam.PolicyStatement:
        """The registries' models keys, whose ids this account cannot know; only as S3 decrypts."""
        return iam.PolicyStatement(
            sid="DecryptModelsThroughS3",
            actions=["kms:Decrypt"],
            resources=registry_keys,
            conditions={"StringEquals": {"kms:ViaService": f"s3.{self.region}.amazonaws.com"}},
        )

    def _monitoring(self, config: OrgConfig, monitored: list[Served[Endpoint]]) -> None:
        """Model Monitor's role (monitored: the production deployments with monitoring), and word
        on the alerts topic of every monitoring run that fails or finds violations."""
        org = config.organization.name
        baselines, keys = [], []
        for model in (s.model for s in monitored):
            dev, dev_region = config.registry_of(model)
            baselines += _artifacts(config, model, baseline_files(model.name))
            keys.append(f"arn:{cdk.Aws.PARTITION}:kms:{dev_region}:{dev.id}:key/*")
        role_with_managed_policy(
            self,
            "ModelMonitor",
            role_name=naming.role_name(org, naming.MODEL_MONITOR_ROLE),
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description="Model Monitor: read captured data, ground truth and baselines, write reports",
            statements=[
                iam.PolicyStatement(
                    sid="CapturedDataAndGroundTruth",
                    actions=["s3:GetObject"],
                    resources=[
                        self.data_capture.arn_for_objects("endpoints/*"),
                        self.data_capture.arn_for_objects("ground-truth/*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="Reports",
                    actions=["s3:PutObject"],
                    resources=[self.data_capture.arn_for_objects("monitoring/*")],
                ),
                iam.PolicyStatement(
                    sid="ListCaptured",
                    actions=["s3:ListBucket"],
                    resources=[self.data_capture.bucket_arn],
                ),
                iam.PolicyStatement(sid="Baselines", actions=["s3:GetObject"], resources=sorted(set(baselines))),
                self._decrypt_through_s3(sorted(set(keys))),
                serving_key_use(self.key),
                ecr_token(),
                vpc_network_interfaces("EndpointNetworkInterfaces"),
                iam.PolicyStatement(
                    sid="AnalyzerImage",
                    actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    resources=[
                        f"arn:{cdk.Aws.PARTITION}:ecr:{self.region}:*:repository/{repository}"
                        for repository in ("sagemaker-model-monitor-analyzer", "sagemaker-clarify-processing")
                    ],
                ),
                iam.PolicyStatement(
                    sid="MonitoringLogs",
                    actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"],
                    resources=[in_this_account("logs", "log-group:/aws/sagemaker/ProcessingJobs*")],
                ),
                iam.PolicyStatement(
                    sid="MonitoringMetrics",
                    actions=["cloudwatch:PutMetricData"],
                    resources=["*"],
                    conditions={"StringLike": {"cloudwatch:namespace": ["aws/sagemaker/Endpoints/*"]}},
                ),
                *self._clarify_shadow_endpoints(
                    [
                        naming.endpoint_name(org, s.name)
                        for s in monitored
                        if s.item.monitoring is not None and s.item.monitoring.feature_attribution is not None
                    ]
                ),
            ],
        )
        events.Rule(
            self,
            "MonitoringRuns",
            description="Model Monitor runs that failed or found violations",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=["SageMaker Processing Job State Change"],
                detail={
                    "ProcessingJobName": [{"prefix": "model-monitoring-"}],
                    "$or": [
                        {"ProcessingJobStatus": ["Failed", "Stopped"]},
                        {"ExitMessage": [{"prefix": "CompletedWithViolations"}]},
                    ],
                },
            ),
            targets=[
                targets.SnsTopic(
                    imports.alerts_topic(self, "Alerts", org),
                    message=events.RuleTargetInput.from_text(
                        f"Model Monitor run {events.EventField.from_path('$.detail.ProcessingJobName')}: "
                        f"{events.EventField.from_path('$.detail.ProcessingJobStatus')} "
                        f"{events.EventField.from_path('$.detail.ExitMessage')}"
                    ),
                )
            ],
        )

    @staticmethod
    def _clarify_shadow_endpoints(endpoints: list[str]) -> list[iam.PolicyStatement]:
        """Feature-attribution monitoring of `endpoints`: Clarify looks up the model each one
        serves, serves it from a shadow endpoint of its own (sm-clarify-*) for the length of
        the job, invokes that, and deletes it."""
        if not endpoints:
            return []
        return [
            iam.PolicyStatement(
                sid="ClarifyShadowEndpoints",
                actions=[
                    "sagemaker:CreateEndpointConfig",
                    "sagemaker:CreateEndpoint",
                    "sagemaker:DescribeEndpointConfig",
                    "sagemaker:DescribeEndpoint",
                    "sagemaker:InvokeEndpoint",
                    "sagemaker:DeleteEndpoint",
                    "sagemaker:DeleteEndpointConfig",
                ],
                resources=[
                    in_this_account("sagemaker", f"{kind}/{CLARIFY_SHADOW_ENDPOINTS}")
                    for kind in ("endpoint", "endpoint-config")
                ],
            ),
            iam.PolicyStatement(
                sid="ClarifyFindsTheServedModel",
                actions=["sagemaker:DescribeEndpoint"],
                resources=[in_this_account("sagemaker", f"endpoint/{name}") for name in endpoints],
            ),
            iam.PolicyStatement(
                sid="ClarifyReadsTheServedModel",
                actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
                # CloudFormation names the configs and models of each deployment.
                resources=[in_this_account("sagemaker", f"{kind}/*") for kind in ("endpoint-config", "model")],
            ),
        ]

    def _smoke_test_role(self, config: OrgConfig, account_name: str, endpoints: list[str]) -> None:
        """`endpoints`: the names (or pattern) of the endpoints it may test (smoke_tested_endpoints)."""
        org = config.organization.name
        tooling_name, tooling = config.account_with(Role.SHARED_SERVICES)
        tester = f"arn:{cdk.Aws.PARTITION}:iam::{tooling.id}:role/{naming.role_name(org, naming.SMOKE_TEST_ROLE)}"
        role_with_managed_policy(
            self,
            "SmokeTest",
            role_name=naming.smoke_test_role(org, account_name, tooling_name),
            # By name, not by principal ARN: IAM would insist the tooling role exist first.
            assumed_by=iam.AccountPrincipal(tooling.id).with_conditions({"ArnEquals": {"aws:PrincipalArn": tester}}),
            description="The deployment pipelines' smoke test: describe and invoke the platform's endpoints",
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeEndpoint", "sagemaker:InvokeEndpoint"],
                    resources=[in_this_account("sagemaker", f"endpoint/{name}") for name in endpoints],
                ),
                iam.PolicyStatement(
                    sid="WhichPackageServes",
                    actions=["sagemaker:DescribeEndpointConfig", "sagemaker:DescribeModel"],
                    # CloudFormation names the configs and models of each deployment.
                    resources=[in_this_account("sagemaker", f"{kind}/*") for kind in ("endpoint-config", "model")],
                ),
            ],
        )


class EndpointStack(PlatformStack):
    """One deployment of an endpoint, serving the model package the stack parameter names."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgConfig,
        served: Served[Endpoint],
        recovery: bool = False,
    ) -> None:
        """`served`: the endpoint in its test or production placement, which decides how it
        serves (working hours, monitoring); the account decides what is retained.
        `recovery`: the standby copy of the production endpoint in its recovery region
        (stacks.recovery_stack): the package's archive copied into the region, no traffic
        expected, no monitoring."""
        org = config.organization.name
        endpoint = served.item
        account = config.accounts[served.placement.account]
        assert account.network is not None
        production = served.placement.production
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "endpoint", served.name),
            description=f"ML platform endpoint {served.name}{' (recovery standby)' if recovery else ''}: "
            "deployed by its model's deployment pipeline",
            availability_zone_count=account.network.availability_zones,
            termination_protection=account.is_production,
        )
        self.deployment_parameters: list[str] = []
        """The stack parameters the deployment pipeline sets from its variables."""
        # A multi-model endpoint serves the archives of its prefix, not one package: its stack
        # takes no package and its deployments leave it as it is.
        package = (
            self.deployment_parameter(
                PACKAGE_PARAMETER,
                model_package_pattern(config, endpoint.model),
                "The approved model package to serve (set by the deployment pipeline)",
            )
            if endpoint.multi_model is None
            else None
        )
        self.follows_champion = endpoint.has_challenger
        """Whether the endpoint serves a champion beside the package: then its champion and the
        baselines its monitoring compares with are the champion's until a promotion."""
        assert not (self.follows_champion and recovery), "config rules: a standby serves one package"
        champion = (
            self.deployment_parameter(
                CHAMPION_PARAMETER,
                model_package_pattern(config, endpoint.model),
                f"The package the first variant ({endpoint.variants[0].name}) serves: the current champion "
                "(set by the deployment pipeline)",
            )
            if self.follows_champion
            else None
        )
        capture_bucket = naming.bucket_name(org, "data-capture", account.id, self.region)
        key = imports.key_from_parameter(self, "ServingKey", serving_parameter(org, "key-arn"))
        model: ModelSource
        copy = None
        if package is None:
            model = self._multi_model_source(config, endpoint)
        elif recovery:
            model, copy = self._copied_archive(config, endpoint, package, key)
        else:
            model = package
        self.endpoint = serving.ModelEndpoint(
            self,
            "Endpoint",
            endpoint_name=naming.endpoint_name(org, served.name),
            model=model,
            champion=champion,
            execution_role_arn=f"arn:{cdk.Aws.PARTITION}:iam::{account.id}:role/"
            f"{naming.role_name(org, naming.MODEL_EXECUTION_ROLE)}",
            subnet_ids=imports.private_subnet_ids(self, org, account.network.availability_zones),
            security_group_ids=[
                ssm.StringParameter.value_for_string_parameter(self, serving_parameter(org, "security-group-id"))
            ],
            key=key,
            alarm_topic=imports.alerts_topic(self, "Alerts", org),
            latency_slo_ms=endpoint.latency_slo_ms,
            traffic_shift=serving.TrafficShift(
                endpoint.deployment.strategy, endpoint.deployment.step_percent, endpoint.deployment.wait_minutes
            ),
            variants=[
                serving.InstanceVariant(
                    variant.name,
                    variant.instance_type,
                    variant.weight,
                    variant.min_capacity,
                    variant.max_capacity,
                    variant.max_rps_per_instance,
                )
                for variant in endpoint.variants
            ],
            serverless=serving.ServerlessVariant(
                endpoint.serverless.memory_mb,
                endpoint.serverless.max_concurrency,
                endpoint.serverless.provisioned_concurrency,
            )
            if endpoint.serverless
            else None,
            shadow=serving.ShadowVariant(
                endpoint.shadow.name,
                endpoint.shadow.instance_type,
                endpoint.shadow.instance_count,
                endpoint.shadow.sampling_percent,
            )
            if endpoint.shadow
            else None,
            data_capture=serving.DataCapture(
                destination=f"s3://{capture_bucket}/endpoints/{served.name}",
                sampling_percent=endpoint.data_capture.sampling_percent,
            )
            if endpoint.data_capture.sampling_percent > 0
            else None,
            scaling=serving.Scaling(
                endpoint.scaling.metric,
                endpoint.scaling.safety_factor,
                endpoint.scaling.scale_out_cooldown_seconds,
                endpoint.scaling.scale_in_cooldown_seconds,
            ),
            working_hours=None
            if production
            else serving.WorkingHours(
                endpoint.working_hours.start_hour,
                endpoint.working_hours.end_hour,
                endpoint.working_hours.days,
                endpoint.working_hours.timezone,
            ),
            # A standby gets traffic only when clients fail over; the config's rollback alarms
            # live in the primary region.
            expects_traffic=production and not recovery,
            rollback_alarm_names=() if recovery else endpoint.deployment.rollback_alarms,
        )
        if copy is not None:
            self.endpoint.model.node.add_dependency(copy)
        if production:
            # The endpoint keeps serving if its stack goes; configs and models are replaced by
            # every deployment and would only pile up if retained.
            self.endpoint.endpoint.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        if production and endpoint.monitoring is not None and not recovery:
            self._monitor(config, served, key, capture_bucket)
        cdk.Tags.of(self).add("platform:endpoint", endpoint.name)

    def deployment_parameter(self, name: str, pattern: str, description: str, constraint: str | None = None) -> str:
        """A stack parameter the deployment pipeline sets from its variable `name`."""
        self.deployment_parameters.append(name)
        parameter = cdk.CfnParameter(
            self,
            name,
            type="String",
            allowed_pattern=pattern,
            description=description,
            constraint_description=constraint,
        )
        return parameter.value_as_string

    def _multi_model_source(self, config: OrgConfig, endpoint: Endpoint) -> MultiModelSource:
        assert endpoint.multi_model is not None
        return MultiModelSource(
            # The framework the platform's pipelines train with; its serving stack loads models on demand.
            image_uri=container_images()[self.region],
            models_uri=endpoint.multi_model.models_uri or multi_model_prefix(config, endpoint),
        )

    def _copied_archive(
        self, config: OrgConfig, endpoint: Endpoint, package_arn: str, key: kms.IKey
    ) -> tuple[ModelArchive, Construct]:
        """The package's model archive, copied at deploy time from its registry's region into
        this region's recovery-models bucket by the recovery serving stack's provider
        (stacks.recovery_stack), run by the platform's framework image of this region with the
        environment the pipelines register."""
        model = next(model for model in config.models if model.name == endpoint.model)
        _, dev_region = config.registry_of(model)
        copy = cdk.CustomResource(
            self,
            "ModelArchive",
            service_token=ssm.StringParameter.value_for_string_parameter(
                self, serving_parameter(config.organization.name, ARCHIVE_COPY_TOKEN)
            ),
            resource_type="Custom::ModelArchiveCopy",
            properties={
                "ModelPackageArn": package_arn,
                "Bucket": naming.bucket_name(
                    config.organization.name, naming.RECOVERY_MODELS, self.account, self.region
                ),
                "KeyArn": key.key_arn,
                # What the platform's pipelines register in the registry's region.
                "ExpectedImage": container_images()[dev_region],
            },
        )
        archive = ModelArchive(
            image_uri=container_images()[self.region],
            model_data_url=copy.get_att_string("ModelDataUrl"),
            environment=SERVING_ENVIRONMENT,
        )
        return archive, copy

    def _monitor(self, config: OrgConfig, served: Served[Endpoint], key: kms.IKey, capture_bucket: str) -> None:
        """Model Monitor's schedules and the alarms of a production endpoint (under its own name in
        every layout: stacks.monitoring names them so); the retraining alarms go to the model's
        ml-dev account."""
        org = config.organization.name
        endpoint, model = served.item, served.model
        account = config.accounts[served.placement.account]
        assert account.network is not None and endpoint.monitoring is not None
        assert served.name == endpoint.name, "production deployments keep their names"
        monitoring = endpoint.monitoring
        dev, dev_region = config.registry_of(model)
        name = naming.endpoint_name(org, endpoint.name)
        quality = monitoring.model_quality
        specs = monitoring_config.alarm_specs(config, endpoint, model)
        region = config.region_of(account)

        def registered(monitor: str) -> tuple[str, str]:
            """The two baselines (config or statistics, then constraints) the served package
            registers for `monitor`, as stack parameters: only files of the model's own runs,
            which Model Monitor's role may read."""
            prefix = f"s3://{_artifacts_bucket(config, model)}/{model.name}/{RUNS}/"
            first, constraints = (
                self.deployment_parameter(
                    parameter,
                    f"^{re.escape(prefix)}[A-Za-z0-9-]+/{re.escape(REGISTERED_BASELINES[parameter])}$",
                    f"The {monitor.replace('_', ' ')} baseline of the served package (with a challenger, the "
                    "champion's), set by the deployment pipeline from the package's drift-check baselines",
                    f"the package must register its {monitor.replace('_', ' ')} drift-check baselines, as the "
                    f"model-build pipeline of {model.name} does"
                    + ("" if monitor == "data_quality" else " with models[].bias_check"),
                )
                for parameter in MONITOR_BASELINES[monitor]
            )
            return first, constraints

        ground_truth = f"s3://{capture_bucket}/ground-truth/{endpoint.name}/"
        monitor = model_monitor.EndpointMonitor(
            self,
            "Monitor",
            endpoint_name=name,
            endpoint=self.endpoint.endpoint,
            jobs=model_monitor.MonitoringJobs(
                role_arn=f"arn:{cdk.Aws.PARTITION}:iam::{account.id}:role/"
                f"{naming.role_name(org, naming.MODEL_MONITOR_ROLE)}",
                image_uri=model_monitor_images()[region],
                key=key,
                subnet_ids=imports.private_subnet_ids(self, org, account.network.availability_zones),
                security_group_ids=[
                    ssm.StringParameter.value_for_string_parameter(self, serving_parameter(org, "security-group-id"))
                ],
                reports_uri=f"s3://{capture_bucket}/monitoring/{endpoint.name}",
            ),
            schedule=monitoring.schedule,
            alarm_topic=imports.alerts_topic(self, "MonitorAlerts", org),
            data_quality=model_monitor.DataQuality(*registered("data_quality")) if monitoring.data_quality else None,
            model_quality=model_monitor.ModelQuality(
                quality.problem_type, quality.ground_truth_uri or ground_truth, quality.probability_threshold
            )
            if quality is not None
            else None,
            bias=model_monitor.Clarify(
                clarify_images()[region],
                *registered("bias"),
                ground_truth_uri=monitoring.bias.ground_truth_uri or ground_truth,
                probability_threshold=monitoring.bias.probability_threshold,
            )
            if monitoring.bias is not None
            else None,
            feature_attribution=model_monitor.Clarify(clarify_images()[region], *registered("feature_attribution"))
            if monitoring.feature_attribution is not None
            else None,
            alarms=specs,
        )
        retraining = [alarm for alarm, spec in zip(monitor.alarms, specs, strict=True) if spec.retrain]
        if retraining:
            self._forward_to_development(config, dev.id, dev_region, retraining)

    def _forward_to_development(
        self, config: OrgConfig, dev_account: str, dev_region: str, alarms: list[cloudwatch.Alarm]
    ) -> None:
        org = config.organization.name
        bus_arn = f"arn:{self.partition}:events:{dev_region}:{dev_account}:event-bus/{naming.drift_bus_name(org)}"
        forwarding = Construct(self, "DriftForwarding")
        dead_letters = alarmed_dead_letter_queue(
            forwarding,
            key=imports.key_from_parameter(forwarding, "Key", serving_parameter(org, "key-arn")),
            alarm_topic=imports.alerts_topic(forwarding, "Alerts", org),
            description="Drift alarms that could not reach the development account",
        )
        sender = role_with_managed_policy(
            forwarding,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "events.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": self.account}}
            ),
            description="EventBridge forwards drift alarms to the model's development account",
            statements=[iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus_arn])],
        )
        events.Rule(
            forwarding,
            "Rule",
            description="Drift alarms going into ALARM, to the model's development account",
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                resources=[alarm.alarm_arn for alarm in alarms],
                detail={"state": {"value": ["ALARM"]}},
            ),
            targets=[
                targets.EventBus(
                    events.EventBus.from_event_bus_arn(forwarding, "DevelopmentBus", bus_arn),
                    role=sender.without_policy_updates(),
                    dead_letter_queue=dead_letters,
                )
            ],
        )
