"""One deployment of a batch inference job, in its team's test or production account (stage
`<Account>Endpoints`, stack `<org>-batch-<name>`, with the test deployment's name qualified in
an account that holds both: naming.deployed_name): ml_constructs.batch_inference.
BatchTransformPipeline with the model package its model's deployment pipeline passes as the
stack parameter `ModelPackageArn`, like an endpoint stack. Production runs it on the
configured schedule; the test deployment only gets the pipeline, which the team may start by
hand against its test data.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from ml_constructs.batch_inference import BatchTransformPipeline, Transform
from stacks import imports, naming
from stacks.config import OrgConfig
from stacks.config.models import BatchInference, Served
from stacks.platform_stack import PlatformStack
from stacks.serving_stack import PACKAGE_PARAMETER, batch_locations, model_package_pattern, serving_parameter


class BatchInferenceStack(PlatformStack):
    deployment_parameters = (PACKAGE_PARAMETER,)
    """The stack parameters the deployment pipeline sets from its variables."""
    follows_champion = False
    """Batch jobs score with the approved package itself, as soon as it deploys."""

    def __init__(
        self, scope: Construct, construct_id: str, *, config: OrgConfig, served: Served[BatchInference]
    ) -> None:
        org = config.organization.name
        job = served.item
        account = config.accounts[served.placement.account]
        assert account.network is not None
        super().__init__(
            scope,
            construct_id,
            stack_name=naming.stack_name(org, "batch", served.name),
            description=f"ML platform batch inference {served.name}: deployed by its model's deployment pipeline",
            availability_zone_count=account.network.availability_zones,
            termination_protection=account.is_production,
        )
        package = cdk.CfnParameter(
            self,
            PACKAGE_PARAMETER,
            type="String",
            allowed_pattern=model_package_pattern(config, job.model),
            description="The approved model package to score with (set by the deployment pipeline)",
        )
        input_uri, output_uri = batch_locations(config, served)
        role_arn = f"arn:{cdk.Aws.PARTITION}:iam::{account.id}:role/"
        BatchTransformPipeline(
            self,
            "Batch",
            pipeline_name=naming.batch_pipeline_name(org, served.name),
            model_package_arn=package.value_as_string,
            execution_role_arn=role_arn + naming.role_name(org, naming.MODEL_EXECUTION_ROLE),
            pipeline_role=iam.Role.from_role_arn(
                self, "PipelineRole", role_arn + naming.role_name(org, naming.BATCH_PIPELINE_ROLE), mutable=False
            ),
            subnet_ids=imports.private_subnet_ids(self, org, account.network.availability_zones),
            security_group_ids=[
                ssm.StringParameter.value_for_string_parameter(self, serving_parameter(org, "security-group-id"))
            ],
            key=imports.key_from_parameter(self, "ServingKey", serving_parameter(org, "key-arn")),
            alarm_topic=imports.alerts_topic(self, "Alerts", org),
            transform=Transform(
                input_uri=input_uri,
                output_uri=output_uri,
                instance_type=job.instance_type,
                instance_count=job.instance_count,
                content_type=job.content_type,
                accept=job.accept,
                split_type=job.split_type,
                batch_strategy=job.batch_strategy,
                max_payload_mb=job.max_payload_mb,
                max_concurrent_transforms=job.max_concurrent_transforms,
            ),
            schedule=job.schedule if served.placement.production else None,
        )
        cdk.Tags.of(self).add("platform:batch-inference", job.name)
