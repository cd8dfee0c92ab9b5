"""Physical names of resources that another account or system must know in advance, and the
names (alarms, pipeline actions) that two config entries could otherwise make twice.

Every such name is built here and nowhere else, so the config validation can check the
result against AWS's rule for it (`NameRule`) before anything is synthesized. Resources that
no other party needs to find keep CloudFormation-generated names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    """What kind of name this is and what AWS allows: its length, its characters (`pattern`,
    described by `characters`), and the prefixes and suffixes AWS reserves."""

    kind: str
    max_length: int
    min_length: int = 1
    pattern: str = r".+"
    characters: str = ""
    reserved_prefixes: tuple[str, ...] = ()
    reserved_suffixes: tuple[str, ...] = ()
    forbidden_parts: tuple[str, ...] = ()

    def violation(self, name: str) -> str | None:
        """What is wrong with `name` under this rule, or None."""
        checks = (
            (len(name) > self.max_length, f"is {len(name)} characters, over the limit of {self.max_length}"),
            (len(name) < self.min_length, f"is {len(name)} characters, under the minimum of {self.min_length}"),
            (not re.fullmatch(self.pattern, name), f"may contain only {self.characters}"),
            *(
                (name.startswith(prefix), f"starts with '{prefix}', which AWS reserves")
                for prefix in self.reserved_prefixes
            ),
            *(
                (name.endswith(suffix), f"ends with '{suffix}', which AWS reserves")
                for suffix in self.reserved_suffixes
            ),
            *((part in name, f"contains '{part}', which AWS does not allow") for part in self.forbidden_parts),
        )
        return next((f"{self.kind} '{name}' {message}" for failed, message in checks if failed), None)


SAGEMAKER_NAME = r"[a-zA-Z0-9](-*[a-zA-Z0-9])*"
SAGEMAKER_CHARACTERS = "letters, digits and hyphens, starting and ending with a letter or digit"

BUCKET = NameRule(
    "S3 bucket name",
    63,
    min_length=3,
    pattern=r"[a-z0-9][a-z0-9.-]*[a-z0-9]",
    characters="lower-case letters, digits, dots and hyphens, starting and ending with a letter or digit",
    # Amazon S3 User Guide, "General purpose bucket naming rules".
    reserved_prefixes=("xn--", "sthree-", "amzn-s3-demo-"),
    reserved_suffixes=("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3"),
    forbidden_parts=("..",),
)
IAM_ROLE = NameRule("IAM role name", 64, pattern=r"[\w+=,.@-]+", characters="letters, digits and +=,.@_-")
LAMBDA_FUNCTION = NameRule("Lambda function name", 64, pattern=r"[a-zA-Z0-9_-]+", characters="letters, digits, - and _")
SSM_PARAMETER = NameRule("SSM parameter name", 1011)
STUDIO_USER_PROFILE = NameRule("Studio user profile name", 63, pattern=SAGEMAKER_NAME, characters=SAGEMAKER_CHARACTERS)
STUDIO_SPACE = NameRule("Studio space name", 63, pattern=SAGEMAKER_NAME, characters=SAGEMAKER_CHARACTERS)
FEATURE_GROUP = NameRule(
    "feature group name",
    64,
    pattern=r"[a-zA-Z0-9]([_-]*[a-zA-Z0-9])*",
    characters="letters, digits, hyphens and underscores, starting and ending with a letter or digit",
)
MODEL_PACKAGE_GROUP = NameRule("model package group name", 63, pattern=SAGEMAKER_NAME, characters=SAGEMAKER_CHARACTERS)
PIPELINE = NameRule("pipeline name", 256, pattern=SAGEMAKER_NAME, characters=SAGEMAKER_CHARACTERS)
ENDPOINT = NameRule("endpoint name", 63, pattern=SAGEMAKER_NAME, characters=SAGEMAKER_CHARACTERS)
MONITORING_SCHEDULE = NameRule("monitoring schedule name", 63, pattern=SAGEMAKER_NAME, characters=SAGEMAKER_CHARACTERS)
CODEPIPELINE = NameRule("CodePipeline name", 100, pattern=r"[A-Za-z0-9.@_-]+", characters="letters, digits and .@_-")
CODEPIPELINE_ACTION = NameRule(
    "CodePipeline action name", 100, pattern=r"[A-Za-z0-9.@_-]+", characters="letters, digits and .@_-"
)
ALARM = NameRule("CloudWatch alarm name", 255, pattern=r"[^\x00-\x1f\x7f]+", characters="no control characters")

ORGANIZATION_TAG = "platform:organization"
ACCOUNT_TAG = "platform:account"
"""Tags every stage puts on its resources: the organization, and the config's account name."""


