"""Typing cell text by schema kind, vectorised, with a note for every value that cannot be used.

Every column arrives as pandas ``str`` (pyarrow) text.  Text is folded first (NFKC:
full-width digits, letters and spaces → half-width) and trimmed with pyarrow compute; then
each kind is parsed once per *distinct* value and mapped back (a county roster has few
distinct values per column except IDs and names, which need no parsing).

* str → trimmed text; ID columns also lose inner spaces and get an upper-case X.
* int / float / money → numbers from ``1,234.5``, ``1234元``, ``1 234.50``, ``1.2万``, ``3人``.
* bool → ``schema.TRUE_WORDS`` / ``FALSE_WORDS`` (是/否/√/×/1/0/Y/N/有/无 …).
* date → real date cells, ``1990-08-08``, ``1990.8.8``, ``1990/8/8``, ``19900808``, ``199008``,
  ``1990年8月(8日)``, ``1990-08``, Excel serial numbers.
* code → the canonical label via ``schema.canonical_value`` (unknown: kept, with a warning).

Values that cannot be parsed become <NA> with an ``error`` note ``read.bad_value``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_cli.findings import FINDING_COLUMNS
from fupin_cli.io.read_grid import STR
from fupin_cli.schema import CODE_TABLES, FALSE_WORDS, TRUE_WORDS, VALUE_INDEX, Field, normalise_value

ID_FIELDS = ("id_number", "head_id_number")
ID_AS_NUMBER_MESSAGE = "身份证号存为数值，精度已丢失：请将该列设为文本后重新录入"
MISSING_WORDS = frozenset({"/", "-", "--", "—", "——", "－", "空", "null", "none", "nan", "n/a", "#n/a", "暂无"})
KIND_ZH = {"int": "整数", "float": "数值", "money": "金额", "bool": "是/否", "date": "日期"}
KIND_HINT = {
    "int": "填写整数, 如 3",
    "float": "填写数字, 如 2.5",
    "money": "填写金额数字, 如 1234.50",
    "bool": "填写“是”或“否”",
    "date": "填写日期, 如 1990-08-08 或 1990年8月",
}
_NUM_CLEAN = re.compile(r"^[¥￥]|[,，\s]|(元/人|元/年|万元|万|元|人|口|亩|公里|千米|km|平方米|㎡|m2|个月|个|月|年|岁|户|%)$", re.I)
_SCI = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")
_TRAILING_ZERO = re.compile(r"^\d{15,18}\.0*$")
_DATE_SEP = re.compile(
    r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*(?:[-/.月]\s*(?:(?P<d>\d{1,2})\s*日?)?)?"
    r"(?:\s*[T ]\s*\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
)
_DATE_DIGITS = re.compile(r"^(?P<y>(?:19|20)\d{2})(?P<m>\d{2})(?P<d>\d{2})?$")
_SERIAL = re.compile(r"^\d{1,5}(\.\d+)?$")


@dataclass
class Where:
    """Where a column's values come from, for notes (arrays aligned with the column)."""

    file: str
    sheet: str
    letter: str
    header: str
    rows: np.ndarray  # Excel row per value
    household_ids: pd.Series | None = None


def _arrow(s: pd.Series) -> pa.ChunkedArray:
    arr = pa.array(s.array)  # ArrowStringArray → its ChunkedArray, no copy
    if isinstance(arr, pa.Array):
        arr = pa.chunked_array([arr])
    return arr if arr.type == pa.large_string() else arr.cast(pa.large_string())


def fold(s: pd.Series) -> pd.Series:
    """NFKC-fold and trim a str Series; blank → NaN."""
    arr = _arrow(s.astype(STR))
    arr = pc.utf8_trim_whitespace(pc.utf8_normalize(arr, form="NFKC"))
    arr = pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.large_string()), arr)
    return pd.Series(pd.array(arr, dtype=STR), index=s.index)


BAD = object()  # a parser's "cannot parse" result


def parse_uniques(s: pd.Series, fn) -> tuple[pd.Series, np.ndarray]:
    """Apply ``fn`` (text → value | NaN | BAD) once per distinct value; (values, bad mask)."""
    values, bad = {}, []
    for u in s.dropna().unique():
        v = fn(u)
        if v is BAD:
            bad.append(u)
        else:
            values[u] = v
    parsed = s.map(values) if values else pd.Series(np.nan, index=s.index, dtype=object)
    mask = s.isin(bad).to_numpy(dtype=bool) if bad else np.zeros(len(s), dtype=bool)
    return parsed, mask


def notes_for(mask: np.ndarray, values: pd.Series, where: Where, severity: str, check: str, message, hint: str) -> pd.DataFrame:
    """A Findings frame with one row per True in ``mask``.

    ``message`` is ``message(cell, value) -> str`` or a list of ready texts, one per selected row.
    """
    idx = np.flatnonzero(mask)
    if not len(idx):
        return pd.DataFrame(columns=FINDING_COLUMNS)
    rows = where.rows[idx]
    vals = values.iloc[idx].astype(object).tolist()
    prefix = f"{where.sheet}!" if where.sheet else ""
    hids = where.household_ids.iloc[idx].astype(object).tolist() if where.household_ids is not None else [""] * len(idx)
    return pd.DataFrame({
        "severity": severity,
        "check": check,
        "file": where.file,
        "sheet": where.sheet,
        "row": pd.array(rows, dtype="Int64"),
        "column": where.header,
        "household_id": ["" if h is None or h != h else str(h) for h in hids],
        "message": message if isinstance(message, list) else [message(f"{prefix}{where.letter}{r}", v) for r, v in zip(rows, vals)],
        "hint": hint,
    })


