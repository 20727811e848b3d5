"""The one reader of the workflow's tab-separated tables: ids and labels stay text (cell ``0012`` is not ``12``)."""

from __future__ import annotations

import pandas as pd

TEXT_COLUMNS = ("cell_id", "subclass", "exclusion")


def read_tsv(path, **kwargs) -> pd.DataFrame:
    """A TSV table with ``TEXT_COLUMNS`` (those it has) read as strings; ``kwargs`` go to ``pandas.read_csv``."""
    return pd.read_csv(path, sep="\t", dtype=dict.fromkeys(TEXT_COLUMNS, str), **kwargs)
