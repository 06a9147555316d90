"""Scenario tests of a pack (``<pack>/tests/*.yaml``), run by ``fupin rules test`` and pytest.

A scenario gives a year (and region), one household with its members (or a one-row
``village:`` / ``county:`` frame) and ``expect``: decision columns (status, attribute,
primary_cause, secondary_causes, measures, exit_result, monitoring_result, risk_types,
elimination_result, ...), derived field ids or canonical fields (their value), estimate
rule ids (the number), ``fired`` / ``not_fired`` (rule ids of any level), or ``error``
(a text the RuleError message must contain).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from fupin_cli import schema
from fupin_cli.engine.expr import did_you_mean
from fupin_cli.engine.inputs import InputPolicy
from fupin_cli.engine.loader import Origin, Pack, Problems, display_path, load_pack, plain, read_yaml
from fupin_cli.errors import FupinError, RuleError
from fupin_cli.roster import Roster

if TYPE_CHECKING:
    from fupin_cli.engine.evaluate import Evaluation

IDENTIFICATION_KEYS = {"status", "attribute", "primary_cause", "secondary_causes", "measures", "basis", "not_identified_reason", "cause_check"}
EXIT_KEYS = {"exit_result", "exit_unmet"}
MONITORING_KEYS = {"monitoring_result", "monitoring_basis", "risk_types", "elimination_result", "elimination_unmet"}
LIST_KEYS = {"secondary_causes": "、", "risk_types": "、", "measures": "；"}
TEXT_CONTAINS_KEYS = {"basis", "not_identified_reason", "cause_check", "exit_unmet", "poor_village_unmet", "elimination_unmet", "monitoring_basis"}


class Scenario(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    year: int
    region: str | None = None
    description: str = ""
    household: dict[str, Any] | None = None
    members: list[dict[str, Any]] = Field(default_factory=list)
    village: dict[str, Any] | None = None
    county: dict[str, Any] | None = None
    parameters: dict[str, Any] = Field(default_factory=dict)  # name → value for this scenario's year and region
    expect: dict[str, Any]


@dataclass
class ScenarioResult:
    name: str
    file: str
    line: int
    passed: bool
    failures: list[str] = field(default_factory=list)  # "key: expected X, got Y"
    explanation: str = ""  # the household's explanation tree (on failure)

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "file": self.file, "line": self.line, "passed": self.passed, "failures": self.failures}


# ---------------------------------------------------------------------------------------
# building a roster from scenario values
# ---------------------------------------------------------------------------------------
def _field_name(key: str) -> str | None:
    if key in schema.FIELDS:
        return key
    return schema.field_for_header(key)


def _coerce(name: str, value: Any) -> Any:
    f = schema.FIELDS.get(name)
    if value is None or f is None:
        return value
    if f.kind == "code":
        return schema.canonical_value(cast(str, f.code_table), value) or str(value)  # a code field names its table
    if f.kind == "bool":
        if isinstance(value, bool):
            return value
        word = schema.normalise_value(value)
        return True if word in schema.TRUE_WORDS else False if word in schema.FALSE_WORDS else None
    if f.kind == "date":
        return pd.Timestamp(value) if not isinstance(value, pd.Timestamp) else value
    if f.kind in ("int", "float", "money"):
        return float(value) if not isinstance(value, bool) else None
    return str(value)


_DTYPES = {"str": "str", "code": "str", "int": "Int64", "float": "Float64", "money": "Float64", "bool": "boolean", "date": "datetime64[ns]"}


def _frame(rows: list[dict[str, Any]], level: str, problems: list[str]) -> pd.DataFrame:
    data: dict[str, list[Any]] = {}
    for i, row in enumerate(rows):
        for key, value in row.items():
            name = _field_name(str(key))
            if name is None and not (level == "member" and key == "household_id"):
                names = schema.HOUSEHOLD_FIELD_NAMES if level == "household" else schema.MEMBER_FIELD_NAMES
                problems.append(f"{level} field {key!r} is not a known field{did_you_mean(str(key), names)}")
                continue
            name = name or str(key)
            data.setdefault(name, [None] * len(rows))[i] = _coerce(name, value)
    frame = pd.DataFrame({k: v for k, v in data.items()}, index=range(len(rows)))
    for name in frame.columns:
        f = schema.FIELDS.get(name)
        kind = f.kind if f else "str"
        if kind == "int":
            vals = frame[name]
            frame[name] = pd.array([None if v is None or (isinstance(v, float) and math.isnan(v)) else int(v) for v in vals], dtype="Int64")
        else:
            frame[name] = frame[name].astype(_DTYPES[kind])
    return frame


def scenario_roster(sc: Scenario, problems: list[str]) -> Roster:
    return scenarios_roster([sc], [problems], rekey=False)


def scenarios_roster(scs: list[Scenario], problems: list[list[str]], rekey: bool = True) -> Roster:
    """One roster holding the households of several scenarios (row i = scenario i).

    With ``rekey`` the household ids are made unique (``<i>:<id>``) so that members
    link to the right scenario.
    """
    hh_rows, mem_rows = [], []
    for i, sc in enumerate(scs):
        hh = dict(sc.household or {})
        hid = str(hh.get("household_id", "H1"))
        key = f"{i}:{hid}" if rekey else hid
        hh["household_id"] = key
        hh_rows.append(hh)
        for m in sc.members:
            m = dict(m)
            m["household_id"] = key
            mem_rows.append((i, m))
    hh_problems: list[str] = []
    households = _frame(hh_rows, "household", hh_problems)
    mem_problems: list[str] = []
    mem = _frame([m for _, m in mem_rows], "member", mem_problems) if mem_rows else pd.DataFrame({"household_id": pd.Series([], dtype="str")})
    if hh_problems or mem_problems:  # attribute problems to their scenario (rare: re-check one by one)
        for i, sc in enumerate(scs):
            _frame([dict(sc.household or {})], "household", problems[i])
            if sc.members:
                _frame([dict(m) for m in sc.members], "member", problems[i])
    return Roster(households=households, members=mem)


# ---------------------------------------------------------------------------------------
# comparing
# ---------------------------------------------------------------------------------------
def _display(v: Any) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA:
        return "缺失"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return repr(v) if isinstance(v, str) else str(v)


def _plain_value(v: Any) -> Any:
    if v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v)):
        return None
    if isinstance(v, (np.bool_, bool)):
        return bool(v)
    if isinstance(v, (np.integer, int)):
        return float(v)
    if isinstance(v, (np.floating, float)):
        return None if math.isnan(v) else float(v)
    if isinstance(v, (pd.Timestamp, np.datetime64)):
        return pd.Timestamp(v).date()
    return v


def _same(key: str, expected: Any, got: Any) -> bool:
    got = _plain_value(got)
    if key in LIST_KEYS:
        sep = LIST_KEYS[key]
        exp_list = [str(x) for x in expected] if isinstance(expected, list) else ([] if expected in (None, "") else str(expected).split(sep))
        got_list = [] if got in (None, "") else str(got).split(sep)
        return exp_list == got_list
    if key in TEXT_CONTAINS_KEYS and isinstance(expected, str) and isinstance(got, str) and expected:
        return expected in got
    if expected is None:
        return got is None or got == ""
    if isinstance(expected, bool) or isinstance(got, bool):
        return expected is got or (isinstance(got, bool) and expected == got and isinstance(expected, bool))
    if isinstance(expected, (int, float)):
        return isinstance(got, float) and math.isclose(float(expected), got, rel_tol=1e-9, abs_tol=1e-6)
    if isinstance(expected, (dt.date, dt.datetime)):
        return bool(got == (expected.date() if isinstance(expected, dt.datetime) else expected))
    return got is not None and str(expected) == str(got)


# ---------------------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------------------
# A scenario lists only the values it is about: a field it leaves out is a blank cell of a
# column the roster has (the pack's meaning applies), never an absent column.
SCENARIO_POLICY = InputPolicy(all_present=True)


def scenario_pack(pack: Pack, sc: Scenario) -> Pack:
    """``pack`` with the scenario's ``parameters:`` set for its year and region (a copy; the
    loaded pack is not changed).  Lets one pack's tests show each setting of a mode parameter."""
    if not sc.parameters:
        return pack
    import dataclasses

    from fupin_cli.engine.model import ParamEntry

    region = sc.region or pack.meta.region
    params = dict(pack.parameters)
    for name, value in sc.parameters.items():
        if name not in params:
            raise RuleError(f"scenario parameter {name!r} is not a parameter of rule pack {pack.name}{did_you_mean(name, params)}")
        old = params[name]
        model = old.model.model_copy(deep=True)
        model.values = [e for e in model.values if (e.year, e.region or pack.meta.region) != (sc.year, region)]
        model.values.append(ParamEntry(year=sc.year, region=region, value=value, source="scenario", verified=False))
        params[name] = dataclasses.replace(old, model=model)
    return dataclasses.replace(pack, parameters=params)


