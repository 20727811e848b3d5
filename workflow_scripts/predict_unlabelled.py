"""Rule predict_unlabelled: the deployed model's subclass for every extracted cell without a usable label (no label,
or one outside the classes), which no model trained or tested on -> results/model/unlabelled_predictions.tsv.

Human cells through the human head, mouse cells through the model's mouse head (mouse classes), each with the
standardisation stored in the checkpoint. Families a cell lacks are masked, as in training; ``families_used`` says
how many the prediction rests on.
"""

import pandas as pd

from patchseq_ml.learn.deployment import predict_encoded, scaler_from_dict, unlabelled_ids
from patchseq_ml.learn.sequence_sources import open_source
from patchseq_ml.learn.training import load_checkpoint, pick_device, seed_everything
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv

COLUMNS = ["species", "cell_id", "exclusion", "predicted", "probability", "families_used", "families"]


def _known(source, ids: list[str]) -> list[str]:
    index = getattr(source, "index", None)
    known = set(index) if index is not None else set(source.table.index.astype(str))
    return [c for c in ids if c in known]


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    seed_everything(0, snakemake.threads)
    model, meta = load_checkpoint(snakemake.input.deployed)
    device = pick_device()
    model.to(device)
    kind, layout = meta["layout"]["kind"], meta["layout"]
    heads = {"human": (meta["scaler"], meta["classes"]), "mouse": (meta["mouse_scaler"], meta["mouse_classes"])}
    frames = []
    for species in ("mouse", "human"):
        features = read_tsv(getattr(snakemake.input, f"{species}_features"))
        source = open_source(getattr(snakemake.input, species), snakemake.params.input_kind, layout=layout)
        ids = _known(source, unlabelled_ids(features))
        if not ids or species not in model.config.heads:
            why = "no unlabelled extracted cells" if not ids else f"the model has no {species} head"
            log.info("%s: %d unlabelled cells, none predicted (%s)", species, len(ids), why)
            continue
        scaler, classes = heads[species]
        x, mask = source.encode(ids, scaler_from_dict(kind, scaler))
        frame = predict_encoded(model, x, mask, species, classes, device)
        exclusion = features.set_index(features.cell_id.astype(str)).loc[ids, "exclusion"].to_numpy()
        frame.insert(0, "families", mask.shape[1])
        frame.insert(0, "families_used", mask.sum(axis=1))
        frame.insert(0, "exclusion", exclusion)
        frame.insert(0, "cell_id", ids)
        frame.insert(0, "species", species)
        frames.append(frame)
        log.info("%s: %d unlabelled cells predicted: %s", species, len(ids), frame.predicted.value_counts().to_dict())
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    table.to_csv(snakemake.output.predictions, sep="\t", index=False, float_format="%.4f")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
