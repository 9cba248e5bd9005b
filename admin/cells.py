"""Text that leaves the system in a spreadsheet cell stays text.

A spreadsheet program reads a cell that starts with = + - @ (or a tab or carriage
return before one) as a formula: a person named `=HYPERLINK("http://…","点击")`
would become a live link in the liaison list, and worse (DDE) in older Excel.
Every xlsx and csv writer passes its values through `safe_cell`, which prefixes
such text with an apostrophe, as OWASP's "CSV injection" advice says: the text is
shown as typed and never evaluated.
"""

from __future__ import annotations

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def safe_cell(value):
    """The value as it may go into a cell: formula-like text prefixed with '."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values) -> list:
    return [safe_cell(v) for v in values]
