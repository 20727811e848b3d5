"""Report tables keep the labels a reader needs: index levels of paired and learning-curve tables, layout notes."""

import pandas as pd

from patchseq_ml.present import html
from patchseq_ml.present.transfer_section import layout_note


def test_a_table_indexed_by_several_named_levels_shows_every_level():
    paired = pd.DataFrame(
        {"method": ["joint", "forest"], "reference": ["scratch", "scratch"], "mean_difference": [-0.016, 0.072]}
    )
    text = html.table(paired.set_index(["method", "reference"]))
    assert "joint" in text and "forest" in text and text.count("scratch") == 2 and "reference" in text
    assert "<th>0</th>" not in html.table(pd.DataFrame({"x": [0.5]}))  # an unnamed index stays out (no row number)


def test_layout_note_names_families_or_feature_groups_and_the_standardisation():
    families = {"kind": "families", "family_names": ["first_ap_v", "isi_shape"], "widths": [450, 100]}
    assert (
        layout_note(families) == "Sequence steps: 2 feature-vector families (width): first_ap_v (450), isi_shape (100)."
    )
    groups = {
        "kind": "features",
        "family_names": ["firing", "human:ap_rheobase"],
        "families": [["rheobase", "fi_slope"], ["human:width_rheo", "human:upstroke_rheo"]],
        "standardise": "quantile",
    }
    note = layout_note(groups)
    assert "standardised by quantile" in note and "firing: rheobase, fi_slope" in note
    assert "human:ap_rheobase (2)" in note and "human:width_rheo" not in note
