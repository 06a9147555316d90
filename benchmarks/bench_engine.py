"""Benchmark: vectorised rule evaluation vs row-by-row evaluation of the same rules.

    .venv/bin/python benchmarks/bench_engine.py                          # 1,000,000 households, national-2014
    .venv/bin/python benchmarks/bench_engine.py --households 100000 --sample 2000
    .venv/bin/python benchmarks/bench_engine.py --pack monitoring-2021 --year 2022

Builds a synthetic roster in memory with numpy (every field the pack uses, typed as the
reader types it, ~1% missing values, ~3.5 members per household), then times

(a) ``evaluate`` (derived fields + every household rule) and ``identification`` (status,
    attribute, causes, measures, 识别依据 / 未识别原因 texts) on the whole roster, and
(b) the scalar interpreter (the reference semantics) on a random sample of households:
    derived fields over the household's members, then every household rule — the row-by-row
    evaluation, extrapolated to the whole roster.  Values are extracted to Python dicts
    before timing so (b) measures rule evaluation only.

Prints both times, the extrapolated ratio (target ≥ 100×), peak RSS and the status counts.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from fupin_cli import schema
from fupin_cli.engine import evaluate, ir, load_pack
from fupin_cli.engine.compile_pandas import convert
from fupin_cli.engine.decide import identification
from fupin_cli.engine.derive import household_types, member_ages, member_types
from fupin_cli.engine.evaluate import FRAME_KINDS
from fupin_cli.engine.explain import scalar_household
from fupin_cli.engine.interpret import Interpreter, scalar_of
from fupin_cli.roster import Roster


def used_fields(pack) -> tuple[set[str], set[str]]:
    """Household and member fields referenced by the pack's expressions."""
    hh, mem = set(), set()
    for d in pack.derived:
        for key, node in pack.derived_ir[d.id].items():
            (hh if key == "expr" else mem).update(ir.names(node))
    for r in pack.rules:
        node = pack.conditions.get(r.id)
        if node is not None and r.kind not in FRAME_KINDS:
            (mem if r.level == "members" else hh).update(ir.names(node))
    hh -= set(pack.field_types)
    mem.discard("age")
    return {n for n in hh if n in schema.FIELDS}, {n for n in mem if n in schema.FIELDS} | {"birth_date"}


def column(f: schema.Field, n: int, rng: np.random.Generator, missing: float) -> pd.Series:
    na = rng.random(n) < missing
    if f.kind == "bool":
        vals = rng.random(n) < 0.1
        return pd.Series(pd.arrays.BooleanArray(vals, na))
    if f.kind in ("money", "float"):
        vals = np.round(rng.gamma(2.0, 2500.0, n), 2)
        vals[na] = np.nan
        return pd.Series(pd.array(vals, dtype="Float64"))
    if f.kind == "int":
        vals = rng.integers(1, 7, n).astype("float64")
        vals[na] = np.nan
        return pd.Series(pd.array(vals, dtype="Float64")).astype("Int64")
    if f.kind == "date":
        days = rng.integers(-25000, 16000, n).astype("datetime64[D]").astype("datetime64[ns]")
        days[na] = np.datetime64("NaT")
        return pd.Series(days)
    if f.kind == "code":
        labels = np.array(list(schema.CODE_TABLES[f.code_table]), dtype=object)
        codes = rng.integers(0, len(labels), n)
        return pd.Series(pd.Categorical.from_codes(np.where(na, -1, codes), categories=labels)).astype("str")
    vals = np.array(["是", "否", "一般农户", "已脱贫"], dtype=object)[rng.integers(0, 4, n)]
    return pd.Series(vals, dtype="str").mask(na)


