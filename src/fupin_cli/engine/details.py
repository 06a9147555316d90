"""Deciding-values text for rules, e.g. ``人均纯收入 2,310.00 < 国家扶贫标准 2,855 (2015, 国家)``.

Built from the condition leaves of a rule's IR (comparisons, ``in``, ``between``,
``is missing``, ``contains``, yes/no fields) for a subset of rows only.  Only the leaves
that decided the result are shown: for a true ``or`` the true branches, for a false
``and`` the false branches, for an unknown result the unknown branches (as "X 缺失").
A false comparison is written with the negated operator, so every text is a true
statement about the household: ``人均纯收入 3,100.00 ≥ 国家扶贫标准 2,855 (2015, 国家)``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Callable

import numpy as np
import pandas as pd

from fupin_cli.engine import ir
from fupin_cli.engine.compile_pandas import FrameEvaluator, is_missing
from fupin_cli.engine.expr import to_text
from fupin_cli.engine.params import ParamValue, format_value
from fupin_cli.engine.typecheck import Ty

MISSING = "缺失"
SENSITIVE = frozenset({"id_number", "head_id_number", "bank_account", "disability_cert"})  # shown masked


def mask_value(text: str) -> str:
    """First 6 and last 4 characters of an ID-like value (never print a full ID number)."""
    from fupin_cli.idnumber import mask

    return mask(text) if text != MISSING else text
SEP = "；"
_OP = {"<": "<", "<=": "≤", ">": ">", ">=": "≥", "==": "=", "!=": "≠"}
_NEG = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}


def format_scalar(v: Any, ty: Ty | None) -> str:
    """One value for display: money/float 2 decimals with thousands separators."""
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return MISSING
    if isinstance(v, (bool, np.bool_)):
        return "是" if v else "否"
    if isinstance(v, np.datetime64):
        return "缺失" if np.isnat(v) else str(v.astype("datetime64[D]"))
    if isinstance(v, (dt.date,)):
        return v.isoformat()
    if isinstance(v, (int, float, np.floating, np.integer)):
        fmt = ty.fmt if ty is not None else None
        if fmt == "int" or (fmt is None and float(v).is_integer()):
            return f"{float(v):,.0f}"
        return f"{float(v):,.2f}"
    return str(v)


def format_numbers(x: np.ndarray, decimals: int) -> np.ndarray:
    """``f"{v:,.{decimals}f}"`` of every value (``缺失`` for NaN) as an object array, in bulk.

    The ASCII bytes of all texts are laid out with numpy (digits, thousands separators, sign,
    decimals) and handed to pyarrow as one string array.  Values whose scaled fraction sits
    within 1e-6 of a half (where rounding the scaled binary value could differ from Python's
    exact decimal rounding), non-finite and huge values are formatted by Python itself.
    """
    n = len(x)
    out = np.empty(n, dtype=object)
    nan = np.isnan(x)
    out[nan] = MISSING
    scale = 10**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(x) * scale
        frac = scaled - np.floor(scaled)
        fast = ~nan & (scaled < 1e15) & (np.abs(frac - 0.5) > 1e-6)
    slow = ~nan & ~fast
    if slow.any():
        fmt = f"{{:,.{decimals}f}}"
        out[slow] = [fmt.format(v) for v in x[slow].tolist()]
    if fast.any():
        out[fast] = _ascii_numbers(np.round(scaled[fast]).astype(np.int64), np.signbit(x[fast]), decimals)
    return out


def _ascii_numbers(units: np.ndarray, negative: np.ndarray, decimals: int) -> np.ndarray:
    """Texts of ``units / 10**decimals`` (non-negative integers) with sign, commas and decimals."""
    import pyarrow as pa

    scale = 10**decimals
    whole = units // scale
    ndig = np.ones(len(units), dtype=np.int64)
    bound = 10
    while True:
        more = whole >= bound
        if not more.any():
            break
        ndig += more
        bound *= 10
    commas = (ndig - 1) // 3
    sign = negative.astype(np.int64)
    int_end = sign + ndig + commas  # end of the integer part within the text
    length = int_end + (decimals + 1 if decimals else 0)
    offsets = np.zeros(len(units) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    start = offsets[:-1]
    end_int = start + int_end
    rest = whole
    for k in range(int(ndig.max())):
        rows = np.flatnonzero(ndig > k) if k else slice(None)
        data[end_int[rows] - 1 - (k + k // 3)] = 48 + (rest[rows] % 10)
        rest = rest // 10 if k == 0 else rest
        if k:
            rest[rows] = rest[rows] // 10
    for c in range(1, int(commas.max()) + 1):
        rows = np.flatnonzero(commas >= c)
        data[end_int[rows] - 4 * c] = ord(",")
    if sign.any():
        data[start[negative]] = ord("-")
    if decimals:
        data[end_int] = ord(".")
        frac = units % scale
        for j in range(decimals):
            data[end_int + 1 + j] = 48 + (frac // 10 ** (decimals - 1 - j)) % 10
    arr = pa.Array.from_buffers(pa.large_string(), len(units), [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return arr.to_numpy(zero_copy_only=False)


def format_array(values: Any, ty: Ty | None, rows: np.ndarray) -> np.ndarray:
    """Display text of an internal column representation at ``rows`` (object array)."""
    k = len(rows)
    if isinstance(values, pd.Series):
        sub = values.iloc[rows]
        out = sub.astype(object).to_numpy().copy()
        out[sub.isna().to_numpy()] = MISSING
        return out
    if isinstance(values, np.ndarray):
        sub = values[rows]
        if sub.dtype.kind == "M":
            text = np.datetime_as_string(sub, unit="D").astype(object)
            text[np.isnat(sub)] = MISSING
            return text
        return format_numbers(np.asarray(sub, dtype="float64"), 0 if ty is not None and ty.fmt == "int" else 2)
    if hasattr(values, "isna") and hasattr(values, "to_numpy"):  # BooleanArray
        sub = values[rows]
        v = sub.to_numpy(dtype=bool, na_value=False)
        out = np.where(v, "是", "否").astype(object)
        out[sub.isna()] = MISSING
        return out
    return np.full(k, format_value(values) if not isinstance(values, float) else format_scalar(values, ty), dtype=object)


class DetailBuilder:
    """Texts of deciding values for rules evaluated by one :class:`FrameEvaluator`."""

    def __init__(self, ev: FrameEvaluator, types: dict[str, Ty], label: Callable[[str], str], params: dict[str, ParamValue]):
        self.ev = ev
        self.types = types
        self.label = label
        self.params = params

    def param_label(self, name: str) -> str:
        return self.params[name].label if name in self.params else name

    def rule_text(self, node: ir.Node | None, rows: np.ndarray) -> np.ndarray:
        k = len(rows)
        out = np.full(k, "", dtype=object)
        if node is None or k == 0:
            return out
        for text, rel in self._parts(node, np.ones(k, dtype=bool), rows):
            piece = np.where(rel, text, "")
            both = (out != "") & (piece != "")
            out = np.where(both, out + SEP + piece, out + piece)
        return out

    # -- which leaves decided the result ------------------------------------------------
    def _truth(self, node: ir.Node, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = self.ev.as_bool(self.ev.eval(node))[rows]
        return v.to_numpy(dtype=bool, na_value=False), np.asarray(v.isna())

    def _parts(self, node: ir.Node, rel: np.ndarray, rows: np.ndarray):
        if isinstance(node, (ir.And, ir.Or)):
            val, unk = self._truth(node, rows)
            for child in node.items:
                cval, cunk = self._truth(child, rows)
                if isinstance(node, ir.And):
                    crel = np.where(unk, cunk, np.where(val, True, ~cval & ~cunk))
                else:
                    crel = np.where(unk, cunk, np.where(val, cval, True))
                sub = rel & crel
                if sub.any():
                    yield from self._parts(child, sub, rows)
            return
        if isinstance(node, ir.Not):
            yield from self._parts(node.operand, rel, rows)
            return
        yield self.leaf_text(node, rows), rel

    # -- leaves -------------------------------------------------------------------------
    def operand(self, node: ir.Node, rows: np.ndarray) -> np.ndarray:
        k = len(rows)
        if isinstance(node, ir.Param):
            return np.full(k, self.params[node.name].text(), dtype=object)
        if isinstance(node, ir.Str) and node.value == "":
            return np.full(k, "空值", dtype=object)
        if isinstance(node, (ir.Num, ir.Str, ir.Bool, ir.Date)):
            return np.full(k, format_scalar(node.value, None), dtype=object)
        if isinstance(node, ir.ListLit):
            return np.full(k, "[" + "、".join(format_scalar(i.value, None) for i in node.items) + "]", dtype=object)
        values = self.ev.eval(node)
        ty = self.types.get(node.name) if isinstance(node, ir.Name) else _guess_type(node, self.types)
        text = format_array(values, ty, rows)
        if isinstance(node, ir.Name) and node.name in SENSITIVE:
            text = np.array([mask_value(t) for t in text], dtype=object)
        if isinstance(node, ir.Name):
            head = self.label(node.name)
        else:
            head = to_text(node, self.label, self.param_label) + " ="
        return head + " " + text

    def missing_inputs(self, node: ir.Node, rows: np.ndarray) -> np.ndarray:
        """"人均纯收入 缺失、家庭人口数 缺失" for the missing named inputs of a leaf."""
        k = len(rows)
        out = np.full(k, "", dtype=object)
        for name in sorted(ir.names(node), key=lambda nm: _first_pos(node, nm)):
            miss = is_missing(self.ev.eval(ir.Name(name)), self.ev.n)[rows]
            piece = np.where(miss, self.label(name) + " " + MISSING, "")
            both = (out != "") & (piece != "")
            out = np.where(both, out + "、" + piece, out + piece)
        return np.where(out == "", to_text(node, self.label, self.param_label) + " 无法判断", out)

    def leaf_text(self, node: ir.Node, rows: np.ndarray) -> np.ndarray:
        val, unk = self._truth(node, rows)
        if isinstance(node, ir.Compare):
            op_true = _OP[node.op]
            op_false = _OP[_NEG[node.op]]
            ops = np.where(val, op_true, op_false)
            text = self.operand(node.left, rows) + " " + ops + " " + self.operand(node.right, rows)
        elif isinstance(node, ir.In):
            yes, no = ("不属于", "属于") if node.negate else ("属于", "不属于")
            text = self.operand(node.operand, rows) + " " + np.where(val, yes, no) + " " + self.operand(node.options, rows)
        elif isinstance(node, ir.Between):
            lo, hi = self.operand(node.low, rows), self.operand(node.high, rows)
            text = self.operand(node.operand, rows) + np.where(val, " 在 ", " 不在 ") + lo + " 与 " + hi + " 之间"
        elif isinstance(node, ir.IsMissing):
            inner = node.operand
            label = self.label(inner.name) if isinstance(inner, ir.Name) else to_text(inner, self.label, self.param_label)
            present = val if node.negate else ~val
            text = np.where(present, self.operand(inner, rows), label + " " + MISSING)
            return text
        elif isinstance(node, ir.Call) and node.func == "contains":
            word = node.args[1].value if isinstance(node.args[1], ir.Str) else ""
            text = self.operand(node.args[0], rows) + np.where(val, " 含 ", " 不含 ") + word
        elif isinstance(node, ir.Name):
            text = self.operand(node, rows)
        elif isinstance(node, ir.Call) and node.func == "coalesce" and isinstance(node.args[0], ir.Name):
            first = node.args[0]
            miss = is_missing(self.ev.eval(first), self.ev.n)[rows]
            fallback = self.operand(node.args[1], rows) if len(node.args) == 2 else self.operand(node, rows)
            text = np.where(miss, self.label(first.name) + " " + MISSING + "（按 " + fallback + "）", self.operand(first, rows))
        elif isinstance(node, ir.Call) and node.func == "coalesce" and len(node.args) == 2:
            # coalesce(condition, default): the condition's own text, or "X 缺失（按 是）"
            first = node.args[0]
            miss = is_missing(self.ev.eval(first), self.ev.n)[rows]
            fallback = self.operand(node.args[1], rows)
            text = np.where(miss, self.missing_inputs(first, rows) + "（按 " + fallback + "）", self.leaf_text(first, rows))
        else:
            text = np.full(len(rows), to_text(node, self.label, self.param_label), dtype=object) + np.where(val, " 成立", " 不成立")
        if unk.any():
            text = np.where(unk, self.missing_inputs(node, rows), text)
        return text


def _first_pos(node: ir.Node, name: str) -> int:
    for n in ir.walk(node):
        if isinstance(n, ir.Name) and n.name == name:
            return n.pos
    return 0


def _guess_type(node: ir.Node, types: dict[str, Ty]) -> Ty | None:
    names = ir.names(node)
    fmts = {types[n].fmt for n in names if n in types}
    if isinstance(node, ir.Arith) and node.op == "/":
        return Ty("num", fmt="float")
    if fmts == {"int"}:
        return Ty("num", fmt="int")
    return Ty("num", fmt="money")
