"""Which roster fields each rule reads, which the roster lacks, and what follows (issue 8 item 5).

A field is *present* when the roster has its column (households frame for household fields;
members frame, with at least one member row, for member fields; ``age`` needs 出生日期 or
证件号码).  A blank cell in a present column keeps the pack's meaning (``coalesce(x, false)``).
A field whose column is *absent* is never read as 否: the rules that need it are *not evaluated*.

The analysis works on the typed IR.  Every reference to an absent field becomes an
:class:`Absent` marker, which propagates up:

* ``coalesce(a, b, …)`` and ``or`` offer *alternatives*: absent alternatives are dropped
  and the ones the roster has are used (``coalesce(人均纯收入, 纯收入 / 人口, …)``,
  ``低保户 or 成员享受低保``).  A literal default (``coalesce(是否危房, false)``) is the meaning
  of a blank cell, not an alternative source: with every source absent the node is absent.
* any other node with an absent operand is absent (``车辆价值 ≥ 3万`` cannot be computed).
* a derived field whose expression (or member condition) keeps an absent part is absent as a
  whole; aggregates over members are absent when the roster has no member rows at all.
* in a rule's condition an absent part of an ``and`` is kept: the rule is evaluated twice, with
  the absent part as true and as false; where both agree the household is decided anyway
  (e.g. not 脱贫 because the income is below the line), elsewhere the rule is *not evaluated*
  for that household.

A not-evaluated rule never fires and never counts as met: an exclusion does not exclude, a
criterion or an exit condition is not met (未达标：无法核实), a cause is not assigned.  The
households whose decision it could have changed are listed (``decide.not_evaluated_column``),
and :func:`check_policy` stops the run when the data is probably there under another label
(exit 1), when the pack marks the field required, or with ``--strict``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine.model import DerivedAgg
from fupin_cli.engine.typecheck import BUILTIN_MEMBER
from fupin_cli.errors import DataError

if TYPE_CHECKING:
    from fupin_cli.engine.loader import Pack

MEMBERS = "members"  # pseudo field: the roster has no member rows (one row per household, no member table)
FRAME_KINDS = ("village_exit", "county_exit", "poor_village")  # frame rules (evaluate.FRAME_KINDS): no roster inputs


@dataclass(frozen=True)
class Absent:
    """Marker for a sub-expression that reads roster columns the roster does not have."""

    fields: frozenset[str]


@dataclass(frozen=True)
class InputPolicy:
    """What to do about absent inputs (``--allow-missing``, ``--strict``).

    ``stop``: raise on likely columns / required fields and years outside the pack's era (False for
    ``validate``, which only reports);
    ``all_present``: treat every field as present (scenario tests: an unlisted field is a blank cell).
    """

    allow_missing: frozenset[str] = frozenset()
    strict: bool = False
    stop: bool = True
    all_present: bool = False


@dataclass
class Availability:
    """The pack as it can run on one roster."""

    absent: set[str]  # roster fields the pack reads and the roster lacks (+ MEMBERS)
    derived_ir: dict[str, dict[str, ir.Node]]  # derived id → effective nodes (absent alternatives dropped)
    derived_absent: dict[str, frozenset[str]]  # derived id → absent fields it needs (derived not computable)
    conditions: dict[str, Any]  # rule id → effective condition (may hold Absent parts)
    values: dict[str, Any]  # estimate rule id → effective value expression (Absent = not computable)
    rule_fields: dict[str, frozenset[str]]  # rule id → absent fields its condition (or value) needs

    def has_absent(self, rule_id: str) -> bool:
        return bool(self.rule_fields.get(rule_id))


def field_label(name: str, pack: Pack | None = None) -> str:
    if name == MEMBERS:
        return "家庭成员行"
    if name in BUILTIN_MEMBER:
        return BUILTIN_MEMBER[name][0] + "（出生日期或证件号码）"
    if pack is not None:
        return pack.derived_label(name)
    return schema.label(name)


# ---------------------------------------------------------------------------------------
# the rewrite
# ---------------------------------------------------------------------------------------
def _is_literal(node: Any) -> bool:
    return isinstance(node, (ir.Num, ir.Str, ir.Bool, ir.Date, ir.Param, ir.ListLit))


def has_absent(node: Any) -> bool:
    if isinstance(node, Absent):
        return True
    return any(has_absent(c) for c in ir.children(node))


def absent_fields(node: Any) -> frozenset[str]:
    if isinstance(node, Absent):
        return node.fields
    out: frozenset[str] = frozenset()
    for c in ir.children(node):
        out |= absent_fields(c)
    return out


class _Rewriter:
    def __init__(self, absent_names: dict[str, frozenset[str]], params: dict[str, Any] | None = None):
        self.absent_names = absent_names  # name → absent fields (for this scope)
        self.params = params or {}  # parameter values of the year: a switch off decides an `and`

    def _const(self, node: Any) -> bool | None:
        if isinstance(node, ir.Bool):
            return node.value
        if isinstance(node, ir.Param) and isinstance(self.params.get(node.name), bool):
            return cast(bool, self.params[node.name])
        return None

    def __call__(self, node: ir.Node) -> Any:
        if isinstance(node, ir.Name):
            fields = self.absent_names.get(node.name)
            return Absent(fields) if fields else node
        if _is_literal(node):
            return node
        if isinstance(node, ir.Call) and node.func == "coalesce":
            args = [self(a) for a in node.args]
            kept = [a for a in args if not isinstance(a, Absent)]
            dropped = frozenset().union(*[a.fields for a in args if isinstance(a, Absent)])
            if not any(not _is_literal(a) for a in kept):  # only the blank-cell default is left
                return Absent(dropped) if dropped else node
            if not dropped:
                return _rebuild(node, args)
            return kept[0] if len(kept) == 1 else ir.Call("coalesce", tuple(kept), node.pos)
        if isinstance(node, ir.And) and any(self._const(i) is False for i in node.items):
            return node  # a switch that is off this year: false whatever the rest reads
        if isinstance(node, ir.Or) and any(self._const(i) is True for i in node.items):
            return node
        if isinstance(node, ir.Or):
            items = [self(i) for i in node.items]
            kept = [i for i in items if not isinstance(i, Absent)]
            if not kept:
                return Absent(frozenset().union(*[i.fields for i in items]))
            if len(kept) == len(items):
                return _rebuild(node, items)
            return kept[0] if len(kept) == 1 else ir.Or(tuple(kept), node.pos)
        if isinstance(node, ir.And):
            items = [self(i) for i in node.items]
            if all(isinstance(i, Absent) for i in items):
                return Absent(frozenset().union(*[i.fields for i in items]))
            return _rebuild(node, items)  # absent parts kept: decided per household where possible
        if isinstance(node, ir.Not):
            inner = self(node.operand)
            return inner if isinstance(inner, Absent) else _rebuild(node, [inner])
        kids = [self(c) for c in ir.children(node)]
        if any(has_absent(k) for k in kids):
            return Absent(frozenset().union(*[absent_fields(k) for k in kids]))
        return _rebuild(node, kids)


def _rebuild(node: ir.Node, kids: list[Any]) -> ir.Node:
    """``node`` with its children replaced (same node when nothing changed)."""
    old = ir.children(node)
    if len(old) == len(kids) and all(a is b for a, b in zip(old, kids)):
        return node
    if isinstance(node, (ir.Neg, ir.Not)):
        return type(node)(kids[0], node.pos)
    if isinstance(node, (ir.Arith, ir.Compare)):
        return type(node)(node.op, kids[0], kids[1], node.pos)
    if isinstance(node, ir.In):
        return ir.In(kids[0], kids[1], node.negate, node.pos)
    if isinstance(node, ir.Between):
        return ir.Between(kids[0], kids[1], kids[2], node.pos)
    if isinstance(node, ir.IsMissing):
        return ir.IsMissing(kids[0], node.negate, node.pos)
    if isinstance(node, (ir.And, ir.Or)):
        return type(node)(tuple(kids), node.pos)
    if isinstance(node, ir.Call):
        return ir.Call(node.func, tuple(kids), node.pos)
    return node


def substitute(node: Any, value: bool) -> ir.Node:
    """``node`` with every Absent part replaced by the literal ``value`` (for the two valuations)."""
    if isinstance(node, Absent):
        return ir.Bool(value)
    kids = ir.children(node)
    if not kids or not has_absent(node):
        return cast(ir.Node, node)
    return _rebuild(node, [substitute(k, value) for k in kids])


# ---------------------------------------------------------------------------------------
# the analysis
# ---------------------------------------------------------------------------------------
def present_fields(households: Any, members: Any) -> tuple[set[str], set[str]]:
    """Columns of the households frame, and of the members frame when it has member rows."""
    hh = set(map(str, households.columns))
    mem = set(map(str, members.columns)) if members is not None and len(members) else set()
    if mem & {"birth_date", "id_number"}:
        mem |= set(BUILTIN_MEMBER)
    return hh, mem


def analyse(pack: Pack, year: int, households: Any, members: Any, policy: InputPolicy | None = None, params: dict[str, Any] | None = None) -> Availability:
    """Absent inputs of every derived field and active household/member rule of ``pack``
    (``params``: parameter values of the year, so that a switch that is off decides its ``and``)."""
    policy = policy or InputPolicy()
    if policy.all_present:
        return Availability(set(), dict(pack.derived_ir), {}, dict(pack.conditions), dict(pack.values), {})
    hh_present, mem_present = present_fields(households, members)
    optional = set(getattr(pack.meta, "optional", None) or [])  # exceptions: absent = blank cells
    hh_present |= optional
    if mem_present:
        mem_present |= optional
    has_members = members is not None and len(members) > 0
    derived_ids = {d.id for d in pack.derived}
    hh_fields = {f.name for f in schema.HOUSEHOLD_FIELDS}
    mem_fields = {f.name for f in schema.MEMBER_FIELDS} | set(BUILTIN_MEMBER)
    absent: set[str] = set()
    hh_absent: dict[str, frozenset[str]] = {n: frozenset({n}) for n in hh_fields - hh_present - derived_ids}
    mem_absent: dict[str, frozenset[str]] = (
        {n: frozenset({n}) for n in mem_fields - mem_present} if has_members else {n: frozenset({MEMBERS}) for n in mem_fields}
    )
    hh_rw, mem_rw = _Rewriter(hh_absent, params), _Rewriter(mem_absent, params)
    derived_ir: dict[str, dict[str, ir.Node]] = {}
    derived_absent: dict[str, frozenset[str]] = {}
    for d in pack.derived:
        nodes = pack.derived_ir[d.id]
        if isinstance(d, DerivedAgg):
            if not has_members:
                gone: frozenset[str] = frozenset({MEMBERS})
                new = dict(nodes)
            else:
                new = {k: mem_rw(v) for k, v in nodes.items()}
                gone = frozenset().union(*[absent_fields(v) for v in new.values()]) if new else frozenset()
        else:
            new = {"expr": hh_rw(nodes["expr"])}
            gone = absent_fields(new["expr"])
        if gone:
            derived_absent[d.id] = gone
            hh_absent[d.id] = gone
            derived_ir[d.id] = dict(nodes)  # not computed from these (the column is left missing)
        else:
            derived_ir[d.id] = new
    conditions: dict[str, Any] = {}
    values: dict[str, Any] = {}
    rule_fields: dict[str, frozenset[str]] = {}
    for r in pack.rules:
        if r.kind in FRAME_KINDS or not r.active(year):
            if r.id in pack.conditions:
                conditions[r.id] = pack.conditions[r.id]
            continue
        rw = mem_rw if r.level == "members" else hh_rw
        fields: frozenset[str] = frozenset()
        if r.id in pack.conditions:
            cond = rw(pack.conditions[r.id])
            conditions[r.id] = cond
            fields |= absent_fields(cond)
        if r.id in pack.values:
            val = hh_rw(pack.values[r.id])
            values[r.id] = val
            if has_absent(val):
                fields |= absent_fields(val)
                conditions[r.id] = Absent(absent_fields(val))
        if fields:
            rule_fields[r.id] = fields
            absent |= fields
    for fs in derived_absent.values():
        absent |= fs
    return Availability(absent, derived_ir, derived_absent, conditions, values, rule_fields)


# ---------------------------------------------------------------------------------------
# stopping the run (likely columns, required fields, --strict)
# ---------------------------------------------------------------------------------------
def resolve_field_names(names: Iterable[str]) -> frozenset[str]:
    """``--allow-missing`` values: canonical names or header labels (车辆价值, 是否危房 …) → field names."""
    out = set()
    for raw in names:
        for part in str(raw).replace("，", ",").split(","):
            name = part.strip()
            if not name:
                continue
            if name in schema.FIELDS or name in BUILTIN_MEMBER or name == MEMBERS:
                out.add(name)
                continue
            found = schema.field_for_header(name, any_form=True)  # 房屋是否安全, 人均纯收入(万元) name a field too
            if found is None:
                from fupin_cli.errors import UsageError

                raise UsageError(f"--allow-missing {name}: not a roster field", hint="give a field name or its column label, e.g. vehicle_value or 车辆价值")
            out.add(found)
    return frozenset(out)


@dataclass
class RuleNotEvaluated:
    rule_id: str
    kind: str
    label: str
    fields: tuple[Any, ...]  # absent roster fields
    households: int = 0  # households for which it was not evaluated
    affected: int = 0  # households whose decision it could have changed
    allowed: bool = False  # the user confirmed with --allow-missing

    def reason(self, pack: Pack | None = None) -> str:
        from fupin_cli.engine.details import missing_columns_text

        return missing_columns_text(self.fields, lambda f: field_label(f, pack))

    def to_dict(self, pack: Pack | None = None) -> dict[str, Any]:
        return {"rule": self.rule_id, "kind": self.kind, "label": self.label, "fields": list(self.fields),
                "reason": self.reason(pack), "households_not_evaluated": self.households,
                "households_affected": self.affected, "allowed": self.allowed}


def required_fields(pack: Pack) -> list[str]:
    return list(getattr(pack.meta, "required", None) or [])


def check_policy(pack: Pack, avail: Availability, roster: Any, policy: InputPolicy) -> None:
    """Stop (DataError, exit 1) on absent required fields, on absent fields a roster column
    probably holds (unless ``--allow-missing``), and on any not-evaluated rule with ``--strict``."""
    if not policy.stop or policy.all_present:
        return
    unmatched = list(getattr(roster, "unmatched", None) or [])
    problems: list[str] = []

    def likely(field_name: str) -> list[Any]:
        return [u for u in unmatched if any(f == field_name for f, _ in u.candidates)]

    def where(u: Any) -> str:
        loc = "、".join(x for x in (u.source, f"工作表“{u.sheet}”" if u.sheet else "", f"{u.letter} 列" if u.letter else "") if x)
        return f"{loc}“{u.header}”".strip()

    # required fields (income, household size …)
    for name in required_fields(pack):
        gone = avail.derived_absent.get(name) or (frozenset({name}) if name in avail.absent else frozenset())
        if not gone:
            continue
        cols = [f"{where(u)} 可能是 {field_label(f, pack)}" for f in sorted(gone) for u in likely(f)]
        from fupin_cli.engine.details import missing_columns_text

        problems.append(
            f"规则包 {pack.ident} 必需的 {field_label(name, pack)} 无法计算：" + missing_columns_text(gone, lambda f: field_label(f, pack))
            + (f"（{'；'.join(cols)}）" if cols else "")
        )
    if problems:
        raise DataError(problems[0] if len(problems) == 1 else f"{len(problems)} 项必需字段缺失：" + "；".join(problems),
                        hint="加上这些列，或用 --columns map.yaml 指明哪一列是它（fupin columns ROSTER 可列出各列的识别结果）")
    # likely columns: the data is there and we failed to read it
    hits = []  # (rule id, field, unmatched column, score)
    for rid, fields in avail.rule_fields.items():
        for f in sorted(fields):
            if f not in policy.allow_missing:
                hits += [(rid, f, u, next(s for c, s in u.candidates if c == f)) for u in likely(f)]
    if hits:
        problems = [f"规则 {rid}（{pack.rule(rid).label}）需要 {field_label(f, pack)}，花名册 {where(u)} 可能就是该列（相似度 {score:.2f}）"
                    for rid, f, u, score in hits]
        likely_fields = sorted({f for _, f, _, _ in hits})
        raise DataError(
            problems[0] if len(problems) == 1 else f"{len(problems)} 条规则的输入列可能未被识别：" + "；".join(problems),
            hint="若是该列，用 --columns map.yaml 指明（fupin columns ROSTER --write-map map.yaml 生成后修改）；"
                 f"若不是，用 --allow-missing {' '.join(likely_fields)} 确认花名册不采集，相关规则不评估",
        )
    if policy.strict:
        pending = [rid for rid, fields in avail.rule_fields.items() if not set(fields) <= set(policy.allow_missing)]
        if pending:
            from fupin_cli.engine.details import missing_columns_text

            text = "；".join(f"{rid}（{pack.rule(rid).label}）：" + missing_columns_text(avail.rule_fields[rid], lambda f: field_label(f, pack))
                             for rid in pending)
            raise DataError(f"--strict：{len(pending)} 条规则无法评估：{text}",
                            hint="加上缺少的列，或用 --allow-missing FIELD 确认花名册不采集这些字段")
