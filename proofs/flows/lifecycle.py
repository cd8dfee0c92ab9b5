"""The platform's runtime flows, hop by hop, as docs/architecture.md describes them, and the negatives
that must be denied.

Each flow is built from the config (which models, teams, endpoints exist) and the cloud
assembly (who runs as which role, what each function's environment names): the hops are the
requests the code makes at run time, with the resource ARNs it reads from its configuration.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from ml_pipelines.templates import container_images
from proofs.context import ProofContext
from proofs.flows.catalog import Catalog, outsider, service
from proofs.flows.model import Flow, Hop
from proofs.flows.self_service import self_service
from proofs.iam import ContextValue
from proofs.network import PipelineValues, compute
from proofs.request_keys import request_keys
from proofs.resolve import unresolved_parts
from stacks import naming
from stacks.config import OrgConfig, Role
from stacks.config.models import Environment, Model
from stacks.deployment_order import stage_id

VERSION = 1
"""The package version the hops name: any version of the group is governed alike."""


def _account(config: OrgConfig, name: str) -> tuple[str, str]:
    account = config.accounts[name]
    return account.id, config.region_of(account)


def _deployed_models(config: OrgConfig) -> list[Model]:
    served = {endpoint.model for endpoint in config.endpoints} | {job.model for job in config.batch_inference}
    return [model for model in config.models if model.name in served]


def model_approval(catalog: Catalog, model: Model) -> Flow:
    """docs/architecture.md "Model approval": a decision on the model's package reaches the approval function,
    which records the approved package and asks shared-services to deploy it."""
    config = catalog.context.config
    org = config.organization.name
    dev = config.teams[model.team].accounts.dev
    account, region = _account(config, dev)
    registry = f"{stage_id(dev, 'Development')}/Registry"
    approval = catalog.function(registry, "Approval/Function")
    group = naming.model_package_group_name(org, model.name)
    package = f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/{VERSION}"
    environment = approval.environment
    ssm = f"arn:aws:ssm:{region}:{account}:parameter"
    table = f"arn:aws:dynamodb:{region}:{account}:table/{environment['IDEMPOTENCY_TABLE']}"
    rule = catalog.arn(registry, "ApprovalDecisions", "AWS::Events::Rule")
    caller = approval.caller
    return Flow(
        f"approval of {model.name}",
        (
            Hop(
                "EventBridge delivers the approval decision to the approval function",
                service("events.amazonaws.com", account),
                "lambda:InvokeFunction",
                approval.arn,
                {"aws:SourceArn": rule, "aws:SourceAccount": account},
            ),
            Hop("the function reads the package", caller, "sagemaker:DescribeModelPackage", package),
            Hop(
                "it reads the group's record",
                caller,
                "ssm:GetParameter",
                f"{ssm}{environment['MODEL_GROUP_RECORDS']}/{group}",
            ),
            Hop(
                "it records the approved package",
                caller,
                "ssm:PutParameter",
                f"{ssm}{environment['PARAMETER_PREFIX']}/{model.name}/approved-model-package",
            ),
            Hop("it remembers the event (idempotency)", caller, "dynamodb:PutItem", table),
            Hop(
                "it asks shared-services to deploy the package",
                caller,
                "events:PutEvents",
                environment["DEPLOYMENT_BUS_ARN"],
            ),
            Hop("it notifies the reviewers", caller, "sns:Publish", environment["TOPIC_ARN"]),
            Hop(
                "a principal outside the organization cannot ask for a deployment",
                outsider(),
                "events:PutEvents",
                environment["DEPLOYMENT_BUS_ARN"],
                allowed=False,
            ),
        ),
        "Model approval",
    )


def model_deployment(catalog: Catalog, model: Model) -> Flow:
    """docs/architecture.md "Serving and promotion": the request on the bus starts the model's pipeline,
    which deploys with the serving accounts' CDK roles and smoke-tests the test endpoint."""
    config = catalog.context.config
    org = config.organization.name
    shared_name, shared = config.account_with(Role.SHARED_SERVICES)
    shared_account, region = shared.id, config.region_of(shared)
    tooling = f"{stage_id(shared_name, 'Tooling')}"
    deployments = next(
        stack.display_name
        for stack in catalog.context.assembly.stacks
        if stack.display_name.startswith(f"{tooling}/ModelDeployments-")
        and any(model.name in resource.path for resource in stack.resources("AWS::CodePipeline::Pipeline"))
    )
    starter = catalog.function(deployments, "DeploymentStarter/Function")
    pipelines = json.loads(starter.environment["PIPELINES"])
    pipeline_name = pipelines[model.name]["pipeline"]
    pipeline = f"arn:aws:codepipeline:{region}:{shared_account}:{pipeline_name}"
    rule = catalog.arn(deployments, "DeploymentRequests", "AWS::Events::Rule")
    pipeline_role = catalog.properties(deployments, f"Deploy-{model.name}/Resource", "AWS::CodePipeline::Pipeline")
    runner = catalog.judge.role(f"the {pipeline_name} pipeline", str(pipeline_role["RoleArn"]))
    hops = [
        Hop(
            "EventBridge delivers the deployment request to the starter",
            service("events.amazonaws.com", shared_account),
            "lambda:InvokeFunction",
            starter.arn,
            {"aws:SourceArn": rule, "aws:SourceAccount": shared_account},
        ),
        Hop("the starter starts the model's pipeline", starter.caller, "codepipeline:StartPipelineExecution", pipeline),
    ]
    team = config.teams[model.team].accounts
    recovery = {e.recovery_region for e in config.endpoints if e.model == model.name and e.recovery_region}
    for account_name in dict.fromkeys((team.test, team.prod)):
        account, home = _account(config, account_name)
        regions = [home, *sorted(recovery & set(config.recovery_regions_of(account_name)))]
        hops += [
            Hop(
                f"the pipeline deploys to {account_name} in {deploy_region} as its CDK deploy role",
                runner,
                "sts:AssumeRole",
                f"arn:aws:iam::{account}:role/{naming.cdk_bootstrap_role('deploy', account, deploy_region)}",
            )
            for deploy_region in regions
        ]
    test_account, _ = _account(config, team.test)
    smoke_test = catalog.function(deployments, "SmokeTest/Function")
    hops.append(
        Hop(
            "the smoke test assumes its role in the test account",
            smoke_test.caller,
            "sts:AssumeRole",
            f"arn:aws:iam::{test_account}:role/{naming.smoke_test_role(org, team.test, shared_name)}",
        )
    )
    return Flow(f"deployment of {model.name}", tuple(hops), "Serving and promotion")


