"""Calibration, embedding alignment, cross-species shift, the deployable model's fold and the run-cost table."""

import numpy as np
import pandas as pd
import pytest
import torch

from patchseq_ml.learn import calibration, deployment, embedding, species_shift
from patchseq_ml.learn.model import AttentionBiLSTM, ModelConfig
from patchseq_ml.present import run_costs


def _predictions(confidence: np.ndarray, correct: np.ndarray) -> pd.DataFrame:
    """Two-class predictions whose top probability is ``confidence`` and whose correctness is ``correct``."""
    pred = np.where(correct, "A", "B")
    return pd.DataFrame(
        {"seed": 0, "fold": np.arange(confidence.size) % 2, "true": "A", "pred": pred, "p_A": 0.0, "p_B": 0.0}
    ).assign(
        p_A=np.where(pred == "A", confidence, 1 - confidence), p_B=np.where(pred == "B", confidence, 1 - confidence)
    )


def test_perfectly_calibrated_predictions_have_zero_ece():
    # 80 % confident and right 8 times in 10, in every run
    confidence, correct = np.full(20, 0.8), np.array([True] * 8 + [False] * 2 + [True] * 8 + [False] * 2)
    correct = correct.reshape(2, 10).T.ravel()  # both folds (even/odd rows) right 8 times in 10
    bins, summary = calibration.calibration_summary(_predictions(confidence, correct), 10)
    assert summary["ece"] == pytest.approx(0.0, abs=1e-12)
    assert summary["ece_run_mean"] == pytest.approx(0.0, abs=1e-12)
    assert bins.n.sum() == 20 and bins.loc[bins.n > 0, "bin_high"].tolist() == [pytest.approx(0.8)]


def test_over_confident_predictions_have_the_expected_ece():
    # 90 % confident but right half of the time: |0.5 - 0.9| = 0.4; and 60 % confident, always right: 0.4
    confidence = np.array([0.9] * 10 + [0.6] * 10)
    correct = np.array([True, False] * 5 + [True] * 10)
    bins, summary = calibration.calibration_summary(_predictions(confidence, correct), 5)
    assert summary["ece"] == pytest.approx(0.4)
    assert summary["mean_confidence"] == pytest.approx(0.75) and summary["accuracy"] == pytest.approx(0.75)
    filled = bins[bins.n > 0]
    assert filled.accuracy.tolist() == pytest.approx([1.0, 0.5])


def test_predictions_without_probabilities_are_refused():
    with pytest.raises(ValueError, match="no class probabilities"):
        calibration.confidence_and_correct(pd.DataFrame({"true": ["A"], "pred": ["A"]}))


def test_neighbour_transfer_scores_aligned_and_swapped_species():
    rng = np.random.default_rng(0)
    centres = {"Pvalb": [0, 0], "Sst": [10, 0], "Vip": [0, 10]}
    labels = np.repeat(list(centres), 20)
    mouse = np.array([centres[c] for c in labels]) + rng.normal(0, 0.5, (labels.size, 2))
    human = np.array([centres[c] for c in labels]) + rng.normal(0, 0.5, (labels.size, 2))
    assert embedding.neighbour_transfer(mouse, labels, human, labels, 5)["macro_f1"] == 1.0
    swapped = np.array([{"Pvalb": "Sst", "Sst": "Vip", "Vip": "Pvalb"}[c] for c in labels])
    assert embedding.neighbour_transfer(mouse, swapped, human, labels, 5)["accuracy"] == 0.0
    assert embedding.leave_one_out_neighbours(human, labels, 5)["macro_f1"] == 1.0


def test_neighbour_count_is_capped_at_the_smallest_class():
    # 3 Vip cells among 20 Pvalb: with k = 15 Vip could never win a vote; capped at 3 it does
    labels = np.array(["Pvalb"] * 20 + ["Vip"] * 3)
    points = np.r_[np.zeros((20, 2)), np.full((3, 2), 10.0)] + np.random.default_rng(4).normal(0, 0.1, (23, 2))
    score = embedding.neighbour_transfer(points, labels, points, labels, 15)
    assert score["k"] == 3 and score["macro_f1"] == 1.0
    loo = embedding.leave_one_out_neighbours(points, labels, 15)
    assert loo["k"] == 2 and loo["macro_f1"] == 1.0


def test_projection_is_deterministic_and_keeps_the_main_axis():
    rng = np.random.default_rng(1)
    points = np.c_[rng.normal(0, 10, 200), rng.normal(0, 1, 200), rng.normal(0, 0.1, 200)]
    xy = embedding.project_2d(points)
    assert xy.shape == (200, 2)
    assert np.allclose(xy, embedding.project_2d(points.copy()))
    assert abs(np.corrcoef(xy[:, 0], points[:, 0])[0, 1]) > 0.99


