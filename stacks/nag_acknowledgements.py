"""Every cdk-nag finding the platform acknowledges instead of fixing, with the reason.

One entry per finding id and construct path (relative to the stage, so one entry covers
that construct in every account; a `*` stands for one path segment named from the config,
such as a team). The id is the one cdk-nag prints after "Acknowledge
with". The reason must let a reviewer check that the finding does not apply. An entry
that suppresses nothing fails the synth (stacks.gates.unused_acknowledgements).
"""

from __future__ import annotations

from dataclasses import dataclass

from ml_pipelines.templates import baseline_files, model_archives
from stacks import naming
from stacks.config import OrgConfig, Role
from stacks.config.models import Model
from stacks.serving_stack import batch_locations, multi_model_prefix, smoke_tested_endpoints
from stacks.sharding import model_build_shards

ANNOTATION_PREFIX = "Annotation::"
"""Findings with this prefix are CDK's own warnings rather than a nag pack's."""


@dataclass(frozen=True)
class NagAcknowledgement:
    finding: str
    path: str
    reason: str

    @property
    def is_annotation(self) -> bool:
        return self.finding.startswith(ANNOTATION_PREFIX)


def _at(path: str, reason: str, *findings: str) -> tuple[NagAcknowledgement, ...]:
    return tuple(NagAcknowledgement(finding, path, reason) for finding in findings)


def _in_every_baseline(path: str, reason: str, *findings: str) -> tuple[NagAcknowledgement, ...]:
    """The same finding on the same construct of the account baseline, wherever it is built."""
    return tuple(ack for scope in BASELINE_SCOPES for ack in _at(f"{scope}/{path}", reason, *findings))


BASELINE_SCOPES = ("Baseline", "Organization/BaselineStackSet/Template")
"""Where stacks.baseline_stack.add_account_baseline builds: the per-account stack, the StackSet template."""
STACKSET_NETWORK = "Organization/BaselineStackSet/Template/Network"

BUCKETS_LOGGING_TO_ANOTHER_STACK = (
    "Archive/TrailArchive/Bucket",
    "FeatureStore/OfflineStore",
    "Team-*/Bucket",
    "Registry/ModelArtifacts",
)

ACKNOWLEDGEMENTS: tuple[NagAcknowledgement, ...] = (
    *(
        ack
        for queue in ("ModelBuild-*/Retraining-*/DeadLetterQueue", "Batch-*/Batch/Schedule/DeadLetterQueue")
        for ack in _at(
            queue,
            "This queue is a pipeline schedule's dead-letter queue (its Target.DeadLetterConfig), "
            "which cdk-nag does not recognize; a dead-letter queue needs no queue of its own.",
            "AwsSolutions::AwsSolutions-SQS3",
        )
    ),
    *_in_every_baseline(
        "AccessLogs",
        "S3 server access log delivery supports only SSE-S3 on the destination bucket "
        "(docs.aws.amazon.com/AmazonS3/latest/userguide/enable-server-access-logging.html); "
        "the bucket is still encrypted, versioned, TLS-only and private.",
        "HIPAA.Security::HIPAA.Security-S3DefaultEncryptionKMS",
        "NIST.800.53.R5::NIST.800.53.R5-S3DefaultEncryptionKMS",
        "PCI.DSS.321::PCI.DSS.321-S3DefaultEncryptionKMS",
    ),
    *_in_every_baseline(
        "AccessLogs",
        "This bucket is the account's access-log destination; logging it into itself would "
        "log every log delivery, without end.",
        "AwsSolutions::AwsSolutions-S1",
        "HIPAA.Security::HIPAA.Security-S3BucketLoggingEnabled",
        "NIST.800.53.R5::NIST.800.53.R5-S3BucketLoggingEnabled",
        "PCI.DSS.321::PCI.DSS.321-S3BucketLoggingEnabled",
    ),
    *_in_every_baseline(
        "AccessLogs",
        "Access logs are operational data kept in the account for a year and versioned; the "
        "immutable compliance record is the organization trail in the log-archive account.",
        "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
    ),
    *_in_every_baseline(
        "Network/FlowLogDelivery/Policy",
        "VPC Flow Logs names its log streams after network interfaces that do not exist yet; "
        "the wildcard covers only the streams of this VPC's own flow-log group.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::<NetworkFlowLogs2BEC3212.Arn>:log-stream:*]",
    ),
    *_at(
        f"{STACKSET_NETWORK}/Vpc",
        "In StackSet accounts the default security group is closed by the AWS Config rule "
        "DefaultSecurityGroupClosed with automatic remediation (AWSConfigRemediation-"
        "RemoveVPCDefaultSecurityGroupRules) in the same template, not by CDK's custom resource.",
        "HIPAA.Security::HIPAA.Security-VPCDefaultSecurityGroupClosed",
        "NIST.800.53.R5::NIST.800.53.R5-VPCDefaultSecurityGroupClosed",
        "PCI.DSS.321::PCI.DSS.321-VPCDefaultSecurityGroupClosed",
    ),
    *_at(
        f"{STACKSET_NETWORK}/DefaultSecurityGroupRemediationPolicy",
        "ec2:DescribeSecurityGroups supports no resource-level permissions; the revoke actions "
        "are limited to this VPC's default security group.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::*]",
    ),
    *_at(
        "Trail/OrganizationTrail/Delivery/Policy",
        "CloudTrail names its log streams after the accounts and regions it will deliver for; "
        "the wildcard covers only the streams of the organization trail's own log group.",
        "AwsSolutions::AwsSolutions-IAM5[Resource::<OrganizationTrailLogGroupB83451B1.Arn>:log-stream:*]",
    ),
    *(
        ack
        for subnet in (
            "Studio/Vpc/*",
            "Registry/Vpc/*",
            "ModelBuild-*/Vpc/*",
            "SelfService/Vpc/*",
            "InferenceApis-*/Vpc/*",
        )
        for ack in _at(
            subnet,
            "Stacks in an account's other stages import the baseline's subnets by id for Studio, "
            "functions and pipeline jobs; nothing in them reads the subnets' route tables, which stay "
            "the baseline's.",
            "Annotation::@aws-cdk/aws-ec2:noSubnetRouteTableId",
        )
    ),
    *_at(
        "Archive/TrailArchive/Bucket",
        "The trail archive is versioned, object-locked (no version can be deleted within the "
        "retention period) and KMS-encrypted, and CloudTrail log-file validation proves its "
        "integrity; a copy in a second region is a disaster-recovery choice the config does not make.",
        "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
        "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
        "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
    ),
)


UNRESERVED_CONCURRENCY = (
    "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
    "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
)
NO_RESERVATION = (
    "No concurrency is reserved: Lambda keeps 100 of the account's executions unreserved, and an account "
    "the platform creates starts with 10, so a reservation would fail the first deploy "
    "(docs.aws.amazon.com/lambda/latest/dg/configuration-concurrency.html; the preflight's quotas proof). "
)
"""Why a platform function reserves no concurrency; each acknowledgement adds what bounds the function."""

