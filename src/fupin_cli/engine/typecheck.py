"""Type checking of IR against the schema, derived fields and parameters.

:func:`check` returns a *rewritten* tree (code-table labels canonicalised, ISO date text
compared with a date field turned into a date) and its type, or raises :class:`ExprError`
with the column of the offending node.  Types: ``num`` (with a display format ``int`` /
``money`` / ``float``), ``str`` (optionally a code table), ``bool``, ``date``, ``list``.
"""

from __future__ import annotations

import datetime as dt
import difflib
from dataclasses import dataclass, replace
from typing import Any

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine.expr import ExprError, did_you_mean


@dataclass(frozen=True)
class Ty:
    kind: str  # num | str | bool | date | list
    table: str | None = None  # code table of a str
    fmt: str | None = None  # num display: int | money | float
    elem: str | None = None  # list element kind

    def __str__(self) -> str:
        return {"num": "number", "str": "text", "bool": "yes/no", "date": "date", "list": "list"}[self.kind]


NUM, INT, MONEY, FLOAT = Ty("num", fmt="float"), Ty("num", fmt="int"), Ty("num", fmt="money"), Ty("num", fmt="float")
STR, BOOL, DATE = Ty("str"), Ty("bool"), Ty("date")

# list-valued text fields (separated by 、,，;；/) and the code table of their items
LIST_TABLES = {"risk_types": "risk_type", "recorded_secondary_causes": "cause"}
# What separates the items of such a field for ``contains()``: the list separators and every
# Unicode whitespace character (exactly the characters ``str.isspace()`` accepts), written out so
# that every backend (Python, RE2, SQL engines) uses the same set.
LIST_SEPARATORS = "、,，;；/"
WHITESPACE = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) + "\u2028\u2029\u202f\u205f\u3000"
ITEM_SEPARATORS = LIST_SEPARATORS + WHITESPACE


def list_item_spellings(text: str, field: str | None) -> list[str]:
    """The spellings ``contains(field, text)`` looks for: the text, and for a list-valued code field
    the code table's other spellings of the item (``因灾`` → ``因自然灾害``), longest first."""
    spellings = [text]
    table = LIST_TABLES.get(field or "")
    if table and text in schema.CODE_TABLES[table]:
        spellings += [s for s in schema.CODE_TABLES[table][text] if not s.isdigit()]
    return sorted(set(spellings), key=lambda s: (-len(s), s))


_REGEX_SPECIAL = set("\\.^$|?*+()[]{}")


def contains_regex(text: str, field: str | None) -> str:
    """The regex of ``contains(field, text)`` for the vectorised backends (Python ``re``, RE2, Java):
    one of the spellings, bounded by a separator or an end of the text.  Only the characters
    special in all three are escaped, and no class shorthand (``\\s``) is used."""
    alts = "|".join("".join("\\" + c if c in _REGEX_SPECIAL else c for c in s) for s in list_item_spellings(text, field))
    return f"(?:^|[{ITEM_SEPARATORS}])(?:{alts})(?:$|[{ITEM_SEPARATORS}])"

# Fields of the village and county frames (``village_exit`` / ``poor_village`` / ``county_exit`` rules).
# The rates computed from a roster are over the households (people for insurance) whose value is
# recorded; a field nobody recorded is missing, and a rule on it is 待核实.
VILLAGE_FIELDS: dict[str, tuple[str, Ty]] = {
    "county": ("县", STR),
    "township": ("乡镇", STR),
    "village": ("行政村", STR),
    "households": ("总户数", INT),
    "population": ("总人口", INT),
    "poor_households": ("未脱贫户数", INT),
    "poor_population": ("未脱贫人口", INT),
    "incidence": ("贫困发生率(%)", FLOAT),
    "western": ("西部地区", BOOL),
    "safe_housing_rate": ("住房安全保障率(%)", FLOAT),
    "medical_insurance_rate": ("基本医疗保险参保率(%)（按户）", FLOAT),
    "safe_water_rate": ("安全饮水率(%)", FLOAT),
    "collective_income": ("村集体经济收入", MONEY),
    "registered_incidence": ("建档立卡贫困发生率(%)（年初）", FLOAT),
    "income_pc": ("村农民人均纯收入", MONEY),
    "province_incidence": ("全省贫困发生率(%)", FLOAT),
    "province_income_pc": ("全省农民人均纯收入", MONEY),
}
COUNTY_FIELDS: dict[str, tuple[str, Ty]] = {
    "county": ("县", STR),
    "households": ("总户数", INT),
    "population": ("总人口", INT),
    "poor_households": ("未脱贫户数", INT),
    "poor_population": ("未脱贫人口", INT),
    "incidence": ("贫困发生率(%)", FLOAT),
    "western": ("西部地区", BOOL),
    "wrong_exit_rate": ("错退率(%)", FLOAT),
    "missed_rate": ("漏评率(%)", FLOAT),
    "recognition_rate": ("群众认可度(%)", FLOAT),
    "comprehensive_incidence": ("综合贫困发生率(%)", FLOAT),
    "exit_incidence": ("考核贫困发生率(%)（有抽查时为综合贫困发生率）", FLOAT),
    "villages": ("行政村数", INT),
    "exited_villages": ("已退出贫困村数", INT),
}
BUILTIN_MEMBER = {"age": ("年龄", INT)}


