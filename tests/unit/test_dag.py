import copy

import pytest

from patchseq_ml import dag
from patchseq_ml.acquire.cell_sheet import parse_asset_name


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
