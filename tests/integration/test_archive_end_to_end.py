"""The real-archive path end to end, through `all`: a loopback DANDI server serves a cohort big enough for every
stage (tests/archive_cohort.py: simulated cells under real asset names, human at 200 kHz, label tables in the real
columns with unlabelled cells, a label outside the classes and the human table's duplicate row). `snakemake all`
with `source: dandi` lists, downloads, extracts, trains and reports; `predict` runs on the downloaded files. Then
the same with `dandi.stream: true`, through the report. What a reader of the report needs is asserted: the sections
that apply to archive data, none that needs the simulator's truth (and one sentence saying so), and the retention
table counting every listed asset."""

import hashlib
import json
import subprocess
import sys
import time

import h5py
import pandas as pd
import pytest
from archive_cohort import LABEL_COLUMN, overlay
from conftest import ROOT
from dandi_server import FakeDandiArchive, isolate_dandi_client
from report_checks import ARCHIVE_SECTIONS, check_report_html, report_sections, retention_row, table_row
from workflow_runner import snakemake

from patchseq_ml.present.data_report import NO_SPIKE_CHECK

pytestmark = pytest.mark.e2e
DANDISETS = {"mouse": ("000020", "0.210913.1639"), "human": ("000636", "0.241120.0510")}
TIMES: dict[str, float] = {}


def _tsv(path):
    return pd.read_csv(path, sep="\t", dtype={"cell_id": str})


def _dandi_overlay(work, cohort, servers, stream: bool):
    tables = {
        s: {"path": str(cohort.labels[s]), "sha256": hashlib.sha256(cohort.labels[s].read_bytes()).hexdigest()}
        for s in DANDISETS
    }
    dandi = {
        "api_url": servers["mouse"].api_url,
        "listing_dir": "results/raw/dandi",
        "mirror": None,
        "stream": stream,
        "dandisets": {s: {"id": i, "version": v, "api_url": servers[s].api_url} for s, (i, v) in DANDISETS.items()},
        "label_tables": tables,
    }
    return overlay(work / "overlay.yaml", {"source": "dandi", "dandi": dandi})


def _archive_run(tmp_path_factory, cohort, name: str, stream: bool, *targets: str):
    """A fresh working folder, loopback archives serving the cohort, and one workflow run of ``targets``."""
    monkeypatch = pytest.MonkeyPatch()
    work = tmp_path_factory.mktemp(name)
    isolate_dandi_client(monkeypatch, work / "home")
    servers = {s: FakeDandiArchive(dandiset_id=i, version=v, page_size=25) for s, (i, v) in DANDISETS.items()}
    for species, server in servers.items():
        server.add_folder(cohort.folder[species])
        server.start()
    try:
        config = _dandi_overlay(work, cohort, servers, stream)
        start = time.monotonic()
        snakemake(work / "run", *targets, "--cores", "2", "--resources", "downloads=2", configfile=config, timeout=3000)
        TIMES[name] = time.monotonic() - start
        print(f"\n{name}: workflow {TIMES[name]:.0f} s")
    finally:
        for server in servers.values():
            server.stop()
        monkeypatch.undo()
    return work / "run", servers


@pytest.fixture(scope="module")
def downloaded(tmp_path_factory, archive_cohort):
    run, servers = _archive_run(tmp_path_factory, archive_cohort, "archive_download", False, "all")
    return run, servers, archive_cohort


@pytest.fixture(scope="module")
def streamed(tmp_path_factory, archive_cohort):
    report = "results/report/report.html"
    run, servers = _archive_run(tmp_path_factory, archive_cohort, "archive_stream", True, report)
    return run, servers, archive_cohort


def check_archive_report(run, cohort, listed: dict[str, int]) -> None:
    """The report of a run on recorded cells: every section that applies, no spike detection against truth and the
    sentence saying why, every listed cell counted in the retention table and in the provenance."""
    check_report_html(run, ARCHIVE_SECTIONS)
    sections = report_sections(run)
    assert "spike-detection" not in sections
    assert NO_SPIKE_CHECK in sections["sweeps"].text
    for species, n in listed.items():
        values = retention_row(sections["retention"], species)
        assert values["cells in"] == n, (species, values)
        assert values["extracted"] + values["failed extraction"] == n
        assert values["excluded (label)"] >= len(cohort.unlabelled[species])
    provenance = sections["provenance"].text
    for species, n in listed.items():
        assert table_row(sections["provenance"], f"{species} cells listed", 1) == [str(n)], provenance[:40]
    unlabelled = sections["unlabelled"]
    assert "mouse" in unlabelled.text and "human" in unlabelled.text


def test_all_ends_with_the_report_model_and_embedding(downloaded):
    run, servers, cohort = downloaded
    for species, server in servers.items():
        listing = _tsv(run / f"results/raw/dandi/{species}_assets.tsv")
        assert sorted(listing.path) == cohort.files[species]
        for path in cohort.files[species]:
            assert (run / f"results/raw/dandi/{species}/{path}").read_bytes() == server.by_path(path).data
    check_archive_report(run, cohort, {s: len(cohort.files[s]) for s in DANDISETS})
    assert (run / "results/model/human/checkpoint.pt").stat().st_size > 0
    embedding = _tsv(run / "results/model/embedding.tsv")
    assert set(embedding.species) == {"mouse", "human"}
    metrics = json.loads((run / "results/model/human/metrics.json").read_text())
    assert metrics["n_train"] > 0 and metrics["n_val"] > 0


