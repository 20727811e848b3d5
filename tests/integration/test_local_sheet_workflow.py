"""Your own recordings (`source: local`): a cell sheet of NWB files anywhere on disk runs the whole DAG, from the
sheet to the report. The files are the archive cohort's (tests/archive_cohort.py: written in the MIES layout by
the project's NWB writer, human at 200 kHz) under other names and cell ids, some by paths relative to the sheet,
plus a file that is not NWB. A sheet with a missing file, a duplicate cell id or an unknown species stops the run
before any job with one line naming the row. And the real ABF recordings of ../shared/data/real, converted by
neuroconv, through a sheet and a protocol map to their features (skipped without .venv-neuroconv or ../shared)."""

import json
import os
import subprocess
import time

import pandas as pd
import pytest
from archive_cohort import MOUSE_TTYPES, OUTSIDE, overlay
from conftest import ROOT, SHARED_DATA
from report_checks import ARCHIVE_SECTIONS, check_report_html, report_sections, retention_row, table_row
from workflow_runner import snakemake

from patchseq_ml.acquire.simulated_dataset import HUMAN_LABELS
from patchseq_ml.present.data_report import NO_SPIKE_CHECK

pytestmark = pytest.mark.e2e
BROKEN = "h-broken"
BATCH_SIZE = 8  # cells per extraction job: several batches per species


def _tsv(path):
    return pd.read_csv(path, sep="\t", dtype={"cell_id": str})


def _label(species, cell, cohort) -> str:
    if cell in cohort.outside[species]:
        return OUTSIDE[species]
    if cell in cohort.unlabelled[species]:
        return ""
    subclass = cohort.truth[species][cell]
    if species == "human":
        return HUMAN_LABELS[subclass]  # the archive's label strings, mapped by labels.human.class_map
    return MOUSE_TTYPES[subclass] if int(cell) % 2 else subclass  # t-types, or a class name itself


def write_sheet(folder, cohort) -> tuple:
    """The cohort as a cell sheet (mouse by paths relative to the sheet, human absolute) plus one non-NWB file."""
    folder.mkdir(parents=True, exist_ok=True)
    rows = []
    for species in ("mouse", "human"):
        for relpath in cohort.files[species]:
            cell = relpath.split("_ses-")[1].split("_")[0]
            path = cohort.folder[species] / relpath
            shown = os.path.relpath(path, folder) if species == "mouse" else str(path)
            rows.append({"path": shown, "cell_id": f"{species[0]}-{cell}", "species": species,
                         "label": _label(species, cell, cohort)})  # fmt: skip
    (folder / "broken.nwb").write_text("not an NWB file")
    rows.append({"path": "broken.nwb", "cell_id": BROKEN, "species": "human", "label": "PVALB"})
    sheet = pd.DataFrame(rows)
    sheet.to_csv(folder / "cells.tsv", sep="\t", index=False)
    return folder / "cells.tsv", sheet


@pytest.fixture(scope="module")
def local_run(tmp_path_factory, archive_cohort):
    work = tmp_path_factory.mktemp("local")
    sheet_path, sheet = write_sheet(work / "my_recordings", archive_cohort)
    settings = {"source": "local", "local": {"sheet": str(sheet_path)}, "features": {"batch_size": BATCH_SIZE}}
    config = overlay(work / "overlay.yaml", settings)
    start = time.monotonic()
    snakemake(work / "run", "all", "--cores", "2", configfile=config, timeout=3000)
    print(f"\nlocal sheet: workflow {time.monotonic() - start:.0f} s")
    return work / "run", sheet, archive_cohort


def test_the_sheet_runs_the_whole_dag_to_the_report(local_run):
    run, sheet, cohort = local_run
    check_report_html(run, ARCHIVE_SECTIONS)
    sections = report_sections(run)
    assert NO_SPIKE_CHECK in sections["sweeps"].text
    for species, rows in sheet.groupby("species"):
        values = retention_row(sections["retention"], species)
        assert values["cells in"] == len(rows)
        assert values["excluded (label)"] >= len(cohort.unlabelled[species])
        assert table_row(sections["provenance"], f"{species} cells listed", 1) == [str(len(rows))]
    assert (run / "results/model/human/checkpoint.pt").exists() and (run / "results/model/embedding.tsv").exists()


