"""Explanation texts in SQL: 识别依据, 未识别原因 and 未评估规则, built by the compiled query.

The same texts as :class:`fupin_cli.engine.details.DetailBuilder` and ``engine.decide.identification``
build from pandas frames, byte for byte, written as SQL expressions over the columns the pack's query
already computed (rule results ``rule:<id>``, derived values, the temp columns of shared operands) —
so a text costs nothing where it is not written:

* every text sits inside a ``CASE`` on the rule results and the status: a rule's deciding values are
  formatted only for the households whose 识别依据 / 未识别原因 shows that rule;
* which condition leaves a text shows follows ``DetailBuilder._parts``: for a true ``or`` the true
  branches, for a false ``and`` the false ones, for an unknown result the unknown ones, each leaf
  guarded by a ``CASE`` on its parents' truth; the leaves are joined by ``concat_ws`` (which skips
  NULLs, as the pandas builder skips rows without text);
* values: numbers as Python's ``f"{v:,.2f}"`` (``,.0f`` for whole-number fields) through the dialect
  (DuckDB ``format('{:,.2f}', x)``, Spark ``format_number(x, 2)``: both round the double's exact value
  half to even, as Python does), dates ``YYYY-MM-DD``, yes/no 是/否, missing 缺失, ID-like fields
  masked (first 6 + last 4, ``idnumber.mask``) — never a full ID number in a text;
* a rule not evaluated for a household (an absent column, ``engine/inputs.py``) states which columns are
  missing; 未评估规则 lists the not-evaluated rules that could have changed the household's decision
  (``decide.identification_affected``).

Everything dialect-specific goes through :class:`~fupin_cli.engine.compile_sql.Dialect`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine.details import (
    _NEG,
    _OP,
    MISSING,
    NOT_EVALUATED,
    SENSITIVE,
    SEP,
    _first_pos,
    _guess_type,
    _money_only,
    format_scalar,
    is_sensitive,
    literal_text,
    not_evaluated_text,
    plain_text,
    short_unit,
)
from fupin_cli.engine.inputs import has_absent, substitute
from fupin_cli.engine.model import MODE_STATUS, MODE_SUFFIX
from fupin_cli.engine.typecheck import Ty

if TYPE_CHECKING:
    from fupin_cli.engine.compile_sql import ExprCompiler
    from fupin_cli.engine.params import ParamValue

# a condition read more than once by a text (its truth decides which words and leaves show) is inlined
# when its SQL is short, and computed once as a temp column when it is longer (deep random expressions)
INLINE_LIMIT = 160


class TextCompiler:
    """SQL of the deciding-values text of a condition (``DetailBuilder.rule_text``) over one relation.

    ``x``: the pack's :class:`ExprCompiler` for the households (its columns and temp pool);
    ``label``: field → Chinese label; ``params``: parameter name → resolved :class:`ParamValue`."""

    def __init__(self, x: ExprCompiler, types: dict[str, Ty], label: Callable[[str], str], params: dict[str, ParamValue]):
        self.x = x
        self.d = x.d
        self.types = types
        self.label = label
        self.params = params

    # -- small SQL pieces ---------------------------------------------------------------
    def lit(self, text: str) -> str:
        return self.d.string(text)

    @staticmethod
    def cat(*parts: str) -> str:
        """Concatenation (NULL when a part is NULL)."""
        return "(" + " || ".join(parts) + ")"

    def join(self, items: list[str], sep: str) -> str:
        """``items`` (SQL texts, NULL = none) joined with ``sep``; ``''`` when every item is NULL."""
        if not items:
            return self.lit("")
        return f"concat_ws({self.lit(sep)}, {', '.join(items)})"

    def nonempty(self, text: str) -> str:
        """``text``, NULL where it is ``''``."""
        return f"NULLIF({text}, {self.lit('')})"

    def truth(self, node: ir.Node) -> str:
        """The SQL truth of a condition (NULL = unknown), a temp column when it is long."""
        e = self.x.value(node)
        if not e.atomic and len(e.sql) > INLINE_LIMIT:
            e = self.x.pool.bind(e)
        return e.sql

    def param_label(self, name: str) -> str:
        return self.params[name].label if name in self.params else name

    def plain(self, node: ir.Node) -> str:
        return plain_text(node, self.label, self.param_label)

    def param_text(self, name: str) -> str:
        """As ``DetailBuilder.param_text``."""
        p = self.params[name]
        unit = short_unit(p.unit)
        sep = "" if unit in ("%", "") or unit.startswith("%") else " "
        return f"{p.label} {p.value_text()}{sep}{unit}（{p.year}，{p.region}）"

    # -- a whole condition ----------------------------------------------------------------
    def rule_text(self, node: ir.Node | None) -> str:
        """SQL text of the deciding values (``''`` = none; never NULL)."""
        if node is None:
            return self.lit("")
        return self._parts(node)[0]

    def _parts(self, node: ir.Node) -> tuple[str, bool]:
        """(SQL text, whether it can be ``''``) of the leaves of ``node`` that decided its result."""
        if isinstance(node, (ir.And, ir.Or)):
            v = self.truth(node)
            items = []
            for child in node.items:
                c = self.truth(child)
                if isinstance(node, ir.And):  # unknown: the unknown children; true: all; false: the false ones
                    rel = f"CASE WHEN {v} IS NULL THEN {c} IS NULL WHEN {v} THEN TRUE ELSE {c} IS FALSE END"
                else:  # unknown: the unknown children; true: the true ones; false: all
                    rel = f"CASE WHEN {v} IS NULL THEN {c} IS NULL WHEN {v} THEN {c} IS TRUE ELSE TRUE END"
                sub, empty = self._parts(child)
                items.append(f"CASE WHEN {rel} THEN {self.nonempty(sub) if empty else sub} END")
            return self.join(items, SEP), True
        if isinstance(node, ir.Not):
            return self._parts(node.operand)
        if isinstance(node, ir.Bool):  # an absent part replaced by a literal (engine/inputs.py): never shown
            return self.lit(""), True
        return self.leaf_text(node), False

    # -- leaves ---------------------------------------------------------------------------
    def value_text(self, e: str, kind: str, ty: Ty | None) -> str:
        """Display text of a value (NULL when missing)."""
        d = self.d
        if kind == "num":
            return d.format_number(e, 0 if ty is not None and ty.fmt == "int" else 2)
        if kind == "date":
            return d.date_text(e)
        if kind == "bool":
            return f"CASE WHEN {e} THEN {self.lit('是')} WHEN NOT {e} THEN {self.lit('否')} END"
        if kind == "str":
            return e
        raise ValueError(f"no display text for a {kind} value")

    def operand(self, node: ir.Node, unit_hint: str = "", masked: bool = False) -> str:
        """``label value unit`` of one side of a condition (as ``DetailBuilder.operand``)."""
        constant = literal_text(node, self.param_text, masked)
        if constant is not None:
            return self.lit(constant)
        if (isinstance(node, ir.Call) and node.func == "coalesce" and len(node.args) == 2 and isinstance(node.args[0], ir.Name)
                and isinstance(node.args[1], (ir.Num, ir.Str, ir.Bool))):  # 车辆价值 50,000 元 / 车辆价值 缺失（按 0）
            first = node.args[0]
            fallback = format_scalar(node.args[1].value, None)
            return (f"CASE WHEN {self.x.value(first).sql} IS NULL THEN {self.lit(f'{self.label(first.name)} {MISSING}（按 {fallback}）')} "
                    f"ELSE {self.operand(first, unit_hint)} END")
        e = self.x.value(node).sql
        ty = self.types.get(node.name) if isinstance(node, ir.Name) else _guess_type(node, self.types)
        text = self.value_text(e, self.x.kind(node), ty)
        if isinstance(node, ir.Name) and node.name in SENSITIVE:
            text = self.d.mask(text)
        if isinstance(node, ir.Name):
            unit = " 元" if ty is not None and ty.fmt == "money" else ""
        else:
            unit = " 元" if ty is not None and ty.fmt == "money" and _money_only(node, self.types) else ""
        if not unit and unit_hint and unit_hint != "%":
            unit = " " + unit_hint
        if unit:
            text = self.cat(text, self.lit(unit))
        head = self.label(node.name) if isinstance(node, ir.Name) else self.plain(node) + " 为"
        return self.cat(self.lit(head + " "), f"COALESCE({text}, {self.lit(MISSING)})")

    def missing_inputs(self, node: ir.Node) -> str:
        """``人均纯收入 缺失、家庭人口数 缺失`` for the missing named inputs of a leaf."""
        names = sorted(ir.names(node), key=lambda nm: _first_pos(node, nm))
        items = [f"CASE WHEN {self.x.value(ir.Name(nm)).sql} IS NULL THEN {self.lit(self.label(nm) + ' ' + MISSING)} END" for nm in names]
        fallback = self.lit(self.plain(node) + " 无法判断")
        if not items:
            return fallback
        return f"COALESCE(NULLIF({self.join(items, '、')}, {self.lit('')}), {fallback})"

    def leaf_text(self, node: ir.Node) -> str:
        if isinstance(node, ir.Bool):
            return self.lit("")
        v = self.truth(node)

        def choose(yes: str, no: str) -> str:
            return f"CASE WHEN {v} THEN {self.lit(yes)} ELSE {self.lit(no)} END"

        if isinstance(node, ir.Compare):
            gap = " " if isinstance(node.right, (ir.Num, ir.Str, ir.Bool, ir.Date)) else ""
            hint = next((short_unit(self.params[s.name].unit) for s in (node.left, node.right) if isinstance(s, ir.Param) and s.name in self.params), "")
            sens = is_sensitive(node.left, node.right)
            text = self.cat(self.operand(node.left, hint, sens), choose("，" + _OP[node.op] + gap, "，" + _OP[_NEG[node.op]] + gap),
                            self.operand(node.right, hint, sens))
        elif isinstance(node, ir.In):
            yes, no = ("不属于", "属于") if node.negate else ("属于", "不属于")
            text = self.cat(self.operand(node.operand), choose(f" {yes} ", f" {no} "), self.operand(node.options, masked=is_sensitive(node.operand)))
        elif isinstance(node, ir.Between):
            text = self.cat(self.operand(node.operand), choose(" 在 ", " 不在 "), self.operand(node.low), self.lit(" 与 "),
                            self.operand(node.high), self.lit(" 之间"))
        elif isinstance(node, ir.IsMissing):
            inner = node.operand
            label = self.label(inner.name) if isinstance(inner, ir.Name) else self.plain(inner)
            present = v if node.negate else f"NOT {v}"
            return f"CASE WHEN {present} THEN {self.operand(inner)} ELSE {self.lit(label + ' ' + MISSING)} END"
        elif isinstance(node, ir.Call) and node.func == "contains":
            word = node.args[1].value if isinstance(node.args[1], ir.Str) else ""
            text = self.cat(self.operand(node.args[0]), choose(" 含 ", " 不含 "), self.lit(word))
        elif isinstance(node, ir.Name):
            text = self.operand(node)
        elif isinstance(node, ir.Call) and node.func == "coalesce" and isinstance(node.args[0], ir.Name):
            first = node.args[0]
            fallback = self.operand(node.args[1]) if len(node.args) == 2 else self.operand(node)
            text = (f"CASE WHEN {self.x.value(first).sql} IS NULL THEN "
                    f"{self.cat(self.lit(self.label(first.name) + ' ' + MISSING + '（按 '), fallback, self.lit('）'))} "
                    f"ELSE {self.operand(first)} END")
        elif isinstance(node, ir.Call) and node.func == "coalesce" and len(node.args) == 2:
            # coalesce(condition, default): the condition's own text, or "X 缺失（按 是）"
            first = node.args[0]
            text = (f"CASE WHEN {self.x.value(first).sql} IS NULL THEN "
                    f"{self.cat(self.missing_inputs(first), self.lit('（按 '), self.operand(node.args[1]), self.lit('）'))} "
                    f"ELSE {self.leaf_text(first)} END")
        else:
            text = self.cat(self.lit(self.plain(node)), choose("：是", "：否"))
        return f"CASE WHEN {v} IS NULL THEN {self.missing_inputs(node)} ELSE {text} END"


# ---------------------------------------------------------------------------------------
# identification: 识别依据, 未识别原因, 未评估规则
# ---------------------------------------------------------------------------------------
def detail_sql(tc: TextCompiler, rule: Any, condition: ir.Node | None, column: str, ne_column: str | None, fields: Any,
               field_label: Callable[[str], str]) -> str:
    """The deciding values of one rule (``Evaluation.detail_texts``): where the rule was not evaluated, which
    columns are missing; a rule with absent parts elsewhere shows the valuation that agrees with its result."""
    if condition is None or not has_absent(condition):
        return tc.rule_text(condition)
    as_true, as_false = tc.rule_text(substitute(condition, True)), tc.rule_text(substitute(condition, False))
    decided = f"CASE WHEN {column} THEN {as_false} ELSE {as_true} END"
    if ne_column is None:
        return decided
    return f"CASE WHEN {ne_column} THEN {tc.lit(not_evaluated_text(fields, field_label))} ELSE {decided} END"


def _by_priority(rules: list[Any]) -> list[Any]:
    return [r for _, _, r in sorted((getattr(r, "priority", 100), i, r) for i, r in enumerate(rules))]


class IdentificationTexts:
    """The text layers of ``engine.decide.identification`` as SQL over the decision columns.

    ``col(rule id)``: the SQL of the rule's result column; ``ne(rule id)``: its not-evaluated flag column or
    None; ``mode(rule)``: the resolved mode word of an exclusion / status rule; ``fields(rule id)``: the
    absent fields of a not-evaluated rule; ``conditions``: rule id → effective condition."""

    def __init__(self, tc: TextCompiler, pack: Any, rules: list[Any], conditions: dict[str, Any], col: Callable[[str], str],
                 ne: Callable[[str], str | None], mode: Callable[[Any], str], fields: Callable[[str], Any],
                 field_label: Callable[[str], str]):
        self.tc, self.d, self.pack = tc, tc.d, pack
        self.rules = rules
        self.conditions = conditions
        self.col, self.ne, self.mode, self.fields, self.field_label = col, ne, mode, fields, field_label
        self._details: dict[str, str] = {}

    def of(self, kind: str) -> list[Any]:
        return [r for r in self.rules if r.kind == kind]

    def detail(self, rule: Any) -> str:
        if rule.id not in self._details:
            self._details[rule.id] = detail_sql(self.tc, rule, self.conditions.get(rule.id), self.col(rule.id), self.ne(rule.id),
                                                self.fields(rule.id) if self.ne(rule.id) else (), self.field_label)
        return self._details[rule.id]

    def text(self, rule: Any, tail: str = "") -> str:
        """``标签（决定性数值）`` + tail, or ``标签`` + tail when no value decided (``decide._rule_texts``)."""
        lit, cat = self.tc.lit, self.tc.cat
        values = f"COALESCE({cat(lit('（'), self.tc.nonempty(self.detail(rule)), lit('）'))}, {lit('')})"
        return cat(lit(rule.label), values, lit(tail)) if tail else cat(lit(rule.label), values)

    def unmet(self, rule: Any) -> str:
        """``未满足“标签”：决定性数值`` (``decide._rule_texts(unmet=True)``); ``无法核实“标签”：…`` where not evaluated."""
        lit, cat = self.tc.lit, self.tc.cat
        head = f"未满足“{rule.label}”"
        met = cat(lit(head), f"COALESCE({cat(lit('：'), self.tc.nonempty(self.detail(rule)))}, {lit('')})")
        ne = self.ne(rule.id)
        if ne is None:
            return met
        rest = not_evaluated_text(self.fields(rule.id), self.field_label)[len(NOT_EVALUATED) + 1:]
        return f"CASE WHEN {ne} THEN {lit(f'无法核实“{rule.label}”：' + rest)} ELSE {met} END"

    def layers(self, status: str, involved: Callable[[str], str | None]) -> list[tuple[str, list[tuple[str, str]]]]:
        """CTE layers: flags, then ``basis``, ``not_identified_reason`` and (with not-evaluated rules)
        ``aff:<rule>`` flags and ``not_evaluated``.

        ``status``: the SQL of the final status column; ``involved(cause)``: SQL of "the cause is one of the
        household's causes" (None: never)."""
        q, lit, col = self.d.ident, self.tc.lit, self.col
        crit = self.of("criterion")
        crit_all = [r for r in crit if r.mode == "all"]
        crit_any = [r for r in crit if r.mode == "any"]
        vetoes = [r for r in self.of("exclusion") if self.mode(r) == "veto"]
        reviews = [r for r in self.of("exclusion") if self.mode(r) == "review"]

        def any_of(rules: list[Any], empty: str) -> str:
            return "(" + " OR ".join(col(r.id) for r in rules) + ")" if rules else empty

        def all_of(rules: list[Any]) -> str:
            return "(" + " AND ".join(col(r.id) for r in rules) + ")" if rules else "TRUE"

        all_ok, any_ok = all_of(crit_all), any_of(crit_any, "TRUE")
        elig, ex = f"({all_ok} AND {any_ok})", any_of(vetoes, "FALSE")
        flags = [
            ("__x_excluded", f"COALESCE({ex}, FALSE)"),
            ("__x_failed", f"(NOT COALESCE({ex}, FALSE) AND {elig} IS FALSE)"),
            ("__x_poor", f"({elig} IS TRUE AND {ex} IS FALSE)"),
            ("__x_any_ok", any_ok),
            ("__x_elig", elig),
            ("__x_hit", "(" + " OR ".join(f"{col(r.id)} IS TRUE" for r in reviews) + ")" if reviews else "FALSE"),
        ]
        excluded, failed, poor0, any_ok_c, elig_c, hit = (q(c) for c, _ in flags)
        pending0 = f"NOT ({excluded} OR {failed} OR {poor0})"
        reviewed = f"({hit} AND NOT {excluded} AND NOT {failed})"
        # the deciding values of a rule, once per household and only where a text below may show them
        # (a superset of the conditions under which the texts read them; NULL elsewhere)
        shown: dict[str, tuple[Any, str]] = {}
        for r in crit:
            c = col(r.id)
            shown[r.id] = (r, f"({poor0} AND {c} IS TRUE) OR ({failed} AND {c} IS FALSE) OR ({pending0} AND {c} IS NULL)")
        for r in vetoes:
            shown[r.id] = (r, f"{col(r.id)} IS TRUE OR ({pending0} AND {col(r.id)} IS NULL)")
        for r in reviews + self.of("status"):
            shown[r.id] = (r, f"{col(r.id)} IS TRUE")
        details = [("__d:" + rid, f"CASE WHEN {cond} THEN {self.detail(r)} END") for rid, (r, cond) in shown.items()]
        self._details.update({rid: q("__d:" + rid) for rid in shown})

        def joined(pairs: list[tuple[str, str]]) -> str:
            return self.tc.join([f"CASE WHEN {cond} THEN {text} END" for cond, text in pairs], SEP)

        nonempty = self.tc.nonempty
        reason_ex = joined([(f"{col(r.id)} IS TRUE", self.text(r)) for r in vetoes])
        reason_fail = joined([(f"{col(r.id)} IS FALSE", self.unmet(r)) for r in crit_all]
                             + [(f"{any_ok_c} IS FALSE AND {col(r.id)} IS FALSE", self.unmet(r)) for r in crit_any])
        reason_unk = joined([(f"{col(r.id)} IS NULL", self.text(r)) for r in crit_all]
                            + [(f"{any_ok_c} IS NULL AND {col(r.id)} IS NULL", self.text(r)) for r in crit_any]
                            + [(f"{elig_c} IS TRUE AND {col(r.id)} IS NULL", self.text(r)) for r in vetoes])
        reason_unk = f"COALESCE({self.tc.cat(lit('待核实：'), nonempty(reason_unk))}, {lit('')})"
        reason0 = f"CASE WHEN {excluded} THEN {reason_ex} WHEN {failed} THEN {reason_fail} WHEN {pending0} THEN {reason_unk} ELSE {lit('')} END"
        basis0 = f"CASE WHEN {poor0} THEN {joined([(f'{col(r.id)} IS TRUE', self.text(r)) for r in crit])} ELSE {lit('')} END"
        if reviews:
            review_texts = joined([(f"{col(r.id)} IS TRUE", self.text(r, MODE_SUFFIX["review"])) for r in reviews])
            reason1 = f"CASE WHEN {reviewed} THEN {self.tc.join([nonempty(review_texts), nonempty(reason0)], SEP)} ELSE {reason0} END"
        else:
            reason1 = reason0
        # status rules by priority (a mode word or a status label; ``ignore`` drops the rule)
        overrides = []
        for r in _by_priority(self.of("status")):
            word = self.mode(r)
            if MODE_STATUS.get(word, word) is None:
                continue
            guard = f" AND NOT ({excluded} OR {hit})" if getattr(r, "unless_excluded", False) else ""
            overrides.append((f"{col(r.id)} IS TRUE{guard}", self.text(r, MODE_SUFFIX.get(word, ""))))
        is_poor = f"{status} = {lit(schema.STATUS_POOR)}"
        if overrides:
            details.append(("__x_override", "(" + " OR ".join(c for c, _ in overrides) + ")"))  # reads the flags: next layer
            override = q("__x_override")
            first_text = "CASE " + " ".join(f"WHEN {c} THEN {t}" for c, t in overrides) + " END"
            basis = (f"CASE WHEN NOT ({is_poor}) THEN {lit('')} WHEN {override} THEN "
                     f"{self.tc.join([first_text, f'CASE WHEN {poor0} THEN {nonempty(basis0)} END'], SEP)} ELSE {basis0} END")
            reason = (f"CASE WHEN {is_poor} THEN {lit('')} WHEN {override} THEN {self.tc.join([first_text, nonempty(reason1)], SEP)} "
                      f"ELSE {reason1} END")
        else:
            basis = f"CASE WHEN {is_poor} THEN {basis0} ELSE {lit('')} END"
            reason = f"CASE WHEN {is_poor} THEN {lit('')} ELSE {reason1} END"
        texts = [("basis", basis), ("not_identified_reason", reason)]
        return [("__tflags", flags), ("__tdetails", details), ("__texts", texts), *self.not_evaluated(status, excluded, involved)]

    def not_evaluated(self, status: str, excluded: str, involved: Callable[[str], str | None]) -> list[tuple[str, list[tuple[str, str]]]]:
        """Layers of ``aff:<rule>`` (the households a not-evaluated rule could have changed,
        ``decide.identification_affected``) and ``not_evaluated`` (未评估规则: their texts joined, each once)
        when some rule has absent inputs."""
        d, q, lit, col = self.d, self.d.ident, self.tc.lit, self.col
        ne_rules = [r for r in self.rules if self.ne(r.id) is not None]
        if not ne_rules:
            return []
        is_poor = f"({status} = {lit(schema.STATUS_POOR)})"
        applies = f"({status} <> {lit(schema.STATUS_NOT_POOR)})"
        status_rules = _by_priority(self.of("status"))
        attr_rules = _by_priority([r for r in self.of("attribute") if not r.default])

        def none_true(rules: list[Any]) -> str:
            return "NOT (" + " OR ".join(f"{col(r.id)} IS TRUE" for r in rules) + ")" if rules else "TRUE"

        items, texts = [], []
        for r in ne_rules:
            if r.kind == "criterion":
                could = f"NOT {excluded} AND NOT {is_poor}"
            elif r.kind == "exclusion":
                could = f"{applies} AND NOT {excluded}"
            elif r.kind == "status":
                i = status_rules.index(r)
                could = none_true(status_rules[: i + 1])
                if r.value in schema.STATUSES:
                    could += f" AND {status} <> {lit(r.value)}"
            elif r.kind == "attribute":
                i = attr_rules.index(r) if r in attr_rules else len(attr_rules)
                could = f"{is_poor} AND {none_true(attr_rules[: i + 1])}"
            elif r.kind == "measure":
                inv = involved(r.cause)
                could = f"{applies} AND {inv}" if inv is not None else "FALSE"
            elif r.kind in ("cause", "cause_check", "estimate"):
                could = applies
            else:
                continue
            name = "aff:" + r.id
            items.append((name, f"COALESCE({self.ne(r.id)} AND ({could}), FALSE)"))
            texts.append(f"CASE WHEN {q(name)} THEN {lit(f'{r.label}（{not_evaluated_text(self.fields(r.id), self.field_label)}）')} END")
        if not items:
            return []
        # as decide.not_evaluated_column (joined with dedupe): one text as it is, several each piece once
        lst, pieces = q("__ne_list"), q("__ne_items")
        joined = (f"CASE WHEN {d.list_len(lst)} = 0 THEN {lit('')} WHEN {d.list_len(lst)} = 1 THEN {d.list_item(lst, 1)} "
                  f"ELSE {d.list_join(d.first_occurrences(pieces), SEP)} END")
        return [("__ne_aff", items), ("__ne_l", [("__ne_list", d.text_list(texts))]),
                ("__ne_split", [("__ne_items", f"CASE WHEN {d.list_len(lst)} > 1 THEN {d.split_all(lst, SEP)} END")]),
                ("__ne_text", [("not_evaluated", joined)])]


