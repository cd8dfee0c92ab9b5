"""The inference APIs of a serving account (stage `<Account>Serving`): one
ml_constructs.inference_api.InferenceApi per deployment of an endpoint that configures `api`
(an account that holds an endpoint's test and production deployments has an API for each).

A stack of its own, deployed with the platform (its function is an asset) rather than by
the models' deployment pipelines: the API names its endpoint, so it outlives every
deployment of a new model package behind it. It also holds the region's API Gateway account
setting (the role that writes the stages' logs), which no other stack of a serving account sets.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_route53 as route53
from constructs import Construct

from ml_constructs.api_domain import RegionalApiDomain
from ml_constructs.inference_api import (
    CognitoCallers,
    GatewayLogging,
    IamCallers,
    InferenceApi,
    Payloads,
    Throttling,
)
from stacks import console_links, imports, naming
from stacks.config import OrgConfig
from stacks.config.models import Endpoint, Served
from stacks.platform_stack import PlatformStack
from stacks.serving_stack import serving_parameter


def endpoints_with_apis(config: OrgConfig, account_name: str) -> list[Served[Endpoint]]:
    return [served for served in config.endpoints_served_in(account_name) if served.item.api is not None]


class InferenceApiStack(PlatformStack):
    """`endpoints`: those of one shard (stacks.sharding.inference_api_shards); the first shard's
    stack, `<org>-inference-apis`, also holds the account's API Gateway logging setting, which
    the stacks of further shards, `<org>-inference-apis-<index>`, deploy after."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: OrgConfig,
        account_name: str,
        endpoints: Sequence[Served[Endpoint]],
        shard_index: int,
    ) -> None:
        org = config.organization.name
        account = config.accounts[account_name]
        assert account.network is not None
        home_region = config.region_of(account)
        super().__init__(
            scope,
            construct_id,
            # The first keeps its name when shards are added: its APIs keep their URLs.
            stack_name=naming.stack_name(org, "inference-apis", *([str(shard_index)] if shard_index else [])),
            description="ML platform inference APIs: API Gateway, WAF and a function in front of endpoints",
            availability_zone_count=account.network.availability_zones,
            termination_protection=account.is_production,
        )
        vpc = imports.baseline_vpc(self, "Vpc", org, account.network.cidr)
        key = imports.key_from_parameter(self, "ServingKey", serving_parameter(org, "key-arn"))
        alerts = imports.alerts_topic(self, "Alerts", org)
        apis = []
        for served in endpoints:
            endpoint, api = served.item, served.item.api
            assert api is not None, "sharded from endpoints_with_apis"
            inference_api = InferenceApi(
                self,
                f"Api-{served.name}",
                api_name=naming.inference_api_name(org, served.name),
                endpoint_name=naming.endpoint_name(org, served.name),
                callers=CognitoCallers(api.cognito_user_pool_arn)
                if api.cognito_user_pool_arn
                else IamCallers(api.caller_accounts),
                throttling=Throttling(api.rate_limit_rps, api.burst_limit, api.api_keys, api.quota_per_day),
                payloads=Payloads(api.max_payload_kb * 1024, api.content_types, endpoint.multi_model is not None),
                waf_rate_limit=api.waf_rate_limit,
                max_concurrency=api.max_concurrency,
                latency_slo_ms=endpoint.latency_slo_ms,
                vpc=vpc,
                key=key,
                alarm_topic=alerts,
            )
            apis.append(inference_api)
            domain = api.custom_domain
            console_links.publish(
                self,
                f"Inference API of endpoint {served.name} (POST /invocations)",
                inference_api.api.url,
                "ApiUrl",
                served.name,
            )
            if served.placement.production and domain is not None:
                RegionalApiDomain(
                    self,
                    f"Domain-{endpoint.name}",
                    domain_name=domain.name,
                    zone=route53.HostedZone.from_hosted_zone_attributes(
                        self,
                        f"Zone-{endpoint.name}",
                        hosted_zone_id=domain.hosted_zone_id,
                        zone_name=domain.hosted_zone_name,
                    ),
                    api=inference_api.api,
                    alarm_topic=alerts,
                    failover=None
                    if endpoint.recovery_region is None
                    else "PRIMARY"
                    if self.region == home_region
                    else "SECONDARY",
                )
                console_links.publish(
                    self,
                    f"Inference API of endpoint {endpoint.name} on its own name"
                    + (", failing over between regions" if endpoint.recovery_region else ""),
                    f"https://{domain.name}/",
                    "ApiDomainUrl",
                    endpoint.name,
                )
        if shard_index == 0:
            GatewayLogging(self, "GatewayLogging", api_name_prefix=f"{org}-", apis=apis)
