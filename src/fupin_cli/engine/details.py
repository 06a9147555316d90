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
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from fupin_cli.engine import ir
from fupin_cli.engine.compile_pandas import FrameEvaluator, is_missing
from fupin_cli.engine.params import ParamValue, format_value
from fupin_cli.engine.typecheck import Ty

MISSING = "缺失"
SENSITIVE = frozenset({"id_number", "head_id_number", "bank_account", "disability_cert"})  # shown masked


def mask_value(text: str) -> str:
    """First 6 and last 4 characters of an ID-like value (never print a full ID number)."""
    from fupin_cli.idnumber import mask

    return mask(text) if text != MISSING else text
SEP = "；"
# comparisons in words, as they turned out (a false ``a < b`` is written "a，不低于 b")
_OP = {"<": "低于", "<=": "不高于", ">": "高于", ">=": "不低于", "==": "等于", "!=": "不等于"}
_NEG = {"<": ">=", "<=": ">", ">": "<=", ">=": "<", "==": "!=", "!=": "=="}
_ARITH = {"+": "＋", "-": "－", "*": "×", "/": "÷"}
_CALLS = {"min": "{}中较小者", "max": "{}中较大者", "abs": "{}的绝对值", "round": "{}（四舍五入）", "year": "{}的年份"}


def plain_text(node: ir.Node, label: Callable[[str], str], param_label: Callable[[str], str]) -> str:
    """An expression in plain Chinese, without expression syntax: ``车辆价值（空按 0）``,
    ``纯收入 ÷ 家庭人口数``, ``年龄 在 7 与 14 之间``."""
    def lit(v: Any) -> str:
        if isinstance(v, bool):
            return "是" if v else "否"
        return format_scalar(v, None) if not isinstance(v, str) else (v or "空值")

    def r(n: ir.Node) -> str:
        if isinstance(n, (ir.Num, ir.Str, ir.Bool, ir.Date)):
            return lit(n.value)
        if isinstance(n, ir.Name):
            return label(n.name)
        if isinstance(n, ir.Param):
            return param_label(n.name)
        if isinstance(n, ir.ListLit):
            return "、".join(lit(i.value) for i in n.items)
        if isinstance(n, ir.Neg):
            return "负的" + r(n.operand)
        if isinstance(n, ir.Arith):
            def inner(c: ir.Node, n: ir.Arith = n) -> str:
                return f"（{r(c)}）" if isinstance(c, ir.Arith) and c.op in "+-" and n.op in "*/" else r(c)

            return f"{inner(n.left)} {_ARITH[n.op]} {inner(n.right)}"
        if isinstance(n, ir.Compare):
            return f"{r(n.left)}{_OP[n.op]}{r(n.right)}"
        if isinstance(n, ir.In):
            return f"{r(n.operand)}{'不' if n.negate else ''}属于（{r(n.options)}）"
        if isinstance(n, ir.Between):
            return f"{r(n.operand)}在 {r(n.low)} 与 {r(n.high)} 之间"
        if isinstance(n, ir.IsMissing):
            return f"{r(n.operand)}{'已填写' if n.negate else '缺失'}"
        if isinstance(n, ir.Not):
            return f"并非{r(n.operand)}"
        if isinstance(n, ir.And):
            return "，且".join(r(i) for i in n.items)
        if isinstance(n, ir.Or):
            return "，或".join(r(i) for i in n.items)
        if isinstance(n, ir.Call):
            if n.func == "coalesce":
                first, rest = n.args[0], n.args[1:]
                if len(rest) == 1 and isinstance(rest[0], (ir.Num, ir.Str, ir.Bool)):
                    return r(first) if isinstance(rest[0], ir.Bool) else f"{r(first)}（空按 {lit(rest[0].value)}）"
                return "；缺失时依次用 ".join(r(a) for a in n.args) if len(n.args) > 1 else r(first)
            if n.func == "contains":
                return f"{r(n.args[0])}含{r(n.args[1])}"
            if n.func in _CALLS:
                return _CALLS[n.func].format("、".join(r(a) for a in n.args))
            return f"{n.func}（{'、'.join(r(a) for a in n.args)}）"
        return ""

    return r(node)


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


# ---- Arrow text arrays: every per-row text is built in C++ (pyarrow compute) --------------
TEXT = pa.large_string()  # the storage of pandas' ``str`` dtype


def text_scalar(s: str) -> pa.Scalar:
    return pa.scalar(s, TEXT)


