"""End to end on feature tables (source: tables): small synthetic Allen-style tables -> report, with each species'
own features as masked BiLSTM steps, and the exact jobs a change of the sequence settings reruns."""

import hashlib

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from workflow_runner import ROOT, planned_jobs, snakemake

pytestmark = pytest.mark.e2e
MOUSE_LABELS = ["Lamp5 Lhx6", "Pvalb Reln", "Sst Chodl", "Vip Crispld2", "Sncg Gpr50"]  # t-types: first word counts
HUMAN_LABELS = ["LAMP5/PAX6/Other", "PVALB", "SST", "VIP"]
# shared quantities under each table's own names (config/feature_alignment.tsv), then each species' own features
MOUSE_FEATURES = ["ri", "tau", "threshold_i_long_square", "f_i_curve_slope", "sag", "peak_v_ramp", "avg_isi"]
HUMAN_FEATURES = ["input_resistance", "tau", "rheobase_i", "fi_fit_slope", "sag", "width_rheo", "upstroke_rheo"]


def _tables(rng, labels_of_classes, names, per_class, id_column, label_column, prefix):
    """Features whose class means differ, and labels, for ``per_class`` cells of each class."""
    rows, labels = [], []
    for k, label in enumerate(labels_of_classes):
        centre = np.array([100 + 40 * k, 10 + 3 * k, 50 + 30 * k, 0.1 + 0.05 * k, 0.05 * k, 10 * k, 20 - 3 * k])
        for i in range(per_class):
            cell = f"{prefix}{k}{i:03d}"
            values = centre * (1 + 0.15 * rng.standard_normal(len(centre))) + 0.02 * rng.standard_normal(len(centre))
            rows.append({id_column: cell, **dict(zip(names, values))})
            labels.append({id_column: cell, label_column: label, "Has_ephys": True})
    return pd.DataFrame(rows), pd.DataFrame(labels)


def _spec(path, id_column, **extra):
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest(), "id_column": id_column, **extra}


@pytest.fixture(scope="module")
def tables_run(tmp_path_factory):
    work = tmp_path_factory.mktemp("tables")
    rng = np.random.default_rng(7)
    mouse_f, mouse_l = _tables(rng, MOUSE_LABELS, MOUSE_FEATURES, 14, "cell_specimen_id", "T-type Label", "m")
    human_f, human_l = _tables(rng, HUMAN_LABELS, HUMAN_FEATURES, 12, "specimen_id", "Revised_subclass_label", "h")
    human_f["tau"] /= 1000.0  # the human table stores tau in s
    human_l = human_l.rename(columns={"specimen_id": "specimen_id_x"})
    paths = {}
    for name, frame in [("mf", mouse_f), ("ml", mouse_l), ("hf", human_f), ("hl", human_l)]:
        paths[name] = work / f"{name}.csv"
        frame.to_csv(paths[name], index=False)
    tables = yaml.safe_load((ROOT / "config/tables.yaml").read_text())
    overlay = {
        "source": "tables",
        "tables": {
            "mouse": {
                "features": _spec(paths["mf"], "cell_specimen_id"),
                "labels": {**tables["tables"]["mouse"]["labels"], **_spec(paths["ml"], "cell_specimen_id")},
            },
            "human": {
                "features": _spec(paths["hf"], "specimen_id"),
                "labels": {**tables["tables"]["human"]["labels"], **_spec(paths["hl"], "specimen_id_x")},
            },
        },
        "bilstm": {**tables["bilstm"], "strategies": ["scratch", "joint", "mapped"]},
        "splits": {
            "seeds": [0],
            "mouse": {"kind": "kfold", "folds": 3, "val_fraction": 0.2, "test_fraction": 0.2},
            "human": {"kind": "kfold", "folds": 3, "val_fraction": 0.2, "test_fraction": 0.2},
        },
        "baseline": {"models": ["rf", "logreg", "hgb"], "n_trees": 50, "hgb_max_iter": 30},
        "learning_curve": {"fractions": [0.5], "strategies": ["mapped"], "baselines": ["rf", "hgb"], "seeds": [0]},
    }
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    for key in ("bilstm", "baseline"):  # the overlay replaces nested sections whole: keep the other keys
        overlay[key] = {**config[key], **overlay[key]}
    overlay["bilstm"]["model"] = {**config["bilstm"]["model"], "hidden": 16}
    overlay["bilstm"]["pretrain"] = {**config["bilstm"]["pretrain"], "max_epochs": 12}
    path = work / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay, sort_keys=False))
    snakemake(work, "--cores", "2", configfile=path, timeout=1800)
    return work, path, overlay


