"""Annual re-assessment over relations in DuckDB (``fupin reassess --engine duckdb``, experimental).

The same 动态调整 as :mod:`fupin_cli.core.reassess` (its categories, precedence, reasons, history
columns and matching order), with the data left in the engine:

* PREVIOUS: last year's register as a view (``io.annual.scan_register``: canonical names, typed as
  ``read_register`` types them); CURRENT: the roster scanned by ``io.scan`` (``__hh`` / ``__mem``) and
  identified by :func:`fupin_cli.core.identify_sql.identify_scanned` (the table ``__register``).
* The household exit rules: ``engine.decide.household_exit`` over the same evaluation (脱贫 / 未脱贫 and
  未达标原因 with values, the vectorised text builder the identify part uses), joined by ``__row``.
* 建档立卡状态 of each side (:func:`fupin_cli.core.history.registry_status`) as ``CASE`` expressions whose
  code tables come from ``schema.canonical_value`` applied to each column's distinct values.
* Matching (:func:`fupin_cli.core.history.match_households`) as joins: 户编号, then the head's ID number
  among the households left, then members' ID numbers (most shared members, then the lowest position;
  the first claimant of a previous household continues it, the others are 分户).  ID numbers are
  compared normalised (``history.normalise_ids``): a plain 18-character number is used as it is in SQL,
  every other distinct value goes once through ``normalise_ids`` itself.
* The classification (:func:`fupin_cli.core.reassess.classify`), carried 属性 / 致贫原因 / 措施, the year
  columns and 历年状态, and the 自然减少 rows: one view ``__register`` (current households in roster order,
  then the gone ones in register order) that the register writer copies out (``io.scan.write_register_sql``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.core.history import (
    _ATTRIBUTE_REGISTRY,
    _STATUS_REGISTRY,
    EVER_REGISTERED,
    HISTORY_SEP,
    MATCH_HEAD,
    MATCH_ID,
    MATCH_MEMBER,
    MATCH_METHODS,
    MATCH_NEW,
    MATCH_SPLIT,
    REGISTERED_POOR,
    YEAR_SEP,
    duplicate_ids_error,
    normalise_ids,
)
from fupin_cli.core.identify_sql import REGISTER, _frame, _lit, _q
from fupin_cli.core.reassess import (
    CARRIED_COLUMNS,
    CONTINUE,
    EXIT_REASON,
    EXITED,
    GONE,
    GONE_REASON,
    NEW,
    NOT_POOR,
    RECORD_CONFLICT,
    REMOVED,
    RETURNED,
    YEAR_COLUMNS,
    check_year_order,
)
from fupin_cli.schema import (
    EXIT_DONE,
    REGISTRY_EXITED,
    REGISTRY_GONE,
    REGISTRY_NONE,
    REGISTRY_POOR,
    REGISTRY_REMOVED,
    REGISTRY_RETURNED,
    STATUS_POOR,
    TRANSITIONS,
    canonical_value,
)

CURRENT = "__cur"  # identify's register, renamed: __register becomes the reassessed register (a view)
PV, PAIRS, EXITS, IDS = "__pv", "__pairs", "__exits", "__ids"
# Python's str.strip() whitespace (``history.text`` strips it), for DuckDB's trim
SPACE = "".join(chr(c) for c in range(0x3001) if chr(c).isspace())
SPACE_SQL = _lit(SPACE)
ID_PATTERN = "[0-9]{17}[0-9X]"  # used as it is by normalise_ids unless it ends in 000 (an Excel-mangled number)


_WIDE_SPACE = ", ".join(str(ord(c)) for c in SPACE if ord(c) > 32)


def strip_sql(expr: str) -> str:
    """Python's ``str.strip()`` in SQL; DuckDB's ``trim`` with a character set is ~8× slower than a test of the
    first and last characters, so it runs only where one of them is whitespace."""
    x = f"CAST({expr} AS VARCHAR)"
    edges = " AND ".join(f"ord({x}[{i}]) > 32 AND ord({x}[{i}]) NOT IN ({_WIDE_SPACE})" for i in (1, -1))
    return f"(CASE WHEN {edges} THEN {x} ELSE trim({x}, {SPACE_SQL}) END)"


def text_sql(expr: str) -> str:
    """``history.text``: stripped text, NULL for missing or blank."""
    return f"nullif({strip_sql(expr)}, '')"


def int_sql(expr: str) -> str:
    """``history.integer``: a number rounded half to even, NULL when not a number."""
    return f"CAST(round_even(TRY_CAST({expr} AS DOUBLE), 0) AS BIGINT)"


@dataclass
class ReassessScanned:
    """The reassessment in DuckDB: the view ``__register`` (``columns``, ``__row`` = output order) and its counts."""

    con: Any
    year: int
    previous_year: int
    columns: list[str]
    kinds: dict[str, str]
    transition_counts: pd.DataFrame
    registry_counts: dict[str, int]
    match_counts: dict[str, int]
    n_households: int
    provenance: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def counts(self) -> pd.DataFrame:
        return self.transition_counts

    def summary(self) -> dict[str, Any]:
        return {
            "year": self.year,
            "previous_year": self.previous_year,
            "households": self.n_households,
            "transitions": {r.transition: {"households": int(r.households), "people": int(r.people)}
                            for r in self.transition_counts.itertuples()},
            "registry_status": dict(self.registry_counts),
            "matching": dict(self.match_counts),
            "notes": list(self.notes),
        }


# ---- small SQL helpers --------------------------------------------------------------------
def _distinct(con: Any, relation: str, expr: str) -> list[Any]:
    return [r[0] for r in con.sql(f"SELECT DISTINCT {expr} AS v FROM {relation} WHERE {expr} IS NOT NULL").fetchall()]


def _case(expr: str, mapping: dict[Any, Any]) -> str:
    """``expr`` looked up in a small Python mapping (NULL where the mapping has nothing)."""
    whens = " ".join(f"WHEN {_lit(k)} THEN {_lit(v)}" for k, v in mapping.items() if v is not None)
    return f"(CASE {expr} {whens} END)" if whens else "CAST(NULL AS VARCHAR)"


def registry_sql(con: Any, relation: str, columns: list[str], alias: str = "") -> str:
    """:func:`fupin_cli.core.history.registry_status` as an SQL expression over ``relation``."""
    a = f"{alias}." if alias else ""
    have = set(columns)

    def canon(col: str) -> str:
        expr = text_sql(a + _q(col))
        values = _distinct(con, relation, text_sql(_q(col)))
        return _case(expr, {v: canonical_value("registry_status", v) for v in values})

    out = "CAST(NULL AS VARCHAR)"
    if "registry_status" in have:
        expr = text_sql(a + _q("registry_status"))
        values = _distinct(con, relation, text_sql(_q("registry_status")))
        out = _case(expr, {v: canonical_value("registry_status", v) or v for v in values})
    recorded = [canon(c) for c in ("exit_status", "household_type") if c in have]
    if "recorded_attribute" in have:
        recorded.append(_case(text_sql(a + _q("recorded_attribute")), _ATTRIBUTE_REGISTRY))
    rec = f"coalesce({', '.join(recorded)})" if recorded else "CAST(NULL AS VARCHAR)"
    if "status" in have:
        decision = _case(text_sql(a + _q("status")), _STATUS_REGISTRY)
        derived = (f"(CASE WHEN {decision} = {_lit(REGISTRY_POOR)} THEN {_lit(REGISTRY_POOR)} "
                   f"WHEN {rec} = {_lit(REGISTRY_EXITED)} THEN {_lit(REGISTRY_EXITED)} ELSE {decision} END)")
    else:
        derived = rec
    return f"coalesce({out}, {derived})"


def _in(expr: str, values: Any) -> str:
    return f"coalesce({expr} IN ({', '.join(_lit(v) for v in values)}), false)"


# ---- years ---------------------------------------------------------------------------------
def check_years_sql(con: Any, previous: Any, current: str, current_columns: list[str], year: int,
                    previous_name: str = "PREVIOUS") -> int:
    """:func:`fupin_cli.core.reassess.check_years` on the relations: the previous register's year."""
    cols, view = set(previous.columns), previous.view
    marks = [f"count({text_sql(_q(c))}) > 0" for c in ("status", "registry_status") if c in cols]
    is_reg = bool(marks) and any(con.sql(f"SELECT {', '.join(marks)} FROM {view}").fetchall()[0])
    years: list[int] = []
    if is_reg and "status_history" in cols:  # history_last_year: the year of each household's last entry
        last = f"regexp_extract(string_split({text_sql(_q('status_history'))}, {_lit(HISTORY_SEP)})[-1], '^\\s*(\\d{{4}})', 1)"
        y = con.sql(f"SELECT max(TRY_CAST(nullif({last}, '') AS BIGINT)) FROM {view}").fetchall()[0][0]
        if y is not None:
            years.append(int(y))
    if is_reg and "assessment_year" in cols:
        y = con.sql(f"SELECT max({int_sql(_q('assessment_year'))}) FROM {view}").fetchall()[0][0]
        if y is not None:
            years.append(int(y))
    roster_years: list[int] = []
    if "year" in current_columns:
        roster_years = [int(r[0]) for r in con.sql(f"SELECT DISTINCT {int_sql(_q('year'))} FROM {current} "
                                                    f"WHERE {int_sql(_q('year'))} IS NOT NULL").fetchall()]
    return check_year_order(is_reg, max(years) if years else None, roster_years, year, previous_name)


