"""Rule predict_unlabelled: a subclass for every extracted cell without a usable label (no label, or one outside the
classes), which no model trained or tested on -> results/model/unlabelled_predictions.tsv.

Human cells: the model that selection chose (results/model/human/selected.joblib, what `predict` uses), on the
scalar features, the sequences or both as its members need. Mouse cells: the deployed BiLSTM's mouse head (mouse
classes; selection is for human cells). Column ``model`` names the answering model; ``families_used`` says on how
many of the cell's families a BiLSTM would rest (masked families are absent, as in training).
"""

import pandas as pd

from patchseq_ml.learn.deployment import predict_encoded, probability_frame, scaler_from_dict, unlabelled_ids
from patchseq_ml.learn.selected_model import bundle_probabilities, load_bundle
from patchseq_ml.learn.sequence_sources import open_source
from patchseq_ml.learn.training import load_checkpoint, pick_device, seed_everything
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv

COLUMNS = ["species", "cell_id", "exclusion", "model", "predicted", "probability", "families_used", "families"]


def _known(source, ids: list[str]) -> list[str]:
    index = getattr(source, "index", None)
    known = set(index) if index is not None else set(source.table.index.astype(str))
    return [c for c in ids if c in known]


def _selected(bundle: dict, features: pd.DataFrame, ids: list[str], source, device) -> pd.DataFrame:
    """The selected model's probabilities of the human cells ``ids``."""
    proba = bundle_probabilities(bundle, features.loc[ids], source, device)
    return probability_frame(proba, bundle["classes"]).assign(model=bundle["model"])


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    seed_everything(0, snakemake.threads)
    model, meta = load_checkpoint(snakemake.input.deployed)
    bundle = load_bundle(snakemake.input.selected)
    device = pick_device()
    model.to(device)
    kind, layout = meta["layout"]["kind"], meta["layout"]
    frames = []
    for species in ("mouse", "human"):
        features = read_tsv(getattr(snakemake.input, f"{species}_features"))
        source = open_source(getattr(snakemake.input, species), snakemake.params.input_kind, layout=layout)
        ids = _known(source, unlabelled_ids(features))
        if not ids or (species == "mouse" and "mouse" not in model.config.heads):
            why = "no unlabelled extracted cells" if not ids else "the deployed BiLSTM has no mouse head"
            log.info("%s: %d unlabelled cells, none predicted (%s)", species, len(ids), why)
            continue
        indexed = features.set_index(features.cell_id.astype(str))
        x, mask = source.encode(ids, scaler_from_dict(kind, meta["mouse_scaler" if species == "mouse" else "scaler"]))
        if species == "human":
            frame = _selected(bundle, indexed, ids, source, device)
        else:
            frame = predict_encoded(model, x, mask, "mouse", meta["mouse_classes"], device)
            frame = frame.assign(model=f"{snakemake.params.deployed_strategy} BiLSTM, mouse head")
        frame.insert(0, "families", mask.shape[1])
        frame.insert(0, "families_used", mask.sum(axis=1))
        frame.insert(0, "exclusion", indexed.loc[ids, "exclusion"].to_numpy())
        frame.insert(0, "cell_id", ids)
        frame.insert(0, "species", species)
        frames.append(frame[COLUMNS + [c for c in frame.columns if c.startswith("p_")]])
        log.info("%s: %d unlabelled cells predicted: %s", species, len(ids), frame.predicted.value_counts().to_dict())
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=COLUMNS)
    table.to_csv(snakemake.output.predictions, sep="\t", index=False, float_format="%.4f")


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
