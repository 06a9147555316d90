"""Benchmark: `fupin identify` on 1,000,000 households from Parquet against a hand-written DuckDB query.

    .venv/bin/python benchmarks/bench_identify.py                          # 1M households, national-2014, 2016
    .venv/bin/python benchmarks/bench_identify.py --households 100000
    .venv/bin/python benchmarks/bench_identify.py --roster some-roster.parquet --allow-errors

Preparation (cached under ``benchmarks/data/identify-<N>/``, git-ignored, not timed):
``fupin samples generate -n N -s 2016 --year 2016 -o roster-2016.parquet`` (member layout: one row
per member, household fields repeated; ~3.5 members per household).  ``--roster`` uses a given
member-level Parquet roster instead.

Measured, each as one fresh process under ``/usr/bin/time -v`` (wall time and peak RSS):

(a) ``fupin identify ROSTER --year 2016 -o out.parquet --quiet --force`` — read, validate, derive,
    evaluate all rules, decide (status, attribute, causes, measures, 识别依据 / 未识别原因 texts),
    summaries, write the register;
(b) a hand-written DuckDB SQL (:data:`SQL`) doing the same national-2014 rules for the year on
    the same file: per-household member aggregates, per-capita income against the poverty
    line, the eight exclusions (一票否决), the 人口数不符 待核实 override, the attribute and the
    primary cause by priority, written to Parquet.  Parameters are taken from the pack for the
    year (the same values fupin uses), columns the file lacks are NULL.

Then prints the ratio (a)/(b) (target ≤ 1.5) and checks that both outputs have the same status
counts and the same primary-cause counts (exit 1 when they differ).
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
PY = sys.executable
FUPIN = [PY, "-m", "fupin_cli"]

# Household-level columns (first value of the household's rows) and member-level aggregates.
# {param} are the pack's parameter values for the year; {col:NAME} is the quoted column or NULL.
SQL = """
COPY (
WITH hh AS (
    SELECT
        户编号 AS household_id,
        {member_count} AS member_count,
        first({col:家庭人口数}) AS household_size,
        first({col:人均纯收入}) AS income_per_capita,
        first({col:纯收入}) AS net_income,
        first({col:工资性收入}) AS wage_income,
        first({col:生产经营性收入}) AS business_income,
        first({col:财产性收入}) AS property_income,
        first({col:转移性收入}) AS transfer_income,
        first({col:生产经营性支出}) AS business_expense,
        first({col:年收入}) AS annual_income,
        -- exclusions (一票否决): household flags and member flags
        first({col:有国家公职人员}) AS has_public_employee,
        bool_or(coalesce({col:是否国家公职人员}, false)) AS any_public_employee,
        first({col:有村干部}) AS has_village_cadre,
        bool_or(coalesce({col:是否村干部}, false)) AS any_village_cadre,
        first({col:车辆价值}) AS vehicle_value,
        first({col:城镇有房产}) AS has_town_property,
        first({col:有工商注册企业}) AS has_company,
        first({col:种养大户或雇工}) AS large_scale_operator,
        first({col:拆户并户}) AS split_household,
        first({col:空挂户}) AS absentee_registration,
        -- attribute (贫困户属性)
        first({col:是否低保户}) AS dibao_household,
        first({col:是否特困供养户}) AS tekun_household,
        first({col:低保金}) AS dibao_benefit,
        first({col:特困供养金}) AS tekun_benefit,
        count(*) FILTER (WHERE {col:是否享受低保}) AS dibao_member_count,
        count(*) FILTER (WHERE {col:是否特困供养}) AS tekun_member_count,
        -- causes (致贫原因)
        count(*) FILTER (WHERE {col:健康状况} IN ('患有大病', '长期慢性病')) AS seriously_ill_count,
        count(*) FILTER (WHERE {col:健康状况} = '残疾') AS disabled_count,
        count(*) FILTER (WHERE {col:在校生状况} IN ('高中一年级', '高中二年级', '高中三年级', '中职一年级', '中职二年级',
                         '中职三年级', '高职一年级', '高职二年级', '高职三年级', '大专及以上')) AS noncompulsory_student_count,
        count(*) FILTER (WHERE {col:劳动技能} IN ('普通劳动力', '技能劳动力')) AS full_labourer_count,
        count(*) FILTER (WHERE {col:劳动技能} = '技能劳动力') AS skilled_labourer_count,
        first({col:教育支出}) AS education_expense,
        first({col:灾害损失}) AS disaster_loss,
        first({col:耕地面积}) AS arable_land,
        first({col:饮水是否困难}) AS water_difficulty,
        first({col:饮水是否安全}) AS safe_water,
        first({col:缺发展资金}) AS lacks_capital,
        first({col:自身发展动力不足}) AS low_motivation,
        first({col:原主要致贫原因}) AS recorded_primary_cause,
        first({col:原其他致贫原因}) AS recorded_secondary_causes,
        first({col:与村主干路距离}) AS road_distance_km,
        first({col:入户路类型}) AS road_type
    FROM read_parquet('{roster}')
    WHERE 户编号 IS NOT NULL
    GROUP BY 户编号
),
sized AS (
    SELECT *, nullif(coalesce(household_size, member_count), 0) AS size FROM hh
),
income AS (
    SELECT *, coalesce(
        income_per_capita,
        net_income / size,
        (wage_income + business_income + coalesce(property_income, 0) + coalesce(transfer_income, 0)
         - coalesce(business_expense, 0)) / size,
        (annual_income - coalesce(business_expense, 0)) / size) AS income_pc
    FROM sized
),
decided AS (
    SELECT *,
        income_pc < {poverty_line} AS eligible,
        coalesce(has_public_employee, false) OR any_public_employee
        OR coalesce(has_village_cadre, false) OR any_village_cadre
        OR coalesce(vehicle_value, 0) >= {vehicle_value_limit}
        OR coalesce(has_town_property, false) OR coalesce(has_company, false)
        OR coalesce(large_scale_operator, false) OR coalesce(split_household, false)
        OR coalesce(absentee_registration, false) AS excluded,
        coalesce(income_pc < {poverty_line} AND member_count > 0 AND household_size IS NOT NULL
                 AND household_size != member_count, false) AS size_mismatch
    FROM income
),
status AS (
    SELECT *, CASE
        WHEN size_mismatch THEN '待核实'
        WHEN excluded THEN '非贫困户'
        WHEN eligible THEN '贫困户'
        WHEN NOT eligible THEN '非贫困户'
        ELSE '待核实' END AS status
    FROM decided
)
SELECT
    household_id,
    status,
    CASE WHEN status != '贫困户' THEN NULL
        WHEN is_dibao AND is_tekun THEN '低保特困供养贫困户'
        WHEN is_tekun THEN '特困供养贫困户'
        WHEN is_dibao THEN '低保贫困户'
        ELSE '一般贫困户' END AS attribute,
    CASE WHEN status = '非贫困户' THEN NULL
        WHEN seriously_ill_count > 0 THEN '因病'
        WHEN disabled_count > 0 THEN '因残'
        WHEN noncompulsory_student_count > 0 OR coalesce(education_expense, 0) >= {education_expense_high} THEN '因学'
        WHEN coalesce(disaster_loss, 0) >= {disaster_loss_min} THEN '因灾'
        WHEN arable_land / size < {arable_land_pc_min} THEN '缺土地'
        WHEN coalesce(water_difficulty, false) OR NOT coalesce(safe_water, true) THEN '缺水'
        WHEN full_labourer_count > 0 AND skilled_labourer_count = 0
             AND coalesce(wage_income, 0) / nullif(full_labourer_count, 0) < {low_wage_per_labourer} THEN '缺技术'
        WHEN member_count > 0 AND (full_labourer_count = 0 OR full_labourer_count / size < {labour_share_min}) THEN '缺劳力'
        WHEN coalesce(lacks_capital, false) OR coalesce(recorded_primary_cause = '缺资金', false)
             OR coalesce(regexp_matches(recorded_secondary_causes, '{sep_left}缺资金{sep_right}'), false) THEN '缺资金'
        WHEN coalesce(road_distance_km, 0) > {road_distance_far_km} OR coalesce(road_type = '泥土路', false) THEN '交通条件落后'
        WHEN coalesce(low_motivation, false) OR coalesce(recorded_primary_cause = '自身发展动力不足', false)
             OR coalesce(regexp_matches(recorded_secondary_causes, '{sep_left}自身发展动力不足{sep_right}'), false)
             THEN '自身发展动力不足'
        ELSE '其他' END AS primary_cause,
    income_pc
FROM (SELECT *,
        coalesce(dibao_household, false) OR dibao_member_count > 0 OR coalesce(dibao_benefit, 0) > 0 AS is_dibao,
        coalesce(tekun_household, false) OR tekun_member_count > 0 OR coalesce(tekun_benefit, 0) > 0 AS is_tekun
      FROM status)
) TO '{output}' (FORMAT parquet);
"""

PARAMS = ("poverty_line", "vehicle_value_limit", "education_expense_high", "disaster_loss_min", "arable_land_pc_min",
          "low_wage_per_labourer", "labour_share_min", "road_distance_far_km")


def build_sql(roster: Path, output: Path, params: dict, columns: set[str]) -> str:
    def col(m: re.Match) -> str:
        name = m.group(1)
        return f'"{name}"' if name in columns else "NULL"

    sql = re.sub(r"\{col:([^}]+)\}", col, SQL)
    # one row per household (no member columns): no member rows, as fupin reads that layout (member counts 0)
    member_count = "count(*)" if "与户主关系" in columns or "姓名" in columns else "0"
    return sql.format(member_count=member_count, roster=str(roster).replace("'", "''"), output=str(output).replace("'", "''"),
                      sep_left=r"(^|[、,，;；/\s])", sep_right=r"($|[、,，;；/\s])", **params)


def pack_params(pack_name: str, year: int) -> dict:
    from fupin_cli.engine import load_pack
    from fupin_cli.engine.params import resolve_many

    pack = load_pack(pack_name)
    return {k: v.value for k, v in resolve_many(pack, set(PARAMS), year, pack.meta.region).items()}


def run_duckdb(roster: Path, output: Path, year: int, pack: str, threads: int | None) -> None:
    """The DuckDB side (run in its own process by :func:`timed`)."""
    import duckdb
    import pyarrow.parquet as pq

    columns = set(pq.read_schema(roster).names)
    sql = build_sql(roster, output, pack_params(pack, year), columns)
    con = duckdb.connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    con.execute(sql)


def timed(cmd: list[str]) -> dict:
    """Wall time and peak RSS of one fresh process (``/usr/bin/time -v``)."""
    time_bin = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    t = time.perf_counter()
    proc = subprocess.run([time_bin, "-v", *cmd] if time_bin else cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr)
    user = re.search(r"User time \(seconds\): ([\d.]+)", proc.stderr)
    system = re.search(r"System time \(seconds\): ([\d.]+)", proc.stderr)
    cpu = round(float(user.group(1)) + float(system.group(1)), 1) if user and system else None
    return {"wall_s": round(wall, 1), "cpu_s": cpu, "peak_rss_mb": round(int(m.group(1)) / 1024) if m else None}


def phases(roster: Path, out: Path, year: int, pack_name: str, allow_errors: bool) -> dict:
    """In-process phase times and RSS of the same identify run (where the time goes)."""
    import resource

    from fupin_cli.core.identify import identify
    from fupin_cli.engine import load_pack
    from fupin_cli.io.read import read_roster
    from fupin_cli.io.register import write_register

    def rss() -> float:
        text = Path("/proc/self/status").read_text()
        return round(int(text.split("VmRSS:")[1].split()[0]) / 2**20, 2)

    def peak() -> float:
        return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2)

    rows, last = [], [time.perf_counter(), "read"]

    def step(name: str) -> None:
        now = time.perf_counter()
        rows.append({"phase": last[1], "seconds": round(now - last[0], 1), "rss_gb": rss(), "peak_gb": peak()})
        last[:] = [now, name]

    pack = load_pack(pack_name)
    data = read_roster(roster)
    step("validate")
    names = {"evaluate": "evaluate + decide (engine)", "decide": "register, summaries, causes (core)"}
    result = identify(data, pack, year, allow_errors=allow_errors,
                      progress=lambda name: step(names.get(name, name)) if name != "validate" else None)
    step("write Parquet")
    write_register(result, out, force=True)
    step("end")
    return {"phases": rows}


def prepare(n: int, year: int, folder: Path, layout: str = "member") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    roster = folder / (f"roster-{year}.parquet" if layout == "member" else f"roster-{year}-{layout}.parquet")
    if not roster.exists():
        t = time.perf_counter()
        subprocess.run([*FUPIN, "samples", "generate", "-n", str(n), "-s", str(year), "--year", str(year),
                        "-o", str(roster), "--layout", layout, "-q"], check=True)
        print(f"generated {roster} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
    return roster


def counts(path: Path, status_col: str, cause_col: str) -> tuple[dict, dict]:
    import duckdb

    con = duckdb.connect()
    p = str(path).replace("'", "''")
    st = dict(con.execute(f'SELECT "{status_col}", count(*) FROM read_parquet(\'{p}\') GROUP BY 1').fetchall())
    ca = dict(con.execute(f'SELECT "{cause_col}", count(*) FROM read_parquet(\'{p}\') '
                          f'WHERE "{cause_col}" IS NOT NULL GROUP BY 1').fetchall())
    return {str(k): v for k, v in sorted(st.items(), key=str)}, {str(k): v for k, v in sorted(ca.items(), key=str)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--households", type=int, default=1_000_000)
    ap.add_argument("--year", type=int, default=2016)
    ap.add_argument("--pack", default="national-2014")
    ap.add_argument("--roster", type=Path, help="Parquet roster to use (default: generated and cached)")
    ap.add_argument("--layout", choices=["member", "household"], default="member",
                    help="layout of the generated roster: one row per member (default) or one row per household")
    ap.add_argument("--engines", default="duckdb,pandas",
                    help="fupin engines to run, comma-separated: duckdb (--engine duckdb --no-checks), pandas (default engine)")
    ap.add_argument("--allow-errors", action="store_true", help="pass --allow-errors to fupin identify")
    ap.add_argument("--threads", type=int, default=None, help="DuckDB threads (default: all cores)")
    ap.add_argument("--skip-fupin", action="store_true", help="only run the DuckDB side (for iterating on the SQL)")
    ap.add_argument("--phases", action="store_true", help="instead: in-process phase times of fupin identify")
    ap.add_argument("--duckdb-worker", nargs=2, metavar=("ROSTER", "OUT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.duckdb_worker:
        run_duckdb(Path(args.duckdb_worker[0]), Path(args.duckdb_worker[1]), args.year, args.pack, args.threads)
        return

    from fupin_cli.schema import label

    folder = ROOT / "data" / f"identify-{args.households}"
    roster = args.roster.resolve() if args.roster else prepare(args.households, args.year, folder, args.layout)
    folder.mkdir(parents=True, exist_ok=True)
    _out_fupin, out_duck = folder / "fupin-out.parquet", folder / "duckdb-out.parquet"
    print(f"roster: {roster} ({roster.stat().st_size / 2**20:.0f} MB)", file=sys.stderr)
    if args.phases:
        print(json.dumps(phases(roster, folder / "phases-out.parquet", args.year, args.pack, args.allow_errors), indent=2))
        return

    duck_cmd = [PY, __file__, "--duckdb-worker", str(roster), str(out_duck), "--year", str(args.year), "--pack", args.pack]
    if args.threads:
        duck_cmd += ["--threads", str(args.threads)]
    b = timed(duck_cmd)
    print(f"(b) duckdb: {b}", file=sys.stderr)
    result = {"roster": str(roster), "year": args.year, "pack": args.pack, "duckdb": b}
    duck_counts = counts(out_duck, "status", "primary_cause")
    result["duckdb_status"], result["duckdb_primary_cause"] = duck_counts
    if not args.skip_fupin:
        same = True  # the two engines agree (the hand-written SQL covers fewer rules: see benchmarks/README.md)
        for engine in [e.strip() for e in args.engines.split(",") if e.strip()]:
            out = folder / f"fupin-{engine}-out.parquet"
            cmd = [*FUPIN, "identify", str(roster), "--year", str(args.year), "--pack", args.pack, "-o", str(out),
                   "--quiet", "--force"] + (["--allow-errors"] if args.allow_errors else [])
            if engine == "duckdb":
                cmd += ["--engine", "duckdb", "--no-checks"]
            a = timed(cmd)
            print(f"(a) fupin identify [{engine}]: {a}", file=sys.stderr)
            fupin_counts = counts(out, label("status", "zh"), label("primary_cause", "zh"))
            result[engine] = {
                **a, "ratio_wall": round(a["wall_s"] / b["wall_s"], 2),
                "ratio_cpu": round(a["cpu_s"] / b["cpu_s"], 2) if a["cpu_s"] and b["cpu_s"] else None,
                "status": fupin_counts[0], "primary_cause": fupin_counts[1],
                "households_differing_from_sql": differing(out, out_duck),
            }
        engines = [e for e in ("duckdb", "pandas") if e in result]
        if len(engines) == 2:  # the pandas engine is the reference implementation of the pack
            result["households_differing_between_engines"] = same_registers(
                folder / "fupin-duckdb-out.parquet", folder / "fupin-pandas-out.parquet")
            same = result["households_differing_between_engines"] == 0
        print(json.dumps(result, ensure_ascii=False, indent=2))
        if not same:
            sys.exit("the two engines' registers differ (see households_differing_between_engines above)")
    else:
        print(json.dumps(result, ensure_ascii=False, indent=2))


def same_registers(a_path: Path, b_path: Path) -> int:
    """Households (by 户编号) whose decision columns differ between two fupin registers, or missing on one side."""
    import duckdb

    from fupin_cli.schema import label

    a, b = (str(p).replace("'", "''") for p in (a_path, b_path))
    hid = label("household_id", "zh")
    cols = [label(c, "zh") for c in ("status", "attribute", "primary_cause", "secondary_causes", "measures", "basis",
                                     "not_identified_reason", "cause_check")]
    differ = " OR ".join(f'x."{c}" IS DISTINCT FROM y."{c}"' for c in cols)
    return int(duckdb.connect().sql(
        f"SELECT count(*) FROM read_parquet('{a}') AS x FULL JOIN read_parquet('{b}') AS y ON x.\"{hid}\" = y.\"{hid}\" "
        f"WHERE x.\"{hid}\" IS NULL OR y.\"{hid}\" IS NULL OR {differ}").fetchall()[0][0])


def differing(fupin_out: Path, sql_out: Path) -> int:
    """Households whose 识别结果 or 主要致贫原因 differ between fupin's register and the hand-written SQL's output
    (joined on 户编号; a household missing on either side counts too)."""
    import duckdb

    from fupin_cli.schema import label

    a, b = (str(p).replace("'", "''") for p in (fupin_out, sql_out))
    hid, st, ca = (label(n, "zh") for n in ("household_id", "status", "primary_cause"))
    return int(duckdb.connect().sql(
        f"SELECT count(*) FROM read_parquet('{a}') AS f FULL JOIN read_parquet('{b}') AS s ON f.\"{hid}\" = s.household_id "
        f"WHERE f.\"{hid}\" IS NULL OR s.household_id IS NULL OR f.\"{st}\" IS DISTINCT FROM s.status "
        f"OR f.\"{ca}\" IS DISTINCT FROM s.primary_cause").fetchall()[0][0])


if __name__ == "__main__":
    main()
