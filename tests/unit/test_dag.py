import copy

import pytest

from patchseq_ml import dag
from patchseq_ml.acquire.cell_sheet import parse_asset_name
from patchseq_ml.acquire.dandi_assets import AssetRow, ListingError


def _config(config, preset="tiny", batch_size=5):
    c = copy.deepcopy(config)
    c["preset"], c["simulation"]["batch_size"] = preset, batch_size
    return c


def test_cells_and_batches_follow_the_preset(config):
    c = _config(config)
    assert len(dag.cells(c, "mouse")) == 40 and len(dag.cells(c, "human")) == 30
    assert dag.batches(c, "mouse") == [f"{b:03d}" for b in range(8)]
    assert len(set(dag.cells(c, "mouse")) | set(dag.cells(c, "human"))) == 70  # ids unique across species


def test_every_cell_belongs_to_exactly_one_batch(config):
    c = _config(config)
    batches = [dag.batch_of_cell(c, "mouse", cell) for cell in dag.cells(c, "mouse")]
    assert batches == [f"{b:03d}" for b in range(8) for _ in range(5)]


def test_nwb_paths_use_the_dandi_asset_layout(config):
    c = _config(config)
    cell = dag.cells(c, "human")[4]
    path = dag.simulated_nwb(c, "human", cell)
    subject, session = parse_asset_name(path)
    assert session == cell and path.startswith("results/raw/simulated/human/batch000/sub-")
    assert path.endswith(f"sub-{subject}/sub-{subject}_ses-{session}_icephys.nwb")


def test_unknown_preset_is_named(config):
    with pytest.raises(ValueError, match="preset 'huge'"):
        dag.n_cells(_config(config, preset="huge"), "mouse")


DANDI_ROW = AssetRow("sub-1/sub-1_ses-11_icephys.nwb", 10, "", "abc123")


def _dandi(mirror=None, stream=True) -> dict:
    dandisets = {"mouse": {"id": "000020", "version": "0.1.1", "api_url": "http://a.test/api/"}, "human": {}}
    spec = {"api_url": "http://b.test/api", "listing_dir": "l", "mirror": mirror, "stream": stream}
    return {"dandi": {**spec, "dandisets": dandisets}}


def test_dandi_source_is_the_download_or_the_archive_url_when_streaming():
    download = dag.dandi_source(_dandi(stream=False), "mouse", DANDI_ROW)
    assert download == dag.NWBSource(f"results/raw/dandi/mouse/{DANDI_ROW.path}")
    assert download.input_files == [download.location]
    streamed = dag.dandi_source(_dandi(), "mouse", DANDI_ROW)  # the species' own api_url wins
    assert streamed == dag.NWBSource("http://a.test/api/assets/abc123/download/", streamed=True)
    assert streamed.input_files == []
    assert dag.dandi_source(_dandi(), "human", DANDI_ROW).location.startswith("http://b.test/api/assets/abc123/")


def test_streaming_reads_mirror_files_in_place_and_needs_an_asset_id_otherwise(tmp_path):
    mirrored = tmp_path / "mouse" / DANDI_ROW.path
    mirrored.parent.mkdir(parents=True)
    mirrored.write_bytes(b"x")
    assert dag.dandi_source(_dandi(mirror=str(tmp_path)), "mouse", DANDI_ROW) == dag.NWBSource(str(mirrored))
    assert dag.dandi_source(_dandi(mirror=str(tmp_path)), "human", DANDI_ROW).streamed  # not in the mirror
    no_id = AssetRow(DANDI_ROW.path, 10, "", "")
    with pytest.raises(ListingError, match=r"l/human_assets.tsv: sub-1/.* no asset id") as error:
        dag.dandi_source(_dandi(mirror=str(tmp_path)), "human", no_id)
    assert "\n" not in str(error.value)