def drift_retraining(catalog: Catalog, model: Model) -> Iterator[Flow]:
    """docs/architecture.md "Monitoring and drift": a production drift alarm crosses to the development
    account's bus, whose rule starts the drift function, which starts the model's pipeline."""
    config = catalog.context.config
    org = config.organization.name
    team = config.teams[model.team].accounts
    dev_account, dev_region = _account(config, team.dev)
    prod_account, _ = _account(config, team.prod)
    registry = f"{stage_id(team.dev, 'Development')}/Registry"
    for endpoint in config.endpoints:
        if endpoint.model != model.name:
            continue
        production = config.placement_of(endpoint, Environment.PRODUCTION)
        forwarding = f"{stage_id(production.account, 'Endpoints')}/Endpoint-{production.deployed_name(endpoint.name)}"
        if not catalog.has_stack(forwarding):
            continue
        try:
            rule = catalog.properties(forwarding, "DriftForwarding/Rule", "AWS::Events::Rule")
        except LookupError:
            continue  # no alarm of this endpoint retrains
        (target,) = rule["Targets"]
        forwarding_rule = catalog.arn(forwarding, "DriftForwarding/Rule", "AWS::Events::Rule")
        forwarder = catalog.judge.role("the drift forwarding rule's role", str(target["RoleArn"]))
        drift = catalog.function(registry, "DriftRetraining/Function")
        drift_rule = catalog.arn(registry, "DriftAlarms", "AWS::Events::Rule")
        pipeline = f"arn:aws:sagemaker:{dev_region}:{dev_account}:pipeline/{naming.pipeline_name(org, model.name)}"
        yield Flow(
            f"drift retraining of {model.name} from {endpoint.name}",
            (
                Hop(
                    "EventBridge assumes the forwarding role for the rule",
                    service("events.amazonaws.com", prod_account),
                    "sts:AssumeRole",
                    forwarder.principal.arn,
                    {"aws:SourceAccount": prod_account, "aws:SourceArn": forwarding_rule},
                ),
                Hop("the alarm crosses to the development account's bus", forwarder, "events:PutEvents", target["Arn"]),
                Hop(
                    "the bus's rule invokes the drift function",
                    service("events.amazonaws.com", dev_account),
                    "lambda:InvokeFunction",
                    drift.arn,
                    {"aws:SourceArn": drift_rule, "aws:SourceAccount": dev_account},
                ),
                Hop(
                    "the function reads the alarm's record",
                    drift.caller,
                    "ssm:GetParameter",
                    f"arn:aws:ssm:{dev_region}:{dev_account}:parameter{drift.environment['DRIFT_ALARM_RECORDS']}/x",
                ),
                Hop("it starts the retraining pipeline", drift.caller, "sagemaker:StartPipelineExecution", pipeline),
                Hop(
                    "a principal outside the organization cannot raise drift",
                    outsider(),
                    "events:PutEvents",
                    target["Arn"],
                    allowed=False,
                ),
            ),
            "Monitoring and drift",
        )


