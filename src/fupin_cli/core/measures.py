"""Poverty measures of a county: income poverty (FGT) against the year's line, targeting against the
registry, and the Alkire–Foster multidimensional poverty index (MPI).  See ``docs/measures.md``.

Person-weighted: every person carries the per-capita net income ``y_h`` of their household, so a
household counts ``n_h`` times, where ``n_h`` = 家庭人口数 (``household_size``) when it is given and
positive, else the number of member rows (``member_count``).

    P_α       = Σ n_h · max(0, (z − y_h)/z)^α / Σ n_h          (α = 0: 1[y_h < z])
    gap_yuan  = Σ n_h · max(0, z − y_h)
    near-line = Σ n_h · 1[z ≤ y_h < 1.5 z] / Σ n_h
    MPI       : c_h = Σ_j w_j · d_hj;  poor_h = c_h ≥ k;  H = Σ n_h poor_h / Σ n_h;
                M0 = Σ n_h poor_h c_h / Σ n_h;  A = M0 / H;
                censored headcount CH_j = Σ n_h poor_h d_hj / Σ n_h;  contribution_j = w_j CH_j / M0

A household whose income is unusable (missing, negative or not finite) or whose size is unknown is
left out of every measure, and counted and reported in ``unusable`` (never dropped silently).
An MPI indicator whose input columns are absent from the source (or blank in every row) is *not
evaluated*: the MPI is computed on the evaluated indicators with their weights rescaled (within
the dimension first, then across dimensions, as OPHI does for a missing indicator), and says so
(``mpi_partial`` and a warning).  With fewer than two evaluated indicators the MPI is not computed.
Where an evaluated indicator is unknown for a household (a blank cell), the household counts as not
deprived in it and the number of such households is reported per indicator.

The aggregates are one DuckDB ``GROUP BY`` per view over the household table; the bootstrap
(``sample=True``) resamples households with a seeded generator, vectorised per replicate.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, cast

import numpy as np
import pandas as pd

from fupin_cli.core.summary import UNKNOWN_AREA, records
from fupin_cli.engine import ir
from fupin_cli.errors import RuleError, UsageError
from fupin_cli.schema import FIELDS, REGISTRY_POOR, REGISTRY_RETURNED, STATUS_POOR

SENSITIVITY = (0.8, 1.0, 1.2, 1.5)  # multiples of the line
NEAR_LINE = 1.5  # near-line band: z ≤ y < 1.5 z
CURVE_POINTS = 41  # poverty-incidence curve: lines 0, 0.05 z, …, 2 z
SCORE_EPS = 1e-9  # c_h ≥ k with floating-point weights (1/6 · 2 ≥ 1/3)
MIN_INDICATORS = 2
NOT_REGISTERED = "(非贫困户)"  # group of households without a 主要致贫原因 / 贫困户属性 because they are not registered

BY_ALIASES = {
    "乡镇": "township", "township": "township", "乡(镇)": "township", "town": "township",
    "行政村": "village", "village": "village", "村": "village",
    "主要致贫原因": "primary_cause", "致贫原因": "primary_cause", "primary_cause": "primary_cause", "cause": "primary_cause",
    "贫困户属性": "attribute", "属性": "attribute", "attribute": "attribute",
}
BY_KEYS = {"township": ["township"], "village": ["township", "village"],
           "primary_cause": ["primary_cause"], "attribute": ["attribute"]}
BY_LABELS = {"township": "乡镇", "village": "行政村", "primary_cause": "主要致贫原因", "attribute": "贫困户属性"}

LABELS = {
    "households": "户数", "people": "人数", "fgt0": "贫困发生率 P0", "fgt1": "贫困深度 P1", "fgt2": "贫困强度 P2",
    "gap_yuan": "贫困缺口（元）", "near_line_share": "临界人口占比", "registered_people": "建档立卡贫困人口",
    "income_poor_people": "收入贫困人口", "inclusion_people": "错评人口（登记但收入不低于标准）",
    "exclusion_people": "漏评人口（收入低于标准但未登记）", "H": "多维贫困发生率 H", "A": "平均剥夺份额 A",
    "M0": "调整后多维贫困指数 M0", "township": "乡镇", "village": "行政村", "primary_cause": "主要致贫原因",
    "attribute": "贫困户属性", "multiple": "标准倍数", "line": "标准（元）",
}
MEASURE_COLUMNS = ["households", "people", "registered_people", "income_poor_people", "inclusion_people", "exclusion_people",
                   "fgt0", "fgt1", "fgt2", "gap_yuan", "near_line_share", "H", "A", "M0"]


def by_name(text: str) -> str:
    key = BY_ALIASES.get(text.strip()) or BY_ALIASES.get(text.strip().lower())
    if key is None:
        raise UsageError(f"--by {text}: unknown grouping", "use --by 乡镇, 行政村, 主要致贫原因 or 贫困户属性")
    return key


# ---- inputs ---------------------------------------------------------------------------------
def household_size(households: pd.DataFrame) -> np.ndarray:
    """n_h: 家庭人口数 when given and > 0, else member rows when > 0, else NaN (unusable)."""
    def col(name: str) -> np.ndarray:
        if name not in households.columns:
            return np.full(len(households), np.nan)
        return cast(np.ndarray, pd.to_numeric(households[name], errors="coerce").astype("Float64").to_numpy(dtype="float64", na_value=np.nan))

    size, count = col("household_size"), col("member_count")
    size = np.where(size > 0, size, np.nan)
    count = np.where(count > 0, count, np.nan)
    return np.where(np.isnan(size), count, size)


def registered(households: pd.DataFrame) -> np.ndarray:
    """Registered poor: 建档立卡状态 贫困户/返贫 when the register records it, else 识别结果 = 贫困户."""
    if "registry_status" in households.columns and households["registry_status"].notna().any():
        s = households["registry_status"].astype(object)
        return cast(np.ndarray, s.isin([REGISTRY_POOR, REGISTRY_RETURNED]).to_numpy())
    if "status" in households.columns:
        return cast(np.ndarray, (households["status"].astype(object) == STATUS_POOR).to_numpy())
    return np.zeros(len(households), dtype=bool)


def input_fields(pack: Any, node: ir.Node) -> set[str]:
    """Canonical schema fields an expression reads, through derived fields (built-in ``age`` excluded)."""
    out: set[str] = set()
    seen: set[str] = set()
    todo = list(ir.names(node))
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        if name in pack.derived_ir:
            for sub in pack.derived_ir[name].values():
                todo.extend(ir.names(sub))
        elif name in FIELDS:
            out.add(name)
    return out


def present_fields(households: pd.DataFrame, members: pd.DataFrame) -> set[str]:
    """Fields with a column holding at least one value (a column blank in every row tells nothing)."""
    out = set()
    for df in (households, members):
        if df is None:
            continue
        for c in df.columns:
            if c in FIELDS and df[c].notna().any():
                out.add(c)
    return out


# ---- result ---------------------------------------------------------------------------------
@dataclass
class Indicator:
    id: str
    label: str
    dimension: str
    weight: float  # as specified in the pack
    used_weight: float  # after rescaling for not-evaluated indicators (0 when not evaluated)
    evaluated: bool
    inputs: list[str]
    unknown_households: int = 0


@dataclass
class MeasuresResult:
    year: int
    line: float
    line_param: dict[str, Any]
    overall: pd.DataFrame  # one row: MEASURE_COLUMNS + per-indicator columns
    groups: dict[str, pd.DataFrame]  # by → rows with the key columns first
    indicators: list[Indicator]
    mpi_spec: dict[str, Any]
    mpi_computed: bool
    sensitivity: pd.DataFrame  # multiple, line, fgt0, fgt1, fgt2, gap_yuan (overall)
    curve: pd.DataFrame  # multiple, line, fgt0
    unusable: pd.DataFrame  # reason, households, people (people where the size is known)
    unusable_households: pd.DataFrame  # household_id, township, village, reason
    ci: dict[str, Any] | None = None  # {"overall": {m: [lo, hi]}, "groups": {by: [{group, m: [lo, hi]}]}}
    notes: list[str] = field(default_factory=list)
    programmes: dict[str, Any] = field(default_factory=dict)  # {"estimates": frame, "relocation": dict | None}

    def mpi_dict(self, row: pd.Series) -> dict[str, Any] | None:
        if not self.mpi_computed:
            return None
        m0 = _num(row["M0"])
        return {"H": _num(row["H"]), "A": _num(row["A"]), "M0": m0,
                "contribution": {i.id: _num(row.get(f"contrib_{i.id}")) for i in self.indicators if i.evaluated}}

    def record(self, row: pd.Series) -> dict[str, Any]:
        return {"people": int(row["people"]), "fgt0": _num(row["fgt0"]), "fgt1": _num(row["fgt1"]), "fgt2": _num(row["fgt2"]),
                "gap_yuan": _num(row["gap_yuan"]), "near_line_share": _num(row["near_line_share"]), "mpi": self.mpi_dict(row)}

    def targeting(self, row: pd.Series) -> dict[str, int]:
        return {k: int(row[k]) for k in ("households", "registered_people", "income_poor_people", "inclusion_people", "exclusion_people")}

    def to_json(self) -> dict[str, Any]:
        o = self.overall.iloc[0]
        groups: dict[str, list[Any]] = {}
        for by, df in self.groups.items():
            keys = BY_KEYS[by]
            groups[BY_LABELS[by]] = [
                {"group": {BY_LABELS.get(k, k): row[k] for k in keys}, **self.record(row), "targeting": self.targeting(row)}
                for _, row in df.iterrows()]
        return {
            "year": self.year,
            "line": self.line_param,
            "overall": self.record(o),
            "groups": groups,
            "targeting": self.targeting(o),
            "mpi_spec": self.mpi_spec,
            "mpi_indicators": [
                {"id": i.id, "label": i.label, "dimension": i.dimension, "weight": i.weight, "used_weight": i.used_weight,
                 "evaluated": i.evaluated, "inputs": i.inputs, "unknown_households": i.unknown_households,
                 "uncensored_headcount": _num(o.get(f"h_{i.id}")) if i.evaluated else None,
                 "censored_headcount": _num(o.get(f"ch_{i.id}")) if i.evaluated and self.mpi_computed else None}
                for i in self.indicators],
            "sensitivity": records(self.sensitivity),
            "unusable": records(self.unusable),
            "ci": self.ci,
            "programmes": {"estimates": records(self.programmes["estimates"]) if "estimates" in self.programmes else [],
                           "relocation": self.programmes.get("relocation")},
        }


def _num(v: Any) -> float | None:
    if v is None or v is pd.NA:
        return None
    f = float(v)
    return None if f != f else round(f, 10)


# ---- computing --------------------------------------------------------------------------------
def measures(households: pd.DataFrame, members: pd.DataFrame | None, ev: Any, *, by: Sequence[str] = (),
             sample: bool = False, replicates: int = 500, seed: int = 1, present: set[str] | None = None) -> MeasuresResult:
    """All measures for the households of an evaluation (``ev`` from :func:`fupin_cli.engine.evaluate`).

    ``households`` carries the registry (``status`` / ``registry_status``), the areas, the decided
    ``primary_cause`` / ``attribute`` and ``household_size`` / ``member_count``; ``present`` is the set
    of fields the source really holds (default: non-blank columns of ``households`` and ``members``).
    """
    pack, year = ev.pack, ev.year
    spec = pack.measures
    if spec is None:
        raise RuleError(f"rule pack {pack.name} has no measures: section (income field, line parameter, MPI)",
                        hint="add measures.yaml to the pack; see docs/measures.md")
    from fupin_cli.engine.params import resolve

    line_pv = resolve(pack, spec.line, year, ev.region)
    ev.params.setdefault(spec.line, line_pv)
    z = float(line_pv.value)
    if not z > 0:
        raise RuleError(f"parameter {spec.line} is {z} for {year}: a poverty line must be positive")
    mpi = pack.mpi_spec(year)
    bys = list(dict.fromkeys(by_name(b) for b in by))

    n = household_size(households)
    y_raw = pd.to_numeric(ev.households[spec.income], errors="coerce").astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    reason = np.full(len(households), "", dtype=object)
    reason[np.isinf(y_raw)] = "收入非有限数值"
    reason[(y_raw < 0) & ~np.isinf(y_raw)] = "收入为负数"
    reason[np.isnan(y_raw)] = "收入缺失"
    reason[(reason == "") & np.isnan(n)] = "家庭人口数未知"
    usable = reason == ""

    # indicators
    present = present if present is not None else present_fields(households, members)
    inds: list[Indicator] = []
    deprived: dict[str, np.ndarray] = {}
    for dim, ind in mpi.indicators:
        node = pack.mpi_ir[f"{mpi.id}.{ind.id}"]
        inputs = sorted(input_fields(pack, node))
        is_evaluated = bool(set(inputs) & present) if inputs else True
        item = Indicator(ind.id, ind.label, dim.id, ind.weight, 0.0, is_evaluated, inputs)
        if is_evaluated:
            values = ev.household_condition(node)
            unknown = values.isna().to_numpy()
            item.unknown_households = int((unknown & usable).sum())
            deprived[ind.id] = values.fillna(False).to_numpy(dtype=bool)
        inds.append(item)
    _rescale(inds, [d.id for d in mpi.dimensions])
    n_eval = sum(i.evaluated for i in inds)
    mpi_computed = n_eval >= MIN_INDICATORS
    notes: list[str] = []
    missing = [i for i in inds if not i.evaluated]
    if missing:
        names = "、".join(f"{i.label}（{'/'.join(FIELDS[f].zh for f in i.inputs) or i.id}）" for i in missing)
        if mpi_computed:
            notes.append(f"MPI computed on {n_eval} of {len(inds)} indicators: not evaluated (no such column in the source): "
                         f"{names}; their weight is shared among the evaluated indicators, so the index is not comparable "
                         "with the full specification")
        else:
            notes.append(f"MPI not computed: only {n_eval} of {len(inds)} indicators can be evaluated (not evaluated: {names})")
    for i in inds:
        if i.evaluated and i.unknown_households:
            notes.append(f"MPI indicator {i.label}: {i.unknown_households:,} households have no value (blank cell) and count "
                         "as not deprived in it")

    # household table (usable households only)
    keep = np.flatnonzero(usable)
    table = pd.DataFrame({"_pos": np.arange(len(keep), dtype=np.int64), "n": n[keep], "y": y_raw[keep],
                          "reg": registered(households)[keep]})
    score = np.zeros(len(keep))
    for i in inds:
        if i.evaluated:
            d = deprived[i.id][keep]
            table[f"d_{i.id}"] = d.astype(np.float64)
            score += i.used_weight * d
    table["c"] = score
    table["mp"] = (score >= mpi.k - SCORE_EPS) if mpi_computed else False
    reg = registered(households)
    for b in bys:
        for k in BY_KEYS[b]:
            if k not in table.columns:
                col = _key_column(households, k)
                if k in ("primary_cause", "attribute"):  # decided for registered households only
                    col = np.where(~reg & (col == UNKNOWN_AREA), NOT_REGISTERED, col)
                table[k] = col[keep]
    evaluated = [i for i in inds if i.evaluated]
    overall = _aggregate(table, [], z, evaluated, mpi_computed)
    groups = {b: _aggregate(table, BY_KEYS[b], z, evaluated, mpi_computed) for b in bys}
    sens = _sensitivity(table, z)
    curve = _curve(table, z)
    unusable = _unusable(reason, n)
    unusable_hh = _unusable_households(households, reason)
    if unusable["households"].sum():
        notes.append(f"{int(unusable['households'].sum()):,} households left out of every measure: "
                     + "; ".join(f"{r} {h:,} 户" for r, h in zip(unusable["reason"], unusable["households"])))
    ci = _bootstrap(table, z, bys, groups, evaluated, mpi_computed, replicates, seed) if sample else None
    spec_info = {"id": mpi.id, "label": mpi.label, "k": mpi.k, "from": mpi.from_, "until": mpi.until,
                 "source": mpi.source, "verified": mpi.verified, "partial": bool(missing) and mpi_computed,
                 "computed": mpi_computed,
                 "dimensions": [{"id": d.id, "label": d.label, "indicators": [i.id for i in d.indicators]} for d in mpi.dimensions]}
    return MeasuresResult(
        year=year, line=z, line_param=line_pv.to_dict(), overall=overall, groups=groups, indicators=inds,
        mpi_spec=spec_info, mpi_computed=mpi_computed, sensitivity=sens, curve=curve, unusable=unusable,
        unusable_households=unusable_hh, ci=ci, notes=notes, programmes=programmes(ev, households, n, present))


# ---- programme ledgers ------------------------------------------------------------------------
def programmes(ev: Any, households: pd.DataFrame, n: np.ndarray, present: set[str]) -> dict[str, Any]:
    """项目台账 from the pack's estimate rules active in the year (e.g. 重庆 高山生态扶贫搬迁补助, 扶贫小额信贷
    额度 and 贴息: households, people, total) and the relocation check of the seed (防止搬富不搬穷: the share
    of registered poor among the relocated households), where the source has a 是否易地扶贫搬迁户 column."""
    people = np.nan_to_num(n, nan=0.0)
    rows = []
    values: Any = getattr(ev, "values", None)
    for rule_id in ([] if values is None else list(values.columns)):
        v = values[rule_id].to_numpy(dtype="float64", na_value=np.nan)
        has = ~np.isnan(v)
        rule = ev.rule(rule_id)
        money = (rule.unit or "").startswith("元")  # amounts add up; a term in years does not
        rows.append({"rule": rule_id, "label": rule.label, "unit": rule.unit or "", "households": int(has.sum()),
                     "people": int(people[has].sum()), "total": round(float(v[has].sum()), 2) if money else None})
    estimates = pd.DataFrame(rows, columns=["rule", "label", "unit", "households", "people", "total"])
    relocation = None
    if "relocated" in present and "relocated" in households.columns:
        moved = households["relocated"].astype("boolean").fillna(False).to_numpy(dtype=bool)
        reg = registered(households)
        relocation = {
            "relocated_households": int(moved.sum()), "relocated_people": int(people[moved].sum()),
            "poor_households": int((moved & reg).sum()), "poor_people": int(people[moved & reg].sum()),
            "poor_share_of_relocated_people": (round(float(people[moved & reg].sum() / people[moved].sum()), 10)
                                               if people[moved].sum() else None),
            "relocated_share_of_poor_people": (round(float(people[moved & reg].sum() / people[reg].sum()), 10)
                                               if people[reg].sum() else None),
        }
    return {"estimates": estimates, "relocation": relocation}


def _rescale(inds: list[Indicator], dimensions: list[str]) -> None:
    """Weights of not-evaluated indicators go to the evaluated ones of their dimension (in proportion);
    a dimension with none evaluated gives its weight to the other dimensions (in proportion)."""
    dim_weight = {d: sum(i.weight for i in inds if i.dimension == d) for d in dimensions}
    dim_eval = {d: sum(i.weight for i in inds if i.dimension == d and i.evaluated) for d in dimensions}
    live = sum(w for d, w in dim_weight.items() if dim_eval[d] > 0)
    for i in inds:
        if i.evaluated and live > 0:
            i.used_weight = i.weight / dim_eval[i.dimension] * dim_weight[i.dimension] / live


def _key_column(households: pd.DataFrame, name: str) -> np.ndarray:
    if name not in households.columns:
        return np.full(len(households), UNKNOWN_AREA, dtype=object)
    s = households[name].astype(object)
    ok = s.notna() & (s.astype(str).str.strip() != "")
    return cast(np.ndarray, s.where(ok, UNKNOWN_AREA).astype(str).to_numpy(dtype=object))


def _sql_sums(z: float, evaluated: list[Indicator], mpi: bool) -> list[str]:
    zs = repr(float(z))
    cols = [
        "count(*) AS households", "sum(n) AS people",
        "sum(CASE WHEN reg THEN n ELSE 0 END) AS registered_people",
        f"sum(CASE WHEN y < {zs} THEN n ELSE 0 END) AS income_poor_people",
        f"sum(CASE WHEN reg AND y >= {zs} THEN n ELSE 0 END) AS inclusion_people",
        f"sum(CASE WHEN NOT reg AND y < {zs} THEN n ELSE 0 END) AS exclusion_people",
        f"sum(CASE WHEN y < {zs} THEN n ELSE 0 END) / sum(n) AS fgt0",
        f"sum(n * greatest(0, ({zs} - y) / {zs})) / sum(n) AS fgt1",
        f"sum(n * pow(greatest(0, ({zs} - y) / {zs}), 2)) / sum(n) AS fgt2",
        f"round(sum(n * greatest(0, {zs} - y)), 2) AS gap_yuan",
        f"sum(CASE WHEN y >= {zs} AND y < {NEAR_LINE} * {zs} THEN n ELSE 0 END) / sum(n) AS near_line_share",
    ]
    if mpi:
        cols += ["sum(CASE WHEN mp THEN n ELSE 0 END) / sum(n) AS H",
                 "sum(CASE WHEN mp THEN n * c ELSE 0 END) / sum(n) AS M0"]
    for i in evaluated:
        cols.append(f'sum(n * "d_{i.id}") / sum(n) AS "h_{i.id}"')
        if mpi:
            cols.append(f'sum(CASE WHEN mp THEN n * "d_{i.id}" ELSE 0 END) / sum(n) AS "ch_{i.id}"')
    return cols


def _aggregate(table: pd.DataFrame, keys: list[str], z: float, evaluated: list[Indicator], mpi: bool) -> pd.DataFrame:
    """One DuckDB GROUP BY over the household table (``keys`` empty: the county total)."""
    import duckdb

    key_sql = ", ".join(f'"{k}"' for k in keys)
    sql = (f"SELECT {key_sql + ', ' if keys else ''}{', '.join(_sql_sums(z, evaluated, mpi))} FROM hh"
           + (f" GROUP BY {key_sql} ORDER BY min(_pos)" if keys else ""))
    con = duckdb.connect()
    try:
        con.register("hh", table)
        out = con.execute(sql).df()
    finally:
        con.close()
    if not keys and len(table) == 0:
        out = pd.DataFrame([{c: (0 if c in ("households", "people") else np.nan) for c in out.columns}])
    for c in ("households", "people", "registered_people", "income_poor_people", "inclusion_people", "exclusion_people"):
        out[c] = out[c].fillna(0).round().astype("int64")
    if mpi:
        h = out["H"].to_numpy(dtype=float)
        out["A"] = np.where(h > 0, out["M0"].to_numpy(dtype=float) / np.where(h > 0, h, 1), np.nan)
        m0 = out["M0"].to_numpy(dtype=float)
        for i in evaluated:
            ch = out[f"ch_{i.id}"].to_numpy(dtype=float)
            out[f"contrib_{i.id}"] = np.where(m0 > 0, i.used_weight * ch / np.where(m0 > 0, m0, 1), np.nan)
    else:
        out["H"] = out["A"] = out["M0"] = np.nan
    return out


def _fgt_at(y: np.ndarray, n: np.ndarray, line: float) -> dict[str, float]:
    total = n.sum()
    g = np.maximum(0.0, (line - y) / line)
    return {"fgt0": float((n * (y < line)).sum() / total) if total else np.nan,
            "fgt1": float((n * g).sum() / total) if total else np.nan,
            "fgt2": float((n * g * g).sum() / total) if total else np.nan,
            "gap_yuan": float((n * np.maximum(0.0, line - y)).sum())}


def _sensitivity(table: pd.DataFrame, z: float) -> pd.DataFrame:
    y, n = table["y"].to_numpy(float), table["n"].to_numpy(float)
    rows = [{"multiple": m, "line": round(m * z, 2), **_fgt_at(y, n, m * z)} for m in SENSITIVITY]
    return pd.DataFrame(rows)


def _curve(table: pd.DataFrame, z: float) -> pd.DataFrame:
    """Share of people below each line from 0 to 2z (the poverty-incidence curve), vectorised."""
    y, n = table["y"].to_numpy(float), table["n"].to_numpy(float)
    order = np.argsort(y, kind="stable")
    ys, cum = y[order], np.concatenate([[0.0], np.cumsum(n[order])])
    multiples = np.linspace(0.0, 2.0, CURVE_POINTS)
    below = cum[np.searchsorted(ys, multiples * z, side="left")]
    total = cum[-1]
    return pd.DataFrame({"multiple": multiples.round(2), "line": (multiples * z).round(2),
                         "fgt0": below / total if total else np.nan})


def _unusable(reason: np.ndarray, n: np.ndarray) -> pd.DataFrame:
    rows = []
    for r in ("收入缺失", "收入为负数", "收入非有限数值", "家庭人口数未知"):
        sel = reason == r
        rows.append({"reason": r, "households": int(sel.sum()), "people": int(np.nansum(n[sel]))})
    return pd.DataFrame(rows)


def _unusable_households(households: pd.DataFrame, reason: np.ndarray) -> pd.DataFrame:
    sel = reason != ""
    cols = [c for c in ("household_id", "township", "village", "head_name") if c in households.columns]
    out = households.loc[sel, cols].astype(object).reset_index(drop=True)
    out["reason"] = reason[sel]
    return out


# ---- bootstrap --------------------------------------------------------------------------------
CI_MEASURES = ("fgt0", "fgt1", "fgt2", "gap_yuan", "near_line_share", "H", "A", "M0")


def _unit_values(table: pd.DataFrame, z: float, mpi: bool) -> tuple[np.ndarray, list[str]]:
    """Per-household numerators (×n) and the denominator n, as columns of one matrix."""
    y, n = table["y"].to_numpy(float), table["n"].to_numpy(float)
    g = np.maximum(0.0, (z - y) / z)
    cols = {"n": n, "p0": n * (y < z), "p1": n * g, "p2": n * g * g, "gap": n * np.maximum(0.0, z - y),
            "near": n * ((y >= z) & (y < NEAR_LINE * z))}
    if mpi:
        mp = table["mp"].to_numpy(bool)
        cols["h"] = n * mp
        cols["m0"] = n * mp * table["c"].to_numpy(float)
    return np.column_stack(list(cols.values())), list(cols)


def _ratios(sums: np.ndarray, names: list[str]) -> dict[str, np.ndarray]:
    """Measures from column sums (last axis = ``names``)."""
    s = {k: sums[..., i] for i, k in enumerate(names)}
    with np.errstate(invalid="ignore", divide="ignore"):
        out = {"fgt0": s["p0"] / s["n"], "fgt1": s["p1"] / s["n"], "fgt2": s["p2"] / s["n"], "gap_yuan": s["gap"],
               "near_line_share": s["near"] / s["n"]}
        if "h" in s:
            out["H"] = s["h"] / s["n"]
            out["M0"] = s["m0"] / s["n"]
            out["A"] = np.where(s["h"] > 0, s["m0"] / np.where(s["h"] > 0, s["h"], 1), np.nan)
    return out


def _bootstrap(table: pd.DataFrame, z: float, bys: list[str], groups: dict[str, pd.DataFrame], evaluated: list[Indicator], mpi: bool,
               replicates: int, seed: int) -> dict[str, Any]:
    """95% percentile intervals from ``replicates`` resamples of households (the clusters), seeded."""
    if replicates < 20:
        raise UsageError(f"--replicates {replicates}: too few for a 95% interval", "use at least 20 (default 500)")
    rng = np.random.default_rng(seed)
    values, names = _unit_values(table, z, mpi)
    h = len(table)
    group_codes = {}
    for b in bys:
        keys = BY_KEYS[b]
        frame = groups[b][keys].astype(str)
        index = pd.MultiIndex.from_frame(frame) if len(keys) > 1 else pd.Index(frame[keys[0]])
        own = pd.MultiIndex.from_frame(table[keys].astype(str)) if len(keys) > 1 else pd.Index(table[keys[0]].astype(str))
        group_codes[b] = (index.get_indexer(own), len(index))
    overall = np.empty((replicates, len(names)))
    per_group = {b: np.empty((replicates, g, len(names))) for b, (_, g) in group_codes.items()}
    for r in range(replicates):  # one vectorised resample per replicate (no per-household loop)
        weights = np.bincount(rng.integers(0, h, size=h), minlength=h).astype(float) if h else np.zeros(0)
        weighted = values * weights[:, None]
        overall[r] = weighted.sum(axis=0)
        for b, (codes, g) in group_codes.items():
            per_group[b][r] = np.stack([np.bincount(codes, weights=weighted[:, j], minlength=g) for j in range(len(names))], axis=1)

    def interval(arr: np.ndarray) -> list[float | None]:
        ok = arr[np.isfinite(arr)]
        if len(ok) == 0:
            return [None, None]
        lo, hi = np.percentile(ok, [2.5, 97.5])
        return [round(float(lo), 10), round(float(hi), 10)]

    out_overall = {k: interval(v) for k, v in _ratios(overall, names).items()}
    out_groups = {}
    for b in bys:
        keys = BY_KEYS[b]
        ratios = _ratios(per_group[b], names)
        rows = []
        for gi, (_, row) in enumerate(groups[b].iterrows()):
            rows.append({"group": {BY_LABELS.get(k, k): row[k] for k in keys},
                         **{k: interval(v[:, gi]) for k, v in ratios.items()}})
        out_groups[BY_LABELS[b]] = rows
    return {"method": "household bootstrap, 95% percentile interval", "replicates": replicates, "seed": seed,
            "overall": out_overall, "groups": out_groups}
