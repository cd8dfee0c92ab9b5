"""The reusable constructs on their own, outside the organization config."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from ml_constructs import endpoint
from ml_constructs.policy_size import MANAGED_POLICY_MAX, resolved_size
from ml_constructs.roles import role_with_managed_policy
from ml_constructs.storage import AccessLogBucket, SecureBucket
from ml_constructs.studio import IdleShutdown, Member, PackageIndex, StudioDomain, StudioMembers
from tests.conftest import cli_app


def test_secure_bucket_encrypts_with_the_given_key_and_logs_access(tmp_path):
    stack = cdk.Stack(cli_app(tmp_path), "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    key = kms.Key(stack, "Key")
    SecureBucket(stack, "Data", encryption_key=key, access_logs=AccessLogBucket(stack, "Logs"))
    template = Template.from_stack(stack)

    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [
                        {
                            "BucketKeyEnabled": True,
                            "ServerSideEncryptionByDefault": {
                                "SSEAlgorithm": "aws:kms",
                                "KMSMasterKeyID": {"Fn::GetAtt": [Match.string_like_regexp("^Key"), "Arn"]},
                            },
                        }
                    ]
                },
                "LoggingConfiguration": {
                    "DestinationBucketName": {"Ref": Match.string_like_regexp("^Logs")},
                    "LogFilePrefix": "Data/",
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": Match.object_like({"BlockPublicPolicy": True}),
            },
        },
    )
    data_policy = next(
        policy
        for policy in template.find_resources("AWS::S3::BucketPolicy").values()
        if policy["Properties"]["Bucket"]["Ref"].startswith("Data")
    )
    conditions = [statement.get("Condition") for statement in data_policy["Properties"]["PolicyDocument"]["Statement"]]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


def test_studio_with_identity_center_signs_users_in_by_user_name(tmp_path):
    stack = cdk.Stack(cli_app(tmp_path), "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        vpc_cidr_block="10.0.0.0/16",
        availability_zones=["a", "b"],
        isolated_subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
    )
    domain = StudioDomain(
        stack,
        "Studio",
        name="acme-studio",
        vpc=vpc,
        subnet_ids=["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"],
        key=kms.Key(stack, "Key"),
        execution_role_arn="arn:aws:iam::123456789012:role/default",
        auth_mode="sso",
        package_index=PackageIndex("acme", "333333333333", "pypi", "eu-west-1"),
        idle_shutdown=IdleShutdown(90, 300),
        default_instance_type="ml.t3.large",
        default_volume_gb=10,
        max_volume_gb=50,
        removal_policy=cdk.RemovalPolicy.RETAIN,
    )
    StudioMembers(
        stack,
        "Members",
        domain_id=domain.domain_id,
        members=[
            Member("team-ann", "arn:aws:iam::123456789012:role/ds", {"platform:user": "ann"}, sso_user_name="ann")
        ],
        teardown_function_arn="arn:aws:lambda:eu-west-1:123456789012:function:teardown",
    )
    template = Template.from_stack(stack)
    template.has_resource(
        "AWS::SageMaker::Domain", {"DeletionPolicy": "Retain", "Properties": Match.object_like({"AuthMode": "SSO"})}
    )
    template.has_resource_properties(
        "AWS::SageMaker::UserProfile", {"SingleSignOnUserIdentifier": "UserName", "SingleSignOnUserValue": "ann"}
    )
    idle = template.find_resources("AWS::SageMaker::Domain")
    (properties,) = [d["Properties"] for d in idle.values()]
    lab = properties["DefaultUserSettings"]["JupyterLabAppSettings"]
    assert lab["AppLifecycleManagement"]["IdleSettings"]["IdleTimeoutInMinutes"] == 90
    assert properties["DefaultUserSettings"]["SpaceStorageSettings"] == {
        "DefaultEbsStorageSettings": {"DefaultEbsVolumeSizeInGb": 10, "MaximumEbsVolumeSizeInGb": 50}
    }


def _endpoint_stack(tmp_path, **options: object) -> Template:
    stack = cdk.Stack(cli_app(tmp_path), "Stack", env=cdk.Environment(account="123456789012", region="eu-west-1"))
    defaults: dict[str, object] = {
        "endpoint_name": "acme-scorer",
        "model": "arn:aws:sagemaker:eu-west-1:123456789012:model-package/acme-scorer/1",
        "execution_role_arn": "arn:aws:iam::123456789012:role/acme-model-execution",
        "subnet_ids": ["subnet-0123456789abcdef0"],
        "security_group_ids": ["sg-0123456789abcdef0"],
        "key": kms.Key(stack, "Key"),
        "alarm_topic": sns.Topic(stack, "Alerts"),
        "latency_slo_ms": 300,
        "traffic_shift": endpoint.TrafficShift("linear", 25, 5),
    }
    endpoint.ModelEndpoint(stack, "Endpoint", **{**defaults, **options})  # type: ignore[arg-type]
    return Template.from_stack(stack)


def test_serverless_endpoint_has_one_serverless_variant_without_vpc_capture_or_scaling(tmp_path):
    template = _endpoint_stack(
        tmp_path,
        serverless=endpoint.ServerlessVariant(memory_mb=3072, max_concurrency=20),
        data_capture=endpoint.DataCapture("s3://bucket/endpoints/scorer", 100),
        traffic_shift=endpoint.TrafficShift("all-at-once", 10, 0),
    )
    (config,) = template.find_resources("AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["VariantName"] == "serverless"
    assert variant["ServerlessConfig"] == {"MemorySizeInMB": 3072, "MaxConcurrency": 20}
    assert "InstanceType" not in variant
    assert "DataCaptureConfig" not in config["Properties"], "serverless endpoints capture no data"
    assert "KmsKeyId" not in config["Properties"]
    (model,) = template.find_resources("AWS::SageMaker::Model").values()
    assert "VpcConfig" not in model["Properties"]
    template.resource_count_is("AWS::ApplicationAutoScaling::ScalableTarget", 0)
    (deployed,) = template.find_resources("AWS::SageMaker::Endpoint").values()
    routing = deployed["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]["TrafficRoutingConfiguration"]
    assert routing["Type"] == "ALL_AT_ONCE"
    assert "RetainAllVariantProperties" not in deployed["Properties"], "no instance count to keep"


def test_shadow_variant_gets_its_share_of_requests_and_linear_shifting(tmp_path):
    template = _endpoint_stack(
        tmp_path,
        variants=[endpoint.InstanceVariant("champion", "ml.c5.xlarge", 1.0, 2, 4, 40)],
        shadow=endpoint.ShadowVariant("shadow", "ml.c5.large", 1, 20),
        scaling=endpoint.Scaling("latency", 0.5, 30, 900),
    )
    (config,) = template.find_resources("AWS::SageMaker::EndpointConfig").values()
    (shadow,) = config["Properties"]["ShadowProductionVariants"]
    assert (shadow["VariantName"], shadow["InitialVariantWeight"]) == ("shadow", 0.2)
    (deployed,) = template.find_resources("AWS::SageMaker::Endpoint").values()
    policy = deployed["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "LINEAR",
        "LinearStepSize": {"Type": "CAPACITY_PERCENT", "Value": 25},
        "WaitIntervalInSeconds": 300,
    }
    # The documented override: scale on average model latency at half the p99 objective.
    (scaling,) = template.find_resources("AWS::ApplicationAutoScaling::ScalingPolicy").values()
    tracking = scaling["Properties"]["TargetTrackingScalingPolicyConfiguration"]
    assert tracking["TargetValue"] == 150_000
    assert tracking["CustomizedMetricSpecification"]["MetricName"] == "ModelLatency"
    assert (tracking["ScaleOutCooldown"], tracking["ScaleInCooldown"]) == (30, 900)


def test_a_shadow_challenger_gets_a_copy_of_the_champions_requests(tmp_path):
    champion, challenger = (f"arn:aws:sagemaker:eu-west-1:123456789012:model-package/acme-scorer/{v}" for v in (1, 2))
    template = _endpoint_stack(
        tmp_path,
        model=challenger,
        champion=champion,
        variants=[endpoint.InstanceVariant("champion", "ml.c5.xlarge", 1.0, 2, 4, 40)],
        shadow=endpoint.ShadowVariant("shadow", "ml.c5.large", 1, 20),
    )
    packages = {
        logical: model["Properties"]["PrimaryContainer"]["ModelPackageName"]
        for logical, model in template.find_resources("AWS::SageMaker::Model").items()
    }
    (config,) = template.find_resources("AWS::SageMaker::EndpointConfig").values()
    (production,) = config["Properties"]["ProductionVariants"]
    (shadow,) = config["Properties"]["ShadowProductionVariants"]
    assert packages[production["ModelName"]["Fn::GetAtt"][0]] == champion
    assert packages[shadow["ModelName"]["Fn::GetAtt"][0]] == challenger


def test_a_champion_needs_a_challenger_beside_it(tmp_path):
    with pytest.raises(ValueError, match="a champion serves beside a challenger"):
        _endpoint_stack(
            tmp_path,
            champion="arn:aws:sagemaker:eu-west-1:123456789012:model-package/acme-scorer/1",
            variants=[endpoint.InstanceVariant("champion", "ml.c5.xlarge", 1.0, 2, 4, 40)],
        )


def test_local_storage_instance_types_get_no_volume_key(tmp_path):
    template = _endpoint_stack(tmp_path, variants=[endpoint.InstanceVariant("champion", "ml.g5.xlarge", 1.0, 2, 2, 5)])
    (config,) = template.find_resources("AWS::SageMaker::EndpointConfig").values()
    assert "KmsKeyId" not in config["Properties"]


def test_endpoint_construct_refuses_to_autoscale_burstable_types_and_needs_one_kind_of_variant(tmp_path):
    with pytest.raises(ValueError, match=r"burstable ml\.t3\.large"):
        _endpoint_stack(
            tmp_path,
            variants=[endpoint.InstanceVariant("champion", "ml.t3.large", 1.0, 2, 4, 5)],
            scaling=endpoint.Scaling("invocations", 0.5, 60, 600),
        )
    with pytest.raises(ValueError, match="instance variants or a serverless variant"):
        _endpoint_stack(tmp_path / "second")


def test_a_role_policy_over_the_iam_size_is_split_into_parts():
    stack = cdk.Stack()
    statements = [
        iam.PolicyStatement(actions=["s3:GetObject"], resources=[f"arn:aws:s3:::bucket-{index}/{'k' * 100}"])
        for index in range(80)
    ]
    role_with_managed_policy(
        stack,
        "Big",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description="big",
        statements=statements,
    )
    policies = Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy")
    # About 12,000 characters: three parts, the first keeping the unnumbered logical id.
    assert len(policies) == 3
    assert all(stack.node.try_find_child(name) for name in ("BigPolicy", "BigPolicy2", "BigPolicy3"))
    documents = [policy["Properties"]["PolicyDocument"] for policy in policies.values()]
    assert all(resolved_size(document) <= MANAGED_POLICY_MAX for document in documents)
    assert sum(len(document["Statement"]) for document in documents) == 80


def test_one_statement_over_the_iam_size_is_split_by_resources_with_the_same_grant():
    stack = cdk.Stack()
    groups = [f"arn:aws:sagemaker:eu-west-1:111111111111:model-package/acme-model-{index:03}/*" for index in range(120)]
    statement = iam.PolicyStatement(
        sid="RegisterTeamModels",
        actions=["sagemaker:DescribeModelPackage", "sagemaker:ListModelPackages"],
        resources=groups,
        conditions={"StringEquals": {"aws:ResourceAccount": "111111111111"}},
    )
    role_with_managed_policy(
        stack,
        "Team",
        assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
        description="d",
        statements=[statement],
    )
    documents = [
        policy["Properties"]["PolicyDocument"]
        for policy in Template.from_stack(stack).find_resources("AWS::IAM::ManagedPolicy").values()
    ]
    assert len(documents) == 2 and all(resolved_size(document) <= MANAGED_POLICY_MAX for document in documents)
    pieces = [piece for document in documents for piece in document["Statement"]]
    assert [piece["Sid"] for piece in pieces] == [
        "RegisterTeamModels",
        *(f"RegisterTeamModels{n}" for n in range(2, 1 + len(pieces))),
    ]
    assert all(piece["Action"] == statement.actions and piece["Condition"] == statement.conditions for piece in pieces)
    assert [resource for piece in pieces for resource in piece["Resource"]] == groups
