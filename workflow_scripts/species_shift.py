"""Rule species_shift: how far human cells sit from mouse cells on every shared feature (overall, within subclass)."""

import pandas as pd

from patchseq_ml.learn.species_shift import shift_table
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    read = {"sep": "\t", "dtype": {"cell_id": str, "subclass": str, "exclusion": str}}
    table = shift_table(
        pd.read_csv(snakemake.input.mouse, **read),
        pd.read_csv(snakemake.input.human, **read),
        snakemake.params.class_map,
    )
    table.to_csv(snakemake.output.shift, sep="\t", index=False)
    top = table.head(3)
    log.info(
        "largest within-subclass shifts (SD units): %s",
        ", ".join(f"{f} {v:+.2f}" for f, v in zip(top.feature, top.smd_within_subclass)),
    )


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
