"""`fupin init [ROSTER]`: write a commented fupin.toml for a county, from a roster it inspects."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Annotated

import typer

from fupin_cli.cli.common import EncodingOpt, ForceOpt, JsonOpt, SheetOpt, err, escape, guard, out

_UNIT = re.compile(r"填报单位[:：]\s*([^\s（(]+)")


def _most_common(values) -> tuple[str | None, int, int]:
    vals = [str(v).strip() for v in values if v is not None and v == v and str(v).strip()]
    if not vals:
        return None, 0, 0
    value, n = Counter(vals).most_common(1)[0]
    return value, n, len(vals)


def infer_region(roster) -> tuple[str | None, str]:
    """The province the roster says it is from, and the evidence (for a comment in the file): the same
    inference every command makes when neither --region nor fupin.toml gives one (fupin_cli.regions)."""
    from fupin_cli.regions import infer_region as infer

    ev = infer(roster)
    if ev.region is None:
        return None, "neither 省/市/县 columns, a title row nor ID numbers with a known area code say it"
    return ev.region, ev.source + (f"; other evidence disagrees: {'；'.join(ev.conflicts)}" if ev.conflicts else "")


def _pack_for(region: str | None, year: int | None) -> tuple[str, str]:
    """The pack the commands would choose themselves (cli/run.py settle): the region's provincial pack, else the
    national one (2021+: monitoring-2021)."""
    from fupin_cli.engine.loader import regional_pack

    family = "monitoring-2021" if year is not None and year >= 2021 else "national-2014"
    return regional_pack(family, region, year)


def _q(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def render(roster=None, roster_name: str | None = None) -> str:
    region, region_why = (infer_region(roster) if roster is not None else (None, "no roster given"))
    year = None
    if roster is not None and "year" in roster.households.columns:
        y = roster.households["year"].dropna()
        year = int(y.iloc[0]) if len(y) else None
    pack, pack_why = _pack_for(region, year)
    county, _, _ = _most_common(roster.households["county"].tolist()) if roster is not None and "county" in roster.households.columns else (None, 0, 0)
    title = " ".join(s.title for s in roster.sources) if roster is not None else ""
    m = _UNIT.search(title)
    unit = m.group(1) if m else (f"{county}扶贫开发办公室" if county else None)
    unit_why = ("the roster's title row (填报单位)" if m else f"the roster's 县 column ({county}); check the office's name"
                if county else "")
    lines = [
        "# fupin.toml — this county's settings; every fupin command run in this folder reads it",
        "# (or: fupin --config PATH <command>). An option given on the command line wins over this file,",
        "# and the 说明 sheet of every output records each value and where it came from.",
        f"# Written by `fupin init{' ' + roster_name if roster_name else ''}`. Paths are relative to this file's folder.",
        "",
        f"# region: inferred from the roster: {region_why}" if region else f"# region: not inferred ({region_why}); e.g. region = \"重庆\"",
        f"region = {_q(region)}" if region else "# region = \"重庆\"",
        "",
        "# rule pack: left out, the pack follows the region (command line > this file > the region's provincial pack >",
        f"# the national one; monitor: monitoring-2021). For this roster: {pack_why}. Set it only to pin one pack for every",
        "# command (shipped: national-2014, monitoring-2021, chongqing, or a folder).",
        f"# pack = {_q(pack)}",
        "",
        "# registered rural population per village (.xlsx/.csv with 乡镇, 行政村, 人口数) for 贫困发生率;",
        "# without it, 贫困发生率 is counted over the people in the roster (near 100% on a roster of applicants)",
        "# population = \"人口数.xlsx\"",
        "",
        "# column map for headers fupin does not recognise (as --columns; `fupin columns ROSTER --write-map` starts one)",
        "# columns = \"columns.yaml\"",
        "",
        "# folder for outputs written under their default names (must exist)",
        "# output_dir = \"输出\"",
        "",
        f"# 填报单位 printed on registers, 汇总 and 公示 lists{': from ' + unit_why if unit else ''}",
        f"unit = {_q(unit)}" if unit else "# unit = \"某某县扶贫开发办公室\"",
        "",
        "[signatures]  # names on the signature lines (blank lines to sign by hand when absent)",
        "# preparer = \"\"  # 填表人",
        "# reviewer = \"\"  # 审核人",
        "# leader = \"\"    # 负责人",
        "",
        "[publicity]  # the 公示 period printed on 公示 lists",
        "# start = 2015-10-08  # first day (a TOML date, no quotes)",
        "days = 7",
        "# phone = \"023-00000000\"  # 监督电话",
        "",
    ]
    return "\n".join(lines)


def register(app: typer.Typer) -> None:
    @app.command("init", help=(
        "Write fupin.toml for a county: region, rule pack, population table, column map, output folder, 填报单位, "
        "signature names, 公示 period — with comments. Given a ROSTER, the region is inferred from its 省 column or "
        "the area codes of its ID numbers (the evidence is written as a comment) and 填报单位 from its title row."))
    def init_command(
        roster: Annotated[Path | None, typer.Argument(help="A roster to inspect (.xlsx, .xls, .csv, .parquet).", exists=True, dir_okay=False)] = None,
        output: Annotated[Path, typer.Option("--output", "-o", help="File to write (.toml).", dir_okay=False)] = Path("fupin.toml"),
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        force: ForceOpt = False,
        json_: JsonOpt = False,
    ) -> None:
        with guard(json_):
            from fupin_cli.cli.config import load
            from fupin_cli.io.write import atomic_output, check_output

            check_output(output, force, allowed=(".toml",))
            data = None
            if roster is not None:
                from fupin_cli.io.read import read_roster

                data = read_roster(roster, sheet=sheet, encoding=encoding)
            text = render(data, roster.name if roster else None)
            with atomic_output(output, force) as tmp:
                tmp.write_text(text, encoding="utf-8")
                written = load(tmp)  # what init writes must load
            if json_:
                from fupin_cli.cli.run import command_provenance, print_envelope

                print_envelope({"config": {k: v for k, v in written.model_dump(mode="json").items() if v is not None}},
                               outputs=[output], provenance=command_provenance(
                                   "init", sources=data.sources if data is not None else (), read=[roster]))
                return
            err.print(f"已写入 {escape(str(output))}: check it, then run e.g. `fupin identify ROSTER --year Y` in this folder")
            out.print(f"输出 output: {escape(str(output))}")
