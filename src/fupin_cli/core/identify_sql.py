"""精准识别 over a roster held in DuckDB (``fupin identify --engine duckdb``, experimental).

:func:`identify_scanned` takes a roster already scanned into an in-process DuckDB (``io.scan``:
tables ``__hh`` and ``__mem`` with the reader's canonical typed columns) and decides every
household there:

* member aggregates, derived fields, every rule of the year, status / attribute / causes /
  measures as ``CASE`` by priority: one query compiled from the pack (``engine.compile_sql``);
* the explanation texts (识别依据, 未识别原因 with the deciding values and thresholds, 未评估规则): built
  by the same query (``engine.texts_sql``), inside ``CASE`` on the rule results, so only the households
  that show a text format it; byte for byte the pandas path's texts (``engine.details``), and no input
  column leaves the engine for them;
* the register: a DuckDB table ``__register`` (roster columns, decision columns, estimates,
  人口数, year, pack, 原表行号) in roster order, written by the engine (``COPY``) in ``io.scan_write``.

* ``validate``'s data-quality checks (``checks.sql.validate_scanned``: SQL finding rows over the
  scanned tables, the same findings as ``checks.validate``) and the pack's ``check`` rules: error
  findings stop the run (exit 1) as on the pandas path, and with ``allow_errors`` the households they
  concern are 待核实 with the findings as 未识别原因 (``core.identify.error_reasons``).

What it does not do (the caller says so): ``--quota``, ``--assist``, ``--population``; the 汇总 /
致贫原因 / 帮扶覆盖 reports (only the closing counts).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.core.identify import (
    DECISION_COLUMNS,
    _text,
    closing_counts,
    excluded_mask,
    pack_label,
    provenance,
    stop_on_errors,
)
from fupin_cli.schema import HOUSEHOLD_FIELD_NAMES, PROVENANCE_COLUMNS, SOURCE_ROW

REGISTER = "__register"
# said in the run's notes when the checks were not run (--no-checks)
CHECKS_NOT_RUN = "validate 的数据质量检查 (validate's data-quality checks) and the pack's check rules"


class FastPathUnsupported(Exception):
    """The roster or the options need the pandas path (the message says what)."""


@dataclass
class ScannedResult:
    con: Any
    columns: list[str]  # register columns (canonical names) in the table ``__register``, in output order
    kinds: dict[str, str]
    counts: dict[str, Any]
    provenance: dict[str, Any]
    findings: pd.DataFrame
    evaluation: Any = None
    notes: list[str] = field(default_factory=list)
    coverage: dict[str, Any] = field(default_factory=dict)  # not computed on this path (no 帮扶覆盖 report)
    quota: Any = None

    def to_json(self, outputs: list[str] | None = None) -> dict[str, Any]:
        return {"counts": self.counts, "outputs": list(outputs or []), "provenance": self.provenance,
                "coverage": {"households_without_responsible_person": None, "villages_without_task_force": None},
                "quota": None}


class _RosterInfo:
    """What ``provenance`` and ``closing_counts`` read of a roster, for a scanned one."""

    def __init__(self, scan: Any):
        self.sources = scan.sources
        self.households = pd.RangeIndex(scan.n_households)
        self.members = pd.RangeIndex(scan.n_members)
        self.source_headers = dict(scan.source_headers)

    def header_of(self, field_name: str) -> str:
        from fupin_cli.schema import label

        return self.source_headers.get(field_name) or label(field_name)


def identify_scanned(scan: Any, pack: Any, year: int, region: str | None = None, *, allow_errors: bool = False,
                     version: str = "", run_time: str = "", options: dict[str, Any] | None = None,
                     progress: Any = None, policy: Any = None, checks: bool = True) -> ScannedResult:
    """Identify poor households of a scanned roster; the register is the DuckDB table ``__register``.

    ``checks=False`` (``--no-checks``): validate's checks and the pack's check rules are not run (the notes say so)."""
    from fupin_cli.checks.pack import evaluation_findings
    from fupin_cli.checks.sql import validate_scanned
    from fupin_cli.engine.compile_sql import evaluate_relations
    from fupin_cli.findings import concat_findings

    step = progress or (lambda name: None)
    con = scan.con
    findings = scan.notes
    if checks:
        step("validate")
        findings = validate_scanned(con, scan, year, lambda table, cols: _fetch(con, scan, table, cols)).findings
    source = scan.sources[0].name if scan.sources else "roster"
    if not allow_errors:
        stop_on_errors(findings, source, scan.sources[0].path if scan.sources else None)
    step("evaluate")
    hcols = [c for c in scan.household_columns if c in HOUSEHOLD_FIELD_NAMES]
    mcols = [c for c in scan.member_columns if c != "household_id" and not c.startswith("_")]
    avail, policy = _availability(scan, pack, year, region, policy)
    ages = _ages(con, scan, pack, year)

    def fetch(columns: list[str]) -> pd.DataFrame:  # on demand only: texts the query does not build (reassess's exit texts),
        # and the columns the pack's check findings name, with their provenance
        return _fetch(con, scan, "__hh", [*columns, *[c for c in PROVENANCE_COLUMNS if c in scan.household_columns and c not in columns]])

    # the decisions and their texts are computed by the query (engine/texts_sql.py): no input column is fetched for them
    ev = evaluate_relations(con, pack, year, region, "__hh", "__mem", hcols, mcols if scan.n_members else [], fetch, ages=ages,
                            availability=avail, policy=policy, decisions=True)
    info = _RosterInfo(scan)
    if checks:  # the pack's check rules, as `fupin validate` runs them (core.identify)
        findings = concat_findings([findings, evaluation_findings(ev, info)])
    decisions = _sql_decisions(ev)
    step("decide")
    _register(con, scan, ev, decisions, year, pack)
    _pending_on_errors(con, scan, findings)
    written = _decision_columns(decisions)
    hh_counts = _frame(con.sql(f"SELECT status, {'household_size' if 'household_size' in hcols else 'NULL AS household_size'}, "
                                   f"member_count FROM {REGISTER} ORDER BY __row").to_arrow_table(),
                       {"status": "str", "household_size": "int", "member_count": "int"})
    hh_counts["status"] = hh_counts["status"].astype(object)
    excluded = excluded_mask(ev)
    counts = closing_counts(info, hh_counts, findings, excluded)
    prov = provenance(info, pack, ev, year, region, version=version, run_time=run_time, options=options)
    prov["engine"] = "duckdb"
    notes = [] if checks else [f"--no-checks: {CHECKS_NOT_RUN} were not run; run `fupin validate` on the roster for them"]
    if notes:
        prov["notes"] = list(notes)
    columns = [c for c in _register_columns(scan, ev, written) if c != "__row"]
    kinds = dict(scan.kinds)
    kinds.update({c: "str" for c in written})
    kinds.update({"member_count": "int", "assessment_year": "int", "pack": "str"})
    return ScannedResult(con, columns, kinds, counts, prov, findings, ev, notes)


def _fetch(con: Any, scan: Any, table: str, columns: list[str]) -> pd.DataFrame:
    """Columns of ``__hh`` / ``__mem`` as a pandas frame with the reader's dtypes, in roster order."""
    pos = "__row" if table == "__hh" else "__mrow"
    if not columns:
        return pd.DataFrame(index=pd.RangeIndex(scan.n_households if table == "__hh" else scan.n_members))
    return _frame(con.sql(f"SELECT {', '.join(_q(c) for c in columns)} FROM {table} ORDER BY {pos}").to_arrow_table(), scan.kinds)


