"""`fupin samples generate|chain`: deterministic synthetic county rosters."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated, Any

import typer

from fupin_cli.cli.common import YEAR_MAX, YEAR_MIN, YEAR_RULE, ForceOpt, JsonOpt, QuietOpt, check_year, err, guard

ROSTER_FORMATS = (".xlsx", ".xls", ".csv", ".parquet")
app = typer.Typer(no_args_is_help=True, help="Generate synthetic county rosters for demos, tests and benchmarks.")


class Layout(str, Enum):
    member = "member"
    household = "household"
    two_sheet = "two-sheet"
    template = "template"


HouseholdsOpt = Annotated[int, typer.Option("--households", "-n", help="Number of households (户数).", min=1, max=5_000_000)]
SeedOpt = Annotated[int, typer.Option("--seed", "-s", help="Random seed: the same seed gives the same file.", min=0)]
CountyOpt = Annotated[str | None, typer.Option("--county", help="Sample county (丰都县, 石柱土家族自治县, 威宁彝族回族苗族自治县, 石泉县, 元谋县, 平乡县; default 丰都县, and 元谋县 for 2021+ monitoring years: 云南 has verified monitoring lines).")]
TruthOpt = Annotated[bool, typer.Option("--truth", help="Also write FILE.truth.json: expected results and planted faults.")]
EncodingOpt = Annotated[str, typer.Option("--encoding", help="CSV encoding (gbk as county offices' Excel expects; utf-8-sig).")]


@app.command("generate")
def generate(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output file: .xlsx, .csv, .parquet, or .xls (written by LibreOffice, which must be installed).", dir_okay=False)],
    households: HouseholdsOpt = 60,
    seed: SeedOpt = 1,
    year: Annotated[int, typer.Option("--year", "-y", help=(
        "Roster year: 2010–2020 sets the poverty line (建档立卡); 2021–2025 makes a 防止返贫监测 roster for "
        "`fupin monitor` (户类型, 监测对象类别 …) in 元谋县 (云南) against its monitoring line (2022 has no verified line)."),
        min=YEAR_MIN, max=YEAR_MAX)] = 2015,
    messy: Annotated[bool, typer.Option("--messy", help="Plant the documented faults (see samples/README.md).")] = False,
    layout: Annotated[Layout | None, typer.Option("--layout", help="Sheet layout; default member (clean) or template (messy). template and two-sheet need .xlsx or .xls.")] = None,
    county: CountyOpt = None,
    truth: TruthOpt = False,
    encoding: EncodingOpt = "gbk",
    force: ForceOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write one synthetic county roster (same --seed → same file)."""
    with guard(json_out):
        from fupin_cli.cli.run import command_provenance, print_envelope, progress
        from fupin_cli.io.write import check_output
        from fupin_cli.io.write_roster import write_roster, write_truth
        from fupin_cli.samples import generate_roster
        from fupin_cli.samples.messy import relocate

        lay = (layout.value if layout else ("template" if messy else "member"))
        truth_path = output.with_name(output.name + ".truth.json")
        check_output(output, force, allowed=ROSTER_FORMATS)
        if truth:
            check_output(truth_path, force)
        with progress(quiet or json_out) as step:
            step(f"生成 {households:,} 户")
            roster, t = generate_roster(households, seed, year, county, messy)
            if messy and lay != t.layout:
                t = relocate(roster, t, lay)
            step("write")  # rows, then the final save, move the bar (io/progress.py)
            info = write_roster(roster, output, lay, force=force, encoding=encoding, progress=step.rows)
            if truth:
                write_truth(t, truth_path, force=force)
        outputs = [output, *([truth_path] if truth else [])]
        summary: dict[str, Any] = {"output": str(output), "layout": lay, "format": info.format, "households": roster.n_households,
                   "members": roster.n_members, "year": year, "seed": seed, "messy": messy,
                   "truth": str(truth_path) if truth else None, "counts": t.counts()}
        if json_out:
            print_envelope(summary, outputs=outputs, provenance=command_provenance(
                "samples generate", year=year, options={"households": households, "seed": seed, "messy": messy,
                                                        "layout": lay, "county": county, "encoding": encoding}))
        elif not quiet:
            standard = "防返贫监测范围" if year >= 2021 else "扶贫标准"
            err.print(f"已写入 {output} ({lay}): {roster.n_households:,} 户 {roster.n_members:,} 人, "
                      f"{t.counts()['below_line']:,} 户低于 {year} 年{standard} {t.poverty_line:,.0f} 元"
                      + (f", 埋设 {len(t.faults)} 个问题" if messy else "") + (f"; truth: {truth_path}" if truth else ""))


