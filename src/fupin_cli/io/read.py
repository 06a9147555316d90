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
from pathlib import Path

import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.findings import concat_findings, make_findings
from fupin_cli.io.excel import Header, find_header
from fupin_cli.io.read_grid import STR, Grid
from fupin_cli.io.read_layout import (
    Table,
    build_table,
    empty_members,
    header_is_member_level,
    household_keys,
    households_from_rows,
    split_members,
)
from fupin_cli.roster import Roster, SourceInfo
from fupin_cli.schema import HOUSEHOLD_FIELD_NAMES, PROVENANCE_COLUMNS

FORMATS = {".xlsx": "xlsx", ".xlsm": "xlsx", ".xls": "xls", ".csv": "csv", ".txt": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_roster(path: str | os.PathLike, *, sheet: str | None = None, member_sheet: str | None = None,
                encoding: str | None = None) -> Roster:
    """Read a roster file into households and members (see ``roster.py`` for the contract).

    ``sheet``: the sheet to read (or, with ``member_sheet``, the household sheet); default:
    every sheet is tried and the roster sheet(s) found by their headers.  ``member_sheet``: the
    sheet of members when households and members are on two sheets.  ``encoding``: for CSV
    (default: UTF-8, else GB18030).
    """
    p = Path(path)
    fmt = _check_path(p)
    info = SourceInfo(path=str(path), name=p.name, sha256=_sha256(p), format=fmt)
    if fmt == "csv":
        from fupin_cli.io.read_text import read_csv_grid

        grid, info.encoding = read_csv_grid(p, encoding)
        tables = [_table(grid)]
    elif fmt == "parquet":
        from fupin_cli.io.read_text import read_parquet_grid

        grid = read_parquet_grid(p)
        header = find_header(grid) if grid.height else None
        if header is not None and header.data_start != 1:  # names are not the header: all as text
            grid = read_parquet_grid(p, typed=False)
        tables = [_table(grid)]
    else:
        tables = _excel_tables(p, fmt, sheet, member_sheet)
    return _assemble(tables, info)


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


def _table(grid: Grid) -> Table:
    if not grid.height:
        where = f"{grid.file}" + (f" 工作表“{grid.sheet}”" if grid.sheet else "")
        raise InputError(f"{where} 是空的 (empty sheet)", "用 --sheet 选择有数据的工作表")
    return build_table(grid, find_header(grid))


def _excel_tables(p: Path, fmt: str, sheet: str | None, member_sheet: str | None) -> list[Table]:
    from fupin_cli.io.read_xlsx import Workbook

    wb = Workbook(p, fmt)
    for name in (sheet, member_sheet):
        if name is not None and name not in wb.sheet_names:
            listed = "、".join(f"“{s}”" for s in wb.sheet_names)
            raise InputError(f"{p.name}: 没有名为“{name}”的工作表 (no such sheet); 现有工作表: {listed}",
                             "用 --sheet 给出上面列出的工作表名")
    if sheet is not None:
        tables = [_table(wb.load(sheet))]
        if member_sheet is not None:
            tables.append(_table(wb.load(member_sheet)))
        return tables
    found: list[tuple[Grid, Header]] = []
    first_error: InputError | None = None
    for name in wb.sheet_names:
        if member_sheet is not None and name == member_sheet:
            continue
        grid = wb.load(name)
        try:
            if not grid.height:
                raise InputError(f"{p.name} 工作表“{name}”是空的 (empty sheet)", "用 --sheet 选择有数据的工作表")
            found.append((grid, find_header(grid)))
        except InputError as e:
            first_error = first_error or e
            if "duplicated header" in e.message:
                raise
    if member_sheet is not None:
        mem = _table(wb.load(member_sheet))
        households = [f for f in found if not header_is_member_level(f[1])] or found
        if not households:
            raise first_error  # type: ignore[misc]
        return [build_table(*households[0]), mem]
    if not found:
        if len(wb.sheet_names) == 1 or first_error is None:
            raise first_error or InputError(f"{p.name}: 没有工作表 (empty workbook)", "检查是否选错了文件")
        raise InputError(f"{p.name}: 所有工作表的前 15 行中都没有找到表头 (no recognisable header in any sheet: "
                         f"{'、'.join(wb.sheet_names)})", f"{first_error.hint}")
    hh = [f for f in found if not header_is_member_level(f[1])]
    mem = [f for f in found if header_is_member_level(f[1])]
    if hh and mem:
        return [build_table(*hh[0]), build_table(*mem[0])]
    return [build_table(*found[0])]


def _assemble(tables: list[Table], info: SourceInfo) -> Roster:
    notes: list[pd.DataFrame] = []
    for t in tables:
        notes.extend(t.notes)
    info.sheets = [t.grid.sheet for t in tables if t.grid.sheet]
    info.header_rows = [r for t in tables for r in t.header.excel_rows(t.grid)]
    info.title = tables[0].header.title
    first = tables[0]
    if "household_id" not in first.fields and (len(tables) == 1 or "household_id" not in tables[1].fields):
        g = first.grid
        where = f"{g.file}" + (f" 工作表“{g.sheet}”" if g.sheet else "")
        raise InputError(f"{where}: 没有“户编号”列 (no household_id column), 无法区分各户",
                         "加一列“户编号”(或 户码、家庭编号), 每户一个编号")
    if len(tables) == 2:
        households, members, layout, more = _two_sheets(tables[0], tables[1])
    elif first.is_member_level:
        hid, more = household_keys(first)
        households, members, layout, more2 = split_members(first, hid)
        more += more2
    else:
        households, more = households_from_rows(first)
        members, layout = empty_members(), "household"
    notes.extend(more)
    info.layout = layout
    passthrough = [c for t in tables for c in t.passthrough]
    if passthrough:
        listed = "、".join(f"{c.letter} 列“{c.header}”" for t in tables for c in t.header.columns if c.field is None)
        notes.append(make_findings([{
            "severity": "info", "check": "read.unknown_columns", "file": info.name,
            "sheet": first.grid.sheet, "row": first.header.excel_rows(first.grid)[-1],
            "message": f"未识别的列按原样保留: {listed}", "hint": "如果是标准字段, 请改用标准列名 (见 docs/reading.md)",
        }]))
    source_headers = {}
    for t in tables:
        for c in t.header.columns:
            if c.field and c.field not in source_headers:
                source_headers[c.field] = c.header
    return Roster(
        households=households.reset_index(drop=True),
        members=members.reset_index(drop=True),
        sources=[info],
        passthrough=passthrough,
        notes=concat_findings(notes),
        source_headers=source_headers,
    )


def _two_sheets(hh: Table, mem: Table):
    households, notes = households_from_rows(hh)
    if "household_id" in mem.fields:
        hid, more = household_keys(mem)
        notes += more
        mh, members, _layout, more = split_members(mem, hid)
        notes += more
        extra = [c for c in mh.columns if c in HOUSEHOLD_FIELD_NAMES and c not in households.columns]
        if extra:
            add = mh.set_index("household_id")[extra]
            for c in extra:
                households[c] = households["household_id"].map(add[c]).astype(add[c].dtype)
            order = [c for c in HOUSEHOLD_FIELD_NAMES if c in households.columns]
            rest = [c for c in households.columns if c not in order and c not in PROVENANCE_COLUMNS]
            households = households[order + rest + PROVENANCE_COLUMNS]
    else:
        g = mem.grid
        raise InputError(f"{g.file} 工作表“{g.sheet}”: 成员表没有“户编号”列 (no household_id column)",
                         "在成员表加一列“户编号”, 与户表的户编号对应")
    members = members.astype({"household_id": STR})
    return households, members, "two-sheet", notes
