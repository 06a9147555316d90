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
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_cli.findings import FINDING_COLUMNS
from fupin_cli.io.guard import NOT_A_NUMBER, plausible_number
from fupin_cli.io.read_grid import STR
from fupin_cli.schema import CODE_TABLES, FALSE_WORDS, TRUE_WORDS, VALUE_GRADES, VALUE_INDEX, Field, normalise_value

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
_NUM_CLEAN = re.compile(r"^[¥￥]|[,，\s]|(元/人|元/年|万元|万|元|人|口|亩|公里|千米|km|平方米|㎡|m2|个月|个|月|年|岁|户|%)$", re.IGNORECASE)
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
    """NFKC-fold and trim a str Series; blank → NaN.

    Columns that repeat values (villages, codes, 是/否) are folded once per distinct value;
    mostly-distinct columns (names, IDs) directly; pure-ASCII text skips NFKC.
    """
    arr = _arrow(s.astype(STR)).combine_chunks()
    sample = arr.slice(0, 2000)
    if len(sample) and len(pc.unique(sample)) * 2 < len(sample):
        enc = pc.dictionary_encode(arr)
        out = _fold_array(enc.dictionary).take(enc.indices)
    else:
        out = _fold_array(arr)
    return pd.Series(pd.array(out, dtype=STR), index=s.index)


def _fold_array(arr: pa.Array) -> pa.Array:
    if pc.all(pc.string_is_ascii(arr)).as_py() not in (True, None):
        arr = pc.utf8_normalize(arr, form="NFKC")
    arr = pc.utf8_trim_whitespace(arr)
    return pc.if_else(pc.equal(arr, ""), pa.scalar(None, pa.large_string()), arr)


BAD = object()  # a parser's "cannot parse" result
SCALE_DECIMALS = 6  # a value times its label's unit factor is rounded here (float noise, not 分)


def parse_uniques(s: pd.Series, fn) -> tuple[np.ndarray, list, np.ndarray]:
    """Apply ``fn`` (text → value | NaN | BAD) once per distinct value.

    Returns (codes, parsed values of the distinct texts, bad mask per row); ``codes`` is -1
    for missing cells, so ``np.append(per_unique, missing)[codes]`` spreads values back.
    """
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    parsed = _fast_path(fn, uniques.to_numpy(dtype=object).tolist())
    bad_u = np.fromiter((v is BAD for v in parsed), dtype=bool, count=len(parsed))
    bad = (np.append(bad_u, False)[codes]) if bad_u.any() else np.zeros(len(s), dtype=bool)
    return np.asarray(codes), parsed, bad


_PLAIN_NUMBER = r"^-?\d{1,15}(\.\d+)?$"
_PLAIN_DATE = r"^(19|20)\d\d-\d\d-\d\d( 00:00:00)?$"


def _fast_path(fn, uniques: list[str]) -> list:
    """Parse plain numbers / ISO dates among the distinct values vectorised, the rest one by one."""
    if fn not in (parse_number, parse_date) or not len(uniques):
        return [fn(u) for u in uniques]
    arr = pa.array(uniques, type=pa.large_string())
    plain = np.asarray(pc.match_substring_regex(arr, _PLAIN_NUMBER if fn is parse_number else _PLAIN_DATE)
                       .to_numpy(zero_copy_only=False), dtype=bool)
    if not plain.any():
        return [fn(u) for u in uniques]
    if fn is parse_number:
        fast = pc.cast(pc.filter(arr, pa.array(plain)), pa.float64()).to_numpy(zero_copy_only=False).tolist()
    else:
        text = pc.utf8_slice_codeunits(pc.filter(arr, pa.array(plain)), 0, 10)
        dates = pd.to_datetime(pd.Series(text.to_pylist()), format="%Y-%m-%d", errors="coerce")
        fast = [BAD if d is pd.NaT else d for d in dates]
    it = iter(fast)
    return [next(it) if p else fn(u) for u, p in zip(uniques, plain)]


def _spread(codes: np.ndarray, per_unique: np.ndarray, missing) -> np.ndarray:
    return np.append(per_unique, np.array([missing], dtype=per_unique.dtype))[codes]


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
    if t in NOT_A_NUMBER:  # "nan", "inf": a broken export, reported (not a blank)
        return BAD
    if t in MISSING_WORDS:
        return np.nan
    scale = 10000.0 if t.endswith(("万", "万元")) else 1.0
    t = _NUM_CLEAN.sub("", t)
    t = _NUM_CLEAN.sub("", t)  # 1,234 元 → strip both
    try:
        value = float(t) * scale
    except ValueError:
        return BAD
    return value if plausible_number(value) else BAD  # inf, nan, 1e400: reported, never ±1.8e308 or blank


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


def graded_bool(f: Field, inverted: bool):
    """A yes/no parser for field ``f`` read from a column of the given polarity: graded values
    (``VALUE_GRADES``, e.g. D级危房) are in the field's own meaning, 是/否 words in the column's."""
    grades = {normalise_value(w): v for v, words in VALUE_GRADES.get(f.name, {}).items() for w in words}

    def parse(text: str) -> object:
        key = normalise_value(text)
        if key in grades:
            return grades[key]
        v = parse_bool(text)
        return (not v) if inverted and isinstance(v, bool) else v

    return parse


