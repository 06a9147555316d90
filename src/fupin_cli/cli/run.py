"""The scaffolding every report command shares: outputs checked first, pack and region loaded
before the (long) read, a progress display on stderr, then JSON *or* warnings + summary.

    target = prepare_outputs(output or default, force, publicity=publicity, publicity_what="公示名单")
    with progress(quiet or json_) as step:
        step("pack"); the_pack = load_pack_checked(pack, region)
        step("read"); ...
        step("write"); write(..., progress=step.rows)
    finish(json_, quiet, payload=lambda: {...}, warnings=[...], render=lambda: render(result, outputs))
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from fupin_cli.cli.common import err, escape, out, print_json
from fupin_cli.errors import UsageError

TABLE_FORMATS = (".xlsx", ".csv", ".parquet")
STEPS = {"pack": "加载规则包", "read": "读取花名册", "validate": "校验数据", "evaluate": "评估规则",
         "decide": "生成识别结果", "write": "写出文件"}


def run_time(inputs: Iterable[Any] = ()) -> str:
    """The time written into outputs (说明 sheets, JSON provenance), ISO 8601.

    ``SOURCE_DATE_EPOCH`` pins it; otherwise the newest modification time of the inputs, so the
    same inputs and pack give byte-identical files (a county can diff two runs); the current
    time only when no input can be looked at.  ``inputs``: paths, None (an option not given) and
    lists of paths (several roster files).
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        return dt.datetime.fromtimestamp(min(int(epoch), 253402214400), dt.UTC).isoformat(timespec="seconds")
    times = []
    for p in _paths(inputs):
        with contextlib.suppress(OSError):
            times.append(p.stat().st_mtime)
    if times:
        return dt.datetime.fromtimestamp(int(max(times)), dt.UTC).isoformat(timespec="seconds")
    return dt.datetime.now().astimezone().isoformat(timespec="seconds")


def _paths(items: Iterable[Any]) -> list[Path]:
    """Input paths from a mix of paths, None (an option not given) and lists (several roster files)."""
    out: list[Path] = []
    for p in items:
        if p is None:
            continue
        if isinstance(p, (list, tuple)):
            out.extend(_paths(p))
        else:
            out.append(Path(p))
    return out


class Step:
    """``step(name)`` names the stage; ``step.rows(done, total)`` advances the bar of a long write."""

    def __init__(self, p, task):
        self._p = p
        self._task = task
        self._name = ""

    def __call__(self, name: str) -> None:
        self._name = STEPS.get(name, name)
        self._p.update(self._task, description=self._name, total=None, completed=0)

    def rows(self, done: int, total: int) -> None:
        self._p.update(self._task, description=f"{self._name} {done:,}/{total:,} 行", total=total, completed=done)

    def save(self, done: int, total: int) -> None:
        """The final save of a workbook (sheet XML assembled, then compressed), in bytes (an estimate)."""
        mb = 1024 * 1024
        self._p.update(self._task, description=f"{self._name} 保存 {done / mb:,.0f}/{total / mb:,.0f} MB", total=total,
                       completed=done)

    def report(self, stage: str, done: int, total: int) -> None:
        """The io writers' reports (:mod:`fupin_cli.io.progress`): rows of a table, or the save."""
        (self.save if stage == "save" else self.rows)(done, total)


@contextlib.contextmanager
def progress(quiet: bool) -> Iterator[Step]:
    """A transient spinner/bar on stderr; silent when quiet, with --json, or when stderr is not a terminal."""
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    from fupin_cli.io.progress import listening

    disable = quiet or not err.is_terminal
    with Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn(), console=err,
                  transient=True, disable=disable) as p:
        step = Step(p, p.add_task("", total=None))
        with listening(step.report):  # every table written and every workbook saved in the block moves the bar
            yield step


def main_output(output: Path | None, default: Path, json_: bool) -> Path | None:
    """The main output file: ``-o`` when given; else the default name, except with ``--json``, which writes
    no file it was not asked for (None)."""
    if output is not None:
        return output
    return None if json_ else default


