"""`fupin causes`: cause-of-poverty report (致贫原因分析) from a register written by identify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fupin_cli.cli.common import ForceOpt, JsonOpt, QuietOpt, guard, input_argument, out
from fupin_cli.cli.run import finish, prepare_outputs, print_outputs, progress, run_time

RegisterArg = Annotated[Path, input_argument("Register written by `fupin identify` (.xlsx, .csv or .parquet).")]


def register(app: typer.Typer) -> None:
    @app.command("causes", help=(
        "致贫原因: poor households and people by primary cause, shares, secondary-cause co-occurrence, "
        "cross-tab by township or village and by 贫困户属性; -o writes a workbook with native charts."))
    def causes_command(
        register: RegisterArg,
        by: Annotated[str, typer.Option("--by", help="Area of the cross-tab: 乡镇 (township) or 行政村 (village).")] = "乡镇",
        output: Annotated[Path | None, typer.Option("--output", "-o", help="Output workbook (.xlsx) with the tables and native charts.", dir_okay=False)] = None,
        force: ForceOpt = False,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        with guard(json_):
            from fupin_cli import __version__
            from fupin_cli.core.causes import area_name, causes_report
            from fupin_cli.errors import InputError
            from fupin_cli.io.causes_report import write_causes
            from fupin_cli.io.register import read_register
            from fupin_cli.io.write import sha256_file

            area = area_name(by)
            prepare_outputs(output, force, allowed=(".xlsx",), inputs=[register])
            with progress(quiet or json_) as step:
                step("读取登记册")
                reg = read_register(register)
                if "primary_cause" not in reg.households.columns:
                    raise InputError(f"{register.name}: no 主要致贫原因 column",
                                     "give a register written by `fupin identify` (sheet 登记册)")
                report = causes_report(reg.households, by=area)
                prov = {
                    "tool": "fupin", "version": __version__, "command": "causes",
                    "inputs": [{"name": register.name, "sha256": sha256_file(register)}],
                    "run_time": run_time([register]), "options": {"by": area},
                    "notes": [f"登记册 {k}: {v}" for k, v in reg.about.items()
                              if k.startswith(("规则包 (pack)", "年度", "区域", "规则包内容哈希"))],
                }
                year = reg.about.get("年度 (year)", "").strip()
                if year.isdigit():  # the register's year, for the printed titles
                    prov["year"] = int(year)
                outputs = []
                if output is not None:
                    step("write")
                    outputs.append(str(write_causes(report, output, prov, force=force)))
            finish(json_, quiet, payload=lambda: {**report.to_json(), "outputs": outputs, "provenance": prov},
                   render=lambda: render(report, outputs))


def render(report, outputs: list[str]) -> None:
    import pandas as pd

    from fupin_cli.cli.render import frame_table
    from fupin_cli.core.causes import LABELS
    from fupin_cli.io.causes_report import with_total

    shown = with_total(report.by_cause)
    shown = shown[(shown["households"] > 0) | (shown["people"] > 0) | (shown.index == len(shown) - 1)]
    shown = shown.assign(household_share=shown["household_share"].map("{:.1%}".format),
                         people_share=shown["people_share"].map("{:.1%}".format))
    labels = {**LABELS, "cause": "主要致贫原因"}
    title = f"贫困户致贫原因 ({report.households:,} 户 {report.people:,} 人)"
    out.print(frame_table(pd.DataFrame(shown), title=title, max_rows=None, labels=labels,
                          justify_right=["household_share", "people_share"]))
    print_outputs(outputs)
