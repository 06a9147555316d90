"""Annual re-assessment (动态调整): last year's register + this year's roster → this year's register.

Every household gets one 动态调整类型 (``transition``):

=========  ===============================================================================
新识别      not registered poor last year (new, split off (分户), 非贫困户, 清退 or 待核实), poor this year
继续帮扶    registered poor last year (贫困户 or 返贫), does not meet the exit rule this year
脱贫        registered poor last year, meets every household exit condition this year
返贫        exited (已脱贫) before — in last year's register or recorded so in this year's roster — identified as poor again
清退        registered poor last year, an exclusion (一票否决) fires this year: 识别不准
自然减少    in the registry (贫困户 / 返贫 / 已脱贫) last year, absent from this year's roster
非贫困户    everything else (including exited households that stay out of poverty)
=========  ===============================================================================

The new register keeps the history: 首次识别年度, 脱贫年度, 返贫年度 and the 历年状态 column
(:mod:`fupin_cli.core.history`), so ``reassess`` can be chained year after year.  The decisions
for the current year come from the rule pack (:func:`fupin_cli.core.exit.decide_year`); this
module only combines them with last year's status, vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from fupin_cli.core.history import (
    EVER_REGISTERED,
    MATCH_ID,
    MATCH_NEW,
    MATCH_SPLIT,
    REGISTERED_POOR,
    Match,
    append_history,
    history_last_year,
    history_wide,
    initial_history,
    integer,
    match_households,
    registry_status,
    text,
)
from fupin_cli.core.summary import UNKNOWN_AREA, household_people
from fupin_cli.errors import UsageError
from fupin_cli.schema import (
    EXIT_DONE,
    REGISTRY_EXITED,
    REGISTRY_GONE,
    REGISTRY_NONE,
    REGISTRY_POOR,
    REGISTRY_REMOVED,
    REGISTRY_RETURNED,
    STATUS_POOR,
    TRANSITIONS,
)

if TYPE_CHECKING:
    from fupin_cli.engine.loader import Pack
    from fupin_cli.roster import Roster

NEW, CONTINUE, EXITED, RETURNED, REMOVED, GONE, NOT_POOR = TRANSITIONS

GONE_REASON = "本年花名册中无此户（户编号、户主及成员证件号码均未匹配）"
EXIT_REASON = "达到脱贫标准"
YEAR_COLUMNS = ("first_identified_year", "exit_year", "return_year")
CARRIED_COLUMNS = ("attribute", "primary_cause", "secondary_causes", "measures")


@dataclass
class YearDecisions:
    """This year's rule-pack decisions for each household of the current roster (same index).

    ``identification``: decision columns from the identification rules (``status`` and the
    others of ``schema.DECISION_FIELDS``: basis, not_identified_reason, attribute, causes...).
    ``excluded``: True where an exclusion (一票否决) fires. ``exit``: ``exit_result`` (脱贫 /
    未脱贫 / missing when unknown) and ``exit_unmet`` (未达标原因 with values).
    """

    identification: pd.DataFrame
    excluded: pd.Series
    exit: pd.DataFrame


@dataclass
class Reassessment:
    year: int
    previous_year: int
    households: pd.DataFrame  # the new register (canonical names), gone households last
    members: pd.DataFrame
    matches: pd.DataFrame  # households not matched by 户编号 alone: head / member / split / new / dropped
    match_counts: dict[str, int]
    notes: list[str] = field(default_factory=list)

    def counts(self) -> pd.DataFrame:
        """Households and people by 动态调整类型 (every type listed, in order)."""
        return transition_counts(self.households)

    def by_village(self) -> pd.DataFrame:
        return transitions_by_village(self.households)

    def listing(self, transition: str) -> pd.DataFrame:
        return self.households[(self.households["transition"] == transition).to_numpy()]

    def history(self) -> pd.DataFrame:
        return history_table(self.households)

    def summary(self) -> dict[str, Any]:
        counts = self.counts()
        return {
            "year": self.year,
            "previous_year": self.previous_year,
            "households": len(self.households),
            "transitions": {r.transition: {"households": int(r.households), "people": int(r.people)}
                            for r in counts.itertuples()},
            "registry_status": {k: int(v) for k, v in
                                self.households["registry_status"].value_counts().sort_index().items()},
            "matching": self.match_counts,
            "notes": list(self.notes),
        }


# ---- checks ------------------------------------------------------------------------------
def is_register(households: pd.DataFrame) -> bool:
    """A register has a decision column: 识别结果 (identify) or 建档立卡状态 (reassess)."""
    return any(c in households.columns and households[c].notna().any() for c in ("status", "registry_status"))


def register_year(households: pd.DataFrame) -> int | None:
    """The year a register is for: the last year of its 历年状态, else its 识别年度."""
    years = [y for y in (history_last_year(text(households, "status_history")),
                         integer(households, "assessment_year").max()) if y is not None and not pd.isna(y)]
    return int(max(years)) if years else None


def check_years(previous: pd.DataFrame, current: pd.DataFrame, year: int, previous_name: str = "PREVIOUS") -> int:
    """The previous register's year, after checking the order of the years; UsageError if wrong."""
    registered = is_register(previous)
    roster_years = [int(y) for y in integer(current, "year").dropna().unique()]
    return check_year_order(registered, register_year(previous) if registered else None, roster_years, year, previous_name)


