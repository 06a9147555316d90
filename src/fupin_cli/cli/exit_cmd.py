"""`fupin exit SOURCE --year Y`: household exit list, village exit (贫困发生率), county 摘帽 indicators."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer

from fupin_cli.cli.common import (
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
    SheetOpt,
    StrictOpt,
    YearOpt,
    column_map,
    escape,
    guard,
    input_option,
    input_policy,
    out,
    read_rosters,
    rosters_argument,
    rosters_option,
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

SourceArg = Annotated[list[Path], rosters_argument(
    "A register written by `fupin identify` / `fupin reassess`, or a roster whose 脱贫状态 column records the registry "
    "status: one file, or a roster in several files, a folder or a glob (青山镇/*.xlsx).")]
RosterOpt = Annotated[list[Path] | None, rosters_option("--roster", "This year's roster: the exit rules run on its data; SOURCE gives the registry status. "
                           "Repeat it, or give a folder or a glob, for a roster in several files.")]
SampleCheckOpt = Annotated[Path | None, input_option("--sample-check", "Sample check (抽查) for 错退率 / 漏评率: 户编号, 核查结论 (正确/错退/漏评), optional 是否认可.")]


ANNOTATE_COLUMNS = ["registry_status", "exit_result", "exit_unmet"]  # what --annotate writes into the roster


def default_output(year: int) -> Path:
    return Path.cwd() / f"exit-{year}.xlsx"


def register(app: typer.Typer) -> None:
    @app.command("exit", help=(
        "脱贫/退出: which registered poor households exit poverty this year (脱贫名单, masked IDs), which remain "
        "and why (未达标原因 with values), village exit by 贫困发生率 and the county's 摘帽 indicators.\n\n"
        "Default output: exit-<year>.xlsx in the current directory (fupin.toml: output_dir); none with --json unless -o is given."))
    def exit_command(
        ctx: typer.Context,
        source: SourceArg,
        year: YearOpt,
        roster: RosterOpt = None,
        pack: PackOpt = None,
        region: RegionOpt = None,
        population: PopulationOpt = None,
        sample_check: SampleCheckOpt = None,
        output: OutputOpt = None,
        publicity: Annotated[Path | None, typer.Option("--publicity", help="Also write the printable 脱贫名单 for 公示 (.xlsx), one sheet per village.", dir_okay=False)] = None,
        publicity_start: PublicityStartOpt = None,
        phone: PhoneOpt = "",
        annotate: AnnotateOpt = None,
        sheet: SheetOpt = None,
        allow_missing: AllowMissingOpt = None,
        strict: StrictOpt = False,
        encoding: EncodingOpt = None,
        columns: ColumnsOpt = None,
        lang: LangOpt = Lang.zh,
        force: ForceOpt = False,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        with guard(json_):
            from fupin_cli import __version__
            from fupin_cli.cli.config import default_output as in_output_dir
            from fupin_cli.cli.config import settings
            from fupin_cli.core.exit import run_exit
            from fupin_cli.core.identify import not_evaluated_lines
            from fupin_cli.core.identify import provenance as build_provenance
            from fupin_cli.io.annual import read_population, read_sample_check, read_source, write_exit
            from fupin_cli.io.write import sha256_file

            cfg = settings(ctx, pack=pack, region=region, population=population, publicity_start=publicity_start, phone=phone,
                           columns=columns)
            pack, region, population, columns = cfg.pack, cfg.region, cfg.population, cfg.columns
            publicity_start, phone = cfg.publicity_start, cfg.phone or ""
            inputs = [*source, *(p for p in (population, sample_check) if p is not None), *(roster or [])]
            plan = {}
            if annotate is not None:
                from fupin_cli.io.paths import expand_paths

                plan = annotate_plan(annotate, expand_paths(roster) if roster else source)
            if plan and not roster:
                from fupin_cli.io.annual import is_register_file

                if any(is_register_file(s) for s in source):
                    from fupin_cli.errors import UsageError

                    raise UsageError(f"--annotate: SOURCE {source[0].name} is a register, not the office's roster",
                                     "give this year's roster with --roster; its copy gets the decisions")
            target = prepare_outputs(main_output(output, in_output_dir(cfg, default_output(year).name), json_), force, publicity=publicity,
                                     publicity_what="脱贫名单", inputs=inputs, annotated=plan.values())
            with progress(quiet or json_) as step:
                step("pack")
                the_pack = load_pack_checked(pack, region)
                step("read")
                src = read_source(source, sheet=None if roster else sheet, encoding=None if roster else encoding,
                                  columns=None if roster else column_map(columns))
                this_year = None
                if roster:
                    this_year = read_rosters(roster, sheet=sheet, encoding=encoding, columns=columns)
                pop = read_population(population) if population else None
                sample = read_sample_check(sample_check) if sample_check else None
                step("evaluate")
                data = this_year if this_year is not None else src
                chosen = settle(data, cfg, year, "national-2014", loaded=the_pack,
                                check_roster_year=this_year is not None or src.kind == "roster")
                the_pack, region = chosen.pack, chosen.region
                assessment, ev = run_exit(src.households, src.members, the_pack, year, region, roster=this_year,
                                          population=pop, sample=sample, source_name=f"SOURCE {src.name}",
                                          policy=input_policy(allow_missing, strict), unmatched=src.unmatched)
                options = {"source": f"{src.name} ({src.kind})", "lang": lang.value, **cfg.describe()}
                for name, path in (("population", population), ("sample_check", sample_check)):
                    if path is not None:
                        options[name] = f"{path.name} (sha256 {sha256_file(path)})"
                sources = SimpleNamespace(sources=[*src.sources, *(this_year.sources if this_year is not None else [])])
                prov = build_provenance(sources, the_pack, ev, year, region, version=__version__, run_time=run_time(inputs),
                                        command="exit", options=options)
                prov["choice"] = chosen.info
                step("write")
                members = (this_year.members if this_year is not None else src.members)
                outputs = [] if target is None else [
                    str(p) for p in write_exit(assessment, members, target, provenance=prov, lang=lang.value, force=force)]
                if publicity is not None:
                    from fupin_cli.io.annual import write_exit_publicity

                    start = publicity_start.date() if publicity_start else None
                    outputs += [str(p) for p in write_exit_publicity(assessment, members, publicity, start=start, phone=phone,
                                                                     force=force)]
                annotated = write_annotated(plan, this_year if this_year is not None else src, assessment.households,
                                            ANNOTATE_COLUMNS, prov, lang=lang.value, force=force)
                outputs += [str(p) for p in annotated.outputs]
            warnings = [*chosen.warnings, *not_evaluated_lines(prov), *assessment.notes, *annotated.warnings]
            finish(json_, quiet, payload=lambda: {**assessment.summary(), "outputs": outputs, "provenance": prov},
                   warnings=warnings, render=lambda: render(assessment, outputs, chosen.lines))


def render(assessment, outputs: list[str], choice: Sequence[str] = ()) -> None:
    from rich.table import Table

    print_choice(choice)
    s = assessment.summary()
    c = s["county"]
    t = Table(title=f"{assessment.year}年 脱贫退出 (exit)", header_style="bold")
    t.add_column("项目")
    t.add_column("数量", justify="right")
    pct = lambda v: "-" if v is None else f"{v:.2%}"  # noqa: E731
    rows = [
        ("建档立卡贫困户 registered poor", f"{s['registered_households']:,}"),
        ("脱贫户 exiting households", f"{s['exited_households']:,} 户 / {s['exited_people']:,} 人"),
        ("未脱贫 remaining", f"{s['remaining_households']:,} 户 / {s['remaining_people']:,} 人"),
        ("花名册中未找到 not found", f"{s['not_found']:,}"),
        ("退出的村 villages exiting", f"{s['villages_exiting']:,} / {len(s['villages']):,}"),
        ("全县贫困发生率 county incidence", pct(c["incidence"])),
        ("综合贫困发生率 comprehensive incidence", pct(c.get("comprehensive_incidence"))),
        ("错退率 wrong-exit rate (people)", pct(c["wrong_exit_rate"]) + (f"  [95% CI {c['wrong_exit_people_ci']}]" if c.get("wrong_exit_people_ci") else "")),
        ("漏评率 missed rate (people)", pct(c["missed_rate"]) + (f"  [95% CI {c['missed_people_ci']}]" if c.get("missed_people_ci") else "")),
        ("县退出 county exit", c["exit_result"]),
    ]
    for k, v in rows:
        t.add_row(k, v)
    for cond, n in s["unmet_conditions"].items():
        if n:
            t.add_row(f"  未达标: {escape(cond)}", f"{n:,}")
    out.print(t)
    print_outputs(outputs)
