"""精准识别 + 建档立卡: roster → validated → evaluated → decisions → register frames.

:func:`identify` is the library entry point behind ``fupin identify``::

    result = identify(roster, pack, year=2015, region=None, allow_errors=False, quota=None)
    result.households   # register: roster columns + decision columns (canonical names)
    result.members      # members with their household's decision
    result.summary      # 汇总 by township and village
    result.causes       # CausesReport (致贫原因)
    result.quota        # 规模控制 use per village (None without a quota)
    result.coverage     # 帮扶覆盖: poor households without 帮扶责任人, villages without 驻村工作队
    result.findings     # validation findings (疑点)
    result.counts       # the closing summary numbers
    result.provenance   # tool, pack and hash, inputs and hashes, year, region, run time, parameters

Error-level findings stop the run (:class:`DataError`, exit 1) unless ``allow_errors``: then
the households they concern are 待核实 with the finding as the 未识别原因.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from fupin_cli.core.causes import CausesReport, causes_report
from fupin_cli.core.quota import Quota, apply_quota, quota_notes
from fupin_cli.core.summary import area_summary, blank, coverage, household_people, population_notes, records, totals
from fupin_cli.errors import DataError, UsageError
from fupin_cli.findings import count_by_severity, empty_findings
from fupin_cli.roster import Roster
from fupin_cli.schema import (
    HOUSEHOLD_FIELD_NAMES,
    MEMBER_FIELD_NAMES,
    SOURCE_FILE,
    SOURCE_ROW,
    SOURCE_SHEET,
    STATUS_NOT_POOR,
    STATUS_PENDING,
    STATUS_POOR,
)

DECISION_COLUMNS = ["status", "attribute", "primary_cause", "secondary_causes", "measures", "basis",
                    "not_identified_reason", "cause_check"]
TAIL_COLUMNS = ["member_count", "assessment_year", "pack"]
MEMBER_DECISION_COLUMNS = ["status", "attribute", "primary_cause"]
DATA_ERROR_PREFIX = "数据错误待核实："
MAX_REASONS = 3


@dataclass
class IdentifyResult:
    households: pd.DataFrame
    members: pd.DataFrame
    summary: pd.DataFrame
    causes: CausesReport
    quota: pd.DataFrame | None
    coverage: dict[str, Any]
    findings: pd.DataFrame
    counts: dict[str, Any]
    provenance: dict[str, Any]
    excluded: pd.Series = field(default_factory=lambda: pd.Series(dtype=bool))
    evaluation: Any = None  # the engine's Evaluation (derived fields, rule results), for reassess and exit
    notes: list[str] = field(default_factory=list)  # warnings for the user (also in provenance["notes"])

    def to_json(self, outputs: list[str] | None = None) -> dict[str, Any]:
        """The machine-readable summary printed by ``fupin identify --json``."""
        cov = self.coverage
        return {
            "counts": self.counts,
            "outputs": list(outputs or []),
            "provenance": self.provenance,
            "coverage": {
                "households_without_responsible_person": len(cov["households_without_responsible_person"])
                if cov.get("has_responsible_person") else None,
                "villages_without_task_force": len(cov["villages_without_task_force"]) if cov.get("has_task_force") else None,
            },
            "quota": None if self.quota is None else records(self.quota),
        }


_records = records  # name used by core.exit


# ---- pack and provenance -------------------------------------------------------------------
def pack_info(pack: Any) -> dict[str, str]:
    """name, version, title and content hash of a loaded pack (tolerant of the model's layout)."""
    meta = getattr(pack, "meta", None) or getattr(pack, "pack", None) or pack
    info = {k: str(getattr(pack, k, None) or getattr(meta, k, None) or "") for k in ("name", "version", "title")}
    info["content_hash"] = str(getattr(pack, "content_hash", None) or getattr(pack, "sha256", None) or "")
    return info


def pack_label(pack: Any) -> str:
    if getattr(pack, "ident", None):
        return str(pack.ident)
    info = pack_info(pack)
    return f"{info['name']}@{info['version']}" if info["version"] else info["name"]


def parameters_used(ev: Any) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for name, pv in sorted((getattr(ev, "params", None) or {}).items()):
        value = getattr(pv, "value", pv)
        out[name] = {
            "value": value if isinstance(value, (int, float, str, bool, list)) or value is None else str(value),
            "year": getattr(pv, "year", None),
            "region": getattr(pv, "region", None),
            "source": getattr(pv, "source", None),
            "verified": getattr(pv, "verified", True),
            "label": getattr(pv, "label", None),
        }
    return out


def provenance(roster: Any, pack: Any, ev: Any, year: int, region: str | None, *, version: str, run_time: str,
               command: str = "identify", options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``roster``: a Roster, or any object with its ``sources`` (the commands that read several inputs)."""
    return {
        "tool": "fupin",
        "version": version,
        "command": command,
        "pack": pack_info(pack),
        "inputs": [{"name": s.name, "sha256": s.sha256, "format": s.format, "sheets": list(s.sheets), "layout": s.layout,
                    **({"column_map": s.column_map} if getattr(s, "column_map", "") else {})}
                   for s in roster.sources],
        "year": year,
        "region": region if region is not None else (getattr(ev, "region", None) or _pack_region(pack)),
        "run_time": run_time,
        "parameters": parameters_used(ev),
        "options": dict(options or {}),
        "not_evaluated": not_evaluated_used(ev, COMMAND_KINDS.get(command)),
    }


# the rule kinds whose decisions each command writes (a rule of another kind not evaluated does not concern it)
IDENTIFY_KINDS = ("criterion", "exclusion", "status", "attribute", "cause", "cause_check", "measure", "estimate", "check")
COMMAND_KINDS = {
    "identify": IDENTIFY_KINDS,
    "reassess": (*IDENTIFY_KINDS, "household_exit"),
    "exit": ("household_exit",),
    "monitor": ("monitoring", "risk", "elimination"),
}


def not_evaluated_lines(prov: dict[str, Any]) -> list[str]:
    """One warning line per rule not evaluated (terminal), from a provenance block."""
    lines = []
    for r in prov.get("not_evaluated") or []:
        confirmed = "（已用 --allow-missing 确认）" if r.get("allowed") else ""
        lines.append(f"规则 {r['rule']}（{r['label']}）未评估：{r['reason']}，{r['households_affected']:,} 户的结果可能因此不同{confirmed}")
    return lines


def not_evaluated_used(ev: Any, kinds: Any = None) -> list[dict[str, Any]]:
    """Rules (of ``kinds``) not evaluated for lack of a roster column (engine/inputs.py), for --json and 说明."""
    rules = getattr(ev, "not_evaluated_rules", None)
    return [r.to_dict(ev.pack) for r in rules(kinds)] if rules else []


def _pack_region(pack: Any) -> str | None:
    meta = getattr(pack, "meta", None) or pack
    return getattr(meta, "region", None)


# ---- findings → households -----------------------------------------------------------------
def error_reasons(roster: Roster, findings: pd.DataFrame) -> pd.Series:
    """Per household index: the error findings' messages (first few, joined), NA where none."""
    hh = roster.households
    errors = findings[findings["severity"] == "error"]
    out = pd.Series(pd.NA, index=hh.index, dtype=object)
    if errors.empty:
        return out
    hid = errors["household_id"].astype(str)
    has_id = hid != ""
    # findings without a household id: match the household by (file, sheet, row) of a member or household row
    if (~has_id).any():
        hid = hid.copy()
        lookup = _row_lookup(roster)
        keys = list(zip(errors["file"], errors["sheet"], errors["row"].astype("Int64").astype(object)))
        hid.loc[~has_id] = [lookup.get(k, "") for k, use in zip(keys, ~has_id) if use]
    msgs = pd.DataFrame({"hid": hid, "text": errors["column"].where(errors["column"] != "", errors["check"]) + "：" + errors["message"]})
    msgs = msgs[msgs["hid"] != ""].drop_duplicates()
    grouped = msgs.groupby("hid", sort=False)["text"].agg(
        lambda s: "；".join(s.iloc[:MAX_REASONS]) + (f" 等 {len(s)} 项" if len(s) > MAX_REASONS else ""))
    mapped = hh["household_id"].astype(object).map(grouped)
    return mapped.where(mapped.notna(), pd.NA)


def _row_lookup(roster: Roster) -> dict[tuple[Any, ...], str]:
    frames = []
    for df in (roster.households, roster.members):
        if len(df) and SOURCE_ROW in df.columns and "household_id" in df.columns:
            frames.append(pd.DataFrame({
                "file": df[SOURCE_FILE].astype(str) if SOURCE_FILE in df else "",
                "sheet": df[SOURCE_SHEET].astype(object).fillna("").astype(str) if SOURCE_SHEET in df else "",
                "row": df[SOURCE_ROW].astype("Int64").astype(object), "hid": df["household_id"].astype(str)}))
    if not frames:
        return {}
    both = pd.concat(frames, ignore_index=True).drop_duplicates(["file", "sheet", "row"])
    return dict(zip(zip(both["file"], both["sheet"], both["row"]), both["hid"]))


def stop_on_errors(findings: pd.DataFrame, source: str, path: str | None = None) -> None:
    """DataError (exit 1) when there are error findings; the hint names ``fupin validate <path>``."""
    counts = count_by_severity(findings)
    if counts["error"]:
        hh = findings.loc[findings["severity"] == "error", "household_id"]
        n_hh = hh[hh != ""].nunique()
        e = DataError(
            f"{source}: {counts['error']} data errors in {n_hh} households; identification stopped",
            f"run `fupin validate {path or source}` to see and fix them, or add --allow-errors to mark those households 待核实",
        )
        errors = findings[findings["severity"] == "error"]
        first_kind = (errors["check"] != "read.duplicate_household").to_numpy()  # the same household twice: said first
        first = errors.iloc[np.argsort(first_kind, kind="stable")].head(5)
        if not first_kind.all():
            e.hint = ("the same household is in two files or sheets (each place named below): keep it in one place "
                      f"(delete the other rows) or correct its 户编号; then `fupin validate {path or source}`")
        e.problems = [f"  {r.file} {(r.sheet + '!') if r.sheet else ''}{'' if pd.isna(r.row) else r.row}: {r.message}"
                      for r in first.itertuples()]
        if counts["error"] > len(first):
            e.problems.append(f"  … {counts['error'] - len(first)} more")
        raise e


# ---- the pipeline --------------------------------------------------------------------------
def identify(
    roster: Roster,
    pack: Any,
    year: int,
    region: str | None = None,
    *,
    allow_errors: bool = False,
    quota: Quota | None = None,
    findings: pd.DataFrame | None = None,
    version: str = "",
    run_time: str = "",
    options: dict[str, Any] | None = None,
    progress: Any = None,
    population: pd.DataFrame | None = None,
    policy: Any = None,
) -> IdentifyResult:
    """Identify poor households; see the module docstring.  ``progress(step)`` is called per stage."""
    from fupin_cli.engine import evaluate
    from fupin_cli.engine.decide import identification

    step = progress or (lambda name: None)
    if findings is None:  # validate() includes the reader's notes (roster.notes)
        from fupin_cli.checks import validate

        step("validate")
        findings = validate(roster, year=year)
    source = _source_name(roster)
    if not allow_errors:
        paths = list(dict.fromkeys(str(s.path) for s in roster.sources))
        stop_on_errors(findings, source, " ".join(paths) if 1 < len(paths) <= 3 else paths[0] if paths else None)
    step("evaluate")
    ev = evaluate(roster, pack, year=year, region=region, policy=policy)
    from fupin_cli.checks.pack import evaluation_findings  # the pack's check rules, as `fupin validate` runs them
    from fupin_cli.findings import concat_findings

    findings = concat_findings([findings, evaluation_findings(ev, roster)])
    decisions = identification(ev)
    step("decide")
    codes = ev.household_codes() if hasattr(ev, "household_codes") else None
    households = register_households(roster, ev, decisions, year, pack, codes=codes)
    # data errors (--allow-errors) → 待核实 with the findings as the reason
    reasons = error_reasons(roster, findings)
    has_err = reasons.notna().to_numpy()
    if has_err.any():
        _to_pending(households, has_err, DATA_ERROR_PREFIX + reasons[has_err].astype(str))
    quota_report = None
    notes: list[str] = []
    if quota is not None:
        frame = quota_frame(households, ev)
        notes += quota_notes(frame, quota)
        status, why, quota_report = apply_quota(frame, quota)
        moved = (status != households["status"].astype(object)).to_numpy()
        if moved.any():
            _to_pending(households, moved, why[moved].astype(str))
    members = register_members(roster, households, codes=codes)
    excluded = excluded_mask(ev).reindex(households.index, fill_value=False)
    counts = closing_counts(roster, households, findings, excluded)
    summary = area_summary(households, population)
    if population is not None:  # 贫困发生率 over the registered population (--population)
        total = summary.iloc[-1]
        counts["people"] = int(total["people"])
        counts["incidence"] = None if pd.isna(total["incidence"]) else float(total["incidence"])
        notes = [*notes, *population_notes(summary, population)]
    prov = provenance(roster, pack, ev, year, region, version=version, run_time=run_time, options=options)
    if notes:
        prov["notes"] = list(notes)
    return IdentifyResult(
        households=households,
        members=members,
        summary=summary,
        causes=causes_report(households),
        quota=quota_report,
        coverage=coverage(households),
        findings=findings,
        counts=counts,
        provenance=prov,
        excluded=excluded,
        evaluation=ev,
        notes=notes,
    )


def _source_name(roster: Roster) -> str:
    if roster.sources:
        names = list(dict.fromkeys(s.name for s in roster.sources))
        return names[0] if len(names) == 1 else "、".join(names[:3]) + (f" 等 {len(names)} 个文件" if len(names) > 3 else "")
    hh = roster.households
    if SOURCE_FILE in hh.columns and len(hh):
        return str(hh[SOURCE_FILE].iloc[0])
    return "roster"


def _to_pending(households: pd.DataFrame, mask: Any, reason: pd.Series) -> None:
    households.loc[mask, "status"] = STATUS_PENDING
    households.loc[mask, "attribute"] = pd.NA
    households.loc[mask, "not_identified_reason"] = reason.to_numpy()


def _text(s: pd.Series) -> pd.Series:
    """Decision text (str, categorical or object) → ``str`` with blank → missing (vectorised)."""
    if isinstance(s.dtype, pd.CategoricalDtype):  # labels converted once, then taken by code
        labels = pd.array([str(c) for c in s.cat.categories], dtype="str")
        text = pd.Series(labels.take(s.cat.codes.to_numpy(), allow_fill=True), index=s.index)
    elif str(s.dtype) == "str":
        text = s
    else:
        text = s.astype(object).astype("str")
    return text.where(text.str.strip().str.len() > 0)


def _arrow_ids(s: pd.Series) -> Any:
    """A text column as a pyarrow array (no copy when the column is Arrow-backed)."""
    import pyarrow as pa

    text = s if str(s.dtype) == "str" else s.astype(object).astype("str")
    arr = getattr(text.array, "_pa_array", None)
    if arr is None:
        arr = pa.array(text.to_numpy(dtype=object, na_value=None), type=pa.string())
    return arr


def _positions(keys: Any, value_set: Any) -> np.ndarray:
    """Position in ``value_set`` (first occurrence) of every key, −1 when absent or missing (C++ hashing)."""
    import pyarrow.compute as pc

    pos = pc.index_in(keys, value_set=value_set, skip_nulls=True)
    return np.asarray(pc.fill_null(pos, -1).to_numpy(zero_copy_only=False), dtype=np.int64)


def register_households(roster: Roster, ev: Any, decisions: pd.DataFrame, year: int, pack: Any, codes: Any = None) -> pd.DataFrame:
    """Roster columns (schema order, then passthrough, then 原表行号) + decision columns.

    ``codes`` (the evaluation's ``HouseholdCodes``) saves hashing the 户编号 again."""
    hh = roster.households
    known = [c for c in HOUSEHOLD_FIELD_NAMES if c in hh.columns]
    passthrough = [c for c in hh.columns if c not in known and not str(c).startswith("_")]
    out = hh[known + passthrough]  # a new frame; copy-on-write keeps the roster unchanged
    dec = decisions if decisions.index.equals(hh.index) else decisions.reindex(hh.index)
    for col in DECISION_COLUMNS:
        if col in dec.columns:
            out[col] = _text(dec[col])
        else:
            out[col] = pd.Series(pd.NA, index=hh.index, dtype="str")
    if "not_evaluated" in dec.columns:  # only when some rule could not be evaluated (absent columns)
        out["not_evaluated"] = _text(dec["not_evaluated"])
    out["status"] = out["status"].astype(object)
    for name, values in estimate_columns(ev).items():  # 测算 (estimate rules), e.g. relocation subsidy
        out[name] = values.reindex(hh.index)
    out["member_count"] = _member_count(roster, codes).reindex(hh.index).astype("Int64")
    out["assessment_year"] = pd.array([year] * len(out), dtype="Int64")
    out["pack"] = pack_label(pack)
    if SOURCE_ROW in hh.columns:
        out[SOURCE_ROW] = hh[SOURCE_ROW].astype("Int64")
    return out


def estimate_columns(ev: Any) -> dict[str, pd.Series]:
    """The pack's estimate rules active in the year: ``测算：<label>（<unit>）`` → value (blank where the
    rule's condition does not hold)."""
    values = getattr(ev, "values", None)
    if values is None or values.empty:
        return {}
    out = {}
    for rule_id in values.columns:
        rule = ev.rule(rule_id)
        unit = f"（{rule.unit}）" if getattr(rule, "unit", None) else ""
        out[f"测算：{rule.label}{unit}"] = values[rule_id].astype("Float64")
    return out


def _member_count(roster: Roster, codes: Any = None) -> pd.Series:
    hh = roster.households
    if roster.members.empty or "household_id" not in roster.members.columns:
        return pd.Series(pd.NA, index=hh.index, dtype="Int64")
    if codes is not None:
        return pd.Series(codes.member_counts(), index=hh.index).astype("Int64")
    import numpy as np
    import pyarrow.compute as pc

    ids = _arrow_ids(hh["household_id"])
    uniq = pc.unique(ids)
    member_pos = _positions(_arrow_ids(roster.members["household_id"]), uniq)
    counts = np.bincount(member_pos[member_pos >= 0], minlength=len(uniq))
    own = _positions(ids, uniq)
    return pd.Series(np.where(own >= 0, counts[np.clip(own, 0, None)], 0), index=hh.index).astype("Int64")


def register_members(roster: Roster, households: pd.DataFrame, codes: Any = None) -> pd.DataFrame:
    """Members (schema order, passthrough) with their household's area and decision columns.

    ``codes`` (the evaluation's ``HouseholdCodes`` over the same rows) saves hashing the 户编号 again."""
    m = roster.members
    area_cols = [c for c in ("township", "village", "head_name") if c in households.columns]
    if m.empty:
        cols = ["household_id", *area_cols, *[c for c in MEMBER_FIELD_NAMES if c in m.columns], *MEMBER_DECISION_COLUMNS]
        return pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    known = [c for c in MEMBER_FIELD_NAMES if c in m.columns]
    passthrough = [c for c in m.columns if c not in known and c != "household_id" and not str(c).startswith("_")]
    out = m[["household_id", *known, *passthrough]]  # a new frame; copy-on-write keeps the roster unchanged
    # each member's household row (first row of its 户编号), −1 when the household is unknown
    if codes is not None and len(codes.member_bucket) == len(out) and len(codes.household_bucket) == len(households):
        pos = codes.household_row_of_members()
    else:
        pos = _positions(_arrow_ids(out["household_id"]), _arrow_ids(households["household_id"]))

    def household_values(c: str) -> Any:
        col = households[c]
        if col.dtype == object:  # text kept as objects (status): the members get ``str``
            col = col.astype("str")
        return col.array.take(pos, allow_fill=True)

    for c in reversed(area_cols):
        out.insert(1, c, household_values(c))
    for c in MEMBER_DECISION_COLUMNS:
        out[c] = household_values(c)
    if SOURCE_ROW in m.columns:
        out[SOURCE_ROW] = m[SOURCE_ROW].astype("Int64")
    return out.reset_index(drop=True)


def quota_frame(households: pd.DataFrame, ev: Any) -> pd.DataFrame:
    """Inputs of the quota ranking: income per capita, labourers and people per household."""
    evh = getattr(ev, "households", households)
    income = _first_col(evh, ("income_pc", "income_per_capita"), households.index)
    labourers = _first_col(evh, ("labourer_count",), households.index)
    return pd.DataFrame({
        "household_id": households["household_id"],
        "township": households.get("township", pd.NA),
        "village": households.get("village", ""),
        "status": households["status"],
        "people": household_people(households),
        "income": income,
        "labourers": labourers,
    }, index=households.index)


def _first_col(df: pd.DataFrame, names: tuple[str, ...], index: pd.Index) -> pd.Series:
    for n in names:
        if n in df.columns:
            return pd.to_numeric(df[n], errors="coerce").reindex(index)
    return pd.Series(float("nan"), index=index)


def excluded_mask(ev: Any) -> pd.Series:
    """Households where an exclusion in ``veto`` mode (一票否决) active in the year fired
    (exclusions in ``review`` mode make a household 待核实 and are not counted here)."""
    from fupin_cli.engine.decide import exclusions_by_mode

    ids = [r.id for r in exclusions_by_mode(ev)[0]]
    if not ids:
        return pd.Series(False, index=ev.households.index)
    return ev.results[ids].fillna(False).astype(bool).any(axis=1)


def closing_counts(roster: Any, households: pd.DataFrame, findings: pd.DataFrame, excluded: pd.Series) -> dict[str, Any]:
    t = totals(households)
    sev = count_by_severity(findings) if len(findings) else {"error": 0, "warning": 0, "info": 0}
    status = households["status"].astype(object)
    return {
        "households_read": len(roster.households),
        "members_read": len(roster.members),
        "findings": sev,
        "poor_households": t["poor_households"],
        "poor_people": t["poor_people"],
        "pending_households": int((status == STATUS_PENDING).sum()),
        "not_poor_households": int((status == STATUS_NOT_POOR).sum()),
        "excluded_households": int(excluded.sum()),
        "people": t["people"],
        "incidence": t["incidence"],
    }


# ---- 公示 list and explain helpers ---------------------------------------------------------
def publicity_list(households: pd.DataFrame, members: pd.DataFrame | None = None) -> pd.DataFrame:
    """Poor households for the 公示名单, the head's ID masked (first 6 + last 4)."""
    from fupin_cli.idnumber import mask_series

    poor = households[(households["status"].astype(object) == STATUS_POOR).to_numpy()]
    head_id = poor["head_id_number"].astype(object) if "head_id_number" in poor.columns else pd.Series(None, index=poor.index, dtype=object)
    if members is not None and len(members) and "id_number" in members.columns and "relation" in members.columns:
        heads = members[(members["relation"].astype(object) == "户主").to_numpy()].drop_duplicates("household_id")
        from_members = poor["household_id"].map(dict(zip(heads["household_id"], heads["id_number"])))
        head_id = head_id.where(head_id.notna(), from_members)
    head_name = poor["head_name"].astype(object) if "head_name" in poor.columns else pd.Series(None, index=poor.index, dtype=object)
    return pd.DataFrame({
        "household_id": poor["household_id"].astype(object),
        "township": poor["township"].astype(object) if "township" in poor.columns else None,
        "village": poor["village"].astype(object) if "village" in poor.columns else None,
        "head_name": head_name,
        "head_id_masked": mask_series(head_id).astype(object).where(head_id.notna(), None),
        "household_size": household_people(poor),
        "attribute": poor["attribute"].astype(object),
        "primary_cause": poor["primary_cause"].astype(object),
    }).reset_index(drop=True)


def find_household(roster: Roster, household_id: str) -> Any:
    """Index label of household ``household_id``; UsageError with close 户编号 when unknown."""
    ids = roster.households["household_id"].astype(object).astype(str)
    wanted = str(household_id).strip()
    hits = ids.index[(ids.str.strip() == wanted).to_numpy()]
    if len(hits):
        return hits[0]
    known = [h for h in pd.unique(ids.dropna()).tolist() if isinstance(h, str)]  # a blank 户编号 is no candidate
    close = difflib.get_close_matches(wanted, known, n=3, cutoff=0.6)
    hint = f"did you mean {', '.join(close)}?" if close else "check the 户编号 column of the roster"
    raise UsageError(f"household {wanted} is not in {_source_name(roster)}", hint)


def one_household(roster: Roster, household_id: str) -> Roster:
    """A roster holding only one household and its members (for explain)."""
    idx = find_household(roster, household_id)
    hid = roster.households.loc[idx, "household_id"]
    members = roster.members
    if len(members) and "household_id" in members.columns:
        members = members[(members["household_id"].astype(object) == hid).to_numpy()]
    return Roster(roster.households.loc[[idx]], members, roster.sources, roster.passthrough,
                  empty_findings(), roster.source_headers)


# ---- --assist: 帮扶责任人 per household, 驻村工作队 per village ---------------------------
HOUSEHOLD_ASSIST = ("responsible_person", "responsible_unit", "responsible_phone")
VILLAGE_ASSIST = ("task_force", "first_secretary")


def with_assistance(roster: Roster, table: pd.DataFrame, source: str = "assist") -> Roster:
    """Roster with 帮扶 columns filled from a side table (values there win over the roster's).

    Rows with a 户编号 give household values (帮扶责任人, 帮扶单位, 帮扶责任人电话); rows with a
    行政村 (and optionally 乡镇) give village values (驻村工作队, 第一书记) for all its households.
    """
    from fupin_cli.errors import InputError
    from fupin_cli.schema import field_for_header

    names = {c: field_for_header(c) for c in table.columns}
    t = table.rename(columns={c: n for c, n in names.items() if n}).loc[:, lambda d: ~d.columns.duplicated()]
    useful = [c for c in (*HOUSEHOLD_ASSIST, *VILLAGE_ASSIST) if c in t.columns]
    if not useful or not ({"household_id", "village"} & set(t.columns)):
        raise InputError(f"{source}: no 户编号 + 帮扶责任人 or 行政村 + 驻村工作队 columns",
                         "name the columns 户编号, 帮扶责任人 (per household) and/or 行政村, 驻村工作队 (per village)")
    hh = roster.households.copy()
    if "household_id" in t.columns:
        rows = t[~blank(t["household_id"])].drop_duplicates("household_id", keep="last").set_index("household_id")
        for c in HOUSEHOLD_ASSIST:
            if c in rows.columns:
                new = hh["household_id"].astype(object).map(rows[c].where(~blank(rows[c])))
                old = hh[c].astype(object) if c in hh.columns else pd.Series(pd.NA, index=hh.index, dtype=object)
                hh[c] = new.where(new.notna(), old).astype("str")
    if "village" in t.columns:
        vrows = t[~blank(t["village"])]
        keys = ["township", "village"] if "township" in vrows.columns and "township" in hh.columns \
            and (~blank(vrows["township"])).any() else ["village"]
        vrows = vrows.drop_duplicates(keys, keep="last")
        for c in VILLAGE_ASSIST:
            if c in vrows.columns:
                vals = vrows[c].where(~blank(vrows[c]))
                idx = pd.MultiIndex.from_frame(vrows[keys].astype(str))
                look = pd.Series(vals.to_numpy(), index=idx)
                new = pd.Series(look.reindex(pd.MultiIndex.from_frame(hh[keys].astype(object).fillna("").astype(str))).to_numpy(),
                                index=hh.index)
                old = hh[c].astype(object) if c in hh.columns else pd.Series(pd.NA, index=hh.index, dtype=object)
                hh[c] = new.where(new.notna(), old).astype("str")
    return Roster(hh, roster.members, roster.sources, roster.passthrough, roster.notes, roster.source_headers)
