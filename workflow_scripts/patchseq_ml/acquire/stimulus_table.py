"""The project-owned table that maps Allen stimulus codes to stimulus types (``config/stimulus_codes.tsv``)."""

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
    def from_tsv(cls, path: str | Path) -> StimulusTable:
        """Load the table; '#' lines are comments. Unknown types are refused, naming the file and line."""
        rows = []
        with open(path, newline="") as handle:
            lines = [line for line in handle if not line.startswith("#")]
        for lineno, record in enumerate(csv.DictReader(lines, delimiter="\t"), start=2):
            kind = record["stimulus_type"].strip()
            if kind not in STIMULUS_TYPES:
                raise ValueError(f"{path}: row {lineno}: unknown stimulus_type {kind!r} (allowed: {STIMULUS_TYPES})")
            rows.append((re.compile(f"(?:{record['pattern'].strip()})"), kind))
        return cls(tuple(rows))

    def classify(self, code: str) -> str:
        """Stimulus type of a code (with or without its _DA_n suffix); 'unknown' when nothing matches."""
        code = strip_code(code)
        for pattern, kind in self.rows:
            if pattern.match(code):
                return kind
        return "unknown"
