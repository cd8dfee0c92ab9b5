"""An HTTPS inference API in front of one SageMaker endpoint.

API Gateway (REST, regional) -> a small function in the VPC (lambda/inference_api) ->
InvokeEndpoint through the VPC's SageMaker runtime endpoint:

- IAM (SigV4, with a resource policy naming the accounts that may call) or Cognito user-pool
  authorization on the one method, POST /invocations;
- the gateway rejects requests without a Content-Type (request validator) and the function
  rejects the rest of what the model should never see (lambda/inference_api); gateway errors
  answer in JSON with the request id;
- stage throttling, a usage plan (optionally with API keys and a daily quota);
- concurrency reserved for the function only when `max_concurrency` is given (none by
  default: a new account has none to reserve, and the stage's throttling bounds the calls);
- access logs (JSON, KMS-encrypted) and error-level execution logs without payloads;
- a WAF web ACL: AWS's common and known-bad-inputs rule groups, a rate limit per IP address,
  and its own logs;
- alarms on 5XX and 4XX rates and p99 latency, to the account's alerts topic.

`GatewayLogging` is the region's one API Gateway account setting that every stage's logs
depend on: the role API Gateway writes them with.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cognito as cognito
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_wafv2 as wafv2
from constructs import Construct

from ml_constructs.alarms import notifying_alarm
from ml_constructs.arns import in_this_account
from ml_constructs.function import PlatformFunction
from ml_constructs.roles import role_with_managed_policy

STAGE = "v1"
EXECUTION_LOG_GROUPS = "API-Gateway-Execution-Logs_"
"""API Gateway's own name prefix for a stage's execution logs (followed by the API id and stage)."""
ACCESS_LOG_GROUPS = "API-Gateway-Access-Logs_"
"""The platform's prefix for the access logs of an API (followed by the API's name)."""
GATEWAY_OVERHEAD_MS = 300
"""What the gateway and the function add to the model's latency at p99, before the alarm."""
ERROR_RATE_PERCENT = {"5XXError": 1.0, "4XXError": 10.0}
WAF_RULE_GROUPS = ("AWSManagedRulesCommonRuleSet", "AWSManagedRulesKnownBadInputsRuleSet")
BODY_SIZE_RULE = "SizeRestrictions_BODY"
"""The common rule set blocks bodies over 8 KB; inference payloads are larger, and their size is
limited by the function instead."""


@dataclass(frozen=True)
class IamCallers:
    """SigV4-signed calls from principals of these accounts (the API's own included) that IAM allows."""

    accounts: Sequence[str]


@dataclass(frozen=True)
class CognitoCallers:
    user_pool_arn: str


@dataclass(frozen=True)
class Throttling:
    rate_limit_rps: float
    burst_limit: int
    api_keys: bool = False
    quota_per_day: int | None = None


@dataclass(frozen=True)
class Payloads:
    max_bytes: int
    content_types: Sequence[str]
    multi_model: bool = False
    """Requests name their model (X-Target-Model)."""