@app.command("chain")
def chain(
    output: Annotated[Path, typer.Option("--output", "-o", help="Output folder (created if missing); one roster-YEAR file per year.", file_okay=False)],
    households: HouseholdsOpt = 80,
    seed: SeedOpt = 1,
    years: Annotated[str, typer.Option("--years", help="Comma-separated increasing years, e.g. 2015,2016,2017.")] = "2015,2016,2017",
    fmt: Annotated[str, typer.Option("--format", help="File format of each year: xlsx, csv, parquet, or xls (written by LibreOffice, which must be installed).")] = "xlsx",
    layout: Annotated[Layout, typer.Option("--layout", help="Sheet layout of each year (template and two-sheet need xlsx or xls).")] = Layout.member,
    county: CountyOpt = None,
    truth: TruthOpt = False,
    encoding: EncodingOpt = "gbk",
    force: ForceOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a multi-year chain (roster-2015.xlsx, roster-2016.xlsx, ...) for the annual cycle."""
    with guard(json_out):
        from fupin_cli.cli.run import command_provenance, print_envelope, progress
        from fupin_cli.errors import UsageError
        from fupin_cli.io.write import check_output
        from fupin_cli.io.write_roster import write_roster, write_truth
        from fupin_cli.samples import generate_chain

        try:
            year_list = [int(y) for y in years.replace("，", ",").split(",") if y.strip()]
        except ValueError:
            raise UsageError(f"--years {years!r} is not a list of years", "e.g. --years 2015,2016,2017") from None
        for y in year_list:
            check_year(y, "--years")
        ext = fmt.lower().lstrip(".")
        if f".{ext}" not in ROSTER_FORMATS:
            raise UsageError(f"--format {fmt!r} is not a roster format", "use xlsx, xls, csv or parquet")
        if output.exists() and not output.is_dir():
            raise UsageError(f"{output} exists and is not a folder", "give a folder for --output")
        output.mkdir(parents=True, exist_ok=True)
        paths = {y: output / f"roster-{y}.{ext}" for y in year_list}
        for p in paths.values():
            check_output(p, force)
            if truth:
                check_output(p.with_name(p.name + ".truth.json"), force)
        outputs: list[Path] = []
        summary: dict[str, Any] = {"output": str(output), "years": {}, "seed": seed, "households": households}
        with progress(quiet or json_out) as step:
            step(f"生成 {len(year_list)} 年 × {households:,} 户")
            results = generate_chain(households, seed, year_list, county or "丰都县")
            for (roster, t), (y, p) in zip(results, paths.items()):
                step(f"写出 {p.name}")
                write_roster(roster, p, layout.value, force=force, encoding=encoding, progress=step.rows)
                outputs.append(p)
                if truth:
                    write_truth(t, p.with_name(p.name + ".truth.json"), force=force)
                    outputs.append(p.with_name(p.name + ".truth.json"))
                summary["years"][str(y)] = {"file": str(p), "households": roster.n_households, "members": roster.n_members,
                                            "counts": t.counts()}
                if not quiet and not json_out:
                    moves = ", ".join(f"{k.split(':')[1]} {v}" for k, v in t.counts().items() if k.startswith("transition:"))
                    err.print(f"已写入 {p}: {roster.n_households:,} 户 {roster.n_members:,} 人 ({moves})")
        if json_out:
            print_envelope(summary, outputs=outputs, provenance=command_provenance(
                "samples chain", options={"years": year_list, "households": households, "seed": seed, "format": ext,
                                          "layout": layout.value, "county": county or "丰都县"}))


@app.command("payments")
def payments(
    register: Annotated[Path, typer.Argument(help="A register written by identify or reassess (e.g. of the sample chain).",
                                             exists=True, dir_okay=False, readable=True)],
    output: Annotated[Path, typer.Option("--output", "-o", help="Output payment list (.xlsx).", dir_okay=False)],
    year: Annotated[int, typer.Option("--year", "-y", help="Year of the payments: " + YEAR_RULE, min=YEAR_MIN, max=YEAR_MAX)] = 2015,
    pack: Annotated[str, typer.Option("--pack", "-p", help="Rule pack whose fund items and standards are used.")] = "chongqing",
    anomalies: Annotated[bool, typer.Option("--anomalies", help="Plant one anomaly of every kind `fupin funds` finds (rows in the truth).")] = False,
    seed: SeedOpt = 1,
    truth: TruthOpt = False,
    force: ForceOpt = False,
    json_out: JsonOpt = False,
    quiet: QuietOpt = False,
) -> None:
    """Write a synthetic payment list (资金发放名单) for a register: clean, or with planted anomalies."""
    with guard(json_out):
        from fupin_cli.cli.run import load_pack_checked
        from fupin_cli.errors import RuleError
        from fupin_cli.io.funds_report import write_payments
        from fupin_cli.io.register import read_register
        from fupin_cli.io.write import check_output, write_json
        from fupin_cli.samples.payments import generate_payments

        truth_path = output.with_name(output.name + ".truth.json")
        check_output(output, force, allowed=(".xlsx",))
        if truth:
            check_output(truth_path, force)
        the_pack = load_pack_checked(pack, None)
        if the_pack.funds is None:
            raise RuleError(f"rule pack {the_pack.name} has no funds: section", hint="use national-2014 or chongqing")
        from fupin_cli.engine.params import check_era

        check_era(the_pack, year)
        reg = read_register(register)
        frame, t = generate_payments(reg.households, reg.members, the_pack, year, seed=seed, anomalies=anomalies)
        county = reg.households["county"].dropna().astype(str).iloc[0] if "county" in reg.households and reg.households["county"].notna().any() else ""
        write_payments(frame, output, title=f"{county}{year}年扶贫资金到户发放名单", force=force)
        if truth:
            write_json(t.to_json(), truth_path, force=force)
        summary: dict[str, Any] = {"output": str(output), "payments": len(frame), "year": year, "pack": the_pack.name, "seed": seed,
                   "anomalies": [a["check"] for a in t.anomalies], "not_planted": t.not_planted,
                   "truth": str(truth_path) if truth else None}
        if json_out:
            from fupin_cli.cli.run import command_provenance, print_envelope

            print_envelope(summary, outputs=[output, *([truth_path] if truth else [])], provenance=command_provenance(
                "samples payments", files=[register], pack=the_pack, year=year, options={"seed": seed, "anomalies": anomalies}))
        elif not quiet:
            err.print(f"已写入 {output}: {len(frame):,} 笔发放" + (f", 埋设 {len(t.anomalies)} 个问题" if anomalies else "")
                      + (f"; 未埋设: {', '.join(t.not_planted)}" if t.not_planted else "") + (f"; truth: {truth_path}" if truth else ""))
