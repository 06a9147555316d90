"""read_roster: a county roster file (.xlsx, .xls, .csv, .parquet) → :class:`Roster`.

Pipeline: open the file read-only → a text :class:`Grid` per sheet → find the header
(:mod:`fupin_cli.io.excel`) → drop blank and totals rows and type every column by schema
kind (:mod:`fupin_cli.io.read_values`) → group rows into households and members
(:mod:`fupin_cli.io.read_layout`).  Files that cannot be used at all raise
:class:`~fupin_cli.errors.InputError` (exit 4); problems with single values become notes
(a Findings frame in ``Roster.notes``).  See ``docs/reading.md``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.findings import concat_findings, make_findings
from fupin_cli.headers import candidates
from fupin_cli.io.colmap import ColumnMap
from fupin_cli.io.excel import Header, find_header
from fupin_cli.io.guard import check_grid, formula_notes, implausible_notes
from fupin_cli.io.paths import FORMATS, expand_paths  # noqa: F401  (ROSTER... arguments)
from fupin_cli.io.read_grid import STR, Grid
from fupin_cli.io.read_layout import (
    Table,
    build_table,
    empty_members,
    household_keys,
    households_from_rows,
    split_members,
)
from fupin_cli.roster import Roster, SourceInfo, UnmatchedColumn
from fupin_cli.schema import (
    FIELDS,
    HOUSEHOLD_FIELD_NAMES,
    MEMBER_FIELD_NAMES,
    PROVENANCE_COLUMNS,
    SOURCE_FILE,
    SOURCE_ROW,
    SOURCE_SHEET,
)


def read_roster(path: str | os.PathLike | Sequence[str | os.PathLike], *, sheet: str | None = None,
                member_sheet: str | None = None, encoding: str | None = None, columns: ColumnMap | None = None) -> Roster:
    """Read one roster file, or several (a sequence of paths), into households and members
    (see ``roster.py`` for the contract).

    ``sheet``: the sheet to read (or, with ``member_sheet``, the household sheet); default: every
    sheet that carries a roster header is read and the sheets concatenated (which were read and
    which skipped, and why, is in the notes and ``SourceInfo.skipped_sheets``).  ``member_sheet``:
    the sheet of members when households and members are on two sheets.  ``encoding``: for CSV
    (default: UTF-8, else GB18030).  ``columns``: a column map (:mod:`fupin_cli.io.colmap`)
    applied before the vocabulary.  Several files are read one by one and combined; the same
    户编号 in two files or sheets is kept twice (never one silently dropped) and reported as an error naming every
    place (``read.duplicate_household``): identify stops on it (exit 1) unless --allow-errors.
    """
    paths = [path] if isinstance(path, (str, os.PathLike)) else list(path)
    if not paths:
        raise InputError("没有给出花名册文件 (no roster file given)", "给出 .xlsx/.xls/.csv/.parquet 文件、文件夹或通配符")
    rosters = [_read_one(Path(p), sheet, member_sheet, encoding, columns) for p in paths]
    roster = rosters[0] if len(rosters) == 1 else combine(rosters)
    _finish(roster, columns)
    return roster


def _read_one(p: Path, sheet: str | None, member_sheet: str | None, encoding: str | None,
              columns: ColumnMap | None) -> Roster:
    fmt = _check_path(p)
    info = SourceInfo(path=str(p), name=p.name, sha256=_sha256(p), format=fmt)

    def matcher(sheet_name: str):
        return columns.matcher(p.name, sheet_name) if columns is not None else None

    notes: list[pd.DataFrame] = []
    if fmt == "csv":
        from fupin_cli.io.read_text import read_csv_grid

        grid, info.encoding = read_csv_grid(p, encoding)
        tables = [_table(grid, matcher(""))]
    elif fmt == "parquet":
        from fupin_cli.io.read_text import read_parquet_grid

        grid = read_parquet_grid(p)
        header = find_header(grid, matcher("")) if grid.height else None
        if header is not None and header.data_start != 1:  # names are not the header: all as text
            grid = read_parquet_grid(p, typed=False)
        tables = [_table(grid, matcher(""))]
    else:
        tables, skipped = _excel_tables(p, fmt, sheet, member_sheet, matcher)
        info.skipped_sheets = skipped
        notes += sheet_notes(p.name, [t.grid.sheet for t in tables], skipped)
    roster = _assemble(tables, info)
    roster.notes = concat_findings([roster.notes, *notes])
    return roster


def _check_path(p: Path) -> str:
    if not p.exists():
        raise InputError(f"找不到文件: {p} (file not found)", "检查文件路径和文件名")
    if p.is_dir():
        raise InputError(f"{p} 是文件夹, 不是花名册文件 (not a file)", "给出 .xlsx/.xls/.csv/.parquet 文件的路径")
    fmt = FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise InputError(
            f"{p.name}: 不支持的文件类型“{p.suffix or '(无扩展名)'}” (unsupported file type)",
            "支持 .xlsx、.xls、.csv、.parquet; 请在 Excel 中另存为 .xlsx",
        )
    try:
        with open(p, "rb") as f:
            empty = not f.read(1)
    except OSError as e:
        raise InputError(f"{p.name}: 无法读取文件 (unreadable: {e.strerror})", "检查文件权限, 或文件是否被其他程序占用") from None
    if empty:
        raise InputError(f"{p.name}: 文件是空的 (empty file)", "检查是否选错了文件")
    return fmt


def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _table(grid: Grid, matcher=None) -> Table:
    return build_table(grid, sheet_header(grid, matcher))


def sheet_header(grid: Grid, matcher=None) -> Header:
    """The header of a sheet that must hold a roster (an empty or too-wide sheet: InputError)."""
    if not grid.height:
        where = f"{grid.file}" + (f" 工作表“{grid.sheet}”" if grid.sheet else "")
        raise InputError(f"{where} 是空的 (empty sheet)", "用 --sheet 选择有数据的工作表")
    check_grid(grid)
    return find_header(grid, matcher)


def _excel_tables(p: Path, fmt: str, sheet: str | None, member_sheet: str | None,
                  matcher) -> tuple[list[Table], dict[str, str]]:
    """The roster tables of a workbook and the sheets skipped (sheet → why): :func:`excel_sheets`, each built."""
    sheets, skipped = excel_sheets(p, fmt, sheet, member_sheet, matcher)
    return [build_table(g, h) for g, h in sheets], skipped


def excel_sheets(p: Path, fmt: str, sheet: str | None, member_sheet: str | None,
                 matcher) -> tuple[list[tuple[Grid, Header]], dict[str, str]]:
    """The roster sheets of a workbook (grid and header; the member sheet last) and the sheets skipped (sheet → why).

    Without ``sheet``: every visible sheet whose header names 户编号 is read; a sheet without a
    header, without 户编号 or empty is skipped; a hidden sheet is skipped (noted) unless no visible
    sheet holds a roster.
    """
    from fupin_cli.io.read_xlsx import Workbook

    wb = Workbook(p, fmt)
    for name in (sheet, member_sheet):
        if name is not None and name not in wb.sheet_names:
            listed = "、".join(f"“{s}”" for s in wb.sheet_names)
            raise InputError(f"{p.name}: 没有名为“{name}”的工作表 (no such sheet); 现有工作表: {listed}",
                             "用 --sheet 给出上面列出的工作表名")
    if sheet is not None:
        grid = wb.load(sheet)
        sheets = [(grid, sheet_header(grid, matcher(sheet)))]
        if member_sheet is not None:
            grid = wb.load(member_sheet)
            sheets.append((grid, sheet_header(grid, matcher(member_sheet))))
        return sheets, {}
    visible: list[tuple[Grid, Header]] = []
    hidden: list[tuple[Grid, Header]] = []
    skipped: dict[str, str] = {}
    first_error: InputError | None = None
    for name in wb.sheet_names:
        if member_sheet is not None and name == member_sheet:
            continue
        grid = wb.load(name)
        try:
            if not grid.height:
                raise InputError(f"{p.name} 工作表“{name}”是空的 (empty sheet)", "用 --sheet 选择有数据的工作表")
            check_grid(grid)
            header = find_header(grid, matcher(name))
        except InputError as e:
            if "duplicated header" in e.message:
                raise
            first_error = first_error or e
            skipped[name] = "空表" if not grid.height else "前 15 行中没有表头"
            continue
        if "household_id" not in header.fields:
            skipped[name] = "表头中没有户编号列"
            first_error = first_error or _no_household_id(grid)
            continue
        (visible if wb.is_visible(name) else hidden).append((grid, header))
    found = visible or hidden
    for grid, _ in hidden if visible else []:
        skipped[grid.sheet] = "隐藏的工作表 (用 --sheet 读取)"
    if member_sheet is not None:
        grid = wb.load(member_sheet)
        mem = (grid, sheet_header(grid, matcher(member_sheet)))
        if not found:
            raise first_error or _no_household_id(grid)
        return [*found, mem], skipped
    if not found:
        if len(wb.sheet_names) == 1 or first_error is None:
            raise first_error or InputError(f"{p.name}: 没有工作表 (empty workbook)", "检查是否选错了文件")
        raise InputError(f"{p.name}: 所有工作表的前 15 行中都没有找到表头 (no recognisable header in any sheet: "
                         f"{'、'.join(wb.sheet_names)})", f"{first_error.hint}")
    return found, skipped


def _no_household_id(grid: Grid) -> InputError:
    where = f"{grid.file}" + (f" 工作表“{grid.sheet}”" if grid.sheet else "")
    return InputError(f"{where}: 没有“户编号”列 (no household_id column), 无法区分各户",
                      "加一列“户编号”(或 户码、家庭编号), 每户一个编号")


def sheet_notes(name: str, sheets: list[str], skipped: dict[str, str]) -> list[pd.DataFrame]:
    """The read.sheets note: which sheets of a workbook were read, which not and why."""
    if len(sheets) < 2 and not skipped:
        return []
    read = "、".join(f"“{s}”" for s in sheets)
    text = f"读取了 {len(sheets)} 个工作表: {read}"
    if skipped:
        text += "; 未读取: " + "、".join(f"“{s}”({why})" for s, why in skipped.items())
    hidden = any(why.startswith("隐藏") for why in skipped.values())
    return [make_findings([{"severity": "warning" if hidden else "info", "check": "read.sheets", "file": name,
                            "sheet": "", "message": text,
                            "hint": "用 --sheet 只读取一个工作表" if not hidden else "隐藏的工作表未读取; 需要时用 --sheet 读取"}])]


def _assemble(tables: list[Table], info: SourceInfo) -> Roster:
    """Tables of one file → Roster.  Each table's layout is decided from its rows; household-level
    and member-level tables together make a two-sheet roster, otherwise the tables (one sheet per
    village …) are read one by one and concatenated."""
    notes: list[pd.DataFrame] = []
    for t in tables:
        notes.extend(t.notes)
        notes.extend(formula_notes(t))
    info.sheets = [t.grid.sheet for t in tables if t.grid.sheet]
    info.header_rows = [r for t in tables for r in t.header.excel_rows(t.grid)]
    info.title = tables[0].header.title
    for t in tables:
        if "household_id" not in t.fields:
            if t is not tables[0] and "household_id" in tables[0].fields:  # --member-sheet without 户编号
                g = t.grid
                raise InputError(f"{g.file} 工作表“{g.sheet}”: 成员表没有“户编号”列 (no household_id column)",
                                 "在成员表加一列“户编号”, 与户表的户编号对应")
            raise _no_household_id(t.grid)
    evidence = [t.layout_evidence() for t in tables]
    hh_tables = [t for t, (member, _) in zip(tables, evidence) if not member]
    mem_tables = [t for t, (member, _) in zip(tables, evidence) if member]
    layouts: list[str] = []
    if hh_tables and mem_tables:
        households, members, more = _two_sheets(hh_tables, mem_tables)
        layouts.append("two-sheet")
        notes.extend(more)
        pieces = [(households, members)]
    else:
        pieces = []
        for t, (member_level, _) in zip(tables, evidence):
            if member_level:
                hid, more = household_keys(t)
                households, members, layout, more2 = split_members(t, hid)
                more += more2
            else:
                households, more = households_from_rows(t)
                members, layout = empty_members(), "household"
            notes.extend(more)
            pieces.append((households, members))
            layouts.append(layout)
    info.layout = "/".join(dict.fromkeys(layouts))
    why = "; ".join(f"{'“' + t.grid.sheet + '”: ' if t.grid.sheet else ''}{'每行一人' if m else '每行一户'} — {e}"
                    for t, (m, e) in zip(tables, evidence))
    info.layout_evidence = why
    info.columns = [column_info(t.grid, t.header, c) for t in tables for c in t.header.columns]
    notes.extend(_match_notes(tables, info.name))
    source_headers = {}
    for t in tables:
        for c in t.header.columns:
            if c.field and c.field not in source_headers:
                source_headers[c.field] = c.header
    households = concat_frames([h for h, _ in pieces], HOUSEHOLD_FIELD_NAMES)
    members = concat_frames([m for _, m in pieces], ["household_id", *MEMBER_FIELD_NAMES])
    notes.extend(implausible_notes(households, info.name))
    return Roster(
        households=households,
        members=members,
        sources=[info],
        passthrough=list(dict.fromkeys(c for t in tables for c in t.passthrough)),
        notes=concat_findings(notes),
        source_headers=source_headers,
    )


def column_info(grid: Grid, header: Header, c) -> dict:
    """How one column was understood (``SourceInfo.columns``)."""
    m = c.match
    where = f"{grid.file} " + (f"{grid.sheet}!" if grid.sheet else "") + c.letter
    return {"file": grid.file, "sheet": grid.sheet, "letter": c.letter, "header": c.header, "field": c.field,
            "polarity": m.polarity if m and c.field else "", "method": m.method if m and c.field else "",
            "confidence": m.confidence if m and c.field else 0.0, "unit": m.unit if m else "",
            "scale": m.scale if m and c.field else 1.0, "where": where, "candidates": [],
            "row": header.excel_rows(grid)[-1]}


def _match_notes(tables: list[Table], name: str) -> list[pd.DataFrame]:
    """Columns read inverted or with a unit factor (info), units that do not fit (warning)."""
    rows = []
    for t in tables:
        prefix = f"{t.grid.sheet}!" if t.grid.sheet else ""
        for c in t.header.columns:
            m = c.match
            if not (m and c.field):
                continue
            what = []
            if m.inverted:
                what.append(f"按相反含义读取 (取反) 为{FIELDS[c.field].zh}")
            if m.scale != 1.0:
                what.append(f"单位“{m.unit}”: 数值 ×{m.scale:g}")
            if what:
                rows.append({"severity": "info", "check": "read.column_meaning", "file": name, "sheet": t.grid.sheet,
                             "column": c.header, "message": f"{prefix}{c.letter} 列“{c.header}”: {'; '.join(what)}",
                             "hint": "如理解有误, 用 fupin columns --write-map 写出列映射, 改正后以 --columns 传入"})
            if m.unit_problem:
                rows.append({"severity": "warning", "check": "read.unit", "file": name, "sheet": t.grid.sheet,
                             "column": c.header, "message": f"{prefix}{c.letter} 列“{c.header}”: {m.unit_problem}",
                             "hint": "核实该列的单位; 用 --columns 的 scale 指定换算系数"})
    return [make_findings(rows)] if rows else []


def concat_frames(frames: list[pd.DataFrame], canonical: list[str]) -> pd.DataFrame:
    """Frames of several sheets/files as one: canonical columns first (schema order and dtypes),
    then passthrough columns, then provenance."""
    frames = [f for f in frames if f is not None]
    if len(frames) == 1:
        return frames[0].reset_index(drop=True)
    cols = list(dict.fromkeys(c for f in frames for c in f.columns))
    order = [c for c in canonical if c in cols]
    order += [c for c in cols if c not in order and c not in PROVENANCE_COLUMNS] + PROVENANCE_COLUMNS
    nonempty = [f for f in frames if len(f)] or frames[:1]
    out = pd.concat([f.reindex(columns=order) for f in nonempty], ignore_index=True)
    for c in order:
        dtype = _dtype_of(c, frames)
        if dtype is not None and str(out[c].dtype) != str(dtype):
            out[c] = out[c].astype(dtype)
    return out


def _dtype_of(column: str, frames: list[pd.DataFrame]):
    for f in frames:
        if column in f.columns and len(f) and f[column].dtype != object:
            return f[column].dtype
    for f in frames:
        if column in f.columns:
            return f[column].dtype
    return None


def combine(rosters: list[Roster]) -> Roster:
    """Several rosters (files) as one; the same 户编号 in two of them is kept twice and noted."""
    households = concat_frames([r.households for r in rosters], HOUSEHOLD_FIELD_NAMES)
    members = concat_frames([r.members for r in rosters], ["household_id", *MEMBER_FIELD_NAMES])
    source_headers: dict[str, str] = {}
    for r in rosters:
        for k, v in r.source_headers.items():
            source_headers.setdefault(k, v)
    return Roster(
        households=households,
        members=members,
        sources=[s for r in rosters for s in r.sources],
        passthrough=list(dict.fromkeys(c for r in rosters for c in r.passthrough)),
        notes=concat_findings([r.notes for r in rosters]),
        source_headers=source_headers,
    )


def _finish(roster: Roster, columns: ColumnMap | None) -> None:
    """Across all files: duplicate households, unmatched columns with their likely fields, map use."""
    notes = [roster.notes, *_duplicates(roster.households)]
    mapped = {c["field"] for s in roster.sources for c in s.columns if c["field"]}
    for s in roster.sources:
        listed, first = [], None
        several = len(s.sheets) > 1
        for c in s.columns:
            if c["field"]:
                continue
            c["candidates"] = candidates(c["header"], exclude=mapped)
            roster.unmatched.append(UnmatchedColumn(c["header"], c["file"], c["sheet"], c["letter"], list(c["candidates"])))
            likely = "" if not c["candidates"] else " (可能是 " + "、".join(
                f"{FIELDS[n].zh} {v:.2f}" for n, v in c["candidates"]) + ")"
            listed.append(f"{(c['sheet'] + '!') if several else ''}{c['letter']} 列“{c['header']}”{likely}")
            first = first or c
        if columns is not None:
            s.column_map = columns.label
        if listed and first is not None:  # (first is set with listed)
            notes.append(make_findings([{
                "severity": "info", "check": "read.unknown_columns", "file": s.name, "sheet": first["sheet"],
                "row": first["row"], "message": f"未识别的列按原样保留: {'、'.join(dict.fromkeys(listed))}",
                "hint": "如果是标准字段, 请改用标准列名, 或用 fupin columns --write-map 写出列映射、改正后以 --columns 传入",
            }]))
    if columns is not None and columns.unused():
        notes.append(make_findings([{
            "severity": "warning", "check": "read.column_map_unused", "file": columns.name,
            "message": "列映射中这些列名在花名册中没有出现: " + "、".join(f"“{e.header}”" for e in columns.unused()),
            "hint": "检查列映射的 header 是否与表头一致",
        }]))
    roster.notes = concat_findings(notes)


def _duplicates(households: pd.DataFrame) -> list[pd.DataFrame]:
    """The same 户编号 in two files or sheets: an error naming every place (file, sheet, row)."""
    if "household_id" not in households.columns or SOURCE_FILE not in households.columns:
        return []
    hid = households["household_id"]
    dup = hid.notna() & hid.duplicated(keep=False)
    if not dup.any():
        return []
    sub = households.loc[dup, ["household_id", SOURCE_FILE, SOURCE_SHEET, SOURCE_ROW]].astype(object)
    places = sub.groupby("household_id", sort=False).apply(
        lambda g: [(f, s, r) for f, s, r in zip(g[SOURCE_FILE], g[SOURCE_SHEET], g[SOURCE_ROW])], include_groups=False)
    rows = []
    for h, where in places.items():
        if len({(f, s) for f, s, _ in where}) < 2:
            continue  # within one sheet: validate's household.duplicate_id says it
        text = "、".join(f"{f} {(s + '!') if s else ''}第 {r} 行" for f, s, r in where)
        f0, s0, r0 = where[1]
        rows.append({"severity": "error", "check": "read.duplicate_household", "file": f0, "sheet": s0, "row": r0,
                     "column": "户编号", "household_id": str(h),
                     "message": f"户编号 {h} 在多个文件/工作表中出现: {text} (两处都保留, 未覆盖; 成员、户主和人口数的检查按合并后的一户进行)",
                     "hint": "同一户只应登记一次: 删除重复的一处, 或改正户编号"})
    return [make_findings(rows)] if rows else []


def _two_sheets(hh_tables: list[Table], mem_tables: list[Table]):
    notes: list[pd.DataFrame] = []
    parts = []
    for t in hh_tables:
        h, more = households_from_rows(t)
        parts.append(h)
        notes += more
    households = concat_frames(parts, HOUSEHOLD_FIELD_NAMES)
    mparts, hparts = [], []
    for mem in mem_tables:
        if "household_id" not in mem.fields:
            g = mem.grid
            raise InputError(f"{g.file} 工作表“{g.sheet}”: 成员表没有“户编号”列 (no household_id column)",
                             "在成员表加一列“户编号”, 与户表的户编号对应")
        hid, more = household_keys(mem)
        notes += more
        mh, members, _layout, more = split_members(mem, hid)
        notes += more
        mparts.append(members)
        hparts.append(mh)
    members = concat_frames(mparts, ["household_id", *MEMBER_FIELD_NAMES])
    mh = concat_frames(hparts, HOUSEHOLD_FIELD_NAMES)
    extra = [c for c in mh.columns if c in HOUSEHOLD_FIELD_NAMES and c not in households.columns]
    if extra:
        add = mh.drop_duplicates("household_id").set_index("household_id")[extra]
        for c in extra:
            households[c] = households["household_id"].map(add[c]).astype(add[c].dtype)
        order = [c for c in HOUSEHOLD_FIELD_NAMES if c in households.columns]
        rest = [c for c in households.columns if c not in order and c not in PROVENANCE_COLUMNS]
        households = households[order + rest + PROVENANCE_COLUMNS]
    members = members.astype({"household_id": STR})
    return households, members, notes