def field_type(f: schema.Field) -> Ty:
    return {
        "str": STR,
        "int": INT,
        "float": FLOAT,
        "money": MONEY,
        "bool": BOOL,
        "date": DATE,
        "code": Ty("str", table=f.code_table),
    }[f.kind]


def value_type(value: Any) -> Ty:
    if isinstance(value, bool):
        return BOOL
    if isinstance(value, int):
        return INT
    if isinstance(value, float):
        return FLOAT
    if isinstance(value, dt.date):
        return DATE
    if isinstance(value, list):
        kinds = {value_type(v).kind for v in value}
        return Ty("list", elem=kinds.pop() if len(kinds) == 1 else None)
    return STR


@dataclass
class Scope:
    """What names mean in one evaluation context."""

    context: str  # household | member | village | county
    fields: dict[str, Ty]
    params: dict[str, Ty]
    hints: dict[str, str]  # name known elsewhere → why it cannot be used here


def household_scope(derived: dict[str, Ty], params: dict[str, Ty]) -> Scope:
    fields = {f.name: field_type(f) for f in schema.HOUSEHOLD_FIELDS}
    fields.update(derived)
    hints = {f.name: f"member field {f.name!r} can only be used in a derived field over members" for f in schema.MEMBER_FIELDS if f.name not in fields}
    hints["age"] = "'age' is a member value: use it in a derived field over members (e.g. agg: max, of: age)"
    return Scope("household", fields, params, hints)


def member_scope(params: dict[str, Ty]) -> Scope:
    fields = {f.name: field_type(f) for f in schema.MEMBER_FIELDS}
    fields["household_id"] = STR
    fields.update({k: t for k, (_, t) in BUILTIN_MEMBER.items()})
    hints = {f.name: f"household field {f.name!r} cannot be used in a member condition" for f in schema.HOUSEHOLD_FIELDS if f.name not in fields}
    return Scope("member", fields, params, hints)


def frame_scope(context: str, params: dict[str, Ty]) -> Scope:
    table = VILLAGE_FIELDS if context == "village" else COUNTY_FIELDS
    return Scope(context, {k: t for k, (_, t) in table.items()}, params, {})


def check(node: ir.Node, scope: Scope, want: str | None = None) -> tuple[ir.Node, Ty]:
    """Type-check ``node``; ``want`` ('bool', 'num', ...) is the required result kind."""
    node, ty = _check(node, scope)
    if want and ty.kind != want and not (want == "num|date" and ty.kind in ("num", "date")):
        what = {"bool": "a condition (yes/no)", "num": "a number", "num|date": "a number or a date"}.get(want, want)
        raise ExprError(f"expression gives {ty}, expected {what}", node.pos)
    return node, ty


def _fail(msg: str, node: ir.Node) -> ExprError:
    return ExprError(msg, node.pos)


