"""Benchmark: .xlsx in and out — writing the register workbook (``write_register`` → .xlsx), one source tree
against another; and ``identify --engine duckdb`` on an .xlsx roster against the raw fastexcel load of it.

    python benchmarks/bench_xlsx.py prepare --households 100000          # not timed: generate + identify, cached
    python benchmarks/bench_xlsx.py compare --households 100000 --before /tmp/old/src --after src --repeat 3
    python benchmarks/bench_xlsx.py identify ROSTER.xlsx --year 2016 [--repeat 1] [--pandas]

``identify`` (issue 10: "100k households from .xlsx: identify end to end within 2x the raw fastexcel load")
runs, each as one fresh process under ``/usr/bin/time -v`` (wall, CPU = user + system, peak RSS), interleaved
per repeat: (r) the raw load, ``fastexcel.read_excel(p).load_sheet(0, header_row=None, dtypes="string").to_arrow()``;
(d) ``fupin identify ROSTER --year Y --engine duckdb --no-checks -o out.parquet --force --quiet``; with
``--pandas`` also (p) the default engine, ``fupin identify ROSTER --year Y -o out.parquet --force --quiet``.
It prints each run, the medians and the ratios d/r (wall and CPU), and checks that (d) did not fall back
to the pandas engine (its stderr would say so).

``prepare`` generates a synthetic county (``samples.generate_roster``, member layout, national-2014,
2016) and identifies it in memory; the :class:`IdentifyResult` is pickled to
``DATA/xlsx-N/result.pkl`` (``--data``, default ``benchmarks/data``, git-ignored).

``compare`` runs, for each source tree and repeat, one fresh process (``run``) that loads the
pickle, then times ``write_register(result, out.xlsx)`` — every sheet of the register workbook:
登记册 (one row per household, all columns), 登记册(打印), 成员 (or its Parquet side file above
1,048,575 members), 汇总, 致贫原因 with its chart, 说明 — and prints, per run:

* ``total``: wall time of ``write_register`` (rows + final save);
* ``save``: wall time of the final save (``Workbook.close()``: assembling the sheet XML and the zip);
* ``gap``: the longest stretch with no progress report (the frozen display of issue 12) — counted from
  the start of the write to the end of the save, over row reports and save reports alike;
* ``cpu``: process CPU time of ``write_register``;
* ``peak``: peak RSS of the process (``ru_maxrss``) and ``base``: RSS after loading the pickle, so
  ``peak - base`` is what the writer adds;
* the file size.

A tree that has no save progress (before this change) reports only row progress, so its ``gap``
includes the whole save.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import pickle
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def prepare(households: int, data: Path, seed: int = 2016, year: int = 2016) -> Path:
    out = data / f"xlsx-{households}" / "result.pkl"
    if out.exists():
        return out
    from fupin_cli.core.identify import identify
    from fupin_cli.engine import load_pack
    from fupin_cli.samples import generate_roster

    t0 = time.perf_counter()
    roster, _ = generate_roster(households, seed, year)
    print(f"generated {households:,} households in {time.perf_counter() - t0:.0f} s", flush=True)
    t0 = time.perf_counter()
    result = identify(roster, load_pack("national-2014"), year, allow_errors=True, run_time="2016-12-31T00:00:00+00:00")
    print(f"identified in {time.perf_counter() - t0:.0f} s", flush=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        pickle.dump(result, f, protocol=pickle.HIGHEST_PROTOCOL)
    os.replace(tmp, out)
    return out


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def run(pickle_path: Path, out: Path) -> dict:
    """One measurement in this process (called in a fresh process by ``compare``)."""
    with open(pickle_path, "rb") as f:
        result = pickle.load(f)
    base = _rss_mb()
    from fupin_cli.io.register import write_register

    marks: list[tuple[float, str]] = []
    t_save: list[float] = []

    def rows(done: int, total: int) -> None:
        marks.append((time.perf_counter(), "rows"))

    def listener(stage: str, done: int, total: int) -> None:
        now = time.perf_counter()
        marks.append((now, stage))
        if stage == "save" and not t_save:
            t_save.append(now)

    try:  # the trees after this change report the save (and rows) to an io-level listener
        from fupin_cli.io.progress import listening
    except ImportError:
        listening = None
    cpu0, t0 = time.process_time(), time.perf_counter()
    if listening is not None:
        with listening(listener):
            write_register(result, out, force=True, progress=rows)
    else:
        write_register(result, out, force=True, progress=rows)
    t1, cpu1 = time.perf_counter(), time.process_time()
    times = [t0, *(m[0] for m in marks), t1]
    gap = max(b - a for a, b in itertools.pairwise(times))
    last_rows = max((m[0] for m in marks if m[1] == "rows"), default=t0)
    return {"total": t1 - t0, "cpu": cpu1 - cpu0, "save": t1 - (t_save[0] if t_save else last_rows),
            "save_reported": bool(t_save), "gap": gap, "reports": len(marks),
            "peak": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "base": base,
            "size_mb": out.stat().st_size / 1e6, "households": len(result.households), "members": len(result.members)}


def compare(a: argparse.Namespace) -> None:
    pkl = a.data / f"xlsx-{a.households}" / "result.pkl"
    if not pkl.exists():
        sys.exit(f"no {pkl}: run `bench_xlsx.py prepare --households {a.households}` first")
    trees = [("before", a.before), ("after", a.after)]
    results: dict[str, list[dict]] = {name: [] for name, _ in trees}
    with tempfile.TemporaryDirectory(dir=a.tmp) as d:
        for i in range(a.repeat):
            for name, src in trees:  # interleaved, so a change in the machine's load hits both sides
                env = {**os.environ, "PYTHONPATH": str(Path(src).resolve())}
                out = Path(d) / f"{name}.xlsx"
                proc = subprocess.run([sys.executable, __file__, "run", str(pkl), str(out)], env=env,
                                      capture_output=True, text=True)
                if proc.returncode:
                    sys.exit(f"{name} failed:\n{proc.stderr[-3000:]}")
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                results[name].append(r)
                print(f"{name} #{i + 1}: " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k} {v}"
                                                        for k, v in r.items()), flush=True)
                out.unlink(missing_ok=True)
    print(f"\n{a.households:,} households, median of {a.repeat} (load average now {os.getloadavg()[0]:.1f}):")
    print("| tree | write_register wall | CPU | final save | longest gap without progress | peak RSS (after load) | file |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, rs in results.items():
        med = {k: statistics.median(r[k] for r in rs) for k in ("total", "cpu", "save", "gap", "peak", "base", "size_mb")}
        print(f"| {name} | {med['total']:.1f} s | {med['cpu']:.1f} s | {med['save']:.1f} s | {med['gap']:.1f} s | "
              f"{med['peak']:,.0f} MB ({med['base']:,.0f} MB) | {med['size_mb']:.1f} MB |")


RAW = ("import sys, fastexcel; t = fastexcel.read_excel(sys.argv[1]).load_sheet(0, header_row=None, dtypes='string').to_arrow(); "
       "print(t.num_rows, t.num_columns)")


def _timed(cmd: list[str], env: dict) -> dict:
    """Wall, CPU (user + system) and peak RSS of one fresh process under ``/usr/bin/time -v``."""
    import re

    t0 = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *cmd], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t0
    if proc.returncode:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    if "pandas engine runs instead" in proc.stdout + proc.stderr:
        sys.exit(f"--engine duckdb fell back to the pandas engine:\n{proc.stdout[-2000:]}{proc.stderr[-2000:]}")

    def num(label: str) -> float:
        m = re.search(label + r": ([\d.]+)", proc.stderr)
        return float(m.group(1)) if m else float("nan")

    return {"wall": wall, "cpu": num(r"User time \(seconds\)") + num(r"System time \(seconds\)"),
            "peak": num(r"Maximum resident set size \(kbytes\)") / 1024}


def identify_vs_raw(a: argparse.Namespace) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(a.src).resolve())}
    fupin = [sys.executable, "-m", "fupin_cli", "identify", str(a.roster), "--year", str(a.year), "--force", "--quiet"]
    runs = {"raw fastexcel load (to_arrow)": [sys.executable, "-c", RAW, str(a.roster)]}
    with tempfile.TemporaryDirectory(dir=a.tmp) as d:
        runs["identify --engine duckdb --no-checks"] = [*fupin, "--engine", "duckdb", "--no-checks", "-o", str(Path(d) / "duckdb.parquet")]
        if a.pandas:
            runs["identify (default engine)"] = [*fupin, "-o", str(Path(d) / "pandas.parquet")]
        results: dict[str, list[dict]] = {k: [] for k in runs}
        for i in range(a.repeat):
            for name, cmd in runs.items():
                r = _timed(cmd, env)
                results[name].append(r)
                print(f"#{i + 1} {name}: wall {r['wall']:.1f} s, CPU {r['cpu']:.1f} s, peak RSS {r['peak']:,.0f} MB "
                      f"(load avg {os.getloadavg()[0]:.1f})", flush=True)
    med = {name: {k: statistics.median(r[k] for r in rs) for k in ("wall", "cpu", "peak")} for name, rs in results.items()}
    print(f"\n{a.roster.name} ({a.roster.stat().st_size / 1e6:.1f} MB), median of {a.repeat} (load average now {os.getloadavg()[0]:.1f}):")
    print("| run | wall | CPU | peak RSS | wall / raw | CPU / raw |")
    print("|---|---:|---:|---:|---:|---:|")
    raw = med["raw fastexcel load (to_arrow)"]
    for name, m in med.items():
        print(f"| {name} | {m['wall']:.1f} s | {m['cpu']:.1f} s | {m['peak']:,.0f} MB | {m['wall'] / raw['wall']:.2f} | "
              f"{m['cpu'] / raw['cpu']:.2f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("prepare")
    p.add_argument("--households", type=int, default=100_000)
    p.add_argument("--data", type=Path, default=ROOT / "data")
    r = sub.add_parser("run")
    r.add_argument("pickle", type=Path)
    r.add_argument("out", type=Path)
    c = sub.add_parser("compare")
    c.add_argument("--households", type=int, default=100_000)
    c.add_argument("--data", type=Path, default=ROOT / "data")
    c.add_argument("--before", required=True, help="src folder of the tree to compare against")
    c.add_argument("--after", default=str(ROOT.parent / "src"))
    c.add_argument("--repeat", type=int, default=3)
    c.add_argument("--tmp", default=None, help="folder for the output workbooks (default: system temp)")
    i = sub.add_parser("identify", help="identify --engine duckdb on an .xlsx roster against the raw fastexcel load")
    i.add_argument("roster", type=Path)
    i.add_argument("--year", type=int, default=2016)
    i.add_argument("--repeat", type=int, default=1)
    i.add_argument("--pandas", action="store_true", help="also time the default (pandas) engine")
    i.add_argument("--src", default=str(ROOT.parent / "src"), help="src folder of the tree to run")
    i.add_argument("--tmp", default=None, help="folder for the registers (default: system temp)")
    a = ap.parse_args()
    if a.cmd == "identify":
        identify_vs_raw(a)
    elif a.cmd == "prepare":
        print(prepare(a.households, a.data))
    elif a.cmd == "run":
        print(json.dumps(run(a.pickle, a.out)))
    else:
        compare(a)


if __name__ == "__main__":
    main()
