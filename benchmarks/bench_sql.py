"""Rule evaluation side by side: the SQL backend vs the pandas backend vs hand-written DuckDB SQL.

    python benchmarks/bench_sql.py --households 100000
    python benchmarks/bench_sql.py --roster /tmp/roster-1000000.parquet

One process, one roster, national-2014 for 2016 (the rules of ``bench_identify.py``):

* the roster is read once with ``read_roster`` (timed separately: it is the same for (a) and (b));
* (a) pandas: ``evaluate(roster, pack, 2016)`` (40 derived fields, 79 rules) and
  ``identification(ev)`` (status, attribute, causes, measures, and the 识别依据 / 未识别原因 texts);
* (b) SQL: ``evaluate(roster, pack, 2016, backend="duckdb")`` — the roster's columns into DuckDB
  as Arrow, derived fields, every rule and the decision columns (no texts) in one query, the
  results back as pandas frames;
* (c) the hand-written SQL of ``bench_identify.py`` over the same file loaded into a DuckDB table
  first (load timed separately), results fetched as Arrow.

Each is run ``--repeat`` times (median reported: wall and process CPU time, which counts DuckDB's
threads).  Then checks that the three give the same status and primary cause for every household.
Without ``--roster`` it generates (and caches in ``/tmp``) ``fupin samples generate -n N -s 2016``.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))


def timed(fn, repeat: int) -> tuple[dict, object]:
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        result = None
        w, c = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - w)
        cpus.append(time.process_time() - c)
    return {"wall_s": round(statistics.median(walls), 2), "cpu_s": round(statistics.median(cpus), 2),
            "runs": [round(x, 2) for x in walls]}, result


def hand_sql(roster: Path, params: dict, columns: set[str]) -> str:
    """bench_identify.SQL as a query over the table ``roster_table`` (no COPY, no file scan)."""
    import bench_identify

    sql = bench_identify.build_sql(roster, Path("/dev/null"), params, columns)
    sql = sql.replace(f"read_parquet('{str(roster).replace(chr(39), chr(39) * 2)}')", "roster_table")
    inner = re.search(r"COPY \((.*)\) TO '", sql, re.DOTALL)
    assert inner, "bench_identify.SQL changed shape"
    return inner.group(1)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--roster", type=Path, help="member-level Parquet roster (default: generated and cached in /tmp)")
    ap.add_argument("--year", type=int, default=2016)
    ap.add_argument("--pack", default="national-2014")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()

    roster_path = args.roster
    if roster_path is None:
        roster_path = Path(f"/tmp/fupin-bench-sql/roster-{args.households}.parquet")
        if not roster_path.exists():
            roster_path.parent.mkdir(parents=True, exist_ok=True)
            subprocess.run([sys.executable, "-m", "fupin_cli", "samples", "generate", "-n", str(args.households), "-s", "2016",
                            "--year", str(args.year), "-o", str(roster_path), "-q"], check=True)

    import bench_identify
    import duckdb
    import numpy as np
    import pyarrow.parquet as pq

    from fupin_cli.engine import load_pack
    from fupin_cli.engine.decide import identification
    from fupin_cli.engine.evaluate import evaluate
    from fupin_cli.io.read import read_roster

    pack = load_pack(args.pack)
    out: dict = {"roster": str(roster_path), "pack": args.pack, "year": args.year}
    t = time.perf_counter()
    roster = read_roster(roster_path)
    out["read_roster_s"] = round(time.perf_counter() - t, 1)
    n = len(roster.households)
    out["households"], out["members"] = n, len(roster.members)
    print(f"read {n} households, {len(roster.members)} members in {out['read_roster_s']} s", file=sys.stderr)

    def pandas_path():
        ev = evaluate(roster, pack, args.year)
        return ev, identification(ev)

    def pandas_evaluate():
        return evaluate(roster, pack, args.year)

    def sql_path():
        return evaluate(roster, pack, args.year, backend="duckdb")

    out["a_pandas_evaluate"], _ = timed(pandas_evaluate, args.repeat)
    out["a_pandas_evaluate_identification"], (ev_a, id_a) = timed(pandas_path, args.repeat)
    print("a", out["a_pandas_evaluate"], out["a_pandas_evaluate_identification"], file=sys.stderr)
    out["b_sql"], ev_b = timed(sql_path, args.repeat)
    print("b", out["b_sql"], file=sys.stderr)

    con = duckdb.connect()
    t = time.perf_counter()
    con.execute(f"CREATE TABLE roster_table AS SELECT * FROM read_parquet('{roster_path!s}')")
    out["c_load_parquet_into_duckdb_s"] = round(time.perf_counter() - t, 2)
    columns = set(pq.read_schema(roster_path).names)
    sql = hand_sql(roster_path, bench_identify.pack_params(args.pack, args.year), columns)
    out["c_hand_sql"], hand = timed(lambda: con.sql(sql).to_arrow_table(), args.repeat)
    print("c", out["c_hand_sql"], file=sys.stderr)

    # the same decision for every household
    ids = roster.households["household_id"].astype("str").to_numpy()
    status_a = id_a["status"].astype("str").to_numpy()
    status_b = ev_b.sql_decisions["status"].astype("str").to_numpy()
    cause_a = id_a["primary_cause"].astype(object).where(id_a["primary_cause"].notna(), None).to_numpy()
    cause_b = ev_b.sql_decisions["primary_cause"].astype(object).where(ev_b.sql_decisions["primary_cause"].notna(), None).to_numpy()
    hand_status = dict(zip(hand.column("household_id").to_pylist(), hand.column("status").to_pylist()))
    hand_cause = dict(zip(hand.column("household_id").to_pylist(), hand.column("primary_cause").to_pylist()))
    status_c = np.array([hand_status.get(i) for i in ids], dtype=object)
    cause_c = np.array([hand_cause.get(i) for i in ids], dtype=object)
    out["same_status_a_b"] = int((status_a != status_b).sum()) == 0
    out["same_primary_cause_a_b"] = bool(all(x == y for x, y in zip(cause_a, cause_b)))
    out["status_differs_a_c"] = int((status_a != status_c).sum())
    out["primary_cause_differs_a_c"] = int(sum(x != y for x, y in zip(cause_a, cause_c)))
    out["same_results_a_b"] = bool(ev_a.results.equals(ev_b.results))
    out["ratio_b_over_c_wall"] = round(out["b_sql"]["wall_s"] / out["c_hand_sql"]["wall_s"], 2)
    out["ratio_a_over_b_wall"] = round(out["a_pandas_evaluate_identification"]["wall_s"] / out["b_sql"]["wall_s"], 2)
    print(json.dumps(out, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
