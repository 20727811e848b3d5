# The attention BiLSTM: mouse pretraining per seed, human fine-tuning per strategy x seed x fold, paired evaluation.


# Feature input only: the shared quantities plus each species' own features (masked in the other species).
rule sequence_features:
    input:
        aligned=expand("results/features/aligned/{species}.tsv", species=SPECIES),
        features=expand("results/features/{species}/features.tsv", species=SPECIES),
        report="results/features/aligned/alignment_report.tsv",
        alignment=repo_path("config/feature_alignment.tsv"),
        code=library("learn/sequence_tables.py"),
    output:
        tables=expand("results/features/sequence/{species}.tsv", species=SPECIES),
        report="results/features/sequence/own_features.tsv",
    log:
        "results/logs/sequence_features/sequence_features.log",
    benchmark:
        "results/benchmarks/sequence_features/sequence_features.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        sources=feature_sources(),
        own={
            k: v
            for k, v in config["bilstm"]["own_features"].items()
            if k != "families"
        },
    script:
        "../workflow_scripts/sequence_features.py"


rule pretrain:
    input:
        sequences=sequence_file("mouse"),
        splits="results/splits/mouse/seed{seed}.tsv",
        code=library(
            "learn/sequences.py",
            "learn/sequence_sources.py",
            "learn/model.py",
            "learn/training.py",
            "learn/transfer.py",
        ),
    output:
        checkpoint="results/pretrain/mouse/seed{seed}/checkpoint.pt",
        epochs="results/pretrain/mouse/seed{seed}/epochs.tsv",
        metrics="results/pretrain/mouse/seed{seed}/metrics.json",
        attention="results/pretrain/mouse/seed{seed}/attention.tsv",
        predictions="results/pretrain/mouse/seed{seed}/test_predictions.tsv",
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
        settings=bilstm_settings("pretrain"),
        features=config["features"],
    script:
        "../workflow_scripts/pretrain.py"


rule finetune:
    input:
        human=sequence_file("human"),
        human_splits="results/splits/human/seed{seed}.tsv",
        mouse=sequence_file("mouse"),
        mouse_splits="results/splits/mouse/seed{seed}.tsv",
        checkpoint="results/pretrain/mouse/seed{seed}/checkpoint.pt",
        code=library(
            "learn/sequences.py",
            "learn/sequence_sources.py",
            "learn/model.py",
            "learn/training.py",
            "learn/transfer.py",
        ),
    output:
        predictions="results/finetune/human/{strategy}/seed{seed}/fold{fold}/predictions.tsv",
        epochs="results/finetune/human/{strategy}/seed{seed}/fold{fold}/epochs.tsv",
        metrics="results/finetune/human/{strategy}/seed{seed}/fold{fold}/metrics.json",
        attention="results/finetune/human/{strategy}/seed{seed}/fold{fold}/attention.tsv",
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
        fraction=1.0,
        class_map=config["classes"]["cross_species"],
    script:
        "../workflow_scripts/finetune.py"


rule evaluate_transfer:
    input:
        finetune=finetune_predictions(),
        attention=finetune_attention(),
        mouse_attention=expand(
            "results/pretrain/mouse/seed{seed}/attention.tsv",
            seed=config["splits"]["seeds"],
        ),
        forest=forest_predictions(),
        code=library("learn/evaluation.py", "learn/paired_stats.py"),
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
        forest="forest",
    script:
        "../workflow_scripts/evaluate_transfer.py"


# The learning curve: the same test folds, a stratified fraction of each training fold.


use rule finetune as learning_curve_finetune with:
    output:
        predictions="results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/predictions.tsv",
        epochs="results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/epochs.tsv",
        metrics="results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/metrics.json",
        attention="results/learning_curve/human/{strategy}/frac{fraction}/seed{seed}/fold{fold}/attention.tsv",
    log:
        "results/logs/learning_curve_finetune/{strategy}/frac{fraction}_seed{seed}_fold{fold}.log",
    benchmark:
        "results/benchmarks/learning_curve_finetune/{strategy}/frac{fraction}_seed{seed}_fold{fold}.tsv"
    params:
        settings=bilstm_settings(),
        fraction=wildcard_fraction,
        class_map=config["classes"]["cross_species"],


