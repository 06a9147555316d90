"""`fupin monitor SOURCE --year Y`: 防止返贫监测 — monitoring objects, risk types, 风险消除."""

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
    PublicityStartOpt,
    QuietOpt,
    RegionOpt,
    SheetOpt,
    StrictOpt,
    YearOpt,
    column_map,
    escape,
    guard,
    input_policy,
    out,
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

SourceArg = Annotated[list[Path], rosters_argument(
    "Roster of 脱贫户 and 一般农户 (户类型, 监测对象类别, 风险识别时间, 帮扶措施数 …) or a register: .xlsx, .xls, .csv, "
    ".parquet; a roster may be several files, a folder or a glob.")]


# what --annotate writes into the roster; the category and risk types the rules decide get their own columns
# (判定…), so the roster's recorded 监测对象类别 / 致贫返贫风险 are never overwritten
ANNOTATE_LABELS = {"monitoring_category": "判定监测对象类别", "risk_types": "判定致贫返贫风险"}
ANNOTATE_COLUMNS = ["monitoring_status", "monitoring_result", "monitoring_category", "risk_types", "elimination_result",
                    "elimination_method", "elimination_unmet"]


def default_output(year: int) -> Path:
    return Path.cwd() / f"monitor-{year}.xlsx"


def register(app: typer.Typer) -> None:
    @app.command("monitor", help=(
        "防止返贫监测 (2021+): identify 监测对象 (脱贫不稳定户, 边缘易致贫户, 突发严重困难户) with their risk types, "
        "and check 风险消除 for households already monitored (帮扶消除 / 自然消除, or why not).\n\n"
        "Default output: monitor-<year>.xlsx in the current directory (fupin.toml: output_dir); none with --json unless -o is given."))
    def monitor_command(
        ctx: typer.Context,
        source: SourceArg,
        year: YearOpt,
        pack: PackOpt = None,
        region: RegionOpt = None,
        output: OutputOpt = None,
        publicity: Annotated[Path | None, typer.Option("--publicity", help="Also write the 监测对象 公示 (.xlsx): households newly monitored and those whose risk is eliminated, one printable sheet per village.", dir_okay=False)] = None,
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
            from fupin_cli.core.identify import not_evaluated_lines
            from fupin_cli.core.identify import provenance as build_provenance
            from fupin_cli.core.monitor import run_monitor
            from fupin_cli.io.annual import read_source, write_monitor

            cfg = settings(ctx, pack=pack, region=region, publicity_start=publicity_start, phone=phone, columns=columns)
            pack, region, publicity_start, phone, columns = cfg.pack, cfg.region, cfg.publicity_start, cfg.phone or "", cfg.columns
            plan = {}
            if annotate is not None:
                from fupin_cli.io.paths import expand_paths

                files = expand_paths(source)
                plan = annotate_plan(annotate, files)
                from fupin_cli.io.annual import is_register_file

                if any(is_register_file(f) for f in files):
                    from fupin_cli.errors import UsageError

                    raise UsageError("--annotate: SOURCE is a register, not the office's roster",
                                     "give the roster of 脱贫户 and 一般农户 as SOURCE to annotate it")
            target = prepare_outputs(main_output(output, in_output_dir(cfg, default_output(year).name), json_), force,
                                     inputs=source, publicity=publicity, publicity_what="监测对象公示", annotated=plan.values())
            with progress(quiet or json_) as step:
                step("pack")
                the_pack = load_pack_checked(pack, region, default="monitoring-2021")
                step("read")
                src = read_source(source, sheet=sheet, encoding=encoding, columns=column_map(columns))
                step("evaluate")
                chosen = settle(src, cfg, year, "monitoring-2021", loaded=the_pack, check_roster_year=src.kind == "roster")
                the_pack, region = chosen.pack, chosen.region
                result, ev = run_monitor(src.households, src.members, the_pack, year, region,
                                         policy=input_policy(allow_missing, strict), unmatched=src.unmatched)
                prov = build_provenance(SimpleNamespace(sources=src.sources), the_pack, ev, year, region,
                                        version=__version__, run_time=run_time(source), command="monitor",
                                        options={"source": f"{src.name} ({src.kind})", "lang": lang.value, **cfg.describe()})
                prov["choice"] = chosen.info
                step("write")
                members = src.members if len(src.members) else None
                outputs = [] if target is None else [
                    str(p) for p in write_monitor(result, members, target, provenance=prov, lang=lang.value, force=force)]
                if publicity is not None:
                    from fupin_cli.io.annual import write_monitor_publicity

                    outputs += [str(p) for p in write_monitor_publicity(
                        result, members, publicity, start=publicity_start.date() if publicity_start else None, phone=phone,
                        force=force)]
                from fupin_cli.core.monitor import LABELS as MONITOR_LABELS

                annotated = write_annotated(plan, src, result.households, ANNOTATE_COLUMNS, prov, lang=lang.value,
                                            force=force, labels={**MONITOR_LABELS, **ANNOTATE_LABELS} if lang.value == "zh" else None)
                outputs += [str(p) for p in annotated.outputs]
            finish(json_, quiet, payload=lambda: {**result.summary(), "outputs": outputs, "provenance": prov},
                   warnings=[*chosen.warnings, *not_evaluated_lines(prov), *result.notes, *annotated.warnings],
                   render=lambda: render(result, outputs, chosen.lines))


def render(result, outputs: list[str], choice: Sequence[str] = ()) -> None:
    from rich.table import Table

    print_choice(choice)
    s = result.summary()
    t = Table(title=f"{result.year}年 防止返贫监测 (monitoring)", header_style="bold")
    t.add_column("项目")
    t.add_column("户数 households", justify="right")
    t.add_column("人数 people", justify="right")
    for status, c in s["monitoring_status"].items():
        t.add_row(status, f"{c['households']:,}", f"{c['people']:,}")
    t.add_row("", "", "")
    for cat, n in s["categories"].items():
        t.add_row(f"监测对象: {escape(cat)}", f"{n:,}", "")
    for method, n in s["elimination_methods"].items():
        t.add_row(f"风险消除: {method}", f"{n:,}", "")
    for risk, n in s["risk_types"].items():
        t.add_row(f"风险: {escape(risk)}", f"{n:,}", "")
    out.print(t)
    line = s.get("monitoring_line")
    if line:
        mark = "" if line["verified"] else "，未核实 unverified"
        out.print(escape(f"监测范围 monitoring line: {line['value']:,} 元/人·年（{line['year']}，{line['region']}；"
                         f"来源 source: {line['citation'] or line['source']}{mark}）"))
    print_outputs(outputs)
