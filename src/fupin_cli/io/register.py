"""The register (建档立卡登记册) on disk: write it as .xlsx / .csv / .parquet, read any of them back.

Workbook sheets (``--lang en`` names in brackets): 登记册 [households], 登记册(打印) [households (print)],
成员 [members], 汇总 [summary] (the printed statistics table, io/print_view.py), 致贫原因 [causes], 规模控制 [quota] (with ``--quota``), 帮扶覆盖 [coverage]
(when the roster records 帮扶责任人 / 驻村工作队), 说明 [about] (provenance).
CSV (UTF-8 with BOM) and Parquet hold the 登记册 sheet only.

Column labels: canonical fields and decision columns under :func:`fupin_cli.schema.label`
(Chinese by default, English names with ``lang="en"``); passthrough columns under their source
header; the source row as 原表行号 [source_row].  :func:`read_register` maps either label set
back to canonical names and types (decision labels win over roster aliases: 主要致贫原因 in a
register is the decided ``primary_cause``, not ``recorded_primary_cause``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.schema import DECISION_FIELDS, FALSE_WORDS, FIELDS, SOURCE_ROW, TRUE_WORDS, label

SHEETS = {  # key → (zh, en)
    "households": ("登记册", "households"),
    "print": ("登记册(打印)", "households (print)"),
    "members": ("成员", "members"),
    "summary": ("汇总", "summary"),
    "causes": ("致贫原因", "causes"),
    "quota": ("规模控制", "quota"),
    "coverage": ("帮扶覆盖", "coverage"),
    "about": ("说明", "about"),
}
EXTRA_LABELS = {SOURCE_ROW: ("原表行号", "source_row")}
DECISION_KINDS = {"assessment_year": "int", "member_count": "int"}


def sheet_name(key: str, lang: str = "zh") -> str:
    zh, en = SHEETS[key]
    return zh if lang == "zh" else en


def column_label(name: str, lang: str = "zh") -> str:
    if name in EXTRA_LABELS:
        zh, en = EXTRA_LABELS[name]
        return zh if lang == "zh" else en
    if name in DECISION_FIELDS or name in FIELDS:
        return label(name, lang)
    return str(name)  # passthrough: the header as written in the source


def labelled(df: pd.DataFrame, lang: str = "zh") -> pd.DataFrame:
    """Rename canonical columns to output labels; a passthrough header that collides gets (原表)."""
    labels: list[str] = []
    canonical = {column_label(c, lang) for c in df.columns if c in FIELDS or c in DECISION_FIELDS or c in EXTRA_LABELS}
    for c in df.columns:
        lab = column_label(c, lang)
        if not (c in FIELDS or c in DECISION_FIELDS or c in EXTRA_LABELS) and lab in canonical:
            lab = f"{lab}(原表)"
        labels.append(lab)
    out = df.copy()
    out.columns = labels
    return out


def bools_as_text(df: pd.DataFrame) -> pd.DataFrame:
    """boolean columns → 是/否 (for CSV; the xlsx writer does the same per cell)."""
    out = df.copy()
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            s = out[col].astype("boolean")
            out[col] = s.map({True: "是", False: "否"}).astype(object).where(s.notna(), None)
    return out


# ---- reading -------------------------------------------------------------------------------
@dataclass
class Register:
    households: pd.DataFrame
    members: pd.DataFrame
    path: str = ""
    format: str = ""
    about: dict[str, str] = field(default_factory=dict)  # 说明 sheet as key → value text


def _reverse_labels() -> dict[str, str]:
    rev: dict[str, str] = {}
    for name, f in FIELDS.items():
        rev.setdefault(f.zh, name)
        rev.setdefault(name, name)
    for name, (zh, en) in DECISION_FIELDS.items():  # decision labels win (they collide with aliases)
        rev[zh] = name
        rev[en] = name
    for name, (zh, en) in EXTRA_LABELS.items():
        rev[zh] = name
        rev[en] = name
    return rev


_REVERSE = _reverse_labels()


def canonical_names(labels: Any) -> list[str]:
    """Register labels (zh or en) → canonical names; unknown headers kept (also by ``io.annual.scan_register``)."""
    names = []
    taken: set[str] = set()
    for c in labels:
        name = _REVERSE.get(str(c).strip())
        if name is None or name in taken:
            name = str(c)
        taken.add(name)
        names.append(name)
    return names


def canonical_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Register labels (zh or en) → canonical names; unknown headers kept; then schema types."""
    out = df.copy()
    out.columns = canonical_names(df.columns)
    return _typed(out)


