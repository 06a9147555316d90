"""`fupin explain`: one household's decision as a tree (every rule, its inputs, thresholds, parameter year)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from fupin_cli.cli.common import (
    AllowMissingOpt,
    ColumnsOpt,
    EncodingOpt,
    ForceOpt,
    JsonOpt,
    PackOpt,
    RegionOpt,
    SheetOpt,
    StrictOpt,
    YearOpt,
    column_map,
    err,
    escape,
    guard,
    input_policy,
    out,
    rosters_argument,
)
from fupin_cli.cli.run import (
    command_provenance,
    load_pack_checked,
    prepare_outputs,
    print_envelope,
    print_outputs,
    progress,
    settle,
    warn,
)

SourceArg = Annotated[list[Path], rosters_argument("Roster file(s) (.xlsx, .xls, .csv, .parquet; several files, a folder or a glob) or a register written by identify.")]
HouseholdArg = Annotated[str, typer.Argument(help="户编号 of the household to explain.")]

RESULT_MARKS = {True: "[green]✔ 成立[/]", False: "[red]✘ 不成立[/]", None: "[yellow]? 无法判断[/]"}


# groups that decide 识别结果 / 贫困户属性 / 致贫原因, in the order the brief form shows them
DECIDING_GROUPS = ("识别标准", "一票否决", "状态调整", "贫困户属性", "致贫原因")
FullOpt = Annotated[bool, typer.Option("--full/--brief", help="--brief (default): the decision and the rules that decided it; "
                                                           "--full: every rule active in the year with every input down to each member.")]
ExplainOutputOpt = Annotated[Path | None, typer.Option("--output", "-o", help="Write the explanation to a file: .txt (the tree as text) or .json.", dir_okay=False)]


def brief(root):
    """The deciding part of a tree: the decision values, then per deciding group the rules that fired or could not
    be decided (every rule of 识别标准, which decides either way), each with its conditions and their direct inputs."""
    import copy

    from fupin_cli.engine.explain import ExplainNode

    def shallow(node, depth: int):
        n = copy.copy(node)
        n.children = [shallow(c, depth - 1) for c in node.children if c.kind in ("condition", "field", "param", "value")] if depth > 0 else []
        return n

    out = copy.copy(root)
    kids = [c for c in root.children if c.kind == "value"]
    groups = {g.label: g for g in root.children if g.kind == "group"}
    for name in DECIDING_GROUPS:
        g = groups.get(name)
        if g is None:
            continue
        rules = [r for r in g.children if r.kind == "rule" and (name == "识别标准" or r.result is not False)]
        if rules:
            kids.append(ExplainNode(label=g.label, kind="group", children=[shallow(r, 3) for r in rules]))
    out.children = kids
    return out


def register(app: typer.Typer) -> None:
    @app.command("explain", help=(
        "Explain one household's identification. By default (--brief) the decision and the rules that decided it, "
        "with their inputs and thresholds; --full: every rule active in the year, fired or not, with every input down "
        "to each member, parameter year and region. -o writes it to a .txt or .json file. An unknown 户编号 is a usage "
        "error (exit 2) with close matches."))
    def explain_command(
        ctx: typer.Context,
        source: SourceArg,
        household_id: HouseholdArg,
        year: YearOpt,
        pack: PackOpt = None,
        region: RegionOpt = None,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        columns: ColumnsOpt = None,
        full: FullOpt = False,
        output: ExplainOutputOpt = None,
        force: ForceOpt = False,
        allow_missing: AllowMissingOpt = None,
        strict: StrictOpt = False,
        json_: JsonOpt = False,
    ) -> None:
        with guard(json_):
            from fupin_cli import __version__
            from fupin_cli.cli.config import settings
            from fupin_cli.core.identify import find_household, pack_info
            from fupin_cli.engine.explain import explain
            from fupin_cli.idnumber import mask_text
            from fupin_cli.io.annual import read_source
            from fupin_cli.roster import Roster

            cfg = settings(ctx, pack=pack, region=region, columns=columns)  # the same pack, region and map as identify's
            pack, region, columns = cfg.pack, cfg.region, cfg.columns
            if output is not None:
                prepare_outputs(output, force, allowed=(".txt", ".json"), inputs=source)
            with progress(json_) as step:  # on a terminal only; the tree itself is the output
                step("pack")
                the_pack = load_pack_checked(pack, region)  # a bad pack or region fails before the read
                step("read")
                src = read_source(source, sheet=sheet, encoding=encoding, columns=column_map(columns))
                roster = Roster(src.households, src.members, src.sources, unmatched=src.unmatched)
                idx = find_household(roster, household_id)  # UsageError with did-you-mean
                hid = str(roster.households.loc[idx, "household_id"])
                chosen = settle(roster, cfg, year, "national-2014", loaded=the_pack, check_roster_year=src.kind == "roster")
                the_pack, region = chosen.pack, chosen.region
                warn(chosen.warnings)  # on stderr with --json too (and in the envelope's warnings), as every command
                step("evaluate")
                tree = explain(roster, the_pack, year, region, hid, policy=input_policy(allow_missing, strict))
            if not full:
                tree = brief(tree)
            payload = {
                "household_id": mask_text(hid),
                "year": year,
                "region": region or the_pack.meta.region,
                "choice": chosen.info,
                "pack": pack_info(the_pack),
                "version": __version__,
                "source": src.name,
                "form": "full" if full else "brief",
                "tree": _masked(tree.to_dict()),
            }
            if output is not None:
                _write(output, payload, tree, force, chosen.lines)
            if json_:  # with -o the tree is in the file, not repeated on stdout
                prov = command_provenance("explain", sources=src.sources, read=source, files=[columns], pack=the_pack,
                                          year=year, region=region, options={"form": payload["form"]})
                print_envelope({k: v for k, v in payload.items() if k != "tree" or output is None},
                               outputs=[output] if output is not None else [], warnings=chosen.warnings,
                               provenance=prov)
                return
            if output is not None:
                print_outputs([output])
                return
            out.print(render_tree(tree), soft_wrap=False)  # fold long labels, never cut them
            for line in chosen.lines:  # where region, pack and year came from (stdout is the tree alone)
                err.print(escape(line))
            if not full:
                err.print("（--brief: the deciding rules only; --full shows every rule and input）")


def _write(path: Path, payload: dict, tree, force: bool, choice: Sequence[str] = ()) -> None:
    from rich.console import Console

    from fupin_cli.io.write import atomic_output, write_json

    if path.suffix.lower() == ".json":
        write_json(payload, path, force)
        return
    console = Console(record=True, width=160, file=io.StringIO(), color_system=None)
    console.print(render_tree(tree), soft_wrap=False)
    for line in choice:  # where region, pack and year came from, after the tree
        console.print(line, markup=False)
    with atomic_output(path, force) as tmp:
        tmp.write_text(console.export_text(), encoding="utf-8")


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
