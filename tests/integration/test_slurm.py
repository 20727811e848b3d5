"""The tiny workflow through SLURM (profiles/slurm) on a throw-away single-node cluster, checked against --cores 2.

Opt-in (`CI=true` or `RUN_SLURM=1`): needs root on Debian/Ubuntu (tests/slurm/start-cluster.sh installs slurm-wlm
and munge) or an already running test cluster. The tiny preset reduced by tests/slurm/config_slurm.yaml (one seed,
two folds, one forest, two strategies) runs once locally and once through SLURM. Timings are
printed (pytest -s) and written to $SLURM_TEST_DIR/timings.json.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest
from workflow_runner import ROOT, snakemake

pytestmark = [pytest.mark.slurm, pytest.mark.e2e]

SCRIPTS = ROOT / "tests/slurm"
OVERLAY = SCRIPTS / "config_slurm.yaml"  # the tiny preset, 1 seed x 2 folds, 1 forest, 2 strategies
STATE = Path(os.environ.get("SLURM_TEST_DIR", "/tmp/patchseq-slurm"))
PARTITION = os.environ.get("SLURM_TEST_PARTITION", "test")
RUN_TIMEOUT = int(os.environ.get("SLURM_TEST_RUN_TIMEOUT", "1800"))  # s; the plugin can hang instead of failing
# What CI changes in profiles/slurm: squeue instead of sacct (no accounting database), an early first status check,
# at most the node's 2 CPUs per job, no retries, a local file system.
SLURM_ARGS = (
    "--workflow-profile",
    str(ROOT / "profiles/slurm"),
    "--jobs",
    "4",
    "--cores",
    "2",
    "--retries",
    "0",
    "--latency-wait",
    "5",
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--slurm-keep-successful-logs",
)
# Outputs that must be identical between the SLURM and the local run.
MODELS = ("rf",)
COMPARED = [
    *(f"results/features/{s}/features.tsv" for s in ("mouse", "human")),
    *(f"results/baseline/{s}/{m}/metrics_per_fold.tsv" for s in ("mouse", "human") for m in MODELS),
    "results/finetune/human/metrics_per_fold.tsv",
    "results/finetune/human/metrics_summary.tsv",
    "results/learning_curve/human/learning_curve.tsv",
]

if not (os.environ.get("CI") == "true" or os.environ.get("RUN_SLURM") == "1"):
    pytest.skip("SLURM test is opt-in: set RUN_SLURM=1 (or CI=true)", allow_module_level=True)


def _sh(*command: str, timeout: int = 60) -> str:
    return subprocess.run(command, check=True, capture_output=True, text=True, timeout=timeout).stdout


@pytest.fixture(scope="module")
def cluster() -> Iterator[dict[str, float]]:
    """Start tests/slurm/start-cluster.sh's cluster (or reuse it); stop it afterwards only if this test started it."""
    if os.geteuid() != 0 and shutil.which("sinfo") is None:
        pytest.skip("no SLURM here and not root (start-cluster.sh installs packages and runs slurmd)")
    started = time.monotonic()
    result = subprocess.run(
        ["bash", str(SCRIPTS / "start-cluster.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "SLURM_TEST_DIR": str(STATE), "SLURM_TEST_PARTITION": PARTITION},
    )
    assert result.returncode == 0, f"start-cluster.sh failed:\n{result.stdout}\n{result.stderr}"
    reused = "already running" in result.stderr
    yield {"setup_s": round(time.monotonic() - started, 1), "reused": reused}
    if not reused and os.environ.get("SLURM_TEST_KEEP") != "1":
        subprocess.run(["bash", str(SCRIPTS / "stop-cluster.sh")], env={**os.environ, "SLURM_TEST_DIR": str(STATE)})


@pytest.fixture(scope="module")
def runs(cluster: dict[str, float], tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The tiny workflow twice, one after the other: locally with --cores 2, and through SLURM."""
    timings: dict[str, float | bool] = dict(cluster)
    local = tmp_path_factory.mktemp("local")
    started = time.monotonic()
    snakemake(local, "--cores", "2", configfile=OVERLAY, timeout=RUN_TIMEOUT)
    timings["local_cores2_s"] = round(time.monotonic() - started, 1)

    slurm = tmp_path_factory.mktemp("slurm")
    started = time.monotonic()
    with pytest.MonkeyPatch.context() as env:
        env.setenv("SBATCH_PARTITION", PARTITION)  # read by the profile (and by sbatch)
        env.delenv("SBATCH_ACCOUNT", raising=False)
        try:
            result = snakemake(slurm, *SLURM_ARGS, configfile=OVERLAY, timeout=RUN_TIMEOUT, check=False)
        except subprocess.TimeoutExpired:
            subprocess.run(["scancel", "--partition", PARTITION], check=False)  # our throw-away cluster only
            raise
    timings["slurm_s"] = round(time.monotonic() - started, 1)
    log = result.stdout + result.stderr
    (slurm / "snakemake.log").write_text(log)
    assert result.returncode == 0, f"SLURM run failed (log: {slurm / 'snakemake.log'}):\n{log[-6000:]}"
    STATE.mkdir(parents=True, exist_ok=True)
    (STATE / "timings.json").write_text(json.dumps(timings, indent=1))
    print(f"\nSLURM test timings: {timings}")
    return {"local": local, "slurm": slurm, "log": log, "timings": timings}


@pytest.fixture(scope="module")
def slurm_jobs(runs: dict) -> pd.DataFrame:
    """This run's SLURM jobs (squeue keeps finished ones for MinJobAge = 7200 s): id, state, comment, CPUs, memory."""
    match = re.search(r"SLURM run ID: (\S+)", runs["log"])
    assert match, "the plugin did not log a SLURM run ID: not run through the SLURM executor?"
    out = _sh("squeue", "--states=all", "--noheader", "--name", match.group(1), "--format=%i|%T|%k|%C|%m|%P")
    rows = [line.split("|") for line in out.splitlines() if line.strip()]
    return pd.DataFrame(rows, columns=["job_id", "state", "comment", "cpus", "memory", "partition"])


def test_jobs_ran_as_slurm_jobs(runs: dict, slurm_jobs: pd.DataFrame) -> None:
    assert len(slurm_jobs) > 10 and slurm_jobs.job_id.str.fullmatch(r"\d+").all()
    assert (slurm_jobs.state == "COMPLETED").all(), slurm_jobs[slurm_jobs.state != "COMPLETED"]
    assert (slurm_jobs.partition == PARTITION).all()  # SBATCH_PARTITION reached sbatch through the profile
    rules = slurm_jobs.comment.str.extract(r"^rule_([a-z_]+?)(?:_wildcards_.*)?$")[0]
    assert {"simulate_batch", "fit_baseline_mouse", "fit_baseline_human", "finetune", "report"} <= set(rules)
    logs = list((runs["slurm"] / ".snakemake/slurm_logs").rglob("*.log"))
    assert {p.stem for p in logs} <= set(slurm_jobs.job_id) and len(logs) == len(slurm_jobs)


def test_cells_are_extracted_in_batches(runs: dict, slurm_jobs: pd.DataFrame) -> None:
    """70 cells in one extraction job per simulation batch: 2 SLURM jobs, not 70."""
    cell_jobs = slurm_jobs[slurm_jobs.comment.str.match(r"rule_extract_features_wildcards_")]
    assert len(cell_jobs) == 2, slurm_jobs.comment.tolist()
    assert len(list((runs["slurm"] / "results/features/mouse/cells/batch000").glob("*.json"))) == 40


@pytest.mark.parametrize("path", COMPARED)
def test_results_equal_the_local_run(runs: dict, path: str) -> None:
    slurm = pd.read_csv(runs["slurm"] / path, sep="\t", dtype={"cell_id": str})
    local = pd.read_csv(runs["local"] / path, sep="\t", dtype={"cell_id": str})
    pd.testing.assert_frame_equal(slurm, local)


def test_report_written(runs: dict) -> None:
    assert (runs["slurm"] / "results/report/report.html").stat().st_size > 10_000