def check_year_order(registered: bool, prev_year: int | None, roster_years: list[int], year: int,
                     previous_name: str = "PREVIOUS") -> int:
    """``check_years`` on what it reads of the two tables (also used by ``core.reassess_sql``): whether PREVIOUS
    is a register, its year, and the distinct 年度 values of CURRENT."""
    if not registered:
        raise UsageError(
            f"{previous_name} is not a register: it has no 识别结果 (status) or 建档立卡状态 (registry_status) column",
            "pass last year's register written by `fupin identify` or `fupin reassess`, not a roster",
        )
    if prev_year is None:
        raise UsageError(f"{previous_name}: no 识别年度 or 历年状态, so its year is unknown",
                         "use a register written by `fupin identify --year` or `fupin reassess`")
    if year == prev_year:
        raise UsageError(f"CURRENT year {year} is the same as the year of {previous_name} ({prev_year})",
                         "reassess compares two different years: pass --year of the CURRENT roster (e.g. "
                         f"{prev_year + 1})")
    if year < prev_year:
        raise UsageError(f"years out of order: --year {year} is before the year of {previous_name} ({prev_year})",
                         "PREVIOUS must be the earlier year's register and CURRENT the later year's roster")
    if roster_years and any(y != year for y in roster_years):
        other = min(y for y in roster_years if y != year)
        same = " (the year of PREVIOUS)" if other == prev_year else ""
        raise UsageError(f"CURRENT roster's 年度 column says {other}{same}, but --year is {year}",
                         "check that CURRENT is this year's roster and --year is right")
    return prev_year


# ---- classification ----------------------------------------------------------------------
RECORD_CONFLICT = "本年花名册记为已脱贫，但上年登记册为{prev}：记录不一致，请核实"


def recorded_exited(current: pd.DataFrame) -> np.ndarray:
    """Households that this year's roster itself records as 已脱贫 (脱贫状态 / 户类型 / 贫困户属性)."""
    return cast(np.ndarray, (registry_status(current).astype(object) == REGISTRY_EXITED).to_numpy())


def record_conflicts(previous_registry: pd.Series, recorded: np.ndarray) -> np.ndarray:
    """The roster records 已脱贫 but last year's register did not (and the household was not registered poor)."""
    prev = previous_registry.astype(object)
    return cast(np.ndarray, recorded & ~(prev == REGISTRY_EXITED).to_numpy() & ~prev.isin(REGISTERED_POOR).to_numpy())


