# The Gouwens-style baselines (random forest with and without sparse PCA, logistic regression) on the splits.
#
# One job per (species, model, seed) fits every fold in turn (the start-up is paid once, not once per fold). Its
# outputs are the species' folds (fold_outputs), fixed when the rule is defined, and the species may differ in fold
# count (`splits.{species}`: kfold K folds, holdout 1), so each species has its own rule: fit_baseline_human,
# and fit_baseline_mouse, the same rule with the mouse folds; each keeps its `{species}` wildcard, constrained
# to its species (params and runtime follow it: species_folds, species_fold_minutes in rules/common.smk).


rule fit_baseline_human:
    input:
        features="results/features/{species}/features.tsv",
        splits="results/splits/{species}/seed{seed}.tsv",
        code=script_code("fit_baseline.py"),
    output:
        predictions=fold_outputs(
            "results/baseline/{species}/{model}/seed{seed}/fold{fold}.tsv"
        ),
    log:
        "results/logs/fit_baseline_{species}/{model}/seed{seed}.log",
    benchmark:
        "results/benchmarks/fit_baseline_{species}/{model}/seed{seed}.tsv"
    wildcard_constraints:
        species="human",
    conda:
        "../envs/sklearn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=species_fold_minutes,
    params:
        settings=lambda w: dag.baseline_settings(config, w.species),
        folds=species_folds,
        fraction=1.0,
    script:
        "../workflow_scripts/fit_baseline.py"


use rule fit_baseline_human as fit_baseline_mouse with:
    output:
        predictions=fold_outputs(
            "results/baseline/{species}/{model}/seed{seed}/fold{fold}.tsv", "mouse"
        ),
    wildcard_constraints:
        species="mouse",


rule evaluate_baseline:
    input:
        predictions=baseline_predictions,
        code=script_code("evaluate_baseline.py"),
    output:
        per_fold="results/baseline/{species}/{model}/metrics_per_fold.tsv",
        summary="results/baseline/{species}/{model}/metrics_summary.tsv",
        confusion="results/baseline/{species}/{model}/confusion.tsv",
    log:
        "results/logs/evaluate_baseline/{species}_{model}.log",
    benchmark:
        "results/benchmarks/evaluate_baseline/{species}_{model}.tsv"
    conda:
        "../envs/sklearn.yaml"
    script:
        "../workflow_scripts/evaluate_baseline.py"
