"""Second-region recovery: the standby of churn-predictor in eu-central-1 (config/example.yaml)."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from ml_pipelines.templates import container_images
from stacks.config import ConfigError, parse_config
from stacks.deployment_order import RECOVERY_PURPOSES, planned_stages, platform_stages
from stacks.stages import RECOVERY_STAGE_CLASSES
from tests.conftest import EXAMPLE_CONFIG

RECOVERY = "eu-central-1"
SERVING, ENDPOINTS = "MlProdEuCentral1Serving/Serving", "MlProdEuCentral1Endpoints/Endpoint-churn-predictor"
PROD, TOOLING = "777777777777", "333333333333"


def _resources(template: dict[str, Any], kind: str) -> dict[str, dict[str, Any]]:
    return {name: r["Properties"] for name, r in template["Resources"].items() if r["Type"] == kind}


def _config(endpoint: str, **changes: Any) -> Any:
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    next(e for e in document["endpoints"] if e["name"] == endpoint).update(changes)
    return document


@pytest.mark.parametrize(
    ("endpoint", "region", "problem"),
    [
        ("churn-predictor", "us-east-1", "endpoints.1.recovery_region: us-east-1 is not one of organization"),
        ("churn-predictor", "eu-west-1", "endpoints.1.recovery_region: eu-west-1 is already the region of ml-prod"),
        ("churn-segments", RECOVERY, "endpoints.2.recovery_region: recovery copies one approved package"),
    ],
)
def test_config_rejects_recovery_regions_that_cannot_work(endpoint, region, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_config(_config(endpoint, recovery_region=region))


def test_config_rejects_a_standby_of_an_endpoint_with_a_challenger():
    # The standby copies one package; a challenger beside the champion would be a second.
    variants = [
        {"name": "champion", "instance_type": "ml.c5.large", "weight": 0.9},
        {"name": "challenger", "instance_type": "ml.c5.large", "weight": 0.1},
    ]
    with pytest.raises(ConfigError, match=r"endpoints\.1\.recovery_region: .* an endpoint with a challenger"):
        parse_config(_config("churn-predictor", variants=variants))


def test_production_deploys_baseline_serving_and_endpoints_in_the_recovery_region_in_their_waves(example_config):
    planned = {p.stage_id: p for p in planned_stages(example_config) if p.recovery_region}
    assert set(planned) == {
        "MlProdEuCentral1Baseline",
        "MlProdEuCentral1Serving",
        "MlProdEuCentral1Endpoints",
        # The shared-services pipelines' replication bucket logs to a baseline there.
        "SharedServicesEuCentral1Baseline",
    }
    assert {p.recovery_region for p in planned.values()} == {RECOVERY}
    assert set(RECOVERY_PURPOSES) == set(RECOVERY_STAGE_CLASSES)
    primary = {p.purpose: p.wave for p in planned_stages(example_config) if p.account_name == "ml-prod"}
    assert all(p.wave == primary[p.purpose] for p in planned.values() if p.account_name == "ml-prod")
    # The platform's waves deploy all but the endpoints, which the model's pipeline deploys.
    platform = {p.stage_id for p in platform_stages(example_config)}
    assert "MlProdEuCentral1Serving" in platform and "MlProdEuCentral1Endpoints" not in platform


def test_recovery_stages_deploy_to_the_production_account_in_the_recovery_region(org):
    for stage in ("MlProdEuCentral1Baseline", "MlProdEuCentral1Serving", "MlProdEuCentral1Endpoints"):
        assert (org.stages[stage].account, org.stages[stage].region) == (PROD, RECOVERY)
    # Only the endpoints that name the region: no other endpoint, no batch job.
    assert {stack.split("/")[1] for stack in org.templates if stack.startswith("MlProdEuCentral1Endpoints/")} == {
        "Endpoint-churn-predictor"
    }


def test_recovery_serving_has_its_own_key_and_buckets_and_extends_the_model_role_by_name(org):
    template = org.templates[SERVING]
    assert len(_resources(template, "AWS::KMS::Key")) == 1
    buckets = {p["BucketName"] for p in _resources(template, "AWS::S3::Bucket").values()}
    assert buckets == {f"acme-data-capture-{PROD}-{RECOVERY}", f"acme-recovery-models-{PROD}-{RECOVERY}"}
    # IAM names are global: the primary region's role gets one more policy, no role is created.
    assert not _resources(template, "AWS::IAM::Role").keys() - {
        name for name in template["Resources"] if "ModelArchiveCopy" in name
    }
    (policy,) = [
        p
        for p in _resources(template, "AWS::IAM::ManagedPolicy").values()
        if p.get("Roles") == ["acme-model-execution"]
    ]
    sids = {statement["Sid"] for statement in policy["PolicyDocument"]["Statement"]}
    assert sids == {"ReadCopiedModels", "PullFrameworkImages", "CaptureData", "ServingKey", "EndpointLogs"}
    parameters = {p["Name"] for p in _resources(template, "AWS::SSM::Parameter").values()}
    assert {"/acme/serving/key-arn", "/acme/serving/model-archive-copy-service-token"} <= parameters


def test_the_archive_copy_runs_outside_the_vpc_with_read_access_to_the_registry_only(org):
    template = org.templates[SERVING]
    (function,) = [
        p for p in _resources(template, "AWS::Lambda::Function").values() if p.get("Handler") == "handler.handler"
    ]
    assert "VpcConfig" not in function and "DeadLetterConfig" in function
    statements = [
        statement
        for policy in _resources(template, "AWS::IAM::ManagedPolicy").values()
        if "Roles" not in policy
        for statement in policy["PolicyDocument"]["Statement"]
    ]
    by_sid = {statement.get("Sid"): statement for statement in statements}
    # One resource: CDK renders a single-resource statement without the list.
    assert by_sid["DescribePackages"]["Resource"] == {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":sagemaker:eu-west-1:555555555555:model-package/acme-churn-predictor/*",
            ],
        ]
    }
    assert by_sid["ReadArchives"]["Action"] == "s3:GetObject"
    assert set(by_sid["WriteCopies"]["Action"]) == {"s3:PutObject", "s3:AbortMultipartUpload"}


def test_the_standby_serves_a_copy_of_the_deployed_package_with_the_regions_framework_image(org):
    template = org.templates[ENDPOINTS]
    (copy,) = _resources(template, "Custom::ModelArchiveCopy").values()
    assert copy["ModelPackageArn"] == {"Ref": "ModelPackageArn"}
    assert copy["Bucket"] == f"acme-recovery-models-{PROD}-{RECOVERY}"
    # The package was built on the registry region's image; the standby runs its own region's.
    assert copy["ExpectedImage"] == container_images()["eu-west-1"]
    (model,) = _resources(template, "AWS::SageMaker::Model").values()
    container = model["PrimaryContainer"]
    assert container["Image"] == container_images()[RECOVERY]
    assert "ModelDataUrl" in json.dumps(container["ModelDataUrl"]) and "ModelPackageName" not in container
    assert container["Environment"] == {
        "SAGEMAKER_PROGRAM": "inference.py",
        "SAGEMAKER_SUBMIT_DIRECTORY": "/opt/ml/model/code",
    }
    assert model["EnableNetworkIsolation"] is True and "VpcConfig" in model
    (logical_id,) = _resources(template, "AWS::SageMaker::Model")
    assert any(
        name in template["Resources"][logical_id].get("DependsOn", [])
        for name in _resources(template, "Custom::ModelArchiveCopy")
    )


def test_the_standby_has_no_monitoring_and_rolls_back_on_its_own_alarms_only(org):
    template = org.templates[ENDPOINTS]
    primary = org.templates["MlProdEndpoints/Endpoint-churn-predictor"]
    assert _resources(primary, "AWS::SageMaker::MonitoringSchedule")
    assert not _resources(template, "AWS::SageMaker::MonitoringSchedule")
    (endpoint,) = [r for r in template["Resources"].values() if r["Type"] == "AWS::SageMaker::Endpoint"]
    assert endpoint["DeletionPolicy"] == "Retain"
    assert endpoint["Properties"]["EndpointName"] == "acme-churn-predictor"
    # Autoscaled like the primary: a failover lands on the capacity the primary had.
    assert _resources(template, "AWS::ApplicationAutoScaling::ScalableTarget")


def test_the_model_pipeline_deploys_the_standby_after_the_primary_with_the_same_package(org):
    pipelines = {
        r["Properties"]["Name"]: r["Properties"]
        for r in org.templates["SharedServicesTooling/ModelDeployments-0"]["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline"
    }
    churn = pipelines["acme-churn-predictor-deploy"]
    (production,) = [stage for stage in churn["Stages"] if stage["Name"] == "Production"]
    actions = {action["Name"]: action for action in production["Actions"]}
    standby, primary = actions["Deploy-churn-predictor-recovery"], actions["Deploy-churn-predictor"]
    assert (standby["Region"], standby["RunOrder"]) == (RECOVERY, 2) and primary["RunOrder"] == 1
    assert standby["Configuration"]["StackName"] == primary["Configuration"]["StackName"]
    # The recovery region's bootstrap roles: their access to pipeline artifacts is per region.
    assert f"cdk-hnb659fds-deploy-role-{PROD}-{RECOVERY}" in json.dumps(standby["RoleArn"])
    assert f"cdk-hnb659fds-cfn-exec-role-{PROD}-{RECOVERY}" in json.dumps(standby["Configuration"]["RoleArn"])
    assert json.loads(standby["Configuration"]["ParameterOverrides"]) == {
        "ModelPackageArn": "#{variables.ModelPackageArn}"
    }
    stores = {store["Region"]: store["ArtifactStore"] for store in churn["ArtifactStores"]}
    assert stores[RECOVERY]["Location"] == f"acme-pipeline-replication-{TOOLING}-{RECOVERY}"
    assert (
        stores[RECOVERY]["EncryptionKey"]["Id"] == f"arn:aws:kms:{RECOVERY}:{TOOLING}:alias/acme/pipeline-replication"
    )
    # The fraud detector has no standby.
    fraud = pipelines["acme-fraud-detector-deploy"]
    assert not [a for s in fraud["Stages"] for a in s["Actions"] if a["Name"].endswith("-recovery")]


def test_the_replication_bucket_is_written_by_shared_services_and_read_by_production(org):
    stack = org.stages["SharedServicesTooling"].node.find_child(f"PipelineReplication-{RECOVERY}")
    assert stack.region == RECOVERY
    template = org.templates[f"SharedServicesTooling/PipelineReplication-{RECOVERY}"]
    (policy,) = _resources(template, "AWS::S3::BucketPolicy").values()
    statements = {s.get("Sid"): s for s in policy["PolicyDocument"]["Statement"]}
    assert statements["PipelinesWrite"]["Condition"] == {"StringEquals": {"aws:PrincipalAccount": TOOLING}}
    assert "s3:PutObject" not in statements["DeployRolesRead"]["Action"]
    assert statements["DeployRolesRead"]["Condition"]["StringEquals"]["aws:PrincipalAccount"] == [TOOLING, PROD]
    (key,) = _resources(template, "AWS::KMS::Key").values()
    grants = {s.get("Sid"): s for s in key["KeyPolicy"]["Statement"]}
    assert grants["PipelinesEncryptThroughS3"]["Condition"]["StringEquals"]["aws:PrincipalAccount"] == TOOLING
    assert grants["DeployRolesDecryptThroughS3"]["Action"] == ["kms:Decrypt", "kms:DescribeKey"]
    (bucket,) = _resources(template, "AWS::S3::Bucket").values()
    assert bucket["LifecycleConfiguration"]["Rules"][0]["ExpirationInDays"] == 90
    assert bucket["LoggingConfiguration"]["DestinationBucketName"] == f"acme-access-logs-{TOOLING}-{RECOVERY}"


@pytest.mark.parametrize(
    ("api", "problem"),
    [
        (
            {
                "authorization": "iam",
                "custom_domain": {
                    "name": "c.ml.example.com",
                    "hosted_zone_id": "Z1",
                    "hosted_zone_name": "ml.example.com",
                },
            },
            "endpoints.1.api.authorization: SigV4 signs for one region",
        ),
        ({"authorization": "iam"}, "endpoints.1.api.custom_domain: required with recovery_region"),
        (
            {
                "authorization": "cognito",
                "cognito_user_pool_arn": "arn:aws:cognito-idp:eu-west-1:777777777777:userpool/eu-west-1_Abc",
                "custom_domain": {
                    "name": "churn.example.org",
                    "hosted_zone_id": "Z1",
                    "hosted_zone_name": "ml.example.com",
                },
            },
            "endpoints.1.api.custom_domain.name: must be a name in the zone ml.example.com",
        ),
    ],
)
def test_config_rejects_api_failover_that_dns_cannot_do(api, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_config(_config("churn-predictor", api=api))


def _domain_side(org, stage: str) -> dict[str, list[dict[str, Any]]]:
    template = org.templates[f"{stage}/InferenceApis-0"]
    return {
        kind: list(_resources(template, kind).values())
        for kind in (
            "AWS::CertificateManager::Certificate",
            "AWS::ApiGateway::DomainName",
            "AWS::ApiGateway::BasePathMapping",
            "AWS::Route53::HealthCheck",
            "AWS::Route53::RecordSet",
            "AWS::CloudWatch::Alarm",
        )
    }


@pytest.mark.parametrize(
    ("stage", "region", "failover"),
    [("MlProdServing", "eu-west-1", "PRIMARY"), ("MlProdEuCentral1Serving", RECOVERY, "SECONDARY")],
)
def test_the_apis_name_fails_over_to_the_standbys_api_on_a_health_check(org, stage, region, failover):
    side = _domain_side(org, stage)
    (certificate,) = side["AWS::CertificateManager::Certificate"]
    assert certificate["DomainName"] == "churn.ml.example.com"
    assert certificate["DomainValidationOptions"] == [
        {"DomainName": "churn.ml.example.com", "HostedZoneId": "Z0123456789ABCDEFGHIJ"}
    ]
    (domain,) = side["AWS::ApiGateway::DomainName"]
    assert domain["EndpointConfiguration"] == {"Types": ["REGIONAL"]} and domain["SecurityPolicy"] == "TLS_1_2"
    assert len(side["AWS::ApiGateway::BasePathMapping"]) == 1
    (check,) = side["AWS::Route53::HealthCheck"]
    config = check["HealthCheckConfig"]
    assert config["Type"] == "CLOUDWATCH_METRIC" and config["AlarmIdentifier"]["Region"] == region
    assert config["InsufficientDataHealthStatus"] == "Unhealthy"
    (record,) = side["AWS::Route53::RecordSet"]
    assert (record["Name"], record["Type"], record["Failover"], record["SetIdentifier"]) == (
        "churn.ml.example.com.",
        "A",
        failover,
        region,
    )
    assert record["HostedZoneId"] == "Z0123456789ABCDEFGHIJ" and "HealthCheckId" in record
    # Health: the share of 5XX answers, as a plain metric (Route 53 cannot watch metric math).
    (alarm,) = [a for a in side["AWS::CloudWatch::Alarm"] if "fails churn.ml.example.com over" in a["AlarmDescription"]]
    assert (alarm["MetricName"], alarm["Statistic"], alarm["Threshold"]) == ("5XXError", "Average", 0.25)
    assert alarm["AlarmActions"] and alarm["OKActions"]
    # A primary whose API stops reporting is unhealthy (API Gateway publishes nothing when it
    # serves nothing); the standby's silence is its normal state, and if it counted as
    # unhealthy, both records would be, and Route 53 would answer with the primary.
    assert alarm["TreatMissingData"] == {"PRIMARY": "breaching", "SECONDARY": "notBreaching"}[failover]


def test_only_production_apis_with_a_custom_domain_get_a_name(org):
    for stack in ("MlTestServing/InferenceApis-0", "MlProdServing/InferenceApis-0"):
        domains = _resources(org.templates[stack], "AWS::ApiGateway::DomainName")
        assert len(domains) == (1 if stack.startswith("MlProd") else 0)
    # The recovery region serves only the standbys' APIs.
    apis = _resources(org.templates["MlProdEuCentral1Serving/InferenceApis-0"], "AWS::ApiGateway::RestApi")
    assert [api["Name"] for api in apis.values()] == ["acme-churn-predictor-api"]
