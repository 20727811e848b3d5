# The learning curve: the same test folds, a stratified fraction of each training fold, for the chosen strategies
# and human-only baselines; each method paired against the best human-only model at each fraction. Its two
# training rules reuse finetune and fit_baseline_human (rules/finetune.smk, rules/baseline.smk, included before
# this file) with other outputs and the fraction from the path: one job per (method, fraction, seed) over the folds.


use rule finetune as learning_curve_finetune with:
    output:
        predictions=fold_outputs(
            "results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/predictions.tsv"
        ),
        epochs=fold_outputs(
            "results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/epochs.tsv"
        ),
        metrics=fold_outputs(
            "results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/metrics.json"
        ),
        attention=fold_outputs(
            "results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/attention.tsv"
        ),
    log:
        "results/logs/learning_curve_finetune/{strategy}/frac{fraction}_seed{seed}.log",
    benchmark:
        "results/benchmarks/learning_curve_finetune/{strategy}/frac{fraction}_seed{seed}.tsv"
    params:
        settings=dag.bilstm_settings(config),
        folds=dag.folds(config, "human"),
        fraction=wildcard_fraction,
        class_map=config["classes"]["cross_species"],


use rule fit_baseline_human as learning_curve_forest with:
    output:
        predictions=fold_outputs(
            "results/learning_curve/{species}/{model}/frac{fraction}/seed{seed}/fold{fold}.tsv"
        ),
    log:
        "results/logs/learning_curve_forest/{species}/{model}/frac{fraction}_seed{seed}.log",
    benchmark:
        "results/benchmarks/learning_curve_forest/{species}/{model}/frac{fraction}_seed{seed}.tsv"
    params:
        settings=dag.learning_curve_baseline_settings(config),
        folds=species_folds,
        fraction=wildcard_fraction,


rule evaluate_learning_curve:
    input:
        predictions=[path for _, _, path in dag.learning_curve_files(config)],
        code=script_code("evaluate_learning_curve.py"),
    output:
        curve="results/learning_curve/human/learning_curve.tsv",
        paired="results/learning_curve/human/paired_vs_best_human_only.tsv",
    log:
        "results/logs/evaluate_learning_curve/evaluate_learning_curve.log",
    benchmark:
        "results/benchmarks/evaluate_learning_curve/evaluate_learning_curve.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        runs=[
            [method, fraction]
            for method, fraction, _ in dag.learning_curve_files(config)
        ],
        human_only=dag.human_only_methods(config),
    script:
        "../workflow_scripts/evaluate_learning_curve.py"