@pytest.mark.parametrize("species", ["mouse", "human"])
def test_unlabelled_cells_are_predicted_never_trained_on(local_run, species):
    run, sheet, _ = local_run
    ours = _tsv(run / f"results/sheets/{species}_cells.tsv").set_index("cell_id")
    given = sheet[sheet.species == species].set_index("cell_id")
    assert list(ours.index) == list(given.index)
    unlabelled = set(ours.index[ours.exclusion.fillna("") != ""])
    assert unlabelled == set(given.index[given.label.fillna("") == ""]) | set(
        given.index[given.label.str.startswith("Serpinf1", na=False)]
    )
    splits = _tsv(run / f"results/splits/{species}/seed0.tsv")
    assert not set(splits.cell_id) & unlabelled and set(splits.cell_id) <= set(ours.index)
    features = _tsv(run / f"results/features/{species}/features.tsv").set_index("cell_id")
    predicted = _tsv(run / "results/model/unlabelled_predictions.tsv").query(f"species == '{species}'")
    assert set(predicted.cell_id) == {c for c in unlabelled if features.loc[c, "status"] == "ok"} != set()
    if species == "human":  # the model selection chose (what `predict` uses), not the deployed BiLSTM
        chosen = json.loads((run / "results/select/human/selected.json").read_text())["model"]
        assert set(predicted.model) == {chosen}
    else:
        assert set(predicted.model) == {"joint BiLSTM, mouse head"}


def test_an_unreadable_file_is_a_failed_cell_with_its_reason(local_run):
    run, sheet, _ = local_run
    failures = _tsv(run / "results/features/human/failures.tsv")
    row = failures[failures.cell_id == BROKEN]
    assert len(row) == 1 and row.level.iloc[0] == "cell" and row.reason.iloc[0].startswith("unreadable_file")
    features = _tsv(run / "results/features/human/features.tsv").set_index("cell_id")
    assert features.loc[BROKEN, "status"] == "failed"
    assert (features.drop(index=BROKEN).status == "ok").mean() > 0.8  # the other cells are unaffected


