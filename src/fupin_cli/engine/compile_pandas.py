"""Vectorised evaluation of typed IR over a frame (Series in, Series out).

Internal value representation (``n`` = rows of the frame):

* number → ``np.ndarray[float64]`` (NaN = missing)
* date   → ``np.ndarray[datetime64[ns]]`` (NaT = missing)
* bool   → ``pandas.arrays.BooleanArray`` (NA = unknown; ``& | ~`` are Kleene)
* text   → ``pd.Series`` of the ``str`` dtype with a RangeIndex (NA = missing)
* literals and parameters stay Python scalars until combined.

Missing inputs make comparisons and arithmetic unknown; ``is missing`` is never unknown;
division by zero is missing.  Results of equal sub-expressions are memoised per frame.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pandas as pd
from pandas.arrays import BooleanArray

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine.typecheck import Ty, contains_regex

_CMP = {"<": np.less, "<=": np.less_equal, ">": np.greater, ">=": np.greater_equal, "==": np.equal, "!=": np.not_equal}


def bool_array(values: np.ndarray, mask: np.ndarray | None = None) -> BooleanArray:
    values = np.asarray(values, dtype=bool)
    if mask is None:
        mask = np.zeros(len(values), dtype=bool)
    return BooleanArray(values, np.asarray(mask, dtype=bool))


def to_num(col: pd.Series) -> np.ndarray:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if col.dtype == bool or str(col.dtype) == "boolean":
        return cast(np.ndarray, col.astype("Float64").to_numpy(dtype="float64", na_value=np.nan))
    if not pd.api.types.is_numeric_dtype(col.dtype):
        col = pd.to_numeric(col, errors="coerce")
    return cast(np.ndarray, col.to_numpy(dtype="float64", na_value=np.nan))


def to_date(col: pd.Series) -> np.ndarray:
    if not pd.api.types.is_datetime64_any_dtype(col.dtype):
        col = pd.to_datetime(col, errors="coerce")
    if getattr(col.dt, "tz", None) is not None:
        col = col.dt.tz_localize(None)
    return cast(np.ndarray, col.to_numpy(dtype="datetime64[ns]"))


def to_bool(col: pd.Series) -> BooleanArray:
    if str(col.dtype) == "boolean":
        return col.array
    if col.dtype == bool:
        return bool_array(col.to_numpy())
    if pd.api.types.is_numeric_dtype(col.dtype):
        num = col.to_numpy(dtype="float64", na_value=np.nan)
        return bool_array(num == 1, np.isnan(num) | ((num != 0) & (num != 1)))
    text = col.astype("str").str.strip().str.lower()
    isna = col.isna().to_numpy()
    t = text.isin(schema.TRUE_WORDS).to_numpy()
    f = text.isin(schema.FALSE_WORDS).to_numpy()
    return bool_array(t, isna | ~(t | f))


def to_str(col: pd.Series) -> pd.Series:
    if isinstance(col.dtype, pd.CategoricalDtype):
        col = col.astype(object)
    if str(col.dtype) != "str":
        isna = col.isna()
        col = col.astype("str")
        if isna.any():
            col = col.mask(isna.to_numpy())
    return col.reset_index(drop=True)


def convert(col: pd.Series, ty: Ty) -> Any:
    return {"num": to_num, "date": to_date, "bool": to_bool, "str": to_str}[ty.kind](col)


def missing_of(ty: Ty, n: int) -> Any:
    if ty.kind == "num":
        return np.full(n, np.nan)
    if ty.kind == "date":
        return np.full(n, np.datetime64("NaT"), dtype="datetime64[ns]")
    if ty.kind == "bool":
        return bool_array(np.zeros(n, bool), np.ones(n, bool))
    return pd.Series(pd.array([pd.NA] * n, dtype="str"))


def is_missing(v: Any, n: int) -> np.ndarray:
    """Boolean numpy mask of missing values (scalars broadcast)."""
    if isinstance(v, np.ndarray):
        return np.isnat(v) if v.dtype.kind == "M" else np.isnan(v)
    if isinstance(v, BooleanArray):
        return cast(np.ndarray, v.isna())
    if isinstance(v, pd.Series):
        return cast(np.ndarray, v.isna().to_numpy())
    return np.full(n, v is None or (isinstance(v, float) and np.isnan(v)))


def contains_pattern(text: str, field: str | None) -> str:
    """Regex matching ``text`` as one item of a list-valued text field (all its spellings)."""
    return contains_regex(text, field)


class FrameEvaluator:
    """Evaluates typed IR nodes over one frame; results are memoised by node."""

    def __init__(self, frame: pd.DataFrame, types: dict[str, Ty], params: dict[str, Any], extra: dict[str, Any] | None = None):
        self.frame = frame
        self.n = len(frame)
        self.types = types
        self.params = params  # name → python value
        self.columns: dict[str, Any] = dict(extra or {})
        self.memo: dict[ir.Node, Any] = {}
        self.codes: Any = None  # derive.HouseholdCodes when this frame's members were aggregated
        self.dictionaries: dict[str, Any] = {}  # text column → (codes, distinct values) or None
        # name → the column (a Series in frame order) or None: inputs read on demand when the frame lacks them
        # (a roster held in DuckDB: compile_sql.evaluate_relations)
        self.fetch: Callable[[str], Any] | None = None

    # -- inputs --------------------------------------------------------------------------
    def column(self, name: str) -> Any:
        if name not in self.columns:
            ty = self.types[name]
            fetched = self.fetch(name) if self.fetch is not None and name not in self.frame.columns else None
            if fetched is not None:
                self.columns[name] = convert(fetched, ty)
            elif name in self.frame.columns:
                self.columns[name] = convert(self.frame[name], ty)
            else:
                self.columns[name] = missing_of(ty, self.n)
        return self.columns[name]

    def set_column(self, name: str, value: Any) -> None:
        self.columns[name] = value
        self.dictionaries.pop(name, None)

    def text_codes(self, node: ir.Node) -> tuple[np.ndarray, list[Any]] | None:
        """(codes, distinct values) of a low-cardinality text column named by ``node``, encoded once.

        Code −1 = missing.  Comparisons, ``in`` and ``contains`` on such a column are decided once
        per distinct value and spread to the rows by code (the column's repeated labels are
        hashed once, not once per condition).  None for other nodes and for mostly distinct columns.
        """
        if not isinstance(node, ir.Name) or self.n <= 64:
            return None
        name = node.name
        if name not in self.dictionaries:
            value = self.eval(node)
            self.dictionaries[name] = _dictionary(value) if isinstance(value, pd.Series) else None
        return cast("tuple[np.ndarray, list[Any]] | None", self.dictionaries[name])

    def _coded_bool(self, coded: tuple[np.ndarray, list[Any]], decide: Callable[[Any], Any]) -> BooleanArray:
        """Per-row result of ``decide(distinct value) -> bool``; unknown where the value is missing."""
        codes, uniques = coded
        table = np.array([bool(decide(u)) for u in uniques] + [False], dtype=bool)
        missing = codes < 0
        return bool_array(table[np.where(missing, len(uniques), codes)], missing)

    # -- evaluation ----------------------------------------------------------------------
    def eval(self, node: ir.Node) -> Any:
        try:
            return self.memo[node]
        except KeyError:
            pass
        value = self._eval(node)
        self.memo[node] = value
        return value

    def eval_bool(self, node: ir.Node) -> BooleanArray:
        return self.as_bool(self.eval(node))

    def eval_num(self, node: ir.Node) -> np.ndarray:
        return self.as_num(self.eval(node))

    def as_bool(self, v: Any) -> BooleanArray:
        if isinstance(v, BooleanArray):
            return v
        return bool_array(np.full(self.n, bool(v)))

    def as_num(self, v: Any) -> np.ndarray:
        if isinstance(v, np.ndarray):
            return v
        return np.full(self.n, np.nan if v is None else float(v))

    def as_date(self, v: Any) -> np.ndarray:
        if isinstance(v, np.ndarray):
            return v
        return np.full(self.n, np.datetime64(v, "ns"), dtype="datetime64[ns]")

    def _eval(self, n: ir.Node) -> Any:
        if isinstance(n, (ir.Num, ir.Str, ir.Bool)):
            return float(n.value) if isinstance(n, ir.Num) else n.value
        if isinstance(n, ir.Date):
            return np.datetime64(n.value, "ns")
        if isinstance(n, ir.Name):
            return self.column(n.name)
        if isinstance(n, ir.Param):
            v = self.params[n.name]
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if isinstance(n, ir.ListLit):
            return [self._eval(i) for i in n.items]
        if isinstance(n, ir.Neg):
            v = self.eval(n.operand)
            return -v
        if isinstance(n, ir.Arith):
            return self._arith(n.op, self.eval(n.left), self.eval(n.right))
        if isinstance(n, ir.Compare):
            if n.op in ("==", "!=") and isinstance(n.right, ir.Str):
                coded = self.text_codes(n.left)
                if coded is not None:  # text == 'label': decided per distinct value
                    text = n.right.value
                    same = self._coded_bool(coded, lambda u: u == text)
                    return ~same if n.op == "!=" else same
            return self._compare(n.op, self.eval(n.left), self.eval(n.right))
        if isinstance(n, ir.In):
            coded = self.text_codes(n.operand)
            options = self.eval(n.options)
            if coded is not None and all(isinstance(o, str) for o in options):
                inside = self._coded_bool(coded, lambda u: u in options)
                return bool_array(~inside.to_numpy(dtype=bool, na_value=True), inside.isna()) if n.negate else inside
            return self._in(self.eval(n.operand), options, n.negate)
        if isinstance(n, ir.Between):
            x = self.eval(n.operand)
            return self.as_bool(self._compare("<=", self.eval(n.low), x)) & self.as_bool(self._compare("<=", x, self.eval(n.high)))
        if isinstance(n, ir.IsMissing):
            m = is_missing(self.eval(n.operand), self.n)
            return bool_array(~m if n.negate else m)
        if isinstance(n, ir.Not):
            return ~self.eval_bool(n.operand)
        if isinstance(n, ir.And):
            out = self.eval_bool(n.items[0])
            for i in n.items[1:]:
                out = out & self.eval_bool(i)
            return out
        if isinstance(n, ir.Or):
            out = self.eval_bool(n.items[0])
            for i in n.items[1:]:
                out = out | self.eval_bool(i)
            return out
        if isinstance(n, ir.Call):
            return self._call(n)
        raise TypeError(type(n).__name__)

    def _arith(self, op: str, a: Any, b: Any) -> Any:
        if not isinstance(a, np.ndarray) and not isinstance(b, np.ndarray):
            a, b = self.as_num(a), self.as_num(b)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            if op == "+":
                return a + b
            if op == "-":
                return a - b
            if op == "*":
                return a * b
            out = np.true_divide(a, b)
            zero = np.asarray(b) == 0
            if np.any(zero):
                out = np.where(zero, np.nan, out)
            return np.asarray(out, dtype="float64")

    def _compare(self, op: str, a: Any, b: Any) -> BooleanArray:
        n = self.n
        if isinstance(a, pd.Series) or isinstance(b, pd.Series) or isinstance(a, str) or isinstance(b, str):
            sa = a
            raw = (sa == b) if isinstance(sa, pd.Series) else (b == sa)
            if not isinstance(raw, pd.Series):  # two scalars
                raw = pd.Series(np.full(n, bool(raw)))
            values = raw.to_numpy(dtype=bool, na_value=False)
            if op == "!=":
                values = ~values
            return bool_array(values, is_missing(a, n) | is_missing(b, n))
        if isinstance(a, BooleanArray) or isinstance(b, BooleanArray) or isinstance(a, bool) or isinstance(b, bool):
            ba, bb = self.as_bool(a), self.as_bool(b)
            res = (ba == bb) if op == "==" else (ba != bb)
            return res
        if isinstance(a, np.ndarray) and a.dtype.kind == "M" or isinstance(b, np.ndarray) and b.dtype.kind == "M" or isinstance(a, np.datetime64):
            a, b = self.as_date(a), self.as_date(b)
        else:
            a, b = self.as_num(a), self.as_num(b)
        mask = is_missing(a, n) | is_missing(b, n)
        with np.errstate(invalid="ignore"):
            values = _CMP[op](a, b)
        return bool_array(values & ~mask, mask)

    def _in(self, x: Any, options: list[Any], negate: bool) -> BooleanArray:
        n = self.n
        if isinstance(x, pd.Series):
            values = x.isin(options).to_numpy(dtype=bool, na_value=False)
        elif isinstance(x, BooleanArray):
            opts = [bool(o) for o in options]
            values = np.isin(x.to_numpy(dtype=bool, na_value=False), opts)
        elif isinstance(x, np.ndarray) and x.dtype.kind == "M":
            values = np.isin(x, np.array([np.datetime64(o, "ns") for o in options], dtype="datetime64[ns]"))
        elif isinstance(x, np.ndarray):
            values = np.isin(x, np.array([float(o) for o in options], dtype=float))
        else:  # scalar
            values = np.full(n, x in options)
            x = np.full(n, x) if not isinstance(x, str) else pd.Series([x] * n, dtype="str")
        mask = is_missing(x, n)
        if negate:
            values = ~values
        return bool_array(values & ~mask, mask)

    def _call(self, n: ir.Call) -> Any:
        f = n.func
        args = [self.eval(a) for a in n.args]
        if f in ("min", "max"):
            if any(isinstance(a, np.ndarray) and a.dtype.kind == "M" for a in args) or isinstance(args[0], np.datetime64):
                arrs = [self.as_date(a) for a in args]
            else:
                arrs = [self.as_num(a) for a in args]
            fn = np.minimum if f == "min" else np.maximum
            out = arrs[0]
            for a in arrs[1:]:
                out = fn(out, a)
            return out
        if f == "abs":
            return np.abs(self.as_num(args[0]))
        if f == "round":
            digits = int(args[1]) if len(args) == 2 else 0
            return np.round(self.as_num(args[0]), digits)
        if f == "year":
            d = self.as_date(args[0])
            years = d.astype("datetime64[Y]").astype("int64").astype("float64") + 1970
            years[np.isnat(d)] = np.nan
            return years
        if f == "coalesce":
            return self._coalesce(args)
        if f == "contains":
            s = args[0] if isinstance(args[0], pd.Series) else pd.Series([args[0]] * self.n, dtype="str")
            field = n.args[0].name if isinstance(n.args[0], ir.Name) else None
            pattern = contains_pattern(args[1], field)
            coded = self.text_codes(n.args[0])
            if coded is not None:  # regex once per distinct value
                codes, uniques = coded
                hit = _regex_match(pd.Series(uniques, dtype="str"), pattern) if uniques else np.zeros(0, dtype=bool)
                missing = codes < 0
                return bool_array(np.r_[hit, False][np.where(missing, len(uniques), codes)], missing)
            mask = s.isna().to_numpy()
            if self.n <= 64:  # tiny frames (scenarios, explain): same regex, less overhead
                rx = re.compile(pattern)
                raw = np.array([bool(rx.search(x)) if isinstance(x, str) else False for x in s.tolist()], dtype=bool)
            else:
                raw = _regex_match(s, pattern)
            return bool_array(raw & ~mask, mask)
        raise TypeError(f)

    def _coalesce(self, args: list[Any]) -> Any:
        arrays = [a for a in args]
        first = next((a for a in arrays if not _is_scalar(a)), None)
        if first is None:
            return next((a for a in arrays if a is not None), None)
        if isinstance(first, pd.Series):
            out = first.copy()
            for a in arrays:
                if a is first:
                    continue
                if isinstance(a, pd.Series) or a is not None:
                    out = out.fillna(a)
            # an earlier scalar wins over everything after it
            for a in arrays:
                if a is first:
                    break
                if _is_scalar(a) and a is not None:
                    return pd.Series([a] * self.n, dtype="str")
            return out
        if isinstance(first, BooleanArray):
            out = None
            for a in arrays:
                a = self.as_bool(a)
                out = a if out is None else out.fillna(a) if out.isna().any() else out
            return out
        kind_date = first.dtype.kind == "M"
        out = None
        for a in arrays:
            a = self.as_date(a) if kind_date else self.as_num(a)
            out = a if out is None else np.where(is_missing(out, self.n), a, out)
        return out


def _regex_match(s: pd.Series, pattern: str) -> np.ndarray:
    """Vectorised regex search (pyarrow RE2), False where missing."""
    import pyarrow as pa
    import pyarrow.compute as pc

    try:
        arr = s.array._pa_array  # ArrowStringArray: no copy
    except AttributeError:
        arr = pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.string())
    res = pc.fill_null(pc.match_substring_regex(arr, pattern), False)
    return np.asarray(res.to_numpy(zero_copy_only=False), dtype=bool)


def _dictionary(s: pd.Series) -> tuple[np.ndarray, list[Any]] | None:
    """(codes, distinct values) of a text Series, None when most values are distinct."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = getattr(s.array, "_pa_array", None)
    if arr is None:
        arr = pa.array(s.to_numpy(dtype=object, na_value=None), type=pa.large_string())
    encoded = pc.dictionary_encode(arr)
    chunks = encoded.chunks if isinstance(encoded, pa.ChunkedArray) else [encoded]
    if len(chunks) != 1:
        encoded = pa.chunked_array(chunks).unify_dictionaries().combine_chunks() if chunks else None
    else:
        encoded = chunks[0]
    if encoded is None or len(encoded.dictionary) > max(1000, len(s) // 20):
        return None
    codes = np.asarray(pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False), dtype=np.int64)
    return codes, encoded.dictionary.to_pylist()