# ---- ID numbers ---------------------------------------------------------------------------
def _ids_table(con: Any, raw_sql: str) -> None:
    """Add the distinct raw ID numbers of ``raw_sql`` (one column ``raw``) to ``__ids`` (raw → normalised):
    a plain 18-character number as it is, any other value through ``history.normalise_ids`` once."""
    import pyarrow as pa

    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS {IDS} (raw VARCHAR, pid VARCHAR)")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __ids_new AS SELECT DISTINCT raw FROM ({raw_sql}) AS s "
                f"WHERE raw IS NOT NULL AND raw NOT IN (SELECT raw FROM {IDS})")
    con.execute(f"INSERT INTO {IDS} SELECT raw, raw FROM __ids_new WHERE regexp_full_match(raw, '{ID_PATTERN}') "
                "AND NOT suffix(raw, '000')")
    odd = con.sql(f"SELECT raw FROM __ids_new WHERE NOT (regexp_full_match(raw, '{ID_PATTERN}') AND NOT suffix(raw, '000'))"
                  ).to_arrow_table().column("raw").combine_chunks()
    if len(odd):
        raw = pd.Series(pd.array(odd.cast(pa.large_string()), dtype="str"))
        norm = normalise_ids(raw)
        con.register("__ids_odd", pa.table({"raw": odd.cast(pa.string()),
                                            "pid": pa.array(norm.to_numpy(dtype=object), type=pa.string())}))
        con.execute(f"INSERT INTO {IDS} SELECT raw, pid FROM __ids_odd")
        con.unregister("__ids_odd")
    con.execute("DROP TABLE __ids_new")


