"""The account baseline of the example organization, property by property."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Match

from stacks.naming import ssm_parameter_name

WORKLOAD_STAGES = ("DataBaseline", "MlDevBaseline", "MlTestBaseline", "MlProdBaseline")
OTHER_STAGES = ("ManagementBaseline", "LogArchiveBaseline", "SharedServicesBaseline")

INTERFACE_SERVICES = {
    "sagemaker.api",
    "sagemaker.runtime",
    "sagemaker.featurestore-runtime",
    "studio",
    "notebook",
    "sts",
    "logs",
    "monitoring",
    "ecr.api",
    "ecr.dkr",
    "kms",
    "ssm",
    "events",
    "sns",
    "servicecatalog",
    "codeartifact.api",
    "codeartifact.repositories",
}


def test_one_baseline_stage_per_account_with_its_own_environment(org):
    primary = {name for name, stage in org.stages.items() if stage.recovery_region is None}
    assert {stage for stage in primary if stage.endswith("Baseline")} == set(WORKLOAD_STAGES + OTHER_STAGES)
    for name, account in org.config.accounts.items():
        stage = org.stages[name.title().replace("-", "") + "Baseline"]
        assert stage.account == account.id
        assert stage.region == "eu-west-1"
        assert set(org.templates) >= {f"{stage.stage_name}/Baseline"}


def test_stack_names_are_what_an_admin_looks_for(org):
    stack = org.stages["MlProdBaseline"].node.find_child("Baseline")
    assert stack.stack_name == "acme-baseline"


@pytest.mark.parametrize("stage", WORKLOAD_STAGES + OTHER_STAGES)
def test_purpose_keys_rotate_and_logs_key_is_scoped_to_the_accounts_log_groups(org, stage):
    template = org.template(stage, "Baseline")
    account = org.stages[stage].account
    template.resource_count_is("AWS::KMS::Key", 3)
    template.all_resources_properties("AWS::KMS::Key", {"EnableKeyRotation": True, "PendingWindowInDays": 30})
    template.has_resource_properties("AWS::KMS::Alias", {"AliasName": "alias/acme/storage"})
    template.has_resource_properties(
        "AWS::KMS::Key",
        {
            "Description": "CloudWatch Logs",
            "KeyPolicy": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Principal": {"Service": "logs.eu-west-1.amazonaws.com"},
                                "Condition": {
                                    "ArnLike": {
                                        "kms:EncryptionContext:aws:logs:arn": (
                                            f"arn:aws:logs:eu-west-1:{account}:log-group:*"
                                        )
                                    }
                                },
                            }
                        )
                    ]
                )
            },
        },
    )


@pytest.mark.parametrize("stage", WORKLOAD_STAGES + OTHER_STAGES)
def test_access_log_bucket_is_private_versioned_tls_only_and_expires_logs(org, stage):
    template = org.template(stage, "Baseline")
    account = org.stages[stage].account
    template.has_resource(
        "AWS::S3::Bucket",
        {
            "DeletionPolicy": "Retain",
            "Properties": {
                "BucketName": f"acme-access-logs-{account}-eu-west-1",
                "BucketEncryption": {
                    "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
                },
                "VersioningConfiguration": {"Status": "Enabled"},
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": True,
                    "BlockPublicPolicy": True,
                    "IgnorePublicAcls": True,
                    "RestrictPublicBuckets": True,
                },
                "OwnershipControls": {"Rules": [{"ObjectOwnership": "BucketOwnerEnforced"}]},
                "LifecycleConfiguration": {
                    "Rules": [Match.object_like({"ExpirationInDays": 365, "Status": "Enabled"})]
                },
            },
        },
    )
    statements = template.find_resources("AWS::S3::BucketPolicy")
    (policy,) = statements.values()
    denies = [s for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    conditions = [s["Condition"] for s in denies]
    assert {"Bool": {"aws:SecureTransport": "false"}} in conditions
    assert {"NumericLessThan": {"s3:TlsVersion": 1.2}} in conditions


@pytest.mark.parametrize("stage", OTHER_STAGES)
def test_accounts_without_workloads_have_no_vpc(org, stage):
    template = org.template(stage, "Baseline")
    template.resource_count_is("AWS::EC2::VPC", 0)
    template.resource_count_is("AWS::EC2::VPCEndpoint", 0)


@pytest.mark.parametrize("stage", WORKLOAD_STAGES)
def test_workload_vpc_is_isolated(org, stage):
    template = org.template(stage, "Baseline")
    zones = 3 if stage == "MlProdBaseline" else 2
    template.resource_count_is("AWS::EC2::VPC", 1)
    for internet_path in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::EgressOnlyInternetGateway"):
        template.resource_count_is(internet_path, 0)
    template.resource_count_is("AWS::EC2::Subnet", zones)
    template.all_resources_properties("AWS::EC2::Subnet", {"MapPublicIpOnLaunch": False})
    routes = template.find_resources("AWS::EC2::Route")
    assert routes == {}, "isolated subnets have no routes beyond the VPC and the gateway endpoints"
    subnets = template.find_resources("AWS::EC2::Subnet").values()
    # Zones are chosen by CloudFormation in the target account, never hard-coded at synth.
    assert sorted(s["Properties"]["AvailabilityZone"]["Fn::Select"][0] for s in subnets) == list(range(zones))
    assert all(s["Properties"]["AvailabilityZone"]["Fn::Select"][1] == {"Fn::GetAZs": ""} for s in subnets)
    template.has_resource_properties("Custom::VpcRestrictDefaultSG", {"DefaultSecurityGroupId": Match.any_value()})


def _service_of(endpoint: dict[str, Any]) -> str:
    """`com.amazonaws.eu-west-1.sts` or `["com.amazonaws.", {"Ref": "AWS::Region"}, ".s3"]` -> the service."""
    name = endpoint["Properties"]["ServiceName"]
    if isinstance(name, str):
        return name.split("eu-west-1.")[1]
    return str(name["Fn::Join"][1][-1]).lstrip(".")


@pytest.mark.parametrize("stage", WORKLOAD_STAGES)
def test_workload_vpc_reaches_aws_only_through_endpoints(org, stage):
    template = org.template(stage, "Baseline")
    endpoints = template.find_resources("AWS::EC2::VPCEndpoint")
    interface = {_service_of(e): e for e in endpoints.values() if e["Properties"].get("VpcEndpointType") == "Interface"}
    gateway = [e for e in endpoints.values() if e["Properties"].get("VpcEndpointType", "Gateway") == "Gateway"]
    assert set(interface) == INTERFACE_SERVICES
    assert {_service_of(e) for e in gateway} == {"s3", "dynamodb"}
    for endpoint in interface.values():
        assert endpoint["Properties"]["PrivateDnsEnabled"] is True
        assert len(endpoint["Properties"]["SecurityGroupIds"]) == 1


@pytest.mark.parametrize("stage", WORKLOAD_STAGES)
def test_endpoint_security_group_admits_only_https_from_the_vpc(org, stage):
    template = org.template(stage, "Baseline")
    account_name = stage.removesuffix("Baseline")
    cidr = next(
        a.network.cidr
        for n, a in org.config.accounts.items()
        if n.title().replace("-", "") == account_name and a.network is not None
    )
    groups = template.find_resources("AWS::EC2::SecurityGroup")
    (group,) = groups.values()
    properties = group["Properties"]
    assert properties["SecurityGroupIngress"] == [
        {"CidrIp": cidr, "Description": "HTTPS from the VPC", "FromPort": 443, "IpProtocol": "tcp", "ToPort": 443}
    ]
    # No egress: CDK's placeholder rule (ICMP type 252 to the broadcast address) matches nothing.
    assert properties["SecurityGroupEgress"] == [
        {
            "CidrIp": "255.255.255.255/32",
            "Description": "Disallow all traffic",
            "FromPort": 252,
            "IpProtocol": "icmp",
            "ToPort": 86,
        }
    ]


@pytest.mark.parametrize("stage", WORKLOAD_STAGES)
def test_flow_logs_capture_all_traffic_to_an_encrypted_log_group_with_retention(org, stage):
    template = org.template(stage, "Baseline")
    template.has_resource_properties(
        "AWS::EC2::FlowLog",
        {"ResourceType": "VPC", "TrafficType": "ALL", "LogDestinationType": "cloud-watch-logs"},
    )
    keys = template.find_resources("AWS::KMS::Key", {"Properties": {"Description": "CloudWatch Logs"}})
    (logs_key,) = keys
    template.has_resource_properties(
        "AWS::Logs::LogGroup", {"KmsKeyId": {"Fn::GetAtt": [logs_key, "Arn"]}, "RetentionInDays": 365}
    )
    # The delivery role's permissions are a managed policy on this one log group, not inline.
    template.resource_count_is("AWS::IAM::Policy", 0)
    template.has_resource_properties(
        "AWS::IAM::Role",
        {
            "AssumeRolePolicyDocument": {
                "Statement": [
                    Match.object_like(
                        {
                            "Principal": {"Service": "vpc-flow-logs.amazonaws.com"},
                            "Condition": {"StringEquals": {"aws:SourceAccount": org.stages[stage].account}},
                        }
                    )
                ]
            },
            "ManagedPolicyArns": [Match.any_value()],
        },
    )


@pytest.mark.parametrize(
    "stage,production",
    [("MlProdBaseline", True), ("MlTestBaseline", False), ("MlDevBaseline", False), ("ManagementBaseline", False)],
)
def test_production_keeps_its_stateful_resources_and_protects_its_stack(org, stage, production):
    template = org.template(stage, "Baseline")
    stack = org.stages[stage].node.find_child("Baseline")
    assert stack.termination_protection is production
    expected = "Retain" if production else "Delete"
    for key in template.find_resources("AWS::KMS::Key").values():
        assert key["DeletionPolicy"] == expected
    for group in template.find_resources("AWS::Logs::LogGroup").values():
        assert group["DeletionPolicy"] == expected
    for bucket in template.find_resources("AWS::S3::Bucket").values():
        assert bucket["DeletionPolicy"] == "Retain"


def test_baseline_publishes_what_later_stacks_read_at_deploy_time(org):
    template = org.template("MlDevBaseline", "Baseline")
    names = {p["Properties"]["Name"] for p in template.find_resources("AWS::SSM::Parameter").values()}
    assert names == {
        ssm_parameter_name("acme", "baseline", item)
        for item in (
            "alerts-topic-arn",
            "storage-key-arn",
            "logs-key-arn",
            "access-logs-bucket",
            "vpc-id",
            "endpoint-security-group-id",
            "private-subnet-ids",
        )
    }
    management = org.template("ManagementBaseline", "Baseline")
    management.resource_count_is("AWS::SSM::Parameter", 4)


def test_every_resource_is_tagged_with_organization_and_account(org):
    template = org.template("MlTestBaseline", "Baseline")
    template.has_resource_properties(
        "AWS::EC2::VPC",
        {
            "Tags": Match.array_with(
                [{"Key": "platform:account", "Value": "ml-test"}, {"Key": "platform:organization", "Value": "acme"}]
            )
        },
    )


@pytest.mark.parametrize("stage", WORKLOAD_STAGES + OTHER_STAGES)
def test_alerts_topic_is_encrypted_tls_only_and_cloudwatch_may_use_its_key(org, stage):
    template = org.template(stage, "Baseline")
    account = org.stages[stage].account
    keys = template.find_resources("AWS::KMS::Key", {"Properties": {"Description": "Platform alerts"}})
    (alerts_key,) = keys
    template.has_resource_properties("AWS::SNS::Topic", {"KmsMasterKeyId": {"Fn::GetAtt": [alerts_key, "Arn"]}})
    statements = keys[alerts_key]["Properties"]["KeyPolicy"]["Statement"]
    cloudwatch = next(s for s in statements if s.get("Sid") == "AllowCloudWatchAlarmsOfThisAccount")
    assert cloudwatch["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert cloudwatch["Condition"] == {"StringEquals": {"aws:SourceAccount": account}}
    (policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    denies = [s["Condition"] for s in policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert {"Bool": {"aws:SecureTransport": "false"}} in denies
