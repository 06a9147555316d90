"""``evaluate(roster, pack, year, region)``: derived fields and every household-level rule.

Only the parameters used by the active rules and the derived fields are resolved, and
each lookup is recorded in ``Evaluation.params`` (value, year in force, region, source).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from fupin_cli.engine import ir
from fupin_cli.engine.compile_pandas import FrameEvaluator, to_series
from fupin_cli.engine.derive import compute_derived, household_types, member_types
from fupin_cli.engine.details import DetailBuilder
from fupin_cli.engine.inputs import (
    Availability,
    InputPolicy,
    RuleNotEvaluated,
    analyse,
    check_policy,
    has_absent,
    substitute,
)
from fupin_cli.engine.inputs import field_label as input_label
from fupin_cli.engine.loader import Pack
from fupin_cli.engine.model import param_ref
from fupin_cli.engine.params import ParamValue, check_era, region_chain, resolve_many
from fupin_cli.engine.typecheck import BOOL as _BOOL
from fupin_cli.engine.typecheck import BUILTIN_MEMBER
from fupin_cli.engine.typecheck import FLOAT as _NUM

if TYPE_CHECKING:
    import pyarrow as pa
    
    from fupin_cli.engine.derive import HouseholdCodes
    from fupin_cli.engine.model import AnyRule

FRAME_KINDS = ("village_exit", "county_exit", "poor_village")


@dataclass
class Evaluation:
    pack: Pack
    year: int
    region: str
    households: pd.DataFrame  # roster households + derived fields (same index)
    members: pd.DataFrame
    results: pd.DataFrame  # rule id → boolean (NA = unknown), household-level rules active in the year
    values: pd.DataFrame  # estimate rule id → Float64
    member_results: pd.DataFrame  # check rules over members: rule id → boolean (members index)
    params: dict[str, ParamValue]
    _hh: FrameEvaluator = field(repr=False, default=None)  # type: ignore[assignment]
    _mem: FrameEvaluator = field(repr=False, default=None)  # type: ignore[assignment]
    _details: pd.DataFrame | None = field(repr=False, default=None)
    _detail_builder: DetailBuilder | None = field(repr=False, default=None)
    backend: str = "pandas"  # which backend computed results/values (and sql_decisions' texts; detail_texts are the pandas builder's)
    sql_decisions: pd.DataFrame | None = field(repr=False, default=None)  # duckdb/spark: decision columns and texts computed in SQL
    sql_details: pd.DataFrame | None = field(repr=False, default=None)  # duckdb: deciding-values texts built in SQL (``details=``)
    # absent inputs (engine/inputs.py): the pack as it could run on this roster, and per rule the
    # households (numpy bool mask) for which it was not evaluated
    availability: Availability | None = field(repr=False, default=None)
    not_evaluated: dict[str, np.ndarray] = field(default_factory=dict)
    # per not-evaluated rule: households whose decision it could have changed (set by decide.*)
    affected: dict[str, np.ndarray] = field(default_factory=dict)
    policy: InputPolicy = field(default_factory=InputPolicy)

    @property
    def analysis(self) -> Availability:
        """The input analysis: set whenever a rule was not evaluated (the only time it is asked for)."""
        if self.availability is None:
            raise AssertionError("evaluation without an input analysis")
        return self.availability

    def condition(self, rule_id: str) -> ir.Node | None:
        """The rule's condition as evaluated on this roster (absent alternatives dropped)."""
        if self.availability is not None and rule_id in self.availability.conditions:
            return cast("ir.Node | None", self.availability.conditions[rule_id])
        return self.pack.conditions.get(rule_id)

    def not_evaluated_mask(self, rule_id: str) -> np.ndarray | None:
        """Households for which ``rule_id`` could not be evaluated (None: evaluated everywhere)."""
        return self.not_evaluated.get(rule_id)

    def not_evaluated_rules(self, kinds: Any = None) -> list[RuleNotEvaluated]:
        """Every active rule (of ``kinds``) not evaluated for some household, in pack order, with counts
        (households not evaluated; households whose decision it could have changed, when known)."""
        out = []
        affected = self.affected
        allowed = self.policy.allow_missing
        for r in self.pack.rules:
            mask = self.not_evaluated.get(r.id)
            if mask is None or (kinds is not None and r.kind not in kinds):
                continue
            fields = tuple(sorted(self.analysis.rule_fields[r.id]))
            out.append(RuleNotEvaluated(r.id, r.kind, r.label, fields, int(mask.sum()),
                                        int(affected[r.id].sum()) if affected and r.id in affected else int(mask.sum()),
                                        set(fields) <= set(allowed)))
        return out

    def rule(self, rule_id: str) -> AnyRule:
        return self.pack.rule(rule_id)

    def rules_of(self, kind: str) -> list[Any]:
        """Active rules of ``kind`` in pack order."""
        return [r for r in self.pack.rules_of(kind, self.year) if r.id in self.results.columns or r.id in self.member_results.columns]

    def label(self, name: str) -> str:
        return field_label(self.pack, name)

    @property
    def details(self) -> pd.DataFrame:
        """Deciding-values text of every household rule for every household (computed once)."""
        if self._details is None:
            self._details = self.details_for(list(self.results.columns))
        return self._details

    def details_for(self, rule_ids: list[str], mask: Any = None) -> pd.DataFrame:
        """Deciding-values text of ``rule_ids`` for the households where ``mask`` holds."""
        n = len(self.households)
        sel = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        rows = np.flatnonzero(sel)
        builder = self._builder()
        data = {rid: self._rule_text(builder, rid, rows) for rid in rule_ids}
        return pd.DataFrame(data, index=self.households.index[rows], columns=rule_ids, dtype=object)

    def _rule_text(self, builder: DetailBuilder, rule_id: str, rows: np.ndarray) -> Any:
        from fupin_cli.engine.details import to_objects

        return to_objects(self._rule_text_arrow(builder, rule_id, rows, self.not_evaluated.get(rule_id)))

    def _rule_text_arrow(self, builder: DetailBuilder, rule_id: str, rows: np.ndarray, ne: np.ndarray | None) -> pa.Array:
        """Deciding values of a rule at ``rows``; where it was not evaluated, which columns are missing."""
        node = self.condition(rule_id)
        if not has_absent(node):
            return builder.rule_text_arrow(node, rows)
        if ne is None:  # an absent part that decided no household (both valuations agree): text of the agreeing one
            ne = np.zeros(len(self.households), dtype=bool)
        from fupin_cli.engine.details import not_evaluated_text, where

        ne_rows = ne[rows]
        result = self.results[rule_id].to_numpy(dtype=bool, na_value=False)[rows] if rule_id in self.results else np.zeros(len(rows), bool)
        # decided rows: the text of the valuation that agrees with the result without the absent part
        as_true = builder.rule_text_arrow(substitute(node, True), rows)
        as_false = builder.rule_text_arrow(substitute(node, False), rows)
        decided = where(result, as_false, as_true)
        if not ne_rows.any():
            return decided
        missing = not_evaluated_text(self.analysis.rule_fields[rule_id], lambda f: input_label(f, self.pack))
        return where(ne_rows, missing, decided)

    def detail_texts(self, rule_id: str, mask: Any) -> pa.Array:
        """Deciding-values text of one household rule where ``mask`` holds (Arrow text array, "" = none)."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        return self._rule_text_arrow(self._builder(), rule_id, rows, self.not_evaluated.get(rule_id))

    def household_codes(self) -> HouseholdCodes:
        """Members → household rows (``derive.HouseholdCodes``), built once and shared."""
        from fupin_cli.engine.derive import HouseholdCodes

        if self._hh.codes is None:
            self._hh.codes = HouseholdCodes(self.households, self.members)
        return cast(HouseholdCodes, self._hh.codes)

    def _builder(self) -> DetailBuilder:
        if self._detail_builder is None:
            self._detail_builder = DetailBuilder(self._hh, household_types(self.pack), self.label, self.params)
        return self._detail_builder

    def member_details_for(self, rule_ids: list[str], mask: Any = None) -> pd.DataFrame:
        n = len(self.members)
        sel = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        rows = np.flatnonzero(sel)
        builder = DetailBuilder(self._mem, member_types(), self.label, self.params)
        data = {rid: builder.rule_text(self.condition(rid), rows) for rid in rule_ids}
        return pd.DataFrame(data, index=self.members.index[rows], columns=rule_ids, dtype=object)

    def household_condition(self, node: ir.Node) -> pd.Series:
        """A typed household condition outside the pack's rules (e.g. an MPI indicator) as a boolean
        Series (NA = unknown); parameters it needs are resolved for the year and recorded in ``params``."""
        wanted = ir.params(node) - set(self.params)
        if wanted:
            extra = resolve_many(self.pack, wanted, self.year, self.region)
            self.params.update(extra)
            self._hh.params.update({k: v.value for k, v in extra.items()})
        return to_series(self._hh.eval_bool(node), _BOOL, self.households.index)

    def provenance(self) -> dict[str, Any]:
        return {
            **self.pack.provenance(),
            "year": self.year,
            "region": self.region,
            "parameters": {k: v.to_dict() for k, v in sorted(self.params.items())},
            "not_evaluated": [r.to_dict(self.pack) for r in self.not_evaluated_rules()],  # every kind
        }


def field_label(pack: Pack, name: str) -> str:
    """Chinese label of a canonical, derived or built-in field."""
    if name in BUILTIN_MEMBER:
        return BUILTIN_MEMBER[name][0]
    return pack.derived_label(name)


def used_params(pack: Pack, year: int, levels: tuple[str, ...] = ("households", "members")) -> set[str]:
    names: set[str] = set()
    for nodes in pack.derived_ir.values():
        for node in nodes.values():
            names |= ir.params(node)
    for r in pack.rules:
        if r.active(year) and r.level in levels:
            if r.id in pack.conditions:
                names |= ir.params(pack.conditions[r.id])
            if r.id in pack.values:
                names |= ir.params(pack.values[r.id])
            ref = param_ref(getattr(r, "mode", None) if r.kind == "exclusion" else getattr(r, "value", None) if r.kind == "status" else None)
            if ref:
                names.add(ref)
    return names


BACKENDS = ("pandas", "duckdb", "spark")


def evaluate(roster: Any, pack: Pack, year: int, region: str | None = None, policy: InputPolicy | None = None,
             availability: Availability | None = None, *, era: bool = True, backend: str = "pandas", spark: Any = None) -> Evaluation:
    """Evaluate ``pack`` for ``year``/``region`` on a Roster (or anything with households/members).

    Rules whose inputs the roster lacks are not evaluated (``engine/inputs.py``); ``policy``
    says when that stops the run (likely columns, required fields, ``--strict``).  ``availability``:
    an analysis made on a larger roster this one is part of (``explain``), used as is.
    ``era``: refuse a year outside the pack's years (``pack.valid_from``/``valid_until``);
    ``validate`` passes False (its checks are data quality, not the pack's policy).
    ``backend="duckdb"`` computes the derived fields and rules as SQL in an in-process DuckDB
    (``engine/compile_sql.py``); the results are the same.  ``backend="spark"`` runs the same
    query in Spark SQL (``engine/spark.py``; ``spark``: a SparkSession, default ``engine.spark.session()``,
    needs ``pip install "fupin[spark]"`` and Java)."""
    if era:
        check_era(pack, year)
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
    region = region or pack.meta.region
    region_chain(pack, region)  # unknown region → RuleError
    policy = policy or InputPolicy()
    households = roster.households
    members = roster.members if getattr(roster, "members", None) is not None else pd.DataFrame(columns=["household_id"])
    params = resolve_many(pack, used_params(pack, year), year, region)
    values = {k: v.value for k, v in params.items()}
    if availability is None:
        avail = analyse(pack, year, households, members, policy, values)
        check_policy(pack, avail, roster, policy)
    else:
        avail = availability
    if backend in ("duckdb", "spark"):
        # The SQL compiler has no not-evaluated rules yet: when absent inputs change the pack
        # (rules not evaluated, absent alternatives dropped) the pandas evaluator runs (``Evaluation.backend`` says which one computed the results).
        from fupin_cli.engine.compile_sql import evaluate_duckdb, sql_can_run

        if sql_can_run(pack, avail):
            if backend == "spark":
                from fupin_cli.engine.spark import evaluate_spark

                ev = evaluate_spark(roster, pack, year, region, spark=spark, checked=True)
            else:
                ev = evaluate_duckdb(roster, pack, year, region, checked=True)
            ev.availability, ev.policy = avail, policy
            return ev
    hh, mem = compute_derived(pack, households, members, year, values, avail.derived_ir, avail.derived_absent)
    index = households.index
    derived_cols = {}
    for d in pack.derived:
        derived_cols[d.id] = to_series(hh.column(d.id), pack.field_types[d.id], index)
    if derived_cols:
        keep = households.drop(columns=[c for c in derived_cols if c in households.columns])
        out_households = pd.concat([keep, pd.DataFrame(derived_cols, index=index)], axis=1)
    else:
        out_households = households
    results: dict[str, pd.Series] = {}
    estimates: dict[str, pd.Series] = {}
    member_results: dict[str, pd.Series] = {}
    not_evaluated: dict[str, np.ndarray] = {}
    bool_ty = _BOOL
    for r in pack.rules:
        if not r.active(year) or r.kind in FRAME_KINDS or getattr(r, "builtin", None):
            continue  # a `builtin:` check rule is run by validate's built-in check, not here
        node = avail.conditions.get(r.id)
        frame_ev, frame_index = (mem, members.index) if r.level == "members" else (hh, index)
        value, ne = _eval_condition(frame_ev, node)
        if ne is not None and ne.any():
            not_evaluated[r.id] = ne
        series = to_series(value, bool_ty, frame_index)
        if r.level == "members":
            member_results[r.id] = series
            continue
        results[r.id] = series
        if r.kind == "estimate":
            val = avail.values.get(r.id, pack.values[r.id])
            if has_absent(val):
                estimates[r.id] = pd.Series(np.nan, index=index, dtype="Float64")
                continue
            num = hh.eval_num(val)
            s = to_series(num, _NUM, index)
            estimates[r.id] = s.where(results[r.id].fillna(False).to_numpy(dtype=bool))
    mem.memo.clear()  # member-level intermediates (millions of rows) are recomputed if ever needed again
    return Evaluation(
        pack=pack, year=year, region=region, households=out_households, members=members,
        results=pd.DataFrame(results, index=index),
        values=pd.DataFrame(estimates, index=index),
        member_results=pd.DataFrame(member_results, index=members.index),
        params=params, _hh=hh, _mem=mem,
        availability=avail, not_evaluated=not_evaluated, policy=policy,
    )


def _eval_condition(fe: FrameEvaluator, node: Any) -> tuple[Any, ...]:
    """(boolean result, not-evaluated mask or None) of a condition that may hold absent parts.

    Without absent parts: the plain result.  With them, the condition is evaluated with the
    absent parts as true and as false: where both agree (and are known) the household is
    decided; where both are unknown the result is unknown (a blank cell); elsewhere the rule
    is not evaluated for the household, and its result is false (it never fires, never counts
    as met)."""
    if node is None:
        return fe.as_bool(True), None
    if not has_absent(node):
        return fe.as_bool(fe.eval_bool(node)), None
    vt = fe.as_bool(fe.eval_bool(substitute(node, True)))
    vf = fe.as_bool(fe.eval_bool(substitute(node, False)))
    t_val, t_na = vt.to_numpy(dtype=bool, na_value=False), np.asarray(vt.isna())
    f_val, f_na = vf.to_numpy(dtype=bool, na_value=False), np.asarray(vf.isna())
    decided = ~t_na & ~f_na & (t_val == f_val)
    unknown = t_na & f_na
    ne = ~decided & ~unknown
    from fupin_cli.engine.compile_pandas import bool_array

    return bool_array(np.where(decided, t_val, False), unknown), ne
