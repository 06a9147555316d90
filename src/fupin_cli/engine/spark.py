"""A rule pack evaluated by Spark SQL (``pip install "fupin[spark]"``; issue 10 item 4).

The query is the one :func:`fupin_cli.engine.compile_sql.compile_pack` builds for DuckDB, in the
Spark dialect (:class:`~fupin_cli.engine.compile_sql.SparkDialect`): the same member ``GROUP BY``,
the same ``CASE`` by priority, the same three-valued logic.  Two entry points:

* :func:`evaluate_spark` — ``evaluate(roster, pack, year, backend="spark")``: a :class:`Roster`
  (pandas frames) goes to Spark as Arrow, the result comes back as the same
  :class:`~fupin_cli.engine.evaluate.Evaluation` the other backends return (tests, small rosters).
* :func:`evaluate_frames` — the scale-out path: Spark DataFrames of canonical, typed columns (read
  from Parquet on any filesystem Spark reads, see ``io/spark_io.py``) in, Spark DataFrames out
  (lazy: nothing is collected to the driver; write them with ``DataFrameWriter``).

Dates cross the Python/JVM boundary as microseconds since 1970 (``int64``) and become
``TIMESTAMP_NTZ`` in SQL, so no session time zone touches a value.  Spark resolves column names
case-insensitively by default; the query is run with ``spark.sql.caseSensitive=true`` (rule ids
``R1`` and ``r1`` are two columns, as in DuckDB).

pyspark is imported inside the functions only: the engine imports without it.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Self

from fupin_cli.engine.compile_sql import (
    HOUSEHOLDS,
    MEMBERS,
    MROW,
    ROW,
    SPARK,
    CompiledPack,
    _evaluation,
    _in_row_order,
    compile_pack,
    household_types,
    member_types,
    pack_uses_age,
    prepare,
)

if TYPE_CHECKING:
    from fupin_cli.engine.evaluate import Evaluation
    from fupin_cli.engine.loader import Pack

EPOCH = "TIMESTAMP_NTZ '1970-01-01 00:00:00'"
DEFAULT_MASTER = "local[*]"
_LOCK = threading.Lock()  # the temp views __households / __members are per session: one query is bound at a time


def session(master: str | None = None, app_name: str = "fupin", conf: dict[str, str] | None = None) -> Any:
    """A SparkSession (``getOrCreate``): ``master`` or ``SPARK_MASTER`` or ``local[*]``; UI off."""
    import os

    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName(app_name).master(master or os.environ.get("SPARK_MASTER") or DEFAULT_MASTER)
    settings = {"spark.ui.enabled": "false", "spark.sql.session.timeZone": "UTC", **(conf or {})}
    for key, value in settings.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


# ---------------------------------------------------------------------------------------
# a roster (pandas) through Spark: the Evaluation of the other backends
# ---------------------------------------------------------------------------------------
def evaluate_spark(roster: Any, pack: Pack, year: int, region: str | None = None, *, spark: Any = None, decisions: bool = True,
                   checked: bool = False) -> Evaluation:
    """``evaluate(roster, pack, year, region)`` computed by Spark SQL (``spark``: a session, default
    :func:`session`).  The same :class:`Evaluation` as ``backend="duckdb"``; as there, a roster
    lacking a column the pack reads is refused unless ``checked`` (``evaluate`` checks first and
    runs the pandas path, which reports not-evaluated rules)."""
    prep = prepare(roster, pack, year, region, decisions, SPARK, checked=checked)
    spark = spark if spark is not None else session()
    htypes, mtypes = household_types(pack), member_types()
    hh = _to_spark(spark, prep.household_table, {n: htypes[n].kind for n in prep.compiled.household_inputs})
    mem = _to_spark(spark, prep.member_table, {n: mtypes[n].kind for n in prep.compiled.member_inputs})
    dates = [d for d in prep.compiled.derived if pack.field_types[d].kind == "date"]
    with _bound(spark, hh, mem):
        out = _dates_out(spark.sql(prep.compiled.sql), dates)
        mout = spark.sql(prep.compiled.member_sql) if prep.compiled.member_sql else None
    out_table = _in_row_order(_dates_in_arrow(out.toArrow(), dates), ROW)
    mout_table = _in_row_order(mout.toArrow(), MROW) if mout is not None else None
    return _evaluation(out_table, mout_table, prep.compiled, pack, year, prep.region, prep.households, prep.members,
                       prep.params, prep.values, prep.ages, backend="spark")


def _to_spark(spark: Any, table: Any, kinds: dict[str, str]) -> Any:
    """An Arrow table → a Spark DataFrame with the SQL types of the pack (dates as TIMESTAMP_NTZ)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    cols = {}
    for name in table.column_names:
        col = table.column(name)
        if kinds.get(name) == "date":
            col = pc.cast(pc.cast(col, pa.timestamp("us")), pa.int64())
        elif pa.types.is_large_string(col.type):
            col = pc.cast(col, pa.string())
        cols[name] = col
    df = spark.createDataFrame(pa.table(cols)) if len(table) else spark.createDataFrame([], _schema(table, kinds))
    return df.selectExpr(*[_typed(n, kinds.get(n)) for n in table.column_names])


