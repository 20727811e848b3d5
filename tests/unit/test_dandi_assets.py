import socket
import time

import pytest
from dandi_server import FakeDandiArchive, isolate_dandi_client, random_bytes

from patchseq_ml.acquire.dandi_assets import (
    ArchiveUnreachable,
    AssetPathError,
    AssetRow,
    ListingError,
    check_reachable,
    list_assets,
    read_listing,
    session_id,
    validate_asset_path,
    write_listing,
)

MOUSE = [f"sub-{600000 + i}/sub-{600000 + i}_ses-{800000000 + i}_icephys.nwb" for i in range(5)]


@pytest.fixture
def archive(tmp_path, monkeypatch):
    isolate_dandi_client(monkeypatch, tmp_path)
    with FakeDandiArchive(page_size=2) as served:
        for i, path in enumerate(MOUSE):
            served.add_bytes(path, random_bytes(20_000 + i, seed=i))
        yield served


def test_listing_through_the_client_matches_the_served_files(archive, tmp_path):
    rows = list_assets(archive.dandiset_id, archive.version, api_url=archive.api_url)
    assert [r.path for r in rows] == MOUSE  # 5 assets over 3 pages
    for row in rows:
        served = archive.by_path(row.path)
        assert (row.size, row.sha256, row.asset_id) == (len(served.data), served.sha256, served.asset_id)
    assert [r.session_id for r in rows] == [str(800000000 + i) for i in range(5)]
    assert sum(p.endswith("/assets/") for _, p, _ in archive.requests) == 3
    write_listing(rows, tmp_path / "listing/assets.tsv")
    assert read_listing(tmp_path / "listing/assets.tsv") == rows
    assert (tmp_path / "listing/assets.tsv").read_text().splitlines()[0].split("\t")[:4] == [
        "path",
        "size_bytes",
        "sha256",
        "asset_id",
    ]


@pytest.mark.parametrize(
    "path",
    [
        "../x.nwb",
        "/abs.nwb",
        "sub-1/../../etc.nwb",
        "sub-1\\sub-1_ses-2_icephys.nwb",
        "C:/sub-1_ses-2_icephys.nwb",
        "sub-1/sub-2_ses-3_icephys.nwb",
        "sub-1//sub-1_ses-2_icephys.nwb",
        "sub-1/sub-1_ses-2_icephys.nwb\nx",
        "",
    ],
)
def test_unsafe_or_unexpected_paths_are_refused_in_one_line(path):
    with pytest.raises(AssetPathError) as error:
        validate_asset_path(path)
    assert repr(path) in str(error.value) and "\n" not in str(error.value)


def test_mouse_and_human_paths_give_their_session_ids():
    assert session_id("sub-599387254/sub-599387254_ses-601506492_icephys.nwb") == "601506492"
    assert session_id("sub-1203384279/sub-1203384279_ses-1203617364_obj-1x2y3z_icephys.nwb") == "1203617364"
    assert AssetRow("sub-a_b.c/sub-a_b.c_ses-7_icephys.nwb", 1, "", "id").session_id == "7"


def test_a_bad_asset_path_on_the_server_aborts_the_listing(archive, tmp_path):
    archive.add_bytes("sub-1/../../etc.nwb", b"x")
    with pytest.raises(AssetPathError, match=r"'sub-1/\.\./\.\./etc\.nwb'"):
        list_assets(archive.dandiset_id, archive.version, api_url=archive.api_url)
    with pytest.raises(AssetPathError):
        write_listing([AssetRow("../x.nwb", 1, "0" * 64, "a")], tmp_path / "assets.tsv")
    assert not list(tmp_path.glob("assets.tsv*"))


def test_unreachable_archive_fails_fast_with_one_line(tmp_path, monkeypatch):
    isolate_dandi_client(monkeypatch, tmp_path)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    start = time.monotonic()
    with pytest.raises(ArchiveUnreachable) as error:
        list_assets("000020", "0.240101.0000", api_url=f"http://127.0.0.1:{port}/api")
    assert time.monotonic() - start < 10
    message = str(error.value)
    assert f"http://127.0.0.1:{port}/api is unreachable" in message and "local mirror" in message
    assert "\n" not in message


def test_listing_without_its_columns_is_refused(tmp_path):
    (tmp_path / "a.tsv").write_text("path\tsize_bytes\nsub-1/sub-1_ses-2_icephys.nwb\t3\n")
    with pytest.raises(ListingError, match="asset_id, sha256"):
        read_listing(tmp_path / "a.tsv")


def test_an_archive_that_never_answers_times_out(tmp_path):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections (kernel backlog) but never answers
        url = f"http://127.0.0.1:{silent.getsockname()[1]}/api"
        start = time.monotonic()
        with pytest.raises(ArchiveUnreachable, match="timed out"):
            check_reachable(url, timeout_s=0.5)
        assert time.monotonic() - start < 5
