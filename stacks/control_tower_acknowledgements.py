"""Every AWS Control Tower proactive control failure the platform acknowledges instead of
fixing, with the reason (stacks.control_tower).

One entry per control and resource: the resource's construct path relative to its stage (the
same in every account; a `*` stands for one path segment named from the config, such as a
team), or for a Service Catalog product's resource the product stack's path and the logical
id. The reason must let a reviewer check that the control does not apply. `at_deploy=True`
only where the resource passes the control's hook at deploy time, and the rule fails only
because it reads the template, where CloudFormation has not resolved the value yet. An entry
that matches no failure fails the synth.

Two kinds, then:

- **resolved at deploy** (`at_deploy=True`): the property is there, but as a reference that
  CloudFormation resolves when it deploys (a parameter of type `AWS::SSM::Parameter::Value`
  holding what the baseline or the serving stack publishes, or `Fn::GetStackOutput`). The
  rules accept in a template only a literal or a reference to a resource of the same template;
  Control Tower's hook judges the resource when CloudFormation is about to create or update
  it (proactive controls are `preCreate` and `preUpdate` hook handlers, AWS Control Tower
  Controls Reference, "Proactive controls"), with the value resolved.
- **design choices** (`at_deploy=False`): the platform does not do what the control asks of
  that resource, for the reason given; an organization that turns the control on cannot
  deploy the resource (docs/operations.md, "AWS Control Tower").
"""

from __future__ import annotations

from stacks.control_tower import ControlAcknowledgement

BASELINE_SCOPES = ("Baseline", "Organization/BaselineStackSet/Template")
"""Where stacks.baseline_stack.add_account_baseline builds: the per-account stack, the StackSet template."""
PRODUCT_ARTIFACTS = (
    "Catalog/MlopsProjectTemplate/Artifacts82DD59A1",
    "SelfService/MlopsProjectTemplate/Artifacts82DD59A1",
)
"""The MLOps project product's pipeline artifact bucket, as the catalog and the self-service stack publish it."""

EVENTS_BILLED = (
    "S3 sends a bucket's events to EventBridge as opt-in data events, billed per event (Amazon EventBridge "
    "pricing), so turning them on would pay for every object written with nothing listening"
)
OBJECT_LOCK_IRREVERSIBLE = (
    "Object Lock, once on, cannot be turned off nor versioning suspended (S3 User Guide, 'Configuring S3 "
    "Object Lock'); without a retention it locks nothing, and with one it would keep what the platform must "
    "be able to delete"
)


def _resolved(path: str, control: str, what: str) -> ControlAcknowledgement:
    return ControlAcknowledgement(control, path, what, at_deploy=True)


def _subnets(path: str, control: str, resource: str) -> ControlAcknowledgement:
    return _resolved(
        path,
        control,
        f"The {resource} runs in the VPC's private subnets behind a security group of its own template: its "
        "subnet ids are `Fn::Select` of the baseline's SSM parameter `/<org>/baseline/private-subnet-ids`, which "
        "CloudFormation resolves at deploy time (the rule accepts only literal ids or subnets of the same "
        "template).",
    )


def _key(path: str, control: str, resource: str, source: str) -> ControlAcknowledgement:
    return _resolved(
        path,
        control,
        f"The {resource} is encrypted with a customer-managed KMS key whose ARN CloudFormation resolves at deploy "
        f"time from {source}; the rule accepts only a literal ARN or a key of the same template.",
    )


def _no_events(path: str, holds: str) -> ControlAcknowledgement:
    return ControlAcknowledgement(
        "CT.S3.PR.4",
        path,
        f"The bucket holds {holds}; nothing of the platform reacts to its objects' events, and {EVENTS_BILLED}.",
    )


def _no_object_lock(path: str, holds: str) -> ControlAcknowledgement:
    return ControlAcknowledgement("CT.S3.PR.9", path, f"The bucket holds {holds}. {OBJECT_LOCK_IRREVERSIBLE}.")


def _outside_vpc(path: str, reason: str) -> ControlAcknowledgement:
    return ControlAcknowledgement("CT.LAMBDA.PR.3", path, reason)


