"""Benchmark: a rule pack on Spark local mode (``engine.spark.evaluate_frames``) against the same
compiled query in DuckDB, on one Parquet roster in canonical typed columns.

    python benchmarks/bench_spark.py prepare --households 1000000      # not timed; /tmp/spark/data-N/
    python benchmarks/bench_spark.py spark   --households 1000000 [--master local[2]] [--driver-memory 4g]
    python benchmarks/bench_spark.py duckdb  --households 1000000
    python benchmarks/bench_spark.py compare --households 1000000      # every decision column, every household

``prepare`` writes ``households.parquet`` / ``members.parquet`` from ``samples.generate_roster``
(national-2014 inputs, year 2016; dates as DATE).  ``spark`` and ``duckdb`` each run the pack's
query (member aggregates, every rule of the year, status / attribute / causes / measures) from the
Parquet files to a Parquet result and print wall time, CPU seconds (this process and its children,
the JVM included) and the peak RSS of the process tree (sampled every 0.2 s).  ``compare`` joins
the two results on 户编号 and counts differing decision and rule columns (exit 1 when any differs).
Run each as its own process; figures and machine in benchmarks/README.md and docs/scale.md.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sys
import threading
import time
from pathlib import Path

YEAR, PACK = 2016, "national-2014"
DECISIONS = ["status", "attribute", "primary_cause", "secondary_causes", "measures", "cause_check"]


def folder(n: int) -> Path:
    return Path(os.environ.get("FUPIN_SPARK_BENCH", "/tmp/spark")) / f"data-{n}"


def prepare(n: int) -> None:
    from fupin_cli.samples.generate import generate_roster

    out = folder(n)
    out.mkdir(parents=True, exist_ok=True)
    roster = generate_roster(n, seed=YEAR, year=YEAR)[0]
    for name, frame in (("households", roster.households), ("members", roster.members)):
        frame = frame[[c for c in frame.columns if not c.startswith("_")]].copy()
        for c in frame.columns:
            if str(frame[c].dtype).startswith("datetime64"):
                frame[c] = frame[c].dt.date
        frame.to_parquet(out / f"{name}.parquet", row_group_size=128 * 1024)
    print(json.dumps({"households": len(roster.households), "members": len(roster.members), "folder": str(out)}))


class Peak:
    """Peak RSS of this process and all its descendants (the JVM), sampled from /proc."""

    def __init__(self):
        self.peak = 0
        self.stop = False
        threading.Thread(target=self.run, daemon=True).start()

    def tree(self) -> list[int]:
        pids, children = [os.getpid()], {}
        for p in os.listdir("/proc"):
            if p.isdigit():
                try:
                    ppid = int(Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()[1])
                    children.setdefault(ppid, []).append(int(p))
                except OSError:
                    pass
        i = 0
        while i < len(pids):
            pids += children.get(pids[i], [])
            i += 1
        return pids

    def run(self):
        while not self.stop:
            total = 0
            for p in self.tree():
                try:
                    for line in Path(f"/proc/{p}/status").read_text().splitlines():
                        if line.startswith("VmRSS:"):
                            total += int(line.split()[1]) * 1024
                except OSError:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)


def cpu() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def tree_cpu(peak: Peak) -> float:
    """CPU seconds of this process's descendants still running (the driver JVM is not a waited-for
    child until it exits, so RUSAGE_CHILDREN misses it)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for p in peak.tree()[1:]:
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except OSError:
            pass
    return total


def run_spark(n: int, master: str, driver_memory: str) -> dict:
    from fupin_cli.engine import load_pack
    from fupin_cli.engine.spark import evaluate_frames, session
    from fupin_cli.io.spark_io import read_roster, write_parquet

    peak, t0, c0 = Peak(), time.perf_counter(), cpu()
    spark = session(master, conf={"spark.driver.memory": driver_memory, "spark.sql.shuffle.partitions": "8"})
    spark.sparkContext.setLogLevel("ERROR")
    t_start = time.perf_counter() - t0
    src = folder(n)
    hh, mem = read_roster(spark, str(src / "households.parquet"), str(src / "members.parquet"))
    res = evaluate_frames(spark, hh, mem, load_pack(PACK), YEAR)
    t_plan = time.perf_counter() - t0
    out = src / "spark-result.parquet"
    write_parquet(res.households, str(out), mode="overwrite")
    wall = time.perf_counter() - t0
    jcpu = tree_cpu(peak)
    peak.stop = True
    return {"engine": "spark", "master": master, "households": n, "wall_s": round(wall, 1), "session_start_s": round(t_start, 1),
            "plan_s": round(t_plan - t_start, 1), "cpu_s_python": round(cpu() - c0, 1), "cpu_s_jvm": round(jcpu, 1),
            "peak_rss_gb": round(peak.peak / 2**30, 2), "driver_memory": driver_memory, "notes": res.notes}


