"""What the model-build pipeline's steps and its definition agree on."""

from __future__ import annotations

import math
from collections.abc import Sequence

EVALUATION_FILE = "evaluation.json"
"""Written by the evaluate step, read by the condition step through a property file."""

LABEL_COLUMN = 0
"""Every CSV the steps exchange has the label first and no header (SageMaker's convention)."""


DIRECTIONS = ("maximize", "minimize")
METRIC_DIRECTIONS = {"accuracy": "maximize", "auc": "maximize", "log_loss": "minimize"}
"""The metrics the evaluate step reports, and which way is better."""
METRIC_RANGES = {"accuracy": (0.0, 1.0), "auc": (0.0, 1.0), "log_loss": (0.0, math.inf)}
"""The lowest and highest value each metric can take (scikit-learn's accuracy_score, roc_auc_score, log_loss)."""


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


ANALYSIS_CONFIG_FILE = "analysis_config.json"
"""Clarify reads its analysis config by this name, in a directory of its own."""
CLARIFY_CONFIGS = ("data-bias", "model-bias", "explainability", "monitoring-bias", "monitoring-explainability")
"""The directories of the preprocess step's clarify output, each with one analysis config: the
pipeline's three Clarify checks, and the configs of the endpoint's monitoring schedules."""
MONITORING_CONFIGS = {"model-bias": "bias", "explainability": "explainability"}
"""The check whose monitoring counterpart's config is monitoring-<name>, registered with the
package as its drift-check config file."""
SHAP_SAMPLES = 100
"""Synthetic records per explained record: Kernel SHAP's cost grows with them."""


def shap_baseline(features: Sequence[Sequence[str]]) -> list[int | float | str]:
    """SHAP's baseline record: the features' mean where a column is numeric, its most frequent
    value where it is not; attributions say how far each feature moves a prediction from the
    prediction for this typical record."""
    baseline: list[int | float | str] = []
    for column in zip(*features, strict=True):
        values = csv_values(",".join(column))
        if all(isinstance(value, int | float) for value in values):
            baseline.append(round(sum(float(value) for value in values) / len(values), 6))
        else:
            baseline.append(max(sorted(set(column)), key=column.count))
    return baseline


def analysis_configs(
    *,
    facet_feature: int,
    facet_values: list[int | float | str],
    label_values: list[int | float | str],
    probability_threshold: float,
    shadow_instance_type: str,
    baseline: list[int | float | str],
) -> dict[str, dict[str, object]]:
    """Clarify's analysis configs (CLARIFY_CONFIGS) for label-first, header-less CSVs, in the
    shapes the SDK's check steps write (definitions/clarify-analysis-configs.json).
    `facet_feature`: the sensitive feature's position among the features (Model Monitor's
    `_c<n>`), which is column n + 1 of the file; `probability_threshold`: the probability of
    label 1 the model answers with from which its prediction is 1 (post-training bias compares
    predicted labels); `shadow_instance_type`: the instance of the
    endpoint Clarify serves the candidate from; `baseline`: SHAP's baseline record."""
    assert LABEL_COLUMN == 0, "features follow the label"
    bias = {
        "label_values_or_threshold": label_values,
        "facet": [{"name_or_index": facet_feature + 1, "value_or_threshold": facet_values}],
    }
    data = {"dataset_type": "text/csv", "label": LABEL_COLUMN}
    predictor = {
        "initial_instance_count": 1,
        "instance_type": shadow_instance_type,
        "accept_type": "text/csv",
        "content_type": "text/csv",
    }
    shap = {
        "shap": {
            "baseline": [baseline],
            "num_samples": SHAP_SAMPLES,
            "agg_method": "mean_abs",
            "use_logit": False,
            "save_local_shap_values": False,
        }
    }
    report = {"report": {"name": "report", "title": "Analysis Report"}}
    return {
        "data-bias": {**data, **bias, "methods": {"pre_training_bias": {"methods": "all"}, **report}},
        "model-bias": {
            **data,
            **bias,
            "probability_threshold": probability_threshold,
            "methods": {"post_training_bias": {"methods": "all"}, **report},
            "predictor": predictor,
        },
        "explainability": {
            **data,
            "methods": {**shap, **report},
            "predictor": predictor,
        },
        "monitoring-bias": {**bias, "label": LABEL_COLUMN},
        "monitoring-explainability": {"methods": shap, "predictor": predictor},
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
