"""Benchmark: `fupin reassess` on a generated county of N households (default 1,000,000), Parquet in and out.

    .venv/bin/python benchmarks/bench_reassess.py                       # 1M households: prepare once, then measure
    .venv/bin/python benchmarks/bench_reassess.py --households 100000   # smaller
    .venv/bin/python benchmarks/bench_reassess.py --prepare-only

Preparation (cached under ``benchmarks/data/reassess-<N>/``, git-ignored, not timed):
``generate_chain(N, seed=2015, years=[2015, 2016])`` → ``roster-2015.parquet`` and
``roster-2016.parquet`` (member layout, ~3.5 members per household) and the 2016 truth;
``fupin identify roster-2015.parquet --year 2015`` → ``register-2015.parquet``.

Measured: one fresh process running
``fupin reassess register-2015.parquet roster-2016.parquet --year 2016 -o register-2016.parquet``
(read both files, validate and identify 2016, household exit rules, matching, history, write),
under ``/usr/bin/time -v`` for wall time and peak RSS (``resource.getrusage`` of the child
when ``/usr/bin/time`` is missing).  The transition counts are then checked against the truth.
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


def prepare(n: int, folder: Path) -> None:
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
    reg = folder / "register-2015.parquet"
    if not reg.exists():
        t = time.perf_counter()
        subprocess.run([*FUPIN, "identify", str(r15), "--year", "2015", "-o", str(reg), "-q", "--allow-errors"], check=True)
        print(f"identified 2015 in {time.perf_counter() - t:.1f} s", file=sys.stderr)


def measure(folder: Path) -> dict:
    out = folder / "register-2016.parquet"
    cmd = [*FUPIN, "reassess", str(folder / "register-2015.parquet"), str(folder / "roster-2016.parquet"),
           "--year", "2016", "-o", str(out), "--force", "--json", "--allow-errors"]
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    t = time.perf_counter()
    if time_bin:
        proc = subprocess.run([time_bin, "-v", *cmd], capture_output=True, text=True)
        wall = time.perf_counter() - t
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
        peak_kb = int(m.group(1)) if m else None
    else:
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t
        peak_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    if proc.returncode != 0:
        sys.exit(f"reassess failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    summary = json.loads(proc.stdout)
    return {"wall_s": round(wall, 1), "peak_rss_mb": round(peak_kb / 1024) if peak_kb else None,
            "transitions": {k: v["households"] for k, v in summary["transitions"].items()},
            "households": summary["households"], "output_mb": round(out.stat().st_size / 2**20, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--prepare-only", action="store_true")
    args = ap.parse_args()
    folder = ROOT / "data" / f"reassess-{args.households}"
    prepare(args.households, folder)
    if args.prepare_only:
        return
    result = measure(folder)
    truth = json.loads((folder / "truth-2016.json").read_text(encoding="utf-8"))
    result["truth"] = truth
    result["matches_truth"] = all(result["transitions"].get(k, 0) == v for k, v in truth.items())
    result["cpu_count"] = os.cpu_count()
    print(json.dumps(result, ensure_ascii=False, indent=2))


if __name__ == "__main__":
    main()
