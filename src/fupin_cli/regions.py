"""Provinces (GB/T 2260 codes, full and short names) and the region of a roster (issue 8 item 6).

``normalise_region("重庆市") == normalise_region("500000") == normalise_region("50") == "重庆"``:
packs key parameters by the short name.  :func:`infer_region` reads a Roster's 省/市/县 columns,
its title rows, and the area codes of 户编号 and ID numbers; :func:`settle_region` checks it
against ``--region`` (a contradiction is a usage error, exit 2).  Pure data work: no files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from fupin_cli.errors import UsageError

# GB/T 2260 province-level code (first two digits) → (short name, full name)
PROVINCES: dict[str, tuple[str, str]] = {
    "11": ("北京", "北京市"), "12": ("天津", "天津市"), "13": ("河北", "河北省"), "14": ("山西", "山西省"),
    "15": ("内蒙古", "内蒙古自治区"), "21": ("辽宁", "辽宁省"), "22": ("吉林", "吉林省"), "23": ("黑龙江", "黑龙江省"),
    "31": ("上海", "上海市"), "32": ("江苏", "江苏省"), "33": ("浙江", "浙江省"), "34": ("安徽", "安徽省"),
    "35": ("福建", "福建省"), "36": ("江西", "江西省"), "37": ("山东", "山东省"), "41": ("河南", "河南省"),
    "42": ("湖北", "湖北省"), "43": ("湖南", "湖南省"), "44": ("广东", "广东省"), "45": ("广西", "广西壮族自治区"),
    "46": ("海南", "海南省"), "50": ("重庆", "重庆市"), "51": ("四川", "四川省"), "52": ("贵州", "贵州省"),
    "53": ("云南", "云南省"), "54": ("西藏", "西藏自治区"), "61": ("陕西", "陕西省"), "62": ("甘肃", "甘肃省"),
    "63": ("青海", "青海省"), "64": ("宁夏", "宁夏回族自治区"), "65": ("新疆", "新疆维吾尔自治区"),
}
SHORT = {short: code for code, (short, _) in PROVINCES.items()}
FULL = {full: short for short, full in PROVINCES.values()}
# the share of ID numbers / 户编号 that must carry one province code for it to count as evidence
CODE_SHARE = 0.8


def normalise_region(text: str | None) -> str | None:
    """Short province name for a full name, a short name or a code (``500000``, ``50``); other
    region names (国家, 西部, a county a pack defines) unchanged; None for blank."""
    if text is None:
        return None
    t = re.sub(r"\s+", "", str(text))
    if not t:
        return None
    if t in SHORT:
        return t
    if t in FULL:
        return FULL[t]
    if t.isdigit() and len(t) in (2, 6) and t[:2] in PROVINCES and (len(t) == 2 or t[2:] == "0000"):
        return PROVINCES[t[:2]][0]
    for suffix in ("省", "市", "自治区"):
        if t.endswith(suffix) and t[: -len(suffix)] in SHORT:
            return t[: -len(suffix)]
    return t


def province_of(text: str) -> str | None:
    """The province a place name or title mentions (``重庆市XX县2015年…花名册`` → 重庆), None if none or several."""
    found = {short for short, full in PROVINCES.values() if full in text}
    if not found:
        found = {short for short in SHORT if short in text}
    return found.pop() if len(found) == 1 else None


@dataclass
class RegionEvidence:
    region: str | None  # short province name, or None when nothing says
    source: str = ""  # what it was read from (中文, for the summary and 说明)
    conflicts: list[str] = field(default_factory=list)  # other evidence that disagrees


def _codes(values: pd.Series) -> pd.Series:
    text = values.dropna().astype(str).str.strip()
    text = text[text.str.fullmatch(r"\d{15,20}|\d{17}[\dXx]")]
    return text.str.slice(0, 2)


def infer_region(roster) -> RegionEvidence:
    """The province a roster belongs to, with the evidence, from (in order of trust): the 省 column,
    the title rows, the area codes of ID numbers, the area codes of 户编号 (when they look like codes)."""
    hh = roster.households
    found: list[tuple[str, str]] = []  # (province, evidence)
    if "province" in hh.columns:
        vals = hh["province"].dropna().astype(str).map(normalise_region).dropna()
        vals = vals[vals.isin(list(SHORT))]
        if len(vals):
            top = vals.value_counts()
            found.append((top.index[0], f"“省”列（{top.iloc[0]:,} 户为{top.index[0]}）" + (f"，另有 {len(top) - 1} 个省" if len(top) > 1 else "")))
    for col, what in (("city", "市"), ("county", "县")):
        if col in hh.columns and not found:
            names = hh[col].dropna().astype(str)
            provinces = names.map(province_of).dropna()
            if len(provinces) and len(provinces) >= CODE_SHARE * len(names):
                top = provinces.value_counts()
                found.append((top.index[0], f"“{what}”列（{top.index[0]}）"))
    for src in getattr(roster, "sources", None) or []:
        title = getattr(src, "title", "") or ""
        p = province_of(title) if title else None
        if p:
            found.append((p, f"标题行“{title.strip()[:40]}”"))
            break
    for col, what in (("head_id_number", "户主证件号码"), ("id_number", "证件号码"), ("household_id", "户编号")):
        frame = hh if col in hh.columns else getattr(roster, "members", None)
        if frame is None or col not in frame.columns or not len(frame):
            continue
        codes = _codes(frame[col])
        if not len(codes) or len(codes) < 0.5 * frame[col].notna().sum():
            continue
        top = codes.value_counts()
        if top.index[0] in PROVINCES and top.iloc[0] >= CODE_SHARE * len(codes):
            found.append((PROVINCES[top.index[0]][0], f"{what}的地区码（{top.iloc[0]:,}/{len(codes):,} 个以 {top.index[0]} 开头）"))
            break
    if not found:
        return RegionEvidence(None)
    region, source = found[0]
    conflicts = [f"{src}：{p}" for p, src in found[1:] if p != region]
    return RegionEvidence(region, source, conflicts)


@dataclass
class RegionChoice:
    region: str | None  # None: the pack's default region
    how: str  # 中文: where it came from
    inferred: RegionEvidence | None = None
    kind: str = "given"  # "given" (command line) | "config" (fupin.toml) | "inferred" (the roster) | "default"

    def to_dict(self) -> dict:
        return {"region": self.region, "how": self.how, "source": self.kind,
                "inferred": None if self.inferred is None or self.inferred.region is None else
                {"region": self.inferred.region, "source": self.inferred.source, "conflicts": self.inferred.conflicts}}


def settle_region(given: str | None, roster, given_by=None) -> RegionChoice:
    """The region given (``--region`` or fupin.toml, normalised) checked against the roster's own region;
    else the one inferred from the roster; else None (the pack's default).

    ``given_by``: where ``given`` came from (:class:`fupin_cli.cli.config.Source`; None: the command line)."""
    ev = infer_region(roster)
    wanted = normalise_region(given)
    if wanted is not None:
        kind = given_by.kind if given_by is not None and given_by.kind != "default" else "given"
        by_file = kind == "config"
        if ev.region is not None and wanted in SHORT and wanted != ev.region:
            where = f"{given_by.origin}: region = {given}" if by_file else f"--region {given}"
            fix = (f"check the file, or set region = \"{ev.region}\" in {given_by.file_name}" if by_file
                   else f"check the file, or give --region {ev.region}")
            raise UsageError(f"{where} contradicts the roster: {ev.source} says {ev.region}", hint=fix)
        how = given_by.how(f"--region {given}", f"region = {given}") if given_by is not None and kind == given_by.kind \
            else f"命令行 --region {given}"
        if str(given).strip() != wanted:
            how += f"（即 {wanted}）"
        if ev.region is not None and ev.region == wanted:
            how += f"；与花名册一致：{ev.source}"
        return RegionChoice(wanted, how, ev, kind)
    if ev.region is not None:
        return RegionChoice(ev.region, f"由花名册推断：{ev.source}", ev, "inferred")
    return RegionChoice(None, "默认：花名册未写明地区，用规则包的默认地区", ev, "default")


def years_in(roster) -> list[int]:
    """Distinct values of the roster's 年度 column (sorted)."""
    hh = roster.households
    if "year" not in hh.columns:
        return []
    vals = pd.to_numeric(hh["year"], errors="coerce").dropna()
    return sorted({int(v) for v in vals.to_numpy(dtype=np.float64)})


def check_year(year: int, roster) -> None:
    """``--year`` against the roster's 年度 column: a mismatch stops the run (exit 2)."""
    years = years_in(roster)
    if years and year not in years:
        raise UsageError(f"--year {year} contradicts the roster's 年度 column ({'、'.join(map(str, years))})",
                         hint=f"give --year {years[0]}" if len(years) == 1 else "give the roster's year")