_ACCESS_LOGS = tuple(
    ack
    for scope in BASELINE_SCOPES
    for ack in (
        ControlAcknowledgement(
            "CT.S3.PR.2",
            f"{scope}/AccessLogs",
            "This bucket is the account's S3 server access log destination; logging it into itself would log "
            "every log delivery, without end.",
        ),
        ControlAcknowledgement(
            "CT.S3.PR.10",
            f"{scope}/AccessLogs",
            "S3 server access logs cannot be delivered to a bucket whose default encryption is SSE-KMS (S3 User "
            "Guide, 'Enabling Amazon S3 server access logging'), so the access-log bucket uses SSE-S3; it is "
            "still encrypted, versioned, TLS-only and private.",
        ),
        ControlAcknowledgement(
            "CT.S3.PR.9",
            f"{scope}/AccessLogs",
            "S3 buckets with Object Lock cannot be destinations of server access logs (S3 User Guide, "
            "'Configuring S3 Object Lock'); the access logs are operational data kept a year, and the immutable "
            "record is the organization trail's object-locked archive.",
        ),
        _no_events(
            f"{scope}/AccessLogs",
            "the account's S3 server access logs, a log object every few minutes from every bucket of the account",
        ),
    )
)

_BUCKETS = (
    _no_events(
        "Archive/TrailArchive/Bucket",
        "the organization trail's log files, delivered every few minutes per account and region (alerting on "
        "trail events reads the trail's CloudWatch log group)",
    ),
    *(
        ack
        for path, holds in (
            (
                "FeatureStore/OfflineStore",
                "the Feature Store's offline store, which Feature Store writes on every ingestion",
            ),
            ("ModelDeployments-*/Artifacts", "the model deployment pipelines' artifacts, written by CodePipeline"),
            ("Toolchain/Artifacts", "the platform pipeline's artifacts, written by CodePipeline"),
            (
                "PipelineReplication-*/Replication",
                "the deployment pipelines' artifacts replicated to a recovery region, written by CodePipeline",
            ),
            (
                "Registry/ModelArtifacts",
                "the model-build pipelines' data splits, models and baselines (approvals follow the model "
                "package's state changes, not objects)",
            ),
            ("SelfService/ProjectTemplates", "the templates of the SageMaker project product, written at deploy time"),
            ("Serving/BatchInference", "batch inference inputs and outputs (the jobs run on their schedule)"),
            (
                "Serving/DataCapture",
                "the endpoints' captured requests and responses, an object every few minutes per endpoint (Model "
                "Monitor reads them on its schedule)",
            ),
            ("Serving/RecoveryModels", "model archives copied for the recovery region's endpoints at deploy time"),
            ("Team-*/Bucket", "a team's data (its pipelines start on a schedule or by a person, not on objects)"),
            *((path, "an MLOps project's pipeline artifacts, written by CodePipeline") for path in PRODUCT_ARTIFACTS),
        )
        for ack in (_no_events(path, holds), _no_object_lock(path, holds))
    ),
    *(
        _resolved(
            path,
            "CT.S3.PR.2",
            "The bucket logs its access to the account's access-log bucket, whose name CloudFormation resolves at "
            "deploy time from the baseline's SSM parameter `/<org>/baseline/access-logs-bucket`; the rule accepts "
            "only a literal name or a bucket of the same template.",
        )
        for path in PRODUCT_ARTIFACTS
    ),
)

_LOG_GROUPS = (
    _key(
        "Trail/OrganizationTrail/LogGroup",
        "CT.CLOUDWATCH.PR.3",
        "organization trail's log group",
        "the baseline's SSM parameter `/<org>/baseline/logs-key-arn`: the account's logs key, whose policy lets "
        "CloudWatch Logs use it for this account's log groups",
    ),
    *(
        _key(
            f"InferenceApis-*/Api-*/{group}",
            "CT.CLOUDWATCH.PR.3",
            what,
            "the serving stack's SSM parameter `/<org>/serving/key-arn`: the serving key, whose policy lets CloudWatch "
            "Logs use it for this account's log groups",
        )
        for group, what in (
            ("AccessLogs", "inference API's access log group"),
            ("WebAclLogs", "inference API's WAF log group"),
            ("Function/Logs", "inference API function's log group"),
        )
    ),
)

