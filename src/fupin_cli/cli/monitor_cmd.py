"""`fupin monitor SOURCE --year Y`: 防止返贫监测 — monitoring objects, risk types, 风险消除."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer

from fupin_cli.cli.common import (
    ForceOpt, JsonOpt, Lang, LangOpt, OutputOpt, PackOpt, QuietOpt, RegionOpt, SheetOpt, YearOpt,
    err, escape, guard, out, print_json,
)

SourceArg = Annotated[Path, typer.Argument(
    help="Roster of 脱贫户 and 一般农户 (户类型, 监测对象类别, 风险识别时间, 帮扶措施数 …) or a register: .xlsx, .xls, .csv, .parquet.",
    exists=True, dir_okay=False, readable=True)]


def default_output(year: int) -> Path:
    return Path.cwd() / f"monitor-{year}.xlsx"


def register(app: typer.Typer) -> None:
    @app.command("monitor", help=(
        "防止返贫监测 (2021+): identify 监测对象 (脱贫不稳定户, 边缘易致贫户, 突发严重困难户) with their risk types, "
        "and check 风险消除 for households already monitored (帮扶消除 / 自然消除, or why not).\n\n"
        "Default output: monitor-<year>.xlsx in the current directory."))
    def monitor_command(
        source: SourceArg,
        year: YearOpt,
        pack: PackOpt = "monitoring-2021",
        region: RegionOpt = None,
        output: OutputOpt = None,
        sheet: SheetOpt = None,
        encoding: Annotated[str | None, typer.Option("--encoding", help="Encoding of a CSV roster (default: detect UTF-8 / GBK).")] = None,
        lang: LangOpt = Lang.zh,
        force: ForceOpt = False,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        with guard():
            from fupin_cli import __version__
            from fupin_cli.cli.identify_cmd import progress, run_time
            from fupin_cli.core.identify import provenance as build_provenance
            from fupin_cli.core.monitor import run_monitor
            from fupin_cli.engine import load_pack
            from fupin_cli.io.annual import read_source, write_monitor
            from fupin_cli.io.write import check_output

            target = output or default_output(year)
            check_output(target, force, allowed=(".xlsx", ".csv", ".parquet"))
            with progress(quiet or json_) as step:
                step("read")
                src = read_source(source, sheet=sheet, encoding=encoding)
                the_pack = load_pack(pack)
                step("evaluate")
                result, ev = run_monitor(src.households, src.members, the_pack, year, region)
                prov = build_provenance(SimpleNamespace(sources=src.sources), the_pack, ev, year, region,
                                        version=__version__, run_time=run_time(), command="monitor",
                                        options={"source": f"{source.name} ({src.kind})", "lang": lang.value})
                step("write")
                members = src.members if len(src.members) else None
                outputs = [str(p) for p in write_monitor(result, members, target, provenance=prov, lang=lang.value, force=force)]
            if json_:
                print_json({**result.summary(), "outputs": outputs, "provenance": prov})
                return
            for note in result.notes:
                err.print(f"[yellow]注意:[/] {escape(note)}")
            if not quiet:
                render(result, outputs)


def render(result, outputs: list[str]) -> None:
    from rich.table import Table

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
    for path in outputs:
        out.print(f"输出 output: {escape(path)}")
