"""fupin measures: time of the measures step alone (DuckDB GROUP BY per view, sensitivity, curve, MPI)
and of the bootstrap, on a generated county evaluated once.

    python benchmarks/bench_measures.py --households 100000 --replicates 200

Prints: households, evaluate (pack on the roster) seconds, measures (county + 乡镇 + 行政村 views)
seconds, measures with --sample seconds.  Not a test: compare runs on the same machine.
"""

from __future__ import annotations

import argparse
import time

from fupin_cli.core.identify import identify
from fupin_cli.core.measures import measures, present_fields
from fupin_cli.engine import load_pack
from fupin_cli.samples import generate_roster


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--replicates", type=int, default=200)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    roster, _ = generate_roster(a.households, a.seed, 2015, "丰都县", False)
    t = time.perf_counter()
    res = identify(roster, load_pack("national-2014"), 2015, allow_errors=True)
    t_eval = time.perf_counter() - t
    present = present_fields(roster.households, roster.members)
    t = time.perf_counter()
    m = measures(res.households, roster.members, res.evaluation, by=["乡镇", "行政村"], present=present)
    t_measures = time.perf_counter() - t
    t = time.perf_counter()
    measures(res.households, roster.members, res.evaluation, by=["乡镇", "行政村"], present=present, sample=True,
             replicates=a.replicates)
    t_sample = time.perf_counter() - t
    o = m.overall.iloc[0]
    print(f"households {a.households:,} (people {int(o['people']):,}; villages {len(m.groups['village'])})")
    print(f"identify (evaluate + decide) {t_eval:.1f} s")
    print(f"measures, county + 乡镇 + 行政村 views {t_measures:.2f} s")
    print(f"measures --sample, {a.replicates} replicates {t_sample:.2f} s")


if __name__ == "__main__":
    main()
