"""Column maps (``--columns map.yaml``, ``fupin columns --write-map``): how each header is read.

A map is YAML, validated by pydantic (``extra="forbid"``); every problem is reported as
``file:line:col: key.path: message`` with the position machinery of the rule-pack loader::

    version: 1
    columns:
      - {header: 房屋是否安全, field: unsafe_housing, polarity: inverted}
      - {header: 人均纯收入(万元), field: 人均纯收入, scale: 10000}
      - {header: 备注, field: null}                   # not a field: kept as it is
      - {header: 电话, field: phone, sheet: 青山村}     # only on that sheet (file: … likewise)

``header`` is compared after :func:`fupin_cli.schema.normalise_header` (spaces, brackets,
answer hints and units do not matter).  ``field`` is a field name, its Chinese label or any label the
reader understands — an inverted one (``房屋是否安全``: polarity inverted implied) or one with a unit
(``人均纯收入(万元)``: scale 10000 unless given) — or null.
``scale`` defaults to the unit written in the header.  Keys ``where``, ``method``, ``confidence``
and ``candidates`` are written by ``--write-map`` for the reader's information and ignored.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, ValidationError, field_validator, model_validator

from fupin_cli.errors import UsageError
from fupin_cli.headers import Match, match_header, unit_scale
from fupin_cli.schema import FIELDS, normalise_header, split_header


class ColumnMapError(UsageError):
    """A column map file that cannot be used; ``problems`` lists every ``file:line:col`` problem."""

    def __init__(self, message: str, hint: str | None = None, problems: list[str] | None = None):
        super().__init__(message, hint)
        self.problems = list(problems or [])


_BY_LABEL = {f.zh: f.name for f in FIELDS.values()}


class Entry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    header: str
    field: str | None
    polarity: Literal["same", "inverted"] = "same"
    scale: float | None = None
    sheet: str | None = None
    file: str | None = None
    # written by --write-map for information, ignored when read
    where: str | None = None
    method: str | None = None
    confidence: float | None = None
    candidates: list[str] | None = None

    @model_validator(mode="before")
    @classmethod
    def _field_as_the_reader_reads_it(cls, data: Any) -> Any:
        """``field`` may be any label the reader understands, an inverted-polarity one (房屋是否安全 → unsafe_housing,
        polarity inverted) or one with a unit (人均纯收入(万元) → income_per_capita, scale 10000)."""
        if not isinstance(data, dict) or not isinstance(data.get("field"), str):
            return data
        v = data["field"]
        if v in FIELDS or v in _BY_LABEL:
            return data
        m = match_header(v)
        if m is None:
            return data  # the field validator says it is unknown, with close names
        data = {**data, "field": m.field}
        if m.inverted:
            if data.get("polarity", "inverted") != "inverted":
                raise ValueError(f"field {v!r} is the inverted label of {m.field} ({FIELDS[m.field].zh}): "
                                 f"write field: {m.field} with polarity, or leave polarity out")
            data["polarity"] = "inverted"
        if m.scale != 1.0 and data.get("scale") is None:
            data["scale"] = m.scale
        return data

    @field_validator("field")
    @classmethod
    def _known_field(cls, v: str | None) -> str | None:
        if v is None:
            return None
        name = v if v in FIELDS else _BY_LABEL.get(v)
        if name is None:
            from fupin_cli.engine.expr import did_you_mean

            raise ValueError(f"unknown field {v!r}{did_you_mean(v, [*FIELDS, *_BY_LABEL])}")
        return name

    @field_validator("scale")
    @classmethod
    def _positive(cls, v: float | None) -> float | None:
        if v is not None and not v > 0:
            raise ValueError("scale must be a positive number")
        return v


class MapFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = 1
    columns: list[Entry]


@dataclass
class ColumnMap:
    entries: list[Entry]
    name: str = ""
    sha256: str = ""
    used: set[int] = field(default_factory=set)  # indexes of entries that matched a column

    @property
    def label(self) -> str:
        return f"{self.name} (sha256 {self.sha256})"

    def matcher(self, file: str, sheet: str):
        """header text → Match for one sheet: the map first, then the vocabulary."""
        index: dict[str, tuple[int, Entry]] = {}
        for i, e in enumerate(self.entries):
            if (e.sheet is None or e.sheet == sheet) and (e.file is None or e.file == file):
                index.setdefault(normalise_header(e.header), (i, e))

        def match(text: str) -> Match | None:
            hit = index.get(normalise_header(text))
            if hit is None:
                return match_header(text)
            i, e = hit
            self.used.add(i)
            if e.field is None:
                return None
            unit = split_header(text)[1]
            scale, problem = (e.scale, "") if e.scale is not None else unit_scale(e.field, unit)
            return Match(e.field, e.polarity == "inverted", scale, unit, "map", "", problem)

        return match

    def unused(self) -> list[Entry]:
        return [e for i, e in enumerate(self.entries) if i not in self.used]


def load_column_map(path: str | Path) -> ColumnMap:
    """Read and validate a map file (errors: :class:`ColumnMapError`, exit 2, with file:line:col)."""
    from fupin_cli.engine.loader import Origin, Problems, read_yaml

    p = Path(path)
    problems = Problems()
    data, lines = read_yaml(p, problems)
    if problems:
        raise _error(p, problems.items)
    origin = Origin(p, data, "", lines)
    if not isinstance(data, dict):
        raise _error(p, [f"{p}:1:1: a column map is a mapping with 'columns:' (a list of {{header, field}})"])
    from fupin_cli.engine.loader import plain

    try:
        model = MapFile.model_validate(plain(data))
    except ValidationError as e:
        for err in e.errors():
            loc = list(err["loc"])
            if err["type"] == "extra_forbidden":
                msg = f"unknown key {loc[-1]!r} (allowed: {', '.join(Entry.model_fields if len(loc) > 2 else MapFile.model_fields)})"
            elif err["type"] == "missing":
                msg = f"missing required key {loc[-1]!r}"
            else:
                msg = err["msg"].replace("Value error, ", "")
            problems.add(origin, loc, msg, value=err["type"] not in ("extra_forbidden", "missing"))
        raise _error(p, problems.items) from None
    return ColumnMap(model.columns, p.name, hashlib.sha256(p.read_bytes()).hexdigest())


def _error(p: Path, items: list[str]) -> ColumnMapError:
    first = items[0] if items else str(p)
    return ColumnMapError(f"column map {p.name}: {first}", "fix the map file (see docs/reading.md \"Column maps\")",
                          problems=items[1:])


def map_text(columns: list[dict]) -> str:
    """A column map (YAML) from ``SourceInfo.columns``: one flow-style entry per distinct header."""
    lines = [
        "# fupin column map, written by `fupin columns --write-map`.",
        "# Correct `field` (a field name or its 中文 label; null = not a field, kept as it is), `polarity`",
        "# (same | inverted: the column states the other case) and `scale` (unit factor), then pass",
        "# `--columns THIS_FILE` to any reading command.  Add `sheet:` or `file:` to limit an entry.",
        "version: 1",
        "columns:",
    ]
    seen: set[str] = set()
    for c in columns:
        key = normalise_header(c["header"])
        if key in seen:
            continue
        seen.add(key)
        entry = {"header": c["header"], "field": c["field"]}
        if c["field"]:
            entry["polarity"] = c["polarity"]
            if c.get("scale", 1.0) != 1.0:
                entry["scale"] = c["scale"]
            entry["method"], entry["confidence"] = c["method"], c["confidence"]
        elif c.get("candidates"):
            entry["candidates"] = [f"{n} {s:.2f}" for n, s in c["candidates"]]
        entry["where"] = c["where"]
        lines.append("  - {" + ", ".join(f"{k}: {json.dumps(v, ensure_ascii=False)}" for k, v in entry.items()) + "}")
    return "\n".join(lines) + "\n"
