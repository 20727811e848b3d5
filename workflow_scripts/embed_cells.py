"""Rule embed_cells: both species through the deployed and the pretrained encoder -> a shared 2-D map and how well
mouse neighbours label human cells."""

import numpy as np
import pandas as pd

from patchseq_ml.learn.deployment import labelled_cells, scaler_from_dict
from patchseq_ml.learn.embedding import embed, leave_one_out_neighbours, neighbour_transfer, project_2d
from patchseq_ml.learn.sequence_sources import open_source
from patchseq_ml.learn.training import load_checkpoint, pick_device, seed_everything
from patchseq_ml.logging_utils import rule_log, setup_logging
from patchseq_ml.tsv import read_tsv


def _cells(path, class_map=None):
    cells = labelled_cells(read_tsv(path))
    if class_map:
        cells["subclass"] = cells.subclass.map(lambda s: class_map.get(s, s))
    return cells


def main(snakemake) -> None:
    log = setup_logging(rule_log(snakemake))
    seed_everything(0, snakemake.threads)  # no randomness here; this fixes torch's thread count
    p, device = snakemake.params, pick_device()
    deployed, meta = load_checkpoint(snakemake.input.deployed)
    pretrained, _ = load_checkpoint(snakemake.input.pretrained)
    kind, layout = meta["layout"]["kind"], meta["layout"]
    cells = {"mouse": _cells(snakemake.input.mouse_splits, p.class_map), "human": _cells(snakemake.input.human_splits)}
    scalers = {"mouse": meta["mouse_scaler"], "human": meta["scaler"]}
    encoded = {}
    for species in ("mouse", "human"):
        source = open_source(getattr(snakemake.input, species), p.input_kind, layout=layout)
        encoded[species] = source.encode(cells[species].cell_id.tolist(), scaler_from_dict(kind, scalers[species]))
    maps, scores = [], []
    for name, model in (("deployed", deployed), ("pretrained mouse", pretrained)):
        emb = {s: embed(model, *encoded[s], device) for s in encoded}
        xy = project_2d(np.concatenate([emb["mouse"], emb["human"]]))
        frame = pd.concat([cells["mouse"].assign(species="mouse"), cells["human"].assign(species="human")])
        maps.append(frame.assign(encoder=name, pc1=xy[:, 0], pc2=xy[:, 1]))
        labels = {s: cells[s].subclass.to_numpy() for s in cells}
        mouse_to_human = neighbour_transfer(emb["mouse"], labels["mouse"], emb["human"], labels["human"], p.neighbours)
        within = leave_one_out_neighbours(emb["human"], labels["human"], p.neighbours)
        scores.append({"encoder": name, "test": "mouse neighbours -> human", **mouse_to_human})
        scores.append({"encoder": name, "test": "human neighbours -> human (leave one out)", **within})
        log.info(
            "%s encoder: mouse->human neighbour macro-F1 %.3f (human LOO %.3f)",
            name,
            mouse_to_human["macro_f1"],
            within["macro_f1"],
        )
    pd.concat(maps).to_csv(snakemake.output.embedding, sep="\t", index=False)
    pd.DataFrame(scores).to_csv(snakemake.output.alignment, sep="\t", index=False)


if __name__ == "__main__":
    main(snakemake)  # noqa: F821 (injected by Snakemake)
