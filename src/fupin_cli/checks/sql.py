"""``validate``'s data-quality checks over a roster held in DuckDB (``fupin identify --engine duckdb``).

:func:`validate_scanned` takes a roster scanned into an in-process DuckDB (``io.scan``: tables
``__hh`` / ``__mem`` with the reader's canonical typed columns, ``__row`` / ``__mrow`` positions,
``_source`` / ``_sheet`` / ``_row`` provenance) and returns the same Findings frame as
:func:`fupin_cli.checks.validate` on the pandas roster: same rows, same order after
:func:`~fupin_cli.findings.concat_findings`'s sort, same texts (IDs masked).

Every built-in check function has a SQL version (``checks/sql_families.py``): each finding kind is
a ``WHERE`` over a household or member relation and a message expression (``checks/sql_ids.py``
has GB 11643 in SQL), all of them one ``UNION ALL`` query whose rows are the finding rows.  A check
function without a SQL version (a new one) still runs: the pandas function, on a frame of only the
columns its module names (fetched from the engine); ``ScannedFindings.pandas_checks`` lists them.
"""

from __future__ import annotations

import ast
import datetime as dt
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from fupin_cli.checks.catalog import CHECKS
from fupin_cli.findings import FINDING_COLUMNS, concat_findings, make_findings
from fupin_cli.schema import FIELDS, PROVENANCE_COLUMNS, SOURCE_FILE, SOURCE_ROW, SOURCE_SHEET

HH, MEM = "__hh", "__mem"
CK_H, CK_M = "__ck_h", "__ck_m"  # the relations the checks read (roster columns + derived values)

Fetch = Callable[[str, list[str]], pd.DataFrame]  # (table, columns) → frame in position order


def q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def lit(text: Any) -> str:
    return "'" + str(text).replace("'", "''") + "'"


@dataclass
class Emit:
    """One kind of finding: rows of ``level`` ("h" households / "m" members) where ``where`` holds."""

    check: str
    level: str
    where: str
    field: str | None
    message: str  # SQL text expression
    severity: str | None = None
    hint: str | None = None
    column: str | None = None


@dataclass
class ScannedFindings:
    findings: pd.DataFrame
    pandas_checks: list[str] = field(default_factory=list)  # check functions run on pandas frames (module.function)


class Relations:
    """What the SQL checks know of the scanned roster (columns, headers, sources) and the SQL helpers they share."""

    def __init__(self, con: Any, scan: Any, year: int, ref_date: dt.date, params: dict[str, Any] | None = None):
        self.con = con
        self.scan = scan
        self.year = year
        self.ref_date = ref_date
        self.params = params or {}
        self.hcols = [c for c in scan.household_columns if c != "__row"]
        self.mcols = [c for c in scan.member_columns if c != "__mrow"] if scan.n_members else []
        self.n_members = scan.n_members
        self.source_headers = dict(getattr(scan, "source_headers", {}) or {})
        self.sources = list(scan.sources)
        self._has: dict[tuple[str, str | None], bool] = {}

    def param(self, name: str, fallback: Any) -> Any:
        return self.params.get(name, fallback)

    def kind(self, name: str) -> str:
        return str(self.scan.kinds.get(name, "str"))

    # ---- columns, as CheckContext.has ----------------------------------------------------
    def in_frame(self, name: str, level: str) -> bool:
        return name in (self.hcols if level == "household" else self.mcols)

    def has(self, name: str, level: str | None = None) -> bool:
        key = (name, level)
        if key not in self._has:
            self._has[key] = self._compute_has(name, level)
        return self._has[key]

    def _compute_has(self, name: str, level: str | None) -> bool:
        for lv, table in (("member", MEM), ("household", HH)):
            if level not in (None, lv) or not self.in_frame(name, lv):
                continue
            if not self.source_headers or name in self.source_headers:
                return True
            if self.con.sql(f"SELECT count(*) FROM {table} WHERE {q(name)} IS NOT NULL").fetchall()[0][0]:
                return True
        return False

    def header(self, name: str) -> str:
        from fupin_cli.schema import label

        return self.source_headers.get(name) or label(name)

    @property
    def default_file(self) -> str:
        return self.sources[0].name if len(self.sources) == 1 else ""


