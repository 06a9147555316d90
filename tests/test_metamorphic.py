"""Metamorphic property (issue 8 Must show): change only the *form* of a generated roster — relabel headers with
realistic variants (inverted-polarity ones with their values negated), spaces and units in labels, shuffle the
households and the columns, split into one sheet per village or one file per village, write as xlsx, csv or
parquet, or use another layout (member, template, two-sheet) — and every household's decision, attribute and
causes stay identical.  Hypothesis draws the combinations."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fupin_cli.core.identify import identify
from fupin_cli.engine import load_pack
from fupin_cli.io.read import read_roster
from fupin_cli.io.write_roster import write_roster
from fupin_cli.samples.generate import generate_roster

YEAR = 2015
DECISION = ["status", "attribute", "primary_cause", "secondary_causes"]

# label as written by write_roster → (variant, values negated?) — as real county offices label them
VARIANTS: dict[str, list[tuple[str, bool]]] = {
    "是否危房": [("房屋是否安全", True), ("住房安全（是/否）", True), ("是否危房(是/否)", False)],
    "是否参加基本医疗保险": [("未参加基本医疗保险", True), ("参加基本医疗保险", False)],
    "饮水是否安全": [("饮水有保障", False)],
    "是否享受低保": [("是否低保", False)],
    "是否低保户": [("是否为低保户", False), ("有无低保", False)],
    "人均纯收入": [("人均纯收入（元）", False), ("人均纯收入(元/人)", False)],
    "家庭人口数": [("家庭人口数（人）", False), ("家庭 人口数", False)],
    "姓名": [("姓  名", False)],
    "户主姓名": [("户主姓名：", False)],
    "耕地面积": [("耕地面积(亩)", False)],
    "有机动车": [("是否有小轿车", False)],
}
NEGATE = {"是": "否", "否": "是"}


def _pack():
    return load_pack("national-2014")


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A generated county (with faults left out) written once as a member-level CSV, and its decisions."""
    d = tmp_path_factory.mktemp("meta")
    roster, _ = generate_roster(36, seed=11, year=YEAR)
    path = d / "base.csv"
    write_roster(roster, path, "member", encoding="utf-8")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return d, roster, frame, decisions(read_roster(path))


def decisions(roster) -> pd.DataFrame:
    res = identify(roster, _pack(), YEAR, "重庆", allow_errors=True)
    hh = res.households.set_index("household_id")
    return hh[DECISION].astype(str).sort_index()


def transform(frame: pd.DataFrame, rnd: np.random.Generator, relabel: set[str]) -> pd.DataFrame:
    """Relabel (negating inverted columns), shuffle whole households and the columns."""
    out = frame.copy()
    rename = {}
    for label in sorted(relabel):
        if label not in out.columns:
            continue
        variant, negated = VARIANTS[label][int(rnd.integers(len(VARIANTS[label])))]
        if negated:
            out[label] = out[label].map(lambda v: NEGATE.get(v, v))
        rename[label] = variant
    out = out.rename(columns=rename)
    ids = out["户编号"].unique()
    order = {h: i for i, h in enumerate(rnd.permutation(ids))}
    out = out.iloc[np.argsort(out["户编号"].map(order).to_numpy(), kind="stable")]  # households moved, members kept together
    cols = list(out.columns)
    rnd.shuffle(cols)
    return out[cols]


def write_form(frame: pd.DataFrame, d: Path, fmt: str, split: str, tag: str) -> list[Path]:
    d = d / tag
    d.mkdir()
    parts = [("全部", frame)] if split == "none" else list(frame.groupby("行政村", sort=False))
    if fmt == "xlsx" and split == "sheets":
        path = d / "county.xlsx"
        with pd.ExcelWriter(path, engine="openpyxl") as xw:
            for name, part in parts:
                part.to_excel(xw, sheet_name=str(name)[:31], index=False)
        return [path]
    paths = []
    for i, (_, part) in enumerate(parts):
        path = d / f"part{i}.{fmt}"
        if fmt == "xlsx":
            part.to_excel(path, index=False, engine="openpyxl")
        elif fmt == "csv":
            part.to_csv(path, index=False, encoding="gbk")
        else:
            part.to_parquet(path, index=False)
        paths.append(path)
    return paths


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(fmt=st.sampled_from(["xlsx", "csv", "parquet"]), split=st.sampled_from(["none", "files", "sheets"]),
       relabel=st.sets(st.sampled_from(sorted(VARIANTS))), seed=st.integers(0, 2**32 - 1))
def test_form_never_changes_a_decision(base, fmt, split, relabel, seed):
    d, _, frame, want = base
    if split == "sheets" and fmt != "xlsx":
        split = "files"
    changed = transform(frame, np.random.default_rng(seed), relabel)
    paths = write_form(changed, d, fmt, split, f"{fmt}-{split}-{seed}-{len(relabel)}")
    got = decisions(read_roster(paths))
    pd.testing.assert_frame_equal(got, want)


@pytest.mark.parametrize("layout", ["template", "two-sheet"])
def test_other_layouts_give_the_same_decisions(base, layout):
    d, roster, _, want = base
    path = d / f"{layout}.xlsx"
    write_roster(roster, path, layout)
    pd.testing.assert_frame_equal(decisions(read_roster(path)), want)