def text_const(s: str, k: int) -> pa.Array:
    """``k`` copies of one text."""
    return pa.array([s], TEXT).take(pa.array(np.zeros(k, dtype=np.int64)))


def text_of(values: Any) -> pa.Array:
    """Object array of Python strings (or an Arrow array) → Arrow text array."""
    if isinstance(values, (pa.Array, pa.ChunkedArray)):
        arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        return arr if arr.type == TEXT else arr.cast(TEXT)
    return pa.array(np.asarray(values, dtype=object), type=TEXT)


def _arg(x: Any) -> Any:
    return text_scalar(x) if isinstance(x, str) else x


def concat(*parts: Any) -> pa.Array:
    """Row-wise concatenation of Arrow text arrays and Python strings (broadcast)."""
    return pc.binary_join_element_wise(*[_arg(p) for p in parts], text_scalar(""))


def where(mask: np.ndarray, yes: Any, no: Any) -> pa.Array:
    """Row-wise choice between texts (arrays or Python strings) by a numpy boolean mask."""
    return pc.if_else(pa.array(np.asarray(mask, dtype=bool)), _arg(yes), _arg(no))


def nonempty(text: pa.Array) -> np.ndarray:
    return np.asarray(pc.greater(pc.binary_length(text), 0).to_numpy(zero_copy_only=False), dtype=bool)


def append(out: pa.Array, out_ne: np.ndarray, piece: pa.Array, piece_ne: np.ndarray, sep: str) -> tuple[pa.Array, np.ndarray]:
    """``out`` + ``sep`` + ``piece`` where both have text, else whichever has text."""
    both = out_ne & piece_ne
    joined = where(both, concat(out, sep, piece), where(piece_ne, piece, out)) if both.any() else where(piece_ne, piece, out)
    return joined, out_ne | piece_ne


def to_objects(text: pa.Array) -> np.ndarray:
    return np.asarray(text.to_numpy(zero_copy_only=False), dtype=object)


def format_numbers(x: np.ndarray, decimals: int) -> np.ndarray:
    """``f"{v:,.{decimals}f}"`` of every value (``缺失`` for NaN) as an object array, in bulk."""
    return to_objects(format_numbers_arrow(x, decimals))


def format_numbers_arrow(x: np.ndarray, decimals: int) -> pa.Array:
    """``f"{v:,.{decimals}f}"`` of every value (``缺失`` for NaN) as an Arrow text array.

    The ASCII bytes of all texts are laid out with numpy (digits, thousands separators, sign,
    decimals) and handed to pyarrow as one string array.  Values whose scaled fraction sits
    within 1e-6 of a half (where rounding the scaled binary value could differ from Python's
    exact decimal rounding), non-finite and huge values are formatted by Python itself.
    """
    x = np.asarray(x, dtype="float64")
    n = len(x)
    nan = np.isnan(x)
    scale = 10**decimals
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.abs(x) * scale
        frac = scaled - np.floor(scaled)
        fast = ~nan & (scaled < 1e15) & (np.abs(frac - 0.5) > 1e-6)
    slow = ~nan & ~fast
    fast_text = _ascii_numbers(np.round(scaled[fast]).astype(np.int64), np.signbit(x[fast]), decimals)
    if fast.all():
        return fast_text
    fmt = f"{{:,.{decimals}f}}"
    others = pa.array([fmt.format(v) for v in x[slow].tolist()] + [MISSING], type=TEXT)
    index = np.full(n, len(fast_text) + len(others) - 1, dtype=np.int64)  # MISSING
    index[fast] = np.arange(len(fast_text))
    index[slow] = len(fast_text) + np.arange(int(slow.sum()))
    return pa.concat_arrays([fast_text, others]).take(pa.array(index))