def _pending_on_errors(con: Any, scan: Any, findings: pd.DataFrame) -> None:
    """Households with error findings (--allow-errors) → 待核实 with the findings as 未识别原因 (as core.identify)."""
    from fupin_cli.core.identify import DATA_ERROR_PREFIX, error_reasons
    from fupin_cli.roster import Roster
    from fupin_cli.schema import STATUS_PENDING

    if not (findings["severity"] == "error").any():
        return
    keys = ["household_id", *PROVENANCE_COLUMNS]
    hh = _fetch(con, scan, "__hh", [c for c in keys if c in scan.household_columns])
    mem = _fetch(con, scan, "__mem", [c for c in keys if c in scan.member_columns]) if scan.n_members else pd.DataFrame()
    reasons = error_reasons(Roster(hh, mem, sources=scan.sources), findings)
    has = reasons.notna().to_numpy()
    if not has.any():
        return
    import pyarrow as pa

    pos = np.flatnonzero(has)
    con.register("__reasons", pa.table({"__p": pa.array(pos, type=pa.int64()),
                                        "__t": pa.array((DATA_ERROR_PREFIX + reasons.iloc[pos].astype(str)).tolist(), type=pa.string())}))
    con.execute(f"UPDATE {REGISTER} SET status = {_lit(STATUS_PENDING)}, attribute = NULL, not_identified_reason = r.__t "
                f"FROM __reasons AS r WHERE {REGISTER}.__row = r.__p")
    con.unregister("__reasons")