def synthetic_roster(pack, n: int, seed: int = 7, missing: float = 0.01) -> Roster:
    rng = np.random.default_rng(seed)
    hh_fields, mem_fields = used_fields(pack)
    ids = pd.Series(np.char.add("H", np.arange(n).astype(str)), dtype="str")
    hh = {"household_id": ids}
    for name in sorted(hh_fields - {"household_id"}):
        hh[name] = column(schema.FIELDS[name], n, rng, missing)
    if "income_per_capita" in hh:  # a realistic share of households below the line
        hh["income_per_capita"] = pd.Series(pd.array(np.round(rng.gamma(3.0, 1500.0, n), 2), dtype="Float64"))
    sizes = rng.integers(1, 7, n)
    m = int(sizes.sum())
    mem = {"household_id": pd.Series(np.repeat(ids.to_numpy(dtype=object), sizes), dtype="str")}
    for name in sorted(mem_fields - {"household_id"}):
        mem[name] = column(schema.FIELDS[name], m, rng, missing)
    return Roster(pd.DataFrame(hh), pd.DataFrame(mem))


def records(frame: pd.DataFrame, types: dict) -> list[dict]:
    cols = {c: convert(frame[c], types[c]) for c in frame.columns if c in types}
    return [{c: scalar_of(v, i) for c, v in cols.items()} for i in range(len(frame))]


def scalar_run(pack, roster: Roster, sample: np.ndarray, year: int, params: dict) -> float:
    hh = roster.households.iloc[sample].reset_index(drop=True)
    ids = set(hh["household_id"])
    mem = roster.members[roster.members["household_id"].isin(ids)].reset_index(drop=True)
    hh_rows = records(hh, household_types(pack))
    mem_rows = records(mem, member_types())
    ages = member_ages(mem, year)
    by_house: dict[str, list[dict]] = {}
    for row, age in zip(mem_rows, ages):
        row["age"] = None if np.isnan(age) else float(age)
        by_house.setdefault(row["household_id"], []).append(row)
    rules = [(r.id, pack.conditions.get(r.id)) for r in pack.rules if r.active(year) and r.level == "households" and r.kind not in FRAME_KINDS]
    start = time.perf_counter()
    for row in hh_rows:
        values, _ = scalar_household(pack, dict(row), by_house.get(row["household_id"], []), params)
        it = Interpreter(values, params)
        for _rid, node in rules:
            if node is not None:
                it.eval(node)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--sample", type=int, default=2000, help="households evaluated row by row (extrapolated)")
    ap.add_argument("--pack", default="national-2014")
    ap.add_argument("--year", type=int, default=2016)
    ap.add_argument("--region", default=None)
    args = ap.parse_args()

    pack = load_pack(args.pack)
    t0 = time.perf_counter()
    roster = synthetic_roster(pack, args.households)
    t_build = time.perf_counter() - t0
    print(f"pack {pack.ident}: {len(pack.rules)} rules, {len(pack.derived)} derived fields; year {args.year}")
    print(f"roster: {roster.n_households:,} households, {roster.n_members:,} members (built in {t_build:.1f}s)")

    t0 = time.perf_counter()
    ev = evaluate(roster, pack, args.year, args.region)
    t_eval = time.perf_counter() - t0
    t0 = time.perf_counter()
    has_criteria = bool(ev.rules_of("criterion"))
    dec = identification(ev) if has_criteria else None
    t_decide = time.perf_counter() - t0
    vec = t_eval + t_decide
    print(f"vectorised: evaluate {t_eval:.2f}s ({len(ev.results.columns)} rules) + identification {t_decide:.2f}s = {vec:.2f}s")
    if dec is not None:
        counts = dec["status"].value_counts()
        print("status: " + ", ".join(f"{k} {int(v):,}" for k, v in counts.items()))

    rng = np.random.default_rng(1)
    sample = rng.choice(roster.n_households, size=min(args.sample, roster.n_households), replace=False)
    params = {k: v.value for k, v in ev.params.items()}
    t_scalar = scalar_run(pack, roster, sample, args.year, params)
    per_row = t_scalar / len(sample)
    extrapolated = per_row * roster.n_households
    print(f"row by row: {len(sample):,} households in {t_scalar:.2f}s ({per_row * 1e6:.0f} µs/household) "
          f"→ {extrapolated:.0f}s extrapolated to {roster.n_households:,}")
    print(f"speed-up: {extrapolated / vec:.0f}× (evaluate only: {extrapolated / t_eval:.0f}×)")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak RSS: {rss:,.0f} MiB")


if __name__ == "__main__":
    main()
