"""From a sheet's header and body to typed rows, then to households and members.

A :class:`Table` is one sheet's data rows, typed, with blank and totals rows dropped.
:func:`assemble` turns one table (household or member layout) or two tables (household
sheet + member sheet) into the Roster's two frames.

Grouping member rows into households (documented in ``docs/reading.md``):

1. cells inside a merged range are filled from the range's top-left cell (never a blind
   forward fill);
2. a member row whose 户编号 is still blank belongs to the household of the nearest row
   above it that has a 户编号, as long as no blank or totals row lies between them (the
   block started by the head's row); rows that fit no block keep a blank 户编号 and get an
   ``error`` note ``read.no_household``;
3. a household's fields are the first non-blank value over its rows (so values written
   only on the head's row apply to the whole household); a later row of the same household
   with a different value gets a ``warning`` note ``read.household_conflict``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_cli.io.excel import Header, fill_merges
from fupin_cli.io.read_grid import STR, Grid
from fupin_cli.io.read_values import ID_FIELDS, Where, fold, mask_id, normalise_column, notes_for
from fupin_cli.schema import (
    FIELDS,
    HOUSEHOLD_FIELD_NAMES,
    MEMBER_FIELD_NAMES,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    SOURCE_SHEET,
    TOTAL_ROW_WORDS,
)

IDENTIFYING_FIELDS = (
    "seq", "household_id", "member_id", "name", "head_name", "id_number", "head_id_number",
    "province", "city", "county", "township", "village", "natural_village",
)
PERSON_FIELDS = ("household_id", "member_id", "name", "head_name", "id_number", "head_id_number")
# member fields that only a one-row-per-person sheet has (name / ID may be the head's on a household sheet)
MEMBER_ONLY_FIELDS = frozenset(MEMBER_FIELD_NAMES) - {"seq", "name", "id_number", "sex", "birth_date", "ethnicity", "politics"}
_TOTAL_SPACED = "|".join(r"\s*".join(w) for w in TOTAL_ROW_WORDS)  # 合计, 合 计 …
_NUMERIC_SEQ = re.compile(r"^\d+(\.0+)?$")


@dataclass
class Table:
    grid: Grid
    header: Header
    frame: pd.DataFrame  # typed canonical columns + passthrough (header text) + provenance
    fields: list[str]  # canonical columns present
    passthrough: list[str]
    merged_fields: set[str]
    gap_before: np.ndarray  # a dropped row lies between this row and the previous kept row
    notes: list[pd.DataFrame] = field(default_factory=list)

    @property
    def is_member_level(self) -> bool:
        if MEMBER_ONLY_FIELDS & set(self.fields):
            return True
        # no member-only column: one row per person only if 姓名/证件号码 are there and
        # 户编号 repeats on a good share of rows (one duplicated 户编号 is a data error, not a layout)
        hid = self.frame.get("household_id")
        if hid is None or not {"name", "id_number"} & set(self.fields):
            return False
        hid = hid.dropna()
        return len(hid) > 0 and hid.duplicated().sum() >= max(1, 0.1 * len(hid))


def header_is_member_level(header: Header) -> bool:
    return bool(MEMBER_ONLY_FIELDS & set(header.fields))


def build_table(grid: Grid, header: Header) -> Table:
    body, merged_cols = fill_merges(grid, header.data_start)
    n = len(body)
    rows = np.asarray(grid.excel_row(np.arange(header.data_start, header.data_start + n)), dtype=np.int64)
    typed_cols = _typed_columns(grid, header, n)
    folded = {c.index: fold(body[c.index]) if c.index not in typed_cols else None for c in header.columns}
    _text_for_typed_rest(grid, header, typed_cols, folded)
    del body
    grid.cells = grid.cells.iloc[:0]  # the raw text is no longer needed: free it before typing
    notes: list[pd.DataFrame] = []
    nonblank = np.zeros(n, dtype=bool)
    for j, s in folded.items():
        nonblank |= (typed_cols[j] if s is None else s).notna().to_numpy()
    total = _totals_rows(grid, header, folded, n)
    repeated = _repeated_header_rows(header, folded, n) & ~total
    keep = nonblank & ~total & ~repeated
    where_row = Where(grid.file, grid.sheet, "", "", rows)
    prefix = f"工作表“{grid.sheet}”" if grid.sheet else grid.file
    if (~nonblank).any():
        notes.append(notes_for(~nonblank, pd.Series([""] * n), where_row, "info", "read.blank_row",
                               lambda cell, v: f"{prefix}第 {cell.split('!')[-1]} 行是空行, 已跳过", ""))
    if total.any():
        notes.append(notes_for(total, pd.Series([""] * n), where_row, "info", "read.total_row",
                               lambda cell, v: f"{prefix}第 {cell.split('!')[-1]} 行是合计/小计行, 已跳过", ""))
    if repeated.any():
        notes.append(notes_for(repeated, pd.Series([""] * n), where_row, "info", "read.repeated_header",
                               lambda cell, v: f"{prefix}第 {cell.split('!')[-1]} 行是重复的表头 (分页打印时常见), 已跳过", ""))
    kept_idx = np.flatnonzero(keep)
    kept_rows = rows[kept_idx]
    gap_before = np.r_[False, np.diff(kept_idx) > 1] if len(kept_idx) else np.zeros(0, dtype=bool)
    if len(kept_idx) and kept_idx[0] > 0:
        gap_before[0] = True

    id_cols = [c.index + grid.col_offset for c in header.columns if c.field in ID_FIELDS]
    numeric = grid.numeric_cells(id_cols) if id_cols else {}
    hid_col = header.fields.get("household_id")
    hids = folded[hid_col.index].iloc[kept_idx].reset_index(drop=True) if hid_col else None
    data: dict[str, object] = {}
    fields, passthrough = [], []
    for c in header.columns:
        if folded[c.index] is None:  # typed Parquet column, kind fits
            data[c.field] = typed_cols[c.index].iloc[kept_idx].reset_index(drop=True)
            fields.append(c.field)
            continue
        s = folded[c.index].iloc[kept_idx].reset_index(drop=True)
        if c.field is None:
            data[c.header] = s
            passthrough.append(c.header)
            continue
        num_rows = None
        if c.field in ID_FIELDS:
            abs_rows = numeric.get(c.index + grid.col_offset, np.empty(0, dtype=np.int64))
            flags = np.zeros(n, dtype=bool)
            rel = abs_rows - grid.row_offset - header.data_start
            flags[rel[(rel >= 0) & (rel < n)]] = True
            num_rows = flags[kept_idx]
        where = Where(grid.file, grid.sheet, c.letter, c.header, kept_rows, hids)
        typed, col_notes = normalise_column(s, FIELDS[c.field], where, num_rows)
        data[c.field] = typed
        fields.append(c.field)
        notes.extend(col_notes)
    frame = pd.DataFrame(data)
    frame[SOURCE_FILE] = pd.array([grid.file] * len(frame), dtype=STR)
    frame[SOURCE_SHEET] = pd.array([grid.sheet] * len(frame), dtype=STR)
    frame[SOURCE_ROW] = pd.array(kept_rows, dtype="Int64")
    merged_fields = {c.field or c.header for c in header.columns if c.index in merged_cols}
    return Table(grid, header, frame, fields, passthrough, merged_fields, gap_before, notes)


def _typed_columns(grid: Grid, header: Header, n: int) -> dict[int, pd.Series]:
    """Typed Parquet columns whose field kind they fit (only when data starts right under the names)."""
    if not grid.typed or header.data_start != 1:
        return {}
    from fupin_cli.io.read_text import typed_values

    out = {}
    for c in header.columns:
        arr = grid.typed.get(c.index)
        if arr is None or c.field is None:
            continue
        values = typed_values(arr, FIELDS[c.field].kind)
        if values is not None and len(values) == n:
            out[c.index] = values
    return out


def _text_for_typed_rest(grid: Grid, header: Header, typed: dict, folded: dict) -> None:
    """Typed Parquet columns that did not fit their field (or are passthrough) go the text way."""
    if not grid.typed:
        return
    from fupin_cli.io.read_text import typed_as_text

    for c in header.columns:
        arr = grid.typed.get(c.index)
        if arr is not None and c.index not in typed:
            text = typed_as_text(arr)
            if header.data_start != 1:
                raise AssertionError("typed Parquet columns need the header on row 1")
            folded[c.index] = fold(pd.Series(pd.array(text, dtype=STR)))


def _repeated_header_rows(header: Header, folded: dict[int, pd.Series], n: int) -> np.ndarray:
    """Rows that repeat the header text in at least half (and two) of the named columns."""
    named = [c for c in header.columns if c.field]
    hits = np.zeros(n, dtype=np.int16)
    for c in named:
        text = fold(pd.Series([c.header], dtype=STR)).iloc[0]
        if isinstance(text, str) and folded[c.index] is not None:
            hits += (folded[c.index] == text).fillna(False).to_numpy(dtype=bool)
    return hits >= max(2, (len(named) + 1) // 2)


def _totals_rows(grid: Grid, header: Header, folded: dict[int, pd.Series], n: int) -> np.ndarray:
    idents = [c.index for c in header.columns if c.field in IDENTIFYING_FIELDS]
    if header.columns and header.columns[0].index not in idents:
        idents.append(header.columns[0].index)
    total = np.zeros(n, dtype=bool)
    for j in idents:
        if folded[j] is None:
            continue
        hit = pc.match_substring_regex(pa.array(folded[j].array), _TOTAL_SPACED)
        total |= np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
    seq = header.fields.get("seq")
    if seq is not None:
        s = folded[seq.index]
        if s is None:
            return total
        not_numeric = s.notna().to_numpy() & ~s.str.match(_NUMERIC_SEQ.pattern).fillna(False).to_numpy(dtype=bool)
        nobody = np.ones(n, dtype=bool)
        for f in PERSON_FIELDS:
            if f in header.fields and folded[header.fields[f].index] is not None:
                nobody &= folded[header.fields[f].index].isna().to_numpy()
        total |= not_numeric & nobody
    return total


# ---------------------------------------------------------------------------------------
# households and members
# ---------------------------------------------------------------------------------------


def _empty(columns: list[str]) -> pd.DataFrame:
    out = {}
    for name in columns:
        f = FIELDS.get(name)
        out[name] = pd.Series(dtype=_dtype(f.kind) if f else STR)
    return pd.DataFrame(out)


def _dtype(kind: str):
    return {"int": "Int64", "float": "Float64", "money": "Float64", "bool": "boolean", "date": "datetime64[ns]"}.get(kind, STR)


def empty_members() -> pd.DataFrame:
    df = _empty(["household_id", *MEMBER_FIELD_NAMES])
    df[SOURCE_ROW] = pd.Series(dtype="Int64")
    df[SOURCE_FILE] = pd.Series(dtype=STR)
    df[SOURCE_SHEET] = pd.Series(dtype=STR)
    return df[["household_id", *MEMBER_FIELD_NAMES, *PROVENANCE_COLUMNS]]


def households_from_rows(table: Table) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """A household-per-row table: each kept row is a household."""
    frame = table.frame
    notes = []
    renamed = {}
    cols = set(frame.columns)
    if "name" in cols and "head_name" not in cols:
        renamed["name"] = "head_name"
    if "id_number" in cols and "head_id_number" not in cols:
        renamed["id_number"] = "head_id_number"
    if renamed:
        frame = frame.rename(columns=renamed)
        desc = "、".join(f"“{table.header.fields[a].header}”作为{FIELDS[b].zh}" for a, b in renamed.items())
        notes.append(_info(table, "read.head_columns", f"每行一户: {desc}"))
    keep = [c for c in frame.columns if c in HOUSEHOLD_FIELD_NAMES or c in table.passthrough or c in PROVENANCE_COLUMNS]
    dropped = [c for c in frame.columns if c not in keep]
    if dropped:
        names = "、".join(table.header.fields[c].header for c in dropped if c in table.header.fields)
        notes.append(_info(table, "read.member_columns_ignored", f"每行一户的表中成员列未读取: {names}"))
    return frame[_order(keep, table.passthrough)].reset_index(drop=True), notes


def _order(cols: list[str], passthrough: list[str]) -> list[str]:
    canon = [c for c in HOUSEHOLD_FIELD_NAMES if c in cols]
    return canon + [c for c in passthrough if c in cols] + [c for c in PROVENANCE_COLUMNS if c in cols]


def _info(table: Table, check: str, message: str) -> pd.DataFrame:
    return pd.DataFrame([{
        "severity": "info", "check": check, "file": table.grid.file, "sheet": table.grid.sheet,
        "row": table.header.excel_rows(table.grid)[-1], "column": "", "household_id": "", "message": message, "hint": "",
    }])


def household_keys(table: Table) -> tuple[pd.Series, list[pd.DataFrame]]:
    """户编号 per member row: merged cells are already filled; blank ones join the block above."""
    hid = table.frame["household_id"]
    has = hid.notna().to_numpy()
    notes = []
    if has.all():
        return hid, notes
    block = np.cumsum(has | table.gap_before)
    firsts = pd.Series(hid.to_numpy(dtype=object), dtype=object).groupby(block).transform("first")
    filled = pd.Series(pd.array(firsts.where(firsts.notna(), None).tolist(), dtype=STR), index=hid.index)
    orphan = filled.isna().to_numpy()
    if orphan.any():
        g = table.grid
        where = Where(g.file, g.sheet, table.header.fields["household_id"].letter, table.header.fields["household_id"].header,
                      table.frame[SOURCE_ROW].to_numpy(dtype=np.int64))
        notes.append(notes_for(orphan, filled, where, "error", "read.no_household",
                               lambda cell, v: f"{cell}: 户编号为空, 且上方没有同一户的行 (合并单元格或户主行), 无法归户",
                               "填写该成员的户编号, 或把该行移到所属户的户主行之下"))
    return filled, notes


def split_members(table: Table, hid: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame, str, list[pd.DataFrame]]:
    """Member rows → (households, members, layout, notes)."""
    frame = table.frame.assign(household_id=hid)
    hh_cols = [c for c in HOUSEHOLD_FIELD_NAMES if c in frame.columns and c != "household_id"]
    mem_cols = [c for c in MEMBER_FIELD_NAMES if c in frame.columns]
    notes = _conflicts(table, frame, hh_cols)
    grouped = frame[["household_id", *hh_cols, *PROVENANCE_COLUMNS]].dropna(subset=["household_id"])
    households = grouped.groupby("household_id", sort=False, dropna=True).first().reset_index()
    first_row = grouped.groupby("household_id", sort=False)[SOURCE_ROW].min()
    households[SOURCE_ROW] = pd.array(households["household_id"].map(first_row), dtype="Int64")
    households = households[_order(["household_id", *hh_cols, *PROVENANCE_COLUMNS], [])]
    members = frame[["household_id", *mem_cols, *table.passthrough, *PROVENANCE_COLUMNS]].reset_index(drop=True)
    hh_merged = table.merged_fields & set(["household_id", *hh_cols])
    if hh_merged:
        layout = "member-merged"
    else:
        cont = frame["household_id"].duplicated().to_numpy() | ~table.frame["household_id"].notna().to_numpy()
        others = [c for c in hh_cols]
        blank_cont = cont & (frame[others].isna().all(axis=1).to_numpy() if others else True)
        layout = "member-head-only" if cont.any() and blank_cont.sum() * 2 > cont.sum() else "member"
    households, head_notes = _heads(households, members, table)
    return households, members, layout, notes + head_notes


def _conflicts(table: Table, frame: pd.DataFrame, cols: list[str]) -> list[pd.DataFrame]:
    """Consecutive rows of one household whose repeated household values differ."""
    hid = frame["household_id"]
    same = (hid == hid.shift()).fillna(False).to_numpy(dtype=bool)
    if not same.any():
        return []
    out = []
    rows = frame[SOURCE_ROW].to_numpy(dtype=np.int64)
    for c in cols:
        s = frame[c]
        prev = s.shift()
        diff = same & s.notna().to_numpy() & prev.notna().to_numpy() & (s != prev).fillna(False).to_numpy(dtype=bool)
        if not diff.any():
            continue
        col = table.header.fields[c]
        show = mask_id if c in ID_FIELDS else _show
        sel = np.flatnonzero(diff)
        prefix = f"{table.grid.sheet}!" if table.grid.sheet else ""
        messages = [
            f"{prefix}{col.letter}{r}: 同一户的{col.header}与上一行不同 (“{show(v)}” ≠ “{show(p)}”), 采用该户第一行的值"
            for r, v, p in zip(rows[sel], s.iloc[sel].tolist(), prev.iloc[sel].tolist())
        ]
        where = Where(table.grid.file, table.grid.sheet, col.letter, col.header, rows, hid)
        out.append(notes_for(diff, s.astype(object), where, "warning", "read.household_conflict", messages,
                             "同一户的户级信息应当一致: 核实后统一填写"))
    return out


def _show(v) -> str:
    if isinstance(v, pd.Timestamp):
        return v.strftime("%Y-%m-%d")
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _heads(households: pd.DataFrame, members: pd.DataFrame, table: Table) -> tuple[pd.DataFrame, list[pd.DataFrame]]:
    """Fill 户主姓名 / 户主证件号码 from the member whose 与户主关系 is 户主 when the sheet lacks them."""
    if "relation" not in members.columns:
        return households, []
    heads = members[members["relation"] == "户主"].drop_duplicates("household_id")
    heads = heads.set_index("household_id")
    filled = []
    for target, src in (("head_name", "name"), ("head_id_number", "id_number")):
        if target not in households.columns and src in heads.columns:
            households[target] = pd.array(households["household_id"].map(heads[src]), dtype=STR)
            filled.append(FIELDS[target].zh)
    if not filled:
        return households, []
    households = households[_order(list(households.columns), [])]
    return households, [_info(table, "read.head_from_members", f"{'、'.join(filled)}取自与户主关系为“户主”的成员")]