# ---------------------------------------------------------------------------------------
# SQL helpers shared by the check families
# ---------------------------------------------------------------------------------------
def text(expr: str) -> str:
    """``astype("str")`` of a column: VARCHAR, NULL stays NULL."""
    return f"CAST({expr} AS VARCHAR)"


def fmt_num(expr: str, kind: str = "float") -> str:
    """``checks.context.fmt_num``: ``2,310`` / ``2,310.50``; missing → ``空`` (the columns are typed by the scan)."""
    if kind not in ("int", "float", "money"):
        raise ValueError(f"fmt_num of a {kind} column")
    v = f"CAST({expr} AS DOUBLE)"
    return (f"CASE WHEN {v} IS NULL OR isnan({v}) THEN '空' WHEN {v} = trunc({v}) THEN format('{{:,.0f}}', {v}) "
            f"ELSE format('{{:,.2f}}', {v}) END")


def fmt_text(expr: str) -> str:
    return f"coalesce({text(expr)}, '空')"


def mask(expr: str) -> str:
    """``idnumber.mask``: first 6 + ``*`` + last 4 characters; ≤ 10 characters all ``*``."""
    return (f"CASE WHEN {expr} IS NULL THEN NULL WHEN length({expr}) <= 10 THEN repeat('*', length({expr})) "
            f"ELSE substr({expr}, 1, 6) || repeat('*', length({expr}) - 10) || right({expr}, 4) END")


def int_text(expr: str) -> str:
    """``astype("int64").astype(str)`` of a whole float."""
    return f"CAST(CAST({expr} AS BIGINT) AS VARCHAR)"


def num_lit(v: Any) -> str:
    return repr(float(v)) if not float(v).is_integer() else str(int(v))


def g(v: Any) -> str:
    """Python's ``f"{v:g}"``."""
    return f"{v:g}"


# ---------------------------------------------------------------------------------------
# the checks: SQL where written, else the pandas function on the columns it reads
# ---------------------------------------------------------------------------------------
SqlFamily = Callable[["Relations"], list[Emit]]


def _sql_families() -> dict[Callable[..., Any], SqlFamily]:
    """Pandas check function → its SQL version (functions without one run on pandas frames)."""
    from fupin_cli.checks import sql_families

    return sql_families.SQL_VERSIONS


def validate_scanned(con: Any, scan: Any, year: int, fetch: Fetch, *, ref_date: dt.date | None = None,
                     force_pandas: Sequence[str] = ()) -> ScannedFindings:
    """All built-in findings for the scanned roster (the reader's notes included), as ``validate(roster, year)``.

    ``fetch(table, columns)``: those columns of ``__hh`` / ``__mem`` as a pandas frame with the reader's
    dtypes, in position order (only for the checks without a SQL version).  ``force_pandas``: names of
    check functions to run on pandas frames even when they have a SQL version (the parity tests)."""
    from fupin_cli.checks import BUILTIN_CHECKS

    ref = ref_date or dt.date.today()
    rel = Relations(con, scan, year, ref)
    sql_versions = _sql_families()
    frames_by_fn: dict[int, list[pd.DataFrame]] = {}
    emits: list[tuple[int, int, Emit]] = []
    pandas_fns: list[tuple[int, Callable[..., Any]]] = []
    derived_ready = False
    for i, fn in enumerate(BUILTIN_CHECKS):
        version = sql_versions.get(fn)
        if version is None or _name(fn) in force_pandas:
            pandas_fns.append((i, fn))
            continue
        if not derived_ready:
            from fupin_cli.checks.sql_families import prepare

            prepare(rel)
            derived_ready = True
        emits += [(i, j, e) for j, e in enumerate(version(rel))]
    if emits:
        found = _run_emits(rel, emits)
        for i, part in found.groupby("__f", sort=False):
            frames_by_fn[int(i)] = [part.drop(columns=["__f"])]
    if pandas_fns:
        ctx = _pandas_context(rel, [fn for _, fn in pandas_fns], fetch)
        from fupin_cli.checks import _frames

        for i, fn in pandas_fns:
            frames_by_fn[i] = _frames(fn(ctx))
    frames = [scan.notes] + [f for i in sorted(frames_by_fn) for f in frames_by_fn[i]]
    for t in ("__ck_h", "__ck_m", "__ck_ids", "__ck_hids", "__ck_rids"):
        con.execute(f"DROP TABLE IF EXISTS {t}")
    return ScannedFindings(concat_findings(frames), [_name(fn) for _, fn in pandas_fns])


