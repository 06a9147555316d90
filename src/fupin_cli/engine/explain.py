"""One household's decision as a tree, from the scalar interpreter (``fupin explain``).

Each :class:`ExplainNode` has a label (中文), the expression text, the value, the result
(true / false / None = unknown for conditions) and children: the rule's sub-expressions,
derived fields with their members, parameters with year in force, region and source.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine.compile_pandas import convert
from fupin_cli.engine.derive import household_types, member_ages, member_types
from fupin_cli.engine.details import MISSING, SENSITIVE, format_scalar, mask_value
from fupin_cli.engine.evaluate import FRAME_KINDS, evaluate, field_label, used_params
from fupin_cli.engine.expr import to_text
from fupin_cli.engine.interpret import Interpreter, scalar_aggregate, scalar_household  # noqa: F401 (re-exported)
from fupin_cli.engine.model import DerivedAgg
from fupin_cli.engine.params import ParamValue, resolve_many
from fupin_cli.errors import UsageError

if TYPE_CHECKING:
    from fupin_cli.engine.evaluate import Evaluation
    from fupin_cli.engine.inputs import InputPolicy
    from fupin_cli.engine.loader import Pack
    from fupin_cli.roster import Roster

KIND_LABELS = {
    "criterion": "识别标准", "exclusion": "一票否决", "status": "状态调整", "attribute": "贫困户属性",
    "cause": "致贫原因", "cause_check": "致贫原因核查", "measure": "帮扶措施", "household_exit": "脱贫标准",
    "monitoring": "监测对象", "risk": "风险类型", "elimination": "风险消除", "estimate": "测算", "check": "疑点检查",
}


@dataclass
class ExplainNode:
    label: str
    kind: str  # household | group | rule | condition | value | field | param | member
    expr: str = ""
    value: str = ""  # display text of the value
    result: bool | None = None  # for conditions: true / false / None (unknown)
    children: list[ExplainNode] = field(default_factory=list)
    rule_id: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"label": self.label, "kind": self.kind, "expr": self.expr, "value": self.value, "result": self.result}
        if self.rule_id:
            d["rule_id"] = self.rule_id
        d["children"] = [c.to_dict() for c in self.children]
        return d

    def walk(self) -> Iterator[ExplainNode]:
        yield self
        for c in self.children:
            yield from c.walk()


# ---------------------------------------------------------------------------------------
# rows of a frame as scalars (the interpreter's input)
# ---------------------------------------------------------------------------------------
def row_values(frame: pd.DataFrame, types: dict[str, Any], names: Iterable[str], position: int) -> dict[str, Any]:
    """The values of ``names`` in row ``position`` of ``frame``, converted as the roster's columns are."""
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


