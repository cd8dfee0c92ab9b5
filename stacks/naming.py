"""Physical names of resources that another account or system must know in advance.

Every such name is built here and nowhere else, so the config validation can check the
result against the AWS length limit before anything is synthesized. Resources that no
other party needs to find keep CloudFormation-generated names.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class NameRule:
    """What kind of name this is and how long AWS allows it to be."""

    kind: str
    max_length: int


BUCKET = NameRule("S3 bucket name", 63)
IAM_ROLE = NameRule("IAM role name", 64)
SSM_PARAMETER = NameRule("SSM parameter name", 1011)
STUDIO_USER_PROFILE = NameRule("Studio user profile name", 63)
FEATURE_GROUP = NameRule("feature group name", 64)
MODEL_PACKAGE_GROUP = NameRule("model package group name", 63)
PIPELINE = NameRule("pipeline name", 256)
ENDPOINT = NameRule("endpoint name", 63)
CODEPIPELINE = NameRule("CodePipeline name", 100)

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
    return f"{team}-{user}"


def feature_group_name(organization: str, feature_group: str) -> str:
    return f"{organization}-{feature_group}"


def model_package_group_name(organization: str, model: str) -> str:
    return f"{organization}-{model}"


def pipeline_name(organization: str, model: str) -> str:
    return f"{organization}-{model}-build"


def endpoint_name(organization: str, endpoint: str) -> str:
    return f"{organization}-{endpoint}"


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
the name of the smoke-test function in shared-services, which every deployment pipeline invokes."""
MODEL_MONITOR_ROLE = "model-monitor"
"""Model Monitor's jobs in ml-prod accounts: read captured data and baselines, write reports."""
BATCH_PIPELINE_ROLE = "batch-pipeline"
"""The batch inference pipelines of a serving account: start transform jobs as the model execution role."""


# Bucket purposes the platform creates per account; the longest one bounds the name length.
BUCKET_PURPOSES = (
    "access-logs",
    "model-artifacts",
    "feature-store",
    "organization-trail",
    "data-capture",
    "batch-inference",
)


def model_group_records(organization: str) -> str:
    """Where each model package group's record (model, metric, threshold, direction) is published
    for the approval function: `<this>/<group name>`."""
    return ssm_parameter_name(organization, "registry", "model-groups")


def drift_alarm_records(organization: str) -> str:
    """Where each retraining alarm's record (model, endpoint, pipeline, cooldown) is published for
    the drift function: `<this>/<alarm name>`."""
    return ssm_parameter_name(organization, "registry", "drift-alarms")
