"""Derived fields: member aggregates and household formulas, computed vectorised.

Member conditions are compiled on the members frame, then aggregated per household with
``np.bincount`` on integer household codes (no groupby-apply, no Python loop over
households).  Empty aggregates: ``count`` 0, ``any`` false, ``all`` true, ``sum`` 0,
``min``/``max`` missing.  Unknown member values: ``any`` is true if some member is true,
else unknown if some member is unknown; ``all`` is false if some member is false, else
unknown if some is unknown; ``count``/``sum``/``min``/``max`` are missing when any member
they depend on is unknown.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine.compile_pandas import FrameEvaluator, bool_array, to_date, to_str
from fupin_cli.engine.model import DerivedAgg
from fupin_cli.engine.typecheck import BUILTIN_MEMBER, Ty, field_type, member_scope

if TYPE_CHECKING:
    from fupin_cli.engine.loader import Pack


def member_types() -> dict[str, Ty]:
    types = {f.name: field_type(f) for f in schema.MEMBER_FIELDS}
    types["household_id"] = Ty("str")
    types.update({k: t for k, (_, t) in BUILTIN_MEMBER.items()})
    return types


def household_types(pack: Pack) -> dict[str, Ty]:
    types = {f.name: field_type(f) for f in schema.HOUSEHOLD_FIELDS}
    types.update(pack.field_types)
    return types


def birth_years_from_ids(ids: pd.Series) -> np.ndarray:
    """Birth year from resident ID numbers (digits 7–10 of 18, or '19' + digits 7–8 of 15)."""
    try:  # prefer the shared, checked implementation when present
        from fupin_cli import idnumber

        dates = idnumber.birth_dates(ids)
        arr = to_date(pd.Series(dates))
        years = arr.astype("datetime64[Y]").astype("int64").astype("float64") + 1970
        years[np.isnat(arr)] = np.nan
        return years
    except Exception:
        pass
    s = to_str(ids).str.strip().str.upper()
    n = s.str.len()
    y18 = pd.to_numeric(s.str.slice(6, 10).where(n == 18), errors="coerce")
    y15 = pd.to_numeric(("19" + s.str.slice(6, 8)).where(n == 15), errors="coerce")
    years = y18.fillna(y15).to_numpy(dtype="float64", na_value=np.nan)
    years[(years < 1880) | (years > 2100)] = np.nan
    return cast(np.ndarray, years)


def member_ages(members: pd.DataFrame, year: int) -> np.ndarray:
    """Whole years on 31 December of ``year`` (so: year − birth year); NaN when unknown."""
    n = len(members)
    births = np.full(n, np.nan)
    if "birth_date" in members.columns:
        d = to_date(members["birth_date"])
        births = d.astype("datetime64[Y]").astype("int64").astype("float64") + 1970
        births[np.isnat(d)] = np.nan
    if "id_number" in members.columns and np.isnan(births).any():
        births = np.where(np.isnan(births), birth_years_from_ids(members["id_number"]), births)
    age = year - births
    age[age < 0] = np.nan  # born after the assessment year: not a member yet
    return age


def _arrow(text: pd.Series) -> Any:
    """pyarrow view of a ``str`` Series (no copy when Arrow-backed)."""
    import pyarrow as pa

    arr = getattr(text.array, "_pa_array", None)
    if arr is None:
        arr = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
    return arr


def _index_in(keys: Any, value_set: Any) -> np.ndarray:
    """Position of each key in ``value_set`` (hash lookup in C++), −1 when absent or missing."""
    import pyarrow.compute as pc

    pos = pc.fill_null(pc.index_in(keys, value_set=value_set, skip_nulls=True), -1)
    return np.asarray(pos.to_numpy(zero_copy_only=False), dtype=np.intp)


class HouseholdCodes:
    """Maps members to household rows: integer bucket codes for bincount."""

    def __init__(self, households: pd.DataFrame, members: pd.DataFrame):
        import pyarrow.compute as pc

        hh = to_str(households["household_id"]) if "household_id" in households.columns else pd.Series([], dtype="str")
        ids = _arrow(hh)
        uniq = pc.unique(pc.drop_null(ids))  # in order of first appearance, like pd.unique
        self.n_buckets = len(uniq)
        self.household_bucket = _index_in(ids, uniq)  # per household row
        if len(members) and "household_id" in members.columns:
            self.member_bucket = _index_in(_arrow(to_str(members["household_id"])), uniq)
        else:
            self.member_bucket = np.full(len(members), -1, dtype=np.intp)
        self.valid = self.member_bucket >= 0

    def per_household(self, per_bucket: np.ndarray, empty: Any) -> np.ndarray:
        """Bucket values → household rows (households without an id get ``empty``)."""
        out = per_bucket[np.clip(self.household_bucket, 0, None)] if self.n_buckets else np.full(len(self.household_bucket), empty)
        if (self.household_bucket < 0).any():
            out = out.copy()
            out[self.household_bucket < 0] = empty
        return out

    def member_counts(self) -> np.ndarray:
        """Members per household row (0 for households without members or without an id)."""
        return self.per_household(np.bincount(self.member_bucket[self.valid], minlength=self.n_buckets), 0).astype(np.int64)

    def household_row_of_members(self) -> np.ndarray:
        """Position of each member's household (its first row with that 户编号), −1 when unknown."""
        first = np.full(self.n_buckets, -1, dtype=np.intp)
        buckets, rows = np.unique(self.household_bucket, return_index=True)
        keep = buckets >= 0
        first[buckets[keep]] = rows[keep]
        return np.where(self.valid, first[np.clip(self.member_bucket, 0, None)], -1) if self.n_buckets else np.full(len(self.member_bucket), -1, dtype=np.intp)

    def bincount(self, select: np.ndarray, weights: np.ndarray | None = None) -> np.ndarray:
        sel = select & self.valid
        codes = self.member_bucket[sel]
        w = None if weights is None else weights[sel]
        return np.bincount(codes, weights=w, minlength=self.n_buckets).astype("float64")


