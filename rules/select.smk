# Model selection for human cells: every candidate (scikit-learn baselines, BiLSTM strategies, an ensemble of the
# best) on identical folds; the winner by the rule of `selection:` on the selection seeds, scored on the others.


rule select_model:
    input:
        predictions=dag.selection_files(config),
        code=script_code("select_model.py"),
    output:
        candidates="results/select/human/candidates.tsv",
        per_fold="results/select/human/metrics_per_fold.tsv",
        selected="results/select/human/selected.json",
        predictions="results/select/human/predictions.tsv",
    log:
        "results/logs/select_model/select_model.log",
    benchmark:
        "results/benchmarks/select_model/select_model.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        selection=config["selection"],
        candidates=[[name, kind] for name, kind, _ in dag.selection_candidates(config)],
        runs_per_candidate=len(dag.runs(config)),
        split_seeds=config["splits"]["seeds"],
        forest=dag.FOREST,
        bins=config["report"]["calibration_bins"],
        calibration={
            "sklearn": dag.baseline_settings(config, "human")["calibration"],
            "bilstm": config["bilstm"]["pretrain"]["calibration"],
        },
    script:
        "../workflow_scripts/select_model.py"
