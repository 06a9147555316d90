"""Rule kinds → decision columns (generic over the pack: no policy constants here).

* :func:`identification` — 识别结果, 贫困户属性, 致贫原因, 帮扶措施建议, 识别依据, 未识别原因, 致贫原因核查
* :func:`household_exit`, :func:`village_exit`, :func:`county_exit` — 脱贫/退出 with 未达标原因
* :func:`monitoring` — 监测对象类别, 风险类型, 风险消除
* :func:`estimates` — numbers per household (e.g. relocation subsidy)
* :func:`check_findings` — ``check`` rules as a Findings frame (疑点)

Texts are "规则标签（决定性数值）" joined with "；".  Unknown results are never silently
false: they give 待核实 and name the missing inputs.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from pandas.arrays import BooleanArray

from fupin_cli import schema
from fupin_cli.engine.compile_pandas import FrameEvaluator, bool_array
from fupin_cli.engine.details import (
    NOT_EVALUATED,
    SEP,
    TEXT,
    DetailBuilder,
    concat,
    nonempty,
    text_const,
    text_of,
    text_scalar,
    where,
)
from fupin_cli.engine.evaluate import Evaluation
from fupin_cli.engine.model import EXCLUSION_MODES, MODE_STATUS, MODE_SUFFIX, param_ref
from fupin_cli.engine.params import region_chain, resolve_many
from fupin_cli.engine.typecheck import COUNTY_FIELDS, VILLAGE_FIELDS
from fupin_cli.errors import RuleError
from fupin_cli.findings import make_findings

if TYPE_CHECKING:
    from fupin_cli.engine.loader import Pack

EXIT_DONE, EXIT_NOT_DONE, PENDING = "脱贫", "未脱贫", schema.STATUS_PENDING
ELIMINATED, NOT_ELIMINATED = "风险消除", "未消除"
VILLAGE_DONE, VILLAGE_NOT_DONE = "退出", "未退出"
COUNTY_DONE, COUNTY_NOT_DONE = "摘帽", "未摘帽"
POOR_VILLAGE, NOT_POOR_VILLAGE = "贫困村", "非贫困村"


# ---------------------------------------------------------------------------------------
# small vectorised helpers
# ---------------------------------------------------------------------------------------
def _truth(s: pd.Series | BooleanArray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(true, false, unknown) numpy masks of a boolean Series."""
    arr = s.array if isinstance(s, pd.Series) else s
    unk = np.asarray(arr.isna())
    true = arr.to_numpy(dtype=bool, na_value=False)
    return true, ~true & ~unk, unk


def _all(cols: list[pd.Series], n: int) -> BooleanArray:
    out = bool_array(np.ones(n, bool))
    for c in cols:
        out = out & c.array
    return out


def _any(cols: list[pd.Series], n: int) -> BooleanArray:
    out = bool_array(np.zeros(n, bool))
    for c in cols:
        out = out | c.array
    return out


def join(pieces: list[Any], n: int, sep: str = SEP, dedupe: bool = False, repeated: bool = False) -> pa.Array:
    """Join per-row texts of several pieces (object or Arrow arrays, "" = nothing) with ``sep``.

    Only rows with text are touched: pieces are gathered sparsely and joined per row.
    """
    rows, texts = [], []
    for piece in pieces:
        if isinstance(piece, pa.Array):
            idx = np.flatnonzero(nonempty(piece))
            part = piece.take(pa.array(idx)) if len(idx) else None
        else:
            idx = np.flatnonzero(piece != "")
            part = text_of(piece[idx]) if len(idx) else None
        if len(idx):
            rows.append(idx)
            texts.append(part)
    return join_sparse(rows, texts, n, sep, dedupe, repeated)


