"""Rule make_splits: stratified train/val/test splits of one species for one seed (every fold)."""

import sys

from patchseq_ml.learn.splits import TooFewLabelsError, make_splits
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    table = read_tsv(snakemake.input.features)
    usable = table[(table.status == "ok") & table.subclass.notna() & (table.exclusion.fillna("") == "")]
    try:
        splits = make_splits(usable[["cell_id", "subclass"]], snakemake.params.scheme, int(snakemake.wildcards.seed))
    except TooFewLabelsError as error:
        log.error("%s: %s", snakemake.wildcards.species, error)
        sys.exit(1)
    splits.to_csv(snakemake.output.splits, sep="\t", index=False)
    log.info("%d cells, roles per fold:\n%s", len(usable), splits.groupby(["fold", "role"]).size().to_string())


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