def test_sequence_tables_carry_each_species_own_features(tables_run):
    work, _, _ = tables_run
    human = pd.read_csv(work / "results/features/sequence/human.tsv", sep="\t")
    mouse = pd.read_csv(work / "results/features/sequence/mouse.tsv", sep="\t")
    assert list(human.columns) == list(mouse.columns)
    own = [c for c in human.columns if ":" in c]
    assert own == ["mouse:peak_v_ramp", "mouse:avg_isi", "human:width_rheo", "human:upstroke_rheo"]
    assert human["mouse:peak_v_ramp"].isna().all() and mouse["human:width_rheo"].isna().all()
    assert human["human:width_rheo"].notna().all()
    shared = [c for c in human.columns[4:] if ":" not in c]
    assert set(shared) == {"input_resistance", "tau", "rheobase", "fi_slope", "sag"}


def test_the_checkpoint_records_own_steps_and_the_standardisation(tables_run):
    work, _, overlay = tables_run
    payload = torch.load(work / "results/pretrain/mouse/seed0/checkpoint.pt", weights_only=True)
    layout = payload["metadata"]["layout"]
    assert layout["standardise"] == overlay["bilstm"]["standardise"] == "quantile"
    assert layout["family_names"][-3:] == ["human:ap_rheobase", "mouse:ap_ramp", "mouse:other"]
    assert [f for f in layout["families"] if f[0].startswith("human:")] == [["human:width_rheo", "human:upstroke_rheo"]]
    attention = pd.read_csv(work / "results/finetune/human/mapped/seed0/fold0/attention.tsv", sep="\t", index_col=0)
    assert (attention["mouse:other"] == 0).all() and (attention["human:ap_rheobase"] > 0).all()


def test_transfer_results_and_report_on_tables(tables_run):
    work, _, _ = tables_run
    summary = pd.read_csv(work / "results/finetune/human/metrics_summary.tsv", sep="\t")
    assert {"scratch", "joint", "mapped", "forest"} == set(summary.method)
    paired = pd.read_csv(work / "results/finetune/human/paired_differences.tsv", sep="\t")
    assert (paired.n_pairs == 3).all()
    html = (work / "results/report/report.html").read_text()
    assert "human:ap_rheobase" in html and "standardised by quantile" in html


def test_selection_on_a_single_seed_is_flagged_and_the_deployed_model_is_the_chosen_one(tables_run):
    import json

    import joblib

    work, _, _ = tables_run
    selected = json.loads((work / "results/select/human/selected.json").read_text())
    assert selected["held_out"] is False and selected["evaluation_seeds"] == [0]  # one split seed: not held out
    candidates = pd.read_csv(work / "results/select/human/candidates.tsv", sep="\t")
    assert {"forest", "hgb", "logreg", "scratch", "joint", "mapped", "ensemble"} == set(candidates.method)
    bundle = joblib.load(work / "results/model/human/selected.joblib")
    assert bundle["model"] == selected["model"] and bundle["source"] == "tables"
    assert [m["name"] for m in bundle["members"]] == [m["name"] for m in selected["members"]]
    html = (work / "results/report/report.html").read_text()
    assert f"Use {selected['model']}" in html and "not held out" in html


def test_own_feature_setting_reruns_the_sequence_tables_and_the_models_only(tables_run):
    work, path, overlay = tables_run
    changed = work / "changed.yaml"
    edited = {**overlay, "bilstm": {**overlay["bilstm"], "own_features": {**overlay["bilstm"]["own_features"]}}}
    edited["bilstm"]["own_features"]["enabled"] = False
    changed.write_text(yaml.safe_dump(edited, sort_keys=False))
    jobs = planned_jobs(work, configfile=changed)
    assert jobs["sequence_features"] == 1 and jobs["pretrain"] == 1 and jobs["finetune"] == 3
    assert not {"fetch_table", "table_features", "align_features", "make_splits"} & set(jobs)
    assert not {"fit_baseline_mouse", "fit_baseline_human"} & set(jobs)
    edited["bilstm"]["own_features"]["enabled"] = True
    edited["bilstm"]["standardise"] = "zscore"
    changed.write_text(yaml.safe_dump(edited, sort_keys=False))
    jobs = planned_jobs(work, configfile=changed)
    assert "sequence_features" not in jobs and jobs["pretrain"] == 1 and jobs["learning_curve_finetune"] == 1