def classify(previous_registry: pd.Series, decisions: YearDecisions, recorded: np.ndarray | None = None) -> pd.DataFrame:
    """动态调整类型, new 建档立卡状态 and the reason, for each current household (vectorised).

    ``previous_registry``: last year's 建档立卡状态 of each current household (None when new).
    ``recorded``: households this year's roster records as 已脱贫 (:func:`recorded_exited`). The
    record is trusted: such a household that is poor again is 返贫 even when last year's register
    did not have it as exited; the disagreement is named in the reason (:data:`RECORD_CONFLICT`).
    """
    ident = decisions.identification
    prev = previous_registry.astype(object)
    registered = prev.isin(REGISTERED_POOR).to_numpy()
    conflict = record_conflicts(prev, recorded) if recorded is not None else np.zeros(len(prev), bool)
    exited_before = (prev == REGISTRY_EXITED).to_numpy() | conflict
    excluded = decisions.excluded.fillna(False).astype(bool).to_numpy()
    exit_ok = (decisions.exit["exit_result"].astype(object) == EXIT_DONE).to_numpy()
    poor_now = (ident["status"].astype(object) == STATUS_POOR).to_numpy()

    conditions = [registered & excluded, registered & exit_ok, registered, exited_before & poor_now, poor_now]
    transition = np.select(conditions, [REMOVED, EXITED, CONTINUE, RETURNED, NEW], default=NOT_POOR).astype(object)
    registry = np.select(
        conditions,
        [REGISTRY_REMOVED, REGISTRY_EXITED, prev.to_numpy(dtype=object), REGISTRY_RETURNED, REGISTRY_POOR],
        default=np.where(exited_before, REGISTRY_EXITED, REGISTRY_NONE),
    ).astype(object)
    not_identified = text(ident, "not_identified_reason").to_numpy(dtype=object)
    basis = text(ident, "basis").to_numpy(dtype=object)
    reason = np.select(
        conditions,
        [not_identified, np.full(len(prev), EXIT_REASON, dtype=object),
         text(decisions.exit, "exit_unmet").to_numpy(dtype=object), basis, basis],
        default=not_identified,
    ).astype(object)
    if conflict.any():
        note = np.array([RECORD_CONFLICT.format(prev=p if isinstance(p, str) and p else "无记录") for p in prev.to_numpy(dtype=object)], dtype=object)
        reason = np.where(conflict, np.array([f"{r}；{n}" if isinstance(r, str) and r else n for r, n in zip(reason, note)], dtype=object), reason)
    return pd.DataFrame({"transition": transition, "registry_status": registry, "transition_reason": reason},
                        index=previous_registry.index)


def _aligned(values: pd.Series, prev_pos: np.ndarray, index: pd.Index) -> pd.Series:
    """Previous-register values placed on the current rows (None where a row has no previous)."""
    arr = values.to_numpy(dtype=object)
    out = np.full(len(prev_pos), None, dtype=object)
    has = prev_pos >= 0
    out[has] = arr[prev_pos[has]]
    return pd.Series(out, index=index, dtype=object)


def _years(values: pd.Series) -> pd.Series:
    return pd.to_numeric(values, errors="coerce").astype("Int64")


