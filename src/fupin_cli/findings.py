"""Findings (疑点): data-quality problems collected as data, never raised.

A Findings frame has exactly the columns in :data:`FINDING_COLUMNS`; one row per problem.
``row`` is the row number Excel shows (1-based, header rows included); ``column`` is the
header text as written in the source file (or the canonical field name when the source
had no such column).  Messages never contain a full ID number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

FINDING_COLUMNS = [
    "severity",  # "error" | "warning" | "info"
    "check",  # check id, e.g. "id.checksum", "household.no_head"
    "file",  # source file name (no directory)
    "sheet",  # sheet name, "" for csv/parquet
    "row",  # Excel row number (Int64, may be <NA> for household-level findings without a row)
    "column",  # source header text or canonical field name
    "household_id",  # 户编号 (str, may be "")
    "message",  # what is wrong, in Chinese with values (IDs masked)
    "hint",  # how to fix it
]

SEVERITIES = ("error", "warning", "info")
SEVERITY_LABELS_ZH = {"error": "错误", "warning": "警告", "info": "提示"}
FINDING_LABELS_ZH = {
    "severity": "级别",
    "check": "检查项",
    "file": "文件",
    "sheet": "工作表",
    "row": "行号",
    "column": "列",
    "household_id": "户编号",
    "message": "问题",
    "hint": "修改建议",
}


def empty_findings() -> pd.DataFrame:
    return make_findings([])


def make_findings(records: Iterable[Mapping] | pd.DataFrame) -> pd.DataFrame:
    """Build a Findings frame from dict records (or a frame), filling missing columns."""
    df = records.copy() if isinstance(records, pd.DataFrame) else pd.DataFrame(list(records))
    for col in FINDING_COLUMNS:
        if col not in df.columns:
            df[col] = pd.NA if col == "row" else ""
    df = df[FINDING_COLUMNS]
    df["row"] = pd.array(df["row"], dtype="Int64")
    for col in FINDING_COLUMNS:
        if col != "row":
            df[col] = df[col].fillna("").astype(str)
    for col in ("message", "hint"):  # a value quoted in a message may be an ID typed into a name column
        df[col] = _masked(df[col])
    return df.reset_index(drop=True)


def _masked(s: pd.Series) -> pd.Series:
    from fupin_cli.idnumber import _ID_LIKE, mask

    if not len(s) or not s.str.contains(_ID_LIKE, regex=True).any():
        return s
    return s.str.replace(_ID_LIKE, lambda m: mask(m.group(0)), regex=True)


def concat_findings(frames: Iterable[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate findings frames and sort them stably by file, sheet, row, check."""
    frames = [f for f in frames if f is not None and len(f)]
    if not frames:
        return empty_findings()
    df = make_findings(pd.concat(frames, ignore_index=True))
    order = {s: i for i, s in enumerate(SEVERITIES)}
    df = df.assign(_sev=df["severity"].map(order).fillna(9))
    df = df.sort_values(["file", "sheet", "row", "_sev", "check", "column"], kind="stable", na_position="last")
    return df.drop(columns="_sev").reset_index(drop=True)


def count_by_severity(findings: pd.DataFrame) -> dict[str, int]:
    counts = findings["severity"].value_counts()
    return {s: int(counts.get(s, 0)) for s in SEVERITIES}