def mask_id(value: object) -> str:
    s = str(value)
    return s if len(s) < 11 else s[:6] + "*" * (len(s) - 10) + s[-4:]


def parse_number(text: str) -> object:
    t = text.lower()
    if t in MISSING_WORDS:
        return np.nan
    scale = 10000.0 if t.endswith(("万", "万元")) else 1.0
    t = _NUM_CLEAN.sub("", t)
    t = _NUM_CLEAN.sub("", t)  # 1,234 元 → strip both
    try:
        return float(t) * scale
    except ValueError:
        return BAD


def parse_bool(text: str) -> object:
    t = normalise_value(text)
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    if t in MISSING_WORDS:
        return np.nan
    try:
        f = float(t)
    except ValueError:
        return BAD
    return True if f == 1 else False if f == 0 else BAD


_EXCEL_EPOCH = pd.Timestamp("1899-12-30")


def parse_date(text: str) -> object:
    t = text.strip()
    if t.lower() in MISSING_WORDS:
        return np.nan
    m = _DATE_SEP.match(t) or _DATE_DIGITS.match(t)
    if m:
        y, mo, d = int(m["y"]), int(m["m"]), int(m["d"] or 1)
        try:
            return pd.Timestamp(year=y, month=mo, day=d)
        except ValueError:
            return BAD
    if _SERIAL.match(t):
        serial = float(t)
        if 1 <= serial < 80000:
            return _EXCEL_EPOCH + pd.Timedelta(days=int(serial))
    return BAD


def normalise_column(raw: pd.Series, f: Field, where: Where, numeric_rows: np.ndarray | None = None):
    """(typed Series, notes frame) for one column of one field."""
    s = fold(raw)
    present = s.notna().to_numpy()
    kind = f.kind
    notes = []
    if kind == "str":
        if f.name in ID_FIELDS:
            s = _clean_id(s)
            text = s.fillna("")
            as_number = text.str.match(_SCI.pattern) | text.str.match(_TRAILING_ZERO.pattern)
            as_number = np.array(as_number.to_numpy(dtype=bool), dtype=bool)
            if numeric_rows is not None:
                as_number |= numeric_rows & present
            if as_number.any():
                notes.append(notes_for(
                    as_number, s, where, "error", "id.stored_as_number",
                    lambda cell, v: f"{cell}: {ID_AS_NUMBER_MESSAGE} ({mask_id(v)})",
                    "在 Excel 中把该列设为“文本”格式, 再按证件原件重新录入",
                ))
                s = s.mask(as_number)
        return s, notes
    if kind == "code":
        table = VALUE_INDEX[f.code_table]

        def canon(u: str) -> object:
            label = table.get(normalise_value(u))
            return label if label else np.nan if u.lower() in MISSING_WORDS else BAD

        mapped, unknown = parse_uniques(s, canon)
        if unknown.any():
            labels = "、".join(list(CODE_TABLES[f.code_table])[:12])
            notes.append(notes_for(
                unknown, s, where, "warning", "read.unknown_code",
                lambda cell, v: f"{cell}: {where.header}“{v}”不在{f.zh}代码表中, 按原样保留",
                f"可用值: {labels}",
            ))
        out = mapped.astype(STR).mask(unknown, s)
        return out, notes
    parser = {"int": parse_number, "float": parse_number, "money": parse_number, "bool": parse_bool, "date": parse_date}[kind]
    parsed, bad = parse_uniques(s, parser)
    if kind == "int":
        num = pd.to_numeric(parsed, errors="coerce").astype("Float64")
        frac = (num.notna() & (num % 1 != 0)).to_numpy(dtype=bool)
        bad |= frac
        out = num.mask(frac).round().astype("Int64")
    elif kind in ("float", "money"):
        out = pd.to_numeric(parsed, errors="coerce").astype("Float64")
    elif kind == "bool":
        out = parsed.astype("boolean")
    else:  # date
        out = pd.to_datetime(parsed, errors="coerce").astype("datetime64[ns]")
    if bad.any():
        kz = KIND_ZH[kind]
        notes.append(notes_for(
            bad, s, where, "error", "read.bad_value",
            lambda cell, v: f"{cell}: {where.header}“{v}”不是有效的{kz}, 已按空值处理",
            KIND_HINT[kind],
        ))
    return pd.Series(out.array, index=s.index), notes


def _clean_id(s: pd.Series) -> pd.Series:
    arr = _arrow(s)
    arr = pc.utf8_upper(pc.replace_substring_regex(arr, r"\s+", ""))
    return pd.Series(pd.array(arr, dtype=STR), index=s.index)
