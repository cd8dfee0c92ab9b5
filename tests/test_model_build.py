"""The model-build pipeline: the SDK-written templates, how they are filled, and the pipelines
and retraining schedules the example org synthesizes."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
import yaml

from ml_constructs.pipeline_template import fill_placeholders, placeholders_in, with_parameter_defaults
from ml_pipelines import templates
from ml_pipelines.contract import (
    DIRECTIONS,
    EVALUATION_FILE,
    METRIC_DIRECTIONS,
    TUNABLE_HYPERPARAMETERS,
    metric_json_path,
    range_parameter,
    tuning_metric_line,
    tuning_metric_name,
    tuning_metric_regex,
)
from ml_pipelines.templates import clarify_images, container_images, template_path
from stacks.config import ConfigError, parse_config
from tests.conftest import EXAMPLE_CONFIG

ORG = "acme"


def _template(direction: str, tuned: bool = False, bias: bool = False) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(template_path(direction, tuned, bias).read_text())
    return document


def _steps(definition: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every step by name, the condition's branches included."""
    steps: dict[str, dict[str, Any]] = {}
    for step in definition["Steps"]:
        steps[step["Name"]] = step
        for branch in ("IfSteps", "ElseSteps"):
            for inner in step["Arguments"].get(branch, []):
                steps[inner["Name"]] = inner
    return steps


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_template_chains_preprocess_train_evaluate_then_register_or_fail(direction):
    definition = _template(direction)
    assert [(step["Name"], step["Type"]) for step in definition["Steps"]] == [
        ("Preprocess", "Processing"),
        ("DataQualityCheck", "QualityCheck"),
        ("Train", "Training"),
        ("Evaluate", "Processing"),
        ("MetricMeetsThreshold", "Condition"),
    ]
    condition = definition["Steps"][4]["Arguments"]
    (comparison,) = condition["Conditions"]
    assert comparison["Type"] == {"maximize": "GreaterThanOrEqualTo", "minimize": "LessThanOrEqualTo"}[direction]
    assert comparison["LeftValue"]["Std:JsonGet"] == {
        "Path": metric_json_path("{{MetricName}}"),
        "PropertyFile": {"Get": "Steps.Evaluate.PropertyFiles.Evaluation"},
    }
    assert comparison["RightValue"] == {"Get": "Parameters.MetricThreshold"}
    assert [step["Type"] for step in condition["IfSteps"]] == ["RegisterModel"]
    assert [step["Type"] for step in condition["ElseSteps"]] == ["Fail"]
    (evaluate_property_file,) = _steps(definition)["Evaluate"]["PropertyFiles"]
    assert evaluate_property_file == {
        "FilePath": EVALUATION_FILE,
        "OutputName": "evaluation",
        "PropertyFileName": "Evaluation",
    }


def test_template_registers_for_manual_approval_with_the_metric_the_approval_function_reads():
    definition = _template("maximize")
    parameters = {parameter["Name"]: parameter for parameter in definition["Parameters"]}
    assert parameters["ModelApprovalStatus"]["DefaultValue"] == "PendingManualApproval"
    register = _steps(definition)["Register"]["Arguments"]
    assert register["ModelApprovalStatus"] == {"Get": "Parameters.ModelApprovalStatus"}
    assert register["ModelPackageGroupName"] == "{{ModelPackageGroupName}}"
    assert register["InferenceSpecification"]["SupportedContentTypes"] == ["text/csv"]
    assert register["InferenceSpecification"]["SupportedResponseMIMETypes"] == ["text/csv"]
    metadata = register["CustomerMetadataProperties"]
    assert metadata["{{MetricName}}"]["Std:Join"]["Values"][0]["Std:JsonGet"]["Path"] == metric_json_path(
        "{{MetricName}}"
    )
    assert metadata["RetrainingReason"] == {"Get": "Parameters.RetrainingReason"}
    statistics = register["ModelMetrics"]["ModelQuality"]["Statistics"]
    assert statistics["ContentType"] == "application/json"
    assert statistics["S3Uri"]["Std:Join"]["Values"][1] == EVALUATION_FILE


