import numpy as np
import pandas as pd
from conftest import ROOT, shared_file

from patchseq_ml.learn.alignment import alignment_report, load_alignment, to_common

ALIGNMENT = load_alignment(ROOT / "config/feature_alignment.tsv")


def test_every_nwb_name_is_a_feature_the_workflow_extracts():
    import json

    golden = json.loads((ROOT / "tests/data/golden_features.json").read_text())
    extracted = set(next(iter(golden.values()))["features"])
    assert set(ALIGNMENT["nwb"]) - {""} <= extracted


def test_units_are_converted_and_missing_quantities_dropped_with_a_reason():
    mouse = pd.DataFrame(
        {
            "cell_id": ["1", "2"],
            "subclass": "Sst",
            "exclusion": "",
            "status": "ok",
            "tau": [10.0, 20.0],
            "latency": [0.02, 0.03],
        }
    )
    human = pd.DataFrame(
        {
            "cell_id": ["3", "4"],
            "subclass": "Sst",
            "exclusion": "",
            "status": "ok",
            "tau": [0.01, 0.02],
            "latency_rheo": [np.nan, np.nan],
        }
    )
    common = {"mouse": to_common(mouse, ALIGNMENT, "mouse"), "human": to_common(human, ALIGNMENT, "human")}
    np.testing.assert_allclose(common["human"]["tau"], [10.0, 20.0])  # s -> ms
    report = alignment_report(common, ALIGNMENT, {"mouse": "mouse", "human": "human"}, 0.3).set_index("feature")
    assert report.loc["tau", "status"] == "shared"
    assert report.loc["latency_rheobase", "reason"] == "human: missing in 100% of cells"
    assert report.loc["sag", "reason"] == "absent from mouse (mouse); absent from human (human)"


def test_real_tables_share_the_documented_quantities():
    from patchseq_ml.learn.feature_tables import load_feature_table

    tables = {
        "mouse": ("mouse/NSS_PatchSeq_EP_features.csv", "cell_specimen_id"),
        "human": ("human/LeeDalley_ephys_fx.csv", "specimen_id"),
    }
    common = {}
    for species, (path, id_column) in tables.items():
        frame = load_feature_table(shared_file(path), {"id_column": id_column, "drop_columns": ["Unnamed: 0"]})
        frame = frame.reset_index().rename(columns={id_column: "cell_id"}).assign(status="ok")
        common[species] = to_common(frame, ALIGNMENT, species)
    report = alignment_report(common, ALIGNMENT, {"mouse": "mouse", "human": "human"}, 0.3)
    shared = set(report.loc[report.status == "shared", "feature"])
    assert {"vrest", "input_resistance", "tau", "rheobase", "threshold_v_ramp", "sag"} <= shared
    assert np.median(common["human"]["tau"].dropna()) > 5  # human tau converted from s to ms
