"""History of the annual cycle: registry status, 历年状态, and matching one year to the next.

A register carries, besides the year's decision columns:

* ``registry_status`` (建档立卡状态): 贫困户 / 已脱贫 / 返贫 / 清退 / 自然减少 / 非贫困户 at the end
  of the register's year.  A register written by ``identify`` has none; it is derived from the
  recorded 脱贫状态, 户类型 or the identification result (:func:`registry_status`).
* ``status_history`` (历年状态): one ``YEAR:状态`` entry per year, joined with ``|``, e.g.
  ``2015:贫困户|2016:贫困户|2017:已脱贫``.  It lives on the household row so that CSV and
  Parquet registers (one sheet only) keep it too; the xlsx writer also spreads it over a
  历年状态 sheet with one column per year (:func:`history_wide`).
* ``first_identified_year`` (首次识别年度), ``exit_year`` (脱贫年度), ``return_year`` (返贫年度).

Matching (:func:`match_households`) links this year's households to last year's: by 户编号,
then by the head's ID number (the 户编号 changed), then by any member's ID number (a household
that split off, or whose number and head both changed).  Everything is vectorised merges.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.errors import DataError, InputError
from fupin_cli.idnumber import check_series
from fupin_cli.schema import (
    REGISTRY_EXITED,
    REGISTRY_NONE,
    REGISTRY_POOR,
    REGISTRY_RETURNED,
    STATUS_NOT_POOR,
    STATUS_PENDING,
    STATUS_POOR,
    canonical_value,
)

HISTORY_SEP, YEAR_SEP = "|", ":"
REGISTERED_POOR = (REGISTRY_POOR, REGISTRY_RETURNED)  # in the registry and not (yet) out of poverty
EVER_REGISTERED = (REGISTRY_POOR, REGISTRY_RETURNED, REGISTRY_EXITED)

MATCH_ID, MATCH_HEAD, MATCH_MEMBER, MATCH_SPLIT, MATCH_NEW = "户编号", "户主证件号码", "成员证件号码", "分户", "新增"
MATCH_METHODS = (MATCH_ID, MATCH_HEAD, MATCH_MEMBER, MATCH_SPLIT, MATCH_NEW)

_ATTRIBUTE_REGISTRY = {
    "一般贫困户": REGISTRY_POOR, "低保贫困户": REGISTRY_POOR, "特困供养贫困户": REGISTRY_POOR,
    "低保特困供养贫困户": REGISTRY_POOR, "一般脱贫户": REGISTRY_EXITED, "低保脱贫户": REGISTRY_EXITED,
    "特困供养脱贫户": REGISTRY_EXITED, "一般农户": REGISTRY_NONE,
}
_STATUS_REGISTRY = {STATUS_POOR: REGISTRY_POOR, STATUS_PENDING: REGISTRY_NONE, STATUS_NOT_POOR: REGISTRY_NONE}


# ---- small helpers -----------------------------------------------------------------------
def text(df: pd.DataFrame, col: str) -> pd.Series:
    """A column as stripped text (object dtype, None for missing/blank); all None when absent."""
    if col not in df.columns:
        return pd.Series(None, index=df.index, dtype=object)
    s = df[col].astype("string").str.strip()
    return s.where(s.notna() & (s != ""), None).astype(object)


def integer(df: pd.DataFrame, col: str) -> pd.Series:
    if col not in df.columns:
        return pd.Series(pd.NA, index=df.index, dtype="Int64")
    return pd.to_numeric(df[col], errors="coerce").round().astype("Int64")


def normalise_ids(s: pd.Series) -> pd.Series:
    """ID numbers for matching: cleaned, 15 digits upgraded to 18 (so last year's old number
    still matches); blank or an Excel-mangled number (``5.00101E+17``) → None."""
    checked = check_series(s)
    usable = checked["normalised"].notna() & (checked["problem"] != "excel_number")
    return checked["normalised"].astype(object).where(usable.to_numpy(), None)


def _canonical(s: pd.Series, table: str) -> pd.Series:
    values = s.dropna().unique()
    mapping = {v: canonical_value(table, v) for v in values}
    return s.map(mapping).astype(object)


# ---- registry status ---------------------------------------------------------------------
def registry_status(households: pd.DataFrame) -> pd.Series:
    """建档立卡状态 of each household, from the best column available (None when unknown).

    1. ``registry_status`` (建档立卡状态, written by reassess) wins.
    2. A register written by ``identify`` has the year's decision ``status`` (识别结果): 贫困户 is
       贫困户; otherwise a recorded 已脱贫 (脱贫状态 / 户类型) is kept, and the rest is 非贫困户 —
       the decision overrides a recorded 未脱贫.
    3. Without a decision: the recorded ``exit_status`` (脱贫状态: 未脱贫 / 已脱贫 / 返贫 or the codes
       0/1/3/4), then ``household_type`` (户类型: 脱贫户), then the recorded 贫困户属性
       (一般贫困户 → 贫困户, 一般脱贫户 → 已脱贫, 一般农户 → 非贫困户).
    """
    out = text(households, "registry_status").map(lambda v: canonical_value("registry_status", v) or v) \
        if "registry_status" in households.columns else pd.Series(None, index=households.index, dtype=object)
    recorded = pd.Series(None, index=households.index, dtype=object)
    for col in ("exit_status", "household_type"):
        if col in households.columns:
            recorded = recorded.where(recorded.notna(), _canonical(text(households, col), "registry_status"))
    if "recorded_attribute" in households.columns:
        recorded = recorded.where(recorded.notna(), text(households, "recorded_attribute").map(_ATTRIBUTE_REGISTRY))
    if "status" in households.columns:
        decision = text(households, "status").map(_STATUS_REGISTRY)
        poor = (decision == REGISTRY_POOR).to_numpy()
        exited = (recorded == REGISTRY_EXITED).to_numpy()
        derived = pd.Series(np.where(poor, REGISTRY_POOR, np.where(exited, REGISTRY_EXITED, decision.to_numpy(dtype=object))),
                            index=households.index, dtype=object)
    else:
        derived = recorded
    return out.where(out.notna(), derived).astype(object)


# ---- 历年状态 -------------------------------------------------------------------------------
def history_entry(year: int, status: pd.Series) -> pd.Series:
    return (f"{year}{YEAR_SEP}" + status.fillna(REGISTRY_NONE).astype(str)).astype(object)


def append_history(history: pd.Series, year: int, status: pd.Series) -> pd.Series:
    """Add ``YEAR:状态`` to each household's history (vectorised)."""
    piece = history_entry(year, status)
    h = history.astype("string")
    has = (h.notna() & (h != "")).to_numpy()
    out = np.where(has, h.fillna("").astype(str).to_numpy(dtype=object) + HISTORY_SEP + piece.to_numpy(dtype=object),
                   piece.to_numpy(dtype=object))
    return pd.Series(out, index=history.index, dtype=object)


