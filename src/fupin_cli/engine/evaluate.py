"""``evaluate(roster, pack, year, region)``: derived fields and every household-level rule.

Only the parameters used by the active rules and the derived fields are resolved, and
each lookup is recorded in ``Evaluation.params`` (value, year in force, region, source).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.engine import ir
from fupin_cli.engine.compile_pandas import FrameEvaluator, to_series
from fupin_cli.engine.derive import compute_derived, household_types, member_types
from fupin_cli.engine.details import DetailBuilder
from fupin_cli.engine.loader import Pack
from fupin_cli.engine.model import param_ref
from fupin_cli.engine.params import ParamValue, check_era, region_chain, resolve_many
from fupin_cli.engine.typecheck import BOOL as _BOOL, BUILTIN_MEMBER, FLOAT as _NUM

FRAME_KINDS = ("village_exit", "county_exit")


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
    backend: str = "pandas"  # which backend computed results/values (texts always come from the pandas evaluator)
    sql_decisions: pd.DataFrame | None = field(repr=False, default=None)  # duckdb: decision columns computed in SQL (no texts)

    def rule(self, rule_id: str):
        return self.pack.rule(rule_id)

    def rules_of(self, kind: str) -> list:
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
        data = {rid: builder.rule_text(self.pack.conditions.get(rid), rows) for rid in rule_ids}
        return pd.DataFrame(data, index=self.households.index[rows], columns=rule_ids, dtype=object)

    def detail_texts(self, rule_id: str, mask: Any):
        """Deciding-values text of one household rule where ``mask`` holds (Arrow text array, "" = none)."""
        rows = np.flatnonzero(np.asarray(mask, dtype=bool))
        return self._builder().rule_text_arrow(self.pack.conditions.get(rule_id), rows)

    def household_codes(self):
        """Members → household rows (``derive.HouseholdCodes``), built once and shared."""
        from fupin_cli.engine.derive import HouseholdCodes

        if self._hh.codes is None:
            self._hh.codes = HouseholdCodes(self.households, self.members)
        return self._hh.codes

    def _builder(self) -> DetailBuilder:
        if self._detail_builder is None:
            self._detail_builder = DetailBuilder(self._hh, household_types(self.pack), self.label, self.params)
        return self._detail_builder

    def member_details_for(self, rule_ids: list[str], mask: Any = None) -> pd.DataFrame:
        n = len(self.members)
        sel = np.ones(n, dtype=bool) if mask is None else np.asarray(mask, dtype=bool)
        rows = np.flatnonzero(sel)
        builder = DetailBuilder(self._mem, member_types(), self.label, self.params)
        data = {rid: builder.rule_text(self.pack.conditions.get(rid), rows) for rid in rule_ids}
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

    def provenance(self) -> dict:
        return {
            **self.pack.provenance(),
            "year": self.year,
            "region": self.region,
            "parameters": {k: v.to_dict() for k, v in sorted(self.params.items())},
        }


def field_label(pack: Pack, name: str) -> str:
    """Chinese label of a canonical, derived or built-in field."""
    if name in BUILTIN_MEMBER:
        return BUILTIN_MEMBER[name][0]
    return pack.derived_label(name)


def used_params(pack: Pack, year: int, levels=("households", "members")) -> set[str]:
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


BACKENDS = ("pandas", "duckdb")


def evaluate(roster, pack: Pack, year: int, region: str | None = None, *, era: bool = True, backend: str = "pandas") -> Evaluation:
    """Evaluate ``pack`` for ``year``/``region`` on a Roster (or anything with households/members).

    ``era``: refuse a year outside the pack's years (``pack.valid_from``/``valid_until``);
    ``validate`` passes False (its checks are data quality, not the pack's policy).
    ``backend="duckdb"`` computes the derived fields and rules as SQL in an in-process DuckDB
    (``engine/compile_sql.py``); the results are the same."""
    if era:
        check_era(pack, year)
    if backend == "duckdb":
        from fupin_cli.engine.compile_sql import evaluate_duckdb

        return evaluate_duckdb(roster, pack, year, region)
    if backend != "pandas":
        raise ValueError(f"unknown backend {backend!r} (one of {', '.join(BACKENDS)})")
    region = region or pack.meta.region
    region_chain(pack, region)  # unknown region → RuleError
    households = roster.households
    members = roster.members if getattr(roster, "members", None) is not None else pd.DataFrame(columns=["household_id"])
    params = resolve_many(pack, used_params(pack, year), year, region)
    values = {k: v.value for k, v in params.items()}
    hh, mem = compute_derived(pack, households, members, year, values)
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
    bool_ty = _BOOL
    for r in pack.rules:
        if not r.active(year) or r.kind in FRAME_KINDS or getattr(r, "builtin", None):
            continue  # a `builtin:` check rule is run by validate's built-in check, not here
        node = pack.conditions.get(r.id)
        if r.level == "members":
            value = mem.eval_bool(node) if node is not None else True
            member_results[r.id] = to_series(mem.as_bool(value), bool_ty, members.index)
            continue
        value = hh.eval_bool(node) if node is not None else True
        results[r.id] = to_series(hh.as_bool(value), bool_ty, index)
        if r.kind == "estimate":
            num = hh.eval_num(pack.values[r.id])
            s = to_series(num, _NUM, index)
            estimates[r.id] = s.where(results[r.id].fillna(False).to_numpy(dtype=bool))
    mem.memo.clear()  # member-level intermediates (millions of rows) are recomputed if ever needed again
    return Evaluation(
        pack=pack, year=year, region=region, households=out_households, members=members,
        results=pd.DataFrame(results, index=index),
        values=pd.DataFrame(estimates, index=index),
        member_results=pd.DataFrame(member_results, index=members.index),
        params=params, _hh=hh, _mem=mem,
    )

