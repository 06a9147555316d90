"""`fupin explain`: one household's decision as a tree (every rule, its inputs, thresholds, parameter year)."""

from __future__ import annotations

from typing import Annotated

import typer

from fupin_cli.cli.common import (
    ColumnsOpt, EncodingOpt, JsonOpt, PackOpt, RegionOpt, SheetOpt, YearOpt, column_map, escape, guard, out, print_json,
    rosters_argument,
)
from fupin_cli.cli.run import load_pack_checked

SourceArg = rosters_argument("Roster file(s) (.xlsx, .xls, .csv, .parquet; several files, a folder or a glob) or a register written by identify.")
HouseholdArg = Annotated[str, typer.Argument(help="户编号 of the household to explain.")]

RESULT_MARKS = {True: "[green]✔ 成立[/]", False: "[red]✘ 不成立[/]", None: "[yellow]? 无法判断[/]"}


def register(app: typer.Typer) -> None:
    @app.command("explain", help=(
        "Explain one household's identification: every rule (fired or not) with its inputs, thresholds, "
        "parameter year and region. An unknown 户编号 is a usage error (exit 2) with close matches."))
    def explain_command(
        source: SourceArg,
        household_id: HouseholdArg,
        year: YearOpt,
        pack: PackOpt = "national-2014",
        region: RegionOpt = None,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        columns: ColumnsOpt = None,
        json_: JsonOpt = False,
    ) -> None:
        with guard():
            from fupin_cli import __version__
            from fupin_cli.core.identify import find_household, pack_info
            from fupin_cli.engine.explain import explain
            from fupin_cli.idnumber import mask_text
            from fupin_cli.io.annual import read_source
            from fupin_cli.roster import Roster

            the_pack = load_pack_checked(pack, region)  # a bad pack or region fails before the read
            src = read_source(source, sheet=sheet, encoding=encoding, columns=column_map(columns))
            roster = Roster(src.households, src.members, src.sources)
            idx = find_household(roster, household_id)  # UsageError with did-you-mean
            hid = str(roster.households.loc[idx, "household_id"])
            tree = explain(roster, the_pack, year, region, hid)
            if json_:
                print_json({
                    "household_id": mask_text(hid),
                    "year": year,
                    "region": region or the_pack.meta.region,
                    "pack": pack_info(the_pack),
                    "version": __version__,
                    "source": src.name,
                    "tree": _masked(tree.to_dict()),
                })
                return
            out.print(render_tree(tree), soft_wrap=False)  # fold long labels, never cut them


def _masked(node: dict) -> dict:
    from fupin_cli.idnumber import mask_text

    return {k: (mask_text(v) if isinstance(v, str) else [_masked(c) for c in v] if k == "children" else v)
            for k, v in node.items()}


def node_text(node) -> str:
    from fupin_cli.idnumber import mask_text

    parts = [f"[bold]{escape(mask_text(node.label))}[/]"]
    if node.kind in ("rule", "condition") and node.result in RESULT_MARKS:
        parts.append(RESULT_MARKS[node.result])
    if node.expr and node.kind not in ("group", "value", "household"):
        parts.append(f"[dim]{escape(mask_text(node.expr))}[/]")
    if node.value:
        parts.append(("= " if node.kind in ("field", "param", "member", "condition") else "") + escape(mask_text(node.value)))
    return "  ".join(parts)


def render_tree(root):
    from rich.text import Text
    from rich.tree import Tree

    def label(node) -> Text:  # long texts fold onto the next line instead of being cut at the width
        return Text.from_markup(node_text(node), overflow="fold")

    tree = Tree(label(root), guide_style="dim")
    stack = [(root, tree)]
    while stack:  # one household: a few hundred nodes at most
        node, branch = stack.pop()
        for child in node.children:
            stack.append((child, branch.add(label(child))))
    return tree
