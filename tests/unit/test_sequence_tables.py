"""Feature input of the BiLSTM: each species' own features as masked steps, and the quantile standardisation."""

import numpy as np
import pandas as pd
import pytest
from scipy.special import ndtri

from patchseq_ml.learn.deployment import scaler_from_dict
from patchseq_ml.learn.sequence_sources import SequenceSourceError, open_source
from patchseq_ml.learn.sequence_tables import sequence_tables
from patchseq_ml.learn.sequences import QUANTILE_CLIP, Standardiser, layout_from_patterns, to_sequences

META = {"exclusion": "", "status": "ok"}


def _species_tables():
    """Aligned tables (one shared quantity `rheobase`) and the raw tables they came from."""
    mouse_raw = pd.DataFrame(
        {
            "cell_id": ["m1", "m2", "m3"],
            "subclass": ["Sst", "Vip", "Sst"],
            **META,
            "threshold_i_long_square": [50.0, 80.0, 60.0],
            "peak_v_ramp": [30.0, 35.0, np.nan],
            "slow_trough_t_ramp": [np.nan, np.nan, 1.0],
        }  # fmt: skip
    )
    human_raw = pd.DataFrame(
        {
            "cell_id": ["h1", "h2"],
            "subclass": ["Pvalb", "Sst"],
            **META,
            "rheobase_i": [100.0, 40.0],
            "width_rheo": [0.0005, 0.0012],
            "donor": ["a", "b"],
        }  # fmt: skip
    )
    aligned = {
        "mouse": mouse_raw[["cell_id", "subclass", "exclusion", "status"]].assign(rheobase=[50.0, 80.0, 60.0]),
        "human": human_raw[["cell_id", "subclass", "exclusion", "status"]].assign(rheobase=[100.0, 40.0]),
    }
    shared_sources = {"mouse": {"threshold_i_long_square"}, "human": {"rheobase_i"}}
    return aligned, {"mouse": mouse_raw, "human": human_raw}, shared_sources


def test_own_features_are_kept_per_species_and_empty_in_the_other():
    aligned, raw, shared = _species_tables()
    tables, report = sequence_tables(aligned, raw, shared, max_missing=0.5, own=True)
    assert list(tables["mouse"].columns) == list(tables["human"].columns)
    assert list(tables["human"].columns[4:]) == ["rheobase", "mouse:peak_v_ramp", "human:width_rheo"]
    assert tables["human"]["mouse:peak_v_ramp"].isna().all() and tables["mouse"]["human:width_rheo"].isna().all()
    assert tables["human"]["human:width_rheo"].tolist() == [0.0005, 0.0012]
    reasons = report.set_index("feature").reason.to_dict()
    assert reasons["slow_trough_t_ramp"] == "missing in 67% of cells" and reasons["donor"] == "not numeric"
    assert "threshold_i_long_square" not in reasons  # a shared quantity's source is never an own feature
    shared_only, empty = sequence_tables(aligned, raw, shared, max_missing=0.5, own=False)
    assert list(shared_only["human"].columns[4:]) == ["rheobase"] and empty.empty


def test_layout_puts_own_families_after_the_shared_ones_and_masks_them_in_the_other_species(tmp_path):
    aligned, raw, shared = _species_tables()
    tables, _ = sequence_tables(aligned, raw, shared, max_missing=0.5, own=True)
    own = {"human": {"ap": "width"}, "mouse": {"ap_ramp": "_ramp$"}}
    sources = {}
    for species, table in tables.items():
        table.to_csv(tmp_path / f"{species}.tsv", sep="\t", index=False)
        sources[species] = open_source(tmp_path / f"{species}.tsv", "features", {"firing": "rheobase"}, None, own)
    assert sources["mouse"].family_names == sources["human"].family_names == ["firing", "human:ap", "mouse:ap_ramp"]
    human = sources["human"]
    _, mask = human.encode(["h1", "h2"], human.fit(["h1", "h2"]))
    assert mask.tolist() == [[True, True, False], [True, True, False]]
    _, mask = sources["mouse"].encode(["m1", "m3"], sources["mouse"].fit(["m1", "m2"]))
    assert mask.tolist() == [[True, False, True], [True, False, False]]


def test_a_layout_naming_features_the_table_lacks_is_refused(tmp_path):
    aligned, raw, shared = _species_tables()
    aligned["human"].to_csv(tmp_path / "human.tsv", sep="\t", index=False)
    layout = {"kind": "features", "family_names": ["a"], "families": [["rheobase", "human:width_rheo"]]}
    with pytest.raises(SequenceSourceError, match=r"human.tsv: features \['human:width_rheo'\]"):
        open_source(tmp_path / "human.tsv", "features", layout=layout)


def test_quantile_standardisation_is_rank_normal_from_training_cells_only():
    train = pd.DataFrame({"w": [1.0, 2.0, 3.0, 4.0, 1000.0], "flat": 5.0, "none": np.nan})
    layout = layout_from_patterns(list(train), {"all": "."})
    scaler = Standardiser.fit(train, layout, "quantile")
    z = scaler.transform(np.array([[2.0, 5.0, 1.0], [3.0, 5.0, np.nan], [1e6, 4.0, 2.0]]), ["w", "flat", "none"])
    assert z[1, 0] == pytest.approx(0.0)  # the training median
    assert z[0, 0] == pytest.approx(ndtri(0.25))  # rank 2 of 5
    assert z[2, 0] == pytest.approx(ndtri(1 - QUANTILE_CLIP))  # beyond training: clipped, not extrapolated
    assert z[0, 1] == pytest.approx(0.0)  # a constant feature's training value sits at the centre ...
    assert z[2, 1] == pytest.approx(ndtri(QUANTILE_CLIP))  # ... and a value below it at the low end
    assert z[0, 2] == 0.0 and np.isnan(z[1, 2])  # never seen in training: centre, NaN stays missing
    # the outlier 1000 does not squeeze the other values as a z-score would
    zscore = Standardiser.fit(train, layout, "zscore").transform(np.array([[1.0], [4.0]]), ["w"])
    quantile = scaler.transform(np.array([[1.0], [4.0]]), ["w"])
    assert abs(np.diff(quantile[:, 0]))[0] > 10 * abs(np.diff(zscore[:, 0]))[0]
    restored = scaler_from_dict("features", scaler.to_dict())
    x, _ = to_sequences(train, layout, restored)
    np.testing.assert_allclose(x, to_sequences(train, layout, scaler)[0])


def test_unknown_standardisation_is_refused():
    table = pd.DataFrame({"w": [1.0, 2.0]})
    with pytest.raises(ValueError, match="unknown standardisation 'robust'"):
        Standardiser.fit(table, layout_from_patterns(["w"], {"all": "."}), "robust")
