"""Scalar interpreter of the IR: one household (a dict of values) at a time.

The reference semantics for the vectorised compiler (a hypothesis property checks they
agree) and the engine of ``fupin explain``.  ``None`` is missing / unknown; numbers are
floats; dates are ``numpy.datetime64[ns]``; Kleene logic for and/or/not.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.engine import ir
from fupin_cli.engine.compile_pandas import bool_array, contains_pattern, convert
from fupin_cli.engine.typecheck import Ty


def _norm(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.datetime64) and np.isnat(v):
        return None
    return v


class Interpreter:
    """Evaluate IR on one row; results memoised per node (for explanation trees)."""

    def __init__(self, values: dict[str, Any], params: dict[str, Any]):
        self.values = values
        self.params = params
        self.memo: dict[ir.Node, Any] = {}

    def eval(self, node: ir.Node) -> Any:
        if node in self.memo:
            return self.memo[node]
        v = self._eval(node)
        self.memo[node] = v
        return v

    def _eval(self, n: ir.Node) -> Any:
        if isinstance(n, ir.Num):
            return float(n.value)
        if isinstance(n, (ir.Str, ir.Bool)):
            return n.value
        if isinstance(n, ir.Date):
            return np.datetime64(n.value, "ns")
        if isinstance(n, ir.Name):
            return _norm(self.values.get(n.name))
        if isinstance(n, ir.Param):
            v = self.params[n.name]
            return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else v
        if isinstance(n, ir.ListLit):
            return [self.eval(i) for i in n.items]
        if isinstance(n, ir.Neg):
            v = self.eval(n.operand)
            return None if v is None else -v
        if isinstance(n, ir.Arith):
            return arith(n.op, self.eval(n.left), self.eval(n.right))
        if isinstance(n, ir.Compare):
            return compare(n.op, self.eval(n.left), self.eval(n.right))
        if isinstance(n, ir.In):
            x = self.eval(n.operand)
            if x is None:
                return None
            opts = self.eval(n.options)
            found = x in opts if not isinstance(x, float) else any(isinstance(o, (int, float)) and float(o) == x for o in opts)
            return (not found) if n.negate else found
        if isinstance(n, ir.Between):
            x = self.eval(n.operand)
            return kleene_and([compare("<=", self.eval(n.low), x), compare("<=", x, self.eval(n.high))])
        if isinstance(n, ir.IsMissing):
            missing = self.eval(n.operand) is None
            return (not missing) if n.negate else missing
        if isinstance(n, ir.Not):
            v = self.eval(n.operand)
            return None if v is None else not v
        if isinstance(n, ir.And):
            return kleene_and([self.eval(i) for i in n.items])
        if isinstance(n, ir.Or):
            return kleene_or([self.eval(i) for i in n.items])
        if isinstance(n, ir.Call):
            return self._call(n)
        raise TypeError(type(n).__name__)

    def _call(self, n: ir.Call) -> Any:
        args = [self.eval(a) for a in n.args]
        f = n.func
        if f in ("min", "max"):
            if any(a is None for a in args):
                return None
            return min(args) if f == "min" else max(args)
        if f == "abs":
            return None if args[0] is None else abs(args[0])
        if f == "round":
            if args[0] is None:
                return None
            return float(np.round(np.float64(args[0]), int(args[1]) if len(args) == 2 else 0))
        if f == "year":
            return None if args[0] is None else float(args[0].astype("datetime64[Y]").astype("int64") + 1970)
        if f == "coalesce":
            return next((a for a in args if a is not None), None)
        if f == "contains":
            if args[0] is None:
                return None
            field = n.args[0].name if isinstance(n.args[0], ir.Name) else None
            return re.search(contains_pattern(args[1], field), args[0]) is not None
        raise TypeError(f)


def arith(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    a, b = float(a), float(b)
    if op == "+":
        r = a + b
    elif op == "-":
        r = a - b
    elif op == "*":
        r = a * b
    else:
        if b == 0:
            return None
        r = a / b
    return _norm(r)


def compare(op: str, a: Any, b: Any) -> Any:
    if a is None or b is None:
        return None
    if op == "==":
        return bool(a == b)
    if op == "!=":
        return bool(a != b)
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    if op == ">":
        return bool(a > b)
    return bool(a >= b)


def kleene_and(values: list) -> Any:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def kleene_or(values: list) -> Any:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def row_values(frame: pd.DataFrame, types: dict[str, Ty], names, position: int) -> dict[str, Any]:
    """The values of ``names`` in row ``position`` of ``frame``, converted as the compiler does."""
    out: dict[str, Any] = {}
    for name in names:
        if name not in frame.columns or name not in types:
            out[name] = None
            continue
        col = convert(frame[name].iloc[[position]], types[name])
        out[name] = scalar_of(col, 0)
    return out


def scalar_of(col: Any, i: int) -> Any:
    """Element ``i`` of an internal column representation as a Python scalar (None = missing)."""
    if isinstance(col, pd.Series):
        v = col.iloc[i]
        return None if pd.isna(v) else str(v)
    if isinstance(col, np.ndarray):
        v = col[i]
        if col.dtype.kind == "M":
            return None if np.isnat(v) else v
        return None if np.isnan(v) else float(v)
    v = col[i]  # BooleanArray
    return None if v is pd.NA else bool(v)


def bool_of(col: Any) -> Any:
    return bool_array(col)
