# The Gouwens-style baselines (random forest with and without sparse PCA, logistic regression) on the splits.


rule fit_baseline:
    input:
        features="results/features/{species}/features.tsv",
        splits="results/splits/{species}/seed{seed}.tsv",
        code=script_code("fit_baseline.py"),
    output:
        predictions="results/baseline/{species}/{model}/seed{seed}/fold{fold}.tsv",
    log:
        "results/logs/fit_baseline/{species}/{model}/seed{seed}_fold{fold}.log",
    benchmark:
        "results/benchmarks/fit_baseline/{species}/{model}/seed{seed}_fold{fold}.tsv"
    conda:
        "../envs/sklearn.yaml"
    threads: 1
    resources:
        mem_mb=2000,
        runtime=20,
    params:
        settings=dag.config_slice(config["baseline"], without=["models"]),
        fraction=1.0,
    script:
        "../workflow_scripts/fit_baseline.py"


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
