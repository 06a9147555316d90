"""Change only the *form* of a generated roster: labels, polarity, units, layout, sheets, files,
row and column order, file format.  Every function here keeps the information the same, so the
decisions read from the result must equal the decisions read from the plain file.

The starting point is the text of a roster as ``write_roster`` writes it (schema Chinese labels),
read back as strings: ``member`` (one row per member, household columns repeated) or ``household``
(one row per household).  A :class:`Form` says what to change; :func:`write_form` writes it and
returns the paths to read.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pandas as pd

from fupin_cli.schema import FIELDS, HOUSEHOLD_FIELD_NAMES, MEMBER_FIELD_NAMES

ZH = {f.zh: f.name for f in FIELDS.values()}
HOUSEHOLD_LABELS = {FIELDS[n].zh for n in HOUSEHOLD_FIELD_NAMES}
MEMBER_LABELS = {FIELDS[n].zh for n in MEMBER_FIELD_NAMES}


def _invert(s: pd.Series, rng: random.Random) -> pd.Series:
    return s.map({"是": "否", "否": "是"}).fillna(s)


def _ticks(s: pd.Series, rng: random.Random) -> pd.Series:
    return s.map({"是": "√", "否": "×"}).fillna(s)


def _grades(s: pd.Series, rng: random.Random) -> pd.Series:
    return s.map(lambda v: rng.choice(["D级危房", "C级", "D级"]) if v == "是" else rng.choice(["A级", "B级"]) if v == "否" else v)


def _divide(factor: int):
    def f(s: pd.Series, rng: random.Random) -> pd.Series:
        return s.map(lambda v: str(Decimal(v) / Decimal(factor)) if v not in ("", None) else v)
    return f


# label as written by write_roster → realistic variants (new label, value transform or None)
COMMON = {
    "户编号": [("户码", None), ("家庭编号", None), ("户 编 号", None)],
    "户主姓名": [("户主姓名：", None), ("户  主  姓  名", None)],
    "家庭人口数": [("家庭人口数(人)", None), ("家庭人口（人）", None)],
    "人均纯收入": [("人均纯收入(元)", None), ("人均纯收入(万元)", _divide(10000)), ("人均纯收入（千元）", _divide(1000)),
              ("家庭年人均纯收入", None)],
    "纯收入": [("家庭纯收入(元)", None), ("纯收入(万元)", _divide(10000))],
    "工资性收入": [("工资性收入（元）", None)],
    "是否危房": [("房屋是否安全", _invert), ("住房安全(是/否)", _invert), ("是否危房", _grades), ("危房户(√)", _ticks)],
    "是否低保户": [("是否为低保户", None), ("低保户(是/否)", None)],
    "是否特困供养户": [("是否五保户", None), ("特困供养户", None)],
    "有机动车": [("是否有小轿车", None), ("有无机动车", None)],
    "城镇有房产": [("是否有商品房", None), ("城镇有房产(是/否)", None)],
    "有工商注册企业": [("是否有公司", None), ("有注册公司", None)],
    "有国家公职人员": [("家庭成员有财政供养人员", None), ("是否有财政供养人员", None)],
    "有村干部": [("家庭成员中有无村干部", None)],
    "是否不愁吃穿": [("不愁吃穿(是/否)", None), ("是否愁吃穿", _invert)],
    "饮水是否安全": [("饮水有保障", None), ("饮水安全(√)", _ticks)],
    "饮水是否困难": [("饮水困难(是/否)", None)],
    "耕地面积": [("耕地面积(亩)", None), ("耕地面积(公顷)", _divide(15))],
}
MEMBER_ONLY = {
    "姓名": [("姓  名", None), ("成员姓名", None)],
    "证件号码": [("身份证号码", None), ("公民身份号码", None)],
    "与户主关系": [("与户主的关系", None)],
    "健康状况": [("健 康 状 况", None)],
    "是否辍学": [("辍学(是/否)", None)],
    "是否参加基本医疗保险": [("未参加基本医疗保险", _invert), ("是否参加新农合", None)],
    "是否享受低保": [("是否低保", None), ("低保(是/否)", None)],
    "是否特困供养": [("特困供养(是/否)", None)],
    "是否国家公职人员": [("是否财政供养人员", None)],
}
# one row per household: a member label on a household flag means the household has such a member
HOUSEHOLD_ONLY = {
    "是否特困供养户": [("是否特困供养", None)],
    "有国家公职人员": [("是否财政供养人员", None)],
    "是否低保户": [("是否低保", None)],
}


@dataclass(frozen=True)
class Form:
    family: str  # "member" | "household": which information the roster holds
    layout: str = "repeated"  # member family: repeated | head-only | two-sheet
    fmt: str = "xlsx"  # xlsx | xls | csv | parquet
    relabel: tuple[str, ...] = ()  # labels to relabel (each with a seeded variant)
    spaces: bool = False  # spaces inside labels, 元 units on money labels, full-width brackets
    split: str = "none"  # none | sheets (one sheet per village) | files (one file per township)
    shuffle: bool = False  # households (blocks of rows) and columns in a seeded random order
    seed: int = 0


def variants(family: str) -> dict[str, list]:
    out = {k: list(v) for k, v in COMMON.items()}
    extra = MEMBER_ONLY if family == "member" else HOUSEHOLD_ONLY
    for k, v in extra.items():
        out.setdefault(k, []).extend(v)
    return out


def _spaced(label: str) -> str:
    if label.isascii() or len(label) > 4 or "(" in label:
        return label
    return "  ".join(label) if len(label) == 2 else label[:1] + " " + label[1:]


def _relabel(df: pd.DataFrame, form: Form, rng: random.Random) -> pd.DataFrame:
    table = variants(form.family)
    renames = {}
    for label in form.relabel:
        if label not in df.columns or label not in table:
            continue
        header, transform = rng.choice(table[label])
        if transform is not None:
            df[label] = transform(df[label], rng)
        renames[label] = header
    if form.spaces:
        for c in df.columns:
            if c in renames:
                continue
            f = FIELDS.get(ZH.get(c, ""))
            if f is not None and f.kind == "money":
                renames[c] = c + rng.choice(["(元)", "（元）"])
            else:
                renames[c] = _spaced(c)
    return df.rename(columns=renames)


def _head_only(df: pd.DataFrame) -> pd.DataFrame:
    """Household columns (户编号 too) only on the first row of each household."""
    cont = df["户编号"].duplicated()
    for c in df.columns:
        if c in HOUSEHOLD_LABELS:
            df.loc[cont, c] = ""
    return df


def _shuffled(df: pd.DataFrame, rng: random.Random, keep_blocks: bool) -> pd.DataFrame:
    keys = list(dict.fromkeys(df["户编号"]))
    rng.shuffle(keys)
    pos = {k: i for i, k in enumerate(keys)}
    order = df["户编号"].map(pos).argsort(kind="stable")
    df = df.iloc[order].reset_index(drop=True)
    cols = list(df.columns)
    rng.shuffle(cols)
    return df[cols]


def sheets_of(member: pd.DataFrame, household: pd.DataFrame, form: Form, rng: random.Random) -> list[tuple[str, str, pd.DataFrame]]:
    """(file key, sheet name, frame) in canonical labels, before relabelling."""
    if form.family == "household":
        base = [("", "户", household.copy())]
    elif form.layout == "two-sheet":
        mem_cols = ["户编号"] + [c for c in member.columns if c in MEMBER_LABELS]
        base = [("", "户", household.copy()), ("", "成员", member[mem_cols].copy())]
    else:
        base = [("", "花名册", member.copy())]
    if form.shuffle:
        base = [(f, s, _shuffled(df, rng, keep_blocks=True)) for f, s, df in base]
    village = household.set_index("户编号")["行政村"]
    township = household.set_index("户编号")["乡镇"]
    out = []
    for f, s, df in base:
        if form.split == "none":
            out.append((f, s, df))
            continue
        key = (village if form.split == "sheets" else township)
        groups = df["户编号"].map(key)
        for name in dict.fromkeys(groups):
            part = df[groups == name].reset_index(drop=True)
            if form.split == "sheets":
                out.append((f, f"{s}-{name}" if form.layout == "two-sheet" else name, part))
            else:
                out.append((name, s, part))
    if form.family == "member" and form.layout == "head-only":
        out = [(f, s, _head_only(df.copy()) if "姓名" in df.columns else df) for f, s, df in out]
    return out


def _kind(label: str) -> str:
    from fupin_cli.headers import match_header

    m = match_header(label)
    return FIELDS[m.field].kind if m else "str"


def write_form(member: pd.DataFrame, household: pd.DataFrame, form: Form, folder: Path) -> list[Path]:
    rng = random.Random(form.seed)
    parts = sheets_of(member, household, form, rng)
    labels_rng_seed = rng.random()
    files: dict[str, list[tuple[str, pd.DataFrame]]] = {}
    for f, s, df in parts:
        # the same relabelling on every sheet and file (one county, one template)
        files.setdefault(f, []).append((s, _relabel(df.copy(), form, random.Random(labels_rng_seed))))
    paths = []
    for i, (f, sheets) in enumerate(files.items()):
        stem = f"roster-{i:02d}" if f else "roster"
        if form.fmt in ("csv", "parquet"):
            assert len(sheets) == 1, "csv/parquet hold one sheet"
            p = folder / f"{stem}.{form.fmt}"
            _write_flat(sheets[0][1], p, form.fmt)
        else:
            p = folder / f"{stem}.{form.fmt}"
            (_write_xlsx if form.fmt == "xlsx" else _write_xls)(sheets, p)
        paths.append(p)
    return paths


def _write_flat(df: pd.DataFrame, p: Path, fmt: str) -> None:
    if fmt == "csv":
        df.to_csv(p, index=False, encoding="utf-8-sig")
        return
    typed = {}
    for c in df.columns:
        kind, s = _kind(c), df[c].replace("", None)
        if kind in ("money", "float") and s.dropna().map(_is_number).all():
            typed[c] = pd.to_numeric(s).astype("float64")
        elif kind == "bool" and s.dropna().isin(["是", "否"]).all():
            typed[c] = s.map({"是": True, "否": False}).astype("boolean")
        else:
            typed[c] = s.astype("string")
    pd.DataFrame(typed).to_parquet(p, index=False)


def _is_number(v: str) -> bool:
    try:
        float(v)
        return True
    except ValueError:
        return False


def _cells(df: pd.DataFrame):
    kinds = [_kind(c) for c in df.columns]
    for r, row in enumerate(df.itertuples(index=False, name=None), start=1):
        for c, (v, kind) in enumerate(zip(row, kinds)):
            if v in ("", None):
                continue
            if kind in ("money", "float", "int") and _is_number(v):
                yield r, c, float(v)
            else:
                yield r, c, str(v)


def _write_xlsx(sheets: list[tuple[str, pd.DataFrame]], p: Path) -> None:
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(p))
    for name, df in sheets:
        ws = wb.add_worksheet(name[:31])
        for c, h in enumerate(df.columns):
            ws.write_string(0, c, h)
        for r, c, v in _cells(df):
            ws.write_number(r, c, v) if isinstance(v, float) else ws.write_string(r, c, v)
    wb.close()


def _write_xls(sheets: list[tuple[str, pd.DataFrame]], p: Path) -> None:
    import xlwt

    wb = xlwt.Workbook(encoding="utf-8")
    for name, df in sheets:
        ws = wb.add_sheet(name[:31])
        for c, h in enumerate(df.columns):
            ws.write(0, c, h)
        for r, c, v in _cells(df):
            ws.write(r, c, v)
    wb.save(str(p))
