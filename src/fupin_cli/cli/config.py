"""The county's project file ``fupin.toml``: set a county up once, every command reads it.

Found as ``fupin.toml`` in the working folder, or given with ``fupin --config PATH <command>``.
Validated with pydantic (unknown keys are errors); an error is ``fupin.toml:LINE: key: message``
with exit 2.  Every option given on the command line wins over the file; :class:`Settings`
records, for each setting, the value used and where it came from (命令行 / fupin.toml:LINE /
默认), and the 说明 sheet lists them.

How a command uses it (the one place options meet the file)::

    cfg = settings(ctx, pack=pack, region=region, population=population)
    pack, region, population = cfg.pack, cfg.region, cfg.population

``settings`` asks Typer whether each option came from the command line; an option left at its
default takes the file's value.  A new option that a county sets once is a field of
:class:`ProjectFile` plus an entry in :data:`OPTION_KEYS`.
"""

from __future__ import annotations

import datetime as dt
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError, field_validator

from fupin_cli.errors import UsageError

FILE_NAME = "fupin.toml"


class Signatures(BaseModel):
    """Names printed on the signature lines of the registers, 汇总 and 公示 lists (blank lines when absent)."""

    model_config = ConfigDict(extra="forbid")
    preparer: str | None = Field(None, description="填表人")
    reviewer: str | None = Field(None, description="审核人")
    leader: str | None = Field(None, description="负责人 (单位负责人)")


class Publicity(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: dt.date | None = Field(None, description="公示期开始日期")
    days: int = Field(7, ge=1, le=60, description="公示天数")
    phone: str | None = Field(None, description="监督电话")


class ProjectFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    region: str | None = None
    pack: str | None = None
    population: Path | None = None  # registered population per village (.xlsx/.csv)
    columns: Path | None = None  # column map for the roster reader (map.yaml)
    output_dir: Path | None = None  # where default output names go
    unit: str | None = Field(None, description="填报单位")
    signatures: Signatures = Signatures()
    publicity: Publicity = Publicity()
    _lines: dict[str, int] = PrivateAttr(default_factory=dict)  # option name → line in the file

    @field_validator("region", "pack", "unit")
    @classmethod
    def _not_blank(cls, v: str | None) -> str | None:
        if v is not None and not v.strip():
            raise ValueError("must not be blank (delete the line to leave it unset)")
        return v


# command option name → dotted key in the file
OPTION_KEYS = {
    "region": "region",
    "pack": "pack",
    "population": "population",
    "columns": "columns",
    "output_dir": "output_dir",
    "unit": "unit",
    "publicity_start": "publicity.start",
    "publicity_days": "publicity.days",
    "phone": "publicity.phone",
}
PATH_KEYS = {"population", "columns", "output_dir"}
FROM_CLI, FROM_DEFAULT = "命令行 (command line)", "默认 (default)"


SETTLED = ("region", "pack")  # resolved with the data by cli/run.py settle(), recorded in provenance["choice"]


@dataclass
class Source:
    """Where one option's value came from (:meth:`Settings.source`)."""

    kind: str  # "given" (command line) | "config" (the project file) | "default"
    origin: str  # FROM_CLI, "fupin.toml:LINE" or FROM_DEFAULT
    overridden: Any = None  # the file's value where the command line won
    file_name: str = FILE_NAME

    def how(self, cli: str, file: str) -> str:
        """中文 for the summary and 说明: ``cli`` is the option as typed (--region 重庆), ``file`` the file's line."""
        if self.kind == "given":
            return f"命令行 {cli}" + (f"（{self.file_name} 中为 {self.overridden}）" if self.overridden is not None else "")
        if self.kind == "config":
            return f"{self.origin}（{file}）"
        return "默认"


@dataclass
class Settings:
    """Resolved option values with their origins; attribute access: ``cfg.pack``."""

    values: dict[str, Any] = field(default_factory=dict)
    origins: dict[str, str] = field(default_factory=dict)
    file_values: dict[str, Any] = field(default_factory=dict)  # what the file said, where the command line won
    project: ProjectFile | None = None
    path: Path | None = None

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["values"][name]
        except KeyError:
            raise AttributeError(name) from None

    @property
    def signatures(self) -> Signatures:
        return self.project.signatures if self.project else Signatures()

    @property
    def unit(self) -> str | None:
        return self.values.get("unit") or (self.project.unit if self.project else None)

    def source(self, name: str) -> Source:
        """Where option ``name``'s value came from: the command line, the project file (with its line), or the default."""
        origin = self.origins.get(name, FROM_DEFAULT)
        kind = "given" if origin == FROM_CLI else "default" if origin == FROM_DEFAULT else "config"
        return Source(kind, origin, self.file_values.get(name), self.path.name if self.path else FILE_NAME)

    def describe(self) -> dict[str, str]:
        """For the 说明 sheet / provenance options: value and where it came from (and the file's value it overrode).

        Region and pack are not among them: :func:`fupin_cli.cli.run.settle` resolves them (with what the
        roster says) and the provenance ``choice`` records value and source."""
        out: dict[str, str] = {}
        if self.path is None:  # no project file: the options are the command's own (provenance as before)
            return out
        out["config"] = str(self.path)
        for name, value in self.values.items():
            if name in SETTLED:
                continue
            if value is None and self.origins.get(name) == FROM_DEFAULT:
                continue
            shown = value.date().isoformat() if isinstance(value, dt.datetime) else value
            text = f"{shown} ({self.origins.get(name, FROM_DEFAULT)})"
            if name in self.file_values:
                text += f"; {self.path.name if self.path else FILE_NAME} 中为 {self.file_values[name]}"
            out[name] = text
        return out


def find(explicit: Path | None) -> Path | None:
    if explicit is not None:
        if not explicit.is_file():
            raise UsageError(f"--config {explicit}: no such file", "give the path of a fupin.toml (or run `fupin init`)")
        return explicit
    here = Path.cwd() / FILE_NAME
    return here if here.is_file() else None


def _key_line(text: str, loc: tuple) -> int:
    """The line of a dotted key in a TOML text (its table header for a table), 1-based; 0 when not found."""
    table: tuple[str, ...] = ()
    want = tuple(str(p) for p in loc)
    best = 0
    for i, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        m = re.match(r"^\[\s*([^\]]+?)\s*\]$", stripped)
        if m:
            table = tuple(part.strip().strip('"') for part in m.group(1).split("."))
            if table == want:
                best = best or i
            continue
        m = re.match(r'^"?([\w-]+)"?\s*=', stripped)
        if m and (*table, m.group(1)) == want[: len(table) + 1] and len(want) >= len(table) + 1:
            return i
    return best


def load(path: Path) -> ProjectFile:
    name = path.name
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"{name}: cannot read ({type(e).__name__})", "save it as UTF-8 text") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as e:
        m = re.search(r"line (\d+)", str(e))
        line = m.group(1) if m else "?"
        raise UsageError(f"{name}:{line}: TOML syntax error: {str(e).split(' (at')[0]}",
                         "fix the line (strings in \"quotes\", dates as 2015-10-08)") from None
    try:
        project = ProjectFile.model_validate(data)
    except ValidationError as e:
        first = e.errors()[0]
        loc = tuple(first["loc"])
        key = ".".join(map(str, loc))
        msg = first["msg"]
        if first["type"] == "extra_forbidden":
            import difflib

            sections: dict[str, type[BaseModel]] = {"signatures": Signatures, "publicity": Publicity}
            model = sections.get(str(loc[0]), ProjectFile) if len(loc) > 1 else ProjectFile
            known = sorted(model.model_fields)
            close = difflib.get_close_matches(str(loc[-1]), known, n=1)
            msg = "unknown key" + (f" (did you mean {close[0]!r}?)" if close else f" (known: {', '.join(known)})")
        raise UsageError(f"{name}:{_key_line(text, loc)}: {key}: {msg}", f"fix {name} (see `fupin init --help`)") from None
    base = path.parent
    for key in PATH_KEYS:  # relative paths are relative to the file's folder
        value = getattr(project, key)
        if value is not None and not value.is_absolute():
            setattr(project, key, base / value)
    for key in ("population", "columns"):
        value = getattr(project, key)
        if value is not None and not value.is_file():
            raise UsageError(f"{name}:{_key_line(text, (key,))}: {key}: file {value} does not exist",
                             f"fix the path in {name} (relative paths are relative to its folder)")
    if project.output_dir is not None and not project.output_dir.is_dir():
        raise UsageError(f"{name}:{_key_line(text, ('output_dir',))}: output_dir: folder {project.output_dir} does not exist",
                         "create it first")
    project._lines = {k: _key_line(text, tuple(v.split("."))) for k, v in OPTION_KEYS.items()}
    return project


