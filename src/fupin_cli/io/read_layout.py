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
from typing import cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_cli.io.excel import Column, Header, merge_sources
from fupin_cli.io.read_grid import STR, Grid
from fupin_cli.io.read_text import typed_as_text, typed_values
from fupin_cli.io.read_values import ID_FIELDS, Where, apply_match, fold, mask_id, normalise_column, notes_for
from fupin_cli.schema import (
    FIELDS,
    HOUSEHOLD_FIELD_NAMES,
    HOUSEHOLD_MEANING,
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
# columns that describe one person (used only when the rows cannot tell the layout)
PERSON_DESCRIBING_FIELDS = frozenset({"relation", "health", "labour", "education", "school_status", "member_id",
                                      "work_status", "work_months", "disability_cert"})
_TOTAL_SPACED = "|".join(r"\s*".join(w) for w in TOTAL_ROW_WORDS)  # 合计, 合 计 …
_NUMERIC_SEQ = re.compile(r"^\d+(\.0+)?$")
# household text fields held as categoricals while member rows are grouped (not the keys and IDs)
COMPACT_FIELDS = frozenset(HOUSEHOLD_FIELD_NAMES) - {"household_id", "head_name", *ID_FIELDS}


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
        return self.layout_evidence()[0]

    def layout_evidence(self) -> tuple[bool, str]:
        """(one row per member?, what in the rows shows it) — decided from the data, not the labels.

        Member rows: 户编号 repeats over rows, rows without 户编号 continue the household above
        (written only on the head's row), or 与户主关系 names non-head members.  One row per
        household: every 户编号 once and 家庭人口数 above 1 (a household of several people on one
        row).  Only when the rows cannot tell (every 户编号 once, no 家庭人口数 above 1), columns
        that describe a person (与户主关系, 健康状况, 劳动技能 …) make it a member sheet of
        one-person households.
        """
        frame, n = self.frame, len(self.frame)
        hid = frame.get("household_id")
        if hid is None or not n:
            return bool(PERSON_DESCRIBING_FIELDS & set(self.fields)), "无数据行"
        present = hid.dropna()
        dups = int(present.duplicated().sum())
        if dups >= max(1, 0.1 * len(present)):
            return True, f"户编号在 {dups:,} 行重复 (每行一人)"
        blank = int(hid.isna().sum())
        if blank >= max(1, 0.1 * n):
            return True, f"{blank:,} 行没有户编号, 接在上一户之下 (户编号只写在户主行)"
        if "relation" in self.fields:
            rel = frame["relation"].dropna()
            others = int((rel != "户主").sum())
            if others >= max(1, 0.1 * n):
                return True, f"与户主关系有 {others:,} 行不是户主"
        if "household_size" in self.fields:
            size = frame["household_size"].dropna()
            if len(size) and (size > 1).mean() >= 0.5:
                return False, "每个户编号只有一行, 且家庭人口数多为 2 人以上 (每行一户)"
        person = PERSON_DESCRIBING_FIELDS & set(self.fields)
        if person:
            return True, "每个户编号只有一行, 但有描述个人的列 (" + "、".join(FIELDS[f].zh for f in sorted(person)) + ")"
        return False, "每个户编号只有一行 (每行一户)"


def header_is_member_level(header: Header) -> bool:
    """Whether a header has member-only columns (a hint only: layouts are decided by :meth:`Table.layout_evidence`)."""
    return bool(MEMBER_ONLY_FIELDS & set(header.fields))


def build_table(grid: Grid, header: Header) -> Table:
    """Type every column of the sheet's body, drop blank / totals / repeated-header rows.

    One column at a time: its raw text (or typed Parquet values) is fetched, folded, looked at
    for the row checks (blank, totals, repeated header) and typed over all body rows; then the
    raw text is dropped.  Only the typed columns are held, so the peak is about the typed frame
    plus one raw column.  Rows are dropped afterwards, together with the notes about them.
    """
    start = header.data_start
    n = max(grid.height - start, 0)
    rows = np.asarray(grid.excel_row(np.arange(start, start + n)), dtype=np.int64)
    sources = merge_sources(grid, start, n) if grid.merges else {}
    if grid.lean and start < grid.source_start:
        raise AssertionError("the header of a lean grid lies above its column source")
    raw = {} if grid.lean else {c.index: grid.cells[c.index] for c in header.columns}
    if not grid.lean:
        grid.cells = _no_rows(grid.cells)  # only the columns in use stay, each dropped once typed

    def column(c: Column) -> tuple[pd.Series | None, pd.Series | None]:
        """(typed values, None) for a typed Parquet column whose kind fits, else (None, folded text)."""
        if grid.lean:
            arr = grid.column_source(c.index).slice(start - grid.source_start)  # type: ignore[misc]
            grid.release_column(c.index)
            if c.field is not None:
                values = typed_values(arr, FIELDS[c.field].kind)
                if values is not None:
                    m = c.match
                    return (apply_match(values, m.inverted, m.scale) if m else values), None
            text = typed_as_text(arr)
            del arr
            return None, fold(pd.Series(pd.array(text, dtype=STR)))
        s = raw.pop(c.index).iloc[start:].reset_index(drop=True)
        if c.index in sources:
            s = s.take(sources[c.index]).reset_index(drop=True)
        return None, fold(s)

    hid_col = header.fields.get("household_id")
    order = ([hid_col] if hid_col else []) + [c for c in header.columns if c is not hid_col]
    idents = {c.index for c in header.columns if c.field in IDENTIFYING_FIELDS}
    if header.columns:
        idents.add(header.columns[0].index)
    named = [c for c in header.columns if c.field]
    person = {header.fields[f].index for f in PERSON_FIELDS if f in header.fields}
    seq = header.fields.get("seq")
    id_cols = [c.index + grid.col_offset for c in header.columns if c.field in ID_FIELDS]
    numeric = grid.numeric_cells(id_cols) if id_cols else {}

    nonblank = np.zeros(n, dtype=bool)
    total = np.zeros(n, dtype=bool)
    hits = np.zeros(n, dtype=np.int16)  # named columns equal to their header text
    nobody = np.ones(n, dtype=bool)  # no 户编号, name or ID on the row (text columns only)
    seq_text: np.ndarray | None = None  # 序号 that is not a number
    hids: pd.Series | None = None
    values: dict[int, pd.Series] = {}
    col_notes: dict[int, list[pd.DataFrame]] = {}
    for c in order:
        typed, s = column(c)
        if s is None:
            typed = cast(pd.Series, typed)  # a column without source text is typed already
            nonblank |= typed.notna().to_numpy()
            values[c.index] = typed
            continue
        present = s.notna().to_numpy()
        nonblank |= present
        if c.index in idents:
            hit = pc.match_substring_regex(pa.array(s.array), _TOTAL_SPACED)
            total |= np.asarray(pc.fill_null(hit, False).to_numpy(zero_copy_only=False), dtype=bool)
        if c.field:
            text = fold(pd.Series([c.header], dtype=STR)).iloc[0]
            if isinstance(text, str):
                hits += (s == text).fillna(False).to_numpy(dtype=bool)
        if c.index in person:
            nobody &= ~present
        if c is seq:
            seq_text = present & ~s.str.match(_NUMERIC_SEQ.pattern).fillna(False).to_numpy(dtype=bool)
        if c is hid_col:
            hids = s
        if c.field is None:
            values[c.index] = s
            continue
        num_rows = None
        if c.field in ID_FIELDS:
            abs_rows = numeric.get(c.index + grid.col_offset, np.empty(0, dtype=np.int64))
            num_rows = np.zeros(n, dtype=bool)
            rel = abs_rows - grid.row_offset - start
            num_rows[rel[(rel >= 0) & (rel < n)]] = True
        where = Where(grid.file, grid.sheet, c.letter, c.header, rows, hids)
        m = c.match
        values[c.index], col_notes[c.index] = normalise_column(s, FIELDS[c.field], where, num_rows,
                                                               inverted=bool(m and m.inverted), scale=m.scale if m else 1.0)
        if c.field in COMPACT_FIELDS:
            values[c.index] = _compact(values[c.index])
        del s
        pa.default_memory_pool().release_unused()  # hand the column's scratch memory back
    if seq_text is not None:
        total |= seq_text & nobody
    repeated = (hits >= max(2, (len(named) + 1) // 2)) & ~total
    keep = nonblank & ~total & ~repeated

    notes = skipped_row_notes(grid, rows, ~nonblank, total, repeated)
    all_kept = bool(keep.all())
    kept_idx = np.flatnonzero(keep)
    kept_rows = rows[kept_idx]
    gap_before = np.r_[False, np.diff(kept_idx) > 1] if len(kept_idx) else np.zeros(0, dtype=bool)
    if len(kept_idx) and kept_idx[0] > 0:
        gap_before[0] = True

    data: dict[str, object] = {}
    fields: list[str] = []
    passthrough: list[str] = []
    for c in header.columns:
        v = values.pop(c.index)
        data[c.field or c.header] = v if all_kept else v.iloc[kept_idx].reset_index(drop=True)
        del v
        (fields if c.field else passthrough).append(c.field or c.header)
        for nf in col_notes.get(c.index, []):
            if not all_kept:
                nf = nf[np.isin(nf["row"].to_numpy(dtype=np.int64), kept_rows)].reset_index(drop=True)
            if len(nf):
                notes.append(nf)
    frame = pd.DataFrame(data)
    n_rows = len(frame)
    frame[SOURCE_FILE] = pd.array(pa.repeat(pa.scalar(grid.file, pa.large_string()), n_rows), dtype=STR)
    frame[SOURCE_SHEET] = pd.array(pa.repeat(pa.scalar(grid.sheet, pa.large_string()), n_rows), dtype=STR)
    frame[SOURCE_ROW] = pd.array(kept_rows, dtype="Int64")
    merged_fields = {c.field or c.header for c in header.columns if c.index in sources}
    return Table(grid, header, frame, fields, passthrough, merged_fields, gap_before, notes)


def skipped_row_notes(grid: Grid, rows: np.ndarray, blank: np.ndarray, total: np.ndarray, repeated: np.ndarray) -> list[pd.DataFrame]:
    """Info notes for the rows :func:`build_table` skips (``rows``: their Excel rows; the masks over ``rows``)."""
    notes: list[pd.DataFrame] = []
    where_row = Where(grid.file, grid.sheet, "", "", rows)
    prefix = f"工作表“{grid.sheet}”" if grid.sheet else grid.file
    for mask, check, what in ((blank, "read.blank_row", "是空行"), (total, "read.total_row", "是合计/小计行"),
                              (repeated, "read.repeated_header", "是重复的表头 (分页打印时常见)")):
        if mask.any():
            notes.append(notes_for(mask, pd.Series([""] * len(rows)), where_row, "info", check,
                                   lambda cell, v, what=what: f"{prefix}第 {cell.split('!')[-1]} 行{what}, 已跳过", ""))
    return notes


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
    meaning = {m: h for m, h in HOUSEHOLD_MEANING.items() if m in frame.columns and h not in frame.columns}
    if meaning:  # 是否特困供养 on a household row: the household has a member in 特困供养
        frame = frame.rename(columns=meaning)
        desc = "、".join(f"“{table.header.fields[m].header}”作为{FIELDS[h].zh}" for m, h in meaning.items())
        for m, h in meaning.items():  # the column now holds the household field (fupin columns, source_headers)
            col = table.header.fields.pop(m)
            col.field = h
            table.header.fields[h] = col
        table.fields = [meaning.get(f, f) for f in table.fields]
        notes.append(_info(table, "read.household_meaning", f"每行一户: 成员级的列按户的含义读取: {desc}"))
    keep = [c for c in frame.columns if c in HOUSEHOLD_FIELD_NAMES or c in table.passthrough or c in PROVENANCE_COLUMNS]
    dropped = [c for c in frame.columns if c not in keep]
    if dropped:
        names = "、".join(table.header.fields[c].header for c in dropped if c in table.header.fields)
        notes.append(_info(table, "read.member_columns_ignored", f"每行一户的表中成员列未读取: {names}"))
    frame = frame[_order(keep, table.passthrough)].reset_index(drop=True)
    return frame.apply(_expand) if len(frame.columns) else frame, notes


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
    notes: list[pd.DataFrame] = []
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
    """Member rows → (households, members, layout, notes).

    Household columns are reduced to one value per household (the first non-blank, in sheet
    order) one at a time and dropped from the member-level frame as soon as they are done.
    """
    written = table.frame["household_id"].notna().to_numpy()  # 户编号 on the row itself
    frame = table.frame.assign(household_id=hid)
    table.frame = _no_rows(frame)  # the member-level rows now live in ``frame`` only
    hh_cols = [c for c in HOUSEHOLD_FIELD_NAMES if c in frame.columns and c != "household_id"]
    mem_cols = [c for c in MEMBER_FIELD_NAMES if c in frame.columns]
    members = frame[["household_id", *mem_cols, *table.passthrough, *PROVENANCE_COLUMNS]].reset_index(drop=True)
    notes, per_member = _conflicts(table, frame, hh_cols)
    for c in per_member:  # 联系电话 per member: kept on the members under its header; the household takes the first row's
        members.insert(len(members.columns) - len(PROVENANCE_COLUMNS), table.header.fields[c].header,
                       _expand(frame[c]).reset_index(drop=True))
    codes, keys = hid.array.factorize(use_na_sentinel=True)  # households in order of first appearance
    codes = np.asarray(codes)
    grouped = codes >= 0
    columns: dict[str, object] = {"household_id": pd.Series(keys)}
    blank_rest = np.ones(len(frame), dtype=bool)  # no household value on the row
    for c in [*hh_cols, SOURCE_FILE, SOURCE_SHEET]:
        col = frame[c]
        present = col.notna().to_numpy()
        if c in hh_cols:
            blank_rest &= ~present
        columns[c] = _expand(_first_per_group(col, codes, len(keys), present & grouped))
        if c in hh_cols:
            frame = frame.drop(columns=c)
        del col
    columns[SOURCE_ROW] = _first_per_group(frame[SOURCE_ROW], codes, len(keys), grouped)  # rows ascend: the least
    households = pd.DataFrame(columns)
    households = households[_order(["household_id", *hh_cols, *PROVENANCE_COLUMNS], [])]
    hh_merged = table.merged_fields & {"household_id", *hh_cols}
    if hh_merged:
        layout = "member-merged"
    else:
        cont = frame["household_id"].duplicated().to_numpy() | ~written
        blank_cont = cont & (blank_rest if hh_cols else True)
        layout = "member-head-only" if cont.any() and blank_cont.sum() * 2 > cont.sum() else "member"
    del frame
    households, head_notes = _heads(households, members, table)
    return households, members, layout, notes + head_notes


def _compact(s: pd.Series) -> pd.Series:
    """Repetitive text of a household field as a categorical while rows are grouped (a member-level
    sheet repeats it on every member row); :func:`_expand` turns it back into ``str`` for the Roster."""
    if s.dtype != STR or len(s) < 1000:
        return s
    codes, uniques = s.array.factorize(use_na_sentinel=True)
    if len(uniques) * 4 > len(s):
        return s
    return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(pd.Index(uniques))), index=s.index)


def _expand(s: pd.Series) -> pd.Series:
    if not isinstance(s.dtype, pd.CategoricalDtype):
        return s
    return pd.Series(s.cat.categories.array.take(s.cat.codes.to_numpy(), allow_fill=True), index=s.index)


def _no_rows(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` without rows and without references to its buffers (an Arrow slice would keep them)."""
    return pd.DataFrame({c: pd.Series([], dtype=df[c].dtype) for c in df.columns}, columns=df.columns)


def _first_per_group(col: pd.Series, codes: np.ndarray, groups: int, use: np.ndarray) -> pd.Series:
    """The first value of ``col`` over the rows in ``use``, per group code (missing: NA)."""
    idx = np.flatnonzero(use)
    first = np.full(groups, -1, dtype=np.int64)
    first[codes[idx][::-1]] = idx[::-1]  # later assignments win: the earliest row of each group
    return pd.Series(pd.api.extensions.take(col.array, first, allow_fill=True))


MEMBER_COLUMN_SHARE = 0.5  # households whose rows differ, among those with two filled rows: above → a member column
MEMBER_COLUMN_MIN = 3


def _conflicts(table: Table, frame: pd.DataFrame, cols: list[str]) -> tuple[list[pd.DataFrame], list[str]]:
    """Consecutive rows of one household whose repeated household values differ → warnings; and the
    household columns that differ in most households (one value per member, e.g. 联系电话 per member):
    read as member columns with one info note, not as conflicts."""
    hid = frame["household_id"]
    same = (hid == hid.shift()).fillna(False).to_numpy(dtype=bool)
    if not same.any():
        return [], []
    out, per_member = [], []
    rows = frame[SOURCE_ROW].to_numpy(dtype=np.int64)
    for c in cols:
        s = frame[c]
        prev = s.shift()
        both = same & s.notna().to_numpy() & prev.notna().to_numpy()
        diff = both & (s != prev).fillna(False).to_numpy(dtype=bool)
        if not diff.any():
            continue
        col = table.header.fields[c]
        n_diff, n_both = hid[diff].nunique(), hid[both].nunique()
        if n_diff >= MEMBER_COLUMN_MIN and n_diff >= MEMBER_COLUMN_SHARE * n_both:
            per_member.append(c)
            out.append(_info(table, "read.member_column",
                             f"{col.letter} 列“{col.header}”在 {n_diff:,} 户 (共 {n_both:,} 户有两行以上填写) 的成员行中各不相同: "
                             f"按成员的列读取, 户的{FIELDS[c].zh}取该户第一行的值"))
            continue
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
    return out, per_member


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
