"""Truth follows the packs: national-2014 (identification, household exit) and monitoring-2021 samples."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from fupin_cli.cli.app import app
from fupin_cli.core.monitor import run_monitor
from fupin_cli.engine import evaluate, load_pack
from fupin_cli.engine.decide import household_exit, identification
from fupin_cli.errors import UsageError
from fupin_cli.io.read import read_roster
from fupin_cli.samples import generate_roster
from fupin_cli.samples.monitor import MONITORING_LINES, generate_monitor_roster

SAMPLE = Path(__file__).resolve().parents[1] / "samples" / "monitor-2023.xlsx"


@pytest.fixture(scope="module")
def national():
    return load_pack("national-2014")


@pytest.fixture(scope="module")
def monitoring():
    return load_pack("monitoring-2021")


@pytest.mark.parametrize("year", [2015, 2016, 2017, 2018, 2019])
def test_truth_agrees_with_national_pack(national, year):
    roster, truth = generate_roster(2000, seed=3, year=year)
    ev = evaluate(roster, national, year=year)
    th = truth.households
    status = identification(ev)["status"].astype(str).to_numpy()
    assert (status == th["expected_status"].to_numpy()).all()
    exits = household_exit(ev)["exit_result"].astype(str).to_numpy() == "脱贫"
    from fupin_cli.samples.households import EXIT_STANDARDS

    expected = (th["income_per_capita"] > EXIT_STANDARDS[year]).to_numpy() & th["three_guarantees_met"].to_numpy()
    assert (exits == expected).all()
    # water counts from 2019 only: before it, unsafe water alone does not fail the guarantees
    unsafe_water_only = (~roster.households["safe_water"].astype(bool)).to_numpy() & th["three_guarantees_met"].to_numpy()
    assert unsafe_water_only.any() == (year < 2019)


def _compare(result, truth):
    got, th = result.households, truth.households
    for mine, theirs in (("monitoring_status", "monitoring_status"), ("monitoring_category", "expected_category"),
                         ("risk_types", "expected_risk_types"), ("elimination_method", "elimination_method")):
        values = got[mine].astype(object).where(got[mine].notna(), "").to_numpy()
        assert (values == th[theirs].to_numpy()).all(), mine


@pytest.mark.parametrize(("n", "seed", "year"), [(40, 1, 2021), (300, 7, 2023), (600, 4, 2024), (200, 5, 2025)])
def test_monitor_truth_equals_pack(monitoring, n, seed, year):
    roster, truth = generate_monitor_roster(n, seed, year)
    result, _ = run_monitor(roster.households, roster.members, monitoring, year, "云南")
    _compare(result, truth)
    c = truth.counts()
    for key in ("status:新纳入监测", "status:继续监测", "status:风险消除", "status:非监测对象",
                "category:脱贫不稳定户", "category:边缘易致贫户", "category:突发严重困难户",
                "method:帮扶消除", "method:自然消除"):
        assert c.get(key, 0) >= 1, (year, key)
    th = truth.households
    assert truth.poverty_line == MONITORING_LINES[year]
    assert set(th["household_type"]) == {"脱贫户", "一般农户", "监测户"}
    # the rule categories of new objects: each occurs
    new = th[th["monitoring_status"] == "新纳入监测"]
    assert set(new["rule_category"]) == {"脱贫不稳定户", "边缘易致贫户", "突发严重困难户"}
    assert th["eliminated_before"].sum() >= 1
    assert 0.05 <= th["below_line"].mean() <= 0.15


def test_monitor_roster_columns_and_determinism():
    a, ta = generate_monitor_roster(60, 2, 2023)
    b, tb = generate_monitor_roster(60, 2, 2023)
    assert a.households.equals(b.households) and ta.to_json() == tb.to_json()
    h = a.households
    assert "has_vehicle" not in h.columns and "recorded_primary_cause" not in h.columns
    monitored = h["household_type"] == "监测户"
    assert h.loc[monitored, "monitoring_category"].notna().all()
    assert h.loc[monitored, "monitored_months"].notna().all() and h.loc[monitored, "monitoring_start"].notna().all()
    exited = h["household_type"] == "脱贫户"
    assert h.loc[exited, "exit_year"].between(2014, 2020).all() and (h.loc[exited, "exit_status"] == "已脱贫").all()
    assert h.loc[~exited & ~monitored, "exit_year"].isna().all()
    assert (h["year"] == 2023).all()


def test_monitor_sample_bad_arguments():
    with pytest.raises(UsageError, match="no monitoring line for year 2026"):
        generate_monitor_roster(60, 1, 2026)
    with pytest.raises(UsageError, match="monitoring samples need at least 40 households"):
        generate_roster(20, 1, year=2023)
    with pytest.raises(UsageError, match="messy samples are only made for 2010–2020 rosters"):
        generate_roster(60, 1, year=2023, messy=True)


def test_committed_monitor_sample_matches_truth(monitoring, tmp_path):
    truth = json.loads((SAMPLE.parent / (SAMPLE.name + ".truth.json")).read_text(encoding="utf-8"))
    assert truth["year"] == 2023 and truth["counts"]["households"] == 80
    roster = read_roster(SAMPLE)
    result, _ = run_monitor(roster.households, roster.members, monitoring, 2023, "云南")
    expected = {r["household_id"]: r for r in truth["households"]}
    got = result.households.set_index(result.households["household_id"].astype(str))
    assert set(got.index) == set(expected)
    for hid, row in expected.items():
        g = got.loc[hid]
        assert g["monitoring_status"] == row["monitoring_status"], hid
        assert (g["monitoring_category"] if isinstance(g["monitoring_category"], str) else "") == row["expected_category"], hid
        assert (g["elimination_method"] if isinstance(g["elimination_method"], str) else "") == row["elimination_method"], hid
    # the command line reaches the same counts
    out = tmp_path / "monitor-2023.xlsx"
    res = CliRunner().invoke(app, ["monitor", str(SAMPLE), "--year", "2023", "--region", "云南", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    counts = truth["counts"]
    for status, v in summary["monitoring_status"].items():
        assert v["households"] == counts.get(f"status:{status}", 0), status
    assert summary["elimination_methods"] == {"帮扶消除": counts["method:帮扶消除"], "自然消除": counts["method:自然消除"]}
    assert out.exists()


def test_cli_generates_monitor_sample(tmp_path):
    out = tmp_path / "m.parquet"
    res = CliRunner().invoke(app, ["samples", "generate", "-n", "50", "-s", "3", "--year", "2023", "-o", str(out), "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["counts"]["households"] == 50 and summary["year"] == 2023
    roster = read_roster(out)
    assert roster.n_households == 50
    assert set(roster.households["household_type"].astype(str)) == {"脱贫户", "一般农户", "监测户"}
    bad = CliRunner().invoke(app, ["samples", "generate", "-n", "50", "--year", "2023", "--messy", "-o", str(tmp_path / "x.xlsx")])
    assert bad.exit_code == 2 and "messy samples are only made for 2010–2020 rosters" in bad.output

