"""The model-build steps run end to end on this machine, on the breast-cancer data set that
ships with scikit-learn, the way the pipeline chains them."""

from __future__ import annotations

import csv
import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from sklearn.datasets import load_breast_cancer

from ml_constructs.pipeline_template import fill_placeholders
from ml_pipelines import packaging
from ml_pipelines.contract import (
    ANALYSIS_CONFIG_FILE,
    CLARIFY_CONFIGS,
    EVALUATION_FILE,
    METRIC_DIRECTIONS,
    metric_json_path,
    shap_baseline,
    tuning_metric_regex,
)
from ml_pipelines.steps import evaluate, preprocess, train
from ml_pipelines.templates import CLARIFY_REFERENCE, TEMPLATE_DIR


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
    # The monitoring baseline: the train split's features, as the endpoint receives them.
    baseline = list(csv.reader((processed / "baseline" / "baseline.csv").open()))
    train_rows = list(csv.reader((processed / "train" / "train.csv").open()))
    assert baseline == [row[1:] for row in train_rows]
    assert len(baseline[0]) == 30  # the breast-cancer features, no label

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
        for path in sorted(model_dir.rglob("*")):
            archive.add(path, arcname=path.relative_to(model_dir).as_posix(), recursive=False)
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

    served = _serve(packaged / "model.tar.gz", processed / "test" / "test.csv", tmp_path / "served")
    assert len(served) == sizes["test"] and all(0.0 <= value <= 1.0 for value in served)


def _serve(model_archive: Path, rows: Path, directory: Path) -> list[float]:
    """What the scikit-learn serving container does with the model archive: import
    code/inference.py from the archive alone (not this repository) and answer CSV rows."""
    with tarfile.open(model_archive) as archive:
        archive.extractall(directory, filter="data")
    features = "\n".join(line.split(",", 1)[1] for line in rows.read_text().splitlines())
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import inference; "
        "model = inference.model_fn(sys.argv[2]); "
        "rows = inference.input_fn(sys.stdin.read(), 'text/csv'); "
        "print(inference.output_fn(inference.predict_fn(rows, model), 'text/csv'))"
    )
    result = subprocess.run(
        [sys.executable, "-I", "-c", script, str(directory / "code"), str(directory)],
        input=features,
        capture_output=True,
        text=True,
        check=True,
    )
    return [float(line) for line in result.stdout.split()]


@pytest.mark.parametrize("metric", sorted(METRIC_DIRECTIONS))
def test_evaluate_reports_every_metric_of_the_contract(raw_input: Path, tmp_path: Path, metric: str):
    processed, model_dir = tmp_path / "processed", tmp_path / "model"
    preprocess.main(["--input", str(raw_input), "--output", str(processed)])
    train.main(["--train", str(processed / "train"), "--model-dir", str(model_dir), "--n-estimators", "5"])
    with tarfile.open(tmp_path / "model.tar.gz", "w:gz") as archive:
        archive.add(model_dir / train.MODEL_FILE, arcname=train.MODEL_FILE)
    output = tmp_path / "evaluation"
    evaluate.main(
        ["--model", str(tmp_path), "--test", str(processed / "test"), "--output", str(output), "--metric", metric]
    )
    value = _json_get(json.loads((output / EVALUATION_FILE).read_text()), metric_json_path(metric))
    assert isinstance(value, float) and value >= 0.0


def test_code_archive_is_reproducible_and_holds_what_the_containers_import(tmp_path: Path):
    first = packaging.write_archive(tmp_path / "a" / "code.tar.gz").read_bytes()
    second = packaging.write_archive(tmp_path / "b" / "code.tar.gz").read_bytes()
    assert first == second
    with tarfile.open(tmp_path / "a" / "code.tar.gz") as archive:
        names = set(archive.getnames())
    assert {
        "ml_pipelines/contract.py",
        "ml_pipelines/packaging.py",
        "ml_pipelines/steps/preprocess.py",
        "ml_pipelines/steps/train.py",
        "ml_pipelines/steps/evaluate.py",
        "ml_pipelines/steps/inference.py",
    } <= names
    assert "ml_pipelines/model_build.py" not in names, "the SDK-side definition never runs in a container"