def _kind(name: str) -> str:
    if name in DECISION_KINDS:
        return DECISION_KINDS[name]
    if name == SOURCE_ROW:
        return "int"
    f = FIELDS.get(name)
    return f.kind if f else "passthrough"


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    for col in df.columns:
        kind = _kind(col)
        s = df[col]
        if kind == "int":
            df[col] = pd.to_numeric(s, errors="coerce").round().astype("Int64")
        elif kind in ("float", "money"):
            df[col] = pd.to_numeric(s, errors="coerce").astype("Float64")
        elif kind == "bool" and not pd.api.types.is_bool_dtype(s):
            text = s.astype("string").str.strip().str.lower()
            out = pd.Series(pd.NA, index=s.index, dtype="boolean")
            out[text.isin(TRUE_WORDS).fillna(False).to_numpy(bool)] = True
            out[text.isin(FALSE_WORDS).fillna(False).to_numpy(bool)] = False
            df[col] = out
        elif kind == "date":
            df[col] = pd.to_datetime(s, errors="coerce")
        elif kind in ("str", "code") or col in DECISION_FIELDS:
            text = s.astype("string")
            df[col] = text.where(text.str.strip() != "", pd.NA).astype("str")
    return df


def read_register(path: str | os.PathLike) -> Register:
    """Read a register written by ``fupin identify`` (.xlsx, .csv or .parquet) into canonical frames."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file", "check the path of the register")
    suffix = p.suffix.lower()
    try:
        if suffix == ".parquet":
            hh = pd.read_parquet(p)
            return Register(canonical_columns(hh), pd.DataFrame(), str(p), "parquet")
        if suffix == ".csv":
            hh = _read_csv(p)
            return Register(canonical_columns(hh), pd.DataFrame(), str(p), "csv")
        if suffix in (".xlsx", ".xlsm"):
            return _read_xlsx(p)
    except InputError:
        raise
    except Exception as e:  # corrupt, encrypted, not what it says
        raise InputError(f"{p.name}: cannot read the register ({type(e).__name__}: {str(e)[:120]})",
                         "give a register written by `fupin identify` (.xlsx, .csv or .parquet)") from None
    raise InputError(f"{p.name}: unsupported register type '{suffix}'", "use .xlsx, .csv or .parquet")


def _read_csv(p: Path) -> pd.DataFrame:
    for enc in ("utf-8-sig", "gb18030"):
        try:
            df = pd.read_csv(p, dtype=str, encoding=enc, keep_default_na=False)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise InputError(f"{p.name}: not UTF-8 or GBK text", "save the CSV as UTF-8")
    # undo formula escaping written by fupin ("'=..." → "=...")
    for col in df.columns:
        df[col] = df[col].str.replace(r"^'(?=[=+\-@\t\r])", "", regex=True)
    return df


def _load_sheet(reader: Any, name: str) -> pd.DataFrame:
    sheet = reader.load_sheet(name, dtypes="string")
    return sheet.to_pandas()


def _read_xlsx(p: Path) -> Register:
    import fastexcel

    reader = fastexcel.read_excel(str(p))
    names = reader.sheet_names
    hh_name = next((n for n in (*SHEETS["households"],) if n in names), None)
    if hh_name is None:
        raise InputError(f"{p.name}: no sheet 登记册 (households)", "give a register written by `fupin identify`")
    hh = canonical_columns(_load_sheet(reader, hh_name))
    mem_name = next((n for n in SHEETS["members"] if n in names), None)
    members = canonical_columns(_load_sheet(reader, mem_name)) if mem_name else pd.DataFrame()
    about: dict[str, str] = {}
    about_name = next((n for n in SHEETS["about"] if n in names), None)
    if about_name:
        a = _load_sheet(reader, about_name)
        if a.shape[1] >= 2:
            about = {str(k): ("" if v is None or v != v else str(v)) for k, v in zip(a.iloc[:, 0], a.iloc[:, 1])}
    return Register(hh, members, str(p), "xlsx", about)


# ---- writing -------------------------------------------------------------------------------
@dataclass
class WriteOutcome:
    outputs: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def column_formats(df: pd.DataFrame) -> dict[str, list[str]]:
    """Text (@) and money (#,##0.00) columns of a canonical frame, by output label later."""
    text, money = [], []
    for c in df.columns:
        f = FIELDS.get(c)
        if f is not None and f.kind in ("str", "code"):
            text.append(c)
        elif f is not None and f.kind == "money":
            money.append(c)
        elif c in DECISION_FIELDS and c not in DECISION_KINDS:
            text.append(c)
    return {"text": text, "money": money}


def provenance_rows(prov: dict[str, Any]) -> list[tuple[str, Any]]:
    """The 说明 sheet: provenance as (项目, 值) rows, in a fixed order."""
    rows: list[tuple[str, Any]] = [("工具 (tool)", f"fupin {prov.get('version', '')}"),
                                   ("命令 (command)", prov.get("command", ""))]
    pack = prov.get("pack") or {}
    if pack:
        rows += [("规则包 (pack)", f"{pack.get('name', '')} {pack.get('version', '')}".strip()),
                 ("规则包标题 (title)", pack.get("title", "")),
                 ("规则包内容哈希 (pack sha256)", pack.get("content_hash", ""))]
    for i, src in enumerate(prov.get("inputs", []), start=1):
        rows.append((f"输入文件 {i} (input)", src.get("name", "")))
        rows.append((f"输入文件 {i} SHA-256", src.get("sha256", "")))
        if src.get("column_map"):
            rows.append((f"输入文件 {i} 列映射 (column map)", src["column_map"]))
    for key, zh in (("year", "年度 (year)"), ("region", "区域 (region)"), ("run_time", "时间戳 (timestamp: SOURCE_DATE_EPOCH, else newest input file)")):
        if key in prov:
            rows.append((zh, "" if prov[key] is None else prov[key]))
    choice = prov.get("choice") or {}
    if choice:
        rows.append(("区域来源 (region from)", choice.get("region_how", "")))
        rows.append(("规则包选择 (pack chosen)", choice.get("pack_how", "")))
        if choice.get("year_how"):
            rows.append(("年度来源 (year from)", choice["year_how"]))
    for name, p in (prov.get("parameters") or {}).items():
        desc = f"{p.get('value')} ({p.get('year')}, {p.get('region')}"
        desc += f", {p['source']}" if p.get("source") else ""
        desc += ", 未核实 unverified" if p.get("verified") is False else ""
        rows.append((f"参数 {p.get('label') or name} ({name})", desc + ")"))
    for name, value in (prov.get("options") or {}).items():
        rows.append((f"选项 {name}", "" if value is None else value))
    for r in prov.get("not_evaluated") or []:
        confirmed = "；已用 --allow-missing 确认" if r.get("allowed") else ""
        rows.append((f"未评估规则 {r.get('rule')} (not evaluated)",
                     f"{r.get('label')}：{r.get('reason')}，无法核实；{r.get('households_affected', 0)} 户的结果可能因此不同{confirmed}"))
    for note in prov.get("notes", []):
        rows.append(("说明 (note)", note))
    return rows


def _report_frame(df: pd.DataFrame, labels: dict[str, str], lang: str) -> pd.DataFrame:
    return df.rename(columns=labels) if lang == "zh" else df


def coverage_frame(cov: dict[str, Any]) -> pd.DataFrame:
    """Both coverage lists as one table (问题, 乡镇, 行政村, 户编号, 户主姓名, 贫困户数)."""
    a = cov["households_without_responsible_person"].assign(issue="贫困户无帮扶责任人")
    b = cov["villages_without_task_force"].assign(issue="有贫困户的村无驻村工作队")
    cols = ["issue", "township", "village", "household_id", "head_name", "poor_households"]
    frames = [f.reindex(columns=cols) for f in (a, b) if len(f)]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    for c in cols[:-1]:
        out[c] = out[c].astype(object)
    out["poor_households"] = pd.array(out["poor_households"], dtype="Int64")
    return out


COVERAGE_LABELS = {"issue": "问题", "township": "乡镇", "village": "行政村", "household_id": "户编号",
                   "head_name": "户主姓名", "poor_households": "贫困户数"}


def write_register(result: Any, path: str | os.PathLike, *, lang: str = "zh", force: bool = False,
                   extra_sheets: Any = None, progress: Any = None, print_info: Any = None) -> WriteOutcome:
    """Write ``result`` (an :class:`fupin_cli.core.identify.IdentifyResult`) by the file extension.

    ``extra_sheets(book)``, when given, adds sheets to the workbook before 说明 (used by reassess).
    ``print_info`` (:class:`fupin_cli.io.print_view.PrintInfo`): 填报单位 and signature names of the printed sheets."""
    from fupin_cli.io.write import EXCEL_MAX_DATA_ROWS, check_output, write_csv, write_parquet

    p = check_output(path, force, allowed=(".xlsx", ".csv", ".parquet"))
    suffix = p.suffix.lower()
    hh = result.households
    outcome = WriteOutcome()
    if suffix == ".csv":
        outcome.outputs.append(write_csv(bools_as_text(labelled(hh, lang)), p, force, private=True))
        return outcome
    if suffix == ".parquet":
        outcome.outputs.append(write_parquet(labelled(hh, lang), p, force, private=True))
        return outcome
    big = {k: df for k, df in (("households", hh), ("members", result.members)) if len(df) > EXCEL_MAX_DATA_ROWS}
    for key, df in big.items():
        side = p.with_name(f"{p.stem}-{sheet_name(key, lang)}.parquet")
        outcome.outputs.append(write_parquet(labelled(df, lang), side, force, private=True))
        outcome.warnings.append(f"{sheet_name(key, lang)}: {len(df):,} rows exceed Excel's {EXCEL_MAX_DATA_ROWS:,}; "
                                f"written to {side.name} instead")
    _write_register_xlsx(result, p, lang, force, skip=set(big), notes=outcome.warnings, extra_sheets=extra_sheets,
                         progress=progress, print_info=print_info)
    outcome.outputs.insert(0, p)
    return outcome


def _table(book, key: str, df: pd.DataFrame, lang: str, **kw):
    fm = column_formats(df)
    out = labelled(df, lang)
    return book.add_table(sheet_name(key, lang), out, text_columns=[column_label(c, lang) for c in fm["text"]],
                          money_columns=[column_label(c, lang) for c in fm["money"]], **kw)


def _write_register_xlsx(result: Any, p: Path, lang: str, force: bool, skip: set[str], notes: list[str],
                        extra_sheets: Any = None, progress: Any = None, print_info: Any = None) -> None:
    from fupin_cli.core.causes import LABELS as CAUSE_LABELS
    from fupin_cli.core.quota import LABELS as QUOTA_LABELS
    from fupin_cli.core.summary import statistics_table
    from fupin_cli.io.print_view import info_for, print_rows_fit, register_print_sheet, summary_table_sheet
    from fupin_cli.io.xlsx import XlsxBook

    year = (result.provenance or {}).get("year")
    info = info_for(result.households, print_info, year)
    place = f"{info.place()}{year or ''}{'年' if year else ''}"
    with XlsxBook(p, force=force, private=True) as book:  # the register holds full ID numbers
        for key, df in (("households", result.households), ("members", result.members)):
            if key not in skip:
                _table(book, key, df, lang, progress=progress)  # progress(rows, total) per 20k-row chunk
            if key == "households" and key not in skip:  # the print view beside the full-data sheet
                if print_rows_fit(len(result.households)):
                    register_print_sheet(book, sheet_name("print", lang), result.households, info,
                                         title=f"{place}建档立卡贫困户识别登记册")
                else:
                    notes.append(f"{sheet_name('print', lang)}: {len(result.households):,} households do not fit one sheet "
                                 f"under its title and above its signature lines; not written (print from {sheet_name(key, lang)})")
        table, table_labels = statistics_table(result.summary, result.households)
        summary_table_sheet(book, sheet_name("summary", lang), table, table_labels if lang == "zh" else {}, info,
                            title=f"{place}建档立卡贫困人口统计表（汇总）", percent={"incidence"})
        by_cause = result.causes.by_cause
        pct = ["household_share", "people_share"]
        ws = book.add_table(sheet_name("causes", lang), _report_frame(by_cause, CAUSE_LABELS, lang),
                            percent_columns=[CAUSE_LABELS[c] if lang == "zh" else c for c in pct])
        if len(by_cause):
            book.add_bar_chart(ws, sheet_name("causes", lang), categories_col=0, values_cols=[1], n_rows=len(by_cause),
                               title="贫困户主要致贫原因（户）" if lang == "zh" else "Poor households by primary cause",
                               anchor=(1, by_cause.shape[1] + 1), kind="column")
        if result.quota is not None:
            book.add_table(sheet_name("quota", lang), _report_frame(result.quota, QUOTA_LABELS, lang),
                           percent_columns=[QUOTA_LABELS["use"] if lang == "zh" else "use"])
        cov = result.coverage
        if cov.get("has_responsible_person") or cov.get("has_task_force"):
            book.add_table(sheet_name("coverage", lang), _report_frame(coverage_frame(cov), COVERAGE_LABELS, lang),
                           text_columns=[COVERAGE_LABELS["household_id"] if lang == "zh" else "household_id"])
        if extra_sheets is not None:
            extra_sheets(book)
        prov = dict(result.provenance)
        prov["notes"] = [*prov.get("notes", []), *notes]
        book.add_key_values(sheet_name("about", lang), provenance_rows(prov),
                            headers=("项目", "值") if lang == "zh" else ("item", "value"))


def read_table(path: str | os.PathLike) -> pd.DataFrame:
    """A small side table (``--quota``, ``--assist``): first sheet of .xlsx/.xls, or .csv (UTF-8/GBK), or
    .parquet; header on the first row; every cell read as text."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file", "check the path")
    suffix = p.suffix.lower()
    try:
        if suffix == ".csv":
            df = _read_csv(p)
        elif suffix == ".parquet":
            df = pd.read_parquet(p).astype("string")
        elif suffix in (".xlsx", ".xlsm", ".xls"):
            import fastexcel

            reader = fastexcel.read_excel(str(p))
            df = _load_sheet(reader, reader.sheet_names[0])
        else:
            raise InputError(f"{p.name}: unsupported file type '{suffix}'", "use .xlsx, .xls, .csv or .parquet")
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"{p.name}: cannot read ({type(e).__name__}: {str(e)[:120]})", "check that the file opens in Excel") from None
    df.columns = [str(c).strip() for c in df.columns]
    return df.dropna(how="all").reset_index(drop=True)
