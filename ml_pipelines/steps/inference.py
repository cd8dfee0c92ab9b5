"""Serving handlers for SageMaker's scikit-learn container: CSV rows in, probabilities out.

The train step copies this file to the model archive's code/inference.py (the container's
SAGEMAKER_PROGRAM). Rows carry the features only, in training order, without a header.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import joblib
import numpy as np

from ml_pipelines.steps.train import MODEL_FILE

CSV = "text/csv"


def model_fn(model_dir: str) -> Any:
    return joblib.load(Path(model_dir) / MODEL_FILE)


def input_fn(body: str | bytes, content_type: str) -> np.ndarray:
    if content_type != CSV:
        raise ValueError(f"unsupported content type {content_type!r}: send {CSV}")
    text = body.decode() if isinstance(body, bytes) else body
    return np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2)


def predict_fn(features: np.ndarray, model: Any) -> np.ndarray:
    probabilities: np.ndarray = model.predict_proba(features)[:, 1]
    return probabilities


def output_fn(prediction: np.ndarray, accept: str) -> str:
    if accept not in (CSV, "*/*"):
        raise ValueError(f"unsupported accept type {accept!r}: ask for {CSV}")
    return "\n".join(f"{value:.6f}" for value in prediction)
