"""Small list-column formatters, (view, context, model, name) → text."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime

from flask_admin.model import typefmt
from geoalchemy2.shape import to_shape

from models import clock

MINUTE = "%Y-%m-%d %H:%M"


def local_time(value: datetime | None) -> str:
    """A moment in the site's time zone (models.clock.SITE_ZONE, Beijing), to the
    minute: how every list, detail page and export shows one. The pattern is the same
    in every language, so it is not Babel's (a locale and zone lookup a call, 20 a page
    of cards)."""
    if not value:
        return ""
    if value.tzinfo is None:  # as Babel reads one: UTC
        value = value.replace(tzinfo=UTC)
    return value.astimezone(clock.SITE_ZONE).strftime(MINUTE)


def _moment(view, value, name=None):
    return local_time(value)


def _day(view, value, name=None):
    return value.isoformat()


def _with_times(formatters: dict) -> dict:
    return {**formatters, datetime: _moment, date: _day}


# Every model view shows moments and days alike (admin.views.secure.ScopedModelView).
TYPE_FORMATTERS = _with_times(typefmt.BASE_FORMATTERS)
TYPE_FORMATTERS_EXPORT = _with_times(typefmt.EXPORT_FORMATTERS)
TYPE_FORMATTERS_DETAIL = _with_times(typefmt.DETAIL_FORMATTERS)


def level_label(labels):
    def fmt(view, context, model, name):
        value = getattr(model, name)
        return labels.get(value, value)

    return fmt


def area_km2(view, context, model, name):
    """Approximate area for the list (degrees scaled at the polygon's latitude).
    Flask-Admin's default draws a little map per row, with a query per row and
    tiles from Mapbox; a number is what a list needs."""
    geom = getattr(model, name)
    if geom is None:
        return ""
    shape = to_shape(geom)
    lat = shape.centroid.y
    km2 = shape.area * 111.32 ** 2 * math.cos(math.radians(lat))
    return f"{km2:,.2f}"



def enum_choices(labels) -> list[tuple[str, str]]:
    """Form choices for an enum column, shown with their translated labels."""
    return [(member.value, label) for member, label in labels.items()]


def mask_phone(phone: str | None) -> str:
    """138****5678: enough to tell numbers apart, not enough to call."""
    digits = (phone or "").replace(" ", "").replace("-", "")
    if len(digits) < 7:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 7) + digits[-4:]