def _name(fn: Callable[..., Any]) -> str:
    return f"{fn.__module__.rsplit('.', 1)[-1]}.{fn.__name__}"


def _run_emits(rel: Relations, emits: list[tuple[int, int, Emit]]) -> pd.DataFrame:
    parts = []
    for i, j, e in emits:
        table, pos = (CK_H, "__row") if e.level == "h" else (CK_M, "__mrow")
        cols = rel.hcols if e.level == "h" else rel.mcols
        info = CHECKS.get(e.check)
        severity = e.severity or (info.severity if info else "warning")
        hint = e.hint if e.hint is not None else (info.hint if info else "")
        column = e.column if e.column is not None else (rel.header(e.field) if e.field else "")
        file = f"coalesce({text(q(SOURCE_FILE))}, '')" if SOURCE_FILE in cols else lit(rel.default_file)
        sheet = f"coalesce({text(q(SOURCE_SHEET))}, '')" if SOURCE_SHEET in cols else "''"
        row = f"CAST({q(SOURCE_ROW)} AS BIGINT)" if SOURCE_ROW in cols else "CAST(NULL AS BIGINT)"
        hid = f"coalesce({text('household_id')}, '')" if "household_id" in cols else "''"
        parts.append(f"SELECT {i} AS __f, {j} AS __e, {pos} AS __p, {lit(severity)} AS severity, {lit(e.check)} AS \"check\", "
                     f"{file} AS file, {sheet} AS sheet, {row} AS \"row\", {lit(column)} AS \"column\", {hid} AS household_id, "
                     f"CAST({e.message} AS VARCHAR) AS message, {lit(hint)} AS hint FROM {table} WHERE coalesce({e.where}, false)")
    sql = " UNION ALL ".join(parts) + " ORDER BY __f, __e, __p"
    df = rel.con.sql(sql).df()
    f = df["__f"].to_numpy()
    out = make_findings(df[FINDING_COLUMNS])
    out.insert(0, "__f", f)
    return out


# ---------------------------------------------------------------------------------------
# the pandas fallback: the check function on a frame of the columns its module reads
# ---------------------------------------------------------------------------------------
ALWAYS = ("household_id", "birth_date", "id_number", "sex", "head_id_number", *PROVENANCE_COLUMNS)  # CheckContext's shared values


@functools.cache
def fields_read(module: str) -> frozenset[str]:
    """Field names a check module names (its string constants that are fields): what its checks may read."""
    import importlib

    tree = ast.parse(inspect.getsource(importlib.import_module(module)))
    return frozenset(n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value in FIELDS)


def _pandas_context(rel: Relations, fns: list[Callable[..., Any]], fetch: Fetch) -> Any:
    from fupin_cli.checks.context import CheckContext
    from fupin_cli.roster import Roster

    wanted = set(ALWAYS)
    for fn in fns:
        wanted |= fields_read(fn.__module__)
    hh = fetch(HH, [c for c in rel.hcols if c in wanted])
    members = fetch(MEM, [c for c in rel.mcols if c in wanted]) if rel.n_members else pd.DataFrame()
    roster = Roster(hh, members, sources=rel.sources, passthrough=list(getattr(rel.scan, "passthrough", [])),
                    notes=rel.scan.notes, source_headers=rel.source_headers)
    return CheckContext(roster, rel.year, rel.ref_date)