# ---- the reassessment ------------------------------------------------------------------------
def reassess_scanned(previous: Any, scan: Any, ident: Any, year: int, *, previous_name: str = "PREVIOUS",
                     previous_year: int | None = None) -> ReassessScanned:
    """Reassess: ``previous`` (``io.annual.RegisterScan``), ``scan`` (``io.scan.Scan``) already identified by
    ``identify_scanned`` (``ident``: its result, table ``__register``).  The register becomes the view
    ``__register`` of the reassessed households."""
    import pyarrow as pa

    from fupin_cli.core.identify import COMMAND_KINDS, excluded_mask, not_evaluated_used
    from fupin_cli.engine.decide import household_exit

    con = scan.con
    cur_cols = list(ident.columns)
    prev_year = previous_year if previous_year is not None else check_years_sql(
        con, previous, REGISTER, cur_cols, year, previous_name)
    notes = []
    if year > prev_year + 1:
        notes.append(f"{previous_name} is for {prev_year}, {year - prev_year - 1} year(s) before {year} have no "
                     "assessment: the history skips them")
    con.execute(f"ALTER TABLE {REGISTER} RENAME TO {CURRENT}")
    pcols = set(previous.columns)
    pv = previous.view

    # this year's exit rules and vetoes, by __row (the evaluation is in roster order)
    ev = ident.evaluation
    exits = household_exit(ev)
    excluded = excluded_mask(ev).fillna(False).astype(bool).to_numpy()

    def arrow_text(s: pd.Series) -> Any:
        return pa.array(s.astype(object).where(s.notna(), None).to_numpy(dtype=object), type=pa.string())

    con.register("__exits_arrow", pa.table({"__x": pa.array(np.arange(len(exits), dtype=np.int64)),
                                            "excluded": pa.array(excluded, type=pa.bool_()),
                                            "exit_result": arrow_text(exits["exit_result"]),
                                            "exit_unmet": arrow_text(exits["exit_unmet"])}))
    con.execute(f"CREATE OR REPLACE TEMP TABLE {EXITS} AS SELECT * FROM __exits_arrow")
    con.unregister("__exits_arrow")
    del exits

    # the previous register's status, history and years (history.initial_history, reassess.reassess)
    reg = registry_sql(con, pv, previous.columns)
    hist_own = text_sql(_q("status_history")) if "status_history" in pcols else "CAST(NULL AS VARCHAR)"
    first_year = f"coalesce({int_sql(_q('assessment_year')) if 'assessment_year' in pcols else 'NULL'}, {int(prev_year)})"
    first = int_sql(_q("first_identified_year")) if "first_identified_year" in pcols else "CAST(NULL AS BIGINT)"
    carried = [c for c in CARRIED_COLUMNS if c in pcols]
    carried_names = "".join(", " + _q("c_" + c) for c in carried)
    carried_items = "".join(f", {text_sql(_q(c))} AS " + _q("c_" + c) for c in carried)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE {PV} AS SELECT __prow, reg, "
        f"coalesce(hist_own, CAST(first_year AS VARCHAR) || {_lit(YEAR_SEP)} || reg) AS hist, "
        f"CASE WHEN first IS NULL AND {_in('reg', EVER_REGISTERED)} THEN {int(prev_year)} ELSE first END AS first, "
        f"exit_year, return_year, hid{carried_names} FROM ("
        f"SELECT __prow, coalesce({reg}, {_lit(REGISTRY_NONE)}) AS reg, {hist_own} AS hist_own, {first_year} AS first_year, "
        f"{first} AS first, "
        f"{int_sql(_q('exit_year')) if 'exit_year' in pcols else 'CAST(NULL AS BIGINT)'} AS exit_year, "
        f"{int_sql(_q('return_year')) if 'return_year' in pcols else 'CAST(NULL AS BIGINT)'} AS return_year, "
        f"{text_sql(_q('household_id')) if 'household_id' in pcols else 'CAST(NULL AS VARCHAR)'} AS hid"
        f"{carried_items} FROM {pv})")

    match_counts = _match(con, previous, scan, cur_cols)

    # the classification (reassess.classify) over the current households
    cur_reg = registry_sql(con, CURRENT, cur_cols, "r")
    was = "p.reg"
    registered = _in(was, REGISTERED_POOR)
    recorded = f"coalesce({cur_reg} = {_lit(REGISTRY_EXITED)}, false)"
    conflict = f"({recorded} AND NOT coalesce({was} = {_lit(REGISTRY_EXITED)}, false) AND NOT {registered})"
    exited_before = f"(coalesce({was} = {_lit(REGISTRY_EXITED)}, false) OR {conflict})"
    poor_now = f"coalesce({text_sql('r.status')} = {_lit(STATUS_POOR)}, false)" if "status" in cur_cols else "false"
    exit_ok = f"coalesce(x.exit_result = {_lit(EXIT_DONE)}, false)"
    cases = [(f"{registered} AND x.excluded", REMOVED, _lit(REGISTRY_REMOVED), "ni"),
             (f"{registered} AND {exit_ok}", EXITED, _lit(REGISTRY_EXITED), _lit(EXIT_REASON)),
             (registered, CONTINUE, was, text_sql("x.exit_unmet")),
             (f"{exited_before} AND {poor_now}", RETURNED, _lit(REGISTRY_RETURNED), "bs"),
             (poor_now, NEW, _lit(REGISTRY_POOR), "bs")]

    transition = f"CASE {' '.join(f'WHEN {c[0]} THEN {_lit(c[1])}' for c in cases)} ELSE {_lit(NOT_POOR)} END"
    registry = (f"CASE {' '.join(f'WHEN {c[0]} THEN {c[2]}' for c in cases)} "
                f"ELSE CASE WHEN {exited_before} THEN {_lit(REGISTRY_EXITED)} ELSE {_lit(REGISTRY_NONE)} END END")
    reason = f"CASE {' '.join(f'WHEN {c[0]} THEN {c[3]}' for c in cases)} ELSE ni END"
    note = f"replace({_lit(RECORD_CONFLICT)}, '{{prev}}', coalesce(nullif({was}, ''), '无记录'))"
    ni = text_sql("r.not_identified_reason") if "not_identified_reason" in cur_cols else "CAST(NULL AS VARCHAR)"
    bs = text_sql("r.basis") if "basis" in cur_cols else "CAST(NULL AS VARCHAR)"
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE __cls AS SELECT __row, transition, registry, "
        f"CASE WHEN conflict THEN CASE WHEN coalesce(reason, '') <> '' THEN reason || '；' || note ELSE note END ELSE reason END "
        f"AS reason, conflict, registered FROM (SELECT r.__row, {transition} AS transition, {registry} AS registry, "
        f"{reason} AS reason, {conflict} AS conflict, {registered} AS registered, {note} AS note FROM "
        f"(SELECT r.*, {ni} AS ni, {bs} AS bs FROM {CURRENT} AS r) AS r "
        f"JOIN {EXITS} AS x ON x.__x = r.__row LEFT JOIN {PAIRS} AS m ON m.cur = r.__row "
        f"LEFT JOIN {PV} AS p ON p.__prow = m.prev AND m.method <> {_lit(MATCH_SPLIT)})")
    n_conflicts, = con.sql("SELECT count(*) FROM __cls WHERE conflict").fetchall()[0]
    if n_conflicts:
        hid = text_sql("r.household_id") if "household_id" in cur_cols else "NULL"
        ids = [r[0] for r in con.sql(f"SELECT {hid} FROM __cls AS c JOIN {CURRENT} AS r USING (__row) WHERE c.conflict "
                                     "ORDER BY __row LIMIT 11").fetchall()]
        shown = "、".join(str(i) for i in ids[:10]) + ("…" if n_conflicts > 10 else "")
        notes.append(f"{int(n_conflicts)} household(s) recorded as 已脱贫 in this year's roster but not in "
                     f"{previous_name} (trusted as exited: 返贫 if poor again): {shown}")

    columns, kinds = _register_view(con, previous, cur_cols, ident.kinds, carried, year)
    counts, registry_counts, n_households = _counts(con, columns)
    prov = dict(ident.provenance)
    prov["command"] = "reassess"
    prov["not_evaluated"] = not_evaluated_used(ev, COMMAND_KINDS["reassess"])
    prov["notes"] = [*prov.get("notes", []), *notes]
    return ReassessScanned(con, year, prev_year, columns, kinds, counts, registry_counts, match_counts,
                           int(n_households), prov, notes)


