"""`fupin funds`: 资金监管 — payment lists checked against the register and the pack's fund items."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from fupin_cli.cli.common import (
    EncodingOpt,
    ForceOpt,
    JsonOpt,
    PackOpt,
    PhoneOpt,
    PublicityStartOpt,
    QuietOpt,
    RegionOpt,
    SheetOpt,
    YearOpt,
    escape,
    guard,
    input_option,
    out,
)
from fupin_cli.cli.run import (
    finish,
    load_pack_checked,
    prepare_outputs,
    print_choice,
    print_outputs,
    progress,
    run_time,
    settle,
)

PaymentsArg = Annotated[list[Path], typer.Argument(
    help="Payment list(s) (发放名单): .xlsx/.xls/.csv/.parquet, any layout; every sheet with a 金额 column is read.",
    exists=True, dir_okay=False, readable=True)]
RegisterOpt = Annotated[Path, typer.Option("--register", help="The register (written by identify or reassess) the payments are checked against.",
                                           exists=True, dir_okay=False, readable=True)]
AssistOpt = Annotated[Path | None, input_option("--assist", "帮扶 table (.xlsx/.csv): 户编号 + 帮扶责任人 + 开始/结束帮扶时间 per household, 行政村 (乡镇) + 驻村工作队 + 驻村开始/结束时间 per village.")]
BudgetOpt = Annotated[Path | None, input_option("--budget", "Budget table (.xlsx/.csv): 资金项目, 预算金额, and 行政村 (乡镇) for village budgets (blank / 全县 = county).")]


def register(app: typer.Typer) -> None:
    @app.command("funds", help=(
        "资金监管: payments checked against the register and the pack's fund items — payee not in the register, "
        "household not eligible (status), paid after leaving (清退/自然减少), paid twice for one item and period, "
        "one account for several households, payee not the head or not a member, amount above the standard or cap; "
        "totals by village and item (against --budget); --assist checks 驻村帮扶 (a task force in every village with poor "
        "households, 一驻三年, 不脱贫不脱钩); --publicity writes the 公告公示 of fund use per village "
        "(ID and account numbers masked). Exit 1 when there are error findings."))
    def funds_command(
        ctx: typer.Context,
        payments: PaymentsArg,
        register_file: RegisterOpt,
        year: YearOpt,
        pack: PackOpt = None,
        region: RegionOpt = None,
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Findings workbook (.xlsx), or the findings table alone (.csv/.parquet).", dir_okay=False)] = None,
        publicity: Annotated[Path | None, typer.Option("--publicity", help="Also write the printable 公告公示 of fund use (.xlsx), one sheet per village.", dir_okay=False)] = None,
        publicity_start: PublicityStartOpt = None,
        phone: PhoneOpt = "",
        budget: BudgetOpt = None,
        assist: AssistOpt = None,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        force: ForceOpt = False,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        with guard(json_):
            from fupin_cli import __version__
            from fupin_cli.cli.config import settings
            from fupin_cli.core.funds import check_funds, parse_budget, publicity_frames
            from fupin_cli.errors import RuleError
            from fupin_cli.io.funds_report import write_findings, write_fund_publicity
            from fupin_cli.io.read_payments import read_payments
            from fupin_cli.io.register import read_register, read_table
            from fupin_cli.io.write import sha256_file

            cfg = settings(ctx, pack=pack, region=region, publicity_start=publicity_start, phone=phone)
            pack, region, publicity_start, phone = cfg.pack, cfg.region, cfg.publicity_start, cfg.phone or ""
            inputs = [*payments, register_file, *([budget] if budget else []), *([assist] if assist else [])]
            if output is not None:
                prepare_outputs(output, force, allowed=(".xlsx", ".csv", ".parquet"), publicity=publicity,
                                publicity_what="公告公示", inputs=inputs)
            elif publicity is not None:
                prepare_outputs(publicity, force, allowed=(".xlsx",), inputs=inputs)
            with progress(quiet or json_) as step:
                step("pack")
                the_pack = load_pack_checked(pack, region)
                no_funds = RuleError(f"rule pack {the_pack.name} has no funds: section (fund items)",
                                     hint="use a pack with funds.yaml (national-2014, chongqing); see docs/funds.md")
                if the_pack.funds is None:
                    raise no_funds
                the_budget = parse_budget(read_table(budget), source=budget.name) if budget else None
                step("read")
                reg = read_register(register_file)
                # region and pack as every command resolves them: the register's 省/县 columns and ID numbers count
                # (its 年度 is the register's year, not necessarily the payments')
                chosen = settle(reg, cfg, year, "national-2014", loaded=the_pack, check_roster_year=False)
                the_pack, region = chosen.pack, chosen.region
                if the_pack.funds is None:
                    raise RuleError(f"rule pack {the_pack.name} has no funds: section (fund items)", hint=no_funds.hint)
                pay, sources, reader_notes = read_payments(payments, sheet=sheet, encoding=encoding)
                step("核对资金发放")
                result = check_funds(pay, reg.households, reg.members, the_pack, year, region, budget=the_budget)
                if assist is not None:
                    from fupin_cli.core.funds import assistance_ledger

                    result.add_assistance(*assistance_ledger(reg.households, read_table(assist), the_pack, year, region,
                                                             source=assist.name))
                from fupin_cli.core.identify import pack_info

                prov = {
                    "tool": "fupin", "version": __version__, "command": "funds", "pack": pack_info(the_pack),
                    "inputs": [*({"name": s.name, "sha256": s.sha256} for s in sources),
                               {"name": register_file.name, "sha256": sha256_file(register_file)},
                               *([{"name": budget.name, "sha256": sha256_file(budget)}] if budget else []),
                               *([{"name": assist.name, "sha256": sha256_file(assist)}] if assist else [])],
                    "year": year, "region": region or the_pack.meta.region, "run_time": run_time(inputs),
                    "options": {"payments": len(payments), "budget": budget.name if budget else None},
                    "notes": list(result.notes),
                    "choice": chosen.info,
                }
                outputs = []
                step("write")
                if output is not None:
                    outputs.append(str(write_findings(result, output, prov, force=force)))
                if publicity is not None:
                    start = publicity_start.date() if isinstance(publicity_start, dt.datetime) else None
                    outputs.append(str(write_fund_publicity(publicity_frames(result), publicity, year=year, start=start,
                                                            phone=phone, force=force)))
            n_reader = int((reader_notes["severity"] != "info").sum()) if len(reader_notes) else 0
            warnings = [*chosen.warnings, *result.notes, *([f"{n_reader} reader notes on the payment lists (values that could not be read)"] if n_reader else [])]
            finish(json_, quiet, payload=lambda: {**result.to_json(), "outputs": outputs, "provenance": prov, "warnings": warnings},
                   warnings=warnings, render=lambda: render(result, outputs, chosen.lines))
            if result.counts()["findings"]["error"]:
                raise typer.Exit(code=1)


def render(result, outputs: list[str], choice: Sequence[str] = ()) -> None:
    from rich.table import Table

    print_choice(choice)
    c = result.counts()
    t = Table(title="资金监管 (funds)", header_style="bold")
    t.add_column("项目")
    t.add_column("数量", justify="right")
    t.add_row("发放笔数 payments", f"{c['payments']:,}")
    t.add_row("发放金额 amount (元)", f"{c['amount']:,.2f}")
    t.add_row("对应到登记册 matched", f"{c['matched']:,}")
    f = c["findings"]
    t.add_row("疑点 findings (错误/警告)", f"{f['error']:,} / {f['warning']:,}")
    for check, n in c["by_check"].items():
        t.add_row(f"  {escape(check)}", f"{n:,}")
    out.print(t)
    if len(result.findings):
        ft = Table(title="疑点 (first 30)", header_style="bold")
        for col in ("级别", "工作表", "行", "户编号", "问题"):
            ft.add_column(col)
        for r in result.findings.head(30).itertuples(index=False):
            ft.add_row(r.severity, escape(r.sheet or r.file), "" if r.row is None or r.row is __import__("pandas").NA else str(r.row),
                       escape(r.household_id), escape(r.message))
        out.print(ft)
    print_outputs(outputs)