class InferenceApi(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api_name: str,
        endpoint_name: str,
        callers: IamCallers | CognitoCallers,
        throttling: Throttling,
        payloads: Payloads,
        waf_rate_limit: int,
        max_concurrency: int | None,
        latency_slo_ms: int,
        vpc: ec2.IVpc,
        key: kms.IKey,
        alarm_topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self._alarm_topic = alarm_topic
        self.function = PlatformFunction(
            self,
            "Function",
            name="inference_api",
            description=f"Validates requests to {api_name} and invokes endpoint {endpoint_name}",
            key=key,
            alarm_topic=alarm_topic,
            statements=[
                iam.PolicyStatement(
                    actions=["sagemaker:InvokeEndpoint"],
                    resources=[in_this_account("sagemaker", f"endpoint/{endpoint_name}")],
                )
            ],
            environment={
                "ENDPOINT_NAME": endpoint_name,
                "MAX_PAYLOAD_BYTES": str(payloads.max_bytes),
                "CONTENT_TYPES": ",".join(sorted(payloads.content_types)),
                "MULTI_MODEL": str(payloads.multi_model).lower(),
            },
            timeout=cdk.Duration.seconds(29),
            reserved_concurrency=max_concurrency,
            vpc=vpc,
        )
        access_logs = logs.LogGroup(
            self,
            "AccessLogs",
            # Named like API Gateway's execution logs, so the account's logging role can be
            # scoped to both by name.
            log_group_name=f"{ACCESS_LOG_GROUPS}{api_name}",
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.api = apigateway.RestApi(
            self,
            "Api",
            rest_api_name=api_name,
            description=f"Inference on SageMaker endpoint {endpoint_name}",
            endpoint_types=[apigateway.EndpointType.REGIONAL],
            policy=self._resource_policy(callers),
            cloud_watch_role=False,
            deploy_options=apigateway.StageOptions(
                stage_name=STAGE,
                throttling_rate_limit=throttling.rate_limit_rps,
                throttling_burst_limit=throttling.burst_limit,
                access_log_destination=apigateway.LogGroupLogDestination(access_logs),
                access_log_format=apigateway.AccessLogFormat.json_with_standard_fields(
                    caller=True,
                    http_method=True,
                    ip=True,
                    protocol=True,
                    request_time=True,
                    resource_path=True,
                    response_length=True,
                    status=True,
                    user=True,
                ),
                # Errors only, and never request or response bodies: payloads may hold personal data.
                logging_level=apigateway.MethodLoggingLevel.ERROR,
                data_trace_enabled=False,
                metrics_enabled=True,
                tracing_enabled=True,
            ),
        )
        # The stack names the URL in an output of its own (RestApi's is named by a hash).
        self.api.node.try_remove_child("Endpoint")
        validator = self.api.add_request_validator(
            "Validator",
            request_validator_name="parameters-and-body",
            validate_request_parameters=True,
            validate_request_body=True,
        )
        for response_type, status in (
            (apigateway.ResponseType.DEFAULT_4_XX, None),
            (apigateway.ResponseType.DEFAULT_5_XX, None),
            (apigateway.ResponseType.BAD_REQUEST_PARAMETERS, "400"),
        ):
            self.api.add_gateway_response(
                f"{response_type.response_type}Response",
                type=response_type,
                status_code=status,
                templates={
                    "application/json": '{"message": $context.error.messageString, "requestId": "$context.requestId"}'
                },
            )
        authorizer = (
            apigateway.CognitoUserPoolsAuthorizer(
                self,
                "Authorizer",
                cognito_user_pools=[cognito.UserPool.from_user_pool_arn(self, "UserPool", callers.user_pool_arn)],
            )
            if isinstance(callers, CognitoCallers)
            else None
        )
        method = self.api.root.add_resource("invocations").add_method(
            "POST",
            apigateway.LambdaIntegration(self.function.function, proxy=True),
            authorization_type=apigateway.AuthorizationType.COGNITO if authorizer else apigateway.AuthorizationType.IAM,
            authorizer=authorizer,
            api_key_required=throttling.api_keys,
            request_validator=validator,
            request_parameters={"method.request.header.Content-Type": True},
        )
        # The integration's invoke permissions name the method by an ARN joined at deploy time;
        # the account beside it is a literal (AWS Control Tower's CT.LAMBDA.PR.2).
        for child in method.node.children:
            if isinstance(child, lambda_.CfnPermission):
                child.source_account = cdk.Stack.of(self).account
        self.usage_plan = self.api.add_usage_plan(
            "UsagePlan",
            name=api_name,
            description="Callers' share of the API; add API keys to it for each consumer",
            throttle=apigateway.ThrottleSettings(
                rate_limit=throttling.rate_limit_rps, burst_limit=throttling.burst_limit
            ),
            quota=apigateway.QuotaSettings(limit=throttling.quota_per_day, period=apigateway.Period.DAY)
            if throttling.quota_per_day
            else None,
            api_stages=[apigateway.UsagePlanPerApiStage(api=self.api, stage=self.api.deployment_stage)],
        )
        self.web_acl = self._web_acl(api_name, waf_rate_limit, key)
        wafv2.CfnWebACLAssociation(
            self,
            "WebAclAssociation",
            resource_arn=self.api.deployment_stage.stage_arn,
            web_acl_arn=self.web_acl.attr_arn,
        )
        self.alarms = [
            *(self._error_rate_alarm(metric, threshold) for metric, threshold in ERROR_RATE_PERCENT.items()),
            self._latency_alarm(latency_slo_ms + GATEWAY_OVERHEAD_MS),
        ]

    def _resource_policy(self, callers: IamCallers | CognitoCallers) -> iam.PolicyDocument | None:
        if not isinstance(callers, IamCallers):
            return None
        stack = cdk.Stack.of(self)
        accounts = sorted({stack.account, *callers.accounts})
        return iam.PolicyDocument(
            statements=[
                iam.PolicyStatement(
                    actions=["execute-api:Invoke"],
                    principals=[iam.AccountPrincipal(account) for account in accounts],
                    resources=["execute-api:/*/POST/invocations"],
                )
            ]
        )

    def _web_acl(self, api_name: str, rate_limit: int, key: kms.IKey) -> wafv2.CfnWebACL:
        def visibility(metric: str) -> wafv2.CfnWebACL.VisibilityConfigProperty:
            return wafv2.CfnWebACL.VisibilityConfigProperty(
                cloud_watch_metrics_enabled=True, metric_name=metric, sampled_requests_enabled=True
            )

        managed = [
            wafv2.CfnWebACL.RuleProperty(
                name=group,
                priority=index,
                override_action=wafv2.CfnWebACL.OverrideActionProperty(none={}),
                statement=wafv2.CfnWebACL.StatementProperty(
                    managed_rule_group_statement=wafv2.CfnWebACL.ManagedRuleGroupStatementProperty(
                        vendor_name="AWS",
                        name=group,
                        rule_action_overrides=[
                            wafv2.CfnWebACL.RuleActionOverrideProperty(
                                name=BODY_SIZE_RULE, action_to_use=wafv2.CfnWebACL.RuleActionProperty(count={})
                            )
                        ]
                        if group == "AWSManagedRulesCommonRuleSet"
                        else None,
                    )
                ),
                visibility_config=visibility(group),
            )
            for index, group in enumerate(WAF_RULE_GROUPS)
        ]
        rate = wafv2.CfnWebACL.RuleProperty(
            name="RateLimitPerAddress",
            priority=len(managed),
            action=wafv2.CfnWebACL.RuleActionProperty(block={}),
            statement=wafv2.CfnWebACL.StatementProperty(
                rate_based_statement=wafv2.CfnWebACL.RateBasedStatementProperty(
                    limit=rate_limit, aggregate_key_type="IP", evaluation_window_sec=300
                )
            ),
            visibility_config=visibility("RateLimitPerAddress"),
        )
        acl = wafv2.CfnWebACL(
            self,
            "WebAcl",
            name=api_name,
            scope="REGIONAL",
            default_action=wafv2.CfnWebACL.DefaultActionProperty(allow={}),
            rules=[*managed, rate],
            visibility_config=visibility(api_name),
        )
        # WAF delivers only to log groups whose names start with aws-waf-logs-.
        log_group_name = f"aws-waf-logs-{api_name}"
        waf_logs = logs.LogGroup(
            self,
            "WebAclLogs",
            log_group_name=log_group_name,
            encryption_key=key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        logging = wafv2.CfnLoggingConfiguration(
            self,
            "WebAclLogging",
            resource_arn=acl.attr_arn,
            log_destination_configs=[
                cdk.Stack.of(self).format_arn(
                    service="logs",
                    resource="log-group",
                    resource_name=log_group_name,
                    arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
                )
            ],
        )
        logging.node.add_dependency(waf_logs)
        return acl

    def _metric(self, name: str, statistic: str) -> cloudwatch.Metric:
        return cloudwatch.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={"ApiName": self.api.rest_api_name, "Stage": STAGE},
            statistic=statistic,
            period=cdk.Duration.minutes(1),
        )

    def _alarm(
        self, construct_id: str, description: str, metric: cloudwatch.IMetric, threshold: float
    ) -> cloudwatch.Alarm:
        return notifying_alarm(
            self,
            construct_id,
            topic=self._alarm_topic,
            description=description,
            metric=metric,
            threshold=threshold,
            periods=5,
            datapoints=3,
        )

    def _error_rate_alarm(self, metric: str, threshold: float) -> cloudwatch.Alarm:
        # API Gateway's error metrics count errors; their Average is the share of requests.
        return self._alarm(
            f"{metric}Rate",
            f"{self.api.rest_api_name}: over {threshold:g}% of requests answered {metric[:3]}",
            cloudwatch.MathExpression(
                expression="100 * errors",
                using_metrics={"errors": self._metric(metric, "Average")},
                label=f"{metric[:3]} rate (%)",
                period=cdk.Duration.minutes(1),
            ),
            threshold,
        )

    def _latency_alarm(self, threshold_ms: int) -> cloudwatch.Alarm:
        return self._alarm(
            "LatencyP99",
            f"{self.api.rest_api_name}: p99 latency above {threshold_ms} ms (the endpoint's objective and "
            f"{GATEWAY_OVERHEAD_MS} ms for the gateway and the function)",
            self._metric("Latency", "p99"),
            threshold_ms,
        )


class GatewayLogging(Construct):
    """The account's API Gateway CloudWatch role (one per account and region), which every stage
    with execution or access logs needs before it can be created. Its policy admits the execution
    log groups API Gateway names itself and the access log groups of the APIs whose names start
    with `api_name_prefix`, not every log group. Stages in the same stack wait for it through
    `apis`; stacks of more APIs must deploy after this one."""

    def __init__(
        self, scope: Construct, construct_id: str, *, api_name_prefix: str, apis: Sequence[InferenceApi]
    ) -> None:
        super().__init__(scope, construct_id)
        role = role_with_managed_policy(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal(
                "apigateway.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": cdk.Stack.of(self).account}},
            ),
            description="API Gateway writes the account's API execution and access logs",
            statements=[
                iam.PolicyStatement(
                    sid="ApiLogs",
                    actions=[
                        "logs:CreateLogGroup",
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[
                        in_this_account("logs", f"log-group:{EXECUTION_LOG_GROUPS}*"),
                        in_this_account("logs", f"log-group:{ACCESS_LOG_GROUPS}{api_name_prefix}*"),
                    ],
                ),
                iam.PolicyStatement(
                    sid="FindLogGroups",
                    actions=["logs:DescribeLogGroups"],
                    resources=[in_this_account("logs", "log-group:*")],
                ),
            ],
        )
        self.setting = apigateway.CfnAccount(self, "Account", cloud_watch_role_arn=role.role_arn)
        # Deleting the stack leaves the setting in place (the service has no way to unset it);
        # retaining the resource says so.
        self.setting.apply_removal_policy(cdk.RemovalPolicy.RETAIN)
        for api in apis:
            api.api.deployment_stage.node.add_dependency(self.setting)
