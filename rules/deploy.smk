# The deployed models: the winner of model selection (what `predict` uses), the BiLSTM of `bilstm.deploy` (the
# embedding map of both species; `predict --model checkpoint.pt`), the learned embedding, and the subclass of the
# cells without a usable label (never trained on): human cells by the selected model, mouse cells by the BiLSTM.


rule deploy_human_model:
    input:
        human=dag.sequence_file(config, "human"),
        human_splits=f"results/splits/human/seed{DEPLOY_SEED}.tsv",
        mouse=dag.sequence_file(config, "mouse"),
        mouse_splits=f"results/splits/mouse/seed{DEPLOY_SEED}.tsv",
        checkpoint=f"results/pretrain/mouse/seed{DEPLOY_SEED}/checkpoint.pt",
        code=script_code("train_human_model.py"),
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
        settings=dag.bilstm_settings(config),
        strategy=config["bilstm"]["deploy"]["strategy"],
        seed=DEPLOY_SEED,
        class_map=config["classes"]["cross_species"],
    script:
        "../workflow_scripts/train_human_model.py"


rule embed_cells:
    input:
        deployed="results/model/human/checkpoint.pt",
        pretrained=f"results/pretrain/mouse/seed{DEPLOY_SEED}/checkpoint.pt",
        human=dag.sequence_file(config, "human"),
        human_splits=f"results/splits/human/seed{DEPLOY_SEED}.tsv",
        mouse=dag.sequence_file(config, "mouse"),
        mouse_splits=f"results/splits/mouse/seed{DEPLOY_SEED}.tsv",
        code=script_code("embed_cells.py"),
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


rule predict_unlabelled:
    input:
        deployed="results/model/human/checkpoint.pt",
        selected="results/model/human/selected.joblib",
        human=dag.sequence_file(config, "human"),
        mouse=dag.sequence_file(config, "mouse"),
        human_features="results/features/human/features.tsv",
        mouse_features="results/features/mouse/features.tsv",
        code=script_code("predict_unlabelled.py"),
    output:
        predictions="results/model/unlabelled_predictions.tsv",
    log:
        "results/logs/predict_unlabelled/predict_unlabelled.log",
    benchmark:
        "results/benchmarks/predict_unlabelled/predict_unlabelled.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["bilstm"]["threads"]
    params:
        input_kind=config["bilstm"]["input"],
        deployed_strategy=config["bilstm"]["deploy"]["strategy"],
    script:
        "../workflow_scripts/predict_unlabelled.py"


rule deploy_selected_model:
    input:
        selected="results/select/human/selected.json",
        features="results/features/human/features.tsv",
        human=dag.sequence_file(config, "human"),
        human_splits=f"results/splits/human/seed{DEPLOY_SEED}.tsv",
        mouse=dag.sequence_file(config, "mouse"),
        mouse_splits=f"results/splits/mouse/seed{DEPLOY_SEED}.tsv",
        checkpoint=f"results/pretrain/mouse/seed{DEPLOY_SEED}/checkpoint.pt",
        code=script_code("deploy_selected_model.py"),
    output:
        bundle="results/model/human/selected.joblib",
        metrics="results/model/human/selected.json",
        predictions="results/model/human/selected_predictions.tsv",
    log:
        "results/logs/deploy_selected_model/deploy_selected_model.log",
    benchmark:
        "results/benchmarks/deploy_selected_model/deploy_selected_model.tsv"
    conda:
        "../envs/torch.yaml"
    threads: config["bilstm"]["threads"]
    resources:
        mem_mb=3000,
        runtime=30,
    params:
        baseline=dag.baseline_settings(config, "human"),
        bilstm=dag.bilstm_settings(config),
        sources={name: source for name, _, source in dag.selection_candidates(config)},
        seed=DEPLOY_SEED,
        class_map=config["classes"]["cross_species"],
        source=config["source"],
        extraction=dag.extraction_settings(config) if is_nwb_source() else None,
    script:
        "../workflow_scripts/deploy_selected_model.py"
