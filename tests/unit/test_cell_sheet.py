import pandas as pd
import pytest
from conftest import shared_file

from patchseq_ml.acquire.cell_sheet import LabelTableError, build_sheet, load_labels

HUMAN = {
    "id_column": "nwb_id",
    "specimen_column": "specimen_id_x",
    "label_column": "Revised_subclass_label",
    "first_word": False,
    "class_map": {"LAMP5/PAX6/Other": "Lamp5", "PVALB": "Pvalb", "SST": "Sst", "VIP": "Vip"},
}
MOUSE = {
    "id_column": "ephys_session_id",
    "specimen_column": "cell_specimen_id",
    "label_column": "T-type Label",
    "first_word": True,
    "class_map": {"Lamp5": "Lamp5", "Pvalb": "Pvalb", "Sst": "Sst", "Vip": "Vip", "Sncg": "Sncg"},
}


def test_join_maps_labels_and_records_exclusions(tmp_path):
    labels = tmp_path / "labels.csv"
    pd.DataFrame(
        {
            "ephys_session_id": ["11", "12", "13"],
            "cell_specimen_id": ["1", "2", "3"],
            "T-type Label": ["Sst Calb2 Pdlim5", "Meis2 Adamts19", None],
        }
    ).to_csv(labels, index=False)
    paths = [f"x/sub-9/sub-9_ses-{s}_icephys.nwb" for s in ("11", "12", "13", "14")]
    sheet = build_sheet("mouse", paths, load_labels(labels, MOUSE), MOUSE)
    assert sheet["subclass"].tolist() == ["Sst", "", "", ""]
    assert sheet["exclusion"].tolist() == ["", "label_not_in_class_map", "no_label", "no_label"]
    assert sheet.loc[0, "specimen_id"] == "1" and sheet.loc[0, "subject_id"] == "9"
    urls = [f"https://archive.test/api/assets/{i}/download/" for i in range(4)]
    streamed = build_sheet("mouse", paths, load_labels(labels, MOUSE), MOUSE, sources=urls)
    assert streamed["nwb_path"].tolist() == urls  # ids from the paths, the files read from the URLs
    assert streamed.drop(columns="nwb_path").equals(sheet.drop(columns="nwb_path"))


def test_identical_duplicates_are_dropped_conflicting_ones_refused(tmp_path):
    path = tmp_path / "h.csv"
    rows = {"nwb_id": ["5", "5"], "specimen_id_x": ["1", "1"], "Revised_subclass_label": ["SST", "SST"]}
    pd.DataFrame(rows).to_csv(path, index=False)
    assert len(load_labels(path, HUMAN)) == 1
    rows["Revised_subclass_label"] = ["SST", "PVALB"]
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(LabelTableError, match=r"h\.csv: conflicting rows for nwb_id \['5'\]"):
        load_labels(path, HUMAN)


def test_missing_label_column_is_named(tmp_path):
    path = tmp_path / "m.csv"
    pd.DataFrame({"ephys_session_id": ["1"]}).to_csv(path, index=False)
    with pytest.raises(LabelTableError, match="missing label column 'T-type Label'"):
        load_labels(path, MOUSE)


def test_real_human_metadata_loads_with_its_duplicate_dropped():
    labels = load_labels(shared_file("human/LeeDalley_manuscript_metadata_v2.csv"), HUMAN)
    assert labels.index.is_unique
    assert set(labels["Revised_subclass_label"].dropna()) >= set(HUMAN["class_map"])


def test_real_mouse_metadata_labels_map_to_five_subclasses():
    labels = load_labels(shared_file("mouse/20200711_patchseq_metadata_mouse.csv"), MOUSE)
    first = labels["T-type Label"].dropna().str.split().str[0]
    assert set(MOUSE["class_map"]) <= set(first)
