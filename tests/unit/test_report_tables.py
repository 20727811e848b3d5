"""Report tables keep the labels a reader needs: index levels of paired and learning-curve tables, layout notes."""

import json
from types import SimpleNamespace

import pandas as pd

from patchseq_ml.present import baseline_section, html, transfer_section
from patchseq_ml.present.data_report import read_species_tables
from patchseq_ml.present.transfer_section import layout_note


def test_a_table_indexed_by_several_named_levels_shows_every_level():
    paired = pd.DataFrame(
        {"method": ["joint", "forest"], "reference": ["scratch", "scratch"], "mean_difference": [-0.016, 0.072]}
    )
    text = html.table(paired.set_index(["method", "reference"]))
    assert "joint" in text and "forest" in text and text.count("scratch") == 2 and "reference" in text
    assert "<th>0</th>" not in html.table(pd.DataFrame({"x": [0.5]}))  # an unnamed index stays out (no row number)


def test_layout_note_names_families_or_feature_groups_and_the_standardisation():
    families = {"kind": "families", "family_names": ["first_ap_v", "isi_shape"], "widths": [450, 100]}
    assert (
        layout_note(families) == "Sequence steps: 2 feature-vector families (width): first_ap_v (450), isi_shape (100)."
    )
    groups = {
        "kind": "features",
        "family_names": ["firing", "human:ap_rheobase"],
        "families": [["rheobase", "fi_slope"], ["human:width_rheo", "human:upstroke_rheo"]],
        "standardise": "quantile",
    }
    note = layout_note(groups)
    assert "standardised by quantile" in note and "firing: rheobase, fi_slope" in note
    assert "human:ap_rheobase (2)" in note and "human:width_rheo" not in note


def test_the_report_reads_its_tables_per_species_per_baseline_and_per_pretraining_seed(tmp_path):
    for name in ("features", "failures", "summary"):
        (tmp_path / f"{name}.tsv").write_text("cell_id\tmetric\n0012\tx\n")
    (tmp_path / "confusion.tsv").write_text("true\tA\tB\nA\t3\t1\nB\t0\t2\n")
    features, failures = str(tmp_path / "features.tsv"), str(tmp_path / "failures.tsv")
    inputs = SimpleNamespace(features=[features], failures=[failures], sheets=[], spike_detection=[], traces=[])
    tables = read_species_tables(inputs, ["human"])  # a tables source: no sheet, sweeps or traces
    assert tables["human"].features["cell_id"].tolist() == ["0012"] and tables["human"].traces is None
    keys = [("human", "rf")]
    summaries, confusions = baseline_section.read_tables(keys, [tmp_path / "summary.tsv"], [tmp_path / "confusion.tsv"])
    assert summaries[keys[0]]["cell_id"].tolist() == ["0012"] and confusions[keys[0]].loc["A", "B"] == 1
    layout = {"kind": "families", "family_names": ["isi_shape"], "widths": [100]}
    for seed in (0, 1):
        (tmp_path / f"m{seed}.json").write_text(json.dumps({"seed": seed, "macro_f1": 0.5, "layout": layout}))
    pretrain, note = transfer_section.read_pretrain([tmp_path / "m0.json", tmp_path / "m1.json"])
    assert pretrain.columns.tolist() == ["seed", "macro_f1"] and pretrain["seed"].tolist() == [0, 1]
    assert note == layout_note(layout)
