"""Dated, regional parameters: lookup by region chain and the latest ``year <= Y``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from fupin_cli.engine.expr import did_you_mean
from fupin_cli.errors import RuleError

if TYPE_CHECKING:
    from fupin_cli.engine.loader import Pack


@dataclass(frozen=True)
class ParamValue:
    """One resolved parameter: the value in force for (year, region), and where it came from."""

    name: str
    label: str
    value: Any
    year: int  # the year of the value in force (<= the assessment year)
    region: str  # the region whose value was used (may be a parent of the requested one)
    source: str | None  # reference key or text
    citation: str | None  # the pack's text for the source key
    verified: bool
    unit: str | None = None
    note: str | None = None

    def value_text(self) -> str:
        return format_value(self.value)

    def text(self) -> str:
        """e.g. ``国家扶贫标准 2,855 (2015, 国家)``."""
        return f"{self.label} {self.value_text()} ({self.year}, {self.region})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def format_value(v: Any) -> str:
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, int):
        return f"{v:,}"
    if isinstance(v, float):
        return f"{v:,.0f}" if v.is_integer() else f"{v:,.2f}".rstrip("0").rstrip(".") if abs(v) >= 1 else f"{v:g}"
    if isinstance(v, list):
        return "[" + "、".join(format_value(x) for x in v) + "]"
    return str(v)


def known_regions(pack: Pack) -> set[str]:
    meta = pack.meta
    regions = {meta.region, *meta.regions, *meta.regions.values()}
    for p in pack.parameters.values():
        regions.update(e.region for e in p.model.values if e.region)
    return regions


def region_chain(pack: Pack, region: str | None) -> list[str]:
    """``重庆 → 国家``: the region, then its parents, ending at the pack's default region."""
    meta = pack.meta
    region = region or meta.region
    known = known_regions(pack)
    if region not in known:
        raise RuleError(
            f"unknown region {region!r} for rule pack {pack.name}{did_you_mean(region, known)}",
            hint="known regions: " + "、".join(sorted(known)),
        )
    chain = [region]
    while chain[-1] in meta.regions and meta.regions[chain[-1]] not in chain:
        chain.append(meta.regions[chain[-1]])
    if meta.region not in chain:
        chain.append(meta.region)
    return chain


def resolve(pack: Pack, name: str, year: int, region: str | None = None) -> ParamValue:
    """The value of parameter ``name`` in force in ``year`` for ``region``.

    Walks the region chain; in each region takes the value with the latest year <= ``year``.
    A year before the first value is a :class:`RuleError` (never a silent default).
    """
    if name not in pack.parameters:
        raise RuleError(f"unknown parameter {name!r} in rule pack {pack.name}{did_you_mean(name, pack.parameters)}")
    pdef = pack.parameters[name]
    chain = region_chain(pack, region)
    default = pack.meta.region
    for reg in chain:
        best = None
        for entry in pdef.model.values:
            if (entry.region or default) == reg and entry.year <= year and (best is None or entry.year > best.year):
                if entry.until is not None and year > entry.until:
                    continue  # a value limited in time (e.g. a national reference for one year only)
                best = entry
        if best is not None:
            src = best.source or pdef.model.source
            return ParamValue(
                name=name, label=pdef.label, value=best.value, year=best.year, region=reg, source=src,
                citation=pack.meta.sources.get(src, src) if src else None, verified=best.verified,
                unit=pdef.model.unit, note=best.note,
            )
    years = sorted({e.year for e in pdef.model.values if (e.region or default) in chain})
    first = f"; its first value is for {years[0]}" if years and years[0] > year else ""
    ended = [e for e in pdef.model.values if (e.region or default) in chain and e.until is not None and e.until < year]
    if ended:
        first += f"; the {ended[0].region or default} value ends in {ended[0].until}"
    raise RuleError(
        f"parameter {name} ({pdef.label}) has no value for year {year}, region {chain[0]}{first}",
        hint=f"add a value for {year} under parameters.{name}.values in {pdef.origin.where()}",
    )


def resolve_many(pack: Pack, names: Iterable[str], year: int, region: str | None = None) -> dict[str, ParamValue]:
    return {n: resolve(pack, n, year, region) for n in sorted(names)}


def check_era(pack: Pack, year: int) -> None:
    """A year outside the pack's ``valid_from``–``valid_until`` is a :class:`RuleError` saying why."""
    meta = pack.meta
    lo, hi = meta.valid_from, meta.valid_until
    if (lo is not None and year < lo) or (hi is not None and year > hi):
        span = f"{lo if lo is not None else '…'}–{hi if hi is not None else '…'}"
        note = f": {meta.validity_note}" if meta.validity_note else ""
        raise RuleError(
            f"rule pack {pack.name} covers the years {span}, not {year}{note}",
            hint="choose a pack for that year (fupin rules show PACK) or give --year within its years",
        )
