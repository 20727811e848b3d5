"""The real-archive path end to end against a local DANDI server (loopback only): listing -> label tables -> cell
sheet -> download (the real `dandi` client and our verification) -> extraction; and what `-n` does offline. Then the
same with `dandi.stream: true`: no downloads, extraction streams the files, and the features are the same."""

import contextlib
import hashlib
import shutil
import socket
import time

import numpy as np
import pandas as pd
import pytest
import yaml
from conftest import ROOT
from dandi_server import FakeDandiArchive, isolate_dandi_client
from workflow_runner import planned_jobs, snakemake

pytestmark = pytest.mark.e2e
GOLDEN = {"Pvalb": ROOT / "tests/data/golden_pvalb.nwb", "Sst": ROOT / "tests/data/golden_sst.nwb"}
ASSETS = {  # species -> (asset path, golden cell, label)
    "mouse": [
        ("sub-11/sub-11_ses-101_icephys.nwb", "Pvalb", "Pvalb Reln"),
        ("sub-12/sub-12_ses-102_icephys.nwb", "Sst", "Sst Calb2"),
    ],
    "human": [
        ("sub-21/sub-21_ses-201_icephys.nwb", "Pvalb", "PVALB"),
        ("sub-22/sub-22_ses-202_icephys.nwb", "Sst", "SST"),
    ],
}
DANDISETS = {"mouse": ("000020", "0.210913.1639"), "human": ("000636", "0.241120.0510")}


def _closed_port() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/api"


