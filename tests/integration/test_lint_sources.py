"""`snakemake --lint` is clean for every source, not only the default one: simulated, tables, dandi (from a cached
asset listing: parsed offline) and local (a cell sheet of two files)."""

import pytest
import yaml
from conftest import ROOT
from workflow_runner import snakemake

from patchseq_ml.acquire.dandi_assets import AssetRow, write_listing

GOLDEN = ROOT / "tests/data/golden_pvalb.nwb"


def _setup(source, workdir):
    """The overlay of ``source`` (read after config/config.yaml), with what parsing it needs in ``workdir``."""
    if source == "tables":
        return ROOT / "config/tables.yaml"
    if source == "simulated":
        overlay = {"preset": "tiny"}
    elif source == "dandi":
        overlay = yaml.safe_load((ROOT / "config/real.yaml").read_text())
        for species, session in (("mouse", "601506492"), ("human", "819133336")):
            path = f"sub-1/sub-1_ses-{session}_icephys.nwb"
            write_listing([AssetRow(path, 1, "0" * 64, "a1")], workdir / f"results/raw/dandi/{species}_assets.tsv")
    else:
        sheet = workdir / "cells.tsv"
        sheet.write_text(f"path\tcell_id\tspecies\tlabel\n{GOLDEN}\tm1\tmouse\tPvalb\n{GOLDEN}\th1\thuman\t\n")
        overlay = {"source": "local", "local": {"sheet": str(sheet)}}
    path = workdir / "overlay.yaml"
    path.write_text(yaml.safe_dump(overlay))
    return path


@pytest.mark.parametrize("source", ["simulated", "tables", "dandi", "local"])
def test_lint_is_clean(source, tmp_path):
    result = snakemake(tmp_path, "--lint", configfile=_setup(source, tmp_path), check=False, timeout=300)
    out = result.stdout + result.stderr
    assert result.returncode == 0 and "Congratulations, your workflow is in a good condition!" in out, out[-3000:]
