"""A custom name for a regional REST API, and DNS failover between two regions' APIs.

`RegionalApiDomain`: an ACM certificate for the name, validated through the hosted zone; a
regional API Gateway domain name (TLS 1.2) mapped to the API's stage; and the name's alias
record. Alone, the record is a plain alias. As one side of a failover pair (`failover`), the
record is Route 53's PRIMARY or SECONDARY for the name, identified by the region, with a
health check on a CloudWatch alarm of the API: the share of requests answered 5XX (API
Gateway's 5XXError average) at or above `unhealthy_error_share` for three minutes in a row.
Route 53 health checks cannot watch metric-math alarms, hence an alarm of its own. Silence
counts too: on the PRIMARY side a minute without any datapoint breaches (API Gateway reports
nothing when it serves nothing, so a region whose API stops reporting must not stay healthy),
and an alarm CloudWatch cannot evaluate is unhealthy on either side. The SECONDARY side's
silence does not breach: it serves nothing until a failover, and were it unhealthy too,
Route 53 would answer with the primary (all records of a failover pair unhealthy count as
healthy), so the failover it stands by for would never happen.
"""

from __future__ import annotations

from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigateway
from aws_cdk import aws_certificatemanager as acm
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cloudwatch_actions
from aws_cdk import aws_route53 as route53
from aws_cdk import aws_route53_targets as route53_targets
from aws_cdk import aws_sns as sns
from constructs import Construct

Failover = Literal["PRIMARY", "SECONDARY"]


class RegionalApiDomain(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        domain_name: str,
        zone: route53.IHostedZone,
        api: apigateway.RestApi,
        failover: Failover | None = None,
        alarm_topic: sns.ITopic | None = None,
        unhealthy_error_share: float = 0.25,
    ) -> None:
        """`alarm_topic`: told when a failover side turns unhealthy and healthy again."""
        super().__init__(scope, construct_id)
        certificate = acm.Certificate(
            self,
            "Certificate",
            domain_name=domain_name,
            validation=acm.CertificateValidation.from_dns(zone),
        )
        self.domain = apigateway.DomainName(
            self,
            "Domain",
            domain_name=domain_name,
            certificate=certificate,
            endpoint_type=apigateway.EndpointType.REGIONAL,
            security_policy=apigateway.SecurityPolicy.TLS_1_2,
            mapping=api,
        )
        if failover is None:
            route53.ARecord(
                self,
                "Record",
                zone=zone,
                record_name=domain_name,
                target=route53.RecordTarget.from_alias(route53_targets.ApiGatewayDomain(self.domain)),
            )
            return
        region = cdk.Stack.of(self).region
        self.health_alarm = cloudwatch.Alarm(
            self,
            "HealthAlarm",
            alarm_description=f"{api.rest_api_name} in {region}: Route 53 fails {domain_name} over while this alarms",
            metric=api.metric_server_error(statistic="Average", period=cdk.Duration.minutes(1)),
            threshold=unhealthy_error_share,
            evaluation_periods=3,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.BREACHING
            if failover == "PRIMARY"
            else cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        if alarm_topic is not None:
            action = cloudwatch_actions.SnsAction(alarm_topic)
            self.health_alarm.add_alarm_action(action)
            self.health_alarm.add_ok_action(action)
        self.health_check = route53.CfnHealthCheck(
            self,
            "HealthCheck",
            health_check_config=route53.CfnHealthCheck.HealthCheckConfigProperty(
                type="CLOUDWATCH_METRIC",
                alarm_identifier=route53.CfnHealthCheck.AlarmIdentifierProperty(
                    name=self.health_alarm.alarm_name, region=region
                ),
                insufficient_data_health_status="Unhealthy",
            ),
            health_check_tags=[
                route53.CfnHealthCheck.HealthCheckTagProperty(key="Name", value=f"{domain_name} {region}")
            ],
        )
        route53.CfnRecordSet(
            self,
            "Record",
            hosted_zone_id=zone.hosted_zone_id,
            name=f"{domain_name}.",
            type="A",
            set_identifier=region,
            failover=failover,
            health_check_id=self.health_check.attr_health_check_id,
            alias_target=route53.CfnRecordSet.AliasTargetProperty(
                dns_name=self.domain.domain_name_alias_domain_name,
                hosted_zone_id=self.domain.domain_name_alias_hosted_zone_id,
                evaluate_target_health=False,
            ),
        )
