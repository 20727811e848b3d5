# Fine-tuning on human cells, per strategy x seed (one job trains every fold in turn: the start-up, imports and data,
# is paid once per seed instead of once per fold), and its paired evaluation against scratch and the forest on
# identical folds (metrics, paired differences, attention; calibration and confusion).


rule finetune:
    input:
        human=dag.sequence_file(config, "human"),
        human_splits="results/splits/human/seed{seed}.tsv",
        mouse=dag.sequence_file(config, "mouse"),
        mouse_splits="results/splits/mouse/seed{seed}.tsv",
        checkpoint="results/pretrain/mouse/seed{seed}/checkpoint.pt",
        code=script_code("finetune.py"),
    output:
        predictions=fold_outputs(
            "results/finetune/human/{strategy}/seed{seed}/fold{fold}/predictions.tsv"
        ),
        epochs=fold_outputs(
            "results/finetune/human/{strategy}/seed{seed}/fold{fold}/epochs.tsv"
        ),
        metrics=fold_outputs(
            "results/finetune/human/{strategy}/seed{seed}/fold{fold}/metrics.json"
        ),
        attention=fold_outputs(
            "results/finetune/human/{strategy}/seed{seed}/fold{fold}/attention.tsv"
        ),
    log:
        "results/logs/finetune/{strategy}/seed{seed}.log",
    benchmark:
        "results/benchmarks/finetune/{strategy}/seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["bilstm"]["threads"]
    resources:
        mem_mb=2000,
        runtime=dag.fold_minutes(config, "human"),
        gpu=gpu_request(),
    params:
        settings=dag.bilstm_settings(config),
        folds=dag.folds(config, "human"),
        fraction=1.0,
        class_map=config["classes"]["cross_species"],
    script:
        "../workflow_scripts/finetune.py"


rule evaluate_transfer:
    input:
        finetune=dag.finetune_files(config),
        attention=dag.finetune_files(config, "attention.tsv"),
        mouse_attention=expand(
            "results/pretrain/mouse/seed{seed}/attention.tsv",
            seed=config["splits"]["seeds"],
        ),
        forest=dag.baseline_predictions(config, "human", dag.FOREST_MODEL),
        code=script_code("evaluate_transfer.py"),
    output:
        per_fold="results/finetune/human/metrics_per_fold.tsv",
        summary="results/finetune/human/metrics_summary.tsv",
        paired="results/finetune/human/paired_differences.tsv",
        attention="results/finetune/attention_by_class.tsv",
    log:
        "results/logs/evaluate_transfer/evaluate_transfer.log",
    benchmark:
        "results/benchmarks/evaluate_transfer/evaluate_transfer.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        strategies=config["bilstm"]["strategies"],
        forest=dag.FOREST,
    script:
        "../workflow_scripts/evaluate_transfer.py"


rule evaluate_predictions:
    input:
        finetune=dag.finetune_files(config),
        forest=dag.baseline_predictions(config, "human", dag.FOREST_MODEL),
        code=script_code("evaluate_predictions.py"),
    output:
        bins="results/finetune/human/calibration_bins.tsv",
        summary="results/finetune/human/calibration.tsv",
        confusion="results/finetune/human/confusion.tsv",
    log:
        "results/logs/evaluate_predictions/evaluate_predictions.log",
    benchmark:
        "results/benchmarks/evaluate_predictions/evaluate_predictions.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        strategies=config["bilstm"]["strategies"],
        forest=dag.FOREST,
        bins=config["report"]["calibration_bins"],
    script:
        "../workflow_scripts/evaluate_predictions.py"
