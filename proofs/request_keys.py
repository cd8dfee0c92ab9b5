"""The service-specific condition keys a request carries, from the API parameters that set
them: which property of a resource (or of a job's request) becomes which key.

From the Service Authorization Reference's condition keys with their API parameters
("Condition keys for Amazon SageMaker AI", "... for AWS Identity and Access Management"). Only
the keys the platform's own policies read are here (its SCPs and permissions boundary); a
request whose policies read a key that is missing from this table is reported as undecided
by the proofs, never decided by guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

ContextValue = str | bool | list[str]

_PATHS: dict[str, dict[str, str]] = {
    "sagemaker:CreateDomain": {
        "sagemaker:AppNetworkAccessType": "AppNetworkAccessType",
        "sagemaker:VpcSubnets": "SubnetIds",
        "sagemaker:VpcSecurityGroupIds": "DefaultUserSettings.SecurityGroups",
        "sagemaker:VolumeKmsKey": "KmsKeyId",
    },
    "sagemaker:CreateEndpointConfig": {
        "sagemaker:VolumeKmsKey": "KmsKeyId",
        "sagemaker:InstanceTypes": "ProductionVariants.InstanceType",
    },
    "sagemaker:CreateModel": {
        "sagemaker:NetworkIsolation": "EnableNetworkIsolation",
        "sagemaker:VpcSubnets": "VpcConfig.Subnets",
        "sagemaker:VpcSecurityGroupIds": "VpcConfig.SecurityGroupIds",
    },
    "sagemaker:CreateNotebookInstance": {
        "sagemaker:DirectInternetAccess": "DirectInternetAccess",
        "sagemaker:RootAccess": "RootAccess",
        "sagemaker:VolumeKmsKey": "KmsKeyId",
        "sagemaker:VpcSubnets": "SubnetId",
        "sagemaker:VpcSecurityGroupIds": "SecurityGroupIds",
        "sagemaker:InstanceTypes": "InstanceType",
    },
    "sagemaker:CreateTrainingJob": {
        "sagemaker:VpcSubnets": "VpcConfig.Subnets",
        "sagemaker:VpcSecurityGroupIds": "VpcConfig.SecurityGroupIds",
        "sagemaker:VolumeKmsKey": "ResourceConfig.VolumeKmsKeyId",
        "sagemaker:OutputKmsKey": "OutputDataConfig.KmsKeyId",
        "sagemaker:NetworkIsolation": "EnableNetworkIsolation",
        "sagemaker:InterContainerTrafficEncryption": "EnableInterContainerTrafficEncryption",
        "sagemaker:InstanceTypes": "ResourceConfig.InstanceType",
    },
    "sagemaker:CreateHyperParameterTuningJob": {
        "sagemaker:VpcSubnets": "TrainingJobDefinition.VpcConfig.Subnets",
        "sagemaker:VpcSecurityGroupIds": "TrainingJobDefinition.VpcConfig.SecurityGroupIds",
        "sagemaker:VolumeKmsKey": "TrainingJobDefinition.ResourceConfig.VolumeKmsKeyId",
        "sagemaker:OutputKmsKey": "TrainingJobDefinition.OutputDataConfig.KmsKeyId",
        "sagemaker:NetworkIsolation": "TrainingJobDefinition.EnableNetworkIsolation",
        "sagemaker:InterContainerTrafficEncryption": "TrainingJobDefinition.EnableInterContainerTrafficEncryption",
        "sagemaker:InstanceTypes": "TrainingJobDefinition.ResourceConfig.InstanceType",
    },
    "sagemaker:CreateProcessingJob": {
        "sagemaker:VpcSubnets": "NetworkConfig.VpcConfig.Subnets",
        "sagemaker:VpcSecurityGroupIds": "NetworkConfig.VpcConfig.SecurityGroupIds",
        "sagemaker:VolumeKmsKey": "ProcessingResources.ClusterConfig.VolumeKmsKeyId",
        "sagemaker:OutputKmsKey": "ProcessingOutputConfig.KmsKeyId",
        "sagemaker:NetworkIsolation": "NetworkConfig.EnableNetworkIsolation",
        "sagemaker:InterContainerTrafficEncryption": "NetworkConfig.EnableInterContainerTrafficEncryption",
        "sagemaker:InstanceTypes": "ProcessingResources.ClusterConfig.InstanceType",
    },
    "sagemaker:CreateTransformJob": {
        "sagemaker:VolumeKmsKey": "TransformResources.VolumeKmsKeyId",
        "sagemaker:OutputKmsKey": "TransformOutput.KmsKeyId",
        "sagemaker:InstanceTypes": "TransformResources.InstanceType",
    },
    "sagemaker:UpdateNotebookInstance": {
        "sagemaker:RootAccess": "RootAccess",
        "sagemaker:InstanceTypes": "InstanceType",
    },
}
"""Action -> condition key -> the dotted property path that sets it (a list step flattens)."""

_BOOLEAN_KEYS = frozenset({"sagemaker:NetworkIsolation", "sagemaker:InterContainerTrafficEncryption"})


_PASSED_TO: dict[str, str] = {
    "AWS::SageMaker::": "sagemaker.amazonaws.com",
    "AWS::Events::": "events.amazonaws.com",
    "AWS::CodePipeline::": "codepipeline.amazonaws.com",
    "AWS::CodeBuild::": "codebuild.amazonaws.com",
    "AWS::Lambda::": "lambda.amazonaws.com",
    "AWS::Scheduler::": "scheduler.amazonaws.com",
    "AWS::Glue::": "glue.amazonaws.com",
}
"""Resource types by prefix -> the service a role their properties name is passed to
(`iam:PassedToService`, "Granting a user permissions to pass a role to an AWS service", IAM
User Guide): the service that assumes it. Types not listed leave the key out."""
_PASSED_KEYS = {
    "iam:passrole": "iam:PassedToService",
    "codeconnections:passconnection": "codeconnections:PassedToService",
    "codestar-connections:passconnection": "codestar-connections:PassedToService",
}
"""Actions that pass something to the service of the resource being created, and their key
(the same for a connection passed to a pipeline, "Condition keys for AWS CodeConnections")."""


def request_keys(action: str, properties: Mapping[str, Any], resource_type: str = "") -> dict[str, ContextValue]:
    """The keys `action` carries when called with these (resolved) properties of a resource of
    `resource_type`; a key whose parameter is not set is absent, as AWS leaves it."""
    keys: dict[str, ContextValue] = {}
    passed = _PASSED_KEYS.get(action.lower())
    if passed is not None:
        service = next((name for prefix, name in _PASSED_TO.items() if resource_type.startswith(prefix)), None)
        if service is not None:
            keys[passed] = service
    for key, path in _PATHS.get(action, {}).items():
        values = _values(properties, path.split("."))
        if not values:
            continue
        if key in _BOOLEAN_KEYS:
            keys[key] = str(values[0]).lower() == "true"
        elif len(values) == 1 and not _is_list(properties, path.split(".")):
            keys[key] = str(values[0])
        else:
            keys[key] = [str(value) for value in values]
    return keys


def _values(value: Any, path: list[str]) -> list[Any]:
    if not path:
        return [item for item in value if item is not None] if isinstance(value, list) else [value]
    if isinstance(value, list):
        return [found for item in value for found in _values(item, path)]
    if isinstance(value, Mapping) and path[0] in value:
        return _values(value[path[0]], path[1:])
    return []


def _is_list(value: Any, path: list[str]) -> bool:
    for step in path:
        if isinstance(value, list):
            return True
        if not isinstance(value, Mapping) or step not in value:
            return False
        value = value[step]
    return isinstance(value, list)