def run_scenario(pack: Pack, sc: Scenario, file: str = "", line: int = 0, outcome: _Outcome | None = None, pos: int = 0) -> ScenarioResult:
    """Run one scenario (``outcome``/``pos``: its row in an already evaluated batch)."""
    res = ScenarioResult(sc.name, file, line, False)
    expect = dict(sc.expect)
    want_error = expect.pop("error", None)
    problems: list[str] = []
    try:
        pack = scenario_pack(pack, sc)
        if sc.village is not None or sc.county is not None:
            got, values = _run_frame(pack, sc, problems)
        else:
            if outcome is None:
                roster = scenarios_roster([sc], [problems])
                outcome, pos = _Outcome(evaluate_roster(roster, pack, sc)), 0
            got, values = outcome.row(pos, set(expect))
    except RuleError as e:
        text = e.one_line() + " " + " ".join(e.problems)
        if want_error is not None and str(want_error) in text:
            res.passed = not problems
            res.failures = problems
            return res
        res.failures = problems + [f"error: {e.one_line()}" + (f" (expected an error containing {want_error!r})" if want_error else "")]
        return res
    except FupinError as e:
        res.failures = problems + [f"error: {e.one_line()}"]
        return res
    if want_error is not None:
        res.failures = problems + [f"error: expected an error containing {want_error!r}, but the scenario ran without error"]
        return res
    failures = list(problems)
    active = {r.id for r in pack.rules if r.active(sc.year)}
    for key, expected in expect.items():
        if key in ("fired", "not_fired"):
            ids = [expected] if isinstance(expected, str) else list(expected or [])
            for rid in ids:
                if rid not in got["_fired"]:
                    exists = any(r.id == rid for r in pack.rules)
                    if exists and key == "not_fired" and rid not in active:
                        continue  # a rule not in force that year does not fire
                    failures.append(f"{key}: " + (f"rule {rid!r} is not in force in {sc.year}" if exists else f"unknown rule id {rid!r}{did_you_mean(rid, [r.id for r in pack.rules])}"))
                    continue
                state = got["_fired"].get(rid)
                if key == "fired" and state is not True:
                    failures.append(f"fired: expected {rid} to fire, got {_state(state)}")
                if key == "not_fired" and state is True:
                    failures.append(f"not_fired: expected {rid} not to fire, but it fired")
            continue
        if key not in values and key in IDENTIFICATION_KEYS | EXIT_KEYS | MONITORING_KEYS:
            failures.append(f"{key}: not computed for this scenario")
            continue
        if key not in values:
            failures.append(f"{key}: unknown expect key{did_you_mean(key, sorted(set(values) | IDENTIFICATION_KEYS | EXIT_KEYS | MONITORING_KEYS | {'fired', 'not_fired', 'error'}))} (use a decision column, a derived field, an estimate rule id, fired, not_fired or error)")
            continue
        if not _same(key, expected, values[key]):
            failures.append(f"{key}: expected {_display(expected)}, got {_display(_plain_value(values[key]))}")
    res.failures = failures
    res.passed = not failures
    if failures and sc.village is None and sc.county is None:
        try:
            from fupin_cli.engine.explain import explain, tree_lines

            roster = scenario_roster(sc, [])
            hid = str(roster.households["household_id"].iloc[0])
            res.explanation = "\n".join(tree_lines(explain(roster, pack, sc.year, sc.region, hid, policy=SCENARIO_POLICY)))
        except FupinError as e:  # the explanation is a courtesy; never mask the failure
            res.explanation = f"(no explanation: {e.one_line()})"
    return res