def test_code_archive_header_is_the_same_on_every_python(tmp_path: Path):
    """gzip.compress writes zlib's operating-system byte before Python 3.13 and 255 since, which
    made the asset hash (and so the templates) depend on the Python that synthesized them."""
    header = packaging.write_archive(tmp_path / "code.tar.gz").read_bytes()[:10]
    flags, mtime, operating_system = header[3], header[4:8], header[9]
    assert (flags, mtime, operating_system) == (0, b"\0\0\0\0", 255)


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


def test_train_reports_every_validation_metric_where_tuning_reads_its_objective(
    raw_input: Path, tmp_path: Path, capsys
):
    processed = tmp_path / "processed"
    preprocess.main(["--input", str(raw_input), "--output", str(processed), "--label", "label"])
    train.main(
        [
            "--train",
            str(processed / "train"),
            "--validation",
            str(processed / "validation"),
            "--model-dir",
            str(tmp_path / "model"),
            "--checkpoints",
            str(tmp_path / "checkpoints"),
            "--n-estimators",
            "20",
        ]
    )
    log = capsys.readouterr().out
    for metric, better in METRIC_DIRECTIONS.items():
        (value,) = re.findall(tuning_metric_regex(metric), log)
        assert 0.0 <= float(value) <= (1.0 if better == "maximize" else 0.5), metric


def test_preprocess_writes_the_clarify_analysis_configs_the_sdk_would_upload(raw_input: Path, tmp_path: Path):
    processed = tmp_path / "processed"
    preprocess.main(
        [
            "--input",
            str(raw_input),
            "--output",
            str(processed),
            "--bias-facet",
            "3",
            "--bias-facet-values",
            "1,gold",
            "--bias-label-values",
            "1",
            "--bias-probability-threshold",
            "0.4",
            "--shadow-instance-type",
            "ml.c5.xlarge",
        ]
    )
    written = {
        name: json.loads((processed / preprocess.CLARIFY / name / ANALYSIS_CONFIG_FILE).read_text())
        for name in CLARIFY_CONFIGS
    }
    reference = json.loads((TEMPLATE_DIR / CLARIFY_REFERENCE).read_text())
    assert set(reference) == set(CLARIFY_CONFIGS)
    features = list(csv.reader((processed / "baseline" / "baseline.csv").open()))
    # The SDK's configs with the values the arguments name; the facet counts the label column too.
    expected = fill_placeholders(
        reference,
        {
            "BiasFacet": 4,
            "BiasFacetValues": [1, "gold"],
            "BiasLabelValues": [1],
            "BiasProbabilityThreshold": 0.4,
            "ShadowInstanceType": "ml.c5.xlarge",
            "ShapBaseline": shap_baseline(features),
        },
    )
    assert written == expected
    # The facet is the fourth feature of the label-first split the check reads.
    train = (processed / "train" / "train.csv").read_text().splitlines()[0].split(",")
    assert len(train) == 31 and written["data-bias"]["label"] == 0
    # SHAP's baseline: one record of the 30 features, each the train split's mean.
    (baseline,) = written["explainability"]["methods"]["shap"]["baseline"]
    assert len(baseline) == 30
    assert baseline[0] == pytest.approx(sum(float(row[0]) for row in features) / len(features), abs=1e-6)
    # Only the run's own output: nothing outside it that a later run would overwrite.
    assert {path.name for path in processed.iterdir()} == {"train", "validation", "test", "baseline", "clarify"}


def test_shap_baseline_is_the_mean_of_numeric_features_and_the_mode_of_the_others():
    rows = [["1", "red", "0.5"], ["3", "blue", "1.5"], ["5", "red", "1"]]
    assert shap_baseline(rows) == [3.0, "red", 1.0]


def test_preprocess_writes_no_analysis_config_without_a_bias_check(raw_input: Path, tmp_path: Path):
    preprocess.main(["--input", str(raw_input), "--output", str(tmp_path / "out")])
    assert not (tmp_path / "out" / preprocess.CLARIFY).exists()
