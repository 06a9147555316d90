"""Data-quality checks (疑点): ``validate(roster, year) -> Findings``.

Every check family is a small module with a ``CHECK_FUNCTIONS`` list; each function takes a
:class:`~fupin_cli.checks.context.CheckContext` and returns findings frames (built with
``ctx.emit``), vectorised over all households or members at once.  A check whose columns
are absent returns nothing; missing *required* columns are reported once
(``required.column``).  The reader's notes (``roster.notes``) are included.

Extra checks (e.g. ``check`` rules of a rule pack) are plain functions of the same shape::

    def my_check(ctx):
        hh = ctx.households
        return ctx.emit("pack.big_family", hh, hh["household_size"] > 12, "household_size",
                        "家庭人口数超过 12", severity="warning", hint="核对家庭人口数")

    findings = validate(roster, 2015, extra_checks=[my_check])
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import pandas as pd

from fupin_cli.checks import assistance, causes, exited, household, ids, income, members, required
from fupin_cli.checks.catalog import CHECKS, CheckInfo, label_of
from fupin_cli.checks.context import CheckContext
from fupin_cli.checks.pack import pack_checks
from fupin_cli.checks.year import YearChoice, choose_year
from fupin_cli.findings import SEVERITIES, concat_findings, count_by_severity
from fupin_cli.roster import Roster

CheckFunction = Callable[[CheckContext], "pd.DataFrame | Iterable[pd.DataFrame] | None"]

FAMILIES = (required, ids, household, members, income, assistance, causes, exited)
BUILTIN_CHECKS: tuple[CheckFunction, ...] = tuple(fn for family in FAMILIES for fn in family.CHECK_FUNCTIONS)

__all__ = [
    "BUILTIN_CHECKS",
    "CHECKS",
    "CheckContext",
    "CheckInfo",
    "YearChoice",
    "check_labels_of",
    "choose_year",
    "exit_code",
    "label_of",
    "pack_checks",
    "report",
    "summarise",
    "validate",
]


def _frames(result: Any) -> list[pd.DataFrame]:
    if result is None:
        return []
    if isinstance(result, pd.DataFrame):
        return [result]
    return [f for f in result if f is not None]


def validate(
    roster: Roster,
    year: int | None = None,
    extra_checks: Sequence[CheckFunction] = (),
    *,
    ref_date: dt.date | None = None,
) -> pd.DataFrame:
    """All findings for ``roster`` (a Findings frame, sorted by file, sheet, row).

    ``year``: ages are taken on 31 December of it (default: :func:`choose_year` — the roster's
    年度, else the year in its title rows, else the current year).
    ``ref_date``: birth dates after it are invalid (default: today).
    ``extra_checks``: more check functions, run after the built-in ones (e.g. :func:`pack_checks`).
    """
    today = dt.date.today()
    ctx = CheckContext(roster, choose_year(roster, year, today).year, ref_date or today)
    packs = [getattr(fn, "pack") for fn in extra_checks if getattr(fn, "pack", None) is not None]  # noqa: B009 (an attribute pack_checks sets)
    if packs:  # the pack is the source of truth: its thresholds replace the built-in fallbacks
        ctx.params = pack_thresholds(packs[0], ctx.year, getattr(extra_checks[0], "region", None))
    builtins = [fn for fn in BUILTIN_CHECKS if not (packs and getattr(fn, "pack_replaces", False))]
    frames: list[pd.DataFrame] = [roster.notes]
    for check in (*builtins, *extra_checks):
        frames += _frames(check(ctx))
    return concat_findings(frames)


THRESHOLD_PARAMS = ("compulsory_age_min", "compulsory_age_max", "working_age_min", "working_age_max",
                    "check_income_pc_max", "check_wage_income_min", "check_dibao_benefit_min", "check_pension_min",
                    "check_family_planning_min")


def pack_thresholds(pack: Any, year: int, region: str | None = None) -> dict[str, Any]:
    """The pack's values of the thresholds the built-in checks use (those it defines)."""
    from fupin_cli.engine.params import resolve

    return {n: resolve(pack, n, year, region).value for n in THRESHOLD_PARAMS if n in pack.parameters}


def exit_code(findings: pd.DataFrame) -> int:
    """1 when there is any error-level finding, else 0."""
    return int((findings["severity"] == "error").any())


def check_labels_of(extra_checks: Sequence[CheckFunction]) -> dict[str, str]:
    """Labels that extra checks carry (``fn.labels``, e.g. a pack's check rules)."""
    out: dict[str, str] = {}
    for fn in extra_checks:
        out.update(getattr(fn, "labels", {}) or {})
    return out


def summarise(findings: pd.DataFrame, labels: dict[str, str] | None = None) -> dict[str, Any]:
    """Counts by severity and by check (most serious first, then most frequent).

    ``labels``: labels of checks outside the built-in catalog (e.g. a pack's check rules)."""
    counts = count_by_severity(findings)
    order = {s: i for i, s in enumerate(SEVERITIES)}
    by_check = []
    if len(findings):
        g = findings.groupby(["check", "severity"], sort=False)
        table = pd.DataFrame({
            "count": g.size(),
            "households": g["household_id"].agg(lambda s: s[s != ""].nunique()),
        }).reset_index()
        table["_o"] = table["severity"].map(order).fillna(9)
        table = table.sort_values(["_o", "count", "check"], ascending=[True, False, True], kind="stable")
        by_check = [
            {"check": r.check, "label": label_of(r.check, labels), "severity": r.severity,
             "count": int(r.count), "households": int(r.households)}
            for r in table.itertuples(index=False)
        ]
    with_errors = findings.loc[(findings["severity"] == "error") & (findings["household_id"] != ""), "household_id"]
    return {
        "total": len(findings),
        **{s: counts[s] for s in SEVERITIES},
        "households_with_errors": int(with_errors.nunique()),
        "by_check": by_check,
    }


def findings_records(findings: pd.DataFrame) -> list[dict[str, Any]]:
    """JSON-ready records (``row`` as int or None)."""
    records = findings.astype(object).where(findings.notna(), None).to_dict("records")
    for r in records:
        if r["row"] is not None:
            r["row"] = int(r["row"])
    return records


def roster_info(roster: Roster) -> dict[str, Any]:
    return {
        "households": roster.n_households,
        "members": roster.n_members,
        "sources": [
            {"name": s.name, "format": s.format, "sheets": list(s.sheets), "layout": s.layout, "sha256": s.sha256,
             **({"skipped_sheets": dict(s.skipped_sheets)} if getattr(s, "skipped_sheets", None) else {}),
             **({"column_map": s.column_map} if getattr(s, "column_map", "") else {})}
            for s in roster.sources
        ],
        "passthrough": list(roster.passthrough),
    }


def report(roster: Roster, findings: pd.DataFrame, year: int | YearChoice | None = None, *,
           labels: dict[str, str] | None = None, pack: str | None = None) -> dict[str, Any]:
    """The ``fupin validate --json`` payload: ``{"summary", "findings", "roster"}``.

    ``summary.year`` is the year used, ``summary.year_source`` (option | roster | title |
    current) and ``summary.year_reason`` say why; ``summary.pack`` names the rule pack whose
    check rules ran (None when none did).
    """
    choice = year if isinstance(year, YearChoice) else choose_year(roster, year)
    summary = summarise(findings, labels)
    summary["year"] = choice.year
    summary["year_source"] = choice.source
    summary["year_reason"] = choice.reason
    summary["pack"] = pack
    summary["exit_code"] = exit_code(findings)
    return {"summary": summary, "findings": findings_records(findings), "roster": roster_info(roster)}
