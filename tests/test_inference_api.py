"""The inference API in front of an endpoint: API Gateway with IAM authorization, throttling,
a usage plan, access logs and WAF, a function in the VPC allowed to invoke only its endpoint,
and alarms; config validation of the combinations that cannot work."""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk
import pytest
import yaml
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Match, Template

from ml_constructs.inference_api import CognitoCallers, InferenceApi, Payloads, Throttling
from stacks.config import ConfigError, parse_config
from tests.conftest import EXAMPLE_CONFIG, cli_app

PROD, TEST = "MlProdServing/InferenceApis-0", "MlTestServing/InferenceApis-0"


def _resources(org, stack: str, kind: str, api: str | None = "fraud-detector") -> list[dict[str, Any]]:
    """The resources of one kind in `stack`; those of one endpoint's API unless `api` is None."""
    return [
        r["Properties"]
        for r in org.templates[stack]["Resources"].values()
        if r["Type"] == kind and (api is None or f"/Api-{api}/" in r["Metadata"]["aws:cdk:path"])
    ]


def _one(org, stack: str, kind: str) -> dict[str, Any]:
    (properties,) = _resources(org, stack, kind)
    return properties


def test_both_serving_accounts_get_the_api_of_each_endpoint_that_configures_one(org):
    for stack in (PROD, TEST):
        assert sorted(api["Name"] for api in _resources(org, stack, "AWS::ApiGateway::RestApi", api=None)) == [
            "acme-churn-predictor-api",
            "acme-fraud-detector-api",
        ]
    assert not any("/InferenceApis" in key for key in org.templates if "Serving" not in key)