def apply_match(values: pd.Series, inverted: bool, scale: float) -> pd.Series:
    """Typed values (e.g. a Parquet bool/number column) read through a column's polarity and unit."""
    if inverted and values.dtype == "boolean":
        values = ~values
    if scale != 1.0 and values.dtype in ("Float64", "Int64"):
        values = (values.astype("Float64") * scale).round(SCALE_DECIMALS)
    return values


def normalise_column(s: pd.Series, f: Field, where: Where, numeric_rows: np.ndarray | None = None,
                     inverted: bool = False, scale: float = 1.0):
    """(typed Series, notes frames) for one column of one field; ``s`` is :func:`fold`-ed text.

    ``inverted``: the column states the other case of a yes/no field (values negated);
    ``scale``: the factor of the unit written in the label (万元 → 10,000)."""
    kind = f.kind
    notes = []
    if kind == "str":
        if f.name in ID_FIELDS:
            s = _clean_id(s)
            text = s.fillna("")
            as_number = text.str.match(_SCI.pattern) | text.str.match(_TRAILING_ZERO.pattern)
            as_number = np.array(as_number.to_numpy(dtype=bool), dtype=bool)
            if numeric_rows is not None:
                as_number |= numeric_rows & s.notna().to_numpy()
            if as_number.any():
                notes.append(notes_for(
                    as_number, s, where, "error", "id.stored_as_number",
                    lambda cell, v: f"{cell}: {ID_AS_NUMBER_MESSAGE} ({mask_id(v)})",
                    "在 Excel 中把该列设为“文本”格式, 再按证件原件重新录入",
                ))
                s = s.mask(as_number)
        return s, notes
    if kind == "code":
        code_table = cast(str, f.code_table)  # a code field names its table
        table = VALUE_INDEX[code_table]

        def canon(u: str) -> object:
            label = table.get(normalise_value(u))
            return label if label else np.nan if u.lower() in MISSING_WORDS else BAD

        codes, parsed, unknown = parse_uniques(s, canon)
        if unknown.any():
            labels = "、".join(list(CODE_TABLES[code_table])[:12])
            notes.append(notes_for(
                unknown, s, where, "warning", "read.unknown_code",
                lambda cell, v: f"{cell}: {where.header}“{v}”不在{f.zh}代码表中, 按原样保留",
                f"可用值: {labels}",
            ))
        uniques: Any = pd.factorize(s, use_na_sentinel=True)[1] if unknown.any() else None
        labels_u = [v if isinstance(v, str) else (uniques[i] if v is BAD else None) for i, v in enumerate(parsed)]
        table_u = pa.array([*labels_u, None], type=pa.large_string())
        out = table_u.take(pa.array(np.where(codes < 0, len(parsed), codes)))
        return pd.Series(pd.array(out, dtype=STR), index=s.index), notes
    parser = {"int": parse_number, "float": parse_number, "money": parse_number, "date": parse_date}.get(kind)
    if kind == "bool":
        parser = graded_bool(f, inverted) if inverted or f.name in VALUE_GRADES else parse_bool
    codes, parsed, bad = parse_uniques(s, parser)
    if kind in ("int", "float", "money"):
        per = np.array([np.nan if v is BAD else v for v in parsed], dtype=np.float64)
        if scale != 1.0:  # 0.2855 万元 → 2855 元, not 2854.9999999999995
            per = np.round(per * scale, SCALE_DECIMALS)
        num = _spread(codes, per, np.nan)
        if kind == "int":
            with np.errstate(invalid="ignore"):
                frac = ~np.isnan(num) & (num % 1 != 0)
            bad = bad | frac
            num[frac] = np.nan
            out = pd.arrays.IntegerArray(np.nan_to_num(np.round(num)).astype(np.int64), np.isnan(num))
        else:
            out = pd.arrays.FloatingArray(np.nan_to_num(num), np.isnan(num))
    elif kind == "bool":
        per = np.array([1 if v is True else 0 if v is False else -1 for v in parsed], dtype=np.int8)
        b = _spread(codes, per, -1)
        out = pd.arrays.BooleanArray(b == 1, b < 0)
    else:  # date
        per = np.array([v.to_datetime64() if isinstance(v, pd.Timestamp) else np.datetime64("NaT") for v in parsed],
                       dtype="datetime64[ns]")
        out = _spread(codes, per, np.datetime64("NaT"))
    if bad.any():
        kz = KIND_ZH[kind]
        notes.append(notes_for(
            bad, s, where, "error", "read.bad_value",
            lambda cell, v: f"{cell}: {where.header}“{v}”不是有效的{kz}, 已按空值处理",
            KIND_HINT[kind],
        ))
    return pd.Series(out, index=s.index), notes


def _clean_id(s: pd.Series) -> pd.Series:
    arr = _arrow(s)
    arr = pc.utf8_upper(pc.replace_substring_regex(arr, r"\s+", ""))
    return pd.Series(pd.array(arr, dtype=STR), index=s.index)
