"""Monitoring and drift: Model Monitor on the production endpoint, alarms computed from the
config, and the way a drift alarm travels to the model's development account."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from ml_constructs.model_monitor import DATA_METRICS, MODEL_METRICS, MODEL_QUALITY_METRICS, SCHEDULE_SUFFIXES
from ml_pipelines.templates import clarify_images, model_monitor_images
from stacks import naming
from stacks.config import ConfigError, parse_config, rules
from tests.conftest import EXAMPLE_CONFIG

ENDPOINT = "MlProdEndpoints/Endpoint-fraud-detector"


def _of(org, stack: str, kind: str) -> list[dict[str, Any]]:
    return [r for r in org.templates[stack]["Resources"].values() if r["Type"] == kind]


JOBS = {
    "AWS::SageMaker::DataQualityJobDefinition": "DataQuality",
    "AWS::SageMaker::ModelQualityJobDefinition": "ModelQuality",
    "AWS::SageMaker::ModelBiasJobDefinition": "ModelBias",
    "AWS::SageMaker::ModelExplainabilityJobDefinition": "ModelExplainability",
}


@pytest.mark.parametrize("kind", sorted(JOBS))
def test_monitoring_jobs_run_in_the_vpc_with_kms_and_publish_metrics_isolated_unless_they_call_the_model(org, kind):
    (job,) = _of(org, ENDPOINT, kind)
    properties = job["Properties"]
    network = properties["NetworkConfig"]
    # SHAP needs predictions: Clarify creates and invokes a shadow endpoint of the served model
    # through the VPC's SageMaker endpoints, which an isolated container cannot reach.
    assert network["EnableNetworkIsolation"] is (kind != "AWS::SageMaker::ModelExplainabilityJobDefinition")
    assert network["EnableInterContainerTrafficEncryption"] is True
    assert len(network["VpcConfig"]["Subnets"]) == org.config.accounts["ml-prod"].network.availability_zones
    cluster = properties["JobResources"]["ClusterConfig"]
    prefix = JOBS[kind]
    output = properties[f"{prefix}JobOutputConfig"]
    assert cluster["VolumeKmsKeyId"] == output["KmsKeyId"]
    assert cluster["VolumeKmsKeyId"]["Ref"].startswith("SsmParameterValueacmeservingkeyarn")
    app = properties[f"{prefix}AppSpecification"]
    images = clarify_images() if prefix in ("ModelBias", "ModelExplainability") else model_monitor_images()
    assert app["ImageUri"] == images["eu-west-1"]
    assert app["Environment"] == {"publish_cloudwatch_metrics": "Enabled"}
    assert properties["RoleArn"]["Fn::Join"][1][-1] == ":iam::777777777777:role/acme-model-monitor"


ARTIFACTS = "s3://acme-model-artifacts-555555555555-eu-west-1"


def _parameter(org, name: str) -> dict[str, Any]:
    parameter: dict[str, Any] = org.templates[ENDPOINT]["Parameters"][name]
    return parameter


def test_data_quality_compares_with_the_baseline_the_deployed_package_registers(org):
    (job,) = _of(org, ENDPOINT, "AWS::SageMaker::DataQualityJobDefinition")
    baseline = job["Properties"]["DataQualityBaselineConfig"]
    assert baseline["StatisticsResource"]["S3Uri"] == {"Ref": "DataQualityStatisticsUri"}
    assert baseline["ConstraintsResource"]["S3Uri"] == {"Ref": "DataQualityConstraintsUri"}
    assert job["Properties"]["DataQualityJobInput"]["EndpointInput"]["EndpointName"] == "acme-fraud-detector"
    # The package's registered files, from one run of the model's own pipeline, and nothing else:
    # not the fixed prefix every run used to overwrite, not another model's.
    pattern = re.compile(_parameter(org, "DataQualityStatisticsUri")["AllowedPattern"])
    assert pattern.fullmatch(f"{ARTIFACTS}/fraud-detector/runs/a1b2c3d4e5f6/data-quality/statistics.json")
    for refused in (
        f"{ARTIFACTS}/fraud-detector/baselines/data-quality/statistics.json",
        f"{ARTIFACTS}/churn-predictor/runs/a1b2c3d4e5f6/data-quality/statistics.json",
        f"{ARTIFACTS}/fraud-detector/runs/a1b2c3d4e5f6/train/train.csv",
        "not-registered",
    ):
        assert not pattern.fullmatch(refused), refused
    assert "bias_check" in _parameter(org, "BiasConfigUri")["ConstraintDescription"]


def test_model_quality_merges_predictions_with_ground_truth(org):
    (job,) = _of(org, ENDPOINT, "AWS::SageMaker::ModelQualityJobDefinition")
    properties = job["Properties"]
    assert properties["ModelQualityAppSpecification"]["ProblemType"] == "BinaryClassification"
    inputs = properties["ModelQualityJobInput"]
    assert (
        inputs["GroundTruthS3Input"]["S3Uri"]
        == "s3://acme-data-capture-777777777777-eu-west-1/ground-truth/fraud-detector/"
    )
    assert inputs["EndpointInput"]["ProbabilityThresholdAttribute"] == 0.5


def test_bias_and_feature_attribution_drift_use_the_configs_and_constraints_the_package_registers(org):
    (bias,) = _of(org, ENDPOINT, "AWS::SageMaker::ModelBiasJobDefinition")
    assert bias["Properties"]["ModelBiasAppSpecification"]["ConfigUri"] == {"Ref": "BiasConfigUri"}
    assert bias["Properties"]["ModelBiasBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri": {"Ref": "BiasConstraintsUri"}}
    }
    ground_truth = bias["Properties"]["ModelBiasJobInput"]["GroundTruthS3Input"]["S3Uri"]
    assert ground_truth == "s3://acme-data-capture-777777777777-eu-west-1/ground-truth/fraud-detector/"
    (explain,) = _of(org, ENDPOINT, "AWS::SageMaker::ModelExplainabilityJobDefinition")
    properties = explain["Properties"]
    assert properties["ModelExplainabilityAppSpecification"]["ConfigUri"] == {"Ref": "ExplainabilityConfigUri"}
    assert properties["ModelExplainabilityBaselineConfig"] == {
        "ConstraintsResource": {"S3Uri": {"Ref": "ExplainabilityConstraintsUri"}}
    }
    for name, path in (
        ("BiasConfigUri", "clarify/monitoring-bias/analysis_config.json"),
        ("BiasConstraintsUri", "model-bias/analysis.json"),
        ("ExplainabilityConfigUri", "clarify/monitoring-explainability/analysis_config.json"),
        ("ExplainabilityConstraintsUri", "explainability/analysis.json"),
    ):
        registered = f"{ARTIFACTS}/fraud-detector/runs/a1b2c3d4e5f6/{path}"
        assert re.fullmatch(_parameter(org, name)["AllowedPattern"], registered), name


def test_only_production_endpoints_that_monitor_take_the_packages_baselines(org):
    assert set(org.templates[ENDPOINT]["Parameters"]) >= {
        "ModelPackageArn",
        "DataQualityStatisticsUri",
        "DataQualityConstraintsUri",
        "BiasConfigUri",
        "BiasConstraintsUri",
        "ExplainabilityConfigUri",
        "ExplainabilityConstraintsUri",
    }
    # churn-predictor monitors data quality only; ml-test endpoints do not monitor.
    churn = set(org.templates["MlProdEndpoints/Endpoint-churn-predictor"]["Parameters"])
    assert {p for p in churn if p.endswith("Uri")} == {"DataQualityStatisticsUri", "DataQualityConstraintsUri"}
    test = set(org.templates["MlTestEndpoints/Endpoint-fraud-detector"]["Parameters"])
    assert not {p for p in test if p.endswith("Uri")}


def test_model_monitor_may_serve_the_endpoints_model_from_a_shadow_endpoint_of_clarifys_and_nothing_else(org):
    (policy,) = [
        p["Properties"]["PolicyDocument"]
        for p in _of(org, "MlProdServing/Serving", "AWS::IAM::ManagedPolicy")
        if "ClarifyShadowEndpoints" in json.dumps(p)
    ]
    statements = {s["Sid"]: s for s in policy["Statement"]}
    shadow = statements["ClarifyShadowEndpoints"]
    assert {"sagemaker:CreateEndpoint", "sagemaker:InvokeEndpoint", "sagemaker:DeleteEndpoint"} <= set(shadow["Action"])
    assert sorted(json.dumps(r).split(":")[-1].rstrip('"]}') for r in shadow["Resource"]) == [
        "endpoint-config/sm-clarify-*",
        "endpoint/sm-clarify-*",
    ]
    # The served model is found through the monitored endpoint only; no production endpoint,
    # config or model can be changed.
    assert json.dumps(statements["ClarifyFindsTheServedModel"]["Resource"]).count("endpoint/acme-fraud-detector") == 1
    assert statements["ClarifyReadsTheServedModel"]["Action"] == [
        "sagemaker:DescribeEndpointConfig",
        "sagemaker:DescribeModel",
    ]


def test_config_refuses_clarify_monitors_whose_files_the_models_pipeline_does_not_write():
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    del document["models"][0]["bias_check"]
    with pytest.raises(ConfigError) as refused:
        parse_config(document)
    assert {problem.path for problem in refused.value.problems} == {
        "endpoints.0.monitoring.bias",
        "endpoints.0.monitoring.feature_attribution",
    }
    document["endpoints"][0]["monitoring"] = {"data_quality": True}  # every pipeline registers this baseline
    parse_config(document)


def test_schedules_run_hourly_against_the_endpoint(org):
    schedules = {
        s["Properties"]["MonitoringScheduleName"]: s for s in _of(org, ENDPOINT, "AWS::SageMaker::MonitoringSchedule")
    }
    assert set(schedules) == {
        "acme-fraud-detector-data-quality",
        "acme-fraud-detector-model-quality",
        "acme-fraud-detector-model-bias",
        "acme-fraud-detector-model-explainability",
    }
    for schedule in schedules.values():
        assert schedule["Properties"]["MonitoringScheduleConfig"]["ScheduleConfig"] == {
            "ScheduleExpression": "cron(0 * ? * * *)"
        }
        assert "Endpoint8024A810" in schedule["DependsOn"]
    assert not _of(org, "MlTestEndpoints/Endpoint-fraud-detector", "AWS::SageMaker::MonitoringSchedule")
    (daily,) = _of(org, "MlProdEndpoints/Endpoint-churn-predictor", "AWS::SageMaker::MonitoringSchedule")
    assert daily["Properties"]["MonitoringScheduleConfig"]["ScheduleConfig"] == {
        "ScheduleExpression": "cron(0 0 ? * * *)"
    }
    # No drift features, no model quality, no alarms configured: nothing to forward.
    assert not _of(org, "MlProdEndpoints/Endpoint-churn-predictor", "AWS::Events::Rule")


def test_alarms_are_computed_from_the_config(org):
    alarms = {a["Properties"].get("AlarmName"): a["Properties"] for a in _of(org, ENDPOINT, "AWS::CloudWatch::Alarm")}
    for feature, name in (("_c0", "acme-fraud-detector-drift-c0"), ("_c2", "acme-fraud-detector-drift-c2")):
        drift = alarms[name]
        assert drift["Namespace"] == "aws/sagemaker/Endpoints/data-metrics"
        assert drift["MetricName"] == f"feature_baseline_drift_{feature}"
        assert drift["Threshold"] == 0.1 and drift["ComparisonOperator"] == "GreaterThanThreshold"
        assert {d["Name"]: d["Value"] for d in drift["Dimensions"]} == {
            "Endpoint": "acme-fraud-detector",
            "MonitoringSchedule": "acme-fraud-detector-data-quality",
        }
    quality = alarms["acme-fraud-detector-quality-auc"]
    assert (quality["Namespace"], quality["MetricName"]) == ("aws/sagemaker/Endpoints/model-metrics", "auc")
    assert quality["Threshold"] == 0.8 and quality["ComparisonOperator"] == "LessThanThreshold"
    (composite,) = _of(org, ENDPOINT, "AWS::CloudWatch::CompositeAlarm")
    rule = json.dumps(composite["Properties"]["AlarmRule"])
    assert rule.count("ALARM(") == 3 and composite["Properties"]["AlarmName"] == "acme-fraud-detector-drift"


def test_the_names_the_config_rules_check_are_the_names_model_monitor_gives(org):
    """The rules check alarm and schedule names computed by stacks.naming; the construct names them itself."""
    endpoint = naming.endpoint_name("acme", "fraud-detector")
    alarms = {a["Properties"].get("AlarmName") for a in _of(org, ENDPOINT, "AWS::CloudWatch::Alarm")}
    monitor_alarms = {naming.feature_drift_alarm(f) for f in ("_c0", "_c2")} | {naming.model_quality_alarm("auc")}
    assert {naming.monitor_alarm_name(endpoint, alarm) for alarm in monitor_alarms} <= alarms
    (composite,) = _of(org, ENDPOINT, "AWS::CloudWatch::CompositeAlarm")
    assert composite["Properties"]["AlarmName"] == naming.monitor_alarm_name(endpoint, naming.DRIFT_COMPOSITE_ALARM)
    schedules = {
        s["Properties"]["MonitoringScheduleName"] for s in _of(org, ENDPOINT, "AWS::SageMaker::MonitoringSchedule")
    }
    assert schedules == {naming.monitoring_schedule_name(endpoint, s) for s in naming.MONITORING_SCHEDULE_SUFFIXES}
    assert tuple(SCHEDULE_SUFFIXES.values()) == naming.MONITORING_SCHEDULE_SUFFIXES


def test_the_config_rules_know_the_range_of_every_model_monitor_metric():
    assert set(rules.MODEL_MONITOR_METRIC_RANGES) == {DATA_METRICS, MODEL_METRICS}
    assert set(rules.MODEL_MONITOR_METRIC_RANGES[MODEL_METRICS]) == set().union(*MODEL_QUALITY_METRICS.values())


def test_retraining_alarms_travel_to_the_models_development_bus(org):
    (rule,) = _of(org, ENDPOINT, "AWS::Events::Rule")
    pattern = rule["Properties"]["EventPattern"]
    assert pattern["detail-type"] == ["CloudWatch Alarm State Change"]
    assert pattern["detail"] == {"state": {"value": ["ALARM"]}}
    assert len(pattern["resources"]) == 3
    (target,) = rule["Properties"]["Targets"]
    assert target["Arn"] == "arn:aws:events:eu-west-1:555555555555:event-bus/acme-drift"
    assert "DeadLetterConfig" in target and "RoleArn" in target


def test_the_development_account_runs_the_drift_function_for_exactly_those_alarms(org):
    registry = "MlDevDevelopment/Registry"
    buses = {b["Properties"]["Name"]: b for b in _of(org, registry, "AWS::Events::EventBus")}
    assert "acme-drift" in buses and "KmsKeyIdentifier" in buses["acme-drift"]["Properties"]
    policies = json.dumps(_of(org, registry, "AWS::Events::EventBusPolicy"))
    assert "aws:PrincipalOrgID" in policies and "o-a1b2c3d4e5" in policies
    function = next(
        f["Properties"] for f in _of(org, registry, "AWS::Lambda::Function") if "DRIFT_ALARM_RECORDS" in json.dumps(f)
    )
    records = function["Environment"]["Variables"]["DRIFT_ALARM_RECORDS"]
    alarms = {
        p["Properties"]["Name"].removeprefix(f"{records}/"): json.loads(p["Properties"]["Value"])
        for p in _of(org, "MlDevDevelopment/ModelBuild-fraud-0", "AWS::SSM::Parameter")
        if p["Properties"]["Name"].startswith(f"{records}/")
    }
    assert set(alarms) == {
        "acme-fraud-detector-drift-c0",
        "acme-fraud-detector-drift-c2",
        "acme-fraud-detector-quality-auc",
    }
    assert alarms["acme-fraud-detector-drift-c0"] == {
        "model": "fraud-detector",
        "endpoint": "acme-fraud-detector",
        "pipeline": "acme-fraud-detector-build",
        "cooldown_hours": 24,
    }
    rules = [r["Properties"] for r in _of(org, registry, "AWS::Events::Rule") if "alarmName" in json.dumps(r)]
    (rule,) = rules
    # The organization's alarms by prefix: the pattern's size does not grow with the endpoints.
    assert rule["EventPattern"]["detail"]["alarmName"] == [{"prefix": "acme-"}]


def test_failed_or_violating_monitoring_runs_reach_the_alerts_topic(org):
    rules = [r["Properties"] for r in _of(org, "MlProdServing/Serving", "AWS::Events::Rule")]
    (rule,) = rules
    assert rule["EventPattern"]["detail"]["ProcessingJobName"] == [{"prefix": "model-monitoring-"}]
    assert {"ExitMessage": [{"prefix": "CompletedWithViolations"}]} in rule["EventPattern"]["detail"]["$or"]
    (target,) = rule["Targets"]
    assert target["Arn"]["Ref"].startswith("SsmParameterValueacmebaselinealertstopicarn")


def test_every_baseline_lets_eventbridge_rules_publish_alerts(org):
    baseline = org.templates["MlProdBaseline/Baseline"]["Resources"]
    policies = json.dumps([r for r in baseline.values() if r["Type"] == "AWS::SNS::TopicPolicy"])
    assert "events.amazonaws.com" in policies


@pytest.mark.parametrize(
    ("monitoring", "problem"),
    [
        ({"alarms": [{"name": "same", "namespace": "n", "metric": "m", "threshold": 1}] * 2}, "monitoring.alarms"),
        ({"data_quality": True, "unknown": 1}, "unknown"),
    ],
)
def test_config_rejects_bad_monitoring(monitoring, problem):
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    document["endpoints"][0]["monitoring"] = monitoring
    with pytest.raises(ConfigError, match=problem):
        parse_config(document)


def test_monitoring_needs_captured_data():
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    document["endpoints"][0]["data_capture"] = {"sampling_percent": 0}
    with pytest.raises(ConfigError, match=r"endpoints\.0\.data_capture\.sampling_percent: Model Monitor needs"):
        parse_config(document)
