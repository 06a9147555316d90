"""Header text → canonical field, with polarity, unit scale, how it matched and how sure we are.

Pure functions over the vocabulary in :mod:`fupin_cli.schema` (aliases, ``INVERTED_ALIASES``,
``VARIANT_PREFIXES`` / ``VARIANT_SUFFIXES``, ``NEGATION_PREFIXES``, ``UNITS``, ``FIELD_UNITS``).
No I/O.  Order of the attempts (the first that gives one field wins), documented in
``docs/reading.md`` "Matching headers":

1. ``label`` / ``alias``: the normalised header is a field's Chinese label, English name or alias;
   ``inverted alias``: it is a label stating the other case (``房屋是否安全`` → 是否危房, inverted);
2. ``note dropped``: the same after dropping a trailing bracket note (``人均纯收入(2015年)``);
3. ``variant``: yes/no fields only — a variant prefix stripped (``是否为X``, ``有无X``, ``家庭成员中有无X`` …),
   then also a suffix (``X户``, ``X情况``), and compared with the aliases reduced the same way;
   when that names a member flag and its household meaning, the prefix decides
   (``有无``/``是否有``/``家庭成员有`` → the household field);
4. ``negation``: yes/no fields only — ``未X`` / ``无X`` / ``非X`` / ``不X`` where X matches: inverted.

Anything else is unmatched; :func:`candidates` lists the fields it most resembles with a
similarity in 0..1 (``LIKELY`` cutoff).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from functools import lru_cache

from fupin_cli.schema import (
    FIELD_UNITS,
    FIELDS,
    HEADER_ALIASES,
    HOUSEHOLD_MEANING,
    INVERTED_ALIASES,
    NEGATION_PREFIXES,
    UNITS,
    VARIANT_PREFIXES,
    VARIANT_SUFFIXES,
    normalise_header,
    split_header,
)

# similarity at or above which an unmatched column "likely" holds a field (see candidates())
LIKELY = 0.6
CONFIDENCE = {"label": 1.0, "alias": 1.0, "inverted alias": 1.0, "map": 1.0, "note dropped": 0.95,
              "variant": 0.9, "negation": 0.85}


@dataclass(frozen=True)
class Match:
    field: str
    inverted: bool = False  # the column states the other case: values are negated
    scale: float = 1.0  # factor applied to numbers (unit in the label, e.g. 万元 → 10,000)
    unit: str = ""  # unit written in the label
    method: str = "alias"  # label | alias | inverted alias | note dropped | variant | negation | map
    level_hint: str = ""  # "household" when the label says the household *has* such a member/item
    unit_problem: str = ""  # a unit that does not fit the field (not applied)

    @property
    def confidence(self) -> float:
        return CONFIDENCE.get(self.method, 0.9)

    @property
    def polarity(self) -> str:
        return "inverted" if self.inverted else "same"


_ZH_LABELS = {normalise_header(f.zh): f.name for f in FIELDS.values()} | {f.name: f.name for f in FIELDS.values()}
_INVERTED = {normalise_header(a): name for name, labels in INVERTED_ALIASES.items() for a in labels}
_PREFIXES = sorted(VARIANT_PREFIXES, key=lambda p: -len(p[0]))
_NOTE = re.compile(r"\([^()]*\)$")


def _strip_prefix(key: str) -> tuple[str, str] | None:
    for prefix, hint in _PREFIXES:
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):], hint
    return None


def _reduce(key: str) -> str:
    """A label's stem: one variant prefix and then one suffix removed (是否为低保户 → 低保)."""
    stripped = _strip_prefix(key)
    stem = stripped[0] if stripped else key
    for suffix in VARIANT_SUFFIXES:
        if stem.endswith(suffix) and len(stem) > len(suffix) + 1:
            return stem[: -len(suffix)]
    return stem


def _build_stems() -> dict[str, set[tuple[str, bool]]]:
    stems: dict[str, set[tuple[str, bool]]] = {}
    for key, name in HEADER_ALIASES.items():
        if FIELDS[name].kind == "bool":
            stems.setdefault(_reduce(key), set()).add((name, False))
    for key, name in _INVERTED.items():
        stems.setdefault(_reduce(key), set()).add((name, True))
    return stems


_STEMS = _build_stems()


def _direct(key: str) -> tuple[str, bool, str] | None:
    if key in HEADER_ALIASES:
        return HEADER_ALIASES[key], False, "label" if key in _ZH_LABELS else "alias"
    if key in _INVERTED:
        return _INVERTED[key], True, "inverted alias"
    return None


