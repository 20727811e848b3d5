# Splits (once per species and seed, shared by every model) and the Gouwens-style baselines.


rule make_splits:
    input:
        features="results/features/{species}/features.tsv",
        code=library("learn/splits.py", "learn/split_sizes.py"),
    output:
        splits="results/splits/{species}/seed{seed}.tsv",
    log:
        "results/logs/make_splits/{species}_seed{seed}.log",
    benchmark:
        "results/benchmarks/make_splits/{species}_seed{seed}.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        scheme=species_split_scheme,
    script:
        "../workflow_scripts/make_splits.py"


rule fit_baseline:
    input:
        features="results/features/{species}/features.tsv",
        splits="results/splits/{species}/seed{seed}.tsv",
        code=library("learn/baselines.py", "learn/splits.py"),
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
        settings=config["baseline"],
        fraction=1.0,
    script:
        "../workflow_scripts/fit_baseline.py"


rule evaluate_baseline:
    input:
        predictions=baseline_predictions,
        code=library("learn/evaluation.py"),
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


rule align_features:
    input:
        features=expand("results/features/{species}/features.tsv", species=SPECIES),
        alignment=repo_path("config/feature_alignment.tsv"),
        code=library("learn/alignment.py"),
    output:
        aligned=expand("results/features/aligned/{species}.tsv", species=SPECIES),
        report="results/features/aligned/alignment_report.tsv",
    log:
        "results/logs/align_features/align_features.log",
    benchmark:
        "results/benchmarks/align_features/align_features.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        sources=feature_sources(),
        max_missing=config["baseline"]["max_missing"],
    script:
        "../workflow_scripts/align_features.py"


rule species_shift:
    input:
        mouse="results/features/aligned/mouse.tsv",
        human="results/features/aligned/human.tsv",
        code=library("learn/species_shift.py"),
    output:
        shift="results/features/aligned/species_shift.tsv",
    log:
        "results/logs/species_shift/species_shift.log",
    benchmark:
        "results/benchmarks/species_shift/species_shift.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        class_map=config["classes"]["cross_species"],
    script:
        "../workflow_scripts/species_shift.py"