def run_duckdb(n: int) -> dict:
    """The same compiled query (DuckDB dialect) over the same Parquet files, COPY to Parquet."""
    import duckdb

    from fupin_cli.engine import load_pack
    from fupin_cli.engine.compile_sql import (
        DUCKDB,
        HOUSEHOLDS,
        MEMBERS,
        MROW,
        ROW,
        compile_pack,
        household_types,
        member_types,
    )
    from fupin_cli.engine.evaluate import used_params
    from fupin_cli.engine.params import resolve_many

    peak, t0, c0 = Peak(), time.perf_counter(), cpu()
    pack = load_pack(PACK)
    values = {k: v.value for k, v in resolve_many(pack, used_params(pack, YEAR), YEAR, pack.meta.region).items()}
    src = folder(n)
    con = duckdb.connect()
    hcols = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM '{src / 'households.parquet'}'").fetchall()]
    mcols = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM '{src / 'members.parquet'}'").fetchall()] + ["age"]
    compiled = compile_pack(pack, YEAR, values, hcols, mcols, keep=("household_id",))
    ht, mt, q = household_types(pack), member_types(), DUCKDB.ident
    hsel = [f"row_number() OVER () AS {q(ROW)}", "household_id"] + [f"CAST({q(c)} AS {DUCKDB.SQL_TYPES[ht[c].kind]}) AS {q(c)}"
                                                                   for c in compiled.household_inputs if c != "household_id"]
    msel = [f"row_number() OVER () AS {q(MROW)}", "household_id"]
    for c in compiled.member_inputs:
        if c == "age":
            msel.append(f"CASE WHEN {YEAR} - year(birth_date) >= 0 THEN CAST({YEAR} - year(birth_date) AS DOUBLE) END AS age")
        else:
            msel.append(f"CAST({q(c)} AS {DUCKDB.SQL_TYPES[mt[c].kind]}) AS {q(c)}")
    con.execute(f"CREATE VIEW {HOUSEHOLDS} AS SELECT {', '.join(hsel)} FROM '{src / 'households.parquet'}'")
    con.execute(f"CREATE VIEW {MEMBERS} AS SELECT {', '.join(msel)} FROM '{src / 'members.parquet'}'")
    con.execute(f"COPY ({compiled.sql}) TO '{src / 'duckdb-result.parquet'}' (FORMAT parquet)")
    wall = time.perf_counter() - t0
    peak.stop = True
    return {"engine": "duckdb", "households": n, "wall_s": round(wall, 1), "cpu_s": round(cpu() - c0, 1),
            "peak_rss_gb": round(peak.peak / 2**30, 2)}


def compare(n: int) -> dict:
    import duckdb

    src = folder(n)
    con = duckdb.connect()
    a = f"read_parquet('{src / 'spark-result.parquet'}/*.parquet')"
    b = f"'{src / 'duckdb-result.parquet'}'"
    cols = [r[0] for r in con.sql(f"DESCRIBE SELECT * FROM {b}").fetchall() if r[0] not in ("__row", "household_id")]
    diff = " + ".join(f"CAST(a.\"{c}\" IS DISTINCT FROM b.\"{c}\" AS INT)" for c in cols)
    rows_a, rows_b = con.sql(f"SELECT count(*) FROM {a}").fetchall()[0][0], con.sql(f"SELECT count(*) FROM {b}").fetchall()[0][0]
    differing = con.sql(f"SELECT count(*) FROM {a} a JOIN {b} b USING (household_id) WHERE {diff} > 0").fetchall()[0][0]
    joined = con.sql(f"SELECT count(*) FROM {a} a JOIN {b} b USING (household_id)").fetchall()[0][0]
    status = con.sql(f"SELECT status, count(*) FROM {a} GROUP BY 1 ORDER BY 1").fetchall()
    return {"rows_spark": rows_a, "rows_duckdb": rows_b, "joined": joined, "columns_compared": len(cols),
            "households_differing": differing, "status_counts": status}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["prepare", "spark", "duckdb", "compare"])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="4g")
    a = ap.parse_args()
    if a.what == "prepare":
        prepare(a.households)
        return 0
    result = {"spark": lambda: run_spark(a.households, a.master, a.driver_memory), "duckdb": lambda: run_duckdb(a.households),
              "compare": lambda: compare(a.households)}[a.what]()
    print(json.dumps(result, ensure_ascii=False))
    return 1 if a.what == "compare" and (result["households_differing"] or result["rows_spark"] != result["rows_duckdb"]) else 0


if __name__ == "__main__":
    sys.exit(main())
