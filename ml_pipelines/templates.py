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
    "BiasProbabilityThreshold",
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
RUNS = "runs"
"""Below the model's prefix of the artifacts bucket: one prefix per pipeline execution
(runs/<execution id>/), where every step of the execution writes."""
DATA_QUALITY_BASELINE = "data-quality"
"""Below a run's prefix: the run's statistics.json and constraints.json, which its package
registers as drift-check baselines."""
MODEL_OUTPUT = "model"
"""Below a run's prefix: the training job's output, model.tar.gz below the job's name."""
TUNING_OUTPUT = "tuning"
"""Below the model's prefix: the tuning jobs' outputs, each below its training job's name."""
REGISTERED_BASELINES = {
    "DataQualityStatisticsUri": f"{DATA_QUALITY_BASELINE}/statistics.json",
    "DataQualityConstraintsUri": f"{DATA_QUALITY_BASELINE}/constraints.json",
    "BiasConfigUri": "clarify/monitoring-bias/analysis_config.json",
    "BiasConstraintsUri": "model-bias/analysis.json",
    "ExplainabilityConfigUri": "clarify/monitoring-explainability/analysis_config.json",
    "ExplainabilityConstraintsUri": "explainability/analysis.json",
}
"""The drift-check baselines a package registers (below its run's prefix), by the name under
which the approval function sends them and the endpoint stacks that monitor the package take
them (stack parameters, deployment pipeline variables)."""


MULTI_MODEL = "multi-model"
"""Below the model's prefix: the archives a multi-model endpoint of the model serves by default."""


def model_archives(model: str) -> list[str]:
    """The keys of the artifacts bucket (patterns, relative to the bucket) of the models the
    pipelines of `model` train or tune: what its packages serve. With its multi-model archives
    and baseline_files, all that serving accounts may read; never the input data or its splits."""
    return [f"{model}/{RUNS}/*/{MODEL_OUTPUT}/*", f"{model}/{TUNING_OUTPUT}/*/output/model.tar.gz"]


def baseline_files(model: str) -> list[str]:
    """The keys of the artifacts bucket (patterns) that production monitoring of `model`
    reads: the drift-check baselines its packages register."""
    return sorted({f"{model}/{RUNS}/*/{path}" for path in REGISTERED_BASELINES.values()})


CACHE_EXPIRY = "PT360M"
"""Steps whose arguments are unchanged reuse a run's results for six hours."""
MAX_RUNTIME_SECONDS = 4 * 3600
MAX_WAIT_SECONDS = 8 * 3600
"""Spot training waits at most this long for capacity and interruptions, run time included."""


ANALYSIS_PLACEHOLDERS = ("ShadowInstanceType", "ShapBaseline")
"""Only in the Clarify analysis configs' reference (CLARIFY_REFERENCE): values the preprocess
step receives or computes at run time, never filled by the CDK app."""


def placeholder(name: str) -> str:
    """`{{name}}`, for one of PLACEHOLDERS or ANALYSIS_PLACEHOLDERS."""
    assert name in PLACEHOLDERS or name in ANALYSIS_PLACEHOLDERS, name
    return "{{" + name + "}}"


def sentinels_to_placeholders(node: Any, sentinels: Mapping[str, float]) -> Any:
    """`node` with each sentinel number replaced by the placeholder of its name. The SDK's
    shapes take only literal numbers for some fields (job limits, instance counts, Clarify's
    probability threshold), neither pipeline parameters nor placeholder strings: definitions
    are generated with sentinels."""
    placeholders = {value: placeholder(name) for name, value in sentinels.items()}
    if isinstance(node, dict):
        return {key: sentinels_to_placeholders(value, sentinels) for key, value in node.items()}
    if isinstance(node, list):
        return [sentinels_to_placeholders(item, sentinels) for item in node]
    if isinstance(node, int | float) and not isinstance(node, bool):
        return placeholders.get(node, node)
    return node


BIAS_PLACEHOLDERS = ("BiasFacet", "BiasFacetValues", "BiasLabelValues", "BiasProbabilityThreshold", "ClarifyImage")
"""Only in the templates with Clarify's checks."""
CLARIFY_REFERENCE = "clarify-analysis-configs.json"
"""The analysis configs the SDK's Clarify check steps write (ml_pipelines.contract.CLARIFY_CONFIGS),
with placeholders: the shapes the preprocess step's must have (contract.analysis_configs)."""


def template_file(direction: str, tuned: bool, bias: bool = False) -> str:
    """The template whose condition step keeps models with the metric at or past the threshold;
    `tuned`: the one with a hyperparameter tuning step instead of a training job; `bias`: with
    Clarify's bias and explainability checks."""
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