def reassess(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    decisions: YearDecisions,
    year: int,
    *,
    previous_members: pd.DataFrame | None = None,
    current_members: pd.DataFrame | None = None,
    previous_name: str = "PREVIOUS",
) -> Reassessment:
    """Combine last year's register with this year's roster and decisions (see module doc)."""
    prev_year = check_years(previous, current, year, previous_name)
    notes = []
    if year > prev_year + 1:
        notes.append(f"{previous_name} is for {prev_year}, {year - prev_year - 1} year(s) before {year} have no "
                     "assessment: the history skips them")
    match = match_households(previous, current, previous_members, current_members)
    prev_pos = np.full(len(current), -1, dtype=np.int64)
    prev_pos[match.pairs["cur"].to_numpy()] = match.pairs["prev"].to_numpy()
    method = np.full(len(current), MATCH_NEW, dtype=object)
    method[match.pairs["cur"].to_numpy()] = match.pairs["method"].to_numpy(dtype=object)
    # the part that split off (分户) is a new household: it is identified on its own, its own history
    # starts this year; the household it came from is reported (上年户编号, 匹配方式 分户)
    reported_pos = prev_pos.copy()
    prev_pos[method == MATCH_SPLIT] = -1
    idx = current.index

    prev_registry = registry_status(previous)
    prev_registry = prev_registry.where(prev_registry.notna(), REGISTRY_NONE)
    prev_history = initial_history(previous, prev_year, prev_registry)
    prev_first = integer(previous, "first_identified_year")
    prev_first = prev_first.where(prev_first.notna() | ~prev_registry.isin(EVER_REGISTERED).to_numpy(), prev_year)

    was = _aligned(prev_registry, prev_pos, idx)
    out = current.copy(deep=False)  # copy-on-write: new columns never touch the caller's frame
    for col in decisions.identification.columns:
        out[col] = decisions.identification[col]
    recorded = recorded_exited(current)
    cls = classify(was, decisions, recorded)
    conflicts = record_conflicts(was, recorded)
    if conflicts.any():
        ids = text(current, "household_id").to_numpy(dtype=object)[conflicts]
        shown = "、".join(str(i) for i in ids[:10]) + ("…" if len(ids) > 10 else "")
        notes.append(f"{int(conflicts.sum())} household(s) recorded as 已脱贫 in this year's roster but not in "
                     f"{previous_name} (trusted as exited: 返贫 if poor again): {shown}")
    registered = was.isin(REGISTERED_POOR).to_numpy()
    for col in ("exit_result", "exit_unmet"):
        out[col] = text(decisions.exit, col).where(registered, None)
    out["previous_registry_status"] = was
    out["registry_status"] = cls["registry_status"]
    out["transition"] = cls["transition"]
    out["transition_reason"] = cls["transition_reason"]

    out["match_method"] = method
    out["previous_household_id"] = _aligned(text(previous, "household_id"), reported_pos, idx)

    # a household still registered keeps last year's 属性 / 致贫原因 / 措施 where this year decides none
    still_poor = cls["registry_status"].isin(REGISTERED_POOR).to_numpy()
    for col in CARRIED_COLUMNS:
        if col in previous.columns:
            mine = text(out, col)
            carried = _aligned(text(previous, col), prev_pos, idx)
            out[col] = mine.where(mine.notna() | ~still_poor, carried).astype(object)

    transition = cls["transition"].to_numpy()
    first = _years(_aligned(prev_first, prev_pos, idx))
    out["first_identified_year"] = first.where(first.notna() | ~np.isin(transition, [NEW, RETURNED]), year)
    exit_year = _years(_aligned(integer(previous, "exit_year"), prev_pos, idx))
    out["exit_year"] = exit_year.where(transition != EXITED, year)
    return_year = _years(_aligned(integer(previous, "return_year"), prev_pos, idx))
    out["return_year"] = return_year.where(transition != RETURNED, year)
    out["status_history"] = append_history(_aligned(prev_history, prev_pos, idx), year, cls["registry_status"])

    gone = _gone_households(previous, match, prev_registry, prev_history, prev_first, year, out.columns)
    households = pd.concat([out, gone], ignore_index=True) if len(gone) else out.reset_index(drop=True)
    for col in [c for c in households.columns if str(c).startswith("测算：")]:  # estimates read back from a CSV register are text
        households[col] = pd.to_numeric(households[col].replace("", None), errors="coerce").astype("Float64")
    for col in YEAR_COLUMNS:
        households[col] = _years(households[col])
    return Reassessment(
        year=year,
        previous_year=prev_year,
        households=households,
        members=current_members if current_members is not None else pd.DataFrame(),
        matches=_match_report(previous, current, match, prev_registry),
        match_counts=match.counts(),
        notes=notes,
    )


