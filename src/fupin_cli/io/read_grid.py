"""The raw cell grid a roster sheet is read into, before headers are found.

Every reader (xlsx, xls, csv, parquet) turns a sheet into a :class:`Grid`: all cells as
text (pandas ``str`` columns, blank → NaN), where the grid starts on the sheet, the merged
ranges, and a way to ask which cells of a column held *numbers* rather than text (the
``id.stored_as_number`` check needs the cell type, which the text rendering loses).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa

# (first_row, first_col, last_row, last_col), 0-based sheet coordinates, inclusive
Merge = tuple[int, int, int, int]
STR = pd.StringDtype("pyarrow", na_value=np.nan)


def no_numeric_cells(columns: Sequence[int]) -> dict[int, np.ndarray]:
    return {c: np.empty(0, dtype=np.int64) for c in columns}


@dataclass
class Grid:
    file: str  # file name, for messages
    sheet: str  # sheet name ("" for csv/parquet)
    cells: pd.DataFrame  # columns 0..w-1, all str dtype; row i is sheet row row_offset + i (0-based)
    row_offset: int = 0
    col_offset: int = 0
    merges: list[Merge] = field(default_factory=list)
    # absolute 0-based column indexes → absolute 0-based row indexes of cells stored as numbers
    numeric_cells: Callable[[Sequence[int]], dict[int, np.ndarray]] = no_numeric_cells
    # lean grids (Parquet, CSV): ``cells`` holds only the first rows (enough to find the header);
    # ``column_source(j)`` gives column j's values from grid row ``source_start`` on (Parquet:
    # typed as stored, read from the file when asked), and ``n_rows`` is the full height
    column_source: Callable[[int], pa.Array] | None = None
    n_rows: int | None = None
    source_start: int = 1  # the grid row of a column source's first value (CSV: 0, Parquet: 1)
    release_column: Callable[[int], None] = lambda j: None  # the builder is done with column j
    # .xlsx: formula cells whose cached value cannot be trusted (row, col, kind, value; io/guard.py)
    formulas: list[tuple[int, int, str, str]] = field(default_factory=list)

    @property
    def height(self) -> int:
        return self.n_rows if self.n_rows is not None else len(self.cells)

    @property
    def lean(self) -> bool:
        return self.column_source is not None

    @property
    def width(self) -> int:
        return self.cells.shape[1]

    def excel_row(self, i: int | np.ndarray) -> int | np.ndarray:
        """The row number Excel shows for grid row ``i``."""
        return i + self.row_offset + 1

    def letter(self, j: int) -> str:
        """The column letter Excel shows for grid column ``j``."""
        return column_letter(j + self.col_offset)

    def where(self, i: int, j: int | None = None) -> str:
        """A short location for messages: ``花名册.xlsx 工作表“户”第 5 行 C 列``."""
        sheet = f" 工作表“{self.sheet}”" if self.sheet else ""
        col = f" {self.letter(j)} 列" if j is not None else ""
        return f"{self.file}{sheet} 第 {self.excel_row(i)} 行{col}"


def column_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    out = ""
    n = index + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def column_index(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n - 1


def frame_from_arrow(columns: Sequence[pa.Array | pa.ChunkedArray]) -> pd.DataFrame:
    """A str-dtype frame with columns 0..n-1 from arrow string arrays (no copy of the text)."""
    data = {}
    for j, col in enumerate(columns):
        if not pa.types.is_large_string(col.type) and not pa.types.is_string(col.type):
            col = col.cast(pa.large_string())
        data[j] = pd.array(col, dtype=STR)
    return pd.DataFrame(data)


def frame_from_rows(rows: list[list[object]]) -> pd.DataFrame:
    """A str-dtype frame from Python rows of text (ragged rows padded with NaN)."""
    width = max((len(r) for r in rows), default=0)
    cols = [[(r[j] if j < len(r) else None) for r in rows] for j in range(width)]
    arrays = [pa.array([None if v is None or v == "" else str(v) for v in c], type=pa.large_string()) for c in cols]
    return frame_from_arrow(arrays)
