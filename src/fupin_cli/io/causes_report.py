"""The 致贫原因 workbook written by ``fupin causes -o causes.xlsx``.

Sheets: 致贫原因 (households and people by primary cause, shares, a 合计 row and a native column
chart of households by cause), 按乡镇 / 按行政村 (area × cause with a stacked column chart),
次要原因 (primary × secondary co-occurrence), 按属性 (贫困户属性 × cause), 说明 (provenance).
Every table sits under a title row and prints on A4 landscape with its title and header repeated.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.core.causes import AREAS, LABELS, CausesReport
from fupin_cli.io.register import provenance_rows

MAX_CHART_CATEGORIES = 60  # a stacked chart over more areas is unreadable; the table still has them all


def _zh(df: pd.DataFrame) -> pd.DataFrame:
    return df.rename(columns={c: LABELS.get(c, c) for c in df.columns})


def with_total(by_cause: pd.DataFrame) -> pd.DataFrame:
    total = {"cause": LABELS["total"], "households": int(by_cause["households"].sum()), "people": int(by_cause["people"].sum()),
             "household_share": 1.0 if by_cause["households"].sum() else 0.0,
             "people_share": 1.0 if by_cause["people"].sum() else 0.0}
    return pd.concat([by_cause, pd.DataFrame([total])], ignore_index=True)


def write_causes(report: CausesReport, path: str | os.PathLike, provenance: dict[str, Any], *, force: bool = False) -> Path:
    from fupin_cli.io.write import check_output
    from fupin_cli.io.xlsx import XlsxBook

    p = check_output(path, force, allowed=(".xlsx",))
    pct = [LABELS["household_share"], LABELS["people_share"]]
    year = provenance.get("year")
    place = f"{year}年" if year else ""
    with XlsxBook(p, force=force) as book:
        name = "致贫原因"
        by_cause = with_total(report.by_cause)
        ws = book.add_table(name, _zh(by_cause), percent_columns=pct, autofilter=False, title=f"{place}建档立卡贫困户主要致贫原因统计表")
        book.print_setup(ws, landscape=True, repeat_rows=(0, 1))
        n = len(report.by_cause)
        if n:  # a column chart, categories left to right in the table's order
            book.add_bar_chart(ws, name, categories_col=0, values_cols=[1], n_rows=n, title="贫困户主要致贫原因（户）",
                               anchor=(n + 4, 0), header_row=1, kind="column", size=(720, 360))
        area_zh = AREAS[report.area]
        name = f"按{area_zh}"
        by_area = report.by_area
        ws = book.add_table(name, _zh(by_area), autofilter=True, title=f"{place}各{area_zh}贫困户致贫原因统计表")
        book.print_setup(ws, landscape=True, repeat_rows=(0, 1))
        key_cols = 1 if report.area == "township" else 2
        cause_cols = [j for j, c in enumerate(by_area.columns) if j >= key_cols and c != "total" and by_area[c].sum() > 0]
        rows = min(len(by_area), MAX_CHART_CATEGORIES)
        if rows and cause_cols:
            book.add_bar_chart(ws, name, categories_col=key_cols - 1, values_cols=cause_cols, n_rows=rows,
                               title=f"各{area_zh}贫困户致贫原因构成（户）", kind="column", stacked=True,
                               anchor=(len(by_area) + 4, 0), header_row=1, size=(max(640, 40 * rows + 200), 420))
        ws = book.add_table("次要原因", _zh(report.cooccurrence), autofilter=False, title=f"{place}主要致贫原因与次要致贫原因（户）")
        book.print_setup(ws, landscape=True, repeat_rows=(0, 1))
        ws = book.add_table("按属性", _zh(report.by_attribute), autofilter=False, title=f"{place}各类贫困户致贫原因（户）")
        book.print_setup(ws, landscape=True, repeat_rows=(0, 1))
        book.add_key_values("说明", provenance_rows(provenance))
    return p
