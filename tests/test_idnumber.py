"""GB 11643 ID numbers: scalar check_id, vectorised check_series, mask.

python-stdnum (stdnum.cn.ric) is the independent oracle. It also checks the birth place
against its own county table (with year ranges), so the oracle tests use address codes it
knows without a date range (110105 北京朝阳, 120103 天津河西).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stdnum.cn import ric

from fupin_cli.idnumber import (
    SERIES_COLUMNS,
    birth_dates,
    check_char,
    check_id,
    check_series,
    mask,
    mask_series,
    mask_text,
    sexes,
    upgrade15,
)

REF = dt.date(2024, 6, 30)


def make_id(prefix: str, birth: dt.date, seq: int) -> str:
    first17 = f"{prefix}{birth:%Y%m%d}{seq:03d}"
    return first17 + check_char(first17)


# ----------------------------------------------------------------------------------------
# published examples
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "value, birth, sex",
    [
        ("11010519491231002X", dt.date(1949, 12, 31), "女"),
        ("360426199101010071", dt.date(1991, 1, 1), "男"),
        ("120103198806018241", dt.date(1988, 6, 1), "女"),
    ],
)
def test_published_examples_are_valid(value, birth, sex):
    c = check_id(value, REF)
    assert (c.valid, c.problem, c.normalised, c.birth_date, c.sex, c.kind) == (True, "", value, birth, sex, "resident")
    assert c.upgraded_from_15 is False
    assert ric.is_valid(value)


def test_check_char_and_upgrade():
    assert check_char("11010519491231002") == "X"
    assert check_char("36042619910101007") == "1"
    assert upgrade15("110105491231002") == "11010519491231002X"
    with pytest.raises(ValueError):
        check_char("1101051949123100")
    with pytest.raises(ValueError):
        upgrade15("11010549123100X")


def test_15_digit_number_is_upgraded_and_reported():
    c = check_id("110105491231002", REF)
    assert c.valid is True
    assert c.normalised == "11010519491231002X"
    assert c.upgraded_from_15 is True
    assert c.problem == "upgraded_15"
    assert c.problems[0][1] == "15 位旧证件号码 110105*****1002，已升级为 18 位 110105********002X"
    assert (c.birth_date, c.sex) == (dt.date(1949, 12, 31), "女")


def test_15_digit_with_bad_date():
    c = check_id("110105491331002", REF)
    assert (c.valid, c.problem, c.normalised, c.birth_date, c.sex, c.upgraded_from_15) == (
        False, "birth_date", "110105491331002", None, "女", False)


@pytest.mark.parametrize("value", ["11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ", " 110105 19491231 002X ", "'11010519491231002X", "11010519491231002Ｘ\u3000"])
def test_lower_x_full_width_spaces_and_apostrophe_are_normalised(value):
    c = check_id(value, REF)
    assert (c.valid, c.problem, c.normalised) == (True, "", "11010519491231002X")


def test_python_int_is_checked_as_digits():
    assert check_id(360426199101010071, REF).valid is True


@pytest.mark.parametrize(
    "value, normalised",
    [
        ("5.00101E+17", "5.00101E+17"),
        ("5.00101e17", "5.00101E17"),
        ("500101199001011000.0", "500101199001011000.0"),
        (5.00101199001011e17, "5.00101199001011E+17"),
        ("500101199001011000", "500101199001011000"),  # 15 significant digits kept, check fails
    ],
)
def test_excel_number_mangling_is_its_own_problem(value, normalised):
    c = check_id(value, REF)
    assert (c.valid, c.problem, c.normalised) == (False, "excel_number", normalised)
    assert "Excel" in c.problems[0][1]


def test_valid_id_ending_in_000_is_not_excel_mangling():
    days = (dt.date(1980, 1, 1) + dt.timedelta(days=i) for i in range(400))
    value = next(v for v in (make_id("110105", d, 0) for d in days) if v.endswith("000"))
    c = check_id(value, REF)
    assert (c.valid, c.problem) == (True, "")


def test_checksum_error_message_is_masked_and_names_expected_char():
    c = check_id("110105194912310021", REF)
    assert (c.valid, c.problem) == (False, "checksum")
    assert c.problems == (("checksum", "证件号码 110105********0021 校验位错误（按前 17 位应为 X，请核对整个号码）"),)
    assert c.birth_date == dt.date(1949, 12, 31)
    assert c.sex == "女"


@pytest.mark.parametrize(
    "birth_part, ok",
    [
        ("20000229", True),  # leap year
        ("19000228", True),
        ("19990229", False),  # not a leap year
        ("19000229", False),  # 1900 is not a leap year
        ("18991231", False),  # before 1900
        ("19801301", False),  # month 13
        ("19800431", False),  # 31 April
        ("19800100", False),  # day 0
        ("20240630", True),  # the reference date itself
        ("20240701", False),  # after the reference date
    ],
)
def test_birth_date_rules(birth_part, ok):
    first17 = "110105" + birth_part + "123"
    value = first17 + check_char(first17)
    c = check_id(value, REF)
    assert c.valid is ok
    assert c.problem == ("" if ok else "birth_date")
    assert (c.birth_date is None) is (not ok)
    frame = check_series(pd.Series([value]), REF)
    assert bool(frame["valid"].iloc[0]) is ok
    assert frame["problem"].iloc[0] == c.problem


def test_date_and_checksum_both_reported_date_first():
    c = check_id("110105199913310021", REF)
    assert [code for code, _ in c.problems] == ["birth_date", "checksum"]


@pytest.mark.parametrize(
    "value, problem",
    [
        (None, "missing"),
        ("", "missing"),
        ("   ", "missing"),
        (float("nan"), "missing"),
        ("1101051949123100", "length"),
        ("11010519491231002X1", "length"),
        ("110105491231002X", "length"),
        ("0X", "length"),
        ("X", "characters"),
        ("11010519491231X02X", "characters"),
        ("11010519491231002Y", "characters"),
        ("11010549123100X", "characters"),
        ("身份证110105194912", "characters"),
        ("1101051949123100231X", "characters"),
    ],
)
def test_malformed_values(value, problem):
    c = check_id(value, REF)
    assert (c.valid, c.problem) == (False, problem)


def test_length_message():
    assert check_id("1101051949123100", REF).problems[0][1] == (
        "证件号码 110105******3100 有 16 位（应为 18 位，旧证 15 位，残疾证 20/22 位）")


@pytest.mark.parametrize("suffix", ["12", "1234"])
def test_disability_certificate_numbers_are_accepted_with_a_note(suffix):
    value = "11010519491231002X" + suffix
    c = check_id(value, REF)
    assert (c.valid, c.problem, c.kind, c.normalised, c.sex) == (True, "disability", "disability", value, "女")
    assert c.problems[0][1].startswith("残疾证号码 110105")
    bad = check_id("11010519491231002312", REF)  # embedded ID has a wrong check character
    assert (bad.valid, bad.problem, bad.kind) == (False, "checksum", "disability")
    assert bad.problems[0][1].startswith("残疾证号码 ")


# ----------------------------------------------------------------------------------------
# mask
# ----------------------------------------------------------------------------------------
def test_mask():
    assert mask("11010519491231002X") == "110105********002X"
    assert mask("500101199001011234") == "500101********1234"
    assert mask("110105491231002") == "110105*****1002"
    assert mask("1234567890") == "**********"
    assert mask("") == ""
    assert mask(None) == ""
    s = pd.Series(["11010519491231002X", None, "12345", "110105491231002"], dtype="str")
    assert mask_series(s).tolist()[0] == "110105********002X"
    assert pd.isna(mask_series(s).iloc[1])
    assert mask_series(s).tolist()[2:] == ["*****", "110105*****1002"]


def test_mask_text_masks_ids_inside_text_only():
    text = "户主 11010519491231002X 与 110105491231002，电话 13800138000，卡号 6222020200112233445"
    assert mask_text(text) == "户主 110105********002X 与 110105*****1002，电话 13800138000，卡号 622202*********3445"


def test_no_message_contains_a_full_number():
    values = ["11010519491231002X", "110105491231002", "110105194912310021", "500101199001011000",
              "11010519491231002X12", "1101051949123100", "11010519491231X02X", "110105199913310021"]
    for v in values:
        for _, message in check_id(v, REF).problems:
            assert v not in message
            assert "11010519491231002" not in message


# ----------------------------------------------------------------------------------------
# vectorised == scalar
# ----------------------------------------------------------------------------------------
SAMPLES = [
    "11010519491231002X", "360426199101010071", "120103198806018241", "110105491231002",
    "11010519491231002x", "１１０１０５１９４９１２３１００２Ｘ", "5.00101E+17", "500101199001011000.0",
    "500101199001011000", None, "", " ", "1101051949123100", "11010519491231002X12", "11010519491231002X1",
    "abc", "110105194913310021", "110105491231002X", "11010519491231002312", "X", "0X",
    "1101051949123100231X", " '110105491231002 ", "110105491331002", "110105203001010011",
    "11010519491231002X1234", "11010519491231002X123", "110105189912310012",
]


def _scalar_frame(values, ref):
    rows = []
    for v in values:
        c = check_id(v, ref)
        rows.append({
            "normalised": c.normalised or None, "valid": c.valid, "problem": c.problem,
            "birth_date": pd.Timestamp(c.birth_date) if c.birth_date else pd.NaT,
            "sex": c.sex, "upgraded": c.upgraded_from_15, "kind": c.kind,
        })
    return pd.DataFrame(rows, columns=SERIES_COLUMNS)


def assert_same_as_scalar(values, ref=REF):
    got = check_series(pd.Series(values, dtype="str"), ref).reset_index(drop=True)
    want = _scalar_frame(values, ref)
    assert list(got.columns) == SERIES_COLUMNS
    for col in SERIES_COLUMNS:
        g = [None if pd.isna(x) else x for x in got[col].tolist()]
        w = [None if pd.isna(x) else x for x in want[col].tolist()]
        assert g == w, col


def test_series_matches_scalar_on_samples():
    assert_same_as_scalar(SAMPLES)


def test_series_keeps_index_and_types():
    s = pd.Series(["11010519491231002X", "110105491231002", None], index=[10, 20, 30], dtype="str")
    out = check_series(s, REF)
    assert out.index.tolist() == [10, 20, 30]
    assert out["valid"].tolist() == [True, True, False]
    assert out["upgraded"].tolist() == [False, True, False]
    assert out["problem"].tolist() == ["", "upgraded_15", "missing"]
    assert str(out["birth_date"].dtype) == "datetime64[ns]"
    assert out["normalised"].tolist()[:2] == ["11010519491231002X", "11010519491231002X"]
    assert birth_dates(s, REF).tolist()[:2] == [pd.Timestamp("1949-12-31")] * 2
    assert sexes(s, REF).tolist()[:2] == ["女", "女"]


def test_float_column_is_excel_number_and_int_column_is_checked():
    floats = pd.Series([5.00101199001011e17, np.nan])
    out = check_series(floats, REF)
    assert out["problem"].tolist() == ["excel_number", "missing"]
    ints = pd.Series([360426199101010071, pd.NA], dtype="Int64")
    assert check_series(ints, REF)["problem"].tolist() == ["", "missing"]


def test_object_column_with_mixed_values():
    obj = pd.Series(["11010519491231002X", 5.00101e17, 360426199101010071, None], dtype=object)
    assert check_series(obj, REF)["problem"].tolist() == ["", "excel_number", "", "missing"]


def test_empty_series():
    out = check_series(pd.Series([], dtype="str"), REF)
    assert list(out.columns) == SERIES_COLUMNS and len(out) == 0


# ----------------------------------------------------------------------------------------
# properties (hypothesis), stdnum as the oracle
# ----------------------------------------------------------------------------------------
PREFIXES = st.sampled_from(["110105", "120103"])
BIRTHS = st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2020, 12, 31))
SEQS = st.integers(min_value=0, max_value=999)
FAR = dt.date(2100, 1, 1)


@settings(max_examples=150, deadline=None)
@given(PREFIXES, BIRTHS, SEQS)
def test_every_generated_valid_id_passes_like_stdnum(prefix, birth, seq):
    value = make_id(prefix, birth, seq)
    c = check_id(value, FAR)
    assert c.valid is True and c.problem == ""
    assert ric.is_valid(value) is True
    assert c.birth_date == birth
    assert c.sex == ("男" if seq % 2 else "女")
    assert check_id(value.lower(), FAR).valid is True


@settings(max_examples=150, deadline=None)
@given(PREFIXES, BIRTHS, SEQS, st.integers(min_value=0, max_value=17), st.data())
def test_any_single_character_change_fails(prefix, birth, seq, position, data):
    value = make_id(prefix, birth, seq)
    alphabet = "0123456789X" if position == 17 else "0123456789"
    new = data.draw(st.sampled_from([c for c in alphabet if c != value[position]]))
    changed = value[:position] + new + value[position + 1:]
    assert check_id(changed, FAR).valid is False
    assert ric.is_valid(changed) is False


@settings(max_examples=150, deadline=None)
@given(PREFIXES, st.integers(min_value=1900, max_value=2020), st.integers(min_value=0, max_value=13),
       st.integers(min_value=0, max_value=32), SEQS, st.sampled_from("0123456789X"))
def test_verdict_equals_stdnum_on_arbitrary_dates_and_check_chars(prefix, year, month, day, seq, last):
    value = f"{prefix}{year:04d}{month:02d}{day:02d}{seq:03d}{last}"
    assert check_id(value, FAR).valid is ric.is_valid(value)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(
    st.text(alphabet="0123456789Xx ．.E+'１２３", max_size=24),
    st.builds(make_id, PREFIXES, BIRTHS, SEQS),
    st.builds(lambda p, b, q: f"{p}{b:%y%m%d}{q:03d}", PREFIXES, st.dates(dt.date(1900, 1, 1), dt.date(1999, 12, 31)), SEQS),
    st.none()), max_size=30))
def test_vectorised_equals_row_by_row(values):
    assert_same_as_scalar(values)