def _match(con: Any, previous: Any, scan: Any, cur_cols: list[str]) -> dict[str, int]:
    """``history.match_households`` as joins: the table ``__pairs`` (cur, prev, method, shared); the counts."""
    pv, pcols = previous.view, set(previous.columns)
    for rel, pos, cols, what in ((pv, "__prow", pcols, "PREVIOUS register"), (CURRENT, "__row", set(cur_cols), "CURRENT roster")):
        if "household_id" not in cols:
            continue
        keys = f"(SELECT {pos} AS pos, {text_sql(_q('household_id'))} AS k FROM {rel})"
        n_dup, first = con.sql(f"SELECT count(*), arg_min(k, pos) FROM (SELECT k, min(pos) AS pos, count(*) AS n FROM {keys} "
                               "WHERE k IS NOT NULL GROUP BY k) WHERE n > 1").fetchall()[0]
        if n_dup:
            raise duplicate_ids_error(what, int(n_dup), first)
    # the raw head ID numbers (history.head_ids): 户主证件号码, else the first member related 户主 with a usable number
    prev_head = f"CAST({_q('head_id_number')} AS VARCHAR)" if "head_id_number" in pcols else "CAST(NULL AS VARCHAR)"
    cur_head = f"CAST(r.{_q('head_id_number')} AS VARCHAR)" if "head_id_number" in cur_cols else "CAST(NULL AS VARCHAR)"
    _ids_table(con, f"SELECT {prev_head} AS raw FROM {pv}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE __pk AS SELECT __prow AS prev, "
                f"{text_sql(_q('household_id')) if 'household_id' in pcols else 'CAST(NULL AS VARCHAR)'} AS key, "
                f"i.pid FROM {pv} LEFT JOIN {IDS} AS i ON i.raw = {prev_head}")
    has_members = bool(scan.n_members) and {"household_id", "id_number"} <= set(scan.member_columns)
    _ids_table(con, f"SELECT {cur_head} AS raw FROM {CURRENT} AS r")
    fallback = "CAST(NULL AS VARCHAR)"
    if has_members and "relation" in scan.member_columns:
        _ids_table(con, "SELECT CAST(id_number AS VARCHAR) AS raw FROM __mem WHERE relation = '户主'")
        con.execute(f"CREATE OR REPLACE TEMP TABLE __mheads AS SELECT CAST(m.household_id AS VARCHAR) AS hid, "
                    f"arg_min(i.pid, m.__mrow) AS pid FROM __mem AS m JOIN {IDS} AS i ON i.raw = CAST(m.id_number AS VARCHAR) "
                    "WHERE m.relation = '户主' AND i.pid IS NOT NULL AND m.household_id IS NOT NULL GROUP BY 1")
        fallback = "h.pid"
    key = text_sql("r.household_id") if "household_id" in cur_cols else "CAST(NULL AS VARCHAR)"
    join_heads = f"LEFT JOIN __mheads AS h ON h.hid = {key}" if fallback != "CAST(NULL AS VARCHAR)" else ""
    con.execute(f"CREATE OR REPLACE TEMP TABLE __ck AS SELECT r.__row AS cur, {key} AS key, coalesce(i.pid, {fallback}) AS pid "
                f"FROM {CURRENT} AS r LEFT JOIN {IDS} AS i ON i.raw = {cur_head} {join_heads}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {PAIRS} AS SELECT c.cur, p.prev, {_lit(MATCH_ID)} AS method, 0 AS shared "
                "FROM __ck AS c JOIN __pk AS p ON c.key = p.key")
    con.execute(f"INSERT INTO {PAIRS} SELECT c.cur, p.prev, {_lit(MATCH_HEAD)}, 1 FROM "
                f"(SELECT pid, min(cur) AS cur FROM __ck WHERE pid IS NOT NULL AND cur NOT IN (SELECT cur FROM {PAIRS}) GROUP BY pid) AS c "
                f"JOIN (SELECT pid, min(prev) AS prev FROM __pk WHERE pid IS NOT NULL AND prev NOT IN (SELECT prev FROM {PAIRS}) "
                "GROUP BY pid) AS p USING (pid)")
    # members' ID numbers, for the households still unmatched (history._match_by_members)
    con.execute(f"CREATE OR REPLACE TEMP TABLE __free AS SELECT cur, key, pid FROM __ck WHERE cur NOT IN (SELECT cur FROM {PAIRS})")
    people = "SELECT pid, cur FROM __free WHERE pid IS NOT NULL"
    if has_members:
        con.execute(f"CREATE OR REPLACE TEMP TABLE __fmem AS SELECT f.cur, CAST(m.id_number AS VARCHAR) AS raw FROM __mem AS m "
                    f"JOIN __free AS f ON f.key = {strip_sql('m.household_id')} WHERE m.id_number IS NOT NULL")
        _ids_table(con, "SELECT raw FROM __fmem")
        people += f" UNION ALL SELECT i.pid, f.cur FROM __fmem AS f JOIN {IDS} AS i ON i.raw = f.raw WHERE i.pid IS NOT NULL"
    con.execute(f"CREATE OR REPLACE TEMP TABLE __cpeople AS SELECT DISTINCT pid, cur FROM ({people})")
    con.execute("CREATE OR REPLACE TEMP TABLE __links AS SELECT c.cur, p.prev, count(*) AS shared FROM __cpeople AS c "
                "JOIN (SELECT DISTINCT pid, prev FROM __pk WHERE pid IS NOT NULL) AS p USING (pid) GROUP BY c.cur, p.prev")
    con.execute(
        f"INSERT INTO {PAIRS} SELECT cur, prev, CASE WHEN claim = 1 AND prev NOT IN (SELECT prev FROM {PAIRS}) "
        f"THEN {_lit(MATCH_MEMBER)} ELSE {_lit(MATCH_SPLIT)} END, shared FROM ("
        "SELECT cur, prev, shared, row_number() OVER (PARTITION BY prev ORDER BY shared DESC, cur) AS claim FROM ("
        "SELECT cur, prev, shared FROM (SELECT *, row_number() OVER (PARTITION BY cur ORDER BY shared DESC, prev) AS best "
        "FROM __links) WHERE best = 1))")
    for t in ("__links", "__cpeople", "__free", "__ck", *(["__fmem"] if has_members else [])):
        con.execute(f"DROP TABLE {t}")
    counts = dict(con.sql(f"SELECT method, count(*) FROM {PAIRS} GROUP BY method").fetchall())
    out = {m: int(counts.get(m, 0)) for m in MATCH_METHODS if m != MATCH_NEW}
    out["unmatched_previous"] = int(con.sql(f"SELECT count(*) FROM __pk WHERE prev NOT IN (SELECT prev FROM {PAIRS})").fetchall()[0][0])
    out["unmatched_current"] = int(con.sql(f"SELECT count(*) FROM {CURRENT} WHERE __row NOT IN (SELECT cur FROM {PAIRS})").fetchall()[0][0])
    return out


