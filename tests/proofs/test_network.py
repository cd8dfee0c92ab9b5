"""The network proof: one failing and one passing assembly per rule, each a tiny hand-written
cloud assembly shaped as the platform builds it (a baseline stack that owns the VPC and its
endpoints and publishes their ids as SSM parameters; compute stacks that read them), and the
example organization, which must pass."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest

from proofs import network
from proofs.context import ProofContext
from proofs.findings import Finding, Verdict, failures
from proofs.network import Rule

ACCOUNT = "123456789012"
REGION = "eu-west-1"
VPC_CIDR = "10.0.0.0/16"
INTERFACES = ("sagemaker.api", "sagemaker.runtime", "kms", "sqs")
HTTPS_ANYWHERE = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": "0.0.0.0/0"}
HTTPS_IN_VPC = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "CidrIp": VPC_CIDR}
# CDK's placeholder for "no egress": ICMP to the broadcast address matches nothing.
NO_EGRESS = {"IpProtocol": "icmp", "FromPort": 252, "ToPort": 86, "CidrIp": "255.255.255.255/32"}


def ref(logical_id: str) -> dict[str, Any]:
    return {"Ref": logical_id}


def group_id(logical_id: str) -> dict[str, Any]:
    return {"Fn::GetAtt": [logical_id, "GroupId"]}


def parameter(name: str) -> dict[str, Any]:
    return {"Type": "AWS::SSM::Parameter::Value<String>", "Default": f"/test/baseline/{name}"}


def published(name: str, value: Any) -> dict[str, Any]:
    return {
        "Type": "AWS::SSM::Parameter",
        "Properties": {"Name": f"/test/baseline/{name}", "Type": "String", "Value": value},
    }


def baseline(
    *,
    interfaces: tuple[str, ...] = INTERFACES,
    private_dns: bool = True,
    dns_hostnames: bool = True,
    endpoint_ingress: dict[str, Any] | None = None,
    gateway_route_tables: tuple[str, ...] = ("RouteTable1", "RouteTable2"),
    associated: bool = True,
) -> dict[str, Any]:
    """The baseline's isolated VPC: two subnets with their route tables, an S3 gateway endpoint,
    interface endpoints behind one group that admits HTTPS from the VPC (ml_constructs.network)."""
    resources: dict[str, Any] = {
        "Vpc": {
            "Type": "AWS::EC2::VPC",
            "Properties": {"CidrBlock": VPC_CIDR, "EnableDnsSupport": True, "EnableDnsHostnames": dns_hostnames},
        },
        "EndpointSecurityGroup": {
            "Type": "AWS::EC2::SecurityGroup",
            "Properties": {
                "GroupDescription": "Interface VPC endpoints",
                "VpcId": ref("Vpc"),
                "SecurityGroupIngress": [endpoint_ingress or HTTPS_IN_VPC],
                "SecurityGroupEgress": [NO_EGRESS],
            },
        },
        "S3": {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "ServiceName": {"Fn::Join": ["", ["com.amazonaws.", ref("AWS::Region"), ".s3"]]},
                "VpcEndpointType": "Gateway",
                "VpcId": ref("Vpc"),
                "RouteTableIds": [ref(table) for table in gateway_route_tables],
            },
        },
        "VpcIdParameter": published("vpc-id", ref("Vpc")),
        "SubnetsParameter": published("private-subnet-ids", {"Fn::Join": [",", [ref("Subnet1"), ref("Subnet2")]]}),
        "EndpointGroupParameter": published("endpoint-security-group-id", group_id("EndpointSecurityGroup")),
    }
    for index, cidr in ((1, "10.0.0.0/17"), (2, "10.0.128.0/17")):
        resources[f"Subnet{index}"] = {
            "Type": "AWS::EC2::Subnet",
            "Properties": {"VpcId": ref("Vpc"), "CidrBlock": cidr},
        }
        resources[f"RouteTable{index}"] = {"Type": "AWS::EC2::RouteTable", "Properties": {"VpcId": ref("Vpc")}}
        if associated:
            resources[f"Association{index}"] = {
                "Type": "AWS::EC2::SubnetRouteTableAssociation",
                "Properties": {"RouteTableId": ref(f"RouteTable{index}"), "SubnetId": ref(f"Subnet{index}")},
            }
    for service in interfaces:
        resources[f"Endpoint{service.replace('.', '').replace('-', '')}"] = {
            "Type": "AWS::EC2::VPCEndpoint",
            "Properties": {
                "ServiceName": f"com.amazonaws.{REGION}.{service}",
                "VpcEndpointType": "Interface",
                "VpcId": ref("Vpc"),
                "SubnetIds": [ref("Subnet1"), ref("Subnet2")],
                "SecurityGroupIds": [group_id("EndpointSecurityGroup")],
                "PrivateDnsEnabled": private_dns,
            },
        }
    return {"Resources": resources}


def imported_network() -> dict[str, Any]:
    """What a compute stack reads from the baseline at deploy time (stacks.imports)."""
    return {"VpcId": parameter("vpc-id"), "SubnetIds": parameter("private-subnet-ids")}


def subnets() -> list[dict[str, Any]]:
    return [{"Fn::Select": [index, {"Fn::Split": [",", ref("SubnetIds")]}]} for index in (0, 1)]


def security_group(*, egress: list[dict[str, Any]] | None = None, vpc: Any = None) -> dict[str, Any]:
    properties = {"GroupDescription": "compute", "VpcId": vpc or ref("VpcId")}
    if egress is not None:
        properties["SecurityGroupEgress"] = egress
    return {"Type": "AWS::EC2::SecurityGroup", "Properties": properties}


def role(service: str, *statements: dict[str, Any], managed_policy_arns: list[str] | None = None) -> dict[str, Any]:
    resources: dict[str, Any] = {
        "Role": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
                },
                **({"ManagedPolicyArns": managed_policy_arns} if managed_policy_arns else {}),
            },
        }
    }
    if statements:
        resources["RolePolicy"] = {
            "Type": "AWS::IAM::Policy",
            "Properties": {
                "PolicyName": "calls",
                "Roles": [ref("Role")],
                "PolicyDocument": {"Version": "2012-10-17", "Statement": list(statements)},
            },
        }
    return resources


def allow(actions: str | list[str], resources: Any = "*", **more: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Action": actions, "Resource": resources, **more}


LAMBDA_RUNTIME = [
    allow(["logs:CreateLogStream", "logs:PutLogEvents"], f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:fn:*"),
    allow(["ec2:CreateNetworkInterface", "ec2:DescribeNetworkInterfaces", "ec2:DeleteNetworkInterface"]),
    allow("sqs:SendMessage", {"Fn::GetAtt": ["DeadLetters", "Arn"]}),
]
"""What every platform function's role holds for Lambda itself (ml_constructs.function)."""


