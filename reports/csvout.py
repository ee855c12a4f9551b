"""CSV that is safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pandas as pd

# A cell starting with one of these is a formula to a spreadsheet (CWE-1236).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralize(value):
    """Prefix a text cell that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def frame_to_csv(frame: pd.DataFrame) -> str:
    """The frame as CSV text, every text cell neutralized."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([neutralize(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False):
        writer.writerow(["" if v is None or (isinstance(v, float) and v != v) else neutralize(v) for v in row])
    return buffer.getvalue()
