"""Identifiers a court matter carries, each checked the way its standard defines.

- Resident identity card number (公民身份号码, GB 11643-1999): 6-digit address
  code, 8-digit birth date, 3-digit sequence, and an ISO 7064 MOD 11-2 check
  character (0–9 or X).
- Unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from
  a 31-character alphabet (no I, O, Z, S, V) whose last is a MOD 31 check.
- Case number (案号): （year）province abbreviation + court code + case type +
  sequence + 号, e.g. （2026）粤5302执123号. Brackets may arrive half-width.

Each check returns the normalised value or raises IdentifierError with a
message saying which part is wrong, in words the interface translates.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import date

from models.grids import N_


class IdentifierError(ValueError):
    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template % params)


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def id_check_character(first17: str) -> str:
    return _ID_CHECK[sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True)) % 11]


def check_id_number(value: str) -> str:
    """A valid 18-digit resident identity number, upper-cased, or IdentifierError."""
    text = unicodedata.normalize("NFKC", value or "").strip().upper()
    if not re.fullmatch(r"[0-9]{17}[0-9X]", text):
        raise IdentifierError(N_("ID number %(value)s must be 17 digits and a digit or X"),
                              value=value)
    try:
        born = date(int(text[6:10]), int(text[10:12]), int(text[12:14]))
    except ValueError:
        born = None
    if born is None or born.year < 1900 or born > date.today():
        raise IdentifierError(N_("ID number %(value)s has no valid birth date "
                                 "(digits 7–14)"), value=value)
    expected = id_check_character(text[:17])
    if text[17] != expected:
        raise IdentifierError(N_("ID number %(value)s fails its check digit "
                                 "(the last character should be %(expected)s)"),
                              value=value, expected=expected)
    return text


_USCC_ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_WEIGHTS = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def uscc_check_character(first17: str) -> str:
    total = sum(_USCC_ALPHABET.index(c) * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return _USCC_ALPHABET[(31 - total % 31) % 31]


def check_credit_code(value: str) -> str:
    """A valid unified social credit code, upper-cased, or IdentifierError."""
    text = unicodedata.normalize("NFKC", value or "").strip().upper()
    if not re.fullmatch(f"[{_USCC_ALPHABET}]{{18}}", text):
        raise IdentifierError(N_("credit code %(value)s must be 18 characters of digits and "
                                 "capital letters other than I, O, Z, S, V"), value=value)
    expected = uscc_check_character(text[:17])
    if text[17] != expected:
        raise IdentifierError(N_("credit code %(value)s fails its check character "
                                 "(the last character should be %(expected)s)"),
                              value=value, expected=expected)
    return text


_CASE_NUMBER = re.compile(
    r"（(?P<year>\d{4})）(?P<province>[\u4e00-\u9fff])(?P<court>\d{2,4})"
    r"(?P<kind>[\u4e00-\u9fff]{1,4})(?P<seq>\d{1,6})号"
)


def check_case_number(value: str) -> str:
    """A case number in its standard form （2026）粤5302执123号, or IdentifierError."""
    text = re.sub(r"\s+", "", value or "")
    text = text.replace("(", "（").replace(")", "）").replace("〔", "（").replace("〕", "）")
    text = text.replace("[", "（").replace("]", "）")
    text = "".join(unicodedata.normalize("NFKC", c) if c.isdigit() else c for c in text)
    match = _CASE_NUMBER.fullmatch(text)
    if match is None:
        raise IdentifierError(N_("case number %(value)s is not in the form "
                                 "（2026）粤5302执123号"), value=value)
    year = int(match["year"])
    if not 2000 <= year <= date.today().year + 1:
        raise IdentifierError(N_("case number %(value)s has an impossible year %(year)d"),
                              value=value, year=year)
    return text


_MOBILE = re.compile(r"1[0-9]{10}")
_LANDLINE = re.compile(r"0[0-9]{2,3}-?[0-9]{7,8}")


def check_phone(value: str) -> str:
    """A mainland mobile (11 digits starting with 1) or landline with area code."""
    text = re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", value or ""))
    if text.startswith("+86"):
        text = text[3:]
    if _MOBILE.fullmatch(text) or _LANDLINE.fullmatch(text):
        return text
    raise IdentifierError(N_("phone %(value)s is neither an 11-digit mobile nor a landline "
                             "with its area code"), value=value)