_QUEUES = (
    *(
        _key(
            path,
            "CT.SQS.PR.2",
            "dead-letter queue",
            "the serving stack's SSM parameter `/<org>/serving/key-arn`",
        )
        for path in (
            "InferenceApis-*/Api-*/Function/DeadLetterQueue",
            "Batch-*/Batch/Schedule/DeadLetterQueue",
            "Endpoint-*/DriftForwarding/DeadLetterQueue",
        )
    ),
    _key(
        "ModelBuild-*/Retraining-*/DeadLetterQueue",
        "CT.SQS.PR.2",
        "retraining schedule's dead-letter queue",
        "the model registry stack's output of its models key (`Fn::GetStackOutput`)",
    ),
)

_FUNCTIONS = (
    *(
        _subnets(path, "CT.LAMBDA.PR.3", "function")
        for path in (
            "Registry/Approval/Function",
            "Registry/DriftRetraining/Function",
            "SelfService/CatalogSetup/Function",
            "Studio/StudioTeardown/Function",
            "InferenceApis-*/Api-*/Function/Function",
        )
    ),
    _outside_vpc(
        "Baseline/Custom::VpcRestrictDefaultSGCustomResourceProvider/Handler",
        "CDK's own provider behind the VPC's restrictDefaultSecurityGroup (the StackSet template uses an AWS Config "
        "remediation instead): it runs only while CloudFormation deploys the VPC, to revoke the default security "
        "group's rules, calls nothing but EC2's API, and CDK offers no VPC placement for it.",
    ),
    _outside_vpc(
        "Catalog/CatalogSetup/Function",
        "The management account has no VPC (the baseline builds one in workload accounts only); the function "
        "shares the portfolio through the Service Catalog and Organizations APIs at deploy time.",
    ),
    *(
        _outside_vpc(
            f"ModelDeployments-*/{function}/Function",
            f"The shared-services account has no VPC (the baseline builds one in workload accounts only); the "
            f"function {does}.",
        )
        for function, does in (
            ("DeploymentStarter", "starts the model's deployment pipeline through CodePipeline's API"),
            (
                "SmokeTest",
                "assumes the smoke-test role in ml-test and calls SageMaker's APIs there, through their public "
                "endpoints, as CodePipeline's actions do",
            ),
        )
    ),
    _outside_vpc(
        "Serving/ModelArchiveCopy/Function",
        "The function copies the model archive from the home region's bucket into the recovery region's: in the "
        "recovery region's VPC, which has no internet or NAT gateway, S3 is reached only through the gateway "
        "endpoint, which serves buckets of its own region only (VPC User Guide, 'Gateway endpoints for Amazon S3').",
    ),
    _outside_vpc(
        "Serving/ModelArchiveCopyProvider/framework-onEvent",
        "CDK's provider framework function of the model archive copy: it only invokes the copy function through "
        "Lambda's API while CloudFormation deploys, and the VPC has no Lambda interface endpoint (the baseline's "
        "endpoints are those of the services its workloads call).",
    ),
)

ACCOUNT_PLACEMENT = tuple(
    _outside_vpc(path, reason)
    for path, reason in (
        (
            "Placement/AccountPlacement/Function",
            "The function calls only Organizations' API, a global service that no VPC endpoint serves, to move "
            "existing accounts into their OUs while CloudFormation deploys; it runs in the management account.",
        ),
        (
            "Placement/AccountPlacementProvider/framework-onEvent",
            "CDK's provider framework function of the account placement: it only invokes the placement function "
            "through Lambda's API while CloudFormation deploys, in the management account, outside any VPC.",
        ),
    )
)
"""The management account's account placement (`landing_zone.move_accounts`), which the example
cannot build (it creates its accounts): config/control-tower.yaml does (tests/test_adoption.py)."""

_NOTEBOOK = tuple(
    _subnets("Catalog/NotebookTemplate/Notebook", control, "notebook instance (direct internet access disabled)")
    for control in ("CT.SAGEMAKER.PR.1", "CT.SAGEMAKER.PR.2")
)

ACKNOWLEDGEMENTS: tuple[ControlAcknowledgement, ...] = (
    *_ACCESS_LOGS,
    *_BUCKETS,
    *_LOG_GROUPS,
    *_QUEUES,
    *_FUNCTIONS,
    *ACCOUNT_PLACEMENT,
    *_NOTEBOOK,
)
