"""Scalar interpreter of the IR: one household (a dict of values) at a time.

The reference semantics for the vectorised backends (hypothesis properties check that the
pandas compiler and the SQL compiler agree with it) and the engine of ``fupin explain``.
``None`` is missing / unknown; numbers are floats; dates are ``numpy.datetime64[ns]``; Kleene
logic for and/or/not.

It is the independent oracle, so it imports nothing from the compilers (``compile_pandas``,
``compile_sql``, ``derive``, ``evaluate``): ``contains`` scans the text itself, member
aggregates are :func:`scalar_aggregate` here.  A test reads this module's imports.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from fupin_cli.engine import ir
from fupin_cli.engine.model import DerivedAgg
from fupin_cli.engine.typecheck import ITEM_SEPARATORS, list_item_spellings

if TYPE_CHECKING:
    from fupin_cli.engine.loader import Pack


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
            return contains_item(args[0], list_item_spellings(args[1], field))
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


def kleene_and(values: list[Any]) -> Any:
    if any(v is False for v in values):
        return False
    if any(v is None for v in values):
        return None
    return True


def kleene_or(values: list[Any]) -> Any:
    if any(v is True for v in values):
        return True
    if any(v is None for v in values):
        return None
    return False


def contains_item(text: str, spellings: list[str]) -> bool:
    """Whether one of ``spellings`` occurs in ``text`` bounded by separators or the ends of the text."""
    for item in spellings:
        start = text.find(item)
        while start >= 0:
            end = start + len(item)
            if (start == 0 or text[start - 1] in ITEM_SEPARATORS) and (end == len(text) or text[end] in ITEM_SEPARATORS):
                return True
            start = text.find(item, start + 1)
    return False


def scalar_aggregate(agg: str, where: list[Any], of: list[Any] | None) -> Any:
    """Aggregate per-member values with the documented missing-value rules."""
    if agg == "count":
        return None if any(w is None for w in where) else float(sum(1 for w in where if w))
    if agg == "any":
        return kleene_or(where) if where else False
    if agg == "all":
        return kleene_and(where) if where else True
    assert of is not None
    picked = []
    for w, v in zip(where, of):
        if w is None or (w and v is None):
            return None
        if w:
            picked.append(v)
    if agg == "sum":
        return _norm(float(sum(picked))) if picked else 0.0
    if not picked:
        return None
    return min(picked) if agg == "min" else max(picked)


def scalar_household(pack: Pack, hh_values: dict[str, Any], member_rows: list[dict[str, Any]], params: dict[str, Any]) -> tuple[dict[str, Any], list[Interpreter]]:
    """Derived fields of one household (updates and returns ``hh_values``) + member interpreters."""
    interps = [Interpreter(m, params) for m in member_rows]
    for model in pack.derived:
        nodes = pack.derived_ir[model.id]
        if isinstance(model, DerivedAgg):
            where = [it.eval(nodes["where"]) if "where" in nodes else True for it in interps]
            of = [it.eval(nodes["of"]) for it in interps] if "of" in nodes else None
            hh_values[model.id] = scalar_aggregate(model.agg, where, of)
        else:
            hh_values[model.id] = Interpreter(hh_values, params).eval(nodes["expr"])
    return hh_values, interps
