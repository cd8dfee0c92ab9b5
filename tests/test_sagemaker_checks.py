"""SageMakerChecks, rule by rule: each has a resource that passes and one that fails.

The fixtures are bare CloudFormation resources, so the rules are proven on what
CloudFormation receives, not on the platform's constructs."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_applicationautoscaling as autoscaling
from aws_cdk import aws_sagemaker as sagemaker

from ml_constructs.sagemaker_checks import RULES, SageMakerChecks
from tests.conftest import cli_app, product_stack

PRODUCTION = "777777777777"
ORGANIZATION = ("555555555555", "666666666666", PRODUCTION)
KEY = "arn:aws:kms:eu-west-1:777777777777:key/0a1b2c3d-4e5f-6789-abcd-ef0123456789"
ROLE = "arn:aws:iam::777777777777:role/acme-model-execution"
NETWORK = {"Subnets": ["subnet-0123456789abcdef0"], "SecurityGroupIds": ["sg-0123456789abcdef0"]}

Build = Callable[[cdk.Stack, bool], object]


def domain(stack: cdk.Stack, good: bool, **changes: Any) -> None:
    properties: dict[str, Any] = {
        "auth_mode": "IAM",
        "default_user_settings": {"executionRole": ROLE},
        "domain_name": "acme-studio",
        "subnet_ids": ["subnet-0123456789abcdef0"],
        "vpc_id": "vpc-0123456789abcdef0",
        "app_network_access_type": "VpcOnly",
        "kms_key_id": KEY,
        "domain_settings": {"dockerSettings": {"enableDockerAccess": "DISABLED"}},
    }
    sagemaker.CfnDomain(stack, "Domain", **{**properties, **(changes if not good else {})})


def notebook(stack: cdk.Stack, good: bool, **changes: Any) -> None:
    properties: dict[str, Any] = {
        "instance_type": "ml.t3.medium",
        "role_arn": ROLE,
        "direct_internet_access": "Disabled",
        "root_access": "Disabled",
        "subnet_id": "subnet-0123456789abcdef0",
        "security_group_ids": ["sg-0123456789abcdef0"],
        "kms_key_id": KEY,
    }
    sagemaker.CfnNotebookInstance(stack, "Notebook", **{**properties, **(changes if not good else {})})


def _variant(name: str = "champion", instance_type: str = "ml.m5.large") -> dict[str, Any]:
    return {"variantName": name, "modelName": "model", "instanceType": instance_type, "initialInstanceCount": 2}


def endpoint_config(stack: cdk.Stack, good: bool, **changes: Any) -> sagemaker.CfnEndpointConfig:
    properties: dict[str, Any] = {
        "production_variants": [_variant()],
        "kms_key_id": KEY,
        "data_capture_config": {
            "enableCapture": True,
            "initialSamplingPercentage": 100,
            "destinationS3Uri": "s3://acme-data-capture/endpoints/scorer",
            "kmsKeyId": KEY,
            "captureOptions": [{"captureMode": "Input"}, {"captureMode": "Output"}],
        },
    }
    return sagemaker.CfnEndpointConfig(stack, "Config", **{**properties, **(changes if not good else {})})


def endpoint(
    stack: cdk.Stack,
    good: bool,
    *,
    scaled: bool = True,
    monitored: bool = True,
    min_capacity: int = 2,
    config: sagemaker.CfnEndpointConfig | None = None,
    **changes: Any,
) -> None:
    config = config or endpoint_config(stack, True)
    properties: dict[str, Any] = {
        "endpoint_name": "acme-scorer",
        "endpoint_config_name": config.attr_endpoint_config_name,
        "deployment_config": {
            "blueGreenUpdatePolicy": {"trafficRoutingConfiguration": {"type": "ALL_AT_ONCE"}},
            "autoRollbackConfiguration": {"alarms": [{"alarmName": "acme-scorer-5xx"}]},
        },
    }
    served = sagemaker.CfnEndpoint(stack, "Endpoint", **{**properties, **(changes if not good else {})})
    if scaled:
        target = autoscaling.CfnScalableTarget(
            stack,
            "Scaling",
            service_namespace="sagemaker",
            resource_id="endpoint/acme-scorer/variant/champion",
            scalable_dimension="sagemaker:variant:DesiredInstanceCount",
            min_capacity=2 if good else min_capacity,
            max_capacity=4,
        )
        target.add_dependency(served)
    if monitored:
        job = sagemaker.CfnDataQualityJobDefinition(
            stack,
            "DataQuality",
            role_arn=ROLE,
            data_quality_app_specification={"imageUri": "468650794304.dkr.ecr.eu-west-1.amazonaws.com/analyzer"},
            data_quality_job_input={"endpointInput": {"endpointName": "acme-scorer", "localPath": "/opt/ml/input"}},
            data_quality_job_output_config={"monitoringOutputs": []},
            job_resources={"clusterConfig": {"instanceCount": 1, "instanceType": "ml.m5.xlarge", "volumeSizeInGb": 20}},
        )
        sagemaker.CfnMonitoringSchedule(
            stack,
            "Schedule",
            monitoring_schedule_name="acme-scorer-data-quality",
            monitoring_schedule_config={
                "monitoringJobDefinitionName": cdk.Fn.select(1, cdk.Fn.split("/", job.attr_job_definition_arn)),
                "monitoringType": "DataQuality",
            },
        )


def _training(**changes: Any) -> dict[str, Any]:
    arguments = {
        "EnableNetworkIsolation": True,
        "VpcConfig": NETWORK,
        "ResourceConfig": {"VolumeKmsKeyId": KEY},
        "OutputDataConfig": {"KmsKeyId": KEY},
    }
    return {"Name": "Train", "Type": "Training", "Arguments": {**arguments, **changes}}


def _processing(**changes: Any) -> dict[str, Any]:
    arguments = {
        "NetworkConfig": {"EnableNetworkIsolation": True, "VpcConfig": NETWORK},
        "ProcessingResources": {"ClusterConfig": {"VolumeKmsKeyId": KEY}},
        "ProcessingOutputConfig": {"KmsKeyId": KEY},
    }
    return {"Name": "Evaluate", "Type": "Processing", "Arguments": {**arguments, **changes}}


def pipeline(stack: cdk.Stack, good: bool, quality_check: dict[str, Any] | None = None) -> None:
    # The bad processing step hides in a condition's branch: the rule looks there too.
    evaluate = _processing() if good else _processing(NetworkConfig={"EnableNetworkIsolation": False})
    steps = [
        _training(),
        quality_check or {**_processing(), "Name": "DataQualityCheck", "Type": "QualityCheck"},
        {"Name": "Gate", "Type": "Condition", "Arguments": {"Conditions": [], "IfSteps": [evaluate], "ElseSteps": []}},
    ]
    sagemaker.CfnPipeline(
        stack,
        "Pipeline",
        pipeline_name="acme-scorer-build",
        role_arn=ROLE,
        # A reference inside the definition, as synthesized pipelines have.
        pipeline_definition={
            "PipelineDefinitionBody": cdk.Fn.join(
                "",
                [json.dumps({"Version": "2020-12-01", "Steps": steps})[:-1], ', "Role": "', cdk.Aws.ACCOUNT_ID, '"}'],
            )
        },
    )


def feature_group(stack: cdk.Stack, good: bool) -> None:
    sagemaker.CfnFeatureGroup(
        stack,
        "Features",
        feature_group_name="acme-customers",
        record_identifier_feature_name="id",
        event_time_feature_name="time",
        feature_definitions=[
            {"featureName": "id", "featureType": "String"},
            {"featureName": "time", "featureType": "String"},
        ],
        # JSON-typed properties: CloudFormation's own casing, passed through as written.
        online_store_config={"EnableOnlineStore": True, **({"SecurityConfig": {"KmsKeyId": KEY}} if good else {})},
        offline_store_config={"S3StorageConfig": {"S3Uri": "s3://acme-feature-store", "KmsKeyId": KEY}},
        role_arn=ROLE,
    )


def package_group(stack: cdk.Stack, good: bool) -> None:
    account = "666666666666" if good else "999999999999"
    sagemaker.CfnModelPackageGroup(
        stack,
        "Group",
        model_package_group_name="acme-scorer",
        model_package_group_policy={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
                    "Action": "sagemaker:DescribeModelPackage",
                    "Resource": "arn:aws:sagemaker:eu-west-1:555555555555:model-package/acme-scorer/*",
                }
            ],
        },
    )


CASES: dict[str, tuple[Build, str]] = {
    "StudioVpcOnly": (lambda s, g: domain(s, g, app_network_access_type="PublicInternetOnly"), "Domain"),
    "StudioStorageEncrypted": (lambda s, g: domain(s, g, kms_key_id=None), "Domain"),
    "StudioNoRootAccess": (
        lambda s, g: domain(s, g, domain_settings={"dockerSettings": {"enableDockerAccess": "ENABLED"}}),
        "Domain",
    ),
    "NotebookNoDirectInternet": (lambda s, g: notebook(s, g, direct_internet_access="Enabled"), "Notebook"),
    "NotebookNoRootAccess": (lambda s, g: notebook(s, g, root_access="Enabled"), "Notebook"),
    "EndpointConfigEncrypted": (lambda s, g: endpoint_config(s, g, kms_key_id=None), "Config"),
    "ProductionDataCapture": (
        lambda s, g: endpoint_config(
            s,
            g,
            data_capture_config={
                "enableCapture": False,
                "initialSamplingPercentage": 0,
                "destinationS3Uri": "s3://b/p",
                "kmsKeyId": KEY,
                "captureOptions": [{"captureMode": "Input"}],
            },
        ),
        "Config",
    ),
    "ProductionAutoscaling": (lambda s, g: endpoint(s, g, min_capacity=1), "Endpoint"),
    "ProductionDeploymentGuardrails": (lambda s, g: endpoint(s, g, deployment_config=None), "Endpoint"),
    "ProductionMonitoring": (lambda s, g: endpoint(s, True, monitored=g), "Endpoint"),
    "PipelineStepsIsolated": (pipeline, "Pipeline"),
    "FeatureGroupEncrypted": (feature_group, "Features"),
    "ModelPackageGroupOrganizationOnly": (package_group, "Group"),
}


def _violations(
    tmp_path,
    build: Build,
    good: bool,
    account: str = PRODUCTION,
    *,
    test_endpoints: tuple[tuple[str, str], ...] = (),
    standby_endpoints: tuple[tuple[str, str, str], ...] = (),
    region: str = "eu-west-1",
) -> dict[str, set[str]]:
    """The plugin's findings, by rule, as CDK reports them after a synth: construct paths."""
    app = cli_app(tmp_path)
    build(cdk.Stack(app, "Stack", env=cdk.Environment(account=account, region=region)), good)
    checks = SageMakerChecks(
        production_accounts=[PRODUCTION],
        organization_accounts=ORGANIZATION,
        test_endpoints=test_endpoints,
        standby_endpoints=standby_endpoints,
    )
    cdk.Validations.of(app).add_plugins(checks)
    try:
        app.synth()
    except RuntimeError as error:
        assert "ValidationFailed" in str(error)
    report = json.loads((tmp_path / "validation-report.json").read_text())
    # A plugin without findings is left out of the report.
    return {
        violation["ruleName"]: {construct["constructPath"] for construct in violation["violatingConstructs"]}
        for plugin in report["pluginReports"]
        if plugin["pluginName"] == "SageMaker"
        for violation in plugin["violations"]
    }