def test_template_trains_on_spot_with_checkpoints_limits_kms_vpc_and_isolation():
    train = _steps(_template("maximize"))["Train"]["Arguments"]
    assert train["EnableManagedSpotTraining"] is True
    assert train["CheckpointConfig"]["LocalPath"] == "/opt/ml/checkpoints"
    assert train["StoppingCondition"] == {
        "MaxRuntimeInSeconds": templates.MAX_RUNTIME_SECONDS,
        "MaxWaitTimeInSeconds": templates.MAX_WAIT_SECONDS,
    }
    assert templates.MAX_WAIT_SECONDS >= templates.MAX_RUNTIME_SECONDS, "spot waits include the run"
    assert train["ResourceConfig"]["VolumeKmsKeyId"] == train["OutputDataConfig"]["KmsKeyId"] == "{{KmsKeyArn}}"
    assert train["EnableNetworkIsolation"] is True
    assert train["EnableInterContainerTrafficEncryption"] is True
    assert train["VpcConfig"] == {"SecurityGroupIds": ["{{SecurityGroupIds}}"], "Subnets": ["{{SubnetIds}}"]}


@pytest.mark.parametrize("template", sorted(templates.TEMPLATE_DIR.glob("model-build-*.json")), ids=lambda p: p.stem)
def test_a_checkpoint_belongs_to_one_pipeline_execution(template):
    # SageMaker restores a job's checkpoint prefix into the job, and train.py resumes from what
    # it finds: a prefix any other execution also names would resume a later run from an
    # earlier run's model. Tuning jobs name none (their parallel jobs would share it).
    steps = {step["Type"]: step["Arguments"] for step in json.loads(template.read_text())["Steps"]}
    if "Tuning" in steps:
        assert "CheckpointConfig" not in steps["Tuning"]["TrainingJobDefinition"]
        return
    location = steps["Training"]["CheckpointConfig"]["S3Uri"]["Std:Join"]
    assert location["On"] == "/" and location["Values"][:2] == ["s3:/", "{{ArtifactBucket}}"]
    assert {"Get": "Execution.PipelineExecutionId"} in location["Values"]


def test_template_writes_the_data_quality_baseline_into_the_runs_own_prefix():
    check = _steps(_template("maximize"))["DataQualityCheck"]
    assert check["CheckType"] == "DATA_QUALITY"
    baseline = check["Arguments"]
    assert baseline["AppSpecification"] == {"ImageUri": "{{MonitorImage}}"}
    assert json.loads(baseline["Environment"]["dataset_format"])["csv"]["header"] is False
    (source,) = baseline["ProcessingInputs"]
    assert source["S3Input"]["S3Uri"] == {
        "Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['baseline'].S3Output.S3Uri"
    }
    (output,) = baseline["ProcessingOutputConfig"]["Outputs"]
    assert output["S3Output"]["S3Uri"]["Std:Join"]["Values"] == [
        "s3:/",
        "{{ArtifactBucket}}",
        "{{ModelName}}",
        "runs",
        {"Get": "Execution.PipelineExecutionId"},
        templates.DATA_QUALITY_BASELINE,
    ]


def _outputs(step: dict[str, Any]) -> list[Any]:
    """Every S3 location a step's job writes."""
    arguments = step["Arguments"]
    if step["Type"] == "Tuning":
        return [arguments["TrainingJobDefinition"]["OutputDataConfig"]["S3OutputPath"]]
    if step["Type"] == "Training":
        return [arguments["OutputDataConfig"]["S3OutputPath"], arguments["CheckpointConfig"]["S3Uri"]]
    return [output["S3Output"]["S3Uri"] for output in arguments.get("ProcessingOutputConfig", {}).get("Outputs", [])]


@pytest.mark.parametrize("template", sorted(templates.TEMPLATE_DIR.glob("model-build-*.json")), ids=lambda p: p.stem)
def test_every_step_writes_into_its_runs_own_prefix_so_no_run_changes_a_registered_package(template):
    # A package registers its baselines, reports and model where its run wrote them; a later
    # run (approved or rejected) writing to the same keys would change what production
    # monitoring of an earlier package compares with. Tuning jobs write below their own
    # generated job names.
    for step in _steps(json.loads(template.read_text())).values():
        for location in _outputs(step):
            values = location["Std:Join"]["Values"]
            if step["Type"] == "Tuning":
                assert values == ["s3:/", "{{ArtifactBucket}}", "{{ModelName}}/tuning"], "jobs write below their names"
            else:
                run = ["s3:/", "{{ArtifactBucket}}", "{{ModelName}}", "runs", {"Get": "Execution.PipelineExecutionId"}]
                assert values[:5] == run, step["Name"]


