"""Which year a roster is about, when the user gave no ``--year``.

In order: the roster's 年度 (``year``) column when it holds exactly one year; else a year
named in the title rows above the header ("丰都县2015年建档立卡贫困户花名册" — a date such as
"填报日期：2016年1月5日" is used only when no other year is named); else the current year.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

from fupin_cli.roster import Roster

YEAR_MIN, YEAR_MAX = 1990, 2100
_YEAR = re.compile(r"((?:19|20)\d{2})\s*年(\s*\d{1,2}\s*月)?")

REASONS_ZH = {
    "option": "--year 指定",
    "roster": "花名册“年度”列",
    "title": "表头上方的标题",
    "current": "当前年份（花名册中没有年度，可用 --year 指定）",
}


@dataclass(frozen=True)
class YearChoice:
    year: int
    source: str  # option | roster | title | current
    detail: str = ""  # e.g. the title text the year came from

    @property
    def reason(self) -> str:
        """Chinese explanation for the summary line, e.g. "表头上方的标题“丰都县2015年…”"."""
        base = REASONS_ZH[self.source]
        return f"{base}“{self.detail}”" if self.detail else base

    def as_dict(self) -> dict:
        return {"year": self.year, "source": self.source, "reason": self.reason}


def year_in_text(text: str) -> tuple[int, str] | None:
    """(year, the words naming it) for the first "2015年" in ``text`` that is not part of a date;
    else for the first date ("2016年1月5日"); None when no year is named."""
    dated: tuple[int, str] | None = None
    for chunk in (text or "").split():
        for m in _YEAR.finditer(chunk):
            y = int(m.group(1))
            if not YEAR_MIN <= y <= YEAR_MAX:
                continue
            if m.group(2) is None:
                return y, chunk
            dated = dated or (y, chunk)
    return dated


def roster_year(roster: Roster) -> int | None:
    """The single value of the households' 年度 column (None when absent, empty or mixed)."""
    hh = roster.households
    if "year" not in hh.columns or not len(hh):
        return None
    years = pd.to_numeric(hh["year"].astype("str"), errors="coerce").dropna().unique()
    if len(years) != 1 or not float(years[0]).is_integer() or not YEAR_MIN <= years[0] <= YEAR_MAX:
        return None
    return int(years[0])


def choose_year(roster: Roster, year: int | None = None, today: dt.date | None = None) -> YearChoice:
    """The year to use: ``year`` if given, else the roster's 年度, the title's year, the current year."""
    if year is not None:
        return YearChoice(int(year), "option")
    found = roster_year(roster)
    if found is not None:
        return YearChoice(found, "roster")
    for source in roster.sources:
        title = getattr(source, "title", "") or ""
        named = year_in_text(title)
        if named is not None:
            words = named[1] if len(named[1]) <= 40 else named[1][:39] + "…"
            return YearChoice(named[0], "title", words)
    return YearChoice((today or dt.date.today()).year, "current")
