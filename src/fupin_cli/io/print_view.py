"""Sheets made to be printed and filed: the 登记册 print view and the 汇总 statistics table.

Both: a title, a 填报单位 / 填报日期 line, the table with its header repeated on every page, page
numbers, A4 landscape fitted to one page wide, and signature lines (填表人, 审核人, 负责人) with the
names from fupin.toml where given, blank lines to sign by hand where not.

The 登记册 print view holds the columns an office files (序号 … 未识别原因, at most 20); the full
register stays on the 登记册 sheet beside it.  ID numbers on paper are masked (first 6 + last 4).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pandas as pd

BLANK = "＿＿＿＿＿＿"
# (canonical column, label, width): the register columns an office files, in order
PRINT_COLUMNS = [
    ("seq", "序号", 5), ("township", "乡镇", 9), ("village", "行政村", 9), ("household_id", "户编号", 17),
    ("head_name", "户主姓名", 8), ("head_id_masked", "户主证件号码", 19), ("household_size", "人口", 5),
    ("income_per_capita", "人均纯收入(元)", 10), ("transition", "动态调整类型", 9), ("status", "识别结果", 8),
    ("attribute", "贫困户属性", 11), ("primary_cause", "主要致贫原因", 9), ("secondary_causes", "次要致贫原因", 11),
    ("measures", "帮扶措施建议", 22), ("responsible_person", "帮扶责任人", 8), ("not_identified_reason", "未识别原因", 26),
]
WRAP_COLUMNS = {"secondary_causes", "measures", "not_identified_reason"}
MONEY_COLUMNS = {"income_per_capita"}
INT_COLUMNS = {"seq", "household_size"}


@dataclass
class PrintInfo:
    """What the printed sheets say about who made them (fupin.toml: unit, [signatures])."""

    unit: str | None = None  # 填报单位
    preparer: str | None = None  # 填表人
    reviewer: str | None = None  # 审核人
    leader: str | None = None  # 负责人
    year: int | None = None
    county: str | None = None

    def place(self) -> str:
        return self.county or ""

    def unit_line(self) -> str:
        return f"填报单位：{self.unit or BLANK * 2}（盖章）　　　　填报日期：　　　　年　　月　　日"

    def signature_line(self) -> str:
        return (f"填表人：{self.preparer or BLANK}　　　　审核人：{self.reviewer or BLANK}　　　　"
                f"负责人：{self.leader or BLANK}")


def _county(households: pd.DataFrame) -> str | None:
    if "county" not in households.columns:
        return None
    s = households["county"].dropna().astype(str).str.strip()
    s = s[s != ""]
    return str(s.mode().iloc[0]) if len(s) else None


def info_for(households: pd.DataFrame, info: PrintInfo | None, year: int | None) -> PrintInfo:
    out = PrintInfo(**(info.__dict__ if info is not None else {}))
    out.year = out.year or year
    out.county = out.county or _county(households)
    return out


HEADING_ROWS = 2  # title, 填报单位 line
SIGNATURE_ROWS = 2  # a blank row, the signature line


def _heading(book, ws, title: str, ncol: int, info: PrintInfo) -> int:
    ws.set_row(0, 30)
    ws.merge_range(0, 0, 0, ncol - 1, title, book.fmt(bold=True, font_size=16, align="center", valign="vcenter"))
    ws.merge_range(1, 0, 1, ncol - 1, info.unit_line(), book.fmt(align="left", valign="vcenter"))
    return 2


def _signatures(book, ws, row: int, ncol: int, info: PrintInfo) -> None:
    ws.set_row(row + 1, 28)
    ws.merge_range(row + 1, 0, row + 1, ncol - 1, info.signature_line(), book.fmt(align="left", valign="vcenter"))


def _cell(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and v != v) or (isinstance(v, str) and not v.strip()):
        return None
    if isinstance(v, (list, tuple)):
        return "、".join(map(str, v))
    if hasattr(v, "item") and not isinstance(v, str):
        v = v.item()
    return v


def register_print_sheet(book, name: str, households: pd.DataFrame, info: PrintInfo, *, title: str) -> Any:
    """The 登记册 print view: the filed columns, masked IDs, print setup, signatures."""
    from fupin_cli.core.history import masked_head_ids

    frame = households.assign(seq=range(1, len(households) + 1), head_id_masked=masked_head_ids(households).to_numpy())
    cols = [(key, label, width) for key, label, width in PRINT_COLUMNS if key in frame.columns]
    ncol = len(cols)
    ws = book.wb.add_worksheet(name[:31])
    border = book.fmt(border=1, valign="vcenter", font_size=10)
    wrap = book.fmt(border=1, valign="vcenter", text_wrap=True, font_size=10)
    text = book.fmt(border=1, valign="vcenter", num_format="@", font_size=10)
    money = book.fmt(border=1, valign="vcenter", num_format="#,##0.00", font_size=10)
    for j, (_, _, width) in enumerate(cols):
        ws.set_column(j, j, width)
    row = _heading(book, ws, title, ncol, info)
    ws.set_row(row, 30)
    ws.write_row(row, 0, [label for _, label, _ in cols],
                 book.fmt(bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color="#F2F2F2", font_size=10))
    header_row = row
    row = _print_rows(ws, frame, cols, row + 1, border=border, wrap=wrap, text=text, money=money) - 1
    _signatures(book, ws, row + 1, ncol, info)
    head_name = next((j for j, (key, _, _) in enumerate(cols) if key == "head_name"), 0)
    ws.freeze_panes(header_row + 1, head_name + 1)  # 户编号 and 户主姓名 stay in view
    book.print_setup(ws, landscape=True, repeat_rows=(header_row, header_row))
    ws.set_margins(left=0.3, right=0.3, top=0.5, bottom=0.6)
    return ws


def print_rows_fit(n_rows: int) -> bool:
    """Whether a print view of ``n_rows`` households fits one sheet (title, unit line, header above;
    the signature lines below): XlsxWriter would drop the rows past the sheet's end silently."""
    from fupin_cli.io.xlsx import rows_fit

    return n_rows <= rows_fit(HEADING_ROWS + 1, SIGNATURE_ROWS)


