"""Rule make_splits: stratified train/val/test splits of one species for one seed (every fold)."""

from patchseq_ml.learn.splits import make_splits
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    table = read_tsv(snakemake.input.features)
    usable = table[(table.status == "ok") & table.subclass.notna() & (table.exclusion.fillna("") == "")]
    splits = make_splits(usable[["cell_id", "subclass"]], snakemake.params.scheme, int(snakemake.wildcards.seed))
    splits.to_csv(snakemake.output.splits, sep="\t", index=False)
    log.info("%d cells, roles per fold:\n%s", len(usable), splits.groupby(["fold", "role"]).size().to_string())


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
