"""config/config.yaml validates against its schema, and mistakes fail with a message naming the key."""

import copy

import pytest
import yaml
from conftest import ROOT
from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

SCHEMA = str(ROOT / "config/schema/config.schema.yaml")


def test_committed_config_is_valid(config):
    validate(copy.deepcopy(config), SCHEMA)


def test_every_top_level_key_is_commented():
    text = (ROOT / "config/config.yaml").read_text().splitlines()
    keys = [i for i, line in enumerate(text) if line and not line.startswith((" ", "#")) and ":" in line]
    for i in keys:
        assert text[i - 1].startswith("#") or "#" in text[i], text[i]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda c: c["features"]["spikes"].update(dv_cutof_mv_per_ms=20), "dv_cutof_mv_per_ms"),
        (lambda c: c["features"]["qc"].update(baseline_window_s="long"), "baseline_window_s"),
        (lambda c: c.update(source="dandi-now"), "source"),
        (lambda c: c["simulation"]["defects"].update(nan_sweep=2), "nan_sweep"),
    ],
)
def test_bad_key_or_type_is_named(config, edit, message):
    bad = copy.deepcopy(config)
    edit(bad)
    with pytest.raises(WorkflowError, match=message):
        validate(bad, SCHEMA)


def test_phenotype_table_covers_every_class_of_every_species():
    phenotypes = yaml.safe_load((ROOT / "config/phenotypes.yaml").read_text())
    for spec in phenotypes["species"].values():
        assert set(spec["fractions"]) <= set(phenotypes["classes"])
        assert sum(spec["fractions"].values()) == pytest.approx(1.0)


def test_the_real_data_overlay_is_valid_and_streaming_is_off_by_default(config):
    real = {**copy.deepcopy(config), **yaml.safe_load((ROOT / "config/real.yaml").read_text())}
    validate(real, SCHEMA)
    assert real["dandi"]["stream"] is False
    del real["dandi"]["stream"]
    validate(real, SCHEMA)  # sets the schema default
    assert real["dandi"]["stream"] is False
    real["dandi"]["stream"] = "yes"
    with pytest.raises(WorkflowError, match="stream"):
        validate(real, SCHEMA)
