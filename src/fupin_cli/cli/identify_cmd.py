"""`fupin identify`: 精准识别 + 建档立卡 — register, 汇总, 公示名单."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from fupin_cli.cli.common import (
    AllowErrorsOpt,
    AllowMissingOpt,
    AnnotateOpt,
    ColumnsOpt,
    EncodingOpt,
    ForceOpt,
    JsonOpt,
    Lang,
    LangOpt,
    OutputOpt,
    PackOpt,
    PhoneOpt,
    PopulationOpt,
    PublicityStartOpt,
    QuietOpt,
    RegionOpt,
    RostersArg,
    SheetOpt,
    StrictOpt,
    YearOpt,
    guard,
    input_option,
    input_policy,
    out,
    read_rosters,
)
from fupin_cli.cli.run import (
    annotate_plan,
    finish,
    load_pack_checked,
    main_output,
    prepare_outputs,
    print_choice,
    print_outputs,
    progress,
    run_time,
    settle,
    write_annotated,
)
from fupin_cli.errors import UsageError

if TYPE_CHECKING:
    from fupin_cli.core.identify_sql import ScannedResult

QuotaOpt = Annotated[Path | None, input_option("--quota", "规模控制: .csv/.xlsx with 行政村 (and 乡镇) and 指标 (poor people); a 全县 row gives the county total.")]
class Engine(str, Enum):
    pandas = "pandas"
    duckdb = "duckdb"


EngineOpt = Annotated[Engine, typer.Option(
    "--engine", help="pandas (default) or duckdb: EXPERIMENTAL — the roster scanned and decided inside DuckDB (Parquet/CSV/"
    ".xlsx/.xls roster, .parquet/.csv register), validate's data-quality checks included (as SQL); it falls back to pandas, "
    "with a message, for what it does not handle yet.",)]
NoChecksOpt = Annotated[bool, typer.Option(
    "--no-checks", help="With --engine duckdb: run without validate's data-quality checks and the pack's check rules "
    "(the run's notes say so; run `fupin validate` on the roster for them).")]
AssistOpt = Annotated[Path | None, input_option("--assist", "帮扶 table: 户编号 + 帮扶责任人 per household and/or 行政村 + 驻村工作队 per village.")]


# the decision columns --annotate writes into the roster workbook
ANNOTATE_COLUMNS = ["status", "attribute", "primary_cause", "secondary_causes", "measures", "basis", "not_identified_reason"]


def default_output(roster: Path, year: int, cfg=None) -> Path:
    """``<roster stem>-register-<year>.xlsx`` in fupin.toml's output_dir, else the current directory."""
    from fupin_cli.cli.config import Settings
    from fupin_cli.cli.config import default_output as in_output_dir

    return in_output_dir(cfg or Settings(), f"{roster.stem}-register-{year}.xlsx")


