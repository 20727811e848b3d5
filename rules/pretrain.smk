# Pretraining: the attention BiLSTM on mouse cells, one model per split seed (fold 0 of the seed's splits).


rule pretrain:
    input:
        sequences=dag.sequence_file(config, "mouse"),
        splits="results/splits/mouse/seed{seed}.tsv",
        code=script_code("pretrain.py"),
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
        settings=dag.bilstm_settings(config, "pretrain"),
        features=dag.extraction_settings(config),  # stored in the checkpoint: `predict` extracts with them
    script:
        "../workflow_scripts/pretrain.py"