def prepare_outputs(target: Path | None, force: bool, *, allowed: Sequence[str] = TABLE_FORMATS,
                    publicity: Path | None = None, publicity_what: str = "公示名单",
                    inputs: Iterable[Path | None] = (), others: Iterable[tuple[str, Path | None]] = (),
                    annotated: Iterable[Path] = ()) -> Path | None:
    """Check every output before any work: type, existing file, writable folder, no clash with an input.

    The one place outputs meet inputs: every input of the run (roster, register, --quota, --assist,
    --roster, --population, ...) is declared here (:func:`fupin_cli.io.write.protect_inputs`), and
    every output — ``target``, ``publicity``, ``others`` and any file a writer adds later (e.g. a
    side .parquet) — is refused when it is one of them (same resolved path, symlink or hard link),
    with or without ``--force``.  ``annotated``: the ``--annotate`` copies (.xlsx); ``target`` None: no
    main output (``--json`` without ``-o``).  Stale temporaries of runs that died are removed from the
    output folders.
    """
    from fupin_cli.io.write import check_output, clean_stale_temporaries, protect_inputs, same_file

    ins = _paths(inputs)
    protect_inputs(ins, reset=True)
    outs: list[tuple[str, Path, Sequence[str]]] = []
    if target is not None:
        outs.append(("--output", target, allowed))
    if publicity is not None:
        outs.append(("--publicity", publicity, (".xlsx",)))
    outs.extend((flag, p, TABLE_FORMATS) for flag, p in others if p is not None)
    outs.extend(("--annotate", p, (".xlsx",)) for p in annotated)  # the annotated copies of the roster workbooks
    for flag, path, kinds in outs:
        check_output(path, force, allowed=kinds, inputs=ins)
        clean_stale_temporaries(path.parent if str(path.parent) else Path("."))
    for i, (flag, path, _) in enumerate(outs):
        for other_flag, other, _ in outs[i + 1:]:
            if same_file(path, other):
                what = publicity_what if "--publicity" in (flag, other_flag) else "each output"
                raise UsageError(f"{other_flag} and {flag} name the same file", f"give the {what} its own file name")
    return target


def load_pack_checked(pack: str | None, region: str | None, default: str = "national-2014"):
    """Load a rule pack and check the region before reading any roster (RuleError, exit 3).

    ``pack`` None: the command's default pack (the pack may still change to the region's own
    pack once the roster is read: :func:`settle`).  Regions are accepted as 重庆 / 重庆市 / 500000."""
    from fupin_cli.engine import load_pack
    from fupin_cli.engine.params import region_chain
    from fupin_cli.regions import normalise_region

    the_pack = load_pack(pack or default)
    region_chain(the_pack, normalise_region(region) or the_pack.meta.region)
    return the_pack


class RunContext:
    """The pack, region and year a run uses, and where each came from (issue 8 item 6, issue 9 item 9).

    ``info`` goes to ``--json`` and the 说明 sheet (provenance ``choice``); ``lines`` to the summary."""

    def __init__(self, pack, region: str, info: dict[str, Any], lines: list[str], warnings: list[str] | None = None):
        self.pack, self.region, self.info, self.lines = pack, region, info, lines
        self.warnings = warnings or []


def settle(roster, cfg, year: int, default: str, *, check_roster_year: bool = True, loaded=None, era: bool = True,
           year_source: tuple[str, str] | None = None) -> RunContext:
    """The one resolution of region, pack and year, after reading the roster.

    Each value: the command line, else fupin.toml (``cfg``: :func:`fupin_cli.cli.config.settings`), else
    inferred from the data (region: 省/市/县 columns, title rows, ID/户编号 area codes; pack: the
    region's provincial pack built on ``default`` and covering ``year``), else the default (the pack's
    own region; ``default``).  A region given on the command line or in fupin.toml that the roster
    contradicts, or a ``--year`` against the roster's 年度, stops the run (exit 2); a region the pack
    does not know, or a year outside its era, is a rule-pack error (exit 3; ``era`` False: not checked,
    validate's data-quality checks).  The source of every value (given / config / inferred / default) is
    in ``info`` and ``lines``; ``year_source`` (kind, 中文) where the command did not take ``--year`` as given."""
    from fupin_cli.engine import load_pack
    from fupin_cli.engine.loader import regional_pack
    from fupin_cli.engine.params import check_era, region_chain
    from fupin_cli.regions import check_year, settle_region, years_in

    region_src = cfg.source("region")
    choice = settle_region(cfg.region, roster, given_by=region_src)
    pack_src = cfg.source("pack")
    if cfg.pack:
        name, why = cfg.pack, pack_src.how(f"--pack {cfg.pack}", f"pack = {cfg.pack}")
        pack_source = pack_src.kind
    else:
        name, why = regional_pack(default, choice.region, year)
        pack_source = "inferred" if name != default else "default"
    the_pack = loaded if loaded is not None and loaded.name == name and cfg.pack else load_pack(name)
    used = choice.region or the_pack.meta.region
    region_chain(the_pack, used)
    if era:
        check_era(the_pack, year)  # the pack's era first (exit 3), then the roster's own 年度 (exit 2)
    years = years_in(roster) if check_roster_year else []
    if check_roster_year:
        check_year(year, roster)
    year_kind, year_how = year_source or ("given", f"命令行 --year {year}" + ("（与花名册“年度”列一致）" if years else ""))
    info = {"region": used, "region_source": choice.kind, "region_how": choice.how,
            "pack": the_pack.name, "pack_source": pack_source, "pack_how": why,
            "year": year, "year_source": year_kind, "year_how": year_how,
            "inferred": choice.to_dict()["inferred"]}
    lines = [f"地区 {used}：{choice.how}", f"规则包 {the_pack.ident}：{why}", f"年度 {year}：{year_how}"]
    warnings = []
    if choice.inferred is not None and choice.inferred.conflicts:
        warnings.append("花名册中的地区信息不一致：" + "；".join(choice.inferred.conflicts) + f"（采用 {choice.inferred.source}）")
    return RunContext(the_pack, used, info, lines, warnings)