def evaluate_roster(roster: Roster, pack: Pack, sc: Scenario) -> Evaluation:
    from fupin_cli.engine.evaluate import evaluate

    return evaluate(roster, pack, sc.year, sc.region, policy=SCENARIO_POLICY)


class _Outcome:
    """Evaluation of a batch of scenarios with lazily computed decision frames."""

    def __init__(self, ev: Evaluation) -> None:
        self.ev = ev
        self._frames: dict[str, pd.DataFrame] = {}

    def frame(self, what: str) -> pd.DataFrame:
        from fupin_cli.engine import decide

        if what not in self._frames:
            self._frames[what] = {"identification": decide.identification, "exit": decide.household_exit, "monitoring": decide.monitoring}[what](self.ev)
        return self._frames[what]

    def row(self, pos: int, keys: set[Any]) -> tuple[dict[str, Any], dict[str, Any]]:
        ev = self.ev
        if not hasattr(self, "_results"):
            self._results = {rid: (ev.results[rid].to_numpy(dtype=bool, na_value=False), ev.results[rid].isna().to_numpy()) for rid in ev.results.columns}
        fired: dict[str, Any] = {rid: (None if unk[pos] else bool(val[pos])) for rid, (val, unk) in self._results.items()}
        if len(ev.member_results.columns):
            hid = ev.households["household_id"].iloc[pos]
            mine = (ev.members["household_id"].astype("str") == str(hid)).to_numpy(dtype=bool, na_value=False)
            for rid in ev.member_results.columns:
                col = ev.member_results[rid][mine]
                fired[rid] = True if col.fillna(False).any() else (None if col.isna().any() else False)
        values: dict[str, Any] = {}
        for what, names in (("identification", IDENTIFICATION_KEYS), ("exit", EXIT_KEYS), ("monitoring", MONITORING_KEYS)):
            if keys & names:
                row = self.frame(what).iloc[pos]
                values.update({k: (None if pd.isna(row[k]) else str(row[k])) for k in names})
        if len(ev.values.columns):
            values.update(ev.values.iloc[pos].to_dict())
        hh = ev.households.iloc[pos].to_dict()
        for name in ev.pack.field_types:
            values[name] = hh.get(name)
        for name in schema.FIELDS:
            if name in hh and name != "household_id":
                values.setdefault(name, hh[name])
        return {"_fired": fired}, values


