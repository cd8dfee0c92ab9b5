"""What the model-build pipeline's steps and its definition agree on."""

from __future__ import annotations

from collections.abc import Sequence

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


BIAS_ANALYSIS_FILE = "analysis_config.json"
"""Written by the preprocess step for the data-bias check (Clarify reads it by this name)."""


def data_bias_analysis_config(
    facet_feature: int, facet_values: list[int | float | str], label_values: list[int | float | str]
) -> dict[str, object]:
    """Clarify's analysis config of pre-training bias on a label-first, header-less CSV, in the
    shape the SDK's DataBiasCheckConfig writes (definitions/clarify-data-bias.json).
    `facet_feature`: the sensitive feature's position among the features (Model Monitor's
    `_c<n>`), which is column n + 1 of the file."""
    assert LABEL_COLUMN == 0, "features follow the label"
    facet_column = facet_feature + 1
    return {
        "dataset_type": "text/csv",
        "label": LABEL_COLUMN,
        "label_values_or_threshold": label_values,
        "facet": [{"name_or_index": facet_column, "value_or_threshold": facet_values}],
        "methods": {
            "pre_training_bias": {"methods": "all"},
            "report": {"name": "report", "title": "Analysis Report"},
        },
    }


def csv_argument(values: Sequence[int | float | str]) -> str:
    """How the pipeline passes values to a step: comma-separated (read back by csv_values)."""
    return ",".join(str(value) for value in values)


def csv_values(text: str) -> list[int | float | str]:
    """`1,0.5,gold` as [1, 0.5, "gold"]: how a comma-separated argument names CSV values."""
    values: list[int | float | str] = []
    for item in text.split(","):
        for kind in (int, float):
            try:
                values.append(kind(item))
                break
            except ValueError:
                continue
        else:
            values.append(item)
    return values


def range_parameter(hyperparameter: str, bound: str) -> str:
    """The pipeline parameter holding one bound (Min or Max) of a hyperparameter's tuning range."""
    return "".join(part.capitalize() for part in hyperparameter.split("-")) + bound
