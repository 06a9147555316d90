"""validate's checks: pandas (checks.validate over the read roster) against SQL (checks.sql.validate_scanned
over the roster scanned into DuckDB), one fresh process each.

    python benchmarks/bench_checks.py --roster /tmp/sqlchecks/r100k.parquet --year 2016

Each side reports the CPU (user + system) of reading the roster and of the checks alone, the process's peak
RSS after reading and after the checks (the roster as it is held — pandas frames, or DuckDB tables — included), the number of
findings and a hash of them (the two must match: same findings).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _rss() -> int:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def _digest(findings) -> str:
    text = findings.astype(str).to_csv(index=False)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def side(roster: Path, year: int, which: str) -> dict:
    import datetime as dt

    ref = dt.date(2026, 12, 3)
    t0, c0 = time.perf_counter(), _cpu()
    if which == "pandas":
        from fupin_cli.checks import validate
        from fupin_cli.io.read import read_roster

        data = read_roster([roster])
        t1, c1, rss1 = time.perf_counter(), _cpu(), _rss()
        findings = validate(data, year, ref_date=ref)
        extra: dict = {}
    else:
        import duckdb

        from fupin_cli.checks.sql import validate_scanned
        from fupin_cli.core.identify_sql import _fetch
        from fupin_cli.io.scan import scan_roster

        con = duckdb.connect()
        scan = scan_roster(con, [roster])
        t1, c1, rss1 = time.perf_counter(), _cpu(), _rss()
        out = validate_scanned(con, scan, year, lambda t, cols: _fetch(con, scan, t, cols), ref_date=ref)
        findings = out.findings
        extra = {"pandas_checks": out.pandas_checks}
    t2, c2 = time.perf_counter(), _cpu()
    return {"side": which, "read_wall_s": round(t1 - t0, 2), "read_cpu_s": round(c1 - c0, 2),
            "checks_wall_s": round(t2 - t1, 2), "checks_cpu_s": round(c2 - c1, 2),
            "peak_rss_after_read_mb": rss1, "peak_rss_mb": _rss(), "findings": len(findings),
            "digest": _digest(findings), **extra}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--roster", type=Path, required=True)
    ap.add_argument("--year", type=int, default=2016)
    ap.add_argument("--side", choices=["pandas", "sql"])
    a = ap.parse_args()
    if a.side:
        print(json.dumps(side(a.roster, a.year, a.side)))
        return
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    results = {}
    for which in ("sql", "pandas"):
        out = subprocess.run([sys.executable, __file__, "--roster", str(a.roster), "--year", str(a.year), "--side", which],
                             capture_output=True, text=True, env=env, check=True)
        results[which] = json.loads(out.stdout.strip().splitlines()[-1])
        print(json.dumps(results[which]))
    s, p = results["sql"], results["pandas"]
    print(json.dumps({"same_findings": s["digest"] == p["digest"],
                      "checks_cpu_ratio_sql_over_pandas": round(s["checks_cpu_s"] / max(p["checks_cpu_s"], 1e-9), 2),
                      "peak_rss_ratio_sql_over_pandas": round(s["peak_rss_mb"] / max(p["peak_rss_mb"], 1e-9), 2),
                      "load_average": os.getloadavg()}))


if __name__ == "__main__":
    main()