use rule fit_baseline as learning_curve_forest with:
    output:
        predictions="results/learning_curve/{species}/{model}/frac{fraction}/seed{seed}/fold{fold}.tsv",
    log:
        "results/logs/learning_curve_forest/{species}/{model}/frac{fraction}_seed{seed}_fold{fold}.log",
    benchmark:
        "results/benchmarks/learning_curve_forest/{species}/{model}/frac{fraction}_seed{seed}_fold{fold}.tsv"
    params:
        settings=config["baseline"],
        fraction=wildcard_fraction,


rule evaluate_learning_curve:
    input:
        predictions=learning_curve_predictions(),
        full=learning_curve_full_predictions(),
        code=library("learn/evaluation.py"),
    output:
        curve="results/learning_curve/human/learning_curve.tsv",
    log:
        "results/logs/evaluate_learning_curve/evaluate_learning_curve.log",
    benchmark:
        "results/benchmarks/evaluate_learning_curve/evaluate_learning_curve.tsv"
    conda:
        "../envs/sklearn.yaml"
    params:
        curve_keys=learning_curve_keys(),
    script:
        "../workflow_scripts/evaluate_learning_curve.py"


# Calibration and confusion of the pooled human predictions of every strategy and the forest (the runs of
# evaluate_transfer).


rule evaluate_predictions:
    input:
        finetune=finetune_predictions(),
        forest=forest_predictions(),
        code=library("learn/calibration.py", "learn/evaluation.py"),
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
        forest="forest",
        bins=config["report"]["calibration_bins"],
    script:
        "../workflow_scripts/evaluate_predictions.py"


# The deployable human model (what `predict` uses) and the learned embedding of both species.


rule deploy_human_model:
    input:
        human=sequence_file("human"),
        human_splits=f"results/splits/human/seed{deploy_seed()}.tsv",
        mouse=sequence_file("mouse"),
        mouse_splits=f"results/splits/mouse/seed{deploy_seed()}.tsv",
        checkpoint=f"results/pretrain/mouse/seed{deploy_seed()}/checkpoint.pt",
        code=library(
            "learn/deployment.py",
            "learn/sequences.py",
            "learn/sequence_sources.py",
            "learn/model.py",
            "learn/training.py",
            "learn/transfer.py",
        ),
    output:
        checkpoint="results/model/human/checkpoint.pt",
        metrics="results/model/human/metrics.json",
        predictions="results/model/human/predictions.tsv",
    log:
        "results/logs/deploy_human_model/deploy_human_model.log",
    benchmark:
        "results/benchmarks/deploy_human_model/deploy_human_model.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["bilstm"]["threads"]
    resources:
        mem_mb=3000,
        runtime=30,
        gpu=gpu_request(),
    params:
        settings=bilstm_settings(),
        strategy=config["bilstm"]["deploy"]["strategy"],
        seed=deploy_seed(),
        class_map=config["classes"]["cross_species"],
    script:
        "../workflow_scripts/train_human_model.py"


rule embed_cells:
    input:
        deployed="results/model/human/checkpoint.pt",
        pretrained=f"results/pretrain/mouse/seed{deploy_seed()}/checkpoint.pt",
        human=sequence_file("human"),
        human_splits=f"results/splits/human/seed{deploy_seed()}.tsv",
        mouse=sequence_file("mouse"),
        mouse_splits=f"results/splits/mouse/seed{deploy_seed()}.tsv",
        code=library("learn/deployment.py", "learn/embedding.py"),
    output:
        embedding="results/model/embedding.tsv",
        alignment="results/model/embedding_alignment.tsv",
    log:
        "results/logs/embed_cells/embed_cells.log",
    benchmark:
        "results/benchmarks/embed_cells/embed_cells.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["bilstm"]["threads"]
    params:
        input_kind=config["bilstm"]["input"],
        class_map=config["classes"]["cross_species"],
        neighbours=config["report"]["embedding_neighbours"],
    script:
        "../workflow_scripts/embed_cells.py"