def stack_name(organization: str, *parts: str) -> str:
    """CloudFormation stack name an admin finds in the console; unique within one account."""
    return "-".join((organization, *parts))


def bucket_name(organization: str, purpose: str, account_id: str, region: str) -> str:
    """Globally unique bucket name: the account id and region make it collision-free."""
    return f"{organization}-{purpose}-{account_id}-{region}"


def model_artifacts_bucket(organization: str, account_id: str, region: str) -> str:
    """An ml-dev account's registry bucket: training outputs, baselines and model archives."""
    return bucket_name(organization, "model-artifacts", account_id, region)


def role_name(organization: str, purpose: str) -> str:
    """Role name other accounts trust or assume, identical in every account of the org."""
    return f"{organization}-{purpose}"


def launch_role_name(organization: str, product: str) -> str:
    """The role Service Catalog launches a product's stacks as, in each account that launches
    it (stacks.self_service_stack creates it; the launch constraint and proofs name it)."""
    return role_name(organization, f"catalog-launch-{product}")


def permissions_boundary(organization: str) -> str:
    """The managed policy every role the platform deploys carries as its permissions boundary,
    the CloudFormation execution role included (proofs.deploy.policies writes it)."""
    return f"{organization}-permissions-boundary"


def execution_policy(organization: str, index: int) -> str:
    """The `index`-th (from 1) of an account's generated CloudFormation execution policies."""
    return f"{execution_policy_prefix(organization)}{index}"


def execution_policy_prefix(organization: str) -> str:
    return f"{organization}-cdk-execution-"


def ssm_parameter_name(organization: str, *parts: str) -> str:
    """Where a baseline publishes a value that later stacks read at deploy time."""
    return "/" + "/".join((organization, *parts))


def trail_name(organization: str) -> str:
    return f"{organization}-organization-trail"


def flow_log_group_name(organization: str) -> str:
    """Known in advance so the guardrails can protect exactly this log group in every account."""
    return f"/{organization}/vpc-flow-logs"


def key_alias(organization: str, purpose: str) -> str:
    return f"alias/{organization}/{purpose}"


def deployment_bus_name(organization: str) -> str:
    """The shared-services event bus that receives model deployment requests from ml-dev accounts."""
    return f"{organization}-model-deployments"


def approved_package_parameter_prefix(organization: str) -> str:
    return f"/{organization}/models"


def user_profile_name(team: str, user: str) -> str:
    """A user's Studio profile, and the name of the user's private space."""
    return f"{team}-{user}"


def shared_space_name(team: str) -> str:
    """The Studio space every member of a team may open."""
    return f"{team}-shared"


def feature_group_name(organization: str, feature_group: str) -> str:
    return f"{organization}-{feature_group}"


def model_package_group_name(organization: str, model: str) -> str:
    return f"{organization}-{model}"


def pipeline_name(organization: str, model: str) -> str:
    return f"{organization}-{model}-build"


def endpoint_name(organization: str, endpoint: str) -> str:
    return f"{organization}-{endpoint}"


TEST_QUALIFIER = "test"
"""What a test deployment's names end with in an account that also holds its production one."""


def deployed_name(name: str, *, test_beside_production: bool) -> str:
    """The name an endpoint or batch job is deployed under in one account, from which its
    stack, construct id and physical names follow: its own, except for the test deployment in
    an account that holds the production deployment too, `<name>-test`, so that the two do not
    collide. Production keeps its name in every layout (its callers and alarms know it)."""
    return f"{name}-{TEST_QUALIFIER}" if test_beside_production else name


MONITORING_SCHEDULE_SUFFIXES = ("data-quality", "model-quality", "model-bias", "model-explainability")
"""The kinds of an endpoint's Model Monitor schedules, as their names end (ml_constructs.model_monitor)."""


def monitoring_schedule_name(endpoint_name: str, suffix: str) -> str:
    """A Model Monitor schedule of an endpoint; its metrics carry the name as a dimension."""
    return f"{endpoint_name}-{suffix}"


def monitor_alarm_name(endpoint_name: str, alarm: str) -> str:
    """An alarm Model Monitor's construct creates for an endpoint (ml_constructs.model_monitor)."""
    return f"{endpoint_name}-{alarm}"


def feature_drift_alarm(feature: str) -> str:
    """The alarm of a feature's baseline drift: `_c0` gives `drift-c0`."""
    return f"drift-{feature.replace('_', '-').strip('-')}"