def register(app: typer.Typer) -> None:
    @app.command("identify", help=(
        "精准识别 + 建档立卡: identify poor households in a roster and write the register "
        "(登记册 and its print view, 成员, 汇总, 致贫原因, 说明), optionally a 公示名单, a 规模控制 report and an "
        "annotated copy of the roster workbook (--annotate).\n\n"
        "Default output: <roster stem>-register-<year>.xlsx in the current directory (fupin.toml: output_dir); none with --json unless -o is given."))
    def identify_command(
        ctx: typer.Context,
        roster: RostersArg,
        year: YearOpt,
        pack: PackOpt = None,
        region: RegionOpt = None,
        output: OutputOpt = None,
        publicity: Annotated[Path | None, typer.Option("--publicity", help="Also write the 公示名单 workbook (.xlsx), one printable sheet per village.", dir_okay=False)] = None,
        publicity_start: PublicityStartOpt = None,
        publicity_days: Annotated[int, typer.Option("--publicity-days", help="Length of the 公示 period in days.", min=1, max=60)] = 7,
        phone: PhoneOpt = "",
        quota: QuotaOpt = None,
        assist: AssistOpt = None,
        population: PopulationOpt = None,
        annotate: AnnotateOpt = None,
        allow_errors: AllowErrorsOpt = False,
        allow_missing: AllowMissingOpt = None,
        strict: StrictOpt = False,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        columns: ColumnsOpt = None,
        lang: LangOpt = Lang.zh,
        engine: EngineOpt = Engine.pandas,
        no_checks: NoChecksOpt = False,
        force: ForceOpt = False,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        with guard(json_):
            if no_checks and engine is not Engine.duckdb:
                raise UsageError("--no-checks is only for --engine duckdb", "the pandas engine always runs validate's checks; drop --no-checks")
            from fupin_cli import __version__
            from fupin_cli.cli.config import print_info, settings
            from fupin_cli.core.identify import identify, not_evaluated_lines, publicity_list, with_assistance
            from fupin_cli.core.quota import parse_quota
            from fupin_cli.io.publicity import PublicityOptions, write_publicity_files
            from fupin_cli.io.register import read_table, write_register
            from fupin_cli.io.write import sha256_file

            cfg = settings(ctx, pack=pack, region=region, population=population, publicity_start=publicity_start,
                           publicity_days=publicity_days, phone=phone, columns=columns)
            pack, region, population, columns = cfg.pack, cfg.region, cfg.population, cfg.columns
            publicity_start, publicity_days, phone = cfg.publicity_start, cfg.publicity_days, cfg.phone or ""
            if annotate is not None:
                from fupin_cli.io.paths import expand_paths

                plan = annotate_plan(annotate, expand_paths(roster))
            else:
                plan = {}
            inputs = [*roster, quota, assist, population]
            target = prepare_outputs(main_output(output, default_output(roster[0], year, cfg), json_), force, publicity=publicity,
                                     publicity_what="公示名单", inputs=inputs, annotated=plan.values())
            options: dict[str, Any] = {"allow_errors": allow_errors, "lang": lang.value, **cfg.describe()}
            policy = input_policy(allow_missing, strict)
            if policy.allow_missing or strict:
                options.update({"allow_missing": sorted(policy.allow_missing), "strict": strict})
            with progress(quiet or json_) as step:
                step("pack")
                the_pack = load_pack_checked(pack, region)  # a bad pack, region or quota table fails before the (long) read
                the_quota = None
                if quota is not None:
                    the_quota = parse_quota(read_table(quota), source=quota.name)
                    options["quota"] = f"{quota.name} (sha256 {sha256_file(quota)})"
                the_population = None
                if population is not None:
                    from fupin_cli.io.annual import read_population

                    the_population = read_population(population)
                    options["population"] = f"{population.name} (sha256 {sha256_file(population)}; {cfg.origins['population']})"
                fast = None
                if engine is Engine.duckdb:
                    fast = _duckdb_identify(roster, the_pack, year, region, target, step, sheet=sheet, encoding=encoding,
                                            columns=columns, allow_errors=allow_errors, options=options, lang=lang.value, force=force,
                                            json_=json_, unsupported=[n for n, v in (("--quota", quota), ("--assist", assist),
                                                                                   ("--population", population), ("--annotate", annotate),
                                                                                   ("--publicity", publicity)) if v is not None],
                                            no_checks=no_checks, cfg=cfg, policy=policy)
            if fast is not None:
                result, outputs, warnings, lines = fast
                finish(json_, quiet, payload=lambda: {**result.to_json(outputs), "warnings": warnings}, warnings=warnings,
                       render=lambda: render_summary(result, outputs, lines))
                return
            with progress(quiet or json_) as step:
                step("read")
                data = read_rosters(roster, sheet=sheet, encoding=encoding, columns=columns)
                if assist is not None:
                    data = with_assistance(data, read_table(assist), source=assist.name)
                    options["assist"] = f"{assist.name} (sha256 {sha256_file(assist)})"
                chosen = settle(data, cfg, year, "national-2014", loaded=the_pack)
                result = identify(data, chosen.pack, year, chosen.region, allow_errors=allow_errors, quota=the_quota,
                                  version=__version__, run_time=run_time([*roster, quota, assist]), options=options, progress=step,
                                  population=the_population, policy=policy)
                result.provenance["choice"] = chosen.info
                step("write")
                from fupin_cli.io.register import WriteOutcome

                written = WriteOutcome() if target is None else write_register(
                    result, target, lang=lang.value, force=force, progress=step.rows, print_info=print_info(cfg))
                outputs = [str(p) for p in written.outputs]
                if publicity is not None:
                    opts = PublicityOptions(year=year, start=publicity_start.date() if publicity_start else None,
                                            days=publicity_days, phone=phone)
                    outputs += [str(p) for p in write_publicity_files(publicity_list(result.households, result.members),
                                                                      publicity, opts, force=force)]
                annotated = write_annotated(plan, data, result.households, ANNOTATE_COLUMNS, result.provenance,
                                            lang=lang.value, force=force)
                outputs += [str(p) for p in annotated.outputs]
            warnings = [*chosen.warnings, *not_evaluated_lines(result.provenance), *result.notes, *written.warnings, *annotated.warnings]
            finish(json_, quiet, payload=lambda: {**result.to_json(outputs), "warnings": warnings}, warnings=warnings,
                   render=lambda: render_summary(result, outputs, chosen.lines))


def _duckdb_identify(roster, pack, year, region, target, step, *, sheet, encoding, columns, allow_errors, options, lang, force,
                     json_, unsupported, no_checks, cfg, policy):
    """``--engine duckdb``: (result, outputs, warnings), or None after saying why the pandas engine runs instead."""
    from fupin_cli import __version__
    from fupin_cli.cli.run import run_time, settle, warn
    from fupin_cli.core.identify_sql import FastPathUnsupported, identify_scanned
    from fupin_cli.io.colmap import load_column_map
    from fupin_cli.io.paths import expand_paths

    why = None
    if unsupported:
        why = f"{', '.join(unsupported)} not supported yet"
    elif target is not None and target.suffix.lower() not in (".parquet", ".csv"):
        why = f"a {target.suffix} register (.parquet and .csv only)"
    result = None
    if why is None:
        from fupin_cli.io.scan import connect, scan_roster, write_register_sql

        con = connect()
        try:
            step("read")
            scan = scan_roster(con, expand_paths(roster), sheet=sheet, encoding=encoding, columns=load_column_map(columns) if columns is not None else None)
            from fupin_cli.io.scan import RegionRoster

            chosen = settle(RegionRoster(scan), cfg, year, "national-2014", loaded=pack)  # region and pack as the pandas path settles them
            result = identify_scanned(scan, chosen.pack, year, chosen.region, allow_errors=allow_errors, version=__version__,
                                      run_time=run_time(list(roster)), options={**options, "engine": "duckdb"}, progress=step,
                                      policy=policy, checks=not no_checks)
            result.provenance["choice"] = chosen.info
            step("write")
            outputs = [] if target is None else [str(write_register_sql(result, target, lang=lang, force=force))]
        except FastPathUnsupported as e:
            why = str(e)
            con.close()
    if why is not None:
        warn([f"--engine duckdb: {why}; the pandas engine runs instead"])
        return None
    from fupin_cli.core.identify import not_evaluated_lines

    result = cast("ScannedResult", result)  # set when why is None
    return result, outputs, [*chosen.warnings, *not_evaluated_lines(result.provenance), *result.notes], chosen.lines


def render_summary(result, outputs: list[str], choice: Sequence[str] = ()) -> None:
    from rich.table import Table

    print_choice(choice)
    c = result.counts
    f = c["findings"]
    t = Table(title="识别结果汇总 (identify summary)", show_header=True, header_style="bold")
    t.add_column("项目", no_wrap=True)
    t.add_column("数量", justify="right")
    rows = [
        ("读取户数 households read", f"{c['households_read']:,}"),
        ("读取人数 members read", f"{c['members_read']:,}"),
        ("疑点 findings (错误/警告/提示)", f"{f['error']:,} / {f['warning']:,} / {f['info']:,}"),
        ("贫困户 poor households", f"{c['poor_households']:,}"),
        ("贫困人口 poor people", f"{c['poor_people']:,}"),
        ("贫困发生率 incidence", "-" if c["incidence"] is None else f"{c['incidence']:.2%}"),
        ("待核实 pending", f"{c['pending_households']:,}"),
        ("一票否决 excluded", f"{c['excluded_households']:,}"),
        ("非贫困户 not poor", f"{c['not_poor_households']:,}"),
    ]
    cov = result.coverage
    if cov.get("has_responsible_person"):
        rows.append(("无帮扶责任人贫困户 without 帮扶责任人", f"{len(cov['households_without_responsible_person']):,}"))
    if cov.get("has_task_force"):
        rows.append(("无驻村工作队的村 villages without 工作队", f"{len(cov['villages_without_task_force']):,}"))
    if result.quota is not None:
        rows.append(("超出规模控制指标 over quota (户)", f"{int(result.quota['over_households'].sum()):,}"))
    for k, v in rows:
        t.add_row(k, v)
    out.print(t)
    print_outputs(outputs)