def _label_table(folder, species) -> dict:
    if species == "mouse":
        rows = [{"ephys_session_id": p.split("ses-")[1][:3], "cell_specimen_id": i, "T-type Label": label}
                for i, (p, _, label) in enumerate(ASSETS[species])]  # fmt: skip
    else:
        rows = [{"nwb_id": p.split("ses-")[1][:3], "specimen_id_x": i, "Revised_subclass_label": label}
                for i, (p, _, label) in enumerate(ASSETS[species])]  # fmt: skip
    path = folder / f"{species}_labels.csv"
    pd.DataFrame(rows).to_csv(path, index=False)
    return {"path": str(path), "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}


def _overlay(folder, api_urls: dict, mirror=None, stream=False) -> object:
    overlay = {
        "source": "dandi",
        "dandi": {
            "api_url": _closed_port(),
            "listing_dir": "results/raw/dandi",
            "mirror": mirror,
            "stream": stream,
            "dandisets": {s: {"id": i, "version": v, "api_url": api_urls[s]} for s, (i, v) in DANDISETS.items()},
            "label_tables": {s: _label_table(folder, s) for s in DANDISETS},
        },
    }
    path = folder / ("stream_overlay.yaml" if stream else "dandi_overlay.yaml")
    path.write_text(yaml.safe_dump(overlay))
    return path


def _serve_assets() -> dict[str, FakeDandiArchive]:
    """Started loopback archives, one per species, serving the golden cells at ASSETS' paths."""
    servers = {s: FakeDandiArchive(dandiset_id=i, version=v) for s, (i, v) in DANDISETS.items()}
    for species, server in servers.items():
        for path, cell, _ in ASSETS[species]:
            server.add_bytes(path, GOLDEN[cell].read_bytes())
        server.start()
    return servers


@contextlib.contextmanager
def _served(tmp_path_factory, monkeypatch, name: str, stream: bool):
    """A working folder with a dandi client isolated by ``monkeypatch`` (undone by the caller), fresh loopback
    archives and their overlay; the servers are stopped when the block ends (later tests see a closed archive)."""
    work = tmp_path_factory.mktemp(name)
    isolate_dandi_client(monkeypatch, work / "home")
    servers = _serve_assets()
    try:
        yield work, _overlay(work, {s: srv.api_url for s, srv in servers.items()}, stream=stream), servers
    finally:
        for server in servers.values():
            server.stop()


@pytest.fixture(scope="module")
def archive_run(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    with _served(tmp_path_factory, monkeypatch, "dandi", stream=False) as (work, overlay, servers):
        result = snakemake(work / "run", "features", "--cores", "2", configfile=overlay)
    yield work, overlay, servers, result
    monkeypatch.undo()


@pytest.fixture(scope="module")
def stream_run(tmp_path_factory):
    """`dandi.stream: true` against fresh servers: the planned jobs of a dry run, then the `features` target."""
    monkeypatch = pytest.MonkeyPatch()
    with _served(tmp_path_factory, monkeypatch, "stream", stream=True) as (work, overlay, servers):
        jobs = planned_jobs(work / "run", "--cores", "2", "features", configfile=overlay)  # (not right after --quiet)
        traces = "results/report/traces/human.npz"  # reads the example cells from the URLs in the sheet
        snakemake(work / "run", "features", traces, "--cores", "2", "--resources", "downloads=1", configfile=overlay)
    yield work, overlay, servers, jobs
    monkeypatch.undo()


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_cells_are_listed_downloaded_verified_and_extracted(archive_run, species):
    work, _, servers, _ = archive_run
    run = work / "run"
    listing = pd.read_csv(run / f"results/raw/dandi/{species}_assets.tsv", sep="\t", dtype=str)
    assert sorted(listing["path"]) == sorted(p for p, _, _ in ASSETS[species])
    for path, cell, _ in ASSETS[species]:
        assert (run / "results/raw/dandi" / species / path).read_bytes() == GOLDEN[cell].read_bytes()
        log = (run / "results/logs/download_asset" / species / f"{path}.log").read_text()
        assert "100%" in log and servers[species].api_url in log
    sheet = pd.read_csv(run / f"results/sheets/{species}_cells.tsv", sep="\t", dtype=str).set_index("cell_id")
    assert sheet.loc[ASSETS[species][0][0].split("ses-")[1][:3], "subclass"] == "Pvalb"
    assert sheet.loc[ASSETS[species][1][0].split("ses-")[1][:3], "subclass"] == "Sst"
    features = pd.read_csv(run / f"results/features/{species}/features.tsv", sep="\t", dtype={"cell_id": str})
    assert len(features) == 2 and (features.status == "ok").all()
    assert (features["rheo_width_ms"] > 0).all()


def test_dry_run_offline_builds_the_dag_from_the_cached_listing(archive_run, tmp_path):
    work, overlay, _, _ = archive_run  # the servers are stopped: nothing answers
    (tmp_path / "results/raw/dandi").mkdir(parents=True)
    for species in DANDISETS:
        name = f"results/raw/dandi/{species}_assets.tsv"
        shutil.copy(work / "run" / name, tmp_path / name)
    result = snakemake(tmp_path, "features", "-n", configfile=overlay)
    assert result.stdout.count("rule download_asset:") == 4
    for species in DANDISETS:
        for path, _, _ in ASSETS[species]:
            assert f"results/raw/dandi/{species}/{path}" in result.stdout


def test_without_listing_and_network_it_fails_fast_with_one_line(archive_run, tmp_path):
    _, overlay, _, _ = archive_run
    start = time.monotonic()
    result = snakemake(tmp_path, "features", "-n", configfile=overlay, check=False)
    assert result.returncode != 0 and time.monotonic() - start < 30
    lines = [line for line in (result.stdout + result.stderr).splitlines() if "is unreachable" in line]
    assert lines and "local mirror" in lines[0] and "cached asset listing" in lines[0]
    assert not (tmp_path / "results/raw/dandi/mouse_assets.tsv").exists()


def test_a_local_mirror_is_used_as_is_offline(archive_run, tmp_path):
    work, overlay, _, _ = archive_run
    mirror = tmp_path / "mirror"
    for species in DANDISETS:
        for path, cell, _ in ASSETS[species]:
            (mirror / species / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(GOLDEN[cell], mirror / species / path)
    config = yaml.safe_load(overlay.read_text())
    config["dandi"]["mirror"] = str(mirror)
    with_mirror = tmp_path / "mirror_overlay.yaml"
    with_mirror.write_text(yaml.safe_dump(config))
    snakemake(tmp_path / "run", "results/sheets/human_cells.tsv", "--cores", "1", configfile=with_mirror)
    got = tmp_path / "run/results/raw/dandi/human" / ASSETS["human"][0][0]
    assert got.read_bytes() == GOLDEN["Pvalb"].read_bytes()
    assert (
        "used the mirror file"
        in (tmp_path / f"run/results/logs/download_asset/human/{ASSETS['human'][0][0]}.log").read_text()
    )


def test_streaming_plans_extraction_and_no_download(stream_run):
    _, _, _, jobs = stream_run
    assert jobs.get("download_asset", 0) == 0 and jobs["extract_features"] == 2 and jobs["cells_sheet"] == 2


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_streamed_features_equal_the_downloaded_ones(archive_run, stream_run, species):
    downloaded, streamed = archive_run[0] / "run/results/features", stream_run[0] / "run/results/features"
    for name in ("features.tsv", "failures.tsv", "sweep_counts.tsv"):
        assert (streamed / species / name).read_text() == (downloaded / species / name).read_text(), name
    with np.load(streamed / species / "families.npz") as got, np.load(downloaded / species / "families.npz") as want:
        assert sorted(got) == sorted(want)
        assert all(np.array_equal(got[k], want[k], equal_nan=want[k].dtype.kind == "f") for k in want)
    run = stream_run[0] / "run"
    assert not (run / "results/raw/dandi" / species).exists() and not (run / "results/logs/download_asset").exists()
    sheet = pd.read_csv(run / f"results/sheets/{species}_cells.tsv", sep="\t", dtype=str)
    assert sheet["nwb_path"].str.endswith("/download/").all()  # the sheet records where the files were read
    if species == "human":
        with np.load(run / "results/report/traces/human.npz") as traces:
            assert {"Pvalb__rheo_v", "Sst__rheo_v"} <= set(traces)


def _streamed_reads(reads) -> list[list[int]]:
    """The bytes of each range request, per opening of the file (each begins with remfile's length probe)."""
    openings = []
    for read in reads:
        if read.range is None:
            openings.append([])
        else:
            openings[-1].append(read.bytes_sent)
    return openings


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_streaming_fetches_by_range_and_each_byte_at_most_once(stream_run, species):
    server = stream_run[2][species]
    for path, cell, _ in ASSETS[species]:
        openings = _streamed_reads(server.reads_of(path))
        assert len(openings) == (2 if species == "human" else 1)  # extraction; the example traces read human cells
        for ranged in openings:
            assert len(ranged) > 1  # streamed in range requests, not downloaded
            # every sweep is read whole, so about the whole of these small files is fetched: only "at most once"
            assert sum(ranged) <= GOLDEN[cell].stat().st_size


def test_streaming_reads_the_mirror_files_in_place(stream_run, tmp_path):
    work, overlay, _, _ = stream_run  # the servers are stopped: the listing is the cached one
    mirror = tmp_path / "mirror"
    path, cell, _ = ASSETS["human"][0]
    (mirror / "human" / path).parent.mkdir(parents=True)
    shutil.copy(GOLDEN[cell], mirror / "human" / path)
    config = yaml.safe_load(overlay.read_text())
    config["dandi"]["mirror"] = str(mirror)
    with_mirror = tmp_path / "mirror_overlay.yaml"
    with_mirror.write_text(yaml.safe_dump(config))
    shutil.copytree(work / "run/results/raw/dandi", tmp_path / "run/results/raw/dandi")
    dry = snakemake(tmp_path / "run", "features", "-n", configfile=with_mirror).stdout
    assert "rule download_asset:" not in dry and dry.count("rule extract_features:") == 2
    assert dry.count(str(mirror / "human" / path)) == 2  # input of its extraction and of the human cell sheet