def test_human_files_are_200_khz_as_mies_writes_them(downloaded):
    run, _, cohort = downloaded
    with h5py.File(run / "results/raw/dandi/human" / cohort.files["human"][0]) as h5:
        rates = {float(s["starting_time"].attrs["rate"]) for s in h5["acquisition"].values()}
    assert rates == {200_000.0}


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_labels_join_as_in_the_real_tables(downloaded, species):
    """Unlabelled cells and a label outside the classes stay in the sheet, excluded; the human table's exact
    duplicate row is dropped; no unlabelled cell is in any split's training, validation or test cells."""
    run, _, cohort = downloaded
    sheet = _tsv(run / f"results/sheets/{species}_cells.tsv").set_index("cell_id")
    assert len(sheet) == len(cohort.files[species])
    assert set(sheet.index[sheet.exclusion.fillna("") != ""]) == cohort.unlabelled[species]
    for cell in cohort.outside[species]:
        assert sheet.loc[cell, "exclusion"] == "label_not_in_class_map"
    labelled = sheet[sheet.exclusion.isna()]
    assert (labelled.subclass == pd.Series(cohort.truth[species]).reindex(labelled.index)).all()
    table = pd.read_csv(cohort.labels[species], dtype=str)
    if species == "human":
        assert table.duplicated().sum() == 1  # the duplicate was served and joined without an error
    assert LABEL_COLUMN[species] in table
    splits = _tsv(run / f"results/splits/{species}/seed0.tsv")
    assert not set(splits.cell_id) & cohort.unlabelled[species]
    predicted = _tsv(run / "results/model/unlabelled_predictions.tsv")
    features = _tsv(run / f"results/features/{species}/features.tsv").set_index("cell_id")
    extracted = {c for c in cohort.unlabelled[species] if features.loc[c, "status"] == "ok"}
    assert set(predicted.loc[predicted.species == species, "cell_id"]) == extracted


def test_predict_runs_on_the_downloaded_files(downloaded):
    """`python -m patchseq_ml predict` on downloaded human files: with the deployed BiLSTM, the deploy job's own
    probabilities for cells it trained on; with the selected model (what rule predict_unlabelled uses for human
    cells), an unlabelled cell gets the workflow's prediction."""
    run, _, cohort = downloaded
    fitted = _tsv(run / "results/model/human/predictions.tsv").head(2)
    sheet = _tsv(run / "results/sheets/human_cells.tsv").set_index("cell_id")
    unlabelled = _tsv(run / "results/model/unlabelled_predictions.tsv").query("species == 'human'").head(1)
    assert len(unlabelled) == 1

    def predict(cells, model):
        files = [str(run / sheet.loc[c, "nwb_path"]) for c in cells]
        assert all("results/raw/dandi/human/sub-" in f for f in files)
        env = {"PYTHONPATH": str(ROOT / "workflow_scripts"), "PATH": "/usr/bin:/bin"}
        command = [sys.executable, "-m", "patchseq_ml", "predict", *files, "--model", str(run / model), "--json"]
        out = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
        assert out.returncode == 0, out.stderr
        records = {r["cell_id"]: r for r in json.loads(out.stdout)}
        assert list(records) == list(cells)
        return records

    records = predict(list(fitted.cell_id), "results/model/human/checkpoint.pt")
    for _, row in fitted.iterrows():
        for cls, p in records[row.cell_id]["probabilities"].items():
            assert p == pytest.approx(row[f"p_{cls}"], abs=1e-3)
    records = predict(list(unlabelled.cell_id), "results/model/human/selected.joblib")
    for _, row in unlabelled.iterrows():
        assert records[row.cell_id]["model"] == row.model
        assert records[row.cell_id]["predicted"] == row.predicted
        for cls, p in records[row.cell_id]["probabilities"].items():
            assert p == pytest.approx(row[f"p_{cls}"], abs=1e-3)


def test_streaming_reaches_the_report_without_downloading(downloaded, streamed):
    run, servers, cohort = streamed
    check_archive_report(run, cohort, {s: len(cohort.files[s]) for s in DANDISETS})
    for species, server in servers.items():
        assert not (run / f"results/raw/dandi/{species}").exists()
        assert {r.asset_id for r in server.blob_reads if r.range} == {f.asset_id for f in server.files.values()}
        sheet = _tsv(run / f"results/sheets/{species}_cells.tsv")
        assert sheet.nwb_path.str.endswith("/download/").all()
        for name in ("features.tsv", "failures.tsv", "sweep_counts.tsv"):
            want = (downloaded[0] / f"results/features/{species}/{name}").read_text()
            assert (run / f"results/features/{species}/{name}").read_text() == want, name
    assert not (run / "results/logs/download_asset").exists()