def join_sparse(rows: list[np.ndarray], texts: list[Any], n: int, sep: str = SEP, dedupe: bool = False, repeated: bool = False) -> pa.Array:
    """Join texts given as (row positions, texts) pairs, in the order given, per row (Arrow text array).

    When the texts repeat (``repeated``: measures, cause names, messages), rows are joined as integer
    combinations of distinct texts and each distinct combination is written once; otherwise
    the texts are joined with C++ string kernels, one pass per position within a row."""
    if not rows:
        return text_const("", n)
    idx = np.concatenate(rows)
    txt = pa.concat_arrays([text_of(t) for t in texts])
    if repeated:
        encoded = pc.dictionary_encode(txt)
        ids = np.asarray(encoded.indices.to_numpy(zero_copy_only=False), dtype=np.int64)
        return _join_coded(idx, ids, encoded.dictionary.to_pylist(), n, sep, dedupe)
    order = None if bool(np.all(idx[1:] > idx[:-1])) else np.argsort(idx, kind="stable")
    if order is not None:
        idx = idx[order]
        txt = txt.take(pa.array(order))
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])  # first text of each row
    sizes = np.diff(np.r_[starts, len(idx)])
    acc = txt if len(starts) == len(idx) else txt.take(pa.array(starts))
    for k in range(1, int(sizes.max())):  # append the k-th text of the rows that have one (C++ joins)
        grp = sizes > k
        add = txt.take(pa.array(starts[grp] + k))
        joined = pc.binary_join_element_wise(acc.filter(pa.array(grp)), add, text_scalar(sep))
        acc = pc.replace_with_mask(acc, pa.array(grp), joined)
    if dedupe and (sizes > 1).any():
        multi = sizes > 1
        unique = [sep.join(dict.fromkeys(t.split(sep))) for t in acc.filter(pa.array(multi)).to_pylist()]
        acc = pc.replace_with_mask(acc, pa.array(multi), pa.array(unique, TEXT))
    if len(starts) == n:  # every row has text, in order
        return acc
    index = np.full(n, len(starts), dtype=np.int64)  # rows without text → ""
    index[idx[starts]] = np.arange(len(starts))
    return pa.concat_arrays([acc, pa.array([""], TEXT)]).take(pa.array(index))


