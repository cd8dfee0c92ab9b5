"""Evaluate step: score the trained model on the test set and write evaluation.json.

Runs in a SageMaker processing container: the training job's model.tar.gz is mounted under
--model, the test CSV under --test. The document has exactly the shape the pipeline's
condition step reads (ml_pipelines.contract).
"""

from __future__ import annotations

import argparse
import json
import tarfile
import tempfile
from pathlib import Path

import joblib

from ml_pipelines.contract import EVALUATION_FILE, evaluation_document
from ml_pipelines.steps.scoring import METRICS
from ml_pipelines.steps.train import MODEL_FILE, load


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", type=Path, default=Path("/opt/ml/processing/model"))
    parser.add_argument("--test", type=Path, default=Path("/opt/ml/processing/test"))
    parser.add_argument("--output", type=Path, default=Path("/opt/ml/processing/evaluation"))
    parser.add_argument("--metric", choices=sorted(METRICS), default="auc")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as unpacked, tarfile.open(args.model / "model.tar.gz") as archive:
        archive.extractall(unpacked, filter="data")
        model = joblib.load(Path(unpacked) / MODEL_FILE)
    features, labels = load(args.test)
    value = METRICS[args.metric](model, features, labels)
    args.output.mkdir(parents=True, exist_ok=True)
    (args.output / EVALUATION_FILE).write_text(json.dumps(evaluation_document(args.metric, value)))


if __name__ == "__main__":
    main()
