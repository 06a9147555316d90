"""公示名单: the printable list of identified poor households, one sheet per village.

Each sheet: title ``XX村2015年建档立卡贫困户公示名单``, a line with township, village and
totals, the table (序号, 户主姓名, 证件号码 masked to first 6 + last 4, 家庭人口数, 贫困户属性,
主要致贫原因), then the 公示期 line (公示期：…至…（7天）), 监督电话, the objection notice and
signature lines.  A4 landscape, title and header rows repeated on every printed page, fit to
one page wide, page numbers in the footer.

The frame given here is already masked (:func:`fupin_cli.core.identify.publicity_list`); this
module only lays it out, and refuses a 证件号码 column that still holds a full ID number.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import UsageError
from fupin_cli.idnumber import mask_text

COLUMNS = [("seq", "序号", 6), ("head_name", "户主姓名", 12), ("head_id_masked", "证件号码", 24),
           ("household_size", "家庭人口数", 11), ("attribute", "贫困户属性", 18), ("primary_cause", "主要致贫原因", 16)]
NUMBER_KEYS = ("household_size", "income_per_capita", "exit_year")  # written as numbers
INT_KEYS = ("household_size", "exit_year")
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_FULL_ID = re.compile(r"^\d{17}[\dXx]$|^\d{15}$")


@dataclass
class PublicityOptions:
    year: int
    start: dt.date | None = None  # first day of the 公示 period
    days: int = 7
    phone: str = ""  # 监督电话
    stage: str = ""  # e.g. 第一次公示 / 第二次公示 (optional subtitle)
    # generalised for other printed lists (e.g. the 脱贫名单 of `fupin exit`); defaults = the 公示名单
    columns: list | None = None  # [(key, label, width)], default COLUMNS; key "seq" numbers the rows
    title_text: str | None = None  # template with {village} and {year}, default title()
    empty_text: str | None = None  # the one line written when there is no household

    def period_line(self) -> str:
        if self.start is None:
            period = "____年__月__日至____年__月__日"
        else:
            end = self.start + dt.timedelta(days=self.days - 1)
            period = f"{_cn_date(self.start)}至{_cn_date(end)}"
        return f"公示期：{period}（{self.days}天）"

    def phone_line(self) -> str:
        return f"监督电话：{self.phone or '________________'}"


def _cn_date(d: dt.date) -> str:
    return f"{d.year}年{d.month}月{d.day}日"


def title(village: str, year: int) -> str:
    return f"{village}{year}年建档立卡贫困户公示名单"


def sheet_names(keys: pd.DataFrame) -> list[str]:
    """One sheet name per (township, village): the village, or 乡镇-村 where names repeat; ≤31 chars, unique."""
    village = keys["village"].astype(str)
    dup = village.duplicated(keep=False)
    names = []
    used: set[str] = set()
    for town, vil, is_dup in zip(keys["township"].astype(str), village, dup):
        base = _SHEET_BAD.sub("_", f"{town}-{vil}" if is_dup else vil)[:31] or "村"
        name, i = base, 2
        while name.lower() in used:
            suffix = f"({i})"
            name, i = base[: 31 - len(suffix)] + suffix, i + 1
        used.add(name.lower())
        names.append(name)
    return names


MAX_VILLAGE_SHEETS = 100  # above this many villages: one workbook per township, and an index workbook


def write_publicity(frame: pd.DataFrame, path: str | os.PathLike, options: PublicityOptions, *,
                    force: bool = False, font: str | None = None) -> Path:
    """Write the 公示 workbook (see :func:`write_publicity_files`); returns ``path``."""
    return write_publicity_files(frame, path, options, force=force, font=font)[0]


def _ordered(frame: pd.DataFrame) -> pd.DataFrame:
    df = frame.assign(township=frame["township"].astype(object).fillna(""), village=frame["village"].astype(object).fillna("(未填)"))
    # villages in roster order (first appearance), households by 户编号 within a village
    first = df.groupby(["township", "village"], sort=False).ngroup()
    df = df.assign(_village_order=first.to_numpy())
    return df.sort_values(["_village_order", "household_id"] if "household_id" in df else ["_village_order"], kind="stable")


def write_publicity_files(frame: pd.DataFrame, path: str | os.PathLike, options: PublicityOptions, *,
                          force: bool = False, font: str | None = None, max_sheets: int = MAX_VILLAGE_SHEETS) -> list[Path]:
    """Write the 公示 workbook(s).  ``frame``: township, village, head_name, head_id_masked, household_size, …
    (one row per listed household, any order).

    Up to ``max_sheets`` villages: one workbook, a sheet per village.  More (a large county): ``path`` becomes
    an index workbook (sheet 目录: 乡镇, 文件, 村数, 户数, 人数) and each township gets its own workbook
    ``<stem>-<乡镇>.xlsx`` beside it, with its own 目录 sheet and a sheet per village.  Returns every file written."""
    from fupin_cli.io.write import check_output

    p = check_output(path, force, allowed=(".xlsx",))
    ids = frame["head_id_masked"].astype(object).dropna().astype(str)
    if ids.str.match(_FULL_ID).any():
        raise UsageError("公示名单: 证件号码 must be masked before writing", "build the list with publicity_list()")
    df = _ordered(frame)
    groups = list(df.groupby(["township", "village"], sort=False))
    if len(groups) <= max_sheets:
        _workbook(p, groups, options, force=force, font=font)
        return [p]
    written = []
    index_rows = []
    for town, part in df.groupby("township", sort=False):
        name = _SHEET_BAD.sub("_", f"{p.stem}-{town or '未填乡镇'}")
        target = p.with_name(f"{name}.xlsx")
        village_groups = list(part.groupby(["township", "village"], sort=False))
        _workbook(target, village_groups, options, force=force, font=font, index=True)
        written.append(target)
        index_rows.append((town or "(未填)", target.name, len(village_groups), len(part), _people(part)))
    _index_workbook(p, index_rows, options, force=force, font=font)
    return [p, *written]


def _people(part: pd.DataFrame) -> int:
    return int(pd.to_numeric(part["household_size"], errors="coerce").fillna(0).sum())


def _workbook(p: Path, groups: list, options: PublicityOptions, *, force: bool, font: str | None, index: bool = False) -> None:
    from fupin_cli.io.xlsx import XlsxBook

    kwargs: dict[str, Any] = {"font": font} if font else {}
    with XlsxBook(p, force=force, **kwargs) as book:
        if not groups:
            ws = book.wb.add_worksheet("公示名单")
            ws.write_string(0, 0, options.empty_text or f"{options.year}年没有识别出贫困户")
            return
        names = sheet_names(pd.DataFrame([k for k, _ in groups], columns=["township", "village"]))
        if index:
            rows = [(town, vil, name, len(part), _people(part)) for ((town, vil), part), name in zip(groups, names)]
            _index_sheet(book, ["乡镇", "行政村", "工作表", "户数", "人数"], rows, f"{options.year}年公示名单目录", link_col=2)
        for ((town, village), part), name in zip(groups, names):
            _village_sheet(book, name, town, village, part, options)


def _index_workbook(p: Path, rows: list, options: PublicityOptions, *, force: bool, font: str | None) -> None:
    from fupin_cli.io.xlsx import XlsxBook

    kwargs: dict[str, Any] = {"font": font} if font else {}
    with XlsxBook(p, force=force, **kwargs) as book:
        _index_sheet(book, ["乡镇", "文件", "村数", "户数", "人数"], rows, f"{options.year}年公示名单目录（按乡镇分册）")


def _index_sheet(book, header: list[str], rows: list, title: str, link_col: int | None = None) -> None:
    """目录: one row per township file (index workbook) or per village sheet (a township's workbook)."""
    ws = book.wb.add_worksheet("目录")
    widths = [12, 12, 30, 8, 8] if link_col is not None else [12, 30, 8, 8, 8]
    for j, w in enumerate(widths[: len(header)]):
        ws.set_column(j, j, w)
    ws.merge_range(0, 0, 0, len(header) - 1, title, book.fmt(bold=True, font_size=14, align="center"))
    ws.write_row(1, 0, header, book.fmt(bold=True, border=1, align="center", bg_color="#F2F2F2"))
    cell = book.fmt(border=1)
    for i, values in enumerate(rows, start=2):
        for j, v in enumerate(values):
            if isinstance(v, (int, float)):
                ws.write_number(i, j, v, cell)
            elif j == link_col:
                ws.write_url(i, j, f"internal:'{v}'!A1", cell, string=str(v))
            else:
                ws.write_string(i, j, str(v), cell)
    book.print_setup(ws, landscape=False, repeat_rows=(1, 1))


def _village_sheet(book, name: str, town: str, village: str, part: pd.DataFrame, options: PublicityOptions) -> None:
    ws = book.wb.add_worksheet(name)
    columns = options.columns or COLUMNS
    ncol = len(columns)
    border = book.fmt(border=1, valign="vcenter", align="center")
    text = book.fmt(border=1, valign="vcenter", align="center", num_format="@")
    left = book.fmt(valign="vcenter")
    for j, (_, _, width) in enumerate(columns):
        ws.set_column(j, j, width)
    ws.set_row(0, 32)
    heading = options.title_text.format(village=village, year=options.year) if options.title_text else title(village, options.year)
    ws.merge_range(0, 0, 0, ncol - 1, heading, book.fmt(bold=True, font_size=16, align="center", valign="vcenter"))
    people = int(pd.to_numeric(part["household_size"], errors="coerce").fillna(0).sum())
    sub = f"乡镇：{town or '　'}　　行政村：{village}　　共 {len(part)} 户 {people} 人" + (f"　　{options.stage}" if options.stage else "")
    ws.merge_range(1, 0, 1, ncol - 1, sub, book.fmt(align="left", valign="vcenter"))
    ws.set_row(2, 24)
    ws.write_row(2, 0, [lab for _, lab, _ in columns], book.fmt(bold=True, border=1, align="center", valign="vcenter", bg_color="#F2F2F2"))
    row = 3
    numbers = {key: pd.to_numeric(part[key], errors="coerce") for key, _, _ in columns if key in NUMBER_KEYS and key in part}
    values = [numbers[key] if key in numbers else (part[key] if key in part else pd.Series([None] * len(part)))
              for key, _, _ in columns]
    for i, cells in enumerate(zip(*values), start=1):
        for j, ((key, _, _), v) in enumerate(zip(columns, cells)):
            if key == "seq":
                ws.write_number(row, j, i, border)
            elif key in numbers:
                if pd.isna(v):
                    ws.write_blank(row, j, None, border)
                else:
                    ws.write_number(row, j, int(v) if key in INT_KEYS else round(float(v), 2), border)
            else:
                # any ID number typed into another column (a name, a note) is masked too: the list is posted publicly
                ws.write_string(row, j, mask_text(_s(v)), text if key == "head_id_masked" else border)
        row += 1
    write_footer(ws, row + 1, ncol, left, options, objection="名单", signature_height=28)
    book.print_setup(ws, landscape=True, repeat_rows=(0, 2))


def write_footer(ws, row: int, ncol: int, fmt, options: PublicityOptions, *, objection: str,
                 signature_height: float | None = None) -> None:
    """The foot of a posted list from ``row`` on: the 公示期 and phone lines, where to object (to the
    ``objection``: 名单, 资金使用), then the stamp and signature lines (村党支部, 村民委员会, 驻村工作队, 公示日期)."""
    for line in (options.period_line(), options.phone_line(),
                 f"如对{objection}有异议，请在公示期内向村民委员会、乡镇人民政府或县扶贫开发办公室反映。"):
        ws.merge_range(row, 0, row, ncol - 1, line, fmt)
        row += 1
    row += 1  # a blank row, then the stamp and signature lines
    for left_text, right_text in (("村党支部（盖章）：", "村民委员会（盖章）："), ("驻村工作队（签字）：", "公示日期：　　　　年　　月　　日")):
        if signature_height is not None:
            ws.set_row(row, signature_height)
        ws.merge_range(row, 0, row, 2, left_text, fmt)
        ws.merge_range(row, 3, row, ncol - 1, right_text, fmt)
        row += 1


def _s(v) -> str:
    if v is None or (isinstance(v, float) and v != v) or v is pd.NA:
        return ""
    return str(v)
