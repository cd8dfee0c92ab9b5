"""Serving in the ml-test and ml-prod accounts: the shared serving stack, and one endpoint
stack per endpoint with blue/green rollback, autoscaling computed from config, data capture
and alarms."""

from __future__ import annotations

import json
from fnmatch import fnmatchcase
from typing import Any

import pytest
import yaml

from ml_constructs.endpoint import invocations_target
from stacks.config import ConfigError, parse_config
from tests.conftest import EXAMPLE_CONFIG
from tests.test_registry import DEVELOPMENT_ONLY, READABLE_BY_SERVING, object_key_patterns

PROD, TEST = "MlProdEndpoints", "MlTestEndpoints"
FRAUD = "Endpoint-fraud-detector"


def _resources(org, stage: str, stack: str, kind: str) -> dict[str, Any]:
    return {
        logical: resource
        for logical, resource in org.templates[f"{stage}/{stack}"]["Resources"].items()
        if resource["Type"] == kind
    }


def _one(org, stage: str, stack: str, kind: str) -> Any:
    (resource,) = _resources(org, stage, stack, kind).values()
    return resource


def test_each_serving_account_gets_its_endpoints_and_batch_jobs_as_stacks_of_their_own(org):
    for stage in (PROD, TEST):
        stacks = {key.split("/")[1] for key in org.templates if key.startswith(f"{stage}/")}
        assert stacks == {FRAUD, "Endpoint-churn-predictor", "Endpoint-churn-segments", "Batch-churn-nightly"}


def test_models_come_from_the_packages_the_pipeline_passes_isolated_in_the_vpc(org):
    template = org.templates[f"{PROD}/{FRAUD}"]
    for name in ("ModelPackageArn", "ChampionModelPackageArn"):
        assert template["Parameters"][name]["Type"] == "String"
        assert "model-package" in template["Parameters"][name]["AllowedPattern"]
    models = {
        model["Properties"]["PrimaryContainer"]["ModelPackageName"]["Ref"]: model["Properties"]
        for model in _resources(org, PROD, FRAUD, "AWS::SageMaker::Model").values()
    }
    assert set(models) == {"ModelPackageArn", "ChampionModelPackageArn"}
    network = org.config.accounts["ml-prod"].network
    for model in models.values():
        assert model["EnableNetworkIsolation"] is True
        assert len(model["VpcConfig"]["Subnets"]) == network.availability_zones
        assert model["ExecutionRoleArn"]["Fn::Join"][1][-1] == ":iam::777777777777:role/acme-model-execution"
    # One variant, one package: nothing to compare, nothing to promote.
    single = org.templates[f"{PROD}/Endpoint-churn-predictor"]
    assert "ChampionModelPackageArn" not in single["Parameters"]
    (model,) = _resources(org, PROD, "Endpoint-churn-predictor", "AWS::SageMaker::Model").values()
    assert model["Properties"]["PrimaryContainer"] == {"ModelPackageName": {"Ref": "ModelPackageArn"}}


@pytest.mark.parametrize("stage", [PROD, TEST])
def test_the_challenger_serves_the_new_package_beside_the_champion(org, stage):
    models = {
        logical: model["Properties"]["PrimaryContainer"]["ModelPackageName"]["Ref"]
        for logical, model in _resources(org, stage, FRAUD, "AWS::SageMaker::Model").items()
    }
    config = _one(org, stage, FRAUD, "AWS::SageMaker::EndpointConfig")["Properties"]
    served = {v["VariantName"]: models[v["ModelName"]["Fn::GetAtt"][0]] for v in config["ProductionVariants"]}
    assert served == {"champion": "ChampionModelPackageArn", "challenger": "ModelPackageArn"}


