"""The batch inference pipeline, defined with the sagemaker SDK (v3): one transform step that
scores the files under an input prefix with a model and writes the results below the output
prefix, in a folder of the run's own.

Written out by ml_pipelines/generate.py as definitions/batch-transform.json. The model,
locations, instance type and record handling are pipeline parameters (each batch job's stack
gives them its defaults, and the deployed model's name); the key and the numbers the SDK
takes only literally (instance count, payload size, concurrency) are placeholders. The
model, created from the approved package by the stack, carries the VPC and network
isolation, so every transform job runs in the account's private subnets without internet.
"""

from __future__ import annotations

import json
from typing import Any

from sagemaker.core.transformer import Transformer
from sagemaker.core.workflow.execution_variables import ExecutionVariables
from sagemaker.core.workflow.functions import Join
from sagemaker.core.workflow.parameters import ParameterString
from sagemaker.core.workflow.pipeline_context import PipelineSession
from sagemaker.mlops.workflow.pipeline import Pipeline
from sagemaker.mlops.workflow.steps import TransformStep

from ml_pipelines.templates import BATCH_PARAMETER_DEFAULTS, placeholder, sentinels_to_placeholders

INVOCATION_TIMEOUT_SECONDS = 600
INVOCATION_RETRIES = 2
"""A request the container fails or times out on is retried twice before the job fails."""
SENTINELS = {
    "TransformInstanceCount": 918_273_647,
    "TransformMaxPayloadInMB": 918_273_648,
    "TransformMaxConcurrency": 918_273_649,
}
"""Literal numbers the definition is generated with, turned into their placeholders."""


def build() -> Any:
    session = PipelineSession(default_bucket="unused")
    defaults = BATCH_PARAMETER_DEFAULTS
    parameters = {name: ParameterString(name, value) for name, value in defaults.items()}
    key = placeholder("KmsKeyArn")
    transformer = Transformer(
        model_name=parameters["ModelName"],
        instance_count=SENTINELS["TransformInstanceCount"],
        instance_type=parameters["InstanceType"],
        strategy=parameters["BatchStrategy"],
        assemble_with=parameters["AssembleWith"],
        # Each run writes below its own execution id: no run overwrites another's results.
        output_path=Join(on="", values=[parameters["OutputUri"], ExecutionVariables.PIPELINE_EXECUTION_ID, "/"]),
        output_kms_key=key,
        volume_kms_key=key,
        accept=parameters["Accept"],
        max_concurrent_transforms=SENTINELS["TransformMaxConcurrency"],
        max_payload=SENTINELS["TransformMaxPayloadInMB"],
        sagemaker_session=session,
    )
    transform = TransformStep(
        name="Transform",
        display_name="Score every file under the input prefix",
        step_args=transformer.transform(
            data=parameters["InputUri"],
            data_type="S3Prefix",
            content_type=parameters["ContentType"],
            split_type=parameters["SplitType"],
            model_client_config={
                "InvocationsTimeoutInSeconds": INVOCATION_TIMEOUT_SECONDS,
                "InvocationsMaxRetries": INVOCATION_RETRIES,
            },
        ),
    )
    return Pipeline(
        name="batch-transform", parameters=list(parameters.values()), steps=[transform], sagemaker_session=session
    )


def definition() -> dict[str, Any]:
    """The template: the SDK's definition with the sentinels turned into placeholders."""
    filled: dict[str, Any] = sentinels_to_placeholders(json.loads(build().definition()), SENTINELS)
    return filled
