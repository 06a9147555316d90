"""Files of the annual cycle: ``exit``, ``reassess`` and ``monitor`` inputs and workbooks.

Inputs
* :func:`read_source`: SOURCE of ``exit`` / ``monitor`` — a register (sheet 登记册, or a CSV /
  Parquet whose header has 识别结果 or 建档立卡状态) or a roster (anything ``read_roster`` reads).
* :func:`read_population`: registered rural population per village (``--population``).
* :func:`read_sample_check`: a sample check (抽查) for 错退率 / 漏评率 / 群众认可度 (``--sample-check``).

Outputs (by extension: .xlsx styled workbook; .csv / .parquet hold the main table only)
* :func:`write_exit`: 脱贫名单 (masked), 未脱贫 (with 未达标原因), 村退出, 县退出, 说明.
* :func:`write_reassess`: the register of the year (登记册, 成员, 汇总, 致贫原因 …) plus 历年状态,
  动态调整, 分村调整, 户匹配, one list per 动态调整类型, 说明.
* :func:`write_monitor`: 监测对象, 风险消除, 未消除, 分村汇总, 风险类型, 说明.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.io.write import EXCEL_MAX_DATA_ROWS
from fupin_cli.schema import FIELDS, field_for_header, normalise_header

TABLE_SUFFIXES = (".xlsx", ".csv", ".parquet")
MAX_SHEET_ROWS = EXCEL_MAX_DATA_ROWS  # larger reassess sheets go to a Parquet file beside the workbook


# ---- reading -------------------------------------------------------------------------------
@dataclass
class Source:
    """SOURCE of exit / monitor: canonical household and member frames, and what it was."""

    households: pd.DataFrame
    members: pd.DataFrame
    kind: str  # "register" | "roster"
    name: str
    sources: list = field(default_factory=list)  # SourceInfo of the file(s) read (name, sha256) for provenance
    unmatched: list = field(default_factory=list)  # roster.UnmatchedColumn: columns not understood (absent rule inputs)


REGISTER_MARKERS = {"识别结果", "status", "建档立卡状态", "registry_status"}


def _header(path: Path) -> list[str]:
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            return list(pq.read_schema(path).names)
        if suffix == ".csv":
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    return list(pd.read_csv(path, nrows=0, encoding=enc).columns)
                except UnicodeDecodeError:
                    continue
        if suffix in (".xlsx", ".xlsm"):
            import fastexcel

            return list(fastexcel.read_excel(str(path)).sheet_names)
    except Exception:
        return []
    return []


def is_register_file(path: str | os.PathLike) -> bool:
    """A register written by fupin: an xlsx with a 登记册 sheet, or a table with a decision column."""
    p = Path(path)
    names = {str(n).strip() for n in _header(p)}
    if p.suffix.lower() in (".xlsx", ".xlsm"):
        return bool(names & {"登记册", "households"})
    return bool(names & REGISTER_MARKERS)


def read_source(path, *, sheet: str | None = None, encoding: str | None = None, columns=None) -> Source:
    """One register, or a roster of one or more files (``path``: a path or a list of paths)."""
    from fupin_cli.io.write import sha256_file

    paths = [Path(path)] if isinstance(path, (str, os.PathLike)) else [Path(x) for x in path]
    p = paths[0]
    if len(paths) > 1:
        registers = [x.name for x in paths if is_register_file(x)]
        if registers:
            from fupin_cli.errors import UsageError

            raise UsageError(f"{registers[0]} is a register written by fupin: give it alone, not with other files",
                             "several files, a folder or a glob are read as one roster; a register is read by itself")
    if len(paths) == 1 and is_register_file(p):
        from fupin_cli.io.register import read_register
        from fupin_cli.roster import SourceInfo

        reg = read_register(p)
        info = SourceInfo(path=str(p), name=p.name, sha256=sha256_file(p), format=p.suffix.lower().lstrip("."))
        return Source(reg.households, reg.members, "register", p.name, sources=[info])
    from fupin_cli.io.read import read_roster

    roster = read_roster(paths, sheet=sheet, encoding=encoding, columns=columns)
    return Source(roster.households, roster.members, "roster", "、".join(x.name for x in paths), sources=list(roster.sources),
                  unmatched=list(getattr(roster, "unmatched", None) or []))


def _check_previous(p: Path) -> None:
    from fupin_cli.errors import UsageError

    if not is_register_file(p):
        raise UsageError(
            f"PREVIOUS {p.name} is not a register: it has no 登记册 sheet or 识别结果 / 建档立卡状态 column",
            "pass last year's register written by `fupin identify` or `fupin reassess`, not a roster",
        )


def read_previous_register(path: str | os.PathLike):
    """PREVIOUS of reassess: a register written by fupin; anything else is a UsageError (exit 2)."""
    from fupin_cli.io.register import read_register

    p = Path(path)
    _check_previous(p)
    return read_register(p)


@dataclass
class RegisterScan:
    """PREVIOUS of ``reassess --engine duckdb``: a Parquet register as the DuckDB view ``view``, its columns
    named and typed as :func:`fupin_cli.io.register.read_register` names and types them, ``__prow`` = position."""

    view: str
    columns: list[str]  # canonical names, in the file's order
    kinds: dict[str, str]  # io.register kind per column ("passthrough" for columns fupin does not know)
    n_rows: int
    name: str
    sha256: str


def scan_register(con: Any, path: str | os.PathLike, view: str = "__prev") -> RegisterScan:
    """The previous register scanned into DuckDB.  Parquet: a view over ``read_parquet`` (nothing is loaded until
    a query reads it).  CSV: parsed by pyarrow as text (UTF-8, else GB18030, as ``read_register``), every cell kept
    as written (blank = ""), fupin's formula escaping undone.  The columns are then typed in SQL as
    ``io.register.canonical_columns`` types them.  An ``.xlsx`` register raises ``FastPathUnsupported``."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from fupin_cli.core.identify_sql import FastPathUnsupported
    from fupin_cli.core.reassess_sql import strip_sql
    from fupin_cli.io.register import _kind, canonical_names
    from fupin_cli.io.write import sha256_file
    from fupin_cli.schema import DECISION_FIELDS, FALSE_WORDS, TRUE_WORDS

    p = Path(path)
    if not p.exists():
        raise InputError(f"{p}: no such file", "check the path of the register")
    _check_previous(p)
    suffix = p.suffix.lower()
    if suffix not in (".parquet", ".csv"):
        raise FastPathUnsupported(f"a {p.suffix} PREVIOUS register (.parquet and .csv only)")
    path_sql = "'" + str(p).replace("'", "''") + "'"
    try:
        if suffix == ".parquet":
            pf = pq.ParquetFile(p)
            schema, n_rows = pf.schema_arrow, pf.metadata.num_rows
            source = f"(SELECT CAST(file_row_number AS BIGINT) AS __prow, * FROM read_parquet({path_sql}, file_row_number = true))"
        else:
            table = _register_csv(p)
            schema, n_rows = table.schema, table.num_rows
            con.register("__prev_csv", table.append_column("__prow", pa.array(range(n_rows), type=pa.int64())))
            source = "__prev_csv"
    except (pa.ArrowException, OSError) as e:
        raise InputError(f"{p.name}: cannot read the register ({type(e).__name__}: {str(e)[:120]})",
                         "give a register written by `fupin identify` (.xlsx, .csv or .parquet)") from None
    labels = [n for n in schema.names if not n.startswith("__index_level_")]
    if len(set(labels)) < len(labels):
        raise FastPathUnsupported(f"PREVIOUS {p.name}: repeated column names")
    names = canonical_names(labels)

    def q(name: str) -> str:
        return '"' + str(name).replace('"', '""') + '"'

    def words(ws: Any) -> str:
        return ", ".join("'" + str(w).replace("'", "''") + "'" for w in sorted(ws))

    items, kinds = [], {}
    for label, name in zip(labels, names):
        kind, ty, src = _kind(name), schema.field(label).type, q(label)
        kinds[name] = kind
        text = pa.types.is_string(ty) or pa.types.is_large_string(ty)
        if suffix == ".csv":  # fupin's CSV writer escapes formulas as '=…: read_register undoes it
            src = f"CASE WHEN prefix({src}, {CSV_QUOTE}) THEN regexp_replace({src}, {CSV_UNESCAPE}, '\\1') ELSE {src} END"
        if kind == "int":
            expr = f"CAST({src} AS BIGINT)" if pa.types.is_integer(ty) else \
                f"CAST(round_even(TRY_CAST({src} AS DOUBLE), 0) AS BIGINT)"
        elif kind in ("float", "money"):
            expr = f"CASE WHEN isnan(TRY_CAST({src} AS DOUBLE)) THEN NULL ELSE TRY_CAST({src} AS DOUBLE) END"
        elif kind == "bool" and not pa.types.is_boolean(ty):
            low = f"lower(trim(CAST({src} AS VARCHAR)))"
            expr = f"CASE WHEN {low} IN ({words(TRUE_WORDS)}) THEN true WHEN {low} IN ({words(FALSE_WORDS)}) THEN false END"
        elif kind == "date":
            expr = f"TRY_CAST({src} AS TIMESTAMP)"
        elif kind in ("str", "code") or name in DECISION_FIELDS:  # text: blank is missing
            if name in ("household_id", "head_id_number", "id_number") and not text:
                raise FastPathUnsupported(f"PREVIOUS {p.name}: {label} is not stored as text")
            expr = f"CASE WHEN {strip_sql(src)} = '' THEN NULL ELSE CAST({src} AS VARCHAR) END"
        else:
            expr = src
        items.append(f"{expr} AS {q(name)}")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT __prow, {', '.join(items)} FROM {source}")
    return RegisterScan(view, names, kinds, n_rows, p.name, sha256_file(p))