def test_the_one_method_takes_signed_calls_with_a_key_and_a_content_type(org):
    api = _one(org, PROD, "AWS::ApiGateway::RestApi")
    assert api["EndpointConfiguration"] == {"Types": ["REGIONAL"]}
    (statement,) = api["Policy"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert json.dumps(statement["Principal"]).count(":iam::") == 1  # only the serving account itself
    (method,) = _resources(org, PROD, "AWS::ApiGateway::Method")
    assert (method["HttpMethod"], method["AuthorizationType"], method["ApiKeyRequired"]) == ("POST", "AWS_IAM", True)
    assert method["RequestParameters"] == {"method.request.header.Content-Type": True}
    assert method["Integration"]["Type"] == "AWS_PROXY"
    validator = _one(org, PROD, "AWS::ApiGateway::RequestValidator")
    assert validator["ValidateRequestParameters"] is True and validator["ValidateRequestBody"] is True


def test_the_stage_throttles_logs_access_without_payloads_and_the_usage_plan_has_a_quota(org):
    stage = _one(org, PROD, "AWS::ApiGateway::Stage")
    (settings,) = stage["MethodSettings"]
    assert (settings["ThrottlingRateLimit"], settings["ThrottlingBurstLimit"]) == (40, 80)
    assert (settings["LoggingLevel"], settings["DataTraceEnabled"]) == ("ERROR", False)
    assert "requestId" in stage["AccessLogSetting"]["Format"]
    plan = _one(org, PROD, "AWS::ApiGateway::UsagePlan")
    assert plan["Quota"] == {"Limit": 500000, "Period": "DAY"}
    assert plan["Throttle"] == {"BurstLimit": 80, "RateLimit": 40}
    log_groups = _resources(org, PROD, "AWS::Logs::LogGroup")
    assert log_groups and all("KmsKeyId" in group for group in log_groups)


def test_the_account_lets_api_gateway_write_those_logs_before_the_stage_exists(org):
    resources = org.templates[PROD]["Resources"]
    ((setting_id, setting),) = [(k, r) for k, r in resources.items() if r["Type"] == "AWS::ApiGateway::Account"]
    assert setting["DeletionPolicy"] == "Retain"
    role_id = setting["Properties"]["CloudWatchRoleArn"]["Fn::GetAtt"][0]
    role = resources[role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "apigateway.amazonaws.com"}
    assert "aws:SourceAccount" in trust["Condition"]["StringEquals"]
    ((_, policy_id),) = [arn.popitem() for arn in role["ManagedPolicyArns"]]
    policy = resources[policy_id]["Properties"]["PolicyDocument"]
    writes = next(s for s in policy["Statement"] if s["Sid"] == "ApiLogs")
    assert "API-Gateway-Execution-Logs_*" in json.dumps(writes["Resource"])
    assert "API-Gateway-Access-Logs_acme-*" in json.dumps(writes["Resource"])
    access_logs = [g["LogGroupName"] for g in _resources(org, PROD, "AWS::Logs::LogGroup") if "Access" in str(g)]
    assert access_logs == ["API-Gateway-Access-Logs_acme-fraud-detector-api"]
    assert "*" not in writes["Resource"] and "logs:*" not in writes["Action"]
    stages = [r for r in resources.values() if r["Type"] == "AWS::ApiGateway::Stage"]
    assert len(stages) == 2 and all(setting_id in stage["DependsOn"] for stage in stages)


def test_waf_guards_the_stage_with_managed_rules_a_rate_limit_and_logs(org):
    acl = _one(org, PROD, "AWS::WAFv2::WebACL")
    assert acl["Scope"] == "REGIONAL" and acl["DefaultAction"] == {"Allow": {}}
    rules = {rule["Name"]: rule for rule in acl["Rules"]}
    assert set(rules) == {"AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet", "RateLimitPerAddress"}
    common = rules["AWSManagedRulesCommonRuleSet"]["Statement"]["ManagedRuleGroupStatement"]
    # Inference bodies are larger than the rule set's 8 KB; the function limits their size instead.
    assert common["RuleActionOverrides"] == [{"Name": "SizeRestrictions_BODY", "ActionToUse": {"Count": {}}}]
    assert rules["RateLimitPerAddress"]["Statement"]["RateBasedStatement"]["Limit"] == 2000
    association = _one(org, PROD, "AWS::WAFv2::WebACLAssociation")
    assert "Ref" in json.dumps(association["ResourceArn"]) and "WebAcl" in json.dumps(association["WebACLArn"])
    logging = _one(org, PROD, "AWS::WAFv2::LoggingConfiguration")
    assert "aws-waf-logs-acme-fraud-detector-api" in json.dumps(logging["LogDestinationConfigs"])


def test_the_function_runs_in_the_vpc_and_may_invoke_only_its_endpoint(org):
    function = next(
        f for f in _resources(org, PROD, "AWS::Lambda::Function") if "ENDPOINT_NAME" in f["Environment"]["Variables"]
    )
    variables = function["Environment"]["Variables"]
    assert variables["ENDPOINT_NAME"] == "acme-fraud-detector"
    assert (variables["MAX_PAYLOAD_BYTES"], variables["CONTENT_TYPES"], variables["MULTI_MODEL"]) == (
        str(256 * 1024),
        "application/json,text/csv",
        "false",
    )
    # No max_concurrency in the config: nothing reserved, which a new account could not give.
    assert "ReservedConcurrentExecutions" not in function and function["Timeout"] == 29
    assert function["VpcConfig"]["SubnetIds"]
    statements = [
        statement
        for policy in _resources(org, PROD, "AWS::IAM::ManagedPolicy")
        for statement in policy["PolicyDocument"]["Statement"]
        if "sagemaker:InvokeEndpoint" in json.dumps(statement["Action"])
    ]
    (invoke,) = statements
    assert json.dumps(invoke["Resource"]).endswith('endpoint/acme-fraud-detector"]]}')


def test_alarms_watch_server_errors_client_errors_and_latency(org):
    alarms = _resources(org, PROD, "AWS::CloudWatch::Alarm")
    described = sorted(
        alarm["AlarmDescription"] for alarm in alarms if "acme-fraud-detector-api" in alarm["AlarmDescription"]
    )
    assert len(described) == 3
    assert any("p99 latency above 500 ms" in text for text in described)  # 200 ms objective + 300 ms
    assert all(alarm.get("AlarmActions") for alarm in alarms)


def _config(**api: Any) -> Any:
    document = yaml.safe_load(EXAMPLE_CONFIG.read_text())
    target = next(e for e in document["endpoints"] if e["name"] == "fraud-detector")
    target["api"] = api
    return document


@pytest.mark.parametrize(
    ("api", "problem"),
    [
        ({"authorization": "cognito"}, "endpoints.0.api.cognito_user_pool_arn: required with cognito"),
        (
            {"cognito_user_pool_arn": "arn:aws:cognito-idp:eu-west-1:777777777777:userpool/eu-west-1_AbCdEf123"},
            "endpoints.0.api.cognito_user_pool_arn: required with cognito authorization, and only then",
        ),
        ({"caller_accounts": ["999999999999"]}, "endpoints.0.api.caller_accounts: not accounts of this organization"),
        ({"quota_per_day": 1000}, "endpoints.0.api.quota_per_day: quotas are counted per API key"),
        ({"rate_limit_rps": 100, "burst_limit": 50}, "endpoints.0.api.burst_limit: must be at least rate_limit_rps"),
        ({"max_payload_kb": 8192}, "endpoints.0.api.max_payload_kb"),
    ],
)
def test_config_rejects_apis_that_cannot_work(api, problem):
    with pytest.raises(ConfigError, match=problem):
        parse_config(_config(**api))


def test_cognito_apis_use_the_user_pool_authorizer_and_need_no_resource_policy(tmp_path):
    pool = "arn:aws:cognito-idp:eu-west-1:777777777777:userpool/eu-west-1_AbCdEf123"
    stack = cdk.Stack(cli_app(tmp_path), "Stack", env=cdk.Environment(account="777777777777", region="eu-west-1"))
    InferenceApi(
        stack,
        "Api",
        api_name="acme-scorer-api",
        endpoint_name="acme-scorer",
        callers=CognitoCallers(pool),
        throttling=Throttling(rate_limit_rps=10, burst_limit=20),
        payloads=Payloads(max_bytes=1024, content_types=["application/json"], multi_model=True),
        waf_rate_limit=500,
        max_concurrency=5,
        latency_slo_ms=100,
        vpc=ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=["eu-west-1a"],
            isolated_subnet_ids=["subnet-0123456789abcdef0"],
        ),
        key=kms.Key(stack, "Key"),
        alarm_topic=sns.Topic(stack, "Alerts"),
    )
    template = Template.from_stack(stack)
    template.has_resource_properties("AWS::Lambda::Function", {"ReservedConcurrentExecutions": 5})
    template.has_resource_properties("AWS::ApiGateway::Method", {"AuthorizationType": "COGNITO_USER_POOLS"})
    template.has_resource_properties(
        "AWS::ApiGateway::Authorizer", {"Type": "COGNITO_USER_POOLS", "ProviderARNs": [pool]}
    )
    template.has_resource_properties("AWS::ApiGateway::RestApi", {"Policy": Match.absent()})
    template.has_resource_properties(
        "AWS::Lambda::Function", {"Environment": {"Variables": Match.object_like({"MULTI_MODEL": "true"})}}
    )
    template.resource_properties_count_is("AWS::ApiGateway::UsagePlan", {"Quota": Match.absent()}, 1)
