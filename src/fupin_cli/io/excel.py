"""Header detection, two-row headers and merged ranges on a :class:`Grid`.

The header is the row among the first :data:`HEADER_SEARCH_ROWS` whose cells name the most
distinct schema fields (:func:`fupin_cli.schema.field_for_header`), after each merged range
is filled with its top-left text.  Two-row headers are recognised when a merged range joins
the header row to the row above or below it (a group such as 收入情况 merged across its leaf
columns, or 户编号 merged down over both rows), or, without merges (CSV), when reading the
two rows together names more fields than either row alone.  A column's name is then its
leaf (lower) text; the group text is tried first as a prefix (户主 + 姓名 → 户主姓名), and is
used alone where the lower cell is blank.  A row of column numbers (1, 2, 3 …) directly
under the header is skipped.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.headers import Match, match_header
from fupin_cli.io.read_grid import Grid
from fupin_cli.schema import FIELDS

Matcher = Callable[[str], "Match | None"]  # header text → field match (a column map puts itself in front)

HEADER_SEARCH_ROWS = 15
MIN_HEADER_FIELDS = 2
EXPECTED_HEADERS = "户编号、户主姓名、姓名、证件号码、与户主关系、家庭人口数"
_NUMBER_CELL = re.compile(r"^[(（]?\d{1,3}[)）]?$")


@dataclass
class Column:
    index: int  # grid column
    letter: str  # Excel column letter
    header: str  # header text as written (leaf text for two-row headers)
    field: str | None  # canonical field, None = passthrough
    group: str = ""  # upper text of a two-row header, if any
    match: Match | None = None  # how the header was matched: polarity, unit scale, method


@dataclass
class Header:
    rows: list[int]  # grid rows of the header (one or two)
    data_start: int  # first grid row after the header (and the column-number row)
    columns: list[Column]
    number_row: int | None = None
    fields: dict[str, Column] = field(default_factory=dict)
    title: str = ""  # text of the title rows above the header (distinct cells joined by " ")

    def excel_rows(self, grid: Grid) -> list[int]:
        return [int(grid.excel_row(r)) for r in self.rows]


def _text(v) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return ""
    return str(v).strip()


def _top(grid: Grid, n: int) -> tuple[list[list[str]], dict[tuple[int, int], tuple[int, int, int, int]]]:
    """The first ``n`` grid rows as text with merged ranges filled, and cell → merge (grid coords)."""
    top = [[_text(v) for v in row] for row in grid.cells.iloc[:n].itertuples(index=False, name=None)]
    owner: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for r0, c0, r1, c1 in grid.merges:
        r0, r1, c0, c1 = r0 - grid.row_offset, r1 - grid.row_offset, c0 - grid.col_offset, c1 - grid.col_offset
        if r0 >= n or r0 < 0 or c0 < 0:
            continue
        value = top[r0][c0] if c0 < grid.width else ""
        for r in range(r0, min(r1, n - 1) + 1):
            for c in range(c0, min(c1, grid.width - 1) + 1):
                owner[(r, c)] = (r0, c0, r1, c1)
                if not top[r][c]:
                    top[r][c] = value
    return top, owner


def _fields(row: list[str], matcher: Matcher) -> set[str]:
    return {m.field for m in (matcher(t) for t in row if t) if m}


def _pair_names(upper: list[str], lower: list[str], owner, u: int, matcher: Matcher) -> list[tuple[str, str, Match | None]]:
    """(header text, group text, match) for each column of a two-row header."""
    out = []
    for j, (up, lo) in enumerate(zip(upper, lower)):
        same_cell = owner.get((u, j)) is not None and owner.get((u, j)) == owner.get((u + 1, j))
        if lo and not same_cell and lo != up:
            f = matcher(up + lo) if up else None
            out.append((up + lo, "", f) if f else (lo, up, matcher(lo)))
        else:
            out.append((up or lo, "", matcher(up or lo)))
    return out


def _joined_by_merge(owner, u: int, upper: list[str], lower: list[str]) -> bool:
    for (r, c), (r0, c0, r1, c1) in owner.items():
        if r0 != u:
            continue
        if r1 >= u + 1 and r == u + 1:
            return True  # a header cell merged down over both rows
        if r1 == u and c1 > c0 and any(lower[k] for k in range(c0, min(c1, len(lower) - 1) + 1)):
            return True  # a group merged across leaf cells
    return False


def find_header(grid: Grid, matcher: Matcher | None = None) -> Header:
    matcher = matcher or match_header
    n = min(HEADER_SEARCH_ROWS, grid.height)
    top, owner = _top(grid, n)
    scores = [len(_fields(row, matcher)) for row in top]
    best = int(np.argmax(scores)) if scores else 0
    if not scores or scores[best] < MIN_HEADER_FIELDS:
        where = f"{grid.file}" + (f" 工作表“{grid.sheet}”" if grid.sheet else "")
        first, last = int(grid.excel_row(0)), int(grid.excel_row(max(n - 1, 0)))
        raise InputError(
            f"{where}: 第 {first}–{last} 行中没有找到表头 (no recognisable header)",
            f"表头应包含 {EXPECTED_HEADERS} 等列名; 用 --sheet 选择花名册所在的工作表",
        )
    rows, names = [best], [(t, "", matcher(t)) for t in top[best]]
    best_pair = None
    for u in (best - 1, best):
        if u < 0 or u + 1 >= n:
            continue
        pair = _pair_names(top[u], top[u + 1], owner, u, matcher)
        score = len({m.field for _, _, m in pair if m})
        joined = _joined_by_merge(owner, u, top[u], top[u + 1])
        # a merge joins the rows, and the upper row names a field itself (not a title row)
        if ((joined and score >= scores[best] and scores[u] >= 1) or score > scores[best]) and (
                best_pair is None or score > best_pair[0]):
            best_pair = (score, u, pair)
    if best_pair is not None:
        _, u, names = best_pair
        rows = [u, u + 1]
    data_start = rows[-1] + 1
    number_row = None
    if data_start < grid.height and _is_number_row(grid, data_start):
        number_row, data_start = data_start, data_start + 1
    columns = _columns(grid, names, rows)
    header = Header(rows, data_start, columns, number_row)
    header.fields = {c.field: c for c in columns if c.field}
    header.title = " ".join(dict.fromkeys(t for row in top[: rows[0]] for t in row if t))
    return header


def _is_number_row(grid: Grid, r: int) -> bool:
    values = [_text(v) for v in grid.cells.iloc[r].tolist()]
    filled = [v for v in values if v]
    if len(filled) < 3 or not all(_NUMBER_CELL.match(v) for v in filled):
        return False
    nums = [int(re.sub(r"\D", "", v)) for v in filled]
    return all(b > a for a, b in itertools.pairwise(nums))


def _columns(grid: Grid, names: list[tuple[str, str, Match | None]], rows: list[int]) -> list[Column]:
    cols: list[Column] = []
    seen: dict[str, Column] = {}
    for j, (text, group, m) in enumerate(names):
        if not text and not _has_data(grid, j, rows[-1] + 1):
            continue
        f = m.field if m else None
        col = Column(j, grid.letter(j), text or f"列{grid.letter(j)}", f, group, m)
        if f and f in seen:
            other = seen[f]
            where = f"{grid.file}" + (f" 工作表“{grid.sheet}”" if grid.sheet else "")
            hrows = "–".join(str(int(grid.excel_row(r))) for r in rows)
            raise InputError(
                f"{where} 第 {hrows} 行: 表头重复 (duplicated header): {other.letter} 列“{other.header}”和 "
                f"{col.letter} 列“{col.header}”都是{FIELDS[f].zh}",
                "删除其中一列或改为不同的列名",
            )
        if f:
            seen[f] = col
        cols.append(col)
    # passthrough names must be unique
    taken: set[str] = set()
    for c in cols:
        if c.field:
            continue
        name = c.header
        if name in taken and c.group:
            name = f"{c.group}/{c.header}"
        if name in taken:
            name = f"{name}({c.letter})"
        c.header = name
        taken.add(name)
    return cols


def _has_data(grid: Grid, j: int, start: int) -> bool:
    """Whether grid column ``j`` has a value below grid row ``start`` (a lean grid reads the column)."""
    if grid.lean and start >= grid.source_start:
        from fupin_cli.io.read_text import typed_as_text

        text = typed_as_text(grid.column_source(j).slice(start - grid.source_start))  # type: ignore[misc]
        return text.null_count < len(text)
    return bool(grid.cells.iloc[start:, j].notna().any()) if grid.height else False


def fill_merges(grid: Grid, start: int) -> tuple[pd.DataFrame, set[int]]:
    """Body rows from ``start`` with each vertical merge filled down from its top-left cell.

    Only cells inside a merged range are filled, and only in the range's first column; a
    merge that starts in the header is ignored.  Returns (body, grid columns that had merges).
    """
    body = grid.cells.iloc[start:].reset_index(drop=True)
    sources = merge_sources(grid, start, len(body))
    for c, src in sources.items():
        body[c] = body[c].take(src).reset_index(drop=True)
    return body, set(sources)


def merge_sources(grid: Grid, start: int, n: int) -> dict[int, np.ndarray]:
    """Per grid column with vertical merges: body row → the body row its value comes from.

    ``n`` body rows start at grid row ``start``; ``column.take(src)`` fills the merges.
    """
    by_col: dict[int, list[tuple[int, int]]] = {}
    out: dict[int, np.ndarray] = {}
    for r0, c0, r1, _c1 in grid.merges:
        r0, r1, c = r0 - grid.row_offset - start, r1 - grid.row_offset - start, c0 - grid.col_offset
        if r0 < 0 or r1 <= r0 or r0 >= n or not 0 <= c < grid.width:
            continue
        by_col.setdefault(c, []).append((r0, min(r1, n - 1)))
    for c, spans in by_col.items():
        arr = np.array(spans, dtype=np.int64)
        lens = arr[:, 1] - arr[:, 0]
        total = int(lens.sum())
        if not total:
            continue
        offsets = np.repeat(np.cumsum(lens) - lens, lens)
        targets = np.repeat(arr[:, 0] + 1, lens) + (np.arange(total) - offsets)
        src = np.arange(n)
        src[targets] = np.repeat(arr[:, 0], lens)
        out[c] = src
    return out