def _schema(table: Any, kinds: dict[str, str]) -> Any:
    """The Spark schema of an empty Arrow table (createDataFrame cannot infer it from no rows)."""
    from pyspark.sql import types as T

    spark_type = {"num": T.DoubleType(), "bool": T.BooleanType(), "str": T.StringType(), "date": T.LongType()}
    fields = []
    for name in table.column_names:
        kind = kinds.get(name) or ("int" if name in (ROW, MROW) else "str")
        fields.append(T.StructField(name, T.LongType() if kind == "int" else spark_type[kind], True))
    return T.StructType(fields)


def _typed(name: str, kind: str | None) -> str:
    q = SPARK.ident(name)
    if kind == "date":
        return f"TIMESTAMPADD(MICROSECOND, {q}, {EPOCH}) AS {q}"
    return q


def _dates_out(df: Any, names: list[str]) -> Any:
    """Date result columns as microseconds since 1970 (no time zone on the way back)."""
    if not names:
        return df
    from pyspark.sql import functions as F

    return df.withColumns({n: F.expr(f"TIMESTAMPDIFF(MICROSECOND, {EPOCH}, {SPARK.ident(n)})") for n in names})


def _dates_in_arrow(table: Any, names: list[str]) -> Any:
    import pyarrow as pa

    for n in names:
        i = table.column_names.index(n)
        table = table.set_column(i, n, table.column(n).cast(pa.int64()).cast(pa.timestamp("us")))
    return table


class _bound:
    """The temp views ``__households`` / ``__members`` bound to two DataFrames while queries are
    analysed (a DataFrame from ``spark.sql`` keeps the plan it was analysed with), case-sensitive."""

    def __init__(self, spark: Any, households: Any, members: Any) -> None:
        self.spark, self.households, self.members = spark, households, members

    def __enter__(self) -> Self:
        _LOCK.acquire()
        self.case = self.spark.conf.get("spark.sql.caseSensitive", "false")
        self.spark.conf.set("spark.sql.caseSensitive", "true")
        self.households.createOrReplaceTempView(HOUSEHOLDS)
        self.members.createOrReplaceTempView(MEMBERS)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        try:
            self.spark.catalog.dropTempView(HOUSEHOLDS)
            self.spark.catalog.dropTempView(MEMBERS)
            self.spark.conf.set("spark.sql.caseSensitive", self.case)
        finally:
            _LOCK.release()
        return False


# ---------------------------------------------------------------------------------------
# DataFrames in, DataFrames out (the scale-out path)
# ---------------------------------------------------------------------------------------
@dataclass
class SparkResult:
    """Lazy Spark DataFrames of one pack run over a roster held in Spark."""

    households: Any  # __row, household_id, derived, rule:<id>, value:<id>, decision columns
    members: Any | None  # __mrow, household_id, rule:<id> of the check rules over members (None: no such rule)
    compiled: CompiledPack
    params: dict[str, Any]  # name → ParamValue (provenance)
    region: str
    notes: list[str] = field(default_factory=list)


class SparkInputError(ValueError):
    """A Spark DataFrame column the pack reads has a type it cannot take (the message says which)."""