def test_a_changed_file_reruns_its_extraction_batch_only(local_run):
    """Touching one cell's file plans the extraction of its batch (sheet order, BATCH_SIZE cells) and what follows,
    no other batch; the file's time is restored afterwards."""
    run, sheet, _ = local_run
    human = sheet[sheet.species == "human"].reset_index(drop=True)
    folders = sorted(p.name for p in (run / "results/features/human/cells").iterdir())
    assert folders == [f"batch{b:03d}" for b in range(-(-len(human) // BATCH_SIZE))] and len(folders) > 1
    row = len(human) - 2  # in the last batch
    assert sorted(p.stem for p in (run / f"results/features/human/cells/{folders[-1]}").glob("*.json")) == sorted(
        human.cell_id[(len(folders) - 1) * BATCH_SIZE :]
    )
    path = human.path[row]
    before = os.stat(path)
    try:
        os.utime(path, (before.st_atime, time.time() + 60))  # newer than every output
        dry = snakemake(run, "all", "-n", configfile=run.parent / "overlay.yaml").stdout
    finally:
        os.utime(path, (before.st_atime, before.st_mtime))
    assert dry.count("rule extract_features:") == 1 and f"results/features/human/cells/{folders[-1]}" in dry
    assert "collect_features" in dry and "rule cells_sheet:" in dry


@pytest.mark.parametrize(
    "edit,problem",
    [
        (lambda s: s.assign(path=s.path.where(s.index != 3, "gone.nwb")), "line 6 (cell {cell3}): no such file"),
        (lambda s: s.assign(cell_id=s.cell_id.where(s.index != 3, s.cell_id[1])), "line 6 (cell {cell1}): duplicate"),
        (lambda s: s.assign(species=s.species.where(s.index != 3, "rat")), "line 6 (cell {cell3}): species: 'rat'"),
    ],
    ids=["missing file", "duplicate cell id", "unknown species"],
)
def test_a_bad_sheet_stops_the_run_with_one_line_naming_the_row(archive_cohort, tmp_path, edit, problem):
    _, sheet = write_sheet(tmp_path / "sheet", archive_cohort)
    bad = edit(sheet)
    bad.to_csv(tmp_path / "sheet/cells.tsv", sep="\t", index=False)
    (tmp_path / "sheet/cells.tsv").write_text("# my cells\n" + (tmp_path / "sheet/cells.tsv").read_text())
    config = overlay(
        tmp_path / "overlay.yaml", {"source": "local", "local": {"sheet": str(tmp_path / "sheet/cells.tsv")}}
    )
    result = snakemake(tmp_path / "run", "all", "--cores", "1", configfile=config, check=False)
    assert result.returncode != 0
    want = problem.format(cell1=sheet.cell_id[1], cell3=sheet.cell_id[3])
    lines = [line for line in (result.stdout + result.stderr).splitlines() if want in line]
    assert len(lines) == 1, (want, result.stderr[-2000:])
    assert "cells.tsv" in lines[0]
    assert not (tmp_path / "run/results").exists()  # nothing ran: no partial outputs


# --- the real ABF recordings of ../shared/data/real, converted by neuroconv, through the same sheet ---------------

NEUROCONV_PYTHON = ROOT / ".venv-neuroconv/bin/python"
PROTOCOL_MAP = (  # the Clampex protocol names of ../shared/data/real (as tests/unit/test_nwb_reader_ecosystem.py)
    "# our own protocol names (regular expressions on the start of the name), consulted before the default codes\n"
    "pattern\tstimulus_type\tnote\n"
    "0113 steps dual|0112 steps dual|0113 AP gain|FICurve_|IC1$\tlong_square\tcurrent steps (Clampex protocols)\n"
)


@pytest.fixture(scope="module")
def abf_run(tmp_path_factory):
    """The six real ABF recordings converted by neuroconv (benchmarks/neuroconv_convert.py in .venv-neuroconv),
    listed in a cell sheet (three as mouse, three as human: the sheet needs both species), the `features` target."""
    if not NEUROCONV_PYTHON.exists() or not (ROOT / "benchmarks/neuroconv_convert.py").exists():
        pytest.skip("no neuroconv venv (.venv-neuroconv): run `make neuroconv-env`")
    abfs = sorted((SHARED_DATA / "real").glob("*.abf"))
    if not abfs:
        pytest.skip(f"real data not available: {SHARED_DATA / 'real'}")
    work = tmp_path_factory.mktemp("abf")
    command = [str(NEUROCONV_PYTHON), str(ROOT / "benchmarks/neuroconv_convert.py"), str(work / "nwb"), *map(str, abfs)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    rows = [
        {"path": f"nwb/{abf.stem}.nwb", "cell_id": abf.stem.replace("__", "-"), "species": ("mouse", "human")[i % 2]}
        for i, abf in enumerate(abfs)
    ]
    pd.DataFrame(rows).to_csv(work / "cells.tsv", sep="\t", index=False)
    (work / "protocols.tsv").write_text(PROTOCOL_MAP)
    features = {"stimulus_map": str(work / "protocols.tsv"), "max_failed_fraction": 1.0}
    settings = {"source": "local", "local": {"sheet": str(work / "cells.tsv")}, "features": features}
    config = overlay(work / "overlay.yaml", settings)
    snakemake(work / "run", "features", "--cores", "2", configfile=config, timeout=1200)
    return work / "run", pd.DataFrame(rows)


def test_real_abf_recordings_converted_by_neuroconv_go_through_the_sheet(abf_run):
    """Every sweep classified by the protocol map (none unknown), every cell extracted or failed with its reason,
    every rejected sweep with its reason; no crash."""
    run, sheet = abf_run
    for species, rows in sheet.groupby("species"):
        counts = _tsv(run / f"results/features/{species}/sweep_counts.tsv").set_index("cell_id")
        assert sorted(counts.index) == sorted(rows.cell_id)
        assert (counts["unknown"] == 0).all() and (counts["long_square"] > 0).all(), counts
        features = _tsv(run / f"results/features/{species}/features.tsv").set_index("cell_id")
        failures = _tsv(run / f"results/features/{species}/failures.tsv")
        failed = set(features.index[features.status == "failed"])
        assert failed == set(failures.loc[failures.level == "cell", "cell_id"])  # each lost cell with its reason
        assert failures.reason.fillna("").str.len().gt(0).all()
        assert (features.status == "ok").any()
