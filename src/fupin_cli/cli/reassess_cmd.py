"""`fupin reassess PREVIOUS CURRENT --year Y`: annual 动态调整 with history kept."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from pathlib import Path
from typing import Annotated

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
    PublicityStartOpt,
    QuietOpt,
    RegionOpt,
    SheetOpt,
    StrictOpt,
    YearOpt,
    guard,
    input_argument,
    input_policy,
    out,
    read_rosters,
    rosters_argument,
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

PreviousArg = Annotated[Path, input_argument("Last year's register (.xlsx/.csv/.parquet) written by `fupin identify` or `fupin reassess`.")]
CurrentArg = Annotated[list[Path], rosters_argument("This year's roster: .xlsx, .xls, .csv or .parquet; several files, a folder or a glob.")]


class Engine(str, Enum):
    """The engines reassess runs on (identify's --engine may offer more)."""

    pandas = "pandas"
    duckdb = "duckdb"


EngineOpt = Annotated[Engine, typer.Option(
    "--engine", help="pandas (default) or duckdb: EXPERIMENTAL — both years scanned and reassessed inside DuckDB (a .parquet or .csv "
    "PREVIOUS register, a Parquet/CSV roster, a .parquet/.csv register out; matching and 动态调整 as joins); it does not run "
    "validate's data-quality checks (needs --no-checks), and falls back to pandas, with a message, for what it does not handle yet.")]
NoChecksOpt = Annotated[bool, typer.Option(
    "--no-checks", help="With --engine duckdb: run without validate's data-quality checks on this year's roster (that engine "
    "does not run them yet; run `fupin validate` on the roster first). Without this flag --engine duckdb falls back to pandas.")]


# what --annotate writes into this year's roster
ANNOTATE_COLUMNS = ["transition", "registry_status", "transition_reason", "status", "attribute", "primary_cause",
                    "secondary_causes", "measures", "basis", "not_identified_reason"]


def default_output(year: int) -> Path:
    return Path.cwd() / f"register-{year}.xlsx"


def register(app: typer.Typer) -> None:
    @app.command("reassess", help=(
        "动态调整: compare last year's register with this year's roster and write this year's register.\n\n"
        "Households are matched by 户编号, then by the head's ID number, then by members' ID numbers "
        "(a household that split). Each gets one type: 新识别, 继续帮扶, 脱贫, 返贫, 清退, 自然减少, 非贫困户. "
        "The register keeps 首次识别年度, 脱贫年度, 返贫年度 and 历年状态, so reassess can be chained year after year.\n\n"
        "Default output: register-<year>.xlsx in the current directory (fupin.toml: output_dir); none with --json unless -o is given."))
    def reassess_command(
        ctx: typer.Context,
        previous: PreviousArg,
        current: CurrentArg,
        year: YearOpt,
        pack: PackOpt = None,
        region: RegionOpt = None,
        output: OutputOpt = None,
        publicity: Annotated[Path | None, typer.Option("--publicity", help="Also write the 动态调整 公示 (.xlsx): 新识别, 脱贫, 返贫 and 清退 households, one printable sheet per village.", dir_okay=False)] = None,
        publicity_start: PublicityStartOpt = None,
        phone: PhoneOpt = "",
        allow_errors: AllowErrorsOpt = False,
        annotate: AnnotateOpt = None,
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
            from fupin_cli.cli.config import default_output as in_output_dir
            from fupin_cli.cli.config import print_info, settings
            from fupin_cli.core.identify import not_evaluated_lines
            from fupin_cli.core.reassess import check_years, run_reassess
            from fupin_cli.io.annual import read_previous_register, write_reassess
            from fupin_cli.io.write import sha256_file

            cfg = settings(ctx, pack=pack, region=region, publicity_start=publicity_start, phone=phone, columns=columns)
            pack, region, publicity_start, phone, columns = cfg.pack, cfg.region, cfg.publicity_start, cfg.phone or "", cfg.columns
            plan = {}
            if annotate is not None:
                from fupin_cli.io.paths import expand_paths

                plan = annotate_plan(annotate, expand_paths(current))
            target = prepare_outputs(main_output(output, in_output_dir(cfg, default_output(year).name), json_), force,
                                     inputs=[previous, *current], publicity=publicity, publicity_what="动态调整公示",
                                     annotated=plan.values())
            with progress(quiet or json_) as step:
                step("pack")
                the_pack = load_pack_checked(pack, region)
                fast = None
                if engine is Engine.duckdb:
                    unsupported = [n for n, v in (("--annotate", annotate), ("--publicity", publicity)) if v is not None]
                    fast = _duckdb_reassess(previous, current, the_pack, year, target, step, sheet=sheet, encoding=encoding,
                                            columns=columns, allow_errors=allow_errors, lang=lang.value, force=force,
                                            unsupported=unsupported, no_checks=no_checks, cfg=cfg,
                                            policy=input_policy(allow_missing, strict))
            if fast is not None:
                fresult, foutputs, fwarnings, flines = fast
                finish(json_, quiet, payload=lambda: {**fresult.summary(), "outputs": foutputs, "warnings": fwarnings,
                                                      "provenance": fresult.provenance},
                       warnings=fwarnings, render=lambda: render(fresult, foutputs, flines))
                return
            with progress(quiet or json_) as step:
                step("read")
                prev = read_previous_register(previous)
                roster = read_rosters(current, sheet=sheet, encoding=encoding, columns=columns)
                check_years(prev.households, roster.households, year, previous_name=f"PREVIOUS {previous.name}")
                options = {"previous": f"{previous.name} (sha256 {sha256_file(previous)})", "allow_errors": allow_errors,
                           "lang": lang.value, **cfg.describe()}
                chosen = settle(roster, cfg, year, "national-2014", loaded=the_pack)
                result, view = run_reassess(prev, roster, chosen.pack, year, chosen.region, allow_errors=allow_errors,
                                            previous_name=f"PREVIOUS {previous.name}", version=__version__,
                                            run_time=run_time([previous, current]), options=options, progress=step,
                                            policy=input_policy(allow_missing, strict))
                view.provenance["choice"] = chosen.info
                step("write")
                from fupin_cli.io.register import WriteOutcome

                written = WriteOutcome() if target is None else write_reassess(
                    result, view, target, lang=lang.value, force=force, progress=step.rows, print_info=print_info(cfg))
                published = []
                if publicity is not None:
                    from fupin_cli.io.annual import write_reassess_publicity

                    published = write_reassess_publicity(result, view.members if len(view.members) else None, publicity,
                                                         start=publicity_start.date() if publicity_start else None,
                                                         phone=phone, force=force)
                annotated = write_annotated(plan, roster, result.households, ANNOTATE_COLUMNS, view.provenance,
                                            lang=lang.value, force=force)
            outputs = [str(p) for p in [*written.outputs, *published, *annotated.outputs]]
            finish(json_, quiet, payload=lambda: {**result.summary(), "outputs": outputs, "warnings": written.warnings,
                                                  "provenance": view.provenance},
                   warnings=[*chosen.warnings, *not_evaluated_lines(view.provenance), *written.warnings, *result.notes,
                             *annotated.warnings], render=lambda: render(result, outputs, chosen.lines))


def _duckdb_reassess(previous, current, pack, year, target, step, *, sheet, encoding, columns, allow_errors, lang, force,
                     unsupported, no_checks, cfg, policy):
    """``--engine duckdb``: (result, outputs, warnings, choice lines), or None after saying why pandas runs instead
    (the same gating as ``identify --engine duckdb``)."""
    from fupin_cli import __version__
    from fupin_cli.cli.run import warn
    from fupin_cli.core.identify import not_evaluated_lines
    from fupin_cli.core.identify_sql import FastPathUnsupported, identify_scanned
    from fupin_cli.core.reassess_sql import check_years_sql, reassess_scanned
    from fupin_cli.io.colmap import load_column_map
    from fupin_cli.io.paths import expand_paths

    why = None
    if not no_checks:
        why = "it does not run validate's data-quality checks yet (add --no-checks after `fupin validate` to run it without them)"
    elif unsupported:
        why = f"{', '.join(unsupported)} not supported yet"
    elif target is not None and target.suffix.lower() not in (".parquet", ".csv"):
        why = f"a {target.suffix} register (.parquet and .csv only)"
    if why is None:
        from fupin_cli.io.annual import scan_register
        from fupin_cli.io.scan import RegionRoster, connect, scan_roster, write_register_sql

        con = connect()  # DuckDB's memory bounded as identify's (io.scan.connect: spills beyond it)
        try:
            step("read")
            prev = scan_register(con, previous)
            scan = scan_roster(con, expand_paths(current), sheet=sheet, encoding=encoding,
                               columns=load_column_map(columns) if columns is not None else None)
            name = f"PREVIOUS {previous.name}"
            prev_year = check_years_sql(con, prev, "__hh", scan.household_columns, year, name)  # before any heavy work
            chosen = settle(RegionRoster(scan), cfg, year, "national-2014", loaded=pack)
            options = {"previous": f"{previous.name} (sha256 {prev.sha256})", "allow_errors": allow_errors, "lang": lang,
                       **cfg.describe(), "engine": "duckdb"}
            ident = identify_scanned(scan, chosen.pack, year, chosen.region, allow_errors=allow_errors, version=__version__,
                                     run_time=run_time([previous, current]), options=options, progress=step,
                                     policy=policy, checks=not no_checks)
            result = reassess_scanned(prev, scan, ident, year, previous_name=name, previous_year=prev_year)
            result.provenance["choice"] = chosen.info
            step("write")
            outputs = [] if target is None else [str(write_register_sql(result, target, lang=lang, force=force))]
        except FastPathUnsupported as e:
            why = str(e)
            con.close()
    if why is not None:
        warn([f"--engine duckdb: {why}; the pandas engine runs instead"])
        return None
    warnings = [*chosen.warnings, *not_evaluated_lines(result.provenance), *ident.notes, *result.notes]
    return result, outputs, warnings, chosen.lines


def render(result, outputs: list[str], choice: Sequence[str] = ()) -> None:
    from rich.table import Table

    print_choice(choice)
    t = Table(title=f"{result.previous_year} → {result.year} 动态调整 (reassessment)", header_style="bold")
    t.add_column("动态调整类型 transition")
    t.add_column("户数 households", justify="right")
    t.add_column("人数 people", justify="right")
    for row in result.counts().itertuples():
        t.add_row(row.transition, f"{row.households:,}", f"{row.people:,}")
    m = result.match_counts
    t.add_row("", "", "")
    t.add_row("户编号变更 matched by head ID", f"{m['户主证件号码']:,}", "")
    t.add_row("成员证件号码匹配 matched by member ID", f"{m['成员证件号码']:,}", "")
    t.add_row("分户 split households", f"{m['分户']:,}", "")
    out.print(t)
    print_outputs(outputs)
