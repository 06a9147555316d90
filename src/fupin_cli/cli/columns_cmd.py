"""`fupin columns ROSTER...`: how every column was understood, and a column map file to correct it."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from fupin_cli.cli.common import (
    ColumnsOpt,
    EncodingOpt,
    ForceOpt,
    JsonOpt,
    RostersArg,
    SheetOpt,
    escape,
    guard,
    out,
    read_rosters,
)

WriteMapOpt = Annotated[Path | None, typer.Option(
    "--write-map", help="Write the column map (YAML) to this file: correct it and pass it back with --columns.",
    dir_okay=False)]


def register(app: typer.Typer) -> None:
    @app.command("columns", help=(
        "How every column of a roster was understood: Excel letter, header, field, polarity (same / inverted), "
        "how it matched (label, alias, variant, negation, map), confidence and unit factor; the columns not "
        "understood with their likely fields; the sheets read and skipped; the layout and what in the rows "
        "decided it. --write-map saves all this as a column map to correct and pass to any reading command "
        "with --columns."))
    def columns_command(
        roster: RostersArg,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        columns: ColumnsOpt = None,
        write_map: WriteMapOpt = None,
        force: ForceOpt = False,
        json_: JsonOpt = False,
    ) -> None:
        with guard(json_):
            from fupin_cli.io.colmap import map_text
            from fupin_cli.io.write import atomic_output, check_output

            if write_map is not None:
                check_output(write_map, force, allowed=(".yaml", ".yml"))
                if any(write_map.resolve() == p.resolve() for p in [*roster, *([columns] if columns else [])]):
                    from fupin_cli.errors import UsageError

                    raise UsageError(f"output {write_map.name} is one of the inputs", "give the map its own file name")
            from fupin_cli.cli.run import progress

            with progress(json_) as step:  # on a terminal only; the report itself is the output
                step("read")
                data = read_rosters(roster, sheet=sheet, encoding=encoding, columns=columns)
            all_columns = [c for s in data.sources for c in s.columns]
            if write_map is not None:
                with atomic_output(write_map, force) as tmp:
                    tmp.write_text(map_text(all_columns), encoding="utf-8")
            if json_:
                from fupin_cli.cli.run import command_provenance, print_envelope

                prov = command_provenance("columns", sources=data.sources, read=roster, files=[columns])
                print_envelope(payload(data, write_map), outputs=[write_map] if write_map is not None else [], provenance=prov)
                return
            render(data, write_map)


def payload(data, write_map: Path | None) -> dict:
    return {
        "sources": [{"name": s.name, "format": s.format, "sheets": s.sheets, "skipped_sheets": s.skipped_sheets,
                     "layout": s.layout, "layout_evidence": s.layout_evidence, "column_map": s.column_map or None,
                     "columns": [{k: v for k, v in c.items() if k != "where"} for c in s.columns]}
                    for s in data.sources],
        "unmatched": [{"header": u.header, "source": u.source, "sheet": u.sheet, "letter": u.letter,
                       "candidates": [[n, v] for n, v in u.candidates]} for u in data.unmatched],
        "households": data.n_households,
        "members": data.n_members,
        "map_written": str(write_map) if write_map else None,
    }


def render(data, write_map: Path | None) -> None:
    from rich.table import Table

    from fupin_cli.schema import FIELDS

    for s in data.sources:
        out.print(f"[bold]{escape(s.name)}[/] ({s.format}) 版式 layout: {escape(s.layout)} — {escape(s.layout_evidence)}")
        if s.sheets:
            out.print(f"  读取的工作表 sheets read: {escape('、'.join(s.sheets))}")
        for name, why in s.skipped_sheets.items():
            out.print(f"  未读取 skipped: {escape(name)} ({escape(why)})")
        if s.column_map:
            out.print(f"  列映射 column map: {escape(s.column_map)}")
        t = Table(show_header=True, header_style="bold")
        for col in ("列", "表头 header", "字段 field", "极性 polarity", "匹配 how", "置信度", "单位 unit"):
            t.add_column(col)
        several = len(s.sheets) > 1
        for c in s.columns:
            letter = (f"{c['sheet']}!" if several else "") + c["letter"]
            if c["field"]:
                f = FIELDS[c["field"]]
                unit = f"{c['unit']} ×{c['scale']:g}" if c["scale"] != 1.0 else c["unit"]
                t.add_row(letter, escape(c["header"]), f"{f.zh} ({f.name})",
                          "[yellow]反向 inverted[/]" if c["polarity"] == "inverted" else "同向 same",
                          c["method"], f"{c['confidence']:.2f}", escape(unit))
            else:
                likely = "、".join(f"{FIELDS[n].zh} {v:.2f}" for n, v in c["candidates"]) or "-"
                t.add_row(letter, escape(c["header"]), f"[red]未识别[/] 可能: {escape(likely)}", "", "", "", "")
        out.print(t)
    out.print(f"{data.n_households:,} 户, {data.n_members:,} 人")
    if write_map is not None:
        out.print(f"列映射 column map: {escape(str(write_map))} (改正后用 --columns {escape(str(write_map))} 传入)")