def _variant(key: str) -> tuple[str, bool, str] | None:
    """Variant forms of a yes/no label (step 3); (field, inverted, level hint)."""
    stripped = _strip_prefix(key)
    hint = stripped[1] if stripped else ""
    if stripped:
        hit = _direct(stripped[0])
        if hit and FIELDS[hit[0]].kind == "bool":
            return _prefer(hit[0], hint), hit[1], hint
    options = _STEMS.get(_reduce(key), set())
    if not options:
        return None
    if len(options) > 1:
        options = _by_level(options, hint)
    if len(options) != 1:
        return None
    name, inverted = next(iter(options))
    return name, inverted, hint


def _prefer(name: str, hint: str) -> str:
    """A member flag named by a household-hinting prefix (有无低保) → its household meaning."""
    if hint == "household" and name in HOUSEHOLD_MEANING:
        return HOUSEHOLD_MEANING[name]
    return name


def _by_level(options: set[tuple[str, bool]], hint: str) -> set[tuple[str, bool]]:
    names = {n for n, _ in options}
    pairs = {(m, h) for m, h in HOUSEHOLD_MEANING.items() if m in names and h in names}
    if len(pairs) != 1 or len(names) != 2:
        return options
    member, household = next(iter(pairs))
    keep = household if hint == "household" else member
    return {o for o in options if o[0] == keep}


def _find(key: str) -> tuple[str, bool, str, str] | None:
    """(field, inverted, method, level hint) for a normalised header, or None."""
    hit = _direct(key)
    if hit:
        return hit[0], hit[1], hit[2], ""
    noted = _NOTE.sub("", key)
    if noted != key and noted:
        hit = _direct(noted)
        if hit:
            return hit[0], hit[1], "note dropped", ""
        key = noted
    v = _variant(key)
    if v:
        return v[0], v[1], "variant", v[2]
    for neg in NEGATION_PREFIXES:
        if key.startswith(neg) and len(key) > len(neg) + 1:
            rest = key[len(neg):]
            hit = _direct(rest)
            if hit and FIELDS[hit[0]].kind == "bool":
                return hit[0], not hit[1], "negation", ""
            v = _variant(rest)
            if v:
                return v[0], not v[1], "negation", v[2]
    return None


@lru_cache(maxsize=8192)
def match_header(text: str) -> Match | None:
    """The field a header cell names, or None (see the module docstring)."""
    key, unit = split_header(text)
    if not key:
        return None
    found = _find(key)
    if found is None:
        return None
    name, inverted, method, hint = found
    scale, problem = unit_scale(name, unit)
    return Match(name, inverted, scale, unit, method, hint, problem)


def unit_scale(name: str, unit: str) -> tuple[float, str]:
    """(factor, problem) of a label's unit for a field: 万元 on a money field → 10,000."""
    if not unit:
        return 1.0, ""
    f = FIELDS[name]
    base = FIELD_UNITS.get(name) or ("元" if f.kind == "money" else None)
    dim, factor = UNITS[unit]
    if base is None:
        return 1.0, "" if f.kind in ("int", "float") else f"单位“{unit}”对{f.zh}无意义, 未使用"
    if dim != base:
        return 1.0, f"单位“{unit}”不是{f.zh}的单位 ({base}), 未换算"
    return factor, ""


def candidates(text: str, exclude: AbstractSet[str] = frozenset(), limit: int = 3) -> list[tuple[str, float]]:
    """Fields an unmatched header most resembles, best first, similarity ≥ :data:`LIKELY`.

    Similarity is the best ``difflib`` ratio between the header's stem and any alias stem of
    the field; a stem of at least two characters contained in the other counts at least 0.7.
    """
    key = normalise_header(text)
    if not key or len(key) < 2:
        return []
    stem = _reduce(_NOTE.sub("", key) or key)
    best: dict[str, float] = {}
    for alias, name in _alias_stems():
        if name in exclude:
            continue
        score = difflib.SequenceMatcher(None, stem, alias).ratio()
        if len(alias) >= 2 and len(stem) >= 2 and (alias in stem or stem in alias):
            score = max(score, 0.7 + 0.3 * min(len(alias), len(stem)) / max(len(alias), len(stem)))
        if score > best.get(name, 0.0):
            best[name] = score
    ranked = sorted(((n, round(s, 2)) for n, s in best.items() if s >= LIKELY), key=lambda x: (-x[1], x[0]))
    return ranked[:limit]


@lru_cache(maxsize=1)
def _alias_stems() -> tuple[tuple[str, str], ...]:
    out = {(_reduce(k), n) for k, n in HEADER_ALIASES.items() if not k.isascii()}
    out |= {(_reduce(k), n) for k, n in _INVERTED.items()}
    return tuple(sorted(out))
