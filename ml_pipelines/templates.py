"""The model-build pipeline templates that ml_pipelines/model_build.py writes with the SDK,
as the CDK app and the config rules read them (no SDK needed)."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

TEMPLATE_DIR = Path(__file__).parent / "definitions"
IMAGES_FILE = "images.json"

PLACEHOLDERS = (
    "AccountId",
    "ArtifactBucket",
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
)
"""What a template leaves for the CDK app to fill (ml_constructs.pipeline_template)."""
DATA_QUALITY_BASELINE = "baselines/data-quality"
"""Below the model's prefix of the artifacts bucket: the latest run's statistics.json and
constraints.json, which the endpoint's data-quality monitoring compares captured data with."""
CACHE_EXPIRY = "PT360M"
"""Steps whose arguments are unchanged reuse a run's results for six hours."""
MAX_RUNTIME_SECONDS = 4 * 3600
MAX_WAIT_SECONDS = 8 * 3600
"""Spot training waits at most this long for capacity and interruptions, run time included."""


def template_file(direction: str, tuned: bool) -> str:
    """The template whose condition step keeps models with the metric at or past the threshold;
    `tuned`: the one with a hyperparameter tuning step instead of a training job."""
    return f"model-build-{direction}{'-tuned' if tuned else ''}.json"


def template_path(direction: str, tuned: bool) -> Path:
    return TEMPLATE_DIR / template_file(direction, tuned)


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
