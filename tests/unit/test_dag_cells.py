"""Where the cells come from (`dag_cells`): each cell's NWB file under each source, the extraction batches."""

import copy

import pytest

from patchseq_ml import dag_cells
from patchseq_ml.acquire.cell_sheet import parse_asset_name
from patchseq_ml.acquire.dandi_assets import AssetRow, ListingError
from patchseq_ml.acquire.local_sheet import SheetError, SheetRow


def _config(config, preset="tiny", batch_size=5):
    c = copy.deepcopy(config)
    c["preset"], c["simulation"]["batch_size"] = preset, batch_size
    return c


def test_cells_and_batches_follow_the_preset(config):
    c = _config(config)
    files = {s: dag_cells.nwb_files(c, s) for s in dag_cells.SPECIES}
    assert len(files["mouse"]) == 40 and len(files["human"]) == 30
    assert dag_cells.batches(c, "mouse") == [f"{b:03d}" for b in range(8)]
    assert len(set(files["mouse"]) | set(files["human"])) == 70  # ids unique across species
    assert dag_cells.simulated_batch_files(c, "human", "truth")[-1] == "results/raw/simulated/human/truth_batch005.json"


def test_every_cell_belongs_to_exactly_one_batch(config):
    c = _config(config)
    batches = [f.inputs for f in dag_cells.nwb_files(c, "mouse").values()]
    assert batches == [(f"results/raw/simulated/mouse/batch{b:03d}",) for b in range(8) for _ in range(5)]


def test_extraction_batches_are_the_simulation_batches_or_sheet_chunks(config):
    c = _config(config)
    files = dag_cells.nwb_files(c, "mouse")
    batches = dag_cells.extraction_batches(c, files)
    assert list(batches) == dag_cells.batches(c, "mouse")  # one extraction job per simulation batch
    for batch, cells in batches.items():  # ... reading exactly that batch's folder
        assert {files[cell].inputs for cell in cells} == {(f"results/raw/simulated/mouse/batch{batch}",)}
    records = dag_cells.cell_records("mouse", batches)
    assert [r.rsplit("/", 1)[1][:-5] for r in records] == list(files)  # every cell once, in cell order
    assert records[5] == f"results/features/mouse/cells/batch001/{list(files)[5]}.json"
    local = {**c, "source": "local", "features": {**c["features"], "batch_size": 3}}
    sheet = {f"cell{i}": dag_cells.NWBFile(f"f{i}.nwb", f"f{i}.nwb", (f"f{i}.nwb",)) for i in range(7)}
    chunks = dag_cells.extraction_batches(local, sheet)
    assert chunks == {"000": ["cell0", "cell1", "cell2"], "001": ["cell3", "cell4", "cell5"], "002": ["cell6"]}
    assert dag_cells.extraction_batches(local, {}) == {}
    assert dag_cells.file_inputs([files[c] for c in batches["001"]]) == ["results/raw/simulated/mouse/batch001"]
    assert dag_cells.extraction_folders("mouse", batches)[1] == "results/features/mouse/cells/batch001"


def test_an_extraction_job_reads_its_batch_and_holds_a_download_slot_only_when_streaming(config):
    c = _config(config)
    files = dag_cells.nwb_files(c, "mouse")
    batches = dag_cells.extraction_batches(c, files)
    batch = dag_cells.batch_files(files, batches, "001")
    assert list(batch) == batches["001"] and dag_cells.nwb_paths(batch) == [f.path for f in batch.values()]
    assert dag_cells.cell_locations(batch)[0] == [batches["001"][0], files[batches["001"][0]].location]
    assert dag_cells.stream_slots(batch.values()) == 0
    streamed = dag_cells.dandi_file(_dandi(), "mouse", DANDI_ROW)
    assert dag_cells.stream_slots([*batch.values(), streamed]) == 1
    assert dag_cells.nwb_locations({"11": streamed}) == ["http://a.test/api/assets/abc123/download/"]


def test_nwb_paths_use_the_dandi_asset_layout(config):
    c = _config(config)
    cell, nwb = list(dag_cells.nwb_files(c, "human").items())[4]
    subject, session = parse_asset_name(nwb.path)
    assert session == cell and nwb.path.startswith("results/raw/simulated/human/batch000/sub-")
    assert nwb.path.endswith(f"sub-{subject}/sub-{subject}_ses-{session}_icephys.nwb")
    assert nwb.location == nwb.path and nwb.path.startswith(nwb.inputs[0] + "/") and not nwb.streamed
    assert dag_cells.label_file(c, "human") == "results/raw/simulated/human/labels.csv"
    assert dag_cells.nwb_files({**c, "source": "tables"}, "human") == {}