def initial_history(households: pd.DataFrame, year: int | None, status: pd.Series | None = None) -> pd.Series:
    """The history carried by a register; for an ``identify`` register, its one year.

    ``status``: the households' registry status when the caller has it already."""
    own = text(households, "status_history")
    first_year = integer(households, "assessment_year")
    if year is not None:
        first_year = first_year.fillna(year)
    status = registry_status(households) if status is None else status
    built = (first_year.astype("string") + YEAR_SEP + status.fillna(REGISTRY_NONE).astype("string")).astype(object)
    return own.where(own.notna(), built.where(first_year.notna().to_numpy(), None))


def history_last_year(history: pd.Series) -> int | None:
    """The latest year in a history column (looks at each household's last entry only)."""
    last = history.dropna().astype("string").str.rsplit(HISTORY_SEP, n=1).str[-1].str.extract(r"^\s*(\d{4})")[0]
    years = pd.to_numeric(last, errors="coerce").dropna()
    return int(years.max()) if len(years) else None


def history_wide(history: pd.Series) -> pd.DataFrame:
    """History column → one column per year (``int`` names, sorted), index of ``history``.

    A malformed entry raises :class:`InputError` naming the entry (no personal data in it).
    """
    pos = pd.Series(history.to_numpy(dtype=object), index=np.arange(len(history)))
    pieces = pos.dropna().astype("string").str.split(HISTORY_SEP).explode()
    pieces = pieces[pieces.notna() & (pieces.str.strip() != "")]
    parts = pieces.str.extract(r"^\s*(\d{4})\s*" + YEAR_SEP + r"\s*(.*?)\s*$")
    bad = parts[0].isna()
    if bad.any():
        example = str(pieces[bad].iloc[0])[:40]
        raise InputError(
            f"历年状态 (status_history) entry '{example}' is not 'YEAR:状态'",
            "entries look like 2015:贫困户|2016:已脱贫; fix or clear the column",
        )
    long = pd.DataFrame({"row": parts.index.to_numpy(), "year": parts[0].astype(int).to_numpy(), "status": parts[1].astype(object).to_numpy()})
    long = long.drop_duplicates(["row", "year"], keep="last")
    wide = long.pivot(index="row", columns="year", values="status").reindex(np.arange(len(history)))
    wide = wide.reindex(columns=sorted(wide.columns))
    wide.columns = [int(c) for c in wide.columns]
    wide.columns.name = None
    wide.index = history.index
    return wide.astype(object)


