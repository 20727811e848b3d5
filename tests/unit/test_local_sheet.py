"""The cell sheet of `source: local`: parsed and checked at parse time, one line naming the row per problem."""

import pytest
import yaml
from conftest import ROOT

from patchseq_ml import dag_cells
from patchseq_ml.acquire.cell_sheet import build_local_sheet
from patchseq_ml.acquire.local_sheet import SheetError, read_sheet, subclass_of
from patchseq_ml.learn.splits import TooFewLabelsError, make_splits

HEADER = "path\tcell_id\tspecies\tlabel\n"


def _sheet(tmp_path, rows, header=HEADER):
    for name in ("a.nwb", "b.nwb", "sub/c.nwb"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"")
    sheet = tmp_path / "cells.tsv"
    sheet.write_text(header + "".join("\t".join(r) + "\n" for r in rows))
    return sheet


def test_paths_relative_to_the_sheet_or_absolute_and_optional_labels(tmp_path):
    sheet = _sheet(tmp_path, [("a.nwb", "m1", "mouse", "Pvalb"), (str(tmp_path / "sub/c.nwb"), "h-1", "human", "")])
    rows = read_sheet(sheet)
    assert [(r.cell_id, r.species, r.path, r.label, r.line) for r in rows] == [
        ("m1", "mouse", str(tmp_path / "a.nwb"), "Pvalb", 2),
        ("h-1", "human", str(tmp_path / "sub/c.nwb"), "", 3),
    ]
    no_labels = _sheet(tmp_path, [("a.nwb", "m1", "mouse")], header="path\tcell_id\tspecies\n")
    assert read_sheet(no_labels)[0].label == ""


@pytest.mark.parametrize(
    "rows,problem",
    [
        ([("a.nwb", "m1", "mouse", ""), ("missing.nwb", "m2", "mouse", "")], "line 3 (cell m2): no such file"),
        ([("a.nwb", "m1", "mouse", ""), ("b.nwb", "m1", "human", "")], "line 3 (cell m1): duplicate cell_id"),
        ([("a.nwb", "m1", "rat", "")], "line 2 (cell m1): unknown species 'rat'"),
        ([("a.nwb", "m 1", "mouse", "")], "line 2 (cell m 1): cell_id may hold only"),
        ([("", "m1", "mouse", "")], "line 2 (cell m1): empty path"),
    ],
)
def test_each_problem_is_one_line_naming_the_row(tmp_path, rows, problem):
    with pytest.raises(SheetError) as error:
        read_sheet(_sheet(tmp_path, rows))
    message = str(error.value)
    assert problem in message and "\n" not in message and str(tmp_path / "cells.tsv") in message


def test_bad_columns_and_a_missing_sheet(tmp_path):
    with pytest.raises(SheetError, match=r"missing \['species'\]"):
        read_sheet(_sheet(tmp_path, [("a.nwb", "m1")], header="path\tcell_id\n"))
    with pytest.raises(SheetError, match="unknown"):
        read_sheet(_sheet(tmp_path, [("a.nwb", "m1", "mouse", "x")], header="path\tcell_id\tspecies\tsubclass\n"))
    with pytest.raises(SheetError, match="does not exist"):
        read_sheet(tmp_path / "nope.tsv")


def test_schema_validation_runs_on_every_row(tmp_path):
    def reject(row):
        if row["cell_id"] == "bad":
            raise ValueError("cell_id: rejected by the schema")

    with pytest.raises(SheetError, match=r"line 3 \(cell bad\): cell_id: rejected by the schema"):
        read_sheet(_sheet(tmp_path, [("a.nwb", "ok", "mouse", ""), ("b.nwb", "bad", "mouse", "")]), reject)


def test_the_dag_reads_each_cell_in_place_and_needs_both_species(tmp_path):
    sheet = _sheet(tmp_path, [("a.nwb", "m1", "mouse", ""), ("b.nwb", "h1", "human", "PVALB")])
    config = {"source": "local", "local": {"sheet": str(sheet)}}
    rows = dag_cells.local_rows(config)
    files = dag_cells.nwb_files(config, "human", rows["human"])
    assert list(files) == ["h1"] and files["h1"].location == str(tmp_path / "b.nwb")
    assert files["h1"].inputs == (str(tmp_path / "b.nwb"),) and not files["h1"].streamed
    assert dag_cells.label_file(config, "human") == str(sheet)
    only_mouse = _sheet(tmp_path, [("a.nwb", "m1", "mouse", "")])
    with pytest.raises(SheetError, match="no human cells"):
        dag_cells.local_rows({"source": "local", "local": {"sheet": str(only_mouse)}})


def test_labels_map_as_the_archive_tables_or_are_class_names():
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())["labels"]
    assert subclass_of("Sst Calb2 Pdlim5", config["mouse"]) == ("Sst", "")
    assert subclass_of("Sst", config["mouse"]) == ("Sst", "")
    assert subclass_of("PVALB", config["human"]) == ("Pvalb", "")
    assert subclass_of("Pvalb", config["human"]) == ("Pvalb", "")
    assert subclass_of("Serpinf1 Aqp5 Vip", config["mouse"]) == ("", "label_not_in_class_map")
    assert subclass_of("", config["human"]) == ("", "no_label")
    sheet = build_local_sheet("human", [{"cell_id": "h1", "path": "/x.nwb", "label": ""}], config["human"])
    assert sheet.iloc[0][["cell_id", "nwb_path", "subclass", "exclusion"]].tolist() == ["h1", "/x.nwb", "", "no_label"]


def test_too_few_labelled_cells_to_split_is_one_clear_error():
    import pandas as pd

    cells = pd.DataFrame({"cell_id": [f"c{i}" for i in range(7)], "subclass": ["Pvalb"] * 5 + ["Sst"] * 2})
    scheme = {"kind": "kfold", "folds": 3, "val_fraction": 0.2, "test_fraction": 0.2}
    with pytest.raises(TooFewLabelsError, match=r"Pvalb 5, Sst 2; .* at least 2 classes with 3 or more"):
        make_splits(cells, scheme, 0)