def _availability(scan: Any, pack: Any, year: int, region: str | None, policy: Any) -> Any:
    """The pack as it can run on the roster's columns (``engine.inputs``): the run stops as the pandas path
    stops (``check_policy``); the query is compiled from this effective pack (absent alternatives dropped, rules
    with absent inputs evaluated both ways and not evaluated where the two disagree, as the pandas evaluator does)."""
    from fupin_cli.engine.evaluate import used_params
    from fupin_cli.engine.inputs import InputPolicy, analyse, check_policy
    from fupin_cli.engine.params import resolve_many

    policy = policy or InputPolicy()
    values = {k: v.value for k, v in resolve_many(pack, used_params(pack, year), year, region or pack.meta.region).items()}
    households = pd.DataFrame(columns=scan.household_columns)  # analyse reads the columns present and whether members exist
    members = pd.DataFrame(columns=scan.member_columns, index=pd.RangeIndex(1 if scan.n_members else 0))
    avail = analyse(pack, year, households, members, policy, values)
    check_policy(pack, avail, scan, policy)
    return avail, policy


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _ages(con: Any, scan: Any, pack: Any, year: int) -> np.ndarray | None:
    """Members' ages (``engine.derive.member_ages``, vectorised) when the pack reads ``age``; None otherwise."""
    from fupin_cli.engine import ir
    from fupin_cli.engine.derive import member_ages

    uses = any("age" in ir.names(node) for nodes in pack.derived_ir.values() for node in nodes.values()) or any(
        r.level == "members" and r.active(year) and r.id in pack.conditions and "age" in ir.names(pack.conditions[r.id]) for r in pack.rules)
    if not uses or not scan.n_members:
        return None
    cols = [c for c in ("birth_date", "id_number") if c in scan.member_columns]
    if not cols:
        return np.full(scan.n_members, np.nan)
    frame = _frame(con.sql(f"SELECT {', '.join(_q(c) for c in cols)} FROM __mem ORDER BY __mrow").to_arrow_table(), scan.kinds)
    return member_ages(frame, year)


def _frame(table: Any, kinds: dict[str, str]) -> pd.DataFrame:
    """Arrow columns as the reader's pandas dtypes (str, Int64, Float64, boolean, datetime64[ns])."""
    import pyarrow as pa

    str_dtype = pd.StringDtype("pyarrow", na_value=np.nan)  # the reader's text dtype (io.read_grid.STR)
    out = {}
    for name in table.column_names:
        col = table.column(name).combine_chunks()
        kind = kinds.get(name, "str")
        if kind == "int":
            vals = col.cast(pa.int64())
            out[name] = pd.arrays.IntegerArray(np.asarray(vals.fill_null(0).to_numpy(zero_copy_only=False), dtype=np.int64),
                                               np.asarray(vals.is_null().to_numpy(zero_copy_only=False), dtype=bool))
        elif kind in ("float", "money"):
            vals = col.cast(pa.float64())
            out[name] = pd.arrays.FloatingArray(np.nan_to_num(vals.fill_null(0.0).to_numpy(zero_copy_only=False)),
                                                np.asarray(vals.is_null().to_numpy(zero_copy_only=False), dtype=bool))
        elif kind == "bool":
            out[name] = pd.arrays.BooleanArray(np.asarray(col.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool),
                                               np.asarray(col.is_null().to_numpy(zero_copy_only=False), dtype=bool))
        elif kind == "date":
            out[name] = np.asarray(col.cast(pa.timestamp("ns")).to_numpy(zero_copy_only=False), dtype="datetime64[ns]")
        else:
            out[name] = pd.array(col.cast(pa.large_string()), dtype=str_dtype)
    return pd.DataFrame(out)