PLATFORM_FUNCTIONS: tuple[NagAcknowledgement, ...] = tuple(
    ack
    for path, bound in (
        (
            "Registry/Approval/Function",
            "an EventBridge rule invokes it once per approval or rejection of a model package",
        ),
        ("Registry/DriftRetraining/Function", "an EventBridge rule invokes it once per retraining alarm that fires"),
        ("Studio/StudioTeardown/Function", "CloudFormation invokes it once when the Studio stack is deleted"),
        ("ModelDeployments-0/SmokeTest/Function", "a deployment pipeline invokes it once per deployment to ml-test"),
        ("ModelDeployments-0/DeploymentStarter/Function", "an EventBridge rule invokes it once per approved model"),
        ("Serving/ModelArchiveCopy/Function", "CloudFormation invokes it once per deployment of a standby"),
        ("SelfService/CatalogSetup/Function", "CloudFormation invokes it once per deployment of the stack"),
        ("Catalog/CatalogSetup/Function", "CloudFormation invokes it once per deployment of the stack"),
    )
    for ack in _at(
        path,
        f"{NO_RESERVATION}What bounds it: {bound}; a throttled invocation is retried, then kept in its alarmed "
        "dead-letter queue.",
        *UNRESERVED_CONCURRENCY,
    )
)


IAM5 = "AwsSolutions::AwsSolutions-IAM5"
IN_ACCOUNT = "arn:<AWS::Partition>:{service}:<AWS::Region>:<AWS::AccountId>:{resource}"
TEAM_ROLES = ("DataScientist", "MlEngineer", "PipelineExecution")
JOB_KINDS = ("training-job", "processing-job", "transform-job", "hyper-parameter-tuning-job", "model")


def _wildcard(service: str, resource: str) -> str:
    return f"{IAM5}[Resource::{IN_ACCOUNT.format(service=service, resource=resource)}]"


def _artifacts(config: OrgConfig, model: Model, keys: list[str]) -> list[str]:
    """The findings of grants on `keys` (patterns) of the artifacts bucket of `model`'s registry."""
    dev, dev_region = config.registry_of(model)
    bucket = naming.model_artifacts_bucket(config.organization.name, dev.id, dev_region)
    return [f"{IAM5}[Resource::arn:<AWS::Partition>:s3:::{bucket}/{key}]" for key in keys]


def _for_team_roles(roles: tuple[str, ...], reason: str, *findings: str) -> tuple[NagAcknowledgement, ...]:
    return tuple(ack for role in roles for ack in _at(f"Team-*/Roles/{role}Policy", reason, *findings))


STUDIO_AND_FEATURE_STORE: tuple[NagAcknowledgement, ...] = (
    *_for_team_roles(
        TEAM_ROLES,
        "SageMaker job and model names are chosen when they are created; the grant is scoped to "
        "this account and region and conditioned on the VPC subnets, the team's KMS key and network "
        "isolation (ml_constructs/personas.py), as the ml-workloads guardrail requires.",
        *(_wildcard("sagemaker", f"{kind}/*") for kind in JOB_KINDS),
    ),
    *_for_team_roles(
        TEAM_ROLES,
        "sagemaker:AddTags applies only while creating a resource (condition sagemaker:TaggingAction), "
        "so it can tag nothing that already exists.",
        _wildcard("sagemaker", "*"),
    ),
    *_for_team_roles(
        ("JobExecution",),
        "Clarify's post-training bias and SHAP checks create, invoke and delete a shadow endpoint of the "
        "candidate model; Clarify names it and its config sm-clarify-<generated>, and the candidate "
        "model's name is generated by the pipeline's model step.",
        _wildcard("sagemaker", "endpoint/sm-clarify-*"),
        _wildcard("sagemaker", "endpoint-config/sm-clarify-*"),
        _wildcard("sagemaker", "model/*"),
    ),
    *_for_team_roles(
        (*TEAM_ROLES, "JobExecution"),
        "Objects of the team's own bucket, whatever their key; no other bucket is granted.",
        f"{IAM5}[Resource::<Bucket83908E77.Arn>/*]",
    ),
    *_for_team_roles(
        (*TEAM_ROLES, "JobExecution"),
        "SageMaker creates one log group per job kind and one stream per job under /aws/sagemaker/.",
        _wildcard("logs", "log-group:/aws/sagemaker/*"),
    ),
    *_for_team_roles(
        (*TEAM_ROLES, "JobExecution"),
        "Actions without resource-level permissions: SageMaker List and Search, ECR image pulls (built-in "
        "images live in AWS-owned accounts), EC2 network interfaces for jobs in the VPC, CloudWatch "
        "metrics (limited to SageMaker namespaces), the CodeArtifact bearer token (limited to that service), "
        "and with self-service Service Catalog's browsing and the provisioned products the role launched "
        "itself (servicecatalog:roleLevel self).",
        f"{IAM5}[Resource::*]",
    ),
    *(
        ack
        for function in (
            "Registry/Approval/Policy",
            "Registry/DriftRetraining/Policy",
            "InferenceApis-*/Api-*/Function/Policy",
        )
        for ack in _at(
            function,
            "Lambda manages the network interfaces of a function in a VPC; these EC2 actions take no "
            "resource-level permissions.",
            f"{IAM5}[Resource::*]",
        )
    ),
    *_at(
        "InferenceApis-*/Api-*/Api/DeploymentStage.v1",
        "Inference answers are never cached: each is computed for its own request and may hold personal "
        "data, so a cache would serve one caller's answer to another and keep it outside the model's "
        "KMS-encrypted path.",
        "HIPAA.Security::HIPAA.Security-APIGWCacheEnabledAndEncrypted",
        "NIST.800.53.R5::NIST.800.53.R5-APIGWCacheEnabledAndEncrypted",
        "PCI.DSS.321::PCI.DSS.321-APIGWCacheEnabledAndEncrypted",
    ),
    *_at(
        "InferenceApis-*/Api-*/Api/DeploymentStage.v1",
        "Client certificates authenticate API Gateway to HTTP backends; this API's only integration is a "
        "Lambda function, invoked through AWS's signed API over TLS.",
        "HIPAA.Security::HIPAA.Security-APIGWSSLEnabled",
        "NIST.800.53.R5::NIST.800.53.R5-APIGWSSLEnabled",
        "PCI.DSS.321::PCI.DSS.321-APIGWSSLEnabled",
    ),
    *_at(
        "InferenceApis-0/GatewayLogging/RolePolicy",
        "API Gateway names each stage's execution log group itself (API-Gateway-Execution-Logs_<api id>/"
        "<stage>) and looks log groups up by name before writing, which DescribeLogGroups allows only on "
        "every log group of the account; the role may write to no other log groups than those and the APIs' "
        "access logs.",
        f"{IAM5}[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:API-Gateway-Execution-Logs_*]",
        f"{IAM5}[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:<AWS::AccountId>:log-group:*]",
    ),
    *(
        ack
        for rule in ("Serving/MonitoringRuns", "Batch-*/Batch/FailedRuns")
        for ack in _at(
            rule,
            "The rule's target is the account's own alerts topic, whose ARN the baseline publishes as an SSM "
            "parameter resolved at deploy time: rule and topic are in the same account and region.",
            "Annotation::@aws-cdk/aws-events:ruleUnresolvedEnvironment",
        )
    ),
    *_at(
        "Endpoint-*/DriftForwarding/DeadLetterQueue",
        "This queue is the drift-forwarding rule's dead-letter queue (its target's DeadLetterConfig), "
        "which cdk-nag does not recognize; a dead-letter queue needs no queue of its own.",
        "AwsSolutions::AwsSolutions-SQS3",
    ),
    *_at(
        "Serving/ModelMonitorPolicy",
        "Model Monitor reads captured data and ground truth under keys SageMaker and the labelling "
        "process choose, and writes reports under monitoring/; its processing jobs log to one group per "
        "job; its analyzer image lives in an AWS-owned account; metrics are limited to SageMaker's "
        "endpoint namespaces and network interfaces take no resource-level permissions.",
        f"{IAM5}[Resource::<DataCapture91154E3A.Arn>/endpoints/*]",
        f"{IAM5}[Resource::<DataCapture91154E3A.Arn>/ground-truth/*]",
        f"{IAM5}[Resource::<DataCapture91154E3A.Arn>/monitoring/*]",
        _wildcard("logs", "log-group:/aws/sagemaker/ProcessingJobs*"),
        f"{IAM5}[Resource::*]",
    ),
    *_at(
        "Studio/StudioTeardown/Policy",
        "The teardown deletes whatever apps, spaces and profiles exist in this one domain when the stack "
        "is deleted; their names are not known in advance. Listing takes no resource-level permissions.",
        f"{IAM5}[Resource::*]",
        *(
            _wildcard("sagemaker", f"{kind}/<StudioDomain20F5E462.DomainId>/*")
            for kind in ("app", "space", "user-profile")
        ),
    ),
    *_at(
        "FeatureStore/ConsumerPolicy",
        "Consumers read any object of the offline store, whose keys Feature Store chooses.",
        f"{IAM5}[Resource::<OfflineStoreA8EF6C00.Arn>/*]",
    ),
    *_at(
        "FeatureStore/OfflineStoreWriterPolicy",
        "Feature Store writes offline-store objects under keys it chooses itself, in this one bucket.",
        f"{IAM5}[Resource::<OfflineStoreA8EF6C00.Arn>/*]",
    ),
    *(
        ack
        for bucket in (
            "FeatureStore/OfflineStore",
            "Team-*/Bucket",
            "Registry/ModelArtifacts",
            "Serving/DataCapture",
            "Serving/BatchInference",
            "ModelDeployments-*/Artifacts",
        )
        for ack in _at(
            bucket,
            "Versioned and KMS-encrypted in the account that owns the data; offline store, team data and "
            "model artifacts can be rebuilt from their sources, captured inference data is a sample of "
            "traffic for monitoring, batch inputs are copies of the teams' sources and results are rebuilt "
            "by the next run, and pipeline artifacts are rebuilt by every execution, so a second-region "
            "copy is not configured.",
            "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
            "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
            "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
        )
    ),
)


