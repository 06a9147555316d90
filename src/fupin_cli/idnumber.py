"""Resident ID numbers (公民身份号码, GB 11643-1999): check, upgrade 15 → 18, mask.

An 18-character number is a 6-digit address code, an 8-digit birth date ``YYYYMMDD``, a
3-digit sequence code (odd = male, even = female) and an ISO 7064 MOD 11-2 check character
(weights ``7 9 10 5 8 4 2 1 6 3 7 9 10 5 8 4 2``, check = ``"10X98765432"[S mod 11]``).
The old 15-digit form has a ``YYMMDD`` date (century 19) and no check character; it is
upgraded by inserting ``19`` and appending the check character, and reported as such.
20- and 22-digit values are 残疾证 numbers (the holder's 18-character ID followed by the
disability category/grade digits, domain.md §5.4); they are accepted with a note and their
leading 18 characters are checked as an ID.

Two interfaces that give the same verdicts (tests hold them to it):

* :func:`check_id` — one value, pure Python, returns an :class:`IdCheck`;
* :func:`check_series` — a pandas Series, vectorised (numpy on the digit matrix), returns a
  frame ``normalised, valid, problem, birth_date, sex, upgraded, kind``.

Problem codes (``IdCheck.problem`` / the ``problem`` column; "" = none):

=================  ===========================================================================
``missing``        empty cell
``excel_number``   the value was stored as a number and Excel mangled it (``5.00101E+17``,
                   ``500101199001011000.0``, or 18 digits ending ``000`` whose check fails)
``characters``     characters other than digits (and a final X)
``length``         not 15, 18, 20 or 22 characters
``birth_date``     the date part is not a real date, before 1900, or after the reference date
``checksum``       the check character does not match the first 17 digits
``upgraded_15``    a valid 15-digit number, upgraded to 18 (``valid`` is True)
``disability``     a valid 20/22-digit 残疾证 number (``valid`` is True)
=================  ===========================================================================

Personal data: never print a full number; use :func:`mask` (first 6 + ``*`` + last 4).
"""

from __future__ import annotations

import datetime as _dt
import re
import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"
MIN_BIRTH_YEAR = 1900
DISABILITY_LENGTHS = (20, 22)

# problem codes, most serious first (the first one found is the IdCheck.problem)
PROBLEM_CODES = ("missing", "excel_number", "characters", "length", "birth_date", "checksum", "upgraded_15", "disability")
PROBLEM_LABELS_ZH = {
    "missing": "证件号码为空",
    "excel_number": "证件号码被 Excel 存成数字（科学计数法或末位丢失）",
    "characters": "证件号码含非法字符",
    "length": "证件号码位数不对",
    "birth_date": "证件号码中的出生日期无效",
    "checksum": "证件号码校验位错误",
    "upgraded_15": "15 位旧证件号码（已升级为 18 位）",
    "disability": "残疾证号码（20/22 位）",
}
VALID_PROBLEMS = frozenset({"", "upgraded_15", "disability"})

_SCIENTIFIC = re.compile(r"^\d+(\.\d+)?E\+?\d+$")
_DECIMAL = re.compile(r"^\d+\.\d+$")
_DIGITS = re.compile(r"[0-9]+")
_BODY = re.compile(r"[0-9]+X?|[0-9]{17}X[0-9]+")  # digits, X last or 18th (残疾证)
# ID numbers (15, 18), disability certificates (ID + 2 or 4 digits) and 19-digit bank-card numbers;
# 16 and 17 digits are left alone (户编号 are 16 digits, a mistyped one 17: not personal data)
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx](?:\d{2}){0,2}|\d{19}|\d{15})(?![0-9A-Za-z])")


@dataclass(frozen=True)
class IdCheck:
    """The verdict on one value.

    ``normalised``: upper case, full-width folded, spaces removed, 15 → 18 when upgraded
    ("" when missing).  ``problems``: every problem found, as ``(code, message)`` with the
    number masked; ``problem`` is the first code ("" when none).
    """

    normalised: str
    valid: bool
    problems: tuple[tuple[str, str], ...] = ()
    birth_date: _dt.date | None = None
    sex: str | None = None  # "男" / "女"
    upgraded_from_15: bool = False
    kind: str = ""  # "resident" | "disability" | ""

    @property
    def problem(self) -> str:
        return self.problems[0][0] if self.problems else ""