@pytest.mark.parametrize("step", ["Preprocess", "DataQualityCheck", "Evaluate"])
def test_template_processing_steps_are_isolated_encrypted_in_the_vpc_and_cached(step):
    definition = _steps(_template("minimize"))[step]
    arguments = definition["Arguments"]
    assert arguments["NetworkConfig"] == {
        "EnableInterContainerTrafficEncryption": True,
        "EnableNetworkIsolation": True,
        "VpcConfig": {"SecurityGroupIds": ["{{SecurityGroupIds}}"], "Subnets": ["{{SubnetIds}}"]},
    }
    assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "{{KmsKeyArn}}"
    assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == "{{KmsKeyArn}}"
    assert definition["CacheConfig"] == {"Enabled": True, "ExpireAfter": templates.CACHE_EXPIRY}
    if step != "DataQualityCheck":  # Model Monitor's own analyzer runs that one
        module = arguments["AppSpecification"]["ContainerArguments"][0]
        assert module == f"ml_pipelines.steps.{step.lower()}"
        __import__(module)  # the step runs a module this repository has


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_the_package_registers_the_runs_data_quality_baseline_for_the_next_runs_drift_check(direction):
    definition = _template(direction)
    check = _steps(definition)["DataQualityCheck"]
    # Checked against the latest approved package's baseline only on request; always registered.
    assert check["SkipCheck"] == {"Get": "Parameters.SkipDriftChecks"}
    assert check["RegisterNewBaseline"] == {"Get": "Parameters.RegisterNewBaselines"}
    assert check["ModelPackageGroupName"] == "{{ModelPackageGroupName}}"
    defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
    assert (defaults["SkipDriftChecks"], defaults["RegisterNewBaselines"]) == (True, True)
    register = _steps(definition)["Register"]["Arguments"]
    drift = register["DriftCheckBaselines"]["ModelDataQuality"]
    assert drift["Statistics"]["S3Uri"] == {"Get": "Steps.DataQualityCheck.BaselineUsedForDriftCheckStatistics"}
    assert drift["Constraints"]["S3Uri"] == {"Get": "Steps.DataQualityCheck.BaselineUsedForDriftCheckConstraints"}
    metrics = register["ModelMetrics"]["ModelDataQuality"]
    assert metrics["Statistics"]["S3Uri"] == {"Get": "Steps.DataQualityCheck.CalculatedBaselineStatistics"}


def test_templates_name_exactly_the_placeholders_the_generator_declares():
    job_limits = {"TuningMaxJobs", "TuningMaxParallelJobs"}
    transform = {"TransformInstanceCount", "TransformMaxPayloadInMB", "TransformMaxConcurrency"}
    bias = set(templates.BIAS_PLACEHOLDERS)
    every = set(templates.PLACEHOLDERS) - transform
    for direction in DIRECTIONS:
        assert placeholders_in(_template(direction)) == every - job_limits - bias
        assert placeholders_in(_template(direction, tuned=True)) == every - bias
        assert placeholders_in(_template(direction, bias=True)) == every - job_limits
        assert placeholders_in(_template(direction, tuned=True, bias=True)) == every
    batch = json.loads((templates.TEMPLATE_DIR / templates.BATCH_TEMPLATE).read_text())
    assert placeholders_in(batch) == {"KmsKeyArn", *transform}


def test_every_metric_the_evaluate_step_reports_has_a_direction_template():
    assert set(METRIC_DIRECTIONS.values()) <= set(DIRECTIONS)
    assert all(
        template_path(direction, tuned, bias).exists()
        for direction in DIRECTIONS
        for tuned in (False, True)
        for bias in (False, True)
    )


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_tuned_template_searches_the_train_steps_hyperparameters_for_the_validation_metric(direction):
    definition = _template(direction, tuned=True)
    assert [step["Name"] for step in definition["Steps"]] == [
        "Preprocess",
        "DataQualityCheck",
        "Tune",
        "Evaluate",
        "MetricMeetsThreshold",
    ]
    config = _steps(definition)["Tune"]["Arguments"]["HyperParameterTuningJobConfig"]
    assert config["HyperParameterTuningJobObjective"] == {
        "MetricName": tuning_metric_name("{{MetricName}}"),
        "Type": direction.capitalize(),
    }
    assert config["ResourceLimits"] == {
        "MaxNumberOfTrainingJobs": "{{TuningMaxJobs}}",
        "MaxParallelTrainingJobs": "{{TuningMaxParallelJobs}}",
    }
    assert config["Strategy"] == {"Get": "Parameters.TuningStrategy"}
    ranges = {
        entry["Name"]: (kind, entry["MinValue"]["Std:Join"]["Values"], entry["MaxValue"]["Std:Join"]["Values"])
        for kind in ("Integer", "Continuous")
        for entry in config["ParameterRanges"][f"{kind}ParameterRanges"]
    }
    assert ranges == {
        name: (
            kind,
            [{"Get": f"Parameters.{range_parameter(name, 'Min')}"}],
            [{"Get": f"Parameters.{range_parameter(name, 'Max')}"}],
        )
        for name, (kind, _, _) in TUNABLE_HYPERPARAMETERS.items()
    }
    # The best job's model is what the evaluate step scores and the register step registers.
    best = "Steps.Tune.TrainingJobSummaries[0].TrainingJobName"
    evaluate_model = _steps(definition)["Evaluate"]["Arguments"]["ProcessingInputs"][0]["S3Input"]["S3Uri"]
    assert {"Get": best} in evaluate_model["Std:Join"]["Values"]
    assert best in json.dumps(_steps(definition)["Register"])


