"""A rule pack's ``check`` rules (疑点) as extra checks of ``validate``.

``pack_checks(pack)`` returns a check function for :func:`fupin_cli.checks.validate`: it
evaluates the pack on the roster for the context's year and turns the ``check`` rules that
fired into findings with file, sheet, Excel row, the column (the header of the first roster
field the rule's condition uses, looking through derived fields: ``arable_land_pc`` →
耕地面积) and the deciding values in the message.

A pack rule with ``builtin: <check id>`` names the built-in check that implements it (e.g.
``chk_wage_income_small`` → ``income.wage_small``): it is not evaluated here, and the built-in
reads its thresholds from the pack's parameters (``validate`` fills ``CheckContext.params``).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from fupin_cli import schema
from fupin_cli.checks.context import CheckContext, no_findings
from fupin_cli.engine import ir


def check_rules(pack: Any, year: int | None = None, *, include_duplicates: bool = False) -> list:
    """The pack's ``check`` rules (active in ``year``) that run their own condition (not ``builtin:``).

    ``include_duplicates`` is kept for callers of the old API; rules that name a built-in are never
    evaluated by the pack (the built-in runs them)."""
    return [r for r in pack.rules_of("check", year) if not getattr(r, "builtin", None)]


def builtin_of(pack: Any) -> dict[str, str]:
    """Rule id → the built-in check it names (``builtin:``)."""
    return {r.id: r.builtin for r in pack.rules_of("check") if getattr(r, "builtin", None)}


def check_labels(pack: Any) -> dict[str, str]:
    """Rule id → label of every check rule of the pack (for summaries)."""
    return {r.id: r.label or r.id for r in pack.rules_of("check")}


def first_field(pack: Any, node: ir.Node | None, _seen: frozenset = frozenset()) -> str | None:
    """The first roster field named by ``node``, looking through the pack's derived fields."""
    if node is None:
        return None
    names = sorted(ir.names(node), key=lambda nm: min((n.pos for n in ir.walk(node) if isinstance(n, ir.Name) and n.name == nm), default=0))
    for name in names:
        if name in schema.FIELDS:
            return name
        if name in pack.derived_ir and name not in _seen:
            for part in ("expr", "of", "where"):
                found = first_field(pack, pack.derived_ir[name].get(part), _seen | {name})
                if found:
                    return found
    return None


def evaluation_findings(ev: Any, roster: Any, *, include_duplicates: bool = False) -> pd.DataFrame:
    """Findings of the ``check`` rules of an existing evaluation (``engine.evaluate``) of ``roster``."""
    from fupin_cli.engine.decide import check_findings

    rules = check_rules(ev.pack, ev.year, include_duplicates=include_duplicates)
    if not rules:
        return no_findings()
    found = check_findings(ev)
    found = found[found["check"].isin([r.id for r in rules])].reset_index(drop=True)
    if not len(found):
        return no_findings()
    columns = {}
    for r in rules:
        name = first_field(ev.pack, ev.pack.conditions.get(r.id))
        columns[r.id] = roster.header_of(name) if name else ""
    found["column"] = found["check"].map(columns).fillna("").astype(str)
    if len(roster.sources) == 1:
        found.loc[found["file"] == "", "file"] = roster.sources[0].name
    return found


def pack_checks(pack: Any, region: str | None = None, *, include_duplicates: bool = False):
    """A check function running the pack's ``check`` rules (see the module docstring)."""
    from fupin_cli.engine import evaluate

    def run(ctx: CheckContext) -> list[pd.DataFrame]:
        has_checks = bool(check_rules(pack, ctx.year, include_duplicates=include_duplicates))
        has_exit = bool(pack.rules_of("household_exit", ctx.year))
        if not has_checks and not has_exit:
            return [no_findings()]
        from fupin_cli.engine.inputs import InputPolicy

        # validate reports: absent columns never stop it (the checks that need them are not evaluated)
        ev = evaluate(ctx.roster, pack, year=ctx.year, region=region, era=False, policy=InputPolicy(stop=False))
        out = [evaluation_findings(ev, ctx.roster, include_duplicates=include_duplicates)] if has_checks else []
        if has_exit:
            out.append(exited_guarantee_findings(ctx, ev))
        return out

    run.labels = check_labels(pack)  # type: ignore[attr-defined]
    run.pack = pack  # type: ignore[attr-defined]
    run.region = region  # type: ignore[attr-defined]
    return run


def exited_guarantee_findings(ctx: CheckContext, ev: Any) -> pd.DataFrame:
    """``exit.unsolved_guarantees`` from the pack's own ``household_exit`` rules (not a copy of them):
    a household recorded as exited for which a non-income exit condition is false.  ``validate`` and
    ``exit`` therefore agree on every household (same rules, same parameters, same year)."""
    import numpy as np

    from fupin_cli.checks.exited import exited_mask

    found = exited_mask(ctx)
    if found is None:
        return no_findings()
    exited, field = found
    rules = [r for r in ev.rules_of("household_exit") if "income_pc" not in _names_deep(ev.pack, ev.pack.conditions.get(r.id))]
    if not rules or not exited.any():
        return no_findings()
    failed = np.stack([ev.results[r.id].fillna(True).to_numpy(dtype=bool) == False for r in rules], axis=1)  # noqa: E712
    bad = exited.to_numpy(dtype=bool) & failed.any(axis=1)
    labels = np.array([r.label for r in rules], dtype=object)
    texts = pd.Series(["、".join(labels[row]) for row in failed], index=ctx.households.index)
    return ctx.emit("exit.unsolved_guarantees", ctx.households, bad, field,
                    lambda sub: "脱贫户未解决两不愁三保障：" + texts[sub.index])


def _names_deep(pack: Any, node: ir.Node | None, _seen: frozenset = frozenset()) -> set[str]:
    """Field names a condition uses, looking through derived fields."""
    if node is None:
        return set()
    out = set(ir.names(node))
    for name in list(out):
        if name in pack.derived_ir and name not in _seen:
            for part in pack.derived_ir[name].values():
                out |= _names_deep(pack, part, _seen | {name})
    return out