def field_label(pack: Any, name: str) -> str:
    """Chinese label of a canonical, derived or built-in field (``engine.evaluate.field_label``)."""
    from fupin_cli.engine.typecheck import BUILTIN_MEMBER

    if name in BUILTIN_MEMBER:
        return str(BUILTIN_MEMBER[name][0])
    return str(pack.derived_label(name))


def _texts(pack: Any, rules: list[Any], conditions: dict[str, Any], hexpr: ExprCompiler, params: dict[str, ParamValue],
           values: dict[str, Any], year: int, availability: Any, not_evaluated: set[str]) -> IdentificationTexts:
    from fupin_cli.engine.compile_sql import _rule_mode, household_types, rule_column
    from fupin_cli.engine.inputs import field_label as input_label

    d = hexpr.d
    tc = TextCompiler(hexpr, household_types(pack), lambda name: field_label(pack, name), params)
    fields = availability.rule_fields if availability is not None else {}
    return IdentificationTexts(
        tc, pack, rules, conditions,
        col=lambda rid: d.ident(rule_column(rid)),
        ne=lambda rid: d.ident("ne:" + rid) if rid in not_evaluated else None,
        mode=lambda r: _rule_mode(r, values, year),
        fields=lambda rid: fields.get(rid, ()),
        field_label=lambda f: input_label(f, pack))


def detail_columns(pack: Any, rules: list[Any], conditions: dict[str, Any], hexpr: ExprCompiler, params: dict[str, ParamValue],
                   availability: Any, not_evaluated: set[str]) -> list[tuple[str, str]]:
    """``detail:<id>`` → SQL of the rule's deciding values for every household (``Evaluation.detail_texts``)."""
    texts = _texts(pack, rules, conditions, hexpr, params, {}, 0, availability, not_evaluated)
    return [("detail:" + r.id, texts.detail(r)) for r in rules]


def identification_text_layers(pack: Any, year: int, rules: list[Any], conditions: dict[str, Any], hexpr: ExprCompiler,
                               params: dict[str, ParamValue], values: dict[str, Any], availability: Any,
                               not_evaluated: set[str]) -> list[tuple[str, list[tuple[str, str]]]]:
    """The CTE layers of the identification texts (after ``compile_sql._decision_layers``)."""
    from fupin_cli.engine.compile_sql import cause_order, involved_sql

    texts = _texts(pack, rules, conditions, hexpr, params, values, year, availability, not_evaluated)
    involved = involved_sql(pack, cause_order([r for r in rules if r.kind == "cause"]), hexpr.d)
    return texts.layers(hexpr.d.ident("status"), involved)