def test_unknown_preset_is_named(config):
    with pytest.raises(ValueError, match="preset 'huge'"):
        dag_cells.n_cells(_config(config, preset="huge"), "mouse")


DANDI_ROW = AssetRow("sub-1/sub-1_ses-11_icephys.nwb", 10, "", "abc123")


def _dandi(mirror=None, stream=True) -> dict:
    dandisets = {"mouse": {"id": "000020", "version": "0.1.1", "api_url": "http://a.test/api/"}, "human": {}}
    spec = {"api_url": "http://b.test/api", "listing_dir": "l", "mirror": mirror, "stream": stream}
    return {"dandi": {**spec, "dandisets": dandisets}}


def test_dandi_file_is_the_download_or_the_archive_url_when_streaming():
    local = f"results/raw/dandi/mouse/{DANDI_ROW.path}"
    download = dag_cells.dandi_file(_dandi(stream=False), "mouse", DANDI_ROW)
    assert download == dag_cells.NWBFile(local, local, (local,)) and not download.streamed
    streamed = dag_cells.dandi_file(_dandi(), "mouse", DANDI_ROW)  # the species' own api_url wins
    assert streamed == dag_cells.NWBFile(local, "http://a.test/api/assets/abc123/download/", ())
    assert streamed.streamed
    assert dag_cells.dandi_file(_dandi(), "human", DANDI_ROW).location.startswith("http://b.test/api/assets/abc123/")
    config = {**_dandi(), "source": "dandi"}
    assert dag_cells.nwb_files(config, "mouse", [DANDI_ROW]) == {"11": streamed}
    assert dag_cells.label_file(config, "mouse") == "results/raw/dandi/mouse_labels.csv"


def test_streaming_reads_mirror_files_in_place_and_needs_an_asset_id_otherwise(tmp_path):
    mirrored = tmp_path / "mouse" / DANDI_ROW.path
    mirrored.parent.mkdir(parents=True)
    mirrored.write_bytes(b"x")
    in_place = dag_cells.dandi_file(_dandi(mirror=str(tmp_path)), "mouse", DANDI_ROW)
    assert in_place == dag_cells.NWBFile(f"results/raw/dandi/mouse/{DANDI_ROW.path}", str(mirrored), (str(mirrored),))
    assert dag_cells.dandi_file(_dandi(mirror=str(tmp_path)), "human", DANDI_ROW).streamed  # not in the mirror
    no_id = AssetRow(DANDI_ROW.path, 10, "", "")
    with pytest.raises(ListingError, match=r"l/human_assets.tsv: sub-1/.* no asset id") as error:
        dag_cells.dandi_file(_dandi(mirror=str(tmp_path)), "human", no_id)
    assert "\n" not in str(error.value)


def test_asset_params_are_the_listing_row():
    row = AssetRow("sub-1/sub-1_ses-2_icephys.nwb", 10, "ab" * 32, "id-1")
    rows = dag_cells.rows_by_path({"mouse": [row]})
    assert dag_cells.asset_params(rows, "mouse", row.path)["asset_id"] == "id-1"
    with pytest.raises(ValueError, match="not in the human asset listing"):
        dag_cells.asset_params(rows, "human", row.path)


def test_sheet_params_are_the_local_sheet_rows_and_empty_for_other_sources():
    sheet_row = SheetRow(line=2, cell_id="h1", species="human", path="a.nwb", label="PVALB")
    rows = {"human": [sheet_row]}
    expected = [{"cell_id": "h1", "path": "a.nwb", "label": "PVALB"}]
    assert dag_cells.species_sheet_params({"source": "local"}, rows, "human") == expected
    assert dag_cells.species_sheet_params({"source": "local"}, rows, "mouse") == []
    assert dag_cells.species_sheet_params({"source": "dandi"}, {"human": [DANDI_ROW]}, "human") == []
    assert ListingError in dag_cells.SOURCE_ERRORS and SheetError in dag_cells.SOURCE_ERRORS
