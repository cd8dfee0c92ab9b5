"""Batch inference: a stack per batch job in each serving account, deployed by the model's
deployment pipeline with the approved package; an isolated model in the VPC, the SDK's
transform pipeline with KMS, a schedule in production only, alerts on failed runs; the
serving account's bucket and roles; config validation of what cannot work."""

from __future__ import annotations

import json
from typing import Any

import pytest
import yaml

from stacks.config import ConfigError, parse_config
from stacks.serving_stack import batch_locations
from tests.conftest import EXAMPLE_CONFIG

PROD, TEST = "MlProdEndpoints/Batch-churn-nightly", "MlTestEndpoints/Batch-churn-nightly"
PROD_BUCKET = "acme-batch-inference-777777777777-eu-west-1"
TEST_BUCKET = "acme-batch-inference-666666666666-eu-west-1"


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [r["Properties"] for r in template["Resources"].values() if r["Type"] == kind]


def _definition(org, stack: str) -> dict[str, Any]:
    (pipeline,) = _of_type(org.templates[stack], "AWS::SageMaker::Pipeline")
    parts = pipeline["PipelineDefinition"]["PipelineDefinitionBody"]["Fn::Join"][1]
    # Tokens (the model's name, the serving key) become markers; the rest is the definition.
    text = "".join(part if isinstance(part, str) else f"<{next(iter(part))}>" for part in parts)
    definition: dict[str, Any] = json.loads(text)
    return definition


def test_each_serving_account_scores_with_the_package_the_pipeline_deploys(org):
    for stack in (PROD, TEST):
        template = org.templates[stack]
        assert template["Parameters"]["ModelPackageArn"]["AllowedPattern"].startswith("^arn:aws")
        (model,) = _of_type(template, "AWS::SageMaker::Model")
        assert model["PrimaryContainer"] == {"ModelPackageName": {"Ref": "ModelPackageArn"}}
        assert model["EnableNetworkIsolation"] is True
        assert model["VpcConfig"]["Subnets"] and model["VpcConfig"]["SecurityGroupIds"]
        assert model["ExecutionRoleArn"]["Fn::Join"][1][-1].endswith(":role/acme-model-execution")


def test_the_transform_step_encrypts_writes_a_folder_per_run_and_reads_the_accounts_own_prefix(org):
    for stack, bucket in ((PROD, PROD_BUCKET), (TEST, TEST_BUCKET)):
        definition = _definition(org, stack)
        defaults = {p["Name"]: p["DefaultValue"] for p in definition["Parameters"]}
        assert defaults["ModelName"] == "<Fn::GetAtt>"  # the model this stack created from the package
        assert defaults["InputUri"] == f"s3://{bucket}/churn-nightly/input/"
        assert defaults["OutputUri"] == f"s3://{bucket}/churn-nightly/output/"
        assert (defaults["InstanceType"], defaults["SplitType"], defaults["AssembleWith"]) == (
            "ml.m5.xlarge",
            "Line",
            "Line",
        )
        (step,) = definition["Steps"]
        arguments = step["Arguments"]
        assert step["Type"] == "Transform"
        assert arguments["ModelName"] == {"Get": "Parameters.ModelName"}
        assert arguments["TransformResources"]["InstanceCount"] == 2
        assert arguments["TransformResources"]["VolumeKmsKeyId"] == "<Ref>"
        assert arguments["TransformOutput"]["KmsKeyId"] == "<Ref>"
        assert {"Get": "Execution.PipelineExecutionId"} in arguments["TransformOutput"]["S3OutputPath"]["Std:Join"][
            "Values"
        ]
        assert (arguments["MaxPayloadInMB"], arguments["MaxConcurrentTransforms"]) == (6, 1)


def test_production_runs_on_the_schedule_and_test_only_on_demand(org):
    (schedule,) = _of_type(org.templates[PROD], "AWS::Scheduler::Schedule")
    assert schedule["ScheduleExpression"] == "cron(0 2 * * ? *)"
    assert "DeadLetterConfig" in schedule["Target"] and "KmsKeyArn" in schedule
    assert "SageMakerPipelineParameters" not in schedule["Target"]  # a run takes the pipeline's defaults
    assert not _of_type(org.templates[TEST], "AWS::Scheduler::Schedule")


def test_failed_or_stopped_runs_reach_the_alerts_topic(org):
    for stack in (PROD, TEST):
        (rule,) = _of_type(org.templates[stack], "AWS::Events::Rule")
        pattern = rule["EventPattern"]
        assert pattern["detail-type"] == ["SageMaker Model Building Pipeline Execution Status Change"]
        assert pattern["detail"]["currentPipelineExecutionStatus"] == ["Failed", "Stopped"]
        assert "acme-churn-nightly-batch" in json.dumps(pattern["detail"]["pipelineArn"])
        assert rule["Targets"][0]["Arn"]