REPLICATION = (
    "HIPAA.Security::HIPAA.Security-S3BucketReplicationEnabled",
    "NIST.800.53.R5::NIST.800.53.R5-S3BucketReplicationEnabled",
    "PCI.DSS.321::PCI.DSS.321-S3BucketReplicationEnabled",
)
SOURCE_REPO_URL = (
    "HIPAA.Security::HIPAA.Security-CodeBuildProjectSourceRepoUrl",
    "PCI.DSS.321::PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
)
INLINE_POLICY = (
    "HIPAA.Security::HIPAA.Security-IAMNoInlinePolicy",
    "NIST.800.53.R5::NIST.800.53.R5-IAMNoInlinePolicy",
    "PCI.DSS.321::PCI.DSS.321-IAMNoInlinePolicy",
)
ARTIFACT_ACTIONS = ("s3:GetObject*", "s3:GetBucket*", "s3:List*", "s3:DeleteObject*", "s3:Abort*")
ARTIFACT_GRANTS = (
    *(f"{IAM5}[Action::{action}]" for action in (*ARTIFACT_ACTIONS, "kms:ReEncrypt*", "kms:GenerateDataKey*")),
    f"{IAM5}[Resource::<Artifacts82DD59A1.Arn>/*]",
)
"""What CDK's grants on a pipeline's artifact bucket and key look like to cdk-nag."""
PIPELINE_ROLES = "ModelDeployments-*/Deploy-*"
"""The deployment pipelines, whose roles aws_codepipeline generates action by action."""

MODEL_DEPLOYMENTS: tuple[NagAcknowledgement, ...] = (
    *(
        ack
        for path in (
            f"{PIPELINE_ROLES}/Role/DefaultPolicy",
            f"{PIPELINE_ROLES}/Source/Repository/CodePipelineActionRole/DefaultPolicy",
        )
        for ack in _at(
            path,
            "aws_codepipeline generates these policies: the pipeline and its source action read and write "
            "the pipeline's own artifact bucket (object keys chosen per execution) with its own key. They "
            "are inline because CDK adds each action's grant as the pipeline is built.",
            *INLINE_POLICY,
            *ARTIFACT_GRANTS,
        )
    ),
    *_at(
        f"{PIPELINE_ROLES}/Synth/Synth/CodePipelineActionRole/DefaultPolicy",
        "aws_codepipeline generates this policy: the action role may only start and follow the synth build.",
        *INLINE_POLICY,
    ),
    *(
        ack
        for approval in ("Approve/Approve", "Promote/Promote")
        for ack in _at(
            f"{PIPELINE_ROLES}/{approval}/CodePipelineActionRole/DefaultPolicy",
            "aws_codepipeline generates this policy: the approval action publishes to the approvals topic, "
            "encrypted with the pipeline's key.",
            *INLINE_POLICY,
            f"{IAM5}[Action::kms:GenerateDataKey*]",
        )
    ),
    *_at(
        f"{PIPELINE_ROLES}/Test/SmokeTest-*/CodePipelineActionRole/DefaultPolicy",
        "aws_codepipeline generates this policy: the action invokes the smoke-test function and lists "
        "functions, which takes no resource-level permission.",
        *INLINE_POLICY,
        f"{IAM5}[Resource::*]",
    ),
    *_at(
        "ModelDeployments-*/Synth/Role/DefaultPolicy",
        "aws_codebuild generates this policy: the synth build reads its input from and writes the "
        "cloud assembly to the pipeline's artifact bucket, and writes its reports.",
        *INLINE_POLICY,
        *ARTIFACT_GRANTS,
    ),
    *_at(
        "ModelDeployments-*/Synth",
        "The project's source is CODEPIPELINE: it holds no repository URL or credentials; the pipeline "
        "reaches the repository through its CodeConnections connection.",
        "HIPAA.Security::HIPAA.Security-CodeBuildProjectSourceRepoUrl",
        "PCI.DSS.321::PCI.DSS.321-CodeBuildProjectSourceRepoUrl",
    ),
    *(
        ack
        for function in ("ModelDeployments-0/SmokeTest/Function", "ModelDeployments-0/DeploymentStarter/Function")
        for ack in _at(
            function,
            "The shared-services account runs no workloads and has no VPC; these functions only call AWS APIs "
            "(CodePipeline, STS and, as the ml-test account's role, SageMaker).",
            "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
            "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
        )
    ),
    *_at(
        "ModelDeployments-0/SmokeTest/Policy",
        "The smoke test reports to whichever job CodePipeline hands it; job results (PutJobSuccessResult, "
        "PutJobFailureResult) take no resource-level permissions.",
        f"{IAM5}[Resource::*]",
    ),
)


