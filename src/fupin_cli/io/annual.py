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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from fupin_cli.errors import InputError
from fupin_cli.schema import FIELDS, field_for_header, normalise_header

TABLE_SUFFIXES = (".xlsx", ".csv", ".parquet")


# ---- reading -------------------------------------------------------------------------------
@dataclass
class Source:
    """SOURCE of exit / monitor: canonical household and member frames, and what it was."""

    households: pd.DataFrame
    members: pd.DataFrame
    kind: str  # "register" | "roster"
    name: str
    roster: Any = None  # the Roster when kind == "roster" (sources, hashes)
    sha256: str = ""


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


def read_source(path: str | os.PathLike, *, sheet: str | None = None, encoding: str | None = None) -> Source:
    from fupin_cli.io.write import sha256_file

    p = Path(path)
    if is_register_file(p):
        from fupin_cli.io.register import read_register

        reg = read_register(p)
        return Source(reg.households, reg.members, "register", p.name, sha256=sha256_file(p))
    from fupin_cli.io.read import read_roster

    roster = read_roster(p, sheet=sheet, encoding=encoding)
    sha = roster.sources[0].sha256 if roster.sources else sha256_file(p)
    return Source(roster.households, roster.members, "roster", p.name, roster=roster, sha256=sha)


def read_previous_register(path: str | os.PathLike):
    """PREVIOUS of reassess: a register; a roster given by mistake is refused by the core's check."""
    from fupin_cli.io.register import read_register

    return read_register(path)


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
}
SAMPLE_ALIASES = {
    "household_id": FIELDS["household_id"].aliases,
    "result": ("核查结论", "核查结果", "评估结论", "抽查结论", "结论", "result"),
    "recognised": ("是否认可", "群众认可", "认可", "是否满意", "recognised", "recognized"),
}


def read_population(path: str | os.PathLike) -> pd.DataFrame:
    """``--population``: 行政村 (and optionally 乡镇) and 人口数 per village."""
    from fupin_cli.io.register import read_table

    p = Path(path)
    df = _map_columns(read_table(p), POPULATION_ALIASES)
    missing = [lab for name, lab in (("village", "行政村"), ("population", "人口数")) if name not in df.columns]
    if missing:
        raise InputError(f"{p.name}: no {' or '.join(missing)} column", "the population table needs 行政村 and 人口数 (and may have 乡镇)")
    values = pd.to_numeric(df["population"].astype("string").str.replace(",", "", regex=False).str.strip(), errors="coerce")
    bad = values.isna() | (values < 0) | (values.round() != values)
    if bad.any():
        row = int(bad.to_numpy().nonzero()[0][0]) + 2  # header is Excel row 1
        raise InputError(f"{p.name}: row {row}, column 人口数: '{df['population'].iloc[row - 2]}' is not a whole number of people",
                         "write the registered population of each village as a whole number")
    df["population"] = values.astype("int64")
    return df


def read_sample_check(path: str | os.PathLike) -> pd.DataFrame:
    """``--sample-check``: 户编号, 核查结论 (正确/错退/漏评) and optionally 是否认可 (是/否)."""
    from fupin_cli.core.exit import canonical_sample_result
    from fupin_cli.io.register import read_table
    from fupin_cli.schema import FALSE_WORDS, TRUE_WORDS

    p = Path(path)
    df = _map_columns(read_table(p), SAMPLE_ALIASES)
    missing = [lab for name, lab in (("household_id", "户编号"), ("result", "核查结论")) if name not in df.columns]
    if missing:
        raise InputError(f"{p.name}: no {' or '.join(missing)} column",
                         "the sample check needs 户编号 and 核查结论 (正确/错退/漏评), optionally 是否认可 (是/否)")
    df["result"] = canonical_sample_result(df["result"], p.name)
    if "recognised" in df.columns:
        t = df["recognised"].astype("string").str.strip().str.lower()
        df["recognised"] = pd.array(t.map(lambda v: True if v in TRUE_WORDS else (False if v in FALSE_WORDS else None))
                                    .astype(object), dtype="boolean")
    return df
