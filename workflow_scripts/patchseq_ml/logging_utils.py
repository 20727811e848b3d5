"""Logging for rule scripts: one call sends records to the rule's log file and stderr, uncaught errors included."""

from __future__ import annotations

import logging
import sys
from pathlib import Path


def setup_logging(log_path: str | Path | None, name: str = "patchseq_ml") -> logging.Logger:
    """Log INFO and above to ``log_path`` (when given) and stderr; uncaught exceptions are logged before exit."""
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_path, mode="w"))
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s", handlers=handlers, force=True
    )
    logger = logging.getLogger(name)

    def _log_uncaught(kind, value, traceback):
        logger.error("%s: %s", kind.__name__, value, exc_info=(kind, value, traceback))

    sys.excepthook = _log_uncaught
    return logger


def rule_log(snakemake) -> str | None:  # noqa: ANN001 (the object Snakemake injects into scripts)
    """The first ``log:`` file of a rule, if any."""
    return str(snakemake.log[0]) if len(snakemake.log) else None
