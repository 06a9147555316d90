"""Load a rule pack folder: YAML (ruamel, positions kept) → pydantic models → typed IR.

Every problem of a pack (YAML syntax, model errors, expression syntax and type errors,
unknown fields/parameters, duplicate ids, parameter problems) is collected as
``file:line:col: key.path: message (did you mean …?)`` and raised once as a
:class:`~fupin_cli.errors.RuleError` with ``problems``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import math
import os
import re
import stat
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from pydantic import TypeAdapter, ValidationError
from ruamel.yaml import YAML
from ruamel.yaml.error import MarkedYAMLError

from fupin_cli import schema
from fupin_cli.engine import ir
from fupin_cli.engine import typecheck as tc
from fupin_cli.engine.expr import MAX_NUMBER, ExprError, caret, did_you_mean, parse
from fupin_cli.engine.model import (
    EXCLUSION_MODES,
    MODE_STATUS,
    RULE_KINDS,
    AnyRule,
    Derived,
    DerivedAgg,
    FundsSpec,
    MeasuresSpec,
    MpiSpec,
    PackMeta,
    Parameter,
    Rule,
    param_ref,
)
from fupin_cli.errors import RuleError

TOP_KEYS = ("pack", "parameters", "derived", "rules", "measures", "funds")
RULES_PATH_ENV = "FUPIN_RULES_PATH"
_RULE_ADAPTER: TypeAdapter[Any] = TypeAdapter(Rule)  # type: ignore[arg-type]  # Rule is a Union built at runtime (model.py)
_DERIVED_ADAPTER: TypeAdapter[Any] = TypeAdapter(Derived)
_SOURCE_KEY = re.compile(r"^[A-Za-z0-9_.\-]+$")


# ---------------------------------------------------------------------------------------
# positions and problems
# ---------------------------------------------------------------------------------------
@dataclass
class Origin:
    """Where an item of a pack was written: file, its YAML node and its key path."""

    file: Path
    node: Any  # ruamel CommentedMap of the item (has .lc)
    path: str  # e.g. "rules.3"
    lines: list[str] = field(default_factory=list, repr=False)

    @property
    def line(self) -> int:
        lc = getattr(self.node, "lc", None)
        return lc.line + 1 if lc is not None else 1

    def where(self) -> str:
        return f"{display_path(self.file)}:{self.line}"


def display_path(path: Path) -> str:
    try:
        rel = os.path.relpath(path)
        return rel if not rel.startswith("..") else str(path)
    except ValueError:
        return str(path)


def _position(node: Any, parts: list[Any], value: bool = False) -> tuple[int, int]:
    """(line, col), 0-based, of the deepest existing node along ``parts``."""
    pos = (node.lc.line, node.lc.col) if hasattr(node, "lc") else (0, 0)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        if isinstance(node, dict) and part in node:
            lc = node.lc  # type: ignore[attr-defined]  # ruamel's CommentedMap (a dict) carries line/col
            pos = lc.value(part) if (last and value) else lc.key(part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            pos = node.lc.item(part)  # type: ignore[attr-defined]  # ruamel's CommentedSeq (a list)
            node = node[part]
        else:
            continue
    return pos


class Problems:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, origin: Origin, parts: list[Any], message: str, *, value: bool = False, col_offset: int | None = None, expr: str | None = None) -> None:
        line, col = _position(origin.node, parts, value=value or col_offset is not None)
        extra = ""
        if col_offset is not None and expr is not None:
            line, col = _expr_position(origin.lines, line, col, col_offset, expr)
            extra = "\n" + caret(expr, col_offset)
        keypath = ".".join(str(p) for p in [origin.path, *parts] if p != "")
        self.items.append(f"{display_path(origin.file)}:{line + 1}:{col + 1}: {keypath}: {message}{extra}")

    def add_raw(self, text: str) -> None:
        self.items.append(text)

    def __bool__(self) -> bool:
        return bool(self.items)


def _expr_position(lines: list[str], line: int, col: int, offset: int, expr: str) -> tuple[int, int]:
    """Position of character ``offset`` of an expression whose YAML value starts at (line, col)."""
    if line >= len(lines):
        return line, col
    text = lines[line]
    ch = text[col] if col < len(text) else ""
    if ch in "'\"" and "\n" not in expr:
        return line, col + 1 + offset
    if ch in "|>":  # block scalar: the text starts on the next non-empty line
        for nxt in range(line + 1, len(lines)):
            if lines[nxt].strip():
                indent = len(lines[nxt]) - len(lines[nxt].lstrip())
                before = expr[:offset]
                return nxt + before.count("\n"), (indent + offset if "\n" not in before else indent + len(before.rsplit("\n", 1)[1]))
        return line, col
    if "\n" not in expr and text[col:].startswith(expr[: max(1, min(len(expr), 8))]):
        return line, col + offset
    return line, col


# ---------------------------------------------------------------------------------------
# the loaded pack
# ---------------------------------------------------------------------------------------
@dataclass
class ParamDef:
    name: str
    model: Parameter
    origin: Origin
    type: tc.Ty = tc.NUM
    entry_origins: list[Origin] = field(default_factory=list)  # one per value

    @property
    def label(self) -> str:
        return self.model.label or self.name


@dataclass
class Pack:
    """A loaded, validated rule pack (bases merged in)."""

    meta: PackMeta
    path: Path
    parameters: dict[str, ParamDef]
    derived: list[Any]  # DerivedAgg | DerivedExpr, in evaluation order
    rules: list[Any]  # AnyRule, base rules first (overrides in place)
    conditions: dict[str, ir.Node]  # rule id → typed `when` (absent = always true)
    values: dict[str, ir.Node]  # estimate rule id → typed value expression
    derived_ir: dict[str, dict[str, ir.Node]]  # derived id → {"where"|"of"|"expr": node}
    field_types: dict[str, tc.Ty]  # derived id → type
    origins: dict[str, Origin]  # "rule:<id>", "derived:<id>", "param:<name>" → origin
    sha256: str
    files: list[Path]
    chain: list[str]  # pack names, base first
    # ``measures:`` (fupin measures): income field, line parameter, dated MPI specs; None when the pack has none
    measures: MeasuresSpec | None = None
    mpi_ir: dict[str, ir.Node] = field(default_factory=dict)  # "<spec id>.<indicator id>" → typed `deprived`
    funds: FundsSpec | None = None  # ``funds:`` (fupin funds): items, statuses, standards; None when the pack has none

    def mpi_spec(self, year: int) -> MpiSpec:
        """The MPI specification in force in ``year`` (RuleError when there is none)."""
        specs = [s for s in (self.measures.mpi if self.measures else []) if s.active(year)]
        if not specs:
            have = ", ".join(f"{s.id} ({s.from_}–{s.until or ''})" for s in (self.measures.mpi if self.measures else []))
            raise RuleError(f"rule pack {self.name} has no MPI specification (measures.mpi) for {year}"
                            + (f"; it has {have}" if have else ""),
                            hint="add one under measures.mpi (from/until) in the pack's measures.yaml; see docs/measures.md")
        return specs[0]

    @property
    def name(self) -> str:
        return self.meta.name

    @property
    def version(self) -> str:
        return self.meta.version

    @property
    def ident(self) -> str:
        """``name@version`` for the register's 规则包 column."""
        return f"{self.meta.name}@{self.meta.version}"

    @property
    def tests_dir(self) -> Path:
        return self.path / "tests"

    def rule(self, rule_id: str) -> AnyRule:
        for r in self.rules:
            if r.id == rule_id:
                return cast(AnyRule, r)
        raise KeyError(rule_id)

    def rules_of(self, kind: str, year: int | None = None) -> list[Any]:
        return [r for r in self.rules if r.kind == kind and (year is None or r.active(year))]

    def derived_label(self, name: str) -> str:
        for d in self.derived:
            if d.id == name:
                return d.label or name
        return schema.label(name)

    def provenance(self) -> dict[str, Any]:
        return {"pack": self.meta.name, "version": self.meta.version, "sha256": self.sha256, "chain": self.chain}


