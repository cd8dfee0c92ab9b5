"""The model-build steps run end to end on this machine, on the breast-cancer data set that
ships with scikit-learn, the way the pipeline chains them."""

from __future__ import annotations

import csv
import json
import tarfile
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from ml_pipelines.contract import EVALUATION_FILE, metric_json_path
from ml_pipelines.steps import evaluate, preprocess, train


@pytest.fixture
def raw_input(tmp_path: Path) -> Path:
    data = load_breast_cancer()
    directory = tmp_path / "input"
    directory.mkdir()
    with (directory / "cancer.csv").open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*data.feature_names, "label"])  # label last: the step moves it first
        writer.writerows([*row, target] for row, target in zip(data.data, data.target, strict=True))
    return directory


def _json_get(document: dict[str, object], path: str) -> object:
    """What the condition step's JsonGet does with the property file."""
    value: object = document
    for key in path.split("."):
        assert isinstance(value, dict)
        value = value[key]
    return value


def test_preprocess_train_evaluate_produce_what_the_condition_step_reads(raw_input: Path, tmp_path: Path):
    processed = tmp_path / "processed"
    preprocess.main(["--input", str(raw_input), "--output", str(processed), "--label", "label"])
    sizes = {
        name: sum(1 for _ in (processed / name / f"{name}.csv").open()) for name in ("train", "validation", "test")
    }
    assert sizes == {"train": 398, "validation": 85, "test": 86}

    model_dir, checkpoints = tmp_path / "model", tmp_path / "checkpoints"
    train.main(
        [
            "--train",
            str(processed / "train"),
            "--model-dir",
            str(model_dir),
            "--checkpoints",
            str(checkpoints),
            "--n-estimators",
            "50",
        ]
    )
    assert (checkpoints / train.MODEL_FILE).exists()

    packaged = tmp_path / "packaged"
    packaged.mkdir()
    with tarfile.open(packaged / "model.tar.gz", "w:gz") as archive:  # what SageMaker uploads
        archive.add(model_dir / train.MODEL_FILE, arcname=train.MODEL_FILE)
    evaluation_dir = tmp_path / "evaluation"
    evaluate.main(
        [
            "--model",
            str(packaged),
            "--test",
            str(processed / "test"),
            "--output",
            str(evaluation_dir),
            "--metric",
            "auc",
        ]
    )

    document = json.loads((evaluation_dir / EVALUATION_FILE).read_text())
    assert (
        set(document) == {"metrics"}
        and set(document["metrics"]) == {"auc"}
        and set(document["metrics"]["auc"]) == {"value"}
    )
    auc = _json_get(document, metric_json_path("auc"))
    assert isinstance(auc, float) and 0.95 < auc <= 1.0


def test_training_resumes_from_a_spot_checkpoint_instead_of_fitting_again(raw_input: Path, tmp_path: Path):
    processed = tmp_path / "processed"
    preprocess.main(["--input", str(raw_input), "--output", str(processed)])
    checkpoints = tmp_path / "checkpoints"
    arguments = ["--train", str(processed / "train"), "--checkpoints", str(checkpoints), "--n-estimators", "5"]
    train.main([*arguments, "--model-dir", str(tmp_path / "first")])
    (processed / "train" / "train.csv").write_text("not,numbers\n")  # fitting again would now fail
    train.main([*arguments, "--model-dir", str(tmp_path / "second")])
    assert (tmp_path / "second" / train.MODEL_FILE).read_bytes() == (tmp_path / "first" / train.MODEL_FILE).read_bytes()


def test_preprocess_rejects_input_without_the_label(raw_input: Path, tmp_path: Path):
    with pytest.raises(ValueError, match="no column named 'outcome'"):
        preprocess.main(["--input", str(raw_input), "--output", str(tmp_path / "out"), "--label", "outcome"])
