"""`fupin identify`: 精准识别 + 建档立卡 — register, 汇总, 公示名单."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from pathlib import Path
from typing import Annotated, Iterator

import typer

from fupin_cli.cli.common import (
    ForceOpt, InputArg, JsonOpt, Lang, LangOpt, OutputOpt, PackOpt, QuietOpt, RegionOpt, SheetOpt, YearOpt,
    err, escape, guard, out, print_json,
)
from fupin_cli.errors import UsageError

STEPS = {"pack": "加载规则包", "read": "读取花名册", "validate": "校验数据", "evaluate": "评估规则", "decide": "生成识别结果", "write": "写出文件"}


def run_time() -> str:
    """Now, local time, ISO 8601; ``SOURCE_DATE_EPOCH`` pins it (reproducible outputs)."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), dt.timezone.utc).isoformat(timespec="seconds")
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


@contextlib.contextmanager
def progress(quiet: bool) -> Iterator:
    """A transient spinner on stderr, one line per stage; silent when quiet or not a terminal."""
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    disable = quiet or not err.is_terminal
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), TimeElapsedColumn(), console=err,
                  transient=True, disable=disable) as p:
        task = p.add_task("", total=None)

        def step(name: str) -> None:
            p.update(task, description=STEPS.get(name, name))

        yield step


def default_output(roster: Path, year: int) -> Path:
    """``<roster stem>-register-<year>.xlsx`` in the current directory."""
    return Path.cwd() / f"{roster.stem}-register-{year}.xlsx"


def register(app: typer.Typer) -> None:
    @app.command("identify", help=(
        "精准识别 + 建档立卡: identify poor households in a roster and write the register "
        "(登记册, 成员, 汇总, 致贫原因, 说明), optionally a 公示名单 and 规模控制 report.\n\n"
        "Default output: <roster stem>-register-<year>.xlsx in the current directory."))
    def identify_command(
        roster: InputArg,
        year: YearOpt,
        pack: PackOpt = "national-2014",
        region: RegionOpt = None,
        output: OutputOpt = None,
        publicity: Annotated[Path | None, typer.Option("--publicity", help="Also write the 公示名单 workbook (.xlsx), one printable sheet per village.", dir_okay=False)] = None,
        publicity_start: Annotated[dt.datetime | None, typer.Option("--publicity-start", help="First day of the 公示 period (YYYY-MM-DD); blank lines when omitted.", formats=["%Y-%m-%d"])] = None,
        publicity_days: Annotated[int, typer.Option("--publicity-days", help="Length of the 公示 period in days.", min=1, max=60)] = 7,
        phone: Annotated[str, typer.Option("--phone", help="监督电话 printed on the 公示名单.")] = "",
        quota: Annotated[Path | None, typer.Option("--quota", help="规模控制: .csv/.xlsx with 行政村 (and 乡镇) and 指标 (poor people); a 全县 row gives the county total.", exists=True, dir_okay=False)] = None,
        assist: Annotated[Path | None, typer.Option("--assist", help="帮扶 table: 户编号 + 帮扶责任人 per household and/or 行政村 + 驻村工作队 per village.", exists=True, dir_okay=False)] = None,
        allow_errors: Annotated[bool, typer.Option("--allow-errors", help="Go on despite data errors: the households concerned become 待核实 with the error as the reason.")] = False,
        sheet: SheetOpt = None,
        encoding: Annotated[str | None, typer.Option("--encoding", help="Encoding of a CSV roster (default: detect UTF-8 / GBK).")] = None,
        lang: LangOpt = Lang.zh,
        force: ForceOpt = False,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        with guard():
            from fupin_cli import __version__
            from fupin_cli.core.identify import identify, publicity_list, with_assistance
            from fupin_cli.core.quota import parse_quota
            from fupin_cli.engine import load_pack
            from fupin_cli.engine.params import region_chain
            from fupin_cli.io.publicity import PublicityOptions, write_publicity
            from fupin_cli.io.read import read_roster
            from fupin_cli.io.register import read_table, write_register
            from fupin_cli.io.write import check_output, sha256_file

            target = output or default_output(roster, year)
            check_output(target, force, allowed=(".xlsx", ".csv", ".parquet"))
            if publicity is not None:
                check_output(publicity, force, allowed=(".xlsx",))
                if publicity.resolve() == target.resolve():
                    raise UsageError("--publicity and --output name the same file", "give the 公示名单 its own file name")
            options = {"allow_errors": allow_errors, "lang": lang.value}
            with progress(quiet or json_) as step:
                step("pack")
                the_pack = load_pack(pack)  # a bad pack, region or quota table fails before the (long) read
                region_chain(the_pack, region or the_pack.meta.region)
                the_quota = None
                if quota is not None:
                    the_quota = parse_quota(read_table(quota), source=quota.name)
                    options["quota"] = f"{quota.name} (sha256 {sha256_file(quota)})"
                step("read")
                data = read_roster(roster, sheet=sheet, encoding=encoding)
                if assist is not None:
                    data = with_assistance(data, read_table(assist), source=assist.name)
                    options["assist"] = f"{assist.name} (sha256 {sha256_file(assist)})"
                result = identify(data, the_pack, year, region, allow_errors=allow_errors, quota=the_quota,
                                  version=__version__, run_time=run_time(), options=options, progress=step)
                step("write")
                written = write_register(result, target, lang=lang.value, force=force)
                outputs = [str(p) for p in written.outputs]
                if publicity is not None:
                    opts = PublicityOptions(year=year, start=publicity_start.date() if publicity_start else None,
                                            days=publicity_days, phone=phone)
                    write_publicity(publicity_list(result.households, result.members), publicity, opts, force=force)
                    outputs.append(str(publicity))
            warnings = [*result.notes, *written.warnings]
            if json_:
                payload = result.to_json(outputs)
                payload["warnings"] = warnings
                print_json(payload)
                return
            for w in warnings:
                err.print(f"[yellow]注意:[/] {escape(w)}")
            if not quiet:
                render_summary(result, outputs)


def render_summary(result, outputs: list[str]) -> None:
    from rich.table import Table

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
    for path in outputs:  # outside the table: a path is never truncated
        out.print(f"输出 output: {escape(path)}")