def test_tuning_jobs_run_like_training_jobs_spot_kms_vpc_isolated_and_read_the_logged_metric():
    job = _steps(_template("maximize", tuned=True))["Tune"]["Arguments"]["TrainingJobDefinition"]
    train = _steps(_template("maximize"))["Train"]["Arguments"]
    assert job["EnableManagedSpotTraining"] is True
    assert job["ResourceConfig"]["VolumeKmsKeyId"] == job["OutputDataConfig"]["KmsKeyId"] == "{{KmsKeyArn}}"
    assert job["EnableNetworkIsolation"] is True and job["EnableInterContainerTrafficEncryption"] is True
    assert job["VpcConfig"] == train["VpcConfig"]
    assert job["StoppingCondition"] == train["StoppingCondition"]

    def channels(config: list[dict[str, Any]]) -> dict[str, Any]:
        return {channel["ChannelName"]: channel["DataSource"] for channel in config}

    assert channels(job["InputDataConfig"]) == channels(train["InputDataConfig"])
    assert "CheckpointConfig" not in job, "parallel jobs would share one checkpoint location"
    (definition,) = job["AlgorithmSpecification"]["MetricDefinitions"]
    assert definition == {
        "Name": tuning_metric_name("{{MetricName}}"),
        "Regex": tuning_metric_regex("{{MetricName}}"),
    }
    line = tuning_metric_line("auc", 0.9731)
    match = re.fullmatch(tuning_metric_regex("auc"), line)
    assert match is not None and match.group(1) == "0.973100"


def test_fill_placeholders_replaces_whole_values_splices_lists_and_substitutes_inside_strings_and_keys():
    document = {
        "Role": "arn:{{Partition}}:iam::{{Account}}:role/x",
        "Subnets": ["{{Subnets}}"],
        "Threshold": "{{T}}",
        "Metadata": {"{{Metric}}": 1},
    }
    values = {"Partition": "aws", "Account": "123", "Subnets": ["a", "b"], "T": 0.8, "Metric": "auc"}
    assert fill_placeholders(document, values) == {
        "Role": "arn:aws:iam::123:role/x",
        "Subnets": ["a", "b"],
        "Threshold": 0.8,
        "Metadata": {"auc": 1},
    }


def test_fill_placeholders_refuses_missing_and_unknown_values():
    with pytest.raises(ValueError, match=r"without a value: \['B'\]; values without a placeholder: \['C'\]"):
        fill_placeholders({"x": "{{A}}-{{B}}"}, {"A": "1", "C": "2"})


def test_parameter_defaults_must_name_declared_parameters():
    definition = {"Parameters": [{"Name": "MetricThreshold", "Type": "Float", "DefaultValue": 0.0}]}
    assert with_parameter_defaults(definition, {"MetricThreshold": 0.9})["Parameters"][0]["DefaultValue"] == 0.9
    with pytest.raises(ValueError, match="MetricTreshold"):
        with_parameter_defaults(definition, {"MetricTreshold": 0.9})


def _pipelines(org, team: str) -> dict[str, Any]:
    resources = org.templates[f"MlDevDevelopment/ModelBuild-{team}-0"]["Resources"]
    return {
        resource["Properties"]["PipelineName"]: resource
        for resource in resources.values()
        if resource["Type"] == "AWS::SageMaker::Pipeline"
    }


def _rendered(pipeline: dict[str, Any]) -> str:
    """The definition body as CloudFormation will join it, references kept as JSON."""
    body = pipeline["Properties"]["PipelineDefinition"]["PipelineDefinitionBody"]
    parts = body["Fn::Join"][1] if isinstance(body, dict) else [body]
    return "".join(part if isinstance(part, str) else "<ref>" for part in parts)