def _toolchain(config: OrgConfig) -> tuple[NagAcknowledgement, ...]:
    """The platform pipeline's findings. aws_cdk.pipelines creates the CodePipeline, its roles
    and its CodeBuild projects only during synthesis, so they are acknowledged on the
    `Pipeline` construct, the ancestor of all of them, finding by finding."""
    if config.delivery is None:
        return ()
    _, tooling = config.account_with(Role.SHARED_SERVICES)
    account, region = tooling.id, config.region_of(tooling)
    projects = ("PipelineBuildSynthCdkBuildProject6BEFA8E6", "PipelineUpdatePipelineSelfMutationDAA41400")
    return (
        *_at(
            "Toolchain/Artifacts",
            "The platform pipeline's artifacts are rebuilt from the repository by every execution: nothing to recover.",
            *REPLICATION,
        ),
        *_at(
            "Toolchain/Pipeline",
            "aws_cdk.pipelines generates these roles, inline policies and projects: the pipeline, its source "
            "and build actions read and write the pipeline's own artifact bucket (object keys chosen per "
            "execution) with its own key; the builds write one log stream per build and one report per report "
            "group; self-mutation and asset publishing assume the CDK bootstrap roles of the accounts that "
            "trust this one (names CDK chooses) and describe stacks, which takes no resource-level permission; "
            "the projects' source is CODEPIPELINE, with no repository URL or credentials of their own.",
            *INLINE_POLICY,
            *ARTIFACT_GRANTS,
            *SOURCE_REPO_URL,
            f"{IAM5}[Resource::*]",
            f"{IAM5}[Resource::arn:*:iam::{account}:role/*]",
            f"{IAM5}[Resource::arn:aws:codebuild:{region}:{account}:report-group/*]",
            f"{IAM5}[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/*]",
            *(f"{IAM5}[Resource::arn:aws:logs:{region}:{account}:log-group:/aws/codebuild/<{p}>:*]" for p in projects),
            *(f"{IAM5}[Resource::arn:aws:codebuild:{region}:{account}:report-group/<{p}>-*]" for p in projects),
        ),
    )


def _launching_products(config: OrgConfig) -> list[NagAcknowledgement]:
    """The roles that launch the portfolio's products: the teams' Studio roles and the Feature
    Store's producer role."""
    _, hub = config.account_with(Role.MANAGEMENT)
    products = f"{IAM5}[Resource::arn:<AWS::Partition>:catalog:{config.region_of(hub)}:{hub.id}:product/*]"
    reason = (
        "The self-service portfolio's products (the hub account owns them; which of them a role may "
        "launch, Service Catalog decides by the portfolio's principal names)."
    )
    return [
        *_for_team_roles(
            ("DataScientist", "MlEngineer"),
            f"{reason} SageMaker projects are named by the people who create them from Studio.",
            products,
            _wildcard("sagemaker", "project/*"),
        ),
        *_at(
            "FeatureStore/ProducerPolicy",
            f"{reason} Service Catalog's browsing and the provisioned products the role launched itself "
            "(servicecatalog:roleLevel self) take no resource.",
            products,
            f"{IAM5}[Resource::*]",
        ),
    ]


