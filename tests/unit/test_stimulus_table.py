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


def _user_map(tmp_path, body: str):
    path = tmp_path / "my_protocols.tsv"
    path.write_text("# my lab's protocol names\npattern\tstimulus_type\tnote\n" + body)
    return path


def test_a_user_map_is_consulted_before_the_default_table(tmp_path):
    user = _user_map(
        tmp_path,
        "FICurve_\tlong_square\tClampex current steps\n"
        "IV_short$\tshort_square\t3 ms pulses\n"
        "X7Ramp\tother\tthis lab's X7Ramp is not Allen's ramp\n",
    )
    default = ROOT / "config/stimulus_codes.tsv"
    table = StimulusTable.from_tsv(default, extra=user)
    assert table.classify("FICurve_Hyperpolarizing_KL") == "long_square"
    assert table.classify("IV_short") == "short_square"
    assert table.classify("IV_short_long") == "unknown"  # '$' anchors a whole name
    assert table.classify("X7Ramp_DA_0") == "other"  # the user's row wins over the default's
    assert table.classify("X4PS_SupraThresh_DA_0") == "long_square"  # default rows still apply
    assert StimulusTable.from_tsv(default).classify("FICurve_Hyperpolarizing_KL") == "unknown"
    assert StimulusTable.from_tsv(default, extra=None) == StimulusTable.from_tsv(default)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("FICurve\tlong_squares\t\n", r"my_protocols\.tsv: row 2: unknown stimulus_type 'long_squares'"),
        ("FICurve(\tlong_square\t\n", r"my_protocols\.tsv: row 2: invalid pattern 'FICurve\('"),
        ("\tlong_square\t\n", r"my_protocols\.tsv: row 2: empty pattern"),
    ],
)
def test_a_bad_user_map_is_refused_naming_the_file_and_row(tmp_path, body, message):
    with pytest.raises(ValueError, match=message):
        StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv", extra=_user_map(tmp_path, body))


def test_a_missing_user_map_or_column_is_refused_naming_the_file(tmp_path):
    with pytest.raises(ValueError, match=r"absent\.tsv: cannot read the stimulus table"):
        StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv", extra=tmp_path / "absent.tsv")
    no_type = tmp_path / "no_type.tsv"
    no_type.write_text("pattern\tkind\nFICurve\tlong_square\n")
    with pytest.raises(ValueError, match=r"no_type\.tsv: missing column\(s\) \['stimulus_type'\]"):
        StimulusTable.from_tsv(ROOT / "config/stimulus_codes.tsv", extra=no_type)
