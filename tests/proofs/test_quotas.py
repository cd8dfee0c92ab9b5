"""The quotas proof and `make quotas`: a failing and a passing template for each quota it
counts, the committed table, the reserved-concurrency regression on the example organization,
and the requests `make quotas` prints for it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import ValidationError

from proofs import preflight, quotas
from proofs.assembly import CloudAssembly, Environment
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict, failures
from stacks.config import OrgConfig, load_config
from stacks.config.models import GrantedQuota
from tests.conftest import EXAMPLE_CONFIG
from tools import quotas as quotas_tool

ML_TEST = Environment("666666666666", "eu-west-1")
CONFIG = load_config(EXAMPLE_CONFIG)


def resource(kind: str, path: str, **properties: Any) -> dict[str, Any]:
    return {"Type": kind, "Properties": properties, "Metadata": {"aws:cdk:path": f"Stage/Stack/{path}/Resource"}}


def context(tmp_path: Path, resources: dict[str, Any], config: OrgConfig = CONFIG) -> ProofContext:
    """A cloud assembly of one stack in ml-test holding `resources`."""
    stage = tmp_path / "cdk.out" / "assembly-Stage"
    stage.mkdir(parents=True)
    (stage / "Stack.template.json").write_text(json.dumps({"Resources": resources}))
    stack = {
        "type": "aws:cloudformation:stack",
        "environment": f"aws://{ML_TEST.account}/{ML_TEST.region}",
        "displayName": "Stage/Stack",
        "properties": {"templateFile": "Stack.template.json"},
    }
    (stage / "manifest.json").write_text(json.dumps({"artifacts": {"Stack": stack}}))
    return ProofContext(CloudAssembly.read(tmp_path / "cdk.out"), config)


def check(tmp_path: Path, resources: dict[str, Any], config: OrgConfig = CONFIG) -> list[Finding]:
    return quotas.check(context(tmp_path, resources, config))


def granted(*quota: GrantedQuota, account: str = "ml-test", config: OrgConfig = CONFIG) -> OrgConfig:
    accounts = dict(config.accounts)
    accounts[account] = accounts[account].model_copy(update={"quotas": quota})
    return config.model_copy(update={"accounts": accounts})


def peaks(tmp_path: Path, resources: dict[str, Any]) -> dict[str, int]:
    needs, _ = quotas.count(context(tmp_path, resources))
    return {need.quota.name: need.peak for need in needs}


def function(reserved: int | None = None) -> dict[str, Any]:
    return resource("AWS::Lambda::Function", "Fn", **({"ReservedConcurrentExecutions": reserved} if reserved else {}))


def api(burst: int) -> dict[str, Any]:
    """A REST API whose one method invokes function `Fn` through a stage admitting `burst`."""
    uri = {"Fn::Join": ["", ["arn:aws:apigateway:eu-west-1:lambda:path/functions/", {"Fn::GetAtt": ["Fn", "Arn"]}]]}
    return {
        "Api": resource("AWS::ApiGateway::RestApi", "Api"),
        "Method": resource(
            "AWS::ApiGateway::Method", "Method", RestApiId={"Ref": "Api"}, Integration={"Type": "AWS_PROXY", "Uri": uri}
        ),
        "Stage": resource(
            "AWS::ApiGateway::Stage",
            "Stage",
            RestApiId={"Ref": "Api"},
            MethodSettings=[{"HttpMethod": "*", "ResourcePath": "/*", "ThrottlingBurstLimit": burst}],
        ),
    }


LAMBDA = GrantedQuota(service="lambda", quota="L-B99A9384", value=1000)


# Lambda concurrent executions: reservations, the 100 Lambda keeps unreserved, API bursts.


def test_a_reservation_a_new_account_cannot_give_fails(tmp_path):
    (finding,) = check(tmp_path, {"Fn": function(reserved=2)})
    assert finding.verdict is Verdict.FAILS
    assert finding.subject == "lambda L-B99A9384 Concurrent executions"
    assert finding.problem == "the deploy needs 102 (Stack/Fn reserves 2, 100 stay unreserved); a new account has 10"
    assert "configuration-concurrency.html" in finding.rule
    assert "accounts.ml-test.quotas" in finding.fix


def test_a_reservation_passes_in_an_account_granted_enough(tmp_path):
    assert check(tmp_path, {"Fn": function(reserved=2)}, granted(LAMBDA)) == []


def test_a_granted_value_below_the_reservation_and_the_unreserved_minimum_fails(tmp_path):
    config = granted(GrantedQuota(service="lambda", quota="Concurrent executions", value=101))
    (finding,) = check(tmp_path, {"Fn": function(reserved=2)}, config)
    assert finding.verdict is Verdict.FAILS
    assert "the config states the account has 101" in finding.problem


def test_a_granted_value_counts_only_in_its_region(tmp_path):
    elsewhere = GrantedQuota(service="lambda", quota="L-B99A9384", value=1000, region="eu-central-1")
    (finding,) = check(tmp_path, {"Fn": function(reserved=2)}, granted(elsewhere))
    assert finding.verdict is Verdict.FAILS


def test_functions_without_reservations_need_nothing_of_a_new_account(tmp_path):
    assert check(tmp_path, {"Fn": function()}) == []


def test_api_bursts_beyond_a_new_account_cannot_be_decided_offline(tmp_path):
    # The deploy succeeds; the bursts need more than a new account has, which AWS may have raised since.
    (finding,) = check(tmp_path, {"Fn": function(), **api(burst=80)})
    assert finding.verdict is Verdict.UNDECIDED
    assert finding.problem.startswith("needs 80 (Stack/Fn takes API bursts of 80); a new account has 10")
    assert check(tmp_path / "granted", {"Fn": function(), **api(burst=80)}, granted(LAMBDA)) == []


def test_a_reserved_function_behind_an_api_is_capped_by_its_reservation(tmp_path):
    assert peaks(tmp_path, {"Fn": function(reserved=20), **api(burst=500)}) == {"Concurrent executions": 120}


# Interface endpoints per VPC.


def endpoints(count: int, kind: str = "Interface") -> dict[str, Any]:
    return {
        "Vpc": resource("AWS::EC2::VPC", "Vpc"),
        **{
            f"Endpoint{index}": resource(
                "AWS::EC2::VPCEndpoint",
                f"Endpoint{index}",
                VpcId={"Ref": "Vpc"},
                VpcEndpointType=kind,
                ServiceName=f"com.amazonaws.eu-west-1.service{index}",
            )
            for index in range(count)
        },
    }


def test_more_interface_endpoints_than_a_vpc_holds_fail(tmp_path):
    (finding,) = check(tmp_path, endpoints(51))
    assert finding.verdict is Verdict.FAILS
    assert finding.subject == "vpc L-29B6F2EB Interface and Gateway Load Balancer endpoints per VPC of Stack/Vpc"
    assert finding.problem.startswith("the deploy needs 51 (")


def test_fifty_interface_endpoints_and_any_gateway_endpoints_fit(tmp_path):
    assert check(tmp_path, endpoints(50)) == []
    assert check(tmp_path / "gateways", endpoints(60, kind="Gateway")) == []


# SageMaker endpoints: instances at deploy, scaled out, and twice that during a blue/green update.


def endpoint(variant: dict[str, Any], max_capacity: int | None = None) -> dict[str, Any]:
    scaling = {
        "Scaling": resource(
            "AWS::ApplicationAutoScaling::ScalableTarget",
            "Scaling",
            ServiceNamespace="sagemaker",
            ResourceId="endpoint/acme-scorer/variant/champion",
            MinCapacity=2,
            MaxCapacity=max_capacity,
        )
    }
    return {
        "Config": resource("AWS::SageMaker::EndpointConfig", "Config", ProductionVariants=[variant]),
        "Endpoint": resource(
            "AWS::SageMaker::Endpoint",
            "Endpoint",
            EndpointName="acme-scorer",
            EndpointConfigName={"Fn::GetAtt": ["Config", "EndpointConfigName"]},
        ),
        **(scaling if max_capacity else {}),
    }


INSTANCES = {"VariantName": "champion", "InstanceType": "ml.m5.large", "InitialInstanceCount": 2}


def test_endpoint_instances_count_scaled_out_and_doubled_for_updates(tmp_path):
    (finding,) = check(tmp_path, endpoint(INSTANCES, max_capacity=6))
    assert finding.verdict is Verdict.UNDECIDED  # AWS publishes no value a new account has
    assert finding.subject == "sagemaker L-614B09FD ml.m5.large for endpoint usage"
    assert finding.problem.startswith(
        "needs 12 (Stack/Endpoint variant champion: 2 at deploy, up to 6, twice that while an update replaces the fleet)"
    )


def test_endpoint_instances_pass_with_a_granted_value_and_fail_below_it(tmp_path):
    by_name = GrantedQuota(service="sagemaker", quota="ml.m5.large for endpoint usage", value=12)
    assert check(tmp_path, endpoint(INSTANCES, max_capacity=6), granted(by_name)) == []
    short = GrantedQuota(service="sagemaker", quota="L-614B09FD", value=11)
    (finding,) = check(tmp_path / "short", endpoint(INSTANCES, max_capacity=6), granted(short))
    assert finding.verdict is Verdict.FAILS


def test_serverless_endpoints_count_their_concurrency(tmp_path):
    serverless = {"VariantName": "champion", "ServerlessConfig": {"MaxConcurrency": 20, "MemorySizeInMB": 2048}}
    assert peaks(tmp_path, endpoint(serverless)) == {
        "Maximum total concurrency that can be allocated across all serverless endpoints": 20
    }


# SageMaker jobs: the most a pipeline's steps use at once, Model Monitor's jobs, unknown types.


def pipeline(*steps: dict[str, Any]) -> dict[str, Any]:
    definition = {
        "Parameters": [
            {"Name": "ProcessingInstanceType", "Type": "String", "DefaultValue": "ml.m5.large"},
            {"Name": "TrainingInstanceType", "Type": "String", "DefaultValue": "ml.c5.xlarge"},
        ],
        "Steps": list(steps),
    }
    return {
        "Pipeline": resource(
            "AWS::SageMaker::Pipeline",
            "Pipeline",
            PipelineName="acme-build",
            PipelineDefinition={"PipelineDefinitionBody": json.dumps(definition)},
        )
    }


def processing(name: str, *reads: str, kind: str = "Processing", instance_type: Any = None) -> dict[str, Any]:
    cluster = {"InstanceCount": 1, "InstanceType": instance_type or {"Get": "Parameters.ProcessingInstanceType"}}
    return {
        "Name": name,
        "Type": kind,
        "Arguments": {
            "ProcessingResources": {"ClusterConfig": cluster},
            "ProcessingInputs": [
                {"S3Input": {"S3Uri": {"Get": f"Steps.{read}.ProcessingOutputConfig"}}} for read in reads
            ],
        },
    }


TUNE = {
    "Name": "Tune",
    "Type": "Tuning",
    "DependsOn": ["Prepare"],
    "Arguments": {
        "HyperParameterTuningJobConfig": {
            "ResourceLimits": {"MaxNumberOfTrainingJobs": 12, "MaxParallelTrainingJobs": 3}
        },
        "TrainingJobDefinition": {
            "EnableManagedSpotTraining": True,
            "ResourceConfig": {"InstanceCount": 1, "InstanceType": {"Get": "Parameters.TrainingInstanceType"}},
        },
    },
}
SCORE = {
    "Name": "Enough",
    "Type": "Condition",
    "Arguments": {
        "Conditions": [{"LeftValue": {"Get": "Steps.Evaluate.PropertyFiles"}}],
        "IfSteps": [
            {
                "Name": "Score",
                "Type": "Transform",
                "Arguments": {"TransformResources": {"InstanceCount": 2, "InstanceType": "ml.m5.xlarge"}},
            }
        ],
    },
}


def test_a_pipeline_needs_what_its_steps_can_use_at_once(tmp_path):
    found = peaks(
        tmp_path,
        pipeline(
            processing("Prepare"),
            processing("Quality", "Prepare", kind="QualityCheck"),
            processing("Bias", "Prepare", kind="ClarifyCheck"),
            TUNE,
            processing("Evaluate", "Tune"),
            SCORE,
        ),
    )
    assert found == {
        # Quality, Bias and Evaluate wait only for steps before them; Prepare runs alone.
        "ml.m5.large for processing job usage": 3,
        "Number of instances across all processing jobs": 3,
        # The tuning job runs 3 managed spot training jobs at once.
        "ml.c5.xlarge for spot training job usage": 3,
        "Number of instances across all training jobs": 3,
        "ml.m5.xlarge for transform job usage": 2,
        "Number of instances across all transform jobs": 2,
    }


def test_steps_that_wait_for_each_other_never_count_together(tmp_path):
    found = peaks(tmp_path, pipeline(processing("First"), processing("Second", "First"), processing("Third", "Second")))
    assert found["ml.m5.large for processing job usage"] == 1


def test_clarify_model_checks_count_their_shadow_endpoint(tmp_path):
    prepare = processing("Prepare")
    prepare["Arguments"]["AppSpecification"] = {
        "ContainerArguments": [
            "steps.preprocess",
            "--shadow-instance-type",
            {"Get": "Parameters.ProcessingInstanceType"},
        ]
    }
    bias = processing("ModelBias", "Prepare", kind="ClarifyCheck") | {"CheckType": "MODEL_BIAS"}
    explain = processing("Explain", "Prepare", kind="ClarifyCheck") | {"CheckType": "MODEL_EXPLAINABILITY"}
    assert peaks(tmp_path, pipeline(prepare, bias, explain))["ml.m5.large for endpoint usage"] == 2


def test_a_step_whose_instance_type_is_unknown_cannot_be_decided(tmp_path):
    (finding,) = check(tmp_path, pipeline(processing("Prepare", instance_type={"Get": "Parameters.Missing"})))
    assert finding.verdict is Verdict.UNDECIDED
    assert finding.subject == "pipeline acme-build step Prepare"


def test_model_monitor_jobs_count_as_processing_all_at_once(tmp_path):
    cluster = {"ClusterConfig": {"InstanceCount": 1, "InstanceType": "ml.m5.xlarge"}}
    jobs = {
        "Quality": resource("AWS::SageMaker::DataQualityJobDefinition", "Quality", JobResources=cluster),
        "Bias": resource("AWS::SageMaker::ModelBiasJobDefinition", "Bias", JobResources=cluster),
    }
    assert peaks(tmp_path, jobs) == {
        "ml.m5.xlarge for processing job usage": 2,
        "Number of instances across all processing jobs": 2,
    }


# Studio: one JupyterLab app per space, on the domain's default instance type.


def studio(*app_types: str) -> dict[str, Any]:
    default = {"JupyterLabAppSettings": {"DefaultResourceSpec": {"InstanceType": "ml.t3.medium"}}}
    return {
        "Domain": resource("AWS::SageMaker::Domain", "Domain", DefaultUserSettings=default),
        **{
            f"Space{index}": resource("AWS::SageMaker::Space", f"Space{index}", SpaceSettings={"AppType": app_type})
            for index, app_type in enumerate(app_types)
        },
    }


def test_studio_spaces_count_one_app_each(tmp_path):
    assert peaks(tmp_path, studio("JupyterLab", "JupyterLab", "JupyterLab")) == {
        "Studio JupyterLab Apps running on ml.t3.medium instances": 3
    }
    app_quota = GrantedQuota(service="sagemaker", quota="L-71FAF417", value=3)
    assert check(tmp_path / "granted", studio("JupyterLab", "JupyterLab", "JupyterLab"), granted(app_quota)) == []


def test_spaces_of_apps_the_table_does_not_cover_cannot_be_decided(tmp_path):
    (finding,) = check(tmp_path, studio("CodeEditor"))
    assert finding.verdict is Verdict.UNDECIDED
    assert "CodeEditor" in finding.problem


# The committed table and the config that states granted values.


def test_every_quota_of_the_table_names_its_service_code_and_sources():
    for spec in quotas.table().values():
        assert spec.sources and all(source.startswith("https://") for source in spec.sources), spec.id
        assert spec.sources[0].startswith("https://docs.aws.amazon.com/"), spec.id
        codes = [spec.quota_code] if spec.quota_code else list(spec.quota_codes.values())
        assert codes and all(re.fullmatch(r"L-[0-9A-F]{8}", code) for code in codes), spec.id
        assert ("{instance_type}" in spec.name) == bool(spec.quota_codes), spec.id
        if spec.new_account is not None and spec.aws_default is not None:
            assert spec.new_account <= spec.aws_default, spec.id


def test_the_config_states_granted_quotas_per_account():
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    document["accounts"]["ml-prod"]["quotas"] = [
        {"service": "lambda", "quota": "L-B99A9384", "value": 1000},
        {"service": "lambda", "quota": "Concurrent executions", "value": 500, "region": "eu-central-1"},
    ]
    accounts = OrgConfig.model_validate(document).accounts
    assert [quota.region for quota in accounts["ml-prod"].quotas] == [None, "eu-central-1"]
    document["accounts"]["ml-prod"]["quotas"] = [{"service": "Lambda", "quota": "L-B99A9384", "value": -1}]
    with pytest.raises(ValidationError) as error:
        OrgConfig.model_validate(document)
    assert {problem["loc"][-1] for problem in error.value.errors()} == {"service", "value"}


def test_make_quotas_refuses_without_a_cloud_assembly(tmp_path, capsys):
    assert quotas_tool.main(["tools.quotas", str(EXAMPLE_CONFIG), str(tmp_path)]) == 1
    assert "run make synth" in capsys.readouterr().err


def test_a_code_the_table_does_not_hold_is_looked_up_by_name():
    request = quotas_tool.Request(ML_TEST, quotas.Quota("sagemaker-endpoint-instances", "ml.g5.xlarge"), 4)
    assert quotas_tool.command(request) == (
        "aws service-quotas request-service-quota-increase --region eu-west-1 --service-code sagemaker "
        '--quota-code "$(aws service-quotas list-aws-default-service-quotas --region eu-west-1 '
        "--service-code sagemaker --query \"Quotas[?QuotaName=='ml.g5.xlarge for endpoint usage'].QuotaCode\" "
        '--output text)" --desired-value 4'
    )


# The example organization.


def test_no_function_of_the_example_reserves_concurrency(org):
    """Regression: every function reserved 2 executions, which an account the platform creates
    (10 executions, 100 of which Lambda keeps unreserved) cannot give: its first deploy failed."""
    functions = [
        (stack.display_name, function.logical_id)
        for stack in CloudAssembly.read(org.directory).stacks
        for function in stack.resources("AWS::Lambda::Function")
        if "ReservedConcurrentExecutions" in function.properties
    ]
    assert functions == []


def test_the_example_fits_new_accounts_or_says_what_it_cannot_decide(org):
    found = preflight.run(ProofContext.read(org.directory, org.config), [quotas.PROOF])
    assert failures(found) == []
    lambda_findings = {finding.where for finding in found if finding.subject.startswith("lambda ")}
    # Only the serving accounts' inference APIs need more executions than a new account has.
    assert lambda_findings == {
        "ml-test 666666666666/eu-west-1",
        "ml-prod 777777777777/eu-west-1",
        "ml-prod 777777777777/eu-central-1",
    }


def test_make_quotas_prints_the_example_requests(org, capsys):
    assert quotas_tool.main(["tools.quotas", str(EXAMPLE_CONFIG), str(org.directory)]) == 0
    sections = {
        block.splitlines()[0]: block.splitlines()[1:] for block in capsys.readouterr().out.strip().split("\n\n")[1:]
    }
    assert list(sections) == [
        "ml-dev 555555555555/eu-west-1",
        "ml-test 666666666666/eu-west-1",
        "ml-prod 777777777777/eu-central-1",
        "ml-prod 777777777777/eu-west-1",
    ]
    request = "aws service-quotas request-service-quota-increase --region eu-west-1"
    assert sections["ml-test 666666666666/eu-west-1"] == [
        "  lambda L-B99A9384 Concurrent executions: 180",
        f"    {request} --service-code lambda --quota-code L-B99A9384 --desired-value 180",
        "  sagemaker L-4D27DFDD ml.c5.large for endpoint usage: 6",
        f"    {request} --service-code sagemaker --quota-code L-4D27DFDD --desired-value 6",
        "  sagemaker L-614B09FD ml.m5.large for endpoint usage: 28",
        f"    {request} --service-code sagemaker --quota-code L-614B09FD --desired-value 28",
        "  sagemaker L-7939E4EC ml.m5.xlarge for transform job usage: 2",
        f"    {request} --service-code sagemaker --quota-code L-7939E4EC --desired-value 2",
        "  sagemaker L-60D2A6F0 Number of instances across all transform jobs: 2",
        f"    {request} --service-code sagemaker --quota-code L-60D2A6F0 --desired-value 2",
    ]
    assert (
        "  sagemaker L-6FA0D387 ml.c5.xlarge for spot training job usage: 3"
        in sections["ml-dev 555555555555/eu-west-1"]
    )
    assert (
        "  sagemaker L-71FAF417 Studio JupyterLab Apps running on ml.t3.medium instances: 6"
        in (sections["ml-dev 555555555555/eu-west-1"])
    )


def test_make_quotas_leaves_out_what_the_config_states_as_granted(org, capsys):
    config = granted(LAMBDA, config=org.config)
    context = ProofContext.read(org.directory, config)
    asked = {(request.environment, request.quota.name) for request in quotas_tool.requests(context)}
    assert (ML_TEST, "Concurrent executions") not in asked
    assert (Environment("777777777777", "eu-west-1"), "Concurrent executions") in asked