def _gone_households(previous: Any, match: Match, prev_registry: Any, prev_history: Any, prev_first: Any, year: int,
                     columns: Any) -> pd.DataFrame:
    """Registered households absent this year: last year's row, marked 自然减少."""
    pos = match.unmatched_previous
    pos = pos[prev_registry.iloc[pos].isin(EVER_REGISTERED).to_numpy()]
    if not len(pos):
        return pd.DataFrame(columns=columns)
    keep = [c for c in previous.columns if c in columns]
    gone = previous.iloc[pos][keep].copy()
    for col in ("status", "exit_result", "exit_unmet", "match_method", "previous_household_id"):
        gone[col] = None
    gone["previous_registry_status"] = prev_registry.iloc[pos].to_numpy()
    gone["registry_status"] = REGISTRY_GONE
    gone["transition"] = GONE
    gone["transition_reason"] = GONE_REASON
    gone["previous_household_id"] = text(gone, "household_id").to_numpy()
    gone["first_identified_year"] = _years(prev_first.iloc[pos]).to_numpy()
    for col in ("exit_year", "return_year"):
        gone[col] = integer(previous, col).iloc[pos].to_numpy()
    gone["status_history"] = append_history(prev_history.iloc[pos], year,
                                            pd.Series(REGISTRY_GONE, index=gone.index)).to_numpy()
    return gone.reindex(columns=columns)


def _match_report(previous: Any, current: Roster, match: Match, prev_registry: Any) -> pd.DataFrame:
    """Households that did not match plainly by 户编号: changed number, split, new, dropped."""
    pairs = match.pairs[match.pairs["method"] != MATCH_ID]
    cols = ["township", "village", "household_id", "head_name", "previous_household_id", "match_method",
            "shared_members", "previous_registry_status"]

    def rows(frame: pd.DataFrame, pos: Any) -> dict[str, Any]:
        part = frame.iloc[pos]
        return {c: text(part, c).to_numpy(dtype=object) for c in ("township", "village", "household_id", "head_name")}

    matched = pd.DataFrame({**rows(current, pairs["cur"].to_numpy()),
                            "previous_household_id": text(previous.iloc[pairs["prev"].to_numpy()], "household_id").to_numpy(dtype=object),
                            "match_method": pairs["method"].to_numpy(dtype=object),
                            "shared_members": pairs["shared"].to_numpy(),
                            "previous_registry_status": prev_registry.iloc[pairs["prev"].to_numpy()].to_numpy(dtype=object)})
    new = pd.DataFrame({**rows(current, match.unmatched_current), "previous_household_id": None,
                        "match_method": MATCH_NEW, "shared_members": 0, "previous_registry_status": None})
    prev_rows = rows(previous, match.unmatched_previous)
    gone_status = prev_registry.iloc[match.unmatched_previous].to_numpy(dtype=object)
    dropped = pd.DataFrame({**prev_rows, "household_id": None, "previous_household_id": prev_rows["household_id"],
                            "match_method": np.where(np.isin(gone_status, EVER_REGISTERED), REGISTRY_GONE, "未匹配（上年非建档立卡户，不再列入）"),
                            "shared_members": 0, "previous_registry_status": gone_status})
    frames = [f for f in (matched, new, dropped) if len(f)]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in cols})
    report = pd.concat(frames, ignore_index=True)[cols]
    report["shared_members"] = report["shared_members"].astype("int64")
    return report


# ---- reports -----------------------------------------------------------------------------
def transition_counts(households: pd.DataFrame) -> pd.DataFrame:
    t = households["transition"].astype(object)
    people = household_people(households).astype("int64")
    frame = pd.DataFrame({"transition": t.to_numpy(), "people": people.to_numpy()})
    g = frame.groupby("transition").agg(households=("people", "size"), people=("people", "sum"))
    g = g.reindex(list(TRANSITIONS), fill_value=0).reset_index()
    return g.astype({"households": "int64", "people": "int64"})