NEW_COLUMNS = ("exit_result", "exit_unmet", "previous_registry_status", "registry_status", "transition", "transition_reason",
               "match_method", "previous_household_id")
HISTORY_COLUMNS = ("first_identified_year", "exit_year", "return_year", "status_history")


def _register_view(con: Any, previous: Any, cur_cols: list[str], cur_kinds: dict[str, str], carried: list[str],
                   year: int) -> tuple[list[str], dict[str, str]]:
    """The view ``__register``: the reassessed current households, then the 自然减少 ones (reassess.reassess)."""
    columns = list(cur_cols)
    columns += [c for c in NEW_COLUMNS if c not in columns]
    columns += [c for c in HISTORY_COLUMNS if c not in columns]
    types = dict(con.sql(f"SELECT column_name, column_type FROM (DESCRIBE {CURRENT})").fetchall())
    still_poor = _in("c.registry", REGISTERED_POOR)
    entry = f"{_lit(f'{year}{YEAR_SEP}')} || coalesce(c.registry, {_lit(REGISTRY_NONE)})"
    special = {
        "exit_result": f"CASE WHEN c.registered THEN {text_sql('x.exit_result')} END",
        "exit_unmet": f"CASE WHEN c.registered THEN {text_sql('x.exit_unmet')} END",
        "previous_registry_status": "p.reg",
        "registry_status": "c.registry",
        "transition": "c.transition",
        "transition_reason": "c.reason",
        "match_method": f"coalesce(m.method, {_lit(MATCH_NEW)})",
        "previous_household_id": "rp.hid",
        "first_identified_year": f"CASE WHEN p.first IS NULL AND c.transition IN ({_lit(NEW)}, {_lit(RETURNED)}) THEN {int(year)} ELSE p.first END",
        "exit_year": f"CASE WHEN c.transition = {_lit(EXITED)} THEN {int(year)} ELSE p.exit_year END",
        "return_year": f"CASE WHEN c.transition = {_lit(RETURNED)} THEN {int(year)} ELSE p.return_year END",
        "status_history": f"CASE WHEN coalesce(p.hist, '') <> '' THEN p.hist || {_lit(HISTORY_SEP)} || {entry} ELSE {entry} END",
    }
    for col in carried:
        mine, theirs = text_sql("r." + _q(col)), "p." + _q("c_" + col)
        special[col] = f"CASE WHEN {still_poor} AND {mine} IS NULL THEN {theirs} ELSE {mine} END"
    estimates = [c for c in columns if str(c).startswith("测算：")]
    cur_items = ["r.__row"]
    for col in columns:
        expr = special.get(col, f"r.{_q(col)}")
        cur_items.append(f"{expr} AS {_q(col)}")
    current_sql = (f"SELECT {', '.join(cur_items)} FROM {CURRENT} AS r JOIN __cls AS c ON c.__row = r.__row "
                   f"JOIN {EXITS} AS x ON x.__x = r.__row LEFT JOIN {PAIRS} AS m ON m.cur = r.__row "
                   f"LEFT JOIN {PV} AS p ON p.__prow = m.prev AND m.method <> {_lit(MATCH_SPLIT)} "
                   f"LEFT JOIN {PV} AS rp ON rp.__prow = m.prev")
    # the households of the register that nothing matched and that were in the registry: 自然减少
    pcols = set(previous.columns)
    gone_special = {
        "status": "NULL", "exit_result": "NULL", "exit_unmet": "NULL", "match_method": "NULL",
        "previous_household_id": "p.hid", "previous_registry_status": "p.reg",
        "registry_status": _lit(REGISTRY_GONE), "transition": _lit(GONE), "transition_reason": _lit(GONE_REASON),
        "first_identified_year": "p.first", "exit_year": "p.exit_year", "return_year": "p.return_year",
        "status_history": (f"CASE WHEN coalesce(p.hist, '') <> '' THEN p.hist || {_lit(HISTORY_SEP)} || "
                           f"{_lit(f'{year}{YEAR_SEP}{REGISTRY_GONE}')} ELSE {_lit(f'{year}{YEAR_SEP}{REGISTRY_GONE}')} END"),
    }
    n_cur = con.sql(f"SELECT count(*) FROM {CURRENT}").fetchall()[0][0]
    gone_items = [f"CAST({int(n_cur)} + row_number() OVER (ORDER BY p.__prow) - 1 AS BIGINT) AS __row"]
    for col in columns:
        ty = types.get(col, "VARCHAR")
        if col in gone_special:
            expr = gone_special[col]
        elif col in pcols:
            expr = f"g.{_q(col)}"
        else:
            expr = "NULL"
        if col in estimates:
            expr = f"TRY_CAST({expr} AS DOUBLE)"
        gone_items.append(f"TRY_CAST({expr} AS {ty}) AS {_q(col)}" if col in types else f"{expr} AS {_q(col)}")
    gone_sql = (f"SELECT {', '.join(gone_items)} FROM {PV} AS p JOIN {previous.view} AS g ON g.__prow = p.__prow "
                f"WHERE {_in('p.reg', EVER_REGISTERED)} AND p.__prow NOT IN (SELECT prev FROM {PAIRS})")
    con.execute(f"CREATE OR REPLACE TEMP VIEW {REGISTER} AS {current_sql} UNION ALL BY NAME {gone_sql}")
    kinds = dict(cur_kinds)
    kinds.update({c: "str" for c in NEW_COLUMNS})
    kinds.update({c: "int" for c in YEAR_COLUMNS})
    kinds["status_history"] = "str"
    kinds.update({c: "str" for c in carried})
    return columns, kinds


