"""Feature-table mode: bad tables get one-line errors naming the file; the real tables load as documented."""

import pandas as pd
import pytest
import yaml
from conftest import ROOT, shared_file

from patchseq_ml.learn.feature_tables import TableError, join, load_feature_table, load_label_table

LABELS = {
    "id_column": "sid",
    "label_column": "label",
    "first_word": True,
    "class_map": {"Sst": "Sst", "Pvalb": "Pvalb"},
    "drop_labels": ["Meis2"],
}


def _write(tmp_path, name, frame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


def test_bad_feature_tables(tmp_path):
    spec = {"id_column": "sid"}
    with pytest.raises(TableError, match=r"f1\.csv: missing id column 'sid'"):
        load_feature_table(_write(tmp_path, "f1.csv", pd.DataFrame({"x": [1]})), spec)
    dup = pd.DataFrame({"sid": [1, 1], "x": [1.0, 2.0]})
    with pytest.raises(TableError, match=r"f2\.csv: 1 duplicate ids with conflicting rows in 'sid'"):
        load_feature_table(_write(tmp_path, "f2.csv", dup), spec)
    text = pd.DataFrame({"sid": [1, 2], "x": [1.0, 2.0], "note": ["a", "b"]})
    with pytest.raises(TableError, match=r"f3\.csv: non-numeric feature columns \['note'\]"):
        load_feature_table(_write(tmp_path, "f3.csv", text), spec)
    assert list(load_feature_table(_write(tmp_path, "f4.csv", text), {**spec, "drop_columns": ["note"]})) == ["x"]


def test_bad_label_tables(tmp_path):
    with pytest.raises(TableError, match=r"l1\.csv: missing label column 'label'"):
        load_label_table(_write(tmp_path, "l1.csv", pd.DataFrame({"sid": [1]})), LABELS)
    unknown = pd.DataFrame({"sid": [1, 2, 3, 4], "label": ["Sst a", "Vip b", "Vip c", "Meis2 x"]})
    with pytest.raises(TableError, match=r"l2\.csv: labels not in the class map or drop_labels: Vip \(2\)"):
        load_label_table(_write(tmp_path, "l2.csv", unknown), LABELS)


def test_class_smaller_than_folds_is_refused(tmp_path):
    features = pd.DataFrame({"x": range(6)}, index=pd.Index([str(i) for i in range(6)]))
    labels = pd.Series(["Sst"] * 5 + ["Pvalb"], index=features.index)
    with pytest.raises(TableError, match=r"labels\.csv: classes with fewer cells than folds \(5\): Pvalb \(1\)"):
        join(features, labels, 5, "labels.csv")


def test_real_tables_give_the_documented_counts():
    tables = yaml.safe_load((ROOT / "config/tables.yaml").read_text())["tables"]
    counts = {}
    for species, spec in tables.items():
        features = load_feature_table(
            shared_file(spec["features"]["path"].removeprefix("../shared/data/")), spec["features"]
        )
        labels = load_label_table(shared_file(spec["labels"]["path"].removeprefix("../shared/data/")), spec["labels"])
        table = join(features, labels, 5, spec["labels"]["path"])
        counts[species] = table.loc[table.exclusion == "", "subclass"].value_counts().to_dict()
    assert counts["mouse"] == {"Sst": 1824, "Pvalb": 888, "Vip": 797, "Lamp5": 477, "Sncg": 235}
    assert counts["human"] == {"Pvalb": 370, "Sst": 156, "Vip": 111, "Lamp5": 67}
