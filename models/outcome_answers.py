"""How one answer of an outcome form is read (models.outcomes.check_outcome reads
them all): text within its length, a choice among its values, a date that has
happened (in Beijing, where the work is done), an amount in yuan to the fen, a
number of people, names (two witnesses, one per box, or several in one box
separated by 、), a point in China, a flag, files of this matter and field.
A refusal is `Bad`: an English template and its parameters, with %(value)s the
answer as given.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from zoneinfo import ZoneInfo

from models.filing import LAT_RANGE, LON_RANGE
from models.grids import N_

MAX_LINE, MAX_TEXT, MAX_NAMES = 200, 2000, 20
MAX_YUAN = Decimal("1000000000000")
NAME_SEPARATORS = re.compile(r"[、,，;；/\n]+")


# The day it is where the work is done: a worker recording at 01:00 Beijing time
# records "today", whatever the server's clock zone says.
SITE_ZONE = ZoneInfo("Asia/Shanghai")


def local_today() -> date:
    return datetime.now(SITE_ZONE).date()


class Bad(ValueError):
    """One answer refused: an English template and its parameters."""

    def __init__(self, template: str, **params):
        self.template, self.params = template, params
        super().__init__(template)


def blank(value) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _text(value, limit: int):
    if not isinstance(value, str):
        raise Bad(N_("must be text"))
    value = value.strip()
    if len(value) > limit:
        raise Bad(N_("at most %(n)d characters"), n=limit)
    return value


def _date(value):
    if isinstance(value, date):
        day = value
    else:
        try:
            day = date.fromisoformat(str(value).strip())
        except ValueError:
            raise Bad(N_("%(value)s is not a date (YYYY-MM-DD)")) from None
    if day > local_today():
        raise Bad(N_("%(value)s is in the future"))
    return day.isoformat()


def _yuan(value):
    text = str(value).strip().replace(",", "").replace("，", "").removesuffix("元").strip()
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise Bad(N_("%(value)s is not an amount in yuan, e.g. 12000 or 3500.50")) from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_YUAN:
        raise Bad(N_("%(value)s is not an amount in yuan, e.g. 12000 or 3500.50"))
    if amount != amount.quantize(Decimal("0.01")):
        raise Bad(N_("an amount in yuan has at most two decimals (fen)"))
    return float(amount)


def _count(value):
    text = str(value).strip()
    if isinstance(value, bool) or not text.isdigit() or len(text) > 7:
        raise Bad(N_("%(value)s is not a whole number of people"))
    return int(text)


def _names(value, spec):
    parts = value if isinstance(value, list) else [value]
    names = []
    for part in parts:
        if not isinstance(part, str):
            raise Bad(N_("must be names"))
        names += [n.strip() for n in NAME_SEPARATORS.split(part) if n.strip()]
    if len(names) > MAX_NAMES or any(len(n) > 50 for n in names):
        raise Bad(N_("too many names, or a name too long"))
    if spec.count and len(names) != spec.count:
        raise Bad(N_("give the names of %(n)d people, one in each box"), n=spec.count)
    if len(set(names)) != len(names):
        raise Bad(N_("the same name is given twice"))
    return names


def _point(value):
    if not isinstance(value, Mapping):
        raise Bad(N_("a point is a longitude and a latitude"))
    try:
        lon, lat = float(value.get("lon")), float(value.get("lat"))
    except (TypeError, ValueError):
        raise Bad(N_("longitude and latitude are decimal degrees, e.g. 112.04 and "
                            "22.93")) from None
    if not (LON_RANGE[0] <= lon <= LON_RANGE[1] and LAT_RANGE[0] <= lat <= LAT_RANGE[1]):
        raise Bad(N_("the point %(value)s is not in China: are longitude and latitude "
                            "swapped?"))
    return {"lon": round(lon, 6), "lat": round(lat, 6)}


def _flag(value):
    if isinstance(value, bool):
        return value
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def _files(value, kind_of: Mapping[str, str], spec):
    ids = value if isinstance(value, list) else [value]
    kept = []
    for item in ids:
        key = str(item)
        if kind_of.get(key) != spec.name:
            raise Bad(N_("a file given is not one of this matter's files"))
        if key not in kept:
            kept.append(key)
    return kept


def read_answer(spec, value, kind_of: Mapping[str, str]):
    """One answer, cleaned; Bad with a template whose %(value)s is the answer."""
    if spec.kind == "line":
        return _text(value, MAX_LINE)
    if spec.kind == "text":
        return _text(value, MAX_TEXT)
    if spec.kind == "choice":
        if value not in {v for v, _ in spec.choices}:
            raise Bad(N_("%(value)s is not one of the choices"))
        return value
    if spec.kind == "date":
        return _date(value)
    if spec.kind == "yuan":
        return _yuan(value)
    if spec.kind == "count":
        return _count(value)
    if spec.kind == "flag":
        return _flag(value)
    if spec.kind == "names":
        return _names(value, spec)
    if spec.kind == "point":
        return _point(value)
    if spec.kind == "files":
        return _files(value, kind_of, spec)
    raise AssertionError(spec.kind)
