import hashlib

import pytest

from patchseq_ml.acquire.fetch import FetchError, fetch_table


def test_local_copy_is_verified_and_moved_into_place(tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("a,b\n1,2\n")
    digest = hashlib.sha256(source.read_bytes()).hexdigest()
    out = tmp_path / "out/t.csv"
    assert fetch_table({"path": str(source), "sha256": digest}, out) == str(source)
    assert out.read_text() == "a,b\n1,2\n"


def test_checksum_mismatch_leaves_no_file(tmp_path):
    source = tmp_path / "t.csv"
    source.write_text("changed\n")
    out = tmp_path / "out.csv"
    with pytest.raises(FetchError, match="does not match"):
        fetch_table({"path": str(source), "sha256": "0" * 64}, out)
    assert not out.exists() and not list(tmp_path.glob("*.part"))


def test_unreachable_url_fails_with_one_line(tmp_path):
    with pytest.raises(FetchError, match=r"http://127\.0\.0\.1:9/t\.csv: download failed"):
        fetch_table({"path": str(tmp_path / "absent.csv"), "url": "http://127.0.0.1:9/t.csv"}, tmp_path / "o.csv")