@pytest.mark.parametrize(
    ("team", "model", "metric", "threshold", "comparison", "training_type"),
    [
        ("fraud", "fraud-detector", "auc", 0.8, "GreaterThanOrEqualTo", "ml.m5.large"),
        ("churn", "churn-predictor", "log_loss", 0.35, "LessThanOrEqualTo", "ml.c5.xlarge"),
    ],
)
def test_each_model_gets_its_own_pipeline_filled_from_config(  # noqa: PLR0917 - one row of the table
    org, team, model, metric, threshold, comparison, training_type
):
    pipeline = _pipelines(org, team)[f"{ORG}-{model}-build"]
    rendered = _rendered(pipeline)
    assert "{{" not in rendered
    assert f'"Path":"metrics.{metric}.value"' in rendered
    assert f'"Type":"{comparison}"' in rendered
    assert f'"DefaultValue":{threshold},"Name":"MetricThreshold"' in rendered
    assert f'"DefaultValue":"{training_type}","Name":"TrainingInstanceType"' in rendered
    assert f'"ModelPackageGroupName":"{ORG}-{model}"' in rendered
    assert f'"--metric","{metric}"' in rendered
    assert container_images()["eu-west-1"] in rendered
    role = pipeline["Properties"]["RoleArn"]
    assert "RolesPipelineExecution" in json.dumps(role)


def test_jobs_run_as_the_team_job_role_behind_their_own_security_group(org):
    resources = org.templates["MlDevDevelopment/ModelBuild-fraud-0"]["Resources"]
    (pipeline,) = _pipelines(org, "fraud").values()
    body = json.dumps(pipeline["Properties"]["PipelineDefinition"])
    assert ':role/", {"Fn::GetStackOutput": {"StackName": "acme-team-fraud"' in body
    assert 'OutputName": "PublishOutputRefRolesJobExecution' in body
    (group_id,) = [logical for logical, r in resources.items() if r["Type"] == "AWS::EC2::SecurityGroup"]
    egress = resources[group_id]["Properties"]["SecurityGroupEgress"]
    assert egress == [
        {
            "CidrIp": "0.0.0.0/0",
            "Description": "AWS APIs via endpoints",
            "FromPort": 443,
            "IpProtocol": "tcp",
            "ToPort": 443,
        }
    ]
    assert json.dumps({"Fn::GetAtt": [group_id, "GroupId"]}) in body


def test_retraining_schedule_starts_the_pipeline_with_its_reason_and_dead_letters(org):
    fraud = org.template("MlDevDevelopment", "ModelBuild-fraud-0")
    (schedule,) = fraud.find_resources("AWS::Scheduler::Schedule").values()
    properties = schedule["Properties"]
    assert properties["ScheduleExpression"] == "cron(0 3 ? * MON *)"
    assert properties["ScheduleExpressionTimezone"] == "UTC"
    assert "KmsKeyArn" in properties
    target = properties["Target"]
    assert target["Arn"] == "arn:aws:sagemaker:eu-west-1:555555555555:pipeline/acme-fraud-detector-build"
    assert target["SageMakerPipelineParameters"] == {
        "PipelineParameterList": [{"Name": "RetrainingReason", "Value": "schedule"}]
    }
    assert "DeadLetterConfig" in target and target["RetryPolicy"]["MaximumRetryAttempts"] > 0
    fraud.resource_count_is("AWS::CloudWatch::Alarm", 1)
    churn = org.template("MlDevDevelopment", "ModelBuild-churn-0")
    churn.resource_count_is("AWS::Scheduler::Schedule", 0)


def test_team_jobs_may_encrypt_with_the_models_key(org):
    team = org.templates["MlDevDevelopment/Team-fraud"]["Resources"]
    body = json.dumps(team)
    assert "PublishOutputFnGetAttModelsKey" in body, "the guarded job statements name the registry's key"


@pytest.mark.parametrize(
    ("metric", "problem"),
    [
        ("{name: rmse, threshold: 0.2, direction: minimize}", "models.1.metric.name: the evaluate step reports"),
        (
            "{name: auc, threshold: 0.2, direction: minimize}",
            "models.1.metric.direction: auc is better when it is maximized",
        ),
    ],
)
def test_config_rejects_metrics_the_evaluate_step_does_not_report_or_ranks_the_other_way(metric, problem):
    text = EXAMPLE_CONFIG.read_text().replace("{name: log_loss, threshold: 0.35, direction: minimize}", metric)
    with pytest.raises(ConfigError, match=problem):
        parse_config(yaml.safe_load(text))