# ---------------------------------------------------------------------------------------
# scalar helpers
# ---------------------------------------------------------------------------------------
def check_char(first17: str) -> str:
    """MOD 11-2 check character of 17 digits."""
    if len(first17) != 17 or not _isdigits(first17):
        raise ValueError("check_char needs exactly 17 digits")
    s = sum(int(c) * w for c, w in zip(first17, WEIGHTS))
    return CHECK_CHARS[s % 11]


def upgrade15(value: str) -> str:
    """The 18-character form of a 15-digit number (``19`` inserted, check character appended)."""
    if len(value) != 15 or not _isdigits(value):
        raise ValueError("upgrade15 needs exactly 15 digits")
    first17 = value[:6] + "19" + value[6:]
    return first17 + check_char(first17)


def mask(value: object) -> str:
    """First 6 + ``*`` + last 4 characters: ``500101********123X``.

    Values of 10 characters or fewer are masked completely (no digit shown).
    """
    if value is None:
        return ""
    s = str(value)
    if len(s) <= 10:
        return "*" * len(s)
    return s[:6] + "*" * (len(s) - 10) + s[-4:]


def mask_account(value: object) -> str:
    """A bank account or card number: first 4 + ``*`` + last 4 characters (``6228***********0123``).

    Spaces and dashes are dropped first; values of 8 characters or fewer show only the last 2.
    """
    if value is None:
        return ""
    s = "".join(ch for ch in str(value) if ch not in " -\t")
    if not s:
        return ""
    if len(s) <= 8:
        return "*" * max(len(s) - 2, 1) + s[-2:] if len(s) > 2 else "*" * len(s)
    return s[:4] + "*" * (len(s) - 8) + s[-4:]


def mask_text(text: str) -> str:
    """Mask every ID-like number inside free text: 15/18-character IDs, 20/22-character disability
    certificates, 19-digit bank-card numbers."""
    return _ID_LIKE.sub(lambda m: mask(m.group(0)), text)


def clean(value: object) -> str:
    """Fold full-width characters, drop whitespace and a leading ``'``, upper-case."""
    if value is None:
        return ""
    if isinstance(value, float):
        if value != value:  # NaN
            return ""
        return repr(value).upper()
    s = unicodedata.normalize("NFKC", str(value))
    s = "".join(s.split()).lstrip("'").upper()
    return s


def _isdigits(text: str) -> bool:
    return bool(_DIGITS.fullmatch(text))


def _date_or_none(year: int, month: int, day: int) -> _dt.date | None:
    try:
        return _dt.date(year, month, day)
    except ValueError:
        return None


def _reference(ref_date: _dt.date | None) -> _dt.date:
    return ref_date if ref_date is not None else _dt.date.today()