def model_quality_alarm(metric: str) -> str:
    """The alarm of the model's own metric, as Model Monitor's model-quality job reports it."""
    return f"quality-{metric}"


DRIFT_COMPOSITE_ALARM = "drift"
"""The composite of an endpoint's retraining alarms, whose state changes reach its model's ml-dev account."""


def deploy_action_name(endpoint: str) -> str:
    """The action of a model's deployment pipeline that deploys one of its endpoints."""
    return f"Deploy-{endpoint}"


def deploy_recovery_action_name(endpoint: str) -> str:
    """The action that deploys an endpoint's standby in its recovery region, after the primary."""
    return f"Deploy-{endpoint}-recovery"


def deploy_batch_action_name(batch_job: str) -> str:
    """The action that deploys one of the model's batch inference jobs."""
    return f"Deploy-batch-{batch_job}"


def smoke_test_action_name(endpoint: str) -> str:
    return f"SmokeTest-{endpoint}"


def inference_api_name(organization: str, endpoint: str) -> str:
    """The REST API, its WAF web ACL and usage plan in front of an endpoint."""
    return f"{organization}-{endpoint}-api"


def batch_pipeline_name(organization: str, batch_job: str) -> str:
    """The SageMaker pipeline of a batch inference job in each serving account."""
    return f"{organization}-{batch_job}-batch"


def drift_bus_name(organization: str) -> str:
    """The ml-dev event bus that receives drift alarms from the production accounts."""
    return f"{organization}-drift"


def deployment_pipeline_name(organization: str, model: str) -> str:
    """The shared-services pipeline that takes a model's approved packages through test to production."""
    return f"{organization}-{model}-deploy"


CDK_QUALIFIER = "hnb659fds"
"""The CDK bootstrap qualifier of every account (the default)."""


def cdk_bootstrap_role(kind: str, account_id: str, region: str) -> str:
    """A role `cdk bootstrap` created: `deploy` (assumed to deploy) or `cfn-exec` (CloudFormation runs as it)."""
    return f"cdk-{CDK_QUALIFIER}-{kind}-role-{account_id}-{region}"


RECOVERY_MODELS = "recovery-models"
"""The bucket purpose of the model archives copied to a recovery region (stacks.recovery_stack)."""
MODEL_EXECUTION_ROLE = "model-execution"
"""The role an account's endpoints run as (SageMaker reads the model and writes captured data)."""
SMOKE_TEST_ROLE = "smoke-test"
"""Assumed in ml-test accounts by the deployment pipelines' smoke test to invoke endpoints; also
the name of the smoke-test function in shared-services, which every deployment pipeline invokes,
and of its role."""
SMOKE_TEST_LOCAL_ROLE = "smoke-test-endpoints"
"""The role the smoke test assumes where shared-services holds test deployments itself: there
SMOKE_TEST_ROLE is the function's own role."""


def smoke_test_role(organization: str, account: str, tooling_account: str) -> str:
    """The role the smoke test assumes in `account` to test its endpoints (config names of the
    account and of the shared-services account, where the function runs as SMOKE_TEST_ROLE)."""
    return role_name(organization, SMOKE_TEST_LOCAL_ROLE if account == tooling_account else SMOKE_TEST_ROLE)


MODEL_MONITOR_ROLE = "model-monitor"
"""Model Monitor's jobs in ml-prod accounts: read captured data and baselines, write reports."""
BATCH_PIPELINE_ROLE = "batch-pipeline"
"""The batch inference pipelines of a serving account: start transform jobs as the model execution role."""
FEATURE_STORE_PRODUCER_ROLE = "feature-store-producer"
"""The data account's role the teams' development accounts ingest features with."""
FEATURE_STORE_CONSUMER_ROLE = "feature-store-consumer"
"""The data account's role the teams' development and production accounts read features with."""


BUCKET_PURPOSES = (
    "access-logs",
    "model-artifacts",
    "feature-store",
    "organization-trail",
    "data-capture",
    "batch-inference",
    "pipeline-replication",
    "project-templates",
    RECOVERY_MODELS,
)
"""Every purpose of the buckets the platform names (`bucket_name`)."""


def model_group_records(organization: str) -> str:
    """Where each model package group's record (model, metric, threshold, direction) is published
    for the approval function: `<this>/<group name>`."""
    return ssm_parameter_name(organization, "registry", "model-groups")


def drift_alarm_records(organization: str) -> str:
    """Where each retraining alarm's record (model, endpoint, pipeline, cooldown) is published for
    the drift function: `<this>/<alarm name>`."""
    return ssm_parameter_name(organization, "registry", "drift-alarms")
