"""The isolated VPC that SageMaker workloads run in: no internet, AWS services through endpoints."""

from __future__ import annotations

from typing import Literal

import aws_cdk as cdk
from aws_cdk import aws_config as config
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from ml_constructs.log_delivery import LogDeliveryRole

Service = ec2.InterfaceVpcEndpointAwsService

# What Studio, training, processing, hosting and the platform's Lambdas call from inside a
# VPC that has no route to the internet. Each entry's construct id is part of the
# endpoint's logical id, so entries are named, never positional.
ML_INTERFACE_ENDPOINTS: dict[str, Service] = {
    "SageMakerApi": Service.SAGEMAKER_API,
    "SageMakerRuntime": Service.SAGEMAKER_RUNTIME,
    "SageMakerFeatureStoreRuntime": Service.SAGEMAKER_FEATURESTORE_RUNTIME,
    "SageMakerStudio": Service.SAGEMAKER_STUDIO,
    "SageMakerNotebook": Service.SAGEMAKER_NOTEBOOK,
    "Sts": Service.STS,
    "Logs": Service.CLOUDWATCH_LOGS,
    "Monitoring": Service.CLOUDWATCH_MONITORING,
    "EcrApi": Service.ECR,
    "EcrDocker": Service.ECR_DOCKER,
    "Kms": Service.KMS,
    "Ssm": Service.SSM,
    "Events": Service.EVENTBRIDGE,
    "Sns": Service.SNS,
    "ServiceCatalog": Service.SERVICE_CATALOG,
    "CodeArtifactApi": Service.CODEARTIFACT_API,
    "CodeArtifactRepositories": Service.CODEARTIFACT_REPOSITORIES,
}


DefaultSecurityGroupCloser = Literal["custom-resource", "config-remediation"]


def allow_https_to_aws(security_group: ec2.SecurityGroup) -> None:
    """Let `security_group` reach AWS's APIs from the isolated VPC: the interface endpoints, and
    the S3 and DynamoDB gateway endpoints, whose traffic goes to the services' public prefix
    lists, not to the VPC's CIDR. The VPC routes only within itself and to those gateways, so
    HTTPS to anywhere reaches AWS APIs and nothing else; a rule per prefix list would need the
    lists' ids, which differ per Region and which CloudFormation cannot look up. (AWS PrivateLink
    Guide, "Gateway endpoints": the security groups of the resources must allow traffic out to
    the service; the network proof, proofs/network.py, checks every compute's path.)"""
    security_group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "AWS APIs via endpoints")


class IsolatedVpc(Construct):
    """A VPC of private isolated subnets only, reaching AWS through VPC endpoints.

    - no internet gateway and no NAT gateway: nothing inside can reach or be reached from
      the internet;
    - interface endpoints (private DNS) behind one security group that admits HTTPS from
      the VPC's own CIDR and nothing else; S3 and DynamoDB gateway endpoints;
    - the default security group stripped of all rules: by CDK's custom resource, or, in
      templates that cannot carry its Lambda asset (StackSets), by an AWS Config rule with
      automatic remediation (needs AWS Config recording in the account);
    - flow logs of all traffic to a KMS-encrypted log group with a retention period.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        cidr: str,
        availability_zone_count: int,
        flow_log_key: kms.IKey,
        flow_log_group_name: str | None = None,
        flow_log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        interface_endpoints: dict[str, Service] | None = None,
        close_default_security_group_with: DefaultSecurityGroupCloser = "custom-resource",
        removal_policy: cdk.RemovalPolicy = cdk.RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, construct_id)
        self.vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            max_azs=availability_zone_count,
            nat_gateways=0,
            create_internet_gateway=False,
            restrict_default_security_group=close_default_security_group_with == "custom-resource",
            subnet_configuration=[ec2.SubnetConfiguration(name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)],
            gateway_endpoints={
                "S3": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.S3),
                "DynamoDb": ec2.GatewayVpcEndpointOptions(service=ec2.GatewayVpcEndpointAwsService.DYNAMODB),
            },
        )
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            log_group_name=flow_log_group_name,
            encryption_key=flow_log_key,
            retention=flow_log_retention,
            removal_policy=removal_policy,
        )
        self.vpc.add_flow_log(
            "FlowLog",
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group,
                LogDeliveryRole(
                    self,
                    "FlowLogDelivery",
                    service="vpc-flow-logs.amazonaws.com",
                    log_group=self.flow_log_group,
                    description="Delivers this VPC's flow logs",
                ).role,
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

        self.endpoint_security_group = ec2.SecurityGroup(
            self,
            "EndpointSecurityGroup",
            vpc=self.vpc,
            description="Interface VPC endpoints: HTTPS from inside the VPC only",
            allow_all_outbound=False,
        )
        # The literal CIDR, not the VPC's token, so policy checks can read the rule.
        self.endpoint_security_group.add_ingress_rule(ec2.Peer.ipv4(cidr), ec2.Port.tcp(443), "HTTPS from the VPC")
        self.private_subnets = ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)
        for name, service in (interface_endpoints or ML_INTERFACE_ENDPOINTS).items():
            self.vpc.add_interface_endpoint(
                name,
                service=service,
                subnets=self.private_subnets,
                security_groups=[self.endpoint_security_group],
                open=False,
                private_dns_enabled=True,
            )
        if close_default_security_group_with == "config-remediation":
            self._close_default_security_group_by_remediation()

    def _close_default_security_group_by_remediation(self) -> None:
        stack = cdk.Stack.of(self)
        group_id = self.vpc.vpc_default_security_group
        role = iam.Role(
            self,
            "DefaultSecurityGroupRemediationRole",
            assumed_by=iam.ServicePrincipal(
                "ssm.amazonaws.com", conditions={"StringEquals": {"aws:SourceAccount": stack.account}}
            ),
            description="Strips the rules of this VPC's default security group",
        )
        role.add_managed_policy(
            iam.ManagedPolicy(
                self,
                "DefaultSecurityGroupRemediationPolicy",
                description="Revoke the rules of this VPC's default security group only",
                statements=[
                    iam.PolicyStatement(
                        actions=["ec2:RevokeSecurityGroupIngress", "ec2:RevokeSecurityGroupEgress"],
                        resources=[stack.format_arn(service="ec2", resource="security-group", resource_name=group_id)],
                    ),
                    iam.PolicyStatement(actions=["ec2:DescribeSecurityGroups"], resources=["*"]),
                ],
            )
        )
        rule = config.ManagedRule(
            self,
            "DefaultSecurityGroupClosed",
            identifier=config.ManagedRuleIdentifiers.VPC_DEFAULT_SECURITY_GROUP_CLOSED,
            rule_scope=config.RuleScope.from_resource(config.ResourceType.EC2_SECURITY_GROUP, group_id),
            description="The default security group of the platform VPC has no rules",
        )
        config.CfnRemediationConfiguration(
            self,
            "DefaultSecurityGroupRemediation",
            config_rule_name=rule.config_rule_name,
            target_type="SSM_DOCUMENT",
            target_id="AWSConfigRemediation-RemoveVPCDefaultSecurityGroupRules",
            automatic=True,
            maximum_automatic_attempts=5,
            retry_attempt_seconds=60,
            parameters={
                "AutomationAssumeRole": {"StaticValue": {"Values": [role.role_arn]}},
                "GroupId": {"ResourceValue": {"Value": "RESOURCE_ID"}},
            },
        )
