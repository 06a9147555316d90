"""`fupin measures`: FGT, poverty gap, near-line share, targeting, Alkire–Foster MPI (docs/measures.md)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Annotated

import typer

from fupin_cli.cli.common import (
    AllowErrorsOpt,
    AllowMissingOpt,
    EncodingOpt,
    ForceOpt,
    JsonOpt,
    OutputOpt,
    PackOpt,
    QuietOpt,
    RegionOpt,
    SheetOpt,
    StrictOpt,
    YearOpt,
    escape,
    guard,
    input_policy,
    out,
    rosters_argument,
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

SourcesArg = Annotated[list[Path], rosters_argument(
    "Roster(s) (the pack is evaluated as identify does: several files, a folder or a glob such as 青山镇/*.xlsx, read as "
    "one roster) or register(s) written by identify / reassess.")]


def register(app: typer.Typer) -> None:
    @app.command("measures", help=(
        "贫困测度: person-weighted FGT P0/P1/P2 against the year's line, the poverty gap in yuan, the near-line "
        "share (1–1.5× the line), line sensitivity, registry vs income headcount (inclusion / exclusion errors), "
        "and the Alkire–Foster MPI (H, A, M0, contributions) defined in the pack; decomposed by --by groups. "
        "-o writes .xlsx (sheets with native charts), .csv or .parquet."))
    def measures_command(
        ctx: typer.Context,
        sources: SourcesArg,
        year: YearOpt,
        by: Annotated[list[str] | None, typer.Option("--by", help="Decompose by 乡镇, 行政村, 主要致贫原因 or 贫困户属性 (repeatable).")] = None,
        pack: PackOpt = None,
        region: RegionOpt = None,
        output: OutputOpt = None,
        sample: Annotated[bool, typer.Option("--sample", help="The input is a sample: add 95% bootstrap intervals (households resampled).")] = False,
        replicates: Annotated[int, typer.Option("--replicates", help="Bootstrap replicates with --sample.", min=20, max=100000)] = 500,
        seed: Annotated[int, typer.Option("--seed", "-s", help="Seed of the bootstrap (same seed, same intervals).", min=0)] = 1,
        allow_errors: AllowErrorsOpt = False,
        allow_missing: AllowMissingOpt = None,
        strict: StrictOpt = False,
        sheet: SheetOpt = None,
        encoding: EncodingOpt = None,
        force: ForceOpt = False,
        json_: JsonOpt = False,
        quiet: QuietOpt = False,
    ) -> None:
        with guard(json_):
            from fupin_cli import __version__
            from fupin_cli.cli.config import settings
            from fupin_cli.core.identify import provenance as build_provenance
            from fupin_cli.core.measures import by_name, measures
            from fupin_cli.engine.params import check_era
            from fupin_cli.io.measures_report import write_measures

            cfg = settings(ctx, pack=pack, region=region)
            pack, region = cfg.pack, cfg.region
            groups = [by_name(b) for b in (by or [])]
            if output is not None:
                prepare_outputs(output, force, allowed=(".xlsx", ".csv", ".parquet"), inputs=sources)
            with progress(quiet or json_) as step:
                step("pack")
                the_pack = load_pack_checked(pack, region)
                check_era(the_pack, year)  # the pack's years first, as every command (docs/cli.md "--year")
                the_pack.mpi_spec(year)  # no MPI for the year: a pack error before the (long) read
                step("read")
                raw = read_sources(sources, sheet=sheet, encoding=encoding)
                # region and pack as every command resolves them (a register's 省/县 columns and ID numbers count too)
                chosen = settle(raw, cfg, year, "national-2014", loaded=the_pack, check_roster_year=raw.kinds == "roster")
                the_pack, region = chosen.pack, chosen.region
                the_pack.mpi_spec(year)
                data = evaluate_sources(raw, the_pack, year, region, allow_errors=allow_errors, version=__version__,
                                        step=step, policy=input_policy(allow_missing, strict))
                step("计算贫困测度")
                result = measures(data.households, data.members, data.evaluation, by=groups, sample=sample,
                                  replicates=replicates, seed=seed, present=data.present)
                options = {"by": [b for b in (by or [])], "sample": sample, "kinds": data.kinds}
                if sample:
                    options.update(replicates=replicates, seed=seed)
                prov = build_provenance(SimpleNamespace(sources=data.sources), the_pack, data.evaluation, year, region,
                                        version=__version__, run_time=run_time(sources), command="measures", options=options)
                prov["notes"] = [*data.notes, *result.notes]
                prov["choice"] = chosen.info
                outputs = []
                if output is not None:
                    step("write")
                    outputs.append(str(write_measures(result, output, prov, force=force)))
            from fupin_cli.core.identify import not_evaluated_lines

            warnings = [*chosen.warnings, *not_evaluated_lines(prov), *data.notes, *result.notes]
            finish(json_, quiet, payload=lambda: {**result.to_json(), "outputs": outputs, "provenance": prov,
                                                  "warnings": warnings},
                   warnings=warnings, render=lambda: render(result, outputs, chosen.lines))


def read_sources(paths: list[Path], *, sheet, encoding) -> SimpleNamespace:
    """Read every SOURCE: all rosters (one roster, duplicates noted) or all registers (concatenated)."""
    import pandas as pd

    from fupin_cli.errors import UsageError
    from fupin_cli.io.annual import is_register_file, read_source
    from fupin_cli.io.read import read_roster

    kinds = ["register" if is_register_file(p) else "roster" for p in paths]
    if len(set(kinds)) > 1:
        raise UsageError("SOURCE mixes rosters and registers",
                         "give only rosters (the pack is evaluated) or only registers written by identify / reassess")
    if kinds[0] == "roster":
        roster = read_roster(paths, sheet=sheet, encoding=encoding)  # several files: one roster, duplicates noted
        return SimpleNamespace(paths=paths, roster=roster, households=roster.households, members=roster.members,
                               sources=roster.sources, kinds="roster", unmatched=getattr(roster, "unmatched", None))
    srcs = [read_source(p) for p in paths]
    households = pd.concat([s.households for s in srcs], ignore_index=True) if len(srcs) > 1 else srcs[0].households
    members = pd.concat([s.members for s in srcs], ignore_index=True) if len(srcs) > 1 else srcs[0].members
    return SimpleNamespace(paths=paths, roster=None, households=households, members=members,
                           sources=[i for s in srcs for i in s.sources], kinds="register", unmatched=None)


def evaluate_sources(raw: SimpleNamespace, pack, year: int, region: str | None, *, allow_errors: bool, version: str,
                     step, policy=None) -> SimpleNamespace:
    """Evaluate the pack on what :func:`read_sources` read; households carry the registry status."""
    from fupin_cli.core.identify import identify
    from fupin_cli.core.measures import present_fields
    from fupin_cli.engine import evaluate

    notes: list[str] = []
    if raw.kinds == "roster":
        roster = raw.roster
        res = identify(roster, pack, year, region, allow_errors=allow_errors, version=version, run_time=run_time(raw.paths),
                       progress=step, policy=policy)
        notes += res.notes
        return SimpleNamespace(households=res.households, members=roster.members, evaluation=res.evaluation,
                               sources=roster.sources, kinds="roster", notes=notes,
                               present=present_fields(roster.households, roster.members))
    step("evaluate")
    ev = evaluate(SimpleNamespace(households=raw.households, members=raw.members), pack, year=year, region=region,
                  policy=policy)
    return SimpleNamespace(households=raw.households, members=raw.members, evaluation=ev, sources=raw.sources,
                           kinds="register", notes=notes, present=present_fields(raw.households, raw.members))


def render(result, outputs: list[str], choice: Sequence[str] = ()) -> None:
    from rich.table import Table

    print_choice(choice)
    o = result.overall.iloc[0]
    pct = lambda v: "-" if v is None or v != v else f"{v:.2%}"  # noqa: E731
    t = Table(title=f"{result.year}年 贫困测度 (measures), 标准 z = {result.line:,.0f} 元", header_style="bold")
    t.add_column("指标")
    t.add_column("数值", justify="right")
    ci = (result.ci or {}).get("overall", {})

    def fmt(key: str, v) -> str:
        return f"{v:,.0f}" if key == "gap_yuan" else f"{v:.4f}" if key == "M0" else pct(v)

    def with_ci(key: str, text: str) -> str:
        lo, hi = ci.get(key, [None, None])
        return text if lo is None else f"{text}  [{fmt(key, lo)}, {fmt(key, hi)}]"

    rows = [
        ("人数 people (可用收入)", f"{int(o['people']):,}"),
        ("建档立卡贫困人口 registered", f"{int(o['registered_people']):,}"),
        ("收入贫困人口 income poor", f"{int(o['income_poor_people']):,}"),
        ("错评 inclusion error (人)", f"{int(o['inclusion_people']):,}"),
        ("漏评 exclusion error (人)", f"{int(o['exclusion_people']):,}"),
        ("P0 贫困发生率", with_ci("fgt0", pct(o["fgt0"]))),
        ("P1 贫困深度", with_ci("fgt1", pct(o["fgt1"]))),
        ("P2 贫困强度", with_ci("fgt2", pct(o["fgt2"]))),
        ("贫困缺口 gap (元)", with_ci("gap_yuan", f"{o['gap_yuan']:,.0f}")),
        ("临界人口占比 near-line", with_ci("near_line_share", pct(o["near_line_share"]))),
    ]
    if result.mpi_computed:
        rows += [("MPI H", with_ci("H", pct(o["H"]))), ("MPI A", with_ci("A", pct(o["A"]))),
                 ("MPI M0", with_ci("M0", f"{o['M0']:.4f}"))]
    else:
        rows.append(("MPI", "未计算 not computed"))
    for k, v in rows:
        t.add_row(k, v)
    out.print(t)
    un = int(result.unusable["households"].sum())
    if un:
        out.print(f"收入不可用、未计入的户 households left out: {un:,}")
    for by, df in result.groups.items():
        from fupin_cli.core.measures import BY_KEYS, BY_LABELS

        g = Table(title=f"按{BY_LABELS[by]}", header_style="bold")
        keys = BY_KEYS[by]
        for k in keys:
            g.add_column(BY_LABELS.get(k, k))
        for c in ("人数", "P0", "P1", "缺口(元)", "M0"):
            g.add_column(c, justify="right")
        for _, row in df.iterrows():
            g.add_row(*[escape(str(row[k])) for k in keys], f"{int(row['people']):,}", pct(row["fgt0"]), pct(row["fgt1"]),
                      f"{row['gap_yuan']:,.0f}", "-" if row["M0"] != row["M0"] else f"{row['M0']:.4f}")
        out.print(g)
    print_outputs(outputs)