def test_a_tuned_model_gets_the_tuned_template_with_its_limits_and_ranges(org):
    rendered = _rendered(_pipelines(org, "churn")[f"{ORG}-churn-predictor-build"])
    assert '"MaxNumberOfTrainingJobs":12,"MaxParallelTrainingJobs":3' in rendered
    assert '"DefaultValue":5,"Name":"MaxDepthMax"' in rendered
    assert '"DefaultValue":0.02,"Name":"LearningRateMin"' in rendered
    assert '"DefaultValue":400,"Name":"NEstimatorsMax"' in rendered  # not configured: the platform's range
    assert '"DefaultValue":"Bayesian","Name":"TuningStrategy"' in rendered
    assert "TuningStrategy" not in _rendered(_pipelines(org, "fraud")[f"{ORG}-fraud-detector-build"])


@pytest.mark.parametrize(
    ("tuning", "problem"),
    [
        ("{max_jobs: 2, max_parallel_jobs: 3}", "models.1.tuning.max_parallel_jobs: must be at most max_jobs"),
        ("{ranges: {subsample: [0.5, 1]}}", "models.1.tuning.ranges.subsample: the train step tunes"),
        ("{ranges: {max-depth: [6, 2]}}", "models.1.tuning.ranges.max-depth: give a lowest and a higher highest"),
        ("{ranges: {max-depth: [2.5, 6]}}", "models.1.tuning.ranges.max-depth: takes whole numbers"),
    ],
)
def test_config_rejects_tuning_the_train_step_cannot_run(tuning, problem):
    text = EXAMPLE_CONFIG.read_text()
    start = text.index("    tuning: {max_jobs: 12")
    end = text.index("\n", start)
    with pytest.raises(ConfigError, match=problem):
        parse_config(yaml.safe_load(text[:start] + f"    tuning: {tuning}" + text[end:]))


def _joined(value: Any) -> list[Any]:
    """The parts of a (nested) Std:Join, flattened."""
    if isinstance(value, dict) and "Std:Join" in value:
        return [part for item in value["Std:Join"]["Values"] for part in _joined(item)]
    return [value]


@pytest.mark.parametrize("tuned", [False, True])
def test_bias_template_checks_the_training_splits_pre_training_bias_before_fitting(tuned):
    definition = _template("minimize", tuned=tuned, bias=True)
    names = [step["Name"] for step in definition["Steps"]]
    assert names[:3] == ["Preprocess", "DataQualityCheck", "DataBiasCheck"]
    check = _steps(definition)["DataBiasCheck"]
    assert (check["Type"], check["CheckType"]) == ("ClarifyCheck", "DATA_BIAS")
    assert check["SkipCheck"] == {"Get": "Parameters.SkipDriftChecks"}
    arguments = check["Arguments"]
    assert arguments["AppSpecification"] == {"ImageUri": "{{ClarifyImage}}"}
    # It calls no model: isolated.
    assert arguments["NetworkConfig"]["EnableNetworkIsolation"] is True
    inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in arguments["ProcessingInputs"]}
    outputs = "Steps.Preprocess.ProcessingOutputConfig.Outputs"
    assert inputs["dataset"] == {"Get": f"{outputs}['train'].S3Output.S3Uri"}
    # The analysis config the preprocess step writes from the model's facet and labels.
    assert inputs["analysis_config"]["Std:Join"]["Values"] == [
        {"Get": f"{outputs}['clarify'].S3Output.S3Uri"},
        "data-bias",
        "analysis_config.json",
    ]
    preprocess = _steps(definition)["Preprocess"]["Arguments"]
    assert preprocess["AppSpecification"]["ContainerArguments"][-10:] == [
        "--bias-facet",
        "{{BiasFacet}}",
        "--bias-facet-values",
        "{{BiasFacetValues}}",
        "--bias-label-values",
        "{{BiasLabelValues}}",
        "--bias-probability-threshold",
        "{{BiasProbabilityThreshold}}",
        "--shadow-instance-type",
        {"Get": "Parameters.ProcessingInstanceType"},
    ]
    register = _steps(definition)["Register"]["Arguments"]
    bias = register["DriftCheckBaselines"]["Bias"]
    assert bias["PreTrainingConstraints"]["S3Uri"] == {
        "Get": "Steps.DataBiasCheck.BaselineUsedForDriftCheckConstraints"
    }
    assert _joined(register["ModelMetrics"]["Bias"]["PreTrainingReport"]["S3Uri"])[-2:] == [
        "data-bias",
        "analysis.json",
    ]


