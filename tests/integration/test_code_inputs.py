"""Code inputs: a rule with a script reruns when a library module its script reaches changes, and for no other module.

For each source (simulated, tables, dandi), a dry run in an empty folder lists every job with its inputs: for every
rule with a script, the library modules among them must be exactly those `dag.library_modules` finds for its script.
Then, with every output of the simulated DAG made (empty, newer than the workflow's files), real dry runs after one
module is made newer: a module the extraction reaches (scheduled for it, and only for the rules that reach it), one
that only the transfer evaluation reaches, and one that no rule reaches (nothing is scheduled). Dry runs only
(7, ~30 s on 2 cores).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from conftest import ROOT
from rule_files import parse_rules
from workflow_runner import TINY

from patchseq_ml import dag
from patchseq_ml.acquire.dandi_assets import AssetRow, write_listing

COPIED = ("Snakefile", "rules", "config", "workflow_scripts", "envs", "report", "profiles")
LIBRARY = "workflow_scripts/patchseq_ml"
SOURCES = {  # overlays read after config/config.yaml
    "simulated": [TINY],
    "tables": [ROOT / "config/tables.yaml", TINY],
    "dandi": [ROOT / "config/real.yaml", TINY],
}
RULES, _ = parse_rules()
SCRIPT_RULES = {name: rule["paths"]["script"] for name, rule in RULES.items() if "script" in rule["paths"]}


def _set_mtime(paths, when: float) -> None:
    for path in paths:
        os.utime(path, (when, when))


@dataclass
class Job:
    rule: str
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    updated: set[str] = field(default_factory=set)  # the inputs newer than its outputs ("Updated input files")


def dry_run(repo: Path, workdir: Path, source: str) -> list[Job]:
    """The jobs a dry run plans, with their inputs and outputs; paths in ``repo`` are made relative to it."""
    configs = [str(repo / "config/config.yaml"), *(str(c) for c in SOURCES[source])]
    command = [sys.executable, "-m", "snakemake", "-s", str(repo / "Snakefile"), "-d", str(workdir), "-n"]
    result = subprocess.run([*command, "--configfile", *configs], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

    def files(text: str) -> list[str]:
        return [str(Path(p).relative_to(repo)) if p.startswith(f"{repo}/") else p for p in text.split(", ")]

    jobs: list[Job] = []
    for line in result.stdout.splitlines():
        if line.startswith(("rule ", "localrule ")) and line.endswith(":"):
            jobs.append(Job(line.split()[1].rstrip(":")))
        elif jobs and line.startswith("    input: "):
            jobs[-1].inputs = files(line.split(": ", 1)[1])
        elif jobs and line.startswith("    output: "):
            jobs[-1].outputs = files(line.split(": ", 1)[1])
        elif jobs and line.startswith("    reason: "):
            for part in line.split(": ", 1)[1].split("; "):
                if part.startswith("Updated input files: "):
                    jobs[-1].updated |= set(files(part.split(": ", 1)[1]))
    return jobs


@pytest.fixture(scope="module")
def repo(tmp_path_factory) -> Path:
    """A copy of the workflow whose files are all older than anything the tests make."""
    copy = tmp_path_factory.mktemp("repo")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(source, copy / name)
    _set_mtime((p for p in copy.rglob("*") if p.is_file()), time.time() - 3600)
    return copy


def _library(repo: Path) -> list[Path]:
    return sorted((repo / LIBRARY).rglob("*.py"))


def _expected(repo: Path, rule: str) -> set[str]:
    script = repo / SCRIPT_RULES[rule].relative_to(ROOT)
    modules = dag.library_modules(script, repo / LIBRARY)
    return {str(Path(m).relative_to(repo)) for m in modules}


@pytest.fixture(scope="module")
def plans(repo, tmp_path_factory) -> dict[str, tuple[Path, list[Job]]]:
    """Source -> (its working folder, the jobs of a dry run from nothing); the simulated folder then holds every
    output, empty (a folder where the name has no suffix) and newer than the workflow's files."""
    found = {}
    for source in SOURCES:
        workdir = tmp_path_factory.mktemp(source)
        if source == "dandi":  # the cached listing the DAG is built from (no archive is asked)
            for species, sub in (("mouse", 101), ("human", 201)):
                rows = [AssetRow(f"sub-{sub}/sub-{sub}_ses-{sub + i}_icephys.nwb", 1, "", "a") for i in (0, 1)]
                write_listing(rows, workdir / f"results/raw/dandi/{species}_assets.tsv")
        found[source] = workdir, dry_run(repo, workdir, source)
    workdir, jobs = found["simulated"]
    outputs = [workdir / name for job in jobs for name in job.outputs]
    for path in outputs:
        if path.suffix:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.touch()
        else:
            path.mkdir(parents=True, exist_ok=True)
    _set_mtime(outputs, time.time() - 60)
    return found


def test_every_rule_with_a_script_declares_exactly_the_modules_its_script_reaches(repo, plans):
    seen = set()
    for source, (_, jobs) in plans.items():
        for job in jobs:
            if job.rule in SCRIPT_RULES:
                seen.add(job.rule)
                declared = {p for p in job.inputs if p.startswith(f"{LIBRARY}/")}
                expected = _expected(repo, job.rule)
                assert declared == expected, (source, job.rule, sorted(declared ^ expected))
    assert seen == set(SCRIPT_RULES), sorted(set(SCRIPT_RULES) - seen)


def _after_edit(repo: Path, workdir: Path, module: str) -> list[Job]:
    """The jobs planned once ``module`` is newer than every output (restored after)."""
    try:
        _set_mtime([repo / module], time.time())
        return dry_run(repo, workdir, "simulated")
    finally:
        _set_mtime([repo / module], time.time() - 3600)


def test_an_edited_module_schedules_the_rules_that_reach_it_and_an_unreached_one_nothing(repo, plans):
    workdir, _ = plans["simulated"]
    assert dry_run(repo, workdir, "simulated") == []  # the made outputs are up to date
    edited = f"{LIBRARY}/ephys/filters.py"  # the dV/dt filter of spike detection (missed by the hand-written list)
    jobs = _after_edit(repo, workdir, edited)
    direct = {job.rule for job in jobs if edited in job.updated}
    assert all(job.updated <= {edited} for job in jobs)  # the rest follow from inputs updated by another job
    assert "extract_features" in direct and sum(job.rule == "extract_features" for job in jobs) == 2
    assert direct <= {rule for rule in SCRIPT_RULES if edited in _expected(repo, rule)}
    assert not {"simulate_batch", "merge_simulated_labels", "cells_sheet"} & {job.rule for job in jobs}
    late = f"{LIBRARY}/learn/paired_stats.py"  # only the paired evaluations reach it (then what reads them)
    assert {job.rule for job in _after_edit(repo, workdir, late)} == {
        "evaluate_transfer",
        "evaluate_learning_curve",
        "select_model",
        "deploy_selected_model",  # its input selected.json is remade
        "predict_unlabelled",  # human cells are answered by the selected model
        "report",
        "all",
    }
    reached = {m for rule in SCRIPT_RULES for m in _expected(repo, rule)}
    unreached = [str(p.relative_to(repo)) for p in _library(repo) if str(p.relative_to(repo)) not in reached]
    assert f"{LIBRARY}/predict.py" in unreached  # the `predict` command: no rule runs it
    assert _after_edit(repo, workdir, f"{LIBRARY}/predict.py") == []