def _join_coded(idx: np.ndarray, ids: np.ndarray, words: list[str], n: int, sep: str, dedupe: bool) -> pa.Array:
    """:func:`join_sparse` over text ids: each row's sequence of ids becomes a combination id."""
    order = np.argsort(idx, kind="stable")
    idx, ids = idx[order], ids[order]
    starts = np.flatnonzero(np.r_[True, idx[1:] != idx[:-1]])
    sizes = np.diff(np.r_[starts, len(idx)])
    combos: list[tuple[int, ...]] = [(w,) for w in range(len(words))]  # combination id → text ids
    combo = ids[starts].copy()
    for k in range(1, int(sizes.max())):
        grp = sizes > k
        key = combo[grp] * len(words) + ids[starts[grp] + k]
        uniq, inverse = np.unique(key, return_inverse=True)
        base = len(combos)
        combos.extend(combos[int(u) // len(words)] + (int(u) % len(words),) for u in uniq)
        combo[grp] = base + inverse.ravel()
    used, position = np.unique(combo, return_inverse=True)
    texts = []
    for c in used.tolist():
        parts = [words[w] for w in combos[c]]
        text = sep.join(parts)
        texts.append(sep.join(dict.fromkeys(text.split(sep))) if dedupe and len(parts) > 1 else text)
    index = np.full(n, len(texts), dtype=np.int64)  # rows without text → ""
    index[idx[starts]] = position.ravel()
    return pa.array(texts + [""], TEXT).take(pa.array(index))


def _rule_texts(detail_texts: Callable[[str, np.ndarray], pa.Array], rules: list[Any], masks: list[np.ndarray], n: int, prefix: str = "", suffix: dict[str, str] | None = None,
               unmet: bool = False) -> pa.Array:
    """"标签（决定性数值）" for each rule on the rows of its mask, joined with "；".

    ``detail_texts(rule_id, mask)`` gives the deciding values at the rows of ``mask`` (Arrow text);
    ``suffix``: rule id → text appended after the values (e.g. "，提交民主评议").
    ``unmet``: the rules did not hold there, and the text says so — ``未满足“标签”：决定性数值`` —
    since a label states its condition as if it held."""
    rows, texts = [], []
    for rule, mask in zip(rules, masks):
        if not mask.any():
            continue
        detail = detail_texts(rule.id, mask)
        rows.append(np.flatnonzero(mask))
        tail = (suffix or {}).get(rule.id, "")
        if unmet:  # not evaluated (absent column): 无法核实, not 未满足
            head = f"{prefix}未满足“{rule.label}”"
            ne = np.asarray(pc.starts_with(detail, NOT_EVALUATED + "：").to_numpy(zero_copy_only=False), dtype=bool)
            text = where(nonempty(detail), concat(head + "：", detail, tail), head + tail)
            if ne.any():
                text = where(ne, concat(f"{prefix}无法核实“{rule.label}”：", pc.utf8_slice_codeunits(detail, len(NOT_EVALUATED) + 1)), text)
            texts.append(text)
        else:
            head = prefix + rule.label
            texts.append(where(nonempty(detail), concat(head + "（", detail, "）" + tail), head + tail))
    return join_sparse(rows, texts, n)


def _str(values: Any) -> Any:
    """Arrow text → pandas ``str`` array (no copy); anything else unchanged."""
    return pd.array(values, dtype="str") if isinstance(values, pa.Array) else values


def _categorical(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    uniq = list(dict.fromkeys(categories))
    remap = np.array([uniq.index(c) for c in categories] + [-1], dtype=np.int64)
    return pd.Categorical.from_codes(remap[np.where(codes < 0, len(categories), codes)], categories=uniq)


def _by_priority(rules: list[Any]) -> list[Any]:
    return [r for _, _, r in sorted((getattr(r, "priority", 100), i, r) for i, r in enumerate(rules))]


def _first_true(ev_results: pd.DataFrame, rules: list[Any], n: int) -> np.ndarray:
    """Index (into ``rules``) of the first rule whose result is true, −1 when none."""
    if not rules:
        return np.full(n, -1, dtype=np.int64)
    conds = [_truth(ev_results[r.id])[0] for r in rules]
    return np.select(conds, np.arange(len(rules)), default=-1).astype(np.int64)


def _str_series(values: np.ndarray, index: pd.Index) -> pd.Series:
    return pd.Series(values, index=index, dtype="str")


# ---------------------------------------------------------------------------------------
# identification (精准识别)
# ---------------------------------------------------------------------------------------
IDENTIFICATION_COLUMNS = ["status", "attribute", "primary_cause", "secondary_causes", "measures", "basis", "not_identified_reason", "cause_check"]


def identification(ev: Evaluation) -> pd.DataFrame:
    """Status, attribute, causes, measures, basis and reasons for every household."""
    res, n, index = ev.results, len(ev.households), ev.households.index
    criteria = ev.rules_of("criterion")
    if not criteria:
        raise RuleError(f"rule pack {ev.pack.ident} has no criterion rules for {ev.year}", hint="add rules with kind: criterion")
    crit_all = [r for r in criteria if r.mode == "all"]
    crit_any = [r for r in criteria if r.mode == "any"]
    exclusions, reviews = exclusions_by_mode(ev)
    all_ok = _all([res[r.id] for r in crit_all], n)
    any_ok = _any([res[r.id] for r in crit_any], n) if crit_any else bool_array(np.ones(n, bool))
    elig_t, elig_f, _elig_u = _truth(all_ok & any_ok)
    ex_t, ex_f, _ex_u = _truth(_any([res[r.id] for r in exclusions], n))
    excluded = ex_t
    failed = ~ex_t & elig_f
    poor = elig_t & ex_f
    pending = ~(excluded | failed | poor)
    status = np.select([poor, pending], [0, 1], default=2)
    details = ev.detail_texts

    # 未识别原因: exclusions that fired, else the criteria that failed, else what is missing
    reason_ex = _rule_texts(details, exclusions, [excluded & _truth(res[r.id])[0] for r in exclusions], n)
    any_group_false = _truth(any_ok)[1] if crit_any else np.zeros(n, bool)
    any_group_unk = _truth(any_ok)[2] if crit_any else np.zeros(n, bool)
    fail_masks = [failed & _truth(res[r.id])[1] for r in crit_all] + [failed & any_group_false & _truth(res[r.id])[1] for r in crit_any]
    reason_fail = _rule_texts(details, crit_all + crit_any, fail_masks, n, unmet=True)
    unk_masks = (
        [pending & _truth(res[r.id])[2] for r in crit_all]
        + [pending & any_group_unk & _truth(res[r.id])[2] for r in crit_any]
        + [pending & elig_t & _truth(res[r.id])[2] for r in exclusions]
    )
    reason_unk = _rule_texts(details, crit_all + crit_any + exclusions, unk_masks, n)
    reason_unk = where(nonempty(reason_unk), concat("待核实：", reason_unk), reason_unk)
    reason = where(excluded, reason_ex, where(failed, reason_fail, where(pending, reason_unk, "")))
    # 识别依据: the criteria that fired
    basis = _rule_texts(details, criteria, [poor & _truth(res[r.id])[0] for r in criteria], n)

    status, reason, reviewed = _review_exclusions(ev, reviews, status, reason, excluded, n)
    status, basis, reason = _status_overrides(ev, status, basis, reason, poor, excluded | reviewed, n)
    is_poor = status == 0
    basis = where(is_poor, basis, "")
    reason = where(is_poor, "", reason)

    attribute = _attribute(ev, is_poor, n)
    primary, secondary, involved = _causes(ev, status != 2, n)
    measures = _measures(ev, involved, status != 2, n)
    cause_check = _cause_checks(ev, n)
    extra = {}
    if ev.not_evaluated:
        affected = identification_affected(ev, status, excluded, is_poor, involved, n)
        ev.affected.update(affected)
        extra["not_evaluated"] = _str(not_evaluated_column(ev, affected, n))
    return pd.DataFrame(
        {
            "status": pd.Categorical.from_codes(status, categories=list(schema.STATUSES)),
            "attribute": attribute,
            "primary_cause": primary,
            "secondary_causes": _str(secondary),
            "measures": _str(measures),
            "basis": _str(basis),
            "not_identified_reason": _str(reason),
            "cause_check": _str(cause_check),
            **extra,
        },
        index=index,
    ).astype({c: "str" for c in ("secondary_causes", "measures", "basis", "not_identified_reason", "cause_check", *extra)})


# ---------------------------------------------------------------------------------------
# rules not evaluated (absent roster columns, engine/inputs.py): who they could have changed
# ---------------------------------------------------------------------------------------
def identification_affected(ev: Evaluation, status: np.ndarray, excluded: np.ndarray, is_poor: np.ndarray,
                            involved: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    """Per not-evaluated rule: the households whose identification it could have changed.

    A not-evaluated rule never fires; had it fired (or, for a criterion, been met):
    an exclusion would have excluded a 贫困户 / 待核实 household; a criterion could have made a
    household not excluded eligible; a status rule would have changed a household no earlier
    status rule decided; an attribute rule a poor household whose attribute comes from a later
    rule; a cause, measure or cause check any household that gets causes."""
    out: dict[str, np.ndarray] = {}
    applies = status != 2
    status_rules = _by_priority(ev.rules_of("status"))
    first_status = _first_true(ev.results, status_rules, n) if status_rules else np.full(n, -1)
    attr_rules = _by_priority([r for r in ev.rules_of("attribute") if not r.default])
    first_attr = _first_true(ev.results, attr_rules, n)
    for rule_id, mask in ev.not_evaluated.items():
        r = ev.rule(rule_id)
        if r.level != "households":
            continue
        if r.kind == "criterion":
            could = ~excluded & ~is_poor
        elif r.kind == "exclusion":
            could = applies & ~excluded
        elif r.kind == "status":
            i = status_rules.index(r)
            could = (first_status < 0) | (first_status > i)
            if r.value in schema.STATUSES:
                could &= status != list(schema.STATUSES).index(r.value)
        elif r.kind == "attribute":
            i = attr_rules.index(r) if r in attr_rules else len(attr_rules)
            could = is_poor & ((first_attr < 0) | (first_attr > i))
        elif r.kind == "measure":
            could = applies & involved.get(r.cause, np.zeros(n, bool))
        elif r.kind in ("cause", "cause_check", "estimate"):
            could = applies
        else:
            continue
        out[rule_id] = mask & could
    return out


def not_evaluated_column(ev: Evaluation, affected: dict[str, np.ndarray], n: int) -> pa.Array:
    """未评估规则: "标签（未评估：花名册没有X列，无法核实）" for every rule that could have changed the row."""
    from fupin_cli.engine.details import not_evaluated_text
    from fupin_cli.engine.inputs import field_label as input_label

    rows, texts = [], []
    for rule_id, mask in affected.items():
        if mask.any():
            r = ev.rule(rule_id)
            fields = ev.analysis.rule_fields[rule_id]
            idx = np.flatnonzero(mask)
            rows.append(idx)
            texts.append(text_const(f"{r.label}（{not_evaluated_text(fields, lambda f: input_label(f, ev.pack))}）", len(idx)))
    return join_sparse(rows, texts, n, dedupe=True, repeated=True)


def rule_mode(ev: Evaluation, rule: Any) -> str:
    """The mode word of an exclusion (``mode``) or of a status rule (``value``), resolved for the
    run's year and region when written as ``param.NAME`` (a status label is returned as is)."""
    text = rule.mode if rule.kind == "exclusion" else rule.value
    name = param_ref(text)
    if name is None:
        return cast(str, text)
    value = ev.params[name].value
    allowed = EXCLUSION_MODES if rule.kind == "exclusion" else (*MODE_STATUS, *schema.STATUSES)
    if value not in allowed:
        raise RuleError(f"parameter {name} = {value!r} ({ev.year}, {ev.params[name].region}) is not a mode of rule {rule.id}",
                        hint="allowed: " + " | ".join(allowed))
    return cast(str, value)


def exclusions_by_mode(ev: Evaluation) -> tuple[list[Any], list[Any]]:
    """Active exclusion rules split into vetoes (一票否决) and reviews (待核实, 民主评议); ``ignore`` drops a rule."""
    vetoes: list[Any] = []
    reviews: list[Any] = []
    for r in ev.rules_of("exclusion"):
        mode = rule_mode(ev, r)
        (vetoes if mode == "veto" else reviews if mode == "review" else []).append(r)
    return vetoes, reviews


def _review_exclusions(ev: Evaluation, reviews: list[Any], status: np.ndarray, reason: pa.Array, excluded: np.ndarray,
                       n: int) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Exclusions in ``review`` mode: a household that is poor or 待核实 (and not vetoed) with one
    of them becomes 待核实, its reason ``标签（数值），提交民主评议`` first.  Returns the new status,
    reason and the mask of households that a review exclusion hit (whatever their status)."""
    if not reviews:
        return status, reason, np.zeros(n, bool)
    fired = [_truth(ev.results[r.id])[0] for r in reviews]
    hit = np.logical_or.reduce(fired)  # any review exclusion fired (guards `unless_excluded` status rules)
    hits = [f & ~excluded & (status != 2) for f in fired]
    reviewed = np.logical_or.reduce(hits)
    if not reviewed.any():
        return status, reason, hit
    texts = _rule_texts(ev.detail_texts, reviews, hits, n, suffix={r.id: MODE_SUFFIX["review"] for r in reviews})
    status = np.where(reviewed, 1, status)
    reason = where(reviewed, join([texts, where(reviewed, reason, "")], n), reason)
    return status, reason, hit


def _status_overrides(ev: Evaluation, status: np.ndarray, basis: pa.Array, reason: pa.Array, poor: np.ndarray, guarded: np.ndarray,
                      n: int) -> tuple[np.ndarray, pa.Array, pa.Array]:
    """``status`` rules override the status (lowest priority number wins); a rule with
    ``unless_excluded`` does not apply where ``guarded`` (an exclusion hit the household); a
    rule whose value is a mode word (``review``/``poor``/``veto``, possibly from a parameter)
    gives that mode's status, ``ignore`` turns it off.  Its text comes first in the reason/basis."""
    rules, values, suffix = [], [], {}
    for r in _by_priority(ev.rules_of("status")):
        word = rule_mode(ev, r)
        value = MODE_STATUS.get(word, word)  # a mode word, or a status label
        if value is None:
            continue
        rules.append(r)
        values.append(value)
        if word in MODE_SUFFIX:
            suffix[r.id] = MODE_SUFFIX[word]
    if not rules:
        return status, basis, reason
    conds = [_truth(ev.results[r.id])[0] & (~guarded if r.unless_excluded else True) for r in rules]
    first = np.select(conds, np.arange(len(rules)), default=-1).astype(np.int64)
    code_of = {s: i for i, s in enumerate(schema.STATUSES)}
    override = first >= 0
    new_status = np.array([code_of[v] for v in values] + [0])[np.where(override, first, len(rules))]
    status = np.where(override, new_status, status)
    texts = _rule_texts(ev.detail_texts, rules, [first == i for i in range(len(rules))], n, suffix=suffix)
    to_poor = override & (status == 0)
    basis = where(to_poor, join([texts, where(poor, basis, "")], n), where(status == 0, basis, ""))
    reason = where(override & (status != 0), join([texts, reason], n), where(status == 0, "", reason))
    return status, basis, reason


def _attribute(ev: Evaluation, applies: np.ndarray, n: int) -> pd.Categorical:
    rules = ev.rules_of("attribute")
    ordered = _by_priority([r for r in rules if not r.default])
    defaults = [r for r in rules if r.default]
    codes = _first_true(ev.results, ordered, n)
    values = [r.value for r in ordered] + [r.value for r in defaults]
    if defaults:
        codes = np.where(codes < 0, len(ordered), codes)
    codes = np.where(applies, codes, -1)
    return _categorical(codes, values or ["一般贫困户"])


def _causes(ev: Evaluation, applies: np.ndarray, n: int) -> tuple[pd.Categorical, np.ndarray, dict[str, np.ndarray]]:
    """Primary cause (Categorical), secondary causes (text joined with 、) and, per cause,
    whether it is the household's primary or a secondary cause."""
    rules = ev.rules_of("cause")
    causes: dict[str, tuple[int, list[Any]]] = {}  # cause → (best priority, rules)
    for i, r in enumerate(rules):
        best, rs = causes.get(r.cause, (10**9, []))
        causes[r.cause] = (min(best, r.priority * 10**6 + i), rs + [r])
    ordered = sorted(causes, key=lambda c: causes[c][0])
    fired = np.zeros((n, len(ordered)), dtype=bool)
    for j, c in enumerate(ordered):
        for r in causes[c][1]:
            fired[:, j] |= _truth(ev.results[r.id])[0]
    fired &= applies[:, None]
    other = "其他"
    labels = ordered + ([other] if other not in ordered else [])
    other_code = labels.index(other)
    rank = np.cumsum(fired, axis=1)
    if ordered:
        primary = np.select([fired[:, j] & (rank[:, j] == 1) for j in range(len(ordered))], np.arange(len(ordered)), default=other_code)
    else:
        primary = np.full(n, other_code)
    primary = np.where(applies, primary, -1)
    k = ev.pack.meta.max_secondary_causes
    names = np.array(labels, dtype=object)
    pieces = []
    involved = {c: fired[:, j] & (rank[:, j] <= k + 1) for j, c in enumerate(ordered)}
    if other not in involved:
        involved[other] = applies & (primary == other_code)
    for m in range(2, k + 2):
        sel = fired & (rank == m)
        has = sel.any(axis=1)
        if not has.any():
            break
        idx = sel.argmax(axis=1)
        pieces.append(np.where(has, names[idx], "").astype(object))
    secondary = join(pieces, n, "、", repeated=True)
    return _categorical(primary.astype(np.int64), labels), secondary, involved


def _measures(ev: Evaluation, involved: dict[str, np.ndarray], applies: np.ndarray, n: int) -> pa.Array:
    """帮扶措施建议: the measures of every measure rule whose cause is a cause of the household."""
    rows, texts = [], []
    for r in ev.rules_of("measure"):
        if r.cause not in involved:
            continue
        mask = applies & involved[r.cause] & _truth(ev.results[r.id])[0]
        if mask.any():
            idx = np.flatnonzero(mask)
            rows.append(idx)
            texts.append(text_const("；".join(r.measures), len(idx)))
    return join_sparse(rows, texts, n, "；", dedupe=True, repeated=True)


def _cause_checks(ev: Evaluation, n: int) -> pa.Array:
    rules = ev.rules_of("cause_check")
    if not rules:
        return text_const("", n)
    hh = ev.households
    recorded = hh["recorded_primary_cause"].astype("str") if "recorded_primary_cause" in hh.columns else pd.Series([pd.NA] * n, dtype="str")
    rows, texts = [], []
    for r in rules:
        mask = (recorded == r.cause).to_numpy(dtype=bool, na_value=False) & _truth(ev.results[r.id])[0]
        if mask.any():
            idx = np.flatnonzero(mask)
            rows.append(idx)
            texts.append(text_const(r.message, len(idx)))
    return join_sparse(rows, texts, n, repeated=True)


# ---------------------------------------------------------------------------------------
# "all must hold" kinds: household exit, elimination, village and county exit
# ---------------------------------------------------------------------------------------
def _all_must_hold(results: pd.DataFrame, rules: list[Any], details: Callable[[str, np.ndarray], pa.Array], n: int, done: str, not_done: str) -> tuple[np.ndarray, np.ndarray]:
    ok_t, ok_f, ok_u = _truth(_all([results[r.id] for r in rules], n))
    result = np.where(ok_t, done, np.where(ok_f, not_done, PENDING)).astype(object)
    unmet = _rule_texts(details, rules, [_truth(results[r.id])[1] for r in rules], n, unmet=True)
    unknown = _rule_texts(details, rules, [ok_u & _truth(results[r.id])[2] for r in rules], n)
    unmet = where(ok_u, where(nonempty(unknown), concat("待核实：", unknown), unknown), unmet)
    return result, unmet


def household_exit(ev: Evaluation) -> pd.DataFrame:
    """脱贫 when every household_exit rule holds; 未达标原因 lists the unmet ones with values."""
    rules = ev.rules_of("household_exit")
    if not rules:
        raise RuleError(f"rule pack {ev.pack.ident} has no household_exit rules for {ev.year}", hint="add rules with kind: household_exit")
    n = len(ev.households)
    result, unmet = _all_must_hold(ev.results, rules, ev.detail_texts, n, EXIT_DONE, EXIT_NOT_DONE)
    return pd.DataFrame({"exit_result": result, "exit_unmet": _str(unmet)}, index=ev.households.index).astype("str")


def _frame_exit(kind: str, frame: pd.DataFrame, pack: Pack, year: int, region: str | None, fields: dict[str, Any], done: str, not_done: str) -> pd.DataFrame:
    region = region or pack.meta.region
    region_chain(pack, region)
    rules = [r for r in pack.rules_of(kind, year)]
    if not rules:
        raise RuleError(f"rule pack {pack.ident} has no {kind} rules for {year}", hint=f"add rules with kind: {kind}")
    from fupin_cli.engine.evaluate import used_params

    level = "county" if kind == "county_exit" else "village"
    params = resolve_many(pack, used_params(pack, year, levels=(level,)), year, region)
    types = {k: t for k, (_, t) in fields.items()}
    fe = FrameEvaluator(frame, types, {k: v.value for k, v in params.items()})
    n = len(frame)
    results = pd.DataFrame(
        {r.id: pd.Series(fe.eval_bool(pack.conditions[r.id]) if r.id in pack.conditions else bool_array(np.ones(n, bool)), index=frame.index) for r in rules},
        index=frame.index,
    )
    labels = {k: lab for k, (lab, _) in fields.items()}
    builder = DetailBuilder(fe, types, lambda name: labels.get(name, name), params)

    def details(rule_id: str, mask: np.ndarray) -> pa.Array:
        return builder.rule_text_arrow(pack.conditions.get(rule_id), np.flatnonzero(mask))

    result, unmet = _all_must_hold(results, rules, details, n, done, not_done)
    return pd.DataFrame({"exit_result": result, "exit_unmet": _str(unmet)}, index=frame.index).astype("str")


def with_exit_incidence(frame: pd.DataFrame) -> pd.DataFrame:
    """The county frame with ``exit_incidence`` filled: 综合贫困发生率, else 贫困发生率."""
    given = frame["exit_incidence"] if "exit_incidence" in frame.columns else pd.Series(np.nan, index=frame.index)
    comp = frame["comprehensive_incidence"] if "comprehensive_incidence" in frame.columns else pd.Series(np.nan, index=frame.index)
    inc = frame["incidence"] if "incidence" in frame.columns else pd.Series(np.nan, index=frame.index)
    filled = pd.to_numeric(given, errors="coerce").fillna(pd.to_numeric(comp, errors="coerce")).fillna(pd.to_numeric(inc, errors="coerce"))
    return frame.assign(exit_incidence=filled.astype("Float64"))


def village_exit(frame: pd.DataFrame, pack: Pack, year: int, region: str | None = None) -> pd.DataFrame:
    """贫困村退出 per row of a village frame (columns: typecheck.VILLAGE_FIELDS)."""
    return _frame_exit("village_exit", frame, pack, year, region, VILLAGE_FIELDS, VILLAGE_DONE, VILLAGE_NOT_DONE)


def poor_village(frame: pd.DataFrame, pack: Pack, year: int, region: str | None = None) -> pd.DataFrame | None:
    """贫困村识别 per row of a village frame: 贫困村 when every ``poor_village`` rule holds, 非贫困村 when
    one fails (``exit_unmet`` lists the failing ones), 待核实 when an input is missing.  None when
    the pack has no ``poor_village`` rules for the year (not an error: the kind is optional)."""
    if not pack.rules_of("poor_village", year):
        return None
    return _frame_exit("poor_village", frame, pack, year, region, VILLAGE_FIELDS, POOR_VILLAGE, NOT_POOR_VILLAGE)


def county_exit(frame: pd.DataFrame, pack: Pack, year: int, region: str | None = None) -> pd.DataFrame:
    """贫困县摘帽 per row of a county frame (columns: typecheck.COUNTY_FIELDS).

    ``exit_incidence`` (the incidence the county is assessed on) defaults to 综合贫困发生率 where
    the frame has it, else the registry ``incidence``."""
    frame = with_exit_incidence(frame)
    return _frame_exit("county_exit", frame, pack, year, region, COUNTY_FIELDS, COUNTY_DONE, COUNTY_NOT_DONE)


# ---------------------------------------------------------------------------------------
# monitoring (防止返贫监测), estimates, checks
# ---------------------------------------------------------------------------------------
def monitoring(ev: Evaluation) -> pd.DataFrame:
    """监测对象类别 (first firing monitoring rule by priority), 风险类型, 风险消除."""
    n, index, res = len(ev.households), ev.households.index, ev.results
    rules = _by_priority(ev.rules_of("monitoring"))
    first = _first_true(res, rules, n)
    categories = np.array([r.category for r in rules] + [""], dtype=object)
    category = categories[np.where(first >= 0, first, len(rules))]
    any_unknown = _truth(_any([res[r.id] for r in rules], n))[2] if rules else np.zeros(n, bool)
    category = np.where((first < 0) & any_unknown, PENDING, category)
    basis = _rule_texts(ev.detail_texts, rules, [first == i for i in range(len(rules))], n)
    risks = ev.rules_of("risk")
    risk_pieces = [np.where(_truth(res[r.id])[0], r.risk_type, "").astype(object) for r in risks]
    risk_types = join(risk_pieces, n, "、", dedupe=True, repeated=True)
    elim = ev.rules_of("elimination")
    if elim:
        elim_result, elim_unmet = _all_must_hold(res, elim, ev.detail_texts, n, ELIMINATED, NOT_ELIMINATED)
    else:
        elim_result, elim_unmet = np.full(n, "", object), np.full(n, "", object)
    return pd.DataFrame(
        {
            "monitoring_result": category,
            "monitoring_basis": _str(basis),
            "risk_types": _str(risk_types),
            "elimination_result": elim_result,
            "elimination_unmet": _str(elim_unmet),
        },
        index=index,
    ).astype("str")


def estimates(ev: Evaluation, labels: bool = False) -> pd.DataFrame:
    """Estimate rules' values per household (Float64, missing where the rule does not apply)."""
    out = ev.values.copy()
    if labels:
        out.columns = [ev.pack.rule(c).label for c in out.columns]
    return out


def check_findings(ev: Evaluation) -> pd.DataFrame:
    """``check`` rules that fired, as a Findings frame (one row per household/member and rule)."""
    records: list[pd.DataFrame] = []
    for r in ev.rules_of("check"):
        if r.over == "members":
            frame, fired = ev.members, ev.member_results[r.id]
            det = ev.member_details_for
        else:
            frame, fired = ev.households, ev.results[r.id]
            det = ev.details_for
        mask = _truth(fired)[0]
        if not mask.any():
            continue
        sub = frame[mask]
        detail = det([r.id], mask)[r.id].to_numpy(dtype=object)
        message = np.where(detail != "", r.message + "（" + detail + "）", r.message)
        records.append(pd.DataFrame({
            "severity": r.severity,
            "check": r.id,
            "file": _col(sub, schema.SOURCE_FILE),
            "sheet": _col(sub, schema.SOURCE_SHEET),
            "row": _col(sub, schema.SOURCE_ROW, pd.NA),
            "column": "",
            "household_id": _col(sub, "household_id"),
            "message": message,
            "hint": r.hint,
        }))
    if not records:
        return make_findings([])
    return make_findings(pd.concat(records, ignore_index=True))


def _col(frame: pd.DataFrame, name: str, default: Any = "") -> Any:
    if name in frame.columns:
        return frame[name].to_numpy(dtype=object)
    return default
