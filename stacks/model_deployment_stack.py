"""Model deployment pipelines in the shared-services account: train once, deploy everywhere.

Sharded by model (stacks.sharding.model_deployment_shards); each shard has its own artifact
bucket, key, approval topic and synth project, and the first also the shared functions.

One CodePipeline (V2) per model that has endpoints or batch inference jobs,
`<org>-<model>-deploy`, with the approved model package as its `ModelPackageArn` variable
(PIPELINE_VARIABLES: also the current champion and the baselines of both):

1. Source: the platform's repository through the CodeConnections connection of the config;
2. Synth: `make synth` of the organization's config (the same gates developers run);
3. Test: each endpoint and batch stack of the model's test deployments, in the team's ml-test
   account, with that package (CloudFormation owns the endpoint; the update is blue/green with
   rollback; creating a batch job's model checks the package), then the smoke test
   (lambda/smoke_test) against each test endpoint;
4. Approve: a manual approval, announced on an encrypted SNS topic;
5. Production: the same package, the same templates, to the production deployments in the
   ml-prod account; then each endpoint's standby in its recovery region
   (stacks.recovery_stack). A team that tests in its production account gets the same two
   stages: the test deployments there are stacks of their own (naming.deployed_name);
6. Promote (models with an endpoint that has a challenger): a second manual approval, then the
   package becomes the champion of those production endpoints (every variant serves it, and
   their monitoring compares with its baselines). The starter finds the current champion as
   the package of the latest execution that succeeded in this stage.

The deployments run as each account's CDK bootstrap roles (deploy, then CloudFormation
execution), which trust this account. A starter function (lambda/deployment_starter) turns
each request the approval functions put on the deployment bus into an execution.
"""

from __future__ import annotations

import json
from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_codebuild as codebuild
from aws_cdk import aws_codepipeline as codepipeline
from aws_cdk import aws_codepipeline_actions as actions
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.encryption import PurposeKey
from ml_constructs.function import PlatformFunction
from ml_constructs.storage import SecureBucket
from ml_pipelines.templates import REGISTERED_BASELINES
from stacks import console_links, imports, naming
from stacks.batch_inference_stack import BatchInferenceStack
from stacks.config import OrgConfig
from stacks.config.models import BatchInference, Delivery, Endpoint, Environment, Model
from stacks.platform_stack import PlatformStack
from stacks.replication_stack import artifact_stores
from stacks.serving_stack import CHAMPION, CHAMPION_PARAMETER, PACKAGE_PARAMETER, EndpointStack

PIPELINE_VARIABLES = {
    PACKAGE_PARAMETER: "The approved model package to deploy",
    CHAMPION_PARAMETER: "The package the endpoints with a challenger keep serving on their first variant",
    **{
        name: f"The package's registered {path}, for the monitoring of the endpoints that serve it"
        for name, path in REGISTERED_BASELINES.items()
    },
    **{
        f"{CHAMPION}{name}": f"The champion's registered {path}, for the monitoring of endpoints with a challenger"
        for name, path in REGISTERED_BASELINES.items()
    },
}
"""What a deployment starts with (lambda/deployment_starter): the package, the current champion
and the drift-check baselines each registers; they set the endpoint and batch stack parameters
(deployment_variable)."""
PROMOTE = "Promote"
"""The stage after which the package is its endpoints' champion."""
NOT_REGISTERED = "not-registered"
"""A baseline variable's value when the package registers no such baseline: an endpoint stack
that monitors with it refuses the value (its parameter's pattern) and says which is missing."""