def evaluate_frames(spark: Any, households: Any, members: Any, pack: Pack, year: int, region: str | None = None, *, decisions: bool = True) -> SparkResult:
    """The pack over Spark DataFrames with canonical column names and typed values (numbers,
    booleans, dates/timestamps, text — e.g. a roster written as Parquet by ``fupin``).

    ``__row`` / ``__mrow`` are added when absent (``monotonically_increasing_id``: the read order).
    Members' ``age`` is ``year - year(birth_date)`` (negative → missing) when the pack uses it; the ID
    number's birth date is not decoded here (``notes`` says so when the members have an
    ``id_number`` column).  Nothing is collected: the result is lazy."""
    from pyspark.sql import functions as F

    from fupin_cli.engine.evaluate import used_params
    from fupin_cli.engine.params import region_chain, resolve_many

    region = region or pack.meta.region
    region_chain(pack, region)
    params = resolve_many(pack, used_params(pack, year), year, region)
    values = {k: v.value for k, v in params.items()}
    notes: list[str] = []
    hcols, mcols = set(households.columns), set(members.columns) if members is not None else {"household_id"}
    uses_age = pack_uses_age(pack, year)
    if uses_age:
        mcols.add("age")
    compiled = compile_pack(pack, year, values, hcols, mcols, decisions=decisions, dialect=SPARK, keep=("household_id",))
    htypes, mtypes = household_types(pack), member_types()

    if ROW not in households.columns:
        households = households.withColumn(ROW, F.monotonically_increasing_id())
    hh = households.selectExpr(SPARK.ident(ROW), _cast_input(households, "household_id", "str"),
                               *[_cast_input(households, n, htypes[n].kind) for n in compiled.household_inputs if n != "household_id"])
    if members is None:
        mem = spark.createDataFrame([], "`__mrow` BIGINT, `household_id` STRING")
    else:
        if MROW not in members.columns:
            members = members.withColumn(MROW, F.monotonically_increasing_id())
        items = [SPARK.ident(MROW), _cast_input(members, "household_id", "str")]
        for n in compiled.member_inputs:
            if n == "age":
                if "birth_date" in members.columns:
                    born = f"CAST(year({SPARK.ident('birth_date')}) AS DOUBLE)"
                    items.append(f"CASE WHEN {float(year)!r}e0 - {born} >= 0 THEN {float(year)!r}e0 - {born} END AS `age`")
                else:
                    items.append("CAST(NULL AS DOUBLE) AS `age`")
                if "id_number" in members.columns:
                    notes.append("年龄 (age) comes from 出生日期 (birth_date) only on this path: a member whose birth date is "
                                 "missing has an unknown age even when the ID number carries it")
            else:
                items.append(_cast_input(members, n, mtypes[n].kind))
        mem = members.selectExpr(*items)
    if compiled.absent:  # the SQL has no not-evaluated rules (engine/inputs.py): never read an absent field as missing
        more = "" if len(compiled.absent) <= 8 else f" and {len(compiled.absent) - 8} more"
        raise SparkInputError(f"the roster lacks {', '.join(compiled.absent[:8])}{more} that the pack reads for {year}; "
                              "add the columns (empty where unknown), or evaluate it with fupin's own path, which reports such rules as not evaluated")
    with _bound(spark, hh, mem):
        out = spark.sql(compiled.sql)
        mout = spark.sql(compiled.member_sql) if compiled.member_sql else None
    return SparkResult(out, mout, compiled, params, region, notes)


_ACCEPTS = {
    "num": ("NullType", "ByteType", "ShortType", "IntegerType", "LongType", "FloatType", "DoubleType", "DecimalType"),
    "bool": ("NullType", "BooleanType",),
    "date": ("NullType", "DateType", "TimestampType", "TimestampNTZType"),
    "str": ("NullType", "StringType", "VarcharType", "CharType"),
}


def _cast_input(df: Any, name: str, kind: str) -> str:
    """``CAST(column AS <type of kind>)`` when the column's Spark type is one the kind takes; else
    :class:`SparkInputError` (text where a number is expected is the reader's job, not a cast)."""
    q = SPARK.ident(name)
    actual = type(df.schema[name].dataType).__name__
    if actual not in _ACCEPTS[kind]:
        raise SparkInputError(f"column {name!r} is {df.schema[name].dataType.simpleString()}, the pack reads it as "
                              f"{ {'num': 'a number', 'bool': 'a boolean', 'date': 'a date', 'str': 'text'}[kind] }; "
                              "write the roster with typed columns (fupin's reader types them)")
    if kind == "date" and actual == "TimestampType":
        raise SparkInputError(f"column {name!r} is a timestamp with a session time zone; write dates as DATE or "
                              "TIMESTAMP_NTZ so that no time zone shifts a day")
    return f"CAST({q} AS {SPARK.SQL_TYPES[kind]}) AS {q}"
