"""Benchmark: ``XlsxBook.add_table`` on a register-like frame (default 100k rows × 40 columns).

    .venv/bin/python benchmarks/bench_write.py                    # 100,000 × 40, median of 3
    .venv/bin/python benchmarks/bench_write.py --rows 20000 --repeat 1 --profile
    .venv/bin/python benchmarks/bench_write.py --api write_row --repeat 1     # an XlsxWriter option, see below

Columns: 16 text (names, 户编号, masked IDs, villages, causes), 8 int, 8 money/float (with NaN),
4 bool (with NA), 2 dates, 2 general (mixed). Prints seconds, µs per cell and the file size;
``--profile`` prints the top of a cProfile run instead.

``--api`` picks how the cells reach XlsxWriter (each a public API option, for the comparison in
benchmarks/README.md "Writing"; run each in its own process for its peak RSS):

* ``book`` (default): ``XlsxBook.add_table`` — what fupin does;
* ``write_row``: constant memory, one ``write_row(row, 0, values)`` per row (type dispatch per cell);
* ``write_column``: *not* constant memory (shared strings, every cell held until the save), one
  ``write_column`` per column — the only order-free way, and the one whose memory grows with the cells.

Prints CPU and wall seconds and the process's peak RSS (``ru_maxrss``, including the frame).
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import resource
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from fupin_cli.io.xlsx import XlsxBook


def make_frame(rows: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    villages = np.array([f"{t}镇{v}村" for t in "东西南北中" for v in "一二三四五六"])
    causes = np.array(["因病", "因残", "因学", "缺技术", "缺劳力", "缺资金"])
    cols: dict[str, object] = {}
    cols["户编号"] = pd.array([f"5002301{i:08d}" for i in range(rows)], dtype="str")
    cols["户主证件号码"] = pd.array([f"500230****{i % 10000:04d}" for i in range(rows)], dtype="str")
    for k in range(14):
        vals = (villages if k % 2 else causes)[rng.integers(0, 30 if k % 2 else 6, rows)]
        s = pd.Series(vals, dtype="str")
        s[rng.random(rows) < 0.05] = None
        cols[f"文本{k}"] = s
    for k in range(8):
        cols[f"整数{k}"] = rng.integers(0, 10, rows)
    for k in range(8):
        a = np.round(rng.normal(3000, 1500, rows), 2)
        a[rng.random(rows) < 0.05] = np.nan
        cols[f"收入{k}"] = a
    for k in range(4):
        b = pd.array(rng.random(rows) < 0.3, dtype="boolean")
        b[rng.random(rows) < 0.05] = pd.NA
        cols[f"是否{k}"] = b
    for k in range(2):
        d = pd.Series(pd.to_datetime("2015-01-01") + pd.to_timedelta(rng.integers(0, 365, rows), unit="D"))
        d[rng.random(rows) < 0.05] = pd.NaT
        cols[f"日期{k}"] = d
    cols["备注"] = pd.Series([None if i % 3 else f"备注{i % 7}" for i in range(rows)], dtype=object)
    cols["年份"] = pd.Series([2015 if i % 2 else "2016年" for i in range(rows)], dtype=object)
    return pd.DataFrame(cols)


def write(df: pd.DataFrame, path: Path, api: str = "book") -> None:
    money = [c for c in df.columns if str(c).startswith("收入")]
    if api == "book":
        with XlsxBook(path, force=True) as book:
            book.add_table("登记册", df, money_columns=money[:4])
        return
    import xlsxwriter

    from fupin_cli.io.xlsx import CHUNK_ROWS, _to_cells

    kinds = XlsxBook._column_kinds(df, (), money[:4], ())
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": api == "write_row", "strings_to_formulas": False,
                                         "strings_to_urls": False, "strings_to_numbers": False})
    ws = wb.add_worksheet("登记册")
    ws.write_row(0, 0, [str(c) for c in df.columns])
    if api == "write_column":
        for j in range(df.shape[1]):
            ws.write_column(1, j, _to_cells(df.iloc[:, j], kinds[j]))
    else:
        r = 1
        for start in range(0, len(df), CHUNK_ROWS):
            part = df.iloc[start:start + CHUNK_ROWS]
            for values in zip(*[_to_cells(part.iloc[:, j], kinds[j]) for j in range(part.shape[1])]):
                ws.write_row(r, 0, values)
                r += 1
    wb.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--api", choices=("book", "write_row", "write_column"), default="book")
    a = ap.parse_args()
    df = make_frame(a.rows)
    cells = df.shape[0] * df.shape[1]
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "bench.xlsx"
        if a.profile:
            prof = cProfile.Profile()
            prof.enable()
            write(df, path, a.api)
            prof.disable()
            pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
            return
        times, walls = [], []
        for _ in range(a.repeat):
            t0, w0 = time.process_time(), time.perf_counter()
            write(df, path, a.api)
            times.append(time.process_time() - t0)
            walls.append(time.perf_counter() - w0)
        t = statistics.median(times)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"{a.api}: {a.rows:,} rows × {df.shape[1]} columns = {cells:,} cells: median CPU {t:.2f} s "
              f"({t / cells * 1e6:.2f} µs/cell, {t / cells * 1e6:.1f} s per 1M cells), wall {statistics.median(walls):.2f} s, "
              f"peak RSS {peak:,.0f} MB, file {path.stat().st_size / 1e6:.1f} MB, runs {', '.join(f'{x:.2f}' for x in times)}")


if __name__ == "__main__":
    main()