class ModelDeploymentStack(PlatformStack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgConfig,
        account_name: str,
        deployment_bus: events.IEventBus,
        endpoint_stacks: dict[tuple[str, str], EndpointStack],
        batch_stacks: dict[tuple[str, str], BatchInferenceStack],
        recovery_stacks: dict[tuple[str, str], EndpointStack],
        models: list[Model],
        shard_index: int,
    ) -> None:
        """`endpoint_stacks`: the endpoint stack of each (account name, deployed name: an
        endpoint's test and production deployments in one account have different names,
        naming.deployed_name); `batch_stacks`: the batch stack of each (account name, deployed
        name); `recovery_stacks`: the standby endpoint stack of each (production account name,
        endpoint name) in the endpoint's recovery region; `models`:
        the models whose pipelines this shard holds. The first shard also holds what every
        pipeline shares: the smoke test and the starter that listens on the deployment bus."""
        org = config.organization.name
        assert config.delivery is not None, "config rules require delivery when there are endpoints"
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "model-deployments", str(shard_index)),
            description="ML platform model deployment pipelines: test, smoke test, approval, production",
            termination_protection=True,
        )
        self._config = config
        self._tooling_account = account_name
        self._shard_index = shard_index
        self.key = PurposeKey(
            self,
            "ArtifactsKey",
            alias=naming.key_alias(org, f"deployment-artifacts-{shard_index}"),
            description="Model deployment pipeline artifacts, logs and notifications",
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.key.allow_cloudwatch_logs()
        self.artifacts = SecureBucket(
            self,
            "Artifacts",
            encryption_key=self.key,
            access_logs=imports.access_log_bucket(self, "AccessLogs", org),
        )
        self.approvals = sns.Topic(
            self, "Approvals", master_key=self.key, enforce_ssl=True, display_name="Model deployments to approve"
        )
        self.synth = self._synth_project(config.delivery)
        # Invoked by name: the pipelines of every shard call the one function of the first.
        self.smoke_test = lambda_.Function.from_function_name(
            self, "SmokeTestFunction", naming.role_name(org, naming.SMOKE_TEST_ROLE)
        )
        self._endpoint_stacks, self._batch_stacks = endpoint_stacks, batch_stacks
        self._recovery_stacks = recovery_stacks
        self._artifact_stores = artifact_stores(self, config, self.artifacts)
        for model in models:
            self._pipeline(
                model,
                [endpoint for endpoint in config.endpoints if endpoint.model == model.name],
                [job for job in config.batch_inference if job.model == model.name],
                config.delivery,
            )
            console_links.publish(
                self,
                f"Deployment pipeline of model {model.name}: its approvals and deploys",
                console_links.codepipeline_console(self.region, naming.deployment_pipeline_name(org, model.name)),
                "DeploymentPipeline",
                model.name,
            )
        if shard_index == 0:
            # Only the first shard's functions alarm: the other shards would leave the parameter unread.
            self._shared(config, deployment_bus, imports.alerts_topic(self, "Alerts", org))

    def _shared(self, config: OrgConfig, deployment_bus: events.IEventBus, alerts: sns.ITopic) -> None:
        """The smoke test every pipeline invokes, and the starter of every pipeline."""
        org = config.organization.name
        smoke_test_name = naming.role_name(org, naming.SMOKE_TEST_ROLE)
        PlatformFunction(
            self,
            "SmokeTest",
            name="smoke_test",
            description="Checks a deployed ml-test endpoint for its deployment pipeline",
            key=self.key,
            alarm_topic=alerts,
            role_name=smoke_test_name,
            function_name=smoke_test_name,
            statements=[
                iam.PolicyStatement(
                    actions=["sts:AssumeRole"],
                    resources=[
                        f"arn:{cdk.Aws.PARTITION}:iam::{config.accounts[name].id}:role/"
                        f"{naming.smoke_test_role(org, name, self._tooling_account)}"
                        for name in sorted(
                            {config.placement_of(endpoint, Environment.TEST).account for endpoint in config.endpoints}
                        )
                    ],
                ),
                iam.PolicyStatement(
                    # CodePipeline job results take no resource-level permissions.
                    actions=["codepipeline:PutJobSuccessResult", "codepipeline:PutJobFailureResult"],
                    resources=["*"],
                ),
            ],
        )
        pipelines = {
            model.name: {
                "pipeline": naming.deployment_pipeline_name(org, model.name),
                "registry_account": config.registry_of(model)[0].id,
                # Its deployments end with a promotion: the starter looks up the champion.
                "promotes": any(
                    endpoint.has_challenger for endpoint in config.endpoints if endpoint.model == model.name
                ),
            }
            for model in models_served(config)
        }
        promoting = [
            self.format_arn(service="codepipeline", resource=str(target["pipeline"]))
            for target in pipelines.values()
            if target["promotes"]
        ]
        starter = PlatformFunction(
            self,
            "DeploymentStarter",
            name="deployment_starter",
            description="Starts a model's deployment pipeline for each approved package on the deployment bus",
            key=self.key,
            alarm_topic=alerts,
            environment={
                "PIPELINES": json.dumps(pipelines, sort_keys=True),
                "BASELINE_VARIABLES": json.dumps(sorted(REGISTERED_BASELINES)),
            },
            statements=[
                iam.PolicyStatement(
                    actions=["codepipeline:StartPipelineExecution"],
                    resources=[
                        self.format_arn(service="codepipeline", resource=str(target["pipeline"]))
                        for target in pipelines.values()
                    ],
                ),
                *(
                    [
                        iam.PolicyStatement(
                            sid="FindTheChampion",
                            actions=["codepipeline:ListPipelineExecutions", "codepipeline:GetPipelineExecution"],
                            resources=promoting,
                        )
                    ]
                    if promoting
                    else []
                ),
            ],
        )
        events.Rule(
            self,
            "DeploymentRequests",
            description="Approved model packages, to their deployment pipelines",
            event_bus=deployment_bus,
            event_pattern=events.EventPattern(
                source=["platform.model-approval"], detail_type=["Model Package Approved For Deployment"]
            ),
            targets=[
                targets.LambdaFunction(
                    starter.function,
                    dead_letter_queue=starter.dead_letter_queue,
                    retry_attempts=4,
                    max_event_age=cdk.Duration.hours(6),
                )
            ],
        )

    def _synth_project(self, delivery: Delivery) -> codebuild.PipelineProject:
        logs_group = logs.LogGroup(
            self,
            "SynthLogs",
            encryption_key=self.key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        return codebuild.PipelineProject(
            self,
            "Synth",
            project_name=f"{self._config.organization.name}-model-deployment-synth-{self._shard_index}",
            description="Synthesizes the platform with all its gates (make synth), as developers do",
            environment=codebuild.BuildEnvironment(
                build_image=codebuild.LinuxBuildImage.STANDARD_7_0,
                compute_type=codebuild.ComputeType.MEDIUM,
                privileged=False,
            ),
            encryption_key=self.key,
            timeout=cdk.Duration.minutes(30),
            logging=codebuild.LoggingOptions(cloud_watch=codebuild.CloudWatchLoggingOptions(log_group=logs_group)),
            build_spec=codebuild.BuildSpec.from_object(
                {
                    "version": "0.2",
                    "phases": {"build": {"commands": [f"make synth CONFIG={delivery.config_file}"]}},
                    "artifacts": {"base-directory": "cdk.out", "files": ["**/*"]},
                }
            ),
        )

    def _bootstrap_role(self, kind: str, account_name: str, region: str) -> iam.IRole:
        """`cdk bootstrap`'s role of the account in `region`, which trusts this one (imported
        once). Per region: its permissions on pipeline artifacts hold in its own region only."""
        account = self._config.accounts[account_name]
        construct_id = f"{kind}-{account_name}" + ("" if region == self._config.region_of(account) else f"-{region}")
        existing = self.node.try_find_child(construct_id)
        if existing is not None:
            return existing  # type: ignore[return-value]  # only roles are stored under these ids
        return iam.Role.from_role_arn(
            self,
            construct_id,
            # A literal partition: CDK reads the role's account from the ARN to plan cross-account access.
            f"arn:{self.partition}:iam::{account.id}:role/{naming.cdk_bootstrap_role(kind, account.id, region)}",
            mutable=False,
        )

    def _deploy_action(
        self,
        action_name: str,
        stack: EndpointStack | BatchInferenceStack,
        *,
        account_name: str,
        synthesized: codepipeline.Artifact,
        run_order: int,
        promoted: bool = False,
    ) -> codepipeline.IAction:
        return actions.CloudFormationCreateUpdateStackAction(
            action_name=action_name,
            stack_name=stack.stack_name,
            template_path=synthesized.at_path(f"assembly-{_stage_name(stack)}/{stack.template_file}"),
            admin_permissions=False,
            # Endpoint and batch stacks create IAM roles (named ones, too): without the capability
            # CloudFormation refuses them (InsufficientCapabilities). As CDK Pipelines does; the
            # preflight checks that each template is covered (proofs.deploy.actions).
            cfn_capabilities=[cdk.CfnCapabilities.NAMED_IAM, cdk.CfnCapabilities.AUTO_EXPAND],
            parameter_overrides={
                name: f"#{{variables.{deployment_variable(name, stack.follows_champion, promoted)}}}"
                for name in stack.deployment_parameters
            }
            or None,
            account=stack.account,
            region=stack.region,
            role=self._bootstrap_role("deploy", account_name, stack.region),
            deployment_role=self._bootstrap_role("cfn-exec", account_name, stack.region),
            run_order=run_order,
        )

    def _stack_of(
        self, served: Endpoint | BatchInference, environment: Environment
    ) -> tuple[str, EndpointStack | BatchInferenceStack]:
        """The account and stack of the endpoint's or batch job's test or production deployment."""
        placement = self._config.placement_of(served, environment)
        stacks = self._endpoint_stacks if isinstance(served, Endpoint) else self._batch_stacks
        return placement.account, stacks[(placement.account, placement.deployed_name(served.name))]

    def _deploy_actions(
        self,
        environment: Environment,
        endpoints: Sequence[Endpoint],
        batch_jobs: Sequence[BatchInference],
        synthesized: codepipeline.Artifact,
    ) -> list[codepipeline.IAction]:
        stacks: list[tuple[str, tuple[str, EndpointStack | BatchInferenceStack], int]] = [
            *((naming.deploy_action_name(e.name), self._stack_of(e, environment), 1) for e in endpoints),
            *((naming.deploy_batch_action_name(job.name), self._stack_of(job, environment), 1) for job in batch_jobs),
        ]
        for endpoint in endpoints if environment is Environment.PRODUCTION else ():
            # The standby follows the primary: a package the primary rolled back never reaches it.
            account_name = self._config.placement_of(endpoint, environment).account
            standby = self._recovery_stacks.get((account_name, endpoint.name))
            if standby is not None:
                stacks.append((naming.deploy_recovery_action_name(endpoint.name), (account_name, standby), 2))
        return [
            self._deploy_action(
                action_name, stack, account_name=account_name, synthesized=synthesized, run_order=run_order
            )
            for action_name, (account_name, stack), run_order in stacks
        ]

    def _promotion(
        self, model: Model, endpoints: Sequence[Endpoint], synthesized: codepipeline.Artifact
    ) -> list[codepipeline.IAction]:
        """A person decides, on the challenger's production record, that the package becomes
        the champion; then every variant of those endpoints serves it."""
        challenged = [self._stack_of(endpoint, Environment.PRODUCTION) for endpoint in endpoints]
        return [
            actions.ManualApprovalAction(
                action_name=PROMOTE,
                notification_topic=self.approvals,
                additional_information=f"Model {model.name}: package #{{variables.{PACKAGE_PARAMETER}}} serves "
                "as the challenger in production beside #{variables."
                f"{CHAMPION_PARAMETER}}}. Approve to make it the champion of "
                f"{', '.join(endpoint.name for endpoint in endpoints)}.",
                run_order=1,
            ),
            *(
                self._deploy_action(
                    f"Promote-{endpoint.name}",
                    stack,
                    account_name=account_name,
                    synthesized=synthesized,
                    run_order=2,
                    promoted=True,
                )
                for endpoint, (account_name, stack) in zip(endpoints, challenged, strict=True)
            ),
        ]

    def _pipeline(
        self,
        model: Model,
        endpoints: Sequence[Endpoint],
        batch_jobs: Sequence[BatchInference],
        delivery: Delivery,
    ) -> codepipeline.Pipeline:
        org = self._config.organization.name
        owner, repository = delivery.repository.split("/")
        challenged = [endpoint for endpoint in endpoints if endpoint.has_challenger]
        source, synthesized = codepipeline.Artifact("Source"), codepipeline.Artifact("Synthesized")
        tests = [(endpoint, self._config.placement_of(endpoint, Environment.TEST)) for endpoint in endpoints]
        smoke_tests = [
            actions.LambdaInvokeAction(
                action_name=naming.smoke_test_action_name(endpoint.name),
                lambda_=self.smoke_test,
                user_parameters={
                    "endpoint": naming.endpoint_name(org, test.deployed_name(endpoint.name)),
                    "role_arn": f"arn:{self.partition}:iam::{self._config.accounts[test.account].id}:role/"
                    f"{naming.smoke_test_role(org, test.account, self._tooling_account)}",
                    "region": self._config.region_of(self._config.accounts[test.account]),
                    # What the endpoint must serve once InService: after a rolled-back update it
                    # is InService too, on the previous config.
                    **(
                        {"model_package_arn": f"#{{variables.{PACKAGE_PARAMETER}}}"}
                        if endpoint.multi_model is None
                        else {}
                    ),
                    **(
                        {
                            "payload": endpoint.smoke_test.payload,
                            "content_type": endpoint.smoke_test.content_type,
                            "max_latency_ms": endpoint.smoke_test.max_latency_ms,
                        }
                        if endpoint.smoke_test
                        else {}
                    ),
                },
                run_order=2,
            )
            for endpoint, test in tests
        ]
        return codepipeline.Pipeline(
            self,
            f"Deploy-{model.name}",
            pipeline_name=naming.deployment_pipeline_name(org, model.name),
            pipeline_type=codepipeline.PipelineType.V2,
            execution_mode=codepipeline.ExecutionMode.SUPERSEDED,
            # Standbys in recovery regions deploy through the replication buckets there.
            artifact_bucket=self._artifact_stores[0],
            cross_region_replication_buckets=self._artifact_stores[1],
            restart_execution_on_update=False,
            variables=[
                codepipeline.Variable(
                    variable_name=name,
                    description=description,
                    default_value=None if name in (PACKAGE_PARAMETER, CHAMPION_PARAMETER) else NOT_REGISTERED,
                )
                for name, description in PIPELINE_VARIABLES.items()
            ],
            stages=[
                codepipeline.StageProps(
                    stage_name="Source",
                    actions=[
                        actions.CodeStarConnectionsSourceAction(
                            action_name="Repository",
                            connection_arn=delivery.connection_arn,
                            owner=owner,
                            repo=repository,
                            branch=delivery.branch,
                            output=source,
                            trigger_on_push=False,
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Synth",
                    actions=[
                        actions.CodeBuildAction(
                            action_name="Synth", project=self.synth, input=source, outputs=[synthesized]
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Test",
                    actions=[
                        *self._deploy_actions(Environment.TEST, endpoints, batch_jobs, synthesized),
                        *smoke_tests,
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Approve",
                    actions=[
                        actions.ManualApprovalAction(
                            action_name="Approve",
                            notification_topic=self.approvals,
                            additional_information=f"Model {model.name}: package #{{variables.{PACKAGE_PARAMETER}}} "
                            "passed ml-test and its smoke tests. Approve to deploy it to production.",
                        )
                    ],
                ),
                codepipeline.StageProps(
                    stage_name="Production",
                    actions=self._deploy_actions(Environment.PRODUCTION, endpoints, batch_jobs, synthesized),
                ),
                *(
                    [
                        codepipeline.StageProps(
                            stage_name=PROMOTE, actions=self._promotion(model, challenged, synthesized)
                        )
                    ]
                    if challenged
                    else []
                ),
            ],
        )


def deployment_variable(parameter: str, follows_champion: bool, promoted: bool) -> str:
    """The pipeline variable a stack parameter is set from. Until the promotion, an endpoint
    with a challenger keeps the champion it has, and monitors against the champion's baselines;
    the promotion makes the package its champion, with the package's baselines."""
    if parameter == CHAMPION_PARAMETER:
        return PACKAGE_PARAMETER if promoted else CHAMPION_PARAMETER
    if follows_champion and parameter in REGISTERED_BASELINES and not promoted:
        return f"{CHAMPION}{parameter}"
    return parameter


def _stage_name(stack: cdk.Stack) -> str:
    """The stage whose cloud assembly folder (assembly-<stage>) holds the stack's template."""
    stage = cdk.Stage.of(stack)
    assert stage is not None
    return stage.stage_name


def models_served(config: OrgConfig) -> list[Model]:
    """The models with endpoints or batch inference jobs: those that have deployment pipelines."""
    served = {endpoint.model for endpoint in config.endpoints} | {job.model for job in config.batch_inference}
    return [model for model in config.models if model.name in served]