def _ascii_numbers(units: np.ndarray, negative: np.ndarray, decimals: int) -> pa.Array:
    """Texts of ``units / 10**decimals`` (non-negative integers) with sign, commas and decimals."""
    scale = 10**decimals
    whole = units // scale
    ndig = np.ones(len(units), dtype=np.int64)
    bound = 10
    while len(whole):
        more = whole >= bound
        if not more.any():
            break
        ndig += more
        bound *= 10
    commas = (ndig - 1) // 3
    sign = negative.astype(np.int64)
    int_end = sign + ndig + commas  # end of the integer part within each text
    length = int_end + (decimals + 1 if decimals else 0)
    offsets = np.zeros(len(units) + 1, dtype=np.int64)
    np.cumsum(length, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    end_int = offsets[:-1] + int_end
    rest = whole.copy()
    for k in range(int(ndig.max()) if len(units) else 0):  # k-th digit from the right
        rows = np.flatnonzero(ndig > k)
        data[end_int[rows] - 1 - (k + k // 3)] = 48 + rest[rows] % 10
        rest[rows] //= 10
    for c in range(1, int(commas.max()) + 1 if len(units) else 1):
        data[end_int[commas >= c] - 4 * c] = ord(",")
    if sign.any():
        data[offsets[:-1][negative]] = ord("-")
    if decimals:
        data[end_int] = ord(".")
        frac = units % scale
        for j in range(decimals):
            data[end_int + 1 + j] = 48 + (frac // 10 ** (decimals - 1 - j)) % 10
    return pa.Array.from_buffers(TEXT, len(units), [None, pa.py_buffer(offsets), pa.py_buffer(data)])


def format_array(values: Any, ty: Ty | None, rows: np.ndarray) -> np.ndarray:
    """Display text of an internal column representation at ``rows`` (object array)."""
    return to_objects(format_arrow(values, ty, rows))


def format_arrow(values: Any, ty: Ty | None, rows: np.ndarray) -> pa.Array:
    """Display text of an internal column representation at ``rows`` (Arrow text array)."""
    k = len(rows)
    if isinstance(values, pd.Series):
        arr = getattr(values.array, "_pa_array", None)
        if arr is None:
            sub = values.iloc[rows]
            obj = sub.astype(object).to_numpy().copy()
            obj[sub.isna().to_numpy()] = MISSING
            return text_of(obj)
        return pc.fill_null(text_of(arr.take(pa.array(rows, type=pa.int64()))), text_scalar(MISSING))
    if isinstance(values, np.ndarray):
        sub = values[rows]
        if sub.dtype.kind == "M":
            text = pa.array(np.datetime_as_string(sub, unit="D"), type=TEXT)
            return where(np.isnat(sub), MISSING, text)
        return format_numbers_arrow(sub, 0 if ty is not None and ty.fmt == "int" else 2)
    if hasattr(values, "isna") and hasattr(values, "to_numpy"):  # BooleanArray
        sub = values[rows]
        v = sub.to_numpy(dtype=bool, na_value=False)
        codes = np.where(np.asarray(sub.isna()), 2, np.where(v, 0, 1))
        return pa.array(["是", "否", MISSING], TEXT).take(pa.array(codes))
    return text_const(format_value(values) if not isinstance(values, float) else format_scalar(values, ty), k)


NOT_EVALUATED = "未评估"


def is_sensitive(*nodes: ir.Node) -> bool:
    """Whether one of ``nodes`` is an ID-like field (its values, and constants compared with it, are shown masked)."""
    return any(isinstance(n, ir.Name) and n.name in SENSITIVE for n in nodes)


def literal_text(node: ir.Node, param_text: Callable[[str], str], masked: bool = False) -> str | None:
    """Display text of a constant operand (parameter, literal, list of literals); None for anything else.
    ``masked``: compared with an ID-like field — its texts are masked, never a full ID number."""
    def one(n: ir.Num | ir.Str | ir.Bool | ir.Date) -> str:
        text = format_scalar(n.value, None)
        return mask_value(text) if masked and isinstance(n, ir.Str) else text

    if isinstance(node, ir.Param):
        return param_text(node.name)
    if isinstance(node, ir.Str) and node.value == "":
        return "空值"
    if isinstance(node, (ir.Num, ir.Str, ir.Bool, ir.Date)):
        return one(node)
    if isinstance(node, ir.ListLit):
        return "[" + "、".join(one(i) for i in node.items) + "]"
    return None


def not_evaluated_text(fields: Iterable[str], label: Callable[[str], str]) -> str:
    """``未评估：花名册没有车辆价值列，无法核实`` — a rule whose inputs the roster lacks (never read as 否)."""
    return f"{NOT_EVALUATED}：{missing_columns_text(fields, label)}，无法核实"


def missing_columns_text(fields: Iterable[str], label: Callable[[str], str]) -> str:
    """``花名册没有车辆价值列``, ``花名册没有家庭成员行``."""
    names = [label(f) for f in sorted(fields)]
    return "花名册没有" + "、".join(n if n.endswith("行") else n + "列" for n in names)


class DetailBuilder:
    """Texts of deciding values for rules evaluated by one :class:`FrameEvaluator`."""

    def __init__(self, ev: FrameEvaluator, types: dict[str, Ty], label: Callable[[str], str], params: dict[str, ParamValue]):
        self.ev = ev
        self.types = types
        self.label = label
        self.params = params

    def param_label(self, name: str) -> str:
        return self.params[name].label if name in self.params else name

    def param_text(self, name: str) -> str:
        """``国家扶贫标准 2,855 元（2015，国家）``: label, value with unit, year in force and region."""
        p = self.params[name]
        unit = short_unit(p.unit)
        sep = "" if unit in ("%", "") or unit.startswith("%") else " "
        return f"{p.label} {p.value_text()}{sep}{unit}（{p.year}，{p.region}）"

    def unit_of(self, node: ir.Node) -> str:
        """Display unit of a field: 元 for money."""
        ty = self.types.get(node.name) if isinstance(node, ir.Name) else None
        return " 元" if ty is not None and ty.fmt == "money" else ""

    def plain(self, node: ir.Node) -> str:
        return plain_text(node, self.label, self.param_label)

    def rule_text(self, node: ir.Node | None, rows: np.ndarray) -> np.ndarray:
        """Deciding values of the rule with condition ``node`` at ``rows`` (object array, "" = none)."""
        if node is None or len(rows) == 0:
            return np.full(len(rows), "", dtype=object)
        return to_objects(self.rule_text_arrow(node, rows))

    def rule_text_arrow(self, node: ir.Node | None, rows: np.ndarray) -> pa.Array:
        """As :meth:`rule_text`, as an Arrow text array."""
        k = len(rows)
        out = text_const("", k)
        if node is None or k == 0:
            return out
        out_ne = np.zeros(k, dtype=bool)
        for text, rel in self._parts(node, np.ones(k, dtype=bool), rows):
            out, out_ne = append(out, out_ne, text, rel & nonempty(text), SEP)
        return out

    # -- which leaves decided the result ------------------------------------------------
    def _truth(self, node: ir.Node, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        v = self.ev.as_bool(self.ev.eval(node))[rows]
        return v.to_numpy(dtype=bool, na_value=False), np.asarray(v.isna())

    def _parts(self, node: ir.Node, rel: np.ndarray, rows: np.ndarray) -> Iterator[tuple[pa.Array, np.ndarray]]:
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
    def operand(self, node: ir.Node, rows: np.ndarray, unit_hint: str = "", masked: bool = False) -> pa.Array:
        """``label value unit`` of one side of a condition (``unit_hint``: the unit of the parameter it is
        compared with, for fields that carry none of their own; ``masked``: a constant compared with an
        ID-like field, shown masked)."""
        k = len(rows)
        constant = literal_text(node, self.param_text, masked)
        if constant is not None:
            return text_const(constant, k)
        if (isinstance(node, ir.Call) and node.func == "coalesce" and len(node.args) == 2 and isinstance(node.args[0], ir.Name)
                and isinstance(node.args[1], (ir.Num, ir.Str, ir.Bool))):  # 车辆价值 50,000 元 / 车辆价值 缺失（按 0）
            first = node.args[0]
            miss = is_missing(self.ev.eval(first), self.ev.n)[rows]
            fallback = format_scalar(node.args[1].value, None)
            return where(miss, f"{self.label(first.name)} {MISSING}（按 {fallback}）", self.operand(first, rows, unit_hint))
        values = self.ev.eval(node)
        ty = self.types.get(node.name) if isinstance(node, ir.Name) else _guess_type(node, self.types)
        text = format_arrow(values, ty, rows)
        if isinstance(node, ir.Name) and node.name in SENSITIVE:
            text = text_of([mask_value(t) for t in text.to_pylist()])
        unit = self.unit_of(node) if isinstance(node, ir.Name) else (" 元" if ty is not None and ty.fmt == "money" and _money_only(node, self.types) else "")
        if not unit and unit_hint and unit_hint != "%":
            unit = " " + unit_hint
        if unit:
            text = where(is_missing(values, self.ev.n)[rows], text, concat(text, unit))
        if isinstance(node, ir.Name):
            head = self.label(node.name)
        else:
            head = self.plain(node) + " 为"
        return concat(head + " ", text)

    def missing_inputs(self, node: ir.Node, rows: np.ndarray) -> pa.Array:
        """"人均纯收入 缺失、家庭人口数 缺失" for the missing named inputs of a leaf."""
        k = len(rows)
        out, out_ne = text_const("", k), np.zeros(k, dtype=bool)
        for name in sorted(ir.names(node), key=lambda nm: _first_pos(node, nm)):
            miss = is_missing(self.ev.eval(ir.Name(name)), self.ev.n)[rows]
            if miss.any():
                out, out_ne = append(out, out_ne, text_const(self.label(name) + " " + MISSING, k), miss, "、")
        return where(out_ne, out, self.plain(node) + " 无法判断")

    def leaf_text(self, node: ir.Node, rows: np.ndarray) -> pa.Array:
        val, unk = self._truth(node, rows)
        if isinstance(node, ir.Compare):
            gap = " " if isinstance(node.right, (ir.Num, ir.Str, ir.Bool, ir.Date)) else ""
            ops = where(val, "，" + _OP[node.op] + gap, "，" + _OP[_NEG[node.op]] + gap)
            hint = next((short_unit(self.params[s.name].unit) for s in (node.left, node.right) if isinstance(s, ir.Param) and s.name in self.params), "")
            sens = is_sensitive(node.left, node.right)
            text = concat(self.operand(node.left, rows, hint, sens), ops, self.operand(node.right, rows, hint, sens))
        elif isinstance(node, ir.In):
            yes, no = ("不属于", "属于") if node.negate else ("属于", "不属于")
            text = concat(self.operand(node.operand, rows), where(val, f" {yes} ", f" {no} "),
                          self.operand(node.options, rows, masked=is_sensitive(node.operand)))
        elif isinstance(node, ir.Between):
            lo, hi = self.operand(node.low, rows), self.operand(node.high, rows)
            text = concat(self.operand(node.operand, rows), where(val, " 在 ", " 不在 "), lo, " 与 ", hi, " 之间")
        elif isinstance(node, ir.IsMissing):
            inner = node.operand
            label = self.label(inner.name) if isinstance(inner, ir.Name) else self.plain(inner)
            present = val if node.negate else ~val
            return where(present, self.operand(inner, rows), label + " " + MISSING)
        elif isinstance(node, ir.Call) and node.func == "contains":
            word = node.args[1].value if isinstance(node.args[1], ir.Str) else ""
            text = concat(self.operand(node.args[0], rows), where(val, " 含 ", " 不含 "), word)
        elif isinstance(node, ir.Name):
            text = self.operand(node, rows)
        elif isinstance(node, ir.Call) and node.func == "coalesce" and isinstance(node.args[0], ir.Name):
            first = node.args[0]
            miss = is_missing(self.ev.eval(first), self.ev.n)[rows]
            fallback = self.operand(node.args[1], rows) if len(node.args) == 2 else self.operand(node, rows)
            text = where(miss, concat(self.label(first.name) + " " + MISSING + "（按 ", fallback, "）"), self.operand(first, rows))
        elif isinstance(node, ir.Call) and node.func == "coalesce" and len(node.args) == 2:
            # coalesce(condition, default): the condition's own text, or "X 缺失（按 是）"
            first = node.args[0]
            miss = is_missing(self.ev.eval(first), self.ev.n)[rows]
            fallback = self.operand(node.args[1], rows)
            text = where(miss, concat(self.missing_inputs(first, rows), "（按 ", fallback, "）"), self.leaf_text(first, rows))
        elif isinstance(node, ir.Bool):  # an absent part replaced by a literal (engine/inputs.py): never shown
            return text_const("", len(rows))
        else:
            text = concat(self.plain(node), where(val, "：是", "：否"))
        if unk.any():
            text = where(unk, self.missing_inputs(node, rows), text)
        return text


def short_unit(unit: str | None) -> str:
    """``元/人·年`` → ``元`` (the per-what is in the label); ``%`` and others unchanged."""
    unit = (unit or "").split("/")[0].strip()
    return "" if unit in ("比例", "倍", "ratio") else unit


def _money_only(node: ir.Node, types: dict[str, Ty]) -> bool:
    """An arithmetic of money fields only (sums and differences of 元) is itself in 元."""
    if isinstance(node, ir.Arith) and node.op in "+-":
        return all(_money_only(c, types) for c in (node.left, node.right))
    if isinstance(node, ir.Call) and node.func in ("coalesce", "min", "max", "abs", "round"):
        return _money_only(node.args[0], types)
    if isinstance(node, ir.Name):
        return types.get(node.name) is not None and types[node.name].fmt == "money"
    return isinstance(node, ir.Num)


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
