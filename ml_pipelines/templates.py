"""The pipeline templates that ml_pipelines/generate.py writes with the SDK, as the CDK app
and the config rules read them (no SDK needed), and what both sides share."""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

TEMPLATE_DIR = Path(__file__).parent / "definitions"
IMAGES_FILE = "images.json"

PLACEHOLDERS = (
    "AccountId",
    "ArtifactBucket",
    "BiasFacet",
    "BiasFacetValues",
    "BiasLabelValues",
    "ClarifyImage",
    "CodeArchiveFile",
    "CodeBucket",
    "JobRoleName",
    "KmsKeyArn",
    "MetricName",
    "ModelName",
    "ModelPackageGroupName",
    "MonitorImage",
    "Partition",
    "ProcessingImage",
    "SecurityGroupIds",
    "SubnetIds",
    "TrainingImage",
    "TuningMaxJobs",
    "TuningMaxParallelJobs",
    "TransformInstanceCount",
    "TransformMaxPayloadInMB",
    "TransformMaxConcurrency",
)
"""What a template leaves for the CDK app to fill (ml_constructs.pipeline_template)."""
BATCH_TEMPLATE = "batch-transform.json"
BATCH_PARAMETER_DEFAULTS: dict[str, str] = {
    "ModelName": "unset",
    "InputUri": "s3://example/input/",
    "OutputUri": "s3://example/output/",
    "InstanceType": "ml.m5.large",
    "ContentType": "text/csv",
    "Accept": "text/csv",
    "SplitType": "Line",
    "AssembleWith": "Line",
    "BatchStrategy": "MultiRecord",
}
"""The batch pipeline's parameters (ml_pipelines/batch_transform.py) with neutral defaults;
each batch job's stack sets its own."""
DATA_QUALITY_BASELINE = "baselines/data-quality"
"""Below the model's prefix of the artifacts bucket: the latest run's statistics.json and
constraints.json, which the endpoint's data-quality monitoring compares captured data with."""
CACHE_EXPIRY = "PT360M"
"""Steps whose arguments are unchanged reuse a run's results for six hours."""
MAX_RUNTIME_SECONDS = 4 * 3600
MAX_WAIT_SECONDS = 8 * 3600
"""Spot training waits at most this long for capacity and interruptions, run time included."""


def placeholder(name: str) -> str:
    """`{{name}}`, for one of PLACEHOLDERS."""
    assert name in PLACEHOLDERS, name
    return "{{" + name + "}}"


def sentinels_to_placeholders(node: Any, sentinels: Mapping[str, int]) -> Any:
    """`node` with each sentinel number replaced by the placeholder of its name. The SDK's
    shapes take only literal integers for some fields (job limits, instance counts), neither
    pipeline parameters nor placeholder strings: definitions are generated with sentinels."""
    placeholders = {value: placeholder(name) for name, value in sentinels.items()}
    if isinstance(node, dict):
        return {key: sentinels_to_placeholders(value, sentinels) for key, value in node.items()}
    if isinstance(node, list):
        return [sentinels_to_placeholders(item, sentinels) for item in node]
    if isinstance(node, int) and not isinstance(node, bool):
        return placeholders.get(node, node)
    return node


BIAS_PLACEHOLDERS = ("BiasFacet", "BiasFacetValues", "BiasLabelValues", "ClarifyImage")
"""Only in the templates with a data-bias check."""
DATA_BIAS_REFERENCE = "clarify-data-bias.json"
"""The analysis config the SDK's data-bias check writes, with placeholders: the shape the
preprocess step's config must have (ml_pipelines.contract.data_bias_analysis_config)."""


def template_file(direction: str, tuned: bool, bias: bool = False) -> str:
    """The template whose condition step keeps models with the metric at or past the threshold;
    `tuned`: the one with a hyperparameter tuning step instead of a training job; `bias`: with
    a data-bias check (Clarify) of the training data."""
    return f"model-build-{direction}{'-tuned' if tuned else ''}{'-bias' if bias else ''}.json"


def template_path(direction: str, tuned: bool, bias: bool = False) -> Path:
    return TEMPLATE_DIR / template_file(direction, tuned, bias)


@cache
def _images() -> dict[str, dict[str, str]]:
    images: dict[str, dict[str, str]] = json.loads((TEMPLATE_DIR / IMAGES_FILE).read_text())
    return images


def container_images() -> dict[str, str]:
    """The scikit-learn container image of each region, as the SDK lists them."""
    return _images()["sklearn"]


def model_monitor_images() -> dict[str, str]:
    """Model Monitor's analyzer image of each region, as the SDK lists them."""
    return _images()["model-monitor"]


def clarify_images() -> dict[str, str]:
    """Clarify's processing image of each region (bias and feature-attribution monitoring)."""
    return _images()["clarify"]