def _print_rows(ws, frame: pd.DataFrame, cols, row: int, *, border, wrap, text, money) -> int:
    """The print view's data rows (public per-cell writers, in row order, with progress); every cell
    framed, blank ones too.  Returns the row after the last."""
    from fupin_cli.io.progress import rows_reporter
    from fupin_cli.io.xlsx import CHUNK_ROWS, RowWriter

    formats, kinds = [], []
    for key, _, _ in cols:
        numeric = key in MONEY_COLUMNS or key in INT_COLUMNS
        formats.append(money if key in MONEY_COLUMNS else border if numeric else wrap if key in WRAP_COLUMNS
                       else text if key == "household_id" else border)
        kinds.append(numeric)
    writer = RowWriter(ws, formats, [border] * len(cols))
    progress = rows_reporter()
    n = len(frame)
    for start in range(0, n, CHUNK_ROWS):
        part = frame.iloc[start:start + CHUNK_ROWS]
        columns = [_print_cells(part[key].tolist(), numeric) for (key, _, _), numeric in zip(cols, kinds)]
        report = None if progress is None else (lambda done, start=start: progress(start + done, n))
        row = writer.write(row, columns, len(part), report)
    return row


def _print_cells(values: list, numeric: bool) -> tuple[list, int]:
    """One column of the print view as (cell values, kind): numbers where the column is numeric and
    the value reads as one, else text; blank for missing and whitespace-only values."""
    from fupin_cli.io.xlsx import CELL_MIXED, CELL_TEXT

    out: list = []
    for v in values:
        v = _cell(v)
        if v is None:
            out.append(None)
        elif numeric:
            try:
                number = float(v)
            except (TypeError, ValueError):
                number = None
            out.append(number if number is not None and math.isfinite(number) else str(v))
        else:
            out.append(str(v))
    return out, (CELL_MIXED if numeric else CELL_TEXT)


def summary_table_sheet(book, name: str, table: pd.DataFrame, labels: dict[str, str], info: PrintInfo, *, title: str,
                        percent: set[str]) -> Any:
    """汇总 as the office's statistics table: ``table`` (canonical columns) under a title, with signatures."""
    cols = list(table.columns)
    ncol = len(cols)
    ws = book.wb.add_worksheet(name[:31])
    border = book.fmt(border=1, valign="vcenter", align="center")
    bold = book.fmt(border=1, valign="vcenter", align="center", bold=True)
    pct = book.fmt(border=1, valign="vcenter", align="center", num_format="0.00%")
    pct_bold = book.fmt(border=1, valign="vcenter", align="center", num_format="0.00%", bold=True)
    for j, c in enumerate(cols):
        ws.set_column(j, j, 12 if c in ("township", "village") else max(8, min(14, len(labels.get(c, c)) * 2 + 2)))
    row = _heading(book, ws, title, ncol, info)
    ws.set_row(row, 36)
    ws.write_row(row, 0, [labels.get(c, c) for c in cols],
                 book.fmt(bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color="#F2F2F2"))
    header_row = row
    for rec in table.itertuples(index=False):
        row += 1
        emphasis = rec[cols.index("village")] in ("小计", "") if "village" in cols else False
        for j, (c, v) in enumerate(zip(cols, rec)):
            v = _cell(v)
            if v is None:
                ws.write_blank(row, j, None, bold if emphasis else border)
            elif isinstance(v, (int, float)) and not isinstance(v, bool):
                ws.write_number(row, j, v, (pct_bold if emphasis else pct) if c in percent else (bold if emphasis else border))
            else:
                ws.write_string(row, j, str(v), bold if emphasis else border)
    _signatures(book, ws, row + 1, ncol, info)
    ws.freeze_panes(header_row + 1, 2 if "village" in cols else 1)
    book.print_setup(ws, landscape=True, repeat_rows=(header_row, header_row))
    return ws