def _state(v: Any) -> str:
    return "fired" if v is True else "not fired" if v is False else "unknown (missing input)"


def _run_frame(pack: Pack, sc: Scenario, problems: list[str]) -> tuple[dict[str, Any], dict[str, Any]]:
    from fupin_cli.engine import decide
    from fupin_cli.engine.typecheck import COUNTY_FIELDS, VILLAGE_FIELDS

    kind, row, fields = ("village_exit", sc.village, VILLAGE_FIELDS) if sc.village is not None else ("county_exit", sc.county, COUNTY_FIELDS)
    for key in row or {}:
        if key not in fields:
            problems.append(f"{kind.split('_')[0]} field {key!r} is not a known field{did_you_mean(key, fields)}")
    frame = pd.DataFrame([{k: v for k, v in (row or {}).items() if k in fields}])
    if kind == "county_exit":
        frame = decide.with_exit_incidence(frame)
    fired: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if kind == "village_exit" and pack.rules_of("poor_village", sc.year):  # 贫困村识别 on the same village row
        pv = cast(pd.DataFrame, decide.poor_village(frame, pack, sc.year, sc.region))  # the pack has poor_village rules
        fired.update(_frame_fired(pack, frame, "poor_village", sc.year, sc.region))
        values.update({"poor_village_result": pv["exit_result"].iloc[0], "poor_village_unmet": pv["exit_unmet"].iloc[0]})
    if pack.rules_of(kind, sc.year) or not fired:
        out = decide.village_exit(frame, pack, sc.year, sc.region) if kind == "village_exit" else decide.county_exit(frame, pack, sc.year, sc.region)
        fired.update(_frame_fired(pack, frame, kind, sc.year, sc.region))
        values.update({"exit_result": out["exit_result"].iloc[0], "exit_unmet": out["exit_unmet"].iloc[0]})
    return {"_fired": fired}, values


def _frame_fired(pack: Pack, frame: pd.DataFrame, kind: str, year: int, region: str | None) -> dict[str, Any]:
    from fupin_cli.engine.compile_pandas import FrameEvaluator
    from fupin_cli.engine.evaluate import used_params
    from fupin_cli.engine.params import resolve_many
    from fupin_cli.engine.typecheck import COUNTY_FIELDS, VILLAGE_FIELDS

    fields = COUNTY_FIELDS if kind == "county_exit" else VILLAGE_FIELDS
    level = "county" if kind == "county_exit" else "village"
    params = resolve_many(pack, used_params(pack, year, levels=(level,)), year, region or pack.meta.region)
    fe = FrameEvaluator(frame, {k: t for k, (_, t) in fields.items()}, {k: v.value for k, v in params.items()})
    out = {}
    for r in pack.rules_of(kind, year):
        if r.id in pack.conditions:
            v = fe.eval_bool(pack.conditions[r.id])[0]
            out[r.id] = None if v is pd.NA else bool(v)
        else:
            out[r.id] = True
    return out


def scenario_files(pack: Pack) -> list[Path]:
    d = pack.tests_dir
    if not d.is_dir():
        return []
    return sorted(list(d.glob("*.yaml")) + list(d.glob("*.yml")))


def _fast_load(path: Path) -> tuple[Any, list[str]] | None:
    """Scenario files are data: load them with the C-accelerated safe loader when possible."""
    try:
        from ruamel.yaml import YAML

        text = path.read_text(encoding="utf-8-sig")
        y = YAML(typ="safe", pure=False)
        data = y.load(text)
    except Exception:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("tests"), list):
        return None
    lines = text.splitlines()
    item_lines = _item_lines(lines, len(data["tests"]))
    return data, [str(x) for x in item_lines]


