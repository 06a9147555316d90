"""What every check gets: the roster, the year, shared derived values and ``emit``.

A check is a function ``check(ctx: CheckContext) -> Findings frame | list of frames | None``.
It builds boolean masks over ``ctx.members`` / ``ctx.households`` (vectorised) and turns
them into findings with :meth:`CheckContext.emit`, which fills file, sheet, Excel row,
column (the header as written in the source), household id, severity and hint.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from fupin_cli import idnumber
from fupin_cli.checks.catalog import CHECKS
from fupin_cli.findings import FINDING_COLUMNS, empty_findings
from fupin_cli.roster import Roster
from fupin_cli.schema import FALSE_WORDS, SOURCE_FILE, SOURCE_ROW, SOURCE_SHEET, TRUE_WORDS

Message = str | Callable[[pd.DataFrame], "pd.Series | list[str] | np.ndarray"]

WORKING_LABOUR = ("普通劳动力", "技能劳动力")  # 有劳动能力
NO_LABOUR = ("无劳动力", "丧失劳动力")
WORK_PLACES = ("乡(镇)内务工", "乡(镇)外县内务工", "县外省内务工", "省外务工")
NOT_STUDENT = "非在校生"


_EMPTY = empty_findings()


def no_findings() -> pd.DataFrame:
    """An empty Findings frame (a shared one: building it is slow; do not modify it)."""
    return _EMPTY


def num(s: pd.Series) -> pd.Series:
    """``Float64`` from a typed or (unparsed) text column; unparseable → <NA>."""
    if s.dtype.kind in "biuf" or isinstance(s.dtype, (pd.Float64Dtype, pd.Int64Dtype, pd.BooleanDtype)) or str(s.dtype) in ("Int32", "Float32"):
        return s.astype("Float64")
    text = s.astype("str").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(text, errors="coerce").astype("Float64")


def flag(s: pd.Series) -> pd.Series:
    """``boolean`` from a typed or text (是/否/√/1/0...) column; unknown → <NA>."""
    if s.dtype == bool or isinstance(s.dtype, pd.BooleanDtype):
        return s.astype("boolean")
    if s.dtype.kind in "iuf" or isinstance(s.dtype, (pd.Float64Dtype, pd.Int64Dtype)):
        return (s.astype("Float64") != 0).astype("boolean")
    words = {**{w: True for w in TRUE_WORDS}, **{w: False for w in FALSE_WORDS}}
    key = s.astype("str").str.strip().str.lower()
    return key.map(words).astype("boolean")


def as_bool(s: pd.Series) -> pd.Series:
    """A numpy bool Series: :func:`flag` with <NA> → False."""
    return flag(s).fillna(False).astype(bool)


def lookup(s: pd.Series, mapping: dict, dtype: str = "Float64") -> pd.Series:
    """``s.map(mapping)`` for columns with few distinct values (factorised: fast on millions of rows)."""
    codes, uniques = pd.factorize(s)
    values = pd.array([mapping.get(u) for u in uniques] + [None], dtype=dtype)
    return pd.Series(values.take(codes), index=s.index)  # code −1 (missing) → the trailing None


def dates(s: pd.Series) -> pd.Series:
    """``datetime64`` from a typed or text column; unparseable → NaT."""
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        return s
    return pd.to_datetime(s.astype("str"), errors="coerce", format="mixed")


def fmt_num(s: pd.Series) -> pd.Series:
    """Numbers for messages: ``2310``, ``2310.5``, ``-12.25``; missing → ``空``."""
    values = num(s)
    text = values.map(lambda v: "空" if pd.isna(v) else (f"{v:,.0f}" if float(v).is_integer() else f"{v:,.2f}"), na_action=None).astype(str)
    raw = s.astype("str")
    return text.where(values.notna() | raw.isna(), raw)


def fmt_text(s: pd.Series) -> pd.Series:
    return s.astype("str").fillna("空")


@dataclass
class CheckContext:
    roster: Roster
    year: int
    ref_date: dt.date = field(default_factory=dt.date.today)
    # thresholds from the rule pack (name → value for the year), e.g. compulsory_age_min; see ``param``
    params: dict = field(default_factory=dict)

    def param(self, name: str, fallback):
        """The pack's value of ``name`` for the year; ``fallback`` only when no pack gave one (validate --no-pack)."""
        return self.params.get(name, fallback)

    @property
    def households(self) -> pd.DataFrame:
        return self.roster.households

    @property
    def members(self) -> pd.DataFrame:
        return self.roster.members

    # ---- columns ---------------------------------------------------------------------
    def has(self, name: str, level: str | None = None) -> bool:
        """True when the field is a column of its frame and the source had it (or it holds data)."""
        frames = []
        if level in (None, "member"):
            frames.append(self.members)
        if level in (None, "household"):
            frames.append(self.households)
        for frame in frames:
            if name in frame.columns and len(frame.columns):
                if not self.roster.source_headers or name in self.roster.source_headers:
                    return True
                if frame[name].notna().any():
                    return True
        return False

    def has_all(self, names: tuple[str, ...] | list[str], level: str | None = None) -> bool:
        return all(self.has(n, level) for n in names)

    def header(self, name: str) -> str:
        return self.roster.header_of(name)

    # ---- shared derived values (computed once, on first use) ---------------------------
    @cached_property
    def ids(self) -> pd.DataFrame | None:
        """``idnumber.check_series`` of the members' 证件号码 (None without the column)."""
        if "id_number" not in self.members.columns or not len(self.members):
            return None
        return idnumber.check_series(self.members["id_number"], self.ref_date)

    @cached_property
    def head_ids(self) -> pd.DataFrame | None:
        """``idnumber.check_series`` of the households' 户主证件号码 (None without the column)."""
        if "head_id_number" not in self.households.columns:
            return None
        return idnumber.check_series(self.households["head_id_number"], self.ref_date)

    @cached_property
    def ages(self) -> pd.Series:
        """Age in whole years on 31 Dec of ``year`` (from 出生日期, else the ID); NaN when unknown."""
        m = self.members
        years = pd.Series(np.nan, index=m.index, dtype="float64")
        if "birth_date" in m.columns:
            b = dates(m["birth_date"])
            years = b.dt.year.astype("float64")
        if self.ids is not None:
            years = years.fillna(self.ids["birth_date"].dt.year.astype("float64"))
        return self.year - years

    @cached_property
    def sex(self) -> pd.Series:
        """Recorded 性别, else the sex from a valid ID (str, <NA> when unknown)."""
        m = self.members
        sex = m["sex"].astype("str") if "sex" in m.columns else pd.Series(pd.NA, index=m.index, dtype="str")
        if self.ids is not None:
            from_id = self.ids["sex"].where(self.ids["valid"])
            sex = sex.fillna(from_id)
        return sex

    @cached_property
    def household_index(self) -> np.ndarray:
        """Position of each member's household in ``households`` (−1 when not found)."""
        hh, m = self.households, self.members
        if "household_id" not in hh.columns or "household_id" not in m.columns:
            return np.full(len(m), -1, dtype=np.int64)
        both = pd.concat([hh["household_id"].astype("str"), m["household_id"].astype("str")], ignore_index=True)
        codes, uniques = pd.factorize(both)
        h_codes, m_codes = codes[: len(hh)], codes[len(hh):]
        first = np.full(len(uniques) + 1, -1, dtype=np.int64)  # last slot: code −1 (missing id)
        order = np.arange(len(hh) - 1, -1, -1)
        first[h_codes[order]] = order  # written last = first occurrence
        first[-1] = -1
        return first[m_codes]

    def per_household(self, member_values: pd.Series, how: str = "sum") -> pd.Series:
        """Aggregate a member Series to households, aligned with ``households``.

        ``sum`` (missing → 0; 0 for a household without members) or ``first`` (the first
        non-missing value; missing when none).
        """
        idx = self.household_index
        n = len(self.households)
        if how == "sum":
            s = pd.Series(member_values)
            if s.dtype.kind in "biuf":  # numpy bool / int / float
                vals = np.nan_to_num(s.to_numpy(dtype="float64"))
            else:
                vals = num(s).fillna(0).to_numpy(dtype="float64")
            ok = idx >= 0
            sums = np.bincount(idx[ok], weights=vals[ok], minlength=n)
            return pd.Series(sums, index=self.households.index)
        if how == "first":
            sel = np.flatnonzero((idx >= 0) & member_values.notna().to_numpy(bool))
            first = np.full(n, -1, dtype=np.int64)
            first[idx[sel][::-1]] = sel[::-1]  # written last = first member in row order
            has = first >= 0
            if not len(member_values):
                return pd.Series(pd.NA, index=self.households.index, dtype=member_values.dtype)
            taken = member_values.iloc[np.where(has, first, 0)].reset_index(drop=True)
            taken.index = self.households.index
            return taken.where(has)
        raise ValueError(f"unknown aggregation {how!r}")

    @cached_property
    def member_count(self) -> pd.Series:
        return self.per_household(pd.Series(1, index=self.members.index), "sum").astype("int64")

    def to_members(self, household_values: pd.Series) -> pd.Series:
        """Broadcast a household Series (aligned with ``households``) to members."""
        idx = self.household_index
        vals = household_values.to_numpy()
        out = pd.Series(vals[np.where(idx >= 0, idx, 0)], index=self.members.index)
        return out.where(idx >= 0)

    # ---- findings ----------------------------------------------------------------------
    def emit(
        self,
        check: str,
        frame: pd.DataFrame,
        mask: pd.Series | np.ndarray,
        field_name: str | None,
        message: Message,
        *,
        severity: str | None = None,
        hint: str | None = None,
        column: str | None = None,
    ) -> pd.DataFrame:
        """Findings for the rows of ``frame`` where ``mask`` holds (NA counts as False)."""
        mask = np.asarray(pd.Series(mask).astype("boolean").fillna(False), dtype=bool) if not isinstance(mask, np.ndarray) else mask.astype(bool)
        if not mask.any():
            return no_findings()
        info = CHECKS.get(check)
        sub = frame[mask]
        n = len(sub)
        out = pd.DataFrame(index=range(n))
        out["severity"] = severity or (info.severity if info else "warning")
        out["check"] = check
        default_file = self.roster.sources[0].name if len(self.roster.sources) == 1 else ""
        out["file"] = sub[SOURCE_FILE].astype("str").fillna("").to_numpy() if SOURCE_FILE in sub else default_file
        out["sheet"] = sub[SOURCE_SHEET].astype("str").fillna("").to_numpy() if SOURCE_SHEET in sub else ""
        out["row"] = pd.array(sub[SOURCE_ROW].to_numpy(), dtype="Int64") if SOURCE_ROW in sub else pd.NA
        out["column"] = column if column is not None else (self.header(field_name) if field_name else "")
        out["household_id"] = sub["household_id"].astype("str").fillna("").to_numpy() if "household_id" in sub else ""
        text = message(sub) if callable(message) else message
        out["message"] = np.asarray(text, dtype=object) if not isinstance(text, str) else text
        out["hint"] = hint if hint is not None else (info.hint if info else "")
        return out[FINDING_COLUMNS]

    def emit_columnless(self, check: str, message: str, column: str = "", **kw) -> pd.DataFrame:
        """One finding not tied to a row (e.g. a missing column)."""
        info = CHECKS.get(check)
        return pd.DataFrame([{
            "severity": kw.get("severity") or (info.severity if info else "warning"),
            "check": check,
            "file": self.roster.sources[0].name if len(self.roster.sources) == 1 else "",
            "sheet": "", "row": pd.NA, "column": column, "household_id": "",
            "message": message, "hint": kw.get("hint") or (info.hint if info else ""),
        }], columns=FINDING_COLUMNS)
