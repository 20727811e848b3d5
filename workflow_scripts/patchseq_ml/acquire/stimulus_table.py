"""The table that maps stimulus codes to stimulus types: the project-owned ``config/stimulus_codes.tsv`` (Allen/MIES
codes), optionally preceded by a user's own map for protocols with other names (``features.stimulus_map``).

A user map is a TSV with the same columns (``pattern``, ``stimulus_type``, optional ``note``; '#' lines are
comments). Its rows are consulted before the default table's, so a user row wins over a default row matching the
same code. ``pattern`` is a regular expression matched against the start of the code (``re.match``; end it with
``$`` to match a whole name); the code is the series' ``stimulus_description`` without its ``_DA_<n>`` suffix, or,
for files that state none, the protocol or series name the reader falls back to (see ``nwb_reader``).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

STIMULUS_TYPES = ("long_square", "short_square", "ramp", "search", "test", "other", "unknown")
_SUFFIX = re.compile(r"_DA_\d+$")


def strip_code(stimulus_description: str) -> str:
    """'X4PS_SupraThresh_DA_0' -> 'X4PS_SupraThresh'."""
    return _SUFFIX.sub("", stimulus_description.strip())


@dataclass(frozen=True)
class StimulusTable:
    """Ordered (pattern, type) rows; the first pattern that matches the start of a code wins."""

    rows: tuple[tuple[re.Pattern[str], str], ...]

    @classmethod
    def from_tsv(cls, path: str | Path, extra: str | Path | None = None) -> StimulusTable:
        """Load the table at ``path``, preceded by the rows of the user map ``extra`` when given (its rows win).

        '#' lines are comments. A missing file, a missing column, an unknown type or an invalid pattern is refused,
        naming the file (and the row)."""
        rows = _read_rows(extra) if extra is not None else []
        return cls(tuple(rows + _read_rows(path)))

    def classify(self, code: str) -> str:
        """Stimulus type of a code (with or without its _DA_n suffix); 'unknown' when nothing matches."""
        code = strip_code(code)
        for pattern, kind in self.rows:
            if pattern.match(code):
                return kind
        return "unknown"


def _read_rows(path: str | Path) -> list[tuple[re.Pattern[str], str]]:
    """The (pattern, type) rows of one TSV table, in file order."""
    try:
        with open(path, newline="") as handle:
            lines = [line for line in handle if not line.startswith("#")]
    except OSError as error:
        raise ValueError(f"{path}: cannot read the stimulus table ({error.strerror or error})") from None
    reader = csv.DictReader(lines, delimiter="\t")
    missing = [c for c in ("pattern", "stimulus_type") if c not in (reader.fieldnames or [])]
    if missing:
        raise ValueError(f"{path}: missing column(s) {missing} (a stimulus table has pattern, stimulus_type, note)")
    rows = []
    for lineno, record in enumerate(reader, start=2):
        kind = (record["stimulus_type"] or "").strip()
        if kind not in STIMULUS_TYPES:
            raise ValueError(f"{path}: row {lineno}: unknown stimulus_type {kind!r} (allowed: {STIMULUS_TYPES})")
        pattern = (record["pattern"] or "").strip()
        if not pattern:
            raise ValueError(f"{path}: row {lineno}: empty pattern (it would match every code)")
        try:
            rows.append((re.compile(f"(?:{pattern})"), kind))
        except re.error as error:
            raise ValueError(f"{path}: row {lineno}: invalid pattern {pattern!r} ({error})") from None
    return rows
