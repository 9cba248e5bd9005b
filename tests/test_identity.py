"""Identifiers a matter carries are checked as their standards define them."""

import pytest

from models.identity import (
    IdentifierError,
    check_case_number,
    check_credit_code,
    check_id_number,
    check_phone,
    id_check_character,
    uscc_check_character,
)

# GB 11643's own worked example, and one ending in X.
VALID_ID = "11010519491231002X"
# A unified social credit code whose check character is computed by GB 32100.
USCC_BODY = "91445302MA4UXXXX0"


def test_id_check_character_follows_gb_11643():
    assert id_check_character(VALID_ID[:17]) == "X"
    assert check_id_number(VALID_ID.lower()) == VALID_ID


@pytest.mark.parametrize("value, says", [
    ("11010519491231002", "17 digits"),
    ("110105194912310021", "check digit"),
    ("110105194913310027", "birth date"),
    ("1101051949123100AX", "17 digits"),
])
def test_bad_id_numbers_say_what_is_wrong(value, says):
    with pytest.raises(IdentifierError, match=says):
        check_id_number(value)


def test_full_width_id_numbers_are_read():
    full_width = "".join(chr(ord(c) + 0xFEE0) for c in VALID_ID)
    assert check_id_number(full_width) == VALID_ID


def test_credit_code_check_character_follows_gb_32100():
    code = USCC_BODY + uscc_check_character(USCC_BODY)
    assert check_credit_code(code.lower()) == code
    wrong = code[:-1] + ("0" if code[-1] != "0" else "1")
    with pytest.raises(IdentifierError, match="check character"):
        check_credit_code(wrong)
    with pytest.raises(IdentifierError, match="capital letters"):
        check_credit_code("91445302MA4UXXXXOI")


@pytest.mark.parametrize("written", [
    "（2026）粤5302执123号", "(2026)粤5302执123号", " （2026） 粤5302执 123号",
    "〔2026〕粤5302执123号", "（2026）粤53执恢7号",
])
def test_case_numbers_are_normalised(written):
    assert check_case_number(written).startswith("（2026）粤53")


@pytest.mark.parametrize("written, says", [
    ("2026粤5302执123号", "form"), ("（2026）粤5302执号", "form"), ("（1899）粤5302执1号", "year"),
])
def test_bad_case_numbers_are_refused(written, says):
    with pytest.raises(IdentifierError, match=says):
        check_case_number(written)


@pytest.mark.parametrize("written, kept", [
    ("138 0013 8000", "13800138000"), ("+86 13800138000", "13800138000"),
    ("0766-8812345", "0766-8812345"), ("（0766）8812345", "07668812345"),
])
def test_phones(written, kept):
    assert check_phone(written) == kept


def test_a_short_phone_is_refused():
    with pytest.raises(IdentifierError, match="11-digit"):
        check_phone("12345")
