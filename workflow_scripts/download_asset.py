"""Rule download_asset: one NWB asset of a pinned dandiset version -> results/raw/dandi/{species}/{asset}.

From the local mirror when it holds the file, else from the archive with the `dandi` client: resumed after a dropped
connection, sha256-verified (a mismatch deletes the file and fails the job naming the asset), moved into place
only when verified.
"""

from pathlib import Path

from patchseq_ml.acquire.dandi_assets import AssetRow
from patchseq_ml.acquire.dandi_download import fetch_asset
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    row = AssetRow(**snakemake.params.row)
    mirror = Path(snakemake.params.mirror) if snakemake.params.mirror else None
    source = fetch_asset(row, Path(snakemake.output.nwb), snakemake.params.api_url, mirror)
    log.info("%s (%d bytes) <- %s, sha256 %s", row.path, row.size, source, row.sha256 or "not in the listing")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
