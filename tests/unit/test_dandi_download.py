import hashlib
import logging
import os

import pytest
from dandi_server import FakeDandiArchive, isolate_dandi_client, random_bytes

from patchseq_ml.acquire.dandi_assets import AssetRow, list_assets
from patchseq_ml.acquire.dandi_download import DownloadError, fetch_asset

PATH = "sub-1203384279/sub-1203384279_ses-1203617364_icephys.nwb"
SIZE = 300_000


@pytest.fixture
def archive(tmp_path, monkeypatch):
    isolate_dandi_client(monkeypatch, tmp_path)
    with FakeDandiArchive(dandiset_id="000636", version="0.240601.1200") as served:
        served.add_bytes(PATH, random_bytes(SIZE, seed=1))
        yield served


def row_of(archive: FakeDandiArchive) -> AssetRow:
    served = archive.by_path(PATH)
    return AssetRow(PATH, len(served.data), served.sha256, served.asset_id)


def test_download_is_verified_and_moved_into_place(archive, tmp_path, caplog):
    out = tmp_path / "raw" / PATH
    with caplog.at_level(logging.INFO, logger="patchseq_ml.acquire.dandi_download"):
        assert fetch_asset(row_of(archive), out, api_url=archive.api_url, chunk_bytes=32_768) == archive.api_url
    assert out.read_bytes() == archive.by_path(PATH).data
    assert os.listdir(out.parent) == [out.name]
    assert "100% (300000 of 300000 bytes)" in caplog.text and "50%" in caplog.text
    assert ("GET", f"/blobs/{row_of(archive).asset_id}", None) in archive.requests  # followed the 302


def test_corrupted_byte_deletes_the_file_and_names_the_asset(archive, tmp_path):
    archive.corrupt(PATH)
    out = tmp_path / "a.nwb"
    with pytest.raises(DownloadError, match=rf"{PATH} \(asset {row_of(archive).asset_id}\).*sha256") as error:
        fetch_asset(row_of(archive), out, api_url=archive.api_url)
    assert "\n" not in str(error.value)
    assert not list(tmp_path.glob("a.nwb*"))


def test_dropped_connection_resumes_with_range_and_ends_verified(archive, tmp_path):
    archive.drop_after(PATH, 100_000)
    out = tmp_path / "a.nwb"
    fetch_asset(row_of(archive), out, api_url=archive.api_url, retry_wait_s=0, chunk_bytes=16_384)
    assert out.read_bytes() == archive.by_path(PATH).data
    ranges = [r for _, p, r in archive.requests if p.startswith("/blobs/")]
    assert ranges[0] is None and ranges[1].startswith("bytes=") and 0 < int(ranges[1][6:-1]) <= 100_000  # resumed


def test_a_part_file_left_by_an_earlier_run_is_resumed(archive, tmp_path):
    out = tmp_path / "a.nwb"
    out.with_name("a.nwb.part").write_bytes(archive.by_path(PATH).data[:123_456])
    fetch_asset(row_of(archive), out, api_url=archive.api_url)
    assert out.read_bytes() == archive.by_path(PATH).data
    assert [r for _, p, r in archive.requests if p.startswith("/blobs/")] == ["bytes=123456-"]


def test_local_mirror_is_used_as_is_without_the_archive(tmp_path):
    data = random_bytes(50_000, seed=3)
    mirror = tmp_path / "mirror"
    (mirror / PATH).parent.mkdir(parents=True)
    (mirror / PATH).write_bytes(data)
    row = AssetRow(PATH, len(data), hashlib.sha256(data).hexdigest(), "x")
    out = tmp_path / "raw" / PATH
    assert fetch_asset(row, out, api_url=None, mirror=mirror) == "mirror"
    assert out.read_bytes() == data and out.stat().st_ino == (mirror / PATH).stat().st_ino  # a hard link
    bad = AssetRow(PATH, len(data), "0" * 64, "x")
    with pytest.raises(DownloadError, match=f"{PATH} .*mirror.*does not match"):
        fetch_asset(bad, tmp_path / "other.nwb", api_url=None, mirror=mirror)
    with pytest.raises(DownloadError, match="not in the mirror"):
        fetch_asset(row, tmp_path / "o.nwb", api_url=None, mirror=tmp_path / "empty")


def test_a_file_missing_from_the_mirror_is_downloaded(archive, tmp_path):
    out = tmp_path / "a.nwb"
    assert fetch_asset(row_of(archive), out, api_url=archive.api_url, mirror=tmp_path / "empty") == archive.api_url
    assert out.read_bytes() == archive.by_path(PATH).data


def test_a_served_folder_is_listed_and_downloaded_end_to_end(tmp_path, monkeypatch):
    isolate_dandi_client(monkeypatch, tmp_path)
    source = tmp_path / "source"
    for i, session in enumerate(("701", "702")):
        (source / f"sub-9{i}").mkdir(parents=True)
        (source / f"sub-9{i}/sub-9{i}_ses-{session}_icephys.nwb").write_bytes(random_bytes(40_000, seed=i))
    with FakeDandiArchive() as archive:
        archive.add_folder(source)
        rows = list_assets(archive.dandiset_id, archive.version, api_url=archive.api_url)
        assert [r.session_id for r in rows] == ["701", "702"]
        for row in rows:
            fetch_asset(row, tmp_path / "raw" / row.path, api_url=archive.api_url)
            assert (tmp_path / "raw" / row.path).read_bytes() == (source / row.path).read_bytes()