def _item_lines(lines: list[str], n: int) -> list[int]:
    """Line numbers (1-based) of the items of the top-level ``tests:`` list."""
    indent = None
    out: list[int] = []
    in_tests = False
    for i, ln in enumerate(lines):
        stripped = ln.lstrip()
        if not stripped or stripped.startswith("#"):
            continue
        col = len(ln) - len(stripped)
        if col == 0:
            in_tests = stripped.startswith("tests:")
            continue
        if in_tests and stripped.startswith("- "):
            if indent is None:
                indent = col
            if col == indent:
                out.append(i + 1)
    return (out + [1] * n)[:n]


def load_scenarios(path: Path) -> list[tuple[Scenario | None, int, list[str], str]]:
    """(scenario or None, line, problems, name) for each item of a scenario file."""
    fast = _fast_load(path)
    if fast is not None:
        data, item_lines = fast
        out: list[tuple[Scenario | None, int, list[str], str]] = []
        valid = True
        for i, item in enumerate(data["tests"]):
            name = str(item.get("name", f"tests.{i}")) if isinstance(item, dict) else f"tests.{i}"
            try:
                out.append((Scenario.model_validate(item), int(item_lines[i]), [], name))
            except ValidationError:
                valid = False  # re-read with positions for precise messages
                break
        if valid:
            return out
    problems = Problems()
    data, lines = read_yaml(path, problems)
    shown = display_path(path)
    if data is None:
        return [(None, 1, problems.items or [f"{shown}: empty scenario file"], path.name)]
    if not isinstance(data, dict) or "tests" not in data or not isinstance(data["tests"], list):
        return [(None, 1, [f"{shown}:1:1: a scenario file must have 'tests:' with a list of scenarios"], path.name)]
    found: list[tuple[Scenario | None, int, list[str], str]] = []
    for i, item in enumerate(data["tests"]):
        origin = Origin(path, item, f"tests.{i}", lines)
        line = item.lc.line + 1 if hasattr(item, "lc") else 1
        name = str(item.get("name", f"tests.{i}")) if isinstance(item, dict) else f"tests.{i}"
        try:
            found.append((Scenario.model_validate(plain(item)), line, [], name))
        except ValidationError as e:
            p = Problems()
            for err in e.errors():
                loc = list(err["loc"])
                msg = f"unknown key {loc[-1]!r}{did_you_mean(str(loc[-1]), Scenario.model_fields)}" if err["type"] == "extra_forbidden" else err["msg"]
                p.add(origin, loc, msg)
            found.append((None, line, p.items, name))
    return found


def run_scenarios(pack: Pack | str | Path) -> list[ScenarioResult]:
    """Run every scenario of a pack (a loaded :class:`Pack`, a shipped name or a folder).

    Household scenarios of the same (year, region) are evaluated together in one roster
    (one row each); a batch that raises (e.g. an ``expect.error`` scenario) is re-run one
    scenario at a time.
    """
    if not isinstance(pack, Pack):
        pack = load_pack(pack)
    items: list[tuple[Scenario | None, str, int, list[str], str]] = []
    for path in scenario_files(pack):
        shown = display_path(path)
        for sc, line, problems, name in load_scenarios(path):
            items.append((sc, shown, line, problems, name))
    results: dict[int, ScenarioResult] = {}
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, (sc, shown, line, problems, name) in enumerate(items):
        if sc is None:
            results[i] = ScenarioResult(name, shown, line, False, problems)
        elif sc.village is not None or sc.county is not None or "error" in sc.expect:
            results[i] = run_scenario(pack, sc, shown, line)
        else:
            groups.setdefault((sc.year, sc.region, repr(sorted(sc.parameters.items()))), []).append(i)
    for idxs in groups.values():
        scs = [items[i][0] for i in idxs]
        outcome = None
        try:
            probs: list[list[str]] = [[] for _ in scs]
            roster = scenarios_roster(scs, probs)  # type: ignore[arg-type]
            if not any(probs):
                outcome = _Outcome(evaluate_roster(roster, scenario_pack(pack, scs[0]), scs[0]))  # type: ignore[arg-type]
        except FupinError:
            outcome = None
        for pos, i in enumerate(idxs):
            sc, shown, line, _, _ = items[i]
            results[i] = run_scenario(pack, sc, shown, line, outcome, pos) if outcome is not None else run_scenario(pack, sc, shown, line)  # type: ignore[arg-type]
    return [results[i] for i in range(len(items))]