@pytest.mark.parametrize("tuned", [False, True])
def test_bias_template_checks_the_candidates_post_training_bias_and_shap_attributions(tuned):
    definition = _template("maximize", tuned=tuned, bias=True)
    steps = _steps(definition)
    fit = "Tune" if tuned else "Train"
    names = [step["Name"] for step in definition["Steps"]]
    assert names.index(fit) < names.index("CandidateModel") < names.index("ModelBiasCheck")
    # The candidate Clarify serves: the fitted model, in the VPC, isolated, as the job role.
    candidate = steps["CandidateModel"]
    assert candidate["Type"] == "Model"
    model = candidate["Arguments"]
    assert model["EnableNetworkIsolation"] is True
    assert model["VpcConfig"] == {"Subnets": ["{{SubnetIds}}"], "SecurityGroupIds": ["{{SecurityGroupIds}}"]}
    assert json.dumps(model["PrimaryContainer"]["ModelDataUrl"]) in json.dumps(steps["Register"])
    outputs = "Steps.Preprocess.ProcessingOutputConfig.Outputs"
    register = steps["Register"]["Arguments"]
    for name, check_type, config in (
        ("ModelBiasCheck", "MODEL_BIAS", "model-bias"),
        ("ModelExplainabilityCheck", "MODEL_EXPLAINABILITY", "explainability"),
    ):
        check = steps[name]
        assert (check["Type"], check["CheckType"]) == ("ClarifyCheck", check_type)
        assert check["ModelName"] == {"Get": "Steps.CandidateModel.ModelName"}
        assert check["SkipCheck"] == {"Get": "Parameters.SkipDriftChecks"}
        assert check["RegisterNewBaseline"] == {"Get": "Parameters.RegisterNewBaselines"}
        arguments = check["Arguments"]
        # Clarify creates the shadow endpoint and invokes it through the VPC's endpoints.
        assert arguments["NetworkConfig"]["EnableNetworkIsolation"] is False
        assert arguments["NetworkConfig"]["VpcConfig"]["Subnets"] == ["{{SubnetIds}}"]
        assert arguments["ProcessingResources"]["ClusterConfig"]["VolumeKmsKeyId"] == "{{KmsKeyArn}}"
        assert arguments["ProcessingOutputConfig"]["KmsKeyId"] == "{{KmsKeyArn}}"
        inputs = {i["InputName"]: i["S3Input"]["S3Uri"] for i in arguments["ProcessingInputs"]}
        assert inputs["dataset"] == {"Get": f"{outputs}['test'].S3Output.S3Uri"}
        assert inputs["analysis_config"]["Std:Join"]["Values"][1:] == [config, "analysis_config.json"]
        results = arguments["ProcessingOutputConfig"]["Outputs"][0]["S3Output"]["S3Uri"]["Std:Join"]["Values"]
        assert results[-1] == config
    baselines = register["DriftCheckBaselines"]
    assert baselines["Bias"]["PostTrainingConstraints"]["S3Uri"] == {
        "Get": "Steps.ModelBiasCheck.BaselineUsedForDriftCheckConstraints"
    }
    assert baselines["Explainability"]["Constraints"]["S3Uri"] == {
        "Get": "Steps.ModelExplainabilityCheck.BaselineUsedForDriftCheckConstraints"
    }
    # The config files a monitoring schedule of the deployed package runs with: this run's copies.
    assert baselines["Bias"]["ConfigFile"]["S3Uri"]["Std:Join"]["Values"][1:] == [
        "monitoring-bias",
        "analysis_config.json",
    ]
    assert baselines["Explainability"]["ConfigFile"]["S3Uri"]["Std:Join"]["Values"][1:] == [
        "monitoring-explainability",
        "analysis_config.json",
    ]
    metrics = register["ModelMetrics"]
    assert _joined(metrics["Bias"]["PostTrainingReport"]["S3Uri"])[-2:] == ["model-bias", "analysis.json"]
    assert _joined(metrics["Explainability"]["Report"]["S3Uri"])[-2:] == ["explainability", "analysis.json"]


