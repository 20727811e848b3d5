"""End to end: the whole DAG on the tiny simulated preset, in a temporary working directory."""

import json

import numpy as np
import pandas as pd
import pytest
from report_checks import check_report_html, check_report_in_browser, check_snakemake_report
from workflow_runner import changed_config, planned_jobs, snakemake

pytestmark = pytest.mark.e2e
DEFECT_REASONS = {
    "truncated_sweep": ("sweep", "sweep_truncated"),
    "nan_sweep": ("sweep", "sweep_all_nan"),
    "bad_baseline": ("sweep", "sweep_baseline_out_of_range"),
    "no_long_square": ("cell", "no_long_square_sweeps"),
    "unlabeled": ("label", "no_label"),
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("tiny")
    snakemake(workdir, "--cores", "2", timeout=2400)  # ~9 min alone on 2 cores; a guard, not a speed test
    return workdir


def _tsv(path):
    return pd.read_csv(path, sep="\t", dtype={"cell_id": str}, keep_default_na=True)


@pytest.mark.parametrize("species,n_cells", [("mouse", 40), ("human", 30)])
def test_every_cell_is_accounted_for(run, species, n_cells):
    sheet = _tsv(run / f"results/sheets/{species}_cells.tsv")
    features = _tsv(run / f"results/features/{species}/features.tsv")
    failures = _tsv(run / f"results/features/{species}/failures.tsv")
    assert len(sheet) == len(features) == n_cells
    failed = set(features.loc[features.status == "failed", "cell_id"])
    assert failed == set(failures.loc[failures.level == "cell", "cell_id"])  # no cell lost without a reason
    assert len(failed) < n_cells // 2


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_each_injected_defect_is_counted_under_its_own_reason(run, species):
    truth = json.loads((run / f"results/raw/simulated/{species}/truth.json").read_text())
    failures = _tsv(run / f"results/features/{species}/failures.tsv")
    injected = {(cell, d): where for cell, rec in truth.items() for d, where in rec["defects"].items()}
    assert {d for _, d in injected} == set(DEFECT_REASONS) | {"missing_family"}
    for (cell, defect), where in injected.items():
        rows = failures[failures.cell_id == cell]
        if defect == "missing_family":
            level, reason = "family", f"no_{where}_sweeps"
        else:
            level, reason = DEFECT_REASONS[defect]
        hit = rows[(rows.level == level) & (rows.reason == reason)]
        assert len(hit) == 1, (cell, defect, rows)
        if level == "sweep":
            assert hit["item"].astype(str).iloc[0] == where


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_family_mask_is_exactly_the_injected_missing_families(run, species):
    """Every cell that extracted has all 12 families but those its injected missing stimulus type takes away (the
    first-AP families, which need short square, long square and ramp); a lost cell has none."""
    truth = json.loads((run / f"results/raw/simulated/{species}/truth.json").read_text())
    features = _tsv(run / f"results/features/{species}/features.tsv").set_index("cell_id")
    arrays = np.load(run / f"results/features/{species}/families.npz")
    names = list(arrays["family_names"])
    assert len(names) == 12 and arrays["values"].shape == (len(features), 12, 450)
    for i, cell in enumerate(arrays["cell_ids"]):
        defects = truth[cell]["defects"]
        missing = {n for n, present in zip(names, arrays["mask"][i]) if not present}
        if features.loc[cell, "status"] == "failed":
            assert missing == set(names), cell
        elif "missing_family" in defects:
            assert missing == {"first_ap_v", "first_ap_dv"}, (cell, defects)
        else:
            assert not missing, (cell, defects, missing)
    present = arrays["values"][arrays["mask"]]
    assert np.isfinite(present).all() and np.abs(present).sum(axis=1).min() > 0  # present means data, never zeros


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_spike_detection_against_truth(run, species):
    table = _tsv(run / f"results/features/{species}/spike_detection.tsv").set_index("stimulus_type")
    assert table.loc["all", "true_spikes"] > 500
    assert table.loc["all", "precision"] >= 0.99 and table.loc["all", "recall"] >= 0.99


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_features_are_physiological(run, species):
    f = _tsv(run / f"results/features/{species}/features.tsv")
    ok = f[f.status == "ok"]
    ranges = {
        "vrest_mv": (-90, -50),
        "input_resistance_mohm": (20, 1500),
        "tau_ms": (1, 100),
        "sag": (0, 0.8),
        "rheobase_pa": (10, 1500),
        "rheo_width_ms": (0.15, 2.0),
        "rheo_threshold_v": (-60, -20),
        "rheo_peak_v": (0, 60),
        "rheo_upstroke_downstroke_ratio": (1, 6),
    }
    for name, (low, high) in ranges.items():
        values = ok[name].dropna()
        # tau as IPFX: a step whose deflection is < 20 x the baseline noise SD gives no fit (noisy human cells)
        assert len(values) >= (0.9 * len(ok) if name == "tau_ms" else len(ok) - 1), name
        assert values.between(low, high).all(), (name, values.describe())
    by_class = ok.groupby("subclass")["rheo_width_ms"].median()
    assert by_class["Pvalb"] == by_class.min()  # fast-spiking cells have the narrowest APs


def test_report_exists_with_its_sections(run):
    """Every section, in order, with numbers and no placeholders; every figure embedded, decodable, also as SVG."""
    check_report_html(run)
    assert (run / "results/report/figures/example_traces.svg").exists()


def test_report_renders_in_headless_chromium(run):
    """No JavaScript error or failed load, every image decoded and shown; screenshot: results/report/screenshot.png."""
    check_report_in_browser(run)


def test_snakemake_report_zip_holds_every_figure_with_its_caption(run):
    check_snakemake_report(run)


def test_up_to_date_run_has_nothing_to_do(run):
    assert planned_jobs(run) == {}


def test_feature_setting_change_reruns_extraction_and_downstream_only(run):
    config = changed_config(run, lambda c: c["features"]["spikes"].update(min_peak_mv=-25))
    jobs = planned_jobs(run, configfile=config)
    assert "simulate_batch" not in jobs and "cells_sheet" not in jobs and "merge_simulated_labels" not in jobs
    assert jobs["extract_features"] == 2  # every cell, in one job per simulation batch (40 mouse, 30 human cells)
    assert {"collect_features", "validate_spike_detection", "export_example_traces", "report"} <= set(jobs)


def test_failure_threshold_reruns_the_collection_and_what_follows_not_extraction(run):
    config = changed_config(run, lambda c: c["features"].update(max_failed_fraction=0.6))
    jobs = planned_jobs(run, configfile=config)
    assert jobs["collect_features"] == 2 and {"make_splits", "pretrain", "finetune", "report"} <= set(jobs)
    assert not {"simulate_batch", "merge_simulated_labels", "cells_sheet", "extract_features"} & set(jobs)
    assert "validate_spike_detection" not in jobs  # it reads the cell records, not the collected tables


def test_family_setting_reruns_extraction_not_simulation(run):
    config = changed_config(run, lambda c: c["features"]["families"].update(isi_points=50))
    jobs = planned_jobs(run, configfile=config)
    assert jobs["extract_features"] == 2 and jobs["collect_features"] == 2
    assert not {"simulate_batch", "merge_simulated_labels", "cells_sheet"} & set(jobs)


def test_report_setting_change_reruns_only_the_report(run):
    config = changed_config(run, lambda c: c["report"].update(features=["rheobase_pa", "sag"]))
    assert planned_jobs(run, configfile=config) == {"report": 1, "all": 1}


def test_example_traces_are_finite(run):
    with np.load(run / "results/report/traces/mouse.npz") as npz:
        keys = [k for k in npz.files if k.endswith("_v")]
        assert keys and all(np.isfinite(npz[k]).all() for k in keys)


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_baselines_score_above_chance_on_identical_splits(run, species):
    splits = _tsv(run / f"results/splits/{species}/seed0.tsv")
    test_fold0 = set(splits[(splits.fold == 0) & (splits.role == "test")].cell_id)
    for model in ("rf_spca", "rf", "logreg"):
        predictions = _tsv(run / f"results/baseline/{species}/{model}/seed0/fold0.tsv")
        assert set(predictions.cell_id) == test_fold0  # every model is scored on the very same cells
        summary = _tsv(run / f"results/baseline/{species}/{model}/metrics_summary.tsv").set_index("metric")
        assert summary.loc["macro_f1", "n"] == 6  # 2 seeds x 3 folds
        assert summary.loc["accuracy", "mean"] > 0.5


def test_rare_class_is_excluded_and_counted(run):
    splits = _tsv(run / "results/splits/mouse/seed0.tsv")
    rare = splits[splits.role == "excluded_rare_class"]
    assert set(rare.subclass) == {"Sncg"}
    assert "Sncg" not in set(splits[splits.role == "test"].subclass)


def test_alignment_report_names_shared_and_dropped_features(run):
    report = _tsv(run / "results/features/aligned/alignment_report.tsv").set_index("feature")
    assert report.loc["rheobase", "status"] == "shared"
    assert report.loc["vm_for_sag", "status"] == "shared"  # the NWB path measures it as IPFX does (sag's Vm)
    assert report.loc[report.status != "shared", "reason"].notna().all()
    aligned = _tsv(run / "results/features/aligned/human.tsv")
    assert "rheobase" in aligned and "vm_for_sag" in aligned


def test_transfer_study_runs_every_strategy_on_the_baseline_folds(run):
    summary = _tsv(run / "results/finetune/human/metrics_summary.tsv")
    assert set(summary.method) == {"scratch", "head", "full", "joint", "mapped", "forest"}
    paired = _tsv(run / "results/finetune/human/paired_differences.tsv")
    assert set(paired.reference) == {"scratch", "forest"} and (paired.n_pairs == 6).all()
    splits = _tsv(run / "results/splits/human/seed1.tsv")
    test_cells = set(splits[(splits.fold == 2) & (splits.role == "test")].cell_id)
    for strategy in ("scratch", "joint"):
        predictions = _tsv(run / f"results/finetune/human/{strategy}/seed1/fold2/predictions.tsv")
        assert set(predictions.cell_id) == test_cells
    html = (run / "results/report/report.html").read_text()
    assert "Attention BiLSTM and mouse -&gt; human transfer" in html or "mouse -> human transfer" in html


def test_learning_curve_covers_every_fraction_and_method(run):
    curve = _tsv(run / "results/learning_curve/human/learning_curve.tsv")
    assert set(curve.method) == {"scratch", "joint", "forest", "hgb"}  # the forest has one name in every table
    paired = _tsv(run / "results/learning_curve/human/paired_vs_best_human_only.tsv")
    assert sorted(paired.fraction.unique()) == [0.1, 0.25, 0.5, 1.0] and (paired.n_pairs == 3).all()
    for fraction, rows in paired.groupby("fraction"):  # the reference: the best human-only model at that fraction
        at = curve[(curve.fraction == fraction) & curve.method.isin(["forest", "hgb", "scratch"])]
        assert set(rows.reference) == {at.loc[at.macro_f1.idxmax(), "method"]}
    assert sorted(curve.fraction.unique()) == [0.1, 0.25, 0.5, 1.0]
    attention = _tsv(run / "results/finetune/attention_by_class.tsv")
    families = [c for c in attention.columns if c not in ("species", "method", "class")]
    np.testing.assert_allclose(attention[families].sum(axis=1), 1.0, atol=1e-5)  # weights over present families


def test_predict_agrees_with_the_workflow_and_refuses_bad_files(run, tmp_path):
    """`python -m patchseq_ml predict` on 3 mouse test cells of seed 0 gives the pretraining run's own predictions;
    a non-NWB file and an NWB 1 file get one line each and a non-zero exit."""
    import subprocess
    import sys

    import h5py
    from conftest import ROOT

    test = _tsv(run / "results/pretrain/mouse/seed0/test_predictions.tsv").head(3)
    sheet = _tsv(run / "results/sheets/mouse_cells.tsv").set_index("cell_id")
    files = [str(run / sheet.loc[c, "nwb_path"]) for c in test.cell_id]
    model = str(run / "results/pretrain/mouse/seed0/checkpoint.pt")
    command = [sys.executable, "-m", "patchseq_ml", "predict", *files, "--model", model]
    env = {"PYTHONPATH": str(ROOT / "workflow_scripts"), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([*command, "--json"], capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    records = json.loads(out.stdout)
    assert [r["cell_id"] for r in records] == test.cell_id.tolist()
    for record, (_, row) in zip(records, test.iterrows()):
        assert record["predicted"] == row["pred"]
        for cls, p in record["probabilities"].items():
            assert p == pytest.approx(row[f"p_{cls}"], abs=1e-3)
        assert len(record["top_families"]) == 3
    text = subprocess.run(command[:5] + ["--model", model], capture_output=True, text=True, env=env, timeout=300)
    assert text.stdout.startswith(f"{test.cell_id.iloc[0]}: {test.pred.iloc[0]} (") and "attention:" in text.stdout
    (tmp_path / "notes.nwb").write_text("not hdf5")
    with h5py.File(tmp_path / "old.nwb", "w") as h5:
        h5.attrs["nwb_version"] = "NWB-1.0.6"
    bad = subprocess.run(
        command[:4] + [str(tmp_path / "notes.nwb"), str(tmp_path / "old.nwb"), "--model", model],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert bad.returncode == 1 and bad.stdout == ""
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 2 and "notes.nwb" in lines[0] and "NWB 1" in lines[1], lines
    refused = subprocess.run(
        command[:5] + ["--model", str(tmp_path / "notes.nwb")], capture_output=True, text=True, env=env
    )
    assert refused.returncode == 2 and "not a readable checkpoint" in refused.stderr


def test_predict_with_the_deployed_human_model_agrees_with_its_own_predictions(run):
    """The deployed human model (two heads: `predict` must use the human one) on 3 human cells gives the
    probabilities the deploy job wrote for them."""
    import subprocess
    import sys

    from conftest import ROOT

    fitted = _tsv(run / "results/model/human/predictions.tsv").head(3)
    sheet = _tsv(run / "results/sheets/human_cells.tsv").set_index("cell_id")
    files = [str(run / sheet.loc[c, "nwb_path"]) for c in fitted.cell_id]
    model = str(run / "results/model/human/checkpoint.pt")
    env = {"PYTHONPATH": str(ROOT / "workflow_scripts"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "patchseq_ml", "predict", *files, "--model", model, "--json"]
    out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    for record, (_, row) in zip(json.loads(out.stdout), fitted.iterrows()):
        assert set(record["probabilities"]) == {"Lamp5", "Pvalb", "Sst", "Vip"}  # the human head's classes
        assert record["predicted"] == row["pred"]
        for cls, p in record["probabilities"].items():
            assert p == pytest.approx(row[f"p_{cls}"], abs=1e-3)


def test_selection_chooses_on_the_selection_seed_and_scores_on_the_other(run):
    selected = json.loads((run / "results/select/human/selected.json").read_text())
    assert selected["selection_seeds"] == [0] and selected["evaluation_seeds"] == [1] and selected["held_out"]
    assert selected["cv"]["runs"] == 3 and 0 <= selected["cv"]["macro_f1"] <= 1
    candidates = _tsv(run / "results/select/human/candidates.tsv").set_index("method")
    assert {"forest", "hgb", "logreg", "scratch", "joint", "mapped", "ensemble"} == set(candidates.index)
    assert candidates.chosen.sum() == 1 and candidates.index[candidates.chosen][0] == selected["model"]
    per_fold = _tsv(run / "results/select/human/metrics_per_fold.tsv")
    winner = per_fold[(per_fold.method == selected["model"]) & (per_fold.seed == 1)]
    assert winner.macro_f1.mean() == pytest.approx(selected["cv"]["macro_f1"])
    html = (run / "results/report/report.html").read_text()
    assert f"Use {selected['model']}" in html and "Mouse data helped" in html


def test_predict_uses_the_selected_model_and_says_which_and_how_good(run):
    """The deployed bundle is the chosen model (same name and members), and `predict` with it on 3 human cells
    gives the probabilities the deploy job fitted, after a line naming the model and its cross-validated score."""
    import subprocess
    import sys

    import joblib
    from conftest import ROOT

    selected = json.loads((run / "results/select/human/selected.json").read_text())
    bundle = joblib.load(run / "results/model/human/selected.joblib")
    assert bundle["model"] == selected["model"] and bundle["cv"] == selected["cv"]
    assert [m["name"] for m in bundle["members"]] == [m["name"] for m in selected["members"]]
    fitted = _tsv(run / "results/model/human/selected_predictions.tsv").head(3)
    sheet = _tsv(run / "results/sheets/human_cells.tsv").set_index("cell_id")
    files = [str(run / sheet.loc[c, "nwb_path"]) for c in fitted.cell_id]
    model = str(run / "results/model/human/selected.joblib")
    env = {"PYTHONPATH": str(ROOT / "workflow_scripts"), "PATH": "/usr/bin:/bin"}
    command = [sys.executable, "-m", "patchseq_ml", "predict", *files, "--model", model]
    out = subprocess.run([*command, "--json"], capture_output=True, text=True, env=env, timeout=600)
    assert out.returncode == 0, out.stderr
    for record, (_, row) in zip(json.loads(out.stdout), fitted.iterrows()):
        assert record["model"] == selected["model"] and record["predicted"] == row["pred"]
        for cls, p in record["probabilities"].items():
            assert p == pytest.approx(row[f"p_{cls}"], abs=1e-3)
        assert record["explanation"]["top"]  # attention or feature importances
    text = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    first = text.stdout.splitlines()[0]
    assert first.startswith(f"model: {selected['model']}") and f"{selected['cv']['macro_f1']:.3f}" in first


def test_calibration_embedding_and_species_shift_outputs(run):
    calibration = _tsv(run / "results/finetune/human/calibration.tsv").set_index("method")
    assert set(calibration.index) == {"scratch", "head", "full", "joint", "mapped", "forest"}
    assert calibration.ece.between(0, 1).all() and (calibration.n_runs == 2 * 3).all()
    bins = _tsv(run / "results/finetune/human/calibration_bins.tsv")
    assert (bins.groupby("method").n.sum().reindex(calibration.index) == calibration.n_predictions).all()
    embedding = _tsv(run / "results/model/embedding.tsv")
    labelled = {
        s: set(_tsv(run / f"results/splits/{s}/seed0.tsv").query("fold == 0 and role != 'excluded_rare_class'").cell_id)
        for s in ("mouse", "human")
    }
    for encoder, frame in embedding.groupby("encoder"):
        for species in ("mouse", "human"):
            assert set(frame.loc[frame.species == species, "cell_id"]) == labelled[species], (encoder, species)
        assert np.isfinite(frame[["pc1", "pc2"]].to_numpy()).all()
    assert set(embedding.subclass) <= {"Lamp5", "Pvalb", "Sst", "Vip"}  # mouse Sncg mapped to its human class
    alignment = _tsv(run / "results/model/embedding_alignment.tsv")
    assert len(alignment) == 4 and alignment.macro_f1.between(0, 1).all()
    shift = _tsv(run / "results/features/aligned/species_shift.tsv")
    shared = _tsv(run / "results/features/aligned/alignment_report.tsv").query("status == 'shared'").feature
    assert set(shift.feature) == set(shared)


def test_a_job_killed_mid_training_is_redone_and_gives_identical_metrics(run, tmp_path):
    """SIGKILL the whole snakemake process group while a fine-tuning job trains; the rerun with
    --rerun-incomplete redoes that job (its partial outputs are not accepted) and ends with the same metrics."""
    import os
    import shutil
    import signal
    import subprocess
    import sys
    import time

    from conftest import ROOT
    from workflow_runner import TINY

    work = tmp_path / "copy"
    shutil.copytree(run, work, symlinks=True)
    target = "results/finetune/human/joint/seed0/fold0"
    want = {name: (run / target / name).read_text() for name in ("metrics.json", "predictions.tsv")}
    config = ["--configfile", str(ROOT / "config/config.yaml"), str(TINY)]
    command = [sys.executable, "-m", "snakemake", "-s", str(ROOT / "Snakefile"), "-d", str(work), "--cores", "1"]
    (work / "results/logs/finetune/joint/seed0.log").unlink()  # the copy holds the first run's log
    process = subprocess.Popen(
        [*command, f"{target}/metrics.json", "--force", *config],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    log = work / "results/logs/finetune/joint/seed0.log"  # written once the script has imported torch
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline and not log.exists():
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    assert log.exists(), "the fine-tuning job never started"
    assert not (work / target / "metrics.json").exists()  # killed before its end: forced outputs were removed
    subprocess.run([*command, "--unlock", *config], check=True, capture_output=True)  # the kill left the lock
    subprocess.run([*command, f"{target}/metrics.json", "--rerun-incomplete", *config], check=True, capture_output=True)
    for name, text in want.items():
        assert (work / target / name).read_text() == text, name


def test_finetune_setting_change_reruns_finetuning_and_what_follows_only(run):
    config = changed_config(run, lambda c: c["bilstm"]["finetune"].update(lr=1e-3))
    assert planned_jobs(run, configfile=config) == {
        "finetune": 5 * 2,  # strategies x seeds (one job trains the 3 folds)
        "learning_curve_finetune": 3 * 2,  # fractions x strategies (learning-curve seed 0)
        "evaluate_transfer": 1,
        "evaluate_predictions": 1,
        "evaluate_learning_curve": 1,
        "deploy_human_model": 1,
        "embed_cells": 1,
        "predict_unlabelled": 1,
        "select_model": 1,
        "deploy_selected_model": 1,
        "report": 1,
        "all": 1,
    }


def test_deployed_model_setting_change_reruns_the_deployed_model_and_its_embedding_only(run):
    config = changed_config(run, lambda c: c["bilstm"]["deploy"].update(strategy="full"))
    assert planned_jobs(run, configfile=config) == {
        "deploy_human_model": 1,
        "embed_cells": 1,
        "predict_unlabelled": 1,
        "report": 1,
        "all": 1,
    }


def test_added_seed_runs_only_that_seed_then_aggregation(run):
    config = changed_config(run, lambda c: c["splits"].update(seeds=[0, 1, 2]))
    assert planned_jobs(run, configfile=config) == {
        "make_splits": 2,  # mouse and human, seed 2
        "fit_baseline_mouse": 4,  # models (one job fits the 3 folds)
        "fit_baseline_human": 4,
        "evaluate_baseline": 2 * 4,
        "pretrain": 1,
        "finetune": 5,
        "evaluate_transfer": 1,
        "evaluate_predictions": 1,
        "select_model": 1,
        "deploy_selected_model": 1,
        "predict_unlabelled": 1,  # human cells answered by the (re)selected model
        "report": 1,
        "all": 1,
    }


def test_editing_the_model_module_reruns_training_not_extraction(run):
    import os

    from conftest import ROOT

    module = ROOT / "workflow_scripts/patchseq_ml/learn/model.py"
    before, text = module.stat(), module.read_bytes()
    try:  # an edit (a touch is not enough: Snakemake compares checksums of small inputs)
        module.write_bytes(text + b"\n# edited by a test\n")
        jobs = planned_jobs(run)
    finally:
        module.write_bytes(text)
        os.utime(module, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert {"pretrain", "finetune", "learning_curve_finetune", "evaluate_transfer", "deploy_human_model"} <= set(jobs)
    assert not {"simulate_batch", "extract_features", "collect_features", "make_splits"} & set(jobs)
    assert not {"fit_baseline_mouse", "fit_baseline_human"} & set(jobs)
    assert jobs["pretrain"] == 2 and jobs["finetune"] == 10