def _check(n: ir.Node, s: Scope) -> tuple[ir.Node, Ty]:
    if isinstance(n, ir.Num):
        return n, INT if n.is_int else FLOAT
    if isinstance(n, ir.Str):
        return n, STR
    if isinstance(n, ir.Bool):
        return n, BOOL
    if isinstance(n, ir.Date):
        return n, DATE
    if isinstance(n, ir.Name):
        if n.name in s.fields:
            return n, s.fields[n.name]
        if n.name in s.hints:
            raise _fail(s.hints[n.name], n)
        raise _fail(f"unknown field {n.name!r}{did_you_mean(n.name, s.fields)}", n)
    if isinstance(n, ir.Param):
        if n.name in s.params:
            return n, s.params[n.name]
        raise _fail(f"unknown parameter {n.name!r}{did_you_mean(n.name, s.params)}", n)
    if isinstance(n, ir.ListLit):
        kinds = {_check(i, s)[1].kind for i in n.items}
        if len(kinds) > 1:
            raise _fail("list mixes " + " and ".join(sorted(kinds)) + " items", n)
        return n, Ty("list", elem=kinds.pop() if kinds else None)
    if isinstance(n, ir.Neg):
        op, t = _check(n.operand, s)
        _need(t, "num", n.operand, "'-'")
        return replace(n, operand=op), t
    if isinstance(n, ir.Arith):
        left, lt = _check(n.left, s)
        right, rt = _check(n.right, s)
        _need(lt, "num", n.left, f"'{n.op}'")
        _need(rt, "num", n.right, f"'{n.op}'")
        if n.op == "/":
            fmt = "float"
        elif "money" in (lt.fmt, rt.fmt):
            fmt = "money"
        elif lt.fmt == rt.fmt == "int":
            fmt = "int"
        else:
            fmt = "float"
        return replace(n, left=left, right=right), Ty("num", fmt=fmt)
    if isinstance(n, ir.Compare):
        return _compare(n, s)
    if isinstance(n, ir.In):
        return _in(n, s)
    if isinstance(n, ir.Between):
        operand, ot = _check(n.operand, s)
        low, lt = _coerce_date(*_check(n.low, s), ot)
        high, ht = _coerce_date(*_check(n.high, s), ot)
        if ot.kind not in ("num", "date"):
            raise _fail(f"'between' needs a number or a date, got {ot}", n.operand)
        for node, t in ((n.low, lt), (n.high, ht)):
            if t.kind != ot.kind:
                raise _fail(f"'between' bound is {t}, expected {ot}", node)
        return replace(n, operand=operand, low=low, high=high), BOOL
    if isinstance(n, ir.IsMissing):
        operand, ot = _check(n.operand, s)
        if ot.kind == "list" and isinstance(operand, ir.ListLit):
            raise _fail("'is missing' needs a field or value, not a list", n.operand)
        return replace(n, operand=operand), BOOL
    if isinstance(n, ir.Not):
        operand, ot = _check(n.operand, s)
        _need(ot, "bool", n.operand, "'not'")
        return replace(n, operand=operand), BOOL
    if isinstance(n, (ir.And, ir.Or)):
        items = []
        word = "'and'" if isinstance(n, ir.And) else "'or'"
        for i in n.items:
            node, t = _check(i, s)
            _need(t, "bool", i, word)
            items.append(node)
        return replace(n, items=tuple(items)), BOOL
    if isinstance(n, ir.Call):
        return _call(n, s)
    raise _fail(f"unsupported expression {type(n).__name__}", n)


def _need(t: Ty, kind: str, node: ir.Node, where: str) -> None:
    if t.kind != kind:
        what = {"num": "a number", "bool": "a condition (yes/no)", "str": "text", "date": "a date"}[kind]
        raise _fail(f"{where} needs {what}, got {t}", node)


def _coerce_date(node: ir.Node, t: Ty, other: Ty) -> tuple[ir.Node, Ty]:
    if other.kind == "date" and isinstance(node, ir.Str):
        try:
            return ir.Date(dt.date.fromisoformat(node.value), node.pos), DATE
        except ValueError:
            raise _fail(f"not a date {node.value!r} (write 'YYYY-MM-DD')", node) from None
    return node, t


def _canonical(node: ir.Str, table: str) -> ir.Str:
    label = schema.canonical_value(table, node.value)
    if label is None:
        raise _fail(unknown_code_message(table, node.value, "value"), node)
    return ir.Str(label, node.pos)


def unknown_code_message(table: str, value: str, what: str = "") -> str:
    """"unknown 致贫原因 value '因冰' (did you mean '因病'?); allowed: …" (spellings map to labels)."""
    choices = list(schema.CODE_TABLES[table])
    spellings = {sp: lab for lab, sps in schema.CODE_TABLES[table].items() for sp in (lab, *sps) if not sp.isdigit()}
    close = difflib.get_close_matches(str(value), list(spellings), n=3, cutoff=0.5)
    labels = list(dict.fromkeys(spellings[c] for c in close))
    hint = f" (did you mean {labels[0]!r}?)" if labels else ""
    field = _TABLE_LABEL.get(table, table)
    return f"unknown {field}{' ' + what if what else ''} {value!r}{hint}; allowed: {'、'.join(choices)}"


_TABLE_LABEL = {
    "sex": "性别", "relation": "与户主关系", "health": "健康状况", "labour": "劳动技能", "education": "文化程度",
    "school_status": "在校生状况", "work_status": "务工状况", "attribute": "贫困户属性", "cause": "致贫原因",
    "risk_type": "风险类型",
}