def test_endpoint_config_weights_champion_and_challenger_and_captures_data_with_kms(org):
    config = _one(org, PROD, FRAUD, "AWS::SageMaker::EndpointConfig")["Properties"]
    variants = {v["VariantName"]: v for v in config["ProductionVariants"]}
    assert {name: (v["InitialVariantWeight"], v["InitialInstanceCount"]) for name, v in variants.items()} == {
        "champion": (0.9, 2),
        "challenger": (0.1, 2),
    }
    assert config["KmsKeyId"]["Ref"].startswith("SsmParameterValueacmeservingkeyarn")
    capture = config["DataCaptureConfig"]
    assert capture["EnableCapture"] is True
    assert capture["InitialSamplingPercentage"] == 100
    assert capture["DestinationS3Uri"] == "s3://acme-data-capture-777777777777-eu-west-1/endpoints/fraud-detector"
    assert capture["KmsKeyId"] == config["KmsKeyId"]
    assert [option["CaptureMode"] for option in capture["CaptureOptions"]] == ["Input", "Output"]


def test_updates_are_blue_green_canaries_that_roll_back_on_errors_and_latency(org):
    endpoint = _one(org, PROD, FRAUD, "AWS::SageMaker::Endpoint")
    assert endpoint["Properties"]["EndpointName"] == "acme-fraud-detector"
    policy = endpoint["Properties"]["DeploymentConfig"]["BlueGreenUpdatePolicy"]
    assert policy["TrafficRoutingConfiguration"] == {
        "Type": "CANARY",
        "CanarySize": {"Type": "CAPACITY_PERCENT", "Value": 10},
        "WaitIntervalInSeconds": 600,
    }
    assert policy["TerminationWaitInSeconds"] == 600
    rollback = {
        a["AlarmName"]["Ref"] for a in endpoint["Properties"]["DeploymentConfig"]["AutoRollbackConfiguration"]["Alarms"]
    }
    alarms = _resources(org, PROD, FRAUD, "AWS::CloudWatch::Alarm")
    assert rollback == {logical for logical in alarms if any(part in logical for part in ("5XXRate", "LatencyP99"))}
    assert len(rollback) == 4  # two variants, each 5XX rate and p99 latency
    latency = next(alarms[logical]["Properties"] for logical in rollback if "championLatency" in logical)
    assert latency["ExtendedStatistic"] == "p99"
    assert latency["Threshold"] == 200 * 1000  # latency_slo_ms in microseconds


@pytest.mark.parametrize("stage", [PROD, TEST])
def test_a_deployment_keeps_each_variants_instance_count_and_applies_the_configs_weights(org, stage):
    # Each deployment replaces the endpoint config; UpdateEndpoint would otherwise start every
    # variant of the new fleet at its initial count (the minimum), and autoscaling cannot add
    # capacity while the blue/green update runs: a promotion at peak would drop to the floor.
    properties = _one(org, stage, FRAUD, "AWS::SageMaker::Endpoint")["Properties"]
    assert properties["RetainAllVariantProperties"] is True
    # What the config sets still deploys: the traffic split and data capture.
    assert properties["ExcludeRetainedVariantProperties"] == [
        {"VariantPropertyType": "DesiredWeight"},
        {"VariantPropertyType": "DataCaptureConfig"},
    ]
    assert "RetainDeploymentConfig" not in properties, "each deployment applies the template's blue/green policy"


def test_production_endpoints_are_retained_and_their_stacks_protected(org):
    assert _one(org, PROD, FRAUD, "AWS::SageMaker::Endpoint")["DeletionPolicy"] == "Retain"
    assert org.stages[PROD].node.find_child(FRAUD).termination_protection is True
    assert "DeletionPolicy" not in _one(org, TEST, FRAUD, "AWS::SageMaker::Endpoint")
    assert org.stages[TEST].node.find_child(FRAUD).termination_protection is False


