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


def tuning_metric_name(metric: str) -> str:
    """The objective of hyperparameter tuning: the metric on the validation split."""
    return f"validation:{metric}"


def tuning_metric_line(metric: str, value: float) -> str:
    """How the train step reports a validation metric in its log, where tuning reads it."""
    return f"{tuning_metric_name(metric)}={value:.6f}"


def tuning_metric_regex(metric: str) -> str:
    """What tuning's metric definition matches in the train step's log (tuning_metric_line)."""
    return f"{tuning_metric_name(metric)}=([-+0-9.eE]+)"


TUNABLE_HYPERPARAMETERS: dict[str, tuple[str, float, float]] = {
    "n-estimators": ("Integer", 50, 400),
    "max-depth": ("Integer", 2, 6),
    "learning-rate": ("Continuous", 0.01, 0.3),
}
"""The train step's hyperparameters tuning may search: kind, default lowest and highest value."""


def range_parameter(hyperparameter: str, bound: str) -> str:
    """The pipeline parameter holding one bound (Min or Max) of a hyperparameter's tuning range."""
    return "".join(part.capitalize() for part in hyperparameter.split("-")) + bound