CSV_QUOTE = "''''"  # the SQL literal of one '
CSV_UNESCAPE = "'^''([=+\\-@\t\r])'"  # io.register._read_csv: "'=…" → "=…"


def _register_csv(p: Path) -> Any:
    """A CSV register as an Arrow table of text (``read_register``: UTF-8 with or without BOM, else GB18030;
    every cell a string, a blank cell "")."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    parse = pacsv.ParseOptions(newlines_in_values=True)
    for encoding in ("utf-8", "gb18030"):
        read = pacsv.ReadOptions(encoding=encoding)
        try:
            reader = pacsv.open_csv(p, read_options=read, parse_options=parse)
            names = reader.schema.names
            reader.close()
            convert = pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names}, strings_can_be_null=False,
                                           quoted_strings_can_be_null=False)
            return pacsv.read_csv(p, read_options=read, parse_options=parse, convert_options=convert)
        except (UnicodeDecodeError, pa.ArrowInvalid) as e:
            if encoding != "utf-8" or not (isinstance(e, UnicodeDecodeError) or "utf8" in str(e).lower().replace("-", "")):
                raise
    raise AssertionError("unreachable")


def _map_columns(df: pd.DataFrame, aliases: dict[str, tuple[str, ...]]) -> pd.DataFrame:
    index = {normalise_header(a): name for name, names in aliases.items() for a in (name, *names)}
    rename: dict[str, str] = {}
    for col in df.columns:
        name = index.get(normalise_header(col)) or field_for_header(col)
        if name in aliases and name not in rename.values():
            rename[col] = name
    return df.rename(columns=rename)[list(rename.values())]


POPULATION_ALIASES = {
    "township": FIELDS["township"].aliases,
    "village": FIELDS["village"].aliases,
    "population": ("人口数", "人口", "户籍人口", "户籍人口数", "农业户籍人口", "农村户籍人口", "农业人口", "农村人口",
                   "建档立卡村人口", "population"),
    # village values a roster cannot give (贫困村识别 一高一低一无, village exit items)
    "collective_income": ("村集体经济收入", "集体经济收入", "村集体收入", "collective_income"),
    "income_pc": ("村农民人均纯收入", "全村农民人均纯收入", "农民人均纯收入", "村人均纯收入", "village_income_pc"),
    "province_incidence": ("全省贫困发生率", "全省贫困发生率(%)", "全省贫困发生率（%）", "省贫困发生率", "province_incidence"),
    "province_income_pc": ("全省农民人均纯收入", "全省农村居民人均纯收入", "省农民人均纯收入", "province_income_pc"),
}
VILLAGE_NUMBER_COLUMNS = {"collective_income": "村集体经济收入", "income_pc": "村农民人均纯收入",
                          "province_incidence": "全省贫困发生率", "province_income_pc": "全省农民人均纯收入"}
SAMPLE_ALIASES = {
    "household_id": FIELDS["household_id"].aliases,
    "result": ("核查结论", "核查结果", "评估结论", "抽查结论", "结论", "result"),
    "recognised": ("是否认可", "群众认可", "认可", "是否满意", "recognised", "recognized"),
}


def read_population(path: str | os.PathLike) -> pd.DataFrame:
    """``--population``: the village table — 行政村 (and optionally 乡镇) with 人口数 and/or the village
    values a roster cannot give: 村集体经济收入, 村农民人均纯收入, 全省贫困发生率 (in %: 12.5 or 12.5%),
    全省农民人均纯收入.  A blank cell is "not given"; a cell that is not a number is an InputError."""
    from fupin_cli.io.register import read_table

    p = Path(path)
    df = _map_columns(read_table(p), POPULATION_ALIASES)
    extra = [name for name in VILLAGE_NUMBER_COLUMNS if name in df.columns]
    missing = [lab for name, lab in (("village", "行政村"),) if name not in df.columns]
    if "population" not in df.columns and not extra:
        missing.append("人口数")
    if missing:
        raise InputError(f"{p.name}: no {' or '.join(missing)} column",
                         "the village table needs 行政村 and 人口数 (and may have 乡镇, 村集体经济收入, 村农民人均纯收入, "
                         "全省贫困发生率, 全省农民人均纯收入)")

    def numbers(name: str, label: str, whole: bool) -> pd.Series:
        raw = df[name].astype("string").str.replace(",", "", regex=False).str.strip()
        blank = raw.isna() | (raw == "")
        values = pd.to_numeric(raw.str.rstrip("%"), errors="coerce")
        bad = ~blank & (values.isna() | (values < 0) | ((values.round() != values) if whole else False))
        if bad.any():
            row = int(bad.to_numpy().nonzero()[0][0]) + 2  # header is Excel row 1
            what = "a whole number of people" if whole else "a number (0 or more)"
            raise InputError(f"{p.name}: row {row}, column {label}: '{df[name].iloc[row - 2]}' is not {what}",
                             f"write {label} of each village as {what}, or leave the cell blank")
        return values.where(~blank)

    if "population" in df.columns:
        values = numbers("population", "人口数", True)
        df["population"] = values.astype("Int64") if values.isna().any() else values.astype("int64")
    for name in extra:
        df[name] = numbers(name, VILLAGE_NUMBER_COLUMNS[name], False).astype("float64")
    if "province_incidence" in extra:  # a percentage in the table, a fraction in the frames
        df["province_incidence"] = df["province_incidence"] / 100
    return df


def read_sample_check(path: str | os.PathLike) -> pd.DataFrame:
    """``--sample-check``: 户编号, 核查结论 (正确/错退/漏评) and optionally 是否认可 (是/否)."""
    from fupin_cli.core.exit import canonical_sample_result
    from fupin_cli.io.read_values import BAD, parse_bool
    from fupin_cli.io.register import read_table

    p = Path(path)
    df = _map_columns(read_table(p), SAMPLE_ALIASES)
    missing = [lab for name, lab in (("household_id", "户编号"), ("result", "核查结论")) if name not in df.columns]
    if missing:
        raise InputError(f"{p.name}: no {' or '.join(missing)} column",
                         "the sample check needs 户编号 and 核查结论 (正确/错退/漏评), optionally 是否认可 (是/否)")
    df["result"] = canonical_sample_result(df["result"], p.name)
    if "recognised" in df.columns:
        values = df["recognised"].astype(object).where(df["recognised"].notna(), "")
        blank = values.astype(str).str.strip() == ""
        parsed = values.where(blank, values[~blank].map(parse_bool)).where(~blank, None)
        bad = parsed.map(lambda v: v is BAD).to_numpy(dtype=bool)
        if bad.any():
            row = int(bad.nonzero()[0][0]) + 2  # header is Excel row 1
            raise InputError(f"{p.name}: row {row}, column 是否认可: '{values.iloc[row - 2]}' is not 是 or 否",
                             "write 是 or 否 (or leave it blank when not asked)")
        df["recognised"] = pd.array(parsed.where(parsed.notna(), None).astype(object), dtype="boolean")
    return df


# ---- writing -------------------------------------------------------------------------------
REPORT_LABELS = {  # report columns that are not schema fields
    "households": ("户数", "households"), "people": ("人口数", "people"), "shared_members": ("共同成员数", "shared_members"),
    "合计": ("合计", "total"), "condition": ("未达标条件", "condition"), "item": ("项目", "item"), "value": ("值", "value"),
    "category": ("监测对象类别", "category"), "risk_type": ("风险类型", "risk_type"),
}


def column_labels(df: pd.DataFrame, lang: str, extra: dict[str, str] | None = None) -> list[str]:
    """Output labels: ``extra`` (zh) first, then report labels, then schema labels; en → names."""
    from fupin_cli.io.register import column_label

    labels = []
    for c in df.columns:
        if lang == "en":
            labels.append(REPORT_LABELS.get(c, (c, c))[1] if c in REPORT_LABELS else str(c))
        elif extra and c in extra:
            labels.append(extra[c])
        elif c in REPORT_LABELS:
            labels.append(REPORT_LABELS[c][0])
        else:
            labels.append(column_label(c, lang))
    return labels


def add_report(book, name: str, df: pd.DataFrame, lang: str, *, extra: dict[str, str] | None = None,
               percent: tuple[str, ...] = (), money: tuple[str, ...] = (), text: tuple[str, ...] = (), title: str | None = None):
    """One report frame as a styled sheet, columns labelled (zh/en), with number formats by column."""
    out = df.copy()
    out.columns = column_labels(df, lang, extra)
    lab = dict(zip(df.columns, out.columns))
    return book.add_table(name, out, percent_columns=[lab[c] for c in percent if c in lab],
                          money_columns=[lab[c] for c in money if c in lab],
                          text_columns=[lab[c] for c in text if c in lab], title=title)


def _sheet(zh: str, en: str, lang: str) -> str:
    return zh if lang == "zh" else en


def _about(book, provenance: dict[str, Any], lang: str, notes: list[str]) -> None:
    from fupin_cli.io.register import provenance_rows

    prov = dict(provenance)
    prov["notes"] = [*prov.get("notes", []), *notes]
    book.add_key_values(_sheet("说明", "about", lang), provenance_rows(prov),
                        headers=("项目", "值") if lang == "zh" else ("item", "value"))


def write_table(df: pd.DataFrame, path: Path, lang: str, force: bool, extra: dict[str, str] | None = None) -> Path:
    """CSV / Parquet output of one labelled table (CSV: UTF-8 with BOM, formula-escaped)."""
    from fupin_cli.io.register import bools_as_text
    from fupin_cli.io.write import write_csv, write_parquet

    out = df.copy()
    out.columns = column_labels(df, lang, extra)
    if path.suffix.lower() == ".csv":
        return write_csv(bools_as_text(out), path, force)
    return write_parquet(out, path, force)


def write_exit(assessment, members: pd.DataFrame | None, path: str | os.PathLike, *, provenance: dict[str, Any],
               lang: str = "zh", force: bool = False) -> list[Path]:
    """The exit workbook (.xlsx) — or, for .csv / .parquet, the 脱贫名单 and 未脱贫 lists as one table."""
    from fupin_cli.core.exit import COUNTY_LABELS, LIST_LABELS, VILLAGE_LABELS, exit_list, remaining_list
    from fupin_cli.io.write import check_output
    from fupin_cli.io.xlsx import XlsxBook

    p = check_output(path, force, allowed=TABLE_SUFFIXES)
    exited, remaining = exit_list(assessment, members), remaining_list(assessment, members)
    if p.suffix.lower() != ".xlsx":
        both = pd.concat([exited.assign(exit_result="脱贫"), remaining.assign(exit_result="未脱贫")], ignore_index=True)
        return [write_table(both.drop(columns="seq"), p, lang, force, {**LIST_LABELS, "exit_result": "脱贫结果"})]
    year = assessment.year
    with XlsxBook(p, force=force) as book:
        ws = add_report(book, _sheet("脱贫名单", "exited", lang), exited, lang, extra=LIST_LABELS,
                        money=("income_per_capita",), text=("household_id", "head_id_masked"),
                        title=f"{year}年脱贫户名单（共 {len(exited)} 户 {int(exited['people'].sum())} 人）" if lang == "zh"
                        else f"Households exiting poverty in {year}")
        if hasattr(book, "print_setup"):
            book.print_setup(ws, landscape=True, repeat_rows=(0, 1))
        add_report(book, _sheet("未脱贫", "remaining", lang), remaining, lang, extra=LIST_LABELS,
                   money=("income_per_capita",), text=("household_id", "head_id_masked"))
        add_report(book, _sheet("未达标条件", "unmet", lang), assessment.unmet, lang,
                   extra={"rule": "规则", "households": "未达标户数", "unknown": "无法判断户数（数据缺失）"})
        add_report(book, _sheet("村退出", "villages", lang), assessment.villages, lang, extra=VILLAGE_LABELS,
                   percent=("incidence", "registered_incidence", "safe_housing_rate", "medical_insurance_rate",
                            "safe_water_rate", "province_incidence"),
                   money=("income_pc", "collective_income", "province_income_pc"))
        add_report(book, _sheet("县退出", "county", lang), assessment.county, lang, extra=COUNTY_LABELS,
                   percent=("incidence", "wrong_exit_rate", "missed_rate", "recognition_rate", "comprehensive_incidence"))
        if len(assessment.not_found):
            add_report(book, _sheet("未找到", "not_found", lang), assessment.not_found, lang, extra=LIST_LABELS,
                       text=("household_id",))
        _about(book, provenance, lang, assessment.notes)
    return [p]


TRANSITION_LIST_COLUMNS = ["township", "village", "household_id", "head_name", "head_id_masked", "household_size",
                           "income_per_capita", "previous_registry_status", "registry_status", "transition_reason",
                           "match_method", "previous_household_id"]
LIST_EXTRA = {"head_id_masked": "户主证件号码", "shared_members": "共同成员数"}
TRANSITION_SHEETS_EN = dict(zip(("新识别", "继续帮扶", "脱贫", "返贫", "清退", "自然减少", "非贫困户"),
                                ("new", "continued", "exited", "returned", "removed", "gone", "not_poor")))


def transition_list(households: pd.DataFrame, members: pd.DataFrame | None, transition: str) -> pd.DataFrame:
    """One 动态调整类型's households with key columns, the head's ID masked."""
    from fupin_cli.core.history import masked_head_ids

    part = households[(households["transition"] == transition).to_numpy()]
    out = part.assign(head_id_masked=masked_head_ids(part, members))
    cols = [c for c in TRANSITION_LIST_COLUMNS if c in out.columns]
    order = [c for c in ("township", "village", "household_id") if c in out.columns]
    return out[cols].sort_values(order, kind="stable", na_position="last").reset_index(drop=True)


def write_reassess(result, view, path: str | os.PathLike, *, lang: str = "zh", force: bool = False, progress=None,
                   print_info=None):
    """The new register (written by the register writer) with the reassessment sheets added."""
    from fupin_cli.io.register import write_register
    from fupin_cli.schema import TRANSITIONS

    members = view.members if len(view.members) else None
    target = Path(path)
    side: list[Path] = []
    warnings: list[str] = []

    def sheet(book, name: str, df: pd.DataFrame, **kw) -> None:
        if len(df) <= MAX_SHEET_ROWS:
            add_report(book, name, df, lang, **kw)
            return
        other = target.with_name(f"{target.stem}-{name}.parquet")
        side.append(write_table(df, other, lang, force, kw.get("extra")))
        warnings.append(f"{name}: {len(df):,} rows exceed Excel's {MAX_SHEET_ROWS:,}; written to {other.name} instead")

    def extra(book) -> None:
        sheet(book, _sheet("历年状态", "history", lang), result.history(), text=("household_id",))
        sheet(book, _sheet("动态调整", "transitions", lang), result.counts())
        sheet(book, _sheet("分村调整", "by_village", lang), result.by_village())
        sheet(book, _sheet("户匹配", "matching", lang), result.matches, extra=LIST_EXTRA,
              text=("household_id", "previous_household_id"))
        for t in TRANSITIONS:
            sheet(book, t if lang == "zh" else TRANSITION_SHEETS_EN[t], transition_list(result.households, members, t),
                  extra=LIST_EXTRA, money=("income_per_capita",), text=("household_id", "previous_household_id", "head_id_masked"))

    written = write_register(view, path, lang=lang, force=force,
                             extra_sheets=extra if target.suffix.lower() == ".xlsx" else None, progress=progress,
                             print_info=print_info)
    written.outputs.extend(side)
    written.warnings.extend(warnings)
    return written


EXIT_PUBLICITY_COLUMNS = [("seq", "序号", 6), ("head_name", "户主姓名", 12), ("head_id_masked", "证件号码", 24),
                          ("household_size", "家庭人口数", 11), ("income_per_capita", "人均纯收入（元）", 16),
                          ("attribute", "贫困户属性", 16), ("exit_year", "脱贫年度", 10)]


def write_exit_publicity(assessment, members: pd.DataFrame | None, path: str | os.PathLike, *, start=None,
                         phone: str = "", days: int = 7, force: bool = False) -> list[Path]:
    """The printable 脱贫名单 for 公示: one sheet per village, IDs masked (the 公示名单 layout); every file written."""
    from fupin_cli.core.exit import exit_list
    from fupin_cli.io.publicity import PublicityOptions, write_publicity_files

    frame = exit_list(assessment, members).rename(columns={"people": "household_size"})
    options = PublicityOptions(year=assessment.year, start=start, days=days, phone=phone, columns=EXIT_PUBLICITY_COLUMNS,
                               title_text="{village}{year}年贫困户脱贫名单",
                               empty_text=f"{assessment.year}年没有达到脱贫标准的贫困户")
    return write_publicity_files(frame, path, options, force=force)


# 两公示一公告 of the annual 动态调整: the households whose status changes this year
REASSESS_PUBLICITY_TYPES = ("新识别", "脱贫", "返贫", "清退")
REASSESS_PUBLICITY_COLUMNS = [("seq", "序号", 6), ("head_name", "户主姓名", 10), ("head_id_masked", "证件号码", 22),
                              ("household_size", "家庭人口数", 10), ("transition", "调整类型", 10),
                              ("attribute", "贫困户属性", 14), ("transition_reason", "调整原因", 30)]


def write_reassess_publicity(result, members: pd.DataFrame | None, path: str | os.PathLike, *, start=None, phone: str = "",
                             days: int = 7, force: bool = False) -> list[Path]:
    """The 动态调整 公示: 新识别, 脱贫, 返贫 and 清退 households, one sheet per village, IDs masked."""
    from fupin_cli.io.publicity import PublicityOptions, write_publicity_files

    hh = result.households.assign(transition=result.households["transition"].astype(object))
    parts = [transition_list(hh, members, t).assign(transition=t) for t in REASSESS_PUBLICITY_TYPES]
    attrs = hh.set_index("household_id")["attribute"] if "attribute" in hh.columns else None
    frame = pd.concat(parts, ignore_index=True)
    if attrs is not None and len(frame):
        frame["attribute"] = frame["household_id"].map(attrs[~attrs.index.duplicated()]).to_numpy()
    options = PublicityOptions(year=result.year, start=start, days=days, phone=phone, columns=REASSESS_PUBLICITY_COLUMNS,
                               title_text="{village}{year}年贫困户动态调整公示名单（新识别、脱贫、返贫、清退）",
                               empty_text=f"{result.year}年没有新识别、脱贫、返贫或清退的户")
    return write_publicity_files(frame, path, options, force=force)


MONITOR_PUBLICITY_COLUMNS = [("seq", "序号", 6), ("head_name", "户主姓名", 10), ("head_id_masked", "证件号码", 22),
                             ("household_size", "家庭人口数", 10), ("monitoring_status", "监测情况", 12),
                             ("monitoring_category", "监测对象类别", 16), ("risk_types", "致贫返贫风险", 18),
                             ("elimination_method", "风险消除方式", 12)]


def write_monitor_publicity(result, members: pd.DataFrame | None, path: str | os.PathLike, *, start=None, phone: str = "",
                            days: int = 7, force: bool = False) -> list[Path]:
    """The 防止返贫监测 公示: households newly monitored and those whose risk is eliminated, one sheet per village."""
    from fupin_cli.core.monitor import ELIMINATED_NOW, NEW, monitor_list
    from fupin_cli.io.publicity import PublicityOptions, write_publicity_files

    parts = [monitor_list(result.listing(status), members) for status in (NEW, ELIMINATED_NOW)]
    frame = pd.concat(parts, ignore_index=True).rename(columns={"people": "household_size"})
    options = PublicityOptions(year=result.year, start=start, days=days, phone=phone, columns=MONITOR_PUBLICITY_COLUMNS,
                               title_text="{village}{year}年防止返贫监测对象公示名单（新纳入监测、风险消除）",
                               empty_text=f"{result.year}年没有新纳入监测或风险消除的户")
    return write_publicity_files(frame, path, options, force=force)


def write_monitor(result, members: pd.DataFrame | None, path: str | os.PathLike, *, provenance: dict[str, Any],
                  lang: str = "zh", force: bool = False) -> list[Path]:
    """The monitoring workbook (.xlsx) — or, for .csv / .parquet, every household with its monitoring columns."""
    from fupin_cli.core.monitor import CONTINUING, ELIMINATED_NOW, LABELS, NEW, UNDECIDED, monitor_list
    from fupin_cli.io.write import check_output
    from fupin_cli.io.xlsx import XlsxBook

    p = check_output(path, force, allowed=TABLE_SUFFIXES)
    if p.suffix.lower() != ".xlsx":
        return [write_table(monitor_list(result.households, members), p, lang, force, LABELS)]
    text_cols = ("household_id", "head_id_masked")
    with XlsxBook(p, force=force) as book:
        add_report(book, _sheet("监测情况", "summary", lang), result.status_counts(), lang, extra=LABELS)
        add_report(book, _sheet("监测对象", "objects", lang), monitor_list(result.objects(), members), lang,
                   extra=LABELS, money=("income_per_capita",), text=text_cols)
        for status, en in ((NEW, "new"), (ELIMINATED_NOW, "eliminated"), (CONTINUING, "not_eliminated"), (UNDECIDED, "pending")):
            name = {CONTINUING: "未消除"}.get(status, status)
            add_report(book, _sheet(name, en, lang), monitor_list(result.listing(status), members), lang,
                       extra=LABELS, money=("income_per_capita",), text=text_cols)
        add_report(book, _sheet("未消除原因", "elimination_conditions", lang), result.elimination, lang,
                   extra={**LABELS, "households": "未满足户数"})
        add_report(book, _sheet("分村汇总", "by_village", lang), result.by_village(), lang, extra=LABELS)
        add_report(book, _sheet("风险类型", "risk_types", lang), result.risk_counts(), lang, extra=LABELS)
        _about(book, provenance, lang, result.notes)
    return [p]