def _self_service(config: OrgConfig) -> list[NagAcknowledgement]:
    """The catalog (management) and the roles its products launch as (ml-dev, data)."""
    org = config.organization.name
    catalog = config.self_service
    _, management = config.account_with(Role.MANAGEMENT)
    launch = "SelfService/Launch-*Policy"
    team_roles = f"{IAM5}[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/{org}-team-*]"
    provisioned_buckets = (f"{IAM5}[Resource::arn:aws:s3:::sc-*]", f"{IAM5}[Resource::arn:aws:s3:::sc-*/*]")
    keys = _wildcard("kms", "key/*")
    projects = f"{org}-project-*"
    return [
        *_at(
            launch,
            "Service Catalog names the stacks it provisions SC-<account>-pp-<id>; templates are read from "
            "Service Catalog's own bucket, only objects it tags servicecatalog:provisioning; the products' "
            "templates read the platform's parameters under /<org>/.",
            _wildcard("cloudformation", "stack/SC-*"),
            _wildcard("ssm", f"parameter/{org}/*"),
            f"{IAM5}[Resource::*]",
        ),
        *_at(
            launch,
            "Key ids are not known when the role is made; every key grant is conditioned on kms:ViaService, "
            "so the key is used only through SageMaker, S3 or CodeBuild for the product's resources.",
            keys,
        ),
        *_at(
            "SelfService/Launch-studio-userPolicy",
            "Profiles and spaces are named by the person launching; the domain id is the account's one domain. "
            "The teardown function's generated name starts with the organization prefix; team roles are passed "
            "only to SageMaker.",
            _wildcard("sagemaker", "user-profile/*/*"),
            _wildcard("sagemaker", "space/*/*"),
            _wildcard("lambda", f"function:{org}-*"),
            _wildcard("sagemaker", "image/*"),
            _wildcard("sagemaker", "image-version/*/*"),
            team_roles,
        ),
        *_at(
            "SelfService/Launch-notebookPolicy",
            "Notebook and security group names are chosen at launch; team roles are passed only to SageMaker.",
            _wildcard("sagemaker", "notebook-instance/*"),
            _wildcard("ec2", "security-group/*"),
            _wildcard("ec2", "vpc/*"),
            team_roles,
        ),
        *_at(
            "SelfService/Launch-feature-groupPolicy",
            "Feature groups are named at launch under the organization prefix, in the Feature Store's catalog "
            "database; only the store's own roles are passed, and only to SageMaker.",
            _wildcard("sagemaker", f"feature-group/{org}-*"),
            _wildcard("glue", f"table/{org.replace('-', '_')}_feature_store/*"),
            f"{IAM5}[Resource::arn:<AWS::Partition>:iam::<AWS::AccountId>:role/{org}-feature-store-*]",
        ),
        *_at(
            "SelfService/Launch-projectPolicy",
            "A project's resources are named at launch under the organization's project prefix; its bucket "
            "and rule are named after the provisioned stack (sc-/SC-) in this account. The bucket actions are "
            "what CloudFormation's S3 bucket handler may call to create, configure, empty and delete a bucket "
            "(its registry schema; proven needed by make preflight), on the product's own buckets only.",
            _wildcard("sagemaker", f"model-package-group/{projects}"),
            _wildcard("codebuild", f"project/{projects}"),
            _wildcard("codepipeline", projects),
            _wildcard("codepipeline", f"{projects}/*"),
            _wildcard("events", "rule/SC-*"),
            f"{IAM5}[Resource::arn:<AWS::Partition>:s3:::sc-<AWS::AccountId>-pp-*]",
            f"{IAM5}[Resource::arn:<AWS::Partition>:s3:::sc-<AWS::AccountId>-pp-*/*]",
            *(
                f"{IAM5}[Action::s3:{action}]"
                for action in (
                    "GetBucket*",
                    "PutBucket*",
                    "DeleteBucket*",
                    "Get*Configuration",
                    "Put*Configuration",
                    "Create*Configuration",
                    "Delete*Configuration",
                    "Update*Configuration",
                )
            ),
        ),
        *_at(
            "SelfService/ProjectBuildPolicy",
            "Projects' pipelines, model groups and their versioned packages, the models and endpoints they "
            "deploy, logs and artifact buckets are named at launch under the project prefix (buckets after "
            "the provisioned stack); keys are used only through S3 and CodeBuild; team roles "
            "are passed only to SageMaker.",
            _wildcard("sagemaker", f"pipeline/{projects}"),
            _wildcard("sagemaker", f"model-package-group/{projects}"),
            _wildcard("sagemaker", f"model-package/{projects}/*"),
            *(_wildcard("sagemaker", f"{kind}/{projects}") for kind in ("model", "endpoint-config", "endpoint")),
            _wildcard("logs", f"log-group:/aws/codebuild/{projects}"),
            *provisioned_buckets,
            keys,
            team_roles,
        ),
        *_at(
            "SelfService/ProjectPipelinePolicy",
            "Projects' build projects and artifact buckets are named at launch; keys are used only through S3 "
            "and CodeBuild; the connection is the one each project names, and its use needs the connection "
            "owner's RAM share.",
            _wildcard("codebuild", f"project/{projects}"),
            *provisioned_buckets,
            keys,
            f"{IAM5}[Resource::*]",
        ),
        *_at(
            "SelfService/ProjectTriggerPolicy",
            "Approval rules start the deploy pipeline of their own project; projects' pipelines are named at "
            "launch under the organization's project prefix.",
            _wildcard("codepipeline", projects),
        ),
        *_at(
            "SelfService/CatalogSetup/Policy",
            "sagemaker:EnableSagemakerServicecatalogPortfolio is an account-level switch: IAM defines no "
            "resource for it.",
            f"{IAM5}[Resource::*]",
        ),
        *_at(
            "Catalog/CatalogSetup/Policy",
            "Service Catalog's Organizations access and share status, and the Organizations calls it makes, "
            "take no resource; the share actions themselves are limited to the portfolio.",
            f"{IAM5}[Resource::*]",
        ),
        # A management account with a workload role has a VPC, and the function runs in it.
        *(
            _at(
                "Catalog/CatalogSetup/Function",
                "The management account runs no workloads and has no VPC; the function calls only the Service "
                "Catalog and Organizations APIs.",
                "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
            )
            if management.network is None
            else ()
        ),
        # The project template is built twice: as the portfolio's product, and as the S3-based template.
        *(
            ack
            for stack in ("Catalog", "SelfService")
            for ack in (
                *_at(
                    f"{stack}/MlopsProjectTemplate/Artifacts",
                    "A project's pipeline artifacts are rebuilt by every execution; a second-region copy adds nothing.",
                    *REPLICATION,
                ),
                *_at(
                    f"{stack}/MlopsProjectTemplate/ApprovalDecisions",
                    "The rule's target is the alerts topic of the account the project launches in (its ARN read "
                    "from the baseline's SSM parameter at launch): rule and topic share account and region.",
                    "Annotation::@aws-cdk/aws-events:ruleUnresolvedEnvironment",
                ),
                *_at(
                    f"{stack}/MlopsProjectTemplate/Approvals",
                    "The rule's target is the project's deploy pipeline, created by the same template in the "
                    "account the project launches in (its ARN written with that account's pseudo parameters, the "
                    "rule depending on the pipeline): rule and pipeline share account and region.",
                    "Annotation::@aws-cdk/aws-events:ruleUnresolvedEnvironment",
                ),
                *(
                    ack
                    for project in ("Build", "Deploy")
                    for ack in _at(
                        f"{stack}/MlopsProjectTemplate/{project}",
                        "The project's source is CODEPIPELINE: it holds no repository URL or credentials; the "
                        "pipeline reaches the repository through its CodeConnections connection.",
                        *SOURCE_REPO_URL,
                    )
                ),
            )
        ),
        *_at(
            "SelfService/ProjectTemplates",
            "The templates are published from the platform's own code on every deployment; a second-region "
            "copy adds nothing.",
            *REPLICATION,
        ),
        *(
            _at(
                "SelfService/CatalogSetup/Policy",
                "The function publishes and removes only the templates under the bucket's templates/ prefix.",
                f"{IAM5}[Resource::<ProjectTemplates3D1C78BF.Arn>/templates/*]",
            )
            if catalog is not None and catalog.s3_project_templates
            else ()
        ),
    ]


