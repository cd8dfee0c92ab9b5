"""An ml-dev account's model registry and approval trigger.

Model package groups, artifact bucket and image repositories of the account's models,
readable by the accounts that serve them; an EventBridge rule that passes only Approved and
Rejected decisions on these groups to the approval function, which sends approved packages
to the deployment bus in the shared-services account (lambda/model_approval).
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from constructs import Construct

from ml_constructs.arns import in_this_account
from ml_constructs.encryption import PurposeKey
from ml_constructs.function import PlatformFunction
from ml_constructs.registry import ImageRepository, ModelPackageGroup, grant_model_artifacts_read
from ml_constructs.storage import SecureBucket
from ml_pipelines.templates import MULTI_MODEL, baseline_files, model_archives
from stacks import imports, naming
from stacks.config import OrgConfig, Role
from stacks.config.models import Model
from stacks.monitoring import drift_alarm_records
from stacks.platform_stack import PlatformStack

DETAIL_TYPE = "SageMaker Model Package State Change"


class RegistryStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, account_name: str) -> None:
        org = config.organization.name
        account = config.accounts[account_name]
        assert account.network is not None
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "model-registry"),
            description="ML platform model registry: package groups, artifacts, images, approval trigger",
            availability_zone_count=account.network.availability_zones,
            termination_protection=True,
        )
        models = models_developed_in(config, account_name)
        serving = sorted(
            {
                config.accounts[name].id
                for model in models
                for name in (config.teams[model.team].accounts.test, config.teams[model.team].accounts.prod)
            }
        )
        self.key = PurposeKey(
            self,
            "ModelsKey",
            alias=naming.key_alias(org, "models"),
            description="Model artifacts, images and approval records",
            removal_policy=cdk.RemovalPolicy.RETAIN,
        )
        self.key.allow_cloudwatch_logs()
        self.artifacts = SecureBucket(
            self,
            "ModelArtifacts",
            bucket_name=naming.model_artifacts_bucket(org, account.id, config.region_of(account)),
            encryption_key=self.key,
            access_logs=imports.access_log_bucket(self, "AccessLogs", org),
        )
        # Any model's (a wildcard, not one pattern per model: the bucket policy stays far from
        # its 20 KB limit however many models the account builds).
        grant_model_artifacts_read(
            self.artifacts, self.key, serving, [*model_archives("*"), f"*/{MULTI_MODEL}/*", *baseline_files("*")]
        )
        groups = {
            model.name: ModelPackageGroup(
                self,
                f"Group-{model.name}",
                name=naming.model_package_group_name(org, model.name),
                description=f"Model {model.name} of team {model.team}",
                serving_account_ids=serving,
            )
            for model in models
        }
        for model in models:
            cdk.Tags.of(groups[model.name]).add("platform:team", model.team)
            ImageRepository(
                self, f"Images-{model.name}", name=f"{org}/{model.name}", key=self.key, serving_account_ids=serving
            )
        self._approval(config, models, groups)

    def _approval(self, config: OrgConfig, models: list[Model], groups: dict[str, ModelPackageGroup]) -> None:
        org = config.organization.name
        _, tooling = config.account_with(Role.SHARED_SERVICES)
        bus_arn = (
            f"arn:{cdk.Aws.PARTITION}:events:{config.region_of(tooling)}:{tooling.id}:"
            f"event-bus/{naming.deployment_bus_name(org)}"
        )
        prefix = naming.approved_package_parameter_prefix(org)
        notifications = sns.Topic(
            self, "ApprovalNotifications", master_key=self.key, enforce_ssl=True, display_name="Model approvals"
        )
        table = dynamodb.TableV2(
            self,
            "ApprovalIdempotency",
            partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.STRING),
            time_to_live_attribute="expiration",
            encryption=dynamodb.TableEncryptionV2.customer_managed_key(self.key),
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        account = config.accounts[config.teams[models[0].team].accounts.dev]
        assert account.network is not None
        vpc = imports.baseline_vpc(self, "Vpc", org, account.network.cidr)
        group_names = [group.group_name for group in groups.values()]
        packages = [in_this_account("sagemaker", f"model-package/{name}/*") for name in group_names]
        function = PlatformFunction(
            self,
            "Approval",
            name="model_approval",
            description="Sends approved model packages that meet their metric to deployment",
            key=self.key,
            alarm_topic=imports.alerts_topic(self, "Alerts", org),
            vpc=vpc,
            environment={
                "MODEL_GROUP_RECORDS": naming.model_group_records(org),
                "PARAMETER_PREFIX": prefix,
                "DEPLOYMENT_BUS_ARN": bus_arn,
                "TOPIC_ARN": notifications.topic_arn,
                "IDEMPOTENCY_TABLE": table.table_name,
            },
            statements=[
                iam.PolicyStatement(actions=["sagemaker:DescribeModelPackage"], resources=packages),
                _read_records(naming.model_group_records(org)),
                iam.PolicyStatement(
                    actions=["ssm:PutParameter"],
                    resources=[in_this_account("ssm", f"parameter{prefix}/*")],
                ),
                iam.PolicyStatement(actions=["events:PutEvents"], resources=[bus_arn]),
                iam.PolicyStatement(actions=["sns:Publish"], resources=[notifications.topic_arn]),
                _idempotency_records(table),
            ],
        )
        # Only decisions, only on the platform's groups: a rule on every state change would
        # invoke the function for each registration and each metadata edit.
        events.Rule(
            self,
            "ApprovalDecisions",
            description="Approved and Rejected decisions on the platform's model package groups",
            event_pattern=events.EventPattern(
                source=["aws.sagemaker"],
                detail_type=[DETAIL_TYPE],
                # The organization's groups; the function knows the platform's (their records), so
                # the pattern stays the same size however many models there are.
                detail={
                    "ModelPackageGroupName": events.Match.prefix(f"{org}-"),
                    "ModelApprovalStatus": ["Approved", "Rejected"],
                },
            ),
            targets=[_invoke(function)],
        )
        self._drift(config, models, table, vpc)

    def _drift(self, config: OrgConfig, models: list[Model], table: dynamodb.TableV2, vpc: ec2.IVpc) -> None:
        """The drift bus that production accounts forward retraining alarms to, and the function
        that starts the model's build pipeline for them."""
        org = config.organization.name
        alarms = drift_alarm_records(config, models)
        if not alarms:
            return
        self.key.allow_service(
            "AllowEventBridgeOfThisAccount",
            "events.amazonaws.com",
            actions=["kms:GenerateDataKey", "kms:Decrypt", "kms:DescribeKey"],
            conditions={"StringEquals": {"aws:SourceAccount": self.account}},
        )
        # A reference, as in the tooling stack: CDK would condition the key policy on the bus ARN.
        bus = events.EventBus(
            self,
            "DriftBus",
            event_bus_name=naming.drift_bus_name(org),
            description="Drift alarms of the production endpoints serving this account's models",
            kms_key=kms.Key.from_key_arn(self, "ModelsKeyReference", self.key.key_arn),
        )
        bus.add_to_resource_policy(
            iam.PolicyStatement(
                sid="OrganizationMayReportDrift",
                principals=[iam.OrganizationPrincipal(config.landing_zone.organization_id)],
                actions=["events:PutEvents"],
                resources=[bus.event_bus_arn],
            )
        )
        topic = sns.Topic(self, "DriftNotifications", master_key=self.key, enforce_ssl=True, display_name="Model drift")
        pipelines = sorted({str(target["pipeline"]) for target in alarms.values()})
        function = PlatformFunction(
            self,
            "DriftRetraining",
            name="drift_retraining",
            description="Starts a model's retraining when its endpoint drifts, outside cooldown and runs",
            key=self.key,
            alarm_topic=imports.alerts_topic(self, "DriftAlerts", org),
            vpc=vpc,
            environment={
                "DRIFT_ALARM_RECORDS": naming.drift_alarm_records(org),
                "TOPIC_ARN": topic.topic_arn,
                "IDEMPOTENCY_TABLE": table.table_name,
            },
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:StartPipelineExecution", "sagemaker:ListPipelineExecutions"],
                    resources=[in_this_account("sagemaker", f"pipeline/{pipeline}") for pipeline in pipelines],
                ),
                iam.PolicyStatement(actions=["sns:Publish"], resources=[topic.topic_arn]),
                _read_records(naming.drift_alarm_records(org)),
                _idempotency_records(table),
            ],
        )
        events.Rule(
            self,
            "DriftAlarms",
            description="Retraining alarms of the production endpoints, to the drift function",
            event_bus=bus,
            event_pattern=events.EventPattern(
                source=["aws.cloudwatch"],
                detail_type=["CloudWatch Alarm State Change"],
                # Every alarm of the organization's endpoints: the function knows which retrain
                # (their records), so the pattern stays the same size however many there are.
                detail={"alarmName": events.Match.prefix(f"{org}-")},
            ),
            targets=[_invoke(function)],
        )


def _read_records(path: str) -> iam.PolicyStatement:
    """The records the model-build stacks publish under `path` (one SSM parameter each)."""
    return iam.PolicyStatement(actions=["ssm:GetParameter"], resources=[in_this_account("ssm", f"parameter{path}/*")])


def _idempotency_records(table: dynamodb.TableV2) -> iam.PolicyStatement:
    """What Powertools' idempotency utility does with its records (both functions share the table)."""
    return iam.PolicyStatement(
        actions=["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
        resources=[table.table_arn],
    )


def _invoke(function: PlatformFunction) -> targets.LambdaFunction:
    """EventBridge retries for six hours, then dead-letters the event next to the function's own."""
    return targets.LambdaFunction(
        function.function,
        dead_letter_queue=function.dead_letter_queue,
        retry_attempts=4,
        max_event_age=cdk.Duration.hours(6),
    )


def models_developed_in(config: OrgConfig, account_name: str) -> list[Model]:
    return [model for model in config.models if config.teams[model.team].accounts.dev == account_name]