def flows(context: ProofContext, catalog: Catalog) -> list[Flow]:
    config = context.config
    found: list[Flow] = []
    found += [model_build(catalog, model) for model in config.models]
    found += [flow for team in config.teams if (flow := studio(catalog, team)) is not None]
    found += [flow for team in config.teams if (flow := feature_store(catalog, team)) is not None]
    found += [flow for team in config.teams if (flow := self_service(catalog, team)) is not None]
    found += batch_inference(catalog)
    found += inference_api(catalog)
    for model in _deployed_models(config):
        found += serving(catalog, model)
        found += monitoring(catalog, model)
        found += archive_copy(catalog, model)
        found.append(model_approval(catalog, model))
        found.append(model_deployment(catalog, model))
        found += drift_retraining(catalog, model)
    return found


_JOB_ACTIONS = {
    "Processing": "sagemaker:CreateProcessingJob",
    "QualityCheck": "sagemaker:CreateProcessingJob",
    "ClarifyCheck": "sagemaker:CreateProcessingJob",
    "Training": "sagemaker:CreateTrainingJob",
    "Tuning": "sagemaker:CreateHyperParameterTuningJob",
    "Transform": "sagemaker:CreateTransformJob",
    "Model": "sagemaker:CreateModel",
}
"""What the pipeline's execution role asks SageMaker for each step type."""


