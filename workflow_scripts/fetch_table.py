"""Rule fetch_table: a published table (local copy or download), sha256-verified -> results/raw/tables/."""

from pathlib import Path

from patchseq_ml.acquire.fetch import fetch_table
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    source = fetch_table(snakemake.params.spec, Path(snakemake.output.table))
    log.info("%s <- %s (sha256 verified)", snakemake.output.table, source)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