def _register_columns(scan: Any, ev: Any, decision_columns: list[str]) -> list[str]:
    known = [c for c in HOUSEHOLD_FIELD_NAMES if c in scan.household_columns]
    passthrough = [c for c in scan.household_columns if c not in known and not str(c).startswith("_")]
    estimates = list(_estimate_labels(ev))
    return ["__row", *known, *passthrough, *decision_columns, *estimates, "member_count", "assessment_year", "pack", SOURCE_ROW]


def _estimate_labels(ev: Any) -> dict[str, str]:
    from fupin_cli.core.identify import estimate_columns

    return {name: rule_id for (name, _), rule_id in zip(estimate_columns(ev).items(), getattr(ev, "values", pd.DataFrame()).columns)}


def _register(con: Any, scan: Any, ev: Any, decisions: pd.DataFrame, year: int, pack: Any) -> None:
    """``__register``: the roster's household columns + decision columns (as core.identify.register_households)."""
    import pyarrow as pa

    from fupin_cli.core.identify import estimate_columns

    data = {"__d_row": pa.array(np.arange(len(decisions), dtype=np.int64))}
    for col in _decision_columns(decisions):
        text = _text(decisions[col]) if col in decisions.columns else pd.Series(pd.NA, index=decisions.index, dtype="str")
        arr = pa.array(text.astype("str").array)
        data[f"__d_{col}"] = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    estimates = estimate_columns(ev)
    for i, (name, values) in enumerate(estimates.items()):
        data[f"__e_{i}"] = pa.array(values.to_numpy(dtype="float64", na_value=np.nan), type=pa.float64(), from_pandas=True)
    con.register("__dec_arrow", pa.table(data))
    known = [c for c in HOUSEHOLD_FIELD_NAMES if c in scan.household_columns]
    passthrough = [c for c in scan.household_columns if c not in known and not str(c).startswith("_")]
    if scan.n_members:
        con.execute("CREATE OR REPLACE TEMP TABLE __counts AS SELECT household_id AS __c_id, count(*) AS __c_n FROM __mem "
                    "WHERE household_id IS NOT NULL GROUP BY household_id")
        count_sql, count_join = "coalesce(c.__c_n, 0)", "LEFT JOIN __counts AS c ON h.household_id = c.__c_id"
    else:
        count_sql, count_join = "NULL", ""
    items = ["h.__row"] + [f"h.{_q(c)}" for c in known + passthrough]
    items += [f"d.{_q('__d_' + c)} AS {_q(c)}" for c in _decision_columns(decisions)]
    items += [f"d.{_q(f'__e_{i}')} AS {_q(name)}" for i, name in enumerate(estimates)]
    items += [f"CAST({count_sql} AS BIGINT) AS member_count", f"CAST({int(year)} AS BIGINT) AS assessment_year",
              f"{_lit(pack_label(pack))} AS pack", f"h.{_q(SOURCE_ROW)}"]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {REGISTER} AS SELECT {', '.join(items)} FROM __hh AS h "
                f"JOIN __dec_arrow AS d ON d.__d_row = h.__row {count_join}")
    con.unregister("__dec_arrow")
    scan.kinds.update({name: "float" for name in estimates})


def _sql_decisions(ev: Any) -> pd.DataFrame:
    """The decision columns the query computed, texts included (``engine/texts_sql.py``), as
    ``engine.decide.identification`` returns them: 未评估规则 only when some rule was not evaluated for some household."""
    from fupin_cli.errors import RuleError

    decisions = ev.sql_decisions
    if decisions is None:  # as decide.identification
        raise RuleError(f"rule pack {ev.pack.ident} has no criterion rules for {ev.year}", hint="add rules with kind: criterion")
    if not ev.not_evaluated:
        return decisions.drop(columns=["not_evaluated"], errors="ignore")
    if "not_evaluated" not in decisions.columns:  # no rule of an identification kind among them
        decisions = decisions.assign(not_evaluated=pd.Series("", index=decisions.index, dtype="str"))
    return decisions


def _decision_columns(decisions: pd.DataFrame) -> list[str]:
    """The register's decision columns (core.identify.register_households): 未评估规则 only when some rule was not evaluated."""
    return [*DECISION_COLUMNS, *(["not_evaluated"] if "not_evaluated" in decisions.columns else [])]


def _lit(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"