def _steps(steps: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for step in steps:
        yield step
        if step.get("Type") == "Condition":
            arguments = step.get("Arguments", {})
            yield from _steps([*arguments.get("IfSteps", []), *arguments.get("ElseSteps", [])])


def model_build(catalog: Catalog, model: Model) -> Flow:
    """docs/architecture.md "Model build": the pipeline's execution role starts each step's job in the VPC,
    encrypted and isolated as the guardrails require, passing the team's job role; the job role
    reads its inputs and writes its outputs; a passing run registers the package."""
    config = catalog.context.config
    org = config.organization.name
    team = config.teams[model.team].accounts
    account, region = _account(config, team.dev)
    build = next(
        stack.display_name
        for stack in catalog.context.assembly.stacks
        if stack.display_name.startswith(f"{stage_id(team.dev, 'Development')}/ModelBuild-{model.team}-")
        and any(model.name in resource.path for resource in stack.resources("AWS::SageMaker::Pipeline"))
    )
    pipeline = catalog.properties(build, f"{model.name}/Pipeline", "AWS::SageMaker::Pipeline")
    definition = json.loads(pipeline["PipelineDefinition"]["PipelineDefinitionBody"])
    values = PipelineValues({p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])})
    runner = catalog.judge.role("the pipeline's execution role", str(pipeline["RoleArn"]))
    hops = [
        Hop(
            "SageMaker assumes the pipeline's execution role",
            service("sagemaker.amazonaws.com", account),
            "sts:AssumeRole",
            runner.principal.arn,
        )
    ]
    job_role = None
    for step in _steps(definition["Steps"]):
        action = _JOB_ACTIONS.get(step["Type"])
        if action is None:
            continue
        arguments = values(step.get("Arguments", {}))
        job = arguments.get("TrainingJobDefinition", arguments) if step["Type"] == "Tuning" else arguments
        hops.append(
            Hop(
                f"step {step['Name']}: the execution role starts its job in the VPC, encrypted",
                runner,
                action,
                f"arn:aws:sagemaker:{region}:{account}:{_JOB_RESOURCES[action]}/pipelines-GENERATED",
                request_keys(action, arguments),
            )
        )
        role = job.get("RoleArn") or arguments.get("ExecutionRoleArn")
        if isinstance(role, str) and not unresolved_parts(role):
            hops.append(
                Hop(
                    f"step {step['Name']}: it passes the job's role to SageMaker",
                    runner,
                    "iam:PassRole",
                    role,
                    {"iam:PassedToService": "sagemaker.amazonaws.com"},
                )
            )
            job_role = role
    if job_role is not None:
        worker = catalog.judge.role("the team's job role", job_role)
        artifacts = naming.model_artifacts_bucket(org, account, region)
        hops += [
            Hop(
                "SageMaker assumes the job role",
                service("sagemaker.amazonaws.com", account),
                "sts:AssumeRole",
                job_role,
            ),
            Hop(
                "a job writes the run's outputs under the model's prefix",
                worker,
                "s3:PutObject",
                f"arn:aws:s3:::{artifacts}/{model.name}/runs/GENERATED/model/model.tar.gz",
            ),
            Hop(
                "a job reads its inputs under the model's prefix",
                worker,
                "s3:GetObject",
                f"arn:aws:s3:::{artifacts}/{model.name}/input/data.csv",
            ),
            Hop(
                "outputs are encrypted with the registry's models key, through S3",
                worker,
                "kms:GenerateDataKey",
                _registry_key(catalog, team.dev),
                {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": account},
            ),
        ]
        other = next((m for m in config.models if m.team != model.team), None)
        if other is not None:
            other_bucket = naming.model_artifacts_bucket(org, *_account(config, config.teams[other.team].accounts.dev))
            hops.append(
                Hop(
                    f"the job role cannot read {other.name}'s data",
                    worker,
                    "s3:GetObject",
                    f"arn:aws:s3:::{other_bucket}/{other.name}/input/data.csv",
                    allowed=False,
                )
            )
    group = naming.model_package_group_name(org, model.name)
    hops.append(
        Hop(
            "a passing run registers the package in the model's group",
            runner,
            "sagemaker:CreateModelPackage",
            f"arn:aws:sagemaker:{region}:{account}:model-package/{group}/{VERSION}",
        )
    )
    return Flow(f"model build of {model.name}", tuple(hops), "Model build")


_JOB_RESOURCES = {
    "sagemaker:CreateProcessingJob": "processing-job",
    "sagemaker:CreateTrainingJob": "training-job",
    "sagemaker:CreateHyperParameterTuningJob": "hyper-parameter-tuning-job",
    "sagemaker:CreateTransformJob": "transform-job",
    "sagemaker:CreateModel": "model",
}


def _registry_key(catalog: Catalog, dev: str) -> str:
    return catalog.arn(f"{stage_id(dev, 'Development')}/Registry", "ModelsKey", "AWS::KMS::Key")


def studio(catalog: Catalog, team_name: str) -> Flow | None:
    """docs/architecture.md "What you get per account" (ml-dev): a data scientist opens only their own Studio profile
    (Identity Center's attributes for access control), whose apps run as the team's data
    scientist role in the VPC: the team's bucket and key, the package mirror, jobs in the VPC.
    Without landing_zone.identity_center the platform signs nobody in: the flow starts at the apps."""
    config = catalog.context.config
    org = config.organization.name
    team = config.teams[team_name]
    users = [user for user in team.users if user.persona.value == "data-scientist"]
    if len(users) < 2:
        return None
    account, region = _account(config, team.accounts.dev)
    development = stage_id(team.accounts.dev, "Development")
    members = f"{development}/StudioUsers-{team_name}-0"
    stack, profile = catalog.resource(members, f"{team_name}-{users[0].name}", "AWS::SageMaker::UserProfile")
    domain = catalog.context.resolver.resolve(stack, profile.properties["DomainId"])
    profile_arn = f"arn:aws:sagemaker:{region}:{account}:user-profile/{domain}"
    where = compute(catalog.context, stack, profile.logical_id)
    app = catalog.judge.role(
        f"{users[0].name}'s Studio apps",
        str(catalog.context.resolver.resolve(stack, profile.properties["UserSettings"]["ExecutionRole"])),
        where,
    )
    bucket = catalog.arn(f"{development}/Team-{team_name}", "/Bucket", "AWS::S3::Bucket")
    _, shared = config.account_with(Role.SHARED_SERVICES)
    mirror = f"arn:aws:codeartifact:{config.region_of(shared)}:{shared.id}"
    job: dict[str, ContextValue] = {
        "sagemaker:VpcSubnets": _baseline_subnets(catalog, team.accounts.dev),
        "sagemaker:VolumeKmsKey": _registry_key(catalog, team.accounts.dev),
        "sagemaker:OutputKmsKey": _registry_key(catalog, team.accounts.dev),
        "sagemaker:NetworkIsolation": True,
        "sagemaker:InterContainerTrafficEncryption": True,
    }
    training_job = f"arn:aws:sagemaker:{region}:{account}:training-job/{users[0].name}-experiment"
    sign_in: list[Hop] = []
    if config.landing_zone.identity_center is not None:
        person = catalog.permission_set("data-scientist", account, {"aws:PrincipalTag/platform:user": users[0].name})
        sign_in = [
            Hop(
                f"{users[0].name} opens their own Studio profile",
                person,
                "sagemaker:CreatePresignedDomainUrl",
                f"{profile_arn}/{team_name}-{users[0].name}",
                {"sagemaker:ResourceTag/platform:user": users[0].name},
            ),
            Hop(
                f"{users[0].name} cannot open {users[1].name}'s profile",
                person,
                "sagemaker:CreatePresignedDomainUrl",
                f"{profile_arn}/{team_name}-{users[1].name}",
                {"sagemaker:ResourceTag/platform:user": users[1].name},
                allowed=False,
            ),
        ]
    hops = [
        *sign_in,
        Hop(
            "SageMaker runs the apps as the profile's role",
            service("sagemaker.amazonaws.com", account),
            "sts:AssumeRole",
            app.principal.arn,
        ),
        Hop("the apps read the team's data", app, "s3:GetObject", f"{bucket}/datasets/data.csv"),
        Hop(
            "pip reads the package mirror (token)", app, "codeartifact:GetAuthorizationToken", f"{mirror}:domain/{org}"
        ),
        Hop(
            "pip reads the package mirror (bearer token)",
            app,
            "sts:GetServiceBearerToken",
            "*",
            {"sts:AWSServiceName": "codeartifact.amazonaws.com"},
        ),
        Hop("pip reads the package mirror", app, "codeartifact:ReadFromRepository", f"{mirror}:repository/{org}/pypi"),
        Hop(
            "a notebook starts a training job in the VPC, encrypted, isolated",
            app,
            "sagemaker:CreateTrainingJob",
            training_job,
            job,
        ),
        Hop(
            "a notebook cannot start a training job outside the VPC",
            app,
            "sagemaker:CreateTrainingJob",
            training_job,
            {key: value for key, value in job.items() if key != "sagemaker:VpcSubnets"},
            allowed=False,
            absent=("sagemaker:VpcSubnets",),
        ),
        Hop(
            "a data scientist cannot delete a production endpoint",
            app,
            "sagemaker:DeleteEndpoint",
            _production_endpoint(catalog, team_name),
            allowed=False,
        ),
    ]
    other = next(
        (name for name in config.teams if name != team_name and config.teams[name].accounts.dev == team.accounts.dev),
        None,
    )
    if other is not None:
        hops.append(
            Hop(
                f"the apps cannot read team {other}'s data",
                app,
                "s3:GetObject",
                f"{catalog.arn(f'{development}/Team-{other}', '/Bucket', 'AWS::S3::Bucket')}/datasets/data.csv",
                allowed=False,
            )
        )
    return Flow(f"Studio of team {team_name}", tuple(hops), "What you get per account")


def _baseline_subnets(catalog: Catalog, account_name: str) -> list[str]:
    stack = catalog.stack(f"{stage_id(account_name, 'Baseline')}/Baseline")
    return [
        str(catalog.context.resolver.identity(stack, resource.logical_id, "id"))
        for resource in stack.resources("AWS::EC2::Subnet")
    ]


def _production_endpoint(catalog: Catalog, team_name: str) -> str:
    config = catalog.context.config
    account, region = _account(config, config.teams[team_name].accounts.prod)
    endpoint = next((e.name for e in config.endpoints), "any")
    return f"arn:aws:sagemaker:{region}:{account}:endpoint/{naming.endpoint_name(config.organization.name, endpoint)}"


def serving(catalog: Catalog, model: Model) -> Iterator[Flow]:
    """docs/architecture.md "Serving and promotion": in each serving account, CloudFormation creates the model
    from the development account's package; SageMaker runs it as the model execution role,
    reading only the model's archive, pulling the framework image, capturing data with the
    serving key. It cannot read the development account's training data."""
    config = catalog.context.config
    org = config.organization.name
    team = config.teams[model.team].accounts
    dev_account, dev_region = _account(config, team.dev)
    group = naming.model_package_group_name(org, model.name)
    package = f"arn:aws:sagemaker:{dev_region}:{dev_account}:model-package/{group}/{VERSION}"
    artifacts = f"arn:aws:s3:::{naming.model_artifacts_bucket(org, dev_account, dev_region)}/{model.name}"
    image = _image_repository(dev_region)
    for account_name in dict.fromkeys((team.test, team.prod)):
        account, region = _account(config, account_name)
        endpoints = [e for e in config.endpoints if e.model == model.name and not e.multi_model]
        if not endpoints or not catalog.has_stack(f"{stage_id(account_name, 'Serving')}/Serving"):
            continue
        serving_stack = f"{stage_id(account_name, 'Serving')}/Serving"
        execution = catalog.role(naming.role_name(org, naming.MODEL_EXECUTION_ROLE), account)
        deployer = catalog.execution_role(account, region)
        serving_key = catalog.arn(serving_stack, "ServingKey", "AWS::KMS::Key")
        capture = f"arn:aws:s3:::{naming.bucket_name(org, 'data-capture', account, region)}"
        endpoint = endpoints[0].name
        yield Flow(
            f"serving of {model.name} in {account_name}",
            (
                Hop(
                    "CloudFormation creates the model from the development account's package",
                    deployer,
                    "sagemaker:DescribeModelPackage",
                    package,
                ),
                Hop(
                    "SageMaker runs the model as the model execution role",
                    service("sagemaker.amazonaws.com", account),
                    "sts:AssumeRole",
                    execution.principal.arn,
                ),
                Hop(
                    "it reads the trained model from the development account",
                    execution,
                    "s3:GetObject",
                    f"{artifacts}/runs/GENERATED/model/model.tar.gz",
                ),
                Hop(
                    "it decrypts the model with the registry's key, through S3",
                    execution,
                    "kms:Decrypt",
                    _registry_key(catalog, team.dev),
                    {"kms:ViaService": f"s3.{dev_region}.amazonaws.com", "kms:CallerAccount": account},
                ),
                Hop("it pulls the framework image", execution, "ecr:BatchGetImage", image),
                Hop(
                    "it captures requests and answers",
                    execution,
                    "s3:PutObject",
                    f"{capture}/endpoints/{endpoint}/2026/12/07/capture.jsonl",
                ),
                Hop(
                    "captures are encrypted with the serving key, through S3",
                    execution,
                    "kms:GenerateDataKey",
                    serving_key,
                    {"kms:ViaService": f"s3.{region}.amazonaws.com", "kms:CallerAccount": account},
                ),
                Hop(
                    "the serving account cannot read the development account's training data",
                    execution,
                    "s3:GetObject",
                    f"{artifacts}/input/data.csv",
                    allowed=False,
                ),
                Hop(
                    "nor a run's splits",
                    execution,
                    "s3:GetObject",
                    f"{artifacts}/runs/GENERATED/splits/train/train.csv",
                    allowed=False,
                ),
            ),
            "Serving and promotion",
        )


def _image_repository(region: str) -> str:
    uri = container_images()[region]
    registry, _, path = uri.partition("/")
    return f"arn:aws:ecr:{region}:{registry.split('.')[0]}:repository/{path.split(':')[0]}"


def monitoring(catalog: Catalog, model: Model) -> Iterator[Flow]:
    """docs/architecture.md "Monitoring and drift": in production, Model Monitor's jobs run as the monitor
    role, reading the captured data and the baselines the deployed package registered (in the
    development account), writing reports; with feature-attribution monitoring, Clarify's
    shadow endpoints are the only ones it may create."""
    config = catalog.context.config
    org = config.organization.name
    team = config.teams[model.team].accounts
    account, region = _account(config, team.prod)
    dev_account, dev_region = _account(config, team.dev)
    monitored = [e for e in config.endpoints if e.model == model.name and e.monitoring is not None]
    if not monitored:
        return
    monitor = catalog.role(naming.role_name(org, naming.MODEL_MONITOR_ROLE), account)
    capture = f"arn:aws:s3:::{naming.bucket_name(org, 'data-capture', account, region)}"
    artifacts = f"arn:aws:s3:::{naming.model_artifacts_bucket(org, dev_account, dev_region)}/{model.name}"
    endpoint = monitored[0].name
    attribution = monitored[0].monitoring is not None and monitored[0].monitoring.feature_attribution is not None
    clarify = (
        [
            Hop(
                "Clarify serves the model from its own shadow endpoint",
                monitor,
                "sagemaker:CreateEndpoint",
                f"arn:aws:sagemaker:{region}:{account}:endpoint/sm-clarify-GENERATED",
            )
        ]
        if attribution
        else []
    )
    yield Flow(
        f"monitoring of {model.name}",
        (
            Hop(
                "SageMaker runs the jobs as the monitor role",
                service("sagemaker.amazonaws.com", account),
                "sts:AssumeRole",
                monitor.principal.arn,
            ),
            Hop(
                "a job reads the captured data",
                monitor,
                "s3:GetObject",
                f"{capture}/endpoints/{endpoint}/2026/12/07/capture.jsonl",
            ),
            Hop(
                "it reads the baseline the deployed package registered",
                monitor,
                "s3:GetObject",
                f"{artifacts}/runs/GENERATED/baselines/data-quality/statistics.json",
            ),
            Hop("it writes its report", monitor, "s3:PutObject", f"{capture}/monitoring/{endpoint}/report.json"),
            *clarify,
            Hop(
                "but may not touch the production endpoint",
                monitor,
                "sagemaker:DeleteEndpoint",
                f"arn:aws:sagemaker:{region}:{account}:endpoint/{naming.endpoint_name(org, endpoint)}",
                allowed=False,
            ),
            Hop(
                "nor read the development account's training data",
                monitor,
                "s3:GetObject",
                f"{artifacts}/input/data.csv",
                allowed=False,
            ),
        ),
        "Monitoring and drift",
    )


def inference_api(catalog: Catalog) -> Iterator[Flow]:
    """docs/architecture.md "Inference API": each API's function invokes its endpoint, through the VPC."""
    config = catalog.context.config
    org = config.organization.name
    for account_name in config.serving_accounts():
        account, region = _account(config, account_name)
        apis = f"{stage_id(account_name, 'Serving')}/InferenceApis-0"
        served = config.endpoints_served_in(account_name)
        for deployment in served:
            if deployment.item.api is None or not catalog.has_stack(apis):
                continue
            function = catalog.function(apis, f"Api-{deployment.name}/Function")
            target = f"arn:aws:sagemaker:{region}:{account}:endpoint/{naming.endpoint_name(org, deployment.name)}"
            # Another deployment of the account: the same endpoint's other one, where it has one.
            others = [
                name
                for _, name in sorted(
                    (s.item.name != deployment.item.name, s.name) for s in served if s.name != deployment.name
                )
            ]
            hops = [Hop("the function invokes its endpoint", function.caller, "sagemaker:InvokeEndpoint", target)]
            if others:
                hops.append(
                    Hop(
                        "and no other",
                        function.caller,
                        "sagemaker:InvokeEndpoint",
                        f"arn:aws:sagemaker:{region}:{account}:endpoint/{naming.endpoint_name(org, others[0])}",
                        allowed=False,
                    )
                )
            yield Flow(f"inference API of {deployment.name} in {account_name}", tuple(hops), "Inference API")


def feature_store(catalog: Catalog, team_name: str) -> Flow | None:
    """docs/architecture.md "What you get per account" (data): a team's data scientists assume the central store's
    producer role to ingest and its consumer role to read, online and offline; another team's
    people of another account cannot."""
    config = catalog.context.config
    store = config.feature_store
    if store is None or not store.feature_groups:
        return None
    org = config.organization.name
    team = config.teams[team_name]
    data_account, data_region = _account(config, store.account)
    scientist = catalog.role_at(f"{stage_id(team.accounts.dev, 'Development')}/Team-{team_name}", "Roles/DataScientist")
    producer_arn = f"arn:aws:iam::{data_account}:role/{naming.role_name(org, naming.FEATURE_STORE_PRODUCER_ROLE)}"
    consumer_arn = f"arn:aws:iam::{data_account}:role/{naming.role_name(org, naming.FEATURE_STORE_CONSUMER_ROLE)}"
    producer = catalog.judge.role("the feature store's producer role", producer_arn)
    consumer = catalog.judge.role("the feature store's consumer role", consumer_arn)
    group = naming.feature_group_name(org, store.feature_groups[0].name)
    feature_group = f"arn:aws:sagemaker:{data_region}:{data_account}:feature-group/{group}"
    store_stack = f"{stage_id(store.account, 'Data')}/FeatureStore"
    offline = catalog.arn(store_stack, "OfflineStore", "AWS::S3::Bucket")
    key = catalog.arn(store_stack, "FeatureStoreKey", "AWS::KMS::Key")
    return Flow(
        f"feature store for team {team_name}",
        (
            Hop("a data scientist assumes the producer role", scientist, "sts:AssumeRole", producer_arn),
            Hop("and ingests a record", producer, "sagemaker:PutRecord", feature_group),
            Hop(
                "the online store encrypts with the store's key",
                producer,
                "kms:GenerateDataKey",
                key,
                {"kms:ViaService": f"sagemaker.{data_region}.amazonaws.com", "kms:CallerAccount": data_account},
            ),
            Hop("a data scientist assumes the consumer role", scientist, "sts:AssumeRole", consumer_arn),
            Hop("and reads a record online", consumer, "sagemaker:GetRecord", feature_group),
            Hop("and the offline store", consumer, "s3:GetObject", f"{offline}/offline/{group}/data/part.parquet"),
            Hop("the consumer cannot ingest", consumer, "sagemaker:PutRecord", feature_group, allowed=False),
            Hop(
                "a principal outside the organization cannot assume the producer role",
                outsider(),
                "sts:AssumeRole",
                producer_arn,
                allowed=False,
            ),
        ),
        "What you get per account",
    )


def archive_copy(catalog: Catalog, model: Model) -> Iterator[Flow]:
    """docs/architecture.md "Second-region recovery": at deploy time, the copy function reads the package and
    its archive in the home region and writes the copy into the recovery region's bucket."""
    config = catalog.context.config
    org = config.organization.name
    team = config.teams[model.team].accounts
    dev_account, dev_region = _account(config, team.dev)
    prod_account, _ = _account(config, team.prod)
    group = naming.model_package_group_name(org, model.name)
    for region in sorted({e.recovery_region for e in config.endpoints if e.model == model.name and e.recovery_region}):
        serving = f"{stage_id(team.prod, 'Serving', region)}/Serving"
        copy = catalog.function(serving, "ModelArchiveCopy/Function")
        recovery_bucket = f"arn:aws:s3:::{naming.bucket_name(org, naming.RECOVERY_MODELS, prod_account, region)}"
        yield Flow(
            f"archive copy of {model.name} to {region}",
            (
                Hop(
                    "the function reads the package in the home region",
                    copy.caller,
                    "sagemaker:DescribeModelPackage",
                    f"arn:aws:sagemaker:{dev_region}:{dev_account}:model-package/{group}/{VERSION}",
                ),
                Hop(
                    "it reads the archive across accounts",
                    copy.caller,
                    "s3:GetObject",
                    f"arn:aws:s3:::{naming.model_artifacts_bucket(org, dev_account, dev_region)}/{model.name}"
                    "/runs/GENERATED/model/model.tar.gz",
                ),
                Hop(
                    "it decrypts through S3 with the registry's key",
                    copy.caller,
                    "kms:Decrypt",
                    _registry_key(catalog, team.dev),
                    {"kms:ViaService": f"s3.{dev_region}.amazonaws.com", "kms:CallerAccount": prod_account},
                ),
                Hop(
                    "it writes the copy in the recovery region",
                    copy.caller,
                    "s3:PutObject",
                    f"{recovery_bucket}/packages/{group}/{VERSION}/model.tar.gz",
                ),
                Hop(
                    "but cannot read the development account's training data",
                    copy.caller,
                    "s3:GetObject",
                    f"arn:aws:s3:::{naming.model_artifacts_bucket(org, dev_account, dev_region)}/{model.name}"
                    "/input/data.csv",
                    allowed=False,
                ),
            ),
            "Second-region recovery",
        )


def batch_inference(catalog: Catalog) -> Iterator[Flow]:
    """docs/architecture.md "Batch inference": the batch pipeline's role starts the transform job as the model
    execution role, encrypted with the serving key; the model reads the inputs and writes the
    results of its job only."""
    config = catalog.context.config
    org = config.organization.name
    for account_name in config.serving_accounts():
        account, region = _account(config, account_name)
        for job in config.batch_jobs_served_in(account_name):
            stack = f"{stage_id(account_name, 'Endpoints')}/Batch-{job.name}"
            if not catalog.has_stack(stack):
                continue
            pipeline = catalog.properties(stack, "Batch/Pipeline", "AWS::SageMaker::Pipeline")
            runner = catalog.judge.role("the batch pipeline's role", str(pipeline["RoleArn"]))
            definition = json.loads(pipeline["PipelineDefinition"]["PipelineDefinitionBody"])
            values = PipelineValues({p["Name"]: p.get("DefaultValue") for p in definition.get("Parameters", [])})
            (transform,) = [step for step in _steps(definition["Steps"]) if step["Type"] == "Transform"]
            arguments = values(transform["Arguments"])
            execution = catalog.role(naming.role_name(org, naming.MODEL_EXECUTION_ROLE), account)
            bucket = f"arn:aws:s3:::{naming.bucket_name(org, 'batch-inference', account, region)}"
            yield Flow(
                f"batch inference {job.name} in {account_name}",
                (
                    Hop(
                        "the pipeline starts the transform job, encrypted",
                        runner,
                        "sagemaker:CreateTransformJob",
                        f"arn:aws:sagemaker:{region}:{account}:transform-job/pipelines-GENERATED",
                        request_keys("sagemaker:CreateTransformJob", arguments),
                    ),
                    Hop(
                        "as the model execution role",
                        runner,
                        "iam:PassRole",
                        execution.principal.arn,
                        {"iam:PassedToService": "sagemaker.amazonaws.com"},
                    ),
                    Hop("the model reads the inputs", execution, "s3:GetObject", f"{bucket}/{job.name}/input/part.csv"),
                    Hop(
                        "and writes the results",
                        execution,
                        "s3:PutObject",
                        f"{bucket}/{job.name}/output/GENERATED/part.csv.out",
                    ),
                ),
                "Batch inference",
            )