def check_id(value: object, ref_date: _dt.date | None = None) -> IdCheck:
    """Check one ID number (str, int or float; a float always means Excel stored a number).

    ``ref_date``: a birth date after it is a problem (default: today).
    """
    if value is None or (isinstance(value, float) and value != value):
        return IdCheck("", False, (("missing", PROBLEM_LABELS_ZH["missing"]),))
    is_float = isinstance(value, float)
    s = clean(value)
    if not s:
        return IdCheck("", False, (("missing", PROBLEM_LABELS_ZH["missing"]),))
    if is_float or _SCIENTIFIC.match(s) or _DECIMAL.match(s):
        msg = f"证件号码 {mask(s)} 是数字格式（Excel 只保留 15 位有效数字，后几位已丢失）"
        return IdCheck(s, False, (("excel_number", msg),))
    body = s
    if not _BODY.fullmatch(body):
        return IdCheck(s, False, (("characters", f"证件号码 {mask(s)} 含数字和末位 X 以外的字符"),))
    n = len(body)
    ref = _reference(ref_date)
    if n == 15:
        if not _isdigits(body):
            return IdCheck(s, False, (("characters", f"证件号码 {mask(s)} 含数字和末位 X 以外的字符"),))
        birth = _date_or_none(1900 + int(body[6:8]), int(body[8:10]), int(body[10:12]))
        sex = "男" if int(body[14]) % 2 else "女"
        if birth is None or birth > ref:
            return IdCheck(s, False, (("birth_date", f"15 位证件号码 {mask(s)} 中的出生日期 19{body[6:12]} 无效"),), None, sex)
        up = upgrade15(body)
        msg = f"15 位旧证件号码 {mask(s)}，已升级为 18 位 {mask(up)}"
        return IdCheck(up, True, (("upgraded_15", msg),), birth, sex, True, "resident")
    if n in (18, *DISABILITY_LENGTHS):
        kind = "resident" if n == 18 else "disability"
        core = body[:18]
        if n != 18 and not _isdigits(body[18:]):
            return IdCheck(s, False, (("characters", f"残疾证号码 {mask(s)} 末尾应为数字"),), kind=kind)
        what = "证件号码" if n == 18 else "残疾证号码"
        problems: list[tuple[str, str]] = []
        y = int(core[6:10])
        birth = _date_or_none(y, int(core[10:12]), int(core[12:14]))
        sex = "男" if int(core[16]) % 2 else "女"
        if birth is None or y < MIN_BIRTH_YEAR or birth > ref:
            problems.append(("birth_date", f"{what} {mask(s)} 中的出生日期 {core[6:14]} 无效"))
            birth = None
        expected = check_char(core[:17])
        if core[17] != expected:
            if n == 18 and core.endswith("000"):
                problems.insert(0, ("excel_number", f"证件号码 {mask(s)} 末三位为 000 且校验位不符，疑似 Excel 数字格式丢失了末位"))
            else:
                problems.append(("checksum", f"{what} {mask(s)} 校验位错误（按前 17 位应为 {expected}，请核对整个号码）"))
        if problems:
            return IdCheck(s, False, tuple(problems), birth, sex, False, kind)
        if n != 18:
            note = f"残疾证号码 {mask(s)}（{n} 位，前 18 位为身份证号码）"
            return IdCheck(s, True, (("disability", note),), birth, sex, False, kind)
        return IdCheck(s, True, (), birth, sex, False, kind)
    return IdCheck(s, False, (("length", f"证件号码 {mask(s)} 有 {n} 位（应为 18 位，旧证 15 位，残疾证 20/22 位）"),))


def is_valid(value: object, ref_date: _dt.date | None = None) -> bool:
    return check_id(value, ref_date).valid




# ---------------------------------------------------------------------------------------
# vectorised (pandas Series in, DataFrame out): the same verdicts as check_id
# ---------------------------------------------------------------------------------------
_W = np.array(WEIGHTS, dtype=np.int64)
_CHECK_BYTES = np.frombuffer(CHECK_CHARS.encode(), dtype=np.uint8)
_W15 = np.concatenate([_W[:6], _W[8:]])  # weights of the 15 digits after inserting "19"
_W19 = 1 * WEIGHTS[6] + 9 * WEIGHTS[7]
_DAYS = np.array([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31], dtype=np.int64)

SERIES_COLUMNS = ["normalised", "valid", "problem", "birth_date", "sex", "upgraded", "kind"]


