"""Benchmark: read_roster vs raw fastexcel on a county-sized member-level workbook.

    .venv/bin/python benchmarks/bench_reader.py                 # generate /tmp/fupin_bench_reader.xlsx once, then time
    .venv/bin/python benchmarks/bench_reader.py PATH.xlsx       # time on an existing member-level roster
    .venv/bin/python benchmarks/bench_reader.py --households 20000 --repeat 3
    /usr/bin/time -v .venv/bin/python benchmarks/bench_reader.py --once ROSTER.parquet   # time + peak of one read

``--once PATH`` (any format, e.g. a 1M-household Parquet or CSV): one ``read_roster`` in this
process, no baseline run, printing the time and the peak RSS (``ru_maxrss``) of the process.

The generated file: a title row, a header row, then one row per member (100k households,
~350k members) with the household fields repeated on every member row; 31 columns, text
cells for IDs.  Written with XlsxWriter ``constant_memory`` in 20k-row chunks.

Prints the median of ``--repeat`` runs of (a) ``fastexcel`` loading the sheet and converting
it to pandas (``header_row=None, dtypes="string"``, the raw cost of getting the cells) and
(b) ``read_roster`` on the same file, and their ratio (target ≤ 1.5).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np

HEADERS = [
    "县", "乡镇", "行政村", "户编号", "户主姓名", "家庭人口数", "人均纯收入(元)", "工资性收入", "生产经营性收入",
    "转移性收入", "主要致贫原因", "贫困户属性", "是否危房", "饮水是否安全", "联系电话",
    "序号", "人编号", "姓名", "性别", "证件号码", "与户主关系", "出生日期", "民族", "文化程度", "在校生状况",
    "健康状况", "劳动技能", "务工状况", "务工时间(月)", "是否参加大病保险", "备注",
]

SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈")
GIVEN = list("伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅建国文志海")
CAUSES = ["因病", "因残", "因学", "因灾", "缺土地", "缺水", "缺技术", "缺劳力", "缺资金", "交通条件落后", "自身发展动力不足"]
ATTRS = ["一般贫困户", "低保贫困户", "特困供养贫困户"]
RELATIONS = ["配偶", "之子", "之女", "之父", "之母", "之孙子", "之孙女", "之儿媳"]
HEALTH = ["健康", "健康", "健康", "长期慢性病", "患有大病", "残疾"]
LABOUR = ["普通劳动力", "普通劳动力", "技能劳动力", "弱劳动力或半劳动力", "丧失劳动力", "无劳动力"]
EDU = ["文盲或半文盲", "小学", "初中", "高中", "大专及以上", "学龄前儿童"]
SCHOOL = ["非在校生", "非在校生", "非在校生", "小学", "七年级", "高中一年级"]
WORK = ["乡(镇)内务工", "乡(镇)外县内务工", "县外省内务工", "省外务工", "其他"]
WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]


def _check_char(body17: np.ndarray) -> np.ndarray:
    """GB 11643 MOD 11-2 check characters for an (n, 17) digit array."""
    s = (body17 * np.array(WEIGHTS)).sum(axis=1) % 11
    return np.array(list("10X98765432"))[s]


def make_rows(households: int, seed: int = 2015):
    """Yield lists of row values (one per member), household fields repeated."""
    rng = np.random.default_rng(seed)
    sizes = rng.choice([1, 2, 3, 4, 5, 6], p=[0.09, 0.18, 0.22, 0.25, 0.17, 0.09], size=households)
    n = int(sizes.sum())
    hh_of = np.repeat(np.arange(households), sizes)
    first = np.r_[0, np.cumsum(sizes)[:-1]]
    pos = np.arange(n) - first[hh_of]
    birth_year = np.where(pos == 0, rng.integers(1940, 1985, n), rng.integers(1940, 2014, n))
    birth_month = rng.integers(1, 13, n)
    birth_day = rng.integers(1, 29, n)
    seq3 = rng.integers(0, 1000, n)
    area = rng.choice([500101, 500102, 500110, 500230, 500233], size=n)
    digits = np.zeros((n, 17), dtype=np.int64)
    body = [f"{a}{y:04d}{m:02d}{d:02d}{s:03d}" for a, y, m, d, s in zip(area, birth_year, birth_month, birth_day, seq3)]
    for i in range(17):
        digits[:, i] = [ord(b[i]) - 48 for b in body]
    ids = [b + c for b, c in zip(body, _check_char(digits))]
    names = [SURNAMES[a] + GIVEN[b] + (GIVEN[c] if c % 3 else "") for a, b, c in rng.integers(0, 30, (n, 3))]
    wage = rng.integers(0, 30000, households)
    business = rng.integers(0, 8000, households)
    transfer = rng.integers(0, 5000, households)
    ipc = (wage + business + transfer) / sizes
    cause = rng.integers(0, len(CAUSES), households)
    attr = rng.integers(0, len(ATTRS), households)
    unsafe = rng.random(households) < 0.1
    water = rng.random(households) < 0.9
    town = rng.integers(0, 12, households)
    village = rng.integers(0, 15, households)
    phones = rng.integers(13000000000, 19999999999, households)
    for i in range(n):
        h = int(hh_of[i])
        head = pos[i] == 0
        yield [
            "某某县", f"第{town[h] + 1}镇", f"第{town[h] + 1}镇{village[h] + 1}村", f"5001012{h:08d}",
            names[first[h]], int(sizes[h]), round(float(ipc[h]), 2), int(wage[h]), int(business[h]), int(transfer[h]),
            CAUSES[cause[h]], ATTRS[attr[h]], "是" if unsafe[h] else "否", "是" if water[h] else "否", str(phones[h]),
            int(pos[i]) + 1, f"5001012{h:08d}{pos[i] + 1:02d}", names[i], "男" if seq3[i] % 2 else "女", ids[i],
            "户主" if head else RELATIONS[i % len(RELATIONS)],
            f"{birth_year[i]:04d}-{birth_month[i]:02d}-{birth_day[i]:02d}", "汉族" if i % 7 else "土家族",
            EDU[i % 6], SCHOOL[i % 6], HEALTH[(i * 7) % 6], LABOUR[(i * 5) % 6], WORK[i % 5],
            int(i % 13), "是" if i % 4 else "否", "" if i % 10 else "已核实",
        ]


def make_file(path: Path, households: int = 100_000, chunk: int = 20_000) -> int:
    """Write the member-level benchmark workbook; returns the number of member rows."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("花名册")
    ws.write_row(0, 0, ["某某县2015年建档立卡贫困人口花名册"])
    ws.write_row(1, 0, HEADERS)
    row = 2
    buf: list[list] = []
    for values in make_rows(households):
        buf.append(values)
        if len(buf) >= chunk:
            for v in buf:
                ws.write_row(row, 0, v)
                row += 1
            buf.clear()
    for v in buf:
        ws.write_row(row, 0, v)
        row += 1
    wb.close()
    return row - 2


