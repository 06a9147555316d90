"""Files of ``fupin funds``: the findings workbook, the printable 公告公示 of fund use, and the
synthetic payment lists of ``fupin samples payments``.

Findings workbook (-o findings.xlsx): 疑点 (every finding with file, sheet, Excel row, 户编号,
message, hint), 发放明细 (every payment with its matched household, status, item, amount and
standard; ID and account numbers masked), 按村按项目 (households, payments and amount per village
and item, with a column chart), 预算对比 (with ``--budget``), 驻村帮扶 (with ``--assist``), 说明 (provenance).  ``.csv`` /
``.parquet`` hold the 疑点 table only.

公告公示 (--publicity): one A4 landscape sheet per village: title, totals line, fund use by item
(项目, 户数, 金额), the payments (收款人, masked 证件号码 and 收款账号, 项目, 金额, 发放日期), the
公示期 and 监督电话 lines and signature lines.  The writer refuses an unmasked ID or account number.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import UsageError
from fupin_cli.findings import FINDING_LABELS_ZH, SEVERITY_LABELS_ZH
from fupin_cli.idnumber import mask, mask_account
from fupin_cli.io.register import provenance_rows

_LONG_NUMBER = re.compile(r"\d{9,}")
TOTAL_LABELS = {"township": "乡镇", "village": "行政村", "item": "资金项目", "households": "户数", "payments": "笔数", "amount": "金额（元）"}
ASSIST_LABELS = {"township": "乡镇", "village": "行政村", "poor_households": "建档立卡贫困户数", "task_force": "驻村工作队",
                 "start": "驻村开始时间", "end": "驻村结束时间", "years": "驻村年数", "result": "结果"}
BUDGET_LABELS = {"level": "层级", "township": "乡镇", "village": "行政村", "item": "资金项目", "budget": "预算（元）",
                 "paid": "已发放（元）", "remaining": "结余（元）", "result": "结果"}


def findings_frame(findings: pd.DataFrame) -> pd.DataFrame:
    out = findings.assign(severity=findings["severity"].map(SEVERITY_LABELS_ZH).fillna(findings["severity"]))
    return out.rename(columns=FINDING_LABELS_ZH)


def payments_frame(payments: pd.DataFrame) -> pd.DataFrame:
    """Every payment with what the check used; IDs and accounts masked."""
    def col(name):
        return payments[name] if name in payments.columns else pd.Series(None, index=payments.index, dtype=object)

    return pd.DataFrame({
        "文件": col("_source"), "工作表": col("_sheet"), "行号": col("_row"),
        "户编号（名单）": col("given_household"), "户编号（登记册）": col("matched_household"),
        "乡镇": col("township"), "行政村": col("village"), "建档立卡状态": col("status"),
        "收款人": col("payee"),
        "证件号码": col("payee_id").map(lambda v: mask(v) if isinstance(v, str) else ""),
        "收款账号": col("account").map(lambda v: mask_account(v) if isinstance(v, str) else ""),
        "资金项目": col("item"), "所属期": col("period_key"), "金额（元）": col("amount_value"),
        "标准（元）": col("standard"),
    })


def write_findings(result: Any, path: str | os.PathLike, provenance: dict[str, Any], *, force: bool = False) -> Path:
    from fupin_cli.io.write import check_output, write_csv, write_parquet
    from fupin_cli.io.xlsx import XlsxBook

    p = check_output(path, force, allowed=(".xlsx", ".csv", ".parquet"))
    table = findings_frame(result.findings)
    if p.suffix.lower() == ".csv":
        return write_csv(table, p, force)
    if p.suffix.lower() == ".parquet":
        return write_parquet(table, p, force)
    with XlsxBook(p, force=force) as book:
        book.add_table("疑点", table)
        book.add_table("发放明细", payments_frame(result.payments), money_columns=["金额（元）", "标准（元）"])
        totals = result.totals.rename(columns=TOTAL_LABELS)
        ws = book.add_table("按村按项目", totals, money_columns=["金额（元）"])
        rows = min(len(totals), 60)
        if rows:
            book.add_bar_chart(ws, "按村按项目", categories_col=1, values_cols=[list(totals.columns).index("金额（元）")],
                               n_rows=rows, title="各村资金发放（元）", kind="column", anchor=(len(totals) + 3, 0),
                               size=(max(640, 40 * rows + 200), 400))
        if result.budget is not None:
            book.add_table("预算对比", result.budget.rename(columns=BUDGET_LABELS),
                           money_columns=["预算（元）", "已发放（元）", "结余（元）"])
        if result.assistance is not None:
            book.add_table("驻村帮扶", result.assistance.rename(columns=ASSIST_LABELS))
        book.add_key_values("说明", provenance_rows(provenance))
    return p


# ---- 公告公示 -----------------------------------------------------------------------------
def write_fund_publicity(villages: list, path: str | os.PathLike, *, year: int, start: dt.date | None = None,
                         days: int = 7, phone: str = "", force: bool = False) -> Path:
    """``villages``: (township, village, summary by item, payments) as built by ``core.funds.publicity_frames``."""
    from fupin_cli.io.publicity import PublicityOptions, sheet_names
    from fupin_cli.io.write import check_output
    from fupin_cli.io.xlsx import XlsxBook

    p = check_output(path, force, allowed=(".xlsx",))
    for _, _, _, detail in villages:
        for c in ("证件号码", "收款账号"):
            if detail[c].astype(str).str.contains(_LONG_NUMBER).any():
                raise UsageError("公告公示: ID and account numbers must be masked before writing", "build it with publicity_frames()")
    options = PublicityOptions(year=year, start=start, days=days, phone=phone)
    with XlsxBook(p, force=force) as book:
        if not villages:
            book.wb.add_worksheet("公告公示").write_string(0, 0, f"{year}年没有发放记录")
            return p
        names = sheet_names(pd.DataFrame([(t, v) for t, v, _, _ in villages], columns=["township", "village"]))
        for (town, village, summary, detail), name in zip(villages, names):
            _village_sheet(book, name, town, village, summary, detail, options)
    return p


def _village_sheet(book, name, town, village, summary: pd.DataFrame, detail: pd.DataFrame, options) -> None:
    from fupin_cli.io.publicity import write_footer

    ws = book.wb.add_worksheet(name)
    widths = [6, 12, 24, 24, 22, 14, 14]
    ncol = len(widths)
    for j, w in enumerate(widths):
        ws.set_column(j, j, w)
    cell = book.fmt(border=1, valign="vcenter", align="center", num_format="@")
    money = book.fmt(border=1, valign="vcenter", num_format="#,##0.00")
    head = book.fmt(bold=True, border=1, align="center", valign="vcenter", bg_color="#F2F2F2")
    left = book.fmt(valign="vcenter")
    ws.set_row(0, 32)
    ws.merge_range(0, 0, 0, ncol - 1, f"{village}{options.year}年扶贫资金使用情况公告",
                   book.fmt(bold=True, font_size=16, align="center", valign="vcenter"))
    total = float(detail["金额（元）"].sum())
    ws.merge_range(1, 0, 1, ncol - 1, f"乡镇：{town or '　'}　　行政村：{village}　　共 {int(summary['households'].sum())} 户次 "
                   f"{len(detail)} 笔　合计 {total:,.2f} 元", left)
    row = 2
    ws.write_row(row, 0, ["序号", "资金项目", "户数", "金额（元）"], head)
    for i, r in enumerate(summary.itertuples(index=False), start=1):
        row += 1
        ws.write_number(row, 0, i, cell)
        ws.write_string(row, 1, str(r.item), cell)
        ws.write_number(row, 2, int(r.households), cell)
        ws.write_number(row, 3, float(r.amount), money)
    row += 2
    header_row = row
    ws.write_row(row, 0, ["序号", *detail.columns], head)
    for i, values in enumerate(detail.itertuples(index=False), start=1):
        row += 1
        ws.write_number(row, 0, i, cell)
        for j, v in enumerate(values, start=1):
            if isinstance(v, float):
                ws.write_number(row, j, v, money)
            else:
                ws.write_string(row, j, "" if v is None or v is pd.NA else str(v), cell)
    write_footer(ws, row + 2, ncol, left, options, objection="资金使用")
    book.print_setup(ws, landscape=True, repeat_rows=(header_row, header_row))


# ---- sample payment lists -----------------------------------------------------------------
def write_payments(frame: pd.DataFrame, path: str | os.PathLike, *, title: str, force: bool = False) -> Path:
    """A payment list as county offices keep it: a title row, then the header, one row per payment."""
    from fupin_cli.io.write import check_output
    from fupin_cli.io.xlsx import XlsxBook

    p = check_output(path, force, allowed=(".xlsx",))  # the truth's rows are the workbook's Excel rows
    with XlsxBook(p, force=force, private=True) as book:  # a generated list with full (synthetic) IDs and accounts
        book.add_table("发放名单", frame, title=title, text_columns=["户编号", "收款人身份证号", "收款账号", "所属期"],
                       money_columns=["金额(元)"], freeze=False, autofilter=False)
    return p
