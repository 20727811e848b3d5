import pytest
from conftest import ROOT

from patchseq_ml.acquire.stimulus_table import StimulusTable, strip_code


@pytest.mark.parametrize(
    ("code", "kind"),
    [
        ("X4PS_SupraThresh_DA_0", "long_square"),
        ("X1PS_SubThresh_DA_0", "long_square"),
        ("C1LSCOARSE150216_DA_0", "long_square"),
        ("X6SP_Rheo_DA_0", "short_square"),
        ("C1SSFINEST150112", "short_square"),
        ("X7Ramp_DA_0", "ramp"),
        ("X2LP_Search_DA_0", "search"),
        ("X5SP_Search_DA_0", "search"),
        ("EXTPSMOKET180424_DA_0", "test"),
        ("C2CHIRP180503", "other"),
        ("StimulusSetA_DA_0", "unknown"),
    ],
)
def test_codes_map_to_their_types(stimulus_table, code, kind):
    assert stimulus_table.classify(code) == kind


def test_strip_code_removes_only_the_da_suffix():
    assert strip_code("X4PS_SupraThresh_DA_0") == "X4PS_SupraThresh"
    assert strip_code("X4PS_SupraThresh_DA_12") == "X4PS_SupraThresh"
    assert strip_code("X4PS_DA_Thresh") == "X4PS_DA_Thresh"


def test_unknown_type_in_table_is_refused_naming_the_file(tmp_path):
    bad = tmp_path / "codes.tsv"
    bad.write_text("pattern\tstimulus_type\tnote\nX1PS\tlong_squares\ttypo\n")
    with pytest.raises(ValueError, match=r"codes\.tsv: row 2: unknown stimulus_type 'long_squares'"):
        StimulusTable.from_tsv(bad)


def test_search_sweeps_are_not_analysis_sweeps():
    table = StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv")
    assert table.classify("X2LP_Search") != "long_square"