def aggregate(model: DerivedAgg, nodes: dict[str, ir.Node], mem: FrameEvaluator, codes: HouseholdCodes) -> Any:
    """One member aggregate, as the internal representation over household rows."""
    m = mem.n
    if "where" in nodes:
        cond = mem.eval_bool(nodes["where"])
        true = cond.to_numpy(dtype=bool, na_value=False)
        unknown = cond.isna()
    else:
        true = np.ones(m, dtype=bool)
        unknown = np.zeros(m, dtype=bool)
    false = ~true & ~unknown
    has_unknown = codes.per_household(codes.bincount(unknown) > 0, False)
    agg = model.agg
    if agg == "count":
        cnt = codes.per_household(codes.bincount(true), 0.0)
        return np.where(has_unknown, np.nan, cnt)
    if agg == "any":
        t = codes.per_household(codes.bincount(true) > 0, False)
        return bool_array(t, ~t & has_unknown)
    if agg == "all":
        f = codes.per_household(codes.bincount(false) > 0, False)
        return bool_array(~f, ~f & has_unknown)
    value = mem.eval(nodes["of"])
    is_date = isinstance(value, np.ndarray) and value.dtype.kind == "M"
    value = mem.as_date(value) if is_date else mem.as_num(value)
    nums = value.astype("int64").astype("float64") if is_date else value
    missing = np.isnat(value) if is_date else np.isnan(value)
    nums = np.where(missing, np.nan, nums)
    bad = unknown | (true & missing)
    has_bad = codes.per_household(codes.bincount(bad) > 0, False)
    if agg == "sum":
        total = codes.per_household(codes.bincount(true & ~missing, np.nan_to_num(nums)), 0.0)
        return np.where(has_bad, np.nan, total)
    sel = true & ~missing & codes.valid
    out = np.full(codes.n_buckets, np.nan)
    if sel.any():
        s = pd.Series(nums[sel]).groupby(codes.member_bucket[sel])
        red = s.min() if agg == "min" else s.max()
        out[red.index.to_numpy()] = red.to_numpy()
    res = codes.per_household(out, np.nan)
    res = np.where(has_bad, np.nan, res)
    if is_date:
        ints = np.where(np.isnan(res), np.iinfo("int64").min, res).astype("int64")
        return ints.astype("datetime64[ns]")
    return res


def compute_derived(pack: Pack, households: pd.DataFrame, members: pd.DataFrame, year: int, params: dict[str, Any],
                    derived_ir: dict[str, Any] | None = None, absent: Any = ()) -> tuple[FrameEvaluator, FrameEvaluator]:
    """Evaluators over households (with every derived field set) and members (with ``age``).

    ``derived_ir``: the derived fields' nodes as they can run on this roster (``inputs.analyse``);
    ``absent``: derived fields whose inputs the roster lacks (left missing, never computed)."""
    members = members if members is not None else pd.DataFrame()
    derived_ir = pack.derived_ir if derived_ir is None else derived_ir
    mem = FrameEvaluator(members, member_types(), params)
    needs_age = any("age" in ir.names(node) for nodes in pack.derived_ir.values() for node in nodes.values()) or any(
        r.level == "members" and r.id in pack.conditions and "age" in ir.names(pack.conditions[r.id]) for r in pack.rules
    )
    if needs_age:
        mem.set_column("age", member_ages(members, year))
    hh = FrameEvaluator(households, household_types(pack), params)
    codes: HouseholdCodes | None = None
    for model in pack.derived:
        nodes = derived_ir[model.id]
        if model.id in absent:
            from fupin_cli.engine.compile_pandas import missing_of

            hh.set_column(model.id, missing_of(hh.types[model.id], hh.n))
            continue
        if isinstance(model, DerivedAgg):
            if codes is None:
                codes = HouseholdCodes(households, members)
            hh.set_column(model.id, aggregate(model, nodes, mem, codes))
        else:
            hh.set_column(model.id, hh.eval(nodes["expr"]))
    hh.codes = codes  # reused by the register (member counts, members' household rows)
    _ = member_scope  # (member names are type-checked at load time)
    return hh, mem
