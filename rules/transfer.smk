# The attention BiLSTM: mouse pretraining per seed, human fine-tuning per strategy x seed x fold, paired evaluation.


rule pretrain:
    input:
        features="results/features/aligned/mouse.tsv",
        splits="results/splits/mouse/seed{seed}.tsv",
        code=library(
            "learn/sequences.py",
            "learn/model.py",
            "learn/training.py",
            "learn/transfer.py",
        ),
    output:
        checkpoint="results/pretrain/mouse/seed{seed}/checkpoint.pt",
        epochs="results/pretrain/mouse/seed{seed}/epochs.tsv",
        metrics="results/pretrain/mouse/seed{seed}/metrics.json",
    log:
        "results/logs/pretrain/mouse_seed{seed}.log",
    benchmark:
        "results/benchmarks/pretrain/mouse_seed{seed}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["bilstm"]["threads"]
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=gpu_request(),
    params:
        settings=bilstm_settings(),
    script:
        "../workflow_scripts/pretrain.py"


rule finetune:
    input:
        human="results/features/aligned/human.tsv",
        human_splits="results/splits/human/seed{seed}.tsv",
        mouse="results/features/aligned/mouse.tsv",
        mouse_splits="results/splits/mouse/seed{seed}.tsv",
        checkpoint="results/pretrain/mouse/seed{seed}/checkpoint.pt",
        code=library(
            "learn/sequences.py",
            "learn/model.py",
            "learn/training.py",
            "learn/transfer.py",
        ),
    output:
        predictions="results/finetune/human/{strategy}/seed{seed}/fold{fold}/predictions.tsv",
        epochs="results/finetune/human/{strategy}/seed{seed}/fold{fold}/epochs.tsv",
        metrics="results/finetune/human/{strategy}/seed{seed}/fold{fold}/metrics.json",
    log:
        "results/logs/finetune/{strategy}/seed{seed}_fold{fold}.log",
    benchmark:
        "results/benchmarks/finetune/{strategy}/seed{seed}_fold{fold}.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["bilstm"]["threads"]
    resources:
        mem_mb=2000,
        runtime=20,
        gpu=gpu_request(),
    params:
        settings=bilstm_settings(),
    script:
        "../workflow_scripts/finetune.py"


rule evaluate_transfer:
    input:
        finetune=finetune_predictions(),
        forest=forest_predictions(),
        code=library("learn/evaluation.py", "learn/paired_stats.py"),
    output:
        per_fold="results/finetune/human/metrics_per_fold.tsv",
        summary="results/finetune/human/metrics_summary.tsv",
        paired="results/finetune/human/paired_differences.tsv",
    log:
        "results/logs/evaluate_transfer/evaluate_transfer.log",
    benchmark:
        "results/benchmarks/evaluate_transfer/evaluate_transfer.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        strategies=config["bilstm"]["strategies"],
        forest="forest",
    script:
        "../workflow_scripts/evaluate_transfer.py"
