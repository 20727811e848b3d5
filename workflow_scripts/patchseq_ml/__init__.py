"""patchseq_ml: electrophysiology -> transcriptomic subclass, mouse -> human transfer.

Layers (each imports only the ones above it in this list):
- ``acquire``: NWB reading and writing, the Patch-seq cell simulator, archive access;
- ``ephys``: stimulus-code table, sweep QC, spike detection, sweep and cell features;
- ``learn``: tables, splits, baselines, models, training, evaluation;
- ``present``: plots and reports.
"""
