"""The workbook (or table) written by ``fupin measures -o``.

.xlsx sheets: 总体 (every county figure, with 95% intervals under ``--sample``), one 按<分组> sheet per
``--by`` (group rows that add up to the county, with a column chart of P0 and M0), 多维贫困 (the
MPI's indicators: weights, evaluated or not, uncensored and censored headcounts, contributions,
with a bar chart), 标准敏感性 (FGT at 0.8×, 1×, 1.2×, 1.5× the line, and the poverty-incidence
curve as a native line chart), 项目台账 (the pack's estimates summed: relocation subsidies, microcredit
limits and interest; the share of registered poor among the relocated), 收入不可用 (households left out
and why), 说明 (provenance).
.csv / .parquet: one long table, a row for the county and one per group of every view.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.core.measures import BY_KEYS, BY_LABELS, LABELS, MEASURE_COLUMNS, MeasuresResult
from fupin_cli.io.register import provenance_rows

MAX_CHART_CATEGORIES = 60
PERCENT = ["fgt0", "fgt1", "fgt2", "near_line_share", "H", "A", "M0"]
OVERALL_ROWS = [
    ("households", "户数（可用收入）"), ("people", "人数（可用收入）"), ("registered_people", LABELS["registered_people"]),
    ("income_poor_people", LABELS["income_poor_people"]), ("inclusion_people", LABELS["inclusion_people"]),
    ("exclusion_people", LABELS["exclusion_people"]), ("fgt0", LABELS["fgt0"]), ("fgt1", LABELS["fgt1"]),
    ("fgt2", LABELS["fgt2"]), ("gap_yuan", LABELS["gap_yuan"]), ("near_line_share", LABELS["near_line_share"] + "（1–1.5倍标准）"),
    ("H", LABELS["H"]), ("A", LABELS["A"]), ("M0", LABELS["M0"]),
]


def long_table(result: MeasuresResult) -> pd.DataFrame:
    """County row then every group row of every view (for .csv / .parquet)."""
    frames = []
    keys = ["township", "village", "primary_cause", "attribute"]
    o = result.overall.assign(view="总体")
    frames.append(o)
    for by, df in result.groups.items():
        frames.append(df.assign(view=BY_LABELS[by]))
    out = pd.concat(frames, ignore_index=True)
    for k in keys:
        if k not in out.columns:
            out[k] = None
    extra = [c for c in out.columns if c.startswith(("h_", "ch_", "contrib_"))]
    out = out[["view", *keys, *MEASURE_COLUMNS, *extra]]
    return out.rename(columns={**LABELS, "view": "视图"})


def write_measures(result: MeasuresResult, path: str | os.PathLike, provenance: dict[str, Any], *, force: bool = False) -> Path:
    from fupin_cli.io.write import check_output, write_csv, write_parquet

    p = check_output(path, force, allowed=(".xlsx", ".csv", ".parquet"))
    suffix = p.suffix.lower()
    if suffix == ".csv":
        return write_csv(long_table(result), p, force)
    if suffix == ".parquet":
        return write_parquet(long_table(result), p, force)
    return _write_xlsx(result, p, provenance, force)


RATES = {"fgt0", "fgt1", "fgt2", "near_line_share", "H", "A", "M0"}


def _overall_frame(result: MeasuresResult) -> pd.DataFrame:
    """指标 with 数值 (people, households, yuan) or 比率 (shares, formatted as %), and 95% intervals with --sample."""
    o = result.overall.iloc[0]
    ci = (result.ci or {}).get("overall", {})
    rows = []
    for key, label in OVERALL_ROWS:
        if key in ("H", "A", "M0") and not result.mpi_computed:
            continue
        v = None if pd.isna(o[key]) else float(o[key])
        row = {"指标": label, "数值": None if key in RATES else v, "比率": v if key in RATES else None}
        if result.ci is not None:
            lo, hi = ci.get(key, [None, None])
            rate = key in RATES
            row.update({"比率95%下限": lo if rate else None, "比率95%上限": hi if rate else None,
                        "95%下限（元）": None if rate else lo, "95%上限（元）": None if rate else hi})
        rows.append(row)
    rows.append({"指标": f"扶贫标准 z（{result.line_param.get('label')}，{result.line_param.get('year')}，"
                       f"{result.line_param.get('region')}）", "数值": result.line, "比率": None})
    return pd.DataFrame(rows)


def _indicator_frame(result: MeasuresResult) -> pd.DataFrame:
    o = result.overall.iloc[0]
    rows = []
    for i in result.indicators:
        rows.append({
            "维度": i.dimension, "指标": i.label, "代码": i.id, "权重": i.weight, "采用权重": i.used_weight,
            "是否评估": "是" if i.evaluated else "否（源表无此列）", "输入字段": "、".join(i.inputs),
            "未填户数（按未剥夺计）": i.unknown_households,
            "剥夺率（未删减）": float(o[f"h_{i.id}"]) if i.evaluated else None,
            "删减剥夺率 CH": float(o[f"ch_{i.id}"]) if i.evaluated and result.mpi_computed else None,
            "贡献率": (None if not (i.evaluated and result.mpi_computed) or pd.isna(o[f"contrib_{i.id}"])
                    else float(o[f"contrib_{i.id}"])),
        })
    return pd.DataFrame(rows)


def _group_frame(result: MeasuresResult, by: str) -> pd.DataFrame:
    df = result.groups[by]
    keys = BY_KEYS[by]
    out = df[[*keys, *MEASURE_COLUMNS]].copy()
    total = {k: "" for k in keys}
    total[keys[0]] = "合计"
    total.update(result.overall.iloc[0][MEASURE_COLUMNS].to_dict())
    out = pd.concat([out, pd.DataFrame([total])], ignore_index=True)
    if not result.mpi_computed:
        out = out.drop(columns=["H", "A", "M0"])
    return out.rename(columns=LABELS)


def _write_xlsx(result: MeasuresResult, p: Path, provenance: dict[str, Any], force: bool) -> Path:
    from fupin_cli.io.xlsx import XlsxBook

    pct_labels = [LABELS[c] for c in PERCENT]
    with XlsxBook(p, force=force) as book:
        book.add_table("总体", _overall_frame(result), autofilter=False, percent_columns=["比率", "比率95%下限", "比率95%上限"],
                       money_columns=["95%下限（元）", "95%上限（元）"])
        for by in result.groups:
            name = f"按{BY_LABELS[by]}"
            frame = _group_frame(result, by)
            ws = book.add_table(name, frame, percent_columns=pct_labels, money_columns=[LABELS["gap_yuan"]])
            rows = min(len(frame) - 1, MAX_CHART_CATEGORIES)
            cols = [j for j, c in enumerate(frame.columns) if c in (LABELS["fgt0"], LABELS["M0"])]
            if rows > 0:
                book.add_bar_chart(ws, name, categories_col=len(BY_KEYS[by]) - 1, values_cols=cols, n_rows=rows,
                                   title=f"各{BY_LABELS[by]}贫困发生率与多维贫困指数", kind="column",
                                   anchor=(len(frame) + 3, 0), size=(max(640, 40 * rows + 200), 400))
        ind = _indicator_frame(result)
        ws = book.add_table("多维贫困", ind, percent_columns=["权重", "采用权重", "剥夺率（未删减）", "删减剥夺率 CH", "贡献率"],
                            autofilter=False)
        if result.mpi_computed and len(ind):
            book.add_bar_chart(ws, "多维贫困", categories_col=1, values_cols=[list(ind.columns).index("贡献率")],
                               n_rows=len(ind), title="各指标对 M0 的贡献率", anchor=(len(ind) + 3, 0),
                               size=(640, 60 + 30 * len(ind)))
        _sensitivity_sheet(book, result)
        _programmes_sheet(book, result)
        unusable = result.unusable.rename(columns={"reason": "原因", "households": "户数", "people": "人数"})
        ws = book.add_table("收入不可用", unusable, autofilter=False)
        if len(result.unusable_households):
            lst = result.unusable_households.rename(columns={"household_id": "户编号", "township": "乡镇", "village": "行政村",
                                                             "head_name": "户主姓名", "reason": "原因"})
            _below(book, ws, lst, start=len(unusable) + 3)
        book.add_key_values("说明", provenance_rows(provenance))
    return p


PROGRAMME_LABELS = {"rule": "规则", "label": "测算项目", "unit": "单位", "households": "户数", "people": "人数", "total": "合计"}
RELOCATION_LABELS = {
    "relocated_households": "搬迁户数", "relocated_people": "搬迁人数", "poor_households": "其中建档立卡贫困户数",
    "poor_people": "其中建档立卡贫困人口", "poor_share_of_relocated_people": "搬迁人口中贫困人口占比（防止搬富不搬穷）",
    "relocated_share_of_poor_people": "贫困人口中搬迁人口占比",
}


def _programmes_sheet(book, result: MeasuresResult) -> None:
    """项目台账: the pack's estimates summed over the county, and the relocation check."""
    prog = result.programmes or {}
    est = prog.get("estimates")
    frame = est.rename(columns=PROGRAMME_LABELS) if est is not None and len(est) else pd.DataFrame(
        {"测算项目": ["（规则包在本年度没有测算规则）"]})
    ws = book.add_table("项目台账", frame, money_columns=["合计"], autofilter=False, freeze=False)
    rows = [("易地扶贫搬迁", "")]
    reloc = prog.get("relocation")
    if reloc is None:
        rows.append(("说明", "源表没有“是否易地扶贫搬迁户”列：未核对搬迁对象"))
    else:
        rows += [(RELOCATION_LABELS[k], "" if v is None else v) for k, v in reloc.items()]
    start = len(frame) + 3
    for i, (k, v) in enumerate(rows):
        ws.write_string(start + i, 0, k, book.header_format if i == 0 else None)
        if isinstance(v, float):
            ws.write_number(start + i, 1, v, book.fmt(num_format="0.00%"))
        elif isinstance(v, int):
            ws.write_number(start + i, 1, v)
        else:
            ws.write_string(start + i, 1, str(v))


