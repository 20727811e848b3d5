"""Streaming NWB files from a (loopback) archive with remfile + h5py: the same sweeps as the local file, one-line
errors, and network failures that fail the read instead of marking the cell unreadable."""

import dataclasses
import time

import numpy as np
import pytest
from conftest import ROOT
from dandi_server import FakeDandiArchive

from patchseq_ml.acquire.nwb_reader import NWBReadError, NWBSourceError, open_nwb, read_sweeps
from patchseq_ml.dag_cells import dandi_content_url
from patchseq_ml.ephys.cell_features import extract_cell

GOLDEN = {name: ROOT / f"tests/data/golden_{name}.nwb" for name in ("pvalb", "sst")}


def _path(name: str) -> str:
    return f"sub-{name}/sub-{name}_ses-1_icephys.nwb"


@pytest.fixture
def archive():
    with FakeDandiArchive() as served:
        for name, path in GOLDEN.items():
            served.add_bytes(_path(name), path.read_bytes())
        served.add_bytes(_path("text"), b"not an HDF5 file\n" * 100)
        yield served


def _url(archive: FakeDandiArchive, name: str) -> str:
    return dandi_content_url(archive.api_url, archive.by_path(_path(name)).asset_id)


def _assert_one_line(error: pytest.ExceptionInfo, url: str) -> None:
    message = str(error.value)
    assert "\n" not in message and message.startswith(f"{url}: "), message


@pytest.mark.parametrize("name", sorted(GOLDEN))
def test_a_streamed_file_gives_exactly_the_sweeps_of_the_local_file(archive, stimulus_table, name):
    streamed = read_sweeps(_url(archive, name), stimulus_table)
    local = read_sweeps(GOLDEN[name], stimulus_table)
    assert len(streamed) == len(local) > 0
    for got, want in zip(streamed, local):
        for field in dataclasses.fields(want):
            a, b = getattr(got, field.name), getattr(want, field.name)
            if isinstance(b, np.ndarray):
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), field.name
            else:
                assert a == b or (a != a and b != b), field.name  # NaN rate equals NaN
    reads = archive.reads_of(_path(name))
    ranged = [r for r in reads if r.range]
    assert len(ranged) > 1 and len(reads) == len(ranged) + 1  # range requests after remfile's one length probe
    # every byte fetched at most once (sweeps are read whole, so about the whole file is fetched: no saving here)
    assert sum(r.bytes_sent for r in ranged) <= GOLDEN[name].stat().st_size
    downloads = [p for _, p, _ in archive.requests if p.endswith("/download/")]
    assert len(downloads) == 1  # the redirect is resolved once; the range requests go straight to the blob


def test_a_missing_or_unreachable_url_fails_fast_with_one_line(archive, stimulus_table, feature_config):
    missing = dandi_content_url(archive.api_url, "0" * 32)
    with pytest.raises(NWBSourceError, match="HTTP 404") as error:
        read_sweeps(missing, stimulus_table)
    _assert_one_line(error, missing)
    with pytest.raises(NWBSourceError):  # a network failure fails the job (to be rerun), never marks the cell failed
        extract_cell(missing, "1", stimulus_table, feature_config)
    url = _url(archive, "pvalb")
    archive.stop()
    start = time.monotonic()
    with pytest.raises(NWBSourceError, match="unreachable") as error:
        read_sweeps(url, stimulus_table)
    _assert_one_line(error, url)
    assert time.monotonic() - start < 5


def test_a_served_file_that_is_not_hdf5_is_an_unreadable_file(archive, stimulus_table, feature_config):
    url = _url(archive, "text")
    with pytest.raises(NWBReadError, match="not an NWB file") as error:
        read_sweeps(url, stimulus_table)
    _assert_one_line(error, url)
    result = extract_cell(url, "1", stimulus_table, feature_config)
    assert result.status == "failed" and result.failures[0].reason.startswith("unreadable_file")


def test_a_connection_lost_while_reading_fails_with_one_line(archive, stimulus_table, monkeypatch):
    monkeypatch.setattr("remfile.RemFile._num_request_retries", 0)  # remfile otherwise retries for ~25 s
    url = _url(archive, "pvalb")
    with pytest.raises(NWBSourceError, match="streaming failed") as error:
        with open_nwb(url) as h5:
            archive.stop()
            for series in h5["acquisition"].values():
                series["data"][()]
    _assert_one_line(error, url)
