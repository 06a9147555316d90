"""`fupin rules check|show|test PACK`: validate, print and test a rule pack (规则包)."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from fupin_cli.cli.common import YEAR_MAX, YEAR_MIN, YEAR_RULE, JsonOpt, err, escape, guard, out
from fupin_cli.cli.run import command_provenance, print_envelope
from fupin_cli.errors import EXIT_DATA, RuleError

app = typer.Typer(no_args_is_help=True, help="Check, show and test rule packs (规则包).")

PackArg = Annotated[str, typer.Argument(help="Rule pack: a shipped pack name (national-2014, monitoring-2021, chongqing) or a folder.")]
ShowYearOpt = Annotated[int | None, typer.Option("--year", "-y", help="Show the rules in force and the parameter values for this year: " + YEAR_RULE, min=YEAR_MIN, max=YEAR_MAX)]
ShowRegionOpt = Annotated[str | None, typer.Option("--region", "-r", help="Region for parameter values (e.g. 重庆); default: the pack's region.")]


@app.command("check", help="Validate a pack: print every problem as file:line:col: key.path: message (exit 3), or 'ok: N rules, M parameters'.")
def check_command(pack: PackArg, json_: JsonOpt = False) -> None:
    with guard(json_):
        from fupin_cli.engine import load_pack

        p = load_pack(pack)
        s = _summary(p)
        if json_:
            print_envelope({"ok": True, **s}, provenance=command_provenance("rules check", pack=p))
            return
        out.print(f"ok: {s['rules']} rules, {s['parameters']} parameters ({escape(p.ident)}, {s['derived']} derived fields, sha256 {p.sha256[:12]})")


def _summary(p) -> dict:
    return {"pack": p.name, "version": p.version, "sha256": p.sha256, "chain": p.chain,
            "rules": len(p.rules), "parameters": len(p.parameters), "derived": len(p.derived)}


@app.command("show", help="Print a pack: its rules (id, kind, label, years, condition) and parameters (value, year in force, region, source, unverified).")
def show_command(pack: PackArg, year: ShowYearOpt = None, region: ShowRegionOpt = None, json_: JsonOpt = False) -> None:
    with guard(json_):
        from fupin_cli.engine import load_pack

        p = load_pack(pack)
        if year is not None:
            from fupin_cli.engine.params import check_era

            check_era(p, year)  # a year outside the pack's years: exit 3 naming them, as every command
        data = show_data(p, year, region)
        if json_:
            print_envelope(data, provenance=command_provenance("rules show", pack=p, year=year, region=region))
            return
        _render_show(p, data, year)


def show_data(p, year: int | None, region: str | None) -> dict:
    """The rules, derived fields and parameters of a pack as plain data (``--json``)."""
    from fupin_cli.engine.expr import to_text
    from fupin_cli.engine.params import format_value, region_chain, resolve

    if region is not None or year is not None:
        region_chain(p, region)  # unknown region → RuleError
    rules = []
    for r in p.rules:
        if year is not None and not r.active(year):
            continue
        extra = {k: v for k, v in r.model_dump(by_alias=True, exclude_defaults=True).items()
                 if k not in ("id", "kind", "label", "description", "source", "from", "until", "when")}
        rules.append({"id": r.id, "kind": r.kind, "label": r.label, "from": r.from_, "until": r.until,
                      "when": r.when or "", "source": r.source, "extra": extra})
    derived = []
    for d in p.derived:
        nodes = p.derived_ir.get(d.id, {})
        derived.append({"id": d.id, "label": d.label or d.id, "definition": getattr(d, "expr", None) or
                        f"{d.agg}({getattr(d, 'of', None) or ''}) over members" + (f" where {d.where}" if d.where else ""),
                        "type": str(p.field_types.get(d.id, "")), "ir": {k: to_text(v) for k, v in nodes.items()}})
    params = []
    for name, pdef in p.parameters.items():
        m = pdef.model
        if year is not None:
            try:
                pv = resolve(p, name, year, region)
                params.append({"name": name, "label": pdef.label, "unit": m.unit, "value": pv.value, "value_text": format_value(pv.value),
                               "year": pv.year, "region": pv.region, "source": pv.source, "citation": pv.citation, "verified": pv.verified})
            except RuleError:
                params.append({"name": name, "label": pdef.label, "unit": m.unit, "value": None, "value_text": f"无 {year} 年取值",
                               "year": None, "region": None, "source": None, "citation": None, "verified": None})
            continue
        for e in sorted(m.values, key=lambda e: (e.region or p.meta.region, e.year)):
            src = e.source or m.source
            params.append({"name": name, "label": pdef.label, "unit": m.unit, "value": e.value, "value_text": format_value(e.value),
                           "year": e.year, "region": e.region or p.meta.region, "source": src,
                           "citation": p.meta.sources.get(src, src) if src else None, "verified": e.verified})
    return {
        "pack": {**_summary(p), "title": p.meta.title, "region": p.meta.region, "extends": p.meta.extends, "path": str(p.path)},
        "year": year,
        "region": region or p.meta.region,
        "rules": rules,
        "derived": derived,
        "parameters": params,
        "measures": _measures_data(p, year),
        "funds": [{"id": i.id, "label": i.label, "aliases": i.aliases, "statuses": i.statuses, "period": i.period,
                   "from": i.from_, "until": i.until, "cap": i.cap,
                   "standards": [s.model_dump() for s in i.standards]}
                  for i in (p.funds.items if p.funds else []) if year is None or i.active(year)],
    }


def _measures_data(p, year: int | None) -> dict | None:
    """income field, line parameter and the MPI specification(s) (of the year, or all)."""
    if p.measures is None:
        return None
    specs = [m for m in p.measures.mpi if year is None or m.active(year)]
    return {"income": p.measures.income, "line": p.measures.line, "mpi": [
        {"id": m.id, "label": m.label, "from": m.from_, "until": m.until, "k": m.k, "source": m.source, "verified": m.verified,
         "indicators": [{"dimension": d.label, "id": i.id, "label": i.label, "weight": i.weight, "deprived": i.deprived}
                        for d, i in m.indicators]} for m in specs]}


def _render_show(p, data: dict, year: int | None) -> None:
    info = data["pack"]
    title = f"{p.meta.title}  [dim]{escape(p.ident)}  sha256 {p.sha256[:12]}[/]"
    if p.meta.extends:
        title += f"  [dim](extends {escape(p.meta.extends)})[/]"
    out.print(title)
    if year is not None:
        out.print(f"年度 {year}，地区 {escape(data['region'])}：{len(data['rules'])} 条规则生效")
    t = Table(title="规则 rules", show_lines=False)
    for col in ("id", "kind", "label", "years", "when", "extra"):
        t.add_column(col, overflow="fold")
    for r in data["rules"]:
        years = "" if r["from"] is None and r["until"] is None else f"{r['from'] or ''}–{r['until'] or ''}"
        extra = ", ".join(f"{k}={v}" for k, v in r["extra"].items())
        t.add_row(r["id"], r["kind"], escape(r["label"]), years, escape(r["when"]), escape(extra))
    out.print(t)
    if data["derived"]:
        t = Table(title="派生字段 derived")
        for col in ("id", "label", "definition", "type"):
            t.add_column(col, overflow="fold")
        for d in data["derived"]:
            t.add_row(d["id"], escape(d["label"]), escape(d["definition"]), d["type"])
        out.print(t)
    t = Table(title="参数 parameters" + (f"（{year} 年）" if year is not None else ""))
    for col in ("name", "label", "value", "unit", "year", "region", "source", "verified"):
        t.add_column(col, overflow="fold")
    unverified = 0
    for prm in data["parameters"]:
        flag = "" if prm["verified"] in (True, None) else "[yellow]未核实[/]"
        unverified += prm["verified"] is False
        t.add_row(prm["name"], escape(prm["label"]), escape(prm["value_text"]), escape(prm["unit"] or ""),
                  "" if prm["year"] is None else str(prm["year"]), escape(prm["region"] or ""), escape(prm["source"] or ""), flag)
    out.print(t)
    if unverified:
        out.print(f"[yellow]{unverified} 个参数取值未经来源核实 (verified: false)[/]")
    for m in (data["measures"] or {}).get("mpi", []):
        t = Table(title=f"多维贫困指数 MPI {escape(m['label'])}（{m['from']}–{m['until'] or ''}，k = {m['k']:.4g}）")
        for col in ("dimension", "id", "label", "weight", "deprived"):
            t.add_column(col, overflow="fold")
        for i in m["indicators"]:
            t.add_row(escape(i["dimension"]), i["id"], escape(i["label"]), f"{i['weight']:.4g}", escape(i["deprived"]))
        out.print(t)
    if data["funds"]:
        t = Table(title="资金项目 fund items")
        for col in ("id", "label", "statuses", "standards", "cap", "period", "years"):
            t.add_column(col, overflow="fold")
        for i in data["funds"]:
            std = "; ".join(f"{s['param']}/{'人' if s['per'] == 'person' else '户'}" + (f" ({'、'.join(s['statuses'])})" if s["statuses"] else "")
                            for s in i["standards"]) or "（无标准）"
            years = "" if i["from"] is None and i["until"] is None else f"{i['from'] or ''}–{i['until'] or ''}"
            t.add_row(i["id"], escape(i["label"]), escape("、".join(i["statuses"])), escape(std), i["cap"] or "", i["period"], years)
        out.print(t)
    del info


@app.command("test", help="Run the pack's scenario tests (tests/*.yaml): pass/fail per test; exit 1 on any failure.")
def test_command(pack: PackArg, json_: JsonOpt = False, verbose: Annotated[bool, typer.Option("--verbose", "-v", help="List passing tests too.")] = False) -> None:
    with guard(json_):
        from fupin_cli.engine import load_pack
        from fupin_cli.engine.scenarios import run_scenarios, scenario_files

        p = load_pack(pack)
        if not scenario_files(p):
            raise RuleError(f"rule pack {p.ident} has no scenario tests", hint=f"add YAML files under {p.tests_dir}")
        results = run_scenarios(p)
        failed = [r for r in results if not r.passed]
        if json_:
            print_envelope({"pack": _summary(p), "passed": len(results) - len(failed), "failed": len(failed),
                            "tests": [r.to_dict() for r in results]},
                           provenance=command_provenance("rules test", pack=p, options={"verbose": verbose}))
        else:
            for r in results:
                if r.passed:
                    if verbose:
                        out.print(f"[green]PASS[/] {escape(r.name)}  [dim]{escape(r.where)}[/]")
                    continue
                out.print(f"[red]FAIL[/] {escape(r.name)}  [dim]{escape(r.where)}[/]")
                for f in r.failures:
                    out.print(f"     {escape(f)}")
                if r.explanation:
                    for line in r.explanation.splitlines():
                        out.print(f"       [dim]{escape(line)}[/]")
            colour = "red" if failed else "green"
            out.print(f"[{colour}]{len(results) - len(failed)} passed, {len(failed)} failed[/] ({escape(p.ident)})")
        if failed:
            raise typer.Exit(code=EXIT_DATA)


__all__ = ["app", "err"]
