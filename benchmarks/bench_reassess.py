"""Benchmark: `fupin reassess` on a generated county of N households (default 1,000,000), Parquet in and out.

    .venv/bin/python benchmarks/bench_reassess.py                       # 1M households: prepare once, then measure
    .venv/bin/python benchmarks/bench_reassess.py --households 100000   # smaller
    .venv/bin/python benchmarks/bench_reassess.py --households 100000 --engines duckdb --data /tmp/me/bench
    .venv/bin/python benchmarks/bench_reassess.py --prepare-only

Preparation (cached under ``<data>/reassess-<N>/``, default ``benchmarks/data``, git-ignored, not timed):
``generate_chain(N, seed=2015, years=[2015, 2016])`` → ``roster-2015.parquet`` and
``roster-2016.parquet`` (member layout, ~3.5 members per household) and the 2016 truth;
``fupin identify roster-2015.parquet --year 2015 --pack P`` → ``register-2015-P.parquet`` (``--pack``, default
national-2014: the generator's truth follows the national rules; every measured run uses the same pack).

Measured, each as one fresh process under ``/usr/bin/time -v`` (wall, CPU = user + system, peak RSS):

* ``duckdb``: ``fupin reassess register-2015.parquet roster-2016.parquet --year 2016 --engine duckdb --no-checks
  -o reassess-duckdb.parquet``, and in the same run, on the same roster, ``fupin identify roster-2016.parquet
  --year 2016 --engine duckdb --no-checks -o identify-duckdb.parquet`` — the ratio reassess / identify is the
  issue's target (≤ 2×);
* ``pandas``: the same reassess on the default engine (``--allow-errors``: it runs validate's checks).

The transition counts are checked against the generator's truth; with both engines, the two registers are
compared household by household (every column; validate's 数据错误待核实 households are the only ones allowed
to differ, as the DuckDB engine does not run validate's checks).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
FUPIN = [sys.executable, "-m", "fupin_cli"]


def prepare(n: int, folder: Path, pack: str) -> Path:
    from fupin_cli.io.write_roster import write_roster
    from fupin_cli.samples import generate_chain

    folder.mkdir(parents=True, exist_ok=True)
    r15, r16, truth = folder / "roster-2015.parquet", folder / "roster-2016.parquet", folder / "truth-2016.json"
    if not (r15.exists() and r16.exists() and truth.exists()):
        t = time.perf_counter()
        (ro15, _), (ro16, tr16) = generate_chain(n, seed=2015, years=[2015, 2016])
        print(f"generated the chain in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        write_roster(ro15, r15, "member", force=True)
        write_roster(ro16, r16, "member", force=True)
        counts = tr16.households["transition"].value_counts()
        truth.write_text(json.dumps({k: int(v) for k, v in counts.items()}, ensure_ascii=False), encoding="utf-8")
        del ro15, ro16, tr16
    reg = folder / f"register-2015-{pack}.parquet"
    if not reg.exists():
        t = time.perf_counter()
        subprocess.run([*FUPIN, "identify", str(r15), "--year", "2015", "-o", str(reg), "-q", "--allow-errors", "--pack", pack],
                       check=True)
        print(f"identified 2015 in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return reg


def run(cmd: list[str]) -> tuple[dict, dict | None]:
    """(wall / CPU / peak RSS, the --json payload or None) of one fresh process."""
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    t = time.perf_counter()
    proc = subprocess.run([time_bin, "-v", *cmd] if time_bin else cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    found = {k: re.search(rf"{k} \((?:seconds|kbytes)\): ([\d.]+)", proc.stderr)
             for k in ("User time", "System time", "Maximum resident set size")}
    cpu = round(float(found["User time"].group(1)) + float(found["System time"].group(1)), 1) if found["User time"] else None
    peak = found["Maximum resident set size"]
    if peak is None:
        peak_mb = round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    else:
        peak_mb = round(float(peak.group(1)) / 1024)
    payload = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else None
    return {"wall_s": round(wall, 1), "cpu_s": cpu, "peak_rss_mb": peak_mb}, payload


def measure(folder: Path, prev: Path, engines: list[str], pack: str) -> dict:
    roster = folder / "roster-2016.parquet"
    result: dict = {}
    for engine in engines:
        out = folder / f"reassess-{engine}.parquet"
        cmd = [*FUPIN, "reassess", str(prev), str(roster), "--year", "2016", "-o", str(out), "--force", "--json", "--pack", pack]
        cmd += ["--engine", "duckdb", "--no-checks"] if engine == "duckdb" else ["--allow-errors"]
        figures, summary = run(cmd)
        assert summary is not None
        result[f"reassess_{engine}"] = {**figures, "output_mb": round(out.stat().st_size / 2**20, 1),
                                        "transitions": {k: v["households"] for k, v in summary["transitions"].items()},
                                        "households": summary["households"]}
        if engine == "duckdb":
            ident = folder / "identify-duckdb.parquet"
            figures, _ = run([*FUPIN, "identify", str(roster), "--year", "2016", "-o", str(ident), "--force", "-q",
                              "--engine", "duckdb", "--no-checks", "--pack", pack])
            result["identify_duckdb"] = figures
            r, i = result["reassess_duckdb"], figures
            result["ratio_reassess_to_identify"] = {"wall": round(r["wall_s"] / i["wall_s"], 2),
                                                    "cpu": round(r["cpu_s"] / i["cpu_s"], 2) if r["cpu_s"] and i["cpu_s"] else None}
    if {"duckdb", "pandas"} <= set(engines):
        result["registers"] = compare(folder / "reassess-pandas.parquet", folder / "reassess-duckdb.parquet")
    return result


def compare(pandas_out: Path, duckdb_out: Path) -> dict:
    """Households whose register rows differ between the engines (any column), and how many of them the pandas
    engine marked 数据错误待核实 (validate's checks, which the DuckDB engine does not run)."""
    import pandas as pd

    a, b = pd.read_parquet(pandas_out), pd.read_parquet(duckdb_out)
    if list(a.columns) != list(b.columns) or len(a) != len(b):
        return {"same_shape": False, "columns_only_pandas": [c for c in a.columns if c not in b.columns],
                "columns_only_duckdb": [c for c in b.columns if c not in a.columns], "rows": [len(a), len(b)]}
    a, b = a.astype(object).where(a.notna(), None), b.astype(object).where(b.notna(), None)
    differ = pd.Series(False, index=a.index)
    columns = {}
    for col in a.columns:
        d = pd.Series([not (x == y or (x is None and y is None)) for x, y in zip(a[col].tolist(), b[col].tolist())], index=a.index)
        if d.any():
            columns[col] = int(d.sum())
        differ |= d
    flagged = a["未识别原因"].fillna("").astype(str).str.startswith("数据错误待核实") if "未识别原因" in a.columns else differ & False
    return {"same_shape": True, "households_differing": int(differ.sum()),
            "of_which_flagged_by_validate": int((differ & flagged).sum()), "columns_differing": columns}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--engines", default="duckdb,pandas", help="comma-separated: duckdb, pandas")
    ap.add_argument("--data", type=Path, default=ROOT / "data", help="folder for the generated chain (cached)")
    ap.add_argument("--pack", default="national-2014",
                    help="rule pack of every run (default national-2014: the generator's truth follows the national rules)")
    ap.add_argument("--prepare-only", action="store_true")
    args = ap.parse_args()
    folder = args.data / f"reassess-{args.households}"
    prev = prepare(args.households, folder, args.pack)
    if args.prepare_only:
        return
    result = measure(folder, prev, [e.strip() for e in args.engines.split(",") if e.strip()], args.pack)
    truth = json.loads((folder / "truth-2016.json").read_text(encoding="utf-8"))
    result["truth"] = truth
    for key in [k for k in result if k.startswith("reassess_")]:
        result[key]["matches_truth"] = all(result[key]["transitions"].get(k, 0) == v for k, v in truth.items())
    result["cpu_count"] = os.cpu_count()
    result["load_average"] = os.getloadavg()
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