def test_every_rule_has_a_case():
    assert set(CASES) == {rule.name for rule in RULES}
    assert all(rule.info and len(rule.explanation.split()) >= 8 for rule in RULES)


@pytest.mark.parametrize("rule", sorted(CASES))
def test_the_rule_passes_a_compliant_resource(tmp_path, rule):
    build, _ = CASES[rule]
    assert _violations(tmp_path, build, good=True) == {}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_the_rule_fails_a_non_compliant_resource(tmp_path, rule):
    build, construct = CASES[rule]
    violations = _violations(tmp_path, build, good=False)
    finding = next(name for name in violations if name.split("[")[0] == f"SageMaker-{rule}")
    assert violations[finding] == {f"Stack/{construct}"}
    # Nothing but the rule under test objects to the fixture.
    assert {name.split("[")[0] for name in violations} == {f"SageMaker-{rule}"}


def test_pipeline_findings_name_the_failing_step(tmp_path):
    assert set(_violations(tmp_path, pipeline, good=False)) == {"SageMaker-PipelineStepsIsolated[Evaluate]"}


def test_quality_check_steps_run_under_the_controls_of_processing_steps(tmp_path):
    unencrypted = {**_processing(ProcessingOutputConfig={}), "Name": "DataQualityCheck", "Type": "QualityCheck"}
    assert set(_violations(tmp_path, lambda s, g: pipeline(s, g, unencrypted), True)) == {
        "SageMaker-PipelineStepsIsolated[DataQualityCheck]"
    }