def _inference_apis(config: OrgConfig) -> list[NagAcknowledgement]:
    with_apis = [endpoint for endpoint in config.endpoints if endpoint.api is not None]
    if not with_apis:
        return []
    # Each deployment's API is named after it (naming.deployed_name).
    deployed = dict.fromkeys(
        (placement.deployed_name(endpoint.name), endpoint)
        for endpoint in with_apis
        for placement in config.placements_of(endpoint)
    )
    acks = [
        *_at(
            "InferenceApis-0/GatewayLogging/RolePolicy",
            "Each inference API's access log group is named after the API, and every API of the platform "
            "after the organization.",
            _wildcard("logs", f"log-group:API-Gateway-Access-Logs_{config.organization.name}-*"),
        )
    ]
    for name, endpoint in deployed:
        if endpoint.api is not None and endpoint.api.max_concurrency is None:
            acks += _at(
                f"InferenceApis-*/Api-{name}/Function/Function",
                f"{NO_RESERVATION}What bounds it: the stage's throttling ({endpoint.api.rate_limit_rps:g} requests "
                f"per second, bursts of {endpoint.api.burst_limit}) and WAF's limit per IP address; set the API's "
                "max_concurrency to reserve some once the account's quota allows.",
                *UNRESERVED_CONCURRENCY,
            )
        if endpoint.api is not None and endpoint.api.authorization == "iam":
            acks += _at(
                f"InferenceApis-*/Api-{name}/Api/Default/invocations/POST",
                f"The inference API of {endpoint.name} is configured for IAM authorization: callers sign "
                "with SigV4 and the API's resource policy admits only the listed accounts.",
                "AwsSolutions::AwsSolutions-COG4",
            )
    return acks


def _batch_inference(config: OrgConfig) -> list[NagAcknowledgement]:
    """The serving accounts' batch jobs: their locations, logs and transform jobs."""
    if not config.batch_inference:
        return []
    acks = [
        *_at(
            "Serving/ModelExecutionPolicy",
            "Transform jobs write to one log group per job family under /aws/sagemaker/TransformJobs, "
            "named by SageMaker.",
            _wildcard("logs", "log-group:/aws/sagemaker/TransformJobs*"),
        ),
        *_at(
            "Serving/BatchPipelinePolicy",
            "SageMaker Pipelines names the transform jobs it starts pipelines-<execution>-<step>-<suffix>; "
            "only the pipelines of this account run as this role.",
            _wildcard("sagemaker", "transform-job/pipelines-*"),
        ),
        *_at(
            "Serving/BatchLocations",
            "Inputs under a job's prefix are the files a team drops there, and results land under names "
            "the transform job derives from them; decrypting through S3 covers the keys of locations the "
            "config names in other buckets of the production account, whose ids this account's stacks "
            "cannot know.",
            _wildcard("kms", "key/*"),
        ),
    ]
    for name in config.serving_accounts():
        for served in config.batch_jobs_served_in(name):
            acks += _at(
                "Serving/BatchLocations",
                f"Batch job {served.name} reads every file under its input prefix and writes its results, a "
                "folder per run, under its output prefix.",
                *(
                    f"{IAM5}[Resource::arn:<AWS::Partition>:s3:::{location.removeprefix('s3://')}*]"
                    for location in batch_locations(config, served)
                ),
            )
    return acks


def _provider_framework(framework: str, runs: str, function: str, function_id: str) -> list[NagAcknowledgement]:
    """The onEvent function of CDK's custom resource provider framework at `framework`, which
    invokes `function` (logical id `function_id`)."""
    return [
        *_at(
            framework,
            "CDK's custom resource provider framework: CloudFormation invokes it and it answers CloudFormation "
            f"itself, failures included, so a dead-letter queue would hold nothing; it runs {runs}.",
            "HIPAA.Security::HIPAA.Security-LambdaDLQ",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaDLQ",
            "HIPAA.Security::HIPAA.Security-LambdaConcurrency",
            "NIST.800.53.R5::NIST.800.53.R5-LambdaConcurrency",
        ),
        *_at(
            f"{framework}/ServiceRole",
            "CDK's custom resource provider framework: its role writes its own logs (the AWS managed basic "
            f"execution policy) and invokes {function}, any version of it.",
            "AwsSolutions::AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/"
            "AWSLambdaBasicExecutionRole]",
            f"{IAM5}[Resource::<{function_id}.Arn>:*]",
            *INLINE_POLICY,
        ),
    ]


def _account_placement(config: OrgConfig) -> list[NagAcknowledgement]:
    """The management account's placement of existing accounts (stacks.placement_stack)."""
    if not config.landing_zone.move_accounts:
        return []
    landing_zone = config.landing_zone
    _, management = config.account_with(Role.MANAGEMENT)
    framework = "Placement/AccountPlacementProvider/framework-onEvent"
    return [
        *(
            ack
            for function in ("Placement/AccountPlacement/Function", framework)
            for ack in _at(
                function,
                "The function calls only Organizations, a global service that no VPC endpoint of the baseline "
                "serves: it runs outside any VPC.",
                "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
            )
        ),
        *_at(
            "Placement/AccountPlacement/Function",
            f"{NO_RESERVATION}What bounds it: CloudFormation invokes it once per account whose placement a "
            "deployment creates or changes, one account after the other.",
            *UNRESERVED_CONCURRENCY,
        ),
        *_provider_framework(
            framework,
            "once per account whose placement a deployment creates or changes",
            "the placement function",
            "AccountPlacementFunctionE575BAF9",
        ),
        *_at(
            "Placement/AccountPlacement/Policy",
            "MoveAccount is authorized on the OU an account leaves as well as the one it joins, and where an "
            "existing account is before the move is not known: any OU of this organization.",
            f"{IAM5}[Resource::arn:<AWS::Partition>:organizations::{management.id}:ou/"
            f"{landing_zone.organization_id}/ou-*]",
        ),
    ]


