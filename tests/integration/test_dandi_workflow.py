"""The real-archive path end to end against a local DANDI server (loopback only): listing -> label tables -> cell
sheet -> download (the real `dandi` client and our verification) -> extraction; and what `-n` does offline."""

import hashlib
import shutil
import socket
import time

import pandas as pd
import pytest
import yaml
from conftest import ROOT
from dandi_server import FakeDandiArchive, isolate_dandi_client
from workflow_runner import snakemake

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


def _overlay(folder, api_urls: dict, mirror=None) -> object:
    overlay = {
        "source": "dandi",
        "dandi": {
            "api_url": _closed_port(),
            "listing_dir": "results/raw/dandi",
            "mirror": mirror,
            "dandisets": {s: {"id": i, "version": v, "api_url": api_urls[s]} for s, (i, v) in DANDISETS.items()},
            "label_tables": {s: _label_table(folder, s) for s in DANDISETS},
        },
    }
    path = folder / "dandi_overlay.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return path


@pytest.fixture(scope="module")
def archive_run(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    work = tmp_path_factory.mktemp("dandi")
    isolate_dandi_client(monkeypatch, work / "home")
    servers = {s: FakeDandiArchive(dandiset_id=i, version=v) for s, (i, v) in DANDISETS.items()}
    for species, server in servers.items():
        for path, cell, _ in ASSETS[species]:
            server.add_bytes(path, GOLDEN[cell].read_bytes())
        server.start()
    overlay = _overlay(work, {s: srv.api_url for s, srv in servers.items()})
    result = snakemake(work / "run", "features", "--cores", "2", configfile=overlay)
    for server in servers.values():
        server.stop()
    yield work, overlay, servers, result
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
