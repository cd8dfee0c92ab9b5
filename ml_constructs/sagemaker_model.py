"""The SageMaker model (AWS::SageMaker::Model) that endpoints and batch transform jobs run:
one approved model package, or a multi-model container, in the VPC and network-isolated."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct


@dataclass(frozen=True)
class MultiModelSource:
    """What a multi-model endpoint serves: archives under `models_uri`, each run by `image_uri`."""

    image_uri: str
    models_uri: str


@dataclass(frozen=True)
class ModelNetwork:
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]


def isolated_model(
    scope: Construct,
    construct_id: str,
    *,
    execution_role_arn: str,
    source: str | MultiModelSource,
    network: ModelNetwork | None,
) -> sagemaker.CfnModel:
    """`source`: a model package ARN, or a multi-model prefix and image. Without `network` (only
    serverless inference, which takes neither a VPC nor isolation) the model has no VPC config."""
    return sagemaker.CfnModel(
        scope,
        construct_id,
        execution_role_arn=execution_role_arn,
        primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
            image=source.image_uri, model_data_url=source.models_uri, mode="MultiModel"
        )
        if isinstance(source, MultiModelSource)
        else sagemaker.CfnModel.ContainerDefinitionProperty(model_package_name=source),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            subnets=list(network.subnet_ids), security_group_ids=list(network.security_group_ids)
        )
        if network
        else None,
        enable_network_isolation=True if network else None,
    )