def test_embedding_is_the_encoder_output_in_eval_mode():
    torch.manual_seed(0)
    model = AttentionBiLSTM(ModelConfig(4, 3, {"human": 2}, hidden=8, dropout=0.5))
    x = np.random.default_rng(2).normal(size=(5, 3, 4)).astype(np.float32)
    mask = np.ones((5, 3), dtype=bool)
    first = embedding.embed(model, x, mask, torch.device("cpu"), batch=2)
    assert first.shape == (5, 16)
    assert np.array_equal(first, embedding.embed(model, x, mask, torch.device("cpu")))


def _aligned(values: dict[str, list[float]], classes: list[str]) -> pd.DataFrame:
    n = len(classes)
    return pd.DataFrame(
        {"cell_id": [str(i) for i in range(n)], "subclass": classes, "exclusion": "", "status": "ok", **values}
    )


def test_species_shift_separates_composition_from_within_class_shift():
    classes = ["Pvalb"] * 50 + ["Sst"] * 50
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 1, (2, 50))
    noise = (noise - noise.mean(axis=1, keepdims=True)) / noise.std(axis=1, ddof=1, keepdims=True)  # SD 1 per class
    base = np.where(np.array(classes) == "Pvalb", 0.0, 4.0) + noise.ravel()
    mouse = _aligned({"same": base, "shifted": base}, classes)
    # human: the same class distributions for `same` but a 2-SD shift in every class for `shifted`
    human = _aligned({"same": base[::-1].copy(), "shifted": base + 2.0}, classes[::-1])
    table = species_shift.shift_table(mouse, human, {}).set_index("feature")
    assert table.loc["shifted", "smd_within_subclass"] == pytest.approx(2.0)
    assert abs(table.loc["same", "smd_within_subclass"]) < 0.05
    assert table.index[0] == "shifted"  # sorted by |within-subclass shift|


def test_species_shift_maps_mouse_classes_and_skips_failed_cells():
    mouse = _aligned({"f": [1.0, 2.0, 3.0, 50.0]}, ["Sncg", "Sncg", "Sncg", "Sncg"])
    mouse.loc[3, "status"] = "failed"
    human = _aligned({"f": [1.0, 2.0, 3.0]}, ["Vip", "Vip", "Vip"])
    table = species_shift.shift_table(mouse, human, {"Sncg": "Vip"})
    assert table.loc[0, "smd_Vip"] == pytest.approx(0.0)


def test_deployment_fold_trains_on_test_cells_and_keeps_validation():
    splits = pd.DataFrame(
        {
            "cell_id": ["a", "b", "c", "d", "a", "b", "c", "d", "e"],
            "subclass": ["X"] * 9,
            "fold": [0, 0, 0, 0, 1, 1, 1, 1, 0],
            "role": ["train", "val", "test", "train", "test", "train", "train", "val", "excluded_rare_class"],
        }
    )
    fold = deployment.deployment_fold(splits)
    assert fold.set_index("cell_id").role.to_dict() == {
        "a": "train",
        "b": "val",
        "c": "train",
        "d": "train",
        "e": "excluded_rare_class",
    }
    assert deployment.labelled_cells(splits).cell_id.tolist() == ["a", "b", "c", "d"]


def test_scaler_round_trip_for_both_input_kinds():
    tables = deployment.scaler_from_dict("features", {"mean": {"f": 1.0}, "sd": {"f": 2.0}})
    assert tables.mean == {"f": 1.0} and tables.sd == {"f": 2.0}
    families = deployment.scaler_from_dict("families", {"mean": [[0.0, 1.0]], "sd": [[1.0, 2.0]]})
    assert families.sd.shape == (1, 2)


def test_stage_table_sums_jobs_per_rule_in_workflow_order(tmp_path):
    header = "s\th:m:s\tmax_rss\tmax_vms\tmax_uss\tmax_pss\tio_in\tio_out\tmean_load\tcpu_time\n"
    for rule, name, seconds, rss in (
        ("pretrain", "a", 10.0, 300.0),
        ("pretrain", "b", 20.0, 500.0),
        ("report", "r", 5.0, 90.0),
    ):
        (tmp_path / rule).mkdir(exist_ok=True)
        (tmp_path / rule / f"{name}.tsv").write_text(
            header + f"{seconds}\t0:00:10\t{rss}\t0\t0\t0\t0\t0\t0\t{seconds / 2}\n"
        )
    (tmp_path / "report" / "empty.tsv").write_text(header)
    table = run_costs.stage_table(run_costs.read_benchmarks(tmp_path), ["report", "pretrain"])
    assert table.index.tolist() == ["report", "pretrain", "all stages"]
    assert table.loc["pretrain", "jobs"] == 2 and table.loc["pretrain", "wall total (s)"] == 30.0
    assert table.loc["pretrain", "peak RSS max (MB)"] == 500.0 and table.loc["pretrain", "CPU total (s)"] == 15.0
    assert table.loc["all stages", "wall total (s)"] == 35.0
    assert run_costs.stage_costs(str(tmp_path), ["report", "pretrain"]).equals(table)  # the report's call