# ---------------------------------------------------------------------------------------
# the tree
# ---------------------------------------------------------------------------------------
class _Tree:
    def __init__(self, pack: Pack, hh_values: dict[str, Any], interps: list[Interpreter], member_names: list[str],
                 params: dict[str, ParamValue]) -> None:
        self.pack = pack
        self.values = hh_values
        self.params = params
        self.interp = Interpreter(hh_values, {k: v.value for k, v in params.items()})
        self.member_interps = interps
        self.member_names = member_names
        self.types = household_types(pack)
        self.mtypes = member_types()

    def label(self, name: str) -> str:
        return field_label(self.pack, name)

    def plabel(self, name: str) -> str:
        return self.params[name].label if name in self.params else name

    def text(self, node: ir.Node) -> str:
        from fupin_cli.engine.details import plain_text

        return plain_text(node, self.label, self.plabel)

    def node(self, n: ir.Node, interp: Interpreter, types: dict[str, Any], depth: int = 0) -> ExplainNode:
        v = interp.eval(n)
        if isinstance(n, ir.Param):
            pv = self.params[n.name]
            src = f"，来源：{pv.citation}" if pv.citation else ""
            unverified = "，未核实" if not pv.verified else ""
            return ExplainNode(pv.label, "param", f"param.{n.name}", f"{pv.value_text()}（{pv.year}年，{pv.region}{src}{unverified}）")
        if isinstance(n, ir.Name):
            ty = types.get(n.name)
            shown = format_scalar(v, ty)
            if n.name in SENSITIVE:
                shown = mask_value(shown)
            out = ExplainNode(self.label(n.name), "field", n.name, shown, v if ty is not None and ty.kind == "bool" else None)
            if interp is self.interp and depth < 6:
                out.children = self.derived_children(n.name, depth)
            return out
        if isinstance(n, (ir.Num, ir.Str, ir.Bool, ir.Date, ir.ListLit)):
            return ExplainNode(self.text(n), "value", self.text(n), self.text(n))
        if isinstance(n, ir.Call) and n.func == "coalesce" and len(n.args) == 2 and isinstance(n.args[1], (ir.Bool, ir.Num, ir.Str)):
            # coalesce(x, default) shown as x itself ("是否危房 否"), noting the default used when x is missing
            inner = self.node(n.args[0], interp, types, depth)
            if interp.eval(n.args[0]) is None:
                inner.value = f"{MISSING}（按 {format_scalar(n.args[1].value, None)}）"
                inner.result = v if isinstance(v, bool) else inner.result
            return inner
        is_cond = isinstance(n, (ir.And, ir.Or, ir.Not, *ir.CONDITIONS)) or (isinstance(n, ir.Call) and n.func == "contains")
        out = ExplainNode(self.text(n), "condition" if is_cond else "value", to_text(n), _result_text(v) if is_cond else format_scalar(v, None), v if is_cond else None)
        out.children = [self.node(c, interp, types, depth) for c in ir.children(n) if not isinstance(c, (ir.Num, ir.Str, ir.Bool, ir.Date, ir.ListLit))]
        return out

    def derived_children(self, name: str, depth: int) -> list[ExplainNode]:
        model = next((d for d in self.pack.derived if d.id == name), None)
        if model is None:
            return []
        nodes = self.pack.derived_ir[name]
        if not isinstance(model, DerivedAgg):
            return [self.node(nodes["expr"], self.interp, self.types, depth + 1)]
        what = {"count": "计数", "any": "任一成员", "all": "全部成员", "sum": "求和", "min": "最小值", "max": "最大值"}[model.agg]
        children = []
        for member, it in zip(self.member_names, self.member_interps):
            parts = []
            if "where" in nodes:
                parts.append(self.node(nodes["where"], it, self.mtypes, depth + 1))
            if "of" in nodes:
                parts.append(self.node(nodes["of"], it, self.mtypes, depth + 1))
            res = it.eval(nodes["where"]) if "where" in nodes else True
            children.append(ExplainNode(member, "member", "", _result_text(res) if "where" in nodes else "", res if "where" in nodes else None, parts))
        if not children:
            children.append(ExplainNode("（无成员）", "member", "", ""))
        return [ExplainNode(f"{what}（共 {len(self.member_names)} 名成员）", "group", model.where or model.of or "", "", None, children)]

    def rule(self, r: Any) -> ExplainNode:
        cond = self.pack.conditions.get(r.id)
        if cond is None:
            return ExplainNode(r.label, "rule", "", "成立（无条件）", True, [], r.id)
        res = self.interp.eval(cond)
        kids = [self.node(cond, self.interp, self.types)]
        if r.kind == "estimate":
            value = self.interp.eval(self.pack.values[r.id])
            kids.append(ExplainNode("测算值", "value", to_text(self.pack.values[r.id]), format_scalar(value, None) + (f" {r.unit}" if r.unit else "")))
        return ExplainNode(r.label, "rule", self.text(cond), _result_text(res), res, kids, r.id)


_COALESCE = re.compile(r"coalesce\(([^(),]+), ([^(),]+)\)")


def _readable_coalesce(text: str) -> str:
    """``coalesce(是否危房, false)`` → ``是否危房``; ``coalesce(低保金, 0)`` → ``低保金（空按 0）``."""
    def one(m: re.Match[str]) -> str:
        return m.group(1) if m.group(2) in ("false", "true") else f"{m.group(1)}（空按 {m.group(2)}）"

    return _COALESCE.sub(one, text)


def _result_text(v: Any) -> str:
    return "成立" if v is True else "不成立" if v is False else "无法判断（" + MISSING + "）"