# ---------------------------------------------------------------------------------------
# finding a pack
# ---------------------------------------------------------------------------------------
def rules_dirs() -> list[Path]:
    """Folders searched for shipped packs: $FUPIN_RULES_PATH, the repo's rules/, package data."""
    dirs: list[Path] = []
    for part in os.environ.get(RULES_PATH_ENV, "").split(os.pathsep):
        if part.strip():
            dirs.append(Path(part).expanduser())
    here = Path(__file__).resolve()
    dirs.append(here.parents[3] / "rules")  # source checkout / editable install: <root>/rules
    dirs.append(here.parents[1] / "rules")  # installed package data: fupin_cli/rules
    return dirs


def shipped_packs() -> list[str]:
    names: set[str] = set()
    for d in rules_dirs():
        if d.is_dir():
            names.update(p.name for p in d.iterdir() if (p / "pack.yaml").is_file() or (p.is_dir() and any(p.glob("*.yaml"))))
    return sorted(names)


def find_pack(ref: str | os.PathLike[str], relative_to: Path | None = None) -> Path:
    """Resolve a pack reference (a folder path, or the name of a shipped pack) to a folder."""
    text = str(ref)
    candidates: list[Path] = []
    p = Path(text).expanduser()
    if relative_to is not None and not p.is_absolute():
        candidates.append((relative_to / p).resolve())
    candidates.append(p)
    looks_like_path = "/" in text or "\\" in text or text.startswith(".")
    if not looks_like_path:
        candidates.extend(d / text for d in rules_dirs())
    for c in candidates:
        if c.is_dir():
            return c.resolve()
    if p.is_file():
        raise RuleError(f"rule pack {text!r} is a file: give the pack's folder (which holds pack.yaml)")
    known = shipped_packs()
    hint = did_you_mean(text, known) if not looks_like_path else ""
    raise RuleError(
        f"rule pack {text!r} not found{hint}",
        hint=("shipped packs: " + ", ".join(known) if known else "no shipped packs found") + f"; or give a folder path, or set {RULES_PATH_ENV}",
    )


# ---------------------------------------------------------------------------------------
# reading the YAML
# ---------------------------------------------------------------------------------------
@dataclass
class _Raw:
    """One pack folder's items, validated by the models, not yet merged or compiled."""

    path: Path
    files: list[Path]
    meta: PackMeta | None = None
    meta_origin: Origin | None = None
    parameters: dict[str, ParamDef] = field(default_factory=dict)
    derived: list[tuple[Any, Origin]] = field(default_factory=list)
    rules: list[tuple[Any, Origin]] = field(default_factory=list)
    chain: list[str] = field(default_factory=list)
    all_files: list[tuple[str, Path]] = field(default_factory=list)  # (pack name, file) for hashing
    measures: tuple[MeasuresSpec, Origin] | None = None
    funds: tuple[FundsSpec, Any] | None = None  # the Origin; after a merge a dict: item id → (Origin, index)

    @property
    def pack_origin(self) -> Origin:
        """Where ``pack:`` is: set with ``meta``, which every caller has checked first."""
        if self.meta_origin is None:
            raise AssertionError(f"{self.path}: no 'pack:' origin")
        return self.meta_origin


def plain(node: Any) -> Any:
    """ruamel round-trip data → plain Python (dict, list, str, int, float, bool, date)."""
    if isinstance(node, dict):
        return {str(k) if not isinstance(k, (int, float, bool)) else k: plain(v) for k, v in node.items()}
    if isinstance(node, list):
        return [plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, (dt.date, dt.datetime)):
        return node
    return node


def _yaml() -> YAML:
    y = YAML(typ="rt")
    y.allow_duplicate_keys = False
    return y


MAX_PACK_FILE_BYTES = 2 << 20  # a pack file is a few dozen KB; bigger is a mistake or an attack
MAX_YAML_DEPTH = 40  # nesting of mappings/sequences (shipped packs: 7)
# MAX_NUMBER (from engine/expr.py, 1e15) bounds any number in a pack (money, ages, shares ...): beyond it, a typo or an attack
_PLAIN_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "map", "seq", "timestamp")}


def _unsafe_yaml(text: str) -> tuple[int, int, str] | None:
    """(line, col, message), 0-based, of the first construct a pack may not use, from YAML events
    (before anything is built): aliases (``*name``: billion laughs, merge keys), tags other than
    the plain YAML types (``!!python/object`` ...), nesting deeper than :data:`MAX_YAML_DEPTH`."""
    from ruamel.yaml.events import AliasEvent, CollectionEndEvent, CollectionStartEvent, NodeEvent

    depth = 0
    try:
        for ev in YAML(typ="rt").parse(text):
            mark = ev.start_mark
            where = (mark.line, mark.column) if mark is not None else (0, 0)
            if isinstance(ev, AliasEvent):
                return (*where, f"YAML alias '*{ev.anchor}' is not allowed in a rule pack (write the value out)")
            if isinstance(ev, NodeEvent):
                tag = getattr(ev, "tag", None)
                tag = None if tag is None else str(getattr(tag, "value", tag))
                if tag is not None and tag not in _PLAIN_TAGS and tag != "!":
                    return (*where, f"YAML tag '{tag}' is not allowed in a rule pack (only plain values, lists and mappings)")
            if isinstance(ev, CollectionStartEvent):
                depth += 1
                if depth > MAX_YAML_DEPTH:
                    return (*where, f"YAML nested more than {MAX_YAML_DEPTH} levels deep")
            elif isinstance(ev, CollectionEndEvent):
                depth -= 1
    except MarkedYAMLError:
        return None  # reported with its position by the load
    return None


def _bad_numbers(data: Any) -> list[tuple[int, int, str]]:
    """(line, col, message), 0-based, of numbers no pack value may be: inf, NaN, beyond ±1e15."""
    found: list[tuple[int, int, str]] = []
    stack = [(data, (0, 0))]
    while stack:
        node, pos = stack.pop()
        if isinstance(node, dict):
            for k, v in node.items():
                stack.append((v, node.lc.value(k) if hasattr(node, "lc") else pos))
        elif isinstance(node, list):
            for i, v in enumerate(node):
                stack.append((v, node.lc.item(i) if hasattr(node, "lc") else pos))
        elif isinstance(node, bool):
            continue
        elif isinstance(node, float) and not math.isfinite(node):
            found.append((*pos, f"{node!r} is not a finite number within ±{MAX_NUMBER:,.0f} (a pack value must be)"))
        elif isinstance(node, (int, float)) and abs(node) > MAX_NUMBER:
            digits = len(str(abs(int(node)))) if isinstance(node, int) else None
            size = f"a {digits}-digit number" if digits else f"{node:g}"
            found.append((*pos, f"{size} is not a finite number within ±{MAX_NUMBER:,.0f} (a pack value must be)"))
    return sorted(found)