@pytest.mark.parametrize("tuned", [False, True])
def test_the_package_registers_its_runs_baselines_where_serving_reads_them(tuned):
    # templates.REGISTERED_BASELINES is what the endpoint stacks accept and Model Monitor may
    # read (below a run's prefix): the files this run's steps write and the package registers.
    steps = _steps(_template("maximize", tuned, bias=True))
    drift = steps["Register"]["Arguments"]["DriftCheckBaselines"]

    def written(step: str) -> str:
        """The run-relative prefix a check step writes its results to."""
        (output,) = steps[step]["Arguments"]["ProcessingOutputConfig"]["Outputs"]
        return "/".join(output["S3Output"]["S3Uri"]["Std:Join"]["Values"][5:])

    clarify = {"Get": "Steps.Preprocess.ProcessingOutputConfig.Outputs['clarify'].S3Output.S3Uri"}
    registered = {
        "DataQualityStatisticsUri": (drift["ModelDataQuality"]["Statistics"], "DataQualityCheck", "statistics.json"),
        "DataQualityConstraintsUri": (drift["ModelDataQuality"]["Constraints"], "DataQualityCheck", "constraints.json"),
        "BiasConstraintsUri": (drift["Bias"]["PostTrainingConstraints"], "ModelBiasCheck", "analysis.json"),
        "ExplainabilityConstraintsUri": (
            drift["Explainability"]["Constraints"],
            "ModelExplainabilityCheck",
            "analysis.json",
        ),
    }
    for name, (source, step, file) in registered.items():
        assert source["S3Uri"]["Get"].startswith(f"Steps.{step}.BaselineUsedForDriftCheck"), name
        assert templates.REGISTERED_BASELINES[name] == f"{written(step)}/{file}", name
    preprocess = {o["OutputName"]: o for o in steps["Preprocess"]["Arguments"]["ProcessingOutputConfig"]["Outputs"]}
    assert preprocess["clarify"]["S3Output"]["S3Uri"]["Std:Join"]["Values"][5:] == ["clarify"]
    for name, config in (("BiasConfigUri", drift["Bias"]), ("ExplainabilityConfigUri", drift["Explainability"])):
        values = config["ConfigFile"]["S3Uri"]["Std:Join"]["Values"]
        assert values[0] == clarify
        assert templates.REGISTERED_BASELINES[name] == "/".join(["clarify", *values[1:]]), name


def test_a_model_with_a_bias_check_gets_the_bias_template_with_its_facet_and_clarifys_image(org):
    rendered = _rendered(_pipelines(org, "churn")[f"{ORG}-churn-predictor-build"])
    definition = json.loads(rendered)
    (check,) = [step for step in definition["Steps"] if step["Name"] == "DataBiasCheck"]
    assert check["Arguments"]["AppSpecification"]["ImageUri"] == clarify_images()["eu-west-1"]
    assert check["Arguments"]["NetworkConfig"]["EnableNetworkIsolation"] is True
    assert check["Arguments"]["ProcessingOutputConfig"]["KmsKeyId"] == "<ref>"
    (preprocess,) = [step for step in definition["Steps"] if step["Name"] == "Preprocess"]
    assert preprocess["Arguments"]["AppSpecification"]["ContainerArguments"][-10:-2] == [
        "--bias-facet",
        "1",
        "--bias-facet-values",
        "1",
        "--bias-label-values",
        "0",
        "--bias-probability-threshold",
        "0.4",
    ]
    # Each model's own facet: fraud-detector's bias check names the fourth feature.
    fraud = json.loads(_rendered(_pipelines(org, "fraud")[f"{ORG}-fraud-detector-build"]))
    (preprocess,) = [step for step in fraud["Steps"] if step["Name"] == "Preprocess"]
    assert preprocess["Arguments"]["AppSpecification"]["ContainerArguments"][-9] == "3"


@pytest.mark.parametrize(
    ("bias_check", "problem"),
    [
        ("{facet_feature: -1, facet_values: [1]}", "models.1.bias_check.facet_feature"),
        ("{facet_feature: 1, facet_values: []}", "models.1.bias_check.facet_values"),
        ("{facet_feature: 1, facet_values: ['a,b']}", "models.1.bias_check.facet_values"),
    ],
)
def test_config_rejects_bias_checks_clarify_cannot_run(bias_check, problem):
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    document["models"][1]["bias_check"] = yaml.safe_load(bias_check)
    with pytest.raises(ConfigError, match=problem):
        parse_config(document)


def test_templates_without_a_bias_check_have_no_clarify_step():
    for direction in DIRECTIONS:
        assert "ClarifyCheck" not in json.dumps(_template(direction))