def test_every_variant_scales_on_invocations_per_instance_computed_from_config(org):
    targets = _resources(org, PROD, FRAUD, "AWS::ApplicationAutoScaling::ScalableTarget")
    by_resource = {t["Properties"]["ResourceId"]: t["Properties"] for t in targets.values()}
    assert {r: (t["MinCapacity"], t["MaxCapacity"]) for r, t in by_resource.items()} == {
        "endpoint/acme-fraud-detector/variant/champion": (2, 6),
        "endpoint/acme-fraud-detector/variant/challenger": (2, 4),
    }
    for target in by_resource.values():
        assert target["ScalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
        assert target["RoleARN"].endswith("AWSServiceRoleForApplicationAutoScaling_SageMakerEndpoint")
        assert "ScheduledActions" not in target, "production keeps its capacity around the clock"
    for policy in _resources(org, PROD, FRAUD, "AWS::ApplicationAutoScaling::ScalingPolicy").values():
        tracking = policy["Properties"]["TargetTrackingScalingPolicyConfiguration"]
        assert tracking["PredefinedMetricSpecification"] == {
            "PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        }
        assert tracking["TargetValue"] == invocations_target(25, 0.5) == 750  # 25 rps x 0.5 x 60
        assert (tracking["ScaleOutCooldown"], tracking["ScaleInCooldown"]) == (60, 600)


def test_test_endpoints_scale_down_outside_working_hours(org):
    for target in _resources(org, TEST, FRAUD, "AWS::ApplicationAutoScaling::ScalableTarget").values():
        actions = {a["ScheduledActionName"]: a for a in target["Properties"]["ScheduledActions"]}
        assert actions["WorkingHoursEnd"]["Schedule"] == "cron(0 19 ? * MON-FRI *)"
        assert actions["WorkingHoursEnd"]["ScalableTargetAction"] == {"MinCapacity": 1, "MaxCapacity": 1}
        assert actions["WorkingHoursStart"]["Schedule"] == "cron(0 7 ? * MON-FRI *)"
        assert actions["WorkingHoursStart"]["ScalableTargetAction"]["MinCapacity"] == 2
        assert {a["Timezone"] for a in actions.values()} == {"Europe/Dublin"}


def test_alarms_cover_errors_latency_resources_and_silence_in_production(org):
    alarms = _resources(org, PROD, FRAUD, "AWS::CloudWatch::Alarm")
    kinds = {
        "5XXRate",
        "4XXRate",
        "LatencyP99",
        "NoInvocations",
        "CPUUtilization",
        "MemoryUtilization",
        "DiskUtilization",
    }
    for variant in ("champion", "challenger"):
        assert {
            kind for kind in kinds if any(logical.startswith(f"Endpoint{variant}{kind}") for logical in alarms)
        } == kinds
    for alarm in alarms.values():
        (action,) = alarm["Properties"]["AlarmActions"]
        assert action["Ref"].startswith("SsmParameterValueacmebaselinealertstopicarn")
    cpu = next(a["Properties"] for logical, a in alarms.items() if "championCPU" in logical)
    assert cpu["Namespace"] == "/aws/sagemaker/Endpoints" and cpu["Threshold"] == 160  # 80% of 2 vCPUs
    test_alarms = _resources(org, TEST, FRAUD, "AWS::CloudWatch::Alarm")
    assert not any("NoInvocations" in logical for logical in test_alarms), "test endpoints may sit idle"


def test_serving_stack_holds_the_role_key_capture_bucket_and_a_dashboard_of_every_endpoint(org):
    serving = org.template("MlProdServing", "Serving")
    serving.has_resource_properties("AWS::IAM::Role", {"RoleName": "acme-model-execution"})
    serving.has_resource_properties("AWS::S3::Bucket", {"BucketName": "acme-data-capture-777777777777-eu-west-1"})
    (dashboard,) = serving.find_resources("AWS::CloudWatch::Dashboard").values()
    body = json.dumps(dashboard["Properties"]["DashboardBody"])
    for endpoint in ("acme-fraud-detector", "acme-churn-predictor"):
        assert endpoint in body
    assert "InvocationsPerInstance" in body and "ModelLatency" in body and "Invocation5XXErrors" in body
    parameters = serving.find_resources("AWS::SSM::Parameter")
    assert {p["Properties"]["Name"] for p in parameters.values()} == {
        "/acme/serving/key-arn",
        "/acme/serving/security-group-id",
    }
    assert not org.template("MlProdServing", "Serving").find_resources(
        "AWS::IAM::Role", {"Properties": {"RoleName": "acme-smoke-test"}}
    ), "only test accounts are smoke-tested"


def test_smoke_test_role_trusts_only_the_tooling_accounts_smoke_test(org):
    serving = org.template("MlTestServing", "Serving")
    (role,) = serving.find_resources("AWS::IAM::Role", {"Properties": {"RoleName": "acme-smoke-test"}}).values()
    (statement,) = role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
    (principal,) = statement["Condition"]["ArnEquals"].values()
    assert principal["Fn::Join"][1][-1] == ":iam::333333333333:role/acme-smoke-test"
    assert "333333333333" in json.dumps(statement["Principal"])


def test_the_smoke_test_may_read_which_package_an_endpoint_serves_and_change_nothing(org):
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in _resources(org, "MlTestServing", "Serving", "AWS::IAM::ManagedPolicy").values()
        if "WhichPackageServes" in json.dumps(p)
    ]
    actions = sorted(
        a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    )
    assert actions == [
        "sagemaker:DescribeEndpoint",
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeModel",
        "sagemaker:InvokeEndpoint",
    ]


def test_model_execution_role_reads_only_the_models_of_its_teams_registry(org):
    serving = org.template("MlProdServing", "Serving")
    (policy,) = [
        p for p in serving.find_resources("AWS::IAM::ManagedPolicy").values() if "ReadApprovedModels" in json.dumps(p)
    ]
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    patterns = object_key_patterns(
        statements["ReadApprovedModels"]["Resource"], "acme-model-artifacts-555555555555-eu-west-1"
    )
    for key in READABLE_BY_SERVING[:3]:
        assert any(fnmatchcase(key, pattern) for pattern in patterns), key
    for key in DEVELOPMENT_ONLY + READABLE_BY_SERVING[3:]:  # baselines are Model Monitor's to read
        assert not any(fnmatchcase(key, pattern) for pattern in patterns), key
    assert statements["DecryptModelsThroughS3"]["Condition"] == {
        "StringEquals": {"kms:ViaService": "s3.eu-west-1.amazonaws.com"}
    }


def _config(endpoint: str, **changes: Any) -> Any:
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    target = next(e for e in document["endpoints"] if e["name"] == endpoint)
    target.update(changes)
    return document


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"variants": [{"name": "champion", "instance_type": "ml.c5.large", "min_capacity": 1, "max_capacity": 3}]},
            "endpoints.1.variants.0.min_capacity: production endpoints need at least 2",
        ),
        (
            {"variants": [{"name": "champion", "instance_type": "ml.t2.large", "min_capacity": 2, "max_capacity": 3}]},
            "endpoints.1.variants.0.instance_type: burstable ml.t2.large cannot be autoscaled",
        ),
        (
            {"variants": [{"name": "champion", "instance_type": "ml.c5.large", "weight": 0}]},
            "endpoints.1.variants: weights must add up to more than 0",
        ),
        (
            {"variants": [{"name": "champion", "instance_type": "ml.g5.xlarge"}]},
            "endpoints.1.variants.0.instance_type: ml.g5.xlarge keeps its volume on local instance storage",
        ),
        ({"variants": []}, "endpoints.1.variants: give either instance variants or serverless"),
        (
            {"variants": [], "serverless": {"memory_mb": 2048}, "deployment": {"strategy": "all-at-once"}},
            "endpoints.1.serverless: serverless endpoints run outside the VPC",
        ),
        (
            {
                "shadow": {"instance_type": "ml.c5.large"},
                "variants": [
                    {"name": "a", "instance_type": "ml.c5.large"},
                    {"name": "b", "instance_type": "ml.c5.large"},
                ],
            },
            "endpoints.1.shadow: a shadow variant shadows exactly one production variant",
        ),
    ],
)
def test_config_rejects_what_serving_cannot_do(changes, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_config(_config("churn-predictor", **changes))


def test_config_requires_delivery_when_there_are_endpoints():
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    del document["delivery"]
    with pytest.raises(ConfigError, match="delivery: required"):
        parse_config(document)


SEGMENTS = "Endpoint-churn-segments"


def test_multi_model_endpoint_serves_the_prefix_with_the_framework_image_in_the_vpc(org):
    template = org.templates[f"{PROD}/{SEGMENTS}"]
    assert "ModelPackageArn" not in template.get("Parameters", {})
    model = _one(org, PROD, SEGMENTS, "AWS::SageMaker::Model")["Properties"]
    container = model["PrimaryContainer"]
    assert container["Mode"] == "MultiModel"
    assert container["ModelDataUrl"] == "s3://acme-model-artifacts-555555555555-eu-west-1/churn-predictor/multi-model/"
    assert "sagemaker-scikit-learn" in container["Image"] and ".eu-west-1." in container["Image"]
    assert model["EnableNetworkIsolation"] is True and model["VpcConfig"]["Subnets"]


def test_multi_model_endpoint_scales_alarms_on_model_loading_and_captures_data(org):
    config = _one(org, PROD, SEGMENTS, "AWS::SageMaker::EndpointConfig")["Properties"]
    assert config["DataCaptureConfig"]["EnableCapture"] is True
    assert "ShadowProductionVariants" not in config
    alarms = _resources(org, PROD, SEGMENTS, "AWS::CloudWatch::Alarm").values()
    loading = [a["Properties"] for a in alarms if a["Properties"].get("MetricName") == "ModelLoadingWaitTime"]
    assert [(a["Threshold"], a["Statistic"]) for a in loading] == [(500_000, "Average")]
    assert _resources(org, PROD, SEGMENTS, "AWS::ApplicationAutoScaling::ScalableTarget")
    assert not _resources(org, PROD, SEGMENTS, "AWS::SageMaker::MonitoringSchedule")


def test_deployments_pass_no_package_to_multi_model_endpoints_and_check_only_that_they_serve(org):
    (pipeline,) = [
        resource["Properties"]
        for key, template in org.templates.items()
        if key.startswith("SharedServicesTooling/ModelDeployments-")
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::CodePipeline::Pipeline"
        and resource["Properties"]["Name"] == "acme-churn-predictor-deploy"
    ]
    test_stage = next(stage for stage in pipeline["Stages"] if stage["Name"] == "Test")
    actions = {action["Name"]: action["Configuration"] for action in test_stage["Actions"]}
    assert "ParameterOverrides" not in actions["Deploy-churn-segments"]
    assert "ModelPackageArn" in actions["Deploy-churn-predictor"]["ParameterOverrides"]
    # Its archives are the team's, not the package's: the deployment checks that it is in
    # service and invokes no archive (one nothing in the deployment produces would fail the
    # Test stage, and with it the package's way to every endpoint of the pipeline).
    smoke = json.loads(actions["SmokeTest-churn-segments"]["UserParameters"])
    assert set(smoke) == {"endpoint", "role_arn", "region"}, "status only"


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        (
            {"monitoring": {"data_quality": True}},
            "endpoints.2.monitoring: Model Monitor supports only endpoints that host a single model",
        ),
        (
            {"shadow": {"instance_type": "ml.m5.large"}},
            "endpoints.2.shadow: multi-model endpoints have no shadow variants",
        ),
        (
            {"variants": [], "serverless": {"memory_mb": 2048}, "deployment": {"strategy": "all-at-once"}},
            "endpoints.2.serverless: multi-model endpoints run on instances, not serverless",
        ),
        ({"smoke_test": {"payload": "1,2"}}, "endpoints.2.smoke_test: a multi-model endpoint serves the archives"),
        (
            {"multi_model": {"models_uri": "s3://bucket/models"}},
            "endpoints.2.multi_model.models_uri: must be a prefix ending in /",
        ),
    ],
)
def test_config_rejects_what_multi_model_endpoints_cannot_do(changes, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_config(_config("churn-segments", **changes))


def test_config_takes_no_target_model_for_a_smoke_test():
    with pytest.raises(ConfigError, match=r"endpoints\.1\.smoke_test\.target_model"):
        parse_config(_config("churn-predictor", smoke_test={"payload": "1,2", "target_model": "a.tar.gz"}))
