"""Rule evaluate_learning_curve: macro-F1 (mean, SD, CI over seed x fold) per method and training fraction."""

import pandas as pd

from patchseq_ml.learn.evaluation import per_fold_table, summarise
from patchseq_ml.logging_utils import rule_log, setup_logging


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    keys = [tuple(k) for k in snakemake.params.curve_keys]
    full_keys = list(dict.fromkeys((method, 1.0) for method, _ in keys))
    per_file = len(snakemake.input.full) // len(full_keys)
    files = list(zip(keys, snakemake.input.predictions))
    files += [
        (key, path)
        for i, key in enumerate(full_keys)
        for path in snakemake.input.full[i * per_file : (i + 1) * per_file]
    ]
    groups: dict[tuple, list[pd.DataFrame]] = {}
    for key, path in files:
        groups.setdefault(key, []).append(pd.read_csv(path, sep="\t", dtype={"cell_id": str}))
    rows = []
    for (method, fraction), frames in groups.items():
        predictions = pd.concat(frames, ignore_index=True)
        per_fold = per_fold_table(predictions, sorted(predictions["true"].unique()))
        summary = summarise(per_fold).set_index("metric").loc["macro_f1"]
        rows.append(
            {
                "method": method,
                "fraction": fraction,
                "macro_f1": summary["mean"],
                "sd": summary["sd"],
                "ci_low": summary["ci_low"],
                "ci_high": summary["ci_high"],
                "runs": int(summary["n"]),
            }
        )
    curve = pd.DataFrame(rows).sort_values(["method", "fraction"])
    curve.to_csv(snakemake.output.curve, sep="\t", index=False)
    log.info("\n%s", curve.to_string(index=False))


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
