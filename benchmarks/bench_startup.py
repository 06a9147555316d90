"""Start-up time of `fupin --help`, `fupin --version` and a command's --help (hyperfine-style).

Each command runs as a fresh process ``--runs`` times after ``--warmup`` runs; the script prints
mean ± standard deviation, median and minimum wall time, the median CPU time, and the modules that take longest to
import (``python -X importtime``).  ``--src A --src B`` times several source trees side by side
in one run (e.g. this branch against main), interleaved so that machine load hits both alike.

    python benchmarks/bench_startup.py
    python benchmarks/bench_startup.py --src src --src /work/main/src --runs 30
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = (["--help"], ["--version"], ["identify", "--help"])


def run_once(src: Path, args: list[str]) -> tuple[float, float]:
    """(wall, CPU user+system) seconds of one fresh process; CPU time is less disturbed by a busy machine."""
    env = {**os.environ, "PYTHONPATH": str(src)}
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "fupin_cli", *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def import_profile(src: Path, args: list[str], top: int = 8) -> list[tuple[str, float]]:
    env = {**os.environ, "PYTHONPATH": str(src)}
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "fupin_cli", *args], env=env, capture_output=True, text=True)
    rows = []
    for line in proc.stderr.splitlines():
        m = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if m and len(m.group(2)) <= 3:  # top-level imports (and their direct children)
            rows.append((m.group(3).strip(), int(m.group(1)) / 1e6))
    return sorted(rows, key=lambda r: -r[1])[:top]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", action="append", type=Path, help="source tree(s) on PYTHONPATH (default: this repo's src)")
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--warmup", type=int, default=3)
    args = ap.parse_args()
    srcs = [p.resolve() for p in (args.src or [ROOT / "src"])]
    times: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for src in srcs:
        for cmd in COMMANDS:
            for _ in range(args.warmup):
                run_once(src, cmd)
    for _ in range(args.runs):  # interleaved: every tree and command once per round
        for src in srcs:
            for cmd in COMMANDS:
                times.setdefault((str(src), " ".join(cmd)), []).append(run_once(src, cmd))
    result = {"python": sys.version.split()[0], "cpus": os.cpu_count(), "load_avg": os.getloadavg(), "runs": args.runs, "results": []}
    for (src, cmd), pairs in times.items():
        ts, cpu = [w for w, _ in pairs], [c for _, c in pairs]
        row = {"src": src, "command": f"fupin {cmd}", "mean_s": round(statistics.mean(ts), 3), "sd_s": round(statistics.stdev(ts), 3),
               "median_s": round(statistics.median(ts), 3), "min_s": round(min(ts), 3), "cpu_median_s": round(statistics.median(cpu), 3)}
        result["results"].append(row)
        print(f"{row['command']:<24} {src}: {row['mean_s']:.3f} s ± {row['sd_s']:.3f}  (median {row['median_s']:.3f}, "
              f"min {row['min_s']:.3f}; CPU median {row['cpu_median_s']:.3f})", file=sys.stderr)
    result["imports_help"] = {str(src): import_profile(src, ["--help"]) for src in srcs}
    print(json.dumps(result, indent=2, ensure_ascii=False))


if __name__ == "__main__":
    main()