def explain(roster: Roster, pack: Pack, year: int, region: str | None, household_id: str,
            policy: InputPolicy | None = None) -> ExplainNode:
    """The decision tree of one household (every rule active in ``year``).

    Absent inputs are judged on the whole roster (``policy`` as for the other commands): a rule
    the roster cannot feed is shown as 未评估 with the missing columns, never as 不成立."""
    from fupin_cli.engine.evaluate import used_params as _used
    from fupin_cli.engine.inputs import InputPolicy, analyse, check_policy

    policy = policy or InputPolicy()
    switches = {k: v.value for k, v in resolve_many(pack, _used(pack, year), year, region or pack.meta.region).items()}
    avail = analyse(pack, year, roster.households, roster.members, policy, switches)
    check_policy(pack, avail, roster, policy)
    hh = roster.households
    ids = hh["household_id"].astype("str") if "household_id" in hh.columns else pd.Series([], dtype="str")
    pos = np.flatnonzero((ids == str(household_id)).to_numpy(dtype=bool, na_value=False))
    if len(pos) == 0:
        raise UsageError(f"household {household_id!r} not found (户编号 not in the roster)", hint="check the 户编号 column")
    region = region or pack.meta.region
    params = resolve_many(pack, used_params(pack, year), year, region)
    pvalues = {k: v.value for k, v in params.items()}
    one = hh.iloc[pos[:1]]
    members = roster.members
    if members is not None and len(members) and "household_id" in members.columns:
        mem = members[(members["household_id"].astype("str") == str(household_id)).to_numpy(dtype=bool, na_value=False)]
    else:
        mem = pd.DataFrame(columns=["household_id"])
    htypes = household_types(pack)
    hh_values = row_values(one, htypes, [n for n in htypes if n not in pack.field_types], 0)
    mtypes = member_types()
    ages = member_ages(mem, year) if len(mem) else np.array([])
    member_rows = []
    for i in range(len(mem)):
        vals = row_values(mem, mtypes, [n for n in mtypes if n != "age"], i)
        vals["age"] = None if np.isnan(ages[i]) else float(ages[i])
        member_rows.append(vals)
    hh_values, interps = scalar_household(pack, hh_values, member_rows, pvalues)
    names = []
    for i, m in enumerate(member_rows):
        who = m.get("name") or f"成员{i + 1}"
        rel = m.get("relation")
        names.append(f"{who}（{rel}）" if rel else str(who))
    tree = _Tree(pack, hh_values, interps, names, params)
    head = hh_values.get("head_name")
    root = ExplainNode(f"户 {household_id}" + (f"（户主 {head}）" if head else ""), "household", "", "")
    # the decision itself, from the vectorised engine on this one household
    sub = type(roster)(households=one, members=mem) if hasattr(roster, "households") else roster
    ev = evaluate(sub, pack, year, region, policy=policy, availability=avail)
    if ev.rules_of("criterion"):
        from fupin_cli.engine.decide import identification

        dec = identification(ev).iloc[0]
        root.value = str(dec["status"])
        for col in ("attribute", "primary_cause", "secondary_causes", "basis", "not_identified_reason"):
            val = dec[col]
            if isinstance(val, str) and val or (not isinstance(val, str) and pd.notna(val)):
                root.children.append(ExplainNode(schema.label(col), "value", col, str(val)))
    by_kind: dict[str, list[Any]] = {}
    for r in pack.rules:
        if r.active(year) and r.kind not in FRAME_KINDS and r.level == "households" and not getattr(r, "builtin", None):
            by_kind.setdefault(r.kind, []).append(r)
    for kind, rules in by_kind.items():
        group = ExplainNode(KIND_LABELS.get(kind, kind), "group", kind, "")
        group.children = [_not_evaluated_node(ev, r) or tree.rule(r) for r in rules]
        root.children.append(group)
    if params:
        group = ExplainNode("参数", "group", "parameters", "")
        group.children = [tree.node(ir.Param(name), tree.interp, {}) for name in sorted(params)]
        root.children.append(group)
    return root


def _not_evaluated_node(ev: Evaluation, r: Any) -> ExplainNode | None:
    """A rule whose inputs the roster lacks: 未评估 with the missing columns (never 不成立)."""
    mask = ev.not_evaluated.get(r.id)
    if mask is None or not mask[0]:
        return None
    from fupin_cli.engine.details import not_evaluated_text
    from fupin_cli.engine.inputs import field_label as input_label

    text = not_evaluated_text(ev.analysis.rule_fields[r.id], lambda f: input_label(f, ev.pack))
    return ExplainNode(r.label, "rule", "", text, None, [], r.id)


def tree_lines(node: ExplainNode, prefix: str = "", last: bool = True, root: bool = True, max_depth: int = 8, depth: int = 0) -> list[str]:
    """Plain-text rendering of a tree (for scenario failures and non-rich output)."""
    mark = "" if node.result is None else ("✓ " if node.result else "✗ ")
    if node.kind == "condition" and node.result is None and node.value:
        mark = "? "
    value = f"：{node.value}" if node.value and node.kind != "condition" else ""
    line = f"{mark}{node.label}{value}"
    lines = [line if root else prefix + ("└─ " if last else "├─ ") + line]
    if depth >= max_depth:
        return lines
    child_prefix = "" if root else prefix + ("   " if last else "│  ")
    for i, c in enumerate(node.children):
        lines += tree_lines(c, child_prefix, i == len(node.children) - 1, False, max_depth, depth + 1)
    return lines
