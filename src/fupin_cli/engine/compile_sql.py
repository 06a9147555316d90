"""Typed rule IR → SQL, and a pack evaluated inside DuckDB.

Two layers:

* **Compiling** (pure Python; no pandas / pyarrow / duckdb at module level): :class:`ExprCompiler`
  turns one typed IR tree into an SQL expression; :func:`compile_pack` turns a pack (derived fields, rules of a
  year, identification decisions) into one ``SELECT`` over two relations, ``__households`` (one
  row per household, canonical columns, ``__row`` = position) and ``__members``.  Everything
  dialect-specific goes through :class:`Dialect` (DuckDB here; Spark SQL is the second dialect,
  see ``docs/architecture.md``).
* **Running** (:func:`evaluate_duckdb`): the roster's needed columns go into an in-process
  DuckDB as Arrow tables (vectorised conversion, no per-row Python), the query runs, the rows
  are put back in input order (``__row``), and the
  result comes back as the same :class:`~fupin_cli.engine.evaluate.Evaluation` the pandas
  backend returns (rule id → boolean with NA = unknown, derived household values, estimates,
  member check results), plus the decision columns computed in SQL (``Evaluation.sql_decisions``).

Semantics (the pack language → SQL; ``docs/rule-packs.md`` "Missing values" and
``docs/architecture.md`` "Rules in SQL" list the whole mapping):

* missing / unknown is SQL ``NULL``; ``and``/``or``/``not`` are SQL's, which are Kleene;
  comparisons, ``in``, ``between`` and arithmetic with ``NULL`` give ``NULL``;
  ``is missing`` is ``IS NULL`` (never ``NULL``).
* numbers are ``DOUBLE``; ``a / b`` is ``NULL`` when ``b = 0``; an arithmetic result that is
  NaN (only ``inf - inf`` and the like) is ``NULL``, as NaN is missing everywhere else.
* ``min``/``max`` are ``NULL`` when any argument is (SQL's ``least``/``greatest`` skip NULLs,
  so they are guarded); ``round`` is numpy's: ``rint(x * 10^d) / 10^d``, half to even.
* ``contains`` is a regex search with the separators written out (``typecheck.contains_regex``).
* member aggregates are one ``GROUP BY household_id`` over the members, joined to the
  households; the documented rules for unknown members are ``bool_or`` guards.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, cast

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine.model import EXCLUSION_MODES, MODE_STATUS, DerivedAgg, param_ref
from fupin_cli.engine.typecheck import BUILTIN_MEMBER, Ty, contains_regex, field_type

if TYPE_CHECKING:
    from fupin_cli.engine.evaluate import Evaluation
    from fupin_cli.engine.inputs import Availability
    from fupin_cli.engine.loader import Pack
    from fupin_cli.engine.params import ParamValue
    from fupin_cli.roster import Roster

SEP = "；"  # texts joined (as engine.details.SEP)
OTHER_CAUSE = "其他"
HOUSEHOLDS, MEMBERS = "__households", "__members"
ROW, MROW, KEY, NMEM = "__row", "__mrow", "__key", "__n"


class SqlError(Exception):
    """An expression the SQL compiler cannot express (the loader's limits keep packs from this)."""


# ---------------------------------------------------------------------------------------
# dialect
# ---------------------------------------------------------------------------------------
class Dialect:
    """DuckDB SQL.  :class:`SparkDialect` overrides what Spark SQL spells differently."""

    name = "duckdb"
    SQL_TYPES: ClassVar[dict[str, str]] = {"num": "DOUBLE", "bool": "BOOLEAN", "str": "VARCHAR", "date": "TIMESTAMP"}

    def ident(self, name: str) -> str:
        return '"' + name.replace('"', '""') + '"'

    def string(self, text: str) -> str:
        if "\x00" in text:
            raise SqlError("text with a NUL character")
        return "'" + text.replace("'", "''") + "'"

    def number(self, value: float) -> str:
        value = float(value)
        if not math.isfinite(value):
            raise SqlError(f"number {value!r} is not finite")
        text = repr(value)
        if "e" not in text:
            text += "e0"  # an exponent makes a DOUBLE literal (2855.0 alone would be DECIMAL)
        return f"({text})" if text.startswith("-") else text

    def boolean(self, value: bool) -> str:
        return "TRUE" if value else "FALSE"

    def timestamp(self, value: dt.date) -> str:
        return f"TIMESTAMP '{value.isoformat()} 00:00:00'"

    def null(self, kind: str) -> str:
        return f"CAST(NULL AS {self.SQL_TYPES[kind]})"

    def nan(self) -> str:
        return "CAST('NaN' AS DOUBLE)"

    def regex_search(self, text: str, pattern: str) -> str:
        return f"regexp_matches({text}, {self.string(pattern)})"

    def rint(self, x: str) -> str:
        """Round half to even to a whole number (numpy ``rint``)."""
        return f"round_even({x}, 0)"

    def year(self, x: str) -> str:
        return f"CAST(year({x}) AS DOUBLE)"

    # texts (engine/texts_sql.py)
    def format_number(self, x: str, decimals: int) -> str:
        """Python's ``f"{x:,.<decimals>f}"`` (thousands separators; the double's exact value rounded half to even)."""
        return f"format('{{:,.{int(decimals)}f}}', {x})"

    def date_text(self, x: str) -> str:
        """``YYYY-MM-DD``."""
        return f"strftime({x}, '%Y-%m-%d')"

    def mask(self, text: str) -> str:
        """``idnumber.mask``: first 6 + ``*`` + last 4 characters; 10 characters or fewer all ``*`` (NULL stays NULL)."""
        n = f"length({text})"
        return (f"CASE WHEN {n} <= 10 THEN repeat('*', {n}) "
                f"ELSE substring({text}, 1, 6) || repeat('*', {n} - 10) || substring({text}, {n} - 3, 4) END")

    # lists (decision columns)
    def lambda_(self, params: str, body: str) -> str:
        return f"lambda {params}: {body}"

    def text_list(self, items: list[str]) -> str:
        """A list of the non-NULL values among ``items`` (SQL text expressions), in order."""
        if not items:
            return "CAST([] AS VARCHAR[])"
        return f"list_filter([{', '.join(items)}], {self.lambda_('x', 'x IS NOT NULL')})"

    def list_item(self, lst: str, i: int) -> str:
        return f"{lst}[{i}]"  # 1-based, NULL past the end

    def list_slice(self, lst: str, first: int, last: int) -> str:
        return f"{lst}[{first}:{last}]"  # 1-based, inclusive

    def list_len(self, lst: str) -> str:
        return f"len({lst})"

    def list_contains(self, lst: str, x: str) -> str:
        return f"list_contains({lst}, {x})"

    def list_join(self, lst: str, sep: str) -> str:
        return f"array_to_string({lst}, {self.string(sep)})"

    def split_all(self, lst: str, sep: str) -> str:
        """Every text of ``lst`` split at ``sep``, flattened."""
        return f"flatten(list_transform({lst}, {self.lambda_('x', f'string_split(x, {self.string(sep)})')}))"

    def first_occurrences(self, lst: str) -> str:
        """``lst`` without repeated values, first occurrence kept, order kept."""
        return f"list_filter({lst}, {self.lambda_('x, i', f'list_position({lst}, x) = i')})"


DUCKDB = Dialect()


class SparkDialect(Dialect):
    """Spark SQL (3.4+; tested on 4.x, ANSI mode on or off).  The same pack semantics as DuckDB:

    * identifiers in backticks; text literals escape ``\\`` and ``'`` with a backslash (Spark's
      string literals are escaped, unlike DuckDB's);
    * dates are ``TIMESTAMP_NTZ`` (wall-clock, no session time zone anywhere);
    * ``contains`` is ``RLIKE`` (Java regex, a search — the regex of ``typecheck.contains_regex``);
    * round half to even is ``bround(x, 0)``; Spark rounds through ``BigDecimal`` of the double's
      shortest text, which equals numpy's ``rint`` on every double (a double whose shortest text
      ends in ``.5`` is exactly that half); the one difference: ``bround(-0.5, 0)`` is ``0.0``
      where numpy gives ``-0.0`` (equal in every comparison and every written value);
    * division by zero never reaches Spark (``NULLIF(b, 0)``), so ANSI mode cannot raise there;
    * lists: ``filter``/``transform`` lambdas (``x -> …``), ``try_element_at`` (NULL past the end),
      ``slice``, ``size``, ``array_contains``, ``array_join``; ``split`` takes a regex, so the
      separator is quoted; the lambda index of ``filter`` is 0-based, ``array_position`` 1-based.
    """

    name = "spark"
    SQL_TYPES: ClassVar[dict[str, str]] = {"num": "DOUBLE", "bool": "BOOLEAN", "str": "STRING", "date": "TIMESTAMP_NTZ"}

    def ident(self, name: str) -> str:
        return "`" + name.replace("`", "``") + "`"

    def string(self, text: str) -> str:
        if "\x00" in text:
            raise SqlError("text with a NUL character")
        return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"

    def timestamp(self, value: dt.date) -> str:
        return f"TIMESTAMP_NTZ '{value.isoformat()} 00:00:00'"

    def regex_search(self, text: str, pattern: str) -> str:
        return f"({text} RLIKE {self.string(pattern)})"

    def rint(self, x: str) -> str:
        return f"bround({x}, 0)"

    def format_number(self, x: str, decimals: int) -> str:
        # java.text.DecimalFormat, HALF_EVEN on the double's exact value: Python's f"{x:,.2f}" (tests/test_engine_spark.py)
        return f"format_number({x}, {int(decimals)})"

    def date_text(self, x: str) -> str:
        return f"date_format({x}, 'yyyy-MM-dd')"

    def lambda_(self, params: str, body: str) -> str:
        return f"({params}) -> {body}" if "," in params else f"{params} -> {body}"  # Spark: x -> …, (x, i) -> …

    def text_list(self, items: list[str]) -> str:
        if not items:
            return "CAST(array() AS ARRAY<STRING>)"
        return f"filter(array({', '.join(items)}), {self.lambda_('x', 'x IS NOT NULL')})"

    def list_item(self, lst: str, i: int) -> str:
        return f"try_element_at({lst}, {i})"

    def list_slice(self, lst: str, first: int, last: int) -> str:
        return f"slice({lst}, {first}, {last - first + 1})"

    def list_len(self, lst: str) -> str:
        return f"size({lst})"

    def list_contains(self, lst: str, x: str) -> str:
        return f"array_contains({lst}, {x})"

    def list_join(self, lst: str, sep: str) -> str:
        return f"array_join({lst}, {self.string(sep)})"

    def split_all(self, lst: str, sep: str) -> str:
        pattern = "".join("\\" + c if not c.isalnum() and ord(c) < 128 else c for c in sep)  # a literal separator
        return f"flatten(transform({lst}, {self.lambda_('x', f'split(x, {self.string(pattern)}, -1)')}))"

    def first_occurrences(self, lst: str) -> str:
        return f"filter({lst}, {self.lambda_('x, i', f'array_position({lst}, x) = i + 1')})"


SPARK = SparkDialect()
DIALECTS = {"duckdb": DUCKDB, "spark": SPARK}


# ---------------------------------------------------------------------------------------
# expressions
# ---------------------------------------------------------------------------------------
_CMP = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


@dataclass
class _S:
    """SQL of a sub-expression: ``need`` = temp layers it reads; ``atomic`` = a column or a literal
    (safe to repeat); ``may_nan`` = an arithmetic result that may be NaN (from infinities)."""

    sql: str
    need: int = 0
    atomic: bool = False
    may_nan: bool = False


class TempPool:
    """Sub-expressions that a construct reads more than once, computed as columns of earlier layers.

    SQL has no ``let``: ``NULLIF(x, 0)``, a NULL-guarded ``least(a, b)`` or ``x BETWEEN …`` repeat
    ``x``, and repeating a nested operand doubles the query at every level (a 20-level expression
    would be a million nodes).  Such an operand becomes a column ``__t<n>`` computed in layer
    ``need + 1``; the construct reads the column.  Equal operands share one column."""

    def __init__(self, prefix: str, dialect: Dialect, known: dict[str, str] | None = None):
        self.prefix = prefix
        self.d = dialect
        self.items: list[tuple[str, str, int]] = []  # (name, sql, layer)
        self.by_sql: dict[str, tuple[str, int]] = {}
        # columns earlier stages computed (SQL → column name), read instead of computed again
        self.known: dict[str, str] = known if known is not None else {}

    def lookup(self, e: _S) -> _S | None:
        """``e`` as a column an earlier stage computed, if one did."""
        name = self.known.get(e.sql)
        return None if name is None else _S(self.d.ident(name), 0, atomic=True, may_nan=e.may_nan)

    def bind(self, e: _S) -> _S:
        if e.atomic:
            return e
        done = self.lookup(e)
        if done is not None:
            return done
        if e.sql not in self.by_sql:
            name = f"{self.prefix}{len(self.items)}"
            self.items.append((name, e.sql, e.need + 1))
            self.by_sql[e.sql] = (name, e.need + 1)
        name, layer = self.by_sql[e.sql]
        return _S(self.d.ident(name), layer, atomic=True, may_nan=e.may_nan)

    def layers(self, source: str, cte_prefix: str) -> tuple[list[str], str]:
        """CTEs computing the temps over ``source`` (one per layer) and the last one's name."""
        ctes = []
        for layer in range(1, max((lv for _, _, lv in self.items), default=0) + 1):
            cols = [f"{sql} AS {self.d.ident(name)}" for name, sql, lv in self.items if lv == layer]
            name = self.d.ident(f"{cte_prefix}{layer}")
            ctes.append(f"{name} AS (SELECT *, {', '.join(cols)} FROM {source})")
            source = name
        return ctes, source


class ExprCompiler:
    """SQL for typed IR over one relation.

    ``columns``: name → SQL of the column, for the names the relation has; a name of ``types``
    that is absent is missing for every row (a typed NULL).  ``params``: name → resolved value.
    Operands read more than once go to ``pool`` (see :class:`TempPool`); the caller computes the
    pool's layers before the relation the expressions are evaluated on.
    """

    def __init__(self, types: dict[str, Ty], params: dict[str, Any], columns: dict[str, str], dialect: Dialect = DUCKDB,
                 pool: TempPool | None = None):
        self.types = types
        self.params = params
        self.columns = columns
        self.d = dialect
        self.pool = pool if pool is not None else TempPool("__t", dialect)

    # -- kinds -------------------------------------------------------------------------
    def kind(self, n: ir.Node) -> str:
        """num | str | bool | date | list of a (type-checked) node."""
        if isinstance(n, ir.Num):
            return "num"
        if isinstance(n, ir.Str):
            return "str"
        if isinstance(n, ir.Date):
            return "date"
        if isinstance(n, (ir.Bool, ir.Compare, ir.In, ir.Between, ir.IsMissing, ir.Not, ir.And, ir.Or)):
            return "bool"
        if isinstance(n, ir.Name):
            return self.types[n.name].kind
        if isinstance(n, ir.Param):
            return _value_kind(self.params[n.name])
        if isinstance(n, ir.ListLit):
            return "list"
        if isinstance(n, (ir.Neg, ir.Arith)):
            return "num"
        if isinstance(n, ir.Call):
            if n.func in ("abs", "round", "year"):
                return "num"
            if n.func == "contains":
                return "bool"
            return self.kind(n.args[0])
        raise SqlError(f"unsupported expression {type(n).__name__}")

    # -- SQL ---------------------------------------------------------------------------
    def sql(self, n: ir.Node) -> str:
        """The SQL of a whole expression (a value, never NaN)."""
        return self.value(n).sql

    def value(self, n: ir.Node) -> _S:
        return self._plain(self._sql(n))

    def _plain(self, e: _S) -> _S:
        """NaN (only ever from infinities) is missing, as everywhere else in the language."""
        if not e.may_nan:
            return e
        e = self.pool.bind(e)
        return _S(f"NULLIF({e.sql}, {self.d.nan()})", e.need)

    def _once(self, n: ir.Node) -> _S:
        """A value that the construct reads more than once: a column or a literal."""
        return self.pool.bind(self.value(n))

    def _sql(self, n: ir.Node) -> _S:
        d = self.d
        if isinstance(n, ir.Num):
            return _S(d.number(n.value), atomic=True)
        if isinstance(n, ir.Str):
            return _S(d.string(n.value), atomic=True)
        if isinstance(n, ir.Bool):
            return _S(d.boolean(n.value), atomic=True)
        if isinstance(n, ir.Date):
            return _S(d.timestamp(n.value), atomic=True)
        if isinstance(n, ir.Name):
            if n.name in self.columns:
                return _S(self.columns[n.name], atomic=True)
            return _S(d.null(self.types[n.name].kind), atomic=True)
        if isinstance(n, ir.Param):
            return _S(self.literal(self.params[n.name]), atomic=True)
        if isinstance(n, ir.Neg):
            e = self._sql(n.operand)
            return _S(f"(- {e.sql})", e.need, may_nan=e.may_nan)
        if isinstance(n, ir.Arith):
            a, b = self._sql(n.left), self._sql(n.right)
            if n.op == "/":  # x / 0 is missing; NaN flows on (NaN / y is NaN) and is made missing where read
                b = self.pool.bind(b)
                b = _S(f"NULLIF({b.sql}, {d.number(0.0)})", b.need)
            return _S(f"({a.sql} {n.op} {b.sql})", max(a.need, b.need), may_nan=True)
        if isinstance(n, ir.Compare):
            a, b = self.value(n.left), self.value(n.right)
            return _S(f"({a.sql} {_CMP[n.op]} {b.sql})", max(a.need, b.need))
        if isinstance(n, ir.In):
            return self._in(n)
        if isinstance(n, ir.Between):
            x, lo, hi = self._once(n.operand), self.value(n.low), self.value(n.high)
            return _S(f"(({lo.sql} <= {x.sql}) AND ({x.sql} <= {hi.sql}))", max(x.need, lo.need, hi.need))
        if isinstance(n, ir.IsMissing):
            if self.kind(n.operand) == "list":  # a list parameter is never missing
                return _S(d.boolean(n.negate), atomic=True)
            e = self.value(n.operand)
            return _S(f"({e.sql} IS {'NOT ' if n.negate else ''}NULL)", e.need)
        if isinstance(n, ir.Not):
            e = self._sql(n.operand)
            return _S(f"(NOT {e.sql})", e.need)
        if isinstance(n, (ir.And, ir.Or)):
            word = " AND " if isinstance(n, ir.And) else " OR "
            items = [self._sql(i) for i in n.items]
            return _S("(" + word.join(i.sql for i in items) + ")", max(i.need for i in items))
        if isinstance(n, ir.Call):
            return self._call(n)
        raise SqlError(f"unsupported expression {type(n).__name__}")

    def literal(self, value: Any) -> str:
        if isinstance(value, bool):
            return self.d.boolean(value)
        if isinstance(value, (int, float)):
            return self.d.number(value)
        if isinstance(value, str):
            return self.d.string(value)
        if isinstance(value, dt.date):
            return self.d.timestamp(value)
        raise SqlError(f"a {type(value).__name__} value cannot be used here")

    def _in(self, n: ir.In) -> _S:
        x = self.value(n.operand)
        kind = self.kind(n.operand)
        if isinstance(n.options, ir.ListLit):
            items = [self.sql(i) for i in n.options.items]
        else:  # a list parameter: the items that can equal a value of this kind (Python equality)
            items = [self.literal(v) for v in _matching_items(self.params[cast(ir.Param, n.options).name], kind)]
        if not items:
            return _S(f"CASE WHEN {x.sql} IS NULL THEN NULL ELSE {self.d.boolean(n.negate)} END", x.need)
        return _S(f"({x.sql} {'NOT IN' if n.negate else 'IN'} ({', '.join(items)}))", x.need)

    def _call(self, n: ir.Call) -> _S:
        f, d = n.func, self.d
        if f in ("min", "max"):
            args = [self._once(a) for a in n.args]
            any_null = " OR ".join(f"{a.sql} IS NULL" for a in args)
            fn = "least" if f == "min" else "greatest"
            return _S(f"(CASE WHEN {any_null} THEN NULL ELSE {fn}({', '.join(a.sql for a in args)}) END)", max(a.need for a in args))
        if f == "abs":
            e = self._sql(n.args[0])
            return _S(f"abs({e.sql})", e.need, may_nan=e.may_nan)
        if f == "round":
            e = self._sql(n.args[0])
            digits = int(n.args[1].value) if len(n.args) == 2 else 0
            if digits == 0:
                return _S(d.rint(e.sql), e.need, may_nan=e.may_nan)
            scale = d.number(10.0**digits)
            return _S(f"({d.rint(f'({e.sql} * {scale})')} / {scale})", e.need, may_nan=True)
        if f == "year":
            e = self.value(n.args[0])
            return _S(d.year(e.sql), e.need)
        if f == "coalesce":
            args = [self.value(a) for a in n.args]
            return _S(f"COALESCE({', '.join(a.sql for a in args)})", max(a.need for a in args))
        if f == "contains":
            e = self.value(n.args[0])
            field = n.args[0].name if isinstance(n.args[0], ir.Name) else None
            return _S(d.regex_search(e.sql, contains_regex(n.args[1].value, field)), e.need)
        raise SqlError(f"unknown function {f!r}")


def _value_kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "num"
    if isinstance(value, (list, tuple)):
        return "list"
    if isinstance(value, dt.date):
        return "date"
    return "str"


def _matching_items(values: list[Any], kind: str) -> list[Any]:
    """Items of a list parameter that can equal a value of ``kind``, as the interpreter compares
    (Python ``==``: ``True == 1``, a number never equals text)."""
    if kind == "num":
        return [float(v) for v in values if isinstance(v, (int, float))]
    if kind == "str":
        return [v for v in values if isinstance(v, str)]
    if kind == "bool":
        return list(dict.fromkeys(bool(v) for v in values if isinstance(v, (bool, int, float)) and v in (0, 1)))
    return []  # dates: parameters hold no dates


# ---------------------------------------------------------------------------------------
# a pack → one query
# ---------------------------------------------------------------------------------------
@dataclass
class CompiledPack:
    """The SQL of a pack for one year/region and what its result columns are."""

    sql: str  # households: __row, derived..., rule:<id>..., value:<id>..., decisions...
    member_sql: str | None  # members: __mrow, rule:<id>... (check rules over members)
    household_inputs: list[str]  # canonical household columns the query reads
    member_inputs: list[str]  # member columns the query reads (incl. age when used)
    derived: list[str]
    rules: list[str]
    estimates: list[str]
    member_rules: list[str]
    decisions: list[str] = field(default_factory=list)
    not_evaluated: list[str] = field(default_factory=list)  # rules with absent inputs: a ``ne:<id>`` column each
    absent: list[str] = field(default_factory=list)  # fields the query reads that the relations lack (NULL for every row)
    affected: list[str] = field(default_factory=list)  # not-evaluated rules with an ``aff:<id>`` column (texts compiled)
    details: list[str] = field(default_factory=list)  # rules with a ``detail:<id>`` column (deciding-values texts)


def household_types(pack: Pack) -> dict[str, Ty]:
    types = {f.name: field_type(f) for f in schema.HOUSEHOLD_FIELDS}
    types.update(pack.field_types)
    return types


def member_types() -> dict[str, Ty]:
    types = {f.name: field_type(f) for f in schema.MEMBER_FIELDS}
    types["household_id"] = Ty("str")
    types.update({k: t for k, (_, t) in BUILTIN_MEMBER.items()})
    return types


def rule_column(rule_id: str) -> str:
    return f"rule:{rule_id}"


def value_column(rule_id: str) -> str:
    return f"value:{rule_id}"


def compile_pack(pack: Pack, year: int, params: dict[str, Any], household_columns: Any, member_columns: Any,
                 decisions: bool = True, dialect: Dialect = DUCKDB, availability: Availability | None = None,
                 keep: tuple[str, ...] = (), texts: dict[str, ParamValue] | None = None, details: tuple[str, ...] = ()) -> CompiledPack:
    """The query of ``pack`` for ``year`` given the resolved ``params`` and the columns present.

    ``household_columns`` / ``member_columns``: names present in the roster's frames (``age`` among
    the member columns when the caller computed it).  Absent fields are missing for every row.
    ``keep``: household input columns passed through to the result after ``__row`` (e.g.
    ``household_id`` on a path that writes the result without joining it back).  ``texts``: the resolved
    parameters (label, unit, year, region; ``params`` are their values): with ``decisions``, the explanation
    texts 识别依据 ``basis``, 未识别原因 ``not_identified_reason`` and, when a rule has absent inputs,
    未评估规则 ``not_evaluated`` (and ``aff:<rule>``, the households it could have changed) are compiled too
    (``engine/texts_sql.py``).  ``details`` (with ``texts``): household rules whose deciding-values text
    (``Evaluation.detail_texts``) the query returns for every household, as ``detail:<id>``."""
    q = dialect.ident
    htypes, mtypes = household_types(pack), member_types()
    derived_ids = {d.id for d in pack.derived}
    # ``availability`` (engine.inputs.analyse): the pack as it runs on a roster lacking some columns — derived
    # fields it cannot compute are missing, a condition with absent parts is evaluated with them true and false
    # (agreeing: decided; both unknown: unknown; else not evaluated: false, and a ``ne:<id>`` column says so)
    derived_ir = availability.derived_ir if availability is not None else pack.derived_ir
    absent_derived = set(availability.derived_absent) if availability is not None else set()
    conditions = availability.conditions if availability is not None else pack.conditions
    values_ir = availability.values if availability is not None else pack.values
    from fupin_cli.engine.inputs import has_absent, substitute
    household_columns, member_columns = set(household_columns), set(member_columns)
    active = [r for r in pack.rules if r.active(year) and r.level in ("households", "members") and not getattr(r, "builtin", None)]

    # which inputs the query reads
    hnames: set[str] = set()
    mnames: set[str] = set()
    for model in pack.derived:
        if model.id in absent_derived or model.id not in derived_ir:
            continue
        for dnode in derived_ir[model.id].values():
            (mnames if isinstance(model, DerivedAgg) else hnames).update(ir.names(dnode))
    for r in active:
        for node in (conditions.get(r.id), values_ir.get(r.id)):
            if node is not None:
                for n in ((substitute(node, True),) if has_absent(node) else (node,)):
                    (mnames if r.level == "members" else hnames).update(ir.names(n))
    cause_checks = [r for r in active if r.kind == "cause_check"]
    if cause_checks:
        hnames.add("recorded_primary_cause")
    household_inputs = sorted(n for n in hnames - derived_ids if n in household_columns and n in htypes)
    member_inputs = sorted(n for n in mnames if n in member_columns and n in mtypes and n != "household_id")
    absent = sorted((hnames - derived_ids - household_columns) | (mnames - member_columns - {"household_id"}))

    mcols = {n: q(n) for n in member_inputs}
    mexpr = ExprCompiler(mtypes, params, mcols, dialect, TempPool("__mt", dialect))
    ctes: list[str] = []

    # 1. member stage: aggregate inputs and member check rules (their shared operands as temp columns)
    aggs = [m for m in pack.derived if isinstance(m, DerivedAgg) and m.id in derived_ir and m.id not in absent_derived]
    agg_sql = {m.id: _aggregate_sql(m, derived_ir[m.id], mexpr) for m in aggs}
    member_rules = [r.id for r in active if r.level == "members"]
    member_items = []
    for rid in member_rules:
        node = conditions.get(rid)
        if node is not None and has_absent(node):
            raise SqlError(f"member rule {rid} reads absent columns")
        member_items.append(f"{mexpr.sql(node) if node is not None else dialect.boolean(True)} AS {q(rule_column(rid))}")
    member_ctes, member_source = mexpr.pool.layers(MEMBERS, "__m")
    ctes += member_ctes

    # 2. member aggregates: one GROUP BY over the members, joined to the households
    source = HOUSEHOLDS
    hcols = {n: q(n) for n in household_inputs}
    if aggs:
        items = [f"count(*) AS {q(NMEM)}"] + [f"{agg_sql[m.id]} AS {q(m.id)}" for m in aggs]
        ctes.append(f"{q('__agg')} AS (SELECT {q('household_id')} AS {q(KEY)}, {', '.join(items)} "
                    f"FROM {member_source} WHERE {q('household_id')} IS NOT NULL GROUP BY {q('household_id')})")
        joined = [f"CASE WHEN a.{q(NMEM)} IS NULL THEN {_empty_sql(m.agg, dialect)} ELSE a.{q(m.id)} END AS {q(m.id)}" for m in aggs]
        ctes.append(f"{q('__d0')} AS (SELECT h.*, {', '.join(joined)} FROM {HOUSEHOLDS} AS h "
                    f"LEFT JOIN {q('__agg')} AS a ON h.{q('household_id')} = a.{q(KEY)})")
        source = q("__d0")
        for m in aggs:
            hcols[m.id] = q(m.id)

    def stage(name: str, items: list[str]) -> None:
        """One CTE adding ``items`` (after the temp layers they need) over the current source."""
        nonlocal source
        temp_ctes, source = hexpr.pool.layers(source, f"{name}_t")
        ctes.extend(temp_ctes)
        ctes.append(f"{q(name)} AS (SELECT *{''.join(', ' + i for i in items)} FROM {source})")
        source = q(name)
        known.update({sql: tname for tname, sql, _ in hexpr.pool.items})
        hexpr.pool = TempPool(f"__t_{name}_", dialect, known)

    # 3. derived formulas, in layers (a layer uses only earlier layers' columns)
    level: dict[str, int] = {m.id: 0 for m in aggs}
    layers: dict[int, list[Any]] = {}
    missing_items = []
    for model in pack.derived:
        if model.id in absent_derived and model.id in pack.derived_ir:  # never computed: missing for every household
            missing_items.append(f"{dialect.null(pack.field_types[model.id].kind)} AS {q(model.id)}")
            hcols[model.id] = q(model.id)
    if missing_items:
        ctes.append(f"{q('__dmissing')} AS (SELECT *, {', '.join(missing_items)} FROM {source})")
        source = q("__dmissing")
    for model in pack.derived:
        if isinstance(model, DerivedAgg) or model.id not in derived_ir or model.id in absent_derived:
            continue
        node = derived_ir[model.id]["expr"]
        lv = 1 + max([level[n] for n in ir.names(node) if n in level] or [0])
        level[model.id] = lv
        layers.setdefault(lv, []).append(model)
    known: dict[str, str] = {}  # SQL → a column an earlier stage computed (temps, rule results)
    hexpr = ExprCompiler(htypes, params, hcols, dialect, TempPool("__t_d1_", dialect, known))
    for lv in sorted(layers):
        stage(f"__d{lv}", [f"{hexpr.sql(derived_ir[m.id]['expr'])} AS {q(m.id)}" for m in layers[lv]])
        for model in layers[lv]:
            hcols[model.id] = q(model.id)

    # 4. household rules, then estimate values (where the rule is true)
    rules, estimates, not_evaluated = [], [], []
    items, value_items = [], []
    rule_sql: dict[str, str] = {}
    for r in active:
        if r.level == "members":
            continue
        node = conditions.get(r.id)
        if node is not None and has_absent(node):
            vt, vf = hexpr.sql(substitute(node, True)), hexpr.sql(substitute(node, False))
            decided = f"({vt} IS NOT NULL AND {vf} IS NOT NULL AND {vt} = {vf})"
            unknown = f"({vt} IS NULL AND {vf} IS NULL)"
            items.append(f"CASE WHEN {decided} THEN {vt} WHEN {unknown} THEN NULL ELSE FALSE END AS {q(rule_column(r.id))}")
            items.append(f"NOT ({decided} OR {unknown}) AS {q('ne:' + r.id)}")
            not_evaluated.append(r.id)
        else:
            cond = hexpr.sql(node) if node is not None else dialect.boolean(True)
            items.append(f"{cond} AS {q(rule_column(r.id))}")
            rule_sql.setdefault(cond, rule_column(r.id))
        rules.append(r.id)
    stage("__rules", items)
    known.update(rule_sql)  # a text reads a rule's condition as its result column
    for r in active:
        if r.level != "members" and r.kind == "estimate":
            val = values_ir.get(r.id, pack.values[r.id])
            body = dialect.null("num") if has_absent(val) else hexpr.sql(val)
            value_items.append(f"CASE WHEN {q(rule_column(r.id))} THEN {body} END AS {q(value_column(r.id))}")
            estimates.append(r.id)
    if value_items:
        stage("__values", value_items)

    # 5. decisions (识别结果, 属性, 致贫原因, 帮扶措施, 致贫原因核查) as CASE by priority
    decision_cols: list[str] = []
    affected: list[str] = []
    if decisions and any(r.kind == "criterion" for r in active):
        hh_rules = [r for r in active if r.level == "households"]
        layers_ = _decision_layers(pack, year, hh_rules, hcols, dialect, params)
        if texts is not None:  # 6. explanation texts, over the rule and decision columns
            from fupin_cli.engine.texts_sql import identification_text_layers

            hexpr.pool = TempPool("__t_x_", dialect, known)
            text_layers = identification_text_layers(pack, year, hh_rules, conditions, hexpr, texts, params, availability,
                                                     set(not_evaluated))
        for name, layer in layers_:
            ctes.append(f"{q(name)} AS (SELECT *, {', '.join(f'{s} AS {q(c)}' for c, s in layer)} FROM {source})")
            source = q(name)
            decision_cols += [c for c, _ in layer if not c.startswith("__")]
        if texts is not None:  # long conditions a text reads several times: temp columns, then the texts
            temp_ctes, source = hexpr.pool.layers(source, "__x_t")
            ctes.extend(temp_ctes)
            for name, layer in text_layers:
                ctes.append(f"{q(name)} AS (SELECT *, {', '.join(f'{s} AS {q(c)}' for c, s in layer)} FROM {source})")
                source = q(name)
                decision_cols += [c for c, _ in layer if not c.startswith("__") and not c.startswith("aff:")]
                affected += [c[len("aff:"):] for c, _ in layer if c.startswith("aff:")]

    detail_cols: list[str] = []
    detail_ids: list[str] = []
    if texts is not None and details:  # the deciding values of rules for every household (tests, explain)
        from fupin_cli.engine.texts_sql import detail_columns

        hexpr.pool = TempPool("__t_y_", dialect, known)
        wanted = [r for r in active if r.id in details and r.level == "households"]
        items = [f"{sql} AS {q(name)}" for name, sql in detail_columns(pack, wanted, conditions, hexpr, texts, availability, set(not_evaluated))]
        stage("__details", items)
        detail_cols = ["detail:" + r.id for r in wanted]
        detail_ids = [r.id for r in wanted]

    out = [q(ROW)] + [q(k) for k in keep] + [q(d.id) for d in pack.derived if d.id in pack.derived_ir] + [q(rule_column(r)) for r in rules]
    out += [q(value_column(r)) for r in estimates] + [q(c) for c in decision_cols] + [q("ne:" + r) for r in not_evaluated]
    out += [q("aff:" + r) for r in affected] + [q(c) for c in detail_cols]
    # no ORDER BY: sorting ~100 wide columns costs more than putting the rows back by __row (the runner does)
    sql = "WITH " + ",\n".join(ctes) + f"\nSELECT {', '.join(out)} FROM {source}"

    member_sql = None
    if member_rules:
        with_ = ("WITH " + ",\n".join(member_ctes) + "\n") if member_ctes else ""
        passed = "".join(f"{q(k)}, " for k in keep if k == "household_id")  # members carry household_id too
        member_sql = f"{with_}SELECT {q(MROW)}, {passed}{', '.join(member_items)} FROM {member_source}"
    return CompiledPack(sql, member_sql, household_inputs, member_inputs, [d.id for d in pack.derived if d.id in pack.derived_ir],
                        rules, estimates, member_rules, decision_cols, not_evaluated, absent, affected, detail_ids)


def _aggregate_sql(model: DerivedAgg, nodes: dict[str, ir.Node], mexpr: ExprCompiler) -> str:
    """One member aggregate inside ``GROUP BY household_id`` (docs/rule-packs.md "Derived fields").

    The condition and the value are read several times, so they are temp columns of the members."""
    w = mexpr.pool.bind(mexpr.value(nodes["where"])).sql if "where" in nodes else None
    unknown = f"bool_or({w} IS NULL)" if w else None
    agg = model.agg
    if agg == "count":
        cnt = f"CAST(count_if({w}) AS DOUBLE)" if w else "CAST(count(*) AS DOUBLE)"
        return f"CASE WHEN {unknown} THEN NULL ELSE {cnt} END" if w else cnt
    if agg == "any":
        if not w:
            return "TRUE"
        return f"CASE WHEN bool_or({w}) THEN TRUE WHEN {unknown} THEN NULL ELSE FALSE END"
    if agg == "all":
        if not w:
            return "TRUE"
        return f"CASE WHEN bool_or(NOT {w}) THEN FALSE WHEN {unknown} THEN NULL ELSE TRUE END"
    v = mexpr.pool.bind(mexpr.value(nodes["of"])).sql
    picked = f"CASE WHEN {w} THEN {v} END" if w else v  # the value of the members the condition picks
    bad = f"bool_or(({w} IS NULL) OR ({w} AND {v} IS NULL))" if w else f"bool_or({v} IS NULL)"
    if agg == "sum":
        total = f"NULLIF(COALESCE(sum({picked}), {mexpr.d.number(0.0)}), {mexpr.d.nan()})"
        return f"CASE WHEN {bad} THEN NULL ELSE {total} END"
    return f"CASE WHEN {bad} THEN NULL ELSE {agg}({picked}) END"


def _empty_sql(agg: str, dialect: Dialect) -> str:
    """An aggregate over no members: count 0, any false, all true, sum 0, min/max missing."""
    return {"count": dialect.number(0.0), "any": "FALSE", "all": "TRUE", "sum": dialect.number(0.0)}.get(agg, "NULL")


def _by_priority(rules: list[Any]) -> list[Any]:
    """Lowest priority number first; pack order among equals (as engine.decide)."""
    return [r for _, _, r in sorted((getattr(r, "priority", 100), i, r) for i, r in enumerate(rules))]


def cause_order(rules: list[Any]) -> list[tuple[str, list[Any]]]:
    """Causes by their best (lowest) priority, pack order among equals, with their rules."""
    causes: dict[str, tuple[int, list[Any]]] = {}
    for i, r in enumerate(rules):
        best, rs = causes.get(r.cause, (10**9, []))
        causes[r.cause] = (min(best, r.priority * 10**6 + i), rs + [r])
    return [(c, causes[c][1]) for c in sorted(causes, key=lambda c: causes[c][0])]


def _rule_mode(rule: Any, params: dict[str, Any], year: int) -> str:
    """The mode word of an exclusion (``mode``) or a status rule (``value``), ``param.NAME`` resolved
    (as ``engine.decide.rule_mode``)."""
    from fupin_cli.errors import RuleError

    text = rule.mode if rule.kind == "exclusion" else rule.value
    name = param_ref(text)
    if name is None:
        return cast(str, text)
    value = params[name]
    allowed = EXCLUSION_MODES if rule.kind == "exclusion" else (*MODE_STATUS, *schema.STATUSES)
    if value not in allowed:
        raise RuleError(f"parameter {name} = {value!r} ({year}) is not a mode of rule {rule.id}", hint="allowed: " + " | ".join(allowed))
    return cast(str, value)


def involved_sql(pack: Pack, causes: list[tuple[str, list[Any]]], d: Dialect) -> Any:
    """``involved(cause)``: SQL of "``cause`` is the household's primary or one of its secondary causes"
    over the ``status`` and ``__fired`` columns of the decision layers (None: never)."""
    fired, k = d.ident("__fired"), pack.meta.max_secondary_causes
    applies = f"({d.ident('status')} <> {d.string(schema.STATUS_NOT_POOR)})"
    names = [c for c, _ in causes]

    def involved(cause: str) -> str | None:
        if cause in names:
            return d.list_contains(d.list_slice(fired, 1, k + 1), d.string(cause))
        if cause == OTHER_CAUSE:
            return f"({applies} AND {d.list_len(fired)} = 0)"
        return None

    return involved


def _decision_layers(pack: Pack, year: int, rules: list[Any], hcols: dict[str, str], d: Dialect, params: dict[str, Any]) -> list[tuple[str, list[tuple[str, str]]]]:
    """CTE layers computing the identification decisions from the rule columns.

    The same semantics as ``engine.decide.identification`` (its texts excepted): 非贫困户 when an
    exclusion is true or a criterion false, 贫困户 when every criterion is true and no exclusion,
    else 待核实; then the first true ``status`` rule by priority; attribute for 贫困户; causes and
    measures for 贫困户 and 待核实."""
    q = d.ident
    col = {r.id: q(rule_column(r.id)) for r in rules}
    def of(kind: str) -> list[Any]:
        return [r for r in rules if r.kind == kind]

    crit_all = [col[r.id] for r in of("criterion") if r.mode == "all"]
    crit_any = [col[r.id] for r in of("criterion") if r.mode == "any"]
    all_ok = "(" + " AND ".join(crit_all) + ")" if crit_all else "TRUE"
    any_ok = "(" + " OR ".join(crit_any) + ")" if crit_any else "TRUE"
    eligible = f"({all_ok} AND {any_ok})"
    vetoes: list[str] = []
    reviews: list[str] = []
    for r in of("exclusion"):  # 一票否决 (veto), 待核实 + 民主评议 (review), or off (ignore): engine.decide
        mode = _rule_mode(r, params, year)
        (vetoes if mode == "veto" else reviews if mode == "review" else []).append(col[r.id])
    excluded = "(" + " OR ".join(vetoes) + ")" if vetoes else "FALSE"
    poor, pending, not_poor = (d.string(s) for s in (schema.STATUS_POOR, schema.STATUS_PENDING, schema.STATUS_NOT_POOR))
    base = (f"CASE WHEN {excluded} IS TRUE THEN {not_poor} WHEN {eligible} IS FALSE THEN {not_poor} "
            f"WHEN {eligible} IS TRUE AND {excluded} IS FALSE THEN {poor} ELSE {pending} END")
    # a review exclusion that is true: 待核实 for a poor or pending household that no veto excluded
    review_hit = "(" + " OR ".join(f"{c} IS TRUE" for c in reviews) + ")" if reviews else "FALSE"
    if reviews:
        base = f"CASE WHEN {review_hit} AND {excluded} IS NOT TRUE AND ({base}) <> {not_poor} THEN {pending} ELSE {base} END"
    # status rules by priority; `unless_excluded` ones do not apply where an exclusion (veto or review) hit
    guarded = f"({excluded} IS TRUE OR {review_hit})"
    whens = []
    for r in _by_priority(of("status")):
        word = _rule_mode(r, params, year)
        value = MODE_STATUS.get(word, word)
        if value is None:
            continue
        cond = f"{col[r.id]} IS TRUE" + (f" AND NOT {guarded}" if getattr(r, "unless_excluded", False) else "")
        whens.append(f"WHEN {cond} THEN {d.string(value)}")
    status = base if not whens else "CASE " + " ".join(whens) + f" ELSE {base} END"
    layer1 = [("status", status)]

    applies = f"({q('status')} <> {not_poor})"
    # attribute: first true rule by priority, else the default rule's value, for 贫困户 only
    attrs = of("attribute")
    ordered = _by_priority([r for r in attrs if not r.default])
    default = next((r.value for r in attrs if r.default), None)
    attribute = (f"CASE WHEN {q('status')} <> {poor} THEN NULL "
                 + "".join(f"WHEN {col[r.id]} THEN {d.string(r.value)} " for r in ordered)
                 + f"ELSE {d.string(default) if default is not None else d.null('str')} END")
    # causes that fired, in cause order (only where causes apply)
    causes = cause_order(of("cause"))
    fired_items = [f"CASE WHEN {applies} AND ({' OR '.join(col[r.id] + ' IS TRUE' for r in rs)}) THEN {d.string(c)} END"
                   for c, rs in causes]
    layer2 = [("attribute", attribute), ("__fired", d.text_list(fired_items))]

    fired = q("__fired")
    k = pack.meta.max_secondary_causes
    primary = f"CASE WHEN {applies} THEN COALESCE({d.list_item(fired, 1)}, {d.string(OTHER_CAUSE)}) END"
    secondary = f"CASE WHEN {applies} THEN {d.list_join(d.list_slice(fired, 2, k + 1), '、')} ELSE '' END"
    involved = involved_sql(pack, causes, d)
    pieces = []
    for r in of("measure"):
        inv = involved(r.cause)
        if inv is not None:
            pieces.append(f"CASE WHEN {applies} AND {inv} AND {col[r.id]} IS TRUE THEN {d.string(SEP.join(r.measures))} END")
    recorded = hcols.get("recorded_primary_cause", d.null("str"))
    checks = [f"CASE WHEN {recorded} = {d.string(r.cause)} AND {col[r.id]} IS TRUE THEN {d.string(r.message)} END"
              for r in of("cause_check")]
    cause_check = d.list_join(d.text_list(checks), SEP)
    layer3 = [("primary_cause", primary), ("secondary_causes", secondary), ("__measure_list", d.text_list(pieces)), ("cause_check", cause_check)]
    # measures: one rule's text as it is; several joined with "；", each measure once (first kept)
    plist = q("__measure_list")
    layer4 = [("__measure_items", f"CASE WHEN {d.list_len(plist)} > 1 THEN {d.split_all(plist, SEP)} END")]
    measures = (f"CASE WHEN {d.list_len(plist)} = 0 THEN '' WHEN {d.list_len(plist)} = 1 THEN {d.list_item(plist, 1)} "
                f"ELSE {d.list_join(d.first_occurrences(q('__measure_items')), SEP)} END")
    layer5 = [("measures", measures)]
    return [("__status", layer1), ("__attribute", layer2), ("__causes", layer3), ("__measures", layer4), ("__measures2", layer5)]


# ---------------------------------------------------------------------------------------
# running it in DuckDB
# ---------------------------------------------------------------------------------------
def evaluate_duckdb(roster: Roster, pack: Pack, year: int, region: str | None = None, decisions: bool = True,
                    connection: Any = None, *, checked: bool = False, details: tuple[str, ...] = ()) -> Evaluation:
    """``evaluate(roster, pack, year, region)`` computed by DuckDB; the same :class:`Evaluation`
    as the pandas backend, with ``sql_decisions`` (status, attribute, causes, measures, cause
    check; no texts) when the pack has criteria for ``year``.

    The SQL has no not-evaluated rules (engine/inputs.py): a roster that lacks a column the pack reads
    is refused (ValueError naming the rules and fields) rather than read as NULL; ``evaluate(...,
    backend="duckdb")`` checks that first (``checked=True``) and runs the pandas path for such a roster.
    ``details``: household rules whose deciding-values texts the query builds for every household
    (``Evaluation.sql_details``, rule id → text; the pandas builder's ``details_for``)."""
    import duckdb

    prep = prepare(roster, pack, year, region, decisions, DUCKDB, checked=checked, details=details)
    con = connection if connection is not None else duckdb.connect()
    try:
        con.register(HOUSEHOLDS, prep.household_table)
        con.register(MEMBERS, prep.member_table)
        out = _in_row_order(con.sql(prep.compiled.sql).to_arrow_table(), ROW)
        mout = _in_row_order(con.sql(prep.compiled.member_sql).to_arrow_table(), MROW) if prep.compiled.member_sql else None
    finally:
        con.unregister(HOUSEHOLDS)
        con.unregister(MEMBERS)
        if connection is None:
            con.close()
    return _evaluation(out, mout, prep.compiled, pack, year, prep.region, prep.households, prep.members, prep.params,
                       prep.values, prep.ages, backend=DUCKDB.name)


@dataclass
class Prepared:
    """A roster's needed columns as Arrow tables (``__row`` / ``__mrow`` = input positions) and the
    pack's query for them: what an SQL engine (DuckDB, Spark) runs."""

    compiled: CompiledPack
    household_table: Any  # pyarrow.Table
    member_table: Any
    households: Any  # the roster's frames (pandas)
    members: Any
    params: dict[str, Any]  # name → ParamValue
    values: dict[str, Any]  # name → value
    ages: Any  # numpy array of member ages, or None when the pack does not use age
    region: str


def prepare(roster: Any, pack: Pack, year: int, region: str | None, decisions: bool, dialect: Dialect, *,
            checked: bool = False, details: tuple[str, ...] = ()) -> Prepared:
    """Resolve the parameters, compile the pack in ``dialect`` and convert the roster's columns it
    reads to Arrow (vectorised; missing values are nulls).  Unless ``checked``, a roster lacking a
    column the pack reads is refused (ValueError; the SQL has no not-evaluated rules)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from fupin_cli.engine.derive import member_ages
    from fupin_cli.engine.evaluate import used_params
    from fupin_cli.engine.params import region_chain, resolve_many

    region = region or pack.meta.region
    region_chain(pack, region)
    households = roster.households
    members = roster.members if getattr(roster, "members", None) is not None else pd.DataFrame(columns=["household_id"])
    params = resolve_many(pack, used_params(pack, year), year, region)
    values = {k: v.value for k, v in params.items()}
    if not checked:
        from fupin_cli.engine.inputs import InputPolicy, analyse

        avail = analyse(pack, year, households, members, InputPolicy(), values)
        if not sql_can_run(pack, avail):
            have = set(households.columns) | set(members.columns) | {d.id for d in pack.derived} | {"age"}
            changed = {rid: sorted(ir.names(node) - have) for rid, node in pack.conditions.items()
                       if node is not None and avail.conditions.get(rid) != node}
            lacking = sorted(f"{rid} ({', '.join(f)})" for rid, f in changed.items())
            absent = sorted(set(avail.absent).union(*map(set, changed.values())))
            def more(items: list[str]) -> str:
                return "" if len(items) <= 5 else f" and {len(items) - 5} more"

            raise ValueError(
                f"evaluate_{dialect.name}: the roster lacks {', '.join(absent[:5]) or 'inputs'}{more(absent)} that the pack reads; "
                f"rules it cannot evaluate: {'; '.join(lacking[:5]) or 'derived fields'}{more(lacking)} — use "
                f"evaluate(..., backend=\"{dialect.name}\"), which reports them as not evaluated (pandas path)")
    htypes, mtypes = household_types(pack), member_types()
    member_cols = set(members.columns)
    ages = None
    if pack_uses_age(pack, year):
        ages = member_ages(members, year) if len(members) else np.zeros(0)
        member_cols.add("age")
    compiled = compile_pack(pack, year, values, households.columns, member_cols, decisions=decisions, dialect=dialect,
                            texts=params if decisions or details else None, details=details)

    hh_table = pa.table({ROW: pa.array(np.arange(len(households), dtype=np.int64)),
                         "household_id": _arrow_column(households, "household_id", Ty("str")),
                         **{n: _arrow_column(households, n, htypes[n]) for n in compiled.household_inputs if n != "household_id"}})
    mem_data = {MROW: pa.array(np.arange(len(members), dtype=np.int64)), "household_id": _arrow_column(members, "household_id", Ty("str"))}
    for n in compiled.member_inputs:
        mem_data[n] = pa.array(ages, type=pa.float64(), from_pandas=True) if n == "age" else _arrow_column(members, n, mtypes[n])
    return Prepared(compiled, hh_table, pa.table(mem_data), households, members, params, values, ages, region)


def pack_uses_age(pack: Pack, year: int) -> bool:
    """Whether a derived field or an active member rule of ``year`` reads the built-in ``age``."""
    return any("age" in ir.names(node) for nodes in pack.derived_ir.values() for node in nodes.values()) or any(
        r.level == "members" and r.active(year) and r.id in pack.conditions and "age" in ir.names(pack.conditions[r.id]) for r in pack.rules)


def _evaluation(out: Any, mout: Any, compiled: CompiledPack, pack: Pack, year: int, region: str, households: Any, members: Any,
                params: Any, values: Any, ages: Any, backend: str = "duckdb") -> Evaluation:
    """The query's result (Arrow, in input order) as the pandas backend's :class:`Evaluation`."""
    import pandas as pd

    from fupin_cli.engine.compile_pandas import FrameEvaluator, to_series
    from fupin_cli.engine.evaluate import Evaluation
    from fupin_cli.engine.typecheck import BOOL, FLOAT

    htypes, mtypes = household_types(pack), member_types()
    index = households.index
    derived_cols = {d: to_series(_internal(out.column(d), pack.field_types[d]), pack.field_types[d], index) for d in compiled.derived}
    if derived_cols:
        keep = households.drop(columns=[c for c in derived_cols if c in households.columns])
        out_households = pd.concat([keep, pd.DataFrame(derived_cols, index=index)], axis=1)
    else:
        out_households = households
    results = pd.DataFrame({r: to_series(_internal(out.column(rule_column(r)), BOOL), BOOL, index) for r in compiled.rules}, index=index)
    estimates = pd.DataFrame({r: to_series(_internal(out.column(value_column(r)), FLOAT), FLOAT, index) for r in compiled.estimates}, index=index)
    member_results = pd.DataFrame(
        {r: to_series(_internal(mout.column(rule_column(r)), BOOL), BOOL, members.index) for r in compiled.member_rules} if mout is not None else {},
        index=members.index)
    sql_decisions = None
    if compiled.decisions:
        sql_decisions = pd.DataFrame({c: _text_series(out.column(c), index) for c in compiled.decisions}, index=index)
        sql_decisions["status"] = pd.Categorical(sql_decisions["status"], categories=list(schema.STATUSES))
    # the explanation texts (details) are still built by the pandas evaluator, over the derived values
    hh = FrameEvaluator(out_households, htypes, values)
    mem = FrameEvaluator(members, mtypes, values)
    if ages is not None:
        mem.set_column("age", ages)
    sql_details = None
    if compiled.details:
        sql_details = pd.DataFrame({r: _text_series(out.column("detail:" + r), index) for r in compiled.details}, index=index)
    return Evaluation(pack=pack, year=year, region=region, households=out_households, members=members, results=results,
                      values=estimates, member_results=member_results, params=params, _hh=hh, _mem=mem,
                      backend=backend, sql_decisions=sql_decisions, sql_details=sql_details)


def sql_can_run(pack: Pack, avail: Availability) -> bool:
    """The compiled SQL is the pack as written: true when nothing the pack reads is absent from the roster
    (no rule not evaluated, no absent alternative dropped from a derived field)."""
    return (not avail.absent and avail.derived_ir == pack.derived_ir
            and all(avail.conditions.get(k) == v for k, v in pack.conditions.items()))


def _in_row_order(table: Any, key: str) -> Any:
    """The rows of a query result put back in the order of the input (``key`` = input position)."""
    import numpy as np
    import pyarrow as pa

    pos = np.asarray(table.column(key).to_numpy(), dtype=np.int64)
    if len(pos) and bool(np.all(pos[1:] > pos[:-1])):
        return table
    order = np.empty(len(pos), dtype=np.int64)
    order[pos] = np.arange(len(pos))
    return table.take(pa.array(order))


def _arrow_column(frame: Any, name: str, ty: Ty) -> Any:
    """One roster column as an Arrow array of the SQL type of ``ty`` (vectorised; nulls for missing)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa

    from fupin_cli.engine.compile_pandas import convert, missing_of

    n = len(frame)
    value = convert(frame[name], ty) if name in frame.columns else missing_of(ty, n)
    if ty.kind == "num":
        return pa.array(np.asarray(value, dtype="float64"), type=pa.float64(), from_pandas=True)
    if ty.kind == "date":
        return pa.array(np.asarray(value, dtype="datetime64[ns]"), type=pa.timestamp("ns"), from_pandas=True)
    if ty.kind == "bool":
        return pa.array(value.to_numpy(dtype=bool, na_value=False), type=pa.bool_(), mask=np.asarray(value.isna(), dtype=bool))
    arr = getattr(value.array, "_pa_array", None)
    if arr is not None:
        return arr.cast(pa.string()) if arr.type != pa.large_string() else arr
    return pa.array(value.to_numpy(dtype=object, na_value=None), type=pa.string()) if isinstance(value, pd.Series) else pa.nulls(n, pa.string())


def _internal(column: Any, ty: Ty) -> Any:
    """An Arrow result column → the pandas backend's internal representation (for ``to_series``)."""
    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    from fupin_cli.engine.compile_pandas import bool_array

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if ty.kind == "num":
        return np.asarray(pc.fill_null(column.cast(pa.float64()), np.nan).to_numpy(zero_copy_only=False), dtype="float64")
    if ty.kind == "bool":
        mask = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
        vals = np.asarray(pc.fill_null(column, False).to_numpy(zero_copy_only=False), dtype=bool)
        return bool_array(vals, mask)
    if ty.kind == "date":
        return np.asarray(column.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
    return pd.Series(pd.array(column.cast(pa.large_string()), dtype="str"))


def _text_series(column: Any, index: Any) -> Any:
    import pandas as pd
    import pyarrow as pa

    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    return pd.Series(pd.array(column.cast(pa.large_string()), dtype="str"), index=index)


def evaluate_relations(con: Any, pack: Pack, year: int, region: str | None, households: str, members: str, household_columns: Any,
                       member_columns: Any, fetch_households: Any, fetch_members: Any = None, ages: Any = None,
                       availability: Availability | None = None, policy: Any = None, decisions: bool = False) -> Evaluation:
    """``evaluate`` over a roster that already lives in DuckDB (``fupin identify --engine duckdb``).

    ``households`` / ``members``: relations with ``__row`` / ``__mrow`` (input positions), ``household_id``
    and the canonical columns named in ``household_columns`` / ``member_columns`` (typed as the reader
    types them).  ``fetch_households(columns)`` returns those household columns as a pandas frame in
    ``__row`` order (the deciding values the pandas texts show; not called with ``decisions``); ``ages``: the members' ages
    (Arrow/numpy, in ``__mrow`` order) when the pack uses ``age``.  Only the columns the pack reads
    are touched; the result is the same :class:`Evaluation` as :func:`evaluate_duckdb`.

    ``decisions``: the identification decisions and their explanation texts are computed by the query too
    (``Evaluation.sql_decisions``, ``engine/texts_sql.py``); the households' input columns are then not fetched
    (``Evaluation.households`` holds the derived values only; the pandas evaluator fetches an input column
    on demand, for texts the query does not build, e.g. ``decide.household_exit``'s), and ``Evaluation.affected`` is set from the
    query (the households each not-evaluated rule could have changed)."""
    import pandas as pd
    import pyarrow as pa

    from fupin_cli.engine.evaluate import used_params
    from fupin_cli.engine.params import region_chain, resolve_many

    region = region or pack.meta.region
    region_chain(pack, region)
    params = resolve_many(pack, used_params(pack, year), year, region)
    values = {k: v.value for k, v in params.items()}
    htypes, mtypes = household_types(pack), member_types()
    mcols = set(member_columns)
    if ages is not None:
        mcols.add("age")
    compiled = compile_pack(pack, year, values, household_columns, mcols, decisions=decisions, availability=availability,
                            texts=params if decisions else None)
    q = DUCKDB.ident
    present_h = set(household_columns)
    hsel = [q(ROW), q("household_id")] + [_typed_input(q(n), htypes[n]) + f" AS {q(n)}"
                                           for n in compiled.household_inputs if n != "household_id" and n in present_h]
    con.execute(f"CREATE OR REPLACE TEMP VIEW {HOUSEHOLDS} AS SELECT {', '.join(hsel)} FROM {households}")
    msel = [f"m.{q(MROW)}", f"m.{q('household_id')}"] + [_typed_input(f"m.{q(n)}", mtypes[n]) + f" AS {q(n)}"
                                                         for n in compiled.member_inputs if n != "age"]
    join = ""
    if "age" in compiled.member_inputs:
        con.register("__ages", pa.table({"__a_mrow": pa.array(range(len(ages)), type=pa.int64()), "age": pa.array(ages, type=pa.float64(), from_pandas=True)}))
        msel.append('a."age"')
        join = f"JOIN __ages AS a ON a.__a_mrow = m.{q(MROW)}"
    con.execute(f"CREATE OR REPLACE TEMP VIEW {MEMBERS} AS SELECT {', '.join(msel)} FROM {members} AS m {join}")
    out = _in_row_order(con.sql(compiled.sql).to_arrow_table(), ROW)
    mout = _in_row_order(con.sql(compiled.member_sql).to_arrow_table(), MROW) if compiled.member_sql else None
    if decisions:  # the texts are in the query's result: no input column leaves the engine for them
        hh = pd.DataFrame(index=pd.RangeIndex(len(out)))
    else:
        hh = fetch_households(["household_id", *[n for n in compiled.household_inputs if n != "household_id" and n in present_h]])
    mem = fetch_members(compiled.member_inputs) if (fetch_members is not None and compiled.member_sql) else \
        pd.DataFrame(index=pd.RangeIndex(len(mout) if mout is not None else 0))
    ev = _evaluation(out, mout, compiled, pack, year, region, hh, mem, params, values,
                     None if (ages is None or fetch_members is None or not compiled.member_sql) else __import__("numpy").asarray(ages, dtype="float64"))
    import numpy as np

    for rid in compiled.not_evaluated:  # households for which a rule with absent inputs could not be decided
        ne = np.asarray(out.column("ne:" + rid).combine_chunks().fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
        if ne.any():
            ev.not_evaluated[rid] = ne
    for rid in compiled.affected:  # households whose identification such a rule could have changed (decide.identification_affected)
        if rid in ev.not_evaluated:
            ev.affected[rid] = np.asarray(out.column("aff:" + rid).combine_chunks().fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    if decisions and fetch_households is not None:  # other texts (e.g. household_exit's) read their inputs on demand
        ev._hh.fetch = lambda name: fetch_households([name])[name] if name in present_h else None
    if availability is not None:
        ev.availability = availability
    if policy is not None:
        ev.policy = policy
    return ev


def _typed_input(expr: str, ty: Ty) -> str:
    """A reader-typed column as the SQL type of the pack's type (BIGINT → DOUBLE, DATE → TIMESTAMP)."""
    return f"CAST({expr} AS {DUCKDB.SQL_TYPES[ty.kind]})" if ty.kind in DUCKDB.SQL_TYPES else expr