def function(
    *statements: dict[str, Any],
    egress: list[dict[str, Any]] | None = None,
    groups: list[Any] | None = None,
    parameters: dict[str, Any] | None = None,
    managed_policy_arns: list[str] | None = None,
) -> dict[str, Any]:
    """A platform function in the VPC: its own group (HTTPS anywhere), a dead-letter queue."""
    return {
        "Parameters": {**imported_network(), **(parameters or {})},
        "Resources": {
            **role("lambda.amazonaws.com", *LAMBDA_RUNTIME, *statements, managed_policy_arns=managed_policy_arns),
            "DeadLetters": {"Type": "AWS::SQS::Queue", "Properties": {}},
            "FunctionSecurityGroup": security_group(egress=[HTTPS_ANYWHERE] if egress is None else egress),
            "Function": {
                "Type": "AWS::Lambda::Function",
                "Properties": {
                    "Role": {"Fn::GetAtt": ["Role", "Arn"]},
                    "DeadLetterConfig": {"TargetArn": {"Fn::GetAtt": ["DeadLetters", "Arn"]}},
                    "VpcConfig": {
                        "SecurityGroupIds": groups or [group_id("FunctionSecurityGroup")],
                        "SubnetIds": subnets(),
                    },
                },
            },
        },
    }


INVOKE = allow("sagemaker:InvokeEndpoint", f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/model")


def pipeline(*steps: dict[str, Any], egress: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """A model-build pipeline whose jobs run behind the stack's job group in the baseline's
    subnets, named by pipeline parameters whose defaults the template fills in
    (stacks.model_build_stack)."""
    placeholders = {
        "JOB_GROUP": group_id("JobSecurityGroup"),
        "SUBNET_1": subnets()[0],
        "SUBNET_2": subnets()[1],
    }
    body = json.dumps(
        {
            "Parameters": [
                {"Name": name, "Type": "String", "DefaultValue": placeholder}
                for name, placeholder in (("JobGroup", "JOB_GROUP"), ("Subnet1", "SUBNET_1"), ("Subnet2", "SUBNET_2"))
            ],
            "Steps": list(steps),
        }
    )
    joined: list[Any] = re.split("(JOB_GROUP|SUBNET_1|SUBNET_2)", body)
    joined = [placeholders.get(part, part) for part in joined]
    return {
        "Parameters": imported_network(),
        "Resources": {
            **role("sagemaker.amazonaws.com", allow(["s3:GetObject", "s3:PutObject"]), INVOKE),
            "JobSecurityGroup": security_group(egress=[HTTPS_ANYWHERE] if egress is None else egress),
            "Pipeline": {
                "Type": "AWS::SageMaker::Pipeline",
                "Properties": {
                    "PipelineName": "build",
                    "RoleArn": {"Fn::GetAtt": ["Role", "Arn"]},
                    "PipelineDefinition": {"PipelineDefinitionBody": {"Fn::Join": ["", joined]}},
                },
            },
        },
    }


def job_network(*, isolated: bool = True) -> dict[str, Any]:
    return {
        "EnableNetworkIsolation": isolated,
        "VpcConfig": {
            "SecurityGroupIds": [{"Get": "Parameters.JobGroup"}],
            "Subnets": [{"Get": "Parameters.Subnet1"}, {"Get": "Parameters.Subnet2"}],
        },
    }


def studio(*, self_referencing: bool = True) -> dict[str, Any]:
    """A VPC-only domain whose group talks to itself (NFS included) and HTTPS anywhere (ml_constructs.studio)."""
    resources: dict[str, Any] = {
        **role("sagemaker.amazonaws.com", allow(["s3:GetObject"], "arn:aws:s3:::data/*")),
        "StudioSecurityGroup": security_group(egress=[HTTPS_ANYWHERE]),
        "Domain": {
            "Type": "AWS::SageMaker::Domain",
            "Properties": {
                "AppNetworkAccessType": "VpcOnly",
                "VpcId": ref("VpcId"),
                "SubnetIds": subnets(),
                "DefaultUserSettings": {
                    "ExecutionRole": {"Fn::GetAtt": ["Role", "Arn"]},
                    "SecurityGroups": [group_id("StudioSecurityGroup")],
                },
            },
        },
    }
    if self_referencing:
        peer = {"IpProtocol": "tcp", "FromPort": 0, "ToPort": 65535, "GroupId": group_id("StudioSecurityGroup")}
        resources["SelfIn"] = {
            "Type": "AWS::EC2::SecurityGroupIngress",
            "Properties": {**peer, "SourceSecurityGroupId": group_id("StudioSecurityGroup")},
        }
        resources["SelfOut"] = {
            "Type": "AWS::EC2::SecurityGroupEgress",
            "Properties": {**peer, "DestinationSecurityGroupId": group_id("StudioSecurityGroup")},
        }
    return {"Parameters": imported_network(), "Resources": resources}


@pytest.fixture
def assemble(tmp_path, example_config):
    """Writes stacks (name -> template, or (template, region)) as one stage of a cloud assembly."""

    def write(**stacks: Any) -> ProofContext:
        stage = tmp_path / "assembly-Test"
        stage.mkdir(exist_ok=True)
        artifacts = {}
        for name, value in stacks.items():
            template, region = value if isinstance(value, tuple) else (value, REGION)
            (stage / f"{name}.template.json").write_text(json.dumps(template))
            artifacts[name] = {
                "type": "aws:cloudformation:stack",
                "environment": f"aws://{ACCOUNT}/{region}",
                "displayName": f"Test/{name}",
                "properties": {"templateFile": f"{name}.template.json", "stackName": f"test-{name.lower()}"},
            }
        (stage / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": artifacts}))
        (tmp_path / "manifest.json").write_text(json.dumps({"version": "36.0.0", "artifacts": {}}))
        return ProofContext.read(Path(tmp_path), example_config)

    return write


def findings(context: ProofContext) -> list[Finding]:
    return network.prove(context)


def only(found: list[Finding], rule: Rule, verdict: Verdict = Verdict.FAILS) -> Finding:
    (finding,) = found
    assert (finding.rule, finding.verdict) == (str(rule), verdict), finding.render()
    return finding


# --- interface endpoints: one in the VPC, private DNS, security groups both ways ----------------


def test_a_service_without_an_endpoint_in_the_vpc_fails(assemble):
    context = assemble(Baseline=baseline(interfaces=("sagemaker.api",)), Api=function(INVOKE))
    finding = only(findings(context), Rule.ENDPOINT)
    assert "has no endpoint com.amazonaws.eu-west-1.sagemaker.runtime" in finding.problem
    assert "role test-api-Role-GENERATED123456789012eu-west-1 allows sagemaker:InvokeEndpoint" in finding.problem
    assert finding.subject == "Test/Api Function (Lambda function)"
    assert finding.where == f"{ACCOUNT} {ACCOUNT}/{REGION}"


def test_a_service_with_its_endpoint_passes(assemble):
    assert findings(assemble(Baseline=baseline(), Api=function(INVOKE))) == []


def test_an_interface_endpoint_without_private_dns_fails(assemble):
    finding = only(findings(assemble(Baseline=baseline(private_dns=False), Api=function(INVOKE))), Rule.PRIVATE_DNS)
    assert "sagemaker.runtime" in finding.problem


def test_private_dns_needs_the_vpcs_dns_hostnames(assemble):
    only(findings(assemble(Baseline=baseline(dns_hostnames=False), Api=function(INVOKE))), Rule.PRIVATE_DNS)


def test_egress_that_does_not_reach_the_endpoint_fails(assemble):
    elsewhere = {**HTTPS_IN_VPC, "CidrIp": "10.9.0.0/16"}
    finding = only(findings(assemble(Baseline=baseline(), Api=function(INVOKE, egress=[elsewhere]))), Rule.EGRESS)
    assert "let no TCP 443 out to Test/Baseline/Endpointsagemakerruntime" in finding.problem


@pytest.mark.parametrize(
    "egress",
    [
        [HTTPS_IN_VPC],
        [{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationSecurityGroupId": ref("EndpointGroup")}],
        None,  # a group declared without egress rules keeps AWS's default: all traffic out
    ],
    ids=["vpc-cidr", "endpoint-group", "default-egress"],
)
def test_egress_to_the_vpc_or_the_endpoints_group_reaches_interface_endpoints(assemble, egress):
    api = function(INVOKE, parameters={"EndpointGroup": parameter("endpoint-security-group-id")})
    if egress is None:
        del api["Resources"]["FunctionSecurityGroup"]["Properties"]["SecurityGroupEgress"]
    else:
        api["Resources"]["FunctionSecurityGroup"]["Properties"]["SecurityGroupEgress"] = egress
    context = assemble(Baseline=baseline(), Api=api)
    # Only a rule to anywhere covers S3's prefix list; this function calls no S3.
    assert findings(context) == []


def test_an_endpoint_group_that_does_not_admit_the_compute_fails(assemble):
    narrow = {**HTTPS_IN_VPC, "CidrIp": "10.0.0.0/24"}
    context = assemble(Baseline=baseline(endpoint_ingress=narrow), Api=function(INVOKE))
    finding = only(findings(context), Rule.ENDPOINT_INGRESS)
    assert "admit no TCP 443" in finding.problem


def test_an_endpoint_group_that_admits_the_computes_group_passes(assemble):
    # The baseline cannot name a compute stack's group; here the endpoint admits the function's.
    admitted = {
        "IpProtocol": "tcp",
        "FromPort": 443,
        "ToPort": 443,
        "SourceSecurityGroupId": "sg-GENERATED-123456789012-eu-west-1-test-api-FunctionSecurityGroup",
    }
    assert findings(assemble(Baseline=baseline(endpoint_ingress=admitted), Api=function(INVOKE))) == []


# --- gateway endpoints: route tables, and egress to the prefix list ------------------------------

READ_DATA = allow("s3:GetObject", "arn:aws:s3:::data/*")


def test_a_subnet_whose_route_table_the_gateway_skips_fails(assemble):
    context = assemble(Baseline=baseline(gateway_route_tables=("RouteTable1",)), Reader=function(READ_DATA))
    finding = only(findings(context), Rule.GATEWAY_ROUTES)
    assert "Subnet2" in finding.problem


def test_subnets_without_a_declared_route_table_are_undecided(assemble):
    context = assemble(Baseline=baseline(associated=False), Reader=function(READ_DATA))
    finding = only(findings(context), Rule.OUTSIDE_ASSEMBLY, Verdict.UNDECIDED)
    assert "main route table" in finding.problem


def test_egress_to_the_vpc_cidr_does_not_reach_the_s3_gateway(assemble):
    context = assemble(Baseline=baseline(), Reader=function(READ_DATA, egress=[HTTPS_IN_VPC]))
    finding = only(findings(context), Rule.GATEWAY_EGRESS)
    assert "let TCP 443 out only to ['10.0.0.0/16']" in finding.problem


def test_egress_anywhere_reaches_the_s3_gateway(assemble):
    assert findings(assemble(Baseline=baseline(), Reader=function(READ_DATA))) == []


def test_egress_to_a_prefix_list_is_undecided(assemble):
    to_list = {"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "DestinationPrefixListId": "pl-6da54004"}
    context = assemble(Baseline=baseline(), Reader=function(READ_DATA, egress=[HTTPS_IN_VPC, to_list]))
    finding = only(findings(context), Rule.GATEWAY_EGRESS, Verdict.UNDECIDED)
    assert "prefix list pl-6da54004" in finding.problem


# --- what a compute calls: derived from its role and runtime -------------------------------------


def test_what_lambda_does_with_the_role_needs_no_endpoint(assemble):
    # Logs, network interfaces and the dead-letter queue are Lambda's, outside the VPC: no logs
    # endpoint is needed although the role allows logs:PutLogEvents.
    context = assemble(Baseline=baseline(interfaces=()), Quiet=function())
    assert findings(context) == []
    assert network.compute(context, context.assembly.stack("Test/Quiet"), "Function").needs == ()


def test_what_the_function_code_calls_needs_an_endpoint(assemble):
    context = assemble(Baseline=baseline(), Reader=function(allow("logs:GetLogEvents", "*")))
    finding = only(findings(context), Rule.ENDPOINT)
    assert "com.amazonaws.eu-west-1.logs" in finding.problem


def test_permissions_that_are_no_calls_need_no_endpoint(assemble):
    via_s3 = allow("kms:Decrypt", "*", Condition={"StringEquals": {"kms:ViaService": f"s3.{REGION}.amazonaws.com"}})
    context = assemble(Baseline=baseline(interfaces=()), Fn=function(via_s3, allow("iam:PassRole", "*")))
    assert findings(context) == []


def test_a_call_to_another_region_fails(assemble):
    remote_bus = allow("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{ACCOUNT}:queue")
    finding = only(findings(assemble(Baseline=baseline(), Fn=function(remote_bus))), Rule.ENDPOINT)
    assert "calls com.amazonaws.us-east-1.sqs" in finding.problem
    assert "serve eu-west-1 only" in finding.problem


def test_a_call_in_the_vpcs_region_passes(assemble):
    local_queue = allow("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:queue")
    assert findings(assemble(Baseline=baseline(), Fn=function(local_queue))) == []


def test_a_service_without_a_reviewed_endpoint_is_undecided(assemble):
    finding = only(
        findings(assemble(Baseline=baseline(), Fn=function(allow("braket:CreateJob")))),
        Rule.OUTSIDE_ASSEMBLY,
        Verdict.UNDECIDED,
    )
    assert "braket:CreateJob" in finding.problem


def test_an_aws_managed_policy_is_undecided(assemble):
    arn = "arn:aws:iam::aws:policy/AmazonSageMakerFullAccess"
    finding = only(
        findings(assemble(Baseline=baseline(), Fn=function(managed_policy_arns=[arn]))),
        Rule.OUTSIDE_ASSEMBLY,
        Verdict.UNDECIDED,
    )
    assert f"AWS managed policy {arn}" in finding.problem


@pytest.mark.parametrize(
    ("action", "services"),
    [
        ("sagemaker:CreateTrainingJob", ("sagemaker.api",)),
        ("sagemaker:InvokeEndpoint", ("sagemaker.runtime",)),
        ("SageMaker:invokeendpoint", ("sagemaker.runtime",)),
        ("sagemaker:PutRecord", ("sagemaker.featurestore-runtime",)),
        ("sagemaker:Invoke*", ("sagemaker.api", "sagemaker.runtime")),
        ("cloudwatch:PutMetricData", ("monitoring",)),
        ("ecr:BatchGetImage", ("ecr.api", "ecr.dkr", "s3")),
        ("codeartifact:ReadFromRepository", ("codeartifact.api", "codeartifact.repositories", "s3")),
        ("braket:CreateJob", None),
    ],
)
def test_endpoint_services_of_an_action(action, services):
    assert network.endpoint_services(action) == services


# AWS names two services' PrivateLink endpoints other than their botocore endpoint prefix: ECR's
# registry (Docker's API, not an SDK client) and CodeArtifact's API ("Create VPC endpoints for
# CodeArtifact": codeartifact.api for the API, codeartifact.repositories for package managers).
BOTOCORE_CLIENTS = {"states": "stepfunctions", "elasticfilesystem": "efs"}
PRIVATELINK_NAMES = {"codeartifact": "codeartifact.api"}


def _endpoint_name(model: Any) -> str:
    prefix = model.metadata["endpointPrefix"]
    return PRIVATELINK_NAMES.get(prefix, ".".join(reversed(prefix.split("."))))


def test_the_endpoint_table_agrees_with_botocore():
    session = botocore.session.get_session()
    for prefix, endpoint in network.ENDPOINT_SERVICES.items():
        model = session.get_service_model(BOTOCORE_CLIENTS.get(prefix, prefix))
        assert _endpoint_name(model) == endpoint, prefix
    # The clients whose requests IAM authorizes under the actions' prefixes (their signing name).
    clients = [
        name for name in session.get_available_services() if name.startswith(("sagemaker", "ecr", "codeartifact"))
    ]
    models = [session.get_service_model(name) for name in clients]
    checked = 0
    for action, endpoints in network.ACTION_ENDPOINT_SERVICES.items():
        prefix, _, operation = action.partition(":")
        serving = [
            _endpoint_name(model)
            for model in models
            if model.signing_name == prefix and operation in model.operation_names
        ]
        # ReadFromRepository authorizes package managers' and API reads; no SDK operation has its name.
        assert serving or action == "codeartifact:ReadFromRepository", action
        assert all(endpoint in endpoints for endpoint in serving), (action, serving)
        checked += bool(serving)
    assert checked == len(network.ACTION_ENDPOINT_SERVICES) - 1


# --- placement: groups and subnets of one VPC, declared by the assembly --------------------------


def test_a_security_group_of_another_vpc_fails(assemble):
    api = function(INVOKE)
    api["Parameters"]["OtherVpc"] = {"Type": "String", "Default": "vpc-other"}
    api["Resources"]["FunctionSecurityGroup"] = security_group(egress=[HTTPS_ANYWHERE], vpc=ref("OtherVpc"))
    found = findings(assemble(Baseline=baseline(), Api=api))
    assert Rule.SAME_VPC.value in {finding.rule for finding in failures(found)}


def test_a_security_group_no_stack_publishes_is_undecided_by_name(assemble):
    groups = [{"Ref": "ServingGroup"}]
    api = function(
        INVOKE,
        groups=groups,
        parameters={
            "ServingGroup": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/test/serving/security-group-id"}
        },
    )
    found = findings(assemble(Baseline=baseline(), Api=api))
    assert found and not failures(found)
    assert "SSM parameter /test/serving/security-group-id" in found[0].problem


def test_a_security_group_another_stack_publishes_is_resolved(assemble):
    serving = {
        "Parameters": imported_network(),
        "Resources": {
            "Group": security_group(egress=[HTTPS_ANYWHERE]),
            "Published": published("serving-group", group_id("Group")),
        },
    }
    api = function(INVOKE, groups=[ref("ServingGroup")], parameters={"ServingGroup": parameter("serving-group")})
    assert findings(assemble(Baseline=baseline(), Serving=serving, Api=api)) == []


# --- SageMaker jobs in pipelines, isolation, Clarify ---------------------------------------------


def step(name: str, kind: str, **arguments: Any) -> dict[str, Any]:
    return {
        "Name": name,
        "Type": kind,
        "Arguments": {
            "RoleArn": "arn:aws:iam::123456789012:role/test-build-Role-GENERATED123456789012eu-west-1",
            **arguments,
        },
    }


def test_isolated_jobs_need_only_s3_and_fail_without_it(assemble):
    train = step("Train", "Training", **job_network())
    context = assemble(Baseline=baseline(), Build=pipeline(train, egress=[HTTPS_IN_VPC]))
    finding = only(findings(context), Rule.GATEWAY_EGRESS)
    assert finding.subject == "Test/Build Pipeline step Train (training job)"
    assert "SageMaker moves the job's data" in finding.problem


def test_isolated_jobs_in_nested_steps_pass_with_s3(assemble):
    preprocess = step("Preprocess", "Processing", NetworkConfig=job_network())
    condition = {
        "Name": "Good",
        "Type": "Condition",
        "Arguments": {"IfSteps": [step("Train", "Training", **job_network())], "ElseSteps": []},
    }
    context = assemble(Baseline=baseline(interfaces=()), Build=pipeline(preprocess, condition))
    assert findings(context) == []
    parts = {c.part for c in network.computes(context)}
    assert parts == {"step Preprocess", "step Train"}


def test_an_isolated_clarify_job_cannot_serve_its_shadow_endpoint(assemble):
    check = step("ModelBias", "ClarifyCheck", NetworkConfig=job_network(isolated=True)) | {
        "ModelName": {"Get": "Steps.Candidate.ModelName"}
    }
    found = findings(assemble(Baseline=baseline(), Build=pipeline(check)))
    assert {f.rule for f in failures(found)} == {str(Rule.ISOLATION)}
    assert len(failures(found)) == 2  # the SageMaker API and runtime


def test_a_clarify_job_serving_a_shadow_endpoint_reaches_the_sagemaker_api_and_runtime(assemble):
    check = step("ModelBias", "ClarifyCheck", NetworkConfig=job_network(isolated=False)) | {
        "ModelName": {"Get": "Steps.Candidate.ModelName"}
    }
    candidate = {
        "Name": "Candidate",
        "Type": "Model",
        "Arguments": {
            "ExecutionRoleArn": "arn:aws:iam::123456789012:role/test-build-Role-GENERATED123456789012eu-west-1",
            **job_network(),
        },
    }
    context = assemble(Baseline=baseline(), Build=pipeline(candidate, check))
    assert findings(context) == []
    clarify = network.compute(context, context.assembly.stack("Test/Build"), "Pipeline", "step ModelBias")
    assert {need.service for need in clarify.needs} >= {"sagemaker.api", "sagemaker.runtime", "s3"}
    # Without the runtime endpoint the shadow endpoint cannot be invoked.
    context = assemble(Baseline=baseline(interfaces=("sagemaker.api",)), Build=pipeline(candidate, check))
    assert "sagemaker.runtime" in only(findings(context), Rule.ENDPOINT).problem


def test_a_step_the_proof_does_not_know_is_undecided(assemble):
    found = findings(
        assemble(
            Baseline=baseline(),
            Build=pipeline(
                {"Name": "Cluster", "Type": "EMR", "Arguments": {}}, {"Name": "Odd", "Type": "Quantum", "Arguments": {}}
            ),
        )
    )
    finding = only(found, Rule.OUTSIDE_ASSEMBLY, Verdict.UNDECIDED)
    assert "Quantum step" in finding.problem


# --- Studio: NFS to the home EFS ----------------------------------------------------------------


def test_studio_without_nfs_between_its_groups_fails(assemble):
    finding = only(findings(assemble(Baseline=baseline(), Studio=studio(self_referencing=False))), Rule.STUDIO_NFS)
    assert "NFS (TCP 2049) out or in" in finding.problem
    assert finding.subject == "Test/Studio Domain DefaultUserSettings (Studio apps)"


def test_studio_whose_group_talks_to_itself_reaches_its_efs_and_the_apis(assemble):
    context = assemble(Baseline=baseline(), Studio=studio())
    assert findings(context) == []
    apps = network.compute(context, context.assembly.stack("Test/Studio"), "Domain", "DefaultUserSettings")
    assert {need.service for need in apps.needs} == {"sagemaker.api", "sagemaker.runtime", "s3"}


def test_studio_in_vpc_only_mode_needs_the_sagemaker_api(assemble):
    context = assemble(Baseline=baseline(interfaces=("sagemaker.runtime",)), Studio=studio())
    assert "sagemaker.api" in only(findings(context), Rule.ENDPOINT).problem


# --- the API the flow proofs call ----------------------------------------------------------------


def test_path_exists_answers_one_hop(assemble):
    context = assemble(Baseline=baseline(), Api=function(INVOKE))
    api = network.compute(context, context.assembly.stack("Test/Api"), "Function")
    assert network.path_exists(context, api, "sagemaker.runtime") is None
    assert network.path_exists(context, api, "s3") is None
    missing = network.path_exists(context, api, "events")
    assert missing is not None
    assert missing.verdict is Verdict.FAILS
    assert missing.rule == str(Rule.ENDPOINT)
    with pytest.raises(LookupError):
        network.compute(context, context.assembly.stack("Test/Api"), "Role")


# --- the example organization ------------------------------------------------------------------


@pytest.fixture(scope="module")
def example(org):
    context = ProofContext.read(org.directory, org.config)
    return context, network.prove(context)


def test_the_example_organization_has_no_network_failures(example):
    _, found = example
    assert failures(found) == [], "\n".join(f.render() for f in failures(found))


def test_the_example_organizations_studio_jobs_and_endpoints_reach_s3(example):
    # Their groups once let HTTPS out to the VPC's CIDR only, which misses the S3 gateway's
    # prefix list: SageMaker could not move the jobs' data nor load the endpoints' models.
    context, _ = example
    kinds = set()
    for compute in network.computes(context):
        if any(need.service == "s3" for need in compute.needs):
            assert network.path_exists(context, compute, "s3") is None, compute.subject
            kinds.add(compute.kind)
    assert kinds >= {
        "Studio apps",
        "processing job",
        "training job",
        "tuning job",
        "quality check job",
        "Clarify job",
        "SageMaker model",
        "monitoring job",
        "Lambda function",
    }


def test_the_example_organization_leaves_only_service_catalog_products_undecided(example):
    _, found = example
    undecided = [f for f in found if f.verdict is Verdict.UNDECIDED]
    assert undecided
    assert all(" product template " in f.subject for f in undecided), [f.subject for f in undecided]