def _recovery(config: OrgConfig) -> list[NagAcknowledgement]:
    """The recovery regions: standby serving, the archive copy, the pipelines' replication buckets."""
    if not config.recovery_regions():
        return []
    org = config.organization.name
    _, tooling = config.account_with(Role.SHARED_SERVICES)
    framework = "Serving/ModelArchiveCopyProvider/framework-onEvent"
    acks = [
        *_at(
            "Serving/RecoveryModels",
            "The copies of approved packages' archives a standby serves; the registry's bucket in the "
            "development account holds the originals and the deployment pipeline copies again.",
            *REPLICATION,
        ),
        *_at(
            "PipelineReplication-*/Replication",
            "Pipeline artifacts handed to actions in this region: every execution writes them anew and they "
            "expire after 90 days.",
            *REPLICATION,
        ),
        *(
            ack
            for function in ("Serving/ModelArchiveCopy/Function", framework)
            for ack in _at(
                function,
                "The copy reads the model registry in its own region (SageMaker and S3), which the isolated "
                "VPC's endpoints cannot reach: they serve their own region only.",
                "HIPAA.Security::HIPAA.Security-LambdaInsideVPC",
                "NIST.800.53.R5::NIST.800.53.R5-LambdaInsideVPC",
                "PCI.DSS.321::PCI.DSS.321-LambdaInsideVPC",
            )
        ),
        *_provider_framework(
            framework, "once per deployment of a standby", "the copy function", "ModelArchiveCopyFunctionD24D9088"
        ),
        *_at(
            "Serving/ModelArchiveCopy/Policy",
            "The copy writes one folder per package version under packages/.",
            f"{IAM5}[Resource::<RecoveryModelsB3CB1E70.Arn>/packages/*]",
        ),
    ]
    for region in config.recovery_regions():
        acks += _at(
            "Serving/ModelExecutionInRecoveryRegion",
            "Standbys read the copied archives under packages/ (one folder per package version), write "
            "captured requests under keys SageMaker chooses below endpoints/, log to one group per endpoint, "
            "and pull SageMaker's framework images from AWS-owned accounts, in repositories named sagemaker-*.",
            f"{IAM5}[Resource::<RecoveryModelsB3CB1E70.Arn>/packages/*]",
            f"{IAM5}[Resource::<DataCapture91154E3A.Arn>/endpoints/*]",
            _wildcard("logs", "log-group:/aws/sagemaker/Endpoints/*"),
            f"{IAM5}[Resource::arn:<AWS::Partition>:ecr:{region}:*:repository/sagemaker-*]",
        )
        replication = naming.bucket_name(org, "pipeline-replication", tooling.id, region)
        for path in (f"{PIPELINE_ROLES}/Role/DefaultPolicy", "Toolchain/Pipeline"):
            acks += _at(
                path,
                f"The pipeline writes the artifacts of its actions in {region} to that region's replication "
                "bucket, under keys chosen per execution.",
                f"{IAM5}[Resource::arn:aws:s3:::{replication}/*]",
            )
    standbys = [endpoint for endpoint in config.endpoints if endpoint.recovery_region is not None]
    for model in config.models:
        if any(endpoint.model == model.name for endpoint in standbys):
            dev, dev_region = config.registry_of(model)
            acks += _at(
                "Serving/ModelArchiveCopy/Policy",
                f"The copy describes the versions of model group {org}-{model.name} (numbered as they are "
                "registered) and reads their archives, which training and tuning jobs write below their "
                "run's and their own generated names, decrypting through S3 with that account's models key, "
                "whose id this account cannot know.",
                _wildcard_in(dev_region, dev.id, "sagemaker", f"model-package/{org}-{model.name}/*"),
                *_artifacts(config, model, model_archives(model.name)),
                _wildcard_in(dev_region, dev.id, "kms", "key/*"),
            )
    return acks


def _served_models(config: OrgConfig) -> list[NagAcknowledgement]:
    """What serving accounts read of their models' registries: the models of approved packages,
    multi-model archives, and the baselines production monitoring compares with."""
    acks: list[NagAcknowledgement] = []
    served = {endpoint.model for endpoint in config.endpoints} | {job.model for job in config.batch_inference}
    for model in config.models:
        if model.name not in served:
            continue
        dev, dev_region = config.registry_of(model)
        acks += _at(
            "Serving/ModelExecutionPolicy",
            f"Endpoints and batch jobs run the approved packages of {model.name}: models its training and "
            "tuning jobs wrote below their run's and their own generated names (never the training data), "
            "decrypted with its registry's models key, whose id the serving account cannot know in advance "
            "(decryption only through S3, and that key's policy admits only the serving accounts).",
            *_artifacts(config, model, model_archives(model.name)),
            f"{IAM5}[Resource::arn:<AWS::Partition>:kms:{dev_region}:{dev.id}:key/*]",
        )
    for endpoint in config.endpoints:
        if endpoint.multi_model is not None:
            models_uri = endpoint.multi_model.models_uri or multi_model_prefix(config, endpoint)
            acks += _at(
                "Serving/ModelExecutionPolicy",
                f"The multi-model endpoint {endpoint.name} loads whichever archive a request names "
                "(TargetModel), from below its models prefix only.",
                f"{IAM5}[Resource::arn:<AWS::Partition>:s3:::{models_uri.removeprefix('s3://')}*]",
            )
    for endpoint in config.endpoints:
        if endpoint.monitoring is None:
            continue
        model = next(m for m in config.models if m.name == endpoint.model)
        dev, dev_region = config.registry_of(model)
        acks += _at(
            "Serving/ModelMonitorPolicy",
            f"Model Monitor reads the drift-check baselines the packages of {model.name} register, which "
            "each pipeline run writes below its own execution id, decrypted through S3 with its registry's "
            "models key, whose id this account cannot know.",
            *_artifacts(config, model, baseline_files(model.name)),
            f"{IAM5}[Resource::arn:<AWS::Partition>:kms:{dev_region}:{dev.id}:key/*]",
        )
    if any(e.monitoring is not None and e.monitoring.feature_attribution is not None for e in config.endpoints):
        acks += _at(
            "Serving/ModelMonitorPolicy",
            "Feature-attribution monitoring: Clarify serves the monitored endpoint's model from a shadow "
            "endpoint it names sm-clarify-<generated> (and its config) for the length of the job, and finds "
            "that model through the endpoint's config; CloudFormation names the configs and models of each "
            "deployment.",
            _wildcard("sagemaker", "endpoint/sm-clarify-*"),
            _wildcard("sagemaker", "endpoint-config/sm-clarify-*"),
            _wildcard("sagemaker", "endpoint-config/*"),
            _wildcard("sagemaker", "model/*"),
        )
    return acks


def _wildcard_in(region: str, account: str, service: str, resource: str) -> str:
    return f"{IAM5}[Resource::arn:<AWS::Partition>:{service}:{region}:{account}:{resource}]"


def _clarify_model_checks(config: OrgConfig) -> list[NagAcknowledgement]:
    """The model-build pipelines whose Clarify checks call the candidate model."""
    return [
        ack
        for model in config.models
        if model.bias_check is not None
        for ack in _at(
            f"ModelBuild-*/Pipeline-{model.name}/Pipeline",
            "Clarify's post-training bias and SHAP checks create a shadow endpoint of the candidate model and "
            "invoke it, which a network-isolated job cannot; they run in the VPC, reaching SageMaker only "
            "through its interface endpoints, with the team's key on volumes and outputs, and the candidate "
            "model itself is network-isolated.",
            "SageMaker::SageMaker-PipelineStepsIsolated[ModelBiasCheck]",
            "SageMaker::SageMaker-PipelineStepsIsolated[ModelExplainabilityCheck]",
        )
    ]


