"""The SageMaker model (AWS::SageMaker::Model) that endpoints and batch transform jobs run:
one approved model package, a multi-model container, or one model archive with its image,
in the VPC and network-isolated."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct


@dataclass(frozen=True)
class MultiModelSource:
    """What a multi-model endpoint serves: archives under `models_uri`, each run by `image_uri`."""

    image_uri: str
    models_uri: str


@dataclass(frozen=True)
class ModelArchive:
    """One model archive run by `image_uri` with `environment` (what a package's container
    names, for a region the package is not registered in)."""

    image_uri: str
    model_data_url: str
    environment: Mapping[str, str]


ModelSource = str | MultiModelSource | ModelArchive
"""A model package ARN, a multi-model prefix and image, or an archive and image."""


@dataclass(frozen=True)
class ModelNetwork:
    subnet_ids: Sequence[str]
    security_group_ids: Sequence[str]


def isolated_model(
    scope: Construct,
    construct_id: str,
    *,
    execution_role_arn: str,
    source: ModelSource,
    network: ModelNetwork | None,
) -> sagemaker.CfnModel:
    """Without `network` (only serverless inference, which takes neither a VPC nor isolation)
    the model has no VPC config."""
    container = sagemaker.CfnModel.ContainerDefinitionProperty
    return sagemaker.CfnModel(
        scope,
        construct_id,
        execution_role_arn=execution_role_arn,
        primary_container=container(image=source.image_uri, model_data_url=source.models_uri, mode="MultiModel")
        if isinstance(source, MultiModelSource)
        else container(
            image=source.image_uri, model_data_url=source.model_data_url, environment=dict(source.environment)
        )
        if isinstance(source, ModelArchive)
        else container(model_package_name=source),
        vpc_config=sagemaker.CfnModel.VpcConfigProperty(
            subnets=list(network.subnet_ids), security_group_ids=list(network.security_group_ids)
        )
        if network
        else None,
        enable_network_isolation=True if network else None,
    )