def test_production_rules_leave_other_accounts_alone(tmp_path):
    assert (
        _violations(tmp_path, lambda s, g: endpoint(s, g, scaled=False, monitored=False), False, "666666666666") == {}
    )


@pytest.mark.parametrize(
    ("tested", "violated"), [("acme-scorer", set()), ("acme-other", {"SageMaker-ProductionMonitoring"})]
)
def test_production_rules_leave_an_endpoint_tested_in_a_production_account_alone(tmp_path, tested, violated):
    """Test or production is the deployment's: a team may test in its production account."""
    unmonitored = _violations(
        tmp_path, lambda s, g: endpoint(s, g, monitored=False), True, test_endpoints=((PRODUCTION, tested),)
    )
    assert set(unmonitored) == violated


@pytest.mark.parametrize(
    ("region", "violated"), [("eu-central-1", set()), ("eu-west-1", {"SageMaker-ProductionMonitoring"})]
)
def test_only_the_standby_in_its_recovery_region_goes_unmonitored(tmp_path, region, violated):
    """The standby serves no traffic until clients fail over; the endpoint it stands by for,
    of the same name in the primary region, must be monitored (an acknowledgement by construct
    path could not tell the two apart, and let an unmonitored primary through)."""
    unmonitored = _violations(
        tmp_path,
        lambda s, g: endpoint(s, g, monitored=False),
        True,
        standby_endpoints=((PRODUCTION, "eu-central-1", "acme-scorer"),),
        region=region,
    )
    assert set(unmonitored) == violated


