"""Payment lists (资金发放名单) for ``fupin funds``: one row per payment, any layout the roster reader
reads (header found below title rows, two-row headers, merged cells, .xlsx/.xls/.csv/.parquet),
every sheet whose header has a 金额 column, several files.

Uses the roster reader's machinery (:func:`fupin_cli.io.excel.find_header`,
:func:`fupin_cli.io.read_layout.build_table`) and the schema vocabulary (收款人, 收款人证件号码,
收款账号, 资金项目, 金额, 发放日期, 所属期 and their variants; 姓名 / 身份证号 / 银行卡号 / 户主姓名
are used when the payee columns are absent).  Rows keep ``_source``, ``_sheet`` and ``_row`` (the
row Excel shows), so every finding names the payment's sheet and row.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.findings import concat_findings, empty_findings
from fupin_cli.roster import SourceInfo

REQUIRED = {"amount": "金额", "fund_item": "资金项目"}


def read_payments(paths: Sequence[str | os.PathLike[str]], *, sheet: str | None = None,
                  encoding: str | None = None) -> tuple[pd.DataFrame, list[SourceInfo], pd.DataFrame]:
    """(payments, sources, reader notes) of one or more payment-list files."""
    frames, infos, notes = [], [], []
    for path in paths:
        frame, info, note = _read_one(Path(path), sheet, encoding)
        frames.append(frame)
        infos.append(info)
        notes.append(note)
    payments = pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]
    return payments, infos, concat_findings(notes)


def _read_one(p: Path, sheet: str | None, encoding: str | None):
    from fupin_cli.io.excel import find_header
    from fupin_cli.io.read import _check_path, _sha256, _table
    from fupin_cli.io.read_layout import build_table

    fmt = _check_path(p)
    info = SourceInfo(path=str(p), name=p.name, sha256=_sha256(p), format=fmt, layout="payments")
    if fmt == "csv":
        from fupin_cli.io.read_text import read_csv_grid

        grid, info.encoding = read_csv_grid(p, encoding)
        tables = [_table(grid)]
    elif fmt == "parquet":
        from fupin_cli.io.read_text import read_parquet_grid

        grid = read_parquet_grid(p)
        header = find_header(grid) if grid.height else None
        if header is not None and header.data_start != 1:
            grid = read_parquet_grid(p, typed=False)
        tables = [_table(grid)]
    else:
        from fupin_cli.io.read_xlsx import Workbook

        wb = Workbook(p, fmt)
        if sheet is not None and sheet not in wb.sheet_names:
            listed = "、".join(f"“{s}”" for s in wb.sheet_names)
            raise InputError(f"{p.name}: 没有名为“{sheet}”的工作表 (no such sheet); 现有工作表: {listed}",
                             "用 --sheet 给出上面列出的工作表名")
        tables, first_error = [], None
        for name in ([sheet] if sheet else wb.sheet_names):
            grid = wb.load(name)
            if not grid.height:
                continue
            try:
                header = find_header(grid)
            except InputError as e:
                first_error = first_error or e
                continue
            if "amount" in header.fields:
                tables.append(build_table(grid, header))
        if not tables:
            if first_error is not None and sheet is not None:
                raise first_error
            raise InputError(f"{p.name}: 没有找到资金发放名单 (no sheet with a 金额 column)",
                             "发放名单应有 金额、资金项目（或 补助项目）以及 户编号 或 收款人证件号码 等列")
    for t in tables:
        missing = [zh for f, zh in REQUIRED.items() if f not in t.fields]
        if missing:
            where = f"{p.name}" + (f" 工作表“{t.grid.sheet}”" if t.grid.sheet else "")
            raise InputError(f"{where}: 发放名单没有 {'、'.join(missing)} 列 (no {'/'.join(REQUIRED)} column)",
                             "加上“金额”和“资金项目”（或 补助项目、项目名称）列")
        if not ({"household_id", "payee_id_number", "id_number", "head_id_number"} & set(t.fields)):
            where = f"{p.name}" + (f" 工作表“{t.grid.sheet}”" if t.grid.sheet else "")
            raise InputError(f"{where}: 发放名单没有 户编号 或 收款人证件号码 列, 无法与登记册对应",
                             "加一列“户编号”或“收款人证件号码”（身份证号）")
    info.sheets = [t.grid.sheet for t in tables if t.grid.sheet]
    frame = pd.concat([t.frame for t in tables], ignore_index=True) if len(tables) > 1 else tables[0].frame
    notes = [n for t in tables for n in t.notes]
    return frame, info, concat_findings(notes) if notes else empty_findings()