def _is_scalar(v: Any) -> bool:
    return not isinstance(v, (np.ndarray, BooleanArray, pd.Series))


def to_series(value: Any, ty: Ty, index: pd.Index) -> pd.Series:
    """Internal representation → a pandas Series with nullable dtype on ``index``."""
    n = len(index)
    if ty.kind == "bool":
        arr = value if isinstance(value, BooleanArray) else bool_array(np.full(n, bool(value)))
        return pd.Series(arr, index=index, copy=False)
    if ty.kind == "num":
        arr = value if isinstance(value, np.ndarray) else np.full(n, np.nan if value is None else float(value))
        s = pd.Series(pd.array(arr, dtype="Float64"), index=index)
        if ty.fmt == "int":
            whole = s.isna() | (s == s.round())
            if bool(whole.all()):
                return s.astype("Int64")
        return s
    if ty.kind == "date":
        arr = value if isinstance(value, np.ndarray) else np.full(n, np.datetime64(value, "ns"))
        return pd.Series(arr, index=index, dtype="datetime64[ns]")
    s = value if isinstance(value, pd.Series) else pd.Series([value] * n, dtype="str")
    return pd.Series(s.to_numpy(), index=index, dtype="str")


def date_of(value: dt.date) -> np.datetime64:
    return np.datetime64(value, "ns")
