"""What the model-build pipeline's steps and its definition agree on."""

from __future__ import annotations

EVALUATION_FILE = "evaluation.json"
"""Written by the evaluate step, read by the condition step through a property file."""

LABEL_COLUMN = 0
"""Every CSV the steps exchange has the label first and no header (SageMaker's convention)."""


DIRECTIONS = ("maximize", "minimize")
METRIC_DIRECTIONS = {"accuracy": "maximize", "auc": "maximize", "log_loss": "minimize"}
"""The metrics the evaluate step reports, and which way is better."""


def metric_json_path(metric: str) -> str:
    """Where the condition step finds the metric's value in evaluation.json."""
    return f"metrics.{metric}.value"


def evaluation_document(metric: str, value: float) -> dict[str, dict[str, dict[str, float]]]:
    return {"metrics": {metric: {"value": value}}}
