"""Second-region recovery of production endpoints (docs/architecture.md, "Second-region recovery").

A production account whose endpoints name a `recovery_region` also deploys there a baseline
(stacks.baseline_stack, unchanged), this serving stack, and a standby copy of each such
endpoint (stacks.serving_stack.EndpointStack with `recovery`), which the model's deployment
pipeline deploys right after the primary with the same package.

`RecoveryServingStack` is what the standby endpoints of the account share in that region:
its own serving key, data-capture bucket and security group (as in the primary region), the
bucket the packages' model archives are copied to (a package is registered in one region
only, and SageMaker reads a model from its own region) with the custom resource provider
that copies them (lambda/model_archive_copy), and the model execution role's access to all
of these. IAM names are global: the role is the primary region's, by name, with one more
policy.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_ssm as ssm
from aws_cdk import custom_resources as cr
from constructs import Construct

from ml_constructs.function import PlatformFunction
from ml_constructs.storage import SecureBucket
from ml_pipelines.templates import model_archives
from stacks import imports, naming
from stacks.config import OrgConfig
from stacks.platform_stack import PlatformStack
from stacks.serving_stack import (
    ARCHIVE_COPY_TOKEN,
    add_serving_foundation,
    endpoint_runtime_statements,
    serving_parameter,
)


class RecoveryServingStack(PlatformStack):
    def __init__(self, scope: Construct, construct_id: str, *, config: OrgConfig, account_name: str) -> None:
        org = config.organization.name
        account = config.accounts[account_name]
        assert account.network is not None and account.is_production
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "serving"),
            description=f"ML platform serving, recovery region of {config.region_of(account)}: key, data capture, "
            "copied model archives",
            availability_zone_count=account.network.availability_zones,
            termination_protection=True,
        )
        region = self.region
        self.key, self.data_capture, self.security_group = add_serving_foundation(
            self, org, account.id, account.network.cidr, cdk.RemovalPolicy.RETAIN
        )
        self.models = SecureBucket(
            self,
            "RecoveryModels",
            bucket_name=naming.bucket_name(org, naming.RECOVERY_MODELS, account.id, region),
            encryption_key=self.key,
            access_logs=imports.access_log_bucket(self, "ModelsAccessLogs", org),
        )
        role = iam.Role.from_role_name(
            self, "ModelExecutionRole", naming.role_name(org, naming.MODEL_EXECUTION_ROLE), mutable=False
        )
        iam.ManagedPolicy(
            self,
            "ModelExecutionInRecoveryRegion",
            description=f"Endpoints in {region}: read copied models, capture data, use the region's serving key",
            roles=[role],
            statements=[
                iam.PolicyStatement(
                    sid="ReadCopiedModels",
                    actions=["s3:GetObject"],
                    resources=[self.models.arn_for_objects("packages/*")],
                ),
                iam.PolicyStatement(
                    sid="PullFrameworkImages",
                    actions=["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
                    resources=[f"arn:{cdk.Aws.PARTITION}:ecr:{region}:*:repository/sagemaker-*"],
                ),
                *endpoint_runtime_statements(self.data_capture, self.key),
            ],
        )
        self._archive_copy(config, account_name)

    def _archive_copy(self, config: OrgConfig, account_name: str) -> None:
        """The provider of Custom::ModelArchiveCopy. Outside the VPC: it reads the registries
        in their own regions, which the isolated VPC's endpoints do not serve."""
        org = config.organization.name
        recovered = [
            served.model
            for served in config.endpoints_served_in(account_name)
            if served.placement.production and served.item.recovery_region == self.region
        ]
        packages, artifacts, registry_keys = [], [], set()
        for model in {model.name: model for model in recovered}.values():
            dev, dev_region = config.registry_of(model)
            packages.append(
                f"arn:{cdk.Aws.PARTITION}:sagemaker:{dev_region}:{dev.id}:model-package/{org}-{model.name}/*"
            )
            bucket = naming.model_artifacts_bucket(org, dev.id, dev_region)
            artifacts += [f"arn:{cdk.Aws.PARTITION}:s3:::{bucket}/{key}" for key in model_archives(model.name)]
            registry_keys.add((dev_region, f"arn:{cdk.Aws.PARTITION}:kms:{dev_region}:{dev.id}:key/*"))
        function = PlatformFunction(
            self,
            "ModelArchiveCopy",
            name="model_archive_copy",
            description="Copies approved model packages' archives into this recovery region",
            key=self.key,
            alarm_topic=imports.alerts_topic(self, "Alerts", org),
            timeout=cdk.Duration.minutes(14),
            statements=[
                iam.PolicyStatement(
                    sid="DescribePackages", actions=["sagemaker:DescribeModelPackage"], resources=packages
                ),
                iam.PolicyStatement(sid="ReadArchives", actions=["s3:GetObject"], resources=artifacts),
                *(
                    iam.PolicyStatement(
                        actions=["kms:Decrypt"],
                        resources=[key],
                        conditions={"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}},
                    )
                    for region, key in sorted(registry_keys)
                ),
                iam.PolicyStatement(
                    sid="WriteCopies",
                    actions=["s3:PutObject", "s3:AbortMultipartUpload"],
                    resources=[self.models.arn_for_objects("packages/*")],
                ),
            ],
        )
        provider = cr.Provider(
            self,
            "ModelArchiveCopyProvider",
            on_event_handler=function.function,
            log_group=logs.LogGroup(
                self,
                "ModelArchiveCopyProviderLogs",
                encryption_key=self.key,
                retention=logs.RetentionDays.ONE_YEAR,
                removal_policy=cdk.RemovalPolicy.DESTROY,
            ),
        )
        ssm.StringParameter(
            self,
            f"Parameter-{ARCHIVE_COPY_TOKEN}",
            parameter_name=serving_parameter(org, ARCHIVE_COPY_TOKEN),
            string_value=provider.service_token,
            description="Read by the account's standby endpoint stacks at deploy time",
        )