def _file_value(project: ProjectFile, dotted: str) -> Any:
    """The file's value of a dotted key, None when the file does not set it (model defaults do not count)."""
    node: Any = project
    for part in dotted.split("."):
        if part not in node.model_fields_set:
            return None
        node = getattr(node, part)
    return node


def _given(ctx: Any, name: str) -> bool:
    """Did the user give this option on the command line (or by environment), rather than leaving its default?"""
    try:
        source = ctx.get_parameter_source(name)
    except Exception:
        return True
    return source is not None and getattr(source, "name", "") not in ("DEFAULT", "DEFAULT_MAP")


def settings(ctx: Any, **options: Any) -> Settings:
    """Resolve options against the project file: the command line wins, then fupin.toml, then the default.

    ``region`` and ``pack`` go on to :func:`fupin_cli.cli.run.settle`, which puts what the roster says
    between fupin.toml and the default."""
    from fupin_cli.cli.common import state

    path = find(state.config)
    project = load(path) if path is not None else None
    cfg = Settings(project=project, path=path)
    for name, value in options.items():
        key = OPTION_KEYS.get(name)
        file_value = _file_value(project, key) if project is not None and key else None
        if _given(ctx, name) or file_value is None:
            cfg.values[name] = value
            cfg.origins[name] = FROM_CLI if _given(ctx, name) else FROM_DEFAULT
            if file_value is not None and _given(ctx, name) and file_value != value:
                cfg.file_values[name] = file_value
        else:
            if name == "publicity_start" and isinstance(file_value, dt.date) and not isinstance(file_value, dt.datetime):
                file_value = dt.datetime(file_value.year, file_value.month, file_value.day)
            cfg.values[name] = file_value
            cfg.origins[name] = f"{path.name}:{project._lines.get(name, 0)}"  # type: ignore[union-attr]
    if project is not None and project.columns is not None and "columns" not in options:
        raise UsageError(f"{path.name}: columns: this build of fupin cannot apply a column map yet",  # type: ignore[union-attr]
                         f"remove the 'columns' line from {path.name}, or rename the roster's headers")  # type: ignore[union-attr]
    return cfg


def default_output(cfg: Settings, name: str) -> Path:
    """A default output file name in ``output_dir`` from the file, else the working folder."""
    folder = cfg.values.get("output_dir") or (cfg.project.output_dir if cfg.project else None)
    return Path(folder or Path.cwd()) / name


def print_info(cfg: Settings):
    """填报单位 and signature names for the printed sheets (io.print_view.PrintInfo)."""
    from fupin_cli.io.print_view import PrintInfo

    sig = cfg.signatures
    return PrintInfo(unit=cfg.unit, preparer=sig.preparer, reviewer=sig.reviewer, leader=sig.leader)
