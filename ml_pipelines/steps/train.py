"""Train step: fit a gradient-boosted classifier on the train channel, and report every
metric on the validation channel (when given) in the log, where hyperparameter tuning reads
its objective (ml_pipelines.contract.tuning_metric_line).

Runs in SageMaker's scikit-learn container in script mode: channels and the model directory
come from the SM_* environment. With managed spot training, SageMaker syncs the checkpoint
directory to S3; a fitted estimator found there (the job was interrupted after fitting) is
reused instead of fitted again. The pipeline gives each execution a checkpoint location of its
own, so only a restart of the same job finds one. The model directory also gets the serving code
(ml_pipelines.packaging), as the serving container may not fetch any.
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

import joblib
import numpy as np
from sklearn.ensemble import GradientBoostingClassifier

from ml_pipelines.contract import LABEL_COLUMN, tuning_metric_line
from ml_pipelines.packaging import copy_for_serving
from ml_pipelines.steps.scoring import METRICS

MODEL_FILE = "model.joblib"


def load(channel: Path) -> tuple[np.ndarray, np.ndarray]:
    data = np.vstack([np.loadtxt(path, delimiter=",", ndmin=2) for path in sorted(channel.glob("*.csv"))])
    return np.delete(data, LABEL_COLUMN, axis=1), data[:, LABEL_COLUMN]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--n-estimators", type=int, default=200)
    parser.add_argument("--max-depth", type=int, default=3)
    parser.add_argument("--learning-rate", type=float, default=0.1)
    parser.add_argument(
        "--train", type=Path, default=Path(os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    )
    parser.add_argument(
        "--validation",
        type=Path,
        default=Path(os.environ.get("SM_CHANNEL_VALIDATION", "/opt/ml/input/data/validation")),
    )
    parser.add_argument("--model-dir", type=Path, default=Path(os.environ.get("SM_MODEL_DIR", "/opt/ml/model")))
    parser.add_argument("--checkpoints", type=Path, default=Path("/opt/ml/checkpoints"))
    args = parser.parse_args(argv)

    checkpoint = args.checkpoints / MODEL_FILE
    if checkpoint.exists():
        model = joblib.load(checkpoint)
    else:
        features, labels = load(args.train)
        model = GradientBoostingClassifier(
            n_estimators=args.n_estimators, max_depth=args.max_depth, learning_rate=args.learning_rate, random_state=0
        ).fit(features, labels)
        args.checkpoints.mkdir(parents=True, exist_ok=True)
        joblib.dump(model, checkpoint)
    if args.validation.is_dir():
        features, labels = load(args.validation)
        for name, score in sorted(METRICS.items()):
            print(tuning_metric_line(name, score(model, features, labels)), flush=True)
    args.model_dir.mkdir(parents=True, exist_ok=True)
    joblib.dump(model, args.model_dir / MODEL_FILE)
    copy_for_serving(args.model_dir / "code")


if __name__ == "__main__":
    main()
