"""One extraction job's batch: every cell gets its record, whatever happens to the others."""

import json

from conftest import ROOT

from patchseq_ml.ephys import batch_extraction
from patchseq_ml.ephys.cell_features import extract_cell

DATA = ROOT / "tests/data"


def test_a_batch_writes_one_record_per_cell_equal_to_a_single_cell_extraction(tmp_path, stimulus_table, feature_config):
    (tmp_path / "junk.nwb").write_text("not an NWB file")
    cells = [
        ("p", str(DATA / "golden_pvalb.nwb")),
        ("junk", str(tmp_path / "junk.nwb")),
        ("s", str(DATA / "golden_sst.nwb")),
    ]
    statuses = batch_extraction.extract_batch(cells, stimulus_table, feature_config, tmp_path / "batch000")
    assert statuses == {"ok": 2, "failed": 1}
    assert sorted(p.name for p in (tmp_path / "batch000").iterdir()) == ["junk.json", "p.json", "s.json"]
    alone = extract_cell(DATA / "golden_sst.nwb", "s", stimulus_table, feature_config).to_dict()
    assert json.loads((tmp_path / "batch000/s.json").read_text()) == json.loads(json.dumps(alone))
    junk = json.loads((tmp_path / "batch000/junk.json").read_text())
    assert junk["status"] == "failed" and junk["failures"][0]["reason"].startswith("unreadable_file")


def test_an_unexpected_error_on_one_cell_is_that_cells_recorded_failure(tmp_path, monkeypatch, caplog, stimulus_table):
    def extract(path, cell_id, table, config):
        if cell_id == "bad":
            raise ZeroDivisionError("division by zero\nin a bug")
        return batch_extraction.CellResult(cell_id=cell_id, status="ok")

    monkeypatch.setattr(batch_extraction, "extract_cell", extract)
    cells = [("a", "a.nwb"), ("bad", "bad.nwb"), ("c", "c.nwb")]
    statuses = batch_extraction.extract_batch(cells, stimulus_table, {}, tmp_path)
    assert statuses == {"ok": 2, "failed": 1}  # the batch went on past the bad cell
    bad = json.loads((tmp_path / "bad.json").read_text())
    assert bad["status"] == "failed"
    assert bad["failures"] == [
        {"level": "cell", "item": "file", "reason": "extraction_error: ZeroDivisionError: division by zero in a bug"}
    ]
    assert "Traceback" in caplog.text and "bad (bad.nwb): extraction error" in caplog.text
    assert not list(tmp_path.glob("*.tmp"))