def transitions_by_village(households: pd.DataFrame) -> pd.DataFrame:
    """Households by township, village and 动态调整类型 (one column per type), with a total row."""
    area = {c: text(households, c).fillna(UNKNOWN_AREA) for c in ("township", "village")}
    frame = pd.DataFrame({**area, "transition": households["transition"].astype(object)})
    table = pd.crosstab([frame["township"], frame["village"]], frame["transition"])
    table = table.reindex(columns=list(TRANSITIONS), fill_value=0)
    table["合计"] = table.sum(axis=1)
    table = table.reset_index()
    total = pd.DataFrame([{"township": "合计", "village": "", **table[list(TRANSITIONS) + ["合计"]].sum().to_dict()}])
    out = pd.concat([table, total], ignore_index=True)
    out.columns.name = None
    return out.astype({c: "int64" for c in list(TRANSITIONS) + ["合计"]})


def history_table(households: pd.DataFrame) -> pd.DataFrame:
    """历年状态: key columns and one column per year (year as text, e.g. '2015')."""
    wide = history_wide(text(households, "status_history"))
    wide.columns = [str(c) for c in wide.columns]
    keys = pd.DataFrame({c: text(households, c) for c in ("township", "village", "household_id", "head_name")},
                        index=households.index)
    return pd.concat([keys, wide], axis=1).reset_index(drop=True)


# ---- the pipeline behind `fupin reassess` -------------------------------------------------
@dataclass
class RegisterView:
    """What the register writer needs (same attributes as ``IdentifyResult``)."""

    households: pd.DataFrame
    members: pd.DataFrame
    summary: pd.DataFrame
    causes: object
    quota: None
    coverage: dict[str, Any]
    provenance: dict[str, Any]


def run_reassess(previous: Any, current: Roster, pack: Pack, year: int, region: str | None = None, *, allow_errors: bool = False,
                 previous_name: str = "PREVIOUS", version: str = "", run_time: str = "",
                 options: dict[str, Any] | None = None, progress: Any = None, policy: Any = None) -> tuple[Reassessment, RegisterView]:
    """PREVIOUS register (``.households`` / ``.members``) + CURRENT Roster → reassessment and new register.

    The current year is identified exactly as ``fupin identify`` does (validation, rules, 待核实),
    then the pack's household exit rules are applied to last year's registered poor households.
    """
    from fupin_cli.core.causes import causes_report
    from fupin_cli.core.identify import DECISION_COLUMNS, identify
    from fupin_cli.core.summary import area_summary, coverage
    from fupin_cli.engine.decide import household_exit

    check_years(previous.households, current.households, year, previous_name)  # before any heavy work
    ident = identify(current, pack, year, region, allow_errors=allow_errors, version=version, run_time=run_time,
                     options=options, progress=progress, policy=policy)
    exits = household_exit(ident.evaluation).reindex(ident.households.index)
    decided = [c for c in (*DECISION_COLUMNS, "member_count", "assessment_year", "pack") if c in ident.households.columns]
    decisions = YearDecisions(identification=ident.households[decided], excluded=ident.excluded, exit=exits)
    result = reassess(previous.households, ident.households, decisions, year,
                      previous_members=previous.members, current_members=current.members, previous_name=previous_name)
    result.members = ident.members
    prov = dict(ident.provenance)
    prov["command"] = "reassess"
    from fupin_cli.core.identify import COMMAND_KINDS, not_evaluated_used

    prov["not_evaluated"] = not_evaluated_used(ident.evaluation, COMMAND_KINDS["reassess"])
    prov["notes"] = [*prov.get("notes", []), *result.notes]
    live = result.households[(result.households["registry_status"] != REGISTRY_GONE).to_numpy()]
    as_poor = live.assign(status=np.where(live["registry_status"].isin(REGISTERED_POOR).to_numpy(), STATUS_POOR,
                                          live["status"].astype(object).to_numpy()))
    view = RegisterView(households=result.households, members=ident.members, summary=area_summary(as_poor),
                        causes=causes_report(as_poor), quota=None, coverage=coverage(as_poor), provenance=prov)
    return result, view