def _compare(n: ir.Compare, s: Scope) -> tuple[ir.Node, Ty]:
    left, lt = _check(n.left, s)
    right, rt = _check(n.right, s)
    left, lt = _coerce_date(left, lt, rt)
    right, rt = _coerce_date(right, rt, lt)
    if lt.kind == "list" or rt.kind == "list":
        raise _fail("cannot compare a list; use 'in'", n)
    if lt.kind != rt.kind:
        hint = ""
        if "bool" in (lt.kind, rt.kind):
            hint = " (yes/no values compare with true/false)"
        raise _fail(f"cannot compare {lt} with {rt}{hint}", n)
    if n.op not in ("==", "!=") and lt.kind not in ("num", "date"):
        raise _fail(f"'{n.op}' needs numbers or dates, got {lt}", n)
    if lt.kind == "str":
        if lt.table and isinstance(right, ir.Str):
            right = _canonical(right, lt.table)
        if rt.table and isinstance(left, ir.Str):
            left = _canonical(left, rt.table)
    return replace(n, left=left, right=right), BOOL


def _in(n: ir.In, s: Scope) -> tuple[ir.Node, Ty]:
    operand, ot = _check(n.operand, s)
    options, opt = _check(n.options, s)
    if ot.kind == "list":
        raise _fail("the left side of 'in' must be a single value", n.operand)
    if opt.kind != "list":
        raise _fail(f"'in' needs a list, got {opt}", n.options)
    if isinstance(options, ir.ListLit):
        items = []
        for item in options.items:
            item, it = _coerce_date(*_check(item, s), ot)
            if it.kind != ot.kind:
                raise _fail(f"list item is {it}, but {_describe(n.operand)} is {ot}", item)
            if ot.table and isinstance(item, ir.Str):
                item = _canonical(item, ot.table)
            items.append(item)
        options = ir.ListLit(tuple(items), options.pos)
    elif opt.elem and opt.elem != ot.kind:
        raise _fail(f"parameter list holds {Ty(opt.elem)}, but {_describe(n.operand)} is {ot}", n.options)
    return replace(n, operand=operand, options=options), BOOL


def _describe(node: ir.Node) -> str:
    return repr(node.name) if isinstance(node, ir.Name) else "the value"


def _call(n: ir.Call, s: Scope) -> tuple[ir.Node, Ty]:
    checked = [_check(a, s) for a in n.args]
    args = tuple(a for a, _ in checked)
    types = [t for _, t in checked]
    f = n.func
    if f in ("min", "max"):
        kind = types[0].kind
        if kind not in ("num", "date") or any(t.kind != kind for t in types):
            raise _fail(f"{f}() needs numbers (or dates), got " + ", ".join(str(t) for t in types), n)
        fmt = types[0].fmt if all(t.fmt == types[0].fmt for t in types) else "float"
        return replace(n, args=args), Ty(kind, fmt=fmt)
    if f == "abs":
        _need(types[0], "num", n.args[0], "abs()")
        return replace(n, args=args), types[0]
    if f == "round":
        _need(types[0], "num", n.args[0], "round()")
        if len(args) == 2 and not (isinstance(args[1], ir.Num) and args[1].is_int and 0 <= args[1].value <= 6):
            raise _fail("round(x, digits): digits must be a whole number 0–6", n.args[1])
        return replace(n, args=args), Ty("num", fmt="int" if len(args) == 1 else "float")
    if f == "coalesce":
        kinds = {t.kind for t in types}
        if len(kinds) > 1 or "list" in kinds:
            raise _fail("coalesce() arguments must all be of one type, got " + ", ".join(str(t) for t in types), n)
        tables = {t.table for t in types}
        fmts = {t.fmt for t in types}
        return replace(n, args=args), Ty(types[0].kind, table=tables.pop() if len(tables) == 1 else None,
                                          fmt=fmts.pop() if len(fmts) == 1 else ("float" if types[0].kind == "num" else None))
    if f == "year":
        _need(types[0], "date", n.args[0], "year()")
        return replace(n, args=args), INT
    if f == "contains":
        _need(types[0], "str", n.args[0], "contains()")
        if not isinstance(args[1], ir.Str):
            raise _fail("contains(field, 'text'): the second argument must be quoted text", n.args[1])
        table = LIST_TABLES.get(args[0].name) if isinstance(args[0], ir.Name) else None
        item = _canonical(args[1], table) if table else args[1]
        return replace(n, args=(args[0], item)), BOOL
    raise _fail(f"unknown function {f!r}", n)
