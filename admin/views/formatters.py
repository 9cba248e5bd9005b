"""Small list-column formatters, (view, context, model, name) → text."""

from __future__ import annotations

import math

from geoalchemy2.shape import to_shape


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
