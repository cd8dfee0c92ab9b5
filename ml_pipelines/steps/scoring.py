"""The metrics a model is judged by: on the validation split during training (what tuning
optimizes) and on the held-out test split by the evaluate step (what registration checks)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

from ml_pipelines.contract import METRIC_DIRECTIONS

Score = Callable[[Any, np.ndarray, np.ndarray], float]

METRICS: dict[str, Score] = {
    "auc": lambda model, x, y: float(roc_auc_score(y, model.predict_proba(x)[:, 1])),
    "accuracy": lambda model, x, y: float(accuracy_score(y, model.predict(x))),
    "log_loss": lambda model, x, y: float(log_loss(y, model.predict_proba(x))),
}
assert METRICS.keys() == METRIC_DIRECTIONS.keys(), "the contract lists what the steps report"