# ---- matching ----------------------------------------------------------------------------
def head_ids(households: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.Series:
    """The head's ID number per household: 户主证件号码, else the member whose relation is 户主."""
    ids = normalise_ids(households["head_id_number"]) if "head_id_number" in households.columns else \
        pd.Series(None, index=households.index, dtype=object)
    if members is not None and len(members) and {"household_id", "id_number", "relation"} <= set(members.columns):
        heads = members.loc[(members["relation"].astype(object) == "户主").to_numpy(), ["household_id", "id_number"]]
        heads = heads.assign(id_number=normalise_ids(heads["id_number"])).dropna().drop_duplicates("household_id")
        by_household = pd.Series(heads["id_number"].to_numpy(), index=heads["household_id"].astype(str).to_numpy())
        ids = ids.where(ids.notna(), text(households, "household_id").map(by_household))
    return ids.astype(object)


def masked_head_ids(households: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.Series:
    """The head's ID number masked (first 6 + last 4) for printed lists; None where unknown."""
    from fupin_cli.idnumber import mask_series

    heads = head_ids(households, members)
    return mask_series(heads.astype("string")).astype(object).where(heads.notna(), None)


def duplicate_ids_error(what: str, n: int, example: Any) -> DataError:
    """``n`` 户编号 of ``what`` appear more than once; ``example``: the first such (in row order)."""
    return DataError(
        f"{what}: {n:,} 户编号 appear more than once (e.g. {example})",
        "each household needs one row with a unique 户编号; run `fupin validate` and fix the duplicates",
    )


def _check_unique_ids(households: pd.DataFrame, what: str) -> None:
    ids = text(households, "household_id")
    dup = ids[ids.notna() & ids.duplicated(keep=False)]
    if len(dup):
        raise duplicate_ids_error(what, dup.nunique(), dup.iloc[0])


def _person_ids(households: pd.DataFrame, members: pd.DataFrame | None, heads: pd.Series) -> pd.DataFrame:
    """Every known person ID with the position of its household (members + heads)."""
    pos_of = pd.Series(np.arange(len(households)), index=text(households, "household_id").to_numpy())
    frames = [pd.DataFrame({"pid": heads.to_numpy(dtype=object), "pos": np.arange(len(households))})]
    if members is not None and len(members) and {"household_id", "id_number"} <= set(members.columns):
        frames.append(pd.DataFrame({
            "pid": normalise_ids(members["id_number"]).to_numpy(dtype=object),
            "pos": members["household_id"].astype("string").str.strip().map(pos_of).to_numpy(dtype=object),
        }))
    people = pd.concat(frames, ignore_index=True).dropna()
    people["pos"] = people["pos"].astype("int64")
    return people.drop_duplicates()


@dataclass
class Match:
    """How this year's households link to last year's.

    ``pairs``: one row per matched current household — ``cur`` and ``prev`` (positions in the
    current and previous household frames), ``method`` (户编号 / 户主证件号码 / 成员证件号码 /
    分户) and ``shared`` (members with the same ID number; 0 when matched by 户编号 only).
    ``unmatched_previous`` / ``unmatched_current``: positions matched by nothing.
    """

    pairs: pd.DataFrame
    unmatched_previous: np.ndarray
    unmatched_current: np.ndarray

    def counts(self) -> dict[str, int]:
        c = self.pairs["method"].value_counts()
        out = {m: int(c.get(m, 0)) for m in MATCH_METHODS if m != MATCH_NEW}
        out["unmatched_previous"] = len(self.unmatched_previous)
        out["unmatched_current"] = len(self.unmatched_current)
        return out


def match_households(
    previous: pd.DataFrame,
    current: pd.DataFrame,
    previous_members: pd.DataFrame | None = None,
    current_members: pd.DataFrame | None = None,
) -> Match:
    """Match current households to previous ones: 户编号 → head ID → member ID (split)."""
    _check_unique_ids(previous, "PREVIOUS register")
    _check_unique_ids(current, "CURRENT roster")
    n_prev, n_cur = len(previous), len(current)
    pk = pd.DataFrame({"key": text(previous, "household_id").to_numpy(dtype=object), "prev": np.arange(n_prev)}).dropna()
    ck = pd.DataFrame({"key": text(current, "household_id").to_numpy(dtype=object), "cur": np.arange(n_cur)}).dropna()
    by_id = ck.merge(pk, on="key")[["cur", "prev"]].assign(method=MATCH_ID, shared=0)

    prev_heads, cur_heads = head_ids(previous, previous_members), head_ids(current, current_members)
    prev_free = np.setdiff1d(np.arange(n_prev), by_id["prev"].to_numpy())
    cur_free = np.setdiff1d(np.arange(n_cur), by_id["cur"].to_numpy())
    ph = pd.DataFrame({"pid": prev_heads.to_numpy(dtype=object)[prev_free], "prev": prev_free}).dropna().drop_duplicates("pid")
    chh = pd.DataFrame({"pid": cur_heads.to_numpy(dtype=object)[cur_free], "cur": cur_free}).dropna().drop_duplicates("pid")
    by_head = chh.merge(ph, on="pid")[["cur", "prev"]].assign(method=MATCH_HEAD, shared=1)

    matched = pd.concat([by_id, by_head], ignore_index=True)
    cur_free = np.setdiff1d(cur_free, by_head["cur"].to_numpy())
    by_member = _match_by_members(previous, current, previous_members, current_members, prev_heads, cur_heads,
                                  cur_free, set(matched["prev"].tolist()))
    pairs = pd.concat([matched, by_member], ignore_index=True).sort_values("cur", kind="stable").reset_index(drop=True)
    pairs = pairs.astype({"cur": "int64", "prev": "int64", "shared": "int64"})
    return Match(
        pairs=pairs,
        unmatched_previous=np.setdiff1d(np.arange(n_prev), pairs["prev"].to_numpy()),
        unmatched_current=np.setdiff1d(np.arange(n_cur), pairs["cur"].to_numpy()),
    )


def _match_by_members(previous: pd.DataFrame, current: pd.DataFrame, previous_members: pd.DataFrame | None,
                      current_members: pd.DataFrame | None, prev_heads: Any, cur_heads: Any, cur_free: np.ndarray, taken: set[Any]) -> pd.DataFrame:
    empty = pd.DataFrame({"cur": pd.Series(dtype="int64"), "prev": pd.Series(dtype="int64"),
                          "method": pd.Series(dtype=object), "shared": pd.Series(dtype="int64")})
    if not len(cur_free):
        return empty
    cur_people = _person_ids(current, current_members, cur_heads)
    cur_people = cur_people[cur_people["pos"].isin(cur_free)].rename(columns={"pos": "cur"})
    if not len(cur_people):
        return empty
    prev_people = _person_ids(previous, previous_members, prev_heads)
    prev_people = prev_people[prev_people["pid"].isin(cur_people["pid"])].rename(columns={"pos": "prev"})
    links = cur_people.merge(prev_people, on="pid").groupby(["cur", "prev"], as_index=False).size()
    if not len(links):
        return empty
    links = links.rename(columns={"size": "shared"}).sort_values(["cur", "shared", "prev"], ascending=[True, False, True])
    best = links.drop_duplicates("cur")
    # the first claimant of a previous household nobody else took continues it; the rest split off
    ranked = best.sort_values(["prev", "shared", "cur"], ascending=[True, False, True])
    first_claim = ~ranked["prev"].duplicated() & ~ranked["prev"].isin(taken)
    ranked = ranked.assign(method=np.where(first_claim.to_numpy(), MATCH_MEMBER, MATCH_SPLIT))
    return ranked[["cur", "prev", "method", "shared"]]
