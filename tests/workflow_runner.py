"""Run the workflow of this repository in another working directory (for the integration tests)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]


TINY = ROOT / "tests/integration/config_tiny.yaml"


def snakemake(
    workdir: Path, *args: str, configfile: Path | None = None, check: bool = True, timeout: int = 900
) -> subprocess.CompletedProcess:
    """``snakemake -s <repo>/Snakefile -d workdir --configfile <repo config> CONFIG ARGS``.

    CONFIG is an overlay read after the repo's config.yaml (default: the tiny test overlay)."""
    overlay = configfile or TINY
    command = [
        *SNAKEMAKE,
        "-s",
        str(ROOT / "Snakefile"),
        "-d",
        str(workdir),
        *args,  # before --configfile, which takes every following word up to the next option
        "--configfile",
        str(ROOT / "config/config.yaml"),
        str(overlay),
    ]
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}")
    return result


def planned_jobs(workdir: Path, *args: str, configfile: Path | None = None) -> dict[str, int]:
    """Rule -> number of jobs that a dry run would execute (empty when nothing is to be done)."""
    out = snakemake(workdir, "-n", "--quiet", "rules", *args, configfile=configfile).stdout
    jobs: dict[str, int] = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2 and parts[1].isdigit() and parts[0] not in ("total", "job"):
            jobs[parts[0]] = int(parts[1])
    return jobs


def changed_config(workdir: Path, edit) -> Path:
    """The tiny overlay merged into the repo's config, changed by ``edit(config)``, written into ``workdir``."""
    config = yaml.safe_load((ROOT / "config/config.yaml").read_text())
    config.update(yaml.safe_load(TINY.read_text()))
    edit(config)
    path = workdir / "changed_config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))  # key order is part of the recorded params
    return path