def _pack_file_problem(path: Path, folder: Path) -> str | None:
    """Why a pack file may not be read: a symlink leading out of the pack folder, not a regular file, too big."""
    try:
        real = path.resolve(strict=True)
        st = real.stat()
    except (OSError, RuntimeError) as e:
        return f"cannot read file: {getattr(e, 'strerror', None) or e}"
    if path.is_symlink() and not real.is_relative_to(folder.resolve()):
        return "is a symlink to a file outside the pack folder; copy the file into the pack instead"
    if not stat.S_ISREG(st.st_mode):
        return "is not a regular file"
    if st.st_size > MAX_PACK_FILE_BYTES:
        return f"is {st.st_size:,} bytes; a pack file may hold at most {MAX_PACK_FILE_BYTES:,}"
    return None


def read_yaml(path: Path, problems: Problems) -> tuple[Any, list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as e:
        problems.add_raw(f"{display_path(path)}:1:1: file is not UTF-8 text ({e.reason}); save it as UTF-8")
        return None, []
    except OSError as e:
        problems.add_raw(f"{display_path(path)}:1:1: cannot read file: {e.strerror}")
        return None, []
    lines = text.splitlines()
    unsafe = _unsafe_yaml(text)
    if unsafe is not None:
        line, col, what = unsafe
        problems.add_raw(f"{display_path(path)}:{line + 1}:{col + 1}: {what}")
        return None, lines
    try:
        data = _yaml().load(text)
    except MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        what = (e.problem or e.context or "invalid YAML").strip()
        if "duplicate key" in what:
            what = re.sub(r' with value .*$', "", what)
        problems.add_raw(f"{display_path(path)}:{line}:{col}: YAML syntax error: {what}")
        return None, lines
    except RecursionError:
        problems.add_raw(f"{display_path(path)}:1:1: YAML nested too deeply")
        return None, lines
    except Exception as e:  # ruamel can raise others (e.g. on bad unicode escapes)
        problems.add_raw(f"{display_path(path)}:1:1: YAML syntax error: {e}")
        return None, lines
    bad = _bad_numbers(data)
    for line, col, what in bad:
        problems.add_raw(f"{display_path(path)}:{line + 1}:{col + 1}: {what}")
    return (None if bad else data), lines


def _model_problems(e: ValidationError, origin: Origin, problems: Problems, model_for_tag: Callable[[Any], Any],
                    skip_tag: bool) -> None:
    for err in e.errors():
        loc = list(err["loc"])
        if skip_tag and loc:
            loc = loc[1:]
        etype = err["type"]
        node = origin.node
        if etype in ("union_tag_invalid", "union_tag_not_found"):
            kind = node.get("kind") if isinstance(node, dict) else None
            if kind is None:
                problems.add(origin, [], "missing 'kind' (one of: " + ", ".join(RULE_KINDS) + ")")
            else:
                problems.add(origin, ["kind"], f"unknown kind {kind!r}{did_you_mean(str(kind), RULE_KINDS)}", value=True)
            continue
        model = model_for_tag(node)
        if etype == "extra_forbidden":
            key = str(loc[-1])
            allowed = _allowed_keys(model, loc[:-1])
            problems.add(origin, loc, f"unknown key {key!r}{did_you_mean(key, allowed)}")
        elif etype == "missing":
            problems.add(origin, loc, f"missing required key {loc[-1]!r}")
        else:
            msg = err["msg"]
            if err.get("input") is not None and etype not in ("value_error",) and not isinstance(err.get("input"), (dict, list)):
                msg += f" (got {err['input']!r})"
            msg = msg.replace("Value error, ", "")
            problems.add(origin, loc, msg, value=True)


def _allowed_keys(model: Any, loc: list[Any]) -> list[str]:
    if model is None:
        return []
    try:
        fields = model.model_fields
    except AttributeError:
        return []
    fields = _nested_fields(model, loc) or fields
    if len(loc) >= 2 and loc[0] == "values" and model is Parameter:  # Parameter.values.N.<key>
        from fupin_cli.engine.model import ParamEntry

        fields = ParamEntry.model_fields
    return [f.alias or name for name, f in fields.items()]


def _nested_fields(model: Any, loc: list[Any]) -> dict[str, Any] | None:
    """Fields of the (sub)model ``loc`` leads to, for nested sections such as measures.mpi.0.dimensions."""
    import typing

    from pydantic import BaseModel

    current = model
    for part in loc:
        if isinstance(part, int):
            continue
        f = current.model_fields.get(str(part)) if hasattr(current, "model_fields") else None
        if f is None:
            return None
        ann = f.annotation
        while typing.get_origin(ann) in (list, typing.Union) or str(typing.get_origin(ann)) == "types.UnionType":
            args = [a for a in typing.get_args(ann) if a is not type(None)]
            ann = args[0] if args else ann
            if not typing.get_origin(ann):
                break
        if not (isinstance(ann, type) and issubclass(ann, BaseModel)):
            return None
        current = ann
    return current.model_fields if current is not model else None


def _read_folder(path: Path, problems: Problems) -> _Raw:
    entries = sorted(p for p in path.glob("*.yaml") if not p.is_dir()) + sorted(p for p in path.glob("*.yml") if not p.is_dir())
    files = []
    for f in entries:
        why = _pack_file_problem(f, path)
        if why is None:
            files.append(f)
        else:
            problems.add_raw(f"{display_path(f)}:1:1: {why}")
    raw = _Raw(path=path, files=files)
    if not entries:
        problems.add_raw(f"{display_path(path)}: no *.yaml files in the pack folder")
        return raw
    meta_seen: Origin | None = None
    for f in files:
        data, lines = read_yaml(f, problems)
        if data is None:
            continue
        root = Origin(f, data, "", lines)
        if not isinstance(data, dict):
            problems.add(root, [], "a pack file must be a mapping with keys " + ", ".join(TOP_KEYS))
            continue
        for key in data:
            if key not in TOP_KEYS:
                problems.add(root, [key], f"unknown top-level key {key!r}{did_you_mean(str(key), TOP_KEYS)} (allowed: {', '.join(TOP_KEYS)})")
        if "pack" in data:
            origin = Origin(f, data["pack"], "pack", lines)
            if meta_seen is not None:
                problems.add(root, ["pack"], f"'pack:' appears twice (first in {meta_seen.where()})")
            else:
                meta_seen = origin
                raw.meta_origin = origin
                if not isinstance(data["pack"], dict):
                    problems.add(root, ["pack"], "'pack:' must be a mapping (name, version, ...)", value=True)
                else:
                    try:
                        raw.meta = PackMeta.model_validate(plain(data["pack"]))
                    except ValidationError as e:
                        _model_problems(e, origin, problems, lambda _n: PackMeta, False)
        _read_parameters(data, f, lines, raw, problems, root)
        for key, model in (("measures", MeasuresSpec), ("funds", FundsSpec)):
            if key in data:
                _read_section(key, model, data, f, lines, raw, problems, root)
        for section, target in (("derived", raw.derived), ("rules", raw.rules)):
            items = data.get(section)
            if items is None:
                continue
            if not isinstance(items, list):
                problems.add(root, [section], f"'{section}:' must be a list of items ('- id: ...')", value=True)
                continue
            for i, item in enumerate(items):
                origin = Origin(f, item, f"{section}.{i}", lines)
                if not isinstance(item, dict):
                    problems.add(origin, [], f"each {section} item must be a mapping with an 'id'")
                    continue
                _validate_item(section, item, origin, target, problems)
    if meta_seen is None and files:
        problems.add_raw(f"{display_path(path)}: no 'pack:' section (name, version) in any *.yaml file of the pack")
    return raw


def _validate_item(section: str, item: dict[str, Any], origin: Origin, target: list[Any], problems: Problems) -> None:
    data = plain(item)
    if section == "rules":
        try:
            target.append((_RULE_ADAPTER.validate_python(data), origin))
        except ValidationError as e:
            _model_problems(e, origin, problems, lambda n: RULE_KINDS.get(str(n.get("kind"))) if isinstance(n, dict) else None, True)
    else:
        try:
            target.append((_DERIVED_ADAPTER.validate_python(data), origin))
        except ValidationError as e:
            from fupin_cli.engine.model import DerivedExpr

            _model_problems(e, origin, problems, lambda n: DerivedAgg if ("over" in n or "agg" in n) else DerivedExpr, True)


def _read_section(key: str, model: Any, data: dict[str, Any], f: Path, lines: list[str], raw: _Raw, problems: Problems, root: Origin) -> None:
    """A once-per-pack mapping section (``measures:``, ``funds:``) validated by its model."""
    origin = Origin(f, data[key], key, lines)
    if getattr(raw, key) is not None:
        problems.add(root, [key], f"'{key}:' appears twice (first in {getattr(raw, key)[1].where()})")
        return
    if not isinstance(data[key], dict):
        problems.add(root, [key], f"'{key}:' must be a mapping ({', '.join(model.model_fields)})", value=True)
        return
    try:
        setattr(raw, key, (model.model_validate(plain(data[key])), origin))
    except ValidationError as e:
        _model_problems(e, origin, problems, lambda _n: model, False)


def _read_parameters(data: dict[str, Any], f: Path, lines: list[str], raw: _Raw, problems: Problems, root: Origin) -> None:
    params = data.get("parameters")
    if params is None:
        return
    if not isinstance(params, dict):
        problems.add(root, ["parameters"], "'parameters:' must be a mapping of name → {label, unit, values}", value=True)
        return
    for name, body in params.items():
        origin = Origin(f, body if isinstance(body, dict) else params, f"parameters.{name}", lines)
        if not isinstance(name, str) or not re.match(r"^[a-z][a-z0-9_]*$", name):
            problems.add(Origin(f, params, "parameters", lines), [name], f"parameter name {name!r} must match [a-z][a-z0-9_]*")
            continue
        if name in raw.parameters:
            problems.add(Origin(f, params, "parameters", lines), [name], f"parameter {name!r} defined twice (first in {raw.parameters[name].origin.where()})")
            continue
        if not isinstance(body, dict):
            problems.add(Origin(f, params, "parameters", lines), [name], "a parameter must be a mapping with label, unit and values", value=True)
            continue
        try:
            model = Parameter.model_validate(plain(body))
        except ValidationError as e:
            _model_problems(e, origin, problems, lambda _n: Parameter, False)
            continue
        vals = body["values"]  # model_validate required it
        entry_origins = [Origin(f, vals[i], f"parameters.{name}.values.{i}", lines) for i in range(len(model.values))]
        raw.parameters[name] = ParamDef(name, model, origin, entry_origins=entry_origins)


# ---------------------------------------------------------------------------------------
# extends: merging a child over its base
# ---------------------------------------------------------------------------------------
def _read_includes(raw: _Raw, problems: Problems) -> None:
    """``pack.include``: files whose ``derived:`` and ``parameters:`` come before the pack's own."""
    if raw.meta is None or not raw.meta.include:
        return
    inc = _Raw(path=raw.path, files=[])
    for i, rel in enumerate(raw.meta.include):
        f = (raw.path / rel).resolve()
        if not f.is_file():
            problems.add(raw.pack_origin, ["include", i], f"included file {rel!r} not found (paths are relative to the pack folder {display_path(raw.path)})", value=True)
            continue
        data, lines = read_yaml(f, problems)
        if data is None:
            continue
        root = Origin(f, data, "", lines)
        if not isinstance(data, dict):
            problems.add(root, [], "an included file must be a mapping with 'derived:' and/or 'parameters:'")
            continue
        for key in data:
            if key not in ("derived", "parameters"):
                problems.add(root, [key], f"an included file may only hold 'derived:' and 'parameters:', not {key!r}")
        _read_parameters(data, f, lines, inc, problems, root)
        items = data.get("derived") or []
        if not isinstance(items, list):
            problems.add(root, ["derived"], "'derived:' must be a list of items ('- id: ...')", value=True)
            items = []
        for j, item in enumerate(items):
            origin = Origin(f, item, f"derived.{j}", lines)
            if not isinstance(item, dict):
                problems.add(origin, [], "each derived item must be a mapping with an 'id'")
                continue
            _validate_item("derived", item, origin, inc.derived, problems)
        inc.files.append(f)
    for name, pdef in raw.parameters.items():
        if name in inc.parameters:
            problems.add(pdef.origin, [], f"parameter {name!r} is also defined in the included file {inc.parameters[name].origin.where()}")
    raw.parameters = {**inc.parameters, **{k: v for k, v in raw.parameters.items() if k not in inc.parameters}}
    raw.derived = inc.derived + raw.derived
    raw.files = inc.files + raw.files


def _load_raw(path: Path, problems: Problems, stack: tuple[Path, ...]) -> _Raw:
    raw = _read_folder(path, problems)
    _read_includes(raw, problems)
    if raw.meta is not None:  # a value without a region belongs to its own pack's default region
        for pdef in raw.parameters.values():
            for entry in pdef.model.values:
                if entry.region is None:
                    entry.region = raw.meta.region
    name = raw.meta.name if raw.meta else path.name
    raw.all_files = [(name, f) for f in raw.files]
    raw.chain = [name]
    ext = raw.meta.extends if raw.meta else None
    if not ext:
        _check_duplicates(raw, problems)
        return raw
    try:
        base_path = find_pack(ext, relative_to=path)
    except RuleError as e:
        problems.add(raw.pack_origin, ["extends"], e.message + (f"; {e.hint}" if e.hint else ""), value=True)
        return raw
    outside = _extends_outside(ext, base_path, path)
    if outside:
        problems.add(raw.pack_origin, ["extends"], outside, value=True)
        return raw
    if base_path in stack or base_path == path:
        problems.add(raw.pack_origin, ["extends"], f"circular 'extends': {' → '.join(p.name for p in (*stack, path, base_path))}", value=True)
        return raw
    base = _load_raw(base_path, problems, (*stack, path))
    _check_duplicates(raw, problems)
    return _merge(base, raw, problems)


def _extends_outside(ref: str, base: Path, child: Path) -> str | None:
    """Why ``extends: ref`` may not be followed: a path (not a shipped pack's name) that leads out
    of both the working folder and the folder holding the child pack (``..``, absolute) — a
    pack shared by someone else must not make fupin read files elsewhere on the machine."""
    text = str(ref)
    if not ("/" in text or "\\" in text or text.startswith(".")):
        return None  # a shipped pack's name (rules_dirs), resolved by find_pack
    home = child.resolve().parent
    real = base.resolve()
    inside = real.is_relative_to(home) or real.is_relative_to(Path.cwd().resolve())
    if not inside:
        return (f"extends {text!r} points outside the working folder and the folder that holds this pack "
                f"({display_path(home)}); name a shipped pack, or put the base pack beside this one")
    return None


def _check_duplicates(raw: _Raw, problems: Problems) -> None:
    for section in ("rules", "derived"):
        seen: dict[str, Origin] = {}
        for model, origin in getattr(raw, section):
            if model.id in seen:
                problems.add(origin, ["id"], f"duplicate {section[:-1] if section == 'rules' else 'derived field'} id {model.id!r} (first defined at {seen[model.id].where()})", value=True)
            else:
                seen[model.id] = origin


def _merge(base: _Raw, child: _Raw, problems: Problems) -> _Raw:
    out = _Raw(path=child.path, files=child.files, meta=child.meta, meta_origin=child.meta_origin)
    out.chain = base.chain + child.chain
    out.all_files = base.all_files + child.all_files
    out.measures = child.measures or base.measures  # a child's measures: section replaces its base's whole
    out.funds = _merge_funds(base.funds, child.funds)
    meta = child.meta
    # pack metadata: regions and sources inherit from the base
    if meta is not None and base.meta is not None:
        regions = dict(base.meta.regions)
        regions.update(meta.regions)
        sources = dict(base.meta.sources)
        sources.update(meta.sources)
        data = meta.model_dump(by_alias=True)
        data.update(regions=regions, sources=sources)
        if "max_secondary_causes" not in meta.model_fields_set:
            data["max_secondary_causes"] = base.meta.max_secondary_causes
        if "region" not in meta.model_fields_set:
            data["region"] = base.meta.region
        for key in ("valid_from", "valid_until", "validity_note"):
            if key not in meta.model_fields_set:
                data[key] = getattr(base.meta, key)
        for key in ("required", "optional"):  # inherit unless the child sets them
            if key not in meta.model_fields_set:
                data[key] = getattr(base.meta, key)
        out.meta = PackMeta.model_validate(data)
    # parameters: override values by (year, region), add new ones
    out.parameters = {k: ParamDef(v.name, v.model.model_copy(deep=True), v.origin, entry_origins=list(v.entry_origins)) for k, v in base.parameters.items()}
    default_region = (out.meta.region if out.meta else "国家")
    for name, pdef in child.parameters.items():
        if name not in out.parameters:
            out.parameters[name] = pdef
            continue
        target = out.parameters[name]
        m = target.model
        for attr in ("label", "unit", "source"):
            if getattr(pdef.model, attr):
                setattr(m, attr, getattr(pdef.model, attr))
        if pdef.model.description:
            m.description = pdef.model.description
        for entry, origin in zip(pdef.model.values, pdef.entry_origins):
            slot = (entry.year, entry.region or default_region)
            for i, old in enumerate(m.values):
                if (old.year, old.region or default_region) == slot:
                    m.values[i] = entry
                    target.entry_origins[i] = origin
                    break
            else:
                m.values.append(entry)
                target.entry_origins.append(origin)
    # derived and rules: same id replaces in place, new ones are appended
    for section in ("derived", "rules"):
        merged = list(getattr(base, section))
        index = {m.id: i for i, (m, _) in enumerate(merged)}
        for model, origin in getattr(child, section):
            if model.id in index:
                merged[index[model.id]] = (model, origin)
            else:
                index[model.id] = len(merged)
                merged.append((model, origin))
        setattr(out, section, merged)
    if meta is not None and meta.disable:
        ids = {m.id for m, _ in out.rules}
        for i, rid in enumerate(meta.disable):
            if rid not in {m.id for m, _ in base.rules}:
                problems.add(child.pack_origin, ["disable", i], f"cannot disable unknown base rule {rid!r}{did_you_mean(rid, ids)}", value=True)
        out.rules = [(m, o) for m, o in out.rules if m.id not in set(meta.disable)]
    return out


# ---------------------------------------------------------------------------------------
# compiling: parameters, derived fields, rule conditions
# ---------------------------------------------------------------------------------------
# In-process cache of loaded packs: parsing YAML with positions (ruamel round-trip) is ~95% of
# a load and takes about 0.3 s for chongqing (+ its base); a process that loads the same pack again
# (the test suite, a library user running several years) gets a fresh copy of the cached Pack
# (unpickled, ~20 ms) as long as no pack file changed.  The key covers every file that can take
# part in a load: all *.yaml and *.yml files of the pack's folder and of every folder its
# `extends` chain reached (path, size, mtime — so an added, removed or edited file reloads), and
# $FUPIN_RULES_PATH (which decides where a shipped name or `extends: name` resolves).
# Each caller gets its own copy: changing one Pack object never changes what the next caller gets.
_CACHE: dict[Path, tuple[list[Path], tuple[Any, ...], bytes]] = {}
PACK_FILE_PATTERNS = ("*.yaml", "*.yml")


def _fingerprint(folders: list[Path]) -> tuple[Any, ...]:
    stamp: list[tuple[Any, ...]] = [("env", os.environ.get(RULES_PATH_ENV, ""))]
    for d in folders:
        found = sorted({f for pattern in PACK_FILE_PATTERNS for f in d.glob(pattern) if f.is_file()})
        for f in found:
            st = f.stat()
            stamp.append((str(f), st.st_size, st.st_mtime_ns))
    return tuple(stamp)


def load_pack(ref: str | os.PathLike[str]) -> Pack:
    """Load a pack by shipped name or folder path; :class:`RuleError` listing every problem.

    Every call returns its own Pack object (a copy of the cached one when nothing changed)."""
    import pickle

    path = find_pack(ref)
    cached = _CACHE.get(path)
    if cached is not None:
        with contextlib.suppress(OSError):
            folders, key, blob = cached
            if _fingerprint(folders) == key:
                return cast(Pack, pickle.loads(blob))
    pack = _load_pack_uncached(path)
    with contextlib.suppress(OSError):
        folders = sorted({path, *(f.parent for f in pack.files)})
        _CACHE[path] = (folders, _fingerprint(folders), pickle.dumps(pack, protocol=pickle.HIGHEST_PROTOCOL))
    return pack


def _load_pack_uncached(path: Path) -> Pack:
    problems = Problems()
    raw = _load_raw(path, problems, ())
    pack = None
    if raw.meta is not None:
        pack = _compile(raw, problems)
    if problems:
        n = len(problems.items)
        problems.items.sort(key=_problem_order)
        raise RuleError(
            f"rule pack {display_path(path)} has {n} problem{'s' if n != 1 else ''}",
            hint="fix them and run `fupin rules check` again",
            problems=problems.items,
        )
    assert pack is not None
    return pack


_POS = re.compile(r"^(.*?):(\d+):(\d+): ")


def _problem_order(text: str) -> tuple[Any, ...]:
    m = _POS.match(text)
    return (m.group(1), int(m.group(2)), int(m.group(3))) if m else (text, 0, 0)


def _pack_hash(files: list[tuple[str, Path]]) -> str:
    h = hashlib.sha256()
    for name, f in sorted(files, key=lambda t: (t[0], t[1].name)):
        h.update(f"{name}/{f.name}\0".encode())
        try:
            h.update(f.read_bytes())
        except OSError:
            pass
        h.update(b"\0")
    return h.hexdigest()


def _compile(raw: _Raw, problems: Problems) -> Pack:
    meta = raw.meta
    assert meta is not None
    regions = _check_regions(meta, raw.meta_origin, problems)
    param_types = _check_parameters(raw, meta, regions, problems)
    derived_ir: dict[str, dict[str, ir.Node]] = {}
    field_types: dict[str, tc.Ty] = {}
    origins: dict[str, Origin] = {}
    mscope = tc.member_scope(param_types)
    for model, origin in raw.derived:
        origins[f"derived:{model.id}"] = origin
        if model.id in schema.FIELDS:
            problems.add(origin, ["id"], f"derived field id {model.id!r} is a canonical field name (schema.py); choose another id, e.g. {model.id + '_calc'!r}", value=True)
            continue
        hscope = tc.household_scope(field_types, param_types)
        if isinstance(model, DerivedAgg):
            nodes: dict[str, ir.Node] = {}
            if model.where is not None:
                node = _expr(model.where, mscope, "bool", origin, ["where"], problems)
                if node is not None:
                    nodes["where"] = node
            ty: tc.Ty | None = {"count": tc.INT, "any": tc.BOOL, "all": tc.BOOL}.get(model.agg)
            if model.agg in ("sum", "min", "max"):
                if model.of is None:
                    problems.add(origin, ["agg"], f"agg: {model.agg} needs 'of:' (the member value to aggregate, e.g. of: age)", value=True)
                    continue
                want = "num" if model.agg == "sum" else "num|date"
                node, ty = _expr_t(model.of, mscope, want, origin, ["of"], problems)
                if node is None:
                    continue
                nodes["of"] = node
                if model.agg == "sum" and ty is not None and ty.fmt == "int":
                    ty = tc.INT
            elif model.of is not None:
                problems.add(origin, ["of"], f"'of:' is only used with agg: sum, min or max (agg is {model.agg})")
            if len(nodes) == len([k for k in ("where", "of") if getattr(model, k) is not None]):
                derived_ir[model.id] = nodes
                field_types[model.id] = ty  # type: ignore[assignment]
        else:
            node, ty = _expr_t(model.expr, hscope, None, origin, ["expr"], problems)
            if node is not None and ty is not None:  # both or neither
                if ty.kind == "list":
                    problems.add(origin, ["expr"], "a derived field cannot be a list", value=True)
                    continue
                derived_ir[model.id] = {"expr": node}
                field_types[model.id] = ty
    hscope = tc.household_scope(field_types, param_types)
    scopes = {
        "households": hscope,
        "members": mscope,
        "village": tc.frame_scope("village", param_types),
        "county": tc.frame_scope("county", param_types),
    }
    conditions: dict[str, ir.Node] = {}
    values: dict[str, ir.Node] = {}
    rules = []
    defaults = []
    for model, origin in raw.rules:
        origins[f"rule:{model.id}"] = origin
        rules.append(model)
        scope = scopes[model.level]
        if model.when is not None:
            node = _expr(model.when, scope, "bool", origin, ["when"], problems)
            if node is not None:
                conditions[model.id] = node
        if model.from_ is not None and model.until is not None and model.from_ > model.until:
            problems.add(origin, ["until"], f"until ({model.until}) is before from ({model.from_})", value=True)
        _check_rule_values(model, origin, problems)
        if model.kind == "estimate":
            node = _expr(model.value, scope, "num", origin, ["value"], problems)
            if node is not None:
                values[model.id] = node
        if model.kind == "attribute" and model.default:
            defaults.append((model, origin))
    _check_mode_params(raw.rules, raw, problems)
    if len(defaults) > 1:
        problems.add(defaults[1][1], ["default"], f"more than one attribute rule has default: true (also {defaults[0][0].id!r})", value=True)
    for pname, pdef in raw.parameters.items():
        origins[f"param:{pname}"] = pdef.origin
    mpi_ir = _compile_measures(raw, hscope, problems)
    _check_funds(raw, meta, problems)
    known = set(schema.FIELDS) | set(field_types)
    for key in ("required", "optional"):
        for i, name in enumerate(getattr(meta, key, None) or []):
            if name not in known:
                problems.add(raw.pack_origin, [key, i], f"{key}: unknown field {name!r} (a roster field or a derived field id){did_you_mean(name, sorted(known))}", value=True)
    return Pack(
        meta=meta, path=raw.path, parameters=raw.parameters, derived=[m for m, _ in raw.derived], rules=rules,
        conditions=conditions, values=values, derived_ir=derived_ir, field_types=field_types, origins=origins,
        sha256=_pack_hash(raw.all_files), files=[f for _, f in raw.all_files], chain=raw.chain,
        measures=raw.measures[0] if raw.measures else None, mpi_ir=mpi_ir,
        funds=raw.funds[0] if raw.funds else None,
    )


def _item_origins(funds: tuple[FundsSpec, Any]) -> dict[str, Any]:
    spec, origin = funds
    return dict(origin) if isinstance(origin, dict) else {item.id: (origin, i) for i, item in enumerate(spec.items)}


def _merge_funds(base: tuple[FundsSpec, Any] | None, child: tuple[FundsSpec, Any] | None) -> tuple[FundsSpec, Any] | None:
    """A child's fund items replace the base's items of the same id and add new ones."""
    if base is None or child is None:
        return child or base
    items = {i.id: i for i in base[0].items}
    items.update({i.id: i for i in child[0].items})
    return (FundsSpec(items=list(items.values())), {**_item_origins(base), **_item_origins(child)})


def _check_funds(raw: _Raw, meta: PackMeta, problems: Problems) -> None:
    """Statuses are registry statuses; standards and caps name numeric parameters; labels are unique."""
    if raw.funds is None:
        return
    spec = raw.funds[0]
    where = _item_origins(raw.funds)
    statuses = (*schema.REGISTRY_STATUSES, *schema.STATUSES)
    names: dict[str, str] = {}
    for item in spec.items:
        origin, i = where[item.id]
        for j, st in enumerate(item.statuses):
            if st not in statuses:
                problems.add(origin, ["items", i, "statuses", j], f"unknown status {st!r}{did_you_mean(st, statuses)}; "
                             f"allowed: {'、'.join(dict.fromkeys(statuses))}", value=True)
        refs = [(["standards", k, "param"], s.param) for k, s in enumerate(item.standards)]
        refs += [(["cap"], item.cap)] if item.cap else []
        for parts, pname in refs:
            pdef = raw.parameters.get(pname)
            if pdef is None:
                problems.add(origin, ["items", i, *parts], f"unknown parameter {pname!r}{did_you_mean(pname, raw.parameters)}", value=True)
            elif pdef.type.kind != "num":
                problems.add(origin, ["items", i, *parts], f"parameter {pname!r} is {pdef.type}, not an amount", value=True)
        for k, s in enumerate(item.standards):
            for j, st in enumerate(s.statuses):
                if st not in statuses:
                    problems.add(origin, ["items", i, "standards", k, "statuses", j], f"unknown status {st!r}", value=True)
        for name in (item.label, *item.aliases):
            key = schema.normalise_header(name)
            if key in names and names[key] != item.id:
                problems.add(origin, ["items", i], f"item name {name!r} also names item {names[key]!r}")
            names[key] = item.id
        if item.source and meta.sources and _SOURCE_KEY.match(item.source) and item.source not in meta.sources:
            problems.add(origin, ["items", i, "source"], f"unknown source key {item.source!r}{did_you_mean(item.source, meta.sources)}", value=True)


WEIGHT_TOLERANCE = 1e-6


def _compile_measures(raw: _Raw, hscope: tc.Scope, problems: Problems) -> dict[str, ir.Node]:
    """Check ``measures:`` (income field, line parameter, MPI specs) and type-check every indicator."""
    if raw.measures is None:
        return {}
    spec, origin = raw.measures
    out: dict[str, ir.Node] = {}
    ty = hscope.fields.get(spec.income)
    if ty is None:
        problems.add(origin, ["income"], f"unknown field {spec.income!r}{did_you_mean(spec.income, hscope.fields)}", value=True)
    elif ty.kind != "num":
        problems.add(origin, ["income"], f"field {spec.income!r} is {ty}, not a number", value=True)
    line = raw.parameters.get(spec.line)
    if line is None:
        problems.add(origin, ["line"], f"unknown parameter {spec.line!r}{did_you_mean(spec.line, raw.parameters)}", value=True)
    elif line.type.kind != "num":
        problems.add(origin, ["line"], f"parameter {spec.line!r} is {line.type}, not a number", value=True)
    seen: dict[str, int] = {}
    for i, mpi in enumerate(spec.mpi):
        if mpi.id in seen:
            problems.add(origin, ["mpi", i, "id"], f"duplicate MPI id {mpi.id!r} (also mpi.{seen[mpi.id]})", value=True)
        seen.setdefault(mpi.id, i)
        if mpi.until is not None and mpi.until < mpi.from_:
            problems.add(origin, ["mpi", i, "until"], f"until ({mpi.until}) is before from ({mpi.from_})", value=True)
        for j, other in enumerate(spec.mpi[:i]):
            lo, hi = max(mpi.from_, other.from_), min(mpi.until or 2100, other.until or 2100)
            if lo <= hi:
                problems.add(origin, ["mpi", i, "from"], f"MPI {mpi.id!r} overlaps {other.id!r} (mpi.{j}) in {lo}–{hi}: "
                             "one specification per year", value=True)
        total = sum(ind.weight for _, ind in mpi.indicators)
        if abs(total - 1.0) > WEIGHT_TOLERANCE:
            problems.add(origin, ["mpi", i, "dimensions"], f"indicator weights of MPI {mpi.id!r} sum to {total:.6g}, not 1")
        ids: set[str] = set()
        for d, dim in enumerate(mpi.dimensions):
            for n, ind in enumerate(dim.indicators):
                parts = ["mpi", i, "dimensions", d, "indicators", n]
                if ind.id in ids:
                    problems.add(origin, [*parts, "id"], f"duplicate indicator id {ind.id!r} in MPI {mpi.id!r}", value=True)
                ids.add(ind.id)
                node = _expr(ind.deprived, hscope, "bool", origin, [*parts, "deprived"], problems)
                if node is not None:
                    out[f"{mpi.id}.{ind.id}"] = node
    return out


def _expr(text: str, scope: tc.Scope, want: str | None, origin: Origin, parts: list[Any], problems: Problems) -> ir.Node | None:
    return _expr_t(text, scope, want, origin, parts, problems)[0]


def _expr_t(text: str, scope: tc.Scope, want: str | None, origin: Origin, parts: list[Any],
            problems: Problems) -> tuple[ir.Node, tc.Ty] | tuple[None, None]:
    try:
        try:
            node = parse(text)
        except (OverflowError, ValueError):  # a number literal no float holds (int → float overflow)
            m = re.search(r"\d{16,}", text)
            raise ExprError(f"a number of {len(m.group(0)) if m else 'many'} digits is not allowed: numbers must be "
                            f"finite and at most {MAX_NUMBER:,.0f} in size", m.start() if m else 0) from None
        _check_literals(node)
        return tc.check(node, scope, want)
    except ExprError as e:
        problems.add(origin, parts, e.message, col_offset=e.col, expr=text)
        return None, None


def _check_literals(node: ir.Node) -> None:
    """Numbers written in an expression must be finite and at most ±1e15 (``1e999`` is inf, a
    1,900-digit integer overflows every column type)."""
    import dataclasses

    stack: list[Any] = [node]
    while stack:
        n = stack.pop()
        if isinstance(n, ir.Num):
            v = n.value
            if abs(v) > MAX_NUMBER or not math.isfinite(v):
                text = f"a {len(str(abs(int(v))))}-digit number" if isinstance(v, int) else f"{v!r}"
                raise ExprError(f"{text} is not allowed: numbers must be finite and at most {MAX_NUMBER:,.0f} in size", n.pos)
        if dataclasses.is_dataclass(n):
            for f in dataclasses.fields(n):
                v = getattr(n, f.name)
                if isinstance(v, (list, tuple)):
                    stack.extend(x for x in v if dataclasses.is_dataclass(x))
                elif dataclasses.is_dataclass(v):
                    stack.append(v)


_RULE_VALUE_TABLES = {
    ("attribute", "value"): "attribute",
    ("cause", "cause"): "cause",
    ("cause_check", "cause"): "cause",
    ("measure", "cause"): "cause",
    ("risk", "risk_type"): "risk_type",
}


def _check_rule_values(model: Any, origin: Origin, problems: Problems) -> None:
    for (kind, attr), table in _RULE_VALUE_TABLES.items():
        if model.kind != kind:
            continue
        value = getattr(model, attr)
        label = schema.canonical_value(table, value)
        if label is None:
            problems.add(origin, [attr], tc.unknown_code_message(table, value), value=True)
        else:
            setattr(model, attr, label)
    if model.kind == "status" and model.value not in schema.STATUSES and model.value not in MODE_STATUS and not param_ref(model.value):
        allowed = [*schema.STATUSES, *MODE_STATUS]
        problems.add(origin, ["value"], f"unknown status {model.value!r}{did_you_mean(model.value, allowed)}; allowed: {'、'.join(allowed)} or param.NAME", value=True)
    if model.kind == "check":
        _check_builtin(model, origin, problems)
    if model.kind == "exclusion" and model.mode not in EXCLUSION_MODES and not param_ref(model.mode):
        problems.add(origin, ["mode"], f"unknown exclusion mode {model.mode!r}{did_you_mean(model.mode, EXCLUSION_MODES)}; allowed: {' | '.join(EXCLUSION_MODES)} or param.NAME", value=True)


def _check_builtin(model: Any, origin: Origin, problems: Problems) -> None:
    """A check rule either has its own condition and message, or names the built-in check it uses."""
    from fupin_cli.checks.catalog import CHECKS

    if model.builtin is None:
        if model.when is None:
            problems.add(origin, [], "a check rule needs 'when:' (its condition) or 'builtin:' (the validate check it uses)")
        if not model.message:
            problems.add(origin, [], "a check rule needs 'message:' (or 'builtin:')")
        return
    if model.builtin not in CHECKS:
        problems.add(origin, ["builtin"], f"unknown built-in check {model.builtin!r}{did_you_mean(model.builtin, CHECKS)}", value=True)
    extra = [k for k in ("when", "message", "hint", "severity", "over") if k in model.model_fields_set]
    if extra:
        problems.add(origin, [extra[0]], f"a rule with 'builtin: {model.builtin}' is implemented by that check; "
                     f"'{extra[0]}:' would be ignored — remove it (or remove 'builtin:' to run the rule's own condition)", value=True)


def _check_mode_params(rules: list[Any], raw: _Raw, problems: Problems) -> None:
    """A rule's ``mode: param.NAME`` / ``value: param.NAME`` names a text parameter whose values are mode words."""
    for model, origin in rules:
        attr = "mode" if model.kind == "exclusion" else "value" if model.kind == "status" else None
        name = param_ref(getattr(model, attr)) if attr else None
        if name is None:
            continue
        if name not in raw.parameters:
            problems.add(origin, [attr], f"unknown parameter {name!r}{did_you_mean(name, raw.parameters)}", value=True)
            continue
        allowed = EXCLUSION_MODES if model.kind == "exclusion" else (*MODE_STATUS, *schema.STATUSES)
        pdef = raw.parameters[name]
        for entry, eorigin in zip(pdef.model.values, pdef.entry_origins):
            if entry.value not in allowed:
                problems.add(eorigin, ["value"], f"parameter {name!r} is the mode of rule {model.id!r}: {entry.value!r} is not one of {' | '.join(allowed)}", value=True)


def _check_regions(meta: PackMeta, origin: Origin | None, problems: Problems) -> set[str]:
    regions = {meta.region, *meta.regions, *meta.regions.values()}
    for r in meta.regions:
        seen = [r]
        cur = r
        while cur in meta.regions:
            cur = meta.regions[cur]
            if cur in seen:
                if origin is not None:
                    problems.add(origin, ["regions", r], f"region chain loops: {' → '.join([*seen, cur])}")
                break
            seen.append(cur)
    return regions


def _fits_float(v: float) -> bool:
    try:
        float(v)
        return True
    except OverflowError:
        return False


def _check_parameters(raw: _Raw, meta: PackMeta, regions: set[str], problems: Problems) -> dict[str, tc.Ty]:
    types: dict[str, tc.Ty] = {}
    for name, pdef in raw.parameters.items():
        m = pdef.model
        if not m.label:
            problems.add(pdef.origin, [], f"parameter {name!r} has no label (中文名称)")
        seen: dict[tuple[Any, ...], Origin] = {}
        kinds: dict[str, Origin] = {}
        for entry, origin in zip(m.values, pdef.entry_origins):
            region = entry.region or meta.region
            if entry.region is not None and entry.region not in regions:
                problems.add(origin, ["region"], f"unknown region {entry.region!r}{did_you_mean(entry.region, regions)} (declare it under pack.regions)", value=True)
            key = (entry.year, region)
            if key in seen:
                problems.add(origin, ["year"], f"second value for year {entry.year}, region {region} (first at {seen[key].where()})", value=True)
            seen[key] = origin
            src = entry.source or m.source
            if src and meta.sources and _SOURCE_KEY.match(src) and src not in meta.sources:
                problems.add(origin, ["source"], f"unknown source key {src!r}{did_you_mean(src, meta.sources)} (declare it under pack.sources)", value=True)
            numbers = [v for v in (entry.value if isinstance(entry.value, list) else [entry.value]) if isinstance(v, (int, float)) and not isinstance(v, bool)]
            bad = next((v for v in numbers if not abs(float(v)) <= MAX_NUMBER), None) if all(_fits_float(v) for v in numbers) else "a very long number"
            if bad is not None:
                problems.add(origin, ["value"], f"parameter value {str(bad)[:20]} is not a finite number of at most {MAX_NUMBER:.0e}", value=True)
            if any(isinstance(v, str) and "\x00" in v for v in (entry.value if isinstance(entry.value, list) else [entry.value])):
                problems.add(origin, ["value"], "parameter value contains a NUL character", value=True)
            t = tc.value_type(entry.value)
            kind = str(t) if t.kind != "list" else f"list of {tc.Ty(t.elem) if t.elem else 'mixed'}"
            kinds.setdefault(kind, origin)
        if len(kinds) > 1:
            first, second = list(kinds)[:2]
            problems.add(kinds[second], ["value"], f"parameter {name!r} mixes {first} and {second} values", value=True)
        vals = [e.value for e in m.values]
        t = tc.value_type(vals[0])
        if t.kind == "num":
            t = tc.INT if all(isinstance(v, int) for v in vals) else tc.FLOAT
        types[name] = t
        pdef.type = t
    return types


# ---------------------------------------------------------------------------------------
# choosing a pack by region (issue 9 item 9): a provincial pack built on the command's default
# ---------------------------------------------------------------------------------------
_SHIPPED: dict[str, Pack] = {}


def _shipped(name: str) -> Pack | None:
    if name not in _SHIPPED:
        try:
            _SHIPPED[name] = load_pack(name)
        except RuleError:
            return None
    return _SHIPPED[name]


def covers(pack: Pack, year: int) -> bool:
    """The pack's era (``valid_from``–``valid_until``) includes ``year``."""
    lo, hi = pack.meta.valid_from, pack.meta.valid_until
    return (lo is None or lo <= year) and (hi is None or year <= hi)


def regional_pack(family: str, region: str | None, year: int | None) -> tuple[str, str]:
    """(pack name, why): the shipped provincial pack of ``region`` built on ``family`` and covering
    ``year`` when there is one (重庆 → chongqing), else ``family``."""
    if region:
        for name in shipped_packs():
            p = _shipped(name)
            if p is None or name == family or p.meta.region != region or family not in p.chain:
                continue
            if year is not None and not covers(p, year):
                continue
            return name, f"由地区推断：{region}有{'' if year is None else f' {year} 年'}适用的省级规则包 {name}（在 {family} 基础上）"
        return family, f"默认：{region}没有{'' if year is None else f' {year} 年'}适用的省级规则包，采用 {family}"
    return family, f"默认：地区未知，采用 {family}"