def print_choice(lines: Iterable[str]) -> None:
    """The summary's 'where the region, pack and year came from' lines (stdout, before the table)."""
    for line in lines:
        out.print(escape(line))


def print_outputs(outputs: Iterable[str | Path]) -> None:
    """The closing ``输出 output: PATH`` lines (outside any table: a path is never truncated)."""
    for path in outputs:
        out.print(f"输出 output: {escape(str(path))}")


def warn(messages: Iterable[str]) -> None:
    for m in messages:
        err.print(f"[yellow]注意:[/] {escape(m)}")


def envelope(payload: dict[str, Any], warnings: Iterable[str] = ()) -> dict[str, Any]:
    """The JSON every report command prints: its own keys plus ``outputs`` (files written, [] for none),
    ``warnings`` (what went to stderr as 注意) and ``provenance`` (docs/cli.md "JSON")."""
    out = dict(payload)
    out.setdefault("outputs", [])
    out.setdefault("warnings", list(warnings))
    out.setdefault("provenance", {})
    return out


def finish(json_: bool, quiet: bool, *, payload: Callable[[], dict[str, Any]], warnings: Iterable[str] = (),
           render: Callable[[], None] | None = None) -> None:
    """Warnings to stderr; then ``--json``: the payload alone on stdout, or else the summary unless quiet."""
    from fupin_cli.io.write import take_notices

    warnings = [*warnings, *take_notices()]
    warn(warnings)
    if json_:
        print_json(envelope(payload(), warnings))
        return
    if not quiet and render is not None:
        render()


def annotate_plan(annotate: Path | None, inputs: list[Path]) -> dict[Path, Path]:
    """``--annotate`` → {input roster: annotated copy} (empty without the option); usage errors before any work."""
    if annotate is None:
        return {}
    from fupin_cli.io.annotate import annotate_targets

    return annotate_targets(annotate, inputs)


def write_annotated(plan: dict[Path, Path], roster, decisions, columns: list[str], provenance: dict, *, lang: str,
                    force: bool, labels: dict[str, str] | None = None):
    """The ``--annotate`` copies: ``roster`` (households/members with _source/_sheet/_row, sources) + ``decisions``
    (household_id + ``columns``).  Returns an AnnotateOutcome (outputs, warnings)."""
    from fupin_cli.io.annotate import AnnotateOutcome, annotate_rosters
    from fupin_cli.io.register import column_label, provenance_rows

    if not plan:
        return AnnotateOutcome()
    names = {c: (labels or {}).get(c) or column_label(c, lang) for c in columns}
    return annotate_rosters(plan, households=roster.households, members=roster.members, sources=roster.sources,
                            decisions=decisions, columns=names, about=provenance_rows(provenance), force=force)


# ---- one JSON envelope for every command (docs/cli.md "JSON") ------------------------------
ENVELOPE_KEYS = ("outputs", "warnings", "provenance")


def command_provenance(command: str, *, sources: Iterable[Any] = (), files: Iterable[Path | None] = (),
                       read: Iterable[Path | None] = (), pack: Any = None, year: int | None = None, region: str | None = None,
                       options: dict[str, Any] | None = None) -> dict[str, Any]:
    """``provenance`` for the commands that do not build the report commands' full one (validate, explain, columns,
    rules, samples): tool, version, command, the inputs with their SHA-256 (``sources``: a roster's sources;
    ``files``: other input files; ``read``: the files behind ``sources``, for the run time), the pack, year, region, run time and options (keys present only when known)."""
    from fupin_cli import __version__
    from fupin_cli.io.write import sha256_file

    inputs = [{"name": s.name, "sha256": s.sha256, **({"format": s.format} if getattr(s, "format", None) else {})}
              for s in sources]
    paths = _paths(files)
    inputs += [{"name": p.name, "sha256": sha256_file(p)} for p in paths if p.is_file()]
    prov: dict[str, Any] = {"tool": "fupin", "version": __version__, "command": command, "inputs": inputs}
    if pack is not None:
        from fupin_cli.core.identify import pack_info

        prov["pack"] = pack_info(pack)
    if year is not None:
        prov["year"] = year
    if region is not None or pack is not None:
        prov["region"] = region or getattr(getattr(pack, "meta", None), "region", None)
    prov["run_time"] = run_time([*_paths(read), *paths])
    prov["options"] = dict(options or {})
    return prov


def print_envelope(payload: dict[str, Any], *, outputs: Iterable[str | Path] = (), warnings: Iterable[str] = (),
                   provenance: dict[str, Any]) -> None:
    """``--json`` of any command: its own keys plus ``outputs``, ``warnings`` and ``provenance``."""
    print_json(envelope({**payload, "outputs": [str(p) for p in outputs], "provenance": provenance}, list(warnings)))