def acknowledgements(config: OrgConfig) -> tuple[NagAcknowledgement, ...]:
    """Every acknowledgement for `config`: the fixed ones, and those whose finding ids carry
    names from the config (the organization prefix, the models of each team)."""
    org = config.organization.name
    database = f"{org.replace('-', '_')}_feature_store"
    named = [
        *_at(
            "FeatureStore/ConsumerPolicy",
            "Readers may read every feature group of the platform (their names start with the organization "
            "prefix) and every table of the Feature Store's catalog database.",
            _wildcard("sagemaker", f"feature-group/{org}-*"),
            _wildcard("glue", f"table/{database}/*"),
        ),
        *_at(
            "FeatureStore/ProducerPolicy",
            "Ingestion may write every feature group of the platform (their names start with the organization prefix).",
            _wildcard("sagemaker", f"feature-group/{org}-*"),
        ),
        *_at(
            "FeatureStore/OfflineStoreWriterPolicy",
            "Feature Store creates one catalog table per feature group in the Feature Store's database.",
            _wildcard("glue", f"table/{database}/*"),
        ),
    ]
    if config.self_service is not None:
        named += _self_service(config)
        named += _launching_products(config)
    named += _batch_inference(config)
    named += _clarify_model_checks(config)
    named += _recovery(config)
    named += _account_placement(config)
    named += _at(
        "Registry/Approval/Policy",
        "The model-build stacks publish one record per model package group under this path, named after "
        "the group; the function reads the record of the group an event names.",
        _wildcard("ssm", f"parameter{naming.model_group_records(org)}/*"),
    )
    named += _at(
        "Registry/DriftRetraining/Policy",
        "The model-build stacks publish one record per retraining alarm under this path, named after the "
        "alarm; the function reads the record of the alarm an event names.",
        _wildcard("ssm", f"parameter{naming.drift_alarm_records(org)}/*"),
    )
    named += _at(
        "Registry/Approval/Policy",
        "The approval function records the approved package of every platform model under one "
        "parameter path named after the organization.",
        _wildcard("ssm", f"parameter/{org}/models/*"),
    )
    for model in config.models:
        named += _at(
            "Registry/Approval/Policy",
            f"Versions of model group {org}-{model.name} are numbered as they are registered; the function "
            "only describes them.",
            _wildcard("sagemaker", f"model-package/{org}-{model.name}/*"),
        )
    for team in config.teams:
        for model in (m for m in config.models if m.team == team):
            group = f"{org}-{model.name}"
            reason = (
                f"Model packages of the team's model group {group} get versioned names, and the group's "
                "name prefix is what scopes them to the team."
            )
            findings = [
                _wildcard("sagemaker", f"model-package-group/{group}*"),
                _wildcard("sagemaker", f"model-package/{group}*"),
            ]
            for role in TEAM_ROLES:
                named += _at(f"Team-{team}/Roles/{role}Policy", reason, *findings)
            named += _at(
                f"Team-{team}/Roles/MlEngineerPolicy",
                f"Pipelines of the team's model {model.name} are named after its model group {group}.",
                _wildcard("sagemaker", f"pipeline/{group}*"),
            )
    named += _at(
        "Serving/ModelExecutionPolicy",
        "Endpoints write captured requests under keys SageMaker chooses (endpoint, variant, date) below "
        "the endpoints/ prefix, and one log group per endpoint under /aws/sagemaker/Endpoints/. Actions "
        "without resource-level permissions: the ECR token, CloudWatch metrics (limited to SageMaker "
        "namespaces) and the network interfaces of endpoints in the VPC. SageMaker's framework images "
        "live in AWS-owned accounts, in repositories named sagemaker-*.",
        f"{IAM5}[Resource::<DataCapture91154E3A.Arn>/endpoints/*]",
        _wildcard("logs", "log-group:/aws/sagemaker/Endpoints/*"),
        f"{IAM5}[Resource::*]",
        *sorted(
            {
                f"{IAM5}[Resource::arn:<AWS::Partition>:ecr:{config.region_of(config.accounts[name])}:*:"
                "repository/sagemaker-*]"
                for name in config.serving_accounts()
            }
        ),
    )
    monitor_regions = {
        config.region_of(config.accounts[placement.account])
        for endpoint in config.endpoints
        if endpoint.monitoring is not None
        for placement in config.placements_of(endpoint)
        if placement.production
    }
    named += _at(
        "Serving/ModelMonitorPolicy",
        "Model Monitor's analyzer and Clarify's processing images live in AWS-owned accounts of each region.",
        *(
            f"{IAM5}[Resource::arn:<AWS::Partition>:ecr:{region}:*:repository/{repository}]"
            for region in sorted(monitor_regions)
            for repository in ("sagemaker-model-monitor-analyzer", "sagemaker-clarify-processing")
        ),
    )
    tested = [smoke_tested_endpoints(config, name) for name in config.serving_accounts()]
    named += _at(
        "Serving/SmokeTestPolicy",
        "The smoke test invokes whichever of the platform's endpoints (named with the organization "
        "prefix) the deployment pipeline has just deployed, and reads which package it serves from its "
        "config and models, which CloudFormation names anew with each deployment (describe only).",
        *([_wildcard("sagemaker", f"endpoint/{org}-*")] if [f"{org}-*"] in tested else []),
        _wildcard("sagemaker", "endpoint-config/*"),
        _wildcard("sagemaker", "model/*"),
    )
    named += _served_models(config)
    named += _inference_apis(config)
    team_models = {team: [model for model in config.models if model.team == team] for team in config.teams}
    for model in config.models:
        dev, dev_region = config.registry_of(model)
        artifacts = naming.model_artifacts_bucket(org, dev.id, dev_region)
        (index,) = [i for i, models in enumerate(model_build_shards(team_models[model.team])) if model in models]
        named += _at(
            f"ModelBuild-{model.team}-{index}/ModelBuildAccess",
            f"Pipeline runs of model {model.name} write new objects (splits, models, evaluations, "
            "checkpoints) under the model's own prefix of the model-artifacts bucket.",
            f"{IAM5}[Resource::arn:<AWS::Partition>:s3:::{artifacts}/{model.name}/*]",
        )
    _, tooling = config.account_with(Role.SHARED_SERVICES)
    tooling_region = config.region_of(tooling)
    named += _at(
        f"{PIPELINE_ROLES}/Test/SmokeTest-*/CodePipelineActionRole/DefaultPolicy",
        "aws_codepipeline lets the action invoke any version of the smoke-test function, which every "
        "deployment pipeline shares by its name.",
        f"{IAM5}[Resource::arn:aws:lambda:{tooling_region}:{tooling.id}:function:"
        f"{naming.role_name(org, naming.SMOKE_TEST_ROLE)}:*]",
    )
    named += _at(
        "ModelDeployments-*/Synth/Role/DefaultPolicy",
        "CodeBuild writes one log stream per build, and one report per report group of the project.",
        f"{IAM5}[Resource::arn:aws:logs:{tooling_region}:{tooling.id}:log-group:/aws/codebuild/<Synth39101DA1>:*]",
        f"{IAM5}[Resource::arn:aws:codebuild:{tooling_region}:{tooling.id}:report-group/<Synth39101DA1>-*]",
    )
    return (
        *ACKNOWLEDGEMENTS,
        *PLATFORM_FUNCTIONS,
        *STUDIO_AND_FEATURE_STORE,
        *MODEL_DEPLOYMENTS,
        *named,
        *_toolchain(config),
    )