def _raw(path: Path):
    import fastexcel

    return fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string").to_pandas()


def _ours(path: Path):
    from fupin_cli.io.read import read_roster

    return read_roster(path)


def timed(fn, path: Path, repeat: int) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn(path)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("path", nargs="?", type=Path, help="member-level roster .xlsx (default: generate one)")
    ap.add_argument("--households", type=int, default=100_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--profile", action="store_true", help="cProfile one read_roster run")
    ap.add_argument("--once", action="store_true", help="one read_roster of PATH: time and peak RSS only")
    args = ap.parse_args(argv)
    if args.once:
        import resource

        t0 = time.perf_counter()
        roster = _ours(args.path)
        took = time.perf_counter() - t0
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"read_roster({args.path.name}): {took:.1f} s, peak RSS {peak:,.0f} MB: {roster.n_households:,} households, "
              f"{roster.n_members:,} members, {len(roster.notes):,} notes, layout {roster.sources[0].layout}")
        return 0
    path = args.path or Path(f"/tmp/fupin_bench_reader_{args.households}.xlsx")
    if not path.exists():
        t0 = time.perf_counter()
        rows = make_file(path, args.households)
        print(f"generated {path} ({rows:,} member rows, {path.stat().st_size / 1e6:.1f} MB) in {time.perf_counter() - t0:.1f} s")
    if args.profile:
        import cProfile
        import pstats

        cProfile.runctx("_ours(path)", globals(), {"path": path, "_ours": _ours}, "/tmp/bench_reader.prof")
        pstats.Stats("/tmp/bench_reader.prof").sort_stats("cumulative").print_stats(30)
        return 0
    raw_s, raw = timed(_raw, path, args.repeat)
    ours_s, roster = timed(_ours, path, args.repeat)
    print(f"file: {path.name}, {path.stat().st_size / 1e6:.1f} MB, {len(raw):,} sheet rows")
    print(f"raw fastexcel load_sheet(dtypes='string').to_pandas(): {raw_s:.2f} s (median of {args.repeat})")
    print(f"read_roster: {ours_s:.2f} s (median of {args.repeat}): "
          f"{roster.n_households:,} households, {roster.n_members:,} members, layout {roster.sources[0].layout}")
    print(f"ratio read_roster / raw = {ours_s / raw_s:.2f} (target <= 1.5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