def _below(book, ws, df: pd.DataFrame, start: int) -> None:
    """A second small table under the first one on the same sheet (text cells)."""
    ws.write_row(start, 0, list(df.columns), book.header_format)
    for i, values in enumerate(df.itertuples(index=False), start=start + 1):
        for j, v in enumerate(values):
            ws.write_string(i, j, "" if v is None or v is pd.NA or (isinstance(v, float) and v != v) else str(v))


def _sensitivity_sheet(book, result: MeasuresResult) -> None:
    sens = result.sensitivity.rename(columns=LABELS)
    name = "标准敏感性"
    ws = book.add_table(name, sens, percent_columns=[LABELS["fgt0"], LABELS["fgt1"], LABELS["fgt2"]],
                        money_columns=[LABELS["gap_yuan"], LABELS["line"]], autofilter=False, freeze=False)
    curve = result.curve.rename(columns={"multiple": "标准倍数", "line": "标准（元）", "fgt0": "标准以下人口占比"})
    start = len(sens) + 3
    pct = book.fmt(num_format="0.00%")
    ws.write_row(start, 0, list(curve.columns), book.header_format)
    for i, (m, line, share) in enumerate(curve.itertuples(index=False), start=start + 1):
        ws.write_number(i, 0, float(m))
        ws.write_number(i, 1, float(line))
        if share == share:
            ws.write_number(i, 2, float(share), pct)
    chart = book.wb.add_chart({"type": "scatter", "subtype": "straight"})
    font = {"name": book.font}
    first, last = start + 1, start + len(curve)
    chart.add_series({"name": "贫困发生率曲线", "categories": [name, first, 1, last, 1], "values": [name, first, 2, last, 2]})
    chart.set_title({"name": "贫困发生率曲线（按标准线变化）", "name_font": {**font, "size": 12, "bold": True}})
    chart.set_x_axis({"name": "标准（元/人·年）", "num_font": font, "name_font": font, "min": 0})
    chart.set_y_axis({"name": "标准以下人口占比", "num_font": font, "name_font": font, "num_format": "0%", "min": 0})
    chart.set_legend({"none": True})
    chart.set_size({"width": 640, "height": 400})
    ws.insert_chart(1, 8, chart)