def _counts(con: Any, columns: list[str]) -> tuple[pd.DataFrame, dict[str, int], int]:
    """One pass over the register: reassess.transition_counts (households and people — household_size, else
    member_count, else 0 — per type), the 建档立卡状态 counts and the number of households."""
    size = int_sql("household_size") if "household_size" in columns else "NULL"
    count = int_sql("member_count") if "member_count" in columns else "NULL"
    rows = con.sql(f"SELECT transition, registry_status, count(*), sum(coalesce({size}, {count}, 0)) FROM {REGISTER} "
                   "GROUP BY ALL").fetchall()
    by_type: dict[str, list[int]] = {t: [0, 0] for t in TRANSITIONS}
    registry: dict[str, int] = {}
    for transition, status, households, people in rows:
        by_type.setdefault(transition, [0, 0])
        by_type[transition][0] += int(households)
        by_type[transition][1] += int(people or 0)
        if status is not None:
            registry[str(status)] = registry.get(str(status), 0) + int(households)
    table = pd.DataFrame({"transition": list(TRANSITIONS), "households": [by_type[t][0] for t in TRANSITIONS],
                          "people": [by_type[t][1] for t in TRANSITIONS]}).astype({"households": "int64", "people": "int64"})
    return table, dict(sorted(registry.items())), sum(v[0] for v in by_type.values())


def fetch_register(result: ReassessScanned) -> pd.DataFrame:
    """The reassessed register as a pandas frame (tests, small runs), in output order."""
    return _frame(result.con.sql(f"SELECT {', '.join(_q(c) for c in result.columns)} FROM {REGISTER} ORDER BY __row")
                  .to_arrow_table(), result.kinds)