def _clean_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`clean`; returns a ``str`` Series (missing → <NA>)."""
    if pd.api.types.is_float_dtype(values.dtype):
        return values.map(clean, na_action="ignore").astype("str").replace("", pd.NA)
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("str")
    if not pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
        return values.map(clean, na_action="ignore").astype("str").replace("", pd.NA)
    s = values.astype("str").str.upper()
    # full-width characters, whitespace or a leading ' are rare: clean those values one by one
    odd = s.str.contains(r"[^\x21-\x7e]|^'", regex=True).fillna(False)
    if odd.any():
        s = s.copy()
        s.loc[odd] = s[odd].map(clean).to_numpy()
    return s.where(s != "", pd.NA)


def _digit_matrix(s: pd.Series, width: int) -> np.ndarray:
    """(n, width) uint8 matrix of the first ``width`` characters of ASCII strings of length ≥ width."""
    if len(s) == 0:
        return np.zeros((0, width), dtype=np.uint8)
    arr = pa.array(s.str.slice(0, width), type=pa.large_string())
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64)[arr.offset: arr.offset + len(arr) + 1]
    data = np.frombuffer(arr.buffers()[2], dtype=np.uint8)
    if np.all(np.diff(offsets) == width):
        return data[offsets[0]: offsets[-1]].reshape(-1, width)
    return np.frombuffer("".join(s.tolist()).encode("ascii"), dtype=np.uint8).reshape(-1, width)


def _dates(year: np.ndarray, month: np.ndarray, day: np.ndarray, ref: _dt.date) -> tuple[np.ndarray, np.ndarray]:
    """(ok mask, datetime64[ns] values) for year/month/day arrays; ok also means 1900 ≤ date ≤ ref."""
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    m = np.clip(month, 0, 12)
    dim = _DAYS[m] + ((m == 2) & leap)
    ymd = year * 10000 + month * 100 + day
    ref_int = ref.year * 10000 + ref.month * 100 + ref.day
    ok = (month >= 1) & (month <= 12) & (day >= 1) & (day <= dim) & (year >= MIN_BIRTH_YEAR) & (ymd <= ref_int)
    y = np.where(ok, year, 1970)
    mo = np.where(ok, month, 1)
    d = np.where(ok, day, 1)
    values = ((y - 1970).astype("datetime64[Y]").astype("datetime64[M]") + (mo - 1).astype("timedelta64[M]")).astype(
        "datetime64[D]"
    ) + (d - 1).astype("timedelta64[D]")
    return ok, values.astype("datetime64[ns]")


def _num(d: np.ndarray, start: int, stop: int) -> np.ndarray:
    out = np.zeros(len(d), dtype=np.int64)
    for i in range(start, stop):
        out = out * 10 + d[:, i]
    return out


_PROBLEM_INDEX = {code: i + 1 for i, code in enumerate(PROBLEM_CODES)}  # 0 = no problem
_STR = pd.StringDtype("pyarrow", na_value=np.nan)


def _labels(codes: np.ndarray, labels: list[str | None]) -> pd.Series:
    """A ``str`` Series from small integer codes (fast: an Arrow take, no Python objects)."""
    arr = pa.array(labels, type=pa.large_string()).take(pa.array(codes))
    return pd.Series(arr.to_pandas(types_mapper=lambda _t: _STR))


def check_series(values: pd.Series, ref_date: _dt.date | None = None) -> pd.DataFrame:
    """Vectorised :func:`check_id`: one row per value, same index.

    Columns: ``normalised`` (str, <NA> when missing), ``valid`` (bool), ``problem`` (the first
    problem code, "" when none), ``birth_date`` (datetime64[ns]), ``sex`` ("男"/"女"/<NA>),
    ``upgraded`` (bool: a 15-digit number upgraded to 18), ``kind`` (resident/disability/"").
    """
    ref = _reference(ref_date)
    values = values if isinstance(values, pd.Series) else pd.Series(values)
    index = values.index
    n = len(values)
    s = _clean_series(values).reset_index(drop=True)
    P = _PROBLEM_INDEX

    problem = np.zeros(n, dtype=np.int8)
    kind = np.zeros(n, dtype=np.int8)  # 0 "", 1 resident, 2 disability
    sex = np.zeros(n, dtype=np.int8)  # 0 <NA>, 1 男, 2 女
    birth = np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    upgraded = np.zeros(n, dtype=bool)
    normalised = s.copy()

    missing = s.isna().to_numpy()
    problem[missing] = P["missing"]
    # the usual case, 17 digits and a digit or X, needs no further pattern tests
    core = s.str.fullmatch(r"[0-9]{17}[0-9X]").fillna(False).to_numpy(bool).copy()
    is15 = np.zeros(n, dtype=bool)
    other = np.flatnonzero(~core & ~missing)
    if len(other):
        o = s.iloc[other]
        length = o.str.len().to_numpy()
        if pd.api.types.is_float_dtype(values.dtype):
            excel = np.ones(len(o), dtype=bool)
        else:
            excel = o.str.fullmatch(r"[0-9]+(\.[0-9]+E\+?[0-9]+|E\+?[0-9]+|\.[0-9]+)").to_numpy(bool)
        body_ok = o.str.fullmatch(_BODY.pattern).to_numpy(bool) & ~excel
        ends_x = o.str.endswith("X").to_numpy(bool)
        dis = body_ok & np.isin(length, DISABILITY_LENGTHS)
        p = np.where(excel, P["excel_number"], np.where(body_ok, 0, P["characters"]))
        p = np.where(body_ok & ~np.isin(length, (15, 18, *DISABILITY_LENGTHS)), P["length"], p)
        p = np.where(ends_x & body_ok & ((length == 15) | dis), P["characters"], p)
        problem[other] = p
        kind[other[dis]] = 2
        is15[other[body_ok & (length == 15) & ~ends_x]] = True
        core[other[dis & ~ends_x]] = True

    # 18-character cores (IDs and the first 18 of 残疾证 numbers)
    pos = np.flatnonzero(core)
    if len(pos):
        m = _digit_matrix(s.iloc[pos], 18)
        d = m[:, :17].astype(np.int64) - 48
        sum_ok = m[:, 17] == _CHECK_BYTES[(d @ _W) % 11]
        ok_date, dates = _dates(_num(d, 6, 10), _num(d, 10, 12), _num(d, 12, 14), ref)
        is18 = kind[pos] != 2
        zeros = is18 & (m[:, 15] == 48) & (m[:, 16] == 48) & (m[:, 17] == 48)
        p = np.where(is18, 0, P["disability"])
        p = np.where(~sum_ok, P["checksum"], p)
        p = np.where(~ok_date, P["birth_date"], p)
        p = np.where(~sum_ok & zeros, P["excel_number"], p)
        problem[pos] = p
        kind[pos[is18]] = 1
        sex[pos] = np.where(d[:, 16] % 2 == 1, 1, 2)
        birth[pos[ok_date]] = dates[ok_date]
    pos15 = np.flatnonzero(is15)
    if len(pos15):
        d = _digit_matrix(s.iloc[pos15], 15).astype(np.int64) - 48
        ok_date, dates = _dates(1900 + _num(d, 6, 8), _num(d, 8, 10), _num(d, 10, 12), ref)
        sex[pos15] = np.where(d[:, 14] % 2 == 1, 1, 2)
        problem[pos15] = np.where(ok_date, P["upgraded_15"], P["birth_date"])
        good = pos15[ok_date]
        birth[good] = dates[ok_date]
        upgraded[good] = True
        kind[good] = 1
        checks = _CHECK_BYTES[(d[ok_date] @ _W15 + _W19) % 11].tobytes().decode("ascii")
        sub = s.iloc[good]
        fixed = sub.str.slice(0, 6) + "19" + sub.str.slice(6) + pd.Series(list(checks), index=sub.index, dtype="str")
        normalised.iloc[good] = fixed.to_numpy()

    valid_codes = np.array([c in VALID_PROBLEMS for c in ("", *PROBLEM_CODES)])
    out = pd.DataFrame(
        {
            "normalised": normalised.astype("str"),
            "valid": valid_codes[problem],
            "problem": _labels(problem, ["", *PROBLEM_CODES]),
            "birth_date": pd.Series(birth, dtype="datetime64[ns]"),
            "sex": _labels(sex, [None, "男", "女"]),
            "upgraded": upgraded,
            "kind": _labels(kind, ["", "resident", "disability"]),
        }
    )
    out.index = index
    return out


def birth_dates(values: pd.Series, ref_date: _dt.date | None = None) -> pd.Series:
    """Birth date (datetime64[ns], NaT when unknown) of each ID in a Series."""
    return check_series(values, ref_date)["birth_date"]


def sexes(values: pd.Series, ref_date: _dt.date | None = None) -> pd.Series:
    """Sex ("男"/"女", <NA> when unknown) from each ID's sequence digit."""
    return check_series(values, ref_date)["sex"]


def mask_series(values: pd.Series) -> pd.Series:
    """Vectorised :func:`mask` (a ``str`` Series; missing stays missing)."""
    s = values.astype("str")
    out = s.copy()
    lengths = s.str.len()
    for n in lengths.dropna().unique():
        n = int(n)
        sel = lengths == n
        out.loc[sel] = "*" * n if n <= 10 else s[sel].str.slice_replace(6, n - 4, "*" * (n - 10))
    return out