def _policies(org, stack: str) -> dict[str, dict[str, Any]]:
    return {
        statement["Sid"]: statement
        for policy in _of_type(org.templates[stack], "AWS::IAM::ManagedPolicy")
        for statement in policy["PolicyDocument"]["Statement"]
        if "Sid" in statement
    }


def test_the_serving_account_keeps_batch_data_encrypted_and_the_model_role_to_the_jobs_prefixes(org):
    serving = org.templates["MlProdServing/Serving"]
    (bucket,) = [b for b in _of_type(serving, "AWS::S3::Bucket") if b.get("BucketName") == PROD_BUCKET]
    encryption = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]
    assert encryption["SSEAlgorithm"] == "aws:kms"
    statements = _policies(org, "MlProdServing/Serving")
    reads = json.dumps(statements["ReadInputs"]["Resource"])
    writes = json.dumps(statements["WriteResults"]["Resource"])
    assert f"{PROD_BUCKET}/churn-nightly/input/*" in reads and "output" not in reads
    assert f"{PROD_BUCKET}/churn-nightly/output/*" in writes and "input" not in writes
    assert statements["ListInputs0"]["Condition"] == {"StringLike": {"s3:prefix": ["churn-nightly/input/*"]}}
    assert statements["LocationKeysThroughS3"]["Condition"]["StringEquals"]["kms:ViaService"]


def test_the_pipelines_role_runs_only_pipeline_transform_jobs_as_the_model_role(org):
    statements = _policies(org, "MlProdServing/Serving")
    jobs = statements["TransformJobs"]
    assert "sagemaker:CreateTransformJob" in jobs["Action"]
    assert "transform-job/pipelines-*" in json.dumps(jobs["Resource"])
    passing = statements["RunAsTheModelRole"]
    assert passing["Action"] == "iam:PassRole"
    assert passing["Condition"] == {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}}


def test_the_models_deployment_pipeline_deploys_the_batch_stack_with_the_package(org):
    pipeline = next(
        r["Properties"]
        for r in org.templates["SharedServicesTooling/ModelDeployments-0"]["Resources"].values()
        if r["Type"] == "AWS::CodePipeline::Pipeline" and r["Properties"]["Name"] == "acme-churn-predictor-deploy"
    )
    for stage_name, account in (("Test", "666666666666"), ("Production", "777777777777")):
        (stage,) = [s for s in pipeline["Stages"] if s["Name"] == stage_name]
        (action,) = [a for a in stage["Actions"] if a["Name"] == "Deploy-batch-churn-nightly"]
        configuration = action["Configuration"]
        assert configuration["StackName"] == "acme-batch-churn-nightly"
        assert json.loads(configuration["ParameterOverrides"]) == {"ModelPackageArn": "#{variables.ModelPackageArn}"}
        assert account in json.dumps(action["RoleArn"])


def _config(**job: Any) -> Any:
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    document["batch_inference"] = [{"name": "nightly", "model": "churn-predictor", "schedule": "rate(1 day)", **job}]
    return document


def test_configured_locations_apply_to_production_only():
    config = parse_config(_config(input_uri="s3://acme-lake/churn/in/", output_uri="s3://acme-lake/churn/out/"))
    (production,) = config.batch_jobs_served_in("ml-prod")
    (test,) = config.batch_jobs_served_in("ml-test")
    assert batch_locations(config, production) == ("s3://acme-lake/churn/in/", "s3://acme-lake/churn/out/")
    assert batch_locations(config, test) == (
        f"s3://{TEST_BUCKET}/nightly/input/",
        f"s3://{TEST_BUCKET}/nightly/output/",
    )


@pytest.mark.parametrize(
    ("job", "problem"),
    [
        ({"model": "unknown"}, "batch_inference.0.model: unknown model 'unknown'"),
        ({"input_uri": "s3://acme-lake/in"}, "batch_inference.0.input_uri: must be a prefix ending in /"),
        (
            {"input_uri": "s3://acme-lake/in/", "output_uri": "s3://acme-lake/in/results/"},
            "batch_inference.0.output_uri: must not overlap input_uri",
        ),
        ({"instance_type": "ml.g5.xlarge"}, "batch_inference.0.instance_type: ml.g5.xlarge has instance storage"),
        ({"split_type": "None"}, "batch_inference.0.batch_strategy: whole files"),
        ({"schedule": "every night"}, "batch_inference.0.schedule"),
    ],
)
def test_config_rejects_batch_jobs_that_cannot_work(job, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_config(_config(**job))


def test_batch_jobs_need_the_delivery_pipeline_that_deploys_them():
    document = _config()
    document["endpoints"] = []
    del document["delivery"]
    with pytest.raises(ConfigError, match="delivery: required"):
        parse_config(document)