def test_serverless_endpoints_need_no_volume_key_or_data_capture(tmp_path):
    serverless = {
        "variantName": "serverless",
        "modelName": "model",
        "serverlessConfig": {"memorySizeInMb": 2048, "maxConcurrency": 5},
    }
    assert (
        _violations(
            tmp_path,
            lambda s, g: endpoint_config(
                s, False, production_variants=[serverless], kms_key_id=None, data_capture_config=None
            ),
            False,
        )
        == {}
    )


def test_production_monitoring_is_not_asked_of_serverless_endpoints_which_capture_no_data(tmp_path):
    serverless = {
        "variantName": "champion",
        "modelName": "model",
        "serverlessConfig": {"memorySizeInMb": 2048, "maxConcurrency": 5},
    }

    def build(stack: cdk.Stack, instances: bool) -> None:
        config = endpoint_config(
            stack, instances, production_variants=[serverless], kms_key_id=None, data_capture_config=None
        )
        endpoint(stack, True, scaled=instances, monitored=False, config=config)

    assert "SageMaker-ProductionMonitoring" not in _violations(tmp_path / "serverless", build, False)
    assert "SageMaker-ProductionMonitoring" in _violations(tmp_path / "instances", build, True)


def _multi_model_endpoint(stack: cdk.Stack, mode: str) -> None:
    model = sagemaker.CfnModel(
        stack,
        "Model",
        execution_role_arn=ROLE,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image="image", model_data_url="s3://acme-models/segments/", mode=mode
        ),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            subnets=NETWORK["Subnets"], security_group_ids=NETWORK["SecurityGroupIds"]
        ),
        enable_network_isolation=True,
    )
    config = endpoint_config(stack, False, production_variants=[{**_variant(), "modelName": model.attr_model_name}])
    endpoint(stack, True, monitored=False, config=config)


def test_production_monitoring_is_not_asked_of_multi_model_endpoints_which_model_monitor_cannot_watch(tmp_path):
    assert _violations(tmp_path, lambda s, g: _multi_model_endpoint(s, "MultiModel"), False) == {}
    assert set(_violations(tmp_path, lambda s, g: _multi_model_endpoint(s, "SingleModel"), False)) == {
        "SageMaker-ProductionMonitoring"
    }


def test_templates_a_stack_deploys_as_assets_are_checked_too(tmp_path):
    """Service Catalog product templates are file assets of their portfolio's stack."""

    def product(stack: cdk.Stack, good: bool) -> None:
        notebook(product_stack(stack, "Product"), good, root_access="Enabled")

    assert _violations(tmp_path, product, good=True) == {}
    assert _violations(tmp_path, product, good=False) == {"SageMaker-NotebookNoRootAccess": {"Stack/Product/Notebook"}}
